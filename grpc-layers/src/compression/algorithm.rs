//! The algorithms: one message in, one framed message out.
//!
//! Compression and decompression run through the codec crates' streaming
//! interfaces (`flate2` over zlib-rs for gzip and deflate, `zstd`), with one
//! context per body, created on the first message that needs it and reset
//! between messages.
//!
//! Decompression writes into a buffer that grows only as output is produced,
//! doubling from a small start and never past the receive limit. When the
//! output reaches the limit, one more byte is asked for in a scratch byte: if
//! the codec has one, the message is too large. So a small message that
//! would inflate to gigabytes costs at most about the limit, and the size a
//! stream declares (zstd frames may) is never trusted for an allocation.

// With no algorithm enabled, the shared helpers below have no user.
#![cfg_attr(
    not(any(
        feature = "compression-gzip",
        feature = "compression-deflate",
        feature = "compression-zstd"
    )),
    allow(dead_code)
)]

use bytes::Bytes;
use grpc_core::codec::framing::{write_header, HEADER_LEN};
use grpc_core::Status;

use super::Encoding;

/// How hard to compress: a trade of CPU for size.
///
/// | level | gzip, deflate | zstd |
/// |---|---|---|
/// | `Fastest` | 1 | 1 |
/// | `Default` | 6 | 3 |
/// | `Best` | 9 | 19 |
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompressionLevel {
    /// The fastest level.
    Fastest,
    /// Each algorithm's usual default.
    #[default]
    Default,
    /// The smallest output (slow, above all for zstd).
    Best,
}

/// The first output buffer of a decompression: a few times the input,
/// within bounds, so small messages take one allocation and large ones
/// double a few times.
const MIN_START: usize = 1024;
const MAX_START: usize = 256 * 1024;

fn corrupt(encoding: Encoding, err: impl std::fmt::Display) -> Status {
    Status::internal(format!("could not decompress a {encoding} message: {err}"))
}

fn too_large(limit: usize) -> Status {
    Status::resource_exhausted(format!(
        "decompressed message is larger than the limit (more than {limit} bytes)"
    ))
}

/// A buffer with room for the prefix, ready for the payload.
fn frame_buffer(capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + capacity);
    out.extend_from_slice(&[0; HEADER_LEN]);
    out
}

/// Fills in the prefix of a buffer made by [`frame_buffer`].
fn finish_frame(mut out: Vec<u8>, compressed: bool) -> Bytes {
    let len = (out.len() - HEADER_LEN) as u32;
    write_header(&mut out[..HEADER_LEN], compressed, len);
    if compressed && out.capacity() > 2 * out.len() {
        // Compression was sized for the worst case; do not keep a buffer
        // the size of the input alive for a much shorter output while it
        // waits to be sent.
        out.shrink_to_fit();
    }
    Bytes::from(out)
}

/// Makes room for more decompressed output: doubles, but never past
/// `limit` bytes of payload. Returns `false` when the buffer is at the
/// limit already.
fn grow(out: &mut Vec<u8>, limit: usize) -> bool {
    let produced = out.len() - HEADER_LEN;
    let room = limit - produced;
    if room == 0 {
        return false;
    }
    out.reserve_exact(produced.max(MIN_START).min(room));
    true
}

/// Compresses messages with one algorithm.
pub(crate) enum Compressor {
    #[cfg(any(feature = "compression-gzip", feature = "compression-deflate"))]
    Flate(flate2::Compress),
    #[cfg(feature = "compression-zstd")]
    Zstd(Box<zstd::stream::raw::Encoder<'static>>),
}

impl Compressor {
    /// A compressor for `encoding`; `None` for identity or an algorithm this
    /// build does not have.
    pub(crate) fn new(
        encoding: Encoding,
        level: CompressionLevel,
    ) -> Option<Result<Compressor, Status>> {
        let _ = level;
        match encoding {
            #[cfg(feature = "compression-gzip")]
            Encoding::Gzip => Some(Ok(Compressor::Flate(flate2::Compress::new_gzip(
                flate_level(level),
                15,
            )))),
            #[cfg(feature = "compression-deflate")]
            Encoding::Deflate => Some(Ok(Compressor::Flate(flate2::Compress::new(
                flate_level(level),
                true,
            )))),
            #[cfg(feature = "compression-zstd")]
            Encoding::Zstd => Some(
                zstd::stream::raw::Encoder::new(zstd_level(level))
                    .map(|e| Compressor::Zstd(Box::new(e)))
                    .map_err(|e| Status::internal(format!("could not set up zstd: {e}"))),
            ),
            _ => None,
        }
    }

