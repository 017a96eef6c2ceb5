//! OTLP export for the example programs (the demo and the interop server),
//! switched on and configured by OpenTelemetry's standard environment
//! variables, and off when none of them is set.
//!
//! ```sh
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 OTEL_SERVICE_NAME=demo \
//!     cargo run -p examples --bin demo
//! ```
//!
//! What is read, and by whom:
//!
//! | variable | effect |
//! |---|---|
//! | `OTEL_SDK_DISABLED=true` | everything off |
//! | `OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER` | `otlp` or `none`; unset means `otlp` when an OTLP endpoint is set, else off |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` (and the `_TRACES_` / `_METRICS_` ones) | where to export (read by `opentelemetry-otlp`; default `http://localhost:4317`) |
//! | `OTEL_EXPORTER_OTLP_PROTOCOL` (and the per-signal ones) | `grpc` (the only protocol built into these programs; anything else is refused with a clear error) |
//! | `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` | the resource (read by the SDK) |
//! | `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG` | the sampler (read by the SDK; default `parentbased_always_on`) |
//! | `OTEL_METRIC_EXPORT_INTERVAL` | milliseconds between metric exports (read by the SDK; default 60 000) |
//! | `OTEL_PROPAGATORS` | `tracecontext`, `baggage` (comma-separated; default both) or `none` |
//!
//! The exporter is `opentelemetry-otlp`'s gRPC exporter, which is a
//! different gRPC client stack from ours (tonic): `examples/tests/otlp.rs`
//! serves the OTLP collector services with our own server and checks what
//! arrives.
//!
//! Install with [`Telemetry::from_env`] inside the tokio runtime, and call
//! [`Telemetry::shutdown`] after the server has drained, so everything
//! recorded is exported before the program exits.

use std::fmt;

use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry_otlp::{MetricExporter, SpanExporter};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;

/// What the environment asks for; see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Export spans over OTLP.
    pub traces: bool,
    /// Export metrics over OTLP.
    pub metrics: bool,
    /// Install the W3C trace-context propagator.
    pub trace_context: bool,
    /// Install the W3C baggage propagator.
    pub baggage: bool,
}

/// The environment asks for something these programs cannot do.
#[derive(Debug)]
pub struct TelemetryError(String);

impl fmt::Display for TelemetryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TelemetryError {}

impl Settings {
    /// Reads the settings through `var` (the process environment in
    /// [`Telemetry::from_env`]; a table in tests).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Settings, TelemetryError> {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let off = Settings {
            traces: false,
            metrics: false,
            trace_context: false,
            baggage: false,
        };
        if set("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            return Ok(off);
        }
        let any_endpoint = set("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
        let signal = |exporter_var: &str, endpoint_var: &str, protocol_var: &str| {
            let on = match set(exporter_var) {
                None => any_endpoint || set(endpoint_var).is_some(),
                Some(value) => {
                    let mut on = false;
                    for name in value.split(',').map(str::trim) {
                        match name {
                            "otlp" => on = true,
                            "none" => {}
                            other => {
                                return Err(TelemetryError(format!(
                                    "{exporter_var}={other}: only `otlp` and `none` are built into this program"
                                )))
                            }
                        }
                    }
                    on
                }
            };
            if on {
                let protocol = set(protocol_var).or_else(|| set("OTEL_EXPORTER_OTLP_PROTOCOL"));
                if let Some(protocol) = protocol {
                    if protocol.trim() != "grpc" {
                        return Err(TelemetryError(format!(
                            "OTLP protocol {protocol:?}: only `grpc` is built into this program"
                        )));
                    }
                }
            }
            Ok(on)
        };
        let traces = signal(
            "OTEL_TRACES_EXPORTER",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        )?;
        let metrics = signal(
            "OTEL_METRICS_EXPORTER",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
        )?;
        if !traces && !metrics {
            return Ok(off);
        }
        let (mut trace_context, mut baggage) = (true, true);
        if let Some(list) = set("OTEL_PROPAGATORS") {
            (trace_context, baggage) = (false, false);
            for name in list.split(',').map(str::trim) {
                match name {
                    "tracecontext" => trace_context = true,
                    "baggage" => baggage = true,
                    "none" => {}
                    other => {
                        return Err(TelemetryError(format!(
                            "OTEL_PROPAGATORS={other}: only `tracecontext`, `baggage` and `none` are built into this program"
                        )))
                    }
                }
            }
        }
        Ok(Settings {
            traces,
            metrics,
            trace_context,
            baggage,
        })
    }
}

/// The installed providers, to flush and shut down at exit.
#[derive(Debug, Default)]
pub struct Telemetry {
    tracer_provider: Option<SdkTracerProvider>,
    meter_provider: Option<SdkMeterProvider>,
}

impl Telemetry {
    /// Reads the environment and installs the global tracer provider, meter
    /// provider and propagator it asks for; nothing when it asks for
    /// nothing. Must run inside a tokio runtime (the gRPC exporter's
    /// connection lives on it).
    pub fn from_env() -> Result<Telemetry, TelemetryError> {
        let settings = Settings::from_lookup(|name| std::env::var(name).ok())?;
        Telemetry::install(&settings)
    }

