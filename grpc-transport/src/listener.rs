//! [`Listener`]: where a server's connections come from.
//!
//! A server accepts from any `Listener`: a TCP listener, a Unix domain
//! socket listener, an in-memory [`MemoryListener`](crate::memory::MemoryListener)
//! or one of your own. The accept loop and the connection driver of
//! `grpc-server` are the same for all of them; TLS, when configured, runs
//! on top of whatever the listener accepted.
//!
//! ```
//! use grpc_transport::Listener;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
//! let mut listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = Listener::local_addr(&listener)?;
//! let client = tokio::spawn(tokio::net::TcpStream::connect(addr));
//! let (_io, peer) = Listener::accept(&mut listener).await;
//! assert_eq!(peer, client.await.unwrap()?.local_addr()?);
//! # Ok(()) }
//! ```
//!
//! # Accept errors
//!
//! `accept` never fails: like axum's listeners, the implementations here
//! retry. An error about one connection (reset or aborted before it was
//! accepted) is skipped at once; any other (usually a shortage of file
//! descriptors, `EMFILE`) is logged at `warn` level and retried after
//! [`ACCEPT_ERROR_DELAY`], so a server under descriptor pressure neither
//! spins nor stops.

use std::fmt;
use std::future::Future;
use std::io;
use std::time::Duration;

use crate::io::Io;

/// How long an accept loop waits after an accept error that is not about a
/// single connection, before it tries again.
pub const ACCEPT_ERROR_DELAY: Duration = Duration::from_millis(50);

/// A source of connections for a server; see the [module docs](self).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a listener a gRPC server can accept connections from",
    note = "`grpc_transport::Listener` is implemented for `tokio::net::TcpListener`, `tokio::net::UnixListener` and `grpc_transport::memory::MemoryListener`"
)]
pub trait Listener: Send + 'static {
    /// The byte stream of one accepted connection.
    type Io: Io;
    /// The address of a peer (and of the listener).
    type Addr: Clone + fmt::Debug + Send + Sync + 'static;

    /// The next connection and its peer's address; never fails (see the
    /// [module docs](self)).
    ///
    /// Must be cancel-safe: the server's accept loop drops this future
    /// whenever something else wakes it (a connection ending, the shutdown
    /// signal), so a connection accepted but not yet returned must not be
    /// lost. Do slow per-connection work (a handshake, a PROXY header) in
    /// the connection, not here. The implementations of this crate are
    /// cancel-safe.
    fn accept(&mut self) -> impl Future<Output = (Self::Io, Self::Addr)> + Send;

    /// The address this listener accepts on.
    fn local_addr(&self) -> io::Result<Self::Addr>;
}

/// Whether an accept error concerns only the connection being accepted.
fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Waits out an accept error, or not; see the [module docs](self).
async fn after_accept_error(err: io::Error) {
    if is_connection_error(&err) {
        return;
    }
    tracing::warn!(error = %err, "accept failed; retrying shortly");
    tokio::time::sleep(ACCEPT_ERROR_DELAY).await;
}

impl Listener for tokio::net::TcpListener {
    type Io = tokio::net::TcpStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match tokio::net::TcpListener::accept(self).await {
                Ok(accepted) => return accepted,
                Err(err) => after_accept_error(err).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        tokio::net::TcpListener::local_addr(self)
    }
}

#[cfg(unix)]
impl Listener for tokio::net::UnixListener {
    type Io = tokio::net::UnixStream;
    type Addr = tokio::net::unix::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match tokio::net::UnixListener::accept(self).await {
                Ok(accepted) => return accepted,
                Err(err) => after_accept_error(err).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        tokio::net::UnixListener::local_addr(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_errors_about_one_connection_are_skipped_at_once() {
        for kind in [
            io::ErrorKind::ConnectionRefused,
            io::ErrorKind::ConnectionAborted,
            io::ErrorKind::ConnectionReset,
        ] {
            assert!(is_connection_error(&io::Error::from(kind)), "{kind:?}");
        }
        let emfile = io::Error::from_raw_os_error(24);
        assert!(!is_connection_error(&emfile));
    }

    #[tokio::test(start_paused = true)]
    async fn other_accept_errors_wait_before_the_next_try() {
        let start = tokio::time::Instant::now();
        after_accept_error(io::Error::from(io::ErrorKind::ConnectionReset)).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        after_accept_error(io::Error::from_raw_os_error(24)).await;
        assert_eq!(start.elapsed(), ACCEPT_ERROR_DELAY);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_unix_listener_accepts() {
        let dir = std::env::temp_dir().join(format!("grpc-transport-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("accept.sock");
        let _ = std::fs::remove_file(&path);
        let mut listener = tokio::net::UnixListener::bind(&path).unwrap();
        let connect = tokio::spawn({
            let path = path.clone();
            async move { tokio::net::UnixStream::connect(path).await }
        });
        let (_io, _peer) = Listener::accept(&mut listener).await;
        connect.await.unwrap().unwrap();
        assert_eq!(
            Listener::local_addr(&listener).unwrap().as_pathname(),
            Some(path.as_path())
        );
        let _ = std::fs::remove_file(&path);
    }
}
