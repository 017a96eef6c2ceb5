use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use grpc_core::deadline::Deadline;
use grpc_core::{BoxError, Code, GrpcBody, Status};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use tokio::time::{advance, sleep, Instant};
use tower::{service_fn, Layer, ServiceExt};
use tower_test::mock;

use super::*;
use grpc_core::status::mapping::Side;

type Request = http::Request<GrpcBody>;
type Response = http::Response<GrpcBody>;

/// A deadline `timeout` from now on tokio's (paused) clock.
fn deadline_in(timeout: Duration) -> Deadline {
    Deadline::from_timeout(Instant::now().into_std(), timeout)
}

fn request_with_timeout(value: &'static [u8]) -> Request {
    let mut request = Request::new(GrpcBody::empty());
    request.headers_mut().insert(
        "grpc-timeout",
        http::HeaderValue::from_bytes(value).unwrap(),
    );
    request
}

/// A gRPC response head with a body still to come.
fn streaming_response<B>(body: B) -> http::Response<B> {
    let mut response = http::Response::new(body);
    response.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/grpc"),
    );
    response
}

fn ok_trailers() -> http::HeaderMap {
    Status::ok().to_headers()
}

/// Sets its flag when dropped: shows the layer dropped a handler.
#[derive(Clone, Default)]
struct Dropped(Arc<AtomicBool>);

struct DropGuard(Arc<AtomicBool>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Dropped {
    fn guard(&self) -> DropGuard {
        DropGuard(self.0.clone())
    }

    fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A body with a message always ready; it never ends on its own.
struct Endless {
    sent: Arc<AtomicUsize>,
    _guard: DropGuard,
}

impl Body for Endless {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.sent.fetch_add(1, Ordering::SeqCst);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"\0\0\0\0\x01x")))))
    }
}

/// A body that yields one message every `every`, `count` times, then OK
/// trailers.
fn ticking_body(
    every: Duration,
    count: usize,
    guard: DropGuard,
) -> impl Body<Data = Bytes, Error = Infallible> + Send + Unpin {
    let frames = futures_util::stream::unfold((0, guard), move |(i, guard)| async move {
        if i > count {
            return None;
        }
        if i == count {
            return Some((Ok(Frame::trailers(ok_trailers())), (i + 1, guard)));
        }
        sleep(every).await;
        Some((
            Ok(Frame::data(Bytes::from_static(b"\0\0\0\0\x01x"))),
            (i + 1, guard),
        ))
    });
    http_body_util::StreamBody::new(Box::pin(frames))
}

/// The frames of a body until it ends, with the time each came.
async fn frames<B>(body: B) -> Vec<(Duration, Result<Frame<Bytes>, B::Error>)>
where
    B: Body<Data = Bytes>,
{
    let start = Instant::now();
    let mut body = Box::pin(body);
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let failed = frame.is_err();
        out.push((start.elapsed(), frame));
        if failed {
            break;
        }
    }
    out
}

/// An OK trailers-only response carrying `value` in its extensions.
fn tagged<T: Clone + Send + Sync + 'static>(value: T) -> Response {
    let mut response = Status::ok().into_http::<GrpcBody>();
    response.extensions_mut().insert(value);
    response
}

fn grpc_status(headers: &http::HeaderMap) -> Option<&str> {
    headers.get("grpc-status").map(|v| v.to_str().unwrap())
}

// ----- readiness, errors, clones -------------------------------------------

#[tokio::test(start_paused = true)]
async fn the_server_side_forwards_readiness() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request, Response, _>(ServerDeadlineLayer::new());
    handle.allow(0);
    assert!(service.poll_ready().is_pending());
    handle.allow(1);
    assert!(service.is_woken());
    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
}

