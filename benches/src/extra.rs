//! Layers `bench-server --with` adds outside our default server stack, to
//! measure what each costs per call (`compare.sh --only layers`):
//!
//! - `otel`: [`ServerTelemetryLayer`] with no OpenTelemetry SDK installed
//!   (the global no-op providers): what every user of the layer pays;
//! - `otel-sampled-out`: the layer with an SDK tracer provider whose
//!   sampler drops every span (`always_off`) and no meter provider;
//! - `otel-on`: every span recorded and handed to a batch processor (whose
//!   exporter discards the batches), and the duration histograms recorded
//!   into an SDK meter provider (whose periodic reader exports, to a
//!   discarding exporter, once an hour: never during a run).

use grpc_layers::otel::ServerTelemetryLayer;
use opentelemetry_sdk::error::OTelSdkResult;
use std::str::FromStr;
use std::time::Duration;

use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanData, SpanExporter};

/// One layer `--with` can add.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extra {
    /// The telemetry layer, no SDK.
    Otel,
    /// The telemetry layer, every span sampled out.
    OtelSampledOut,
    /// The telemetry layer, spans and metrics recorded.
    OtelOn,
}

impl FromStr for Extra {
    type Err = String;

    fn from_str(s: &str) -> Result<Extra, String> {
        match s {
            "otel" => Ok(Extra::Otel),
            "otel-sampled-out" => Ok(Extra::OtelSampledOut),
            "otel-on" => Ok(Extra::OtelOn),
            _ => Err("expected otel, otel-sampled-out or otel-on".into()),
        }
    }
}

/// A span exporter that drops what it is given.
#[derive(Debug)]
struct Discard;

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        drop(batch);
        Ok(())
    }
}

/// A metric exporter that drops what it is given.
#[derive(Debug)]
struct DiscardMetrics;

impl PushMetricExporter for DiscardMetrics {
    async fn export(&self, _metrics: &ResourceMetrics) -> OTelSdkResult {
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

/// The telemetry layer `extra` asks for, and the SDK providers it records
/// into (kept alive by the caller for as long as the server runs).
pub fn telemetry_layer(
    extra: Extra,
) -> (
    ServerTelemetryLayer,
    Option<SdkTracerProvider>,
    Option<SdkMeterProvider>,
) {
    match extra {
        Extra::Otel => (ServerTelemetryLayer::new(), None, None),
        Extra::OtelSampledOut => {
            let tracer = SdkTracerProvider::builder()
                .with_sampler(Sampler::AlwaysOff)
                .build();
            let layer = ServerTelemetryLayer::new().tracer_provider(&tracer);
            (layer, Some(tracer), None)
        }
        Extra::OtelOn => {
            let tracer = SdkTracerProvider::builder()
                .with_sampler(Sampler::AlwaysOn)
                .with_batch_exporter(Discard)
                .build();
            let meter = SdkMeterProvider::builder()
                .with_reader(
                    PeriodicReader::builder(DiscardMetrics)
                        .with_interval(Duration::from_secs(3600))
                        .build(),
                )
                .build();
            let layer = ServerTelemetryLayer::new()
                .tracer_provider(&tracer)
                .meter_provider(&meter);
            (layer, Some(tracer), Some(meter))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extras_parse() {
        assert_eq!("otel".parse(), Ok(Extra::Otel));
        assert_eq!("otel-sampled-out".parse(), Ok(Extra::OtelSampledOut));
        assert_eq!("otel-on".parse(), Ok(Extra::OtelOn));
        assert!("tracing".parse::<Extra>().is_err());
    }
}
