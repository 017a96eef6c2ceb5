//! Telemetry end to end, over real HTTP/2 on 127.0.0.1: `grpc-client`
//! with `ClientTelemetryLayer` calling `grpc-server` with
//! `ServerTelemetryLayer`, whose handler makes a span of its own and a
//! downstream call through another client layer to a second server; a
//! stream whose status comes in its trailers; an unknown method; a stream
//! the client drops; and the metrics of it all.
#![cfg(all(feature = "otel", feature = "status"))]

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use grpc_client::{Endpoint, Grpc};
use grpc_core::codec::BytesCodec;
use grpc_core::{Code, GrpcMethod, Request, Response, Status};
use grpc_layers::otel::{ClientTelemetryLayer, ServerTelemetryLayer};
use grpc_layers::status::{ClientStatusLayer, ServerStatusLayer};
use grpc_server::{handler, Router, Server};
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{global, Context};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use support::bounded;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower::ServiceBuilder;

const FRONT: GrpcMethod = GrpcMethod::new("e2e.Front", "Get");
const BACK: GrpcMethod = GrpcMethod::new("e2e.Back", "Fetch");
const FEED: GrpcMethod = GrpcMethod::new("e2e.Front", "Feed");
const ENDLESS: GrpcMethod = GrpcMethod::new("e2e.Front", "Endless");
const NOWHERE: GrpcMethod = GrpcMethod::new("e2e.Nowhere", "Go");

struct Telemetry {
    spans: InMemorySpanExporter,
    tracer: SdkTracerProvider,
    metrics: InMemoryMetricExporter,
    meter: SdkMeterProvider,
}

impl Telemetry {
    fn new() -> Telemetry {
        global::set_text_map_propagator(TraceContextPropagator::new());
        let spans = InMemorySpanExporter::default();
        let tracer = SdkTracerProvider::builder()
            .with_simple_exporter(spans.clone())
            .build();
        let metrics = InMemoryMetricExporter::default();
        let meter = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(metrics.clone()).build())
            .build();
        Telemetry {
            spans,
            tracer,
            metrics,
            meter,
        }
    }

    fn server(&self) -> ServerTelemetryLayer {
        ServerTelemetryLayer::new()
            .tracer_provider(&self.tracer)
            .meter_provider(&self.meter)
            .grpc_metrics(true)
    }

    fn client(&self, addr: SocketAddr) -> ClientTelemetryLayer {
        ClientTelemetryLayer::new()
            .tracer_provider(&self.tracer)
            .meter_provider(&self.meter)
            .grpc_metrics(true)
            .target(&format!("http://{addr}"))
    }

    /// The finished spans, waiting (bounded) until `count` are there: a
    /// server span ends when hyper is done with the response, which can be
    /// just after the client has it.
    async fn spans(&self, count: usize) -> Vec<SpanData> {
        bounded(async {
            loop {
                let spans = self.spans.get_finished_spans().unwrap();
                if spans.len() >= count {
                    return spans;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
    }

    /// (count, sum) of each data point of a histogram, with its attributes
    /// as `key=value` strings.
    fn histogram(&self, name: &str) -> Vec<(u64, f64, Vec<String>)> {
        self.meter.force_flush().unwrap();
        let batches = self.metrics.get_finished_metrics().unwrap();
        let mut out = Vec::new();
        for scope in batches.last().into_iter().flat_map(|b| b.scope_metrics()) {
            for metric in scope.metrics().filter(|m| m.name() == name) {
                let mut push =
                    |count, sum, attrs: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
                        let mut attrs: Vec<String> =
                            attrs.map(|kv| format!("{}={}", kv.key, kv.value)).collect();
                        attrs.sort();
                        out.push((count, sum, attrs));
                    };
                match metric.data() {
                    AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                        for p in h.data_points() {
                            push(p.count(), p.sum(), &mut p.attributes());
                        }
                    }
                    AggregatedMetrics::U64(MetricData::Histogram(h)) => {
                        for p in h.data_points() {
                            push(p.count(), p.sum() as f64, &mut p.attributes());
                        }
                    }
                    other => panic!("{name}: {other:?}"),
                }
            }
        }
        out
    }
}

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

fn find<'a>(spans: &'a [SpanData], name: &str, kind: SpanKind) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name && s.span_kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} span {name} in {spans:#?}"))
}

