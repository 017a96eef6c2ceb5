use std::convert::Infallible;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use grpc_core::test_util::ScriptedBody;
use grpc_core::{BoxError, Code, GrpcBody, Status};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use tower::{service_fn, Layer, Service, ServiceExt};
use tower_test::mock;

use super::*;

type Request = http::Request<GrpcBody>;
type Response = http::Response<ScriptedBody>;

const SAY_HELLO: &str = "/helloworld.Greeter/SayHello";
const SAY_BYE: &str = "/helloworld.Greeter/SayBye";
const LIST: &str = "/store.Catalog/List";

fn call(path: &str) -> Request {
    http::Request::post(path)
        .header("content-type", "application/grpc")
        .body(GrpcBody::empty())
        .unwrap()
}

/// A response head with two messages and OK trailers still to come.
fn streaming(status: Code) -> Response {
    let body = ScriptedBody::messages([b"one", b"two"]).with_status(&Status::new(status, ""));
    let mut response = http::Response::new(body);
    response
        .headers_mut()
        .insert("content-type", grpc_core::headers::APPLICATION_GRPC);
    response
}

fn header<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

/// The status of a refusal, read as a client would.
fn shed_status<B>(response: &http::Response<B>) -> Status {
    Status::from_headers(response.headers()).expect("a trailers-only answer")
}

/// The layer over a mock inner service.
type Mocked = mock::Spawn<ServerLoadShed<mock::Mock<Request, Response>>>;

/// A mock inner service behind `layer`, always ready.
fn mocked(layer: ServerLoadShedLayer) -> (Mocked, mock::Handle<Request, Response>) {
    mock::spawn_layer::<Request, Response, _>(layer)
}

/// Calls `path` on a ready service; the future is not polled.
fn start(
    service: &mut Mocked,
    path: &str,
) -> future::ResponseFuture<mock::future::ResponseFuture<Response>> {
    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
    service.call(call(path))
}

/// A future that must be ready at once: a refusal.
fn ready_now<F: std::future::Future>(future: F) -> F::Output {
    future.now_or_never().expect("answered at once")
}

// ----- readiness --------------------------------------------------------------

#[tokio::test]
async fn readiness_is_the_inner_services_and_not_the_caps() {
    let (mut service, mut handle) = mocked(ServerLoadShedLayer::new().max_in_flight(0));
    handle.allow(0);
    assert!(service.poll_ready().is_pending());
    handle.allow(1);
    assert!(service.is_woken());
    // The cap (0) is full, yet the service is ready: the cap is decided in `call`.
    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
    let response = ready_now(service.call(call(SAY_HELLO))).unwrap();
    assert_eq!(shed_status(&response).code(), Code::ResourceExhausted);
}

#[tokio::test]
async fn a_clone_of_a_ready_service_is_not_ready() {
    let (mut service, mut handle) = mocked(ServerLoadShedLayer::new());
    handle.allow(1);
    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
    handle.allow(0);
    let mut clone = service.clone();
    assert!(clone.poll_ready().is_pending(), "readiness is not cloned");
    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
}

#[tokio::test]
async fn inner_errors_pass_through_and_free_the_place() {
    let layer = ServerLoadShedLayer::new().max_in_flight(1);
    let stats = layer.stats();
    let (mut service, mut handle) = mocked(layer);
    let future = start(&mut service, SAY_HELLO);
    let (_, send) = handle.next_request().await.unwrap();
    send.send_error("transport broke");
    let err: BoxError = future.await.unwrap_err();
    assert_eq!(err.to_string(), "transport broke");
    assert_eq!(stats.in_flight(), 0);
}

// ----- the global cap ------------------------------------------------------------

