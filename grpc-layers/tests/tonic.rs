//! Every layer inside tonic's stacks, over real HTTP/2 on 127.0.0.1: the
//! server layers in a tonic `Server` in front of a service written against
//! tonic alone, called by tonic's client; the client layers over a tonic
//! `Channel`, under tonic's client. Each failure must reach tonic as the
//! right code, with no adapter between our layer and tonic.
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

use grpc_core::method::MethodName;
use grpc_core::GrpcBody;
use grpc_layers::auth::{BearerTokens, ClientAuthLayer, ServerAuthLayer};
use grpc_layers::compression::{ClientCompressionLayer, Encoding, ServerCompressionLayer};
use grpc_layers::deadline::{ClientDeadlineLayer, ServerDeadlineLayer};
use grpc_layers::limits::{ClientLimitsLayer, ServerLimitsLayer};
use grpc_layers::load_shed::ServerLoadShedLayer;
use grpc_layers::otel::{ClientTelemetryLayer, ServerTelemetryLayer};
use grpc_layers::status::{ClientStatusLayer, ServerStatusLayer};
use support::telemetry::{attribute, Spans};
use support::tonic_peer::{
    serve_tonic, serve_tonic_echo, text, tonic_channel, tonic_ticks, tonic_unary,
    tonic_unary_request, TonicEcho,
};
use support::{bounded, TestServer};
use tonic::codec::CompressionEncoding;
use tonic::transport::server::TcpConnectInfo;
use tonic::Code;
use tower::layer::util::Identity;
use tower::ServiceBuilder;

/// A tonic server with nothing of ours in it.
async fn plain_tonic() -> TestServer {
    serve_tonic(Identity::new()).await
}

/// Inner to a client layer that wraps the request body (limits,
/// compression): tonic's `Channel` takes its own body type only.
fn to_tonic_body(request: http::Request<GrpcBody>) -> http::Request<tonic::body::Body> {
    request.map(tonic::body::Body::new)
}

// ----- server layers in a tonic server --------------------------------------

