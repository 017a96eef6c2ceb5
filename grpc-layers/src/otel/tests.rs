use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use bytes::Bytes;
use grpc_core::codec::framing::encode_raw;
use grpc_core::headers::APPLICATION_GRPC;
use grpc_core::method::UnknownMethod;
use grpc_core::test_util::ScriptedBody;
use grpc_core::{BoxError, GrpcBody, Status};
use grpc_transport::peer::PeerAddr;
use http::HeaderValue;
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use opentelemetry::global;
use opentelemetry::trace::{
    Span as _, SpanKind, Status as SpanStatus, TraceContextExt, Tracer, TracerProvider,
};
use opentelemetry::{Array, Context, Value};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tokio::sync::mpsc;
use tower::{service_fn, Layer, Service, ServiceExt};
use tower_test::mock;

use super::semconv::{A66_LATENCY_BUCKETS, A66_SIZE_BUCKETS, RPC_DURATION_BUCKETS};
use super::*;

type Request = http::Request<GrpcBody>;
type Response = http::Response<GrpcBody>;

/// Providers of one test: spans and metrics kept in memory.
struct Telemetry {
    spans: InMemorySpanExporter,
    tracer: SdkTracerProvider,
    metrics: InMemoryMetricExporter,
    meter: SdkMeterProvider,
}

/// A data point of a metric: its value (count for a histogram, sum for a
/// counter), sum, bounds and attributes.
#[derive(Debug)]
struct Point {
    count: u64,
    sum: f64,
    bounds: Vec<f64>,
    attributes: Vec<(String, String)>,
}

impl Point {
    fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
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
    }

    fn client(&self) -> ClientTelemetryLayer {
        ClientTelemetryLayer::new()
            .tracer_provider(&self.tracer)
            .meter_provider(&self.meter)
    }

    fn spans(&self) -> Vec<SpanData> {
        self.spans.get_finished_spans().unwrap()
    }

    fn only_span(&self) -> SpanData {
        let spans = self.spans();
        assert_eq!(spans.len(), 1, "{spans:#?}");
        spans.into_iter().next().unwrap()
    }

    /// The data points of a metric, after a flush; empty if it has none.
    fn points(&self, name: &str) -> Vec<Point> {
        self.meter.force_flush().unwrap();
        let batches = self.metrics.get_finished_metrics().unwrap();
        let Some(last) = batches.last() else {
            return Vec::new();
        };
        let attrs = |it: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
            let mut v: Vec<(String, String)> = it
                .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                .collect();
            v.sort();
            v
        };
        let mut out = Vec::new();
        for scope in last.scope_metrics() {
            for metric in scope.metrics().filter(|m| m.name() == name) {
                match metric.data() {
                    AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                        for p in h.data_points() {
                            out.push(Point {
                                count: p.count(),
                                sum: p.sum(),
                                bounds: p.bounds().collect(),
                                attributes: attrs(&mut p.attributes()),
                            });
                        }
                    }
                    AggregatedMetrics::U64(MetricData::Histogram(h)) => {
                        for p in h.data_points() {
                            out.push(Point {
                                count: p.count(),
                                sum: p.sum() as f64,
                                bounds: p.bounds().collect(),
                                attributes: attrs(&mut p.attributes()),
                            });
                        }
                    }
                    AggregatedMetrics::U64(MetricData::Sum(s)) => {
                        for p in s.data_points() {
                            out.push(Point {
                                count: p.value(),
                                sum: p.value() as f64,
                                bounds: Vec::new(),
                                attributes: attrs(&mut p.attributes()),
                            });
                        }
                    }
                    other => panic!("unexpected data for {name}: {other:?}"),
                }
            }
        }
        out
    }

    /// Every metric name exported.
    fn metric_names(&self) -> Vec<String> {
        self.meter.force_flush().unwrap();
        let batches = self.metrics.get_finished_metrics().unwrap();
        let mut names: Vec<String> = batches
            .last()
            .into_iter()
            .flat_map(|b| b.scope_metrics())
            .flat_map(|s| s.metrics())
            .map(|m| m.name().to_owned())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

fn attribute(span: &SpanData, key: &str) -> Option<Value> {
    let mut found = span
        .attributes
        .iter()
        .filter(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone());
    let first = found.next();
    assert!(found.next().is_none(), "{key} is set once");
    first
}

fn text(span: &SpanData, key: &str) -> Option<String> {
    attribute(span, key).map(|v| v.to_string())
}

fn grpc_request(path: &str, body: impl Into<GrpcBody>) -> Request {
    let mut request = http::Request::new(body.into());
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = path.parse().unwrap();
    request
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/grpc"));
    request
}

/// A gRPC response head with a body still to come.
fn streaming<B>(body: B) -> http::Response<B> {
    let mut response = http::Response::new(body);
    response
        .headers_mut()
        .insert("content-type", APPLICATION_GRPC);
    response
}

fn unary_ok(message: &'static [u8]) -> Response {
    streaming(GrpcBody::once(
        encode_raw(message, false),
        Some(Status::ok().to_headers()),
    ))
}

/// A body fed from a channel, so a test decides when each frame comes.
struct ChannelBody(mpsc::UnboundedReceiver<Result<Frame<Bytes>, BoxError>>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.0.poll_recv(cx)
    }
}

fn channel_body() -> (
    mpsc::UnboundedSender<Result<Frame<Bytes>, BoxError>>,
    ChannelBody,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    (tx, ChannelBody(rx))
}

async fn drain<B: Body<Data = Bytes>>(body: B) -> Result<Option<http::HeaderMap>, B::Error> {
    Ok(body.collect().await?.trailers().cloned())
}

// ----- spans ---------------------------------------------------------------

