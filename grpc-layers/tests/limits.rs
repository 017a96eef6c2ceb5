//! Message limits end to end, over real HTTP/2 on 127.0.0.1: `grpc-server`
//! behind `ServerLimitsLayer`, `grpc-client` with and without
//! `ClientLimitsLayer`. A message over a limit ends its own call with
//! RESOURCE_EXHAUSTED; the connection goes on serving other calls.
#![cfg(feature = "limits")]

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use grpc_client::{Grpc, GrpcService};
use grpc_core::codec::framing::encode_raw;
use grpc_core::codec::BytesCodec;
use grpc_core::headers::APPLICATION_GRPC;
use grpc_core::{Code, GrpcBody, GrpcMethod, Request, Response, Status, Streaming};
use grpc_layers::limits::{ClientLimitsLayer, ServerLimitsLayer};
use grpc_server::{handler, PeerAddr, Router};
use support::{bounded, serve};
use tower::{service_fn, ServiceBuilder};

const ECHO: GrpcMethod = GrpcMethod::new("test.Limits", "Echo");
const UNARY: GrpcMethod = GrpcMethod::new("test.Limits", "Unary");
const BIG: GrpcMethod = GrpcMethod::new("test.Limits", "Big");

/// The client address of every call a server answered, in order: the same
/// address means the same connection.
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

/// Echo (bidi), Unary (echo) and Big: a hand-written handler, outside
/// grpc-server's own limits, that answers a 10-byte message and then a
/// 5000-byte one.
fn router(peers: &Peers) -> Router {
    let (echo, unary, big) = (peers.clone(), peers.clone(), peers.clone());
    Router::new()
        .route(
            ECHO,
            handler::streaming(BytesCodec, move |request: Request<Streaming<Bytes>>| {
                echo.record(request.extensions());
                async move { Ok::<_, Status>(Response::new(request.into_inner())) }
            }),
        )
        .route(
            UNARY,
            handler::unary(BytesCodec, move |request: Request<Bytes>| {
                unary.record(request.extensions());
                async move { Ok::<_, Status>(Response::new(request.into_inner())) }
            }),
        )
        .route(
            BIG,
            service_fn(move |request: http::Request<GrpcBody>| {
                big.record(request.extensions());
                async move {
                    let wire =
                        [encode_raw(&[1; 10], false), encode_raw(&[2; 5000], false)].concat();
                    let body = GrpcBody::once(wire.into(), Some(Status::ok().to_headers()));
                    let mut response = http::Response::new(body);
                    response
                        .headers_mut()
                        .insert(http::header::CONTENT_TYPE, APPLICATION_GRPC);
                    Ok::<_, Infallible>(response)
                }
            }),
        )
}

/// A bidi call sending `sizes`-byte messages; the echoed sizes, and the
/// status the call ended with.
async fn echo<S: GrpcService>(grpc: &mut Grpc<S>, sizes: &[usize]) -> (Vec<usize>, Status) {
    let messages: Vec<Bytes> = sizes.iter().map(|&n| Bytes::from(vec![7u8; n])).collect();
    let stream = futures_util::stream::iter(messages);
    let mut replies = match bounded(grpc.streaming(Request::new(stream), ECHO, BytesCodec)).await {
        Ok(response) => response.into_inner(),
        Err(status) => return (Vec::new(), status),
    };
    let mut echoed = Vec::new();
    loop {
        match bounded(replies.message()).await {
            Ok(Some(message)) => echoed.push(message.len()),
            Ok(None) => return (echoed, Status::ok()),
            Err(status) => return (echoed, status),
        }
    }
}

async fn unary<S: GrpcService>(grpc: &mut Grpc<S>) -> Result<Bytes, Status> {
    let request = Request::new(Bytes::from_static(b"still here"));
    bounded(grpc.unary(request, UNARY, BytesCodec))
        .await
        .map(Response::into_inner)
}

/// The sizes of the Big call's messages, and the status it ended with.
async fn big<S: GrpcService>(grpc: &mut Grpc<S>) -> (Vec<usize>, Status) {
    let mut replies =
        match bounded(grpc.server_streaming(Request::new(Bytes::new()), BIG, BytesCodec)).await {
            Ok(response) => response.into_inner(),
            Err(status) => return (Vec::new(), status),
        };
    let mut sizes = Vec::new();
    loop {
        match bounded(replies.message()).await {
            Ok(Some(message)) => sizes.push(message.len()),
            Ok(None) => return (sizes, Status::ok()),
            Err(status) => return (sizes, status),
        }
    }
}

#[tokio::test]
async fn a_request_message_over_the_servers_limit_mid_stream_is_resource_exhausted_and_the_connection_serves_on(
) {
    let peers = Peers::default();
    let server = serve(
        ServiceBuilder::new()
            .layer(ServerLimitsLayer::new().max_receive_message_size(1024))
            .service(router(&peers)),
    )
    .await;
    let mut grpc = Grpc::new(server.channel());

    let (echoed, status) = echo(&mut grpc, &[10, 1024, 2000, 10]).await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("2000 vs. 1024"), "{status:?}");
    assert_eq!(echoed, [10, 1024], "the messages before the refused one");

    assert_eq!(unary(&mut grpc).await.unwrap(), "still here");
    let (echoed, status) = echo(&mut grpc, &[5, 6]).await;
    assert!(status.is_ok(), "{status:?}");
    assert_eq!(echoed, [5, 6]);
    peers.all_one_connection(3);
}