    /// Compresses one payload into a whole frame with the compressed flag.
    pub(crate) fn compress(&mut self, payload: &[u8]) -> Result<Bytes, Status> {
        match self {
            #[cfg(any(feature = "compression-gzip", feature = "compression-deflate"))]
            Compressor::Flate(c) => flate_compress(c, payload),
            #[cfg(feature = "compression-zstd")]
            Compressor::Zstd(c) => zstd_compress(c, payload),
            #[allow(unreachable_patterns)]
            _ => {
                let _ = payload;
                unreachable!("a compressor exists only for an enabled algorithm")
            }
        }
    }
}

/// Decompresses messages with one algorithm, within a size limit.
pub(crate) enum Decompressor {
    #[cfg(any(feature = "compression-gzip", feature = "compression-deflate"))]
    Flate(flate2::Decompress, Encoding),
    #[cfg(feature = "compression-zstd")]
    Zstd(Box<zstd::stream::raw::Decoder<'static>>),
}

impl Decompressor {
    /// A decompressor for `encoding` that will be asked for at most
    /// `limit` bytes per message; `None` for identity or an algorithm this
    /// build does not have.
    pub(crate) fn new(encoding: Encoding, limit: usize) -> Option<Result<Decompressor, Status>> {
        let _ = limit;
        match encoding {
            #[cfg(feature = "compression-gzip")]
            Encoding::Gzip => Some(Ok(Decompressor::Flate(
                flate2::Decompress::new_gzip(15),
                encoding,
            ))),
            #[cfg(feature = "compression-deflate")]
            Encoding::Deflate => Some(Ok(Decompressor::Flate(
                flate2::Decompress::new(true),
                encoding,
            ))),
            #[cfg(feature = "compression-zstd")]
            Encoding::Zstd => Some(zstd_decoder(limit)),
            _ => None,
        }
    }

