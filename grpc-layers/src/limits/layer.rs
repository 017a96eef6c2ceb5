//! [`LimitsLayer`]: the limits of one side, and how to apply them.

use grpc_core::codec::framing::{
    MessageLimits, DEFAULT_MAX_RECV_MESSAGE_SIZE, DEFAULT_MAX_SEND_MESSAGE_SIZE,
};
use tower_layer::Layer;

use super::Limits;

/// Which end of a call the layer sits on: it decides which body is
/// "received" and which is "sent".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// Requests are received, responses sent.
    Server,
    /// Requests are sent, responses received.
    Client,
}

/// Applies message size limits to every call; see the [module docs](super).
///
/// | limit | default | server side | client side |
/// |---|---|---|---|
/// | [`max_receive`](Self::max_receive) | 4 MiB | request messages | response messages |
/// | [`max_send`](Self::max_send) | `i32::MAX` | response messages | request messages |
///
/// `usize::MAX` (or anything from `u32::MAX` up, which no 32-bit message
/// prefix can exceed) turns a direction's check off.
#[derive(Clone, Copy, Debug)]
pub struct LimitsLayer {
    side: Side,
    limits: MessageLimits,
}

impl LimitsLayer {
    /// The server side, with the default limits.
    pub fn server() -> Self {
        LimitsLayer::with_side(Side::Server)
    }

    /// The client side, with the default limits.
    pub fn client() -> Self {
        LimitsLayer::with_side(Side::Client)
    }

    fn with_side(side: Side) -> Self {
        LimitsLayer {
            side,
            limits: MessageLimits::new(
                DEFAULT_MAX_RECV_MESSAGE_SIZE,
                DEFAULT_MAX_SEND_MESSAGE_SIZE,
            ),
        }
    }

    /// Largest message accepted from the peer, in bytes (default 4 MiB):
    /// requests on the server, responses on the client.
    pub fn max_receive(self, bytes: usize) -> Self {
        LimitsLayer {
            limits: MessageLimits::new(bytes, self.limits.max_send()),
            ..self
        }
    }

    /// Largest message sent to the peer, in bytes (default `i32::MAX`):
    /// responses on the server, requests on the client.
    pub fn max_send(self, bytes: usize) -> Self {
        LimitsLayer {
            limits: MessageLimits::new(self.limits.max_recv(), bytes),
            ..self
        }
    }

    /// The configured limits, as the request extension carries them.
    pub fn limits(&self) -> MessageLimits {
        self.limits
    }

    pub(crate) fn side(&self) -> Side {
        self.side
    }
}

impl<S> Layer<S> for LimitsLayer {
    type Service = Limits<S>;

    fn layer(&self, inner: S) -> Limits<S> {
        Limits::with_layer(inner, *self)
    }
}
