//! [`Server`]: runs any gRPC `Service` stack over hyper's HTTP/2 server.
//!
//! The server speaks HTTP/2 with prior knowledge (h2c), or HTTP/2 over TLS
//! with [`Server::tls`] (feature `tls`). It knows nothing
//! of gRPC beyond turning hyper's request body into a [`GrpcBody`] whose
//! errors are [`Status`](grpc_core::Status) and adding the peer's address
//! ([`PeerAddr`]) and, over TLS, the connection's
//! [`TlsInfo`] to the request extensions; routing, limits and every other
//! concern live in the service stack it is given.
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
//! # Graceful shutdown
//!
//! When the shutdown future completes, the server stops accepting, sends
//! GOAWAY on every connection and lets in-flight calls finish. Connections
//! still open after [`graceful_shutdown_timeout`](Server::graceful_shutdown_timeout)
//! (30 s by default) are closed.

pub mod config;
mod drain;
mod transport;

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use grpc_core::error::BoxError;
use grpc_core::GrpcBody;
use http_body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tower::util::Oneshot;
use tower::ServiceExt;
use tower_service::Service;

use crate::body::RequestBody;
#[cfg(feature = "tls")]
use crate::tls::{Acceptor, TlsConfig, TlsError, TlsInfo};
use config::Config;
use drain::Drain;
use grpc_core::runtime::batch::{Batch, BatchIo, Counted};
use grpc_core::runtime::BoxingExecutor;
use transport::ServerIo;

/// The address of the peer of a call, in the request extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PeerAddr(pub SocketAddr);

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
    /// [`TlsConfig::with_handshake_timeout`] (default 10 s).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: TlsConfig) -> Result<Self, TlsError> {
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
    setter!(
        /// Largest HTTP/2 frame the server accepts (default 16 KiB).
        max_frame_size: Option<u32>
    );
    setter!(
        /// Bytes buffered per stream for sending (default 400 KiB).
        max_send_buf_size: usize
    );
    setter!(
        /// Interval between keepalive PINGs (default 2 h); `None` disables them.
        keepalive_interval: Option<Duration>
    );
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
        /// Set `TCP_NODELAY` on accepted connections (default on).
        tcp_nodelay: bool
    );

    fn http2(&self) -> hyper::server::conn::http2::Builder<BoxingExecutor> {
        let c = &self.config;
        let mut b = hyper::server::conn::http2::Builder::new(BoxingExecutor);
        b.timer(TokioTimer::new())
            .max_concurrent_streams(c.max_concurrent_streams)
            .max_pending_accept_reset_streams(c.max_pending_accept_reset_streams)
            .max_local_error_reset_streams(c.max_local_error_reset_streams)
            .max_header_list_size(c.max_header_list_size)
            .initial_stream_window_size(c.initial_stream_window_size)
            .initial_connection_window_size(c.initial_connection_window_size)
            .adaptive_window(c.adaptive_window)
            .max_frame_size(c.max_frame_size)
            .max_send_buf_size(c.max_send_buf_size)
            .keep_alive_interval(c.keepalive_interval)
            .keep_alive_timeout(c.keepalive_timeout)
            .auto_date_header(false);
        b
    }

    /// Binds `addr` and serves until the process ends.
    pub async fn serve<S, B>(self, addr: SocketAddr, service: S) -> io::Result<()>
    where
        S: Service<http::Request<GrpcBody>, Response = http::Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let listener = TcpListener::bind(addr).await?;
        self.serve_with_shutdown(listener, service, std::future::pending())
            .await
    }

    /// Serves connections from `listener` until `shutdown` completes, then
    /// shuts down gracefully (see the [module docs](self)).
    pub async fn serve_with_shutdown<S, B, F>(
        self,
        listener: TcpListener,
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
        let http2 = self.http2();
        let drain = Drain::new();
        let mut connections = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(accepted) => accepted,
                        Err(err) => {
                            // Usually a transient resource shortage (EMFILE):
                            // back off briefly rather than spin.
                            tracing::warn!(error = %err, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    if self.config.tcp_nodelay {
                        let _ = stream.set_nodelay(true);
                    }
                    let batch = Batch::new();
                    let service = HyperService {
                        inner: service.clone(),
                        peer,
                        batch: batch.clone(),
                        #[cfg(feature = "tls")]
                        tls: None,
                    };
                    let http2 = http2.clone();
                    #[cfg(feature = "tls")]
                    let tls = self.tls.clone();
                    let mut stop = drain.watch();
                    // Everything per connection, the TLS handshake included,
                    // runs in the connection's task: the accept loop never
                    // waits on a client.
                    connections.spawn(async move {
                        #[cfg(feature = "tls")]
                        let (io, service) = match tls {
                            None => (ServerIo::Plain(stream), service),
                            Some(acceptor) => {
                                let handshake = tokio::select! {
                                    result = acceptor.accept(stream) => result,
                                    () = stop.fired() => return Ok(()),
                                };
                                match handshake {
                                    Ok(stream) => {
                                        let info = TlsInfo::from_connection(stream.get_ref().1);
                                        let service = HyperService { tls: Some(info), ..service };
                                        (ServerIo::Tls(Box::new(stream)), service)
                                    }
                                    Err(err) => {
                                        tracing::debug!(%peer, error = %err, "TLS handshake failed");
                                        return Ok(());
                                    }
                                }
                            }
                        };
                        #[cfg(not(feature = "tls"))]
                        let io = ServerIo::Plain(stream);
                        let io = BatchIo::server(io, batch.clone());
                        let conn = http2.serve_connection(TokioIo::new(io), service);
                        tokio::pin!(conn);
                        // Not a `select!` on a shutdown future: this runs on
                        // every wake-up of the connection (see `drain`).
                        let mut draining = false;
                        std::future::poll_fn(|cx| {
                            batch.next_round();
                            if !draining && stop.poll_fired(cx) {
                                draining = true;
                                conn.as_mut().graceful_shutdown();
                            }
                            conn.as_mut().poll(cx)
                        })
                        .await
                    });
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        drop(listener);
        drain.fire();
        let drained = tokio::time::timeout(self.config.graceful_shutdown_timeout, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                open = connections.len(),
                "graceful shutdown timed out; closing remaining connections"
            );
            connections.abort_all();
            while connections.join_next().await.is_some() {}
        }
        Ok(())
    }
}

/// Adapts a tower service stack to hyper: request body, peer address and,
/// over TLS, what is known of the TLS connection.
struct HyperService<S> {
    inner: S,
    peer: SocketAddr,
    /// Calls in flight on this connection, for write batching.
    batch: Arc<Batch>,
    #[cfg(feature = "tls")]
    tls: Option<TlsInfo>,
}

impl<S> fmt::Debug for HyperService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperService")
            .field("peer", &self.peer)
            .finish()
    }
}

impl<S> hyper::service::Service<http::Request<Incoming>> for HyperService<S>
where
    S: Service<http::Request<GrpcBody>> + Clone,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Counted<Oneshot<S, http::Request<GrpcBody>>>;

    fn call(&self, request: http::Request<Incoming>) -> Self::Future {
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(PeerAddr(self.peer));
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            parts.extensions.insert(tls.clone());
        }
        let request = http::Request::from_parts(parts, GrpcBody::new(RequestBody::new(body)));
        // hyper calls by shared reference; a tower service needs `&mut` and
        // readiness, so each call drives its own clone to ready, then calls it.
        Counted::new(self.inner.clone().oneshot(request), &self.batch)
    }
}
