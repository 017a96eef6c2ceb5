//! [`Channel`]: calls multiplexed over one hyper HTTP/2 connection.
//!
//! A channel is a cheap, cloneable handle (an `Arc`) on one connection to an
//! [`Endpoint`]. Every call is its own HTTP/2 stream on that connection: the
//! call clones hyper's `SendRequest` and sends directly, with no `Buffer`
//! task or queue in between.
//!
//! # Connection states
//!
//! - **idle**: nothing connected (a new lazy channel, or after the
//!   connection was lost). The next call starts a connection attempt.
//! - **connecting**: every call waits for the same attempt, which runs as its
//!   own task and is bounded by the connect timeout.
//! - **ready**: calls go straight out on the connection. When the connection
//!   ends (`GOAWAY`, the peer closed it, an I/O error, a keepalive timeout)
//!   the channel goes back to idle, and the next call reconnects.
//! - **backoff**: an attempt failed. Until its backoff delay (see
//!   [`Backoff`](crate::Backoff)) has passed, calls **fail fast** with an
//!   error that maps to `UNAVAILABLE`, which is gRPC's default behaviour
//!   (not *wait-for-ready*). The first call after the delay starts the next
//!   attempt. A successful connection resets the backoff.
//!
//! A request that a closing connection refused before it was sent is retried
//! once on a new connection; a request already sent is never retried here.
//!
//! # What the channel adds to a request
//!
//! What belongs to the connection: the URI's scheme and authority come from
//! the endpoint (the path from the request), and the endpoint's
//! `user-agent` is added when missing. What belongs to a gRPC call
//! (`POST`, the path, `content-type`, `te`, the metadata) is the request
//! head that [`Grpc`](crate::Grpc), [`Call`](crate::Call) and generated
//! clients build ([`call`](crate::call)); a request that reaches the channel
//! some other way is sent as it is.
//!
//! # Credentials over plaintext
//!
//! A request whose credentials an auth layer held back
//! ([`HeldCredentials`](grpc_core::security::HeldCredentials): what
//! `grpc-layers`' client auth layer does for a path-only request, unless
//! told to allow insecure transport) gets them as headers when the
//! endpoint is TLS. When it is not (`http://`, `unix:` without
//! [`Endpoint::tls`]) the channel refuses the request with
//! `UNAUTHENTICATED`, before connecting or sending anything; [`Error::is_insecure_transport`](crate::Error::is_insecure_transport)
//! holds for the status's `source()`.
//!
//! # Transports and write batching
//!
//! The connection is opened through the endpoint's target: TCP, a Unix
//! domain socket, or a [`Connect`](grpc_transport::Connect) of your own
//! (an in-memory pipe in tests); see [`Endpoint`]. Whatever it opens goes
//! through the same code: TLS on top when configured, the HTTP/2 handshake,
//! and the connection's driver, which owns its write batching (see
//! [`grpc_transport::batch`]; [`Endpoint::write_batching`] turns it off).
//!
//! # Errors
//!
//! A channel maps its own errors: `Service::Error` is a [`Status`], and so
//! is the error of its response body, so a bare channel reports the codes
//! of the stack's one table ([`grpc_core::status::mapping`]) without a
//! status layer around it. A connection that could not be made (refused,
//! timed out, in backoff, closed before the request left) is
//! `UNAVAILABLE`, with this crate's [`Error`] as the status's `source()`;
//! a stream reset or a connection lost under a call is mapped from hyper's
//! error, which stays the `source()`, by
//! [`status_from_error`](crate::status::status_from_error). A status layer
//! around the channel is still where the errors of the layers between it
//! and the caller (tower's `Elapsed`, your own) become statuses.
//!
//! # Cancellation
//!
//! Dropping the response future, or the response body before its end, resets
//! the stream with `RST_STREAM(CANCEL)`; the connection and other calls on it
//! are unaffected.
//!
//! # Runtime
//!
//! Connecting spawns tokio tasks (the attempt, then the connection), so
//! calls must be made within a tokio runtime.

mod body;
mod connect;
mod future;
mod request;
mod state;

pub use future::ResponseFuture;

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use grpc_core::{GrpcBody, Status};
use tower_service::Service;

use crate::endpoint::Endpoint;
use crate::error::Error;
use state::{Acquired, Inner};

/// A multiplexed HTTP/2 connection to one endpoint; see the
/// [module docs](self).
///
/// Build one with [`Endpoint::connect`] or [`Endpoint::connect_lazy`].
#[derive(Clone)]
pub struct Channel {
    inner: Arc<Inner>,
}

impl Channel {
    pub(crate) fn lazy(endpoint: Endpoint) -> Channel {
        Channel {
            inner: Inner::new(endpoint),
        }
    }

    pub(crate) async fn connect(endpoint: Endpoint) -> Result<Channel, Error> {
        let channel = Channel::lazy(endpoint);
        match channel.inner.acquire() {
            Acquired::Ready(..) => {}
            Acquired::Wait(attempt) => {
                attempt.await?;
            }
            Acquired::Failed(error) => return Err(error),
        }
        Ok(channel)
    }

    /// The endpoint this channel connects to.
    pub fn endpoint(&self) -> &Endpoint {
        self.inner.endpoint()
    }
}

impl Service<http::Request<GrpcBody>> for Channel {
    type Response = http::Response<GrpcBody>;
    type Error = Status;
    type Future = ResponseFuture;

    /// Always ready: the connection is shared and HTTP/2 itself queues
    /// streams beyond the peer's concurrency limit. Connection problems are
    /// reported by the call.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: http::Request<GrpcBody>) -> ResponseFuture {
        match request::prepare(self.inner.endpoint(), &mut request) {
            Ok(()) => ResponseFuture::new(self.inner.clone(), request),
            Err(error) => ResponseFuture::failed(error),
        }
    }
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("uri", self.inner.endpoint().uri())
            .field("state", &self.inner.state_name())
            .finish()
    }
}
