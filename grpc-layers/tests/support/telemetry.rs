//! An OpenTelemetry SDK tracer whose finished spans the tests read.

use std::time::Duration;

use opentelemetry::Value;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};

use super::bounded;

/// A tracer provider exporting to memory.
#[derive(Debug)]
pub struct Spans {
    exporter: InMemorySpanExporter,
    pub provider: SdkTracerProvider,
}

impl Spans {
    pub fn new() -> Spans {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        Spans { exporter, provider }
    }

    /// The finished spans, waiting (bounded) until `count` are there.
    pub async fn finished(&self, count: usize) -> Vec<SpanData> {
        bounded(async {
            loop {
                let spans = self.exporter.get_finished_spans().unwrap();
                if spans.len() >= count {
                    return spans;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
    }
}

/// A span attribute as text.
pub fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| match &kv.value {
            Value::String(s) => s.to_string(),
            other => other.to_string(),
        })
}
