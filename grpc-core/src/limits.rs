//! [`MessageLimits`]: the message size limits of one call, and the one rule
//! by which they combine.
//!
//! A limit can be asked for in many places: a limits layer, a handler
//! adapter's or a client's `max_receive_message_size`, a per-call
//! `MessageLimits` a caller puts in the request extensions. However many
//! ask, **a call's limit is the narrowest any of them asks for**, in each
//! direction; where none asks, the defaults apply
//! ([`DEFAULT_MAX_RECEIVE_MESSAGE_SIZE`], 4 MiB, and
//! [`DEFAULT_MAX_SEND_MESSAGE_SIZE`], `i32::MAX`).
//!
//! The limits travel with the call as a request extension. Whatever asks for
//! limits on the way in merges its own into the extension with
//! [`MessageLimits::apply`], and whatever reads or writes messages reads the
//! merged limits with [`MessageLimits::of`] (narrowed with its own, if it has
//! any). So a limits layer, the decompression layer and the handler adapters
//! on a server, or a client's typed calls, its limits layer and its
//! decompression, all enforce the same numbers.
//!
//! ```
//! use grpc_core::limits::{MessageLimits, DEFAULT_MAX_RECEIVE_MESSAGE_SIZE};
//!
//! let mut extensions = http::Extensions::new();
//! // A limits layer asks for 16 MiB either way...
//! MessageLimits::new(16 << 20, 16 << 20).apply(&mut extensions);
//! // ...and a handler for 1 MiB received: the narrower wins.
//! let handler = MessageLimits::default().with_max_receive(1 << 20);
//! let limits = MessageLimits::of(&extensions).narrow(handler);
//! assert_eq!(limits.max_receive(), 1 << 20);
//! assert_eq!(limits.max_send(), 16 << 20);
//!
//! // Nobody asked: the defaults.
//! assert_eq!(MessageLimits::default().max_receive(), DEFAULT_MAX_RECEIVE_MESSAGE_SIZE);
//! ```

/// Default limit on a received message: 4 MiB, as gRPC core, grpc-go and Java.
pub const DEFAULT_MAX_RECEIVE_MESSAGE_SIZE: usize = 4 * 1024 * 1024;

/// Default limit on a sent message: `i32::MAX`.
pub const DEFAULT_MAX_SEND_MESSAGE_SIZE: usize = i32::MAX as usize;

/// The message size limits asked for a call, in bytes, in each direction;
/// see the [module docs](self) for how they combine.
///
/// "Received" and "sent" are from the point of view of the side the limits
/// are on: requests are received by a server and sent by a client.
/// [`MessageLimits::default`] asks for nothing, and so reads as the
/// defaults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessageLimits {
    max_receive: Option<usize>,
    max_send: Option<usize>,
}

impl MessageLimits {
    /// Asks for both limits.
    pub const fn new(max_receive: usize, max_send: usize) -> Self {
        MessageLimits {
            max_receive: Some(max_receive),
            max_send: Some(max_send),
        }
    }

    /// These limits, also asking for at most `bytes` per received message.
    pub const fn with_max_receive(self, bytes: usize) -> Self {
        MessageLimits {
            max_receive: Some(bytes),
            ..self
        }
    }

    /// These limits, also asking for at most `bytes` per sent message.
    pub const fn with_max_send(self, bytes: usize) -> Self {
        MessageLimits {
            max_send: Some(bytes),
            ..self
        }
    }

    /// The largest message accepted from the peer: the limit asked for, or
    /// [`DEFAULT_MAX_RECEIVE_MESSAGE_SIZE`].
    pub const fn max_receive(&self) -> usize {
        match self.max_receive {
            Some(bytes) => bytes,
            None => DEFAULT_MAX_RECEIVE_MESSAGE_SIZE,
        }
    }

