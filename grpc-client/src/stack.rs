//! The default client stack: a plain [`ServiceBuilder`] chain of layers
//! from `grpc-layers`, to put around a [`Channel`](crate::Channel).
//!
//! ```no_run
//! use grpc_client::{stack, Endpoint, Grpc};
//!
//! let channel = Endpoint::from_static("http://127.0.0.1:50051").connect_lazy();
//! let service = stack::default_layers().service(channel);
//! let client = Grpc::new(service); // or a generated client: FooClient::new(service)
//! # let _ = client;
//! ```
//!
//! # What is in it, outside in
//!
//! | layer | why it sits there |
//! |---|---|
//! | [`ClientStatusLayer`] | outermost: every error of the layers inside (deadline, limits, your own) becomes a [`Status`](grpc_core::Status), the cause kept as its `source()`; the channel's own errors are statuses already |
//! | [`ClientDeadlineLayer`] | sends `grpc-timeout` for a call's deadline (its `Deadline` extension, or one propagated from the handler making the call) and enforces it locally |
//! | [`ClientLimitsLayer`] | refuses oversized messages on the wire, and tells decompression the call's limits |
//! | [`ClientCompressionLayer`] | next to the channel: decompresses responses (bounded by the limits above), compresses requests when configured |
//!
//! # Telemetry
//!
//! `grpc_layers::otel::ClientTelemetryLayer` (feature `otel` of
//! `grpc-layers`) is not in the default chain: it needs an OpenTelemetry
//! SDK the application sets up. Add it **outermost**, outside the status
//! layer, right inside the typed calls: it reads the current context and
//! writes `traceparent` into the request on the caller's task, its
//! duration is the call's as the application sees it (gRFC A66's
//! `grpc.client.call.duration`), it records the deadline layer's
//! `DEADLINE_EXCEEDED` and every other status, and, outside compression,
//! the message sizes on the wire. Give it the channel's target
//! ([`target`](grpc_layers::otel::ClientTelemetryLayer::target)): the
//! requests it sees carry only a path, the channel adds the authority.
//! A retry layer (to come) will go inside it, with per-attempt recording
//! inside the retries.
//!
//! ```
//! use grpc_client::{Endpoint, Grpc};
//! use grpc_layers::compression::ClientCompressionLayer;
//! use grpc_layers::deadline::ClientDeadlineLayer;
//! use grpc_layers::limits::ClientLimitsLayer;
//! use grpc_layers::otel::ClientTelemetryLayer;
//! use grpc_layers::status::ClientStatusLayer;
//! use tower::ServiceBuilder;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let layers = ServiceBuilder::new()
//!     .layer(ClientTelemetryLayer::new().target("dns:///api.example.com:443")) // outermost
//!     .layer(ClientStatusLayer::new().mapper(grpc_client::status::mapper()))
//!     .layer(ClientDeadlineLayer::new())
//!     .layer(ClientLimitsLayer::new())
//!     .layer(ClientCompressionLayer::new());
//! let channel = Endpoint::from_static("http://127.0.0.1:50051").connect_lazy();
//! let client = Grpc::new(layers.service(channel));
//! # let _ = client;
//! # }
//! ```
//!
//! To change anything, write the chain out with your own layers and
//! settings; [`default_layers`] is exactly the chain above.
//!
//! # Where an auth layer goes
//!
//! Credentials are not in the default chain: they are yours to give. Put
//! `grpc_layers::auth::ClientAuthLayer` (feature `auth` of `grpc-layers`)
//! after [`ClientDeadlineLayer`] and before [`ClientLimitsLayer`]: inside
//! the deadline layer, which bounds a wait for a token refresh, and inside
//! any retry layer, so each attempt gets a fresh token. The layer holds
//! each call's credentials back
//! ([`HeldCredentials`](grpc_core::security::HeldCredentials)), and the
//! [`Channel`](crate::Channel) at the end of the chain sends them only when
//! its endpoint is TLS, refusing the call otherwise (see
//! [`channel`](crate::channel)).
//!
//! ```
//! use grpc_client::Endpoint;
//! use grpc_layers::auth::ClientAuthLayer;
//! use grpc_layers::compression::ClientCompressionLayer;
//! use grpc_layers::deadline::ClientDeadlineLayer;
//! use grpc_layers::limits::ClientLimitsLayer;
//! use grpc_layers::status::ClientStatusLayer;
//! use tower::ServiceBuilder;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let channel = Endpoint::from_static("https://api.example.com").connect_lazy();
//! let service = ServiceBuilder::new()
//!     .layer(ClientStatusLayer::new().mapper(grpc_client::status::mapper()))
//!     .layer(ClientDeadlineLayer::new())
//!     .layer(ClientAuthLayer::bearer("token")?)
//!     .layer(ClientLimitsLayer::new())
//!     .layer(ClientCompressionLayer::new())
//!     .service(channel);
//! # let _ = service;
//! # Ok(())
//! # }
//! ```
//!
//! Feature `default-stack` (on by default).

use grpc_layers::compression::ClientCompressionLayer;
use grpc_layers::deadline::ClientDeadlineLayer;
use grpc_layers::limits::ClientLimitsLayer;
use grpc_layers::status::{ClientStatusLayer, DefaultMapper};
use tower::layer::util::{Identity, Stack};
use tower::ServiceBuilder;

/// The type of [`default_layers`]: innermost layer first, as tower nests them.
pub type DefaultLayers = Stack<
    ClientCompressionLayer,
    Stack<
        ClientLimitsLayer,
        Stack<ClientDeadlineLayer, Stack<ClientStatusLayer<DefaultMapper>, Identity>>,
    >,
>;

/// The default client stack; see the [module docs](self).
///
/// The status mapper is [`status::mapper`](crate::status::mapper), which
/// knows this crate's connection errors.
pub fn default_layers() -> ServiceBuilder<DefaultLayers> {
    ServiceBuilder::new()
        .layer(ClientStatusLayer::new().mapper(crate::status::mapper()))
        .layer(ClientDeadlineLayer::new())
        .layer(ClientLimitsLayer::new())
        .layer(ClientCompressionLayer::new())
}
