//! What every service of one layer shares: the scopes' counters, the
//! refusals built once, the adaptive limiter; the [`Permit`] an admitted
//! call holds; and [`LoadShedStats`], the handle that reads them.
//!
//! The counters are plain atomics with relaxed ordering: they publish no
//! other data, and each one's read-modify-writes are totally ordered on
//! their own, which is all a cap needs.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use grpc_core::method::{MethodMap, MethodName};
use grpc_core::{Code, Status};
use http::{HeaderMap, HeaderName, HeaderValue};

use super::adaptive::{AdaptiveLimit, Sample};
use super::layer::Settings;

/// `grpc-retry-pushback-ms`: how long a client should wait before it
/// retries (gRFC A6).
pub(crate) const GRPC_RETRY_PUSHBACK_MS: HeaderName =
    HeaderName::from_static("grpc-retry-pushback-ms");

/// The limiter of an adaptive layer, shared by the states built from it.
pub(crate) type SharedLimiter = Arc<Mutex<Box<dyn AdaptiveLimit>>>;

/// One cap: the whole server, a service or a method.
struct Scope {
    in_flight: AtomicUsize,
    limit: AtomicUsize,
    shed: AtomicU64,
    /// The head of the answer to a call this scope refuses, built once.
    refusal: HeaderMap,
}

impl Scope {
    fn new(limit: usize, refusal: HeaderMap) -> Scope {
        Scope {
            in_flight: AtomicUsize::new(0),
            limit: AtomicUsize::new(limit),
            shed: AtomicU64::new(0),
            refusal,
        }
    }

    /// Takes a place if one is free; the calls in flight with it, if so.
    fn try_acquire(&self) -> Option<usize> {
        let limit = self.limit.load(Relaxed);
        // A compare-and-swap rather than add-then-undo: an undone add
        // would make a concurrent call see the scope full when it is not.
        self.in_flight
            .fetch_update(Relaxed, Relaxed, |n| (n < limit).then_some(n + 1))
            .ok()
            .map(|n| n + 1)
    }

    fn release(&self) {
        self.in_flight.fetch_sub(1, Relaxed);
    }

    fn stats(&self) -> ScopeStats {
        ScopeStats {
            in_flight: self.in_flight.load(Relaxed),
            limit: self.limit.load(Relaxed),
            shed: self.shed.load(Relaxed),
        }
    }
}

/// The state of one layer, shared by its clones and every service it made.
pub(crate) struct State {
    global: Scope,
    /// Service scopes, then method scopes.
    scopes: Box<[Scope]>,
    /// The index in `scopes` of each service and method cap.
    index: MethodMap<usize>,
    served: AtomicU64,
    shed: AtomicU64,
    adaptive: Option<SharedLimiter>,
}

/// A place of every scope that applies to a call, or the head of the
/// answer refusing it.
pub(crate) type Admission = Result<Permit, HeaderMap>;

impl State {
    pub(crate) fn new(settings: &Settings, adaptive: Option<SharedLimiter>) -> State {
        let refusal = |message: String| settings.refusal(message);
        let global = match &adaptive {
            Some(limiter) => {
                let limit = lock(limiter).limit().max(1);
                let message = "the server is at its adaptive limit of calls in flight".to_owned();
                Scope::new(limit, refusal(message))
            }
            None => {
                let limit = settings.max_in_flight;
                let message = format!("the server is at its limit of {limit} calls in flight");
                Scope::new(limit, refusal(message))
            }
        };
        let mut scopes = Vec::new();
        let mut index = MethodMap::new();
        for (name, limit) in settings.limits.iter() {
            let message = match &name {
                MethodName::Service(service) => {
                    format!("service {service} is at its limit of {limit} calls in flight")
                }
                name => format!("{name} is at its limit of {limit} calls in flight"),
            };
            index.insert(name, scopes.len());
            scopes.push(Scope::new(*limit, refusal(message)));
        }
        State {
            global,
            scopes: scopes.into_boxed_slice(),
            index,
            served: AtomicU64::new(0),
            shed: AtomicU64::new(0),
            adaptive,
        }
    }

    /// Admits a call for `path` (`/package.Service/Method`) or refuses it.
    pub(crate) fn admit(self: &Arc<Self>, path: &str) -> Admission {
        // The global cap first: under overload it is the one that is full,
        // and refusing there costs one failed compare-and-swap.
        let Some(in_flight) = self.global.try_acquire() else {
            return Err(self.refuse(&self.global));
        };
        let service = self.index.service_entry(path).copied();
        if let Some(i) = service {
            if self.scopes[i].try_acquire().is_none() {
                self.global.release();
                return Err(self.refuse(&self.scopes[i]));
            }
        }
        let method = self.index.method_entry(path).copied();
        if let Some(i) = method {
            if self.scopes[i].try_acquire().is_none() {
                if let Some(s) = service {
                    self.scopes[s].release();
                }
                self.global.release();
                return Err(self.refuse(&self.scopes[i]));
            }
        }
        self.served.fetch_add(1, Relaxed);
        let timing = self.adaptive.is_some().then(|| Timing {
            start: Instant::now(),
            in_flight,
            latency: None,
            overloaded: None,
        });
        Ok(Permit {
            state: Arc::clone(self),
            service,
            method,
            timing,
        })
    }

    fn refuse(&self, scope: &Scope) -> HeaderMap {
        self.shed.fetch_add(1, Relaxed);
        scope.shed.fetch_add(1, Relaxed);
        scope.refusal.clone()
    }

