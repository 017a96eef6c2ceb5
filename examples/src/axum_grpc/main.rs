//! An axum app with a gRPC route wrapped in the compression and deadline
//! layers, no `grpc-server` involved; see `examples::axum_grpc`.
//!
//! ```sh
//! cargo run -p examples --bin axum-grpc
//! ```
//!
//! It serves the app on a loopback port, calls the gRPC route with our
//! client (gzip both ways, a deadline met, a deadline missed), and exits.

use std::time::Duration;

use examples::echo::echo_client::EchoClient;
use examples::echo::EchoRequest;
use grpc_client::Endpoint;
use grpc_core::deadline::Deadline;
use grpc_core::Request;
use grpc_layers::compression::{ClientCompressionLayer, Encoding};
use grpc_layers::deadline::ClientDeadlineLayer;
use tower::ServiceBuilder;

#[tokio::main]
async fn main() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let app = examples::axum_grpc::app();
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("axum app on http://{addr} (HTTP/1.1 and h2c)");

    let channel = Endpoint::new(format!("http://{addr}").parse().expect("uri"))
        .expect("endpoint")
        .connect_lazy();
    let stack = ServiceBuilder::new()
        .layer(ClientDeadlineLayer::new())
        .layer(ClientCompressionLayer::new().send_compressed(Encoding::Gzip))
        .service(channel);
    let mut client = EchoClient::new(stack);
    let mut request = Request::new(EchoRequest {
        message: "hello from a gRPC client".into(),
        payload: vec![b'x'; 4096],
        ..Default::default()
    });
    request
        .extensions_mut()
        .insert(Deadline::after(Duration::from_secs(5)));
    match client.unary(request).await {
        Ok(reply) => println!("gRPC   -> {:?}", reply.get_ref().message),
        Err(status) => {
            eprintln!("gRPC call failed: {status}");
            std::process::exit(1);
        }
    }
    let slow = EchoRequest {
        message: "slow".into(),
        delay_ms: 2_000,
        ..Default::default()
    };
    let mut request = Request::new(slow);
    request
        .extensions_mut()
        .insert(Deadline::after(Duration::from_millis(200)));
    match client.unary(request).await {
        Err(status) => println!(
            "gRPC   -> a 200 ms deadline on a 2 s call: {:?}",
            status.code()
        ),
        Ok(_) => {
            eprintln!("the slow call should have missed its deadline");
            std::process::exit(1);
        }
    }
}
