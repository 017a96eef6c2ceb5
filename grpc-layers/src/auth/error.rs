//! [`Unauthenticated`]: why a call could not be given its credentials (a
//! failed token refresh), turned into the status of its answer.

use std::error::Error;
use std::fmt;

use grpc_core::{BoxError, Status};

/// A call could not be given credentials: the token source failed to
/// produce a token (the call never left).
///
/// Its [`source`](Error::source) is the [`Status`] it stands for
/// (`UNAUTHENTICATED`, with a message saying the token source failed and
/// why), whose own `source()` is the token source's error; so
/// [`Status::from_error`] and the status layer's mapper turn it into that
/// status without knowing this type, and `Status::from(err)` does the same.
#[derive(Clone)]
pub(crate) struct Unauthenticated {
    status: Status,
}

impl Unauthenticated {
    /// The token source failed with `err`.
    pub(crate) fn token_source_failed(err: BoxError) -> Unauthenticated {
        Unauthenticated {
            status: Status::unauthenticated(format!(
                "could not get credentials for the call: the token source failed: {err}"
            ))
            .with_source(err),
        }
    }
}

impl fmt::Debug for Unauthenticated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Unauthenticated")
            .field(&self.status.message())
            .finish()
    }
}

impl fmt::Display for Unauthenticated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.status.message())
    }
}

impl Error for Unauthenticated {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.status)
    }
}

impl From<Unauthenticated> for Status {
    fn from(err: Unauthenticated) -> Status {
        err.status
    }
}
