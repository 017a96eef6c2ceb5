//! Status mapping: whatever goes wrong in a call — an error, a panic, a
//! broken connection — ends it with the [`Status`](grpc_core::Status) the
//! gRPC docs give for it.
//!
//! ```
//! use std::io;
//!
//! use grpc_core::{BoxError, Code, GrpcBody, Status};
//! use grpc_layers::status::{ClientStatusLayer, ServerStatusLayer};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! // Server side: a service that fails the way tower's timeout does.
//! let server = ServiceBuilder::new()
//!     .layer(ServerStatusLayer::new())
//!     .service_fn(|_request: http::Request<GrpcBody>| async {
//!         Err::<http::Response<GrpcBody>, _>(tower::timeout::error::Elapsed::new())
//!     });
//! // The stack cannot fail: its error type is `Infallible`.
//! let response = server.oneshot(http::Request::new(GrpcBody::empty())).await?;
//! assert_eq!(response.headers()["grpc-status"], "4"); // DEADLINE_EXCEEDED
//!
//! // Client side: a connection that could not be made.
//! let client = ServiceBuilder::new()
//!     .layer(ClientStatusLayer::new())
//!     .service_fn(|_request: http::Request<GrpcBody>| async {
//!         Err::<http::Response<GrpcBody>, _>(io::Error::from(io::ErrorKind::ConnectionRefused))
//!     });
//! let status: Status = client.oneshot(http::Request::new(GrpcBody::empty())).await.unwrap_err();
//! assert_eq!(status.code(), Code::Unavailable);
//! let cause = std::error::Error::source(&status).unwrap();
//! assert!(cause.downcast_ref::<io::Error>().is_some(), "the cause is kept");
//! # Ok(())
//! # }
//! ```
//!
//! # Where it goes in the stack
//!
//! The order of the whole stack is stated once, in `grpc_server::stack` and
//! `grpc_client::stack`. This layer is outermost on the server, so that
//! nothing is left unmapped and the stack's error type is `Infallible`, and
//! outermost on the client (right inside the typed `Grpc` calls), so that
//! the errors of every layer — tower's `Elapsed` and `Overloaded` too — are
//! mapped.
//!
//! Layers between keep their inner service's error type and the original
//! errors, so the mapping still sees an `h2::Error` or an `io::Error`
//! through their [`source`](std::error::Error::source) chains.
//!
//! # Client vs server
//!
//! - **[`ServerStatusLayer`]** wraps any service whose error is
//!   `Into<BoxError>`. An `Err` of its future becomes a trailers-only
//!   response (HTTP 200, `content-type: application/grpc`, the status in the
//!   headers); an error of its response body ends the body with the status
//!   in the trailers instead of resetting the stream. A panic in `call`, in
//!   the response future or in the response body is caught
//!   ([`catch_unwind`](std::panic::catch_unwind) around each poll) and
//!   answered `INTERNAL`, with the panic logged (`tracing`, at error level)
//!   and its text kept out of the answer unless the mapper says otherwise;
//!   the server goes on serving. A service whose readiness fails is
//!   finished by tower's rules: every call from then on is answered with
//!   that failure's status. Error type: `Infallible`; bodies:
//!   [`ServerStatusBody`], which cannot fail.
//! - **[`ClientStatusLayer`]** wraps a channel-like service: its error type
//!   becomes [`Status`](grpc_core::Status), and so does its response body's
//!   ([`ClientStatusBody`]). The original error stays reachable through the
//!   status's [`source`](std::error::Error::source). A non-gRPC HTTP
//!   response (a proxy's 503) and a response without `grpc-status` are not
//!   errors at this level: the reader of the response (`grpc-client`)
//!   maps those with [`grpc_core::status::mapping`] and reports a missing
//!   `grpc-status` as `INTERNAL`.
//!
//! # Errors
//!
//! The mapping is a [`MapError`]: [`DefaultMapper`] unless you give another
//! (a closure `Fn(BoxError) -> Status` will do). The default:
//!
//! | what | code |
//! |---|---|
//! | a [`Status`](grpc_core::Status) anywhere in the error's chain | that status |
//! | a panic | `INTERNAL` |
//! | tower `Elapsed` | `DEADLINE_EXCEEDED` |
//! | tower `Overloaded` | `UNAVAILABLE` |
//! | h2 reset `REFUSED_STREAM` / `CANCEL` / `ENHANCE_YOUR_CALM` / `INADEQUATE_SECURITY` / other codes | `UNAVAILABLE` / `CANCELLED` / `RESOURCE_EXHAUSTED` / `PERMISSION_DENIED` / `INTERNAL` |
//! | a connection refused, reset, closed or timed out (io, h2 `GOAWAY` from the peer, hyper) | `UNAVAILABLE` |
//! | your own error types | what [`DefaultMapper::rule`] or [`DefaultMapper::code`] says |
//! | anything else | `UNKNOWN` |
//!
//! See [`DefaultMapper`] for the full list. The codes themselves come from
//! [`grpc_core::status::mapping`], the one table of the stack; the same
//! mapper turns hyper's errors into statuses inside `grpc-server` (request
//! bodies, as the [server's side](DefaultMapper::side)) and `grpc-client`
//! (the channel, with a rule for its own connection errors), so a call
//! reports the same codes with or without this layer.
//!
//! # In other libraries' stacks
//!
//! Both layers work in any tower stack: the server layer turns a tonic handler's panic into `INTERNAL`, the client layer maps a tonic `Channel`'s transport errors. Tested over real HTTP/2 in `tests/tonic.rs` and `tests/axum.rs`.
//!
//! ```no_run
//! # async fn stacks() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! use grpc_layers::status::{ClientStatusLayer, ServerStatusLayer};
//! use tower::ServiceBuilder;
//!
//! // In a tonic server's stack, before its services:
//! let server = tonic::transport::Server::builder()
//!     .layer(ServerStatusLayer::new())
//!     .add_routes(tonic::service::Routes::default());
//! # let serving = server.serve("127.0.0.1:50051".parse()?);
//! // Over a tonic Channel, under tonic's client:
//! let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:50051").connect_lazy();
//! let client = ServiceBuilder::new()
//!     .layer(ClientStatusLayer::new())
//!     .service(channel);
//! let mut grpc = tonic::client::Grpc::new(client);
//! grpc.ready().await?;
//! // On an axum Router, around its gRPC routes (and any others):
//! let app: axum::Router = axum::Router::new()
//!     .route_service("/pkg.Service/Method", grpc_server::Router::new())
//!     .layer(ServerStatusLayer::new());
//! # let _ = (serving, app);
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flag
//!
//! This module is behind the `status` feature of `grpc-layers`, which
//! brings in `h2`, `hyper` (no features) and `tower` (`timeout` and
//! `load-shed` only) for their error types.

mod body;
pub(crate) mod classify;
pub mod future;
mod layer;
mod mapper;
mod service;
#[cfg(test)]
mod tests;

pub use body::{ClientStatusBody, ServerStatusBody};
pub use layer::{ClientStatusLayer, ServerStatusLayer};
pub use mapper::{DefaultMapper, MapError};
pub use service::{ClientStatus, ServerStatus};