#[tokio::test]
async fn a_server_span_carries_every_attribute_of_the_conventions() {
    let t = Telemetry::new();
    let service = t
        .server()
        .server_address("api.example.com", Some(8443))
        .layer(service_fn(|_: Request| async {
            Ok::<_, Infallible>(unary_ok(b"pong"))
        }));
    let mut request = grpc_request("/echo.Echo/Ping", GrpcBody::empty());
    let peer: SocketAddr = "10.1.2.80:65123".parse().unwrap();
    request.extensions_mut().insert(PeerAddr(peer));
    let response = service.oneshot(request).await.unwrap();
    assert!(t.spans().is_empty(), "the call lasts until its status");
    drain(response.into_body()).await.unwrap();

    let span = t.only_span();
    assert_eq!(span.name, "echo.Echo/Ping");
    assert_eq!(span.span_kind, SpanKind::Server);
    assert_eq!(text(&span, "rpc.system.name").as_deref(), Some("grpc"));
    assert_eq!(text(&span, "rpc.method").as_deref(), Some("echo.Echo/Ping"));
    assert_eq!(text(&span, "rpc.method_original"), None);
    assert_eq!(
        text(&span, "rpc.response.status_code").as_deref(),
        Some("OK")
    );
    assert_eq!(text(&span, "error.type"), None);
    assert_eq!(
        text(&span, "server.address").as_deref(),
        Some("api.example.com")
    );
    assert_eq!(attribute(&span, "server.port"), Some(Value::I64(8443)));
    assert_eq!(
        text(&span, "network.peer.address").as_deref(),
        Some("10.1.2.80")
    );
    assert_eq!(
        attribute(&span, "network.peer.port"),
        Some(Value::I64(65123))
    );
    assert_eq!(span.status, SpanStatus::Unset);
    assert!(span.events.is_empty(), "message events are off by default");
}

#[tokio::test]
async fn a_server_without_a_configured_address_leaves_server_address_out() {
    let t = Telemetry::new();
    let service = t.server().layer(service_fn(|_: Request| async {
        Ok::<_, Infallible>(unary_ok(b""))
    }));
    let response = service
        .oneshot(grpc_request("/a.B/C", GrpcBody::empty()))
        .await
        .unwrap();
    drain(response.into_body()).await.unwrap();
    let span = t.only_span();
    assert_eq!(text(&span, "server.address"), None);
    assert_eq!(text(&span, "server.port"), None);
    assert_eq!(text(&span, "network.peer.address"), None, "no peer known");
}

#[tokio::test]
async fn only_server_failures_are_errors_on_the_server() {
    let cases = [
        (Status::not_found("no user"), false),
        (Status::invalid_argument("bad"), false),
        (Status::cancelled("gone"), false),
        (Status::unknown("what"), true),
        (Status::deadline_exceeded("late"), true),
        (Status::unimplemented("no"), true),
        (Status::internal("broke"), true),
        (Status::unavailable("down"), true),
        (Status::data_loss("lost"), true),
    ];
    for (status, error) in cases {
        let t = Telemetry::new();
        let answer = status.clone();
        let service = t.server().layer(service_fn(move |_: Request| {
            let answer = answer.clone();
            async move { Ok::<_, Infallible>(answer.into_http::<GrpcBody>()) }
        }));
        let response = service
            .oneshot(grpc_request("/a.B/C", GrpcBody::empty()))
            .await
            .unwrap();
        drain(response.into_body()).await.unwrap();
        let span = t.only_span();
        let name = status.code().name();
        assert_eq!(
            text(&span, "rpc.response.status_code").as_deref(),
            Some(name)
        );
        if error {
            assert_eq!(text(&span, "error.type").as_deref(), Some(name));
            assert_eq!(span.status, SpanStatus::error(status.message().to_owned()));
        } else {
            assert_eq!(text(&span, "error.type"), None, "{name}");
            assert_eq!(span.status, SpanStatus::Unset, "{name}");
        }
    }
}

#[tokio::test]
async fn every_code_but_ok_is_an_error_on_the_client() {
    let t = Telemetry::new();
    let service = t
        .client()
        .target("dns:///users.example.com:50051")
        .layer(service_fn(|_: Request| async {
            Ok::<_, Infallible>(Status::not_found("no user").into_http::<GrpcBody>())
        }));
    let response = service
        .oneshot(grpc_request("/users.Users/Get", GrpcBody::empty()))
        .await
        .unwrap();
    drain(response.into_body()).await.unwrap();
    let span = t.only_span();
    assert_eq!(span.name, "users.Users/Get");
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(text(&span, "rpc.system.name").as_deref(), Some("grpc"));
    assert_eq!(
        text(&span, "rpc.method").as_deref(),
        Some("users.Users/Get")
    );
    assert_eq!(
        text(&span, "rpc.response.status_code").as_deref(),
        Some("NOT_FOUND")
    );
    assert_eq!(text(&span, "error.type").as_deref(), Some("NOT_FOUND"));
    assert_eq!(span.status, SpanStatus::error("no user"));
    assert_eq!(
        text(&span, "server.address").as_deref(),
        Some("users.example.com")
    );
    assert_eq!(attribute(&span, "server.port"), Some(Value::I64(50051)));
}

#[tokio::test]
async fn a_client_without_a_target_names_the_server_from_the_request_authority() {
    let t = Telemetry::new();
    let service = t.client().layer(service_fn(|_: Request| async {
        Ok::<_, Infallible>(unary_ok(b""))
    }));
    let response = service
        .oneshot(grpc_request(
            "http://10.0.0.7:9000/a.B/C",
            GrpcBody::empty(),
        ))
        .await
        .unwrap();
    drain(response.into_body()).await.unwrap();
    let span = t.only_span();
    assert_eq!(text(&span, "server.address").as_deref(), Some("10.0.0.7"));
    assert_eq!(attribute(&span, "server.port"), Some(Value::I64(9000)));
}

#[tokio::test]
async fn a_status_at_the_end_of_a_long_stream_is_the_one_recorded() {
    let t = Telemetry::new();
    let (tx, body) = channel_body();
    let mut body = Some(body);
    let service = t.server().layer(service_fn(move |_: Request| {
        let body = body.take().expect("one call");
        async move { Ok::<_, Infallible>(streaming(body)) }
    }));
    let response = service
        .oneshot(grpc_request("/feed.Feed/Watch", GrpcBody::empty()))
        .await
        .unwrap();
    let mut body = Box::pin(response.into_body());
    for i in 0..3u8 {
        tx.send(Ok(Frame::data(encode_raw(&[i], false)))).unwrap();
        body.frame().await.unwrap().unwrap();
        assert!(t.spans().is_empty(), "the stream is still going");
    }
    let status = Status::deadline_exceeded("the feed ran out of time");
    tx.send(Ok(Frame::trailers(status.to_headers()))).unwrap();
    let trailers = body.frame().await.unwrap().unwrap();
    assert!(trailers.is_trailers(), "the trailers pass through");
    let span = t.only_span();
    assert_eq!(
        text(&span, "rpc.response.status_code").as_deref(),
        Some("DEADLINE_EXCEEDED")
    );
    assert_eq!(span.status, SpanStatus::error("the feed ran out of time"));
}

