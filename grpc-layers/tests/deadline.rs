//! Deadlines end to end, over real HTTP/2 on 127.0.0.1: a `grpc-server`
//! behind `ServerDeadlineLayer`, called by `grpc-client` with and without
//! `ClientDeadlineLayer`, and a call that goes through two servers.
#![cfg(feature = "deadline")]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use grpc_client::{Grpc, GrpcService};
use grpc_core::codec::BytesCodec;
use grpc_core::deadline::Deadline;
use grpc_core::timeout::parse_timeout;
use grpc_core::{Code, GrpcBody, GrpcMethod, Request, Response, Status};
use grpc_layers::deadline::{ClientDeadlineLayer, ServerDeadlineLayer};
use grpc_server::{handler, Router};
use support::{bounded, eventually, serve, TestServer, LIMIT};
use tokio::time::{sleep, Instant};
use tower::ServiceBuilder;

const UNARY: GrpcMethod = GrpcMethod::new("test.Deadline", "Unary");
const STREAM: GrpcMethod = GrpcMethod::new("test.Deadline", "Stream");

/// Handlers started, and handlers dropped before they finished.
#[derive(Clone, Default)]
struct Counts {
    started: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
}

impl Counts {
    fn start(&self) -> Guard {
        self.started.fetch_add(1, Ordering::SeqCst);
        Guard {
            dropped: self.dropped.clone(),
            finished: false,
        }
    }

    fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }

    fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
}

