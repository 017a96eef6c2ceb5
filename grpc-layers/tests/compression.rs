//! Compression end to end, over real HTTP/2 on 127.0.0.1: a `grpc-server`
//! behind `ServerCompressionLayer`, called by `grpc-client` behind
//! `ClientCompressionLayer`. A tap on each side, between the layer and the
//! wire, records what actually travels: the compressed flag of every message
//! and the heads.
#![cfg(feature = "compression")]

mod support;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures_util::{stream, StreamExt};
use grpc_client::{Channel, Endpoint, Grpc};
use grpc_core::codec::framing::encode_raw;
use grpc_core::codec::{BytesCodec, Deframer};
use grpc_core::{BoxError, Code, GrpcBody, GrpcMethod, Request, Response, Status, Streaming};
use grpc_layers::compression::{
    ClientCompression, ClientCompressionLayer, Encoding, EncodingSet, MessageCompression,
    SendCompression, ServerCompressionLayer,
};
use grpc_server::{handler, Router, Server};
use http::HeaderMap;
use http_body::{Body, Frame};
use pin_project_lite::pin_project;
use support::bounded;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower::{Layer, Service, ServiceBuilder};

const UNARY: GrpcMethod = GrpcMethod::new("test.Echo", "Unary");
const SERVER_STREAM: GrpcMethod = GrpcMethod::new("test.Echo", "ServerStream");
const CLIENT_STREAM: GrpcMethod = GrpcMethod::new("test.Echo", "ClientStream");
const BIDI: GrpcMethod = GrpcMethod::new("test.Echo", "Bidi");

fn enabled() -> Vec<Encoding> {
    EncodingSet::enabled().iter().collect()
}

/// A compressible payload of `len` bytes starting with `tag`.
fn payload(tag: &str, len: usize) -> Bytes {
    tag.bytes()
        .chain(b" and then the same words again".iter().copied().cycle())
        .take(len)
        .collect::<Vec<u8>>()
        .into()
}

// ---- the tap -----------------------------------------------------------------

/// What one side saw on the wire.
#[derive(Clone, Default)]
struct Wire {
    /// Compressed flags of the messages, in order.
    flags: Arc<Mutex<Vec<bool>>>,
    /// Request heads (server side) or response heads (client side).
    heads: Arc<Mutex<Vec<HeaderMap>>>,
}

impl Wire {
    fn flags(&self) -> Vec<bool> {
        self.flags.lock().unwrap().clone()
    }

    fn last_head(&self) -> HeaderMap {
        self.heads.lock().unwrap().last().cloned().expect("a head")
    }

    fn clear(&self) {
        self.flags.lock().unwrap().clear();
        self.heads.lock().unwrap().clear();
    }
}

pin_project! {
    /// A body passed on as it is, recording the flag of each message.
    struct TapBody<B> {
        #[pin]
        frames: Deframer<B>,
        flags: Arc<Mutex<Vec<bool>>>,
    }
}

impl<B> Body for TapBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = self.project();
        let frame = ready!(this.frames.poll_frame(cx));
        if let Some(Ok(frame)) = &frame {
            if let Some(data) = frame.data_ref() {
                this.flags.lock().unwrap().push(data[0] == 1);
            }
        }
        Poll::Ready(frame)
    }
}

/// Records the request side (on a server) or the response side (on a
/// client) of every call.
#[derive(Clone)]
struct Tap<S> {
    inner: S,
    wire: Wire,
    server: bool,
}

impl<S, ResB> Service<http::Request<GrpcBody>> for Tap<S>
where
    S: Service<http::Request<GrpcBody>, Response = http::Response<ResB>> + Send,
    S::Future: Send + 'static,
    ResB: Body<Data = Bytes> + Send + 'static,
    ResB::Error: Into<BoxError>,
{
    type Response = http::Response<GrpcBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<GrpcBody>) -> Self::Future {
        let wire = self.wire.clone();
        let request = if self.server {
            wire.heads.lock().unwrap().push(request.headers().clone());
            request.map(|body| {
                GrpcBody::new(TapBody {
                    frames: Deframer::new(body, usize::MAX),
                    flags: wire.flags.clone(),
                })
            })
        } else {
            request
        };
        let server = self.server;
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await?;
            Ok(if server {
                response.map(GrpcBody::new)
            } else {
                wire.heads.lock().unwrap().push(response.headers().clone());
                response.map(|body| {
                    GrpcBody::new(TapBody {
                        frames: Deframer::new(body, usize::MAX),
                        flags: wire.flags.clone(),
                    })
                })
            })
        })
    }
}

struct TapLayer {
    wire: Wire,
    server: bool,
}

