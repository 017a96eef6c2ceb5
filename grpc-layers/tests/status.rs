//! Status mapping end to end, over real HTTP/2 on 127.0.0.1: `grpc-server`
//! behind `ServerStatusLayer` (panics, tower's errors, errors of your own),
//! `grpc-client` with `ClientStatusLayer` against refused connections and
//! an h2 server that resets streams, and, with every layer enabled, the
//! full stack on both sides.
#![cfg(feature = "status")]

mod support;

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use grpc_client::{Channel, Endpoint, Grpc, GrpcService};
use grpc_core::codec::BytesCodec;
use grpc_core::{BoxError, Code, GrpcBody, GrpcMethod, Request, Response, Status};
use grpc_layers::status::{ClientStatusLayer, DefaultMapper, ServerStatusLayer};
use grpc_server::{handler, PeerAddr, Router};
use support::{bounded, serve, LIMIT};
use tokio::net::TcpListener;
use tower::{ServiceBuilder, ServiceExt};

const UNARY: GrpcMethod = GrpcMethod::new("test.Status", "Unary");
const PANICS: GrpcMethod = GrpcMethod::new("test.Status", "Panics");
const PANICS_MIDWAY: GrpcMethod = GrpcMethod::new("test.Status", "PanicsMidway");
const SLOW: GrpcMethod = GrpcMethod::new("test.Status", "Slow");

/// The client address of every call a server answered, in order.
#[derive(Clone, Default)]
struct Peers(Arc<Mutex<Vec<SocketAddr>>>);

impl Peers {
    fn record(&self, extensions: &http::Extensions) {
        let peer = extensions.get::<PeerAddr>().expect("the server sets it").0;
        self.0.lock().unwrap().push(peer);
    }

    fn all_one_connection(&self, calls: usize) {
        let peers = self.0.lock().unwrap();
        assert_eq!(peers.len(), calls, "{peers:?}");
        assert!(peers.windows(2).all(|w| w[0] == w[1]), "{peers:?}");
    }
}

fn router(peers: &Peers) -> Router {
    let (unary, panics, midway) = (peers.clone(), peers.clone(), peers.clone());
    Router::new()
        .route(
            UNARY,
            handler::unary(BytesCodec, move |request: Request<Bytes>| {
                unary.record(request.extensions());
                async move { Ok::<_, Status>(Response::new(request.into_inner())) }
            }),
        )
        .route(
            PANICS,
            handler::unary(BytesCodec, move |request: Request<Bytes>| {
                panics.record(request.extensions());
                async move {
                    if request.get_ref().as_ref() == b"boom" {
                        panic!("secret: the database password is hunter2");
                    }
                    Ok::<_, Status>(Response::new(request.into_inner()))
                }
            }),
        )
        .route(
            PANICS_MIDWAY,
            handler::server_streaming(BytesCodec, move |request: Request<Bytes>| {
                midway.record(request.extensions());
                // One message, then (once the head and it are on their way)
                // a panic while producing the next.
                let stream = futures_util::stream::unfold(0, |i| async move {
                    if i > 0 {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        panic!("the stream broke");
                    }
                    Some((Ok::<_, Status>(Bytes::from_static(b"first")), i + 1))
                });
                async move { Ok::<_, Status>(Response::new(stream)) }
            }),
        )
        .route(
            SLOW,
            handler::unary(BytesCodec, |_: Request<Bytes>| async {
                tokio::time::sleep(LIMIT * 2).await;
                Ok::<_, Status>(Response::new(Bytes::new()))
            }),
        )
}

fn channel(addr: SocketAddr) -> Channel {
    Endpoint::new(format!("http://{addr}").parse().unwrap())
        .unwrap()
        .connect_lazy()
}

async fn call<S: GrpcService>(
    grpc: &mut Grpc<S>,
    method: GrpcMethod,
    message: &'static [u8],
) -> Result<Bytes, Status> {
    let request = Request::new(Bytes::from_static(message));
    bounded(grpc.unary(request, method, BytesCodec))
        .await
        .map(Response::into_inner)
}

/// The first error of type `E` in the status's `source()` chain.
fn cause<E: StdError + 'static>(status: &Status) -> Option<&E> {
    let mut cur = StdError::source(status);
    while let Some(err) = cur {
        if let Some(found) = err.downcast_ref::<E>() {
            return Some(found);
        }
        cur = err.source();
    }
    None
}

#[tokio::test]
async fn a_handler_panic_is_internal_and_the_server_keeps_serving_on_the_same_connection() {
    let peers = Peers::default();
    let server = serve(
        ServiceBuilder::new()
            .layer(ServerStatusLayer::new())
            .service(router(&peers)),
    )
    .await;
    let mut grpc = Grpc::new(channel(server.addr));

    let status = call(&mut grpc, PANICS, b"boom").await.unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    assert!(!status.message().contains("hunter2"), "{status:?}");

    assert_eq!(call(&mut grpc, PANICS, b"calm").await.unwrap(), "calm");
    assert_eq!(call(&mut grpc, UNARY, b"hi").await.unwrap(), "hi");
    let status = call(&mut grpc, PANICS, b"boom").await.unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    peers.all_one_connection(4);
}

