//! [`ServerLimitsLayer`] and [`ClientLimitsLayer`]: the limits of one side,
//! and how to apply them.

use grpc_core::limits::MessageLimits;
use tower_layer::Layer;

use super::{ClientLimits, ServerLimits};

/// The setters both layers share.
macro_rules! limit_setters {
    ($layer:ident) => {
        impl $layer {
            /// The layer asking for no limit of its own: the call's limits
            /// apply, and where nothing asks, the defaults (4 MiB received,
            /// `i32::MAX` sent).
            pub fn new() -> Self {
                $layer {
                    limits: MessageLimits::default(),
                }
            }

            /// Largest message accepted from the peer, in bytes (default:
            /// the call's limit, 4 MiB when nothing asks; the narrowest
            /// limit asked for wins).
            pub fn max_receive_message_size(self, bytes: usize) -> Self {
                $layer {
                    limits: self.limits.with_max_receive(bytes),
                }
            }

            /// Largest message sent to the peer, in bytes (default: the
            /// call's limit, `i32::MAX` when nothing asks; the narrowest
            /// wins).
            pub fn max_send_message_size(self, bytes: usize) -> Self {
                $layer {
                    limits: self.limits.with_max_send(bytes),
                }
            }

            /// The limits this layer asks for, as the request extension
            /// carries them.
            pub fn limits(&self) -> MessageLimits {
                self.limits
            }
        }

        impl Default for $layer {
            fn default() -> Self {
                $layer::new()
            }
        }
    };
}

/// Applies message size limits to the calls a server answers: requests
/// are received, responses sent; see the [module docs](super).
///
/// | limit | default | checks |
/// |---|---|---|
/// | [`max_receive_message_size`](Self::max_receive_message_size) | 4 MiB | request messages |
/// | [`max_send_message_size`](Self::max_send_message_size) | `i32::MAX` | response messages |
///
/// `usize::MAX` (or anything from `u32::MAX` up, which no 32-bit message
/// prefix can exceed) turns a direction's check off.
#[derive(Clone, Copy, Debug)]
pub struct ServerLimitsLayer {
    limits: MessageLimits,
}

limit_setters!(ServerLimitsLayer);

impl<S> Layer<S> for ServerLimitsLayer {
    type Service = ServerLimits<S>;

    fn layer(&self, inner: S) -> ServerLimits<S> {
        ServerLimits::from_layer(inner, self.limits)
    }
}

/// Applies message size limits to the calls a client makes: requests are
/// sent, responses received; see the [module docs](super).
///
/// | limit | default | checks |
/// |---|---|---|
/// | [`max_receive_message_size`](Self::max_receive_message_size) | 4 MiB | response messages |
/// | [`max_send_message_size`](Self::max_send_message_size) | `i32::MAX` | request messages |
///
/// `usize::MAX` (or anything from `u32::MAX` up) turns a direction's check
/// off.
#[derive(Clone, Copy, Debug)]
pub struct ClientLimitsLayer {
    limits: MessageLimits,
}

limit_setters!(ClientLimitsLayer);

impl<S> Layer<S> for ClientLimitsLayer {
    type Service = ClientLimits<S>;

    fn layer(&self, inner: S) -> ClientLimits<S> {
        ClientLimits::from_layer(inner, self.limits)
    }
}
