//! Which messages get compressed: the minimum size, and per-call and
//! per-message control through extensions.
//!
//! A message is compressed when the call has a send encoding (negotiated by
//! the layer, or chosen with [`SendCompression`]), the message is at least
//! the layer's minimum size, and the call's [`MessageCompression`], if it
//! has one, decided to compress it. Otherwise it goes out uncompressed (flag 0) in the
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
//! request.extensions_mut().insert(SendCompression::new(Encoding::Zstd));
//! // And per-message decisions, made by the request stream as it yields.
//! let decide = MessageCompression::new();
//! request.extensions_mut().insert(decide.clone());
//! decide.disable(); // the next message goes out uncompressed...
//! decide.enable(); // ...and the one after compressed
//! assert!(decide.is_enabled());
//! ```

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

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
    pub const fn new(encoding: Encoding) -> SendCompression {
        SendCompression { encoding }
    }

    /// Send this call's messages uncompressed.
    pub const fn disabled() -> SendCompression {
        SendCompression::new(Encoding::Identity)
    }

    /// The chosen encoding ([`Encoding::Identity`] when disabled).
    pub const fn encoding(&self) -> Encoding {
        self.encoding
    }
}

/// Per-message compression decisions for one call, shared between the code
/// that produces the messages and the layer.
///
/// The producer decides just before yielding a message: [`enable`] to
/// compress it, [`disable`] to send it plain. The layer gives each message
/// it sends the oldest decision no message has taken yet; once all are
/// taken, messages follow the last one (so a single `disable` turns
/// compression off until the next `enable`). Decisions made before the
/// call reaches the layer (before the request is sent, or before the
/// handler returns its response) set the starting state instead; it is
/// "compress" unless decided otherwise.
///
/// Decisions queue up rather than overwrite one another because messages
/// can reach the layer after several more were produced: grpc-core writes
/// the messages a stream has ready at once into one chunk. Deciding every
/// message therefore always gives each its own decision; a stream that only
/// decides now and then, with several messages ready at once, may see a
/// decision apply a few messages early. Consecutive equal decisions are
/// stored as one, and a call that is not compressed at all stops keeping
/// them.
///
/// A typed message stream carries no per-message metadata, which is why
/// this is a handle beside the stream rather than a mark on each message.
///
/// [`enable`]: MessageCompression::enable
/// [`disable`]: MessageCompression::disable
#[derive(Clone, Debug)]
pub struct MessageCompression {
    decisions: Arc<Mutex<Decisions>>,
}

#[derive(Debug)]
struct Decisions {
    /// Decisions not taken yet, oldest first, as runs of equal ones.
    pending: VecDeque<(bool, u64)>,
    /// The decision last taken by the layer.
    taken: bool,
    /// The decision last made by the producer.
    made: bool,
    /// A layer takes decisions from now on; before, a decision sets the
    /// starting state.
    attached: bool,
    /// No layer will take decisions (the call is not compressed).
    detached: bool,
}

impl MessageCompression {
    /// A new handle: messages are compressed until decided otherwise.
    pub fn new() -> MessageCompression {
        MessageCompression {
            decisions: Arc::new(Mutex::new(Decisions {
                pending: VecDeque::new(),
                taken: true,
                made: true,
                attached: false,
                detached: false,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Decisions> {
        self.decisions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Decides for the next message: compressed (`true`) or plain.
    pub fn set(&self, compress: bool) {
        let mut d = self.lock();
        d.made = compress;
        if !d.attached {
            d.taken = compress;
            return;
        }
        if d.detached {
            return;
        }
        match d.pending.back_mut() {
            Some((value, count)) if *value == compress => *count += 1,
            _ => d.pending.push_back((compress, 1)),
        }
    }

    /// Compress the next message (if the call is compressed at all).
    pub fn enable(&self) {
        self.set(true);
    }

    /// Send the next message uncompressed.
    pub fn disable(&self) {
        self.set(false);
    }

    /// The last decision made.
    pub fn is_enabled(&self) -> bool {
        self.lock().made
    }

    /// The decision for the message the layer is sending now.
    pub(crate) fn take(&self) -> bool {
        let mut d = self.lock();
        if let Some((value, count)) = d.pending.front_mut() {
            let value = *value;
            *count -= 1;
            if *count == 0 {
                d.pending.pop_front();
            }
            d.taken = value;
        }
        d.taken
    }

    /// A layer takes one decision per message from now on.
    pub(crate) fn attach(&self) {
        self.lock().attached = true;
    }

    /// No decision will be taken any more: stop keeping them.
    pub(crate) fn detach(&self) {
        let mut d = self.lock();
        d.detached = true;
        d.pending = VecDeque::new();
    }
}

impl Default for MessageCompression {
    fn default() -> Self {
        MessageCompression::new()
    }
}

/// The decision for one message. A switch's decision is taken for every
/// message, short ones too, so that decisions stay in step with messages.
pub(crate) fn should_compress(
    len: usize,
    min_size: usize,
    switch: Option<&MessageCompression>,
) -> bool {
    let decided = switch.is_none_or(MessageCompression::take);
    decided && len >= min_size
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
    fn decisions_are_shared_by_clones_and_taken_one_per_message_in_order() {
        let switch = MessageCompression::default();
        let layer_side = switch.clone();
        layer_side.attach();
        // Undecided: compressed.
        assert!(should_compress(100, 0, Some(&layer_side)));
        // Three messages decided before the layer sees any (a batch).
        switch.disable();
        switch.enable();
        switch.disable();
        assert!(!switch.is_enabled());
        assert!(!should_compress(100, 0, Some(&layer_side)));
        assert!(should_compress(100, 0, Some(&layer_side)));
        assert!(!should_compress(100, 0, Some(&layer_side)));
        // Used up: the last decision holds.
        assert!(!should_compress(100, 0, Some(&layer_side)));
        switch.enable();
        assert!(should_compress(100, 0, Some(&layer_side)));
    }

    #[test]
    fn a_short_message_still_takes_its_decision() {
        let switch = MessageCompression::new();
        switch.attach();
        switch.enable();
        switch.disable();
        assert!(!should_compress(1, 32, Some(&switch)));
        assert!(!should_compress(100, 32, Some(&switch)));
    }

    #[test]
    fn equal_decisions_take_one_entry_and_a_detached_switch_keeps_none() {
        let switch = MessageCompression::new();
        switch.attach();
        for _ in 0..10_000 {
            switch.disable();
        }
        assert_eq!(switch.lock().pending.len(), 1);
        for _ in 0..10_000 {
            assert!(!switch.take());
        }
        switch.detach();
        switch.enable();
        switch.disable();
        assert!(switch.lock().pending.is_empty());
        assert!(!switch.is_enabled());
    }

    #[test]
    fn decisions_before_the_call_set_the_starting_state() {
        let switch = MessageCompression::new();
        switch.enable();
        switch.disable();
        switch.attach();
        // Not queued: every message follows "plain" until decided.
        assert!(!should_compress(100, 0, Some(&switch)));
        assert!(!should_compress(100, 0, Some(&switch)));
        switch.enable();
        assert!(should_compress(100, 0, Some(&switch)));
    }

    #[test]
    fn disabled_is_identity() {
        assert_eq!(SendCompression::disabled().encoding(), Encoding::Identity);
        assert_eq!(
            SendCompression::new(Encoding::Gzip).encoding(),
            Encoding::Gzip
        );
    }
}
