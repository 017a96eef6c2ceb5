//! Unit tests: a mock inner service for readiness and errors, `service_fn`
//! handlers for what happens to headers and messages.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use grpc_core::codec::framing::encode_raw;
use grpc_core::codec::Deframer;
use grpc_core::limits::MessageLimits;
use grpc_core::test_util::ScriptedBody;
use grpc_core::{BoxError, Code, GrpcBody, Status};
use http::{HeaderMap, HeaderValue};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use tower::{service_fn, Layer, Service, ServiceExt};
use tower_test::mock;

use super::algorithm::{CompressionLevel, Compressor};
use super::*;

/// The algorithms this build has.
fn enabled() -> Vec<Encoding> {
    EncodingSet::enabled().iter().collect()
}

/// One message compressed with `encoding`, as a whole frame.
fn compressed(encoding: Encoding, payload: &[u8]) -> Bytes {
    Compressor::new(encoding, CompressionLevel::Default)
        .expect("an enabled algorithm")
        .unwrap()
        .compress(payload)
        .unwrap()
}

/// Compressible payloads, so that compression visibly shrinks them.
fn text(len: usize) -> Vec<u8> {
    b"all work and no play makes a dull message "
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

type Messages = Vec<(bool, Bytes)>;

/// Reads a body as (compressed flag, payload) pairs, then its trailers.
async fn read<B>(body: B) -> Result<(Messages, Option<HeaderMap>), Status>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    let mut frames = Deframer::new(body, usize::MAX);
    let mut out = Vec::new();
    while let Some(frame) = frames.message().await {
        let frame = frame?;
        out.push((frame.is_compressed(), frame.payload()));
    }
    Ok((out, frames.take_trailers()))
}

/// The status a response body ended with: it must end with trailers (a
/// refusal of the layer is an answer any gRPC reader reads), not an error.
async fn answered<B>(body: B) -> Status
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    let (_, trailers) = read(body).await.expect("trailers, not an error");
    Status::from_headers(&trailers.expect("trailers")).expect("a grpc-status")
}

fn grpc_response<B>(body: B) -> http::Response<B> {
    let mut response = http::Response::new(body);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    response
}

fn request<B>(headers: &[(&'static str, &'static str)], body: B) -> http::Request<B> {
    let mut request = http::Request::new(body);
    for (name, value) in headers {
        request
            .headers_mut()
            .append(*name, HeaderValue::from_static(value));
    }
    request
}

/// Waits for `service` to be ready and calls it.
async fn call<S, B>(service: &mut S, request: http::Request<B>) -> S::Response
where
    S: Service<http::Request<B>>,
    S::Error: std::fmt::Debug,
{
    ServiceExt::<http::Request<B>>::ready(service)
        .await
        .unwrap()
        .call(request)
        .await
        .unwrap()
}

type Seen = Arc<Mutex<Vec<HeaderMap>>>;

/// A handler that answers with the messages it received (as it got them)
/// and records the request headers; a body error becomes its status.
fn echo() -> (
    impl Service<http::Request<GrpcBody>, Response = http::Response<GrpcBody>, Error = Infallible>
        + Clone,
    Seen,
) {
    let seen = Seen::default();
    let record = seen.clone();
    let service = service_fn(move |request: http::Request<GrpcBody>| {
        let record = record.clone();
        async move {
            let (parts, body) = request.into_parts();
            record.lock().unwrap().push(parts.headers);
            Ok::<_, Infallible>(match body.collect().await {
                Ok(collected) => grpc_response(GrpcBody::once(
                    collected.to_bytes(),
                    Some(Status::ok().to_headers()),
                )),
                Err(status) => status.into_http(),
            })
        }
    });
    (service, seen)
}

/// A handler that answers `body` whatever the request.
fn answering<B>(
    body: B,
) -> impl Service<http::Request<GrpcBody>, Response = http::Response<B>, Error = Infallible>
where
    B: Clone,
{
    service_fn(move |_request: http::Request<GrpcBody>| {
        std::future::ready(Ok::<_, Infallible>(grpc_response(body.clone())))
    })
}

