//! The connection state of a channel: idle → connecting → ready →
//! (connection lost) → idle, and connecting → backoff after a failure.
//!
//! The state sits behind one short-held mutex. A call reads it once: when
//! ready it clones hyper's `SendRequest` (a cheap handle on the multiplexed
//! connection) and leaves; when connecting it takes a clone of the shared
//! connect attempt and waits for that, so concurrent calls share one
//! attempt.
//!
//! The attempt runs as its own tokio task, so it finishes even if every call
//! waiting on it is dropped, and records its outcome in the state itself.
//! The hyper connection future is spawned as another task; when it ends
//! (`GOAWAY`, peer closed, I/O error) the state goes back to idle and the
//! next call reconnects.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use futures_util::future::{FutureExt, Shared};
use grpc_core::runtime::batch::{Batch, BatchIo, InFlight};
use grpc_core::runtime::BoxingExecutor;
use grpc_core::GrpcBody;
use hyper::client::conn::http2::{self, SendRequest};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::transport::ClientIo;
use crate::endpoint::Endpoint;
use crate::error::{Error, Kind};

/// The sending half of one hyper HTTP/2 connection.
pub(crate) type Sender = SendRequest<GrpcBody>;

/// One connection attempt, shared by every call that waits for it.
pub(crate) type SharedConnect = Shared<ConnectTask>;

/// What a call gets when it asks for a connection.
pub(crate) enum Acquired {
    /// Connected: send on this.
    Ready(Sender),
    /// A connection attempt is under way: wait for it.
    Wait(SharedConnect),
    /// The last attempt failed and its backoff has not elapsed.
    Failed(Error),
}

pub(crate) struct Inner {
    endpoint: Endpoint,
    slot: Mutex<Slot>,
    /// Calls in flight, for write batching on the connection.
    batch: Arc<Batch>,
}

struct Slot {
    state: State,
    /// Consecutive failed attempts, for the backoff schedule.
    failures: u32,
    /// Counts connections, so a stale "connection lost" is ignored.
    generation: u64,
}

enum State {
    Idle,
    Connecting(SharedConnect),
    Ready { sender: Sender, generation: u64 },
    Backoff { until: Instant, error: Error },
}

impl Inner {
    pub(crate) fn new(endpoint: Endpoint) -> Arc<Inner> {
        Arc::new(Inner {
            endpoint,
            batch: Batch::new(),
            slot: Mutex::new(Slot {
                state: State::Idle,
                failures: 0,
                generation: 0,
            }),
        })
    }

    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Counts a call in flight from sending until its response head.
    pub(crate) fn enter(&self) -> InFlight {
        self.batch.enter()
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        // The state stays consistent at every await-free step, so a panic
        // elsewhere while holding the lock cannot leave it half-written.
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A connection to send a call on, or the attempt to wait for, or the
    /// reason to fail fast. Starts an attempt when idle, when the backoff
    /// has elapsed or when the connection was found closed.
    pub(crate) fn acquire(self: &Arc<Self>) -> Acquired {
        let mut slot = self.lock();
        match &slot.state {
            State::Ready { sender, .. } if !sender.is_closed() => {
                return Acquired::Ready(sender.clone());
            }
            State::Connecting(attempt) => return Acquired::Wait(attempt.clone()),
            State::Backoff { until, error } if Instant::now() < *until => {
                return Acquired::Failed(Error::in_backoff(error));
            }
            _ => {}
        }
        Acquired::Wait(self.start_connect(&mut slot))
    }

    /// Forgets a connection found closed when a request was refused on it.
    pub(crate) fn forget_closed(&self) {
        let mut slot = self.lock();
        if let State::Ready { sender, .. } = &slot.state {
            if sender.is_closed() {
                slot.state = State::Idle;
            }
        }
    }

    /// A name for the current state, for `Debug`.
    pub(crate) fn state_name(&self) -> &'static str {
        match self.lock().state {
            State::Idle => "idle",
            State::Connecting(_) => "connecting",
            State::Ready { .. } => "ready",
            State::Backoff { .. } => "backoff",
        }
    }