#[tokio::test]
async fn a_method_the_router_does_not_know_is_other_with_the_original_name() {
    let t = Telemetry::new();
    let service = t
        .server()
        .grpc_metrics(true)
        .layer(service_fn(|_: Request| async {
            let mut response = Status::unimplemented("unknown service").into_http::<GrpcBody>();
            response.extensions_mut().insert(UnknownMethod);
            Ok::<_, Infallible>(response)
        }));
    let response = service
        .oneshot(grpc_request("/made.Up/Thing", GrpcBody::empty()))
        .await
        .unwrap();
    drain(response.into_body()).await.unwrap();
    let span = t.only_span();
    assert_eq!(span.name, "grpc");
    assert_eq!(text(&span, "rpc.method").as_deref(), Some("_OTHER"));
    assert_eq!(
        text(&span, "rpc.method_original").as_deref(),
        Some("made.Up/Thing")
    );
    assert_eq!(
        text(&span, "rpc.response.status_code").as_deref(),
        Some("UNIMPLEMENTED")
    );
    let rpc = t.points("rpc.server.call.duration");
    assert_eq!(rpc.len(), 1);
    assert_eq!(rpc[0].attribute("rpc.method"), Some("_OTHER"));
    for name in ["grpc.server.call.started", "grpc.server.call.duration"] {
        let points = t.points(name);
        assert_eq!(points.len(), 1, "{name}");
        assert_eq!(points[0].attribute("grpc.method"), Some("other"), "{name}");
    }
    assert!(
        super::method::Method::of_path("/made.Up/Thing").is_well_formed()
            && !super::method::Method::of_path("/made.Up/Thing").is_interned(),
        "an unknown name is never interned"
    );
}

#[tokio::test]
async fn grpc_servers_router_marks_unknown_methods_for_the_layer() {
    let t = Telemetry::new();
    let service = t.server().layer(grpc_server::Router::new());
    let response = service
        .oneshot(grpc_request("/nobody.Home/Knock", GrpcBody::empty()))
        .await
        .unwrap();
    drain(response.into_body()).await.unwrap();
    let span = t.only_span();
    assert_eq!(text(&span, "rpc.method").as_deref(), Some("_OTHER"));
    assert_eq!(
        text(&span, "rpc.method_original").as_deref(),
        Some("nobody.Home/Knock")
    );
}

#[tokio::test]
async fn a_handlers_own_unimplemented_keeps_the_method_name() {
    let t = Telemetry::new();
    let service = t.server().layer(service_fn(|_: Request| async {
        Ok::<_, Infallible>(Status::unimplemented("not yet").into_http::<GrpcBody>())
    }));
    let response = service
        .oneshot(grpc_request("/real.Svc/Later", GrpcBody::empty()))
        .await
        .unwrap();
    drain(response.into_body()).await.unwrap();
    let span = t.only_span();
    assert_eq!(span.name, "real.Svc/Later");
    assert_eq!(text(&span, "rpc.method").as_deref(), Some("real.Svc/Later"));
}

#[tokio::test]
async fn client_and_server_spans_of_one_call_share_a_trace_and_nest() {
    let t = Telemetry::new();
    let tracer = t.tracer.tracer("handler");
    let downstream =
        t.client()
            .target("backend:7000")
            .layer(service_fn(|request: Request| async move {
                // The downstream server sees the handler's trace.
                assert!(request.headers().contains_key("traceparent"));
                Ok::<_, Infallible>(unary_ok(b"deep"))
            }));
    let server = t.server().layer(service_fn(move |request: Request| {
        assert!(request.headers().contains_key("traceparent"));
        let tracer = tracer.clone();
        let downstream = downstream.clone();
        async move {
            // A span of the handler's own: a child of the server span.
            let _work = tracer.start("handler work");
            let response = downstream
                .oneshot(grpc_request("/back.End/Fetch", GrpcBody::empty()))
                .await
                .unwrap();
            drain(response.into_body()).await.unwrap();
            Ok::<_, Infallible>(unary_ok(b"top"))
        }
    }));
    let client = t.client().layer(server);
    let response = client
        .oneshot(grpc_request("/front.End/Get", GrpcBody::empty()))
        .await
        .unwrap();
    drain(response.into_body()).await.unwrap();

    let spans = t.spans();
    let find = |name: &str, kind: SpanKind| {
        spans
            .iter()
            .find(|s| s.name == name && s.span_kind == kind)
            .unwrap_or_else(|| panic!("no {name} span in {spans:#?}"))
    };
    let client_span = find("front.End/Get", SpanKind::Client);
    let server_span = find("front.End/Get", SpanKind::Server);
    let work = find("handler work", SpanKind::Internal);
    let downstream_span = find("back.End/Fetch", SpanKind::Client);
    let trace = client_span.span_context.trace_id();
    for span in [server_span, work, downstream_span] {
        assert_eq!(span.span_context.trace_id(), trace, "{}", span.name);
    }
    assert_eq!(
        server_span.parent_span_id,
        client_span.span_context.span_id()
    );
    assert!(
        server_span.parent_span_is_remote,
        "the parent came in the headers"
    );
    assert_eq!(work.parent_span_id, server_span.span_context.span_id());
    assert_eq!(
        downstream_span.parent_span_id,
        server_span.span_context.span_id()
    );
}

