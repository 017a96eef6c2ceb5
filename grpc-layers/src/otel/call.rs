//! What the layers record of one call: [`Call`] (the span and the
//! `rpc.*` duration; the A66 call duration on the client) and
//! [`Attempt`] (A66's per-attempt instruments on the client, its call
//! instruments on the server).
//!
//! A client call has one attempt for now. The two are separate so that a
//! retry layer can later record an `Attempt` per try inside it and one
//! `Call` outside.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use grpc_core::headers::GRPC_STATUS as GRPC_STATUS_HEADER;
use grpc_core::status::decode_grpc_message;
use grpc_core::status::outcome::{classify_head, code_of, HeadOutcome, NotGrpc};
use grpc_core::Code;
use http::HeaderMap;
use opentelemetry::trace::{SpanKind, Status as SpanStatus, TraceContextExt, Tracer};
use opentelemetry::{Array, Context, ContextGuard, KeyValue, StringValue, Value};

use super::layer::{Endpoint, Shared};
use super::method::Method;
use super::semconv::*;
use super::Side;
use crate::prefix::Prefixes;

/// Messages and their bytes (payload only, as on the wire) in one
/// direction.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    bytes: AtomicU64,
    messages: AtomicU64,
}

impl Tally {
    /// Counts one message; its sequence number (from 0).
    fn add(&self, len: u32) -> u64 {
        self.bytes.fetch_add(u64::from(len), Ordering::Relaxed);
        self.messages.fetch_add(1, Ordering::Relaxed)
    }

    fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// Watches the messages of one direction: counts them, and adds A72's
/// message events to the span.
#[derive(Debug)]
pub(crate) struct Watch {
    prefixes: Prefixes,
    tally: Arc<Tally>,
    /// The span's context and the event name, with message events on.
    events: Option<(Context, &'static str)>,
}

impl Watch {
    pub(crate) fn observe(&mut self, chunk: &Bytes) {
        let Watch {
            prefixes,
            tally,
            events,
        } = self;
        prefixes.observe(chunk, |len, compressed| {
            let sequence = tally.add(len);
            if let Some((cx, name)) = events {
                let size = if compressed {
                    MESSAGE_SIZE_COMPRESSED
                } else {
                    MESSAGE_SIZE
                };
                cx.span().add_event(
                    *name,
                    vec![
                        KeyValue::new(SEQUENCE_NUMBER, sequence as i64),
                        KeyValue::new(size, i64::from(len)),
                    ],
                );
            }
        });
    }
}

/// A66's per-attempt recording (per call on the server).
#[derive(Debug)]
pub(crate) struct Attempt {
    start: Instant,
    /// Whether `started` was counted.
    started: bool,
    /// The request's and the response's messages (`None` with A66 off and
    /// message events off: nothing counts them).
    request: Option<Arc<Tally>>,
    response: Option<Arc<Tally>>,
    /// Whether the request's messages could be counted: a client layer
    /// counts only a body it can rewrap as its own type.
    request_counted: bool,
}

impl Attempt {
    fn new(shared: &Shared) -> Attempt {
        let counting = shared.instruments.grpc.is_some() || shared.message_events;
        Attempt {
            start: Instant::now(),
            started: false,
            request: counting.then(Default::default),
            response: counting.then(Default::default),
            request_counted: true,
        }
    }

    /// Counts the attempt as started (once).
    fn started(&mut self, shared: &Shared, method: &Value, target: Option<&Value>) {
        if std::mem::replace(&mut self.started, true) {
            return;
        }
        let Some(grpc) = &shared.instruments.grpc else {
            return;
        };
        let mut attributes = Attributes::<2>::new();
        attributes.push(KeyValue::new(GRPC_METHOD, method.clone()));
        attributes.push_target(target);
        grpc.started.add(1, attributes.as_slice());
    }

    fn finish(&self, shared: &Shared, method: Value, code: Code, target: Option<&Value>) {
        let Some(grpc) = &shared.instruments.grpc else {
            return;
        };
        let attributes = grpc_attributes(method, code, target);
        let attributes = attributes.as_slice();
        let bytes = |tally: &Option<Arc<Tally>>| tally.as_ref().map_or(0, |t| t.bytes());
        let (sent, rcvd) = match shared.side {
            Side::Server => (bytes(&self.response), bytes(&self.request)),
            Side::Client => (bytes(&self.request), bytes(&self.response)),
        };
        grpc.duration
            .record(self.start.elapsed().as_secs_f64(), attributes);
        if self.request_counted || shared.side == Side::Server {
            grpc.sent.record(sent, attributes);
        }
        grpc.rcvd.record(rcvd, attributes);
    }
}

/// A metric's attributes, at most `N`, on the stack: recording a metric
/// allocates nothing per call.
struct Attributes<const N: usize> {
    items: [KeyValue; N],
    len: usize,
}

impl<const N: usize> Attributes<N> {
    fn new() -> Self {
        Attributes {
            items: std::array::from_fn(|_| KeyValue::new("", "")),
            len: 0,
        }
    }

