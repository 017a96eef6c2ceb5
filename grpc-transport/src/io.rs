//! [`BoxedIo`]: any connection's byte stream, as one type.
//!
//! Whatever a connection runs over (TCP, TLS over TCP, a Unix domain socket,
//! an in-memory pipe, or a stream of your own), the connection drivers of
//! `grpc-server` and `grpc-client` see it as a `BoxedIo`, so every
//! transport goes through the same code, and one hyper connection type per
//! side. The box is made once per connection; each read or write is one
//! indirect call.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A byte stream a connection can run over: what a [`Listener`] accepts
/// and a [`Connect`] opens. Implemented for every type with the bounds.
///
/// [`Listener`]: crate::Listener
/// [`Connect`]: crate::Connect
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// A connection's byte stream, type-erased; see the [module docs](self).
pub struct BoxedIo {
    inner: Pin<Box<dyn Io>>,
}

impl BoxedIo {
    /// Erases `io`. A `BoxedIo` is not boxed again.
    pub fn new<T: Io>(io: T) -> BoxedIo {
        let mut slot = Some(io);
        if let Some(boxed) = (&mut slot as &mut dyn std::any::Any).downcast_mut::<Option<BoxedIo>>()
        {
            return boxed.take().expect("slot was just filled");
        }
        BoxedIo {
            inner: Box::pin(slot.expect("slot was just filled")),
        }
    }
}

impl fmt::Debug for BoxedIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoxedIo").finish_non_exhaustive()
    }
}

impl AsyncRead for BoxedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.inner.as_mut().poll_read(cx, buf)
    }
}

impl AsyncWrite for BoxedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.as_mut().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.inner.as_mut().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.as_mut().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.as_mut().poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_boxed_stream_reads_and_writes_through() {
        let (a, b) = tokio::io::duplex(64);
        let (mut a, mut b) = (BoxedIo::new(a), BoxedIo::new(b));
        a.write_all(b"ping").await.unwrap();
        let mut got = [0; 4];
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");
    }

    #[test]
    fn a_boxed_stream_is_not_boxed_twice() {
        let (a, _b) = tokio::io::duplex(64);
        let once = BoxedIo::new(a);
        let address = &*once.inner as *const dyn Io as *const u8;
        let twice = BoxedIo::new(once);
        assert_eq!(&*twice.inner as *const dyn Io as *const u8, address);
    }
}