fn ok() -> Status {
    Status::ok()
}

// ---- server: requests ----------------------------------------------------

#[tokio::test]
async fn a_compressed_request_reaches_the_handler_decompressed_and_without_grpc_encoding() {
    for encoding in enabled() {
        let (handler, seen) = echo();
        let mut server = ServerCompressionLayer::new().layer(handler);
        let wire = [
            compressed(encoding, &text(500)),
            encode_raw(b"plain", false),
        ]
        .concat();
        let mut req = request(&[], ScriptedBody::new([wire]));
        req.headers_mut()
            .insert("grpc-encoding", encoding.header_value());
        let response = call(&mut server, req).await;
        let (messages, trailers) = read(response.into_body()).await.unwrap();
        assert_eq!(
            messages,
            vec![
                (false, Bytes::from(text(500))),
                (false, Bytes::from("plain"))
            ],
            "{encoding}"
        );
        assert_eq!(trailers.unwrap()["grpc-status"], "0");
        assert!(!seen.lock().unwrap()[0].contains_key("grpc-encoding"));
    }
}

#[tokio::test]
async fn a_compressed_message_split_across_chunks_is_decompressed() {
    for encoding in enabled() {
        let (handler, _) = echo();
        let mut server = ServerCompressionLayer::new().layer(handler);
        let wire = compressed(encoding, &text(10_000));
        let chunks: Vec<Bytes> = wire.chunks(7).map(Bytes::copy_from_slice).collect();
        let mut req = request(&[], ScriptedBody::new(chunks));
        req.headers_mut()
            .insert("grpc-encoding", encoding.header_value());
        let response = call(&mut server, req).await;
        let (messages, _) = read(response.into_body()).await.unwrap();
        assert_eq!(messages, vec![(false, Bytes::from(text(10_000)))]);
    }
}

