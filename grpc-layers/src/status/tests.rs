use std::convert::Infallible;
use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use grpc_core::codec::framing::encode_raw;
use grpc_core::headers::APPLICATION_GRPC;
use grpc_core::status::mapping::{code_from_http2_error, Side};
use grpc_core::test_util::ScriptedBody;
use grpc_core::{BoxError, Code, GrpcBody, Status};
use h2::Reason;
use http::HeaderMap;
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use tower::timeout::error::Elapsed;
use tower::{service_fn, ServiceExt};
use tower_layer::Layer;
use tower_test::mock;

use super::*;

type Request = http::Request<GrpcBody>;
type Response = http::Response<ScriptedBody>;

/// An error that wraps another, as layers and hyper do.
#[derive(Debug)]
struct Wrapped(BoxError);

impl fmt::Display for Wrapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("wrapped")
    }
}

impl StdError for Wrapped {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.0)
    }
}

fn wrapped(err: impl Into<BoxError>) -> BoxError {
    Box::new(Wrapped(Box::new(Wrapped(err.into()))))
}

/// An application error for rules.
#[derive(Debug)]
struct NoSuchUser;

impl fmt::Display for NoSuchUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no such user")
    }
}

impl StdError for NoSuchUser {}

fn map(err: impl Into<BoxError>) -> Status {
    DefaultMapper::new().map_error(err.into())
}

#[test]
fn h2_reasons_map_as_the_grpc_http2_spec_says() {
    let table = [
        (Reason::NO_ERROR, Code::Internal),
        (Reason::PROTOCOL_ERROR, Code::Internal),
        (Reason::INTERNAL_ERROR, Code::Internal),
        (Reason::FLOW_CONTROL_ERROR, Code::Internal),
        (Reason::SETTINGS_TIMEOUT, Code::Internal),
        (Reason::FRAME_SIZE_ERROR, Code::Internal),
        (Reason::REFUSED_STREAM, Code::Unavailable),
        (Reason::CANCEL, Code::Cancelled),
        (Reason::COMPRESSION_ERROR, Code::Internal),
        (Reason::CONNECT_ERROR, Code::Internal),
        (Reason::ENHANCE_YOUR_CALM, Code::ResourceExhausted),
        (Reason::INADEQUATE_SECURITY, Code::PermissionDenied),
        (Reason::HTTP_1_1_REQUIRED, Code::Internal),
    ];
    for (reason, code) in table {
        assert_eq!(
            code_from_http2_error(u32::from(reason).into()).unwrap(),
            code,
            "{reason:?}"
        );
        assert_eq!(map(h2::Error::from(reason)).code(), code, "{reason:?}");
        assert_eq!(
            map(wrapped(h2::Error::from(reason))).code(),
            code,
            "nested {reason:?}"
        );
    }
}

#[test]
fn a_status_anywhere_in_the_chain_wins() {
    let status = Status::permission_denied("no");
    assert_eq!(map(status.clone()).code(), Code::PermissionDenied);
    let back = map(wrapped(status));
    assert_eq!(back.code(), Code::PermissionDenied);
    assert_eq!(back.message(), "no");
    // Even over a rule that knows an error further out.
    let ruled = DefaultMapper::new().code::<Wrapped>(Code::Internal);
    let status = ruled.map_error(wrapped(Status::aborted("conflict")));
    assert_eq!(status.code(), Code::Aborted);
}

#[test]
fn broken_connections_are_unavailable_and_other_io_errors_unknown() {
    use io::ErrorKind::*;
    for kind in [
        ConnectionRefused,
        ConnectionReset,
        ConnectionAborted,
        BrokenPipe,
        NotConnected,
        UnexpectedEof,
        TimedOut,
    ] {
        assert_eq!(
            map(wrapped(io::Error::from(kind))).code(),
            Code::Unavailable,
            "{kind:?}"
        );
    }
    assert_eq!(map(io::Error::from(PermissionDenied)).code(), Code::Unknown);
}

