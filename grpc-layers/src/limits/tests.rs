use std::convert::Infallible;
use std::task::Poll;

use bytes::Bytes;
use grpc_core::codec::framing::{encode_raw, HEADER_LEN};
use grpc_core::headers::APPLICATION_GRPC;
use grpc_core::limits::MessageLimits;
use grpc_core::test_util::ScriptedBody;
use grpc_core::{BoxError, Code, GrpcBody, Status};
use http::HeaderMap;
use http_body::Body;
use http_body_util::{BodyExt, Full};
use tower::{service_fn, ServiceExt};
use tower_layer::Layer;
use tower_test::mock;

use super::{ClientLimits, ClientLimitsLayer, LimitsBody, ServerLimits, ServerLimitsLayer};

/// Runs the block once with `layer` bound to each side's layer (default
/// limits): the behaviour it tests is the same on both.
macro_rules! on_both_sides {
    (|$layer:ident| $body:block) => {{
        {
            let $layer = ServerLimitsLayer::new();
            $body
        }
        {
            let $layer = ClientLimitsLayer::new();
            $body
        }
    }};
}

type Request = http::Request<GrpcBody>;
type Response = http::Response<ScriptedBody>;

fn grpc_request(body: GrpcBody) -> Request {
    let mut request = http::Request::new(body);
    request
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, APPLICATION_GRPC);
    request
}

fn grpc_response<B>(body: B) -> http::Response<B> {
    let mut response = http::Response::new(body);
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, APPLICATION_GRPC);
    response
}

fn frames(messages: &[&[u8]]) -> Vec<u8> {
    messages.iter().flat_map(|m| encode_raw(m, false)).collect()
}

/// A body read to its end: data, trailers, and the error it ended with.
struct Drained {
    data: Vec<u8>,
    trailers: Option<HeaderMap>,
    error: Option<BoxError>,
}

async fn drain<B>(body: B) -> Drained
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let mut body = std::pin::pin!(body);
    let mut drained = Drained {
        data: Vec::new(),
        trailers: None,
        error: None,
    };
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => match frame.into_data() {
                Ok(data) => drained.data.extend_from_slice(&data),
                Err(frame) => drained.trailers = frame.into_trailers().ok(),
            },
            Err(err) => {
                drained.error = Some(err.into());
                break;
            }
        }
    }
    drained
}

/// The status a body error stands for, as every reader finds it.
fn status_of(err: &BoxError) -> Status {
    grpc_core::status::find_in_chain::<Status>(&**err)
        .unwrap_or_else(|| panic!("a status in the chain, got {err:?}"))
        .clone()
}

/// The `MessageLimits` the inner service saw, as a response extension.
fn seen_limits(response: &http::Response<LimitsBody<GrpcBody>>) -> Option<MessageLimits> {
    response.extensions().get::<MessageLimits>().copied()
}

#[tokio::test]
async fn the_call_carries_its_limits_as_a_request_extension() {
    on_both_sides!(|layer| {
        let seen = service_fn(|request: Request| async move {
            let mut response = http::Response::new(GrpcBody::empty());
            if let Some(limits) = request.extensions().get::<MessageLimits>() {
                response.extensions_mut().insert(*limits);
            }
            Ok::<_, Infallible>(response)
        });
        let layer = layer
            .max_receive_message_size(100)
            .max_send_message_size(200);
        let response = layer
            .layer(seen)
            .oneshot(grpc_request(GrpcBody::empty()))
            .await
            .unwrap();
        assert_eq!(seen_limits(&response), Some(MessageLimits::new(100, 200)));

        // Limits already on the call are narrowed, never widened.
        let mut request = grpc_request(GrpcBody::empty());
        request
            .extensions_mut()
            .insert(MessageLimits::new(50, 1000));
        let response = layer.layer(seen).oneshot(request).await.unwrap();
        assert_eq!(seen_limits(&response), Some(MessageLimits::new(50, 200)));
    });
}

