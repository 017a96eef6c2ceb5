//! gRPC layers on an axum app, with no `grpc-server` involved.
//!
//! One axum [`Router`](axum::Router) serves a web page at `/` and a
//! hand-written gRPC method, `grpcstack.echo.Echo/Unary`, as a route. The
//! compression and deadline layers of `grpc-layers` wrap that route alone,
//! as they would wrap any `tower::Service` over `http::Request<B>`:
//!
//! - [`ServerCompressionLayer`]: requests in gzip are inflated (bounded
//!   by the receive limit); answers go out in gzip when the client accepts it;
//! - [`ServerDeadlineLayer`]: the client's `grpc-timeout` is enforced, and
//!   the handler sees its deadline.
//!
//! The handler itself is plain: read one framed message with
//! [`Deframer`], decode it with prost, reply with one framed message and
//! `grpc-status: 0` in the trailers.

use std::convert::Infallible;
use std::time::Duration;

use axum::routing::{get, post_service};
use grpc_core::codec::framing::encode_raw;
use grpc_core::codec::Deframer;
use grpc_core::deadline::Deadline;
use grpc_core::{GrpcBody, Status};
use grpc_layers::compression::{Encoding, ServerCompressionLayer};
use grpc_layers::deadline::ServerDeadlineLayer;
use http::header::CONTENT_TYPE;
use prost::Message;
use tower::ServiceBuilder;

use crate::echo::{EchoReply, EchoRequest};

/// The hand-written handler of `grpcstack.echo.Echo/Unary`: echoes the
/// message; waits `delay_ms` first (so deadlines can be seen at work).
pub async fn echo_unary(
    request: http::Request<GrpcBody>,
) -> Result<http::Response<GrpcBody>, Infallible> {
    Ok(match answer(request).await {
        Ok(response) => response,
        Err(status) => status.into_http(),
    })
}

async fn answer(request: http::Request<GrpcBody>) -> Result<http::Response<GrpcBody>, Status> {
    let deadline = request.extensions().get::<Deadline>().copied();
    let mut body = Deframer::new(request.into_body(), 4 << 20);
    let frame = body
        .message()
        .await
        .ok_or_else(|| Status::internal("the request carried no message"))??;
    if frame.is_compressed() {
        return Err(Status::internal("a compressed message reached the handler"));
    }
    let request = EchoRequest::decode(frame.into_payload())
        .map_err(|e| Status::invalid_argument(format!("bad EchoRequest: {e}")))?;
    if request.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(u64::from(request.delay_ms))).await;
    }
    let reply = EchoReply {
        // Tell the caller what deadline the handler saw.
        message: match deadline {
            Some(d) => format!(
                "{} (deadline in {} ms)",
                request.message,
                d.remaining().as_millis()
            ),
            None => request.message,
        },
        payload: request.payload,
        ..Default::default()
    };
    let mut trailers = http::HeaderMap::new();
    Status::ok().add_to_headers(&mut trailers);
    let mut response = http::Response::new(GrpcBody::once(
        encode_raw(&reply.encode_to_vec(), false),
        Some(trailers),
    ));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, grpc_core::headers::APPLICATION_GRPC);
    Ok(response)
}

/// The axum app: a page at `/` and the gRPC route with its two layers.
pub fn app() -> axum::Router {
    let grpc_route = ServiceBuilder::new()
        // Outside: the deadline covers decompression and the handler.
        .layer(ServerDeadlineLayer::new().max_timeout(Duration::from_secs(30)))
        .layer(ServerCompressionLayer::new().send_compressed(Encoding::Gzip))
        .service(tower::service_fn(echo_unary));
    axum::Router::new()
        .route("/", get(|| async { "an axum app that also speaks gRPC\n" }))
        .route("/grpcstack.echo.Echo/Unary", post_service(grpc_route))
}
