//! Response bodies cut at the deadline: [`ServerDeadlineBody`] ends the
//! stream with a `DEADLINE_EXCEEDED` status, [`ClientDeadlineBody`] with a
//! [`DeadlineExceeded`] error.
//!
//! The timer is checked before the inner body on every poll, so a stream
//! that always has a message ready still stops at the deadline. When it
//! fires, the inner body is dropped at once: on the server that drops the
//! handler's stream, on the client it resets the HTTP/2 stream.
//!
//! A body cut in the middle of a message (possible only when the inner
//! body does not yield whole messages) leaves the peer a partial message
//! before the status; gRPC readers then report the truncation or the
//! status, never a result.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use grpc_core::deadline::Deadline;
use grpc_core::{BoxError, Status};
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::time::Sleep;

use super::error::{display_timeout, DeadlineExceeded};
use super::future::timer;
use super::propagate;

/// The status a server answers with when a call's deadline passed.
pub(crate) fn exceeded_on_server(timeout: Duration) -> Status {
    if timeout.is_zero() {
        Status::deadline_exceeded("deadline exceeded: the deadline passed before the call arrived")
    } else {
        Status::deadline_exceeded(format!(
            "deadline exceeded: the server stopped the call after {}",
            display_timeout(timeout)
        ))
    }
}

/// A timed body cuts its size hint's lower bound: it may end early.
fn cut_hint(inner: SizeHint) -> SizeHint {
    let mut hint = SizeHint::new();
    if let Some(upper) = inner.upper() {
        hint.set_upper(upper);
    }
    hint
}

pin_project! {
    /// Response body of [`ServerDeadline`](super::ServerDeadline): the inner
    /// body until the deadline, then trailers with `grpc-status: 4`
    /// (`DEADLINE_EXCEEDED`); see the [module docs](self).
    pub struct ServerDeadlineBody<B> {
        #[pin]
        kind: Kind<B>,
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
            sleep: Sleep,
            deadline: Deadline,
            timeout: Duration,
        },
        // Ended: the inner body is gone; on the server, the status trailers
        // still to send.
        Done { trailers: Option<HeaderMap> },
    }
}

impl<B> Kind<B> {
    fn timed(inner: B, deadline: Deadline, timeout: Duration) -> Self {
        Kind::Timed {
            inner,
            sleep: timer(deadline),
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
            Kind::Done { trailers } => trailers.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint
    where
        B: Body,
    {
        match self {
            Kind::Passthrough { inner } => inner.size_hint(),
            Kind::Timed { inner, .. } => cut_hint(inner.size_hint()),
            Kind::Done { .. } => SizeHint::with_exact(0),
        }
    }

    fn state(&self) -> &'static str {
        match self {
            Kind::Passthrough { .. } => "passthrough",
            Kind::Timed { .. } => "timed",
            Kind::Done { .. } => "done",
        }
    }
}

/// Whether a frame is the inner body's last (trailers end a body).
fn ends<D, E>(poll: &Poll<Option<Result<Frame<D>, E>>>) -> bool {
    match poll {
        Poll::Ready(None) => true,
        Poll::Ready(Some(Ok(frame))) => frame.is_trailers(),
        _ => false,
    }
}

impl<B> ServerDeadlineBody<B> {
    pub(crate) fn passthrough(inner: B) -> Self {
        ServerDeadlineBody {
            kind: Kind::Passthrough { inner },
        }
    }

    pub(crate) fn timed(inner: B, deadline: Deadline, timeout: Duration) -> Self {
        ServerDeadlineBody {
            kind: Kind::timed(inner, deadline, timeout),
        }
    }
}

/// An empty body: what a trailers-only response carries.
impl<B> Default for ServerDeadlineBody<B> {
    fn default() -> Self {
        ServerDeadlineBody {
            kind: Kind::Done { trailers: None },
        }
    }
}

impl<B: Body> Body for ServerDeadlineBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let mut kind = self.as_mut().project().kind;
        match kind.as_mut().project() {
            KindProj::Passthrough { inner } => inner.poll_frame(cx),
            KindProj::Timed {
                inner,
                sleep,
                deadline,
                timeout,
            } => {
                if sleep.poll(cx).is_ready() {
                    let trailers = exceeded_on_server(*timeout).to_headers();
                    // Dropping the inner body drops the handler's stream.
                    kind.set(Kind::Done { trailers: None });
                    return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
                }
                let poll = propagate::in_scope(*deadline, || inner.poll_frame(cx));
                if ends(&poll) {
                    kind.set(Kind::Done { trailers: None });
                }
                poll
            }
            KindProj::Done { trailers } => {
                Poll::Ready(trailers.take().map(|t| Ok(Frame::trailers(t))))
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

impl<B> fmt::Debug for ServerDeadlineBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerDeadlineBody")
            .field("state", &self.kind.state())
            .finish()
    }
}

pin_project! {
    /// Response body of [`ClientDeadline`](super::ClientDeadline): the inner
    /// body until the deadline, then a [`DeadlineExceeded`] error; see the
    /// [module docs](self).
    pub struct ClientDeadlineBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

impl<B> ClientDeadlineBody<B> {
    pub(crate) fn passthrough(inner: B) -> Self {
        ClientDeadlineBody {
            kind: Kind::Passthrough { inner },
        }
    }

    pub(crate) fn timed(inner: B, deadline: Deadline, timeout: Duration) -> Self {
        ClientDeadlineBody {
            kind: Kind::timed(inner, deadline, timeout),
        }
    }
}

impl<B> Body for ClientDeadlineBody<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, BoxError>>> {
        let mut kind = self.as_mut().project().kind;
        let poll = match kind.as_mut().project() {
            KindProj::Passthrough { inner } => inner.poll_frame(cx),
            KindProj::Timed {
                inner,
                sleep,
                timeout,
                ..
            } => {
                if sleep.poll(cx).is_ready() {
                    let error = DeadlineExceeded::after(*timeout);
                    // Dropping the inner body resets the HTTP/2 stream.
                    kind.set(Kind::Done { trailers: None });
                    return Poll::Ready(Some(Err(error.into())));
                }
                let poll = inner.poll_frame(cx);
                if ends(&poll) {
                    kind.set(Kind::Done { trailers: None });
                }
                poll
            }
            KindProj::Done { .. } => Poll::Ready(None),
        };
        poll.map(|frame| frame.map(|result| result.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.kind.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.kind.size_hint()
    }
}

impl<B> fmt::Debug for ClientDeadlineBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientDeadlineBody")
            .field("state", &self.kind.state())
            .finish()
    }
}