    fn push(&mut self, attribute: KeyValue) {
        self.items[self.len] = attribute;
        self.len += 1;
    }

    /// A66's `grpc.target`, on the client (which has one).
    fn push_target(&mut self, target: Option<&Value>) {
        if let Some(target) = target {
            self.push(KeyValue::new(GRPC_TARGET, target.clone()));
        }
    }

    fn as_slice(&self) -> &[KeyValue] {
        &self.items[..self.len]
    }
}

/// A66's per-call attributes: `grpc.method`, `grpc.status`, and
/// `grpc.target` on the client.
fn grpc_attributes(method: Value, code: Code, target: Option<&Value>) -> Attributes<3> {
    let mut attributes = Attributes::new();
    attributes.push(KeyValue::new(GRPC_METHOD, method));
    attributes.push(KeyValue::new(GRPC_STATUS, code.name()));
    attributes.push_target(target);
    attributes
}

/// How a call ended.
pub(crate) struct Outcome {
    pub(crate) code: Code,
    /// The status message, when one is at hand (read only for a failed
    /// call with a recording span).
    pub(crate) message: Option<Cow<'static, str>>,
}

/// Everything recorded of one call, from the request to its status; its
/// drop before a status ends it `CANCELLED`.
#[derive(Debug)]
pub(crate) struct Call {
    shared: Arc<Shared>,
    /// The parent context with the call's span.
    cx: Context,
    recording: bool,
    /// Whether the context is worth making current: a span that records,
    /// or a valid (propagated) span context for the calls made from it.
    current: bool,
    start: Instant,
    method: Method,
    /// The server's router answered that it has no such method.
    unknown: bool,
    endpoint: Option<Endpoint>,
    attempt: Attempt,
    /// Response metadata values per configured key, until the end.
    response_metadata: Vec<Vec<StringValue>>,
    /// The watch over the response's messages, once the body has them.
    watch: Option<Watch>,
    done: bool,
}

/// What a response future or body carries of its call.
#[derive(Debug)]
pub(crate) enum State {
    /// Nothing is recorded and there is no context to make current.
    Pass,
    /// Nothing can record (no SDK), but the request carried a trace
    /// context: it is made current around the polls, for the calls the
    /// handler makes (server only).
    Propagate(Context),
    /// The call is recorded (boxed: it moves from the future to the body).
    Record(Box<Call>),
}

impl State {
    /// Makes the call's context current until the guard drops.
    pub(crate) fn enter(&self) -> Option<ContextGuard> {
        match self {
            State::Pass => None,
            State::Propagate(cx) => Some(cx.clone().attach()),
            State::Record(call) => call.enter(),
        }
    }
}

/// Whether a status code is an error by the conventions: on the server
/// only the codes that say the server failed, on the client any but OK.
pub(crate) fn is_error(side: Side, code: Code) -> bool {
    match side {
        Side::Client => code != Code::Ok,
        Side::Server => matches!(
            code,
            Code::Unknown
                | Code::DeadlineExceeded
                | Code::Unimplemented
                | Code::Internal
                | Code::Unavailable
                | Code::DataLoss
        ),
    }
}

/// The values of a metadata key, as span attribute values; `-bin` values
/// stay base64, as they are on the wire.
fn metadata_values(headers: &HeaderMap, key: &http::HeaderName) -> Vec<StringValue> {
    headers
        .get_all(key)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .map(|value| StringValue::from(value.to_owned()))
        .collect()
}

impl Call {
    /// Starts recording a call the server received; the span's parent is
    /// the context the request carries.
    pub(crate) fn server(shared: Arc<Shared>, request: &http::Request<impl Sized>) -> Call {
        let parent = super::propagation::extract(request.headers());
        let path = request.uri().path();
        let mut method = Method::of_path(path);
        // With the served methods given, a call is known or not at once.
        let known = shared.known.as_ref().map(|known| known.get(path).is_some());
        if known == Some(true) {
            method.remember();
        }
        let mut attributes = Vec::with_capacity(3);
        attributes.push(KeyValue::new(RPC_SYSTEM_NAME, GRPC));
        let endpoint = shared.endpoint.clone();
        if let Some(endpoint) = &endpoint {
            attributes.push(KeyValue::new(SERVER_ADDRESS, endpoint.address.clone()));
            if let Some(port) = endpoint.port {
                attributes.push(KeyValue::new(SERVER_PORT, port));
            }
        }
        let builder = shared
            .tracer
            .span_builder(method.span_name())
            .with_kind(SpanKind::Server)
            .with_attributes(attributes);
        let span = shared.tracer.build_with_context(builder, &parent);
        let cx = parent.with_span(span);
        let recording = cx.span().is_recording();
        if recording {
            let span = cx.span();
            if let Some(peer) = (shared.peer)(request.extensions()) {
                span.set_attribute(KeyValue::new(NETWORK_PEER_ADDRESS, peer.ip().to_string()));
                span.set_attribute(KeyValue::new(NETWORK_PEER_PORT, i64::from(peer.port())));
            }
            record_request_metadata(&shared, &cx, request.headers());
        }
        let mut attempt = Attempt::new(&shared);
        // A66's `grpc.method` must not be a name a client made up: a
        // method already known counts now, any other once the router has
        // answered (at the response head).
        if method.is_interned() {
            attempt.started(&shared, &method.value(), None);
        }
        let mut call = Call::assemble(shared, cx, recording, method, endpoint, attempt);
        call.unknown = known == Some(false);
        call
    }

