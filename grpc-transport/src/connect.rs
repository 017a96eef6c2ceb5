//! [`Connect`]: how a client opens its connections.
//!
//! A channel dials through a `Connect`: [`TcpConnector`] for
//! `http://host:port` (and, with TLS on top, `https://`), [`UnixConnector`]
//! for `unix:/path`, an in-memory
//! [`MemoryConnector`](crate::memory::MemoryConnector), or one of your own.
//! The connection code of `grpc-client` (TLS when configured, the HTTP/2
//! handshake, write batching) is the same for all of them.
//!
//! ```
//! use grpc_transport::{Connect, TcpConnector};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let port = listener.local_addr()?.port();
//! let connector = TcpConnector::new("127.0.0.1", port);
//! let _io = connector.connect().await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;

use crate::io::BoxedIo;

/// The future of [`Connect::connect`]: boxed, as connecting happens once
/// per connection, not per call.
pub type ConnectFuture = Pin<Box<dyn Future<Output = io::Result<BoxedIo>> + Send + 'static>>;

/// Opens byte streams to one place; see the [module docs](self).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot open connections for a gRPC channel",
    note = "implement `grpc_transport::Connect`, or use `TcpConnector`, `UnixConnector` or `memory::MemoryConnector`"
)]
pub trait Connect: fmt::Debug + Send + Sync + 'static {
    /// Opens a new byte stream.
    fn connect(&self) -> ConnectFuture;
}

/// Connects over TCP to a host (a name, resolved at every attempt, or an
/// address) and port, with `TCP_NODELAY` on unless told otherwise.
#[derive(Clone, Debug)]
pub struct TcpConnector {
    host: String,
    port: u16,
    nodelay: bool,
}

impl TcpConnector {
    /// Connects to `host:port`. IPv6 addresses are given without brackets
    /// (`::1`).
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        TcpConnector {
            host: host.into(),
            port,
            nodelay: true,
        }
    }

    /// Sets `TCP_NODELAY` on new connections (default on).
    pub fn tcp_nodelay(mut self, on: bool) -> Self {
        self.nodelay = on;
        self
    }
}

impl Connect for TcpConnector {
    fn connect(&self) -> ConnectFuture {
        let this = self.clone();
        Box::pin(async move {
            let stream = tokio::net::TcpStream::connect((this.host.as_str(), this.port)).await?;
            stream.set_nodelay(this.nodelay)?;
            Ok(BoxedIo::new(stream))
        })
    }
}

/// Connects to a Unix domain socket by path.
#[cfg(unix)]
#[derive(Clone, Debug)]
pub struct UnixConnector {
    path: std::path::PathBuf,
}

#[cfg(unix)]
impl UnixConnector {
    /// Connects to the socket at `path`.
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        UnixConnector { path: path.into() }
    }

    /// The socket's path.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

#[cfg(unix)]
impl Connect for UnixConnector {
    fn connect(&self) -> ConnectFuture {
        let path = self.path.clone();
        Box::pin(async move { Ok(BoxedIo::new(tokio::net::UnixStream::connect(path).await?)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn tcp_connects_with_nodelay_by_default() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut io = TcpConnector::new("127.0.0.1", port)
            .connect()
            .await
            .unwrap();
        let (mut accepted, _) = listener.accept().await.unwrap();
        io.write_all(b"x").await.unwrap();
        let mut got = [0; 1];
        accepted.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"x");
    }

    #[tokio::test]
    async fn a_refused_connection_is_an_io_error() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let err = TcpConnector::new("127.0.0.1", port)
            .connect()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    }
}
