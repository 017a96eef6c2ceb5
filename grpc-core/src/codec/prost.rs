//! The default [`Codec`]: protobuf through prost.

use std::fmt;
use std::marker::PhantomData;

use bytes::{Bytes, BytesMut};

use super::Codec;
use crate::Status;

/// Encodes `E` and decodes `D` as protobuf with prost. Zero-sized.
pub struct ProstCodec<E, D> {
    _marker: PhantomData<fn(E) -> D>,
}

impl<E, D> ProstCodec<E, D> {
    /// A new codec.
    pub const fn new() -> Self {
        ProstCodec {
            _marker: PhantomData,
        }
    }
}

impl<E, D> Default for ProstCodec<E, D> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E, D> Clone for ProstCodec<E, D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E, D> Copy for ProstCodec<E, D> {}

impl<E, D> fmt::Debug for ProstCodec<E, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProstCodec")
    }
}

impl<E, D> Codec for ProstCodec<E, D>
where
    E: prost::Message + Send + 'static,
    D: prost::Message + Default + Send + 'static,
{
    type Encode = E;
    type Decode = D;

    fn encode(&mut self, item: E, dst: &mut BytesMut) -> Result<(), Status> {
        // `encode` would measure the message again to check for room; a
        // `BytesMut` grows as needed, so the raw encoding cannot fail (and
        // the framing functions reserve `encoded_len` bytes beforehand).
        item.encode_raw(dst);
        Ok(())
    }

    fn encoded_len(&self, item: &E) -> Option<usize> {
        Some(item.encoded_len())
    }

    fn decode(&mut self, src: Bytes) -> Result<D, Status> {
        D::decode(src).map_err(|e| Status::internal(format!("failed to decode message: {e}")))
    }
}
