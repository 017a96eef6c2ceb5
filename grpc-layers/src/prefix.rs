//! [`Prefixes`]: finds the 5-byte message prefixes in a stream of body
//! chunks, reading nothing but the prefixes and copying nothing.
//!
//! The one scanner the layers that look at a body's messages without
//! taking them apart share: the limits layer checks each announced length
//! against a limit, the telemetry layer adds them up.

use grpc_core::codec::framing::HEADER_LEN;

/// What [`Prefixes::next`] found in a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// The chunk ends; nothing more in it.
    End,
    /// The chunk ends inside a prefix; `start` is where that prefix began
    /// in this chunk (`None` when it began in an earlier one).
    Partial { start: Option<usize> },
    /// A whole prefix: it began at `start` in this chunk (`None` when it
    /// began in an earlier one) and announces a message of `len` bytes,
    /// compressed or not. The scan position is just after it.
    Prefix {
        start: Option<usize>,
        len: u32,
        compressed: bool,
    },
}

/// The scanning state between chunks (12 bytes).
#[derive(Clone, Debug, Default)]
pub(crate) struct Prefixes {
    /// Payload bytes of the current message still to come.
    remaining: u32,
    /// Prefix bytes seen so far (`filled` of them) when between messages.
    header: [u8; HEADER_LEN],
    filled: u8,
}

impl Prefixes {
    /// Prefix bytes seen but not yet whole, waiting for the next chunk.
    #[cfg_attr(not(any(feature = "limits", test)), allow(dead_code))]
    pub(crate) fn held(&self) -> &[u8] {
        &self.header[..usize::from(self.filled)]
    }

    /// The last whole prefix.
    #[cfg_attr(not(feature = "limits"), allow(dead_code))]
    pub(crate) fn header(&self) -> &[u8; HEADER_LEN] {
        &self.header
    }

    /// Scans `chunk` from `*pos` to the next whole prefix or the end of the
    /// chunk, advancing `*pos`.
    pub(crate) fn next(&mut self, chunk: &[u8], pos: &mut usize) -> Step {
        let len = chunk.len();
        let skip = (self.remaining as usize).min(len - *pos);
        *pos += skip;
        // `skip` is at most `remaining`, a `u32`.
        self.remaining -= skip as u32;
        if *pos == len {
            return Step::End;
        }
        // A prefix starts (or continues) at `pos`.
        let filled = usize::from(self.filled);
        let start = (filled == 0).then_some(*pos);
        let take = (HEADER_LEN - filled).min(len - *pos);
        self.header[filled..filled + take].copy_from_slice(&chunk[*pos..*pos + take]);
        *pos += take;
        if filled + take < HEADER_LEN {
            self.filled = (filled + take) as u8;
            return Step::Partial { start };
        }
        self.filled = 0;
        let [flag, a, b, c, d] = self.header;
        let announced = u32::from_be_bytes([a, b, c, d]);
        self.remaining = announced;
        Step::Prefix {
            start,
            len: announced,
            compressed: flag == 1,
        }
    }

    /// Calls `on_message(len, compressed)` for every prefix completed in
    /// `chunk`.
    #[cfg_attr(not(feature = "otel"), allow(dead_code))]
    pub(crate) fn observe(&mut self, chunk: &[u8], mut on_message: impl FnMut(u32, bool)) {
        let mut pos = 0;
        loop {
            match self.next(chunk, &mut pos) {
                Step::End | Step::Partial { .. } => return,
                Step::Prefix {
                    len, compressed, ..
                } => on_message(len, compressed),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grpc_core::codec::framing::encode_raw;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_chunking_sees_every_message_once_with_its_length_and_flag(
            msgs in prop::collection::vec((prop::collection::vec(any::<u8>(), 0..40), any::<bool>()), 0..8),
            cuts in prop::collection::vec(any::<usize>(), 0..12),
        ) {
            let wire: Vec<u8> = msgs.iter().flat_map(|(m, c)| encode_raw(m, *c)).collect();
            let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
            bounds.sort_unstable();
            bounds.push(wire.len());
            let mut prefixes = Prefixes::default();
            let mut seen = Vec::new();
            let mut last = 0;
            for end in bounds {
                prefixes.observe(&wire[last..end], |len, compressed| seen.push((len as usize, compressed)));
                last = end;
            }
            let expected: Vec<(usize, bool)> = msgs.iter().map(|(m, c)| (m.len(), *c)).collect();
            prop_assert_eq!(seen, expected);
            prop_assert!(prefixes.held().is_empty());
        }
    }
}