    /// Starts recording a call the client makes, as a child of the current
    /// context, and writes that context into the request headers.
    pub(crate) fn client(shared: Arc<Shared>, request: &mut http::Request<impl Sized>) -> Call {
        let parent = Context::current();
        let mut method = Method::of_path(request.uri().path());
        // A client calls the methods of its own program: intern at once.
        method.remember();
        let endpoint = shared.endpoint_of(request.uri().authority());
        let mut attributes = Vec::with_capacity(5);
        attributes.push(KeyValue::new(RPC_SYSTEM_NAME, GRPC));
        if method.is_well_formed() {
            attributes.push(KeyValue::new(RPC_METHOD, method.value()));
        } else {
            attributes.push(KeyValue::new(RPC_METHOD, OTHER));
            attributes.push(KeyValue::new(RPC_METHOD_ORIGINAL, method.value()));
        }
        if let Some(endpoint) = &endpoint {
            attributes.push(KeyValue::new(SERVER_ADDRESS, endpoint.address.clone()));
            if let Some(port) = endpoint.port {
                attributes.push(KeyValue::new(SERVER_PORT, port));
            }
        }
        let builder = shared
            .tracer
            .span_builder(method.span_name())
            .with_kind(SpanKind::Client)
            .with_attributes(attributes);
        let span = shared.tracer.build_with_context(builder, &parent);
        let cx = parent.with_span(span);
        super::propagation::inject(&cx, request.headers_mut());
        let recording = cx.span().is_recording();
        if recording {
            record_request_metadata(&shared, &cx, request.headers());
        }
        let mut attempt = Attempt::new(&shared);
        let target = endpoint.as_ref().map(|e| &e.target);
        attempt.started(&shared, &a66_method(&method, false), target);
        Call::assemble(shared, cx, recording, method, endpoint, attempt)
    }

    fn assemble(
        shared: Arc<Shared>,
        cx: Context,
        recording: bool,
        method: Method,
        endpoint: Option<Endpoint>,
        attempt: Attempt,
    ) -> Call {
        let response_metadata = if recording {
            vec![Vec::new(); shared.response_metadata.len()]
        } else {
            Vec::new()
        };
        let current = recording || cx.span().span_context().is_valid();
        Call {
            shared,
            cx,
            recording,
            current,
            start: attempt.start,
            method,
            unknown: false,
            endpoint,
            attempt,
            response_metadata,
            watch: None,
            done: false,
        }
    }

    /// Makes the call's context the current one until the guard drops;
    /// nothing when it has nothing to give (no SDK, no incoming trace).
    pub(crate) fn enter(&self) -> Option<ContextGuard> {
        self.current.then(|| self.cx.clone().attach())
    }

    /// The watch over the request's messages, if anything counts them.
    /// The request's messages cannot be counted (a client's request body
    /// of a type the layer cannot rewrap): its sent size is not recorded.
    pub(crate) fn request_not_counted(&mut self) {
        self.attempt.request_counted = false;
    }

