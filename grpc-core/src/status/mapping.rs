//! The one status table of the stack: which gRPC [`Code`] a failure of the
//! transport, or a response that is not gRPC, stands for.
//!
//! Every crate that turns a transport failure into a [`Status`](super::Status)
//! reads its code here; nothing else in the stack keeps a table of its own.
//! The rows are the gRPC documents', word for word where they give one:
//!
//! - [`code_from_http2_error`]: an `RST_STREAM` error code, per the "Errors"
//!   section of gRPC's `PROTOCOL-HTTP2.md`;
//! - [`code_from_http_status`]: the HTTP status of a response without
//!   `grpc-status`, per `http-grpc-status-mapping.md`;
//! - [`connection_failure_code`]: a connection that broke, was closed, or
//!   ended the stream with `GOAWAY`, per the "Connection Management" section
//!   of `PROTOCOL-HTTP2.md` (`UNAVAILABLE` on a client, `CANCELLED` on a
//!   server); [`is_connection_failure`] says which I/O errors are one.
//!
//! This module knows HTTP/2 by its wire vocabulary (error code numbers,
//! status codes), not by any implementation's types: finding an h2 or hyper
//! error in an error's `source()` chain, and asking this table about it, is
//! the job of `grpc-layers`' status module, which both `grpc-server` and
//! `grpc-client` use where hyper hands them an error.
//!
//! ```
//! use grpc_core::status::mapping::{
//!     code_from_http2_error, code_from_http_status, connection_failure_code, Http2ErrorCode, Side,
//! };
//! use grpc_core::Code;
//!
//! assert_eq!(code_from_http2_error(Http2ErrorCode::REFUSED_STREAM), Some(Code::Unavailable));
//! assert_eq!(code_from_http2_error(Http2ErrorCode::STREAM_CLOSED), None); // no mapping
//! assert_eq!(code_from_http_status(http::StatusCode::NOT_FOUND), Code::Unimplemented);
//! assert_eq!(connection_failure_code(Side::Client), Code::Unavailable);
//! assert_eq!(connection_failure_code(Side::Server), Code::Cancelled);
//! ```

use std::fmt;
use std::io;

use http::StatusCode;

use super::Code;

/// An HTTP/2 error code, as carried by `RST_STREAM` and `GOAWAY` frames
/// (RFC 9113, section 7). Any `u32` is one; the named constants are the
/// codes the RFC defines.
///
/// ```
/// use grpc_core::status::mapping::Http2ErrorCode;
///
/// assert_eq!(Http2ErrorCode::from(8), Http2ErrorCode::CANCEL);
/// assert_eq!(u32::from(Http2ErrorCode::ENHANCE_YOUR_CALM), 0xb);
/// assert_eq!(format!("{:?}", Http2ErrorCode::CANCEL), "CANCEL");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Http2ErrorCode(u32);

