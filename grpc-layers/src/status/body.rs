//! [`ServerStatusBody`] and [`ClientStatusBody`]: response bodies whose
//! failures become statuses.

use std::convert::Infallible;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use grpc_core::{BoxError, Status};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::classify::log_panic;
use super::MapError;

pin_project! {
    /// A server's response body that cannot fail: an error of the inner
    /// body, or a panic while polling it, ends the body with the mapped
    /// status in its trailers; see the [module docs](super).
    ///
    /// The body of a trailers-only answer is empty.
    pub struct ServerStatusBody<B, M> {
        #[pin]
        inner: Option<B>,
        mapper: Option<M>,
    }
}

impl<B, M> ServerStatusBody<B, M> {
    pub(crate) fn new(inner: B, mapper: Option<M>) -> Self {
        ServerStatusBody {
            inner: Some(inner),
            mapper,
        }
    }

    /// An empty body.
    pub(crate) fn empty() -> Self {
        ServerStatusBody {
            inner: None,
            mapper: None,
        }
    }

    /// The inner body, while it is still being read.
    pub fn get_ref(&self) -> Option<&B> {
        self.inner.as_ref()
    }
}

impl<B, M> Body for ServerStatusBody<B, M>
where
    B: Body,
    B::Error: Into<BoxError>,
    M: MapError,
{
    type Data = B::Data;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, Infallible>>> {
        let mut this = self.project();
        let Some(inner) = this.inner.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        let status = match catch_unwind(AssertUnwindSafe(|| inner.poll_frame(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(Some(Ok(frame)))) => return Poll::Ready(Some(Ok(frame))),
            Ok(Poll::Ready(None)) => {
                this.inner.set(None);
                return Poll::Ready(None);
            }
            Ok(Poll::Ready(Some(Err(err)))) => {
                let err = err.into();
                tracing::debug!(error = %err, "response body failed; ending it with a status");
                match this.mapper.as_ref() {
                    Some(mapper) => mapper.map_error(err),
                    None => Status::from_error(err),
                }
            }
            Err(payload) => {
                log_panic(&*payload, "in its response body");
                let status = match this.mapper.as_ref() {
                    Some(mapper) => mapper.map_panic(&*payload),
                    None => Status::internal("internal error: the handler panicked"),
                };
                // Dropping what panicked may panic again; the answer stands.
                let _ = catch_unwind(AssertUnwindSafe(|| this.inner.as_mut().set(None)));
                status
            }
        };
        this.inner.set(None);
        Poll::Ready(Some(Ok(Frame::trailers(status.to_headers()))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(B::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or(SizeHint::with_exact(0), B::size_hint)
    }
}

impl<B, M> fmt::Debug for ServerStatusBody<B, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerStatusBody")
            .field("done", &self.inner.is_none())
            .finish()
    }
}

pin_project! {
    /// A client's response body whose errors are [`Status`] values, mapped
    /// from the transport's; see the [module docs](super).
    pub struct ClientStatusBody<B, M> {
        #[pin]
        inner: B,
        mapper: M,
    }
}

impl<B, M> ClientStatusBody<B, M> {
    pub(crate) fn new(inner: B, mapper: M) -> Self {
        ClientStatusBody { inner, mapper }
    }

    /// The inner body.
    pub fn get_ref(&self) -> &B {
        &self.inner
    }

    /// The inner body.
    pub fn into_inner(self) -> B {
        self.inner
    }
}

impl<B, M> Body for ClientStatusBody<B, M>
where
    B: Body,
    B::Error: Into<BoxError>,
    M: MapError,
{
    type Data = B::Data;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, Status>>> {
        let this = self.project();
        Poll::Ready(match ready!(this.inner.poll_frame(cx)) {
            Some(Ok(frame)) => Some(Ok(frame)),
            Some(Err(err)) => Some(Err(this.mapper.map_error(err.into()))),
            None => None,
        })
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B, M> fmt::Debug for ClientStatusBody<B, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientStatusBody").finish_non_exhaustive()
    }
}
