//! Deadlines: `grpc-timeout` enforced on the server over the whole call,
//! sent and enforced on the client, and propagated from a handler to the
//! calls it makes.
//!
//! ```
//! use std::convert::Infallible;
//! use std::time::Duration;
//!
//! use grpc_core::deadline::Deadline;
//! use grpc_core::{GrpcBody, Status};
//! use grpc_layers::deadline::{ClientDeadlineLayer, ServerDeadlineLayer};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! // Server side: a handler that takes a second, called with 100 ms.
//! let server = ServiceBuilder::new()
//!     .layer(ServerDeadlineLayer::new().max_timeout(Duration::from_secs(30)))
//!     .service_fn(|request: http::Request<GrpcBody>| async move {
//!         let deadline = request.extensions().get::<Deadline>().copied();
//!         assert!(deadline.is_some(), "the handler sees its deadline");
//!         tokio::time::sleep(Duration::from_secs(1)).await;
//!         Ok::<_, Infallible>(Status::ok().into_http::<GrpcBody>())
//!     });
//! let request = http::Request::builder()
//!     .header("grpc-timeout", "100m")
//!     .body(GrpcBody::empty())?;
//! let response = server.oneshot(request).await?;
//! assert_eq!(response.headers()["grpc-status"], "4"); // DEADLINE_EXCEEDED
//!
//! // Client side: a default timeout goes out as `grpc-timeout`.
//! let client = ServiceBuilder::new()
//!     .layer(ClientDeadlineLayer::new().default_timeout(Duration::from_millis(250)))
//!     .service_fn(|request: http::Request<GrpcBody>| async move {
//!         assert_eq!(request.headers()["grpc-timeout"], "250000u");
//!         Ok::<_, Infallible>(Status::ok().into_http::<GrpcBody>())
//!     });
//! let response = client.oneshot(http::Request::new(GrpcBody::empty())).await?;
//! assert_eq!(response.headers()["grpc-status"], "0");
//! # Ok(())
//! # }
//! ```
//!
//! # Where it goes in the stack
//!
//! The order of the whole stack is stated once, in `grpc_server::stack` and
//! `grpc_client::stack`. On both sides this layer goes outside every layer
//! that does work for the call, so the deadline covers that work too. On
//! the client it also goes outside anything that moves calls to another
//! task (`tower::buffer`): the propagated deadline is read in `call`, on
//! the caller's task. Anything outside the server layer (the status layer)
//! sees its answers as ordinary responses.
//!
//! # Client vs server
//!
//! - **[`ServerDeadlineLayer`]** reads `grpc-timeout` (optionally defaulted
//!   and capped), puts the call's [`Deadline`] in the request extensions —
//!   `request.extensions().get::<Deadline>()` in a typed handler — and
//!   enforces it over the *whole* call: if the response head is not ready by
//!   then, the inner future is dropped (which stops the handler) and the
//!   answer is a trailers-only `DEADLINE_EXCEEDED`; if the head came in time,
//!   the response body is cut at the deadline: the inner body (and with it
//!   the handler's stream) is dropped and the body ends with
//!   `grpc-status: 4` trailers.
//! - **[`ClientDeadlineLayer`]** gives each call a deadline: a [`Deadline`]
//!   in the request extensions (or a `grpc-timeout` header already set), else
//!   the layer's default, narrowed by the propagated one. It sends the time
//!   left as `grpc-timeout` and enforces the deadline locally over the
//!   response head and body, answering a passed deadline as a server
//!   would: a trailers-only `DEADLINE_EXCEEDED`, or `DEADLINE_EXCEEDED`
//!   trailers mid-body, so any gRPC client above it (ours, tonic's) reads
//!   the code. Its own deadline wins the race: once it has passed, the call
//!   ends with `DEADLINE_EXCEEDED` whatever the inner service answers in the
//!   same instant (tonic's `Channel` arms a timer of its own from the
//!   `grpc-timeout` we send, and fails with `CANCELLED` when it fires). A
//!   typed call carries its extensions to the layer:
//!
//! ```
//! # use std::time::Duration;
//! # use grpc_core::deadline::Deadline;
//! let mut request = grpc_core::Request::new("ping");
//! request.extensions_mut().insert(Deadline::after(Duration::from_millis(300)));
//! // client.unary(request, method, codec).await  → at most 300 ms
//! ```
//!
//! # Propagation
//!
//! The server layer polls the inner service — its response future and its
//! response body — with the call's deadline set as the [`current`] one. The
//! client layer narrows each call's deadline by the current one, so a call
//! a handler makes inherits the smaller of its own deadline and the
//! incoming one, without the handler passing it on.
//!
//! The current deadline follows the polls of the handler, not the handler's
//! spawned tasks: wrap a spawned future in [`inherit`] to carry it there.
//! [`scope`] gives a future (a background job, a part of a handler) a
//! deadline of its own, which can only narrow the current one.
//! [`propagate(false)`](ClientDeadlineLayer::propagate) turns propagation
//! off for a client.
//!
//! # Errors
//!
//! | what | side | answer |
//! |---|---|---|
//! | malformed `grpc-timeout` | server | trailers-only `INTERNAL` ("malformed grpc-timeout …"), the inner service is not called |
//! | deadline passed before the response head | server | trailers-only `DEADLINE_EXCEEDED` |
//! | deadline passed while streaming the response | server | the body ends with `DEADLINE_EXCEEDED` trailers |
//! | deadline passed before sending or before the head | client | trailers-only `DEADLINE_EXCEEDED`; nothing is sent, or the inner future is dropped (resetting the stream) |
//! | deadline passed while streaming the response | client | the body ends with `DEADLINE_EXCEEDED` trailers; the inner body is dropped |
//! | malformed `grpc-timeout` set on an outgoing request | client | trailers-only `INTERNAL`, nothing is sent |
//!
//! A malformed `grpc-timeout` is `INTERNAL` as in grpc-go: the header is
//! set by the peer's gRPC library, not by the application, so a bad one is a
//! bug there rather than a bad argument. Both sides keep the inner
//! service's error type and body error type: an `Err` is always the inner
//! transport's.
//!
//! # Differences from `tower::timeout`
//!
//! - The time limit comes from each request (`grpc-timeout`, an extension,
//!   the caller's own deadline), not only from the layer.
//! - Expiry is a gRPC answer, not an `Elapsed` error, on the server side.
//! - It covers the response body, not just the head: a streaming response
//!   is cut at the deadline.
//! - The deadline reaches the handler (extension) and the calls it makes
//!   (propagation).
//!
//! Timers are tokio's, kept inside the futures and bodies, so dropping them
//! cancels the timer; the layers need a tokio runtime with the time driver.
//!
//! # In other libraries' stacks
//!
//! Both layers work in any tower stack: the server layer inside a tonic `Server` or on an axum `Router`, the client layer over a tonic `Channel`, whose own `grpc-timeout` timer it beats. Tested over real HTTP/2 in `tests/tonic.rs` and `tests/axum.rs`.
//!
//! ```no_run
//! # async fn stacks() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! use std::time::Duration;
//! use grpc_layers::deadline::{ClientDeadlineLayer, ServerDeadlineLayer};
//! use tower::ServiceBuilder;
//!
//! // In a tonic server's stack, before its services:
//! let server = tonic::transport::Server::builder()
//!     .layer(ServerDeadlineLayer::new().default_timeout(Duration::from_secs(5)))
//!     .add_routes(tonic::service::Routes::default());
//! # let serving = server.serve("127.0.0.1:50051".parse()?);
//! // Over a tonic Channel, under tonic's client:
//! let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:50051").connect_lazy();
//! let client = ServiceBuilder::new()
//!     .layer(ClientDeadlineLayer::new().default_timeout(Duration::from_secs(1)))
//!     .service(channel);
//! let mut grpc = tonic::client::Grpc::new(client);
//! grpc.ready().await?;
//! // On an axum Router, around its gRPC routes (and any others):
//! let app: axum::Router = axum::Router::new()
//!     .route_service("/pkg.Service/Method", grpc_server::Router::new())
//!     .layer(ServerDeadlineLayer::new());
//! # let _ = (serving, app);
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flag
//!
//! This module is behind the `deadline` feature of `grpc-layers`.

mod body;
mod error;
pub mod future;
mod layer;
mod propagate;
mod service;
#[cfg(test)]
mod tests;

pub use body::DeadlineBody;
pub use grpc_core::deadline::Deadline;
pub use layer::{ClientDeadlineLayer, ServerDeadlineLayer};
pub use propagate::{current, inherit, scope, Scoped};
pub use service::{ClientDeadline, ServerDeadline};