#[test]
fn on_the_server_side_a_broken_connection_cancels_and_resets_keep_their_row() {
    let server = DefaultMapper::new().side(Side::Server);
    let reset = io::Error::from(io::ErrorKind::ConnectionReset);
    assert_eq!(server.map_error(wrapped(reset)).code(), Code::Cancelled);
    // A stream reset is the same row of the table on either side.
    for (reason, code) in [
        (Reason::CANCEL, Code::Cancelled),
        (Reason::REFUSED_STREAM, Code::Unavailable),
        (Reason::ENHANCE_YOUR_CALM, Code::ResourceExhausted),
    ] {
        let err = wrapped(h2::Error::from(reason));
        assert_eq!(server.map_error(err).code(), code, "{reason:?}");
    }
}

#[test]
fn towers_elapsed_is_deadline_exceeded_and_overloaded_is_unavailable() {
    assert_eq!(map(Elapsed::new()).code(), Code::DeadlineExceeded);
    assert_eq!(map(wrapped(Elapsed::new())).code(), Code::DeadlineExceeded);
    let overloaded = tower::load_shed::error::Overloaded::new();
    assert_eq!(map(overloaded).code(), Code::Unavailable);
}

#[test]
fn anything_else_is_unknown_with_the_chain_as_message_and_the_error_as_source() {
    let status = map(Wrapped("disk on fire".into()));
    assert_eq!(status.code(), Code::Unknown);
    assert_eq!(status.message(), "wrapped: disk on fire");
    let source = StdError::source(&status).unwrap();
    assert!(source.downcast_ref::<Wrapped>().is_some());
}

#[test]
fn rules_for_your_own_errors_come_before_the_table() {
    let mapper = DefaultMapper::new()
        .code::<NoSuchUser>(Code::NotFound)
        .rule::<io::Error>(|e| Status::failed_precondition(format!("io: {}", e.kind())));
    let status = mapper.map_error(wrapped(NoSuchUser));
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.message(), "wrapped: no such user");
    assert!(StdError::source(&status)
        .unwrap()
        .downcast_ref::<Wrapped>()
        .is_some());
    // The rule's own message is kept; it beats the table's io entry.
    let refused = mapper.map_error(Box::new(io::Error::from(io::ErrorKind::ConnectionRefused)));
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(refused.message(), "io: connection refused");
    // An error the rules do not know still goes by the table.
    assert_eq!(
        mapper.map_error(Box::new(Elapsed::new())).code(),
        Code::DeadlineExceeded
    );
    // The first rule that knows an error decides.
    let first = DefaultMapper::new()
        .code::<NoSuchUser>(Code::NotFound)
        .code::<NoSuchUser>(Code::Internal);
    assert_eq!(first.map_error(Box::new(NoSuchUser)).code(), Code::NotFound);
    let debug = format!("{first:?}");
    assert!(debug.contains("NoSuchUser"), "{debug}");
}

#[test]
fn the_outermost_error_the_table_knows_decides() {
    // A rule on an outer error beats the table's verdict on an inner one.
    let mapper = DefaultMapper::new().code::<Wrapped>(Code::Aborted);
    assert_eq!(
        mapper
            .map_error(wrapped(h2::Error::from(Reason::CANCEL)))
            .code(),
        Code::Aborted
    );
}

#[test]
fn a_panic_is_internal_and_its_text_stays_private_unless_asked() {
    let payload: Box<dyn std::any::Any + Send> = Box::new("secret: db password is hunter2");
    let status = DefaultMapper::new().map_panic(&*payload);
    assert_eq!(status.code(), Code::Internal);
    assert!(
        !status.message().contains("hunter2"),
        "{}",
        status.message()
    );
    let shown = DefaultMapper::new()
        .panic_messages(true)
        .map_panic(&*payload);
    assert_eq!(shown.code(), Code::Internal);
    assert!(shown.message().contains("hunter2"), "{}", shown.message());
    let owned: Box<dyn std::any::Any + Send> = Box::new(String::from("formatted 42"));
    let shown = DefaultMapper::new().panic_messages(true).map_panic(&*owned);
    assert!(shown.message().contains("formatted 42"));
    let closure = |_: BoxError| Status::aborted("x");
    assert_eq!(closure.map_panic(&*owned).code(), Code::Internal);
}

