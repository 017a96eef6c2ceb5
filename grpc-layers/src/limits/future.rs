//! [`ResponseFuture`]: the response future of [`ServerLimits`](super::ServerLimits) and [`ClientLimits`](super::ClientLimits).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use grpc_core::limits::MessageLimits;
use grpc_core::status::outcome::classify_head;
use pin_project_lite::pin_project;

use grpc_core::status::mapping::Side;

use super::body::{LimitsBody, Refused};

/// How the response body is checked.
#[derive(Debug)]
enum Check {
    /// Not a gRPC call: the response passes untouched.
    None,
    Body {
        max: Option<usize>,
        side: Side,
        /// Set once the request body refused a message.
        refused: Option<Refused>,
        /// A client's limits that raise the receive limit above the
        /// default, handed to the reader of the response (see
        /// [`ResponseFuture::checked`]).
        raised: Option<MessageLimits>,
    },
}

pin_project! {
    /// Response future of [`ServerLimits`](super::ServerLimits) and [`ClientLimits`](super::ClientLimits): wraps the response body
    /// in a [`LimitsBody`].
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        check: Check,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn passthrough(inner: F) -> Self {
        ResponseFuture {
            inner,
            check: Check::None,
        }
    }

    /// Checks the response body against `max`. `raised` (a client's
    /// merged limits, when they raise the receive limit above the default)
    /// goes into the response extensions: the typed call decoding the
    /// response set its own limit before the request reached this layer,
    /// and narrows with these instead of the default.
    pub(crate) fn checked(
        inner: F,
        max: Option<usize>,
        side: Side,
        refused: Option<Refused>,
        raised: Option<MessageLimits>,
    ) -> Self {
        ResponseFuture {
            inner,
            check: Check::Body {
                max,
                side,
                refused,
                raised,
            },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<LimitsBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let Check::Body {
            max,
            side,
            refused,
            raised,
        } = std::mem::replace(this.check, Check::None)
        else {
            return Poll::Ready(result.map(|response| response.map(LimitsBody::passthrough)));
        };
        // The request was refused (a server's handler read it, or a
        // client's stream was reset for it): that is the call's answer,
        // whatever the inner service made of it.
        if let Some(status) = refused.as_ref().and_then(|slot| slot.get()) {
            return Poll::Ready(Ok(status.clone().into_http_with(LimitsBody::empty())));
        }
        let mut response = result?;
        if let Some(limits) = raised {
            response.extensions_mut().insert(limits);
        }
        let framed = classify_head(response.status(), response.headers()).is_streaming();
        Poll::Ready(Ok(if framed {
            response.map(|body| LimitsBody::new(body, max, side, refused))
        } else {
            // Trailers-only or not gRPC: no messages to check.
            response.map(LimitsBody::passthrough)
        }))
    }
}
