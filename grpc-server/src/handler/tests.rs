use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use grpc_core::codec::framing::encode_raw;
use grpc_core::codec::BytesCodec;
use grpc_core::test_util::ScriptedBody;
use grpc_core::{Code, GrpcBody, MetadataMap, Request, Response, Status, Streaming};
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_service::Service;

use super::*;

fn request(body: ScriptedBody) -> http::Request<GrpcBody> {
    http::Request::builder()
        .method("POST")
        .uri("/t.T/M")
        .header("content-type", "application/grpc")
        .header("x-in", "hello")
        .body(GrpcBody::new(body))
        .unwrap()
}

struct Collected {
    head: http::response::Parts,
    messages: Vec<Bytes>,
    trailers: Option<http::HeaderMap>,
}

impl Collected {
    fn status(&self) -> Status {
        match &self.trailers {
            Some(t) => Status::from_headers(t).expect("trailers carry grpc-status"),
            None => Status::from_headers(&self.head.headers).expect("trailers-only"),
        }
    }
}

async fn collect<S>(svc: S, req: http::Request<GrpcBody>) -> Collected
where
    S: Service<http::Request<GrpcBody>, Response = http::Response<GrpcBody>, Error = Infallible>,
{
    let response = svc.oneshot(req).await.unwrap();
    let (head, body) = response.into_parts();
    let mut deframer = grpc_core::codec::Deframer::new(body, usize::MAX);
    let mut messages = Vec::new();
    while let Some(frame) = deframer.message().await {
        messages.push(frame.unwrap().into_payload());
    }
    let trailers = deframer.take_trailers();
    Collected {
        head,
        messages,
        trailers,
    }
}

#[allow(clippy::type_complexity)]
fn echo_unary() -> ReadOne<
    BytesCodec,
    impl Fn(Request<Bytes>) -> std::future::Ready<Result<Response<Bytes>, Status>> + Clone,
    One,
> {
    unary(BytesCodec, |req: Request<Bytes>| {
        let mut response = Response::new(req.get_ref().clone());
        let seen = req.metadata().get("x-in").unwrap_or("").to_owned();
        response.metadata_mut().insert("x-seen", &seen).unwrap();
        response.trailers_mut().insert("x-trailer", "t").unwrap();
        std::future::ready(Ok(response))
    })
}

#[tokio::test]
async fn unary_answers_with_headers_one_message_and_ok_trailers() {
    let out = collect(echo_unary(), request(ScriptedBody::messages([b"ping"]))).await;
    assert_eq!(out.head.status, 200);
    assert_eq!(out.head.headers["content-type"], "application/grpc");
    assert_eq!(out.head.headers["x-seen"], "hello");
    assert_eq!(out.messages, [Bytes::from_static(b"ping")]);
    let trailers = out.trailers.as_ref().unwrap();
    assert_eq!(trailers["grpc-status"], "0");
    assert_eq!(trailers["x-trailer"], "t");
}

#[tokio::test]
async fn unary_reassembles_a_message_split_across_chunks() {
    let wire = encode_raw(b"split message", false);
    let chunks: Vec<Bytes> = wire.chunks(3).map(Bytes::copy_from_slice).collect();
    let out = collect(echo_unary(), request(ScriptedBody::new(chunks))).await;
    assert_eq!(out.messages, [Bytes::from_static(b"split message")]);
}

#[tokio::test]
async fn unary_without_a_message_is_internal() {
    let out = collect(echo_unary(), request(ScriptedBody::default())).await;
    assert!(out.trailers.is_none(), "trailers-only");
    assert_eq!(out.status().code(), Code::Internal);
}

#[tokio::test]
async fn unary_with_two_messages_is_internal() {
    let out = collect(echo_unary(), request(ScriptedBody::messages([b"a", b"b"]))).await;
    assert_eq!(out.status().code(), Code::Internal);
}

#[tokio::test]
async fn an_oversized_request_is_resource_exhausted() {
    let svc = echo_unary().max_receive_message_size(3);
    let out = collect(svc, request(ScriptedBody::messages([b"four"]))).await;
    assert_eq!(out.status().code(), Code::ResourceExhausted);
}

#[tokio::test]
async fn an_oversized_response_is_resource_exhausted() {
    let svc = echo_unary().max_send_message_size(3);
    let out = collect(svc, request(ScriptedBody::messages([b"four"]))).await;
    assert_eq!(out.status().code(), Code::ResourceExhausted);
}

