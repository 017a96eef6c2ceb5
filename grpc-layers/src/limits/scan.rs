//! [`Scanner`]: the part both limits bodies share. It reads an inner body
//! chunk by chunk, lets whole messages through without copying them, and
//! stops at the first message whose prefix announces more than the limit;
//! what a refusal becomes is each body's own.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};

use super::frame::{FrameCheck, Scan};

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

/// One step of a checked body.
#[derive(Debug)]
pub(crate) enum Step<E> {
    /// A frame to pass on: data (whole messages, or bytes of one), or the
    /// inner body's trailers.
    Frame(Frame<Bytes>),
    /// The inner body failed.
    Error(E),
    /// The inner body ended without trailers.
    End,
    /// The next message announces `len` bytes, over `max`: the messages
    /// before it are through, the inner body must be dropped.
    Refused { len: usize, max: usize },
}

/// The checking state of one body; see the [module docs](self).
#[derive(Debug)]
pub(crate) struct Scanner {
    check: Option<FrameCheck>,
    queued: Option<Bytes>,
    then: Then,
}

impl Scanner {
    /// Checks messages against `max`, or nothing (a limit from `u32::MAX`
    /// up cannot be exceeded by a 32-bit prefix).
    pub(crate) fn new(max: Option<usize>) -> Self {
        Scanner {
            check: max
                .filter(|&max| max < u32::MAX as usize)
                .map(FrameCheck::new),
            queued: None,
            then: Then::Read,
        }
    }

    /// A scanner that has nothing left to give: the body is empty.
    pub(crate) fn ended() -> Self {
        Scanner {
            check: None,
            queued: None,
            then: Then::End,
        }
    }

    /// The limit, if messages are checked.
    pub(crate) fn max(&self) -> Option<usize> {
        self.check.as_ref().map(FrameCheck::max)
    }

    /// The next step, reading `inner` as needed.
    pub(crate) fn poll_step<B>(
        &mut self,
        mut inner: Pin<&mut B>,
        cx: &mut Context<'_>,
    ) -> Poll<Step<B::Error>>
    where
        B: Body<Data = Bytes>,
    {
        loop {
            if let Some(data) = self.queued.take() {
                return Poll::Ready(Step::Frame(Frame::data(data)));
            }
            match &mut self.then {
                Then::Read => {}
                Then::End => return Poll::Ready(Step::End),
                Then::Trailers(trailers) => {
                    let trailers = std::mem::take(&mut **trailers);
                    self.then = Then::End;
                    return Poll::Ready(Step::Frame(Frame::trailers(trailers)));
                }
                Then::Refuse(len) => {
                    let len = *len;
                    self.then = Then::End;
                    let max = self.max().unwrap_or(0);
                    tracing::debug!(len, max, "message over the size limit refused");
                    return Poll::Ready(Step::Refused { len, max });
                }
            }
            let frame = match ready!(inner.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => frame,
                Some(Err(err)) => {
                    self.then = Then::End;
                    return Poll::Ready(Step::Error(err));
                }
                None => {
                    self.then = Then::End;
                    // Bytes of a prefix the body never finished: pass them
                    // on, so the reader reports the truncation.
                    self.queue_held();
                    continue;
                }
            };
            if let Some(frame) = self.scan(frame) {
                return Poll::Ready(Step::Frame(frame));
            }
        }
    }

    /// Passes a frame through the check: `Some` frame to give now, or
    /// `None` when only queued bytes (or a refusal) follow.
    fn scan(&mut self, frame: Frame<Bytes>) -> Option<Frame<Bytes>> {
        let Some(check) = self.check.as_mut() else {
            return Some(frame);
        };
        let data = match frame.into_data() {
            Ok(data) => data,
            Err(frame) => {
                if check.held().is_empty() {
                    return Some(frame);
                }
                self.queue_held();
                if let Ok(trailers) = frame.into_trailers() {
                    self.then = Then::Trailers(Box::new(trailers));
                }
                return None;
            }
        };
        let (head, rest) = match check.scan(data) {
            Scan::Pass { head, rest } => (head, rest),
            Scan::Exceeded { head, rest, len } => {
                self.then = Then::Refuse(len);
                (head, rest)
            }
        };
        let rest = (!rest.is_empty()).then_some(rest);
        match head {
            Some(head) => {
                self.queued = rest;
                Some(Frame::data(head))
            }
            None => {
                self.queued = rest;
                None
            }
        }
    }

    fn queue_held(&mut self) {
        if let Some(check) = self.check.as_ref().filter(|c| !c.held().is_empty()) {
            self.queued = Some(Bytes::copy_from_slice(check.held()));
        }
    }

    /// Whether nothing is left, given whether the inner body (if any) is
    /// at its end.
    pub(crate) fn is_end_stream(&self, inner_ended: bool) -> bool {
        if self.queued.is_some() {
            return false;
        }
        match self.then {
            Then::End => true,
            Then::Trailers(_) | Then::Refuse(_) => false,
            Then::Read => inner_ended && self.check.as_ref().is_none_or(|c| c.held().is_empty()),
        }
    }

    /// The size hint, from the inner body's (if any).
    pub(crate) fn size_hint(&self, inner: Option<SizeHint>) -> SizeHint {
        let Some(check) = &self.check else {
            return inner.unwrap_or_else(|| SizeHint::with_exact(0));
        };
        // Never exact: a refusal can end the body early, and an exact hint
        // would go out as `content-length`.
        let mut hint = SizeHint::new();
        let buffered = self.queued.as_ref().map_or(0, Bytes::len) + check.held().len();
        let upper = match inner {
            Some(inner) => inner.upper(),
            None => Some(0),
        };
        if let Some(upper) = upper {
            hint.set_upper(upper.saturating_add(buffered as u64));
        }
        hint
    }
}
