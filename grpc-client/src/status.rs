//! Transport errors → [`Status`]: the one place the client decides which
//! gRPC code a broken connection or stream becomes.
//!
//! [`status_from_error`] reads the error and its whole
//! [`source()`](std::error::Error::source) chain:
//!
//! 1. a [`Status`] anywhere in the chain wins, as it is;
//! 2. an HTTP/2 error with a reason code follows gRPC's `PROTOCOL-HTTP2.md`
//!    table (see [`code_from_h2_reason`]); a `GOAWAY` with `NO_ERROR` from the
//!    peer refused a stream it never processed, which is
//!    [`Code::Unavailable`];
//! 3. this crate's [`Error`] (connect failure, connect timeout, backoff,
//!    connection closed) is [`Code::Unavailable`];
//! 4. an `io::Error` of a refused, reset, aborted or closed connection, or a
//!    timed-out connect, is [`Code::Unavailable`];
//! 5. a hyper error of a closed connection or a request that never left is
//!    [`Code::Unavailable`];
//! 6. anything else is [`Code::Unknown`].
//!
//! The message lists the chain (`outer: inner: …`) and the original error
//! stays reachable through the status's `source()`.
//!
//! ```
//! use grpc_client::status::status_from_error;
//! use grpc_core::Code;
//!
//! let reset = h2::Error::from(h2::Reason::REFUSED_STREAM);
//! let status = status_from_error(Box::new(reset));
//! assert_eq!(status.code(), Code::Unavailable);
//! assert!(std::error::Error::source(&status).is_some());
//! ```
//!
//! The module depends on nothing else of this crate but [`Error`], so the
//! mapping can move into a status layer unchanged.

use std::error::Error as StdError;
use std::fmt::Write as _;
use std::io;

use grpc_core::status::find_in_chain;
use grpc_core::{BoxError, Code, Status};
use h2::Reason;

use crate::error::Error;
#[cfg(test)]
use crate::error::Kind;

/// Turns a transport error (a service's `Err`, a body error) into a
/// [`Status`]; see the [module docs](self) for the rules.
pub fn status_from_error(err: BoxError) -> Status {
    let err = match err.downcast::<Status>() {
        Ok(status) => return *status,
        Err(err) => err,
    };
    if let Some(status) = find_in_chain::<Status>(&*err) {
        return status.clone();
    }
    let code = classify(&*err);
    Status::new(code, chain_message(&*err)).with_source(err)
}

/// The gRPC code for an HTTP/2 reset or `GOAWAY` reason, per gRPC's
/// `PROTOCOL-HTTP2.md`. Codes the table does not list are
/// [`Code::Internal`].
pub fn code_from_h2_reason(reason: Reason) -> Code {
    match reason {
        Reason::REFUSED_STREAM => Code::Unavailable,
        Reason::CANCEL => Code::Cancelled,
        Reason::ENHANCE_YOUR_CALM => Code::ResourceExhausted,
        Reason::INADEQUATE_SECURITY => Code::PermissionDenied,
        // NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR,
        // SETTINGS_TIMEOUT, FRAME_SIZE_ERROR, COMPRESSION_ERROR,
        // CONNECT_ERROR, and anything unlisted.
        _ => Code::Internal,
    }
}

fn classify(err: &(dyn StdError + 'static)) -> Code {
    let mut fallback = None;
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(ours) = e.downcast_ref::<Error>() {
            return code_from_kind(ours);
        }
        if let Some(h2) = e.downcast_ref::<h2::Error>() {
            if let Some(code) = code_from_h2(h2) {
                return code;
            }
        }
        if let Some(io) = e.downcast_ref::<io::Error>() {
            if let Some(code) = code_from_io(io) {
                return code;
            }
        }
        if let Some(hyper) = e.downcast_ref::<hyper::Error>() {
            // Look further down first: the h2 or io cause is more precise.
            if fallback.is_none() && (hyper.is_closed() || hyper.is_canceled()) {
                fallback = Some(Code::Unavailable);
            }
        }
        cur = e.source();
    }
    fallback.unwrap_or(Code::Unknown)
}

fn code_from_kind(err: &Error) -> Code {
    if err.is_invalid_request() {
        Code::Internal
    } else if err.is_invalid_uri() {
        Code::InvalidArgument
    } else {
        // Connect, connect timeout, backoff, connection closed.
        Code::Unavailable
    }
}

fn code_from_h2(err: &h2::Error) -> Option<Code> {
    if let Some(reason) = err.reason() {
        if err.is_go_away() && err.is_remote() && reason == Reason::NO_ERROR {
            // The peer is shutting down and never processed this stream.
            return Some(Code::Unavailable);
        }
        return Some(code_from_h2_reason(reason));
    }
    err.get_io().and_then(code_from_io)
}

