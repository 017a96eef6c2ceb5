//! The response stream of `benchstream.Streamer/Download`: exactly `count`
//! chunks of `size` bytes, sharing one buffer (a chunk is a reference-counted
//! `Bytes`, copied only when it is framed). Used by our server and tonic's,
//! so both do the same work.
//!
//! ```
//! use benches::chunks::Chunks;
//! use futures_util::StreamExt;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let chunks: Vec<_> = Chunks::<bytes::Bytes, ()>::new(3, 10, |b| b).collect().await;
//! assert_eq!(chunks.len(), 3);
//! assert!(chunks.iter().all(|c| c.as_ref().unwrap().len() == 10));
//! # }
//! ```

use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;

/// `count` messages built by `make` from one shared `size`-byte buffer.
pub struct Chunks<T, E> {
    remaining: u32,
    data: Bytes,
    make: fn(Bytes) -> T,
    _error: PhantomData<fn() -> E>,
}

impl<T, E> Chunks<T, E> {
    /// A stream of `count` messages of `size` bytes each.
    pub fn new(count: u32, size: u32, make: fn(Bytes) -> T) -> Self {
        Chunks {
            remaining: count,
            data: Bytes::from(vec![0xA5; size as usize]),
            make,
            _error: PhantomData,
        }
    }
}

impl<T, E> Unpin for Chunks<T, E> {}

impl<T, E> Stream for Chunks<T, E> {
    type Item = Result<T, E>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        self.remaining -= 1;
        Poll::Ready(Some(Ok((self.make)(self.data.clone()))))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining as usize, Some(self.remaining as usize))
    }
}

impl<T, E> fmt::Debug for Chunks<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chunks")
            .field("remaining", &self.remaining)
            .field("size", &self.data.len())
            .finish()
    }
}