    pub(crate) fn request_watch(&self) -> Option<Watch> {
        self.watch(self.attempt.request.as_ref()?.clone(), true)
    }

    /// Sets up the watch over the response's messages, if anything counts
    /// them.
    pub(crate) fn watch_response(&mut self) {
        self.watch = self
            .attempt
            .response
            .clone()
            .and_then(|tally| self.watch(tally, false));
    }

    /// The watch over the response's messages, if any.
    pub(crate) fn response_watch_mut(&mut self) -> Option<&mut Watch> {
        self.watch.as_mut()
    }

    fn watch(&self, tally: Arc<Tally>, request: bool) -> Option<Watch> {
        let inbound = request == (self.shared.side == Side::Server);
        let name = if inbound {
            INBOUND_MESSAGE
        } else {
            OUTBOUND_MESSAGE
        };
        let events =
            (self.shared.message_events && self.recording).then(|| (self.cx.clone(), name));
        Some(Watch {
            prefixes: Prefixes::default(),
            tally,
            events,
        })
    }

    /// Reads the response head: the router's unknown-method mark, the
    /// response metadata, and the status when the head carries it. `true`
    /// when the call ended with the head (trailers-only, or not gRPC).
    pub(crate) fn on_head<B>(&mut self, response: &http::Response<B>) -> bool {
        if self.shared.side == Side::Server {
            if self.shared.known.is_some() {
                // Decided when the call came in, from the served methods.
            } else if response
                .extensions()
                .get::<grpc_core::method::UnknownMethod>()
                .is_some()
            {
                self.unknown = true;
            } else {
                self.method.remember();
            }
            let method = a66_method(&self.method, self.unknown);
            self.attempt.started(&self.shared, &method, None);
        }
        self.collect_response_metadata(response.headers());
        let headers = response.headers();
        match classify_head(response.status(), headers) {
            HeadOutcome::Streaming => false,
            HeadOutcome::Ended(_) => {
                self.finish_with_status(headers, false);
                true
            }
            HeadOutcome::NotGrpc { code, why } => {
                let message = match why {
                    NotGrpc::HttpStatus(status) => {
                        format!("HTTP status {status} without a gRPC status")
                    }
                    NotGrpc::ContentType => "a response that is not gRPC".to_owned(),
                };
                self.finish(Outcome {
                    code,
                    message: Some(Cow::Owned(message)),
                });
                true
            }
        }
    }

    /// Ends the call with the status in `headers` (trailers, or a
    /// trailers-only head, whose metadata `on_head` took); a missing
    /// `grpc-status` is `INTERNAL`.
    pub(crate) fn finish_with_status(&mut self, headers: &HeaderMap, trailers: bool) {
        if trailers {
            self.collect_response_metadata(headers);
        }
        let code = headers.get(GRPC_STATUS_HEADER).map(code_of);
        let outcome = match code {
            Some(code) => Outcome {
                code,
                message: (self.recording && is_error(self.shared.side, code)).then(|| {
                    headers
                        .get(grpc_core::headers::GRPC_MESSAGE)
                        .map(|m| Cow::Owned(decode_grpc_message(m.as_bytes()).into_owned()))
                        .unwrap_or(Cow::Borrowed(code.name()))
                }),
            },
            None => Outcome {
                code: Code::Internal,
                message: Some(Cow::Borrowed("the response ended without a grpc-status")),
            },
        };
        self.finish(outcome);
    }

    fn collect_response_metadata(&mut self, headers: &HeaderMap) {
        if self.response_metadata.is_empty() {
            return;
        }
        for (values, key) in self
            .response_metadata
            .iter_mut()
            .zip(self.shared.response_metadata.iter())
        {
            values.extend(metadata_values(headers, &key.header));
        }
    }

    /// Ends the call: the span, then the `rpc.*` duration, then gRPC's
    /// own metrics, each from the one outcome.
    pub(crate) fn finish(&mut self, outcome: Outcome) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let code = outcome.code;
        let other = !self.method.is_well_formed() || self.unknown;
        let method = if other {
            Value::from(OTHER)
        } else {
            self.method.value()
        };
        if self.recording {
            self.on_end_span(&method, other, code, outcome.message);
        }
        self.cx.span().end();
        if !self.shared.metering {
            return;
        }
        let elapsed = self.start.elapsed().as_secs_f64();
        self.on_rpc_duration(elapsed, method, code);
        self.on_grpc_metrics(elapsed, code);
    }

