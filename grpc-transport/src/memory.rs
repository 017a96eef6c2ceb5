//! In-memory connections: full HTTP/2 between a server and a client in one
//! process, over [`tokio::io::duplex`] pipes, with no socket.
//!
//! [`pair`] gives a [`MemoryListener`] for the server and a
//! [`MemoryConnector`] for the client. Each connection the connector opens
//! is a new pipe whose other end the listener accepts, so everything above
//! the byte stream (HTTP/2, TLS if configured, the whole service stack) is
//! what runs over TCP. Tests use it to run a real server and a real client
//! without ports.
//!
//! ```
//! use grpc_transport::{memory, Connect, Listener};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
//! let (mut listener, connector) = memory::pair();
//! let mut client = connector.connect().await?;
//! let (mut server, _addr) = listener.accept().await;
//! client.write_all(b"PRI * HTTP/2.0").await?;
//! let mut preface = [0; 14];
//! server.read_exact(&mut preface).await?;
//! assert_eq!(&preface, b"PRI * HTTP/2.0");
//! # Ok(()) }
//! ```

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::DuplexStream;
use tokio::sync::mpsc;

use crate::connect::{Connect, ConnectFuture};
use crate::io::BoxedIo;
use crate::listener::Listener;

/// Bytes each direction of a pipe buffers before the writer waits (64 KiB,
/// about a socket's buffer on loopback).
pub const PIPE_BUFFER: usize = 64 * 1024;

/// How many opened connections may wait for the listener to accept them.
const BACKLOG: usize = 128;

/// A listener and a connector joined in memory; see the [module docs](self).
pub fn pair() -> (MemoryListener, MemoryConnector) {
    pair_with_buffer(PIPE_BUFFER)
}

/// Like [`pair`], with `buffer` bytes per direction of each pipe.
pub fn pair_with_buffer(buffer: usize) -> (MemoryListener, MemoryConnector) {
    let (sender, receiver) = mpsc::channel(BACKLOG);
    let next = Arc::new(AtomicU64::new(0));
    (
        MemoryListener { receiver },
        MemoryConnector {
            sender,
            buffer,
            next,
        },
    )
}

/// The address of one in-memory connection: a number, counting the
/// connections of its [`pair`] from 0 (the listener's own is
/// `MemoryAddr(u64::MAX)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemoryAddr(pub u64);

/// The server end of a [`pair`]: accepts the pipes its connector opens.
///
/// Once every connector is dropped and no pipe is waiting, `accept` waits
/// forever (a server over it stops through its shutdown signal).
#[derive(Debug)]
pub struct MemoryListener {
    receiver: mpsc::Receiver<(DuplexStream, MemoryAddr)>,
}

impl Listener for MemoryListener {
    type Io = DuplexStream;
    type Addr = MemoryAddr;

    async fn accept(&mut self) -> (DuplexStream, MemoryAddr) {
        match self.receiver.recv().await {
            Some(accepted) => accepted,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<MemoryAddr> {
        Ok(MemoryAddr(u64::MAX))
    }
}

/// The client end of a [`pair`]: each [`connect`](Connect::connect) opens a
/// pipe to its listener. Cheap to clone; every clone reaches the same
/// listener.
#[derive(Clone)]
pub struct MemoryConnector {
    sender: mpsc::Sender<(DuplexStream, MemoryAddr)>,
    buffer: usize,
    next: Arc<AtomicU64>,
}

impl fmt::Debug for MemoryConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryConnector")
            .field("buffer", &self.buffer)
            .field("listener_open", &!self.sender.is_closed())
            .finish()
    }
}

impl Connect for MemoryConnector {
    /// Fails with `ConnectionRefused` once the listener is dropped.
    fn connect(&self) -> ConnectFuture {
        let this = self.clone();
        Box::pin(async move {
            let (client, server) = tokio::io::duplex(this.buffer);
            let addr = MemoryAddr(this.next.fetch_add(1, Ordering::Relaxed));
            this.sender.send((server, addr)).await.map_err(|_| {
                io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    "the in-memory listener is gone",
                )
            })?;
            Ok(BoxedIo::new(client))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connections_are_numbered_and_independent() {
        let (mut listener, connector) = pair();
        let _a = connector.connect().await.unwrap();
        let _b = connector.clone().connect().await.unwrap();
        assert_eq!(listener.accept().await.1, MemoryAddr(0));
        assert_eq!(listener.accept().await.1, MemoryAddr(1));
    }

    #[tokio::test]
    async fn connecting_to_a_dropped_listener_is_refused() {
        let (listener, connector) = pair();
        drop(listener);
        let err = connector.connect().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    }
}