#[tokio::test]
async fn the_defaults_are_4_mib_received_and_i32_max_sent() {
    // A layer with no setter asks for nothing: where nothing else asks
    // either, the defaults apply.
    for limits in [
        ServerLimitsLayer::new().limits(),
        ClientLimitsLayer::new().limits(),
    ] {
        assert_eq!(limits, MessageLimits::default());
        assert_eq!(limits.max_receive(), 4 * 1024 * 1024);
        assert_eq!(limits.max_send(), i32::MAX as usize);
    }
}

#[tokio::test]
async fn a_received_message_over_the_limit_fails_the_request_body_after_the_ones_before() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    let reader = service_fn(move |request: Request| {
        let tx = tx.lock().unwrap().take().unwrap();
        async move {
            let _ = tx.send(drain(request.into_body()).await);
            Ok::<_, Infallible>(grpc_response(GrpcBody::empty()))
        }
    });
    let body = ScriptedBody::messages([&b"ok"[..], b"this one is too long", b"never read"]);
    ServerLimitsLayer::new()
        .max_receive_message_size(8)
        .layer(reader)
        .oneshot(grpc_request(GrpcBody::new(body)))
        .await
        .unwrap();
    let drained = rx.await.unwrap();
    assert_eq!(drained.data, frames(&[b"ok"]));
    let error = drained.error.expect("the body failed");
    let status = status_of(&error);
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status.message().contains("20 vs. 8"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn a_sent_message_over_the_limit_ends_the_response_with_resource_exhausted_trailers() {
    let handler = service_fn(|_: Request| async {
        let body = ScriptedBody::messages([&b"small"[..], b"much too large", b"later"])
            .with_status(&Status::ok());
        Ok::<_, Infallible>(grpc_response(body))
    });
    let response = ServerLimitsLayer::new()
        .max_send_message_size(10)
        .layer(handler)
        .oneshot(grpc_request(GrpcBody::empty()))
        .await
        .unwrap();
    let drained = drain(response.into_body()).await;
    assert!(drained.error.is_none());
    assert_eq!(drained.data, frames(&[b"small"]));
    let status = Status::from_headers(&drained.trailers.unwrap()).unwrap();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(status.message().contains("to send"), "{}", status.message());
}

#[tokio::test]
async fn a_refused_response_drops_the_rest_of_the_handlers_body() {
    let handler = service_fn(|_: Request| async {
        let body = ScriptedBody::messages([vec![0u8; 20]]).with_status(&Status::ok());
        Ok::<_, Infallible>(grpc_response(body))
    });
    let response = ServerLimitsLayer::new()
        .max_send_message_size(10)
        .layer(handler)
        .oneshot(grpc_request(GrpcBody::empty()))
        .await
        .unwrap();
    let mut body = response.into_body();
    assert!(body.get_ref().is_some());
    let trailers = body
        .frame()
        .await
        .unwrap()
        .unwrap()
        .into_trailers()
        .unwrap();
    assert_eq!(trailers["grpc-status"], "8");
    assert!(body.get_ref().is_none(), "the inner body was dropped");
    assert!(body.is_end_stream());
    assert!(body.frame().await.is_none());
}

#[tokio::test]
async fn a_received_response_message_over_the_limit_ends_the_body_with_resource_exhausted_on_the_client(
) {
    let peer = service_fn(|_: Request| async {
        let body = ScriptedBody::messages([&b"fine"[..], b"too big"]).with_status(&Status::ok());
        Ok::<_, Infallible>(grpc_response(body))
    });
    let response = ClientLimitsLayer::new()
        .max_receive_message_size(5)
        .layer(peer)
        .oneshot(grpc_request(GrpcBody::empty()))
        .await
        .unwrap();
    let drained = drain(response.into_body()).await;
    assert_eq!(drained.data, frames(&[b"fine"]));
    assert!(drained.error.is_none(), "trailers any gRPC reader reads");
    let trailers = drained.trailers.expect("trailers");
    let status = Status::from_headers(&trailers).unwrap();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(status.message().contains("7 vs. 5"), "{status:?}");
}

/// A stand-in for hyper's client: sends the request body, and fails the
/// call with a stream error when the body fails.
async fn send_then_fail(request: Request) -> Result<Response, BoxError> {
    let drained = drain(request.into_body()).await;
    let error = drained.error.expect("the request body failed");
    // hyper resets the stream with the reason in the error's chain.
    let reason = grpc_core::status::find_in_chain::<h2::Error>(&*error).and_then(h2::Error::reason);
    assert_eq!(reason, Some(h2::Reason::CANCEL));
    Err("stream error sent by user: CANCEL".into())
}

#[tokio::test]
async fn a_sent_request_message_over_the_limit_fails_the_call_with_resource_exhausted() {
    let body = ScriptedBody::messages([&b"ok"[..], b"far too long"]);
    let response = ClientLimitsLayer::new()
        .max_send_message_size(4)
        .layer(service_fn(send_then_fail))
        .oneshot(grpc_request(GrpcBody::new(body)))
        .await
        .expect("answered as a trailers-only response");
    assert_eq!(response.headers()["content-type"], "application/grpc");
    let status = Status::from_headers(response.headers()).unwrap();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status.message().contains("12 vs. 4"),
        "{}",
        status.message()
    );
    assert!(response.body().is_end_stream());
}