#[tokio::test]
async fn the_server_context_is_current_while_the_response_body_is_polled() {
    let t = Telemetry::new();
    let tracer = t.tracer.tracer("stream");
    let server = t.server().layer(service_fn(move |_: Request| {
        let tracer = tracer.clone();
        async move {
            // Each message of the stream is made (polled) later, after the
            // handler's future returned.
            let stream = futures_util::stream::unfold(0, move |i| {
                let tracer = tracer.clone();
                async move {
                    if i == 2 {
                        return Some((
                            Ok::<_, Infallible>(Frame::trailers(Status::ok().to_headers())),
                            i + 1,
                        ));
                    }
                    if i > 2 {
                        return None;
                    }
                    tracer.start(format!("message {i}")).end();
                    Some((Ok(Frame::data(encode_raw(b"m", false))), i + 1))
                }
            });
            Ok::<_, Infallible>(streaming(http_body_util::StreamBody::new(Box::pin(stream))))
        }
    }));
    let response = server
        .oneshot(grpc_request("/s.S/Stream", GrpcBody::empty()))
        .await
        .unwrap();
    drain(response.into_body()).await.unwrap();
    let spans = t.spans();
    let server_span = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .unwrap();
    for i in 0..2 {
        let message = spans
            .iter()
            .find(|s| s.name == format!("message {i}"))
            .unwrap();
        assert_eq!(message.parent_span_id, server_span.span_context.span_id());
        assert_eq!(
            message.span_context.trace_id(),
            server_span.span_context.trace_id()
        );
    }
    assert!(
        !Context::current().has_active_span(),
        "nothing leaks out of the polls"
    );
}

#[tokio::test]
async fn spans_made_with_tracing_in_a_handler_are_children_of_the_server_span() {
    use tracing_subscriber::layer::SubscriberExt;

    let t = Telemetry::new();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(t.tracer.tracer("tracing")));
    let _default = tracing::subscriber::set_default(subscriber);
    let server = t.server().layer(service_fn(|_: Request| async {
        let span = tracing::info_span!("load user");
        let _entered = span.enter();
        Ok::<_, Infallible>(unary_ok(b"ok"))
    }));
    let response = server
        .oneshot(grpc_request("/users.Users/Get", GrpcBody::empty()))
        .await
        .unwrap();
    drain(response.into_body()).await.unwrap();
    let spans = t.spans();
    let server_span = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .unwrap();
    let load = spans
        .iter()
        .find(|s| s.name == "load user")
        .unwrap_or_else(|| panic!("{spans:#?}"));
    assert_eq!(load.parent_span_id, server_span.span_context.span_id());
    assert_eq!(
        load.span_context.trace_id(),
        server_span.span_context.trace_id()
    );
}

// ----- the final status ----------------------------------------------------

#[tokio::test]
async fn a_response_body_dropped_early_ends_the_server_span_cancelled() {
    let t = Telemetry::new();
    let (tx, body) = channel_body();
    let mut body = Some(body);
    let service = t.server().layer(service_fn(move |_: Request| {
        let body = body.take().expect("one call");
        async move { Ok::<_, Infallible>(streaming(body)) }
    }));
    let response = service
        .oneshot(grpc_request("/feed.Feed/Watch", GrpcBody::empty()))
        .await
        .unwrap();
    let mut body = Box::pin(response.into_body());
    tx.send(Ok(Frame::data(encode_raw(b"one", false)))).unwrap();
    body.frame().await.unwrap().unwrap();
    // The peer reset the stream: hyper drops the body.
    drop(body);
    let span = t.only_span();
    assert_eq!(
        text(&span, "rpc.response.status_code").as_deref(),
        Some("CANCELLED")
    );
    assert_eq!(text(&span, "error.type"), None, "not the server's failure");
}

#[tokio::test]
async fn a_server_future_dropped_before_the_head_ends_the_span_cancelled() {
    let t = Telemetry::new();
    let service = t.server().layer(service_fn(|_: Request| async {
        std::future::pending::<()>().await;
        Ok::<_, Infallible>(unary_ok(b""))
    }));
    let future = service.oneshot(grpc_request("/a.B/Slow", GrpcBody::empty()));
    assert!(tokio::time::timeout(Duration::from_millis(10), future)
        .await
        .is_err());
    let span = t.only_span();
    assert_eq!(
        text(&span, "rpc.response.status_code").as_deref(),
        Some("CANCELLED")
    );
}

#[tokio::test]
async fn a_client_that_gives_up_records_cancelled_as_an_error() {
    let t = Telemetry::new();
    // Before the head.
    let service = t.client().layer(service_fn(|_: Request| async {
        std::future::pending::<()>().await;
        Ok::<_, Infallible>(unary_ok(b""))
    }));
    let future = service.oneshot(grpc_request("/a.B/Slow", GrpcBody::empty()));
    assert!(tokio::time::timeout(Duration::from_millis(10), future)
        .await
        .is_err());
    let span = t.only_span();
    assert_eq!(
        text(&span, "rpc.response.status_code").as_deref(),
        Some("CANCELLED")
    );
    assert_eq!(text(&span, "error.type").as_deref(), Some("CANCELLED"));
    assert!(matches!(span.status, SpanStatus::Error { .. }));

    // After the head, before the end of the stream.
    let t = Telemetry::new();
    let service = t.client().layer(service_fn(|_: Request| async {
        Ok::<_, Infallible>(streaming(ScriptedBody::messages([b"a", b"b"])))
    }));
    let response = service
        .oneshot(grpc_request("/a.B/Stream", GrpcBody::empty()))
        .await
        .unwrap();
    let mut body = Box::pin(response.into_body());
    body.frame().await.unwrap().unwrap();
    drop(body);
    let span = t.only_span();
    assert_eq!(
        text(&span, "rpc.response.status_code").as_deref(),
        Some("CANCELLED")
    );
}

