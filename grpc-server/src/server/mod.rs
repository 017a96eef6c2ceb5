//! [`Server`]: runs any gRPC `Service` stack over hyper's HTTP/2 server.
//!
//! The server speaks HTTP/2 with prior knowledge (h2c), or HTTP/2 over TLS
//! with [`Server::tls`] (feature `tls`), over connections from any
//! [`Listener`]: a TCP listener ([`Server::serve`] binds one), a Unix
//! domain socket listener, an in-memory
//! [`grpc_transport::memory::pair`], or one of your own. It knows nothing
//! of gRPC beyond turning hyper's request body into a [`GrpcBody`] whose
//! errors are [`Status`](grpc_core::Status) and adding the peer's address
//! ([`PeerAddr`]) and, over TLS, the connection's
//! [`TlsInfo`](crate::tls::TlsInfo) to the request extensions; routing,
//! limits and every other concern live in the service stack it is given.
//!
//! The pieces, each in its own file: the accept loop (`accept.rs`), the
//! connection driver (`connection.rs`: TLS, write batching, hyper, the
//! drain of one connection), the drain signal (`drain.rs`) and the
//! settings with their safe defaults ([`config`]).
//!
//! ```no_run
//! use grpc_server::{Router, Server};
//!
//! # async fn run() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:50051").await?;
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let shutdown = async { stopped.await.ok(); };
//! # drop(stop);
//! Server::new()
//!     .max_concurrent_streams(100)
//!     .serve_with_shutdown(listener, Router::new(), shutdown)
//!     .await
//! # }
//! ```
//!
//! Over a Unix domain socket:
//!
//! ```no_run
//! use grpc_server::{Router, Server};
//!
//! # async fn run() -> std::io::Result<()> {
//! let listener = tokio::net::UnixListener::bind("/tmp/grpc.sock")?;
//! Server::new().serve_with_listener(listener, Router::new()).await
//! # }
//! ```
//!
//! # Write batching
//!
//! With many calls in flight on one connection, responses that become ready
//! together go out in one write instead of one write each (see
//! [`grpc_transport::batch`]): at 64 calls in flight on one connection that
//! saves about a third of the server's CPU time per call, for at most one
//! trip through tokio's run queue of added latency on a batched write. It
//! is on by default; [`Server::write_batching`] turns it off.
//!
//! # Graceful shutdown
//!
//! When the shutdown future completes, the server stops accepting, sends
//! GOAWAY on every connection and lets in-flight calls finish. Connections
//! still open after [`graceful_shutdown_timeout`](Server::graceful_shutdown_timeout)
//! (30 s by default) are closed.

mod accept;
pub mod config;
mod connection;
mod drain;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use grpc_core::error::BoxError;
use grpc_core::target::Target;
use grpc_core::GrpcBody;
use grpc_transport::Listener;
use http_body::Body;
use tokio::net::TcpListener;
use tower_service::Service;

#[cfg(feature = "tls")]
use crate::tls::{Acceptor, ServerTlsConfig, TlsError};
use config::Config;
use connection::Driver;

pub use grpc_transport::peer::PeerAddr;

/// An HTTP/2 server for gRPC service stacks; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct Server {
    config: Config,
    #[cfg(feature = "tls")]
    tls: Option<Acceptor>,
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.config.$name = value;
            self
        }
    };
}

impl Server {
    /// A server with the safe defaults of [`config`].
    pub fn new() -> Self {
        Server::default()
    }