#[tokio::test]
async fn a_call_over_the_cap_is_refused_at_once_with_resource_exhausted_and_a_pushback() {
    let layer = ServerLoadShedLayer::new().max_in_flight(2);
    let stats = layer.stats();
    let (mut service, mut handle) = mocked(layer);
    let first = start(&mut service, SAY_HELLO);
    let second = start(&mut service, SAY_HELLO);
    assert_eq!(stats.in_flight(), 2);

    let third = ready_now(start(&mut service, SAY_HELLO)).unwrap();
    assert_eq!(third.status(), http::StatusCode::OK);
    assert_eq!(
        header(third.headers(), "content-type"),
        Some("application/grpc")
    );
    assert_eq!(header(third.headers(), "grpc-status"), Some("8"));
    assert_eq!(
        header(third.headers(), "grpc-retry-pushback-ms"),
        Some("100")
    );
    let status = shed_status(&third);
    assert_eq!(
        status.message(),
        "load shed: the server is at its limit of 2 calls in flight; retry after 100 ms"
    );
    assert!(
        third.body().is_end_stream(),
        "trailers-only: nothing follows"
    );
    assert_eq!((stats.served(), stats.shed(), stats.in_flight()), (2, 1, 2));

    // The inner service saw the two admitted calls and no third.
    assert!(handle.next_request().await.is_some());
    assert!(handle.next_request().await.is_some());
    assert!(handle.next_request().now_or_never().is_none());
    drop((first, second));
    assert_eq!(stats.in_flight(), 0);

    // Places free again: the next call is admitted.
    let _fourth = start(&mut service, SAY_HELLO);
    assert_eq!((stats.served(), stats.in_flight()), (3, 1));
}

#[tokio::test]
async fn a_refused_call_never_reaches_the_inner_service_and_its_body_is_not_read() {
    /// A request body that records being polled and being dropped.
    struct Probe {
        polled: Arc<AtomicBool>,
        dropped: Arc<AtomicBool>,
    }
    impl Body for Probe {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            self.polled.store(true, Ordering::SeqCst);
            Poll::Ready(None)
        }
    }
    impl Drop for Probe {
        fn drop(&mut self) {
            self.dropped.store(true, Ordering::SeqCst);
        }
    }

    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let mut service = ServerLoadShedLayer::new()
        .max_in_flight(0)
        .layer(service_fn(move |_request: http::Request<Probe>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, Infallible>(Status::ok().into_http::<GrpcBody>()) }
        }));
    let (polled, dropped) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let request = http::Request::post(SAY_HELLO)
        .body(Probe {
            polled: polled.clone(),
            dropped: dropped.clone(),
        })
        .unwrap();
    let future = service.ready().await.unwrap().call(request);
    assert!(dropped.load(Ordering::SeqCst), "dropped in `call`, unread");
    let response = ready_now(future).unwrap();
    assert_eq!(shed_status(&response).code(), Code::ResourceExhausted);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "the inner service never ran"
    );
    assert!(
        !polled.load(Ordering::SeqCst),
        "the request body was not read"
    );
}

#[tokio::test]
async fn a_cap_of_zero_refuses_every_call() {
    let layer = ServerLoadShedLayer::new().max_in_flight(0);
    let stats = layer.stats();
    let (mut service, _handle) = mocked(layer);
    for _ in 0..3 {
        let response = ready_now(start(&mut service, SAY_HELLO)).unwrap();
        assert_eq!(header(response.headers(), "grpc-status"), Some("8"));
    }
    assert_eq!((stats.served(), stats.shed()), (0, 3));
}

#[tokio::test]
async fn clones_of_the_layer_and_of_its_services_share_the_caps() {
    let layer = ServerLoadShedLayer::new().max_in_flight(2);
    let stats = layer.stats();
    let (mut a, _ha) = mocked(layer.clone());
    let (mut b, _hb) = mocked(layer);
    let _one = start(&mut a, SAY_HELLO);
    let _two = start(&mut b, SAY_HELLO);
    let three = ready_now(start(&mut a.clone(), SAY_HELLO)).unwrap();
    assert_eq!(header(three.headers(), "grpc-status"), Some("8"));
    assert_eq!((stats.in_flight(), stats.shed()), (2, 1));
}

