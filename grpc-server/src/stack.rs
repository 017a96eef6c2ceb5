//! The default server stack: a plain [`ServiceBuilder`] chain of layers
//! from `grpc-layers`, to put around a [`Router`](crate::Router).
//!
//! ```no_run
//! use grpc_server::{stack, Router, Server};
//!
//! # async fn run() -> std::io::Result<()> {
//! let router = Router::new(); // .add_service(..)
//! let service = stack::default_layers().service(router);
//! Server::new().serve("127.0.0.1:50051".parse().unwrap(), service).await
//! # }
//! ```
//!
//! # What is in it, outside in
//!
//! | layer | why it sits there |
//! |---|---|
//! | [`ServerStatusLayer`] | outermost, so an error or a panic from any layer inside becomes a trailers-only status and the stack's error type is `Infallible` |
//! | [`ServerDeadlineLayer`] | enforces `grpc-timeout` over everything inside it, the handler and its response stream included |
//! | [`ServerLimitsLayer`] | refuses oversized messages on the wire, and tells the layers inside (decompression, handler adapters) the call's limits |
//! | [`ServerCompressionLayer`] | innermost, next to the handlers: decompresses requests (bounded by the limits above) and compresses responses the client can read |
//!
//! # Telemetry
//!
//! `grpc_layers::otel::ServerTelemetryLayer` (feature `otel` of
//! `grpc-layers`) is not in the default chain: it needs an OpenTelemetry
//! SDK the application sets up. Add it **outermost**, outside the status
//! layer: there it sees every call as the client does — the statuses the
//! layers inside answer with (deadline, limits, a handler's panic turned
//! `INTERNAL`), a stream the client resets — its durations cover the whole
//! stack, and, being outside compression, it counts message sizes as they
//! are on the wire (what gRFC A66 records). The handler and its response
//! stream then run with the call's span as the current context.
//!
//! ```
//! use grpc_layers::compression::ServerCompressionLayer;
//! use grpc_layers::deadline::ServerDeadlineLayer;
//! use grpc_layers::limits::ServerLimitsLayer;
//! use grpc_layers::otel::ServerTelemetryLayer;
//! use grpc_layers::status::ServerStatusLayer;
//! use tower::ServiceBuilder;
//!
//! let layers = ServiceBuilder::new()
//!     .layer(ServerTelemetryLayer::new()) // outermost
//!     .layer(ServerStatusLayer::new())
//!     .layer(ServerDeadlineLayer::new())
//!     .layer(ServerLimitsLayer::new())
//!     .layer(ServerCompressionLayer::new());
//! let service = layers.service(grpc_server::Router::new());
//! # let _ = service;
//! ```
//!
//! # Where an auth layer goes
//!
//! Authentication is not in the default chain: it needs your credentials.
//! Put `grpc_layers::auth::ServerAuthLayer` (feature `auth` of
//! `grpc-layers`) after [`ServerDeadlineLayer`] and before
//! [`ServerLimitsLayer`]: inside the status layer, so its refusals are
//! ordinary responses; inside the deadline layer, so a slow authorizer
//! counts against the call's deadline; outside limits and compression, so
//! a refused call costs no more than its head (its body is never read).
//!
//! # Where a load-shed layer goes
//!
//! Caps on calls in flight are the operator's choice, so
//! `grpc_layers::load_shed::ServerLoadShedLayer` (feature `load-shed` of
//! `grpc-layers`) is not in the default chain either. Put it just inside
//! [`ServerStatusLayer`], outside everything else (the deadline and auth
//! layers included): a refused call then costs only the refusal, its
//! answer passes the status layer as the response it already is, and the
//! `DEADLINE_EXCEEDED` of a call the deadline layer ends is seen by an
//! adaptive limit as the overload it signals.
//!
//! Nothing is hidden: [`default_layers`] is exactly this chain, so to
//! reorder, drop, replace or insert a layer, write the chain out yourself:
//!
//! ```
//! use grpc_layers::compression::{Encoding, ServerCompressionLayer};
//! use grpc_layers::deadline::ServerDeadlineLayer;
//! use grpc_layers::limits::ServerLimitsLayer;
//! use grpc_layers::status::ServerStatusLayer;
//! use tower::ServiceBuilder;
//!
//! let layers = ServiceBuilder::new()
//!     .layer(ServerStatusLayer::new())
//!     .layer(ServerDeadlineLayer::new())
//!     // ... your own layer here: authentication (ServerAuthLayer), a concurrency limit ...
//!     .layer(ServerLimitsLayer::new().max_receive_message_size(16 << 20))
//!     .layer(ServerCompressionLayer::new().send_compressed(Encoding::Gzip));
//! let service = layers.service(grpc_server::Router::new());
//! # let _ = service;
//! ```
//!
//! Feature `default-stack` (on by default).

use grpc_layers::compression::ServerCompressionLayer;
use grpc_layers::deadline::ServerDeadlineLayer;
use grpc_layers::limits::ServerLimitsLayer;
use grpc_layers::status::ServerStatusLayer;
use tower::layer::util::{Identity, Stack};
use tower::ServiceBuilder;

/// The type of [`default_layers`]: innermost layer first, as tower nests them.
pub type DefaultLayers = Stack<
    ServerCompressionLayer,
    Stack<ServerLimitsLayer, Stack<ServerDeadlineLayer, Stack<ServerStatusLayer, Identity>>>,
>;

/// The default server stack; see the [module docs](self).
///
/// Compression: requests in every algorithm of the build are accepted
/// (gzip with grpc-server's own features); responses go out
/// uncompressed unless configured
/// ([`ServerCompressionLayer::send_compressed`]).
/// Limits: 4 MiB received, `i32::MAX` sent.
pub fn default_layers() -> ServiceBuilder<DefaultLayers> {
    ServiceBuilder::new()
        .layer(ServerStatusLayer::new())
        .layer(ServerDeadlineLayer::new())
        .layer(ServerLimitsLayer::new())
        .layer(ServerCompressionLayer::new())
}
