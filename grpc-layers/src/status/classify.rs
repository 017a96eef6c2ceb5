//! The built-in table of the default mapper: which gRPC code an error of
//! tower, h2, hyper or the OS stands for.

use std::any::Any;
use std::error::Error;
use std::fmt::Write as _;
use std::io;

use grpc_core::Code;
use h2::Reason;

/// What the table says about one error of a `source()` chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// This is the code.
    Code(Code),
    /// This code, unless an error further down the chain says otherwise.
    Fallback(Code),
    /// Not known here.
    Unknown,
}

/// The gRPC code for an HTTP/2 `RST_STREAM` or `GOAWAY` reason, per the
/// table of gRPC's `PROTOCOL-HTTP2.md`; reasons it does not list are
/// [`Code::Internal`].
///
/// ```
/// use grpc_core::Code;
/// use grpc_layers::status::code_from_h2_reason;
///
/// assert_eq!(code_from_h2_reason(h2::Reason::REFUSED_STREAM), Code::Unavailable);
/// assert_eq!(code_from_h2_reason(h2::Reason::CANCEL), Code::Cancelled);
/// ```
pub fn code_from_h2_reason(reason: Reason) -> Code {
    match reason {
        Reason::REFUSED_STREAM => Code::Unavailable,
        Reason::CANCEL => Code::Cancelled,
        Reason::ENHANCE_YOUR_CALM => Code::ResourceExhausted,
        Reason::INADEQUATE_SECURITY => Code::PermissionDenied,
        // NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR,
        // SETTINGS_TIMEOUT, STREAM_CLOSED, FRAME_SIZE_ERROR,
        // COMPRESSION_ERROR, CONNECT_ERROR, HTTP_1_1_REQUIRED and anything
        // unlisted.
        _ => Code::Internal,
    }
}

/// The table's verdict on one error (not its sources).
pub(crate) fn classify(err: &(dyn Error + 'static)) -> Verdict {
    if err.is::<tower::timeout::error::Elapsed>() {
        return Verdict::Code(Code::DeadlineExceeded);
    }
    if err.is::<tower::load_shed::error::Overloaded>() {
        return Verdict::Code(Code::Unavailable);
    }
    if let Some(h2) = err.downcast_ref::<h2::Error>() {
        return code_from_h2(h2).map_or(Verdict::Unknown, Verdict::Code);
    }
    if let Some(io) = err.downcast_ref::<io::Error>() {
        return code_from_io(io).map_or(Verdict::Unknown, Verdict::Code);
    }
    if let Some(hyper) = err.downcast_ref::<hyper::Error>() {
        // The h2 or io error below says more, when there is one.
        if hyper.is_closed() || hyper.is_canceled() {
            return Verdict::Fallback(Code::Unavailable);
        }
    }
    Verdict::Unknown
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

/// A connection that could not be made or broke: `UNAVAILABLE`, as the gRPC
/// status code docs say for a failed connection. Other kinds are not
/// transport failures and say nothing here.
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
pub(crate) fn chain_message(err: &(dyn Error + 'static)) -> String {
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

/// The text of a panic payload, when it is one.
pub(crate) fn panic_text(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

/// Logs a panic of the service; its payload stays out of the answer unless
/// the mapper puts it there.
pub(crate) fn log_panic(payload: &(dyn Any + Send), during: &'static str) {
    tracing::error!(
        panic = panic_text(payload).unwrap_or("(not a string)"),
        "the service panicked {during}; answering INTERNAL"
    );
}