#[tokio::test]
async fn a_compressed_request_without_decompression_is_unimplemented() {
    let mut req = request(ScriptedBody::new([encode_raw(b"x", true)]));
    req.headers_mut()
        .insert("grpc-encoding", "gzip".parse().unwrap());
    let out = collect(echo_unary(), req).await;
    assert_eq!(out.status().code(), Code::Unimplemented);
    assert_eq!(out.head.headers["grpc-accept-encoding"], "identity");
}

#[tokio::test]
async fn a_compressed_flag_without_grpc_encoding_is_internal() {
    let out = collect(
        echo_unary(),
        request(ScriptedBody::new([encode_raw(b"x", true)])),
    )
    .await;
    assert_eq!(out.status().code(), Code::Internal);
}

#[tokio::test]
async fn a_handler_error_is_a_trailers_only_response_with_its_metadata() {
    let svc = unary(BytesCodec, |_req: Request<Bytes>| async {
        let mut md = MetadataMap::new();
        md.insert("x-why", "because").unwrap();
        Err::<Response<Bytes>, _>(Status::permission_denied("no ✋").with_metadata(md))
    });
    let out = collect(svc, request(ScriptedBody::messages([b"a"]))).await;
    assert!(out.trailers.is_none());
    assert!(out.messages.is_empty());
    assert_eq!(out.head.headers["content-type"], "application/grpc");
    let status = out.status();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(status.message(), "no ✋");
    assert_eq!(status.metadata().get("x-why"), Some("because"));
}

#[tokio::test]
async fn server_streaming_sends_every_message_then_ok() {
    let svc = server_streaming(BytesCodec, |req: Request<Bytes>| async move {
        let n: usize = std::str::from_utf8(req.get_ref()).unwrap().parse().unwrap();
        let items = (0..n).map(|i| Ok(Bytes::from(i.to_string())));
        Ok::<_, Status>(Response::new(futures_util::stream::iter(items)))
    });
    let out = collect(svc, request(ScriptedBody::messages([b"3"]))).await;
    assert_eq!(out.messages, ["0", "1", "2"]);
    assert_eq!(out.status().code(), Code::Ok);
}

#[tokio::test]
async fn server_streaming_ends_with_the_stream_error() {
    let svc = server_streaming(BytesCodec, |_req: Request<Bytes>| async move {
        let items = vec![
            Ok(Bytes::from_static(b"one")),
            Err(Status::data_loss("lost")),
        ];
        Ok::<_, Status>(Response::new(futures_util::stream::iter(items)))
    });
    let out = collect(svc, request(ScriptedBody::messages([b"x"]))).await;
    assert_eq!(out.messages, ["one"]);
    assert_eq!(out.status().code(), Code::DataLoss);
    assert_eq!(out.status().message(), "lost");
}

#[tokio::test]
async fn client_streaming_reads_every_message() {
    let svc = client_streaming(BytesCodec, |req: Request<Streaming<Bytes>>| async move {
        let mut stream = req.into_inner();
        let mut all = Vec::new();
        while let Some(m) = stream.message().await? {
            all.extend_from_slice(&m);
        }
        Ok(Response::new(Bytes::from(all)))
    });
    let out = collect(svc, request(ScriptedBody::messages([b"a", b"b", b"c"]))).await;
    assert_eq!(out.messages, ["abc"]);
}

#[tokio::test]
async fn client_streaming_sees_a_broken_request_stream_as_an_error() {
    let svc = client_streaming(BytesCodec, |req: Request<Streaming<Bytes>>| async move {
        let mut stream = req.into_inner();
        while stream.message().await?.is_some() {}
        Ok(Response::new(Bytes::new()))
    });
    let body = ScriptedBody::messages([b"a"]).with_error(Status::cancelled("reset"));
    let out = collect(svc, request(body)).await;
    assert_eq!(out.status().code(), Code::Cancelled);
}

