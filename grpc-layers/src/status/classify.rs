//! The built-in rules of the default mapper: which errors of tower, h2,
//! hyper and the OS it recognises in a `source()` chain. The codes come from
//! grpc-core's table, [`grpc_core::status::mapping`].

use std::any::Any;
use std::error::Error;
use std::fmt::Write as _;
use std::io;

use grpc_core::status::mapping::{
    code_from_http2_error, connection_failure_code, is_connection_failure, Http2ErrorCode, Side,
};
use grpc_core::Code;

/// What the rules say about one error of a `source()` chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// This is the code.
    Code(Code),
    /// This code, unless an error further down the chain says otherwise.
    Fallback(Code),
    /// Not known here.
    Unknown,
}

/// The verdict on one error (not its sources), for a failure seen by `side`.
pub(crate) fn classify(err: &(dyn Error + 'static), side: Side) -> Verdict {
    if err.is::<tower::timeout::error::Elapsed>() {
        return Verdict::Code(Code::DeadlineExceeded);
    }
    if err.is::<tower::load_shed::error::Overloaded>() {
        return Verdict::Code(Code::Unavailable);
    }
    if let Some(h2) = err.downcast_ref::<h2::Error>() {
        return code_from_h2(h2, side).map_or(Verdict::Unknown, Verdict::Code);
    }
    if let Some(io) = err.downcast_ref::<io::Error>() {
        return code_from_io(io, side).map_or(Verdict::Unknown, Verdict::Code);
    }
    if let Some(hyper) = err.downcast_ref::<hyper::Error>() {
        // The h2 or io error below says more, when there is one.
        if hyper.is_closed() || hyper.is_canceled() {
            return Verdict::Fallback(connection_failure_code(side));
        }
    }
    Verdict::Unknown
}

fn code_from_h2(err: &h2::Error, side: Side) -> Option<Code> {
    if let Some(reason) = err.reason() {
        if err.is_go_away() && err.is_remote() {
            // The peer's GOAWAY ended the stream: it was never processed
            // (the peer will not take it), or the connection is closing
            // under it. Either way, a connection failure.
            return Some(connection_failure_code(side));
        }
        let code = Http2ErrorCode::from(u32::from(reason));
        // STREAM_CLOSED has no row ("no open stream to propagate to"); a
        // stream that did see it failed in the protocol: INTERNAL.
        return Some(code_from_http2_error(code).unwrap_or(Code::Internal));
    }
    err.get_io().and_then(|io| code_from_io(io, side))
}

/// A connection that could not be made or broke; other kinds are not
/// transport failures and say nothing here.
fn code_from_io(err: &io::Error, side: Side) -> Option<Code> {
    is_connection_failure(err.kind()).then(|| connection_failure_code(side))
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

/// The code an error stands for, read the way [`DefaultMapper`] reads a
/// chain (a [`Status`] in it wins, then the built-in table, else
/// `UNKNOWN`), without taking the error: for layers that only record what
/// an error means and pass it on (telemetry).
///
/// [`DefaultMapper`]: super::DefaultMapper
/// [`Status`]: grpc_core::Status
#[cfg_attr(not(feature = "otel"), allow(dead_code))]
pub(crate) fn code_of(err: &(dyn Error + 'static), side: Side) -> Code {
    if let Some(status) = grpc_core::status::find_in_chain::<grpc_core::Status>(err) {
        return status.code();
    }
    let mut fallback = None;
    let mut cur = Some(err);
    while let Some(e) = cur {
        match classify(e, side) {
            Verdict::Code(code) => return code,
            Verdict::Fallback(code) => {
                fallback.get_or_insert(code);
            }
            Verdict::Unknown => {}
        }
        cur = e.source();
    }
    fallback.unwrap_or(Code::Unknown)
}
