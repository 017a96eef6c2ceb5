//! The accept loop: takes connections from a [`Listener`] and gives each
//! its own task, until the shutdown signal; then drains.
//!
//! Everything per connection (the TLS handshake included) runs in the
//! connection's task ([`connection`](super::connection)), so the loop never
//! waits on a client. Accept errors are the listener's to handle (see
//! [`grpc_transport::listener`]). On the shutdown signal the loop stops
//! accepting and drops the listener, tells every connection to drain
//! ([`drain`](super::drain)), and waits for them for at most the grace
//! period; connections still open then are closed.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use grpc_core::error::BoxError;
use grpc_core::GrpcBody;
use grpc_transport::Listener;
use http_body::Body;
use tokio::task::JoinSet;
use tower_service::Service;

use super::connection::Driver;
use super::drain::Drain;

/// Serves connections from `listener` with `driver` until `shutdown`
/// completes, then shuts down gracefully within `grace`.
pub(crate) async fn serve<L, S, B, F>(
    mut listener: L,
    driver: Driver,
    service: S,
    shutdown: F,
    grace: Duration,
) where
    L: Listener,
    S: Service<http::Request<GrpcBody>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    F: Future<Output = ()>,
{
    let drain = Drain::new();
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            (io, peer) = listener.accept() => {
                let run = driver.clone().run(io, peer, service.clone(), drain.watch());
                connections.spawn(run);
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    drain.fire();
    let drained = tokio::time::timeout(grace, async {
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
}
