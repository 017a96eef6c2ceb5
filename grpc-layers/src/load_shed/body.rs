//! [`LoadShedBody`]: the response body, holding the call's places until
//! it ends.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use grpc_core::status::outcome::code_of_trailers;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::state::Permit;

pin_project! {
    /// Response body of [`ServerLoadShed`](super::ServerLoadShed): the
    /// inner body, frame for frame, holding the call's places until its
    /// trailers, its end or an error — or until it is dropped. The body of
    /// a refusal is empty.
    pub struct LoadShedBody<B> {
        #[pin]
        inner: Option<B>,
        permit: Option<Permit>,
    }
}

impl<B> LoadShedBody<B> {
    pub(crate) fn held(inner: B, permit: Permit) -> Self {
        LoadShedBody {
            inner: Some(inner),
            permit: Some(permit),
        }
    }

    /// The inner body of a call whose places are already free.
    pub(crate) fn released(inner: B) -> Self {
        LoadShedBody {
            inner: Some(inner),
            permit: None,
        }
    }

    pub(crate) fn empty() -> Self {
        LoadShedBody {
            inner: None,
            permit: None,
        }
    }
}

/// An empty body: what a trailers-only response carries.
impl<B> Default for LoadShedBody<B> {
    fn default() -> Self {
        LoadShedBody::empty()
    }
}

impl<B: Body> Body for LoadShedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let Some(inner) = this.inner.as_pin_mut() else {
            return Poll::Ready(None);
        };
        let poll = inner.poll_frame(cx);
        if let Poll::Ready(frame) = &poll {
            match frame {
                Some(Ok(frame)) => {
                    if let Some(trailers) = frame.trailers_ref() {
                        if let Some(mut permit) = this.permit.take() {
                            permit.finished(code_of_trailers(Some(trailers)));
                        }
                    }
                }
                // The end, or an error: the call is over either way.
                None | Some(Err(_)) => *this.permit = None,
            }
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Some(inner) => inner.size_hint(),
            None => SizeHint::with_exact(0),
        }
    }
}

impl<B> fmt::Debug for LoadShedBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match (&self.inner, &self.permit) {
            (None, _) => "empty",
            (Some(_), Some(_)) => "holding",
            (Some(_), None) => "released",
        };
        f.debug_struct("LoadShedBody")
            .field("state", &state)
            .finish()
    }
}
