//! [`FrameCheck`]: finds the message prefixes in a stream of body chunks
//! (with the crate's shared prefix scanner) and checks each announced
//! length against a limit, without copying or buffering any payload.
//!
//! Chunks pass through as they came, sliced, never joined. The only bytes
//! ever held back are those of a prefix split across chunks (at most four),
//! so that a refused message leaves no partial prefix on the wire: the peer
//! sees whole messages, then the refusal.

use bytes::{Buf, Bytes};

use crate::prefix::{Prefixes, Step};

/// What one chunk becomes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// Pass `head` (a prefix completed by this chunk, whose first bytes
    /// came from earlier chunks), then `rest`.
    Pass { head: Option<Bytes>, rest: Bytes },
    /// Pass `head` and `rest` (the whole messages before the refused one),
    /// then stop: the next message announces `len` bytes, over the limit.
    Exceeded {
        head: Option<Bytes>,
        rest: Bytes,
        len: usize,
    },
}

/// The scanning state between chunks: the shared prefix scanner and the
/// limit. A prefix holds a 32-bit length, so the limit fits in `u32`.
#[derive(Clone, Debug)]
pub(crate) struct FrameCheck {
    max: u32,
    prefixes: Prefixes,
}

impl FrameCheck {
    /// Checks messages against `max` bytes (a limit from `u32::MAX` up
    /// cannot be exceeded and is the same as `u32::MAX`).
    pub(crate) fn new(max: usize) -> Self {
        FrameCheck {
            max: u32::try_from(max).unwrap_or(u32::MAX),
            prefixes: Prefixes::default(),
        }
    }

    /// The limit.
    pub(crate) fn max(&self) -> usize {
        self.max as usize
    }

    /// Prefix bytes held back, waiting for the rest of their prefix.
    pub(crate) fn held(&self) -> &[u8] {
        self.prefixes.held()
    }

    /// Scans one chunk; see [`Scan`].
    pub(crate) fn scan(&mut self, chunk: Bytes) -> Scan {
        let len = chunk.len();
        let mut pos = 0;
        let mut head = None;
        // Start of the part of `chunk` still to pass.
        let mut from = 0;
        loop {
            match self.prefixes.next(&chunk, &mut pos) {
                Step::End => {
                    return Scan::Pass {
                        head,
                        rest: cut(chunk, from, len),
                    }
                }
                // The chunk ends inside a prefix: hold its bytes back.
                Step::Partial { start } => {
                    let until = start.unwrap_or(from);
                    return Scan::Pass {
                        head,
                        rest: cut(chunk, from, until),
                    };
                }
                Step::Prefix {
                    start,
                    len: announced,
                    ..
                } => {
                    if announced > self.max {
                        return Scan::Exceeded {
                            head,
                            rest: cut(chunk, from, start.unwrap_or(from)),
                            len: announced as usize,
                        };
                    }
                    if start.is_none() {
                        // The prefix began in earlier chunks: pass it
                        // whole, then this chunk from just after it.
                        head = Some(Bytes::copy_from_slice(self.prefixes.header()));
                        from = pos;
                    }
                }
            }
        }
    }
}

/// `chunk[from..until]`, in place: no reference count is touched, and a
/// whole chunk comes back as it was.
fn cut(mut chunk: Bytes, from: usize, until: usize) -> Bytes {
    chunk.truncate(until);
    chunk.advance(from);
    chunk
}

#[cfg(test)]
mod tests {
    use super::*;
    use grpc_core::codec::framing::{encode_raw, HEADER_LEN};
    use proptest::prelude::*;