// ----- the answer ----------------------------------------------------------------

#[tokio::test]
async fn the_code_and_the_pushback_are_configurable() {
    let (mut service, _h) = mocked(
        ServerLoadShedLayer::new()
            .max_in_flight(0)
            .shed_code(ShedCode::Unavailable)
            .retry_pushback(Duration::from_millis(2500)),
    );
    let response = ready_now(start(&mut service, SAY_HELLO)).unwrap();
    assert_eq!(header(response.headers(), "grpc-status"), Some("14"));
    assert_eq!(
        header(response.headers(), "grpc-retry-pushback-ms"),
        Some("2500")
    );
    assert!(shed_status(&response)
        .message()
        .ends_with("retry after 2500 ms"));

    let (mut service, _h) = mocked(
        ServerLoadShedLayer::new()
            .max_in_flight(0)
            .retry_pushback(None),
    );
    let response = ready_now(start(&mut service, SAY_HELLO)).unwrap();
    assert_eq!(header(response.headers(), "grpc-status"), Some("8"));
    assert!(!response.headers().contains_key("grpc-retry-pushback-ms"));
    assert!(shed_status(&response).message().ends_with("retry later"));
}

#[tokio::test]
async fn the_pushback_is_whole_milliseconds_within_a_32_bit_integer() {
    for (pushback, sent) in [
        (Duration::from_micros(1999), "1"),
        (Duration::ZERO, "0"),
        (Duration::from_secs(u64::MAX), "2147483647"),
    ] {
        let (mut service, _h) = mocked(
            ServerLoadShedLayer::new()
                .max_in_flight(0)
                .retry_pushback(pushback),
        );
        let response = ready_now(start(&mut service, SAY_HELLO)).unwrap();
        assert_eq!(
            header(response.headers(), "grpc-retry-pushback-ms"),
            Some(sent)
        );
    }
}

// ----- service and method caps -------------------------------------------------------

#[tokio::test]
async fn method_caps_are_independent_of_each_other() {
    let layer = ServerLoadShedLayer::new()
        .method_limit(SAY_HELLO, 1)
        // Without the leading slash: the same path.
        .method_limit("helloworld.Greeter/SayBye", 1);
    let stats = layer.stats();
    let (mut service, _h) = mocked(layer);
    let _hello = start(&mut service, SAY_HELLO);
    let refused = ready_now(start(&mut service, SAY_HELLO)).unwrap();
    assert_eq!(
        shed_status(&refused).message(),
        "load shed: /helloworld.Greeter/SayHello is at its limit of 1 calls in flight; retry after 100 ms"
    );
    // The other method, and a method with no cap of its own, are admitted.
    let _bye = start(&mut service, SAY_BYE);
    let _list = start(&mut service, LIST);
    let _list2 = start(&mut service, LIST);

    let hello = stats.method(SAY_HELLO).unwrap();
    assert_eq!((hello.in_flight(), hello.limit(), hello.shed()), (1, 1, 1));
    let bye = stats.method("helloworld.Greeter/SayBye").unwrap();
    assert_eq!((bye.in_flight(), bye.shed()), (1, 0));
    assert!(stats.method(LIST).is_none());
    // The refused call gave back the global place it took first.
    assert_eq!(stats.in_flight(), 4);
    assert_eq!(
        stats.global().shed(),
        0,
        "refused by the method cap, not the global one"
    );
}

#[tokio::test]
async fn a_service_cap_spans_its_methods_and_frees_what_a_refused_call_took() {
    let layer = ServerLoadShedLayer::new()
        .service_limit("helloworld.Greeter", 2)
        .method_limit(SAY_BYE, 5);
    let stats = layer.stats();
    let (mut service, _h) = mocked(layer);
    let _a = start(&mut service, SAY_HELLO);
    let _b = start(&mut service, SAY_BYE);
    let refused = ready_now(start(&mut service, SAY_BYE)).unwrap();
    assert_eq!(
        shed_status(&refused).message(),
        "load shed: service helloworld.Greeter is at its limit of 2 calls in flight; retry after 100 ms"
    );
    let _other = start(&mut service, LIST);
    let greeter = stats.service("/helloworld.Greeter/").unwrap();
    assert_eq!((greeter.in_flight(), greeter.shed()), (2, 1));
    assert_eq!(stats.method(SAY_BYE).unwrap().in_flight(), 1);
    assert_eq!(stats.in_flight(), 3);
}

