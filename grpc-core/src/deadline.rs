//! [`Deadline`]: the point in time by which a call must be done.
//!
//! On the wire a deadline travels as a relative `grpc-timeout` (see
//! [`timeout`](crate::timeout)); inside a process it is an absolute point in
//! time, so it does not shrink or grow as it is handed from layer to layer.
//! A server's deadline layer puts one into each request's extensions, where
//! a handler reads how long it has left:
//!
//! ```
//! use std::time::Duration;
//! use grpc_core::deadline::Deadline;
//! use grpc_core::Request;
//!
//! let mut request = Request::new("hello");
//! request.extensions_mut().insert(Deadline::after(Duration::from_secs(5)));
//!
//! // In the handler:
//! let left = request.extensions().get::<Deadline>().map(|d| d.remaining());
//! assert!(left.unwrap() <= Duration::from_secs(5));
//! ```
//!
//! A client puts a `Deadline` into a request's extensions to give that one
//! call a deadline; the client's deadline layer sends it as `grpc-timeout`.
//!
//! The clock is [`std::time::Instant`]. Layers that run on a runtime with
//! its own clock (tokio's paused test clock) convert at their edge with
//! [`Deadline::from_timeout`] and [`Deadline::remaining_at`].

use std::time::{Duration, Instant};

/// The point in time by which a call must be done; see the
/// [module docs](self).
///
/// Deadlines are ordered: the earlier one is the smaller, so
/// `a.min(b)` is the one that binds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Deadline {
    at: Instant,
}

/// Timeouts are capped at this (about 100 years) when turned into a point
/// in time, so the addition cannot overflow the clock.
const MAX_TIMEOUT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

impl Deadline {
    /// The deadline at `instant`.
    pub fn at(instant: Instant) -> Deadline {
        Deadline { at: instant }
    }

    /// The deadline `timeout` from now.
    pub fn after(timeout: Duration) -> Deadline {
        Deadline::from_timeout(Instant::now(), timeout)
    }

    /// The deadline `timeout` after `start`. Timeouts longer than about 100
    /// years (a `grpc-timeout` may say up to 99,999,999 hours) are capped,
    /// so this never overflows.
    pub fn from_timeout(start: Instant, timeout: Duration) -> Deadline {
        let mut timeout = timeout.min(MAX_TIMEOUT);
        loop {
            if let Some(at) = start.checked_add(timeout) {
                return Deadline { at };
            }
            // Only on a clock that cannot reach 100 years ahead.
            timeout /= 2;
        }
    }

    /// The point in time.
    pub fn instant(&self) -> Instant {
        self.at
    }

    /// The time left from now; zero once the deadline passed.
    pub fn remaining(&self) -> Duration {
        self.remaining_at(Instant::now())
    }

    /// The time left from `now`; zero once the deadline passed.
    pub fn remaining_at(&self, now: Instant) -> Duration {
        self.at.saturating_duration_since(now)
    }

    /// Whether the deadline passed.
    pub fn is_expired(&self) -> bool {
        self.remaining().is_zero()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earlier_deadline_is_the_smaller() {
        let now = Instant::now();
        let soon = Deadline::from_timeout(now, Duration::from_millis(10));
        let later = Deadline::from_timeout(now, Duration::from_secs(10));
        assert!(soon < later);
        assert_eq!(soon.min(later), soon);
    }

    #[test]
    fn remaining_time_counts_down_to_zero_and_no_further() {
        let now = Instant::now();
        let d = Deadline::from_timeout(now, Duration::from_secs(3));
        assert_eq!(d.remaining_at(now), Duration::from_secs(3));
        assert_eq!(
            d.remaining_at(now + Duration::from_secs(1)),
            Duration::from_secs(2)
        );
        assert_eq!(d.remaining_at(now + Duration::from_secs(4)), Duration::ZERO);
        assert_eq!(d.instant(), now + Duration::from_secs(3));
    }

    #[test]
    fn a_deadline_of_zero_has_already_passed() {
        assert!(Deadline::after(Duration::ZERO).is_expired());
        assert!(!Deadline::after(Duration::from_secs(60)).is_expired());
        assert!(Deadline::at(Instant::now()).is_expired());
    }

    #[test]
    fn the_longest_grpc_timeout_does_not_overflow_the_clock() {
        let now = Instant::now();
        let longest = crate::timeout::parse_timeout(b"99999999H").unwrap();
        let d = Deadline::from_timeout(now, longest);
        assert!(d.remaining_at(now) >= Duration::from_secs(99 * 365 * 24 * 3600));
        let d = Deadline::from_timeout(now, Duration::MAX);
        assert!(d > Deadline::from_timeout(now, Duration::from_secs(3600)));
    }
}