fn grpc_response(body: ScriptedBody) -> Response {
    let mut response = http::Response::new(body);
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, APPLICATION_GRPC);
    response
}

/// A body read to its end: data, then trailers.
async fn read<B>(body: B) -> (Bytes, Option<HeaderMap>)
where
    B: Body<Data = Bytes, Error = Infallible>,
{
    let collected = body.collect().await.unwrap();
    let trailers = collected.trailers().cloned();
    (collected.to_bytes(), trailers)
}

fn status_in(headers: &HeaderMap) -> Status {
    Status::from_headers(headers).expect("a grpc-status")
}

#[tokio::test]
async fn an_error_of_the_service_is_a_trailers_only_response() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request, Response, _>(ServerStatusLayer::new());
    handle.allow(2);
    assert!(service.poll_ready::<Request>().is_ready());
    let future = service.call(Request::new(GrpcBody::empty()));
    let (_, send) = handle.next_request().await.unwrap();
    send.send_error(Elapsed::new());
    let response = future.await.unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/grpc");
    assert_eq!(status_in(response.headers()).code(), Code::DeadlineExceeded);
    assert!(response.body().is_end_stream());

    assert!(service.poll_ready::<Request>().is_ready());
    let future = service.call(Request::new(GrpcBody::empty()));
    let (_, send) = handle.next_request().await.unwrap();
    send.send_error(NoSuchUser);
    let response = future.await.unwrap();
    let status = status_in(response.headers());
    assert_eq!(status.code(), Code::Unknown);
    assert_eq!(status.message(), "no such user");
}

#[tokio::test]
async fn a_response_passes_through_with_its_messages_and_trailers() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request, Response, _>(ServerStatusLayer::new());
    handle.allow(1);
    assert!(service.poll_ready::<Request>().is_ready());
    let future = service.call(Request::new(GrpcBody::empty()));
    let (_, send) = handle.next_request().await.unwrap();
    let mut trailers = Status::ok().to_headers();
    trailers.insert("x-n", "2".parse().unwrap());
    send.send_response(grpc_response(
        ScriptedBody::messages([b"a", b"b"]).with_trailers(trailers.clone()),
    ));
    let response = future.await.unwrap();
    assert!(!response.headers().contains_key("grpc-status"));
    let (data, got) = read(response.into_body()).await;
    assert_eq!(
        data,
        [encode_raw(b"a", false), encode_raw(b"b", false)].concat()
    );
    assert_eq!(got.unwrap(), trailers);
}

#[tokio::test]
async fn a_panicking_handler_is_answered_internal_without_its_message() {
    let panicking = service_fn(|_: Request| async {
        if true {
            panic!("secret detail");
        }
        Ok::<Response, Infallible>(grpc_response(ScriptedBody::default()))
    });
    let response = ServerStatusLayer::new()
        .layer(panicking)
        .oneshot(Request::new(GrpcBody::empty()))
        .await
        .unwrap();
    let status = status_in(response.headers());
    assert_eq!(status.code(), Code::Internal);
    assert!(!status.message().contains("secret"), "{}", status.message());

    let shown = ServerStatusLayer::new()
        .mapper(DefaultMapper::new().panic_messages(true))
        .layer(panicking)
        .oneshot(Request::new(GrpcBody::empty()))
        .await
        .unwrap();
    assert!(status_in(shown.headers())
        .message()
        .contains("secret detail"));
}

/// A service that panics when called, not in its future.
#[derive(Clone)]
struct PanicsInCall;

impl tower_service::Service<Request> for PanicsInCall {
    type Response = Response;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request) -> Self::Future {
        panic!("in call")
    }
}

