//! Response futures of [`ServerDeadline`](super::ServerDeadline) and
//! [`ClientDeadline`](super::ClientDeadline).
//!
//! Each keeps its timer inside, so dropping the future cancels it. The
//! inner future is polled first: on the server, a response that is ready
//! when the deadline passes is still delivered (its body is then cut at the
//! deadline). On the client the deadline wins its own race: whatever the
//! inner service answers once the deadline has passed (an inner transport
//! that armed its own timer from `grpc-timeout` fails at that instant too),
//! the call ends with `DEADLINE_EXCEEDED`.
//!
//! Both answer a passed deadline with a trailers-only response, never an
//! error: any gRPC client above reads the code from it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use grpc_core::deadline::Deadline;
use grpc_core::status::outcome::classify_head;
use grpc_core::Status;
use pin_project_lite::pin_project;
use tokio::time::{sleep_until, Instant, Sleep};

use super::body::{ClientDeadlineBody, ServerDeadlineBody};
use super::error::{exceeded_on_client, exceeded_on_server};
use super::propagate;

pin_project! {
    /// The timer of a deadline, on tokio's clock. It is armed only when
    /// first waited on: a call that never waits never registers a timer.
    pub(crate) struct Timer {
        at: Instant,
        #[pin]
        sleep: Option<Sleep>,
    }
}

impl Timer {
    pub(crate) fn new(deadline: Deadline) -> Timer {
        Timer {
            at: Instant::from_std(deadline.instant()),
            sleep: None,
        }
    }

    /// Whether the deadline passed, by reading the clock.
    pub(crate) fn is_expired(&self) -> bool {
        Instant::now() >= self.at
    }

    /// Ready once the deadline passed; arms the timer on first use.
    pub(crate) fn poll_expired(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        if this.sleep.is_none() {
            this.sleep.set(Some(sleep_until(*this.at)));
        }
        match this.sleep.as_pin_mut() {
            Some(sleep) => sleep.poll(cx),
            None => unreachable!("the timer was just armed"),
        }
    }
}

/// Whether a response's body carries messages a deadline could cut: not
/// when it is trailers-only or no gRPC response at all.
fn is_streaming<B>(response: &http::Response<B>) -> bool {
    classify_head(response.status(), response.headers()).is_streaming()
}

pin_project! {
    /// Response future of [`ServerDeadline`](super::ServerDeadline).
    pub struct ServerResponseFuture<F> {
        #[pin]
        kind: ServerKind<F>,
    }
}

pin_project! {
    #[project = ServerKindProj]
    enum ServerKind<F> {
        // No deadline: the inner future as it is.
        Passthrough { #[pin] inner: F },
        // Racing the inner future against the deadline.
        Timed {
            #[pin]
            inner: F,
            #[pin]
            timer: Timer,
            deadline: Deadline,
            timeout: Duration,
        },
        // Answering without (or no longer) running the inner service.
        Answer { status: Option<Status> },
    }
}

impl<F> ServerResponseFuture<F> {
    pub(crate) fn passthrough(inner: F) -> Self {
        ServerResponseFuture {
            kind: ServerKind::Passthrough { inner },
        }
    }

    pub(crate) fn timed(inner: F, deadline: Deadline, timeout: Duration) -> Self {
        ServerResponseFuture {
            kind: ServerKind::Timed {
                inner,
                timer: Timer::new(deadline),
                deadline,
                timeout,
            },
        }
    }

    pub(crate) fn answer(status: Status) -> Self {
        ServerResponseFuture {
            kind: ServerKind::Answer {
                status: Some(status),
            },
        }
    }
}

impl<F, B, E> Future for ServerResponseFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<ServerDeadlineBody<B>>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let status = match self.as_mut().project().kind.project() {
            ServerKindProj::Passthrough { inner } => {
                let response = ready!(inner.poll(cx))?;
                return Poll::Ready(Ok(response.map(ServerDeadlineBody::passthrough)));
            }
            ServerKindProj::Timed {
                inner,
                timer,
                deadline,
                timeout,
            } => {
                let deadline = *deadline;
                if let Poll::Ready(result) = propagate::in_scope(deadline, || inner.poll(cx)) {
                    let response = result?;
                    let response = if !is_streaming(&response) {
                        response.map(ServerDeadlineBody::passthrough)
                    } else {
                        let timeout = *timeout;
                        response.map(|body| ServerDeadlineBody::timed(body, deadline, timeout))
                    };
                    return Poll::Ready(Ok(response));
                }
                ready!(timer.poll_expired(cx));
                exceeded_on_server(*timeout)
            }
            ServerKindProj::Answer { status } => status
                .take()
                .expect("ServerResponseFuture polled after completion"),
        };
        // Drop the inner future now: that is what stops the handler.
        self.project().kind.set(ServerKind::Answer { status: None });
        Poll::Ready(Ok(status.into_http_with(ServerDeadlineBody::empty())))
    }
}