#[tokio::test]
async fn an_unknown_request_encoding_is_unimplemented_listing_what_is_accepted_and_the_handler_is_not_called(
) {
    let (handler, seen) = echo();
    let mut server = ServerCompressionLayer::new().layer(handler);
    let req = request(&[("grpc-encoding", "snappy")], ScriptedBody::default());
    let response = call(&mut server, req).await;
    let headers = response.headers();
    assert_eq!(headers["grpc-status"], "12");
    assert_eq!(headers["content-type"], "application/grpc");
    assert_eq!(
        headers["grpc-accept-encoding"],
        EncodingSet::enabled().header_value()
    );
    assert!(Status::from_headers(headers)
        .unwrap()
        .message()
        .contains("snappy"));
    assert!(response.body().is_end_stream());
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_encoding_the_server_does_not_accept_is_unimplemented_listing_only_what_it_accepts() {
    let (handler, seen) = echo();
    let mut server = ServerCompressionLayer::new()
        .accept([Encoding::Gzip])
        .layer(handler);
    let req = request(&[("grpc-encoding", "deflate")], ScriptedBody::default());
    let response = call(&mut server, req).await;
    assert_eq!(response.headers()["grpc-status"], "12");
    let expected = EncodingSet::identity().with(Encoding::Gzip).header_value();
    assert_eq!(response.headers()["grpc-accept-encoding"], expected);
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_uncompressed_request_passes_through_untouched_and_unboxed() {
    for headers in [&[][..], &[("grpc-encoding", "identity")][..]] {
        let kinds = Arc::new(Mutex::new(Vec::new()));
        let record = kinds.clone();
        let mut server = ServerCompressionLayer::new().layer(service_fn(
            move |request: http::Request<GrpcBody>| {
                record.lock().unwrap().push(format!("{:?}", request.body()));
                std::future::ready(Ok::<_, Infallible>(grpc_response(GrpcBody::empty())))
            },
        ));
        let body = GrpcBody::once(encode_raw(b"x", false), None);
        let req = request(headers, body);
        call(&mut server, req).await;
        assert_eq!(
            kinds.lock().unwrap().as_slice(),
            ["GrpcBody { kind: \"once\" }"]
        );
    }
}

#[tokio::test]
async fn a_request_that_inflates_past_the_call_limit_is_resource_exhausted() {
    for encoding in enabled() {
        let (handler, _) = echo();
        // The layer's own limit is generous; the call's narrower one wins.
        let mut server = ServerCompressionLayer::new()
            .max_decompressed_size(64 << 20)
            .layer(handler);
        let bomb = compressed(encoding, &vec![0; 8 << 20]);
        assert!(bomb.len() < 64 << 10);
        let mut req = request(&[], ScriptedBody::new([bomb]));
        req.headers_mut()
            .insert("grpc-encoding", encoding.header_value());
        req.extensions_mut()
            .insert(MessageLimits::new(1 << 20, usize::MAX));
        let response = call(&mut server, req).await;
        assert_eq!(response.headers()["grpc-status"], "8", "{encoding}");
    }
}

#[tokio::test]
async fn without_a_call_limit_the_layer_limit_applies() {
    for encoding in enabled() {
        let (handler, _) = echo();
        let mut server = ServerCompressionLayer::new()
            .max_decompressed_size(1000)
            .layer(handler);
        for (size, code) in [(1000, "0"), (1001, "8")] {
            let mut req = request(&[], ScriptedBody::new([compressed(encoding, &text(size))]));
            req.headers_mut()
                .insert("grpc-encoding", encoding.header_value());
            let response = call(&mut server, req).await;
            let status = match response.headers().get("grpc-status") {
                Some(v) => v.clone(),
                None => read(response.into_body()).await.unwrap().1.unwrap()["grpc-status"].clone(),
            };
            assert_eq!(status, code, "{encoding} {size}");
        }
    }
}

#[tokio::test]
async fn corrupt_compressed_messages_end_the_body_with_internal() {
    for encoding in enabled() {
        let (handler, _) = echo();
        let mut server = ServerCompressionLayer::new().layer(handler);
        let mut req = request(
            &[],
            ScriptedBody::new([encode_raw(b"this is not compressed", true)]),
        );
        req.headers_mut()
            .insert("grpc-encoding", encoding.header_value());
        let response = call(&mut server, req).await;
        let status = Status::from_headers(response.headers()).unwrap();
        assert_eq!(status.code(), Code::Internal, "{encoding}");
        assert!(status.message().contains(encoding.name()), "{status}");
    }
}

// ---- server: responses ---------------------------------------------------

/// Calls `server` with an uncompressed request that accepts `accept`.
async fn call_accepting<S, B>(server: &mut S, accept: &'static str) -> http::Response<B>
where
    S: Service<http::Request<ScriptedBody>, Response = http::Response<B>>,
    S::Error: std::fmt::Debug,
{
    let req = request(
        &[("grpc-accept-encoding", accept)],
        ScriptedBody::messages([b"hi"]),
    );
    call(server, req).await
}

#[tokio::test]
async fn the_response_is_compressed_in_the_first_preferred_encoding_the_client_accepts() {
    let reply = ScriptedBody::messages([text(1000), text(2000)]).with_status(&ok());
    let mut server = ServerCompressionLayer::new()
        .send_compressed(Encoding::Zstd)
        .send_compressed(Encoding::Gzip)
        .send_compressed(Encoding::Deflate)
        .layer(answering(reply));
    for accept in ["gzip", "identity, deflate ,gzip", "zstd,gzip", "deflate"] {
        let mut headers = HeaderMap::new();
        headers.insert("grpc-accept-encoding", HeaderValue::from_static(accept));
        let peer = EncodingSet::from_accept_headers(&headers);
        let expected = [Encoding::Zstd, Encoding::Gzip, Encoding::Deflate]
            .into_iter()
            .find(|e| e.is_enabled() && peer.contains(*e));
        let response = call_accepting(&mut server, accept).await;
        assert_eq!(
            response.headers().get("grpc-encoding"),
            expected.map(Encoding::header_value).as_ref(),
            "{accept}"
        );
        let (messages, trailers) = read(response.into_body()).await.unwrap();
        assert_eq!(trailers.unwrap()["grpc-status"], "0");
        assert_eq!(messages.len(), 2);
        for (flag, payload) in &messages {
            assert_eq!(*flag, expected.is_some());
            if expected.is_some() {
                assert!(payload.len() < 200, "{accept}: {}", payload.len());
            }
        }
    }
}

#[tokio::test]
async fn the_response_is_uncompressed_when_the_client_accepts_none_of_the_preferred() {
    let reply = ScriptedBody::messages([text(1000)]).with_status(&ok());
    let mut server = ServerCompressionLayer::new()
        .send_compressed(Encoding::Gzip)
        .layer(answering(reply));
    let response = call_accepting(&mut server, "identity,snappy").await;
    assert!(!response.headers().contains_key("grpc-encoding"));
    let (messages, _) = read(response.into_body()).await.unwrap();
    assert_eq!(messages, vec![(false, Bytes::from(text(1000)))]);
}

#[tokio::test]
async fn by_default_the_server_answers_uncompressed_but_advertises_what_it_accepts() {
    let reply = ScriptedBody::messages([text(1000)]).with_status(&ok());
    let mut server = ServerCompressionLayer::new().layer(answering(reply));
    let response = call_accepting(&mut server, "identity,gzip,deflate,zstd").await;
    assert!(!response.headers().contains_key("grpc-encoding"));
    assert_eq!(
        response.headers()["grpc-accept-encoding"],
        EncodingSet::enabled().header_value()
    );
    let (messages, _) = read(response.into_body()).await.unwrap();
    assert_eq!(messages, vec![(false, Bytes::from(text(1000)))]);
}

#[tokio::test]
async fn messages_below_the_minimum_size_go_uncompressed_in_a_compressed_stream() {
    for encoding in enabled() {
        let reply = ScriptedBody::messages([text(99), text(100), text(5000), Vec::new()])
            .with_status(&ok());
        let mut server = ServerCompressionLayer::new()
            .send_compressed(encoding)
            .min_size(100)
            .layer(answering(reply));
        let response = call_accepting(&mut server, encoding.name()).await;
        assert_eq!(response.headers()["grpc-encoding"], encoding.name());
        let (messages, trailers) = read(response.into_body()).await.unwrap();
        let flags: Vec<bool> = messages.iter().map(|(flag, _)| *flag).collect();
        assert_eq!(flags, [false, true, true, false], "{encoding}");
        assert_eq!(messages[0].1, text(99));
        assert_eq!(trailers.unwrap()["grpc-status"], "0");
    }
}

#[tokio::test]
async fn a_handler_can_choose_or_disable_the_response_encoding_per_call() {
    let Some(&last) = enabled().last() else {
        return;
    };
    for (choice, accept, expected) in [
        (
            SendCompression::new(last),
            "identity,gzip,deflate,zstd",
            Some(last),
        ),
        (
            SendCompression::disabled(),
            "identity,gzip,deflate,zstd",
            None,
        ),
        // Not accepted by the client: no compression.
        (SendCompression::new(last), "identity", None),
    ] {
        let mut server = ServerCompressionLayer::new()
            .send_compressed(Encoding::Gzip)
            .send_compressed(Encoding::Deflate)
            .layer(service_fn(move |_request: http::Request<GrpcBody>| {
                let body = ScriptedBody::messages([text(1000)]).with_status(&ok());
                let mut response = grpc_response(body);
                response.extensions_mut().insert(choice);
                std::future::ready(Ok::<_, Infallible>(response))
            }));
        let response = call_accepting(&mut server, accept).await;
        assert_eq!(
            response.headers().get("grpc-encoding"),
            expected.map(Encoding::header_value).as_ref(),
            "{choice:?} {accept}"
        );
        let (messages, _) = read(response.into_body()).await.unwrap();
        assert_eq!(messages[0].0, expected.is_some());
    }
}

/// A response body that sets a [`MessageCompression`] switch just before
/// yielding each message, as a handler's stream would.
#[derive(Clone)]
struct Switching {
    messages: VecDeque<(bool, Bytes)>,
    switch: MessageCompression,
    trailers: Option<HeaderMap>,
}

impl Body for Switching {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.messages.pop_front() {
            Some((compress, payload)) => {
                if compress {
                    self.switch.enable();
                } else {
                    self.switch.disable();
                }
                Poll::Ready(Some(Ok(Frame::data(encode_raw(&payload, false)))))
            }
            None => Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t)))),
        }
    }
}