#[tokio::test]
async fn a_sent_request_refused_after_the_response_head_ends_the_response_body_with_resource_exhausted(
) {
    // The head comes first; the request fails while the response streams,
    // and the transport then fails the response body.
    let peer = service_fn(|request: Request| async move {
        let head = futures_util::stream::once(async {
            Ok::<_, BoxError>(http_body::Frame::data(encode_raw(b"head", false)))
        });
        let fail = futures_util::stream::once(async move {
            assert!(drain(request.into_body()).await.error.is_some());
            Err::<http_body::Frame<Bytes>, BoxError>("stream error sent by user: CANCEL".into())
        });
        let body = http_body_util::StreamBody::new(futures_util::StreamExt::chain(head, fail));
        Ok::<_, BoxError>(grpc_response(body))
    });
    let body = ScriptedBody::messages([vec![1u8; 64]]);
    let response = ClientLimitsLayer::new()
        .max_send_message_size(10)
        .layer(peer)
        .oneshot(grpc_request(GrpcBody::new(body)))
        .await
        .unwrap();
    let drained = drain(response.into_body()).await;
    assert_eq!(drained.data, frames(&[b"head"]));
    assert!(drained.error.is_none(), "the transport's error is replaced");
    let status = Status::from_headers(&drained.trailers.unwrap()).unwrap();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(status.message().contains("64 vs. 10"), "{status:?}");
}

#[tokio::test]
async fn a_received_request_refused_is_the_answer_whatever_the_handler_makes_of_it() {
    // A handler of another library reads the failed request and answers
    // UNKNOWN (as tonic's do); the call still ends RESOURCE_EXHAUSTED.
    let handler = service_fn(|request: Request| async move {
        assert!(drain(request.into_body()).await.error.is_some());
        Ok::<_, Infallible>(
            Status::unknown("error reading a body from connection").into_http::<GrpcBody>(),
        )
    });
    let body = ScriptedBody::messages([vec![1u8; 64]]);
    let response = ServerLimitsLayer::new()
        .max_receive_message_size(10)
        .layer(handler)
        .oneshot(grpc_request(GrpcBody::new(body)))
        .await
        .unwrap();
    let status = Status::from_headers(response.headers()).unwrap();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(status.message().contains("64 vs. 10"), "{status:?}");
}

#[tokio::test]
async fn messages_within_the_limits_pass_unchanged_with_their_trailers() {
    let wire = frames(&[b"first", b"", b"third message"]);
    let mut trailers = Status::ok().to_headers();
    trailers.insert("x-extra", "kept".parse().unwrap());
    // Cut inside a prefix, inside a payload, and right after a prefix.
    let cuts = [0, 2, 7, HEADER_LEN * 2 + 5, wire.len()];
    let chunks: Vec<Bytes> = cuts
        .windows(2)
        .map(|w| Bytes::copy_from_slice(&wire[w[0]..w[1]]))
        .collect();
    on_both_sides!(|layer| {
        let body = ScriptedBody::new(chunks.clone()).with_trailers(trailers.clone());
        let echo = service_fn(move |request: Request| {
            let body = body.clone();
            async move {
                let drained = drain(request.into_body()).await;
                assert!(drained.error.is_none());
                assert_eq!(drained.data, frames(&[b"in"]));
                Ok::<_, Infallible>(grpc_response(body))
            }
        });
        let request = grpc_request(GrpcBody::new(ScriptedBody::new([
            Bytes::copy_from_slice(&frames(&[b"in"])[..3]),
            Bytes::copy_from_slice(&frames(&[b"in"])[3..]),
        ])));
        let response = layer
            .max_receive_message_size(13)
            .max_send_message_size(13)
            .layer(echo)
            .oneshot(request)
            .await
            .unwrap();
        let drained = drain(response.into_body()).await;
        assert!(drained.error.is_none());
        assert_eq!(drained.data, wire);
        assert_eq!(drained.trailers.unwrap(), trailers);
    });
}