#[tokio::test]
async fn a_method_refusal_frees_the_service_place_it_took() {
    let layer = ServerLoadShedLayer::new()
        .service_limit("helloworld.Greeter", 10)
        .method_limit(SAY_HELLO, 0);
    let stats = layer.stats();
    let (mut service, _h) = mocked(layer);
    let refused = ready_now(start(&mut service, SAY_HELLO)).unwrap();
    assert_eq!(header(refused.headers(), "grpc-status"), Some("8"));
    assert_eq!(stats.service("helloworld.Greeter").unwrap().in_flight(), 0);
    assert_eq!(stats.in_flight(), 0);
}

#[tokio::test]
async fn paths_that_are_not_grpc_methods_count_only_globally() {
    let layer = ServerLoadShedLayer::new()
        .max_in_flight(10)
        .service_limit("helloworld.Greeter", 0)
        .method_limit(SAY_HELLO, 0);
    let stats = layer.stats();
    let (mut service, _h) = mocked(layer);
    let mut held = Vec::new();
    for path in ["/", "/helloworld.Greeter", "/a/b/c", "/%ff/x"] {
        held.push(start(&mut service, path));
    }
    assert_eq!((stats.served(), stats.shed()), (4, 0));
}

#[tokio::test]
async fn setting_a_cap_again_replaces_it() {
    let layer = ServerLoadShedLayer::new()
        .method_limit(SAY_HELLO, 0)
        .method_limit(SAY_HELLO, 1);
    let stats = layer.stats();
    assert_eq!(stats.method(SAY_HELLO).unwrap().limit(), 1);
}

// ----- how long a call holds its place -----------------------------------------------

#[tokio::test]
async fn the_place_is_held_until_the_response_body_ends() {
    let layer = ServerLoadShedLayer::new().max_in_flight(1);
    let stats = layer.stats();
    let (mut service, mut handle) = mocked(layer);
    let future = start(&mut service, SAY_HELLO);
    let (_, send) = handle.next_request().await.unwrap();
    send.send_response(streaming(Code::Ok));
    let response = future.await.unwrap();
    assert_eq!(stats.in_flight(), 1, "the head is not the end of the call");

    let mut body = pin!(response.into_body());
    assert!(body.frame().await.unwrap().unwrap().is_data());
    assert!(body.frame().await.unwrap().unwrap().is_data());
    assert_eq!(stats.in_flight(), 1, "still streaming");
    let trailers = body
        .frame()
        .await
        .unwrap()
        .unwrap()
        .into_trailers()
        .unwrap();
    assert_eq!(header(&trailers, "grpc-status"), Some("0"));
    assert_eq!(
        stats.in_flight(),
        0,
        "free with the trailers, before the body is dropped"
    );
    assert!(body.frame().await.is_none());
}

#[tokio::test]
async fn a_body_that_ends_without_trailers_or_with_an_error_frees_the_place() {
    for body in [
        ScriptedBody::messages([b"one"]),
        ScriptedBody::messages([b"one"]).with_error(Status::internal("broke")),
    ] {
        let layer = ServerLoadShedLayer::new().max_in_flight(1);
        let stats = layer.stats();
        let (mut service, mut handle) = mocked(layer);
        let future = start(&mut service, SAY_HELLO);
        let (_, send) = handle.next_request().await.unwrap();
        send.send_response(http::Response::new(body));
        let mut body = pin!(future.await.unwrap().into_body());
        while let Some(Ok(_)) = body.frame().await {}
        assert_eq!(stats.in_flight(), 0);
    }
}

