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
//!   discarding exporter, once an hour: never during a run);
//! - `auth-open`: [`ServerAuthLayer`] with static bearer tokens and every
//!   method of the benchmark left open (the rule lookup, no credentials);
//! - `auth`: the same layer checking [`BENCH_TOKEN`] on every call (the
//!   load generator sends it with `--bearer`);
//! - `load-shed`: [`ServerLoadShedLayer`] with its default cap of 1000
//!   calls in flight (never reached by the benchmark's load);
//! - `load-shed-all`: the same layer with a cap of 0, so every call is
//!   refused: what a shed call costs the server.

use grpc_layers::auth::{BearerTokens, ServerAuthLayer};
use grpc_layers::load_shed::ServerLoadShedLayer;
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
    /// The telemetry layer (`otel`, `otel-sampled-out`, `otel-on`).
    Otel(Telemetry),
    /// The auth layer: every benchmark method open (`auth-open`), or a
    /// bearer token checked on every call (`auth`).
    Auth {
        /// Leave the benchmark's services open.
        open: bool,
    },
    /// The load-shed layer: its default cap (`load-shed`), or a cap of 0
    /// that refuses every call (`load-shed-all`).
    LoadShed {
        /// Refuse every call.
        refuse_all: bool,
    },
}

/// What the telemetry layer of `--with otel*` records into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Telemetry {
    /// No SDK: the global no-op providers.
    NoSdk,
    /// An SDK tracer whose sampler drops every span.
    SampledOut,
    /// Spans and metrics recorded.
    On,
}

/// The bearer token `--with auth` accepts.
pub const BENCH_TOKEN: &str = "bench-token-0123456789abcdef";

/// The auth layer `--with auth` (`open: false`) or `--with auth-open` adds.
pub fn auth_layer(open: bool) -> ServerAuthLayer<BearerTokens<&'static str>> {
    let layer = ServerAuthLayer::new(BearerTokens::new().token(BENCH_TOKEN, "bench"));
    if open {
        layer
            .open_service("helloworld.Greeter")
            .open_service("benchstream.Streamer")
    } else {
        layer
    }
}

/// The load-shed layer `--with load-shed` (`refuse_all: false`) or
/// `--with load-shed-all` adds.
pub fn load_shed_layer(refuse_all: bool) -> ServerLoadShedLayer {
    let layer = ServerLoadShedLayer::new();
    if refuse_all {
        layer.max_in_flight(0)
    } else {
        layer
    }
}

impl FromStr for Extra {
    type Err = String;

    fn from_str(s: &str) -> Result<Extra, String> {
        match s {
            "otel" => Ok(Extra::Otel(Telemetry::NoSdk)),
            "otel-sampled-out" => Ok(Extra::Otel(Telemetry::SampledOut)),
            "otel-on" => Ok(Extra::Otel(Telemetry::On)),
            "auth-open" => Ok(Extra::Auth { open: true }),
            "auth" => Ok(Extra::Auth { open: false }),
            "load-shed" => Ok(Extra::LoadShed { refuse_all: false }),
            "load-shed-all" => Ok(Extra::LoadShed { refuse_all: true }),
            _ => Err(concat!(
                "expected otel, otel-sampled-out, otel-on, auth-open, auth, ",
                "load-shed or load-shed-all"
            )
            .into()),
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

/// The telemetry layer `telemetry` asks for, and the SDK providers it
/// records into (kept alive by the caller for as long as the server runs).
pub fn telemetry_layer(
    telemetry: Telemetry,
) -> (
    ServerTelemetryLayer,
    Option<SdkTracerProvider>,
    Option<SdkMeterProvider>,
) {
    match telemetry {
        Telemetry::NoSdk => (ServerTelemetryLayer::new(), None, None),
        Telemetry::SampledOut => {
            let tracer = SdkTracerProvider::builder()
                .with_sampler(Sampler::AlwaysOff)
                .build();
            let layer = ServerTelemetryLayer::new().tracer_provider(&tracer);
            (layer, Some(tracer), None)
        }
        Telemetry::On => {
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
        assert_eq!("otel".parse(), Ok(Extra::Otel(Telemetry::NoSdk)));
        assert_eq!(
            "otel-sampled-out".parse(),
            Ok(Extra::Otel(Telemetry::SampledOut))
        );
        assert_eq!("otel-on".parse(), Ok(Extra::Otel(Telemetry::On)));
        assert_eq!("auth".parse(), Ok(Extra::Auth { open: false }));
        assert_eq!("auth-open".parse(), Ok(Extra::Auth { open: true }));
        assert_eq!(
            "load-shed".parse(),
            Ok(Extra::LoadShed { refuse_all: false })
        );
        assert_eq!(
            "load-shed-all".parse(),
            Ok(Extra::LoadShed { refuse_all: true })
        );
        assert!("tracing".parse::<Extra>().is_err());
    }
}
