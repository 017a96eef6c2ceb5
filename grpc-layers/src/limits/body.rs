//! [`LimitsBody`]: a body whose messages are checked against a size limit
//! as they stream past.

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use grpc_core::BoxError;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::error::MessageTooLarge;
use super::frame::{FrameCheck, Scan};

/// How a refused message ends the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// A message received from the peer: the body fails with
    /// `RESOURCE_EXHAUSTED`, so whoever reads it gets that status.
    Received,
    /// A message the client was sending: the body fails with
    /// `RESOURCE_EXHAUSTED` (hyper resets the stream with `CANCEL`), and
    /// the call's response reports that status.
    ClientSend,
    /// A message the server was sending: the body ends with
    /// `grpc-status: 8` trailers instead, so the client gets the status.
    ServerSend,
}

/// Why a client call's request broke the send limit, shared by its request
/// body (which sets it) and its response (which reports it).
pub(crate) type SendRefused = Arc<OnceLock<MessageTooLarge>>;

/// What comes after the queued data.
#[derive(Debug)]
enum Then {
    Read,
    Refuse(usize),
    // Boxed: rare (trailers right after a cut-off prefix), and the body
    // stays small without it.
    Trailers(Box<HeaderMap>),
    End,
}

pin_project! {
    /// A gRPC body whose messages are checked against a size limit as they
    /// stream past; see the [module docs](super).
    ///
    /// Chunks pass through without being copied or joined. A refused
    /// message ends the body after the whole messages before it: with a
    /// [`MessageTooLarge`] error (as a [`BoxError`]) or, for a server's
    /// response, with `grpc-status: 8` trailers. The inner body is
    /// dropped then. Errors of the inner body pass through unchanged.
    pub struct LimitsBody<B> {
        #[pin]
        inner: Option<B>,
        check: Option<FrameCheck>,
        refusal: Refusal,
        // Client side: set by the request body, read by the response body.
        refused: Option<SendRefused>,
        queued: Option<Bytes>,
        then: Then,
    }
}

/// An empty body: what a trailers-only response of a layer outside this
/// one carries (an auth refusal, for one).
impl<B> Default for LimitsBody<B> {
    fn default() -> Self {
        LimitsBody::empty()
    }
}

impl<B> LimitsBody<B> {
    /// Passes `inner` through unchecked.
    pub(crate) fn passthrough(inner: B) -> Self {
        Self::new(inner, None, Refusal::Received, None)
    }

    /// Checks the messages of `inner` against `max`, unless `max` cannot be
    /// exceeded (the prefix holds 32 bits).
    pub(crate) fn new(
        inner: B,
        max: Option<usize>,
        refusal: Refusal,
        refused: Option<SendRefused>,
    ) -> Self {
        LimitsBody {
            inner: Some(inner),
            check: max
                .filter(|&max| max < u32::MAX as usize)
                .map(FrameCheck::new),
            refusal,
            refused,
            queued: None,
            then: Then::Read,
        }
    }

    /// An empty body: the head of a trailers-only response.
    pub(crate) fn empty() -> Self {
        LimitsBody {
            inner: None,
            check: None,
            refusal: Refusal::Received,
            refused: None,
            queued: None,
            then: Then::End,
        }
    }

