//! [`MessageTooLarge`]: the body error of a refused message.

use std::error::Error;
use std::fmt;

use grpc_core::codec::framing::too_large_to_receive;
use grpc_core::Status;

/// A message over the size limit ended a request body: the error its
/// reader (a handler, or hyper sending a client's request) gets.
///
/// Its [`source`](Error::source) is the [`Status`] it stands for
/// (`RESOURCE_EXHAUSTED`), so [`Status::from_error`] and the status layer's
/// mapper turn it into that status without knowing this type;
/// `Status::from(err)` does the same.
#[derive(Clone)]
pub struct MessageTooLarge {
    len: usize,
    max: usize,
    received: bool,
    status: Status,
}

impl MessageTooLarge {
    /// A message from the peer.
    pub(crate) fn received(len: usize, max: usize) -> Self {
        MessageTooLarge {
            len,
            max,
            received: true,
            status: too_large_to_receive(len, max),
        }
    }

    /// A message to the peer.
    pub(crate) fn sent(len: usize, max: usize) -> Self {
        MessageTooLarge {
            len,
            max,
            received: false,
            status: Status::resource_exhausted(format!(
                "message to send is larger than the limit ({len} vs. {max} bytes)"
            )),
        }
    }

    /// With a cause in the status's chain (hyper reads the reset reason
    /// from there).
    pub(crate) fn caused_by(mut self, cause: impl Error + Send + Sync + 'static) -> Self {
        self.status = self.status.with_source(cause);
        self
    }

    /// The size the message's prefix announced, in bytes.
    pub fn size(&self) -> usize {
        self.len
    }

    /// The limit it broke.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Whether it was a message from the peer (else one to the peer).
    pub fn is_received(&self) -> bool {
        self.received
    }

    /// The status this error stands for: `RESOURCE_EXHAUSTED`.
    pub fn status(&self) -> &Status {
        &self.status
    }
}

impl fmt::Debug for MessageTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageTooLarge")
            .field("len", &self.len)
            .field("max", &self.max)
            .field("received", &self.received)
            .finish()
    }
}

impl fmt::Display for MessageTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.status.message())
    }
}

impl Error for MessageTooLarge {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.status)
    }
}

impl From<MessageTooLarge> for Status {
    fn from(err: MessageTooLarge) -> Status {
        err.status
    }
}
