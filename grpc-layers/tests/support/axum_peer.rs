//! axum as the host: our gRPC routes mounted in an axum `Router`, served by
//! `axum::serve` (h2c), with the layers under test on the axum router, and
//! our client calling them.

use std::time::Duration;

use bytes::Bytes;
use grpc_client::{Grpc, GrpcService};
use grpc_core::codec::BytesCodec;
use grpc_core::{Code, GrpcMethod, Request, Response, Status};
use grpc_server::{handler, Router};

use super::{listen, TestServer};

/// The unary method of [`echo_router`].
pub const UNARY: GrpcMethod = GrpcMethod::new("test.Echo", "Unary");

/// Our router with `/test.Echo/Unary`, which does what the tonic echo
/// service does for the same messages (`sleep:`, `size:`, `code:`,
/// `panic`).
pub fn echo_router() -> Router {
    Router::new().route(
        UNARY,
        handler::unary(BytesCodec, |request: Request<Bytes>| async move {
            let message = String::from_utf8(request.into_inner().to_vec()).unwrap();
            let reply = if let Some(ms) = message.strip_prefix("sleep:") {
                tokio::time::sleep(Duration::from_millis(ms.parse().unwrap())).await;
                message
            } else if let Some(n) = message.strip_prefix("size:") {
                "x".repeat(n.parse().unwrap())
            } else if let Some(code) = message.strip_prefix("code:") {
                return Err(Status::new(
                    Code::from_i32(code.parse().unwrap()),
                    "as asked",
                ));
            } else if message == "panic" {
                panic!("the handler panicked, as asked");
            } else {
                message
            };
            Ok(Response::new(Bytes::from(reply)))
        }),
    )
}

/// Serves `app` with `axum::serve` on a loopback port.
pub async fn serve_axum(app: axum::Router) -> TestServer {
    let (listener, server, stopped) = listen().await;
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    server
}

/// Serves `app` with `axum::serve`, each request carrying axum's
/// `ConnectInfo<SocketAddr>`.
pub async fn serve_axum_with_connect_info(app: axum::Router) -> TestServer {
    let (listener, server, stopped) = listen().await;
    tokio::spawn(async move {
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    server
}

/// A unary call of [`UNARY`] with our client over `service`.
pub async fn our_unary<S>(service: S, message: &str) -> Result<String, Status>
where
    S: GrpcService,
{
    let request = Request::new(Bytes::from(message.to_owned()));
    let reply = Grpc::new(service).unary(request, UNARY, BytesCodec).await?;
    Ok(String::from_utf8(reply.into_inner().to_vec()).unwrap())
}