    /// The largest message sent to the peer: the limit asked for, or
    /// [`DEFAULT_MAX_SEND_MESSAGE_SIZE`].
    pub const fn max_send(&self) -> usize {
        match self.max_send {
            Some(bytes) => bytes,
            None => DEFAULT_MAX_SEND_MESSAGE_SIZE,
        }
    }

    /// The narrower of the two in each direction (a limit asked for is
    /// narrower than none).
    pub fn narrow(self, other: MessageLimits) -> MessageLimits {
        fn min(a: Option<usize>, b: Option<usize>) -> Option<usize> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, None) => a,
                (None, b) => b,
            }
        }
        MessageLimits {
            max_receive: min(self.max_receive, other.max_receive),
            max_send: min(self.max_send, other.max_send),
        }
    }

    /// The limits a call carries in its request extensions (nothing asked
    /// when it carries none).
    pub fn of(extensions: &http::Extensions) -> MessageLimits {
        extensions
            .get::<MessageLimits>()
            .copied()
            .unwrap_or_default()
    }

    /// Merges these limits into the call's extensions by the one rule (the
    /// narrowest wins) and returns the merged limits. The extension is
    /// written only when it changes (a call that carries none and asks for
    /// none is left without one: it reads as the defaults either way).
    pub fn apply(self, extensions: &mut http::Extensions) -> MessageLimits {
        let carried = extensions.get::<MessageLimits>().copied();
        let merged = carried.map_or(self, |carried| carried.narrow(self));
        if carried.unwrap_or_default() != merged {
            extensions.insert(merged);
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nothing_asked_reads_as_the_defaults() {
        let limits = MessageLimits::default();
        assert_eq!(limits.max_receive(), 4 * 1024 * 1024);
        assert_eq!(limits.max_send(), i32::MAX as usize);
        assert_eq!(
            MessageLimits::of(&http::Extensions::new()),
            MessageLimits::default()
        );
    }

    #[test]
    fn a_limit_asked_for_beats_the_default_even_when_larger() {
        let larger = MessageLimits::default().with_max_receive(64 << 20);
        assert_eq!(
            larger.narrow(MessageLimits::default()).max_receive(),
            64 << 20
        );
        assert_eq!(
            MessageLimits::default().narrow(larger).max_receive(),
            64 << 20
        );
    }

    #[test]
    fn apply_narrows_what_the_call_carries_and_writes_only_on_change() {
        let mut extensions = http::Extensions::new();
        let first = MessageLimits::new(100, 50).apply(&mut extensions);
        assert_eq!(first, MessageLimits::new(100, 50));
        let second = MessageLimits::default()
            .with_max_receive(10)
            .apply(&mut extensions);
        assert_eq!(second, MessageLimits::new(10, 50));
        assert_eq!(MessageLimits::of(&extensions), MessageLimits::new(10, 50));
        // A wider limit asked later changes nothing.
        let third = MessageLimits::new(1000, 1000).apply(&mut extensions);
        assert_eq!(third, MessageLimits::new(10, 50));
        // Asking for nothing on a call that carries nothing writes nothing.
        let mut empty = http::Extensions::new();
        MessageLimits::default().apply(&mut empty);
        assert!(empty.get::<MessageLimits>().is_none());
    }

    proptest! {
        #[test]
        fn the_merge_is_the_narrowest_whatever_the_order(
            a in proptest::option::of(0usize..1 << 30),
            b in proptest::option::of(0usize..1 << 30),
            c in proptest::option::of(0usize..1 << 30),
        ) {
            let ask = |v: Option<usize>| match v {
                Some(v) => MessageLimits::default().with_max_receive(v),
                None => MessageLimits::default(),
            };
            let one = ask(a).narrow(ask(b)).narrow(ask(c));
            let other = ask(c).narrow(ask(a).narrow(ask(b)));
            prop_assert_eq!(one, other);
            let expected = [a, b, c].into_iter().flatten().min()
                .unwrap_or(DEFAULT_MAX_RECEIVE_MESSAGE_SIZE);
            prop_assert_eq!(one.max_receive(), expected);
        }
    }
}