#[tokio::test]
async fn a_reset_stream_is_recorded_with_the_code_of_the_status_table() {
    for (reason, code) in [
        (h2::Reason::CANCEL, "CANCELLED"),
        (h2::Reason::REFUSED_STREAM, "UNAVAILABLE"),
        (h2::Reason::ENHANCE_YOUR_CALM, "RESOURCE_EXHAUSTED"),
        (h2::Reason::INTERNAL_ERROR, "INTERNAL"),
    ] {
        let t = Telemetry::new();
        let (tx, body) = channel_body();
        let mut body = Some(body);
        let service = t.client().layer(service_fn(move |_: Request| {
            let body = body.take().expect("one call");
            async move { Ok::<_, Infallible>(streaming(body)) }
        }));
        let response = service
            .oneshot(grpc_request("/a.B/Stream", GrpcBody::empty()))
            .await
            .unwrap();
        tx.send(Err(Box::new(h2::Error::from(reason)))).unwrap();
        let err = drain(response.into_body()).await.unwrap_err();
        assert!(
            grpc_core::status::find_in_chain::<h2::Error>(&*err).is_some(),
            "the error passes on"
        );
        let span = t.only_span();
        assert_eq!(
            text(&span, "rpc.response.status_code").as_deref(),
            Some(code)
        );
    }
}

#[tokio::test]
async fn a_body_that_ends_without_a_status_is_internal() {
    let t = Telemetry::new();
    let service = t.client().layer(service_fn(|_: Request| async {
        Ok::<_, Infallible>(streaming(ScriptedBody::messages([b"a"])))
    }));
    let response = service
        .oneshot(grpc_request("/a.B/C", GrpcBody::empty()))
        .await
        .unwrap();
    drain(response.into_body()).await.unwrap();
    let span = t.only_span();
    assert_eq!(
        text(&span, "rpc.response.status_code").as_deref(),
        Some("INTERNAL")
    );
}

#[tokio::test]
async fn errors_of_the_inner_service_are_recorded_and_passed_on() {
    // Server: the stream is reset, which the client reads as INTERNAL.
    let t = Telemetry::new();
    let service = t.server().layer(service_fn(|_: Request| async {
        Err::<Response, _>(std::io::Error::other("disk on fire"))
    }));
    let err = service
        .oneshot(grpc_request("/a.B/C", GrpcBody::empty()))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "disk on fire");
    assert_eq!(
        text(&t.only_span(), "rpc.response.status_code").as_deref(),
        Some("INTERNAL")
    );

    // Client: classified like the status layer does.
    let t = Telemetry::new();
    let service = t.client().layer(service_fn(|_: Request| async {
        Err::<Response, _>(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
    }));
    let err = service
        .oneshot(grpc_request("/a.B/C", GrpcBody::empty()))
        .await
        .unwrap_err();
    assert!(err.downcast_ref::<std::io::Error>().is_some());
    assert_eq!(
        text(&t.only_span(), "rpc.response.status_code").as_deref(),
        Some("UNAVAILABLE")
    );
}

#[cfg(feature = "deadline")]
#[tokio::test]
async fn the_client_deadline_layers_deadline_exceeded_is_recorded() {
    use crate::deadline::ClientDeadlineLayer;

    let t = Telemetry::new();
    let service = tower::ServiceBuilder::new()
        .layer(t.client())
        .layer(ClientDeadlineLayer::new().default_timeout(Duration::from_millis(20)))
        .service(service_fn(|_: Request| async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok::<_, Infallible>(unary_ok(b""))
        }));
    let response = service
        .oneshot(grpc_request("/a.B/Slow", GrpcBody::empty()))
        .await
        .unwrap();
    assert_eq!(
        Status::from_headers(response.headers()).map(|status| status.code()),
        Some(grpc_core::Code::DeadlineExceeded),
        "a trailers-only answer"
    );
    drop(response);
    let span = t.only_span();
    assert_eq!(
        text(&span, "rpc.response.status_code").as_deref(),
        Some("DEADLINE_EXCEEDED")
    );
    assert_eq!(
        text(&span, "error.type").as_deref(),
        Some("DEADLINE_EXCEEDED")
    );
}

// ----- metadata and events -------------------------------------------------

#[tokio::test]
async fn only_listed_metadata_keys_are_recorded() {
    let t = Telemetry::new();
    let service = t
        .server()
        .request_metadata([http::HeaderName::from_static("x-tenant")])
        .response_metadata([http::HeaderName::from_static("x-served-by")])
        .layer(service_fn(|_: Request| async {
            let mut trailers = Status::ok().to_headers();
            trailers.insert("x-served-by", HeaderValue::from_static("trailer"));
            trailers.insert("x-other", HeaderValue::from_static("no"));
            let mut response = streaming(GrpcBody::once(encode_raw(b"", false), Some(trailers)));
            response
                .headers_mut()
                .insert("x-served-by", HeaderValue::from_static("head"));
            Ok::<_, Infallible>(response)
        }));
    let mut request = grpc_request("/a.B/C", GrpcBody::empty());
    request
        .headers_mut()
        .append("x-tenant", HeaderValue::from_static("acme"));
    request
        .headers_mut()
        .append("x-tenant", HeaderValue::from_static("globex"));
    request
        .headers_mut()
        .insert("authorization", HeaderValue::from_static("Bearer secret"));
    let response = service.oneshot(request).await.unwrap();
    drain(response.into_body()).await.unwrap();

    let span = t.only_span();
    let strings = |values: &[&'static str]| {
        Value::Array(Array::String(values.iter().map(|v| (*v).into()).collect()))
    };
    assert_eq!(
        attribute(&span, "rpc.request.metadata.x-tenant"),
        Some(strings(&["acme", "globex"]))
    );
    assert_eq!(
        attribute(&span, "rpc.response.metadata.x-served-by"),
        Some(strings(&["head", "trailer"]))
    );
    let metadata: Vec<&str> = span
        .attributes
        .iter()
        .map(|kv| kv.key.as_str())
        .filter(|k| k.contains(".metadata."))
        .collect();
    assert_eq!(metadata.len(), 2, "nothing unlisted: {metadata:?}");
}

#[tokio::test]
async fn no_metadata_is_recorded_unless_listed() {
    let t = Telemetry::new();
    let service = t.client().layer(service_fn(|_: Request| async {
        Ok::<_, Infallible>(unary_ok(b""))
    }));
    let mut request = grpc_request("/a.B/C", GrpcBody::empty());
    request
        .headers_mut()
        .insert("x-tenant", HeaderValue::from_static("acme"));
    let response = service.oneshot(request).await.unwrap();
    drain(response.into_body()).await.unwrap();
    let span = t.only_span();
    assert!(span
        .attributes
        .iter()
        .all(|kv| !kv.key.as_str().contains("metadata")));
}