#[tokio::test]
async fn bidi_maps_each_request_to_a_reply() {
    let svc = streaming(BytesCodec, |req: Request<Streaming<Bytes>>| async move {
        let replies = req
            .into_inner()
            .map(|m| m.map(|b| Bytes::from([&b[..], b"!"].concat())));
        Ok::<_, Status>(Response::new(replies))
    });
    let out = collect(svc, request(ScriptedBody::messages([b"a", b"b"]))).await;
    assert_eq!(out.messages, ["a!", "b!"]);
    assert_eq!(out.status().code(), Code::Ok);
}

#[tokio::test]
async fn raw_handler_that_sends_nothing_answers_trailers_only() {
    let svc = raw(BytesCodec, |mut call: ServerCall<BytesCodec>| async move {
        let mut md = MetadataMap::new();
        md.insert("x-t", "v").unwrap();
        call.set_trailing_metadata(md);
        Err(Status::not_found("none"))
    });
    let out = collect(svc, request(ScriptedBody::messages([b"a"]))).await;
    assert!(out.trailers.is_none());
    assert_eq!(out.status().code(), Code::NotFound);
    assert_eq!(out.head.headers["x-t"], "v");
}

#[tokio::test]
async fn raw_handler_controls_headers_messages_and_trailers() {
    let svc = raw(BytesCodec, |mut call: ServerCall<BytesCodec>| async move {
        let mut md = MetadataMap::new();
        md.insert("x-early", "1").unwrap();
        call.send_initial_metadata(md)?;
        assert_eq!(
            call.send_initial_metadata(MetadataMap::new())
                .unwrap_err()
                .code(),
            Code::FailedPrecondition
        );
        while let Some(m) = call.recv_message().await? {
            call.send_message(m).await?;
        }
        let mut md = MetadataMap::new();
        md.insert("x-late", "2").unwrap();
        call.set_trailing_metadata(md);
        Ok(())
    });
    let out = collect(svc, request(ScriptedBody::messages([b"a", b"b"]))).await;
    assert_eq!(out.head.headers["x-early"], "1");
    assert_eq!(out.messages, ["a", "b"]);
    let trailers = out.trailers.unwrap();
    assert_eq!(trailers["grpc-status"], "0");
    assert_eq!(trailers["x-late"], "2");
}

#[tokio::test]
async fn raw_handler_headers_go_out_before_the_handler_finishes() {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let rx = std::sync::Arc::new(tokio::sync::Mutex::new(Some(rx)));
    let svc = raw(BytesCodec, move |mut call: ServerCall<BytesCodec>| {
        let rx = rx.clone();
        async move {
            call.send_initial_metadata(MetadataMap::new())?;
            let rx = rx.lock().await.take().unwrap();
            let _ = rx.await;
            call.send_message(Bytes::from_static(b"late")).await?;
            Ok(())
        }
    });
    let response = tokio::time::timeout(
        Duration::from_secs(5),
        svc.oneshot(request(ScriptedBody::default())),
    )
    .await
    .expect("headers are returned while the handler still runs")
    .unwrap();
    tx.send(()).unwrap();
    let collected = response.into_body().collect().await.unwrap();
    assert_eq!(collected.trailers().unwrap()["grpc-status"], "0");
    assert_eq!(collected.to_bytes(), encode_raw(b"late", false));
}

#[tokio::test]
async fn the_narrower_of_the_call_limits_and_the_adapter_limits_wins() {
    use grpc_core::limits::MessageLimits;

    // The call's limit is narrower than the adapter's default.
    let mut req = request(ScriptedBody::messages([b"four"]));
    req.extensions_mut()
        .insert(MessageLimits::new(3, usize::MAX));
    let out = collect(echo_unary(), req).await;
    assert_eq!(out.status().code(), Code::ResourceExhausted);

    // The adapter's is narrower than the call's: it wins too.
    let mut req = request(ScriptedBody::messages([b"four"]));
    req.extensions_mut().insert(MessageLimits::new(10, 10));
    let out = collect(echo_unary().max_receive_message_size(3), req).await;
    assert_eq!(out.status().code(), Code::ResourceExhausted);

    // A call limit larger than the default lets a message through that the
    // default would refuse, when the adapter asks for nothing.
    let big = vec![b'x'; (4 << 20) + 1];
    let mut req = request(ScriptedBody::messages([big.as_slice()]));
    req.extensions_mut()
        .insert(MessageLimits::new(8 << 20, 8 << 20));
    let out = collect(echo_unary(), req).await;
    assert_eq!(out.status().code(), Code::Ok);
}
