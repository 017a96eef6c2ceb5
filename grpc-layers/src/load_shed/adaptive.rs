//! Adaptive limits: [`AdaptiveLimit`], the [`Sample`] each finished call
//! gives it, and two algorithms, [`Aimd`] and [`Gradient`].
//!
//! A limiter is a plain state machine: it sees one [`Sample`] per finished
//! call and answers with the new limit. It reads no clock, so it can be
//! driven, and tested, by feeding it samples.

use std::time::Duration;

/// An algorithm that moves the global limit of a
/// [`ServerLoadShedLayer`](super::ServerLoadShedLayer) from what calls
/// show; see [`ServerLoadShedLayer::adaptive`](super::ServerLoadShedLayer::adaptive).
///
/// The layer calls [`update`](Self::update) once per finished call, under
/// a lock, so an implementation should be quick and must not block. The
/// layer never uses a limit below 1: a limit of 0 would admit no call, and
/// so receive no sample to recover with.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an adaptive limit",
    note = "implement `AdaptiveLimit` (it needs `Send + 'static`), or use `Aimd` or `Gradient`"
)]
pub trait AdaptiveLimit: Send + 'static {
    /// The current limit (before any sample: the initial one).
    fn limit(&self) -> usize;

    /// Learns from a finished call; returns the new limit.
    fn update(&mut self, sample: &Sample) -> usize;
}

/// What one finished call tells a limiter.
///
/// The layer takes a sample when a call it admitted ends: its latency is
/// the time from admission to the response head (for a unary call, the
/// handler's time; for a stream, the time until it started answering, so
/// a long stream does not read as a slow one), and it is *overloaded* when
/// its status was `RESOURCE_EXHAUSTED` or `DEADLINE_EXCEEDED`. A call
/// dropped before its status (a cancelled call, a reset stream) gives no
/// sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    latency: Duration,
    in_flight: usize,
    overloaded: bool,
}

impl Sample {
    /// A call that ended without a sign of overload, after `latency`, that
    /// was admitted with `in_flight` calls in flight (itself included).
    pub fn new(latency: Duration, in_flight: usize) -> Sample {
        Sample {
            latency,
            in_flight,
            overloaded: false,
        }
    }

    /// A call that ended with a sign of overload (`RESOURCE_EXHAUSTED`,
    /// `DEADLINE_EXCEEDED`).
    pub fn overloaded(latency: Duration, in_flight: usize) -> Sample {
        Sample {
            overloaded: true,
            ..Sample::new(latency, in_flight)
        }
    }

    /// The time from admission to the response head.
    pub fn latency(&self) -> Duration {
        self.latency
    }

    /// The calls in flight when this one was admitted, itself included.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Whether the call ended with a sign of overload.
    pub fn is_overloaded(&self) -> bool {
        self.overloaded
    }
}

/// Bounds every limiter keeps: `1 <= min <= limit <= max`. The minimum
/// wins over the maximum.
fn bounded(limit: usize, min: &mut usize, max: &mut usize) -> usize {
    *min = (*min).max(1);
    *max = (*max).max(*min);
    limit.clamp(*min, *max)
}

/// Additive increase, multiplicative decrease, as TCP's congestion
/// window: the limit grows by 1 per window of calls without a sign of
/// overload, and is multiplied by a backoff factor when a call shows one.
///
/// - A call shows overload when its [`Sample`] is overloaded
///   (`RESOURCE_EXHAUSTED`, `DEADLINE_EXCEEDED`) or its latency is over the
///   latency threshold.
/// - **Decrease**: on such a call, `limit = max(min, floor(limit × backoff))`.
///   The calls of the next window (as many as the new limit) cannot cut it
///   again: they were mostly admitted under the old limit, and cutting per
///   call would collapse the limit in one burst.
/// - **Increase**: after a window of good calls (as many as the limit), the
///   limit grows by 1, up to the maximum — if the window was *used*: one of
///   its calls was admitted with at least half the limit in flight. An idle
///   server does not grow a limit it never tests.
///
/// | knob | default |
/// |---|---|
/// | [`initial_limit`](Self::initial_limit) | 100 |
/// | [`min_limit`](Self::min_limit) | 10 |
/// | [`max_limit`](Self::max_limit) | 1000 |
/// | [`backoff`](Self::backoff) | 0.9 |
/// | [`latency_threshold`](Self::latency_threshold) | 1 s |
///
/// ```
/// use std::time::Duration;
/// use grpc_layers::load_shed::{AdaptiveLimit, Aimd, Sample};
///
/// let mut aimd = Aimd::new()
///     .initial_limit(10)
///     .min_limit(1)
///     .latency_threshold(Duration::from_millis(50));
/// let fast = Sample::new(Duration::from_millis(5), 10);
/// for _ in 0..10 {
///     aimd.update(&fast);
/// }
/// assert_eq!(aimd.limit(), 11); // one window of good calls: +1
/// aimd.update(&Sample::new(Duration::from_millis(80), 11));
/// assert_eq!(aimd.limit(), 9); // too slow: floor(11 × 0.9)
/// ```
#[derive(Clone, Debug)]
pub struct Aimd {
    limit: usize,
    min: usize,
    max: usize,
    backoff: f64,
    threshold: Duration,
    /// Good calls counted in the current window.
    good: usize,
    /// Whether a call of the current window was admitted with at least
    /// half the limit in flight.
    used: bool,
    /// Calls left before another decrease may happen.
    recovery: usize,
}

