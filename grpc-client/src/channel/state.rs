//! The connection state of a channel: idle → connecting → ready →
//! (connection lost) → idle, and connecting → backoff after a failure.
//!
//! The state sits behind one short-held mutex. A call reads it once: when
//! ready it clones hyper's `SendRequest` (a cheap handle on the multiplexed
//! connection), counts itself in the connection's write batching, and
//! leaves; when connecting it takes a clone of the shared connect attempt
//! ([`connect`](super::connect)) and waits for that, so concurrent calls
//! share one attempt. The attempt records its outcome here, and so does the
//! end of the connection (`GOAWAY`, peer closed, I/O error): the state goes
//! back to idle and the next call reconnects.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_util::future::FutureExt;
use grpc_core::GrpcBody;
use grpc_transport::batch::{InFlight, WriteBatching};
use hyper::client::conn::http2::SendRequest;
use tokio::time::Instant;

use super::connect::{attempt, ConnectTask, SharedConnect};
use crate::endpoint::Endpoint;
use crate::error::Error;

/// The sending half of one hyper HTTP/2 connection.
pub(crate) type Sender = SendRequest<GrpcBody>;

/// One live connection: where calls are sent, and its write batching
/// (owned by its driver, see [`connect`](super::connect)), in which each
/// call counts itself from sending until its response head arrives.
#[derive(Clone, Debug)]
pub(crate) struct Connected {
    pub(crate) sender: Sender,
    pub(crate) batching: WriteBatching,
}

impl Connected {
    /// A handle to send one call on, and the call's count in flight.
    pub(crate) fn start_call(&self) -> (Sender, InFlight) {
        (self.sender.clone(), self.batching.enter())
    }
}

/// What a call gets when it asks for a connection.
pub(crate) enum Acquired {
    /// Connected: send on this, counted in flight.
    Ready(Sender, InFlight),
    /// A connection attempt is under way: wait for it.
    Wait(SharedConnect),
    /// The last attempt failed and its backoff has not elapsed.
    Failed(Error),
}

pub(crate) struct Inner {
    endpoint: Endpoint,
    slot: Mutex<Slot>,
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
    Ready {
        connected: Connected,
        generation: u64,
    },
    Backoff {
        until: Instant,
        error: Error,
    },
}

impl Inner {
    pub(crate) fn new(endpoint: Endpoint) -> Arc<Inner> {
        Arc::new(Inner {
            endpoint,
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
            State::Ready { connected, .. } if !connected.sender.is_closed() => {
                let (sender, in_flight) = connected.start_call();
                return Acquired::Ready(sender, in_flight);
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
        if let State::Ready { connected, .. } = &slot.state {
            if connected.sender.is_closed() {
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
        let delay = self.endpoint.backoff.random_delay(slot.failures);
        let retry_at = Instant::now() + delay;
        let timeout = delay.max(self.endpoint.connect_timeout);
        let endpoint = self.endpoint.clone();
        let weak = Arc::downgrade(self);
        let task = tokio::spawn(attempt(endpoint, timeout, retry_at, weak.clone()));
        let shared = ConnectTask::new(task, weak).shared();
        slot.state = State::Connecting(shared.clone());
        shared
    }

    pub(crate) fn on_connected(&self, connected: Connected) -> u64 {
        let mut slot = self.lock();
        slot.generation += 1;
        slot.failures = 0;
        let generation = slot.generation;
        slot.state = State::Ready {
            connected,
            generation,
        };
        generation
    }

    pub(crate) fn on_failed(&self, error: Error, retry_at: Instant) {
        let mut slot = self.lock();
        slot.failures = slot.failures.saturating_add(1);
        slot.state = State::Backoff {
            until: retry_at,
            error,
        };
    }

    pub(crate) fn on_disconnected(&self, generation: u64) {
        let mut slot = self.lock();
        if matches!(slot.state, State::Ready { generation: g, .. } if g == generation) {
            slot.state = State::Idle;
        }
    }
}