impl<F> fmt::Debug for ServerResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.kind {
            ServerKind::Passthrough { .. } => "passthrough",
            ServerKind::Timed { .. } => "timed",
            ServerKind::Answer { .. } => "answer",
        };
        f.debug_struct("ServerResponseFuture")
            .field("state", &state)
            .finish()
    }
}

pin_project! {
    /// Response future of [`ClientDeadline`](super::ClientDeadline).
    pub struct ClientResponseFuture<F> {
        #[pin]
        kind: ClientKind<F>,
    }
}

pin_project! {
    #[project = ClientKindProj]
    enum ClientKind<F> {
        // No deadline: the inner future as it is.
        Passthrough { #[pin] inner: F },
        // Racing the inner future against the deadline.
        Timed {
            #[pin]
            inner: F,
            #[pin]
            timer: Timer,
            deadline: Deadline,
            timeout: Duration,
        },
        // Answering without (or no longer) running the inner service.
        Answer { status: Option<Status> },
    }
}

impl<F> ClientResponseFuture<F> {
    pub(crate) fn passthrough(inner: F) -> Self {
        ClientResponseFuture {
            kind: ClientKind::Passthrough { inner },
        }
    }

    pub(crate) fn timed(inner: F, deadline: Deadline, timeout: Duration) -> Self {
        ClientResponseFuture {
            kind: ClientKind::Timed {
                inner,
                timer: Timer::new(deadline),
                deadline,
                timeout,
            },
        }
    }

    pub(crate) fn answer(status: Status) -> Self {
        ClientResponseFuture {
            kind: ClientKind::Answer {
                status: Some(status),
            },
        }
    }
}

impl<F, B, E> Future for ClientResponseFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<ClientDeadlineBody<B>>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let status = match self.as_mut().project().kind.project() {
            ClientKindProj::Passthrough { inner } => {
                let response = ready!(inner.poll(cx))?;
                return Poll::Ready(Ok(response.map(ClientDeadlineBody::passthrough)));
            }
            ClientKindProj::Timed {
                inner,
                timer,
                deadline,
                timeout,
            } => {
                let timeout = *timeout;
                match inner.poll(cx) {
                    // Whatever came back as the deadline passed, the
                    // deadline is what ended the call.
                    Poll::Ready(_) if timer.is_expired() => exceeded_on_client(timeout),
                    Poll::Ready(result) => {
                        let response = result?;
                        let response = if !is_streaming(&response) {
                            response.map(ClientDeadlineBody::passthrough)
                        } else {
                            let deadline = *deadline;
                            response.map(|body| ClientDeadlineBody::timed(body, deadline, timeout))
                        };
                        return Poll::Ready(Ok(response));
                    }
                    Poll::Pending => {
                        ready!(timer.poll_expired(cx));
                        exceeded_on_client(timeout)
                    }
                }
            }
            ClientKindProj::Answer { status } => status
                .take()
                .expect("ClientResponseFuture polled after completion"),
        };
        // Drop the inner future now: that resets the HTTP/2 stream.
        self.project().kind.set(ClientKind::Answer { status: None });
        Poll::Ready(Ok(status.into_http_with(ClientDeadlineBody::empty())))
    }
}

impl<F> fmt::Debug for ClientResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.kind {
            ClientKind::Passthrough { .. } => "passthrough",
            ClientKind::Timed { .. } => "timed",
            ClientKind::Answer { .. } => "answer",
        };
        f.debug_struct("ClientResponseFuture")
            .field("state", &state)
            .finish()
    }
}