#[tokio::test(start_paused = true)]
async fn the_client_side_forwards_readiness_and_its_errors() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request, Response, _>(ClientDeadlineLayer::new());
    handle.allow(0);
    assert!(service.poll_ready().is_pending());
    handle.send_error("connection refused");
    match service.poll_ready() {
        Poll::Ready(Err(err)) => assert_eq!(err.to_string(), "connection refused"),
        other => panic!("expected the inner error, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_clone_of_a_ready_service_is_not_ready() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request, Response, _>(ServerDeadlineLayer::new());
    handle.allow(1);
    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
    handle.allow(0);
    let mut clone = service.clone();
    assert!(clone.poll_ready().is_pending(), "readiness is not cloned");
    assert!(
        matches!(service.poll_ready(), Poll::Ready(Ok(()))),
        "still ready"
    );

    let (mut service, mut handle) =
        mock::spawn_layer::<Request, Response, _>(ClientDeadlineLayer::new());
    handle.allow(1);
    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
    handle.allow(0);
    let mut clone = service.clone();
    assert!(clone.poll_ready().is_pending(), "readiness is not cloned");
    assert!(
        matches!(service.poll_ready(), Poll::Ready(Ok(()))),
        "still ready"
    );
}

#[tokio::test(start_paused = true)]
async fn inner_errors_pass_through_the_server_side_unchanged() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request, Response, _>(ServerDeadlineLayer::new());
    handle.allow(1);
    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
    let future = service.call(request_with_timeout(b"1S"));
    let (_, send) = handle.next_request().await.unwrap();
    send.send_error("transport broke");
    let err: BoxError = future.await.unwrap_err();
    assert_eq!(err.to_string(), "transport broke");
}

#[tokio::test(start_paused = true)]
async fn inner_errors_pass_through_the_client_side() {
    let (mut service, mut handle) = mock::spawn_layer::<Request, Response, _>(
        ClientDeadlineLayer::new().default_timeout(Duration::from_secs(1)),
    );
    handle.allow(1);
    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
    let future = service.call(Request::new(GrpcBody::empty()));
    let (_, send) = handle.next_request().await.unwrap();
    send.send_error("stream reset");
    assert_eq!(future.await.unwrap_err().to_string(), "stream reset");
}

// ----- server side ---------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_call_without_grpc_timeout_has_no_deadline() {
    let service = ServerDeadlineLayer::new().layer(service_fn(|request: Request| async move {
        assert!(request.extensions().get::<Deadline>().is_none());
        assert!(current().is_none());
        sleep(Duration::from_secs(3600)).await;
        Ok::<_, Infallible>(streaming_response(GrpcBody::once(
            Bytes::from_static(b"\0\0\0\0\x01x"),
            Some(ok_trailers()),
        )))
    }));
    let response = service
        .oneshot(Request::new(GrpcBody::empty()))
        .await
        .unwrap();
    let body = response.into_body().collect().await.unwrap();
    assert_eq!(grpc_status(body.trailers().unwrap()), Some("0"));
}

#[tokio::test(start_paused = true)]
async fn the_handler_sees_its_deadline_in_the_extensions_and_as_the_current_one() {
    let service = ServerDeadlineLayer::new().layer(service_fn(|request: Request| async move {
        let deadline = *request.extensions().get::<Deadline>().unwrap();
        let left = deadline.remaining_at(Instant::now().into_std());
        assert_eq!(left, Duration::from_millis(1500));
        assert_eq!(current(), Some(deadline), "before an await");
        sleep(Duration::from_millis(500)).await;
        assert_eq!(current(), Some(deadline), "after an await");
        Ok::<_, Infallible>(Status::ok().into_http::<GrpcBody>())
    }));
    let response = service
        .oneshot(request_with_timeout(b"1500m"))
        .await
        .unwrap();
    assert_eq!(grpc_status(response.headers()), Some("0"));
    assert!(current().is_none(), "the scope ends with the poll");
}

