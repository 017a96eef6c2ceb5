//! [`ServerTelemetryLayer`] and [`ClientTelemetryLayer`], and what their
//! services share.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock, RwLock};

use grpc_core::method::{MethodMap, MethodName};
use grpc_transport::peer::PeerAddr;
use http::uri::Authority;
use http::{Extensions, HeaderName};
use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::metrics::{Meter, MeterProvider};
use opentelemetry::trace::{
    Span, SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer,
    TracerProvider,
};
use opentelemetry::{Context, InstrumentationScope, Key, StringValue, Value};
use tower_layer::Layer;

use super::metrics::Instruments;
use super::semconv::{REQUEST_METADATA, RESPONSE_METADATA};
use super::service::{ClientTelemetry, ServerTelemetry};
use super::target::Target;
use super::Side;

/// The instrumentation scope of every tracer and meter the layers make.
fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("grpc-layers")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

type MakeTracer = Arc<dyn Fn() -> BoxedTracer + Send + Sync>;

/// What the builder methods set.
#[derive(Clone, Default)]
pub(crate) struct Config {
    tracer: Option<MakeTracer>,
    /// The meter, and whether its provider can record at all.
    meter: Option<(Meter, bool)>,
    grpc_metrics: bool,
    message_events: bool,
    request_metadata: Vec<HeaderName>,
    response_metadata: Vec<HeaderName>,
    /// Server: its own address; client: the channel's target.
    target: Option<Target>,
    /// Server: where the peer's address is read from.
    peer: Option<PeerLookup>,
    /// Server: the methods it serves, if given; the others are `_OTHER`.
    known: Option<Arc<MethodMap<()>>>,
}

/// Reads a call's peer address from its request extensions.
pub(crate) type PeerLookup = Arc<dyn Fn(&Extensions) -> Option<SocketAddr> + Send + Sync>;

/// The default lookup: the [`PeerAddr`] grpc-server inserts.
fn peer_addr(extensions: &Extensions) -> Option<SocketAddr> {
    extensions.get::<PeerAddr>().map(|peer| peer.0)
}

/// A metadata key recorded as an attribute.
#[derive(Debug)]
pub(crate) struct MetadataKey {
    pub(crate) header: HeaderName,
    pub(crate) attribute: Key,
}

/// The server (client) an endpoint's attributes name.
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    pub(crate) address: Value,
    pub(crate) port: Option<i64>,
    /// A66's `grpc.target` (client only).
    pub(crate) target: Value,
}

impl Endpoint {
    fn of(target: Target) -> Endpoint {
        Endpoint {
            address: Value::String(StringValue::from(target.address)),
            port: target.port.map(i64::from),
            target: Value::String(StringValue::from(target.canonical)),
        }
    }
}

/// What every call of a layer's services reads: made once per layer.
pub(crate) struct Shared {
    pub(crate) side: Side,
    /// Whether the tracer or the meter can record anything: when neither
    /// can, a call only carries the context its request propagates.
    pub(crate) active: bool,
    /// Whether the meter can record (else no metric attribute is built).
    pub(crate) metering: bool,
    pub(crate) tracer: BoxedTracer,
    pub(crate) instruments: Instruments,
    pub(crate) message_events: bool,
    pub(crate) request_metadata: Box<[MetadataKey]>,
    pub(crate) response_metadata: Box<[MetadataKey]>,
    pub(crate) endpoint: Option<Endpoint>,
    /// Server: where the peer's address is read from.
    pub(crate) peer: PeerLookup,
    /// Server: the methods it serves, if given.
    pub(crate) known: Option<Arc<MethodMap<()>>>,
    /// Client without a configured target: the last authority seen.
    last_authority: RwLock<Option<(Authority, Endpoint)>>,
}

