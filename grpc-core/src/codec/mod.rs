//! Message codecs and the length-prefixed framing of gRPC bodies.
//!
//! A [`Codec`] turns typed messages into bytes and back; it knows nothing of
//! framing or compression. [`framing`] writes and reads the 5-byte prefix
//! (compressed flag + big-endian length) and enforces message size limits;
//! compression is a separate layer that rewrites frames.

mod encode;
pub mod framing;
#[cfg(feature = "prost")]
mod prost;

#[cfg(feature = "prost")]
pub use self::prost::ProstCodec;
pub use encode::{EncodeBody, BATCH_BYTES};
pub use framing::{Deframer, Frame};

use bytes::{Bytes, BytesMut};

use crate::Status;

/// Encodes requests or responses of one type and decodes the other.
///
/// One codec value serves one call; it is cloned from a prototype per call, so
/// it should be cheap to clone (the prost codec is zero-sized).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a gRPC codec",
    note = "with the default `prost` feature, `grpc_core::codec::ProstCodec<Encode, Decode>` works for any pair of `prost::Message + Default` types"
)]
pub trait Codec: Clone + Send + Sync + 'static {
    /// The type written to the wire.
    type Encode: Send + 'static;
    /// The type read from the wire.
    type Decode: Send + 'static;

    /// Appends the encoding of `item` to `dst`.
    fn encode(&mut self, item: Self::Encode, dst: &mut BytesMut) -> Result<(), Status>;

    /// The exact or estimated encoded length, so the frame is allocated once.
    fn encoded_len(&self, item: &Self::Encode) -> Option<usize> {
        let _ = item;
        None
    }

    /// Decodes one whole message.
    fn decode(&mut self, src: Bytes) -> Result<Self::Decode, Status>;
}

/// The decoding boundary: one whole message off the wire, decoded.
///
/// This is where a message still flagged compressed is refused, in one
/// place for every reader ([`Streaming`](crate::Streaming) and the server's
/// handler adapters): a decompression layer outside would have inflated it
/// and cleared the flag, so a flagged message means nothing decompressed it
/// (`INTERNAL`, as gRPC's compression spec says of a compressed message the
/// receiver was not told how to read).
///
/// ```
/// use grpc_core::codec::{decode_message, BytesCodec, Frame};
/// use grpc_core::Code;
///
/// let plain = Frame::new(b"hi", false);
/// assert_eq!(decode_message(&mut BytesCodec, plain).unwrap(), "hi");
/// let compressed = Frame::new(b"\x1f\x8b", true);
/// assert_eq!(decode_message(&mut BytesCodec, compressed).unwrap_err().code(), Code::Internal);
/// ```
pub fn decode_message<C: Codec>(codec: &mut C, frame: Frame) -> Result<C::Decode, Status> {
    if frame.is_compressed() {
        return Err(Status::internal(
            "received a compressed message but no decompression is configured",
        ));
    }
    codec.decode(frame.into_payload())
}

/// A codec that passes message bytes through untouched: `Bytes` in, `Bytes` out.
///
/// Useful for proxies and for tests that script the wire by hand.
#[derive(Clone, Copy, Debug, Default)]
pub struct BytesCodec;

impl Codec for BytesCodec {
    type Encode = Bytes;
    type Decode = Bytes;

    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), Status> {
        dst.extend_from_slice(&item);
        Ok(())
    }

    fn encoded_len(&self, item: &Bytes) -> Option<usize> {
        Some(item.len())
    }

    fn decode(&mut self, src: Bytes) -> Result<Bytes, Status> {
        Ok(src)
    }
}