#[tokio::test]
async fn a_handler_can_switch_compression_off_for_single_messages_of_a_stream() {
    for encoding in enabled() {
        let plan = [true, false, true, false, false, true];
        let switch = MessageCompression::new();
        let body = Switching {
            messages: plan
                .iter()
                .enumerate()
                .map(|(i, c)| (*c, Bytes::from(text(500 + i))))
                .collect(),
            switch: switch.clone(),
            trailers: Some(ok().to_headers()),
        };
        let mut server = ServerCompressionLayer::new()
            .send_compressed(encoding)
            .layer(service_fn(move |_request: http::Request<GrpcBody>| {
                let mut response = grpc_response(body.clone());
                response.extensions_mut().insert(switch.clone());
                std::future::ready(Ok::<_, Infallible>(response))
            }));
        let response = call_accepting(&mut server, encoding.name()).await;
        let (messages, trailers) = read(response.into_body()).await.unwrap();
        let flags: Vec<bool> = messages.iter().map(|(flag, _)| *flag).collect();
        assert_eq!(flags, plan, "{encoding}");
        assert_eq!(trailers.unwrap()["grpc-status"], "0");
        // And a client layer reads the mixed stream back.
        let wire: Vec<Bytes> = messages
            .iter()
            .map(|(flag, payload)| encode_raw(payload, *flag))
            .collect();
        let mut client = ClientCompressionLayer::new().layer(service_fn(move |_req| {
            let mut response = grpc_response(ScriptedBody::new(wire.clone()));
            response
                .headers_mut()
                .insert("grpc-encoding", encoding.header_value());
            std::future::ready(Ok::<_, Infallible>(response))
        }));
        let response = call(&mut client, request(&[], GrpcBody::empty())).await;
        let (messages, _) = read(response.into_body()).await.unwrap();
        for (i, (flag, payload)) in messages.iter().enumerate() {
            assert!(!flag);
            assert_eq!(payload, &text(500 + i));
        }
    }
}

