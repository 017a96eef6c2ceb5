//! The two bodies of a checked call: [`RequestBody`] checks the messages a
//! call's request carries, [`LimitsBody`] the messages of its response.
//!
//! A request message over the limit fails the request body for its reader
//! (a handler, or hyper sending a client's request, which resets the
//! stream), and records the refusal in the call's [`Refused`] slot. The
//! response side answers with it: the response future when the head has
//! not come yet, the response body at its end otherwise. So whatever the
//! inner service makes of its failed request (a tonic handler calls it
//! `UNKNOWN`; a reset stream is an error), the call ends with
//! `RESOURCE_EXHAUSTED`. A response message over the limit ends the
//! response body with `RESOURCE_EXHAUSTED` trailers, on both sides, so any
//! gRPC reader above reads that code.

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use grpc_core::status::mapping::{reset_code, Side};
use grpc_core::{BoxError, Code, Status};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::error::MessageTooLarge;
use super::scan::{Scanner, Step};

/// Why a call's request was refused, once it was: set by its request
/// body, read by its response future and body.
pub(crate) type Refused = Arc<OnceLock<Status>>;

pin_project! {
    /// The request body of a checked call; see the [module docs](self).
    pub(crate) struct RequestBody<B> {
        #[pin]
        inner: Option<B>,
        scanner: Scanner,
        side: Side,
        refused: Refused,
    }
}

impl<B> RequestBody<B> {
    pub(crate) fn new(inner: B, max: usize, side: Side, refused: Refused) -> Self {
        RequestBody {
            inner: Some(inner),
            scanner: Scanner::new(Some(max)),
            side,
            refused,
        }
    }
}

impl<B> Body for RequestBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        let Some(inner) = this.inner.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        let (len, max) = match ready!(this.scanner.poll_step(inner, cx)) {
            Step::Frame(frame) => return Poll::Ready(Some(Ok(frame))),
            Step::Error(err) => return Poll::Ready(Some(Err(err.into()))),
            Step::End => return Poll::Ready(None),
            Step::Refused { len, max } => (len, max),
        };
        // Stop the producer: nothing more is read from it.
        this.inner.set(None);
        let err = match this.side {
            Side::Server => MessageTooLarge::received(len, max),
            // hyper resets the stream with the reason it finds in the
            // error's chain.
            Side::Client => {
                let reason = reset_code(Code::ResourceExhausted);
                MessageTooLarge::sent(len, max)
                    .caused_by(h2::Error::from(h2::Reason::from(u32::from(reason))))
            }
        };
        let _ = this.refused.set(err.status().clone());
        Poll::Ready(Some(Err(err.into())))
    }

    fn is_end_stream(&self) -> bool {
        let inner_ended = self.inner.as_ref().is_none_or(B::is_end_stream);
        self.scanner.is_end_stream(inner_ended)
    }

    fn size_hint(&self) -> SizeHint {
        self.scanner
            .size_hint(self.inner.as_ref().map(B::size_hint))
    }
}

pin_project! {
    /// The response body of [`ServerLimits`](super::ServerLimits) and
    /// [`ClientLimits`](super::ClientLimits): the inner body, its messages
    /// checked against the limit as they stream past; see the
    /// [module docs](super).
    ///
    /// Chunks pass through without being copied or joined. A message over
    /// the limit ends the body after the whole messages before it, with
    /// `grpc-status: 8` (`RESOURCE_EXHAUSTED`) trailers, and the inner body
    /// is dropped. So does the end of a call whose request the layer
    /// refused, whatever the inner body ended with. Other errors of the
    /// inner body pass through.
    pub struct LimitsBody<B> {
        #[pin]
        inner: Option<B>,
        scanner: Scanner,
        side: Side,
        refused: Option<Refused>,
    }
}

impl<B> LimitsBody<B> {
    /// Passes `inner` through unchecked.
    pub(crate) fn passthrough(inner: B) -> Self {
        LimitsBody::new(inner, None, Side::Server, None)
    }

    /// Checks the messages of `inner` against `max` (if any), reporting a
    /// refusal of the call's request at its end.
    pub(crate) fn new(inner: B, max: Option<usize>, side: Side, refused: Option<Refused>) -> Self {
        LimitsBody {
            inner: Some(inner),
            scanner: Scanner::new(max),
            side,
            refused,
        }
    }

    /// The empty body of a trailers-only answer.
    pub(crate) fn empty() -> Self {
        LimitsBody {
            inner: None,
            scanner: Scanner::ended(),
            side: Side::Server,
            refused: None,
        }
    }

    /// The inner body, unless it ended in a refusal (or the body is empty).
    pub fn get_ref(&self) -> Option<&B> {
        self.inner.as_ref()
    }
}

/// An empty body: what a trailers-only response of a layer outside this
/// one carries.
impl<B> Default for LimitsBody<B> {
    fn default() -> Self {
        LimitsBody::empty()
    }
}

impl<B> Body for LimitsBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        let Some(inner) = this.inner.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        let step = ready!(this.scanner.poll_step(inner, cx));
        // The request was refused: that is what ended the call.
        let refused = this.refused.as_ref().and_then(|slot| slot.get());
        let status = match (step, refused) {
            (Step::Frame(frame), None) => return Poll::Ready(Some(Ok(frame))),
            (Step::Frame(frame), Some(_)) if frame.is_data() => {
                return Poll::Ready(Some(Ok(frame)))
            }
            (Step::Error(err), None) => return Poll::Ready(Some(Err(err.into()))),
            (Step::End, None) => return Poll::Ready(None),
            (Step::Frame(_) | Step::Error(_) | Step::End, Some(status)) => status.clone(),
            (Step::Refused { len, max }, _) => match this.side {
                Side::Server => MessageTooLarge::sent(len, max).into(),
                Side::Client => MessageTooLarge::received(len, max).into(),
            },
        };
        // Drop the inner body: on a client that resets the stream, on a
        // server it drops the handler's stream.
        this.inner.set(None);
        Poll::Ready(Some(Ok(Frame::trailers(status.to_headers()))))
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            None => true,
            Some(inner) => self.scanner.is_end_stream(inner.is_end_stream()),
        }
    }

    fn size_hint(&self) -> SizeHint {
        self.scanner
            .size_hint(self.inner.as_ref().map(B::size_hint))
    }
}

impl<B> fmt::Debug for LimitsBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LimitsBody")
            .field("max", &self.scanner.max())
            .field("side", &self.side)
            .field("done", &self.inner.is_none())
            .finish()
    }
}