    fn start_connect(self: &Arc<Self>, slot: &mut Slot) -> SharedConnect {
        let delay = self.endpoint.backoff().random_delay(slot.failures);
        let retry_at = Instant::now() + delay;
        let timeout = delay.max(self.endpoint.connect_timeout());
        let endpoint = self.endpoint.clone();
        let weak = Arc::downgrade(self);
        let batch = self.batch.clone();
        let task = tokio::spawn(attempt(endpoint, batch, timeout, retry_at, weak.clone()));
        let shared = ConnectTask {
            task,
            channel: weak,
        }
        .shared();
        slot.state = State::Connecting(shared.clone());
        shared
    }

    fn on_connected(&self, sender: Sender) -> u64 {
        let mut slot = self.lock();
        slot.generation += 1;
        slot.failures = 0;
        let generation = slot.generation;
        slot.state = State::Ready { sender, generation };
        generation
    }

    fn on_failed(&self, error: Error, retry_at: Instant) {
        let mut slot = self.lock();
        slot.failures = slot.failures.saturating_add(1);
        slot.state = State::Backoff {
            until: retry_at,
            error,
        };
    }

    fn on_disconnected(&self, generation: u64) {
        let mut slot = self.lock();
        if matches!(slot.state, State::Ready { generation: g, .. } if g == generation) {
            slot.state = State::Idle;
        }
    }
}

/// One connection attempt, run as its own task: connect, record the outcome
/// in the channel, and spawn the connection future.
async fn attempt(
    endpoint: Endpoint,
    batch: Arc<Batch>,
    timeout: Duration,
    retry_at: Instant,
    channel: Weak<Inner>,
) -> Result<Sender, Error> {
    let outcome = match tokio::time::timeout(timeout, connect(&endpoint, batch.clone())).await {
        Ok(outcome) => outcome,
        Err(elapsed) => Err(Error::with(Kind::ConnectTimeout, elapsed)),
    };
    // Every channel handle may be gone; then the connection just closes.
    let Some(inner) = channel.upgrade() else {
        return outcome.map(|(sender, _connection)| sender);
    };
    match outcome {
        Ok((sender, connection)) => {
            let generation = inner.on_connected(sender.clone());
            drop(inner);
            tokio::spawn(async move {
                // The outcome does not matter: any end of the connection
                // means the next call reconnects.
                let mut connection = std::pin::pin!(connection);
                let _ = std::future::poll_fn(|cx| {
                    batch.next_round();
                    connection.as_mut().poll(cx)
                })
                .await;
                if let Some(inner) = channel.upgrade() {
                    inner.on_disconnected(generation);
                }
            });
            Ok(sender)
        }
        Err(error) => {
            inner.on_failed(error.clone(), retry_at);
            Err(error)
        }
    }
}

type Connection = http2::Connection<TokioIo<BatchIo<ClientIo>>, GrpcBody, BoxingExecutor>;

/// TCP connect, the TLS handshake for a TLS endpoint, then the HTTP/2
/// handshake with the endpoint's settings.
async fn connect(endpoint: &Endpoint, batch: Arc<Batch>) -> Result<(Sender, Connection), Error> {
    let stream = TcpStream::connect((endpoint.host(), endpoint.port()))
        .await
        .map_err(|e| Error::with(Kind::Connect, e))?;
    stream
        .set_nodelay(endpoint.tcp_nodelay())
        .map_err(|e| Error::with(Kind::Connect, e))?;
    #[cfg(feature = "tls")]
    let io = match endpoint.tls() {
        Some(tls) => ClientIo::Tls(Box::new(tls.handshake(endpoint.host(), stream).await?)),
        None => ClientIo::Plain(stream),
    };
    #[cfg(not(feature = "tls"))]
    let io = ClientIo::Plain(stream);

    let settings = endpoint.http2();
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
    if let Some(size) = settings.max_send_buffer_size {
        builder.max_send_buf_size(size);
    }
    builder
        .handshake(TokioIo::new(BatchIo::client(io, batch)))
        .await
        .map_err(|e| Error::with(Kind::Connect, e))
}

/// The join handle of a connection attempt, as a future of its outcome.
pub(crate) struct ConnectTask {
    task: JoinHandle<Result<Sender, Error>>,
    channel: Weak<Inner>,
}

impl Future for ConnectTask {
    type Output = Result<Sender, Error>;

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
