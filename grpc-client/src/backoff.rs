//! [`Backoff`]: how long a channel waits between connection attempts, as
//! gRPC's `connection-backoff.md` specifies.
//!
//! The first attempt may be retried after `base_delay` (1 s); each further
//! attempt after the previous delay times `multiplier` (1.6), capped at
//! `max_delay` (120 s), then spread by ± `jitter` (20 %) so that many clients
//! that lost the same server do not reconnect in lock-step. The delay is
//! counted from the start of the failed attempt, and a successful connection
//! resets the schedule.
//!
//! An attempt itself may take up to the larger of its delay and the
//! endpoint's [connect timeout](crate::Endpoint::connect_timeout)
//! (`MIN_CONNECT_TIMEOUT` in the gRPC document, 20 s by default).
//!
//! ```
//! use std::time::Duration;
//! use grpc_client::Backoff;
//!
//! let backoff = Backoff::new()
//!     .base_delay(Duration::from_millis(100))
//!     .max_delay(Duration::from_secs(5));
//! assert_ne!(backoff, Backoff::default());
//! ```

use std::time::Duration;

/// Connection backoff parameters; see the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    base_delay: Duration,
    multiplier: f64,
    jitter: f64,
    max_delay: Duration,
}

impl Default for Backoff {
    /// The values of gRPC's `connection-backoff.md`: 1 s, × 1.6, ± 20 %,
    /// at most 120 s.
    fn default() -> Self {
        Backoff {
            base_delay: Duration::from_secs(1),
            multiplier: 1.6,
            jitter: 0.2,
            max_delay: Duration::from_secs(120),
        }
    }
}

impl Backoff {
    /// The values of gRPC's `connection-backoff.md`, as [`Backoff::default`].
    pub fn new() -> Self {
        Backoff::default()
    }

    /// Sets the delay after the first failed attempt (default 1 s). It is
    /// not jittered, as the gRPC document says.
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// Sets the growth factor between attempts (default 1.6). Values below
    /// 1 are raised to 1.
    pub fn multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = if multiplier.is_finite() {
            multiplier.max(1.0)
        } else {
            1.0
        };
        self
    }

    /// Sets the relative spread of each delay after the first (default 0.2,
    /// i.e. ± 20 %). Clamped to `0.0..=1.0`.
    pub fn jitter(mut self, jitter: f64) -> Self {
        self.jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self
    }

    /// Sets the cap on the delay before jitter (default 120 s).
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The delay to wait after an attempt that followed `failures`
    /// consecutive failed attempts, with `unit_random` uniform in `[0, 1)`.
    pub(crate) fn delay(&self, failures: u32, unit_random: f64) -> Duration {
        if failures == 0 {
            return self.base_delay;
        }
        let exponent = i32::try_from(failures).unwrap_or(i32::MAX);
        let grown = self.base_delay.as_secs_f64() * self.multiplier.powi(exponent);
        let current = grown.min(self.max_delay.as_secs_f64());
        let spread = self.jitter * (2.0 * unit_random - 1.0);
        let secs = current * (1.0 + spread);
        if secs.is_finite() && secs > 0.0 {
            Duration::try_from_secs_f64(secs).unwrap_or(self.max_delay)
        } else {
            Duration::ZERO
        }
    }

    /// [`Backoff::delay`] with a random jitter.
    pub(crate) fn random_delay(&self, failures: u32) -> Duration {
        self.delay(failures, fastrand::f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(d: Duration) -> f64 {
        d.as_secs_f64()
    }

    #[test]
    fn the_first_delay_is_the_base_without_jitter() {
        let b = Backoff::default();
        assert_eq!(b.delay(0, 0.0), Duration::from_secs(1));
        assert_eq!(b.delay(0, 0.999), Duration::from_secs(1));
    }

    #[test]
    fn delays_grow_by_the_multiplier_within_the_jitter_bounds() {
        let b = Backoff::default();
        let mut expected = 1.0f64;
        for failures in 1..12 {
            expected = (expected * 1.6).min(120.0);
            let low = secs(b.delay(failures, 0.0));
            let mid = secs(b.delay(failures, 0.5));
            let high = secs(b.delay(failures, 0.999_999_9));
            assert!(
                (mid - expected).abs() < 1e-6,
                "{failures}: {mid} vs {expected}"
            );
            assert!((low - expected * 0.8).abs() < 1e-6, "{failures}: {low}");
            assert!((high - expected * 1.2).abs() < 1e-5, "{failures}: {high}");
        }
    }

    #[test]
    fn delays_are_capped_at_the_max_before_jitter() {
        let b = Backoff::default();
        for failures in [11, 20, 100, u32::MAX] {
            let d = secs(b.delay(failures, 0.5));
            assert!((d - 120.0).abs() < 1e-6, "{failures}: {d}");
            let r = secs(b.random_delay(failures));
            assert!((96.0..=144.0).contains(&r), "{failures}: {r}");
        }
    }

    #[test]
    fn random_delays_stay_within_the_jitter_bounds_and_spread() {
        let b = Backoff::default();
        let samples: Vec<f64> = (0..1000).map(|_| secs(b.random_delay(1))).collect();
        assert!(samples.iter().all(|d| (1.28..=1.92).contains(d)));
        let min = samples.iter().cloned().fold(f64::MAX, f64::min);
        let max = samples.iter().cloned().fold(f64::MIN, f64::max);
        assert!(
            max - min > 0.3,
            "jitter should spread delays, got {min}..{max}"
        );
    }

    #[test]
    fn settings_are_clamped_to_sane_values() {
        let b = Backoff::default().multiplier(0.5).jitter(7.0);
        assert_eq!(b.multiplier, 1.0);
        assert_eq!(b.jitter, 1.0);
        let b = Backoff::default()
            .jitter(0.0)
            .base_delay(Duration::from_millis(10));
        assert_eq!(b.delay(1, 0.9), Duration::from_millis(16));
    }
}