#[tokio::test(start_paused = true)]
async fn a_late_response_head_is_deadline_exceeded_and_stops_the_handler() {
    let dropped = Dropped::default();
    let flag = dropped.clone();
    let service = ServerDeadlineLayer::new().layer(service_fn(move |_: Request| {
        let guard = flag.guard();
        async move {
            let _guard = guard;
            sleep(Duration::from_secs(10)).await;
            Ok::<_, Infallible>(Status::ok().into_http::<GrpcBody>())
        }
    }));
    let start = Instant::now();
    let response = service
        .oneshot(request_with_timeout(b"250m"))
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(250));
    assert_eq!(response.status(), http::StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/grpc");
    assert_eq!(grpc_status(response.headers()), Some("4"));
    let status = Status::from_headers(response.headers()).unwrap();
    assert!(status.message().contains("250ms"), "{status:?}");
    assert!(dropped.get(), "the handler's future was dropped");
    assert!(response.into_body().is_end_stream(), "trailers-only");
}

#[tokio::test(start_paused = true)]
async fn a_streaming_response_is_cut_at_the_deadline_with_deadline_exceeded_trailers() {
    let dropped = Dropped::default();
    let flag = dropped.clone();
    let service = ServerDeadlineLayer::new().layer(service_fn(move |_: Request| {
        let body = ticking_body(Duration::from_millis(100), 1000, flag.guard());
        async move { Ok::<_, Infallible>(streaming_response(body)) }
    }));
    let response = service.oneshot(request_with_timeout(b"1S")).await.unwrap();
    let frames = frames(response.into_body()).await;
    let (at, last) = frames.last().unwrap();
    let trailers = last.as_ref().unwrap().trailers_ref().unwrap();
    assert_eq!(grpc_status(trailers), Some("4"));
    assert_eq!(*at, Duration::from_secs(1), "cut exactly at the deadline");
    // Messages at 100, 200, ... 900 ms; the one due at 1 s lost the race.
    assert_eq!(frames.len() - 1, 9);
    assert!(dropped.get(), "the handler's stream was dropped");
}

#[tokio::test(start_paused = true)]
async fn a_stream_that_always_has_a_message_ready_still_stops_at_the_deadline() {
    let dropped = Dropped::default();
    let sent = Arc::new(AtomicUsize::new(0));
    let body = Endless {
        sent: sent.clone(),
        _guard: dropped.guard(),
    };
    let mut body = Box::pin(DeadlineBody::timed(
        body,
        deadline_in(Duration::from_millis(50)),
        Duration::from_millis(50),
        Side::Server,
    ));
    for _ in 0..5 {
        let frame = body.frame().now_or_never().unwrap().unwrap().unwrap();
        assert!(frame.is_data());
    }
    advance(Duration::from_millis(50)).await;
    let frame = body.frame().now_or_never().unwrap().unwrap().unwrap();
    assert_eq!(grpc_status(frame.trailers_ref().unwrap()), Some("4"));
    assert!(dropped.get());
    assert_eq!(
        sent.load(Ordering::SeqCst),
        5,
        "not polled after the deadline"
    );
    assert!(body.is_end_stream());
    assert!(body.frame().now_or_never().unwrap().is_none());
}

#[tokio::test(start_paused = true)]
async fn a_response_that_ends_in_time_keeps_its_own_trailers() {
    let service = ServerDeadlineLayer::new().layer(service_fn(|_: Request| async move {
        let body = ticking_body(Duration::from_millis(100), 3, Dropped::default().guard());
        Ok::<_, Infallible>(streaming_response(body))
    }));
    let response = service.oneshot(request_with_timeout(b"1S")).await.unwrap();
    let mut body = Box::pin(response.into_body());
    let mut trailers = None;
    while let Some(frame) = body.frame().await {
        if let Ok(t) = frame.unwrap().into_trailers() {
            trailers = Some(t);
        }
    }
    assert_eq!(grpc_status(&trailers.unwrap()), Some("0"));
    // Polled again well after the deadline: still ended, no second status.
    advance(Duration::from_secs(5)).await;
    assert!(body.frame().await.is_none());
    assert!(body.is_end_stream());
}