#[tokio::test]
async fn decisions_made_ahead_hold_when_messages_arrive_batched_in_one_chunk() {
    for encoding in enabled() {
        let plan = [false, true, true, false, true];
        let mut server = ServerCompressionLayer::new()
            .send_compressed(encoding)
            .layer(service_fn(move |_request: http::Request<GrpcBody>| {
                let decide = MessageCompression::new();
                let batch: Vec<u8> = (0..plan.len())
                    .flat_map(|i| encode_raw(&text(200 + i), false))
                    .collect();
                // The whole batch is decided before the layer sees any of
                // it, as when a stream had every message ready at once.
                let decided = decide.clone();
                let body = PollFirst {
                    body: ScriptedBody::new([batch]).with_status(&ok()),
                    first: Some(Box::new(move || {
                        for compress in plan {
                            decided.set(compress);
                        }
                    })),
                };
                let mut response = grpc_response(body);
                response.extensions_mut().insert(decide);
                std::future::ready(Ok::<_, Infallible>(response))
            }));
        let response = call_accepting(&mut server, encoding.name()).await;
        let (messages, _) = read(response.into_body()).await.unwrap();
        let flags: Vec<bool> = messages.iter().map(|(flag, _)| *flag).collect();
        assert_eq!(flags, plan, "{encoding}");
    }
}

/// A body that runs `first` when first polled, then is `body`.
struct PollFirst<B> {
    body: B,
    first: Option<Box<dyn FnOnce() + Send>>,
}

