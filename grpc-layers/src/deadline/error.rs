//! The statuses of a call whose deadline passed, on each side, and how a
//! timeout reads in their messages.

use std::time::Duration;

use grpc_core::status::mapping::Side;
use grpc_core::Status;

/// The status a call whose deadline passed ends with, on `side`.
pub(crate) fn exceeded(side: Side, timeout: Duration) -> Status {
    match side {
        Side::Server => exceeded_on_server(timeout),
        Side::Client => exceeded_on_client(timeout),
    }
}

/// The status a server answers with when a call's deadline passed.
fn exceeded_on_server(timeout: Duration) -> Status {
    if timeout.is_zero() {
        Status::deadline_exceeded("deadline exceeded: the deadline passed before the call arrived")
    } else {
        Status::deadline_exceeded(format!(
            "deadline exceeded: the server stopped the call after {}",
            display_timeout(timeout)
        ))
    }
}

/// The status a client call ends with when its deadline passed: before it
/// was sent (`timeout` zero), or after `timeout`.
fn exceeded_on_client(timeout: Duration) -> Status {
    if timeout.is_zero() {
        Status::deadline_exceeded("deadline exceeded: the deadline passed before the call was sent")
    } else {
        Status::deadline_exceeded(format!(
            "deadline exceeded: the call did not finish within {}",
            display_timeout(timeout)
        ))
    }
}

/// A timeout for a message: whole milliseconds from 1 ms up, so a
/// deadline computed from a clock reads `250ms`, not `249.999871ms`.
pub(crate) fn display_timeout(timeout: Duration) -> String {
    if timeout >= Duration::from_millis(1) {
        let millis = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        format!("{:?}", Duration::from_millis(millis))
    } else {
        format!("{timeout:?}")
    }
}
