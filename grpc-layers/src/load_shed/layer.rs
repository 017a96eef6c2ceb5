//! [`ServerLoadShedLayer`], its settings and [`ShedCode`].

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use grpc_core::method::{MethodMap, MethodName};
use grpc_core::Code;
use http::{HeaderMap, HeaderValue};
use tower_layer::Layer;

use super::adaptive::AdaptiveLimit;
use super::service::ServerLoadShed;
use super::state::{refusal_head, LoadShedStats, SharedLimiter, State};

/// The status a refused call gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ShedCode {
    /// `RESOURCE_EXHAUSTED` (the default): the server is out of capacity.
    /// Clients do not retry it unless their retry policy lists it.
    #[default]
    ResourceExhausted,
    /// `UNAVAILABLE`: the call was not started and may be retried, here or
    /// elsewhere. Retry policies usually list it, and a client that
    /// balances over several servers may take it to another one.
    Unavailable,
}

impl ShedCode {
    /// The status code.
    pub fn code(self) -> Code {
        match self {
            ShedCode::ResourceExhausted => Code::ResourceExhausted,
            ShedCode::Unavailable => Code::Unavailable,
        }
    }
}

/// Everything but the limiter: plain data, from which a state is built.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) max_in_flight: usize,
    /// The service and method caps, in the one per-method table.
    pub(crate) limits: MethodMap<usize>,
    code: ShedCode,
    pushback: Option<Duration>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_in_flight: ServerLoadShedLayer::DEFAULT_MAX_IN_FLIGHT,
            limits: MethodMap::new(),
            code: ShedCode::ResourceExhausted,
            pushback: Some(ServerLoadShedLayer::DEFAULT_RETRY_PUSHBACK),
        }
    }
}

impl Settings {
    /// The pushback in whole milliseconds, at most `i32::MAX` (clients in
    /// some languages read it as a 32-bit integer, and one they cannot read
    /// means "do not retry").
    fn pushback_ms(&self) -> Option<u64> {
        self.pushback.map(|pushback| {
            u64::try_from(pushback.as_millis())
                .map_or(i32::MAX as u64, |ms| ms.min(i32::MAX as u64))
        })
    }

    /// The head of a refusal saying `what` is full.
    pub(crate) fn refusal(&self, what: String) -> HeaderMap {
        let ms = self.pushback_ms();
        let message = match ms {
            Some(ms) => format!("load shed: {what}; retry after {ms} ms"),
            None => format!("load shed: {what}; retry later"),
        };
        let pushback = ms.map(HeaderValue::from);
        refusal_head(self.code.code(), message, pushback.as_ref())
    }
}

/// Caps the calls in flight on a server and refuses the excess at once;
/// see the [module docs](super).
///
/// A layer, its clones and every service they make share one set of caps
/// and counters: put one layer around the router and every connection's
/// calls count against the same limits. The setters are plain
/// configuration; the shared state is made once, when the layer first
/// makes a service or is asked for its [`stats`](Self::stats). A setter
/// called after that starts a fresh state for the layer it returns, so
/// configure first, then read the stats.
///
/// | knob | default |
/// |---|---|
/// | [`max_in_flight`](Self::max_in_flight) | [`DEFAULT_MAX_IN_FLIGHT`](Self::DEFAULT_MAX_IN_FLIGHT) = 1000 |
/// | [`service_limit`](Self::service_limit), [`method_limit`](Self::method_limit) | none |
/// | [`shed_code`](Self::shed_code) | [`ShedCode::ResourceExhausted`] |
/// | [`retry_pushback`](Self::retry_pushback) | [`DEFAULT_RETRY_PUSHBACK`](Self::DEFAULT_RETRY_PUSHBACK) = 100 ms; `None` sends none |
/// | [`adaptive`](Self::adaptive) | off: the global cap is static |
#[derive(Clone, Default)]
pub struct ServerLoadShedLayer {
    settings: Settings,
    adaptive: Option<SharedLimiter>,
    /// Made once from the settings, by the first `layer` or `stats`.
    state: Arc<OnceLock<Arc<State>>>,
}

impl ServerLoadShedLayer {
    /// The global cap when none is set: 1000 calls in flight, five
    /// connections' worth at grpc-server's default of 200 concurrent
    /// streams each.
    pub const DEFAULT_MAX_IN_FLIGHT: usize = 1000;

    /// The `grpc-retry-pushback-ms` of a refusal when none is set: 100 ms.
    pub const DEFAULT_RETRY_PUSHBACK: Duration = Duration::from_millis(100);

