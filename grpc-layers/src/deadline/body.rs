//! [`DeadlineBody`]: a response body cut at the deadline, on either side,
//! with trailers carrying `DEADLINE_EXCEEDED`, so any gRPC reader above
//! (ours, tonic's) reads that code.
//!
//! The deadline is checked against the clock before the inner body is
//! polled, so a stream that always has a message ready still stops at the
//! deadline; the timer is only armed once the inner body has to wait, so a
//! unary response (one frame, never waiting) costs a clock read, not a timer.
//! At the deadline the inner body is dropped at once: on the server that
//! drops the handler's stream, on the client it resets the HTTP/2 stream.
//!
//! The deadline wins its own race: when the inner body ends (with trailers
//! or an error) at a moment the deadline has passed, as an inner transport
//! that armed its own timer from `grpc-timeout` would, the body still ends
//! with `DEADLINE_EXCEEDED`.
//!
//! A body cut in the middle of a message (possible only when the inner
//! body does not yield whole messages) leaves the peer a partial message
//! before the status; gRPC readers then report the truncation or the
//! status, never a result.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use grpc_core::deadline::Deadline;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use grpc_core::status::mapping::Side;

use super::error::exceeded;
use super::future::Timer;
use super::propagate;

/// A timed body cuts its size hint's lower bound: it may end early.
fn cut_hint(inner: SizeHint) -> SizeHint {
    let mut hint = SizeHint::new();
    if let Some(upper) = inner.upper() {
        hint.set_upper(upper);
    }
    hint
}

pin_project! {
    /// Response body of [`ServerDeadline`](super::ServerDeadline) and
    /// [`ClientDeadline`](super::ClientDeadline): the inner body until the
    /// deadline, then trailers with `grpc-status: 4` (`DEADLINE_EXCEEDED`);
    /// see the [module docs](self).
    ///
    /// On the server the inner body is polled with the call's deadline as
    /// the [current](super::current) one.
    pub struct DeadlineBody<B> {
        #[pin]
        kind: Kind<B>,
        side: Side,
    }
}

pin_project! {
    /// Responses of both sides share the states; what "expired" yields differs.
    #[project = KindProj]
    enum Kind<B> {
        Passthrough { #[pin] inner: B },
        Timed {
            #[pin]
            inner: B,
            #[pin]
            timer: Timer,
            deadline: Deadline,
            timeout: Duration,
        },
        // Ended, or cut at the deadline: the inner body is gone.
        Done,
    }
}

impl<B> Kind<B> {
    fn timed(inner: B, deadline: Deadline, timeout: Duration) -> Self {
        Kind::Timed {
            inner,
            timer: Timer::new(deadline),
            deadline,
            timeout,
        }
    }

    fn is_end_stream(&self) -> bool
    where
        B: Body,
    {
        match self {
            Kind::Passthrough { inner } | Kind::Timed { inner, .. } => inner.is_end_stream(),
            Kind::Done => true,
        }
    }

    fn size_hint(&self) -> SizeHint
    where
        B: Body,
    {
        match self {
            Kind::Passthrough { inner } => inner.size_hint(),
            Kind::Timed { inner, .. } => cut_hint(inner.size_hint()),
            Kind::Done => SizeHint::with_exact(0),
        }
    }

    fn state(&self) -> &'static str {
        match self {
            Kind::Passthrough { .. } => "passthrough",
            Kind::Timed { .. } => "timed",
            Kind::Done => "done",
        }
    }
}

/// What polling a body gives.
type FramePoll<B> = Poll<Option<Result<Frame<<B as Body>::Data>, <B as Body>::Error>>>;

impl<B: Body> Kind<B> {
    /// Polls the inner body, in the deadline's scope if `scoped`.
    /// `Err(timeout)` once the deadline passed; the inner body is dropped by
    /// then.
    fn poll_inner(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        scoped: bool,
    ) -> Result<FramePoll<B>, Duration> {
        let poll = match self.as_mut().project() {
            KindProj::Passthrough { inner } => return Ok(inner.poll_frame(cx)),
            KindProj::Done => return Ok(Poll::Ready(None)),
            KindProj::Timed {
                inner,
                timer,
                deadline,
                timeout,
            } => {
                let timeout = *timeout;
                if timer.is_expired() {
                    self.set(Kind::Done);
                    return Err(timeout);
                }
                let poll = if scoped {
                    propagate::in_scope(*deadline, || inner.poll_frame(cx))
                } else {
                    inner.poll_frame(cx)
                };
                if poll.is_pending() {
                    // Only now is the timer armed: the inner body waits.
                    if timer.poll_expired(cx).is_ready() {
                        self.set(Kind::Done);
                        return Err(timeout);
                    }
                    return Ok(Poll::Pending);
                }
                if ends(&poll) && timer.is_expired() {
                    // The inner body ended as the deadline passed (its own
                    // timer, maybe): the deadline is what ended the call.
                    self.set(Kind::Done);
                    return Err(timeout);
                }
                poll
            }
        };
        if ends(&poll) {
            self.set(Kind::Done);
        }
        Ok(poll)
    }
}

/// Whether a frame is the inner body's last (trailers or an error end a
/// body).
fn ends<D, E>(poll: &Poll<Option<Result<Frame<D>, E>>>) -> bool {
    match poll {
        Poll::Ready(None) | Poll::Ready(Some(Err(_))) => true,
        Poll::Ready(Some(Ok(frame))) => frame.is_trailers(),
        Poll::Pending => false,
    }
}

impl<B> DeadlineBody<B> {
    pub(crate) fn passthrough(inner: B, side: Side) -> Self {
        DeadlineBody {
            kind: Kind::Passthrough { inner },
            side,
        }
    }

    pub(crate) fn timed(inner: B, deadline: Deadline, timeout: Duration, side: Side) -> Self {
        DeadlineBody {
            kind: Kind::timed(inner, deadline, timeout),
            side,
        }
    }

    /// The empty body of a trailers-only answer.
    pub(crate) fn empty() -> Self {
        DeadlineBody {
            kind: Kind::Done,
            side: Side::Server,
        }
    }
}

/// An empty body: what a trailers-only response carries.
impl<B> Default for DeadlineBody<B> {
    fn default() -> Self {
        DeadlineBody::empty()
    }
}

impl<B: Body> Body for DeadlineBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let side = *this.side;
        match this.kind.poll_inner(cx, side == Side::Server) {
            Ok(poll) => poll,
            // The inner body is dropped: on a server that drops the
            // handler's stream, on a client it resets the HTTP/2 stream.
            Err(timeout) => {
                let trailers = exceeded(side, timeout).to_headers();
                Poll::Ready(Some(Ok(Frame::trailers(trailers))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.kind.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.kind.size_hint()
    }
}

impl<B> fmt::Debug for DeadlineBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadlineBody")
            .field("side", &self.side)
            .field("state", &self.kind.state())
            .finish()
    }
}
