//! Every server layer on an axum `Router`, over real HTTP/2 on 127.0.0.1:
//! our gRPC routes mounted in the router beside a REST route, served by
//! `axum::serve`, the layer under test applied with `Router::layer`, and
//! our client calling.
#![cfg(all(
    feature = "deadline",
    feature = "limits",
    feature = "compression-gzip",
    feature = "auth",
    feature = "status",
    feature = "load-shed",
    feature = "otel"
))]

mod support;

use std::time::{Duration, Instant};

use grpc_core::Code;
use grpc_layers::auth::{BearerTokens, ClientAuthLayer, ServerAuthLayer};
use grpc_layers::compression::{ClientCompressionLayer, Encoding, ServerCompressionLayer};
use grpc_layers::deadline::ServerDeadlineLayer;
use grpc_layers::limits::ServerLimitsLayer;
use grpc_layers::load_shed::ServerLoadShedLayer;
use grpc_layers::status::ServerStatusLayer;
use support::axum_peer::{echo_router, our_unary, serve_axum, serve_axum_with_connect_info};
use support::{bounded, TestServer};
use tower::ServiceBuilder;

/// The app: `/test.Echo/Unary` (ours) as a nested service and a REST
/// route, with `layer` on the whole router.
async fn serve_app<L>(layer: L) -> TestServer
where
    L: tower::Layer<axum::routing::Route> + Clone + Send + Sync + 'static,
    L::Service: tower::Service<axum::extract::Request> + Clone + Send + Sync + 'static,
    <L::Service as tower::Service<axum::extract::Request>>::Response:
        axum::response::IntoResponse + 'static,
    <L::Service as tower::Service<axum::extract::Request>>::Error:
        Into<std::convert::Infallible> + 'static,
    <L::Service as tower::Service<axum::extract::Request>>::Future: Send + 'static,
{
    let app = axum::Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route_service("/test.Echo/Unary", echo_router())
        .layer(layer);
    serve_axum(app).await
}

#[tokio::test]
async fn the_server_deadline_layer_on_an_axum_router_stops_a_slow_handler() {
    let server =
        serve_app(ServerDeadlineLayer::new().default_timeout(Duration::from_millis(200))).await;
    let start = Instant::now();
    let status = bounded(our_unary(server.channel(), "sleep:10000"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(
        bounded(our_unary(server.channel(), "hi")).await.unwrap(),
        "hi"
    );
}

#[tokio::test]
async fn the_server_limits_layer_on_an_axum_router_refuses_oversized_messages_both_ways() {
    let layer = ServerLimitsLayer::new()
        .max_receive_message_size(1024)
        .max_send_message_size(1024);
    let server = serve_app(layer).await;
    let status = bounded(our_unary(server.channel(), &"y".repeat(4096)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let status = bounded(our_unary(server.channel(), "size:4096"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(
        bounded(our_unary(server.channel(), "size:10"))
            .await
            .unwrap()
            .len(),
        10
    );
}

#[tokio::test]
async fn the_server_compression_layer_on_an_axum_router_inflates_a_gzip_call() {
    let server = serve_app(ServerCompressionLayer::new().send_compressed(Encoding::Gzip)).await;
    let client = ServiceBuilder::new()
        .layer(ClientCompressionLayer::new().send_compressed(Encoding::Gzip))
        .service(server.channel());
    let message = "z".repeat(10_000);
    assert_eq!(bounded(our_unary(client, &message)).await.unwrap(), message);
}

#[tokio::test]
async fn the_server_auth_layer_on_an_axum_router_guards_the_grpc_route() {
    let tokens = BearerTokens::new().token("ada-token", "ada".to_owned());
    let server = serve_app(ServerAuthLayer::new(tokens)).await;
    let status = bounded(our_unary(server.channel(), "hi"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let client = ServiceBuilder::new()
        .layer(
            ClientAuthLayer::bearer("ada-token")
                .unwrap()
                .allow_insecure(true),
        )
        .service(server.channel());
    assert_eq!(bounded(our_unary(client, "hi")).await.unwrap(), "hi");
}

#[tokio::test]
async fn the_server_status_layer_on_an_axum_router_answers_a_panic_with_internal() {
    let server = serve_app(ServerStatusLayer::new()).await;
    let status = bounded(our_unary(server.channel(), "panic"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    assert_eq!(
        bounded(our_unary(server.channel(), "after")).await.unwrap(),
        "after"
    );
}

#[tokio::test]
async fn the_server_load_shed_layer_on_an_axum_router_refuses_the_excess() {
    let server = serve_app(ServerLoadShedLayer::new().max_in_flight(0)).await;
    let status = bounded(our_unary(server.channel(), "hi"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
}

#[tokio::test]
async fn the_server_telemetry_layer_on_an_axum_router_records_the_peer_and_known_methods() {
    use std::net::SocketAddr;

    use axum::extract::ConnectInfo;
    use grpc_core::method::MethodName;
    use grpc_layers::otel::ServerTelemetryLayer;
    use support::telemetry::{attribute, Spans};

    let spans = Spans::new();
    let routes = echo_router();
    let layer = ServerTelemetryLayer::new()
        .tracer_provider(&spans.provider)
        .peer_addr(|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|info| info.0))
        .known_methods(routes.methods().map(MethodName::from));
    let app = axum::Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route_service("/test.Echo/Unary", routes)
        .layer(layer);
    let server = serve_axum_with_connect_info(app).await;
    assert_eq!(
        bounded(our_unary(server.channel(), "hi")).await.unwrap(),
        "hi"
    );
    let finished = spans.finished(1).await;
    let span = &finished[0];
    assert_eq!(span.name, "test.Echo/Unary");
    assert_eq!(
        attribute(span, "rpc.method").as_deref(),
        Some("test.Echo/Unary")
    );
    assert_eq!(
        attribute(span, "network.peer.address").as_deref(),
        Some("127.0.0.1")
    );
}