macro_rules! http2_error_codes {
    ($($(#[$doc:meta])* $name:ident = $value:expr,)*) => {
        impl Http2ErrorCode {
            $(
                $(#[$doc])*
                pub const $name: Http2ErrorCode = Http2ErrorCode($value);
            )*

            /// The RFC's name for this code, when it has one.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

http2_error_codes! {
    /// `NO_ERROR` (0x0): not the result of an error (a graceful `GOAWAY`).
    NO_ERROR = 0x0,
    /// `PROTOCOL_ERROR` (0x1).
    PROTOCOL_ERROR = 0x1,
    /// `INTERNAL_ERROR` (0x2).
    INTERNAL_ERROR = 0x2,
    /// `FLOW_CONTROL_ERROR` (0x3).
    FLOW_CONTROL_ERROR = 0x3,
    /// `SETTINGS_TIMEOUT` (0x4).
    SETTINGS_TIMEOUT = 0x4,
    /// `STREAM_CLOSED` (0x5).
    STREAM_CLOSED = 0x5,
    /// `FRAME_SIZE_ERROR` (0x6).
    FRAME_SIZE_ERROR = 0x6,
    /// `REFUSED_STREAM` (0x7): the stream was not processed.
    REFUSED_STREAM = 0x7,
    /// `CANCEL` (0x8): the stream is no longer needed.
    CANCEL = 0x8,
    /// `COMPRESSION_ERROR` (0x9): HPACK state lost.
    COMPRESSION_ERROR = 0x9,
    /// `CONNECT_ERROR` (0xa).
    CONNECT_ERROR = 0xa,
    /// `ENHANCE_YOUR_CALM` (0xb): the peer is generating excessive load.
    ENHANCE_YOUR_CALM = 0xb,
    /// `INADEQUATE_SECURITY` (0xc).
    INADEQUATE_SECURITY = 0xc,
    /// `HTTP_1_1_REQUIRED` (0xd).
    HTTP_1_1_REQUIRED = 0xd,
}

impl From<u32> for Http2ErrorCode {
    fn from(code: u32) -> Self {
        Http2ErrorCode(code)
    }
}

impl From<Http2ErrorCode> for u32 {
    fn from(code: Http2ErrorCode) -> u32 {
        code.0
    }
}

impl fmt::Debug for Http2ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "Http2ErrorCode({:#x})", self.0),
        }
    }
}

/// The end of a call that reports a failure; a broken connection means
/// something different to each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The end that made the call.
    Client,
    /// The end that serves it.
    Server,
}

/// The code for a stream reset with `RST_STREAM(code)`: the table of the
/// "Errors" section of gRPC's `PROTOCOL-HTTP2.md`.
///
/// | HTTP/2 code | gRPC code |
/// |---|---|
/// | `NO_ERROR`, `PROTOCOL_ERROR`, `INTERNAL_ERROR`, `FLOW_CONTROL_ERROR`, `SETTINGS_TIMEOUT`, `FRAME_SIZE_ERROR`, `COMPRESSION_ERROR`, `CONNECT_ERROR` | `INTERNAL` |
/// | `STREAM_CLOSED` | none (`None`): "there is no open stream to propagate to" |
/// | `REFUSED_STREAM` | `UNAVAILABLE`: nothing was processed, the call may be retried |
/// | `CANCEL` | `CANCELLED` (a client's cancellation, or a server's) |
/// | `ENHANCE_YOUR_CALM` | `RESOURCE_EXHAUSTED` |
/// | `INADEQUATE_SECURITY` | `PERMISSION_DENIED` |
///
/// The table lists no other code; `HTTP_1_1_REQUIRED` and codes the RFC
/// does not define are runtime errors like the `INTERNAL` rows, and map to
/// `INTERNAL`.
pub fn code_from_http2_error(code: Http2ErrorCode) -> Option<Code> {
    Some(match code {
        Http2ErrorCode::STREAM_CLOSED => return None,
        Http2ErrorCode::REFUSED_STREAM => Code::Unavailable,
        Http2ErrorCode::CANCEL => Code::Cancelled,
        Http2ErrorCode::ENHANCE_YOUR_CALM => Code::ResourceExhausted,
        Http2ErrorCode::INADEQUATE_SECURITY => Code::PermissionDenied,
        _ => Code::Internal,
    })
}

/// The `RST_STREAM` code with which a side abandons a call it ends with
/// `code` while the stream is still open: a client that gives up on a call
/// (cancelled, past its deadline, a message it refused) and a server that
/// cut a call off both send `CANCEL`, "the stream is no longer needed"
/// (RFC 9113 §8.7; PROTOCOL-HTTP2: "The client ... sends RST_STREAM with
/// CANCEL"). `OK` is no reason to reset a stream: `NO_ERROR`.
///
/// ```
/// use grpc_core::status::mapping::{reset_code, Http2ErrorCode};
/// use grpc_core::Code;
///
/// assert_eq!(reset_code(Code::ResourceExhausted), Http2ErrorCode::CANCEL);
/// assert_eq!(reset_code(Code::Ok), Http2ErrorCode::NO_ERROR);
/// ```
pub fn reset_code(code: Code) -> Http2ErrorCode {
    match code {
        Code::Ok => Http2ErrorCode::NO_ERROR,
        _ => Http2ErrorCode::CANCEL,
    }
}

/// The code of every call still open on a connection that failed: refused,
/// reset or closed under it, a keepalive `PING` that went unanswered, or a
/// `GOAWAY` that ended the stream. Per `PROTOCOL-HTTP2.md`: "If a detectable
/// connection failure occurs on the client all calls will be closed with an
/// UNAVAILABLE status. For servers open calls will be closed with a
/// CANCELLED status."
pub fn connection_failure_code(side: Side) -> Code {
    match side {
        Side::Client => Code::Unavailable,
        Side::Server => Code::Cancelled,
    }
}

/// Whether an I/O error of this kind means the connection could not be
/// made or broke: refused, reset, aborted, not connected, a broken pipe, an
/// unexpected end of stream, a timeout, an unreachable host or network, a
/// network that is down, or an address that is not available.
///
/// Other kinds (a file not found, bad input) are not transport failures
/// and are not classified here.
pub fn is_connection_failure(kind: io::ErrorKind) -> bool {
    use io::ErrorKind::*;
    matches!(
        kind,
        ConnectionRefused
            | ConnectionReset
            | ConnectionAborted
            | NotConnected
            | BrokenPipe
            | UnexpectedEof
            | TimedOut
            | AddrNotAvailable
            | HostUnreachable
            | NetworkUnreachable
            | NetworkDown
    )
}

/// The code of an I/O error, seen by `side`: a connection failure's
/// ([`is_connection_failure`], [`connection_failure_code`]); any other kind
/// (a file not found, bad input) is no transport failure, and gRPC gives it
/// no code of its own: `UNKNOWN`.
///
/// ```
/// use std::io::ErrorKind;
/// use grpc_core::status::mapping::{code_from_io_error, Side};
/// use grpc_core::Code;
///
/// assert_eq!(code_from_io_error(ErrorKind::ConnectionReset, Side::Client), Code::Unavailable);
/// assert_eq!(code_from_io_error(ErrorKind::ConnectionReset, Side::Server), Code::Cancelled);
/// assert_eq!(code_from_io_error(ErrorKind::NotFound, Side::Client), Code::Unknown);
/// ```
pub fn code_from_io_error(kind: io::ErrorKind, side: Side) -> Code {
    if is_connection_failure(kind) {
        connection_failure_code(side)
    } else {
        Code::Unknown
    }
}

/// The code a client reports for a response without `grpc-status` (a
/// proxy's 503, a load balancer's 404): the table of gRPC's
/// `http-grpc-status-mapping.md`.
///
/// | HTTP status | gRPC code |
/// |---|---|
/// | 400 Bad Request | `INTERNAL` |
/// | 401 Unauthorized | `UNAUTHENTICATED` |
/// | 403 Forbidden | `PERMISSION_DENIED` |
/// | 404 Not Found | `UNIMPLEMENTED` |
/// | 429 Too Many Requests | `UNAVAILABLE` |
/// | 431 Request Header Fields Too Large | `INTERNAL` |
/// | 502 Bad Gateway, 503 Service Unavailable, 504 Gateway Timeout | `UNAVAILABLE` |
/// | all other codes (200 included: a real OK carries `grpc-status`) | `UNKNOWN` |
///
/// The table is for clients only; a server must not use it to choose an
/// HTTP status.
///
/// ```
/// use grpc_core::status::mapping::code_from_http_status;
/// use grpc_core::Code;
///
/// assert_eq!(code_from_http_status(http::StatusCode::SERVICE_UNAVAILABLE), Code::Unavailable);
/// ```
pub fn code_from_http_status(status: StatusCode) -> Code {
    match status.as_u16() {
        400 | 431 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502 | 503 | 504 => Code::Unavailable,
        _ => Code::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row of the "Errors" table of PROTOCOL-HTTP2.md, in its order.
    #[test]
    fn rst_stream_codes_map_row_by_row_as_protocol_http2_says() {
        let rows = [
            (Http2ErrorCode::NO_ERROR, 0x0, Some(Code::Internal)),
            (Http2ErrorCode::PROTOCOL_ERROR, 0x1, Some(Code::Internal)),
            (Http2ErrorCode::INTERNAL_ERROR, 0x2, Some(Code::Internal)),
            (
                Http2ErrorCode::FLOW_CONTROL_ERROR,
                0x3,
                Some(Code::Internal),
            ),
            (Http2ErrorCode::SETTINGS_TIMEOUT, 0x4, Some(Code::Internal)),
            (Http2ErrorCode::STREAM_CLOSED, 0x5, None),
            (Http2ErrorCode::FRAME_SIZE_ERROR, 0x6, Some(Code::Internal)),
            (Http2ErrorCode::REFUSED_STREAM, 0x7, Some(Code::Unavailable)),
            (Http2ErrorCode::CANCEL, 0x8, Some(Code::Cancelled)),
            (Http2ErrorCode::COMPRESSION_ERROR, 0x9, Some(Code::Internal)),
            (Http2ErrorCode::CONNECT_ERROR, 0xa, Some(Code::Internal)),
            (
                Http2ErrorCode::ENHANCE_YOUR_CALM,
                0xb,
                Some(Code::ResourceExhausted),
            ),
            (
                Http2ErrorCode::INADEQUATE_SECURITY,
                0xc,
                Some(Code::PermissionDenied),
            ),
        ];
        for (code, value, expected) in rows {
            assert_eq!(u32::from(code), value, "{code:?} is {value:#x} in RFC 9113");
            assert_eq!(code_from_http2_error(code), expected, "{code:?}");
            assert_eq!(code_from_http2_error(value.into()), expected, "{value:#x}");
        }
    }

    #[test]
    fn codes_the_table_does_not_list_are_internal() {
        assert_eq!(
            code_from_http2_error(Http2ErrorCode::HTTP_1_1_REQUIRED),
            Some(Code::Internal)
        );
        let unknown = Http2ErrorCode::from(0x1234);
        assert_eq!(code_from_http2_error(unknown), Some(Code::Internal));
        assert_eq!(unknown.name(), None);
        assert_eq!(format!("{unknown:?}"), "Http2ErrorCode(0x1234)");
    }

    /// Every row of http-grpc-status-mapping.md, and a sample of "all other codes".
    #[test]
    fn http_statuses_map_row_by_row_as_http_grpc_status_mapping_says() {
        let rows = [
            (400, Code::Internal),
            (401, Code::Unauthenticated),
            (403, Code::PermissionDenied),
            (404, Code::Unimplemented),
            (429, Code::Unavailable),
            (431, Code::Internal),
            (502, Code::Unavailable),
            (503, Code::Unavailable),
            (504, Code::Unavailable),
        ];
        for (http, code) in rows {
            let status = StatusCode::from_u16(http).unwrap();
            assert_eq!(code_from_http_status(status), code, "{http}");
        }
        for other in [200, 201, 204, 302, 405, 415, 500, 501, 505, 599] {
            let status = StatusCode::from_u16(other).unwrap();
            assert_eq!(code_from_http_status(status), Code::Unknown, "{other}");
        }
    }

    #[test]
    fn a_failed_connection_is_unavailable_to_a_client_and_cancelled_for_a_server() {
        assert_eq!(connection_failure_code(Side::Client), Code::Unavailable);
        assert_eq!(connection_failure_code(Side::Server), Code::Cancelled);
    }

    #[test]
    fn only_connection_io_errors_are_connection_failures() {
        use io::ErrorKind::*;
        for kind in [
            ConnectionRefused,
            ConnectionReset,
            ConnectionAborted,
            NotConnected,
            BrokenPipe,
            UnexpectedEof,
            TimedOut,
            AddrNotAvailable,
            HostUnreachable,
            NetworkUnreachable,
            NetworkDown,
        ] {
            assert!(is_connection_failure(kind), "{kind:?}");
        }
        for kind in [NotFound, PermissionDenied, InvalidData, InvalidInput, Other] {
            assert!(!is_connection_failure(kind), "{kind:?}");
        }
    }
}
