//! [`ResponseFuture`]: the response future of
//! [`ServerDeadline`](super::ServerDeadline) and
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

use grpc_core::status::mapping::Side;

use super::body::DeadlineBody;
use super::error::exceeded;
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
    /// Response future of [`ServerDeadline`](super::ServerDeadline) and
    /// [`ClientDeadline`](super::ClientDeadline); see the [module docs](self).
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
        side: Side,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
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

impl<F> ResponseFuture<F> {
    pub(crate) fn passthrough(inner: F, side: Side) -> Self {
        ResponseFuture {
            kind: Kind::Passthrough { inner },
            side,
        }
    }

    pub(crate) fn timed(inner: F, deadline: Deadline, timeout: Duration, side: Side) -> Self {
        ResponseFuture {
            kind: Kind::Timed {
                inner,
                timer: Timer::new(deadline),
                deadline,
                timeout,
            },
            side,
        }
    }

    pub(crate) fn answer(status: Status, side: Side) -> Self {
        ResponseFuture {
            kind: Kind::Answer {
                status: Some(status),
            },
            side,
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<DeadlineBody<B>>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let side = self.side;
        let status = match self.as_mut().project().kind.project() {
            KindProj::Passthrough { inner } => {
                let response = ready!(inner.poll(cx))?;
                return Poll::Ready(Ok(
                    response.map(|body| DeadlineBody::passthrough(body, side))
                ));
            }
            KindProj::Timed {
                inner,
                timer,
                deadline,
                timeout,
            } => {
                let (deadline, timeout) = (*deadline, *timeout);
                let poll = match side {
                    Side::Server => propagate::in_scope(deadline, || inner.poll(cx)),
                    Side::Client => inner.poll(cx),
                };
                match poll {
                    // A client's deadline wins its own race: whatever came
                    // back as it passed, the deadline ended the call.
                    Poll::Ready(_) if side == Side::Client && timer.is_expired() => {
                        exceeded(side, timeout)
                    }
                    Poll::Ready(result) => {
                        let response = result?;
                        let response = if is_streaming(&response) {
                            response.map(|body| DeadlineBody::timed(body, deadline, timeout, side))
                        } else {
                            response.map(|body| DeadlineBody::passthrough(body, side))
                        };
                        return Poll::Ready(Ok(response));
                    }
                    Poll::Pending => {
                        ready!(timer.poll_expired(cx));
                        exceeded(side, timeout)
                    }
                }
            }
            KindProj::Answer { status } => status
                .take()
                .expect("ResponseFuture polled after completion"),
        };
        // Drop the inner future now: on a server that stops the handler, on
        // a client it resets the HTTP/2 stream.
        self.project().kind.set(Kind::Answer { status: None });
        Poll::Ready(Ok(status.into_http_with(DeadlineBody::empty())))
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.kind {
            Kind::Passthrough { .. } => "passthrough",
            Kind::Timed { .. } => "timed",
            Kind::Answer { .. } => "answer",
        };
        f.debug_struct("ResponseFuture")
            .field("side", &self.side)
            .field("state", &state)
            .finish()
    }
}