impl<B: Body + Unpin> Body for PollFirst<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        if let Some(first) = self.first.take() {
            first();
        }
        Pin::new(&mut self.body).poll_frame(cx)
    }
}

#[tokio::test]
async fn trailers_only_and_non_grpc_responses_are_left_alone() {
    let mut server = ServerCompressionLayer::new()
        .send_compressed(Encoding::Gzip)
        .layer(service_fn(|request: http::Request<GrpcBody>| {
            let response = if request.uri().path() == "/status" {
                Status::not_found("nope").into_http()
            } else {
                http::Response::builder()
                    .status(404)
                    .header("content-type", "text/plain")
                    .body(GrpcBody::once(Bytes::from_static(b"not found"), None))
                    .unwrap()
            };
            std::future::ready(Ok::<_, Infallible>(response))
        }));
    let mut req = request(&[("grpc-accept-encoding", "gzip")], GrpcBody::empty());
    *req.uri_mut() = "/status".parse().unwrap();
    let response = call(&mut server, req).await;
    assert_eq!(response.headers()["grpc-status"], "5");
    assert!(!response.headers().contains_key("grpc-encoding"));
    assert!(response.headers().contains_key("grpc-accept-encoding"));

    let req = request(&[("grpc-accept-encoding", "gzip")], GrpcBody::empty());
    let response = call(&mut server, req).await;
    assert_eq!(response.status(), 404);
    assert!(!response.headers().contains_key("grpc-encoding"));
    assert!(!response.headers().contains_key("grpc-accept-encoding"));
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "not found");
}

#[tokio::test]
async fn a_message_compressed_before_the_layer_is_an_error_not_compressed_twice() {
    let Some(&encoding) = enabled().first() else {
        return;
    };
    let reply = ScriptedBody::new([encode_raw(&text(100), true)]).with_status(&ok());
    let mut server = ServerCompressionLayer::new()
        .send_compressed(encoding)
        .layer(answering(reply));
    let response = call_accepting(&mut server, encoding.name()).await;
    let status = answered(response.into_body()).await;
    assert_eq!(status.code(), Code::Internal);
}

// ---- client --------------------------------------------------------------

type SeenRequests = Arc<Mutex<Vec<(HeaderMap, Messages)>>>;

/// A server that records each request (headers and messages as sent) and
/// answers `reply` with `encoding` declared.
fn recording_server(
    reply: ScriptedBody,
    encoding: Option<&'static str>,
) -> (
    impl Service<
            http::Request<GrpcBody>,
            Response = http::Response<ScriptedBody>,
            Error = Infallible,
        > + Clone,
    SeenRequests,
) {
    let seen = SeenRequests::default();
    let record = seen.clone();
    let service = service_fn(move |request: http::Request<GrpcBody>| {
        let record = record.clone();
        let reply = reply.clone();
        async move {
            let (parts, body) = request.into_parts();
            let (messages, _) = read(body).await.unwrap();
            record.lock().unwrap().push((parts.headers, messages));
            let mut response = grpc_response(reply);
            if let Some(encoding) = encoding {
                response
                    .headers_mut()
                    .insert("grpc-encoding", HeaderValue::from_static(encoding));
            }
            Ok::<_, Infallible>(response)
        }
    });
    (service, seen)
}

#[tokio::test]
async fn the_client_compresses_requests_and_says_so_in_its_headers() {
    for encoding in enabled() {
        let reply = ScriptedBody::messages([b"ok"]).with_status(&ok());
        let (server, seen) = recording_server(reply, None);
        let mut client = ClientCompressionLayer::new()
            .send_compressed(encoding)
            .layer(server);
        let body = ScriptedBody::messages([text(10), text(1000)]);
        let response = call(&mut client, request(&[], body)).await;
        let (messages, _) = read(response.into_body()).await.unwrap();
        assert_eq!(messages, vec![(false, Bytes::from("ok"))]);
        let seen = seen.lock().unwrap();
        let (headers, sent) = &seen[0];
        assert_eq!(headers["grpc-encoding"], encoding.name());
        assert_eq!(
            headers["grpc-accept-encoding"],
            EncodingSet::enabled().header_value()
        );
        // The short one goes plain; the long one compressed.
        assert_eq!(sent[0], (false, Bytes::from(text(10))));
        assert!(sent[1].0);
        assert!(sent[1].1.len() < 200);
    }
}

