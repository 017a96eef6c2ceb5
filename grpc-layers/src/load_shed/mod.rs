//! Load shedding: caps on the calls a server has in flight — over the
//! whole server, and optionally per service and per method — with every
//! call over a cap refused at once, never queued.
//!
//! A server past its capacity gets slower for every call, and clients time
//! out and retry into the queue. Refusing the excess straight away keeps
//! the admitted calls fast and tells the others, cheaply, to back off:
//! the refusal is a trailers-only `RESOURCE_EXHAUSTED` (or `UNAVAILABLE`)
//! with a `grpc-retry-pushback-ms` header, built before the request body is
//! read and without calling the inner service.
//!
//! ```
//! use std::convert::Infallible;
//!
//! use grpc_core::codec::framing::encode_raw;
//! use grpc_core::headers::APPLICATION_GRPC;
//! use grpc_core::{GrpcBody, Status};
//! use grpc_layers::load_shed::ServerLoadShedLayer;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let layer = ServerLoadShedLayer::new()
//!     .max_in_flight(100)
//!     .method_limit("/example.Reports/Generate", 1);
//! let stats = layer.stats();
//! let server = ServiceBuilder::new()
//!     .layer(layer)
//!     .service_fn(|_request: http::Request<GrpcBody>| async move {
//!         let body = GrpcBody::once(encode_raw(b"report", false), Some(Status::ok().to_headers()));
//!         let mut response = http::Response::new(body);
//!         response.headers_mut().insert("content-type", APPLICATION_GRPC);
//!         Ok::<_, Infallible>(response)
//!     });
//! let generate = || {
//!     http::Request::post("/example.Reports/Generate")
//!         .header("content-type", "application/grpc")
//!         .body(GrpcBody::empty())
//! };
//!
//! // The first call is admitted; until its response body ends or is
//! // dropped it holds the method's only place.
//! let first = server.clone().oneshot(generate()?).await?;
//! assert_eq!(stats.in_flight(), 1);
//!
//! // The second is refused at once: trailers-only, with a pushback.
//! let second = server.clone().oneshot(generate()?).await?;
//! assert_eq!(second.headers()["grpc-status"], "8"); // RESOURCE_EXHAUSTED
//! assert_eq!(second.headers()["grpc-retry-pushback-ms"], "100");
//! assert_eq!((stats.served(), stats.shed()), (1, 1));
//!
//! drop(first);
//! assert_eq!(stats.in_flight(), 0);
//! # Ok(())
//! # }
//! ```
//!
//! # Where it goes in the stack
//!
//! The order of the whole stack is stated once, in `grpc_server::stack`.
//! This layer goes just inside the status layer and outside everything
//! else, the deadline layer included:
//!
//! - a refused call then costs as little as it can: no `grpc-timeout`
//!   parsed, no timer, no limits or decompression set up;
//! - the caps count the whole call as the layers inside do it, and a
//!   `DEADLINE_EXCEEDED` the deadline layer answers is seen here, where an
//!   [adaptive limit](#adaptive-limits) reads it as a sign of overload;
//! - the status layer outside still turns errors and panics from inside
//!   into statuses (a panic drops this layer's future, which frees the
//!   call's places), and its refusals pass through it as the responses
//!   they already are.
//!
//! It is not in `grpc_server::stack::default_layers`: caps are the
//! operator's choice.
//!
//! # Client vs server
//!
//! Server only. A client that wants to bound its own calls in flight has
//! `tower::limit::ConcurrencyLimit`, which waits for a place instead of
//! failing; a client that honours gRFC A6 waits `grpc-retry-pushback-ms`
//! before retrying a refused call.
//!
//! # Caps
//!
//! - **Global**: [`max_in_flight`](ServerLoadShedLayer::max_in_flight),
//!   default 1000.
//! - **Per service**: [`service_limit`](ServerLoadShedLayer::service_limit),
//!   `"package.Service"`; none by default.
//! - **Per method**: [`method_limit`](ServerLoadShedLayer::method_limit),
//!   `"/package.Service/Method"`; none by default.
//!
//! A call counts against every cap that applies to it (by its request
//! path) and is refused if any of them is full; the places it took are
//! given back at once. It holds its places from the moment the layer
//! admits it until its response body ends (trailers, end, error) or is
//! dropped — not merely until the response head, so a long server stream
//! holds its place while it streams. A trailers-only response ends the call
//! with its head. A dropped response future or body frees the places too:
//! nothing leaks. `poll_ready` is the inner service's; the caps are not
//! waited on, they are decided in `call`.
//!
//! A layer, its clones and every service they make share the caps: one
//! layer around the router caps the calls of every connection together.
//!
//! # Adaptive limits
//!
//! Off by default. With [`adaptive`](ServerLoadShedLayer::adaptive) the
//! global cap follows a limiter fed one [`Sample`] per finished call: its
//! latency to the response head, the calls in flight when it was admitted,
//! and whether it ended with `RESOURCE_EXHAUSTED` or `DEADLINE_EXCEEDED`.
//! Two limiters come with the module, each with documented defaults and
//! bounds:
//!
//! - [`Aimd`]: +1 per window of good calls, × 0.9 on a slow call or an
//!   overload status;
//! - [`Gradient`]: the limit follows the ratio of long-term to current
//!   latency, as Netflix's concurrency-limits `Gradient2Limit`.
//!
//! [`AdaptiveLimit`] is the trait to write another one.
//!
//! # Stats
//!
//! [`ServerLoadShedLayer::stats`] gives a [`LoadShedStats`], a cheap
//! handle (an `Arc`) to the counters: calls in flight, admitted
//! (`served`), refused (`shed`), the current limit, and each service and
//! method cap's own counters ([`ScopeStats`]).
//!
//! # Errors
//!
//! | what | answer |
//! |---|---|
//! | a cap is full | trailers-only `RESOURCE_EXHAUSTED` (or `UNAVAILABLE`, [`shed_code`](ServerLoadShedLayer::shed_code)), `grpc-message` naming the cap ("load shed: /pkg.Service/Method is at its limit of 5 calls in flight; retry after 100 ms"), `grpc-retry-pushback-ms: 100` unless [changed](ServerLoadShedLayer::retry_pushback) or left out with `retry_pushback(None)` |
//!
//! The inner service's errors pass through unchanged.
//!
//! # Cost
//!
//! The answer to a refused call is built when the layer is configured; a
//! refusal costs a failed compare-and-swap, two counter increments and a
//! clone of that header map (its two allocations are the response's own).
//! An admitted call costs a compare-and-swap per cap, an `Arc` clone, and
//! with per-service or per-method caps a hash lookup of its path; with an
//! adaptive limit, two clock reads and a locked limiter update when it
//! ends.
//!
//! # In other libraries' stacks
//!
//! The layer works in any tower stack: inside a tonic `Server` or on an axum `Router`. Tested over real HTTP/2 in `tests/tonic.rs` and `tests/axum.rs`.
//!
//! ```no_run
//! # async fn stacks() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! use grpc_layers::load_shed::ServerLoadShedLayer;
//! use tower::ServiceBuilder;
//!
//! // In a tonic server's stack, before its services:
//! let server = tonic::transport::Server::builder()
//!     .layer(ServerLoadShedLayer::new().max_in_flight(500))
//!     .add_routes(tonic::service::Routes::default());
//! # let serving = server.serve("127.0.0.1:50051".parse()?);
//! // On an axum Router, around its gRPC routes (and any others):
//! let app: axum::Router = axum::Router::new()
//!     .route_service("/pkg.Service/Method", grpc_server::Router::new())
//!     .layer(ServerLoadShedLayer::new());
//! # let _ = (serving, app);
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flag
//!
//! This module is behind the `load-shed` feature of `grpc-layers`.

mod adaptive;
mod body;
pub mod future;
mod layer;
mod service;
mod state;
#[cfg(test)]
mod tests;

pub use adaptive::{AdaptiveLimit, Aimd, Gradient, Sample};
pub use body::LoadShedBody;
pub use layer::{ServerLoadShedLayer, ShedCode};
pub use service::ServerLoadShed;
pub use state::{LoadShedStats, ScopeStats};