#[tokio::test]
async fn the_server_deadline_layer_stops_a_slow_tonic_handler_with_deadline_exceeded() {
    let server =
        serve_tonic(ServerDeadlineLayer::new().default_timeout(Duration::from_millis(200))).await;
    let start = Instant::now();
    let status = bounded(tonic_unary(tonic_channel(&server), "sleep:10000"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(start.elapsed() < Duration::from_secs(5));
    // A call within its deadline is untouched.
    let reply = bounded(tonic_unary(tonic_channel(&server), "hi")).await;
    assert_eq!(reply.unwrap(), "hi");
}

#[tokio::test]
async fn the_server_deadline_layer_cuts_a_tonic_stream_at_the_deadline() {
    let server =
        serve_tonic(ServerDeadlineLayer::new().default_timeout(Duration::from_millis(300))).await;
    let (seen, status) = bounded(tonic_ticks(tonic_channel(&server))).await;
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(!seen.is_empty() && seen.len() < 500, "{} ticks", seen.len());
}

#[tokio::test]
async fn the_server_limits_layer_refuses_oversized_messages_both_ways_in_a_tonic_server() {
    let layer = ServerLimitsLayer::new()
        .max_receive_message_size(1024)
        .max_send_message_size(1024);
    let server = serve_tonic(layer).await;
    let big = "y".repeat(4096);
    let status = bounded(tonic_unary(tonic_channel(&server), &big))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let status = bounded(tonic_unary(tonic_channel(&server), "size:4096"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let reply = bounded(tonic_unary(tonic_channel(&server), "size:100")).await;
    assert_eq!(reply.unwrap().len(), 100);
}

#[tokio::test]
async fn the_server_compression_layer_inflates_and_compresses_for_a_tonic_handler() {
    // tonic's server does no compression of its own here: our layer
    // inflates the request for tonic's handler and compresses its reply.
    let server = serve_tonic_echo(
        ServerCompressionLayer::new().send_compressed(Encoding::Gzip),
        TonicEcho::without_compression(),
    )
    .await;
    let mut grpc = tonic::client::Grpc::new(tonic_channel(&server))
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip);
    grpc.ready().await.unwrap();
    let message = "z".repeat(10_000);
    let reply = bounded(grpc.unary(
        tonic::Request::new(text(&message)),
        http::uri::PathAndQuery::from_static(support::tonic_peer::UNARY),
        support::tonic_peer::codec(),
    ))
    .await
    .unwrap();
    assert_eq!(reply.metadata().get("grpc-encoding").unwrap(), "gzip");
    assert_eq!(reply.into_inner(), message);
}

#[tokio::test]
async fn the_server_auth_layer_guards_a_tonic_service_and_hands_it_the_identity() {
    let tokens = BearerTokens::new().token("ada-token", "ada".to_owned());
    let server = serve_tonic(ServerAuthLayer::new(tokens)).await;
    let status = bounded(tonic_unary(tonic_channel(&server), "hi"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let mut request = tonic::Request::new(text("hi"));
    request
        .metadata_mut()
        .insert("authorization", "Bearer ada-token".parse().unwrap());
    let reply = bounded(tonic_unary_request(tonic_channel(&server), request)).await;
    assert_eq!(reply.unwrap(), "hi from ada");
}

#[tokio::test]
async fn the_server_status_layer_answers_a_tonic_handlers_panic_with_internal() {
    let server = serve_tonic(ServerStatusLayer::new()).await;
    let status = bounded(tonic_unary(tonic_channel(&server), "panic"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    // The server goes on serving.
    let reply = bounded(tonic_unary(tonic_channel(&server), "after")).await;
    assert_eq!(reply.unwrap(), "after");
}

#[tokio::test]
async fn the_server_load_shed_layer_refuses_the_excess_in_a_tonic_server() {
    let shed = ServerLoadShedLayer::new().max_in_flight(0);
    let server = serve_tonic(shed).await;
    let status = bounded(tonic_unary(tonic_channel(&server), "hi"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.metadata().get("grpc-retry-pushback-ms").is_some(),
        "{status:?}"
    );
}

#[tokio::test]
async fn the_server_telemetry_layer_in_a_tonic_server_records_the_peer_and_unknown_methods() {
    let spans = Spans::new();
    let layer = ServerTelemetryLayer::new()
        .tracer_provider(&spans.provider)
        .peer_addr(|ext| {
            ext.get::<TcpConnectInfo>()
                .and_then(|info| info.remote_addr())
        })
        .known_methods([MethodName::parse(support::tonic_peer::UNARY).unwrap()]);
    let server = serve_tonic(layer).await;
    assert_eq!(
        bounded(tonic_unary(tonic_channel(&server), "hi"))
            .await
            .unwrap(),
        "hi"
    );
    // A path tonic's service answers UNIMPLEMENTED itself, with no mark
    // of ours: the known methods say it is not one.
    let mut grpc = tonic::client::Grpc::new(tonic_channel(&server));
    grpc.ready().await.unwrap();
    let status = bounded(grpc.unary(
        tonic::Request::new(text("hi")),
        http::uri::PathAndQuery::from_static("/test.Echo/MadeUp"),
        support::tonic_peer::codec(),
    ))
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);

    let finished = spans.finished(2).await;
    let known = finished
        .iter()
        .find(|s| s.name == "test.Echo/Unary")
        .unwrap();
    assert_eq!(
        attribute(known, "rpc.method").as_deref(),
        Some("test.Echo/Unary")
    );
    assert_eq!(
        attribute(known, "network.peer.address").as_deref(),
        Some("127.0.0.1")
    );
    assert!(attribute(known, "network.peer.port").is_some());
    let other = finished.iter().find(|s| s.name == "grpc").unwrap();
    assert_eq!(attribute(other, "rpc.method").as_deref(), Some("_OTHER"));
    assert_eq!(
        attribute(other, "rpc.method_original").as_deref(),
        Some("test.Echo/MadeUp")
    );
}

// ----- client layers over a tonic Channel -----------------------------------

#[tokio::test]
async fn the_client_deadline_layer_over_a_tonic_channel_ends_a_slow_call_with_deadline_exceeded() {
    let server = plain_tonic().await;
    // tonic's Channel arms a timer of its own from the grpc-timeout the
    // layer sends, and fails with CANCELLED when it fires: the layer's
    // deadline must win that race, every time.
    for _ in 0..20 {
        let client = ServiceBuilder::new()
            .layer(ClientDeadlineLayer::new().default_timeout(Duration::from_millis(50)))
            .service(tonic_channel(&server));
        let status = bounded(tonic_unary(client, "sleep:10000"))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    }
}

#[tokio::test]
async fn the_client_deadline_layer_over_a_tonic_channel_cuts_a_stream_with_deadline_exceeded() {
    let server = plain_tonic().await;
    let client = ServiceBuilder::new()
        .layer(ClientDeadlineLayer::new().default_timeout(Duration::from_millis(300)))
        .service(tonic_channel(&server));
    let (seen, status) = bounded(tonic_ticks(client)).await;
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(!seen.is_empty() && seen.len() < 500, "{} ticks", seen.len());
}

#[tokio::test]
async fn the_client_auth_layer_never_sends_a_token_over_a_plaintext_tonic_channel() {
    let tokens = || BearerTokens::new().token("ada-token", "ada".to_owned());
    let server = serve_tonic(ServerAuthLayer::new(tokens())).await;
    // Path-only requests over h2c: the token is held back for a transport
    // that knows it is TLS, and tonic's never sends it.
    let client = ServiceBuilder::new()
        .layer(ClientAuthLayer::bearer("ada-token").unwrap())
        .service(tonic_channel(&server));
    let status = bounded(tonic_unary(client, "hi")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    // An absolute http:// origin: the layer refuses the call itself.
    let client = ServiceBuilder::new()
        .layer(ClientAuthLayer::bearer("ada-token").unwrap())
        .service(tonic_channel(&server));
    let mut grpc = tonic::client::Grpc::with_origin(client, server.uri().parse().unwrap());
    grpc.ready().await.unwrap();
    let status = bounded(grpc.unary(
        tonic::Request::new(text("hi")),
        http::uri::PathAndQuery::from_static(support::tonic_peer::UNARY),
        support::tonic_peer::codec(),
    ))
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(status.message().contains("not TLS"), "{status:?}");
    // Opted in: the token goes, and the server knows the caller.
    let client = ServiceBuilder::new()
        .layer(
            ClientAuthLayer::bearer("ada-token")
                .unwrap()
                .allow_insecure(true),
        )
        .service(tonic_channel(&server));
    assert_eq!(
        bounded(tonic_unary(client, "hi")).await.unwrap(),
        "hi from ada"
    );
}

#[tokio::test]
async fn the_client_limits_layer_over_a_tonic_channel_refuses_oversized_messages_both_ways() {
    let server = plain_tonic().await;
    let client = || {
        ServiceBuilder::new()
            .layer(
                ClientLimitsLayer::new()
                    .max_receive_message_size(1024)
                    .max_send_message_size(1024),
            )
            .map_request(to_tonic_body)
            .service(tonic_channel(&server))
    };
    let status = bounded(tonic_unary(client(), "size:4096"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let status = bounded(tonic_unary(client(), &"y".repeat(4096)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(
        bounded(tonic_unary(client(), "size:10"))
            .await
            .unwrap()
            .len(),
        10
    );
}

#[tokio::test]
async fn the_client_compression_layer_over_a_tonic_channel_talks_gzip_with_a_tonic_server() {
    let server = plain_tonic().await;
    let client = ServiceBuilder::new()
        .layer(ClientCompressionLayer::new().send_compressed(Encoding::Gzip))
        .map_request(to_tonic_body)
        .service(tonic_channel(&server));
    let message = "z".repeat(10_000);
    assert_eq!(
        bounded(tonic_unary(client, &message)).await.unwrap(),
        message
    );
}

#[tokio::test]
async fn the_client_telemetry_layer_wraps_a_tonic_channel_with_no_adapter() {
    let spans = Spans::new();
    let server = plain_tonic().await;
    let client = ServiceBuilder::new()
        .layer(
            // tonic's Channel fills in the URI's authority itself, under
            // the layer: the target names the server.
            ClientTelemetryLayer::new()
                .tracer_provider(&spans.provider)
                .grpc_metrics(true)
                .target(&server.uri()),
        )
        .service(tonic_channel(&server));
    assert_eq!(
        bounded(tonic_unary(client.clone(), "hi")).await.unwrap(),
        "hi"
    );
    let status = bounded(tonic_unary(client, "code:5")).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let finished = spans.finished(2).await;
    for span in &finished {
        assert_eq!(span.name, "test.Echo/Unary");
        assert_eq!(span.span_kind, opentelemetry::trace::SpanKind::Client);
        assert_eq!(
            attribute(span, "server.address").as_deref(),
            Some("127.0.0.1")
        );
    }
    let codes: Vec<_> = finished
        .iter()
        .map(|span| attribute(span, "rpc.response.status_code").unwrap())
        .collect();
    assert!(codes.contains(&"OK".to_owned()), "{codes:?}");
    assert!(codes.contains(&"NOT_FOUND".to_owned()), "{codes:?}");
}

#[tokio::test]
async fn the_client_compression_layer_over_a_tonic_channel_refuses_a_reply_that_inflates_too_far() {
    // tonic's server gzips a reply of a megabyte of one letter: it inflates
    // past the layer's limit, and tonic's client reads RESOURCE_EXHAUSTED.
    let server = plain_tonic().await;
    let client = ServiceBuilder::new()
        .layer(ClientCompressionLayer::new().max_decompressed_size(64 << 10))
        .map_request(to_tonic_body)
        .service(tonic_channel(&server));
    let status = bounded(tonic_unary(client, "size:1000000"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
}

#[tokio::test]
async fn the_client_status_layer_over_a_tonic_channel_reports_a_dead_server_as_unavailable() {
    let server = plain_tonic().await;
    let channel = tonic_channel(&server);
    drop(server);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let client = ServiceBuilder::new()
        .layer(ClientStatusLayer::new())
        .service(channel);
    let status = bounded(tonic_unary(client, "hi")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
}