    /// Feeds `wire` cut at `cuts`; returns the bytes passed and the length
    /// of the refused message, if one was.
    fn run(max: usize, wire: &[u8], cuts: &[usize]) -> (Vec<u8>, Option<usize>) {
        let mut check = FrameCheck::new(max);
        let mut out = Vec::new();
        let mut last = 0;
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
        bounds.sort_unstable();
        bounds.push(wire.len());
        for end in bounds {
            let chunk = Bytes::copy_from_slice(&wire[last..end]);
            last = end;
            match check.scan(chunk) {
                Scan::Pass { head, rest } => {
                    out.extend(head.iter().flatten());
                    out.extend(&rest);
                }
                Scan::Exceeded { head, rest, len } => {
                    out.extend(head.iter().flatten());
                    out.extend(&rest);
                    return (out, Some(len));
                }
            }
        }
        out.extend(check.held());
        (out, None)
    }

    #[test]
    fn a_chunk_of_whole_messages_passes_as_the_same_bytes_without_a_copy() {
        let wire = Bytes::from([encode_raw(b"abc", false), encode_raw(b"", true)].concat());
        let mut check = FrameCheck::new(3);
        let Scan::Pass { head: None, rest } = check.scan(wire.clone()) else {
            panic!("passes");
        };
        assert_eq!(rest, wire);
        assert_eq!(rest.as_ptr(), wire.as_ptr(), "a slice of the same buffer");
    }

    #[test]
    fn a_message_one_byte_over_the_limit_is_refused_after_the_ones_before() {
        let wire = [encode_raw(b"ok", false), encode_raw(b"four", false)].concat();
        let (out, refused) = run(3, &wire, &[]);
        assert_eq!(out, encode_raw(b"ok", false));
        assert_eq!(refused, Some(4));
    }

    #[test]
    fn a_prefix_split_across_chunks_is_held_then_passed_whole() {
        let wire = encode_raw(b"hello", false);
        let mut check = FrameCheck::new(10);
        assert_eq!(
            check.scan(wire.slice(..2)),
            Scan::Pass {
                head: None,
                rest: Bytes::new()
            }
        );
        assert_eq!(check.held(), &wire[..2]);
        assert_eq!(
            check.scan(wire.slice(2..4)),
            Scan::Pass {
                head: None,
                rest: Bytes::new()
            }
        );
        assert_eq!(
            check.scan(wire.slice(4..)),
            Scan::Pass {
                head: Some(wire.slice(..HEADER_LEN)),
                rest: wire.slice(HEADER_LEN..)
            }
        );
        assert!(check.held().is_empty());
    }

    #[test]
    fn a_refused_prefix_split_across_chunks_leaves_none_of_its_bytes_behind() {
        let wire = [encode_raw(b"a", false), encode_raw(b"toolong", false)].concat();
        let (out, refused) = run(3, &wire, &[8]);
        assert_eq!(out, encode_raw(b"a", false));
        assert_eq!(refused, Some(7));
    }

    fn messages() -> impl Strategy<Value = Vec<Vec<u8>>> {
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..8)
    }

    proptest! {
        #[test]
        fn any_chunking_passes_exactly_the_messages_before_the_first_one_over_the_limit(
            msgs in messages(),
            max in 0usize..40,
            cuts in prop::collection::vec(any::<usize>(), 0..12),
        ) {
            let wire: Vec<u8> = msgs.iter().flat_map(|m| encode_raw(m, false)).collect();
            let (out, refused) = run(max, &wire, &cuts);
            let first_over = msgs.iter().position(|m| m.len() > max);
            let allowed = &msgs[..first_over.unwrap_or(msgs.len())];
            let expected: Vec<u8> = allowed.iter().flat_map(|m| encode_raw(m, false)).collect();
            prop_assert_eq!(out, expected);
            prop_assert_eq!(refused, first_over.map(|i| msgs[i].len()));
        }

        #[test]
        fn a_body_cut_short_passes_every_byte_it_had(
            msgs in messages(),
            cut in any::<usize>(),
            cuts in prop::collection::vec(any::<usize>(), 0..12),
        ) {
            let wire: Vec<u8> = msgs.iter().flat_map(|m| encode_raw(m, false)).collect();
            let wire = &wire[..cut % (wire.len() + 1)];
            let (out, refused) = run(usize::MAX, wire, &cuts);
            prop_assert_eq!(out, wire.to_vec());
            prop_assert_eq!(refused, None);
        }
    }
}