#[tokio::test]
async fn calls_that_are_not_grpc_pass_untouched() {
    let plain = service_fn(|request: http::Request<GrpcBody>| async move {
        assert!(request.extensions().get::<MessageLimits>().is_none());
        let drained = drain(request.into_body()).await;
        assert!(drained.error.is_none(), "not read as messages");
        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(vec![0xFF; 64]))))
    });
    let mut request = http::Request::new(GrpcBody::once(Bytes::from(vec![0x7F; 64]), None));
    request
        .headers_mut()
        .insert("content-type", "text/plain".parse().unwrap());
    let response = ServerLimitsLayer::new()
        .max_receive_message_size(1)
        .max_send_message_size(1)
        .layer(plain)
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.body().size_hint().exact(), Some(64), "untouched");
    let drained = drain(response.into_body()).await;
    assert_eq!(drained.data, vec![0xFF; 64]);
}

#[tokio::test]
async fn a_trailers_only_response_passes_untouched() {
    let refuse = service_fn(|_: Request| async {
        Ok::<_, Infallible>(Status::not_found("gone").into_http::<ScriptedBody>())
    });
    let response = ServerLimitsLayer::new()
        .layer(refuse)
        .oneshot(grpc_request(GrpcBody::empty()))
        .await
        .unwrap();
    assert_eq!(response.headers()["grpc-status"], "5");
    assert!(response.body().is_end_stream());
}

#[tokio::test]
async fn a_checked_body_never_reports_an_exact_size() {
    // An exact hint would go out as `content-length`, which a refusal that
    // ends the body early would break.
    let handler = service_fn(|_: Request| async {
        Ok::<_, Infallible>(grpc_response(Full::new(encode_raw(b"abc", false))))
    });
    let response = ServerLimitsLayer::new()
        .layer(handler)
        .oneshot(grpc_request(GrpcBody::empty()))
        .await
        .unwrap();
    let hint = response.body().size_hint();
    assert_eq!(hint.exact(), None);
    assert_eq!(hint.upper(), Some(8));
}

#[tokio::test]
async fn the_default_send_limit_refuses_a_prefix_over_i32_max_and_usize_max_turns_it_off() {
    // A prefix announcing 3 GiB (only the prefix is ever sent).
    let mut huge = vec![0u8];
    huge.extend_from_slice(&(3u32 << 30).to_be_bytes());
    let handler = service_fn(move |_: Request| {
        let huge = Bytes::from(huge.clone());
        async move { Ok::<_, Infallible>(grpc_response(ScriptedBody::new([huge]))) }
    });
    let checked = ServerLimitsLayer::new().layer(handler.clone());
    let response = checked
        .oneshot(grpc_request(GrpcBody::empty()))
        .await
        .unwrap();
    let trailers = drain(response.into_body()).await.trailers.unwrap();
    assert_eq!(trailers["grpc-status"], "8");

    let unchecked = ServerLimitsLayer::new()
        .max_send_message_size(usize::MAX)
        .layer(handler);
    let response = unchecked
        .oneshot(grpc_request(GrpcBody::empty()))
        .await
        .unwrap();
    let drained = drain(response.into_body()).await;
    assert_eq!(drained.data.len(), HEADER_LEN, "passed unchecked");
    assert!(drained.trailers.is_none());
}