fn metadata_keys(prefix: &str, headers: &[HeaderName]) -> Box<[MetadataKey]> {
    headers
        .iter()
        .map(|header| MetadataKey {
            header: header.clone(),
            attribute: Key::from(format!("{prefix}{}", header.as_str())),
        })
        .collect()
}

impl Shared {
    fn new(config: &Config, side: Side) -> Shared {
        let tracer = match &config.tracer {
            Some(make) => make(),
            None => global::tracer_with_scope(scope()),
        };
        let (meter, metering) = match &config.meter {
            Some((meter, live)) => (meter.clone(), *live),
            None => {
                let provider = global::meter_provider();
                (
                    provider.meter_with_scope(scope()),
                    meter_provider_records(&*provider),
                )
            }
        };
        let tracing = tracer_records(&tracer);
        Shared {
            side,
            active: tracing || metering,
            metering,
            tracer,
            instruments: Instruments::new(&meter, side, config.grpc_metrics && metering),
            message_events: config.message_events,
            request_metadata: metadata_keys(REQUEST_METADATA, &config.request_metadata),
            response_metadata: metadata_keys(RESPONSE_METADATA, &config.response_metadata),
            endpoint: config.target.clone().map(Endpoint::of),
            peer: config.peer.clone().unwrap_or_else(|| Arc::new(peer_addr)),
            known: config.known.clone(),
            last_authority: RwLock::new(None),
        }
    }

    /// The endpoint a client call goes to: the configured target, else the
    /// request's authority (remembered, so a channel to one server builds
    /// its values once).
    pub(crate) fn endpoint_of(&self, authority: Option<&Authority>) -> Option<Endpoint> {
        if let Some(endpoint) = &self.endpoint {
            return Some(endpoint.clone());
        }
        let authority = authority?;
        if let Ok(last) = self.last_authority.read() {
            if let Some((seen, endpoint)) = &*last {
                if seen == authority {
                    return Some(endpoint.clone());
                }
            }
        }
        let endpoint = Endpoint::of(Target::of_authority(authority));
        if let Ok(mut last) = self.last_authority.write() {
            *last = Some((authority.clone(), endpoint.clone()));
        }
        Some(endpoint)
    }
}

/// Whether spans of `tracer` can record or carry a context of their own.
///
/// The API's no-op tracer gives a span the span context of its parent
/// and never records. The probe's parent is a remote span context with
/// telemetry suppressed: an SDK tracer then makes a span with an empty
/// context (and exports nothing), any other tracer a new span, or a
/// recording one; all of these count as recording.
fn tracer_records(tracer: &BoxedTracer) -> bool {
    let parent = SpanContext::new(
        TraceId::from(0x6772_7063_2d6c_6179_6572_732d_7072_6f62_u128),
        SpanId::from(0x7072_6f62_655f_7370_u64),
        TraceFlags::default(),
        true,
        TraceState::default(),
    );
    let cx = Context::new()
        .with_remote_span_context(parent.clone())
        .with_telemetry_suppressed();
    let probe = tracer.build_with_context(tracer.span_builder("grpc-layers probe"), &cx);
    probe.is_recording() || probe.span_context() != &parent
}