    /// Serves TLS (with ALPN `h2`) instead of HTTP/2 with prior knowledge;
    /// see [`tls`](crate::tls). Fails when the certificate, key or client
    /// roots are unusable. Each connection's handshake is bounded by
    /// [`ServerTlsConfig::handshake_timeout`] (default 10 s), whatever the
    /// listener.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: ServerTlsConfig) -> Result<Self, TlsError> {
        self.tls = Some(config.build()?);
        Ok(self)
    }

    setter!(
        /// Streams one connection may have open at once (default 200).
        max_concurrent_streams: u32
    );
    setter!(
        /// Streams reset by the client before being accepted, per
        /// connection, before it is closed with ENHANCE_YOUR_CALM (default 20).
        max_pending_accept_reset_streams: usize
    );
    setter!(
        /// Streams the server may reset for client errors, per connection,
        /// before it is closed (default 1024; this protection cannot be turned off).
        max_local_error_reset_streams: usize
    );
    setter!(
        /// Largest request header list accepted, in bytes (default 16 KiB).
        max_header_list_size: u32
    );
    setter!(
        /// HTTP/2 initial stream window (default 1 MiB).
        initial_stream_window_size: u32
    );
    setter!(
        /// HTTP/2 initial connection window (default 1 MiB).
        initial_connection_window_size: u32
    );
    setter!(
        /// Adapt the windows to the measured bandwidth-delay product
        /// (default off); overrides the initial windows.
        adaptive_window: bool
    );
    /// Largest HTTP/2 frame the server accepts (default: hyper's, 16 KiB);
    /// `None` for the default. Clamped to what HTTP/2 allows, 16 KiB to
    /// 16 MiB − 1.
    pub fn max_frame_size(mut self, size: impl Into<Option<u32>>) -> Self {
        self.config.max_frame_size = size.into().map(config::clamp_frame_size);
        self
    }

    /// Bytes buffered per stream for sending (default 400 KiB). At most
    /// `u32::MAX`.
    pub fn max_send_buf_size(mut self, size: usize) -> Self {
        self.config.max_send_buf_size = size.min(u32::MAX as usize);
        self
    }
    /// Interval between keepalive PINGs (default 2 h); `None` disables them.
    pub fn keepalive_interval(mut self, interval: impl Into<Option<Duration>>) -> Self {
        self.config.keepalive_interval = interval.into();
        self
    }
    setter!(
        /// How long to wait for a keepalive PING's answer (default 20 s).
        keepalive_timeout: Duration
    );
    setter!(
        /// How long in-flight calls may take after a shutdown signal
        /// (default 30 s) before their connections are closed.
        graceful_shutdown_timeout: Duration
    );
    setter!(
        /// Set `TCP_NODELAY` on accepted TCP connections (default on);
        /// other transports have no such option.
        tcp_nodelay: bool
    );
    setter!(
        /// Batch the writes of responses that become ready together on one
        /// connection (default on); see the [module docs](self).
        write_batching: bool
    );

    /// Binds `addr` (TCP) and serves until the process ends.
    pub async fn serve<S, B>(self, addr: SocketAddr, service: S) -> io::Result<()>
    where
        S: Service<http::Request<GrpcBody>, Response = http::Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let listener = TcpListener::bind(addr).await?;
        self.serve_with_listener(listener, service).await
    }

    /// Binds what a gRPC target names, read by grpc-core's one
    /// [target parser](grpc_core::target), and serves on it until
    /// `shutdown` completes: a TCP address (`host:port`,
    /// `dns:///host:port`, one `ipv4:` or `ipv6:` address, or
    /// `http://host:port`), or a Unix domain socket (`unix:/path`,
    /// `unix:///path`, `unix:relative/path`; a socket file already there
    /// is not removed, and binding fails). The same strings a client's
    /// `Endpoint` connects to. A target that names no one place to bind
    /// (an address list, a DNS server authority) is `InvalidInput`.
    ///
    /// ```no_run
    /// # async fn run(router: grpc_server::Router) -> std::io::Result<()> {
    /// use grpc_server::Server;
    ///
    /// Server::new()
    ///     .serve_target_with_shutdown("unix:///run/app/grpc.sock", router, std::future::pending())
    ///     .await
    /// # }
    /// ```
    pub async fn serve_target_with_shutdown<S, B, F>(
        self,
        target: &str,
        service: S,
        shutdown: F,
    ) -> io::Result<()>
    where
        S: Service<http::Request<GrpcBody>, Response = http::Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
        F: Future<Output = ()>,
    {
        let invalid = |why: String| io::Error::new(io::ErrorKind::InvalidInput, why);
        let parsed = Target::parse(target).map_err(|e| invalid(e.to_string()))?;
        match &parsed {
            #[cfg(unix)]
            Target::Unix(path) => {
                let listener = tokio::net::UnixListener::bind(path)?;
                self.serve_with_shutdown(listener, service, shutdown).await
            }
            Target::Addresses(addresses) if addresses.len() == 1 => {
                let listener = TcpListener::bind(addresses[0]).await?;
                self.serve_with_shutdown(listener, service, shutdown).await
            }
            Target::Dns {
                authority: None,
                host,
                port,
            }
            | Target::Http { host, port, .. } => {
                let listener = TcpListener::bind((host.as_str(), *port)).await?;
                self.serve_with_shutdown(listener, service, shutdown).await
            }
            _ => Err(invalid(format!(
                "{parsed}: not one place a server can bind"
            ))),
        }
    }

    /// Serves connections from `listener` (any [`Listener`]: TCP, Unix
    /// domain socket, in-memory) until the process ends.
    pub async fn serve_with_listener<L, S, B>(self, listener: L, service: S) -> io::Result<()>
    where
        L: Listener,
        S: Service<http::Request<GrpcBody>, Response = http::Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        self.serve_with_shutdown(listener, service, std::future::pending())
            .await
    }

    /// Serves connections from `listener` (any [`Listener`]) until
    /// `shutdown` completes, then shuts down gracefully (see the
    /// [module docs](self)).
    pub async fn serve_with_shutdown<L, S, B, F>(
        self,
        listener: L,
        service: S,
        shutdown: F,
    ) -> io::Result<()>
    where
        L: Listener,
        S: Service<http::Request<GrpcBody>, Response = http::Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
        F: Future<Output = ()>,
    {
        let driver = Driver::new(
            &self.config,
            #[cfg(feature = "tls")]
            self.tls,
        );
        let grace = self.config.graceful_shutdown_timeout;
        accept::serve(listener, driver, service, shutdown, grace).await;
        Ok(())
    }
}