impl Default for Aimd {
    fn default() -> Self {
        Aimd {
            limit: 100,
            min: 10,
            max: 1000,
            backoff: 0.9,
            threshold: Duration::from_secs(1),
            good: 0,
            used: false,
            recovery: 0,
        }
    }
}

impl Aimd {
    /// AIMD with the defaults in the [type docs](Self).
    pub fn new() -> Self {
        Aimd::default()
    }

    /// The limit to start with (default 100), kept within the bounds.
    pub fn initial_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self.rebound()
    }

    /// The lowest the limit goes (default 10; at least 1).
    pub fn min_limit(mut self, min: usize) -> Self {
        self.min = min;
        self.rebound()
    }

    /// The highest the limit goes (default 1000; at least the minimum).
    pub fn max_limit(mut self, max: usize) -> Self {
        self.max = max;
        self.rebound()
    }

    /// The factor the limit is multiplied by on overload (default 0.9).
    /// Kept within 0.01..=0.99; a factor that is not a number is ignored.
    pub fn backoff(mut self, factor: f64) -> Self {
        if !factor.is_nan() {
            self.backoff = factor.clamp(0.01, 0.99);
        }
        self
    }

    /// A call whose latency is over this shows overload (default 1 s). Set
    /// it from the service's own latency objective.
    pub fn latency_threshold(mut self, threshold: Duration) -> Self {
        self.threshold = threshold;
        self
    }

    fn rebound(mut self) -> Self {
        self.limit = bounded(self.limit, &mut self.min, &mut self.max);
        self
    }
}

impl AdaptiveLimit for Aimd {
    fn limit(&self) -> usize {
        self.limit
    }

    fn update(&mut self, sample: &Sample) -> usize {
        if sample.overloaded || sample.latency > self.threshold {
            if self.recovery > 0 {
                self.recovery -= 1;
                return self.limit;
            }
            // `floor(limit × backoff) < limit` for a backoff under 1: every
            // cut takes at least one off, down to the minimum.
            let cut = (self.limit as f64 * self.backoff) as usize;
            self.limit = cut.clamp(self.min, self.max);
            self.recovery = self.limit;
            self.good = 0;
            self.used = false;
            return self.limit;
        }
        self.recovery = self.recovery.saturating_sub(1);
        self.good += 1;
        self.used |= sample.in_flight.saturating_mul(2) >= self.limit;
        if self.good >= self.limit {
            if self.used {
                self.limit = (self.limit + 1).min(self.max);
            }
            self.good = 0;
            self.used = false;
        }
        self.limit
    }
}

/// The number of samples the long-term latency is a plain average of,
/// before it becomes an exponential one.
const WARMUP: u64 = 10;

