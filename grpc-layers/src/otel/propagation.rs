//! W3C context propagation over `http::HeaderMap`, through the global
//! propagator ([`opentelemetry::global::get_text_map_propagator`]).

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TraceContextExt;
use opentelemetry::{global, Context};

struct Inject<'a>(&'a mut HeaderMap);

impl Injector for Inject<'_> {
    fn set(&mut self, key: &str, value: String) {
        // A propagator's field names and values are valid header text; a
        // value that is not is left out rather than sent broken.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::try_from(value),
        ) {
            self.0.insert(name, value);
        }
    }
}

struct Extract<'a>(&'a HeaderMap);

impl Extractor for Extract<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// Writes `cx` into the headers (`traceparent`, `tracestate` with the W3C
/// propagator).
pub(crate) fn inject(cx: &Context, headers: &mut HeaderMap) {
    global::get_text_map_propagator(|propagator| {
        propagator.inject_context(cx, &mut Inject(headers));
    });
}

/// The context the headers carry, when they carry a valid span context
/// (read only if one of the propagator's fields is there).
pub(crate) fn extract_span(headers: &HeaderMap) -> Option<Context> {
    global::get_text_map_propagator(|propagator| {
        if !propagator.fields().any(|field| headers.contains_key(field)) {
            return None;
        }
        let cx = propagator.extract(&Extract(headers));
        cx.span().span_context().is_valid().then_some(cx)
    })
}

/// The context the headers carry, on top of the current one.
pub(crate) fn extract(headers: &HeaderMap) -> Context {
    global::get_text_map_propagator(|propagator| propagator.extract(&Extract(headers)))
}
