//! The layers inside real stacks: the default server and client presets
//! around the generated Echo service, a user's layer inserted between two
//! of ours, and the compression and deadline layers on an axum route with
//! no grpc-server involved.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use examples::echo::echo_client::EchoClient;
use examples::echo::echo_server::EchoServer;
use examples::echo::EchoRequest;
use examples::echo_cases;
use examples::echo_service::EchoService;
use grpc_client::Endpoint;
use grpc_core::deadline::Deadline;
use grpc_core::{Code, GrpcBody, Request};
use grpc_layers::compression::{ClientCompressionLayer, Encoding, ServerCompressionLayer};
use grpc_layers::deadline::{ClientDeadlineLayer, ServerDeadlineLayer};
use grpc_layers::limits::ServerLimitsLayer;
use grpc_layers::status::ServerStatusLayer;
use grpc_server::{Router, Server};
use support::LIMIT;
use tokio::net::TcpListener;
use tokio::time::timeout;
use tower::ServiceBuilder;

fn channel(addr: std::net::SocketAddr) -> grpc_client::Channel {
    Endpoint::new(format!("http://{addr}").parse().unwrap())
        .unwrap()
        .connect_lazy()
}

#[tokio::test]
async fn every_echo_case_passes_through_both_default_presets() {
    let router = Router::new().add_service(EchoServer::new(EchoService::new()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = grpc_server::stack::default_layers().service(router);
    tokio::spawn(Server::new().serve_with_shutdown(listener, service, std::future::pending()));

    // Every case against the server preset, from a bare channel...
    for (name, outcome) in timeout(LIMIT, echo_cases::run_all(channel(addr)))
        .await
        .unwrap()
    {
        assert!(outcome.is_ok(), "{name}: {outcome:?}");
    }

    // ...and the client preset against it: deadlines, statuses, messages.
    let stack = grpc_client::stack::default_layers().service(channel(addr));
    let mut client = EchoClient::new(stack);
    let mut request = Request::new(EchoRequest {
        message: "through both presets".into(),
        delay_ms: 2_000,
        ..Default::default()
    });
    request
        .extensions_mut()
        .insert(Deadline::after(Duration::from_millis(200)));
    let status = timeout(LIMIT, client.unary(request))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded);
    let reply = timeout(
        LIMIT,
        client.unary(EchoRequest {
            message: "ok".into(),
            ..Default::default()
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(reply.into_inner().message, "ok");
}

#[tokio::test]
async fn a_users_layer_goes_between_two_of_ours() {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let router = Router::new().add_service(EchoServer::new(EchoService::new()));
    // The default chain written out, with a request counter between the
    // deadline and the limits layers.
    let service = ServiceBuilder::new()
        .layer(ServerStatusLayer::new())
        .layer(ServerDeadlineLayer::new())
        .map_request(move |request: http::Request<GrpcBody>| {
            counter.fetch_add(1, Ordering::SeqCst);
            request
        })
        .layer(ServerLimitsLayer::new().max_receive_message_size(1024))
        .layer(ServerCompressionLayer::new())
        .service(router);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(Server::new().serve_with_shutdown(listener, service, std::future::pending()));

    let mut client = EchoClient::new(channel(addr));
    timeout(LIMIT, client.unary(EchoRequest::default()))
        .await
        .unwrap()
        .unwrap();
    let big = EchoRequest {
        payload: vec![0; 4096],
        ..Default::default()
    };
    let status = timeout(LIMIT, client.unary(big))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::ResourceExhausted,
        "the custom limit applies"
    );
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

async fn start_axum() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, examples::axum_grpc::app()).await });
    addr
}

#[tokio::test]
async fn an_axum_route_inflates_gzip_requests_and_sees_its_deadline() {
    let addr = start_axum().await;
    let stack = ServiceBuilder::new()
        .layer(ClientDeadlineLayer::new())
        .layer(ClientCompressionLayer::new().send_compressed(Encoding::Gzip))
        .service(channel(addr));
    let mut client = EchoClient::new(stack);
    let mut request = Request::new(EchoRequest {
        message: "zipped".into(),
        payload: vec![b'z'; 64 * 1024],
        ..Default::default()
    });
    request
        .extensions_mut()
        .insert(Deadline::after(Duration::from_secs(10)));
    let reply = timeout(LIMIT, client.unary(request))
        .await
        .unwrap()
        .unwrap()
        .into_inner();
    // The handler refuses compressed frames: an answer proves the layer
    // inflated the request; the message proves the handler saw a deadline.
    assert!(
        reply.message.starts_with("zipped (deadline in "),
        "{}",
        reply.message
    );
    assert_eq!(reply.payload, vec![b'z'; 64 * 1024]);
}

#[tokio::test]
async fn an_axum_route_answers_deadline_exceeded_itself() {
    let addr = start_axum().await;
    // No client deadline layer: the timeout only travels as a header, so
    // the answer can only come from the server's deadline layer.
    let stack = ServiceBuilder::new()
        .map_request(|mut request: http::Request<GrpcBody>| {
            request
                .headers_mut()
                .insert("grpc-timeout", http::HeaderValue::from_static("200m"));
            request
        })
        .service(channel(addr));
    let mut client = EchoClient::new(stack);
    let slow = EchoRequest {
        delay_ms: 5_000,
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let status = timeout(LIMIT, client.unary(slow))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn an_axum_route_refuses_an_encoding_it_does_not_have() {
    let addr = start_axum().await;
    let stack = ServiceBuilder::new()
        .map_request(|mut request: http::Request<GrpcBody>| {
            request
                .headers_mut()
                .insert("grpc-encoding", http::HeaderValue::from_static("snappy"));
            request
        })
        .service(channel(addr));
    let mut client = EchoClient::new(stack);
    let status = timeout(LIMIT, client.unary(EchoRequest::default()))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented, "{status}");
}