    /// Decompresses one payload into a whole uncompressed frame; more than
    /// `limit` bytes of output is [`Code::ResourceExhausted`], bad input
    /// [`Code::Internal`].
    ///
    /// [`Code::ResourceExhausted`]: grpc_core::Code::ResourceExhausted
    /// [`Code::Internal`]: grpc_core::Code::Internal
    pub(crate) fn decompress(&mut self, payload: &[u8], limit: usize) -> Result<Bytes, Status> {
        // The prefix says the length in 32 bits.
        let limit = limit.min(u32::MAX as usize);
        let start = payload
            .len()
            .saturating_mul(4)
            .clamp(MIN_START, MAX_START)
            .min(limit);
        let out = frame_buffer(start);
        match self {
            #[cfg(any(feature = "compression-gzip", feature = "compression-deflate"))]
            Decompressor::Flate(d, encoding) => flate_decompress(d, *encoding, payload, out, limit),
            #[cfg(feature = "compression-zstd")]
            Decompressor::Zstd(d) => zstd_decompress(d, payload, out, limit),
            #[allow(unreachable_patterns)]
            _ => {
                let _ = (payload, out);
                unreachable!("a decompressor exists only for an enabled algorithm")
            }
        }
    }
}

#[cfg(any(feature = "compression-gzip", feature = "compression-deflate"))]
fn flate_level(level: CompressionLevel) -> flate2::Compression {
    match level {
        CompressionLevel::Fastest => flate2::Compression::fast(),
        CompressionLevel::Default => flate2::Compression::default(),
        CompressionLevel::Best => flate2::Compression::best(),
    }
}

#[cfg(any(feature = "compression-gzip", feature = "compression-deflate"))]
fn flate_compress(c: &mut flate2::Compress, payload: &[u8]) -> Result<Bytes, Status> {
    use flate2::{FlushCompress, Status as Flate};

    c.reset();
    // deflate's worst case is a little over the input; start there.
    let mut out = frame_buffer(payload.len() + payload.len() / 1000 + 64);
    loop {
        let read = c.total_in() as usize;
        let status = c
            .compress_vec(&payload[read..], &mut out, FlushCompress::Finish)
            .map_err(|e| Status::internal(format!("could not compress a message: {e}")))?;
        match status {
            Flate::StreamEnd => break,
            Flate::Ok | Flate::BufError => out.reserve(out.capacity().max(64)),
        }
    }
    if out.len() - HEADER_LEN > u32::MAX as usize {
        return Err(Status::resource_exhausted(
            "compressed message does not fit a gRPC frame",
        ));
    }
    Ok(finish_frame(out, true))
}

#[cfg(any(feature = "compression-gzip", feature = "compression-deflate"))]
fn flate_decompress(
    d: &mut flate2::Decompress,
    encoding: Encoding,
    payload: &[u8],
    mut out: Vec<u8>,
    limit: usize,
) -> Result<Bytes, Status> {
    use flate2::{FlushDecompress, Status as Flate};

    // Keeps the gzip or zlib wrapper the decoder was made with.
    d.reset(true);
    loop {
        let (read, wrote) = (d.total_in(), d.total_out());
        let input = &payload[read as usize..];
        let status = if out.len() == out.capacity() && !grow(&mut out, limit) {
            // At the limit: is there one byte more?
            let mut probe = [0u8; 1];
            let status = d
                .decompress(input, &mut probe, FlushDecompress::None)
                .map_err(|e| corrupt(encoding, e))?;
            if d.total_out() > wrote {
                return Err(too_large(limit));
            }
            status
        } else {
            d.decompress_vec(input, &mut out, FlushDecompress::None)
                .map_err(|e| corrupt(encoding, e))?
        };
        if let Flate::StreamEnd = status {
            if (d.total_in() as usize) < payload.len() {
                return Err(corrupt(encoding, "data after the end of the stream"));
            }
            break;
        }
        // There was room for output, so no progress means the input ends
        // inside the stream.
        if d.total_in() == read && d.total_out() == wrote {
            return Err(corrupt(encoding, "the stream is cut short"));
        }
    }
    Ok(finish_frame(out, false))
}

#[cfg(feature = "compression-zstd")]
fn zstd_level(level: CompressionLevel) -> i32 {
    match level {
        CompressionLevel::Fastest => 1,
        CompressionLevel::Default => 3,
        CompressionLevel::Best => 19,
    }
}

/// A zstd decoder whose window may not exceed about twice the limit (and at
/// least 1 MiB, at most zstd's own default of 128 MiB): a frame that asks
/// for more memory than that is refused rather than allocated.
#[cfg(feature = "compression-zstd")]
fn zstd_decoder(limit: usize) -> Result<Decompressor, Status> {
    use zstd::stream::raw::{DParameter, Decoder};

    let log2 = usize::BITS - limit.max(1).saturating_sub(1).leading_zeros();
    let window_log = (log2 + 1).clamp(20, 27);
    let setup = |e: std::io::Error| Status::internal(format!("could not set up zstd: {e}"));
    let mut decoder = Decoder::new().map_err(setup)?;
    decoder
        .set_parameter(DParameter::WindowLogMax(window_log))
        .map_err(setup)?;
    Ok(Decompressor::Zstd(Box::new(decoder)))
}

#[cfg(feature = "compression-zstd")]
fn zstd_compress(
    c: &mut zstd::stream::raw::Encoder<'static>,
    payload: &[u8],
) -> Result<Bytes, Status> {
    use zstd::stream::raw::{InBuffer, Operation, OutBuffer};

    let failed = |e: std::io::Error| Status::internal(format!("could not compress a message: {e}"));
    c.reinit().map_err(failed)?;
    // Declaring the size lets zstd write it in the frame and fit its window
    // to the message, which keeps the receiver's memory small.
    c.set_pledged_src_size(Some(payload.len() as u64))
        .map_err(failed)?;
    let mut out = frame_buffer(zstd::zstd_safe::compress_bound(payload.len()));
    let mut input = InBuffer::around(payload);
    while input.pos() < payload.len() {
        if out.len() == out.capacity() {
            out.reserve(out.capacity());
        }
        let pos = out.len();
        c.run(&mut input, &mut OutBuffer::around_pos(&mut out, pos))
            .map_err(failed)?;
    }
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity());
        }
        let pos = out.len();
        let left = c
            .finish(&mut OutBuffer::around_pos(&mut out, pos), true)
            .map_err(failed)?;
        if left == 0 {
            break;
        }
    }
    if out.len() - HEADER_LEN > u32::MAX as usize {
        return Err(Status::resource_exhausted(
            "compressed message does not fit a gRPC frame",
        ));
    }
    Ok(finish_frame(out, true))
}