/// Counts a drop unless finished.
struct Guard {
    dropped: Arc<AtomicUsize>,
    finished: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.finished {
            self.dropped.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// A handler's stream that sends a message every `every`, forever.
fn ticking(every: Duration, guard: Guard) -> impl Stream<Item = Result<Bytes, Status>> + Send {
    futures_util::stream::unfold(guard, move |guard| async move {
        sleep(every).await;
        Some((Ok(Bytes::from_static(b"tick")), guard))
    })
}

async fn serve_router(router: Router) -> TestServer {
    serve(
        ServiceBuilder::new()
            .layer(ServerDeadlineLayer::new())
            .service(router),
    )
    .await
}

/// A client that sets `grpc-timeout` by hand and enforces nothing itself,
/// so what it sees is the server's doing.
fn raw_timeout_client(server: &TestServer, value: &'static str) -> Grpc<impl GrpcService + Clone> {
    let stack = ServiceBuilder::new()
        .map_request(move |mut request: http::Request<GrpcBody>| {
            request
                .headers_mut()
                .insert("grpc-timeout", http::HeaderValue::from_static(value));
            request
        })
        .service(server.channel());
    Grpc::new(stack)
}

fn deadline_client(server: &TestServer) -> Grpc<impl GrpcService + Clone> {
    Grpc::new(
        ServiceBuilder::new()
            .layer(ClientDeadlineLayer::new())
            .service(server.channel()),
    )
}

fn with_deadline(timeout: Duration) -> Request<Bytes> {
    let mut request = Request::new(Bytes::from_static(b"hi"));
    request.extensions_mut().insert(Deadline::after(timeout));
    request
}

/// Adds a unary handler that would answer long after any test's deadline.
fn slow_unary(router: Router, counts: Counts) -> Router {
    router.route(
        UNARY,
        handler::unary(BytesCodec, move |_: Request<Bytes>| {
            let guard = counts.start();
            async move {
                let _guard = guard;
                sleep(LIMIT * 2).await;
                Ok::<_, Status>(Response::new(Bytes::from_static(b"too late")))
            }
        }),
    )
}

/// Adds a server-streaming handler whose stream never ends.
fn endless_stream(router: Router, counts: Counts) -> Router {
    router.route(
        STREAM,
        handler::server_streaming(BytesCodec, move |_: Request<Bytes>| {
            let stream = ticking(Duration::from_millis(20), counts.start());
            async move { Ok::<_, Status>(Response::new(stream)) }
        }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_streaming_call_whose_handler_keeps_sending_ends_with_deadline_exceeded_at_the_deadline(
) {
    let counts = Counts::default();
    let server = serve_router(endless_stream(Router::new(), counts.clone())).await;
    let mut client = raw_timeout_client(&server, "400m");

    let start = Instant::now();
    let response = bounded(client.server_streaming(
        Request::new(Bytes::from_static(b"go")),
        STREAM,
        BytesCodec,
    ))
    .await
    .expect("the response head comes before the deadline");
    let mut stream = response.into_inner();
    let mut received = 0;
    let status = bounded(async {
        loop {
            match stream.message().await {
                Ok(Some(message)) => {
                    assert_eq!(message, "tick");
                    received += 1;
                }
                Ok(None) => panic!("the stream ended with OK after {received} messages"),
                Err(status) => break status,
            }
        }
    })
    .await;
    let elapsed = start.elapsed();

    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(
        status.message().contains("server stopped the call"),
        "the server decided: {status:?}"
    );
    assert!(elapsed >= Duration::from_millis(400), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert!(
        received >= 5,
        "messages flowed until the deadline: {received}"
    );
    eventually("the handler's stream is dropped", || counts.dropped() == 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_unary_handler_is_stopped_and_answered_with_deadline_exceeded() {
    let counts = Counts::default();
    let server = serve_router(slow_unary(Router::new(), counts.clone())).await;
    let mut client = raw_timeout_client(&server, "200m");

    let start = Instant::now();
    let status = bounded(client.unary(Request::new(Bytes::new()), UNARY, BytesCodec))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(status
        .message()
        .contains("server stopped the call after 200ms"));
    assert!(start.elapsed() >= Duration::from_millis(200));
    eventually("the handler is dropped", || counts.dropped() == 1).await;
    assert_eq!(counts.started(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_grpc_timeout_is_internal_and_no_handler_runs() {
    let counts = Counts::default();
    let server = serve_router(slow_unary(Router::new(), counts.clone())).await;
    for value in ["1x", "123456789S", "S", "-5m"] {
        let mut client = raw_timeout_client(&server, value);
        let status = bounded(client.unary(Request::new(Bytes::new()), UNARY, BytesCodec))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Internal, "{value}: {status:?}");
        assert!(
            status.message().contains("malformed grpc-timeout"),
            "{value}: {status:?}"
        );
    }
    assert_eq!(counts.started(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_sends_its_deadline_and_the_caller_sees_deadline_exceeded() {
    let seen = Arc::new(Mutex::new(None));
    let counts = Counts::default();
    let router = {
        let seen = seen.clone();
        let counts = counts.clone();
        Router::new().route(
            UNARY,
            handler::unary(BytesCodec, move |request: Request<Bytes>| {
                let left = request
                    .extensions()
                    .get::<Deadline>()
                    .map(|d| d.remaining());
                *seen.lock().unwrap() = Some(left);
                let guard = counts.start();
                async move {
                    let _guard = guard;
                    sleep(LIMIT * 2).await;
                    Ok::<_, Status>(Response::new(Bytes::new()))
                }
            }),
        )
    };
    let server = serve_router(router).await;
    let mut client = deadline_client(&server);

    let start = Instant::now();
    let request = with_deadline(Duration::from_millis(300));
    let status = bounded(client.unary(request, UNARY, BytesCodec))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(start.elapsed() >= Duration::from_millis(290));

    let left = seen.lock().unwrap().expect("the handler ran");
    let left = left.expect("the handler saw a deadline");
    assert!(left <= Duration::from_millis(300), "{left:?}");
    assert!(left > Duration::ZERO);
    eventually("the handler is dropped", || counts.dropped() == 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_cuts_a_response_stream_at_its_deadline() {
    let counts = Counts::default();
    let server = serve_router(endless_stream(Router::new(), counts.clone())).await;
    let mut client = deadline_client(&server);

    let request = with_deadline(Duration::from_millis(300));
    let response = bounded(client.server_streaming(request, STREAM, BytesCodec))
        .await
        .unwrap();
    let mut stream = response.into_inner();
    let mut received = 0;
    let status = bounded(async {
        loop {
            match stream.message().await {
                Ok(Some(_)) => received += 1,
                Ok(None) => panic!("ended with OK"),
                Err(status) => break status,
            }
        }
    })
    .await;
    // The client's timer and the server's fire together; either way the
    // caller sees DEADLINE_EXCEEDED and the handler stops.
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(received >= 3, "{received}");
    eventually("the handler's stream is dropped", || counts.dropped() == 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_enforces_its_deadline_against_a_server_that_ignores_it() {
    // No deadline layer on this server: only the client can end the calls.
    let counts = Counts::default();
    let router = slow_unary(Router::new(), counts.clone());
    let router = endless_stream(router, counts.clone());
    let server = serve(router).await;
    let mut client = deadline_client(&server);

    // The response head never comes.
    let start = Instant::now();
    let status =
        bounded(client.unary(with_deadline(Duration::from_millis(200)), UNARY, BytesCodec))
            .await
            .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(
        status.message().contains("did not finish within"),
        "{status:?}"
    );
    assert!(start.elapsed() >= Duration::from_millis(190));

    // The response stream never ends.
    let response = bounded(client.server_streaming(
        with_deadline(Duration::from_millis(300)),
        STREAM,
        BytesCodec,
    ))
    .await
    .unwrap();
    let mut stream = response.into_inner();
    let mut received = 0;
    let status = bounded(async {
        loop {
            match stream.message().await {
                Ok(Some(_)) => received += 1,
                Ok(None) => panic!("ended with OK"),
                Err(status) => break status,
            }
        }
    })
    .await;
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(
        status.message().contains("did not finish within"),
        "{status:?}"
    );
    assert!(received >= 3, "{received}");

    // Both calls were reset, so the server dropped both handlers.
    eventually("both handlers are dropped", || counts.dropped() == 2).await;
}

/// What B received: nothing yet (`None`), or the `grpc-timeout` of its
/// call, if it had one.
type Received = Arc<Mutex<Option<Option<String>>>>;

/// Server B: records the `grpc-timeout` it received, then answers after
/// `delay`.
async fn second_hop(delay: Duration, counts: Counts) -> (TestServer, Received) {
    let received: Received = Arc::default();
    let router = Router::new().route(
        UNARY,
        handler::unary(BytesCodec, move |_: Request<Bytes>| {
            let guard = counts.start();
            async move {
                let mut guard = guard;
                sleep(delay).await;
                guard.finished = true;
                Ok::<_, Status>(Response::new(Bytes::from_static(b"from B")))
            }
        }),
    );
    let record = received.clone();
    let stack = ServiceBuilder::new()
        .map_request(move |request: http::Request<GrpcBody>| {
            *record.lock().unwrap() = Some(
                request
                    .headers()
                    .get("grpc-timeout")
                    .map(|v| v.to_str().unwrap().to_owned()),
            );
            request
        })
        .layer(ServerDeadlineLayer::new())
        .service(router);
    (serve(stack).await, received)
}

/// Server A: its handler calls B through a client with the deadline layer
/// and no explicit deadline; records how long it had left just before.
async fn first_hop(
    b: &TestServer,
    layer: ClientDeadlineLayer,
    counts: Counts,
) -> (TestServer, Arc<Mutex<Option<Duration>>>) {
    let left_before_call = Arc::new(Mutex::new(None));
    let record = left_before_call.clone();
    let to_b = Grpc::new(ServiceBuilder::new().layer(layer).service(b.channel()));
    let router = Router::new().route(
        UNARY,
        handler::unary(BytesCodec, move |request: Request<Bytes>| {
            let mut to_b = to_b.clone();
            let record = record.clone();
            let guard = counts.start();
            async move {
                let mut guard = guard;
                let deadline = request.extensions().get::<Deadline>().copied();
                *record.lock().unwrap() = deadline.map(|d| d.remaining());
                let reply = to_b
                    .unary(Request::new(Bytes::from_static(b"hop")), UNARY, BytesCodec)
                    .await?;
                guard.finished = true;
                Ok::<_, Status>(Response::new(reply.into_inner()))
            }
        }),
    );
    (serve_router(router).await, left_before_call)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_propagated_deadline_reaches_a_second_hop() {
    let (b, b_received) = second_hop(Duration::ZERO, Counts::default()).await;
    let (a, a_left) = first_hop(&b, ClientDeadlineLayer::new(), Counts::default()).await;
    let mut client = deadline_client(&a);

    let reply = bounded(client.unary(with_deadline(Duration::from_secs(3)), UNARY, BytesCodec))
        .await
        .unwrap();
    assert_eq!(reply.into_inner(), "from B");

    let a_left = a_left.lock().unwrap().expect("A saw a deadline");
    let b_header = b_received.lock().unwrap().clone().expect("B was called");
    let b_header = b_header.expect("B received a grpc-timeout");
    let b_timeout = parse_timeout(b_header.as_bytes()).unwrap();
    assert!(
        b_timeout <= a_left,
        "B got {b_timeout:?}, no more than A had left ({a_left:?})"
    );
    assert!(a_left <= Duration::from_secs(3));
    assert!(b_timeout > Duration::from_secs(1), "{b_timeout:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_propagate_false_the_second_hop_gets_no_deadline() {
    let (b, b_received) = second_hop(Duration::ZERO, Counts::default()).await;
    let layer = ClientDeadlineLayer::new().propagate(false);
    let (a, _) = first_hop(&b, layer, Counts::default()).await;
    let mut client = deadline_client(&a);

    bounded(client.unary(with_deadline(Duration::from_secs(3)), UNARY, BytesCodec))
        .await
        .unwrap();
    let b_header = b_received.lock().unwrap().clone().expect("B was called");
    assert_eq!(b_header, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_propagated_deadline_stops_both_hops() {
    let b_counts = Counts::default();
    let a_counts = Counts::default();
    let (b, _) = second_hop(LIMIT * 2, b_counts.clone()).await;
    let (a, _) = first_hop(&b, ClientDeadlineLayer::new(), a_counts.clone()).await;
    let mut client = deadline_client(&a);

    let start = Instant::now();
    let status =
        bounded(client.unary(with_deadline(Duration::from_millis(400)), UNARY, BytesCodec))
            .await
            .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(start.elapsed() < Duration::from_secs(5));
    eventually("B's handler is dropped", || b_counts.dropped() == 1).await;
    eventually("A's handler is dropped", || a_counts.dropped() == 1).await;
}