#[tokio::test]
async fn a_panic_in_the_middle_of_a_response_stream_ends_it_with_internal() {
    let peers = Peers::default();
    let server = serve(
        ServiceBuilder::new()
            .layer(ServerStatusLayer::new())
            .service(router(&peers)),
    )
    .await;
    let mut grpc = Grpc::new(channel(server.addr));
    let request = Request::new(Bytes::new());
    let response = bounded(grpc.server_streaming(request, PANICS_MIDWAY, BytesCodec))
        .await
        .unwrap();
    let mut stream = response.into_inner();
    assert_eq!(bounded(stream.message()).await.unwrap().unwrap(), "first");
    let status = bounded(stream.message()).await.unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{status:?}");

    assert_eq!(call(&mut grpc, UNARY, b"hi").await.unwrap(), "hi");
    peers.all_one_connection(2);
}

#[tokio::test]
async fn towers_timeout_inside_the_layer_is_deadline_exceeded() {
    let server = serve(
        ServiceBuilder::new()
            .layer(ServerStatusLayer::new())
            .timeout(Duration::from_millis(100))
            .service(router(&Peers::default())),
    )
    .await;
    let mut grpc = Grpc::new(channel(server.addr));
    let status = call(&mut grpc, SLOW, b"").await.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert_eq!(call(&mut grpc, UNARY, b"hi").await.unwrap(), "hi");
}

/// A service that is never ready, so load shedding refuses every call.
#[derive(Clone)]
struct NeverReady;

impl tower::Service<http::Request<GrpcBody>> for NeverReady {
    type Response = http::Response<GrpcBody>;
    type Error = BoxError;
    type Future = std::future::Ready<Result<http::Response<GrpcBody>, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Pending
    }

    fn call(&mut self, _: http::Request<GrpcBody>) -> Self::Future {
        unreachable!("never ready, never called")
    }
}

#[tokio::test]
async fn load_shedding_inside_the_layer_is_unavailable() {
    let server = serve(
        ServiceBuilder::new()
            .layer(ServerStatusLayer::new())
            .load_shed()
            .service(NeverReady),
    )
    .await;
    let mut grpc = Grpc::new(channel(server.addr));
    for _ in 0..2 {
        let status = call(&mut grpc, UNARY, b"hi").await.unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert_eq!(status.message(), "service overloaded");
    }
}

/// An error of the application's own, for a rule.
#[derive(Debug)]
struct QuotaGone;

impl fmt::Display for QuotaGone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the tenant's quota is used up")
    }
}

impl StdError for QuotaGone {}

#[tokio::test]
async fn an_inner_error_is_answered_with_the_code_the_mapper_gives_it() {
    let peers = Peers::default();
    let router = router(&peers);
    // A middleware that refuses calls without a tenant with its own error.
    let stack = ServiceBuilder::new()
        .layer(
            ServerStatusLayer::new()
                .mapper(DefaultMapper::new().code::<QuotaGone>(Code::ResourceExhausted)),
        )
        .service(tower::service_fn(
            move |request: http::Request<GrpcBody>| {
                let router = router.clone();
                async move {
                    if !request.headers().contains_key("x-tenant") {
                        return Err(BoxError::from(QuotaGone));
                    }
                    router.oneshot(request).await.map_err(BoxError::from)
                }
            },
        ));
    let server = serve(stack).await;
    let mut grpc = Grpc::new(channel(server.addr));

    let status = call(&mut grpc, UNARY, b"hi").await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(status.message(), "the tenant's quota is used up");

    let mut request = Request::new(Bytes::from_static(b"hi"));
    request.metadata_mut().insert("x-tenant", "a").unwrap();
    let reply = bounded(grpc.unary(request, UNARY, BytesCodec))
        .await
        .unwrap();
    assert_eq!(reply.into_inner(), "hi");
}

/// A loopback address nothing listens on.
async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

#[tokio::test]
async fn a_refused_connection_is_unavailable_with_the_io_error_reachable_as_a_source() {
    let addr = closed_port().await;
    let layered = ServiceBuilder::new()
        .layer(ClientStatusLayer::new().mapper(grpc_client::status::mapper()))
        .service(channel(addr));
    let mut with_layer = Grpc::new(layered);
    let mut bare = Grpc::new(channel(addr));
    for status in [
        call(&mut with_layer, UNARY, b"hi").await.unwrap_err(),
        call(&mut bare, UNARY, b"hi").await.unwrap_err(),
    ] {
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        let io = cause::<io::Error>(&status).expect("the io error is a source");
        assert_eq!(io.kind(), io::ErrorKind::ConnectionRefused);
    }
}