#[cfg(feature = "compression-zstd")]
fn zstd_decompress(
    d: &mut zstd::stream::raw::Decoder<'static>,
    payload: &[u8],
    mut out: Vec<u8>,
    limit: usize,
) -> Result<Bytes, Status> {
    use zstd::stream::raw::{InBuffer, Operation, OutBuffer};

    // A frame may declare its size: one that says it is too large is
    // refused before any work (a smaller declaration is not trusted).
    if let Ok(Some(declared)) = zstd::zstd_safe::get_frame_content_size(payload) {
        if declared > limit as u64 {
            return Err(too_large(limit));
        }
    }
    let failed = |e: std::io::Error| {
        // The window a frame asks for is over what this limit allows.
        if e.to_string().contains("too much memory") {
            too_large(limit)
        } else {
            corrupt(Encoding::Zstd, e)
        }
    };
    d.reinit().map_err(failed)?;
    let mut input = InBuffer::around(payload);
    loop {
        let (read, wrote) = (input.pos(), out.len());
        // zstd's hint is 0 once a frame is decoded and flushed.
        let hint = if out.len() == out.capacity() && !grow(&mut out, limit) {
            // At the limit: is there one byte more?
            let mut probe = [0u8; 1];
            let mut probe_out = OutBuffer::around(&mut probe[..]);
            let hint = d.run(&mut input, &mut probe_out).map_err(failed)?;
            if probe_out.pos() > 0 {
                return Err(too_large(limit));
            }
            hint
        } else {
            let pos = out.len();
            d.run(&mut input, &mut OutBuffer::around_pos(&mut out, pos))
                .map_err(failed)?
        };
        if hint == 0 && input.pos() == payload.len() {
            break;
        }
        // There was room for output, so no progress means the input ends
        // inside a frame.
        if input.pos() == read && out.len() == wrote {
            return Err(corrupt(Encoding::Zstd, "the stream is cut short"));
        }
    }
    Ok(finish_frame(out, false))
}

#[cfg(all(
    test,
    any(
        feature = "compression-gzip",
        feature = "compression-deflate",
        feature = "compression-zstd"
    )
))]
mod tests {
    use super::*;
    use grpc_core::codec::Frame;
    use grpc_core::Code;

    fn encodings() -> Vec<Encoding> {
        [Encoding::Gzip, Encoding::Deflate, Encoding::Zstd]
            .into_iter()
            .filter(|e| e.is_enabled())
            .collect()
    }

    fn round_trip(encoding: Encoding, payload: &[u8], limit: usize) -> Result<Bytes, Status> {
        let mut c = Compressor::new(encoding, CompressionLevel::Default)
            .unwrap()
            .unwrap();
        let frame = Frame::from_encoded(c.compress(payload).unwrap()).unwrap();
        assert!(frame.is_compressed());
        let mut d = Decompressor::new(encoding, limit).unwrap().unwrap();
        let out = d.decompress(&frame.payload(), limit)?;
        let out = Frame::from_encoded(out).expect("a valid frame");
        assert!(!out.is_compressed());
        Ok(out.into_payload())
    }

    #[test]
    fn identity_has_no_codec() {
        assert!(Compressor::new(Encoding::Identity, CompressionLevel::Default).is_none());
        assert!(Decompressor::new(Encoding::Identity, 10).is_none());
    }