    /// At most [`DEFAULT_MAX_IN_FLIGHT`](Self::DEFAULT_MAX_IN_FLIGHT) calls
    /// in flight; refusals are `RESOURCE_EXHAUSTED` with a 100 ms pushback.
    pub fn new() -> Self {
        ServerLoadShedLayer::default()
    }

    /// The settings changed: the layer it returns gets a state of its own.
    fn configure(mut self, change: impl FnOnce(&mut Settings)) -> Self {
        change(&mut self.settings);
        self.state = Arc::default();
        self
    }

    fn state(&self) -> &Arc<State> {
        self.state
            .get_or_init(|| Arc::new(State::new(&self.settings, self.adaptive.clone())))
    }

    /// Caps the calls in flight over the whole server (default 1000). With
    /// 0 every call is refused. Not used while an [adaptive](Self::adaptive)
    /// limit is set: that limit is the global cap then.
    pub fn max_in_flight(self, limit: usize) -> Self {
        self.configure(|settings| settings.max_in_flight = limit)
    }

    /// Caps the calls in flight to one service, e.g. `"helloworld.Greeter"`
    /// (slashes around the name are ignored), on top of the global cap.
    /// Setting it again replaces it; 0 refuses every call to the service.
    ///
    /// # Panics
    ///
    /// When `service` is empty or has a `/` inside
    /// ([`MethodName::service`]).
    pub fn service_limit(self, service: impl AsRef<str>, limit: usize) -> Self {
        let name = MethodName::service(service.as_ref())
            .unwrap_or_else(|error| panic!("a service cap names a service: {error}"));
        self.configure(|settings| {
            settings.limits.insert(name, limit);
        })
    }

    /// Caps the calls in flight to one method, by its path
    /// `"/package.Service/Method"` (the leading slash may be left out), on
    /// top of the global and the service caps. A call counts against each
    /// cap that applies to it, and is refused if any of them is full.
    /// Setting it again replaces it; 0 refuses every call to the method.
    ///
    /// # Panics
    ///
    /// When `path` is not of the form `/package.Service/Method`
    /// ([`MethodName::parse_method`]).
    pub fn method_limit(self, path: impl AsRef<str>, limit: usize) -> Self {
        let name = MethodName::parse_method(path.as_ref())
            .unwrap_or_else(|error| panic!("a method cap names a full method: {error}"));
        self.configure(|settings| {
            settings.limits.insert(name, limit);
        })
    }

    /// The status refused calls get (default `RESOURCE_EXHAUSTED`).
    pub fn shed_code(self, code: ShedCode) -> Self {
        self.configure(|settings| settings.code = code)
    }

    /// The `grpc-retry-pushback-ms` refusals carry (default 100 ms): a
    /// client that retries by gRFC A6 waits exactly this long before its
    /// next attempt, in place of its own backoff. Sent in whole
    /// milliseconds (rounded down), at most `i32::MAX`. With `None`,
    /// refusals carry none and clients fall back on their own backoff.
    pub fn retry_pushback(self, pushback: impl Into<Option<Duration>>) -> Self {
        let pushback = pushback.into();
        self.configure(|settings| settings.pushback = pushback)
    }

    /// Refusals carry no `grpc-retry-pushback-ms`.
    #[deprecated(note = "use `retry_pushback(None)`")]
    pub fn no_retry_pushback(self) -> Self {
        self.retry_pushback(None)
    }

    /// Lets `limit` move the global cap from what finished calls show (off
    /// by default): [`Aimd`](super::Aimd), [`Gradient`](super::Gradient),
    /// or an [`AdaptiveLimit`] of your own. The cap starts at the limiter's
    /// initial limit and [`max_in_flight`](Self::max_in_flight) is not used;
    /// service and method caps stay static.
    ///
    /// Each admitted call then reads the clock twice and, when it ends,
    /// feeds the limiter under a lock.
    pub fn adaptive(mut self, limit: impl AdaptiveLimit) -> Self {
        self.adaptive = Some(Arc::new(Mutex::new(Box::new(limit))));
        self.configure(|_| {})
    }

    /// The counters of this layer and every service it made: calls in
    /// flight, admitted, refused, and the current limit.
    pub fn stats(&self) -> LoadShedStats {
        LoadShedStats {
            state: Arc::clone(self.state()),
        }
    }
}

impl<S> Layer<S> for ServerLoadShedLayer {
    type Service = ServerLoadShed<S>;

    fn layer(&self, inner: S) -> ServerLoadShed<S> {
        ServerLoadShed::from_layer(inner, Arc::clone(self.state()))
    }
}

impl fmt::Debug for ServerLoadShedLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerLoadShedLayer")
            .field("settings", &self.settings)
            .field("adaptive", &self.adaptive.is_some())
            .field("state", &self.state.get())
            .finish()
    }
}