#[tokio::test]
async fn a_service_that_panics_when_called_is_answered_internal_and_called_again() {
    let mut service = ServerStatus::new(PanicsInCall);
    for _ in 0..2 {
        let response = (&mut service)
            .oneshot(Request::new(GrpcBody::empty()))
            .await
            .unwrap();
        assert_eq!(status_in(response.headers()).code(), Code::Internal);
    }
}

/// A body that yields one message, then panics.
struct PanicsMidway(bool);

impl Body for PanicsMidway {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if std::mem::replace(&mut self.0, true) {
            panic!("body broke");
        }
        Poll::Ready(Some(Ok(Frame::data(encode_raw(b"first", false)))))
    }
}

#[tokio::test]
async fn a_body_that_panics_ends_with_internal_trailers_after_what_it_sent() {
    let handler = service_fn(|_: Request| async {
        Ok::<_, Infallible>(http::Response::new(PanicsMidway(false)))
    });
    let response = ServerStatus::new(handler)
        .oneshot(Request::new(GrpcBody::empty()))
        .await
        .unwrap();
    let mut body = response.into_body();
    let (data, trailers) = read(&mut body).await;
    assert_eq!(data, encode_raw(b"first", false));
    assert_eq!(status_in(&trailers.unwrap()).code(), Code::Internal);
    assert!(body.get_ref().is_none(), "what panicked was dropped");
    assert!(body.is_end_stream());
}

#[tokio::test]
async fn a_body_error_ends_the_body_with_the_mapped_status_in_trailers() {
    let handler = service_fn(|_: Request| async {
        let body = ScriptedBody::messages([b"one"]).with_error(Status::data_loss("disk"));
        Ok::<_, Infallible>(grpc_response(body))
    });
    let response = ServerStatus::new(handler)
        .oneshot(Request::new(GrpcBody::empty()))
        .await
        .unwrap();
    let (data, trailers) = read(response.into_body()).await;
    assert_eq!(data, encode_raw(b"one", false));
    let status = status_in(&trailers.unwrap());
    assert_eq!(status.code(), Code::DataLoss);
    assert_eq!(status.message(), "disk");
}

#[tokio::test]
async fn a_failed_readiness_answers_every_call_with_its_status() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request, Response, _>(ServerStatusLayer::new());
    handle.send_error(tower::load_shed::error::Overloaded::new());
    assert!(matches!(
        service.poll_ready::<Request>(),
        Poll::Ready(Ok(()))
    ));
    for _ in 0..2 {
        let response = service.call(Request::new(GrpcBody::empty())).await.unwrap();
        assert_eq!(status_in(response.headers()).code(), Code::Unavailable);
        assert!(service.poll_ready::<Request>().is_ready());
    }
    assert!(
        handle.poll_request().is_pending(),
        "the failed service is not called"
    );
}

#[tokio::test]
async fn a_closure_maps_errors_in_place_of_the_default() {
    let failing =
        service_fn(|_: Request| async { Err::<Response, _>(io::Error::other("parse failure")) });
    let layer = ServerStatusLayer::new()
        .mapper(|err: BoxError| Status::invalid_argument(format!("bad input: {err}")));
    let response = layer
        .layer(failing)
        .oneshot(Request::new(GrpcBody::empty()))
        .await
        .unwrap();
    let status = status_in(response.headers());
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "bad input: parse failure");
}

#[tokio::test]
async fn readiness_is_the_inner_services() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request, Response, _>(ServerStatusLayer::new());
    handle.allow(0);
    assert!(service.poll_ready::<Request>().is_pending());
    handle.allow(1);
    assert!(service.poll_ready::<Request>().is_ready());

    let (mut service, mut handle) =
        mock::spawn_layer::<Request, Response, _>(ClientStatusLayer::new());
    handle.allow(0);
    assert!(service.poll_ready::<Request>().is_pending());
    handle.allow(1);
    assert!(matches!(
        service.poll_ready::<Request>(),
        Poll::Ready(Ok(()))
    ));
}

