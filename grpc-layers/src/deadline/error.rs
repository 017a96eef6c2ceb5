//! [`DeadlineExceeded`]: the client side's error when a call's deadline passes.

use std::error::Error;
use std::fmt;
use std::time::Duration;

use grpc_core::Status;

/// A call's deadline passed on the client side: before the call was sent,
/// while waiting for the response head, or while reading the response body.
///
/// Its [`source`](Error::source) is the [`Status`] it stands for
/// (`DEADLINE_EXCEEDED`), so [`Status::from_error`] and
/// `grpc_client::status::status_from_error` turn it into that status
/// without knowing this type; `Status::from(err)` does the same.
#[derive(Clone)]
pub struct DeadlineExceeded {
    status: Status,
}

impl DeadlineExceeded {
    /// The deadline had already passed when the call was made.
    pub(crate) fn before_sending() -> DeadlineExceeded {
        DeadlineExceeded {
            status: Status::deadline_exceeded(
                "deadline exceeded: the deadline passed before the call was sent",
            ),
        }
    }

    /// No complete response within `timeout`.
    pub(crate) fn after(timeout: Duration) -> DeadlineExceeded {
        DeadlineExceeded {
            status: Status::deadline_exceeded(format!(
                "deadline exceeded: the call did not finish within {}",
                display_timeout(timeout)
            )),
        }
    }

    /// The status this error stands for: `DEADLINE_EXCEEDED`.
    pub fn status(&self) -> &Status {
        &self.status
    }
}

impl fmt::Debug for DeadlineExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DeadlineExceeded")
            .field(&self.status.message())
            .finish()
    }
}

impl fmt::Display for DeadlineExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.status.message())
    }
}

impl Error for DeadlineExceeded {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.status)
    }
}

impl From<DeadlineExceeded> for Status {
    fn from(err: DeadlineExceeded) -> Status {
        err.status
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
