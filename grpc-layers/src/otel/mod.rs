//! OpenTelemetry tracing and metrics, with W3C trace context propagation:
//! one layer per side, through the `opentelemetry` API crate only (bring
//! your own SDK and exporter).
//!
//! ```
//! use std::convert::Infallible;
//!
//! use grpc_core::{GrpcBody, Status};
//! use grpc_layers::otel::ServerTelemetryLayer;
//! use http_body_util::BodyExt;
//! use opentelemetry::trace::SpanKind;
//! use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! // Any SDK setup; here spans are kept in memory to look at
//! // (`InMemorySpanExporter` needs opentelemetry_sdk's `testing` feature; an
//! // application exports with opentelemetry-otlp or opentelemetry-stdout).
//! // W3C trace context, so client and server spans join one trace: the
//! // OpenTelemetry default (`OTEL_PROPAGATORS=tracecontext,baggage`), which
//! // a program sets as the global propagator on both sides.
//! opentelemetry::global::set_text_map_propagator(
//!     opentelemetry_sdk::propagation::TraceContextPropagator::new(),
//! );
//! let exporter = InMemorySpanExporter::default();
//! let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
//!
//! let server = ServiceBuilder::new()
//!     .layer(ServerTelemetryLayer::new().tracer_provider(&provider))
//!     .service_fn(|_request: http::Request<GrpcBody>| async {
//!         let mut response = http::Response::new(GrpcBody::trailers(
//!             Status::not_found("no such user").to_headers(),
//!         ));
//!         response.headers_mut().insert("content-type", grpc_core::headers::APPLICATION_GRPC);
//!         Ok::<_, Infallible>(response)
//!     });
//! let request = http::Request::builder()
//!     .uri("/users.Users/Get")
//!     .header("content-type", "application/grpc")
//!     .body(GrpcBody::empty())?;
//! let response = server.oneshot(request).await?;
//! // The call ends when its status does: here, in the trailers.
//! response.into_body().collect().await?;
//!
//! let spans = exporter.get_finished_spans()?;
//! assert_eq!(spans[0].name, "users.Users/Get");
//! assert_eq!(spans[0].span_kind, SpanKind::Server);
//! let attribute = |key: &str| {
//!     spans[0].attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.to_string())
//! };
//! assert_eq!(attribute("rpc.system.name").as_deref(), Some("grpc"));
//! assert_eq!(attribute("rpc.method").as_deref(), Some("users.Users/Get"));
//! assert_eq!(attribute("rpc.response.status_code").as_deref(), Some("NOT_FOUND"));
//! assert_eq!(attribute("error.type"), None); // not a server error
//! # Ok(())
//! # }
//! ```
//!
//! # What is recorded
//!
//! The names are exactly those of OpenTelemetry's semantic conventions
//! **v1.44.0** (RPC spans, RPC metrics, gRPC) and, for gRPC's own metrics,
//! of gRFC **A66**.
//!
//! **Spans.** One per call, named `package.Service/Method`, kind `SERVER`
//! or `CLIENT`, with `rpc.system.name = "grpc"`, `rpc.method` (the full
//! method name), `rpc.response.status_code` (the code's name, e.g.
//! `DEADLINE_EXCEEDED`), and `error.type` (the same name) when the call
//! failed. A method the server does not serve is recorded as
//! `rpc.method = "_OTHER"` with `rpc.method_original` and the span renamed
//! `grpc`; so is a path that is not `/Service/Method`. The layer knows
//! which methods the server serves from
//! [`known_methods`](ServerTelemetryLayer::known_methods) when given
//! (under any server: `Router::methods()` lists grpc-server's), else from
//! grpc-server's router, which marks its answer to an unknown method with
//! [`UnknownMethod`](grpc_core::method::UnknownMethod).
//!
//! | attribute | server | client |
//! |---|---|---|
//! | `server.address`, `server.port` | [`server_address`](ServerTelemetryLayer::server_address), else left out | [`target`](ClientTelemetryLayer::target), else the request URI's authority |
//! | `network.peer.address`, `network.peer.port` | the peer: grpc-server's [`PeerAddr`](grpc_transport::peer::PeerAddr) in the request extensions, or what [`peer_addr`](ServerTelemetryLayer::peer_addr) reads there (axum's `ConnectInfo`, tonic's `TcpConnectInfo`) | — |
//! | `rpc.request.metadata.<key>`, `rpc.response.metadata.<key>` | only keys listed with [`request_metadata`](ServerTelemetryLayer::request_metadata) / [`response_metadata`](ServerTelemetryLayer::response_metadata) | the same |
//!
//! The span status is `Error` (with the status message) for a failed
//! call: on the server for `UNKNOWN`, `DEADLINE_EXCEEDED`,
//! `UNIMPLEMENTED`, `INTERNAL`, `UNAVAILABLE` and `DATA_LOSS` (the other
//! codes are the client's errors, not the server's); on the client for
//! every code but `OK`. These codes are also the only values of
//! `error.type`. With [`message_events`](ServerTelemetryLayer::message_events)
//! each message adds an event as gRFC A72 names them (`Outbound message` /
//! `Inbound message` with `sequence-number`, and `message-size` or, for a
//! compressed message, `message-size-compressed`: the layer sees messages
//! as they are on the wire).
//!
//! **Metrics.** `rpc.server.call.duration` / `rpc.client.call.duration`
//! (histograms in `s`, the conventions' buckets, attributes
//! `rpc.system.name`, `rpc.method`, `rpc.response.status_code`,
//! `error.type`, and on the client `server.address` / `server.port`).
//! With [`grpc_metrics(true)`](ServerTelemetryLayer::grpc_metrics), also
//! A66's instruments with its names, units, buckets and attributes
//! (`grpc.method`, `grpc.status`, `grpc.target`; an unknown method is
//! `other`): `grpc.server.call.started`, `grpc.server.call.duration`,
//! `grpc.server.call.sent_total_compressed_message_size`,
//! `grpc.server.call.rcvd_total_compressed_message_size`, and
//! `grpc.client.attempt.started`, `grpc.client.attempt.duration`,
//! `grpc.client.attempt.sent_total_compressed_message_size`,
//! `grpc.client.attempt.rcvd_total_compressed_message_size`,
//! `grpc.client.call.duration`. Message sizes are payload bytes as on the
//! wire (compressed, without the 5-byte prefixes), read from the bodies'
//! message prefixes without copying. A client call is one attempt for
//! now; the recording of a call and of an attempt are kept apart in the
//! code, so that a retry layer can later record each attempt inside it
//! and the call outside. A server method the router has not yet answered
//! for counts in `grpc.server.call.started` once it has (a name a client
//! made up never becomes a `grpc.method`).
//!
//! # The status recorded is the final one
//!
//! A call ends when its status is known, whenever that is: in a
//! trailers-only head, in the trailers at the end of a long stream, as an
//! error of the inner service or of the response body (a reset stream:
//! its code comes from `grpc_core::status::mapping`, read like the status
//! layer reads errors), `INTERNAL` for a body that ends without
//! `grpc-status`, the client deadline layer's `DEADLINE_EXCEEDED`. A call
//! whose response future or body is dropped first — the client gave up,
//! the peer reset the stream — ends `CANCELLED`: no span is left open.
//!
//! # Context propagation
//!
//! The client layer makes its span a child of the current OpenTelemetry
//! context and writes the span's context into the request headers with
//! the global propagator
//! ([`global::set_text_map_propagator`](opentelemetry::global::set_text_map_propagator);
//! for W3C `traceparent` / `tracestate`, the SDK's `TraceContextPropagator`).
//! Without one, the API's global propagator is a no-op and client and
//! server spans come out as separate traces: set it on both sides, as
//! OpenTelemetry's `OTEL_PROPAGATORS` default (`tracecontext,baggage`)
//! says. The examples' `telemetry` module does this from the environment.
//! The server layer reads the context from the headers with the same
//! propagator and makes its span a child of it. It polls the inner service
//! — its `call`, its response future, and each poll of its response body —
//! with the server span's context as the current one, so spans a handler
//! makes (with `opentelemetry`, or with `tracing` through
//! `tracing-opentelemetry`) are children of the call's span, and calls the
//! handler makes through a [`ClientTelemetryLayer`] carry the same trace.
//! The context follows the polls of the handler, not the tasks it spawns:
//! use [`FutureExt::with_context`](opentelemetry::context::FutureExt) for
//! those.
//!
//! # Where it goes in the stack
//!
//! The order of the whole stack is stated once, in `grpc_server::stack`
//! and `grpc_client::stack`. On both sides this layer goes outermost, so
//! that it sees the call as the peer does — every status the layers
//! inside produce, and message sizes on the wire (it must be outside
//! compression) — and its durations cover the whole stack.
//!
//! # In other libraries' stacks
//!
//! The client layer hands its inner service the request body it was
//! given, of the caller's type, so it wraps a tonic `Channel` (which takes
//! only tonic's body) as it is. It counts the messages of a request body it
//! can rewrap as that same type: grpc-core's `GrpcBody`, what grpc-client's
//! calls and generated clients send. Under tonic's client the request's
//! size (A66's `sent_total_compressed_message_size`) is then not recorded,
//! rather than recorded as 0; everything else is. Give the layer the
//! [`target`](ClientTelemetryLayer::target) there: tonic's `Channel` fills
//! in the URI's authority only below the layer.
//!
//! The server layer works inside a tonic `Server` and on an axum `Router`
//! (whose route services take any body); read the peer with
//! [`peer_addr`](ServerTelemetryLayer::peer_addr) and give the served
//! methods with [`known_methods`](ServerTelemetryLayer::known_methods)
//! there. `tests/tonic.rs` and `tests/axum.rs` show both.
//!
//! ```no_run
//! # async fn stacks() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! use grpc_layers::otel::{ClientTelemetryLayer, ServerTelemetryLayer};
//! use tonic::transport::server::TcpConnectInfo;
//! use tower::ServiceBuilder;
//!
//! // In a tonic server's stack, before its services:
//! let server = tonic::transport::Server::builder()
//!     .layer(ServerTelemetryLayer::new()
//!         .peer_addr(|ext| ext.get::<TcpConnectInfo>().and_then(|i| i.remote_addr())))
//!     .add_routes(tonic::service::Routes::default());
//! # let serving = server.serve("127.0.0.1:50051".parse()?);
//! // Over a tonic Channel, under tonic's client:
//! let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:50051").connect_lazy();
//! let client = ServiceBuilder::new()
//!     .layer(ClientTelemetryLayer::new().target("http://127.0.0.1:50051"))
//!     .service(channel);
//! let mut grpc = tonic::client::Grpc::new(client);
//! grpc.ready().await?;
//! // On an axum Router, around its gRPC routes (and any others):
//! let app: axum::Router = axum::Router::new()
//!     .route_service("/pkg.Service/Method", grpc_server::Router::new())
//!     .layer(ServerTelemetryLayer::new());
//! # let _ = (serving, app);
//! # Ok(())
//! # }
//! ```
//!
//! # Cost
//!
//! Instruments and tracer are made once per layer, when it is first
//! applied, and so is the decision whether anything can record: the
//! tracer can unless it is the API's no-op one (it gives a span its
//! parent's context and never records), the meter provider can unless it
//! is the API's no-op one (`NoopMeterProvider`; taken as any provider of
//! size zero, a provider that records holds its pipeline). **The decision
//! is made when the layer is applied: install the SDK first** (or pass
//! providers to the layer). When nothing can record, a call costs close
//! to nothing: a request that carries a trace context (one of the global
//! propagator's fields) has it made current around the polls of the
//! handler and its response body, so that the calls the handler makes
//! pass the trace on as before; any other request passes straight through.
//! When something records, attributes past those a sampler sees at the
//! span's start are built only for a span that records, metric
//! attributes only for a meter that records, and each method's name is
//! interned once per process (for at most 1024 methods; see the `method`
//! module source). Non-gRPC requests pass untouched.
//!
//! # Versions
//!
//! The layers use the `opentelemetry` API crate, re-exported as
//! [`grpc_layers::opentelemetry`](crate::opentelemetry). An SDK, exporter
//! or bridge must be built on the same API version, or rustc reports
//! "multiple different versions of crate `opentelemetry`":
//!
//! | grpc-layers | opentelemetry | opentelemetry_sdk | opentelemetry-otlp | tracing-opentelemetry |
//! |---|---|---|---|---|
//! | 0.1 | 0.33 | 0.33 | 0.33 | 0.34 |
//!
//! # Providers
//!
//! By default the layers use the global tracer and meter providers as
//! they are when the layer is first applied (install the SDK first), and
//! the global propagator per call. [`tracer_provider`](ServerTelemetryLayer::tracer_provider)
//! and [`meter_provider`](ServerTelemetryLayer::meter_provider) give a
//! layer providers of its own (A66 asks that its metrics use an explicit
//! meter provider; here they follow the same default as the rest).
//!
//! # Errors
//!
//! The layers produce no status of their own. The server side keeps the
//! inner service's error type; the client side's error is a
//! [`BoxError`](grpc_core::BoxError), the inner error unchanged. Response
//! bodies' errors are passed on boxed.
//!
//! # Feature flag
//!
//! This module is behind the `otel` feature of `grpc-layers`.

mod body;
mod call;
pub mod future;
mod layer;
mod method;
mod metrics;
mod propagation;
mod semconv;
mod service;
mod target;
#[cfg(test)]
mod tests;

pub use body::TelemetryBody;
pub use layer::{ClientTelemetryLayer, ServerTelemetryLayer};
pub use service::{ClientTelemetry, ServerTelemetry};

/// The side of the call a layer records: grpc-core's one `Side`.
pub(crate) use grpc_core::status::mapping::Side;