/// Whether a meter provider can record: the API's no-op provider is the
/// only one of size zero (a provider that records holds its pipeline).
fn meter_provider_records<P: MeterProvider + ?Sized>(provider: &P) -> bool {
    std::mem::size_of_val(provider) != 0
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("side", &self.side)
            .field("active", &self.active)
            .field("grpc_metrics", &self.instruments.grpc.is_some())
            .field("message_events", &self.message_events)
            .field("request_metadata", &self.request_metadata)
            .field("response_metadata", &self.response_metadata)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

macro_rules! telemetry_layer {
    ($(#[$doc:meta])* $name:ident, $service:ident, $side:expr) => {
        $(#[$doc])*
        #[derive(Clone, Default)]
        pub struct $name {
            config: Config,
            shared: OnceLock<Arc<Shared>>,
        }

        impl $name {
            /// Spans and `rpc.*` duration metrics through the global
            /// tracer and meter providers, as they are when the layer is
            /// first applied; no gRPC (A66) metrics, no message events, no
            /// metadata attributes.
            pub fn new() -> Self {
                Self::default()
            }

            fn with(mut self, set: impl FnOnce(&mut Config)) -> Self {
                set(&mut self.config);
                self.shared = OnceLock::new();
                self
            }

            /// Makes spans with a tracer of `provider` instead of the
            /// global provider's (instrumentation scope `grpc-layers`).
            pub fn tracer_provider<P>(self, provider: &P) -> Self
            where
                P: TracerProvider + Clone + Send + Sync + 'static,
                P::Tracer: Send + Sync + 'static,
                <P::Tracer as Tracer>::Span: Span + Send + Sync + 'static,
            {
                let provider = provider.clone();
                let make: MakeTracer =
                    Arc::new(move || BoxedTracer::new(Box::new(provider.tracer_with_scope(scope()))));
                self.with(|config| config.tracer = Some(make))
            }

            /// Records metrics with a meter of `provider` instead of the
            /// global provider's (instrumentation scope `grpc-layers`).
            pub fn meter_provider<P: MeterProvider + ?Sized>(self, provider: &P) -> Self {
                let meter = provider.meter_with_scope(scope());
                let live = meter_provider_records(provider);
                self.with(|config| config.meter = Some((meter, live)))
            }

            /// Also records gRPC's own metrics (gRFC A66), with A66's
            /// names, units, buckets and attributes (default `false`).
            pub fn grpc_metrics(self, on: bool) -> Self {
                self.with(|config| config.grpc_metrics = on)
            }

            /// Adds an event to the span for every message, sent or
            /// received, as gRFC A72 names them (default `false`).
            pub fn message_events(self, on: bool) -> Self {
                self.with(|config| config.message_events = on)
            }

            /// Records these request metadata keys as
            /// `rpc.request.metadata.<key>` span attributes (an array of
            /// the key's values). No key is recorded unless listed.
            pub fn request_metadata(self, keys: impl IntoIterator<Item = HeaderName>) -> Self {
                let keys: Vec<HeaderName> = keys.into_iter().collect();
                self.with(|config| config.request_metadata = keys)
            }

            /// Records these response metadata keys (from the response
            /// headers and trailers) as `rpc.response.metadata.<key>` span
            /// attributes. No key is recorded unless listed.
            pub fn response_metadata(self, keys: impl IntoIterator<Item = HeaderName>) -> Self {
                let keys: Vec<HeaderName> = keys.into_iter().collect();
                self.with(|config| config.response_metadata = keys)
            }

            pub(crate) fn shared(&self) -> Arc<Shared> {
                self.shared
                    .get_or_init(|| Arc::new(Shared::new(&self.config, $side)))
                    .clone()
            }
        }

        impl<S> Layer<S> for $name {
            type Service = $service<S>;

            fn layer(&self, inner: S) -> $service<S> {
                $service::from_layer(inner, self.shared())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("tracer_provider", &self.config.tracer.as_ref().map_or("global", |_| "set"))
                    .field("meter_provider", &self.config.meter.as_ref().map_or("global", |_| "set"))
                    .field("grpc_metrics", &self.config.grpc_metrics)
                    .field("message_events", &self.config.message_events)
                    .field("request_metadata", &self.config.request_metadata)
                    .field("response_metadata", &self.config.response_metadata)
                    .field("target", &self.config.target)
                    .finish()
            }
        }
    };
}

telemetry_layer!(
    /// Traces and measures the calls a server serves; see the
    /// [module docs](super).
    ServerTelemetryLayer,
    ServerTelemetry,
    Side::Server
);

telemetry_layer!(
    /// Traces and measures the calls a client makes, and propagates the
    /// current trace context to the server; see the [module docs](super).
    ClientTelemetryLayer,
    ClientTelemetry,
    Side::Client
);

impl ServerTelemetryLayer {
    /// The server's own address (`server.address`, and `server.port` if
    /// given) for every server span; left out when not set. Give the
    /// name clients reach the server by, not a per-connection address.
    pub fn server_address(self, address: impl Into<String>, port: Option<u16>) -> Self {
        let address = address.into();
        self.with(|config| {
            config.target = Some(Target {
                canonical: address.clone(),
                address,
                port,
            })
        })
    }

    /// Where the peer's address (`network.peer.address`,
    /// `network.peer.port`) is read from in a call's request extensions.
    /// By default the layer reads grpc-server's
    /// [`PeerAddr`](grpc_transport::peer::PeerAddr); under another server,
    /// read what it puts there:
    ///
    /// ```
    /// use std::net::SocketAddr;
    ///
    /// use axum::extract::ConnectInfo;
    /// use grpc_layers::otel::ServerTelemetryLayer;
    /// use tonic::transport::server::TcpConnectInfo;
    ///
    /// // axum, served with `into_make_service_with_connect_info::<SocketAddr>()`:
    /// let axum = ServerTelemetryLayer::new()
    ///     .peer_addr(|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|info| info.0));
    /// // A tonic `Server`:
    /// let tonic = ServerTelemetryLayer::new()
    ///     .peer_addr(|ext| ext.get::<TcpConnectInfo>().and_then(|info| info.remote_addr()));
    /// # let _ = (axum, tonic);
    /// ```
    pub fn peer_addr(
        self,
        lookup: impl Fn(&Extensions) -> Option<SocketAddr> + Send + Sync + 'static,
    ) -> Self {
        let lookup: PeerLookup = Arc::new(lookup);
        self.with(|config| config.peer = Some(lookup))
    }

    /// The methods this server serves: a call of any other is recorded as
    /// `rpc.method = "_OTHER"` (and A66's `grpc.method = "other"`), so a
    /// client sending made-up paths cannot grow the metrics' cardinality.
    /// A [`MethodName`] of a service stands for all of its methods.
    ///
    /// Without it, the layer relies on grpc-server's router, which marks
    /// its answer to an unknown method with
    /// [`UnknownMethod`](grpc_core::method::UnknownMethod); under another
    /// server, or in front of a router of another library, give the list:
    ///
    /// ```
    /// use grpc_core::method::MethodName;
    /// use grpc_core::GrpcMethod;
    /// use grpc_layers::otel::ServerTelemetryLayer;
    ///
    /// // From grpc-server's router: `router.methods()`; or by hand:
    /// let layer = ServerTelemetryLayer::new().known_methods([
    ///     MethodName::from(GrpcMethod::new("helloworld.Greeter", "SayHello")),
    ///     MethodName::parse("grpc.health.v1.Health").unwrap(),
    /// ]);
    /// # let _ = layer;
    /// ```
    pub fn known_methods(self, methods: impl IntoIterator<Item = impl Into<MethodName>>) -> Self {
        let known: MethodMap<()> = methods.into_iter().map(|m| (m.into(), ())).collect();
        let known = Arc::new(known);
        self.with(|config| config.known = Some(known))
    }
}

impl ClientTelemetryLayer {
    /// The channel's target, as a gRPC target string (`host:port`,
    /// `dns:///host:port`, `unix:///path`, …) or the endpoint URI
    /// (`http://host:port`): `server.address` and `server.port` are read
    /// from it as the gRPC conventions say, and it is A66's `grpc.target`.
    ///
    /// Without it, they come from each request's URI authority, when it
    /// has one: a layer outside `grpc-client`'s channel sees path-only
    /// URIs (the channel adds the authority), so set the target there.
    pub fn target(self, target: &str) -> Self {
        let target = Target::parse(target);
        self.with(|config| config.target = Some(target))
    }
}