/// A server on 127.0.0.1 behind the telemetry layer (outermost, as in the
/// stack docs) and the status layer; stops when dropped.
struct TestServer {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

async fn serve(telemetry: &Telemetry, router: Router) -> TestServer {
    let service = ServiceBuilder::new()
        .layer(telemetry.server())
        .layer(ServerStatusLayer::new())
        .service(router);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(Server::new().serve_with_shutdown(listener, service, async {
        let _ = stopped.await;
    }));
    TestServer { addr, _stop: stop }
}

type Client = Grpc<
    grpc_layers::otel::ClientTelemetry<grpc_layers::status::ClientStatus<grpc_client::Channel>>,
>;

fn client(telemetry: &Telemetry, addr: SocketAddr) -> Client {
    let channel = Endpoint::new(format!("http://{addr}").parse().unwrap())
        .unwrap()
        .connect_lazy();
    Grpc::new(
        ServiceBuilder::new()
            .layer(telemetry.client(addr))
            .layer(ClientStatusLayer::new())
            .service(channel),
    )
}

async fn backend(telemetry: &Telemetry) -> TestServer {
    let router = Router::new().route(
        BACK,
        handler::unary(BytesCodec, |request: Request<Bytes>| async move {
            Ok::<_, Status>(Response::new(request.into_inner()))
        }),
    );
    serve(telemetry, router).await
}

async fn frontend(telemetry: &Telemetry, backend: SocketAddr) -> TestServer {
    let downstream = client(telemetry, backend);
    let tracer = telemetry.tracer.tracer("handler");
    let router = Router::new()
        .route(
            FRONT,
            handler::unary(BytesCodec, move |request: Request<Bytes>| {
                let mut downstream = downstream.clone();
                let tracer = tracer.clone();
                async move {
                    // A span of the handler's own (the server span is the
                    // current context here, so it is the parent), made the
                    // context of the downstream call.
                    let work = Context::current_with_span(tracer.start("look it up"));
                    let reply = downstream
                        .unary(request, BACK, BytesCodec)
                        .with_context(work.clone())
                        .await;
                    work.span().end();
                    reply
                }
            }),
        )
        .route(
            FEED,
            handler::server_streaming(BytesCodec, |_: Request<Bytes>| async {
                let stream = futures_util::stream::iter([
                    Ok(Bytes::from_static(b"one")),
                    Ok(Bytes::from_static(b"two")),
                    Err(Status::data_loss("the feed broke")),
                ]);
                Ok::<_, Status>(Response::new(stream))
            }),
        )
        .route(
            ENDLESS,
            handler::server_streaming(BytesCodec, |_: Request<Bytes>| async {
                let stream = futures_util::stream::unfold((), |()| async {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    Some((Ok::<_, Status>(Bytes::from_static(b"tick")), ()))
                });
                Ok::<_, Status>(Response::new(stream))
            }),
        );
    serve(telemetry, router).await
}

#[tokio::test]
async fn a_call_its_handler_span_and_its_downstream_call_form_one_trace() {
    let t = Telemetry::new();
    let back = backend(&t).await;
    let front = frontend(&t, back.addr).await;
    let mut grpc = client(&t, front.addr);
    let reply = bounded(grpc.unary(Request::new(Bytes::from_static(b"id-7")), FRONT, BytesCodec))
        .await
        .unwrap();
    assert_eq!(reply.into_inner(), "id-7");

    let spans = t.spans(5).await;
    let client_span = find(&spans, "e2e.Front/Get", SpanKind::Client);
    let server_span = find(&spans, "e2e.Front/Get", SpanKind::Server);
    let work = find(&spans, "look it up", SpanKind::Internal);
    let down_client = find(&spans, "e2e.Back/Fetch", SpanKind::Client);
    let down_server = find(&spans, "e2e.Back/Fetch", SpanKind::Server);
    let trace = client_span.span_context.trace_id();
    for span in [server_span, work, down_client, down_server] {
        assert_eq!(span.span_context.trace_id(), trace, "{}", span.name);
    }
    assert_eq!(
        server_span.parent_span_id,
        client_span.span_context.span_id()
    );
    assert_eq!(work.parent_span_id, server_span.span_context.span_id());
    assert_eq!(down_client.parent_span_id, work.span_context.span_id());
    assert_eq!(
        down_server.parent_span_id,
        down_client.span_context.span_id()
    );

    // The attributes a real connection gives.
    assert_eq!(
        attr(client_span, "server.address").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(
        attr(client_span, "server.port"),
        Some(front.addr.port().to_string())
    );
    assert_eq!(
        attr(server_span, "network.peer.address").as_deref(),
        Some("127.0.0.1")
    );
    assert!(attr(server_span, "network.peer.port").is_some());
    for span in [client_span, server_span] {
        assert_eq!(attr(span, "rpc.system.name").as_deref(), Some("grpc"));
        assert_eq!(attr(span, "rpc.method").as_deref(), Some("e2e.Front/Get"));
        assert_eq!(
            attr(span, "rpc.response.status_code").as_deref(),
            Some("OK")
        );
    }

    // Metrics: one call each side, and A66's message sizes (4 bytes each way).
    let server = t.histogram("rpc.server.call.duration");
    assert!(server
        .iter()
        .any(|(count, _, attrs)| *count == 1
            && attrs.contains(&"rpc.method=e2e.Front/Get".to_owned())));
    let client = t.histogram("rpc.client.call.duration");
    assert!(client.iter().any(|(count, _, attrs)| *count == 1
        && attrs.contains(&"rpc.method=e2e.Front/Get".to_owned())
        && attrs.contains(&"server.address=127.0.0.1".to_owned())));
    for name in [
        "grpc.server.call.rcvd_total_compressed_message_size",
        "grpc.server.call.sent_total_compressed_message_size",
        "grpc.client.attempt.sent_total_compressed_message_size",
        "grpc.client.attempt.rcvd_total_compressed_message_size",
    ] {
        let points = t.histogram(name);
        let front = points
            .iter()
            .find(|(_, _, attrs)| attrs.contains(&"grpc.method=e2e.Front/Get".to_owned()))
            .unwrap_or_else(|| panic!("{name}: {points:?}"));
        assert_eq!((front.0, front.1), (1, 4.0), "{name}");
    }
}

#[tokio::test]
async fn a_stream_that_fails_in_its_trailers_is_recorded_with_that_status() {
    let t = Telemetry::new();
    let back = backend(&t).await;
    let front = frontend(&t, back.addr).await;
    let mut grpc = client(&t, front.addr);
    let response = bounded(grpc.server_streaming(Request::new(Bytes::new()), FEED, BytesCodec))
        .await
        .unwrap();
    let mut stream = response.into_inner();
    assert_eq!(bounded(stream.message()).await.unwrap().unwrap(), "one");
    assert_eq!(bounded(stream.message()).await.unwrap().unwrap(), "two");
    let status = bounded(stream.message()).await.unwrap_err();
    assert_eq!(status.code(), Code::DataLoss);

    let spans = t.spans(2).await;
    for kind in [SpanKind::Client, SpanKind::Server] {
        let span = find(&spans, "e2e.Front/Feed", kind.clone());
        assert_eq!(
            attr(span, "rpc.response.status_code").as_deref(),
            Some("DATA_LOSS"),
            "{kind:?}"
        );
        assert_eq!(attr(span, "error.type").as_deref(), Some("DATA_LOSS"));
    }
}

#[tokio::test]
async fn an_unknown_method_is_other_on_the_server() {
    let t = Telemetry::new();
    let back = backend(&t).await;
    let mut grpc = client(&t, back.addr);
    let status = bounded(grpc.unary(Request::new(Bytes::new()), NOWHERE, BytesCodec))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    let spans = t.spans(2).await;
    let server = find(&spans, "grpc", SpanKind::Server);
    assert_eq!(attr(server, "rpc.method").as_deref(), Some("_OTHER"));
    assert_eq!(
        attr(server, "rpc.method_original").as_deref(),
        Some("e2e.Nowhere/Go")
    );
    // The client knows what it called.
    let client = find(&spans, "e2e.Nowhere/Go", SpanKind::Client);
    assert_eq!(
        attr(client, "rpc.response.status_code").as_deref(),
        Some("UNIMPLEMENTED")
    );
    let durations = t.histogram("grpc.server.call.duration");
    assert!(
        durations
            .iter()
            .any(|(_, _, attrs)| attrs.contains(&"grpc.method=other".to_owned())),
        "{durations:?}"
    );
}

#[tokio::test]
async fn a_stream_the_client_drops_ends_both_spans_cancelled() {
    let t = Telemetry::new();
    let back = backend(&t).await;
    let front = frontend(&t, back.addr).await;
    let mut grpc = client(&t, front.addr);
    let response = bounded(grpc.server_streaming(Request::new(Bytes::new()), ENDLESS, BytesCodec))
        .await
        .unwrap();
    let mut stream = response.into_inner();
    assert_eq!(bounded(stream.message()).await.unwrap().unwrap(), "tick");
    drop(stream);

    let spans = t.spans(2).await;
    for kind in [SpanKind::Client, SpanKind::Server] {
        let span = find(&spans, "e2e.Front/Endless", kind.clone());
        assert_eq!(
            attr(span, "rpc.response.status_code").as_deref(),
            Some("CANCELLED"),
            "{kind:?}"
        );
    }
    // The server is still fine.
    let reply = bounded(grpc.unary(Request::new(Bytes::from_static(b"x")), FRONT, BytesCodec))
        .await
        .unwrap();
    assert_eq!(reply.into_inner(), "x");
}
