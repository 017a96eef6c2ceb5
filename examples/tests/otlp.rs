//! A real OTLP pipeline: the OTLP collector services (trace and metrics
//! `Export`, with the message types of `opentelemetry-proto`) served by our
//! own server, and the demo and the interop server exporting to it through
//! `opentelemetry-otlp`'s gRPC exporter (a tonic client, so this is interop
//! too), switched on by the standard `OTEL_*` environment variables.

mod support;

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use grpc_core::codec::ProstCodec;
use grpc_core::{GrpcMethod, Response};
use grpc_server::{handler, Router, Server};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::AggregationTemporality;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::Span;
use support::LIMIT;
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::sync::oneshot;

/// What the collector received.
#[derive(Clone, Default)]
struct Received {
    traces: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
    metrics: Arc<Mutex<Vec<ExportMetricsServiceRequest>>>,
}

impl Received {
    /// Every span received, with its resource's `service.name`.
    fn spans(&self) -> Vec<(String, Span)> {
        let mut out = Vec::new();
        for request in self.traces.lock().unwrap().iter() {
            for resource in &request.resource_spans {
                let service = resource
                    .resource
                    .as_ref()
                    .and_then(|r| string_attr(&r.attributes, "service.name"))
                    .unwrap_or_default();
                for scope in &resource.scope_spans {
                    for span in &scope.spans {
                        out.push((service.clone(), span.clone()));
                    }
                }
            }
        }
        out
    }

    /// The count of histogram `name`, by the value of attribute `by`. The
    /// SDK exports cumulative points, each export repeating the totals so
    /// far (the periodic one, then the flush at shutdown), so the last point
    /// of each attribute set is the count; the counts of the sets that share
    /// a value of `by` are summed.
    fn histogram_counts(&self, name: &str, by: &str) -> HashMap<String, u64> {
        let mut last: HashMap<String, (String, u64)> = HashMap::new();
        for request in self.metrics.lock().unwrap().iter() {
            for resource in &request.resource_metrics {
                for scope in &resource.scope_metrics {
                    for metric in scope.metrics.iter().filter(|m| m.name == name) {
                        if let Some(Data::Histogram(h)) = &metric.data {
                            assert_eq!(
                                h.aggregation_temporality,
                                AggregationTemporality::Cumulative as i32
                            );
                            for point in &h.data_points {
                                let mut set: Vec<String> = point
                                    .attributes
                                    .iter()
                                    .map(|kv| format!("{}={:?}", kv.key, kv.value))
                                    .collect();
                                set.sort();
                                let key = string_attr(&point.attributes, by).unwrap_or_default();
                                last.insert(set.join(","), (key, point.count));
                            }
                        }
                    }
                }
            }
        }
        let mut counts = HashMap::new();
        for (key, count) in last.into_values() {
            *counts.entry(key).or_default() += count;
        }
        counts
    }

    fn metric_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for request in self.metrics.lock().unwrap().iter() {
            for resource in &request.resource_metrics {
                for scope in &resource.scope_metrics {
                    names.extend(scope.metrics.iter().map(|m| m.name.clone()));
                }
            }
        }
        names.sort();
        names.dedup();
        names
    }
}

fn string_attr(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| match &v.value {
            Some(Value::StringValue(s)) => Some(s.clone()),
            Some(Value::IntValue(i)) => Some(i.to_string()),
            _ => None,
        })
}

struct Collector {
    endpoint: String,
    received: Received,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Collector {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn start_collector() -> Collector {
    let received = Received::default();
    let traces = received.traces.clone();
    let metrics = received.metrics.clone();
    let router = Router::new()
        .route(
            GrpcMethod::new(
                "opentelemetry.proto.collector.trace.v1.TraceService",
                "Export",
            ),
            handler::unary(
                ProstCodec::<ExportTraceServiceResponse, ExportTraceServiceRequest>::default(),
                move |request: grpc_core::Request<ExportTraceServiceRequest>| {
                    let traces = traces.clone();
                    async move {
                        traces.lock().unwrap().push(request.into_inner());
                        Ok(Response::new(ExportTraceServiceResponse::default()))
                    }
                },
            ),
        )
        .route(
            GrpcMethod::new(
                "opentelemetry.proto.collector.metrics.v1.MetricsService",
                "Export",
            ),
            handler::unary(
                ProstCodec::<ExportMetricsServiceResponse, ExportMetricsServiceRequest>::default(),
                move |request: grpc_core::Request<ExportMetricsServiceRequest>| {
                    let metrics = metrics.clone();
                    async move {
                        metrics.lock().unwrap().push(request.into_inner());
                        Ok(Response::new(ExportMetricsServiceResponse::default()))
                    }
                },
            ),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(Server::new().serve_with_shutdown(listener, router, async {
        let _ = stopped.await;
    }));
    Collector {
        endpoint: format!("http://{addr}"),
        received,
        stop: Some(stop),
    }
}

/// The standard variables that point both signals at `collector`, with
/// everything else of the environment that could interfere removed.
fn otel_env(command: &mut Command, collector: &Collector, service: &str) {
    for (name, _) in std::env::vars() {
        if name.starts_with("OTEL_") {
            command.env_remove(name);
        }
    }
    command
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.endpoint)
        .env("OTEL_SERVICE_NAME", service)
        .env("OTEL_TRACES_SAMPLER", "always_on")
        // Frequent metric exports; the final flush at exit sends the rest.
        .env("OTEL_METRIC_EXPORT_INTERVAL", "500");
}

fn spans_named<'a>(spans: &'a [(String, Span)], name: &str, kind: SpanKind) -> Vec<&'a Span> {
    spans
        .iter()
        .map(|(_, s)| s)
        .filter(|s| s.name == name && s.kind == kind as i32)
        .collect()
}