fn code_from_io(err: &io::Error) -> Option<Code> {
    use io::ErrorKind::*;
    match err.kind() {
        ConnectionRefused | ConnectionReset | ConnectionAborted | NotConnected | BrokenPipe
        | UnexpectedEof | TimedOut | AddrNotAvailable | HostUnreachable | NetworkUnreachable
        | NetworkDown => Some(Code::Unavailable),
        _ => None,
    }
}

/// `outer: inner: innermost`, skipping a cause whose text its parent
/// already shows.
fn chain_message(err: &(dyn StdError + 'static)) -> String {
    let mut message = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let text = e.to_string();
        if !text.is_empty() && !message.ends_with(&text) {
            let _ = write!(message, ": {text}");
        }
        cur = e.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    /// An error that wraps another, as layers and hyper do.
    #[derive(Debug)]
    struct Wrapped(BoxError);

    impl fmt::Display for Wrapped {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("wrapped")
        }
    }

    impl StdError for Wrapped {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&*self.0)
        }
    }

    #[test]
    fn h2_reasons_map_as_the_grpc_http2_spec_says() {
        let table = [
            (Reason::NO_ERROR, Code::Internal),
            (Reason::PROTOCOL_ERROR, Code::Internal),
            (Reason::INTERNAL_ERROR, Code::Internal),
            (Reason::FLOW_CONTROL_ERROR, Code::Internal),
            (Reason::SETTINGS_TIMEOUT, Code::Internal),
            (Reason::FRAME_SIZE_ERROR, Code::Internal),
            (Reason::REFUSED_STREAM, Code::Unavailable),
            (Reason::CANCEL, Code::Cancelled),
            (Reason::COMPRESSION_ERROR, Code::Internal),
            (Reason::CONNECT_ERROR, Code::Internal),
            (Reason::ENHANCE_YOUR_CALM, Code::ResourceExhausted),
            (Reason::INADEQUATE_SECURITY, Code::PermissionDenied),
        ];
        for (reason, code) in table {
            assert_eq!(code_from_h2_reason(reason), code, "{reason:?}");
            // The same through the whole function, directly and nested.
            let direct = status_from_error(Box::new(h2::Error::from(reason)));
            assert_eq!(direct.code(), code, "{reason:?}");
            let nested = status_from_error(Box::new(Wrapped(Box::new(Wrapped(Box::new(
                h2::Error::from(reason),
            ))))));
            assert_eq!(nested.code(), code, "nested {reason:?}");
        }
    }

    #[test]
    fn a_status_anywhere_in_the_chain_wins() {
        let status = Status::permission_denied("no");
        assert_eq!(
            status_from_error(Box::new(status.clone())).code(),
            Code::PermissionDenied
        );
        let nested = Wrapped(Box::new(Wrapped(Box::new(status))));
        let back = status_from_error(Box::new(nested));
        assert_eq!(back.code(), Code::PermissionDenied);
        assert_eq!(back.message(), "no");
    }

    #[test]
    fn broken_connections_are_unavailable() {
        use io::ErrorKind::*;
        for kind in [
            ConnectionRefused,
            ConnectionReset,
            ConnectionAborted,
            BrokenPipe,
            NotConnected,
            TimedOut,
        ] {
            let status = status_from_error(Box::new(Wrapped(Box::new(io::Error::from(kind)))));
            assert_eq!(status.code(), Code::Unavailable, "{kind:?}");
        }
        let other = status_from_error(Box::new(io::Error::from(PermissionDenied)));
        assert_eq!(other.code(), Code::Unknown);
    }

    #[test]
    fn connect_failures_timeouts_and_backoff_are_unavailable() {
        let refused = Error::with(
            Kind::Connect,
            io::Error::from(io::ErrorKind::ConnectionRefused),
        );
        for err in [
            refused.clone(),
            Error::new(Kind::ConnectTimeout),
            Error::in_backoff(&refused),
            Error::new(Kind::ConnectionClosed),
        ] {
            assert_eq!(status_from_error(Box::new(err)).code(), Code::Unavailable);
        }
        assert_eq!(
            status_from_error(Box::new(Error::new(Kind::InvalidRequest))).code(),
            Code::Internal
        );
        assert_eq!(
            status_from_error(Box::new(Error::new(Kind::InvalidUri))).code(),
            Code::InvalidArgument
        );
    }

    #[test]
    fn anything_else_is_unknown_and_keeps_the_original_error_as_source() {
        let status = status_from_error(Box::new(Wrapped("disk on fire".into())));
        assert_eq!(status.code(), Code::Unknown);
        assert_eq!(status.message(), "wrapped: disk on fire");
        let source = StdError::source(&status).unwrap();
        assert!(source.downcast_ref::<Wrapped>().is_some());
    }
}