    /// The inner body, unless it ended in a refusal (or the body is empty).
    pub fn get_ref(&self) -> Option<&B> {
        self.inner.as_ref()
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
        loop {
            if let Some(data) = this.queued.take() {
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }
            match this.then {
                Then::Read => {}
                Then::End => return Poll::Ready(None),
                Then::Trailers(trailers) => {
                    let trailers = std::mem::take(&mut **trailers);
                    *this.then = Then::End;
                    return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
                }
                Then::Refuse(len) => {
                    let len = *len;
                    *this.then = Then::End;
                    // Stop the producer: nothing more is read from it.
                    this.inner.set(None);
                    let max = this.check.as_ref().map_or(0, FrameCheck::max);
                    tracing::debug!(len, max, "message over the size limit refused");
                    return Poll::Ready(Some(match this.refusal {
                        Refusal::Received => Err(MessageTooLarge::received(len, max).into()),
                        Refusal::ServerSend => {
                            let status = MessageTooLarge::sent(len, max).status().clone();
                            Ok(Frame::trailers(status.to_headers()))
                        }
                        Refusal::ClientSend => {
                            let err = MessageTooLarge::sent(len, max);
                            if let Some(slot) = this.refused.as_ref() {
                                let _ = slot.set(err.clone());
                            }
                            // hyper resets the stream with the reason it
                            // finds in the error's chain.
                            let cancel = h2::Error::from(h2::Reason::CANCEL);
                            Err(err.caused_by(cancel).into())
                        }
                    }));
                }
            }
            let Some(inner) = this.inner.as_mut().as_pin_mut() else {
                *this.then = Then::End;
                return Poll::Ready(None);
            };
            let frame = match ready!(inner.poll_frame(cx)) {
                Some(Ok(frame)) => frame,
                Some(Err(err)) => {
                    *this.then = Then::End;
                    // A response that failed because the client reset its
                    // own oversized request reports why.
                    if let Some(refused) = this.refused.as_ref().and_then(|slot| slot.get()) {
                        if *this.refusal != Refusal::ClientSend {
                            return Poll::Ready(Some(Err(refused.clone().into())));
                        }
                    }
                    return Poll::Ready(Some(Err(err.into())));
                }
                None => {
                    // Bytes of a prefix the body never finished: pass them
                    // on, so the reader reports the truncation.
                    if let Some(check) = this.check.as_ref().filter(|c| !c.held().is_empty()) {
                        *this.queued = Some(Bytes::copy_from_slice(check.held()));
                    }
                    *this.then = Then::End;
                    continue;
                }
            };
            let Some(check) = this.check.as_mut() else {
                return Poll::Ready(Some(Ok(frame)));
            };
            let data = match frame.into_data() {
                Ok(data) => data,
                Err(frame) => {
                    if !check.held().is_empty() {
                        *this.queued = Some(Bytes::copy_from_slice(check.held()));
                        if let Ok(trailers) = frame.into_trailers() {
                            *this.then = Then::Trailers(Box::new(trailers));
                        }
                        continue;
                    }
                    return Poll::Ready(Some(Ok(frame)));
                }
            };
            let (head, rest) = match check.scan(data) {
                Scan::Pass { head, rest } => (head, rest),
                Scan::Exceeded { head, rest, len } => {
                    *this.then = Then::Refuse(len);
                    (head, rest)
                }
            };
            let rest = (!rest.is_empty()).then_some(rest);
            match head {
                Some(head) => {
                    *this.queued = rest;
                    return Poll::Ready(Some(Ok(Frame::data(head))));
                }
                None => *this.queued = rest,
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        if self.queued.is_some() {
            return false;
        }
        match &self.then {
            Then::End => true,
            Then::Trailers(_) | Then::Refuse(_) => false,
            Then::Read => match &self.inner {
                None => true,
                Some(inner) => {
                    inner.is_end_stream() && self.check.as_ref().is_none_or(|c| c.held().is_empty())
                }
            },
        }
    }

    fn size_hint(&self) -> SizeHint {
        let Some(check) = &self.check else {
            return self
                .inner
                .as_ref()
                .map_or(SizeHint::with_exact(0), B::size_hint);
        };
        // Never exact: a refusal can end the body early, and an exact hint
        // would go out as `content-length`.
        let mut hint = SizeHint::new();
        let buffered = self.queued.as_ref().map_or(0, Bytes::len) + check.held().len();
        let upper = match &self.inner {
            Some(inner) => inner.size_hint().upper(),
            None => Some(0),
        };
        if let Some(upper) = upper {
            hint.set_upper(upper.saturating_add(buffered as u64));
        }
        hint
    }
}

impl<B> fmt::Debug for LimitsBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LimitsBody")
            .field("max", &self.check.as_ref().map(FrameCheck::max))
            .field("refusal", &self.refusal)
            .field("done", &matches!(self.then, Then::End))
            .finish()
    }
}