#[tokio::test]
async fn the_layer_alone_maps_a_refused_connection_too() {
    // Without grpc-client's rule: the table finds the io error inside.
    let addr = closed_port().await;
    let mut service = ServiceBuilder::new()
        .layer(ClientStatusLayer::new())
        .service(channel(addr));
    let mut request = http::Request::new(GrpcBody::empty());
    *request.uri_mut() = "/test.Status/Unary".parse().unwrap();
    request
        .headers_mut()
        .insert("content-type", "application/grpc".parse().unwrap());
    let status = bounded(async { service.ready().await?.call(request).await })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(cause::<io::Error>(&status).is_some());
}

/// An HTTP/2 server (plain h2) that resets every stream with `reason`.
async fn resetting_server(reason: h2::Reason) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut connection) = h2::server::handshake(socket).await else {
                    return;
                };
                while let Some(Ok((_request, mut respond))) = connection.accept().await {
                    respond.send_reset(reason);
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn h2_reset_reasons_map_to_the_codes_of_the_grpc_http2_spec() {
    for (reason, code) in [
        (h2::Reason::REFUSED_STREAM, Code::Unavailable),
        (h2::Reason::CANCEL, Code::Cancelled),
        (h2::Reason::ENHANCE_YOUR_CALM, Code::ResourceExhausted),
        (h2::Reason::INADEQUATE_SECURITY, Code::PermissionDenied),
        (h2::Reason::INTERNAL_ERROR, Code::Internal),
    ] {
        let addr = resetting_server(reason).await;
        let layered = ServiceBuilder::new()
            .layer(ClientStatusLayer::new().mapper(grpc_client::status::mapper()))
            .service(channel(addr));
        let status = call(&mut Grpc::new(layered), UNARY, b"hi")
            .await
            .unwrap_err();
        assert_eq!(status.code(), code, "{reason:?}: {status:?}");
        let h2 = cause::<h2::Error>(&status).expect("the h2 error is a source");
        assert_eq!(h2.reason(), Some(reason));
    }
}

#[cfg(feature = "full")]
mod full_stack {
    use grpc_layers::compression::{ClientCompressionLayer, Encoding, ServerCompressionLayer};
    use grpc_layers::deadline::{ClientDeadlineLayer, ServerDeadlineLayer};
    use grpc_layers::limits::{ClientLimitsLayer, ServerLimitsLayer};

    use super::*;
    use crate::support::TestServer;

    async fn server(peers: &Peers) -> TestServer {
        serve(
            ServiceBuilder::new()
                .layer(ServerStatusLayer::new())
                .layer(ServerLimitsLayer::new().max_receive_message_size(64 << 10))
                .layer(ServerDeadlineLayer::new())
                .layer(ServerCompressionLayer::new().send_compressed(Encoding::Gzip))
                .service(router(peers)),
        )
        .await
    }

    fn client(server: &TestServer) -> Grpc<impl GrpcService> {
        Grpc::new(
            ServiceBuilder::new()
                .layer(ClientStatusLayer::new().mapper(grpc_client::status::mapper()))
                .layer(ClientDeadlineLayer::new())
                .layer(ClientLimitsLayer::new())
                .layer(ClientCompressionLayer::new().send_compressed(Encoding::Gzip))
                .service(channel(server.addr)),
        )
    }

    #[tokio::test]
    async fn a_compressed_message_that_inflates_past_the_receive_limit_is_resource_exhausted() {
        let peers = Peers::default();
        let server = server(&peers).await;
        let mut grpc = client(&server);
        // 100 KiB of zeros is a few hundred bytes gzipped: under the limit
        // on the wire, over it once inflated.
        let zeros = Request::new(Bytes::from(vec![0u8; 100 << 10]));
        let status = bounded(grpc.unary(zeros, UNARY, BytesCodec))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");

        let fits = Request::new(Bytes::from(vec![0u8; 60 << 10]));
        let reply = bounded(grpc.unary(fits, UNARY, BytesCodec)).await.unwrap();
        assert_eq!(reply.into_inner().len(), 60 << 10);
    }

    #[tokio::test]
    async fn a_panic_and_a_deadline_through_every_layer_are_internal_and_deadline_exceeded() {
        let peers = Peers::default();
        let server = server(&peers).await;
        let mut grpc = client(&server);
        let status = call(&mut grpc, PANICS, b"boom").await.unwrap_err();
        assert_eq!(status.code(), Code::Internal, "{status:?}");

        let mut slow = Request::new(Bytes::new());
        slow.extensions_mut()
            .insert(grpc_core::deadline::Deadline::after(Duration::from_millis(
                200,
            )));
        let status = bounded(grpc.unary(slow, SLOW, BytesCodec))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");

        assert_eq!(call(&mut grpc, UNARY, b"hi").await.unwrap(), "hi");
        peers.all_one_connection(2);
    }
}
