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