    #[test]
    fn every_algorithm_round_trips_messages_of_many_sizes() {
        for encoding in encodings() {
            for size in [0, 1, 100, 1023, 1024, 1025, 70_000, 300_000] {
                let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8 ^ (i / 7) as u8).collect();
                let out = round_trip(encoding, &payload, 1 << 20).unwrap();
                assert_eq!(out, payload, "{encoding} {size}");
            }
        }
    }

    #[test]
    fn a_message_exactly_at_the_limit_passes_and_one_byte_more_does_not() {
        for encoding in encodings() {
            for limit in [0, 1, 1000, 1024, 5000] {
                let payload = vec![7u8; limit];
                assert_eq!(round_trip(encoding, &payload, limit).unwrap().len(), limit);
                let payload = vec![7u8; limit + 1];
                let err = round_trip(encoding, &payload, limit).unwrap_err();
                assert_eq!(err.code(), Code::ResourceExhausted, "{encoding} {limit}");
            }
        }
    }

    #[test]
    fn one_context_serves_many_messages() {
        for encoding in encodings() {
            let mut c = Compressor::new(encoding, CompressionLevel::Fastest)
                .unwrap()
                .unwrap();
            let mut d = Decompressor::new(encoding, 1 << 16).unwrap().unwrap();
            for i in 0..5u8 {
                let payload = vec![i; 100 + usize::from(i)];
                let frame = Frame::from_encoded(c.compress(&payload).unwrap()).unwrap();
                let out = d.decompress(&frame.payload(), 1 << 16).unwrap();
                assert_eq!(Frame::from_encoded(out).unwrap().payload(), payload);
            }
        }
    }

    #[test]
    fn corrupt_truncated_or_padded_input_is_internal() {
        for encoding in encodings() {
            let mut c = Compressor::new(encoding, CompressionLevel::Default)
                .unwrap()
                .unwrap();
            let frame = Frame::from_encoded(c.compress(&[1u8; 5000]).unwrap()).unwrap();
            let good = frame.payload();
            let mut d = Decompressor::new(encoding, 1 << 20).unwrap().unwrap();
            let truncated = &good[..good.len() - 3];
            let mut padded = good.to_vec();
            padded.extend_from_slice(b"junk");
            let garbage = b"definitely not compressed data".to_vec();
            for (what, input) in [
                ("truncated", truncated.to_vec()),
                ("padded", padded),
                ("garbage", garbage),
                ("empty", Vec::new()),
            ] {
                let err = d.decompress(&input, 1 << 20).unwrap_err();
                assert_eq!(err.code(), Code::Internal, "{encoding} {what}: {err}");
                assert!(err.message().contains(encoding.name()), "{err}");
            }
            // The context still works after errors.
            assert_eq!(d.decompress(&good, 1 << 20).unwrap().len(), 5005);
        }
    }

    #[test]
    fn a_bomb_is_refused_with_output_capped_at_the_limit() {
        for encoding in encodings() {
            let mut c = Compressor::new(encoding, CompressionLevel::Fastest)
                .unwrap()
                .unwrap();
            let bomb = c.compress(&vec![0u8; 16 << 20]).unwrap();
            assert!(bomb.len() < 1 << 20, "{encoding}: {}", bomb.len());
            let mut d = Decompressor::new(encoding, 1 << 20).unwrap().unwrap();
            let err = d.decompress(&bomb[HEADER_LEN..], 1 << 20).unwrap_err();
            assert_eq!(err.code(), Code::ResourceExhausted);
        }
    }

    /// A zstd frame written as a stream: no content size in its header,
    /// and the window it asks for set by `window_log`.
    #[cfg(feature = "compression-zstd")]
    fn zstd_streamed(data: &[u8], window_log: u32) -> Vec<u8> {
        use std::io::Write;
        use zstd::stream::raw::CParameter;
        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
        encoder
            .set_parameter(CParameter::WindowLog(window_log))
            .unwrap();
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[cfg(feature = "compression-zstd")]
    #[test]
    fn a_zstd_bomb_without_a_declared_size_is_stopped_at_the_limit() {
        let bomb = zstd_streamed(&vec![0u8; 16 << 20], 19);
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&bomb).unwrap(),
            None
        );
        let mut d = Decompressor::new(Encoding::Zstd, 1 << 20).unwrap().unwrap();
        let err = d.decompress(&bomb, 1 << 20).unwrap_err();
        assert_eq!(err.code(), Code::ResourceExhausted);
        // The same kind of frame within the limit is fine.
        let fine = zstd_streamed(&vec![0u8; 1 << 20], 19);
        assert_eq!(
            d.decompress(&fine, 1 << 20).unwrap().len(),
            HEADER_LEN + (1 << 20)
        );
    }

    #[cfg(feature = "compression-zstd")]
    #[test]
    fn a_zstd_frame_asking_for_a_window_far_over_the_limit_is_refused() {
        let frame = zstd_streamed(b"tiny, but with a 128 MiB window", 27);
        let mut d = Decompressor::new(Encoding::Zstd, 1 << 20).unwrap().unwrap();
        let err = d.decompress(&frame, 1 << 20).unwrap_err();
        assert_eq!(err.code(), Code::ResourceExhausted, "{err}");
        // A limit that large allows it.
        let mut d = Decompressor::new(Encoding::Zstd, 128 << 20)
            .unwrap()
            .unwrap();
        assert!(d.decompress(&frame, 128 << 20).is_ok());
    }

    #[test]
    fn levels_trade_size_for_speed() {
        let text: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("line {} of {}\n", i % 977, i % 13).into_bytes())
            .collect();
        for encoding in encodings() {
            let len = |level| {
                let mut c = Compressor::new(encoding, level).unwrap().unwrap();
                c.compress(&text).unwrap().len()
            };
            assert!(len(CompressionLevel::Best) <= len(CompressionLevel::Fastest));
        }
    }
}