impl<S> Layer<S> for TapLayer {
    type Service = Tap<S>;

    fn layer(&self, inner: S) -> Tap<S> {
        Tap {
            inner,
            wire: self.wire.clone(),
            server: self.server,
        }
    }
}

// ---- the server and the client -------------------------------------------------

/// An echo service of the four kinds over raw bytes. Bidi answers each
/// message as it comes, uncompressed when it starts with "plain" (through a
/// [`MessageCompression`] switch).
fn router() -> Router {
    Router::new()
        .route(
            UNARY,
            handler::unary(BytesCodec, |request: Request<Bytes>| async move {
                Ok::<_, Status>(Response::new(request.into_inner()))
            }),
        )
        .route(
            SERVER_STREAM,
            handler::server_streaming(BytesCodec, |request: Request<Bytes>| async move {
                let message = request.into_inner();
                let replies = (0..3).map(move |_| Ok::<_, Status>(message.clone()));
                Ok::<_, Status>(Response::new(stream::iter(replies)))
            }),
        )
        .route(
            CLIENT_STREAM,
            handler::client_streaming(
                BytesCodec,
                |request: Request<Streaming<Bytes>>| async move {
                    let mut messages = request.into_inner();
                    let mut all = Vec::new();
                    while let Some(message) = messages.message().await? {
                        all.extend_from_slice(&message);
                    }
                    Ok::<_, Status>(Response::new(Bytes::from(all)))
                },
            ),
        )
        .route(
            BIDI,
            handler::streaming(
                BytesCodec,
                |request: Request<Streaming<Bytes>>| async move {
                    let switch = MessageCompression::new();
                    let replies = stream::unfold(
                        (request.into_inner(), switch.clone()),
                        |(mut messages, switch)| async move {
                            match messages.message().await {
                                Ok(Some(message)) => {
                                    if message.starts_with(b"plain") {
                                        switch.disable();
                                    } else {
                                        switch.enable();
                                    }
                                    Some((Ok(message), (messages, switch)))
                                }
                                Ok(None) => None,
                                Err(status) => Some((Err(status), (messages, switch))),
                            }
                        },
                    );
                    let mut response = Response::new(replies);
                    response.extensions_mut().insert(switch);
                    Ok::<_, Status>(response)
                },
            ),
        )
}

struct TestServer {
    addr: SocketAddr,
    /// The request side of every call, as it came off the wire.
    wire: Wire,
    _stop: oneshot::Sender<()>,
}

async fn start(layer: ServerCompressionLayer) -> TestServer {
    let wire = Wire::default();
    let service = ServiceBuilder::new()
        .layer(TapLayer {
            wire: wire.clone(),
            server: true,
        })
        .layer(layer)
        .service(router());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(Server::new().serve_with_shutdown(listener, service, async {
        let _ = stopped.await;
    }));
    TestServer {
        addr,
        wire,
        _stop: stop,
    }
}

fn channel(addr: SocketAddr) -> Channel {
    Endpoint::new(format!("http://{addr}").parse().unwrap())
        .unwrap()
        .connect_lazy()
}

/// A client behind `layer`; the returned wire is the response side of its
/// calls as it came off the wire.
fn client(
    addr: SocketAddr,
    layer: ClientCompressionLayer,
) -> (Grpc<ClientCompression<Tap<Channel>>>, Wire) {
    let wire = Wire::default();
    let service = ServiceBuilder::new()
        .layer(layer)
        .layer(TapLayer {
            wire: wire.clone(),
            server: false,
        })
        .service(channel(addr));
    (
        Grpc::new(service)
            .max_receive_message_size(8 << 20)
            .max_send_message_size(8 << 20),
        wire,
    )
}

