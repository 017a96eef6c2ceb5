//! One connection attempt of a channel, run as its own task so that it
//! finishes even if every call waiting on it is dropped: open the byte
//! stream through the endpoint's connector (TCP, a Unix domain socket, or
//! the user's), TLS on top when configured, then the HTTP/2 handshake with
//! the endpoint's settings; record the outcome in the channel's
//! [state](super::state), and drive the connection in another task.
//!
//! The connection driver owns the connection's write batching
//! ([`WriteBatching`]): it wraps the byte stream, counts the polls of the
//! connection, and hands the calls (through [`Connected`]) the counter they
//! enter while in flight. The same code runs for every transport.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Weak;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use futures_util::future::Shared;
use grpc_core::GrpcBody;
use grpc_transport::batch::{BatchIo, WriteBatching};
use grpc_transport::{BoxedIo, BoxingExecutor};
use hyper::client::conn::http2;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::state::{Connected, Inner};
use crate::endpoint::Endpoint;
use crate::error::{Error, Kind};

/// One connection attempt, shared by every call that waits for it.
pub(crate) type SharedConnect = Shared<ConnectTask>;

/// One connection attempt, run as its own task: connect, record the outcome
/// in the channel, and spawn the connection future.
pub(crate) async fn attempt(
    endpoint: Endpoint,
    timeout: Duration,
    retry_at: Instant,
    channel: Weak<Inner>,
) -> Result<Connected, Error> {
    let outcome = match tokio::time::timeout(timeout, connect(&endpoint)).await {
        Ok(outcome) => outcome,
        Err(elapsed) => Err(Error::with(Kind::ConnectTimeout, elapsed)),
    };
    // Every channel handle may be gone; then the connection just closes.
    let Some(inner) = channel.upgrade() else {
        return outcome.map(|(connected, _connection)| connected);
    };
    match outcome {
        Ok((connected, connection)) => {
            let generation = inner.on_connected(connected.clone());
            drop(inner);
            let batching = connected.batching.clone();
            tokio::spawn(async move {
                // The outcome does not matter: any end of the connection
                // means the next call reconnects.
                let _ = batching.drive(connection).await;
                if let Some(inner) = channel.upgrade() {
                    inner.on_disconnected(generation);
                }
            });
            Ok(connected)
        }
        Err(error) => {
            inner.on_failed(error.clone(), retry_at);
            Err(error)
        }
    }
}

type Connection = http2::Connection<TokioIo<BatchIo<BoxedIo>>, GrpcBody, BoxingExecutor>;

/// Open the byte stream, the TLS handshake for a TLS endpoint, then the
/// HTTP/2 handshake with the endpoint's settings.
async fn connect(endpoint: &Endpoint) -> Result<(Connected, Connection), Error> {
    let io = endpoint
        .open()
        .await
        .map_err(|e| Error::with(Kind::Connect, e))?;
    #[cfg(feature = "tls")]
    let io = match &endpoint.tls {
        Some(tls) => tls.handshake(endpoint.host(), io).await?,
        None => io,
    };
    let batching = if endpoint.write_batching {
        WriteBatching::client()
    } else {
        WriteBatching::off()
    };
    let settings = &endpoint.http2;
    let mut builder = http2::Builder::new(BoxingExecutor);
    builder
        .timer(TokioTimer::new())
        .initial_stream_window_size(settings.initial_stream_window_size)
        .initial_connection_window_size(settings.initial_connection_window_size)
        .adaptive_window(settings.adaptive_window)
        .max_header_list_size(settings.max_header_list_size)
        .keep_alive_interval(settings.keepalive_interval)
        .keep_alive_timeout(settings.keepalive_timeout)
        .keep_alive_while_idle(settings.keepalive_while_idle);
    if let Some(size) = settings.max_frame_size {
        builder.max_frame_size(size);
    }
    if let Some(size) = settings.max_send_buf_size {
        builder.max_send_buf_size(size);
    }
    let (sender, connection) = builder
        .handshake(TokioIo::new(batching.io(io)))
        .await
        .map_err(|e| Error::with(Kind::Connect, e))?;
    Ok((Connected { sender, batching }, connection))
}

/// The join handle of a connection attempt, as a future of its outcome.
pub(crate) struct ConnectTask {
    task: JoinHandle<Result<Connected, Error>>,
    channel: Weak<Inner>,
}

impl ConnectTask {
    pub(crate) fn new(task: JoinHandle<Result<Connected, Error>>, channel: Weak<Inner>) -> Self {
        ConnectTask { task, channel }
    }
}

impl Future for ConnectTask {
    type Output = Result<Connected, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match ready!(Pin::new(&mut self.task).poll(cx)) {
            Ok(outcome) => Poll::Ready(outcome),
            Err(join) => {
                // The attempt panicked or its runtime shut down before it
                // could record an outcome: record one, so the channel does
                // not stay "connecting" forever.
                let error = Error::with(Kind::Connect, join);
                if let Some(inner) = self.channel.upgrade() {
                    inner.on_failed(error.clone(), Instant::now());
                }
                Poll::Ready(Err(error))
            }
        }
    }
}

impl fmt::Debug for ConnectTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectTask").finish_non_exhaustive()
    }
}
