//! Message size limits: every message of a call, in either direction, is
//! checked against a limit as it streams past, and one over it ends the call
//! with `RESOURCE_EXHAUSTED`.
//!
//! ```
//! use std::convert::Infallible;
//!
//! use grpc_core::codec::framing::encode_raw;
//! use grpc_core::limits::MessageLimits;
//! use grpc_core::headers::APPLICATION_GRPC;
//! use grpc_core::{Code, GrpcBody, Status};
//! use grpc_layers::limits::ServerLimitsLayer;
//! use http_body_util::BodyExt;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! // A hand-written gRPC handler that answers every call with a 1 KiB message.
//! let server = ServiceBuilder::new()
//!     .layer(ServerLimitsLayer::new().max_receive_message_size(64).max_send_message_size(512))
//!     .service_fn(|request: http::Request<GrpcBody>| async move {
//!         // Whatever reads the call's messages further in sees its limits.
//!         let limits = request.extensions().get::<MessageLimits>().copied();
//!         assert_eq!(limits, Some(MessageLimits::new(64, 512)));
//!         let reply = encode_raw(&[7; 1024], false);
//!         let mut response = http::Response::new(GrpcBody::once(reply, Some(Status::ok().to_headers())));
//!         response.headers_mut().insert("content-type", APPLICATION_GRPC);
//!         Ok::<_, Infallible>(response)
//!     });
//!
//! let request = http::Request::builder()
//!     .header("content-type", "application/grpc")
//!     .body(GrpcBody::empty())?;
//! let response = server.oneshot(request).await?;
//! let trailers = response.into_body().collect().await?.trailers().cloned().unwrap();
//! assert_eq!(trailers["grpc-status"], "8"); // RESOURCE_EXHAUSTED: the reply was over 512 bytes
//!
//! // A received message over the limit fails the request body for its reader.
//! let reader = ServiceBuilder::new()
//!     .layer(ServerLimitsLayer::new().max_receive_message_size(64))
//!     .service_fn(|request: http::Request<GrpcBody>| async move {
//!         let status = match request.into_body().collect().await {
//!             Ok(_) => Status::ok(),
//!             Err(status) => status,
//!         };
//!         Ok::<_, Infallible>(status.into_http::<GrpcBody>())
//!     });
//! let request = http::Request::builder()
//!     .header("content-type", "application/grpc")
//!     .body(GrpcBody::once(encode_raw(&[1; 100], false), None))?;
//! let response = reader.oneshot(request).await?;
//! assert_eq!(response.headers()["grpc-status"], "8");
//! # Ok(())
//! # }
//! ```
//!
//! # Where it goes in the stack
//!
//! The order of the whole stack is stated once, in `grpc_server::stack` and
//! `grpc_client::stack`. This layer goes outside compression, on both sides,
//! so that it sees the messages as they are on the wire and compression
//! further in sees its limits.
//!
//! - The layer puts the call's limits in the request extensions as a
//!   [`MessageLimits`](grpc_core::limits::MessageLimits), merged by the one
//!   rule of [`grpc_core::limits`]: the narrowest limit any layer or setter
//!   asks for wins. The compression layer (for the inflated size),
//!   `grpc-server`'s handler adapters and `grpc-client`'s typed calls (for
//!   the messages they decode and encode) read it, each narrowing it with
//!   its own setters, if set. Only layers *inside* it see the extension.
//! - The layer checks the messages it sees. On the server, outside
//!   compression, those are the wire frames, so the receive limit caps the
//!   *compressed* size of a request message; the *decompressed* size is
//!   capped by the compression layer with the same limit, while it inflates.
//!   On the client, outside compression, it sees the messages the call
//!   encodes and decodes.
//!
//! # Client vs server
//!
//! "Receive" and "send" are from the point of view of the side the layer is
//! on: [`ServerLimitsLayer`] checks requests against
//! [`max_receive_message_size`](ServerLimitsLayer::max_receive_message_size)
//! and responses against
//! [`max_send_message_size`](ServerLimitsLayer::max_send_message_size);
//! [`ClientLimitsLayer`] checks requests against `max_send_message_size`
//! and responses against `max_receive_message_size`.
//!
//! Only gRPC calls are checked (by `content-type`); anything else passes
//! untouched, so the layer can sit in front of an axum router that also
//! serves plain HTTP routes. Chunks are never copied or joined: the layer
//! reads each message's 5-byte prefix and lets the bytes through.
//!
//! # Errors
//!
//! Every refusal is `RESOURCE_EXHAUSTED` (never `OUT_OF_RANGE`), ends only
//! that call, and lets every whole message before the refused one through.
//! The connection and its other calls carry on.
//!
//! | message over the limit | side | what happens |
//! |---|---|---|
//! | request (received) | server | the request body fails with the status for its reader, and the call answers `RESOURCE_EXHAUSTED` whatever the handler makes of it (a tonic handler says `UNKNOWN`): trailers-only before the response head, trailers after |
//! | response (sent) | server | the response body ends with `grpc-status: 8` trailers; the rest of the handler's stream is dropped |
//! | response (received) | client | the response body ends with `grpc-status: 8` trailers; the inner body is dropped, which resets the stream |
//! | request (sent) | client | the request body fails, hyper resets the stream with `CANCEL`, and the call answers `RESOURCE_EXHAUSTED`: trailers-only, or trailers when the head had come |
//!
//! So any gRPC client or server around the layer (ours, tonic's) reads the
//! code. A request body's error is a [`MessageTooLarge`] (boxed as
//! [`BoxError`](grpc_core::BoxError)), whose source is the
//! `RESOURCE_EXHAUSTED` [`Status`](grpc_core::Status), so a reader that
//! turns errors into statuses finds it. The inner body's own errors pass
//! through unchanged, and the service's error type is the inner one.
//!
//! # In other libraries' stacks
//!
//! Both layers work in any tower stack. Their request bodies are their own, so over a tonic `Channel` (which takes only tonic's body) a `map_request` goes under them. Tested over real HTTP/2 in `tests/tonic.rs` and `tests/axum.rs`.
//!
//! ```no_run
//! # async fn stacks() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! use grpc_layers::limits::{ClientLimitsLayer, ServerLimitsLayer};
//! use tower::ServiceBuilder;
//!
//! // In a tonic server's stack, before its services:
//! let server = tonic::transport::Server::builder()
//!     .layer(ServerLimitsLayer::new().max_receive_message_size(1 << 20))
//!     .add_routes(tonic::service::Routes::default());
//! # let serving = server.serve("127.0.0.1:50051".parse()?);
//! // Over a tonic Channel, under tonic's client:
//! let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:50051").connect_lazy();
//! let client = ServiceBuilder::new()
//!     .layer(ClientLimitsLayer::new().max_receive_message_size(1 << 20))
//!     // tonic's Channel takes its own body type: the layer's goes in it.
//!     .map_request(|r: http::Request<grpc_core::GrpcBody>| r.map(tonic::body::Body::new))
//!     .service(channel);
//! let mut grpc = tonic::client::Grpc::new(client);
//! grpc.ready().await?;
//! // On an axum Router, around its gRPC routes (and any others):
//! let app: axum::Router = axum::Router::new()
//!     .route_service("/pkg.Service/Method", grpc_server::Router::new())
//!     .layer(ServerLimitsLayer::new());
//! # let _ = (serving, app);
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flag
//!
//! This module is behind the `limits` feature of `grpc-layers`.

mod body;
mod error;
mod frame;
pub mod future;
mod layer;
mod scan;
mod service;
#[cfg(test)]
mod tests;

pub use body::LimitsBody;
pub use error::MessageTooLarge;
pub use layer::{ClientLimitsLayer, ServerLimitsLayer};
pub use service::{ClientLimits, ServerLimits};