// ---- the tests -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_algorithm_compresses_both_ways_for_all_four_kinds_of_call() {
    for encoding in enabled() {
        let server = start(ServerCompressionLayer::new().send_compressed(encoding)).await;
        let (mut grpc, responses) = client(
            server.addr,
            ClientCompressionLayer::new().send_compressed(encoding),
        );
        let message = payload(encoding.name(), 5000);

        let reply = bounded(grpc.unary(Request::new(message.clone()), UNARY, BytesCodec))
            .await
            .unwrap();
        assert_eq!(reply.into_inner(), message, "{encoding}");
        assert_eq!(server.wire.last_head()["grpc-encoding"], encoding.name());
        assert_eq!(responses.last_head()["grpc-encoding"], encoding.name());
        assert_eq!(server.wire.flags(), [true]);
        assert_eq!(responses.flags(), [true]);

        server.wire.clear();
        responses.clear();
        let mut replies = bounded(grpc.server_streaming(
            Request::new(message.clone()),
            SERVER_STREAM,
            BytesCodec,
        ))
        .await
        .unwrap()
        .into_inner();
        for _ in 0..3 {
            let reply = bounded(replies.message()).await.unwrap().unwrap();
            assert_eq!(reply, message);
        }
        assert!(bounded(replies.message()).await.unwrap().is_none());
        assert_eq!(server.wire.flags(), [true]);
        assert_eq!(responses.flags(), [true, true, true]);

        server.wire.clear();
        responses.clear();
        let parts = vec![payload("a", 100), payload("b", 3000), payload("c", 40)];
        let reply = bounded(grpc.client_streaming(
            Request::new(stream::iter(parts.clone())),
            CLIENT_STREAM,
            BytesCodec,
        ))
        .await
        .unwrap();
        assert_eq!(reply.into_inner(), parts.concat());
        assert_eq!(server.wire.flags(), [true, true, true]);
        assert_eq!(responses.flags(), [true]);

        server.wire.clear();
        responses.clear();
        let mut replies =
            bounded(grpc.streaming(Request::new(stream::iter(parts.clone())), BIDI, BytesCodec))
                .await
                .unwrap()
                .into_inner();
        for part in &parts {
            assert_eq!(&bounded(replies.message()).await.unwrap().unwrap(), part);
        }
        assert!(bounded(replies.message()).await.unwrap().is_none());
        assert_eq!(server.wire.flags(), [true, true, true]);
        assert_eq!(responses.flags(), [true, true, true]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_messages_go_plain_inside_a_compressed_call() {
    let Some(&encoding) = enabled().first() else {
        return;
    };
    let server = start(ServerCompressionLayer::new().send_compressed(encoding)).await;
    let (mut grpc, responses) = client(
        server.addr,
        ClientCompressionLayer::new().send_compressed(encoding),
    );
    // Below the default minimum size of 32 bytes: plain both ways, in a
    // call that is compressed.
    let short = Bytes::from_static(b"tiny");
    let reply = bounded(grpc.unary(Request::new(short.clone()), UNARY, BytesCodec))
        .await
        .unwrap();
    assert_eq!(reply.into_inner(), short);
    assert_eq!(server.wire.last_head()["grpc-encoding"], encoding.name());
    assert_eq!(server.wire.flags(), [false]);
    assert_eq!(responses.flags(), [false]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_side_picks_an_encoding_the_other_supports() {
    if enabled().len() < 2 {
        return;
    }
    let server_prefers: Vec<Encoding> = enabled().into_iter().rev().collect();
    let mut layer = ServerCompressionLayer::new();
    for e in &server_prefers {
        layer = layer.send_compressed(*e);
    }
    let server = start(layer).await;
    // The client only takes the server's least preferred algorithm.
    let least = *server_prefers.last().unwrap();
    let (mut grpc, responses) = client(
        server.addr,
        ClientCompressionLayer::new()
            .accept([least])
            .send_compressed(least),
    );
    let message = payload("negotiated", 2000);
    let reply = bounded(grpc.unary(Request::new(message.clone()), UNARY, BytesCodec))
        .await
        .unwrap();
    assert_eq!(reply.into_inner(), message);
    let head = server.wire.last_head();
    assert_eq!(
        head["grpc-accept-encoding"],
        EncodingSet::identity().with(least).header_value()
    );
    assert_eq!(responses.last_head()["grpc-encoding"], least.name());
    assert_eq!(
        responses.last_head()["grpc-accept-encoding"],
        EncodingSet::enabled().header_value()
    );
    assert_eq!(responses.flags(), [true]);

    // A client that accepts nothing compressed gets plain answers.
    let (mut grpc, responses) = client(
        server.addr,
        ClientCompressionLayer::new().accept(std::iter::empty()),
    );
    let reply = bounded(grpc.unary(Request::new(message.clone()), UNARY, BytesCodec))
        .await
        .unwrap();
    assert_eq!(reply.into_inner(), message);
    assert!(!responses.last_head().contains_key("grpc-encoding"));
    assert_eq!(responses.flags(), [false]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_an_encoding_the_server_does_not_take_is_unimplemented_with_its_list() {
    let all = enabled();
    let (Some(&taken), Some(&other)) = (all.first(), all.last()) else {
        return;
    };
    if taken == other {
        return;
    }
    let server = start(ServerCompressionLayer::new().accept([taken])).await;
    let (mut grpc, responses) = client(
        server.addr,
        ClientCompressionLayer::new().send_compressed(other),
    );
    let status = bounded(grpc.unary(Request::new(payload("x", 500)), UNARY, BytesCodec))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented, "{status}");
    assert!(status.message().contains(other.name()), "{status}");
    assert_eq!(
        responses.last_head()["grpc-accept-encoding"],
        EncodingSet::identity().with(taken).header_value()
    );
    // The same client with a per-call choice the server takes gets through.
    let mut request = Request::new(payload("y", 500));
    request.extensions_mut().insert(SendCompression::new(taken));
    let reply = bounded(grpc.unary(request, UNARY, BytesCodec))
        .await
        .unwrap();
    assert_eq!(reply.into_inner(), payload("y", 500));
    assert_eq!(server.wire.last_head()["grpc-encoding"], taken.name());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compressed_flag_without_grpc_encoding_is_internal() {
    let server = start(ServerCompressionLayer::new()).await;
    let mut channel = channel(server.addr);
    let mut request = http::Request::new(GrpcBody::once(
        encode_raw(b"looks compressed, says nothing", true),
        None,
    ));
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = "/test.Echo/Unary".parse().unwrap();
    request
        .headers_mut()
        .insert("content-type", "application/grpc".parse().unwrap());
    request
        .headers_mut()
        .insert("te", "trailers".parse().unwrap());
    tower::ServiceExt::ready(&mut channel).await.unwrap();
    let response = bounded(channel.call(request)).await.unwrap();
    let status = match Status::from_headers(response.headers()) {
        Some(status) => status,
        None => {
            let collected = http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap();
            Status::from_headers(collected.trailers().unwrap()).unwrap()
        }
    };
    assert_eq!(status.code(), Code::Internal, "{status}");
    assert_eq!(server.wire.flags(), [true]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_messages_of_a_stream_can_go_uncompressed_both_ways() {
    for encoding in enabled() {
        let server = start(ServerCompressionLayer::new().send_compressed(encoding)).await;
        let (mut grpc, responses) = client(
            server.addr,
            ClientCompressionLayer::new().send_compressed(encoding),
        );
        let plan = [
            payload("zip 1", 300),
            payload("plain 2", 300),
            payload("zip 3", 300),
            payload("plain 4", 300),
            payload("plain 5", 300),
            payload("zip 6", 300),
        ];
        let expected: Vec<bool> = plan.iter().map(|m| !m.starts_with(b"plain")).collect();
        // The client flips its switch as its stream yields each message.
        let switch = MessageCompression::new();
        let flip = switch.clone();
        let messages = stream::iter(plan.clone()).map(move |m| {
            if m.starts_with(b"plain") {
                flip.disable();
            } else {
                flip.enable();
            }
            m
        });
        let mut request = Request::new(messages);
        request.extensions_mut().insert(switch);
        let mut replies = bounded(grpc.streaming(request, BIDI, BytesCodec))
            .await
            .unwrap()
            .into_inner();
        for sent in &plan {
            assert_eq!(&bounded(replies.message()).await.unwrap().unwrap(), sent);
        }
        assert!(bounded(replies.message()).await.unwrap().is_none());
        assert_eq!(server.wire.flags(), expected, "requests, {encoding}");
        assert_eq!(responses.flags(), expected, "responses, {encoding}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receive_limit_holds_for_the_inflated_size_both_ways() {
    let Some(&encoding) = enabled().first() else {
        return;
    };
    // Requests: the server's default 4 MiB.
    let server = start(ServerCompressionLayer::new().send_compressed(encoding)).await;
    let (mut grpc, _) = client(
        server.addr,
        ClientCompressionLayer::new().send_compressed(encoding),
    );
    let big = Bytes::from(vec![0u8; 5 << 20]);
    let status = bounded(grpc.unary(Request::new(big.clone()), UNARY, BytesCodec))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
    // Just under it passes, though a 4 MiB message never crosses the wire
    // uncompressed.
    let fits = Bytes::from(vec![0u8; 4 << 20]);
    let reply = bounded(grpc.unary(Request::new(fits.clone()), UNARY, BytesCodec))
        .await
        .unwrap();
    assert_eq!(reply.into_inner().len(), fits.len());
    // Responses: the client's limit, carried by `Grpc` in `MessageLimits`.
    let (grpc, _) = client(
        server.addr,
        ClientCompressionLayer::new().send_compressed(encoding),
    );
    let mut grpc = grpc.max_receive_message_size(1 << 20);
    let mut request = Request::new(stream::iter([Bytes::from(vec![0u8; 2 << 20])]));
    // The request itself is fine for the server.
    request
        .extensions_mut()
        .insert(SendCompression::new(encoding));
    let mut replies = bounded(grpc.streaming(request, BIDI, BytesCodec))
        .await
        .unwrap()
        .into_inner();
    let status = bounded(replies.message()).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
}