#[tokio::test]
async fn a_response_message_over_the_servers_send_limit_ends_the_call_with_resource_exhausted() {
    let peers = Peers::default();
    let server = serve(
        ServiceBuilder::new()
            .layer(ServerLimitsLayer::new().max_send_message_size(1024))
            .service(router(&peers)),
    )
    .await;
    let mut grpc = Grpc::new(server.channel());

    let (sizes, status) = big(&mut grpc).await;
    assert_eq!(sizes, [10]);
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("to send"), "{status:?}");

    assert_eq!(unary(&mut grpc).await.unwrap(), "still here");
    peers.all_one_connection(2);
}

#[tokio::test]
async fn a_response_message_over_the_clients_limit_ends_the_call_with_resource_exhausted() {
    let peers = Peers::default();
    let server = serve(router(&peers)).await;
    let mut grpc = Grpc::new(
        ServiceBuilder::new()
            .layer(ClientLimitsLayer::new().max_receive_message_size(1024))
            .service(server.channel()),
    );

    let (sizes, status) = big(&mut grpc).await;
    assert_eq!(sizes, [10]);
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("5000 vs. 1024"), "{status:?}");

    assert_eq!(unary(&mut grpc).await.unwrap(), "still here");
    peers.all_one_connection(2);
}

#[tokio::test]
async fn a_request_message_over_the_clients_send_limit_ends_the_call_with_resource_exhausted() {
    let peers = Peers::default();
    let server = serve(router(&peers)).await;
    let mut grpc = Grpc::new(
        ServiceBuilder::new()
            .layer(ClientLimitsLayer::new().max_send_message_size(1024))
            .service(server.channel()),
    );

    let (echoed, status) = echo(&mut grpc, &[10, 3000, 10]).await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("3000 vs. 1024"), "{status:?}");
    assert!(echoed.len() <= 1, "at most the message before: {echoed:?}");

    assert_eq!(unary(&mut grpc).await.unwrap(), "still here");
    let (echoed, status) = echo(&mut grpc, &[1024]).await;
    assert!(status.is_ok(), "{status:?}");
    assert_eq!(echoed, [1024]);
    peers.all_one_connection(3);
}

#[tokio::test]
async fn the_servers_receive_limit_reaches_the_handlers_through_the_extension() {
    // grpc-server's adapters default to 4 MiB; the layer's larger limit is
    // what they apply.
    let peers = Peers::default();
    let server = serve(
        ServiceBuilder::new()
            .layer(ServerLimitsLayer::new().max_receive_message_size(6 << 20))
            .service(router(&peers)),
    )
    .await;
    let mut grpc = Grpc::new(server.channel()).max_receive_message_size(6 << 20);
    let (echoed, status) = echo(&mut grpc, &[5 << 20]).await;
    assert!(status.is_ok(), "{status:?}");
    assert_eq!(echoed, [5 << 20]);
}

#[tokio::test]
async fn a_client_layer_that_raises_the_receive_limit_raises_it_for_the_typed_call() {
    // The typed call asks for nothing; the layer around the channel is the
    // only one that asks, for 6 MiB: a 5 MiB reply is read.
    let peers = Peers::default();
    let server = serve(
        ServiceBuilder::new()
            .layer(ServerLimitsLayer::new().max_receive_message_size(6 << 20))
            .service(router(&peers)),
    )
    .await;
    let stack = ServiceBuilder::new()
        .layer(ClientLimitsLayer::new().max_receive_message_size(6 << 20))
        .service(server.channel());
    let mut grpc = Grpc::new(stack).max_send_message_size(8 << 20);
    let (echoed, status) = echo(&mut grpc, &[5 << 20]).await;
    assert!(status.is_ok(), "{status:?}");
    assert_eq!(echoed, [5 << 20]);
}

#[tokio::test]
async fn a_client_setter_raises_the_limit_of_a_default_limits_layer() {
    // A limits layer that asks for nothing lets the client's own setter
    // decide, on the wire too.
    let peers = Peers::default();
    let server = serve(
        ServiceBuilder::new()
            .layer(ServerLimitsLayer::new().max_receive_message_size(6 << 20))
            .service(router(&peers)),
    )
    .await;
    let stack = ServiceBuilder::new()
        .layer(ClientLimitsLayer::new())
        .service(server.channel());
    let mut grpc = Grpc::new(stack).max_receive_message_size(6 << 20);
    let (echoed, status) = echo(&mut grpc, &[5 << 20]).await;
    assert!(status.is_ok(), "{status:?}");
    assert_eq!(echoed, [5 << 20]);

    // And without the setter, the default (4 MiB) refuses the same reply.
    let stack = ServiceBuilder::new()
        .layer(ClientLimitsLayer::new())
        .service(server.channel());
    let (_, status) = echo(&mut Grpc::new(stack), &[5 << 20]).await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
}
