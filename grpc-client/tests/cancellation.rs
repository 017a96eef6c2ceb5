//! Dropping a call resets its HTTP/2 stream with `CANCEL`, seen from a raw
//! h2 server; and resets sent by the server read as the right status.

mod support;

use std::time::Duration;

use bytes::Bytes;
use futures_util::{stream, StreamExt};
use grpc_client::{Call, Grpc};
use grpc_core::codec::BytesCodec;
use grpc_core::metadata::MetadataMap;
use grpc_core::{Code, GrpcMethod, Request};
use h2::Reason;
use support::*;

const METHOD: GrpcMethod = GrpcMethod::new("test.Svc", "Hang");

#[tokio::test]
async fn dropping_a_unary_call_future_resets_the_stream_with_cancel() {
    let mut server = RawH2Server::start(RawScript::Silent).await;
    let mut grpc = Grpc::new(server.endpoint().connect_lazy());
    let call = grpc.unary(Request::new(Bytes::from_static(b"x")), METHOD, BytesCodec);
    // The server never answers; give up after a moment, dropping the call.
    let outcome = tokio::time::timeout(Duration::from_millis(200), call).await;
    assert!(outcome.is_err(), "the call should still have been waiting");
    assert_eq!(server.next_reset().await, Reason::CANCEL);
}

#[tokio::test]
async fn dropping_a_response_stream_early_resets_the_stream_with_cancel() {
    let mut server = RawH2Server::start(RawScript::HeadersAndMessage).await;
    let mut grpc = Grpc::new(server.endpoint().connect_lazy());
    let response = bounded(grpc.server_streaming(Request::new(Bytes::new()), METHOD, BytesCodec))
        .await
        .unwrap();
    let mut messages = response.into_inner();
    assert_eq!(bounded(messages.message()).await.unwrap().unwrap(), "first");
    drop(messages);
    assert_eq!(server.next_reset().await, Reason::CANCEL);
}

#[tokio::test]
async fn dropping_a_bidi_response_resets_the_stream_while_the_request_is_still_open() {
    let mut server = RawH2Server::start(RawScript::HeadersAndMessage).await;
    let mut grpc = Grpc::new(server.endpoint().connect_lazy());
    // One request message, then a request stream that never ends.
    let requests = stream::iter([Bytes::from_static(b"a")]).chain(stream::pending());
    let response = bounded(grpc.streaming(Request::new(requests), METHOD, BytesCodec))
        .await
        .unwrap();
    let mut messages = response.into_inner();
    assert_eq!(bounded(messages.message()).await.unwrap().unwrap(), "first");
    drop(messages);
    assert_eq!(server.next_reset().await, Reason::CANCEL);
}

#[tokio::test]
async fn cancelling_a_low_level_call_resets_the_stream_with_cancel() {
    let mut server = RawH2Server::start(RawScript::HeadersAndMessage).await;
    let mut channel = server.endpoint().connect_lazy();
    let mut call = bounded(Call::start(
        &mut channel,
        METHOD,
        MetadataMap::new(),
        BytesCodec,
    ))
    .await
    .unwrap();
    bounded(call.send_message(Bytes::from_static(b"a")))
        .await
        .unwrap();
    assert_eq!(
        bounded(call.recv_message()).await.unwrap().unwrap(),
        "first"
    );
    call.cancel();
    assert_eq!(server.next_reset().await, Reason::CANCEL);
}

#[tokio::test]
async fn other_calls_on_the_connection_go_on_after_a_cancel() {
    let mut server = RawH2Server::start(RawScript::HeadersAndMessage).await;
    let mut grpc = Grpc::new(server.endpoint().connect_lazy());
    let first = bounded(grpc.server_streaming(Request::new(Bytes::new()), METHOD, BytesCodec))
        .await
        .unwrap();
    let second = bounded(grpc.server_streaming(Request::new(Bytes::new()), METHOD, BytesCodec))
        .await
        .unwrap();
    drop(first);
    assert_eq!(server.next_reset().await, Reason::CANCEL);
    let mut second = second.into_inner();
    assert_eq!(bounded(second.message()).await.unwrap().unwrap(), "first");
}

#[tokio::test]
async fn a_stream_refused_by_the_server_is_unavailable() {
    let server = RawH2Server::start(RawScript::Reset(Reason::REFUSED_STREAM)).await;
    let mut grpc = Grpc::new(server.endpoint().connect_lazy());
    let status = bounded(grpc.unary(Request::new(Bytes::new()), METHOD, BytesCodec))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
}

#[tokio::test]
async fn enhance_your_calm_from_the_server_is_resource_exhausted() {
    let server = RawH2Server::start(RawScript::Reset(Reason::ENHANCE_YOUR_CALM)).await;
    let mut grpc = Grpc::new(server.endpoint().connect_lazy());
    let status = bounded(grpc.unary(Request::new(Bytes::new()), METHOD, BytesCodec))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
}

#[tokio::test]
async fn a_server_reset_in_the_middle_of_a_response_reads_as_cancelled() {
    let server = RawH2Server::start(RawScript::MessageThenReset(Reason::CANCEL)).await;
    let mut grpc = Grpc::new(server.endpoint().connect_lazy());
    let response = bounded(grpc.server_streaming(Request::new(Bytes::new()), METHOD, BytesCodec))
        .await
        .unwrap();
    let mut messages = response.into_inner();
    assert_eq!(bounded(messages.message()).await.unwrap().unwrap(), "first");
    let status = bounded(messages.message()).await.unwrap_err();
    assert_eq!(status.code(), Code::Cancelled, "{status:?}");
    // The transport error is kept as the source.
    assert!(std::error::Error::source(&status).is_some());
}