/// A gradient limit, as Netflix's concurrency-limits library's
/// `Gradient2Limit` describes it: the limit follows the ratio of the
/// long-term average latency to the latest one.
///
/// For each call (latencies in nanoseconds):
///
/// ```text
/// long     = average of latencies: a plain one over the first 10 calls,
///            then exponential with factor 2 / (long_window + 1)
/// if long / latency > 2: long = long × 0.9      (load has passed: let the baseline fall)
/// if in_flight < limit / 2: keep the limit      (app-limited: nothing learnt)
/// gradient = clamp(long / latency, 0.5, 1.0)    (0.5 for an overloaded call)
/// limit    = limit × (1 − smoothing) + (limit × gradient + queue_size) × smoothing
/// limit    = clamp(limit, min, max)
/// ```
///
/// While latency stays at its baseline the gradient is 1 and the limit
/// grows by `queue_size × smoothing` per call; when calls queue and
/// latency rises, the gradient falls below 1 and the limit shrinks, by at
/// most half per call before smoothing. The limit is kept as a real
/// number; the layer uses its integer part. Unlike the Netflix original,
/// a call with an overload status counts as the lowest gradient (0.5).
///
/// | knob | default |
/// |---|---|
/// | [`initial_limit`](Self::initial_limit) | 100 |
/// | [`min_limit`](Self::min_limit) | 10 |
/// | [`max_limit`](Self::max_limit) | 1000 |
/// | [`smoothing`](Self::smoothing) | 0.2 |
/// | [`queue_size`](Self::queue_size) | 4 |
/// | [`long_window`](Self::long_window) | 600 calls |
///
/// ```
/// use std::time::Duration;
/// use grpc_layers::load_shed::{AdaptiveLimit, Gradient, Sample};
///
/// let mut gradient = Gradient::new().initial_limit(20).smoothing(0.25);
/// // Latency at its baseline, the limit in use: + queue_size × smoothing.
/// gradient.update(&Sample::new(Duration::from_millis(10), 20));
/// assert_eq!(gradient.limit(), 21);
/// ```
#[derive(Clone, Debug)]
pub struct Gradient {
    estimate: f64,
    min: usize,
    max: usize,
    smoothing: f64,
    queue_size: usize,
    long_window: usize,
    /// Long-term average latency, in nanoseconds.
    long: f64,
    /// Samples seen (for the warm-up average).
    seen: u64,
}

impl Default for Gradient {
    fn default() -> Self {
        Gradient {
            estimate: 100.0,
            min: 10,
            max: 1000,
            smoothing: 0.2,
            queue_size: 4,
            long_window: 600,
            long: 0.0,
            seen: 0,
        }
    }
}

impl Gradient {
    /// A gradient limit with the defaults in the [type docs](Self).
    pub fn new() -> Self {
        Gradient::default()
    }

    /// The limit to start with (default 100), kept within the bounds.
    pub fn initial_limit(mut self, limit: usize) -> Self {
        self.estimate = limit as f64;
        self.rebound()
    }

    /// The lowest the limit goes (default 10; at least 1).
    pub fn min_limit(mut self, min: usize) -> Self {
        self.min = min;
        self.rebound()
    }

    /// The highest the limit goes (default 1000; at least the minimum).
    pub fn max_limit(mut self, max: usize) -> Self {
        self.max = max;
        self.rebound()
    }

    /// How much of each new estimate the limit takes (default 0.2). Kept
    /// within 0.01..=1.0; a value that is not a number is ignored.
    pub fn smoothing(mut self, smoothing: f64) -> Self {
        if !smoothing.is_nan() {
            self.smoothing = smoothing.clamp(0.01, 1.0);
        }
        self
    }

    /// The calls the limit may grow by past the current one while latency
    /// holds, before smoothing (default 4).
    pub fn queue_size(mut self, queue_size: usize) -> Self {
        self.queue_size = queue_size;
        self
    }

    /// The calls the long-term latency average spans (default 600; at
    /// least 1).
    pub fn long_window(mut self, calls: usize) -> Self {
        self.long_window = calls.max(1);
        self
    }

    fn rebound(mut self) -> Self {
        // The estimate is real; its bounds are whole numbers.
        let (mut min, mut max) = (self.min, self.max);
        bounded(0, &mut min, &mut max);
        (self.min, self.max) = (min, max);
        self.estimate = self.estimate.clamp(min as f64, max as f64);
        self
    }
}

impl AdaptiveLimit for Gradient {
    fn limit(&self) -> usize {
        self.estimate as usize
    }

    fn update(&mut self, sample: &Sample) -> usize {
        // A zero latency (a coarse clock) would divide by zero.
        let latency = (sample.latency.as_nanos() as f64).max(1.0);
        self.long = if self.seen < WARMUP {
            (self.long * self.seen as f64 + latency) / (self.seen + 1) as f64
        } else {
            let factor = 2.0 / (self.long_window as f64 + 1.0);
            self.long * (1.0 - factor) + latency * factor
        };
        self.seen += 1;
        if self.long / latency > 2.0 {
            self.long *= 0.9;
        }
        if (sample.in_flight as f64) < self.estimate / 2.0 {
            return self.limit();
        }
        let gradient = if sample.overloaded {
            0.5
        } else {
            (self.long / latency).clamp(0.5, 1.0)
        };
        let target = self.estimate * gradient + self.queue_size as f64;
        let estimate = self.estimate * (1.0 - self.smoothing) + target * self.smoothing;
        self.estimate = estimate.clamp(self.min as f64, self.max as f64);
        self.limit()
    }
}