#[tokio::test]
async fn message_events_name_each_message_in_order_when_on() {
    let t = Telemetry::new();
    let service =
        t.server()
            .message_events(true)
            .layer(service_fn(|request: Request| async move {
                drain(request.into_body()).await.unwrap();
                let reply = [encode_raw(b"12345", false), encode_raw(b"zz", true)].concat();
                Ok::<_, Infallible>(streaming(GrpcBody::once(
                    Bytes::from(reply),
                    Some(Status::ok().to_headers()),
                )))
            }));
    let request = grpc_request(
        "/a.B/C",
        GrpcBody::new(ScriptedBody::messages([b"abc" as &[u8], b"defg"])),
    );
    let response = service.oneshot(request).await.unwrap();
    drain(response.into_body()).await.unwrap();
    let span = t.only_span();
    let events: Vec<(String, Vec<(String, String)>)> = span
        .events
        .iter()
        .map(|e| {
            (
                e.name.to_string(),
                e.attributes
                    .iter()
                    .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                    .collect(),
            )
        })
        .collect();
    let event = |name: &str, seq: &str, key: &str, size: &str| {
        (
            name.to_owned(),
            vec![
                ("sequence-number".to_owned(), seq.to_owned()),
                (key.to_owned(), size.to_owned()),
            ],
        )
    };
    assert_eq!(
        events,
        vec![
            event("Inbound message", "0", "message-size", "3"),
            event("Inbound message", "1", "message-size", "4"),
            event("Outbound message", "0", "message-size", "5"),
            event("Outbound message", "1", "message-size-compressed", "2"),
        ]
    );
}

// ----- metrics -------------------------------------------------------------

#[tokio::test]
async fn the_duration_histograms_count_calls_by_method_and_status() {
    let t = Telemetry::new();
    let service = t.server().layer(service_fn(|request: Request| async move {
        if request.uri().path() == "/a.B/Missing" {
            return Ok::<_, Infallible>(Status::not_found("none").into_http::<GrpcBody>());
        }
        Ok(unary_ok(b"ok"))
    }));
    for path in ["/a.B/Get", "/a.B/Get", "/a.B/Get", "/a.B/Missing"] {
        let response = service
            .clone()
            .oneshot(grpc_request(path, GrpcBody::empty()))
            .await
            .unwrap();
        drain(response.into_body()).await.unwrap();
    }
    let mut points = t.points("rpc.server.call.duration");
    points.sort_by_key(|p| p.count);
    assert_eq!(points.len(), 2, "{points:#?}");
    let (missing, ok) = (&points[0], &points[1]);
    assert_eq!(ok.count, 3);
    assert_eq!(
        ok.attributes,
        vec![
            ("rpc.method".to_owned(), "a.B/Get".to_owned()),
            ("rpc.response.status_code".to_owned(), "OK".to_owned()),
            ("rpc.system.name".to_owned(), "grpc".to_owned()),
        ]
    );
    assert_eq!(missing.count, 1);
    assert_eq!(
        missing.attribute("rpc.response.status_code"),
        Some("NOT_FOUND")
    );
    assert_eq!(missing.attribute("error.type"), None);
    assert_eq!(ok.bounds, RPC_DURATION_BUCKETS.to_vec());
    assert!(ok.sum > 0.0 && ok.sum < 10.0, "seconds: {}", ok.sum);
    assert!(
        !t.metric_names().iter().any(|n| n.starts_with("grpc.")),
        "A66 metrics are off by default: {:?}",
        t.metric_names()
    );
}

#[tokio::test]
async fn a_failed_client_call_names_its_error_and_server_in_the_histogram() {
    let t = Telemetry::new();
    let service = t
        .client()
        .target("api.example.com:443")
        .layer(service_fn(|_: Request| async {
            Ok::<_, Infallible>(Status::unavailable("down").into_http::<GrpcBody>())
        }));
    let response = service
        .oneshot(grpc_request("/a.B/C", GrpcBody::empty()))
        .await
        .unwrap();
    drain(response.into_body()).await.unwrap();
    let points = t.points("rpc.client.call.duration");
    assert_eq!(points.len(), 1);
    assert_eq!(
        points[0].attributes,
        vec![
            ("error.type".to_owned(), "UNAVAILABLE".to_owned()),
            ("rpc.method".to_owned(), "a.B/C".to_owned()),
            (
                "rpc.response.status_code".to_owned(),
                "UNAVAILABLE".to_owned()
            ),
            ("rpc.system.name".to_owned(), "grpc".to_owned()),
            ("server.address".to_owned(), "api.example.com".to_owned()),
            ("server.port".to_owned(), "443".to_owned()),
        ]
    );
}

#[tokio::test]
async fn the_a66_server_instruments_count_calls_and_compressed_bytes() {
    let t = Telemetry::new();
    let service = t
        .server()
        .grpc_metrics(true)
        .layer(service_fn(|request: Request| async move {
            drain(request.into_body()).await.unwrap();
            Ok::<_, Infallible>(unary_ok(b"12345"))
        }));
    for _ in 0..2 {
        let request = grpc_request(
            "/size.S/M",
            GrpcBody::new(ScriptedBody::new([
                // Two messages, the second split inside its prefix.
                [encode_raw(b"abc", false), encode_raw(b"defg", true)].concat()[..10].to_vec(),
                [encode_raw(b"abc", false), encode_raw(b"defg", true)].concat()[10..].to_vec(),
            ])),
        );
        let response = service.clone().oneshot(request).await.unwrap();
        drain(response.into_body()).await.unwrap();
    }
    let started = t.points("grpc.server.call.started");
    assert_eq!(started.len(), 1, "{started:#?}");
    assert_eq!(started[0].count, 2);
    assert_eq!(
        started[0].attributes,
        vec![("grpc.method".to_owned(), "size.S/M".to_owned())]
    );
    let attrs = vec![
        ("grpc.method".to_owned(), "size.S/M".to_owned()),
        ("grpc.status".to_owned(), "OK".to_owned()),
    ];
    let duration = t.points("grpc.server.call.duration");
    assert_eq!((duration[0].count, &duration[0].attributes), (2, &attrs));
    assert_eq!(duration[0].bounds, A66_LATENCY_BUCKETS.to_vec());
    let rcvd = t.points("grpc.server.call.rcvd_total_compressed_message_size");
    assert_eq!(
        (rcvd[0].count, rcvd[0].sum),
        (2, 14.0),
        "3 + 4 bytes per call"
    );
    assert_eq!(rcvd[0].bounds, A66_SIZE_BUCKETS.to_vec());
    assert_eq!(rcvd[0].attributes, attrs);
    let sent = t.points("grpc.server.call.sent_total_compressed_message_size");
    assert_eq!((sent[0].count, sent[0].sum), (2, 10.0), "5 bytes per call");
}

