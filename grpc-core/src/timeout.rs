//! The `grpc-timeout` header: parse and format.
//!
//! The value is at most eight ASCII digits followed by one unit:
//! `H` hours, `M` minutes, `S` seconds, `m` milliseconds, `u` microseconds,
//! `n` nanoseconds. Shared by the client (which sends it) and the server
//! (which enforces it).
//!
//! ```
//! use std::time::Duration;
//! use grpc_core::timeout::{format_timeout, parse_timeout};
//!
//! assert_eq!(parse_timeout(b"100m").unwrap(), Duration::from_millis(100));
//! assert!(parse_timeout(b"123456789S").is_err()); // nine digits
//! assert_eq!(format_timeout(Duration::from_secs(3)), "3000000u");
//! ```

use std::fmt;
use std::time::Duration;

/// Why a `grpc-timeout` value could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidTimeout {
    reason: &'static str,
}

impl fmt::Display for InvalidTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid grpc-timeout: {}", self.reason)
    }
}

impl std::error::Error for InvalidTimeout {}

const MAX_DIGITS: usize = 8;
const MAX_VALUE: u64 = 99_999_999;

/// Parses a `grpc-timeout` value.
pub fn parse_timeout(value: &[u8]) -> Result<Duration, InvalidTimeout> {
    let err = |reason| Err(InvalidTimeout { reason });
    let Some((&unit, digits)) = value.split_last() else {
        return err("empty");
    };
    if digits.is_empty() {
        return err("no digits");
    }
    if digits.len() > MAX_DIGITS {
        return err("more than 8 digits");
    }
    let mut n: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return err("not a decimal number");
        }
        n = n * 10 + u64::from(d - b'0');
    }
    Ok(match unit {
        b'H' => Duration::from_secs(n * 3600),
        b'M' => Duration::from_secs(n * 60),
        b'S' => Duration::from_secs(n),
        b'm' => Duration::from_millis(n),
        b'u' => Duration::from_micros(n),
        b'n' => Duration::from_nanos(n),
        _ => return err("unknown unit"),
    })
}

/// Formats a timeout in the finest unit whose value fits in eight digits,
/// rounding up so the peer never sees a shorter timeout than ours.
/// Timeouts beyond 99,999,999 hours are capped at that.
pub fn format_timeout(timeout: Duration) -> String {
    let nanos = timeout.as_nanos();
    const UNITS: [(u128, char); 6] = [
        (1, 'n'),
        (1_000, 'u'),
        (1_000_000, 'm'),
        (1_000_000_000, 'S'),
        (60_000_000_000, 'M'),
        (3_600_000_000_000, 'H'),
    ];
    for (scale, unit) in UNITS {
        let value = nanos.div_ceil(scale);
        if value <= u128::from(MAX_VALUE) {
            return format!("{value}{unit}");
        }
    }
    format!("{MAX_VALUE}H")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_unit_parses() {
        assert_eq!(parse_timeout(b"1H").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_timeout(b"2M").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_timeout(b"3S").unwrap(), Duration::from_secs(3));
        assert_eq!(parse_timeout(b"4m").unwrap(), Duration::from_millis(4));
        assert_eq!(parse_timeout(b"5u").unwrap(), Duration::from_micros(5));
        assert_eq!(parse_timeout(b"6n").unwrap(), Duration::from_nanos(6));
        assert_eq!(
            parse_timeout(b"99999999H").unwrap(),
            Duration::from_secs(99_999_999 * 3600)
        );
    }

    #[test]
    fn malformed_values_are_errors() {
        for bad in [
            &b""[..],
            b"S",
            b"1",
            b"1x",
            b"-1S",
            b"1.5S",
            b" 1S",
            b"123456789m",
            b"1s",
            b"\xff",
        ] {
            assert!(
                parse_timeout(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn formatting_rounds_up_and_picks_a_fitting_unit() {
        assert_eq!(format_timeout(Duration::from_nanos(1)), "1n");
        assert_eq!(format_timeout(Duration::from_millis(99)), "99000000n");
        assert_eq!(format_timeout(Duration::from_millis(100)), "100000u");
        assert_eq!(format_timeout(Duration::from_secs(1)), "1000000u");
        assert_eq!(format_timeout(Duration::ZERO), "0n");
        assert_eq!(format_timeout(Duration::MAX), "99999999H");
    }

    proptest! {
        #[test]
        fn formatted_timeouts_parse_back_no_shorter(nanos in 0u64..u64::MAX) {
            let d = Duration::from_nanos(nanos);
            let s = format_timeout(d);
            let back = parse_timeout(s.as_bytes()).unwrap();
            prop_assert!(back >= d);
            // Rounding costs under one unit, and a coarser unit is only used once the
            // value passed 10^8 of the finer one (at most 1000x smaller).
            prop_assert!(back - d <= d / 100_000 + Duration::from_nanos(1));
        }

        #[test]
        fn parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..12)) {
            let _ = parse_timeout(&bytes);
        }
    }
}
