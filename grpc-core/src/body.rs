//! [`GrpcBody`]: the one erased body type of the stack; [`OrEmpty`]: the
//! body of a layer that may answer a call itself.
//!
//! Its error type is [`Status`]. Wrapping a body that is already a `GrpcBody`
//! returns it unchanged, so a body is never boxed twice, and the common
//! one-message case (a unary request or response) is stored inline without a
//! box at all.

use std::any::Any;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::BodyExt;

use crate::error::BoxError;
use crate::Status;

/// A gRPC body: data frames of length-prefixed messages, then trailers.
#[derive(Default)]
pub struct GrpcBody {
    kind: Kind,
}

#[derive(Default)]
enum Kind {
    #[default]
    Empty,
    /// At most one data chunk, then optional trailers; no allocation.
    Once {
        data: Option<Bytes>,
        trailers: Option<HeaderMap>,
    },
    Boxed(UnsyncBoxBody<Bytes, Status>),
}

impl GrpcBody {
    /// Erases any body; a `GrpcBody` is returned as it is.
    pub fn new<B>(body: B) -> GrpcBody
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let body = match GrpcBody::downcast(body) {
            Ok(grpc) => return grpc,
            Err(body) => body,
        };
        GrpcBody {
            kind: Kind::Boxed(
                body.map_err(|e| Status::from_error(e.into()))
                    .boxed_unsync(),
            ),
        }
    }

    /// `body` itself when it is a `GrpcBody` (moved, not boxed or
    /// copied); `Err(body)` when it is any other type.
    pub fn downcast<B: 'static>(body: B) -> Result<GrpcBody, B> {
        let mut slot = Some(body);
        match (&mut slot as &mut dyn Any).downcast_mut::<Option<GrpcBody>>() {
            Some(grpc) => Ok(grpc.take().expect("slot was just filled")),
            None => Err(slot.expect("slot was just filled")),
        }
    }

    /// Applies `f` to `body` when it is a `GrpcBody`, giving back the same
    /// type `B` (a layer can then change a body without changing the type
    /// its inner service takes); `Err(body)`, untouched, for any other type.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use grpc_core::GrpcBody;
    ///
    /// let changed = GrpcBody::map_same(GrpcBody::empty(), |_| GrpcBody::once(Bytes::from("x"), None));
    /// assert!(changed.is_ok());
    /// assert!(GrpcBody::map_same(String::from("not ours"), |body| body).is_err());
    /// ```
    pub fn map_same<B: 'static>(body: B, f: impl FnOnce(GrpcBody) -> GrpcBody) -> Result<B, B> {
        let mut slot = Some(body);
        match (&mut slot as &mut dyn Any).downcast_mut::<Option<GrpcBody>>() {
            Some(grpc) => {
                let changed = f(grpc.take().expect("slot was just filled"));
                *grpc = Some(changed);
                Ok(slot.expect("the slot was refilled"))
            }
            None => Err(slot.expect("slot was just filled")),
        }
    }

    /// A body with no data and no trailers.
    pub fn empty() -> GrpcBody {
        GrpcBody { kind: Kind::Empty }
    }

    /// A body of one chunk of wire bytes (usually one framed message), then
    /// optional trailers. Stored inline, without a box.
    pub fn once(data: Bytes, trailers: Option<HeaderMap>) -> GrpcBody {
        GrpcBody {
            kind: Kind::Once {
                data: (!data.is_empty()).then_some(data),
                trailers,
            },
        }
    }

    /// A body that only carries trailers.
    pub fn trailers(trailers: HeaderMap) -> GrpcBody {
        GrpcBody {
            kind: Kind::Once {
                data: None,
                trailers: Some(trailers),
            },
        }
    }
}

impl Body for GrpcBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        match &mut self.get_mut().kind {
            Kind::Empty => Poll::Ready(None),
            Kind::Once { data, trailers } => {
                if let Some(data) = data.take() {
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Poll::Ready(trailers.take().map(|t| Ok(Frame::trailers(t))))
            }
            Kind::Boxed(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Once { data, trailers } => data.is_none() && trailers.is_none(),
            Kind::Boxed(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Empty => SizeHint::with_exact(0),
            // A lower bound only: an exact hint makes hyper send
            // `content-length`, which gRPC peers neither send nor expect.
            Kind::Once { data, .. } => {
                let mut hint = SizeHint::new();
                hint.set_lower(data.as_ref().map_or(0, |d| d.len() as u64));
                hint
            }
            Kind::Boxed(body) => body.size_hint(),
        }
    }
}

impl fmt::Debug for GrpcBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Empty => "empty",
            Kind::Once { .. } => "once",
            Kind::Boxed(_) => "boxed",
        };
        f.debug_struct("GrpcBody").field("kind", &kind).finish()
    }
}

pin_project_lite::pin_project! {
    /// The response body of a layer that may answer a call itself: the
    /// inner service's body, or the empty body of the layer's own
    /// trailers-only answer ([`Status::into_http_with`]`(OrEmpty::empty())`).
    ///
    /// It is the one refusal body of the layers, so none of them needs the
    /// inner body to be `Default`: any body (tonic's, axum's, hyper's)
    /// passes through it unchanged, with its size hint and end of stream.
    ///
    /// ```
    /// use grpc_core::body::OrEmpty;
    /// use grpc_core::Status;
    /// use http_body::Body;
    ///
    /// let refused = Status::unauthenticated("no token").into_http_with(OrEmpty::<String>::empty());
    /// assert!(refused.body().is_end_stream());
    /// let passed = OrEmpty::new(String::from("hi"));
    /// assert_eq!(passed.size_hint().exact(), Some(2));
    /// ```
    #[derive(Clone, Debug)]
    pub struct OrEmpty<B> {
        #[pin]
        inner: Option<B>,
    }
}

impl<B> OrEmpty<B> {
    /// The inner service's body, passed through.
    pub fn new(inner: B) -> Self {
        OrEmpty { inner: Some(inner) }
    }

    /// The empty body of a trailers-only answer.
    pub fn empty() -> Self {
        OrEmpty { inner: None }
    }

    /// The inner body; `None` for the empty one.
    pub fn into_inner(self) -> Option<B> {
        self.inner
    }
}

impl<B> Default for OrEmpty<B> {
    fn default() -> Self {
        OrEmpty::empty()
    }
}

impl<B: Body> Body for OrEmpty<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        match self.project().inner.as_pin_mut() {
            Some(inner) => inner.poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;
    use http_body_util::Full;

    #[test]
    fn wrapping_a_grpc_body_does_not_box_it_again() {
        let inner = GrpcBody::once(Bytes::from_static(b"x"), None);
        let outer = GrpcBody::new(inner);
        assert!(matches!(outer.kind, Kind::Once { .. }));
        let boxed = GrpcBody::new(Full::new(Bytes::from_static(b"x")));
        assert!(matches!(GrpcBody::new(boxed).kind, Kind::Boxed(_)));
    }

    #[test]
    fn a_once_body_yields_data_then_trailers() {
        let mut t = HeaderMap::new();
        t.insert("grpc-status", http::HeaderValue::from_static("0"));
        let body = GrpcBody::once(Bytes::from_static(b"abc"), Some(t));
        assert_eq!(body.size_hint().lower(), 3);
        assert_eq!(body.size_hint().exact(), None, "no content-length");
        let collected = body.collect().now_or_never().unwrap().unwrap();
        assert_eq!(collected.trailers().unwrap()["grpc-status"], "0");
        assert_eq!(collected.to_bytes(), "abc");
    }
}