#[tokio::test]
async fn a_dropped_body_frees_the_place() {
    let layer = ServerLoadShedLayer::new().max_in_flight(1);
    let stats = layer.stats();
    let (mut service, mut handle) = mocked(layer);
    let future = start(&mut service, SAY_HELLO);
    let (_, send) = handle.next_request().await.unwrap();
    send.send_response(streaming(Code::Ok));
    let mut body = Box::pin(future.await.unwrap().into_body());
    assert!(body.frame().await.unwrap().unwrap().is_data());
    assert_eq!(stats.in_flight(), 1);
    drop(body);
    assert_eq!(stats.in_flight(), 0);
    let _next = start(&mut service, SAY_HELLO);
    assert_eq!(stats.shed(), 0);
}

#[tokio::test]
async fn a_dropped_future_frees_the_place() {
    let layer = ServerLoadShedLayer::new()
        .max_in_flight(1)
        .method_limit(SAY_HELLO, 1)
        .service_limit("helloworld.Greeter", 1);
    let stats = layer.stats();
    let (mut service, mut handle) = mocked(layer);
    let mut future = Box::pin(start(&mut service, SAY_HELLO));
    assert!(
        (&mut future).now_or_never().is_none(),
        "the inner call is pending"
    );
    let _request = handle.next_request().await.unwrap();
    drop(future);
    assert_eq!(stats.in_flight(), 0);
    assert_eq!(stats.method(SAY_HELLO).unwrap().in_flight(), 0);
    assert_eq!(stats.service("helloworld.Greeter").unwrap().in_flight(), 0);
    // A future never polled frees its place too.
    drop(start(&mut service, SAY_HELLO));
    assert_eq!(stats.in_flight(), 0);
}

#[tokio::test]
async fn a_trailers_only_response_frees_the_place_with_its_head() {
    let layer = ServerLoadShedLayer::new().max_in_flight(1);
    let stats = layer.stats();
    let (mut service, mut handle) = mocked(layer);
    let future = start(&mut service, SAY_HELLO);
    let (_, send) = handle.next_request().await.unwrap();
    send.send_response(Status::not_found("no such greeting").into_http());
    let response = future.await.unwrap();
    assert_eq!(stats.in_flight(), 0);
    assert_eq!(header(response.headers(), "grpc-status"), Some("5"));
}

#[tokio::test]
async fn a_panicking_handler_frees_the_place_as_it_unwinds() {
    let layer = ServerLoadShedLayer::new().max_in_flight(1);
    let stats = layer.stats();
    let service = layer.layer(service_fn(|_: Request| async {
        if true {
            panic!("handler bug");
        }
        Ok::<_, Infallible>(Status::ok().into_http::<GrpcBody>())
    }));
    let caught = std::panic::AssertUnwindSafe(service.oneshot(call(SAY_HELLO)))
        .catch_unwind()
        .await;
    assert!(caught.is_err());
    assert_eq!(stats.in_flight(), 0);
}

// ----- the adaptive limit, through the layer ---------------------------------------------

/// A limiter that records its samples and answers with a set limit.
#[derive(Clone)]
struct Recorder {
    samples: Arc<Mutex<Vec<Sample>>>,
    next: Arc<AtomicUsize>,
}

impl Recorder {
    fn new(limit: usize) -> Recorder {
        Recorder {
            samples: Arc::default(),
            next: Arc::new(AtomicUsize::new(limit)),
        }
    }

    fn samples(&self) -> Vec<Sample> {
        self.samples.lock().unwrap().clone()
    }
}

impl AdaptiveLimit for Recorder {
    fn limit(&self) -> usize {
        self.next.load(Ordering::SeqCst)
    }

