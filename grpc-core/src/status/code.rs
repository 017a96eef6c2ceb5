//! The seventeen gRPC status codes.

use http::HeaderValue;

/// A gRPC status code, as defined in the gRPC `statuscodes.md` document.
///
/// A value received from the wire that is not one of these is read as
/// [`Code::Unknown`], as the specification asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(i32)]
pub enum Code {
    /// Not an error; returned on success.
    Ok = 0,
    /// The operation was cancelled, typically by the caller.
    Cancelled = 1,
    /// Unknown error.
    Unknown = 2,
    /// The client specified an invalid argument.
    InvalidArgument = 3,
    /// The deadline expired before the operation could complete.
    DeadlineExceeded = 4,
    /// Some requested entity was not found.
    NotFound = 5,
    /// The entity that a client attempted to create already exists.
    AlreadyExists = 6,
    /// The caller does not have permission to execute the operation.
    PermissionDenied = 7,
    /// Some resource has been exhausted (quota, message size, memory).
    ResourceExhausted = 8,
    /// The system is not in a state required for the operation.
    FailedPrecondition = 9,
    /// The operation was aborted, typically due to a concurrency issue.
    Aborted = 10,
    /// The operation was attempted past the valid range.
    OutOfRange = 11,
    /// The operation is not implemented or not supported.
    Unimplemented = 12,
    /// Internal error: an invariant expected by the system is broken.
    Internal = 13,
    /// The service is currently unavailable; retrying may help.
    Unavailable = 14,
    /// Unrecoverable data loss or corruption.
    DataLoss = 15,
    /// The request lacks valid authentication credentials.
    Unauthenticated = 16,
}

const ALL: [Code; 17] = [
    Code::Ok,
    Code::Cancelled,
    Code::Unknown,
    Code::InvalidArgument,
    Code::DeadlineExceeded,
    Code::NotFound,
    Code::AlreadyExists,
    Code::PermissionDenied,
    Code::ResourceExhausted,
    Code::FailedPrecondition,
    Code::Aborted,
    Code::OutOfRange,
    Code::Unimplemented,
    Code::Internal,
    Code::Unavailable,
    Code::DataLoss,
    Code::Unauthenticated,
];

const NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

const DIGITS: [&str; 17] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
];

impl Code {
    /// Every code, in numeric order.
    pub const ALL: [Code; 17] = ALL;

    /// The code for a numeric value; values outside 0–16 are [`Code::Unknown`].
    pub const fn from_i32(value: i32) -> Code {
        if value >= 0 && value <= 16 {
            ALL[value as usize]
        } else {
            Code::Unknown
        }
    }

    /// The numeric value of this code.
    pub const fn as_i32(self) -> i32 {
        self as i32
    }

    /// Parses the ASCII decimal form used in the `grpc-status` header.
    ///
    /// Returns `None` when the bytes are not a decimal number; a number outside
    /// 0–16 is [`Code::Unknown`].
    pub fn from_bytes(bytes: &[u8]) -> Option<Code> {
        match bytes {
            [d] if d.is_ascii_digit() => Some(ALL[(d - b'0') as usize]),
            [b'1', d] if (b'0'..=b'6').contains(d) => Some(ALL[10 + (d - b'0') as usize]),
            _ => {
                let s = std::str::from_utf8(bytes).ok()?.trim();
                let n: i64 = s.parse().ok()?;
                Some(
                    i32::try_from(n)
                        .map(Code::from_i32)
                        .unwrap_or(Code::Unknown),
                )
            }
        }
    }

    /// The code's name as `statuscodes.md` spells it, e.g.
    /// `"DEADLINE_EXCEEDED"`: the form telemetry records (OpenTelemetry's
    /// `rpc.response.status_code`, gRPC's own `grpc.status`).
    ///
    /// ```
    /// assert_eq!(grpc_core::Code::DeadlineExceeded.name(), "DEADLINE_EXCEEDED");
    /// ```
    pub const fn name(self) -> &'static str {
        NAMES[self as usize]
    }

    /// The `grpc-status` header value for this code (no allocation).
    pub fn to_header_value(self) -> HeaderValue {
        HeaderValue::from_static(DIGITS[self as usize])
    }

    /// A short English description of the code.
    pub const fn description(self) -> &'static str {
        match self {
            Code::Ok => "The operation completed successfully",
            Code::Cancelled => "The operation was cancelled",
            Code::Unknown => "Unknown error",
            Code::InvalidArgument => "Client specified an invalid argument",
            Code::DeadlineExceeded => "Deadline expired before operation could complete",
            Code::NotFound => "Some requested entity was not found",
            Code::AlreadyExists => "Some entity that we attempted to create already exists",
            Code::PermissionDenied => {
                "The caller does not have permission to execute the specified operation"
            }
            Code::ResourceExhausted => "Some resource has been exhausted",
            Code::FailedPrecondition => {
                "The system is not in a state required for the operation's execution"
            }
            Code::Aborted => "The operation was aborted",
            Code::OutOfRange => "Operation was attempted past the valid range",
            Code::Unimplemented => "Operation is not implemented or not supported",
            Code::Internal => "Internal error",
            Code::Unavailable => "The service is currently unavailable",
            Code::DataLoss => "Unrecoverable data loss or corruption",
            Code::Unauthenticated => "The request does not have valid authentication credentials",
        }
    }
}

impl From<i32> for Code {
    fn from(value: i32) -> Self {
        Code::from_i32(value)
    }
}

impl From<Code> for i32 {
    fn from(code: Code) -> Self {
        code as i32
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.description())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_header_value() {
        for code in Code::ALL {
            let value = code.to_header_value();
            assert_eq!(Code::from_bytes(value.as_bytes()), Some(code));
            assert_eq!(Code::from_i32(code.as_i32()), code);
        }
    }

    #[test]
    fn names_are_the_upper_snake_case_of_the_variants() {
        for code in Code::ALL {
            let variant = format!("{code:?}");
            let mut snake = String::new();
            for (i, c) in variant.chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    snake.push('_');
                }
                snake.push(c.to_ascii_uppercase());
            }
            assert_eq!(code.name(), snake);
        }
    }

    #[test]
    fn out_of_range_numbers_are_unknown() {
        assert_eq!(Code::from_i32(17), Code::Unknown);
        assert_eq!(Code::from_i32(-1), Code::Unknown);
        assert_eq!(Code::from_bytes(b"99"), Some(Code::Unknown));
        assert_eq!(Code::from_bytes(b"99999999999999999999"), None);
    }

    #[test]
    fn garbage_is_not_a_code() {
        assert_eq!(Code::from_bytes(b""), None);
        assert_eq!(Code::from_bytes(b"x"), None);
        assert_eq!(Code::from_bytes(b"1x"), None);
    }
}