#[tokio::test]
async fn the_a66_client_instruments_record_the_attempt_and_the_call() {
    let t = Telemetry::new();
    let service = t
        .client()
        .target("dns:///backend.local:9000")
        .grpc_metrics(true)
        .layer(service_fn(|request: Request| async move {
            drain(request.into_body()).await.unwrap();
            Ok::<_, Infallible>(unary_ok(b"123456"))
        }));
    let request = grpc_request("/c.C/M", GrpcBody::once(encode_raw(b"hello", false), None));
    let response = service.oneshot(request).await.unwrap();
    drain(response.into_body()).await.unwrap();
    let target = (
        "grpc.target".to_owned(),
        "dns:///backend.local:9000".to_owned(),
    );
    let started = t.points("grpc.client.attempt.started");
    assert_eq!(started[0].count, 1);
    assert_eq!(
        started[0].attributes,
        vec![
            ("grpc.method".to_owned(), "c.C/M".to_owned()),
            target.clone()
        ]
    );
    let attrs = vec![
        ("grpc.method".to_owned(), "c.C/M".to_owned()),
        ("grpc.status".to_owned(), "OK".to_owned()),
        target,
    ];
    for name in ["grpc.client.attempt.duration", "grpc.client.call.duration"] {
        let points = t.points(name);
        assert_eq!(
            (points[0].count, &points[0].attributes),
            (1, &attrs),
            "{name}"
        );
        assert_eq!(points[0].bounds, A66_LATENCY_BUCKETS.to_vec());
    }
    let sent = t.points("grpc.client.attempt.sent_total_compressed_message_size");
    assert_eq!(sent[0].sum, 5.0);
    let rcvd = t.points("grpc.client.attempt.rcvd_total_compressed_message_size");
    assert_eq!(rcvd[0].sum, 6.0);
}

#[tokio::test]
async fn a_client_request_body_of_another_type_passes_as_it_is_and_its_sent_size_is_not_recorded() {
    let t = Telemetry::new();
    // The inner service takes exactly the body type the caller sends, as
    // tonic's Channel does.
    let service = t
        .client()
        .target("dns:///backend.local:9000")
        .grpc_metrics(true)
        .layer(service_fn(
            |request: http::Request<Full<Bytes>>| async move {
                drain(request.into_body()).await.unwrap();
                Ok::<_, Infallible>(unary_ok(b"123456"))
            },
        ));
    let mut request = http::Request::new(Full::new(encode_raw(b"hello", false)));
    *request.uri_mut() = "/c.C/M".parse().unwrap();
    request
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/grpc"));
    let response = service.oneshot(request).await.unwrap();
    drain(response.into_body()).await.unwrap();
    assert_eq!(t.points("grpc.client.attempt.duration")[0].count, 1);
    let rcvd = t.points("grpc.client.attempt.rcvd_total_compressed_message_size");
    assert_eq!(rcvd[0].sum, 6.0);
    assert!(
        t.points("grpc.client.attempt.sent_total_compressed_message_size")
            .is_empty(),
        "not counted, so not recorded as 0"
    );
}

// ----- passthrough, providers, readiness -----------------------------------

#[tokio::test]
async fn requests_that_are_not_grpc_pass_untouched() {
    let t = Telemetry::new();
    let service = t
        .server()
        .grpc_metrics(true)
        .layer(service_fn(|_: Request| async {
            Ok::<_, Infallible>(http::Response::new(GrpcBody::empty()))
        }));
    let mut request = http::Request::new(GrpcBody::empty());
    *request.uri_mut() = "/health".parse().unwrap();
    let response = service.oneshot(request).await.unwrap();
    drain(response.into_body()).await.unwrap();
    assert!(t.spans().is_empty());
    assert!(t.metric_names().is_empty(), "{:?}", t.metric_names());
}

#[tokio::test]
async fn without_an_sdk_the_layers_record_nothing_and_propagate_nothing_new() {
    // The global providers are the no-op ones: nothing installs an SDK
    // globally in these tests.
    let server = ServerTelemetryLayer::new().layer(service_fn(|request: Request| async move {
        assert!(!Context::current().span().is_recording());
        assert!(request.headers().get("traceparent").is_none());
        Ok::<_, Infallible>(unary_ok(b"ok"))
    }));
    let client = ClientTelemetryLayer::new().layer(server);
    let response = client
        .oneshot(grpc_request("/a.B/C", GrpcBody::empty()))
        .await
        .unwrap();
    let trailers = drain(response.into_body()).await.unwrap().unwrap();
    assert_eq!(trailers["grpc-status"], "0");
}

#[tokio::test]
async fn both_sides_forward_readiness_and_a_clone_is_not_ready() {
    let t = Telemetry::new();
    let (mut service, mut handle) = mock::spawn_layer::<Request, Response, _>(t.server());
    handle.allow(0);
    assert!(service.poll_ready::<Request>().is_pending());
    handle.allow(1);
    assert!(service.is_woken());
    assert!(matches!(
        service.poll_ready::<Request>(),
        Poll::Ready(Ok(()))
    ));
    handle.allow(0);
    let mut clone = service.clone();
    assert!(
        clone.poll_ready::<Request>().is_pending(),
        "readiness is not cloned"
    );

    let (mut service, mut handle) = mock::spawn_layer::<Request, Response, _>(t.client());
    handle.allow(0);
    assert!(service.poll_ready::<Request>().is_pending());
    handle.send_error("connection refused");
    match service.poll_ready::<Request>() {
        Poll::Ready(Err(err)) => assert_eq!(err.to_string(), "connection refused"),
        other => panic!("expected the inner error, got {other:?}"),
    }
}