#[tokio::test(start_paused = true)]
async fn a_trailers_only_answer_is_not_given_a_second_status() {
    let service = ServerDeadlineLayer::new().layer(service_fn(|_: Request| async move {
        Ok::<_, Infallible>(Status::not_found("no such thing").into_http::<GrpcBody>())
    }));
    let response = service.oneshot(request_with_timeout(b"10m")).await.unwrap();
    assert_eq!(grpc_status(response.headers()), Some("5"));
    advance(Duration::from_secs(1)).await;
    let mut body = Box::pin(response.into_body());
    assert!(body.is_end_stream());
    assert!(body.frame().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn malformed_grpc_timeouts_are_internal_and_never_reach_the_handler() {
    let bad: [&'static [u8]; 9] = [
        b"",
        b"1",
        b"S",
        b"1x",
        b"1s",
        b"-1S",
        b"1.5S",
        b"123456789S",
        b"\xff1S",
    ];
    for value in bad {
        let (mut service, mut handle) =
            mock::spawn_layer::<Request, Response, _>(ServerDeadlineLayer::new());
        handle.allow(1);
        assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
        let response = service.call(request_with_timeout(value)).await.unwrap();
        let status = Status::from_headers(response.headers()).unwrap();
        assert_eq!(status.code(), Code::Internal, "{value:?}");
        assert!(
            status.message().starts_with("malformed grpc-timeout"),
            "{value:?}: {status:?}"
        );
        assert!(
            handle.poll_request().is_pending(),
            "{value:?} reached the handler"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_zero_timeout_is_exceeded_without_calling_the_handler() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request, Response, _>(ServerDeadlineLayer::new());
    handle.allow(1);
    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
    let response = service.call(request_with_timeout(b"0n")).await.unwrap();
    assert_eq!(grpc_status(response.headers()), Some("4"));
    assert!(handle.poll_request().is_pending());
}

#[tokio::test(start_paused = true)]
async fn the_server_default_applies_without_grpc_timeout_and_the_cap_binds_longer_ones() {
    let seen = |layer: ServerDeadlineLayer, request: Request| async move {
        let service = layer.layer(service_fn(|request: Request| async move {
            let deadline = *request.extensions().get::<Deadline>().unwrap();
            let left = deadline.remaining_at(Instant::now().into_std());
            Ok::<_, Infallible>(tagged(left))
        }));
        let response = service.oneshot(request).await.unwrap();
        *response.extensions().get::<Duration>().unwrap()
    };
    let secs = Duration::from_secs;
    let default = ServerDeadlineLayer::new().default_timeout(secs(7));
    assert_eq!(
        seen(default, Request::new(GrpcBody::empty())).await,
        secs(7)
    );
    assert_eq!(seen(default, request_with_timeout(b"2S")).await, secs(2));
    let capped = ServerDeadlineLayer::new().max_timeout(secs(30));
    assert_eq!(seen(capped, request_with_timeout(b"1H")).await, secs(30));
    assert_eq!(seen(capped, request_with_timeout(b"3S")).await, secs(3));
}

#[tokio::test(start_paused = true)]
async fn the_longest_grpc_timeout_is_accepted() {
    let service = ServerDeadlineLayer::new().layer(service_fn(|_: Request| async move {
        Ok::<_, Infallible>(Status::ok().into_http::<GrpcBody>())
    }));
    let response = service
        .oneshot(request_with_timeout(b"99999999H"))
        .await
        .unwrap();
    assert_eq!(grpc_status(response.headers()), Some("0"));
}

// ----- client side ---------------------------------------------------------

/// The `grpc-timeout` a client layer sends for `request`.
async fn sent_timeout(layer: ClientDeadlineLayer, request: Request) -> Option<String> {
    let service = layer.layer(service_fn(|request: Request| async move {
        let value = request
            .headers()
            .get("grpc-timeout")
            .map(|v| v.to_str().unwrap().to_owned());
        let deadline = request.extensions().get::<Deadline>().copied();
        assert_eq!(
            value.is_some(),
            deadline.is_some(),
            "header and extension agree"
        );
        Ok::<_, Infallible>(tagged(value))
    }));
    let response = service.oneshot(request).await.unwrap();
    response
        .extensions()
        .get::<Option<String>>()
        .unwrap()
        .clone()
}

fn with_deadline(timeout: Duration) -> Request {
    let mut request = Request::new(GrpcBody::empty());
    request.extensions_mut().insert(deadline_in(timeout));
    request
}

#[tokio::test(start_paused = true)]
async fn a_per_call_deadline_goes_out_as_grpc_timeout() {
    let layer = ClientDeadlineLayer::new();
    let sent = sent_timeout(layer, with_deadline(Duration::from_millis(300))).await;
    assert_eq!(sent.as_deref(), Some("300000u"));
    assert_eq!(
        sent_timeout(layer, Request::new(GrpcBody::empty())).await,
        None
    );
}

#[tokio::test(start_paused = true)]
async fn the_client_default_applies_only_to_calls_without_their_own_deadline() {
    let layer = ClientDeadlineLayer::new().default_timeout(Duration::from_secs(2));
    let sent = sent_timeout(layer, Request::new(GrpcBody::empty())).await;
    assert_eq!(sent.as_deref(), Some("2000000u"));
    let sent = sent_timeout(layer, with_deadline(Duration::from_secs(5))).await;
    assert_eq!(sent.as_deref(), Some("5000000u"), "the call's own wins");
}

#[tokio::test(start_paused = true)]
async fn a_grpc_timeout_already_on_the_request_counts_as_its_own_deadline() {
    let layer = ClientDeadlineLayer::new();
    let sent = sent_timeout(layer, request_with_timeout(b"40m")).await;
    assert_eq!(sent.as_deref(), Some("40000000n"));
    let mut both = with_deadline(Duration::from_millis(10));
    both.headers_mut()
        .insert("grpc-timeout", http::HeaderValue::from_static("40m"));
    assert_eq!(
        sent_timeout(layer, both).await.as_deref(),
        Some("10000000n")
    );
}

#[tokio::test(start_paused = true)]
async fn a_malformed_outgoing_grpc_timeout_fails_the_call_before_sending() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request, Response, _>(ClientDeadlineLayer::new());
    handle.allow(1);
    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
    let response = service.call(request_with_timeout(b"soon")).await.unwrap();
    let status = head_status(&response);
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    assert!(response.into_body().is_end_stream(), "trailers-only");
    assert!(handle.poll_request().is_pending());
}

/// The status a trailers-only response carries in its head.
fn head_status<B>(response: &http::Response<B>) -> Status {
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/grpc");
    Status::from_headers(response.headers()).expect("a trailers-only response")
}

#[tokio::test(start_paused = true)]
async fn the_propagated_deadline_narrows_a_longer_one_but_not_a_shorter_one() {
    let layer = ClientDeadlineLayer::new().default_timeout(Duration::from_secs(10));
    let incoming = deadline_in(Duration::from_secs(1));
    let sent = scope(
        incoming,
        sent_timeout(layer, Request::new(GrpcBody::empty())),
    )
    .await;
    assert_eq!(
        sent.as_deref(),
        Some("1000000u"),
        "the incoming one is shorter"
    );
    let sent = scope(
        incoming,
        sent_timeout(layer, with_deadline(Duration::from_millis(200))),
    )
    .await;
    assert_eq!(
        sent.as_deref(),
        Some("200000u"),
        "the call's own is shorter"
    );
    let sent = scope(
        incoming,
        sent_timeout(layer.propagate(false), Request::new(GrpcBody::empty())),
    )
    .await;
    assert_eq!(sent.as_deref(), Some("10000000u"), "propagation off");
}

#[tokio::test(start_paused = true)]
async fn a_late_response_head_is_a_trailers_only_deadline_exceeded_on_the_client() {
    let dropped = Dropped::default();
    let flag = dropped.clone();
    let service = ClientDeadlineLayer::new()
        .default_timeout(Duration::from_millis(100))
        .layer(service_fn(move |_: Request| {
            let guard = flag.guard();
            async move {
                let _guard = guard;
                sleep(Duration::from_secs(10)).await;
                Ok::<_, Infallible>(Status::ok().into_http::<GrpcBody>())
            }
        }));
    let start = Instant::now();
    let response = service
        .oneshot(Request::new(GrpcBody::empty()))
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    assert!(
        dropped.get(),
        "the call was dropped, which resets its stream"
    );
    let status = head_status(&response);
    assert_eq!(status.code(), Code::DeadlineExceeded);
    assert!(status.message().contains("100ms"), "{status:?}");
    assert!(response.into_body().is_end_stream());
}

#[tokio::test(start_paused = true)]
async fn a_response_body_still_streaming_at_the_deadline_ends_with_deadline_exceeded_trailers_on_the_client(
) {
    let dropped = Dropped::default();
    let flag = dropped.clone();
    let service = ClientDeadlineLayer::new()
        .default_timeout(Duration::from_millis(350))
        .layer(service_fn(move |_: Request| {
            let body = ticking_body(Duration::from_millis(100), 1000, flag.guard());
            async move { Ok::<_, Infallible>(streaming_response(body)) }
        }));
    let response = service
        .oneshot(Request::new(GrpcBody::empty()))
        .await
        .unwrap();
    let frames = frames(response.into_body()).await;
    assert_eq!(frames.len(), 4, "three messages, then the trailers");
    let (at, last) = frames.last().unwrap();
    assert_eq!(*at, Duration::from_millis(350));
    let trailers = last.as_ref().unwrap().trailers_ref().unwrap();
    assert_eq!(grpc_status(trailers), Some("4"));
    assert!(dropped.get(), "the response body was dropped");
}

#[tokio::test(start_paused = true)]
async fn a_deadline_already_passed_fails_without_sending() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request, Response, _>(ClientDeadlineLayer::new());
    handle.allow(1);
    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
    let request = with_deadline(Duration::ZERO);
    let response = service.call(request).await.unwrap();
    assert_eq!(head_status(&response).code(), Code::DeadlineExceeded);
    assert!(handle.poll_request().is_pending(), "nothing was sent");
}

/// An inner service that arms its own timer from the `grpc-timeout` it
/// is sent, as tonic's `Channel` does, and fails when it fires: with an
/// error, or with a `CANCELLED` answer.
fn own_timer_transport(
    answer: bool,
) -> impl tower::Service<Request, Response = Response, Error = BoxError, Future = impl Send> + Clone
{
    service_fn(move |request: Request| {
        let timeout =
            grpc_core::timeout::parse_timeout(request.headers()["grpc-timeout"].as_bytes())
                .unwrap();
        async move {
            sleep(timeout).await;
            if answer {
                Ok(Status::cancelled("Timeout expired").into_http::<GrpcBody>())
            } else {
                Err::<Response, BoxError>("Timeout expired".into())
            }
        }
    })
}

#[tokio::test(start_paused = true)]
async fn the_deadline_wins_its_race_with_an_inner_timer_on_the_head() {
    for answer in [false, true] {
        let service = ClientDeadlineLayer::new()
            .default_timeout(Duration::from_millis(100))
            .layer(own_timer_transport(answer));
        let response = service
            .oneshot(Request::new(GrpcBody::empty()))
            .await
            .expect("an answer, not the inner error");
        let status = head_status(&response);
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn the_deadline_wins_its_race_with_an_inner_body_that_ends_at_the_same_instant() {
    // The inner body ends with CANCELLED trailers (or an error) exactly at
    // the deadline, before the layer's own timer is polled.
    for answer in [false, true] {
        let service = ClientDeadlineLayer::new()
            .default_timeout(Duration::from_millis(100))
            .layer(service_fn(move |_: Request| async move {
                let body =
                    http_body_util::StreamBody::new(futures_util::stream::once(async move {
                        sleep(Duration::from_millis(100)).await;
                        if answer {
                            Ok(Frame::trailers(
                                Status::cancelled("Timeout expired").to_headers(),
                            ))
                        } else {
                            Err::<Frame<Bytes>, BoxError>("Timeout expired".into())
                        }
                    }));
                Ok::<_, Infallible>(streaming_response(body))
            }));
        let response = service
            .oneshot(Request::new(GrpcBody::empty()))
            .await
            .unwrap();
        let frames = frames(response.into_body()).await;
        let (_, last) = frames.last().unwrap();
        let trailers = last.as_ref().expect("trailers, not the inner error");
        assert_eq!(grpc_status(trailers.trailers_ref().unwrap()), Some("4"));
    }
}

// ----- propagation ---------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_scope_narrows_the_current_deadline_but_never_extends_it() {
    assert!(current().is_none());
    let outer = deadline_in(Duration::from_secs(1));
    let shorter = deadline_in(Duration::from_millis(10));
    let longer = deadline_in(Duration::from_secs(60));
    scope(outer, async move {
        assert_eq!(current(), Some(outer));
        assert_eq!(scope(shorter, async { current() }).await, Some(shorter));
        assert_eq!(scope(longer, async { current() }).await, Some(outer));
        assert_eq!(current(), Some(outer), "restored after the inner scope");
    })
    .await;
    assert!(current().is_none());
}

#[tokio::test(start_paused = true)]
async fn a_spawned_task_inherits_the_deadline_only_when_asked() {
    let outer = deadline_in(Duration::from_secs(1));
    let (plain, inherited) = scope(outer, async {
        let plain = tokio::spawn(async { current() });
        let inherited = tokio::spawn(inherit(async { current() }));
        (plain.await.unwrap(), inherited.await.unwrap())
    })
    .await;
    assert_eq!(plain, None);
    assert_eq!(inherited, Some(outer));
}

#[tokio::test(start_paused = true)]
async fn a_call_made_from_a_handler_inherits_the_incoming_deadline() {
    // The handler calls through a client layer with a long default; what the
    // "next hop" sees is the incoming deadline, less the time already spent.
    let next_hop = ClientDeadlineLayer::new()
        .default_timeout(Duration::from_secs(60))
        .layer(service_fn(|request: Request| async move {
            let sent = request.headers()["grpc-timeout"]
                .to_str()
                .unwrap()
                .to_owned();
            Ok::<_, Infallible>(tagged(sent))
        }));
    let service = ServerDeadlineLayer::new().layer(service_fn(move |_: Request| {
        let next_hop = next_hop.clone();
        async move {
            sleep(Duration::from_millis(300)).await;
            let response = next_hop.oneshot(Request::new(GrpcBody::empty())).await?;
            let sent = response.extensions().get::<String>().unwrap().clone();
            Ok::<_, BoxError>(tagged(sent))
        }
    }));
    let response = service.oneshot(request_with_timeout(b"2S")).await.unwrap();
    assert_eq!(response.extensions().get::<String>().unwrap(), "1700000u");
}

#[tokio::test(start_paused = true)]
async fn bodies_forward_end_of_stream_and_size_hints_but_a_timed_one_may_end_early() {
    let once = || GrpcBody::once(Bytes::from_static(b"\0\0\0\0\x01x"), None);
    let passthrough = DeadlineBody::passthrough(once(), Side::Server);
    assert_eq!(passthrough.size_hint().lower(), 6);
    assert!(!passthrough.is_end_stream());
    let deadline = deadline_in(Duration::from_secs(1));
    let timed = DeadlineBody::timed(once(), deadline, Duration::from_secs(1), Side::Client);
    assert_eq!(timed.size_hint().lower(), 0, "it may be cut short");
    assert!(!timed.is_end_stream());
    let empty = DeadlineBody::timed(
        GrpcBody::empty(),
        deadline,
        Duration::from_secs(1),
        Side::Server,
    );
    assert!(empty.is_end_stream());
    assert_eq!(
        DeadlineBody::<GrpcBody>::default().size_hint().exact(),
        Some(0)
    );
}
