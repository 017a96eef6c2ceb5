//! The byte stream of one connection: plain TCP (h2c) or TLS over TCP.
//!
//! One type for both keeps a single hyper connection type in the client;
//! the per-read cost is one `match`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A client connection's byte stream.
#[derive(Debug)]
pub(crate) enum ClientIo {
    /// HTTP/2 with prior knowledge over TCP.
    Plain(TcpStream),
    /// HTTP/2 over TLS over TCP (boxed: the TLS state is large).
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for ClientIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientIo::Plain(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            ClientIo::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf).map_err(tls_aborted),
        }
    }
}

impl AsyncWrite for ClientIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientIo::Plain(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            ClientIo::Tls(s) => Pin::new(s.as_mut())
                .poll_write(cx, buf)
                .map_err(tls_aborted),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientIo::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(feature = "tls")]
            ClientIo::Tls(s) => Pin::new(s.as_mut())
                .poll_write_vectored(cx, bufs)
                .map_err(tls_aborted),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            ClientIo::Plain(s) => s.is_write_vectored(),
            #[cfg(feature = "tls")]
            ClientIo::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientIo::Plain(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "tls")]
            ClientIo::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx).map_err(tls_aborted),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientIo::Plain(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "tls")]
            ClientIo::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A rustls error inside an `io::Error` ends the connection: re-kind it
/// `ConnectionAborted`, keeping the rustls error as the cause.
#[cfg(feature = "tls")]
fn tls_aborted(err: io::Error) -> io::Error {
    if err
        .get_ref()
        .is_some_and(|inner| inner.is::<rustls::Error>())
    {
        let inner = err.into_inner().unwrap_or_else(|| "TLS failed".into());
        return io::Error::new(io::ErrorKind::ConnectionAborted, inner);
    }
    err
}