#[tokio::test]
async fn the_demo_exports_linked_client_and_server_spans_and_call_durations() {
    let collector = start_collector().await;
    let mut command = Command::new(env!("CARGO_BIN_EXE_demo"));
    otel_env(&mut command, &collector, "otlp-test-demo");
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let output = tokio::time::timeout(LIMIT, command.output())
        .await
        .expect("the demo finishes")
        .expect("the demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "demo failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("telemetry    flushed"),
        "{stdout}\n{stderr}"
    );

    let spans = collector.received.spans();
    assert!(
        spans.iter().all(|(service, _)| service == "otlp-test-demo"),
        "OTEL_SERVICE_NAME names the resource"
    );
    // Hello is called twice (once failing on purpose); each side spans both.
    let servers = spans_named(&spans, "demo.Chat/Hello", SpanKind::Server);
    let clients = spans_named(&spans, "demo.Chat/Hello", SpanKind::Client);
    assert_eq!(servers.len(), 2, "server spans: {spans:#?}");
    assert_eq!(clients.len(), 2, "client spans");
    for server in &servers {
        let parent = clients
            .iter()
            .find(|c| c.span_id == server.parent_span_id)
            .expect("each server span's parent is a client span of the same call");
        assert_eq!(parent.trace_id, server.trace_id, "one trace per call");
        assert_eq!(
            string_attr(&server.attributes, "rpc.system.name").as_deref(),
            Some("grpc")
        );
        assert_eq!(
            string_attr(&server.attributes, "rpc.method").as_deref(),
            Some("demo.Chat/Hello")
        );
    }
    let codes: Vec<_> = servers
        .iter()
        .filter_map(|s| string_attr(&s.attributes, "rpc.response.status_code"))
        .collect();
    assert!(codes.contains(&"OK".to_owned()), "{codes:?}");
    assert!(codes.contains(&"INVALID_ARGUMENT".to_owned()), "{codes:?}");
    for method in ["Countdown", "Sum", "Converse"] {
        let name = format!("demo.Chat/{method}");
        assert_eq!(
            spans_named(&spans, &name, SpanKind::Server).len(),
            1,
            "{name}"
        );
        assert_eq!(
            spans_named(&spans, &name, SpanKind::Client).len(),
            1,
            "{name}"
        );
    }

    let names = collector.received.metric_names();
    for name in ["rpc.server.call.duration", "rpc.client.call.duration"] {
        assert!(
            names.contains(&name.to_owned()),
            "{name} missing from {names:?}"
        );
        let counts = collector.received.histogram_counts(name, "rpc.method");
        assert_eq!(
            counts.get("demo.Chat/Hello"),
            Some(&2),
            "{name}: {counts:?}"
        );
        assert_eq!(counts.get("demo.Chat/Sum"), Some(&1), "{name}: {counts:?}");
    }
}

#[tokio::test]
async fn the_interop_server_drains_then_flushes_on_sigterm() {
    let collector = start_collector().await;
    let mut command = Command::new(env!("CARGO_BIN_EXE_interop-server"));
    command.args(["--port", "0", "--use_tls", "false"]);
    otel_env(&mut command, &collector, "otlp-test-interop");
    // A long batch delay: what arrives was sent by the flush at shutdown.
    command.env("OTEL_BSP_SCHEDULE_DELAY", "600000");
    command.env("OTEL_METRIC_EXPORT_INTERVAL", "600000");
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut server = command.spawn().expect("the interop server starts");
    let stdout = server.stdout.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let addr = tokio::time::timeout(LIMIT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.strip_prefix("listening on ") {
                return rest.split(' ').next().unwrap().to_owned();
            }
        }
        panic!("the interop server exited before listening");
    })
    .await
    .expect("the interop server listens");
    let port = addr.rsplit(':').next().unwrap().to_owned();

    let client = Command::new(env!("CARGO_BIN_EXE_interop-client"))
        .args([
            "--server_host",
            "127.0.0.1",
            "--server_port",
            &port,
            "--test_case",
            "large_unary",
        ])
        .output();
    let client = tokio::time::timeout(LIMIT, client)
        .await
        .expect("the client finishes")
        .expect("the client runs");
    assert!(
        client.status.success(),
        "{}",
        String::from_utf8_lossy(&client.stderr)
    );
    assert!(
        collector.received.spans().is_empty(),
        "nothing is exported before the shutdown flush"
    );

    let pid = server.id().expect("running").to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    let mut rest = String::new();
    let status = tokio::time::timeout(LIMIT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            rest.push_str(&line);
            rest.push('\n');
        }
        server.wait().await.unwrap()
    })
    .await
    .expect("the server exits after SIGTERM");
    assert!(status.success(), "exit status {status:?}, output:\n{rest}");
    assert!(
        rest.contains("drained") && rest.contains("telemetry flushed"),
        "{rest}"
    );

    let spans = collector.received.spans();
    let calls = spans_named(
        &spans,
        "grpc.testing.TestService/UnaryCall",
        SpanKind::Server,
    );
    assert_eq!(calls.len(), 1, "{spans:#?}");
    assert!(spans
        .iter()
        .all(|(service, _)| service == "otlp-test-interop"));
    let durations = collector
        .received
        .histogram_counts("rpc.server.call.duration", "rpc.method");
    assert_eq!(
        durations.get("grpc.testing.TestService/UnaryCall"),
        Some(&1),
        "{durations:?}"
    );
}