#[tokio::test]
async fn a_clone_of_a_ready_service_is_not_ready() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request, Response, _>(ServerStatusLayer::new());
    handle.allow(1);
    assert!(service.poll_ready::<Request>().is_ready());
    handle.allow(0);
    let mut clone = service.clone();
    assert!(
        clone.poll_ready::<Request>().is_pending(),
        "readiness is not cloned"
    );
    assert!(service.poll_ready::<Request>().is_ready());

    let (mut service, mut handle) =
        mock::spawn_layer::<Request, Response, _>(ClientStatusLayer::new());
    handle.allow(1);
    assert!(service.poll_ready::<Request>().is_ready());
    handle.allow(0);
    let mut clone = service.clone();
    assert!(
        clone.poll_ready::<Request>().is_pending(),
        "readiness is not cloned"
    );
    assert!(service.poll_ready::<Request>().is_ready());
}

#[tokio::test]
async fn a_client_error_becomes_its_status_with_the_cause_as_source() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request, Response, _>(ClientStatusLayer::new());
    handle.allow(1);
    assert!(service.poll_ready::<Request>().is_ready());
    let future = service.call(Request::new(GrpcBody::empty()));
    let (_, send) = handle.next_request().await.unwrap();
    send.send_error(Wrapped(Box::new(h2::Error::from(Reason::REFUSED_STREAM))));
    let status = future.await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    let source = StdError::source(&status).unwrap();
    assert!(source.downcast_ref::<Wrapped>().is_some());
}

#[tokio::test]
async fn a_client_readiness_error_becomes_its_status() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request, Response, _>(ClientStatusLayer::new());
    handle.send_error(io::Error::from(io::ErrorKind::ConnectionRefused));
    match service.poll_ready::<Request>() {
        Poll::Ready(Err(status)) => assert_eq!(status.code(), Code::Unavailable),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_client_body_error_becomes_its_status() {
    /// A body that fails as hyper's does when the server resets the stream.
    struct Reset;
    impl Body for Reset {
        type Data = Bytes;
        type Error = h2::Error;
        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, h2::Error>>> {
            Poll::Ready(Some(Err(h2::Error::from(Reason::CANCEL))))
        }
    }
    let peer = service_fn(|_: Request| async { Ok::<_, Infallible>(http::Response::new(Reset)) });
    let response = ClientStatus::new(peer)
        .oneshot(Request::new(GrpcBody::empty()))
        .await
        .unwrap();
    let status = response.into_body().collect().await.unwrap_err();
    assert_eq!(status.code(), Code::Cancelled);
    assert!(StdError::source(&status)
        .unwrap()
        .downcast_ref::<h2::Error>()
        .is_some());
}

#[tokio::test]
async fn a_client_response_passes_through_untouched() {
    let peer = service_fn(|_: Request| async {
        Ok::<_, Infallible>(grpc_response(
            ScriptedBody::messages([b"m"]).with_status(&Status::ok()),
        ))
    });
    let response = ClientStatus::new(peer)
        .oneshot(Request::new(GrpcBody::empty()))
        .await
        .unwrap();
    let collected = response.into_body().collect().await.unwrap();
    assert_eq!(collected.trailers().unwrap()["grpc-status"], "0");
    assert_eq!(collected.to_bytes(), encode_raw(b"m", false));
}

#[test]
fn status_services_expose_their_inner_service() {
    let mut server = ServerStatus::new(1u8);
    *server.get_mut() += 1;
    assert_eq!(*server.get_ref(), 2);
    assert_eq!(server.into_inner(), 2);
    let client = ClientStatus::with_mapper(3u8, |e: BoxError| Status::from_error(e));
    assert_eq!(*client.get_ref(), 3);
    let _: ServerStatusLayer = ServerStatus::<()>::layer();
    let _: ClientStatusLayer = ClientStatus::<()>::layer();
}
