//! Which messages get compressed: the minimum size, and per-call and
//! per-message control through extensions.
//!
//! A message is compressed when the call has a send encoding (negotiated by
//! the layer, or chosen with [`SendCompression`]), the message is at least
//! the layer's minimum size, and the call's [`MessageCompression`] switch,
//! if there is one, is on. Otherwise it goes out uncompressed (flag 0) in the
//! same stream, which every gRPC peer reads.
//!
//! Where the extensions go:
//!
//! | side | per call | per message |
//! |---|---|---|
//! | client | [`SendCompression`] in `Request::extensions_mut()` | [`MessageCompression`] in `Request::extensions_mut()` |
//! | server | [`SendCompression`] in the handler's `Response::extensions_mut()` | [`MessageCompression`] in the handler's `Response::extensions_mut()` |
//!
//! ```
//! use grpc_layers::compression::{Encoding, MessageCompression, SendCompression};
//!
//! let mut request = grpc_core::Request::new(());
//! // This call: zstd, whatever the layer would pick.
//! request.extensions_mut().insert(SendCompression::with(Encoding::Zstd));
//! // And a switch the request stream flips between messages.
//! let switch = MessageCompression::new();
//! request.extensions_mut().insert(switch.clone());
//! switch.disable(); // the next messages go out uncompressed
//! assert!(!switch.is_enabled());
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::Encoding;

/// Per-call choice of the encoding this side sends with, as an extension.
///
/// On a client it replaces the layer's send preference for one request; on
/// a server (put in the response extensions by the handler) it replaces the
/// negotiated response encoding, but is still only used when the client
/// accepts it. An encoding this build does not support, or that the peer
/// does not accept, means no compression for the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendCompression {
    encoding: Encoding,
}

impl SendCompression {
    /// Compress this call's messages with `encoding`.
    pub const fn with(encoding: Encoding) -> SendCompression {
        SendCompression { encoding }
    }

    /// Send this call's messages uncompressed.
    pub const fn disabled() -> SendCompression {
        SendCompression::with(Encoding::Identity)
    }

    /// The chosen encoding ([`Encoding::Identity`] when disabled).
    pub const fn encoding(&self) -> Encoding {
        self.encoding
    }
}

/// A switch that turns compression on and off between the messages of one
/// call, shared between the code that produces the messages and the layer.
///
/// Clones share one switch. The layer reads it when a message passes
/// through: with the typed calls and handler adapters of this stack, a
/// message passes through as soon as its stream yields it, so setting the
/// switch just before yielding a message decides for that message. A layer
/// that buffers messages between the stream and this one would blur that
/// order, so put compression next to the codec end of such a stack. Starts
/// enabled.
///
/// A typed message stream carries no per-message metadata, which is why
/// this is a switch beside the stream rather than a mark on each message.
#[derive(Clone, Debug)]
pub struct MessageCompression {
    enabled: Arc<AtomicBool>,
}

impl MessageCompression {
    /// A new switch, on.
    pub fn new() -> MessageCompression {
        MessageCompression {
            enabled: Arc::new(AtomicBool::new(true)),
        }
    }

    /// Compress the following messages (if the call is compressed at all).
    pub fn enable(&self) {
        self.enabled.store(true, Ordering::Release);
    }

    /// Send the following messages uncompressed.
    pub fn disable(&self) {
        self.enabled.store(false, Ordering::Release);
    }

    /// Whether the following messages are compressed.
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }
}

impl Default for MessageCompression {
    fn default() -> Self {
        MessageCompression::new()
    }
}

/// The decision for one message.
pub(crate) fn should_compress(
    len: usize,
    min_size: usize,
    switch: Option<&MessageCompression>,
) -> bool {
    len >= min_size && switch.is_none_or(MessageCompression::is_enabled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_below_the_minimum_size_are_not_compressed() {
        assert!(!should_compress(31, 32, None));
        assert!(should_compress(32, 32, None));
        assert!(should_compress(0, 0, None));
    }

    #[test]
    fn the_switch_is_shared_by_its_clones_and_decides_per_message() {
        let switch = MessageCompression::default();
        let layer_side = switch.clone();
        assert!(should_compress(100, 0, Some(&layer_side)));
        switch.disable();
        assert!(!should_compress(100, 0, Some(&layer_side)));
        switch.enable();
        assert!(should_compress(100, 0, Some(&layer_side)));
    }

    #[test]
    fn disabled_is_identity() {
        assert_eq!(SendCompression::disabled().encoding(), Encoding::Identity);
        assert_eq!(
            SendCompression::with(Encoding::Gzip).encoding(),
            Encoding::Gzip
        );
    }
}