#[tokio::test]
async fn the_client_sends_uncompressed_by_default_and_per_call_choices_win() {
    let Some(&encoding) = enabled().last() else {
        return;
    };
    for (choice, expected) in [
        (None, None),
        (Some(SendCompression::new(encoding)), Some(encoding)),
        (Some(SendCompression::disabled()), None),
    ] {
        let reply = ScriptedBody::messages([b"ok"]).with_status(&ok());
        let (server, seen) = recording_server(reply, None);
        // The layer's own preference only applies without a choice.
        let layer = ClientCompressionLayer::new();
        let layer = match choice {
            Some(c) if c.encoding() == Encoding::Identity => layer.send_compressed(encoding),
            _ => layer,
        };
        let mut client = layer.layer(server);
        let mut req = request(&[], ScriptedBody::messages([text(1000)]));
        if let Some(choice) = choice {
            req.extensions_mut().insert(choice);
        }
        let response = call(&mut client, req).await;
        read(response.into_body()).await.unwrap();
        let seen = seen.lock().unwrap();
        let (headers, sent) = &seen[0];
        assert_eq!(
            headers.get("grpc-encoding"),
            expected.map(Encoding::header_value).as_ref(),
            "{choice:?}"
        );
        assert_eq!(sent[0].0, expected.is_some());
    }
}

#[tokio::test]
async fn the_client_decompresses_responses_in_an_accepted_encoding() {
    for encoding in enabled() {
        let reply = ScriptedBody::new([
            compressed(encoding, &text(3000)),
            encode_raw(b"plain", false),
        ])
        .with_status(&ok());
        let (server, _) = recording_server(reply, Some(encoding.name()));
        let mut client = ClientCompressionLayer::new().layer(server);
        let response = call(&mut client, request(&[], ScriptedBody::messages([b"hi"]))).await;
        assert!(!response.headers().contains_key("grpc-encoding"));
        let (messages, trailers) = read(response.into_body()).await.unwrap();
        assert_eq!(
            messages,
            vec![
                (false, Bytes::from(text(3000))),
                (false, Bytes::from("plain"))
            ]
        );
        assert_eq!(trailers.unwrap()["grpc-status"], "0");
    }
}

#[tokio::test]
async fn a_compressed_response_in_an_encoding_the_client_does_not_take_is_internal() {
    let Some(&encoding) = enabled().first() else {
        return;
    };
    // Plain messages under an unknown encoding are fine...
    let reply = ScriptedBody::messages([b"plain"]).with_status(&ok());
    let (server, _) = recording_server(reply, Some("snappy"));
    let mut client = ClientCompressionLayer::new().layer(server);
    let response = call(&mut client, request(&[], ScriptedBody::messages([b"hi"]))).await;
    let (messages, _) = read(response.into_body()).await.unwrap();
    assert_eq!(messages, vec![(false, Bytes::from("plain"))]);
    // ...a compressed one, in an encoding not accepted, is not.
    let reply = ScriptedBody::new([compressed(encoding, &text(100))]).with_status(&ok());
    let (server, _) = recording_server(reply, Some(encoding.name()));
    let others: Vec<Encoding> = enabled().into_iter().filter(|e| *e != encoding).collect();
    let mut client = ClientCompressionLayer::new().accept(others).layer(server);
    let response = call(&mut client, request(&[], ScriptedBody::messages([b"hi"]))).await;
    let status = answered(response.into_body()).await;
    assert_eq!(status.code(), Code::Internal);
    assert!(status.message().contains(encoding.name()), "{status}");
}

