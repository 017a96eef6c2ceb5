//! The connection driver: everything one accepted connection goes through,
//! in its own task, whatever listener it came from.
//!
//! 1. `TCP_NODELAY` as configured, when the connection is TCP;
//! 2. the TLS handshake, when TLS is configured, bounded by its timeout and
//!    given up when the server starts draining;
//! 3. the byte stream erased to a [`BoxedIo`], so every transport runs the
//!    same hyper connection type, and wrapped for write batching
//!    ([`WriteBatching`], which this driver owns: it counts the calls, the
//!    byte stream and the polls of the connection);
//! 4. hyper's HTTP/2 server connection with the configured settings, over a
//!    [`HyperService`] that hands each request to the service stack with
//!    its body as a [`GrpcBody`] and the peer's address (and, over TLS,
//!    [`TlsInfo`](crate::tls::TlsInfo)) in its extensions;
//! 5. the drain: when the server starts shutting down, a graceful shutdown
//!    of the connection (GOAWAY, then the calls in flight finish).

use std::any::Any;
use std::fmt;
use std::future::Future;

use bytes::Bytes;
use grpc_core::error::BoxError;
use grpc_core::GrpcBody;
use grpc_transport::batch::{Counted, WriteBatching};
use grpc_transport::{BoxedIo, BoxingExecutor, Io};
use http_body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http2;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tower::util::Oneshot;
use tower::ServiceExt;
use tower_service::Service;

use super::config::Config;
use super::drain::Watch;
use super::PeerAddr;
use crate::body::RequestBody;
#[cfg(feature = "tls")]
use crate::tls::{Acceptor, TlsInfo};

/// What every connection of one server is driven with.
#[derive(Clone, Debug)]
pub(crate) struct Driver {
    http2: http2::Builder<BoxingExecutor>,
    tcp_nodelay: bool,
    write_batching: bool,
    #[cfg(feature = "tls")]
    tls: Option<Acceptor>,
}

impl Driver {
    pub(crate) fn new(config: &Config, #[cfg(feature = "tls")] tls: Option<Acceptor>) -> Driver {
        let mut http2 = http2::Builder::new(BoxingExecutor);
        http2
            .timer(TokioTimer::new())
            .max_concurrent_streams(config.max_concurrent_streams)
            .max_pending_accept_reset_streams(config.max_pending_accept_reset_streams)
            .max_local_error_reset_streams(config.max_local_error_reset_streams)
            .max_header_list_size(config.max_header_list_size)
            .initial_stream_window_size(config.initial_stream_window_size)
            .initial_connection_window_size(config.initial_connection_window_size)
            .adaptive_window(config.adaptive_window)
            .max_frame_size(config.max_frame_size)
            .max_send_buf_size(config.max_send_buf_size)
            .keep_alive_interval(config.keepalive_interval)
            .keep_alive_timeout(config.keepalive_timeout)
            .auto_date_header(false);
        Driver {
            http2,
            tcp_nodelay: config.tcp_nodelay,
            write_batching: config.write_batching,
            #[cfg(feature = "tls")]
            tls,
        }
    }

    /// Drives one connection until it closes; see the [module docs](self).
    pub(crate) async fn run<I, A, S, B>(self, io: I, peer: A, service: S, mut stop: Watch)
    where
        I: Io,
        A: Clone + fmt::Debug + Send + Sync + 'static,
        S: Service<http::Request<GrpcBody>, Response = http::Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        if let Some(tcp) = (&io as &dyn Any).downcast_ref::<TcpStream>() {
            let _ = tcp.set_nodelay(self.tcp_nodelay);
        }
        #[cfg(feature = "tls")]
        let (io, tls) = match &self.tls {
            None => (BoxedIo::new(io), None),
            Some(acceptor) => {
                let handshake = tokio::select! {
                    result = acceptor.accept(io) => result,
                    () = stop.fired() => return,
                };
                match handshake {
                    Ok((stream, info)) => (BoxedIo::new(stream), Some(info)),
                    Err(err) => {
                        tracing::debug!(?peer, error = %err, "TLS handshake failed");
                        return;
                    }
                }
            }
        };
        #[cfg(not(feature = "tls"))]
        let io = BoxedIo::new(io);
        let batching = if self.write_batching {
            WriteBatching::server()
        } else {
            WriteBatching::off()
        };
        let service = HyperService {
            inner: service,
            peer,
            batching: batching.clone(),
            #[cfg(feature = "tls")]
            tls,
        };
        let connection = self
            .http2
            .serve_connection(TokioIo::new(batching.io(io)), service);
        let mut connection = std::pin::pin!(batching.drive(connection));
        // Not a `select!` on a shutdown future: this runs on every wake-up
        // of the connection (see `drain`).
        let mut draining = false;
        let _ = std::future::poll_fn(|cx| {
            if !draining && stop.poll_fired(cx) {
                draining = true;
                connection.as_mut().connection().graceful_shutdown();
            }
            connection.as_mut().poll(cx)
        })
        .await;
    }
}

/// Adapts a tower service stack to hyper: request body, peer address and,
/// over TLS, what is known of the TLS connection; each call is counted for
/// write batching until its response head is ready.
struct HyperService<S, A> {
    inner: S,
    peer: A,
    batching: WriteBatching,
    #[cfg(feature = "tls")]
    tls: Option<TlsInfo>,
}

impl<S, A: fmt::Debug> fmt::Debug for HyperService<S, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperService")
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl<S, A> hyper::service::Service<http::Request<Incoming>> for HyperService<S, A>
where
    S: Service<http::Request<GrpcBody>> + Clone,
    A: Clone + Send + Sync + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Counted<Oneshot<S, http::Request<GrpcBody>>>;

    fn call(&self, request: http::Request<Incoming>) -> Self::Future {
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(PeerAddr(self.peer.clone()));
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            parts.extensions.insert(tls.clone());
        }
        let request = http::Request::from_parts(parts, GrpcBody::new(RequestBody::new(body)));
        // hyper calls by shared reference; a tower service needs `&mut` and
        // readiness, so each call drives its own clone to ready, then calls it.
        self.batching.count(self.inner.clone().oneshot(request))
    }
}