#[tokio::test]
async fn instruments_are_made_once_per_layer_not_per_call() {
    let t = Telemetry::new();
    let layer = t.server();
    let first = layer.shared();
    let service = layer.layer(service_fn(|_: Request| async {
        Ok::<_, Infallible>(unary_ok(b""))
    }));
    let _again = layer.layer(service_fn(|_: Request| async {
        Ok::<_, Infallible>(unary_ok(b""))
    }));
    assert!(std::sync::Arc::ptr_eq(&first, &layer.shared()));
    assert!(std::sync::Arc::ptr_eq(&first, &layer.clone().shared()));
    let mut service = service;
    for _ in 0..3 {
        let response = Service::call(&mut service, grpc_request("/a.B/C", GrpcBody::empty()))
            .await
            .unwrap();
        drain(response.into_body()).await.unwrap();
    }
    assert_eq!(
        std::sync::Arc::strong_count(&first),
        4,
        "the layer, two services, this"
    );
}

// ----- what can record is decided once per layer -----------------------------

const INCOMING: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[tokio::test]
async fn without_an_sdk_an_incoming_trace_reaches_the_handlers_downstream_calls() {
    // The global tracer and meter providers are the no-op ones.
    global::set_text_map_propagator(TraceContextPropagator::new());
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel();
    let downstream = service_fn(move |request: Request| {
        let seen = request.headers().get("traceparent").cloned();
        seen_tx.send(seen).unwrap();
        async { Ok::<_, Infallible>(unary_ok(b"down")) }
    });
    let client = ClientTelemetryLayer::new().layer(downstream);
    let server = ServerTelemetryLayer::new().layer(service_fn(move |request: Request| {
        let mut client = client.clone();
        let traced = request.headers().contains_key("traceparent");
        async move {
            let trace = Context::current().span().span_context().trace_id();
            if traced {
                assert_eq!(trace.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
            } else {
                assert_eq!(trace, opentelemetry::trace::TraceId::INVALID);
            }
            let response = ServiceExt::<Request>::ready(&mut client)
                .await
                .unwrap()
                .call(grpc_request("/down.D/Call", GrpcBody::empty()))
                .await
                .unwrap();
            drain(response.into_body()).await.unwrap();
            Ok::<_, Infallible>(unary_ok(b"ok"))
        }
    }));
    assert!(!ServerTelemetryLayer::new().shared().active);

    let mut request = grpc_request("/a.B/C", GrpcBody::empty());
    request
        .headers_mut()
        .insert("traceparent", HeaderValue::from_static(INCOMING));
    let response = server.clone().oneshot(request).await.unwrap();
    drain(response.into_body()).await.unwrap();
    // A no-op span carries its parent's context: the one that came in.
    assert_eq!(seen_rx.recv().await.unwrap().unwrap(), INCOMING);

    // Without an incoming trace, nothing is sent on.
    let response = server
        .oneshot(grpc_request("/a.B/C", GrpcBody::empty()))
        .await
        .unwrap();
    drain(response.into_body()).await.unwrap();
    assert_eq!(seen_rx.recv().await.unwrap(), None);
}

#[tokio::test]
async fn without_an_sdk_the_response_body_is_polled_in_the_incoming_context() {
    global::set_text_map_propagator(TraceContextPropagator::new());
    let server = ServerTelemetryLayer::new().layer(service_fn(|_: Request| async {
        let body = GrpcBody::once(encode_raw(b"m", false), Some(Status::ok().to_headers()));
        let checked = body.map_frame(|frame| {
            let trace = Context::current().span().span_context().trace_id();
            assert_eq!(trace.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
            frame
        });
        Ok::<_, Infallible>(streaming(checked))
    }));
    let mut request = grpc_request("/a.B/C", GrpcBody::empty());
    request
        .headers_mut()
        .insert("traceparent", HeaderValue::from_static(INCOMING));
    let response = server.oneshot(request).await.unwrap();
    let frames = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(frames, encode_raw(b"m", false));
}

#[tokio::test]
async fn an_sdk_tracer_or_meter_makes_a_layer_record_and_the_probe_is_not_exported() {
    let t = Telemetry::new();
    let sampled_out = SdkTracerProvider::builder()
        .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOff)
        .build();
    let layer = ServerTelemetryLayer::new().tracer_provider(&sampled_out);
    assert!(
        layer.shared().active,
        "a sampled-out SDK still gives span contexts"
    );
    assert!(!layer.shared().metering);

    let always_on = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOn)
        .with_simple_exporter(always_on.clone())
        .build();
    let layer = ClientTelemetryLayer::new().tracer_provider(&provider);
    assert!(layer.shared().active);
    assert!(always_on.get_finished_spans().unwrap().is_empty());
    ServerTelemetryLayer::new()
        .tracer_provider(&t.tracer)
        .shared();
    assert!(t.spans().is_empty(), "the probe is not exported");

    let noop = ServerTelemetryLayer::new()
        .tracer_provider(&opentelemetry::trace::noop::NoopTracerProvider::new())
        .meter_provider(&opentelemetry::metrics::noop::NoopMeterProvider::new());
    assert!(!noop.shared().active);

    // Metrics alone (no-op global tracer) are recorded.
    let layer = ServerTelemetryLayer::new().meter_provider(&t.meter);
    assert!(layer.shared().active && layer.shared().metering);
    let response = layer
        .layer(service_fn(|_: Request| async {
            Ok::<_, Infallible>(unary_ok(b"ok"))
        }))
        .oneshot(grpc_request("/a.B/C", GrpcBody::empty()))
        .await
        .unwrap();
    drain(response.into_body()).await.unwrap();
    let points = t.points("rpc.server.call.duration");
    assert_eq!(points.len(), 1, "{points:?}");
    assert_eq!(points[0].count, 1);
    assert!(t.spans().is_empty());
}