#[tokio::test]
async fn a_body_cut_inside_a_prefix_passes_the_partial_prefix_on() {
    // The reader, not this layer, reports the truncation.
    let handler = service_fn(|_: Request| async {
        let body = ScriptedBody::new([Bytes::from_static(&[0, 0, 0])]).with_status(&Status::ok());
        Ok::<_, Infallible>(grpc_response(body))
    });
    let response = ServerLimitsLayer::new()
        .layer(handler)
        .oneshot(grpc_request(GrpcBody::empty()))
        .await
        .unwrap();
    let drained = drain(response.into_body()).await;
    assert_eq!(drained.data, [0, 0, 0]);
    assert_eq!(drained.trailers.unwrap()["grpc-status"], "0");
}

#[tokio::test]
async fn readiness_is_the_inner_services() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request, Response, _>(ServerLimitsLayer::new());
    handle.allow(0);
    assert!(service.poll_ready::<Request>().is_pending());
    handle.allow(1);
    assert!(matches!(
        service.poll_ready::<Request>(),
        Poll::Ready(Ok(()))
    ));
    let mut request = grpc_request(GrpcBody::empty());
    *request.uri_mut() = "/pkg.Svc/Method".parse().unwrap();
    request.headers_mut().insert("x-md", "v".parse().unwrap());
    let future = service.call(request);
    let (request, send) = handle.next_request().await.unwrap();
    assert_eq!(request.uri(), "/pkg.Svc/Method");
    assert_eq!(request.headers()["x-md"], "v");
    assert_eq!(
        MessageLimits::of(request.extensions()).max_receive(),
        4 * 1024 * 1024,
        "the inner service reads the call's limits"
    );
    send.send_response(grpc_response(ScriptedBody::messages([b"x"])));
    let response = future.await.unwrap();
    assert_eq!(drain(response.into_body()).await.data, frames(&[b"x"]));
}

#[tokio::test]
async fn a_clone_of_a_ready_service_is_not_ready() {
    on_both_sides!(|layer| {
        let (mut service, mut handle) = mock::spawn_layer::<Request, Response, _>(layer);
        handle.allow(1);
        assert!(matches!(
            service.poll_ready::<Request>(),
            Poll::Ready(Ok(()))
        ));
        handle.allow(0);
        let mut clone = service.clone();
        assert!(
            clone.poll_ready::<Request>().is_pending(),
            "readiness is not cloned"
        );
        assert!(matches!(
            service.poll_ready::<Request>(),
            Poll::Ready(Ok(()))
        ));
    });
}

#[tokio::test]
async fn inner_errors_pass_through_unchanged() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request, Response, _>(ClientLimitsLayer::new());
    handle.allow(1);
    assert!(matches!(
        service.poll_ready::<Request>(),
        Poll::Ready(Ok(()))
    ));
    let future = service.call(grpc_request(GrpcBody::empty()));
    let (_request, send) = handle.next_request().await.unwrap();
    send.send_error(std::io::Error::other("connection lost"));
    let error = future.await.unwrap_err();
    assert!(
        error.downcast_ref::<std::io::Error>().is_some(),
        "{error:?}"
    );

    // A body error of the inner body, too.
    let peer = service_fn(|_: Request| async {
        let body = ScriptedBody::messages([b"a"]).with_error(Status::data_loss("cut"));
        Ok::<_, Infallible>(grpc_response(body))
    });
    let response = ServerLimitsLayer::new()
        .layer(peer)
        .oneshot(grpc_request(GrpcBody::empty()))
        .await
        .unwrap();
    let error = drain(response.into_body()).await.error.unwrap();
    assert_eq!(status_of(&error).code(), Code::DataLoss);
}

#[test]
fn a_limits_service_exposes_its_inner_service() {
    let mut service = ServerLimits::new(7u8);
    assert_eq!(*service.get_ref(), 7);
    *service.get_mut() = 8;
    assert_eq!(ClientLimits::new(service.into_inner()).into_inner(), 8);
    let debug = format!(
        "{:?}",
        LimitsBody::new(
            Full::new(Bytes::new()),
            Some(3),
            grpc_core::status::mapping::Side::Client,
            None
        )
    );
    assert!(debug.contains("LimitsBody"), "{debug}");
}