#[tokio::test]
async fn a_response_that_inflates_past_the_client_limit_is_resource_exhausted() {
    for encoding in enabled() {
        let reply = ScriptedBody::new([compressed(encoding, &vec![0; 4 << 20])]).with_status(&ok());
        let (server, _) = recording_server(reply, Some(encoding.name()));
        let mut client = ClientCompressionLayer::new().layer(server);
        let mut req = request(&[], ScriptedBody::messages([b"hi"]));
        req.extensions_mut()
            .insert(MessageLimits::new(64 << 10, usize::MAX));
        let response = call(&mut client, req).await;
        let status = answered(response.into_body()).await;
        assert_eq!(status.code(), Code::ResourceExhausted, "{encoding}");
    }
}

// ---- readiness and errors --------------------------------------------------

type MockRequest = http::Request<GrpcBody>;
type MockResponse = http::Response<GrpcBody>;

#[tokio::test]
async fn readiness_and_errors_of_the_inner_service_pass_through() {
    let (mut service, mut handle) =
        mock::spawn_layer::<MockRequest, MockResponse, _>(ServerCompressionLayer::new());
    handle.allow(0);
    assert!(service.poll_ready::<MockRequest>().is_pending());
    handle.allow(1);
    assert!(service.is_woken());
    assert!(matches!(
        service.poll_ready::<MockRequest>(),
        Poll::Ready(Ok(()))
    ));
    let call = service.call(request(&[], GrpcBody::empty()));
    let (_request, send) = handle.next_request().await.unwrap();
    send.send_error(std::io::Error::other("transport broke"));
    let err = call.await.unwrap_err();
    assert_eq!(err.to_string(), "transport broke");

    handle.send_error(std::io::Error::other("not ready"));
    let err = match service.poll_ready::<MockRequest>() {
        Poll::Ready(Err(err)) => err,
        other => panic!("expected a readiness error, got {other:?}"),
    };
    assert_eq!(err.to_string(), "not ready");
}

#[tokio::test]
async fn a_rejected_call_still_consumed_readiness_without_calling_the_inner_service() {
    let (mut service, mut handle) =
        mock::spawn_layer::<MockRequest, MockResponse, _>(ServerCompressionLayer::new());
    handle.allow(1);
    assert!(service.poll_ready::<MockRequest>().is_ready());
    let response = service
        .call(request(&[("grpc-encoding", "br")], GrpcBody::empty()))
        .await
        .unwrap();
    assert_eq!(response.headers()["grpc-status"], "12");
    assert!(handle.poll_request().is_pending());
}

#[tokio::test]
async fn a_clone_is_not_ready() {
    let (mut service, mut handle) =
        mock::spawn_layer::<MockRequest, MockResponse, _>(ClientCompressionLayer::new());
    handle.allow(1);
    assert!(service.poll_ready::<MockRequest>().is_ready());
    let mut clone = mock::Spawn::new(service.get_ref().clone());
    handle.allow(0);
    assert!(clone.poll_ready::<MockRequest>().is_pending());
    // The original keeps its readiness and calls through.
    let call = service.call(request(&[], GrpcBody::empty()));
    let (_request, send) = handle.next_request().await.unwrap();
    send.send_response(grpc_response(GrpcBody::empty()));
    call.await.unwrap();
}

#[tokio::test]
async fn the_client_layer_shows_the_inner_request_its_headers() {
    let Some(&encoding) = enabled().first() else {
        return;
    };
    let (mut service, mut handle) = mock::spawn_layer::<MockRequest, MockResponse, _>(
        ClientCompressionLayer::new()
            .send_compressed(encoding)
            .accept([encoding]),
    );
    handle.allow(1);
    assert!(service.poll_ready::<MockRequest>().is_ready());
    let call = service.call(request(&[], ScriptedBody::messages([text(100)])));
    let (request, send) = handle.next_request().await.unwrap();
    assert_eq!(request.headers()["grpc-encoding"], encoding.name());
    assert_eq!(
        request.headers()["grpc-accept-encoding"],
        EncodingSet::identity().with(encoding).header_value()
    );
    let (messages, _) = read(request.into_body()).await.unwrap();
    assert!(messages[0].0);
    send.send_response(grpc_response(GrpcBody::empty()));
    call.await.unwrap();
}