    fn update(&mut self, sample: &Sample) -> usize {
        self.samples.lock().unwrap().push(*sample);
        self.next.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn each_finished_call_feeds_the_limiter_and_its_limit_becomes_the_cap() {
    let recorder = Recorder::new(3);
    let layer = ServerLoadShedLayer::new()
        .max_in_flight(1000)
        .adaptive(recorder.clone());
    let stats = layer.stats();
    assert_eq!(stats.limit(), 3, "the limiter's, not max_in_flight");
    let (mut service, mut handle) = mocked(layer);

    // An OK stream: one sample when its trailers pass.
    let future = start(&mut service, SAY_HELLO);
    let (_, send) = handle.next_request().await.unwrap();
    send.send_response(streaming(Code::Ok));
    let body = future.await.unwrap().into_body();
    assert!(recorder.samples().is_empty(), "not before the status");
    body.collect().await.unwrap();
    let samples = recorder.samples();
    assert_eq!(samples.len(), 1);
    assert!(!samples[0].is_overloaded());
    assert_eq!(samples[0].in_flight(), 1);

    // RESOURCE_EXHAUSTED in the trailers, DEADLINE_EXCEEDED trailers-only:
    // overloaded. NOT_FOUND: not.
    for (response, overloaded) in [
        (streaming(Code::ResourceExhausted), true),
        (Status::deadline_exceeded("late").into_http(), true),
        (Status::not_found("none").into_http(), false),
    ] {
        let future = start(&mut service, SAY_HELLO);
        let (_, send) = handle.next_request().await.unwrap();
        send.send_response(response);
        future.await.unwrap().into_body().collect().await.unwrap();
        assert_eq!(
            recorder.samples().last().unwrap().is_overloaded(),
            overloaded
        );
    }

    // Calls dropped before their status teach nothing.
    let before = recorder.samples().len();
    let future = start(&mut service, SAY_HELLO);
    drop(future);
    let future = start(&mut service, SAY_HELLO);
    let (_, send) = handle.next_request().await.unwrap();
    let (_, send2) = handle.next_request().await.unwrap();
    drop(send);
    send2.send_response(streaming(Code::Ok));
    let mut body = Box::pin(future.await.unwrap().into_body());
    body.frame().await.unwrap().unwrap();
    drop(body);
    assert_eq!(recorder.samples().len(), before);

    // The limit the limiter answers with is the cap from then on.
    recorder.next.store(1, Ordering::SeqCst);
    let future = start(&mut service, SAY_HELLO);
    let (_, send) = handle.next_request().await.unwrap();
    send.send_response(Status::ok().into_http());
    future.await.unwrap();
    assert_eq!(stats.limit(), 1);
    let _held = start(&mut service, SAY_HELLO);
    let refused = ready_now(start(&mut service, SAY_HELLO)).unwrap();
    assert_eq!(
        shed_status(&refused).message(),
        "load shed: the server is at its adaptive limit of calls in flight; retry after 100 ms"
    );
}

#[tokio::test]
async fn a_limiter_answering_zero_still_admits_one_call() {
    let recorder = Recorder::new(0);
    let layer = ServerLoadShedLayer::new().adaptive(recorder.clone());
    let stats = layer.stats();
    assert_eq!(stats.limit(), 1);
    let (mut service, mut handle) = mocked(layer);
    let future = start(&mut service, SAY_HELLO);
    let (_, send) = handle.next_request().await.unwrap();
    send.send_response(Status::ok().into_http());
    future.await.unwrap();
    assert_eq!(recorder.samples().len(), 1);
    assert_eq!(
        stats.limit(),
        1,
        "never 0: a cap of 0 would never learn again"
    );
}

// ----- the limiters' arithmetic ------------------------------------------------------------

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn aimd_grows_by_one_per_used_window_of_good_calls() {
    let mut aimd = Aimd::new().initial_limit(10).min_limit(1);
    for i in 1..10 {
        assert_eq!(aimd.update(&Sample::new(ms(5), 10)), 10, "call {i}");
    }
    assert_eq!(aimd.update(&Sample::new(ms(5), 10)), 11, "a window of 10");
    // The next window is 11 calls long.
    for _ in 0..10 {
        assert_eq!(aimd.update(&Sample::new(ms(5), 6)), 11);
    }
    assert_eq!(aimd.update(&Sample::new(ms(5), 6)), 12, "6 × 2 >= 11: used");
}

#[test]
fn aimd_does_not_grow_a_limit_it_does_not_use() {
    let mut aimd = Aimd::new().initial_limit(10);
    for _ in 0..100 {
        aimd.update(&Sample::new(ms(5), 4));
    }
    assert_eq!(aimd.limit(), 10, "4 in flight never tests a limit of 10");
}

#[test]
fn aimd_backs_off_once_per_window_on_overload_or_latency() {
    let mut aimd = Aimd::new()
        .initial_limit(100)
        .min_limit(1)
        .latency_threshold(ms(50));
    assert_eq!(aimd.update(&Sample::overloaded(ms(5), 100)), 90);
    // The next 90 calls cannot cut it again.
    for _ in 0..90 {
        assert_eq!(aimd.update(&Sample::overloaded(ms(5), 100)), 90);
    }
    // Then a slow call (over the threshold) cuts it: floor(90 × 0.9).
    assert_eq!(aimd.update(&Sample::new(ms(51), 90)), 81);
    // Exactly at the threshold is not slow.
    let mut fresh = Aimd::new().initial_limit(100).latency_threshold(ms(50));
    assert_eq!(fresh.update(&Sample::new(ms(50), 100)), 100);
}

#[test]
fn aimd_good_calls_in_a_recovery_window_count_toward_it() {
    let mut aimd = Aimd::new().initial_limit(20).min_limit(1);
    assert_eq!(aimd.update(&Sample::overloaded(ms(1), 20)), 18);
    for _ in 0..5 {
        aimd.update(&Sample::new(ms(1), 18));
    }
    // 13 recovery calls left: an overload now is ignored.
    assert_eq!(aimd.update(&Sample::overloaded(ms(1), 18)), 18);
    // After the window (12 more calls), overload cuts again.
    for _ in 0..12 {
        aimd.update(&Sample::new(ms(1), 18));
    }
    assert_eq!(aimd.update(&Sample::overloaded(ms(1), 18)), 16);
}

#[test]
fn aimd_stays_within_its_bounds() {
    let mut aimd = Aimd::new()
        .initial_limit(12)
        .min_limit(10)
        .max_limit(13)
        .backoff(0.5);
    assert_eq!(
        aimd.update(&Sample::overloaded(ms(1), 12)),
        10,
        "floor(6), raised to the minimum"
    );
    let mut aimd = Aimd::new().initial_limit(13).min_limit(10).max_limit(13);
    for _ in 0..13 {
        aimd.update(&Sample::new(ms(1), 13));
    }
    assert_eq!(aimd.limit(), 13, "at the maximum");
    // Out-of-range settings are brought into range.
    assert_eq!(Aimd::new().initial_limit(5000).limit(), 1000);
    assert_eq!(Aimd::new().min_limit(0).initial_limit(0).limit(), 1);
    assert_eq!(
        Aimd::new().min_limit(5).max_limit(3).limit(),
        5,
        "the minimum wins"
    );
    let mut steep = Aimd::new().initial_limit(100).backoff(7.0);
    assert_eq!(
        steep.update(&Sample::overloaded(ms(1), 100)),
        99,
        "backoff kept under 1"
    );
    let mut nan = Aimd::new().initial_limit(100).backoff(f64::NAN);
    assert_eq!(
        nan.update(&Sample::overloaded(ms(1), 100)),
        90,
        "NaN ignored"
    );
}

#[test]
fn gradient_grows_by_queue_size_times_smoothing_while_latency_holds() {
    // 0.25 and 4: steps of exactly 1.0.
    let mut gradient = Gradient::new().initial_limit(20).smoothing(0.25);
    for expected in 21..=30 {
        assert_eq!(gradient.update(&Sample::new(ms(10), 20)), expected);
    }
    let mut gradient = Gradient::new()
        .initial_limit(20)
        .smoothing(0.25)
        .queue_size(8);
    assert_eq!(gradient.update(&Sample::new(ms(10), 20)), 22);
}

#[test]
fn gradient_shrinks_when_latency_rises_over_its_long_term_average() {
    let mut gradient = Gradient::new()
        .initial_limit(100)
        .smoothing(0.5)
        .queue_size(0);
    // A baseline of 10 ms (the warm-up average), the limit held there.
    for _ in 0..10 {
        assert_eq!(gradient.update(&Sample::new(ms(10), 100)), 100);
    }
    // A call at 40 ms: long ≈ 10.05 ms, gradient ≈ 0.25 → 0.5 (the floor):
    // 100 × 0.5 + (100 × 0.5) × 0.5 = 75.
    assert_eq!(gradient.update(&Sample::new(ms(40), 100)), 75);
    // Slightly slow (12 ms): gradient ≈ 0.84, 75 → ~69.
    let limit = gradient.update(&Sample::new(ms(12), 75));
    assert!((68..=70).contains(&limit), "{limit}");
}

#[test]
fn gradient_treats_an_overloaded_call_as_the_lowest_gradient() {
    let mut gradient = Gradient::new().initial_limit(100).smoothing(0.25);
    // 100 × 0.75 + (100 × 0.5 + 4) × 0.25 = 88.5
    assert_eq!(gradient.update(&Sample::overloaded(ms(10), 100)), 88);
}

#[test]
fn gradient_learns_nothing_while_app_limited() {
    let mut gradient = Gradient::new().initial_limit(100);
    for _ in 0..50 {
        assert_eq!(gradient.update(&Sample::new(ms(10), 49)), 100);
        assert_eq!(gradient.update(&Sample::overloaded(ms(500), 49)), 100);
    }
}

#[test]
fn gradient_stays_within_its_bounds() {
    let mut gradient = Gradient::new()
        .initial_limit(12)
        .min_limit(10)
        .max_limit(14)
        .smoothing(1.0);
    assert_eq!(
        gradient.update(&Sample::overloaded(ms(10), 12)),
        10,
        "12 × 0.5 + 4 = 10"
    );
    assert_eq!(
        gradient.update(&Sample::overloaded(ms(10), 12)),
        10,
        "9, raised to the minimum"
    );
    for _ in 0..5 {
        gradient.update(&Sample::new(ms(10), 14));
    }
    assert_eq!(gradient.limit(), 14);
    assert_eq!(Gradient::new().min_limit(0).initial_limit(0).limit(), 1);
    assert_eq!(Gradient::new().initial_limit(1 << 20).limit(), 1000);
    // A zero latency does not divide by zero.
    let mut gradient = Gradient::new().initial_limit(20);
    assert_eq!(gradient.update(&Sample::new(Duration::ZERO, 20)), 20);
}

#[test]
fn gradient_lets_the_baseline_fall_once_load_has_passed() {
    let mut gradient = Gradient::new()
        .initial_limit(50)
        .smoothing(0.5)
        .queue_size(0)
        .long_window(1000);
    // A spell of 100 ms calls (the warm-up) sets the baseline at 100 ms.
    for _ in 0..10 {
        assert_eq!(gradient.update(&Sample::new(ms(100), 50)), 50);
    }
    // Latency back at 10 ms for 50 calls. The exponential average alone
    // (window 1000) would keep the baseline near 90 ms; the 10 % cut per
    // call while it is over twice the latency brings it under 20 ms.
    for _ in 0..50 {
        assert_eq!(gradient.update(&Sample::new(ms(10), 50)), 50);
    }
    // So a call at 30 ms now reads as queueing (gradient ≈ 0.63, not 1).
    let limit = gradient.update(&Sample::new(ms(30), 50));
    assert!((38..=43).contains(&limit), "{limit}");
}