    /// Installs what `settings` asks for.
    pub fn install(settings: &Settings) -> Result<Telemetry, TelemetryError> {
        let mut telemetry = Telemetry::default();
        if !settings.traces && !settings.metrics {
            return Ok(telemetry);
        }
        let resource = Resource::builder().build();
        if settings.traces {
            let exporter = SpanExporter::builder()
                .with_tonic()
                .build()
                .map_err(|e| TelemetryError(format!("the OTLP span exporter: {e}")))?;
            let provider = SdkTracerProvider::builder()
                .with_resource(resource.clone())
                .with_batch_exporter(exporter)
                .build();
            opentelemetry::global::set_tracer_provider(provider.clone());
            telemetry.tracer_provider = Some(provider);
        }
        if settings.metrics {
            let exporter = MetricExporter::builder()
                .with_tonic()
                .build()
                .map_err(|e| TelemetryError(format!("the OTLP metric exporter: {e}")))?;
            let provider = SdkMeterProvider::builder()
                .with_resource(resource)
                .with_periodic_exporter(exporter)
                .build();
            opentelemetry::global::set_meter_provider(provider.clone());
            telemetry.meter_provider = Some(provider);
        }
        let mut propagators: Vec<
            Box<dyn opentelemetry::propagation::TextMapPropagator + Send + Sync>,
        > = Vec::new();
        if settings.trace_context {
            propagators.push(Box::new(TraceContextPropagator::new()));
        }
        if settings.baggage {
            propagators.push(Box::new(BaggagePropagator::new()));
        }
        opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(
            propagators,
        ));
        Ok(telemetry)
    }

    /// Whether anything is exported.
    pub fn is_on(&self) -> bool {
        self.tracer_provider.is_some() || self.meter_provider.is_some()
    }

    /// Exports what is still buffered, then shuts the providers down. Call
    /// it after the server has drained its calls. Blocks (the SDK's
    /// exporters run on their own threads), so call it from
    /// `tokio::task::spawn_blocking` or after leaving async code.
    pub fn shutdown(self) -> Result<(), TelemetryError> {
        let mut problems = Vec::new();
        if let Some(provider) = self.tracer_provider {
            if let Err(e) = provider.force_flush() {
                problems.push(format!("flushing spans: {e}"));
            }
            if let Err(e) = provider.shutdown() {
                problems.push(format!("shutting down tracing: {e}"));
            }
        }
        if let Some(provider) = self.meter_provider {
            if let Err(e) = provider.force_flush() {
                problems.push(format!("flushing metrics: {e}"));
            }
            if let Err(e) = provider.shutdown() {
                problems.push(format!("shutting down metrics: {e}"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(TelemetryError(problems.join("; ")))
        }
    }
}

/// Resolves when the process is asked to stop: Ctrl-C (SIGINT) or, on Unix,
/// SIGTERM (what `kill` and container runtimes send).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, TelemetryError> {
        Settings::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn nothing_set_means_off() {
        let s = settings(&[]).unwrap();
        assert!(!s.traces && !s.metrics && !s.trace_context && !s.baggage);
        let s = settings(&[("OTEL_SERVICE_NAME", "demo")]).unwrap();
        assert!(!s.traces && !s.metrics);
    }

    #[test]
    fn an_endpoint_turns_both_signals_on() {
        let s = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")]).unwrap();
        assert_eq!(
            s,
            Settings {
                traces: true,
                metrics: true,
                trace_context: true,
                baggage: true
            }
        );
    }

    #[test]
    fn a_signal_endpoint_turns_only_that_signal_on() {
        let s = settings(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:1")]).unwrap();
        assert!(s.traces && !s.metrics);
    }

    #[test]
    fn exporter_variables_choose_per_signal() {
        let s = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"),
            ("OTEL_METRICS_EXPORTER", "none"),
        ])
        .unwrap();
        assert!(s.traces && !s.metrics);
        let s = settings(&[("OTEL_TRACES_EXPORTER", "otlp")]).unwrap();
        assert!(
            s.traces && !s.metrics,
            "otlp without an endpoint uses the default one"
        );
        let err = settings(&[("OTEL_TRACES_EXPORTER", "zipkin")]).unwrap_err();
        assert!(err.to_string().contains("zipkin"), "{err}");
    }

    #[test]
    fn only_the_grpc_protocol_is_accepted() {
        let base = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317");
        assert!(settings(&[base, ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).is_ok());
        let err = settings(&[base, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]).unwrap_err();
        assert!(err.to_string().contains("http/protobuf"), "{err}");
        let err =
            settings(&[base, ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/json")]).unwrap_err();
        assert!(err.to_string().contains("http/json"), "{err}");
    }

    #[test]
    fn sdk_disabled_wins() {
        let s = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"),
            ("OTEL_SDK_DISABLED", "TRUE"),
        ])
        .unwrap();
        assert!(!s.traces && !s.metrics);
    }

    #[test]
    fn propagators_follow_otel_propagators() {
        let base = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317");
        let s = settings(&[base, ("OTEL_PROPAGATORS", "tracecontext")]).unwrap();
        assert!(s.trace_context && !s.baggage);
        let s = settings(&[base, ("OTEL_PROPAGATORS", "none")]).unwrap();
        assert!(!s.trace_context && !s.baggage);
        assert!(settings(&[base, ("OTEL_PROPAGATORS", "b3")]).is_err());
    }
}