    /// The span's last attributes and status: the method a server knows
    /// (or `_OTHER`), the code, the error, the response metadata.
    fn on_end_span(
        &mut self,
        method: &Value,
        other: bool,
        code: Code,
        message: Option<Cow<'static, str>>,
    ) {
        let span = self.cx.span();
        if self.shared.side == Side::Server {
            if other {
                span.update_name(GRPC);
                span.set_attribute(KeyValue::new(RPC_METHOD, OTHER));
                span.set_attribute(KeyValue::new(RPC_METHOD_ORIGINAL, self.method.value()));
            } else {
                span.set_attribute(KeyValue::new(RPC_METHOD, method.clone()));
            }
        }
        span.set_attribute(KeyValue::new(RPC_RESPONSE_STATUS_CODE, code.name()));
        if is_error(self.shared.side, code) {
            span.set_attribute(KeyValue::new(ERROR_TYPE, code.name()));
            span.set_status(SpanStatus::error(
                message.unwrap_or(Cow::Borrowed(code.name())),
            ));
        }
        for (values, key) in self
            .response_metadata
            .drain(..)
            .zip(self.shared.response_metadata.iter())
        {
            if !values.is_empty() {
                span.set_attribute(KeyValue::new(
                    key.attribute.clone(),
                    Value::Array(Array::String(values)),
                ));
            }
        }
    }

    /// `rpc.server.call.duration` / `rpc.client.call.duration`.
    fn on_rpc_duration(&self, elapsed: f64, method: Value, code: Code) {
        let mut attributes = Attributes::<6>::new();
        attributes.push(KeyValue::new(RPC_SYSTEM_NAME, GRPC));
        attributes.push(KeyValue::new(RPC_METHOD, method));
        attributes.push(KeyValue::new(RPC_RESPONSE_STATUS_CODE, code.name()));
        if is_error(self.shared.side, code) {
            attributes.push(KeyValue::new(ERROR_TYPE, code.name()));
        }
        // The client's duration names the server (the server's own address
        // is opt-in there: left out).
        if let (Side::Client, Some(endpoint)) = (self.shared.side, &self.endpoint) {
            attributes.push(KeyValue::new(SERVER_ADDRESS, endpoint.address.clone()));
            if let Some(port) = endpoint.port {
                attributes.push(KeyValue::new(SERVER_PORT, port));
            }
        }
        self.shared
            .instruments
            .rpc_duration
            .record(elapsed, attributes.as_slice());
    }

    /// gRFC A66: the attempt's metrics, and the call's duration.
    fn on_grpc_metrics(&mut self, elapsed: f64, code: Code) {
        // A call that ended before the router answered counts as started
        // under a known name, or `other`.
        let started_as = if self.method.is_interned() && !self.unknown {
            self.method.value()
        } else {
            Value::from(A66_OTHER)
        };
        let target = self.endpoint.as_ref().map(|e| &e.target);
        self.attempt.started(&self.shared, &started_as, target);
        let method = a66_method(&self.method, self.unknown);
        self.attempt
            .finish(&self.shared, method.clone(), code, target);
        if let Some(call_duration) = self
            .shared
            .instruments
            .grpc
            .as_ref()
            .and_then(|grpc| grpc.call_duration.as_ref())
        {
            let attributes = grpc_attributes(method, code, target);
            call_duration.record(elapsed, attributes.as_slice());
        }
    }

    /// The side the call is on.
    pub(crate) fn side(&self) -> Side {
        self.shared.side
    }

    /// Whether the span records (for the message of an outcome).
    pub(crate) fn is_recording(&self) -> bool {
        self.recording
    }
}

/// A66's `grpc.method`: the method, or `other` for one the server does
/// not know.
fn a66_method(method: &Method, unknown: bool) -> Value {
    if unknown || !method.is_well_formed() {
        Value::from(A66_OTHER)
    } else {
        method.value()
    }
}

fn record_request_metadata(shared: &Shared, cx: &Context, headers: &HeaderMap) {
    let span = cx.span();
    for key in shared.request_metadata.iter() {
        let values = metadata_values(headers, &key.header);
        if !values.is_empty() {
            span.set_attribute(KeyValue::new(
                key.attribute.clone(),
                Value::Array(Array::String(values)),
            ));
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if !self.done {
            let message = match self.shared.side {
                Side::Server => "the call was cancelled before the server sent its status",
                Side::Client => "the call was dropped before its status arrived",
            };
            self.finish(Outcome {
                code: Code::Cancelled,
                message: Some(Cow::Borrowed(message)),
            });
        }
    }
}