    fn learn(&self, sample: &Sample) {
        if let Some(limiter) = &self.adaptive {
            let limit = lock(limiter).update(sample);
            self.global.limit.store(limit.max(1), Relaxed);
        }
    }
}

/// A limiter that panicked once still has a limit to give.
fn lock(limiter: &SharedLimiter) -> std::sync::MutexGuard<'_, Box<dyn AdaptiveLimit>> {
    limiter.lock().unwrap_or_else(PoisonError::into_inner)
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("in_flight", &self.global.in_flight.load(Relaxed))
            .field("limit", &self.global.limit.load(Relaxed))
            .field("adaptive", &self.adaptive.is_some())
            .field("caps", &self.scopes.len())
            .finish()
    }
}

/// What an adaptive layer measures of an admitted call.
#[derive(Debug)]
struct Timing {
    start: Instant,
    in_flight: usize,
    latency: Option<Duration>,
    overloaded: Option<bool>,
}

/// The places an admitted call holds; dropping it frees them. It travels
/// from the response future into the response body, so a call holds its
/// places until its body ends or is dropped.
pub(crate) struct Permit {
    state: Arc<State>,
    service: Option<usize>,
    method: Option<usize>,
    timing: Option<Timing>,
}

impl Permit {
    /// The response head arrived: the end of the latency a sample reports.
    pub(crate) fn responded(&mut self) {
        if let Some(timing) = &mut self.timing {
            timing.latency = Some(timing.start.elapsed());
        }
    }

    /// The call's status arrived (`grpc-status`, if any). Without a
    /// readable status the call gives no sample.
    pub(crate) fn finished(&mut self, code: Code) {
        if let Some(timing) = &mut self.timing {
            timing.overloaded = Some(matches!(
                code,
                Code::ResourceExhausted | Code::DeadlineExceeded
            ));
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let state = &*self.state;
        // Places first: a limiter that panics must not leak them.
        for i in [self.method, self.service].into_iter().flatten() {
            state.scopes[i].release();
        }
        state.global.release();
        if let Some(Timing {
            in_flight,
            latency: Some(latency),
            overloaded: Some(overloaded),
            ..
        }) = self.timing.take()
        {
            let sample = if overloaded {
                Sample::overloaded(latency, in_flight)
            } else {
                Sample::new(latency, in_flight)
            };
            state.learn(&sample);
        }
    }
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("service", &self.service)
            .field("method", &self.method)
            .field("timing", &self.timing)
            .finish()
    }
}

/// Counters of a load-shed layer, shared with every service it made; see
/// [`ServerLoadShedLayer::stats`](super::ServerLoadShedLayer::stats).
///
/// Cloning it is cloning an `Arc`; every read is one relaxed atomic load,
/// so the numbers read together may be a few calls apart.
#[derive(Clone)]
pub struct LoadShedStats {
    pub(crate) state: Arc<State>,
}

impl LoadShedStats {
    /// The calls in flight now: admitted, and whose response body has not
    /// yet ended or been dropped.
    pub fn in_flight(&self) -> usize {
        self.state.global.in_flight.load(Relaxed)
    }

    /// The calls admitted so far (handed to the inner service).
    pub fn served(&self) -> u64 {
        self.state.served.load(Relaxed)
    }

    /// The calls refused so far, by any cap.
    pub fn shed(&self) -> u64 {
        self.state.shed.load(Relaxed)
    }

    /// The global limit now: the static cap, or the adaptive limiter's
    /// latest limit.
    pub fn limit(&self) -> usize {
        self.state.global.limit.load(Relaxed)
    }

    /// The global scope: calls in flight, its limit, the calls it refused.
    pub fn global(&self) -> ScopeStats {
        self.state.global.stats()
    }

    /// The scope of a service given a cap with
    /// [`service_limit`](super::ServerLoadShedLayer::service_limit), by the
    /// same name; `None` for a service without one.
    pub fn service(&self, name: &str) -> Option<ScopeStats> {
        let i = *self.state.index.entry(&MethodName::service(name).ok()?)?;
        Some(self.state.scopes[i].stats())
    }

    /// The scope of a method given a cap with
    /// [`method_limit`](super::ServerLoadShedLayer::method_limit), by the
    /// same path; `None` for a method without one.
    pub fn method(&self, path: &str) -> Option<ScopeStats> {
        let i = *self
            .state
            .index
            .entry(&MethodName::parse_method(path).ok()?)?;
        Some(self.state.scopes[i].stats())
    }
}

impl fmt::Debug for LoadShedStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadShedStats")
            .field("in_flight", &self.in_flight())
            .field("served", &self.served())
            .field("shed", &self.shed())
            .field("limit", &self.limit())
            .finish()
    }
}

/// A snapshot of one scope's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScopeStats {
    in_flight: usize,
    limit: usize,
    shed: u64,
}

impl ScopeStats {
    /// The calls in flight in this scope.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The scope's limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The calls this scope refused (a call refused by a wider scope first
    /// is not counted here).
    pub fn shed(&self) -> u64 {
        self.shed
    }
}

/// The head of a refusal: the status, trailers-only, and the pushback.
pub(crate) fn refusal_head(
    code: Code,
    message: String,
    pushback: Option<&HeaderValue>,
) -> HeaderMap {
    let mut headers = Status::new(code, message)
        .into_http::<()>()
        .into_parts()
        .0
        .headers;
    if let Some(value) = pushback {
        headers.insert(GRPC_RETRY_PUSHBACK_MS, value.clone());
    }
    headers
}
