//! [`ResponseFuture`]: the response future of [`ServerLimits`](super::ServerLimits) and [`ClientLimits`](super::ClientLimits).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use grpc_core::headers::{is_grpc_content_type, APPLICATION_GRPC, GRPC_STATUS};
use http::header::CONTENT_TYPE;
use pin_project_lite::pin_project;

use super::body::{LimitsBody, Refusal, SendRefused};

/// How the response body is checked.
#[derive(Debug)]
enum Check {
    /// Not a gRPC call: the response passes untouched.
    None,
    Body {
        max: Option<usize>,
        refusal: Refusal,
        refused: Option<SendRefused>,
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

    pub(crate) fn checked(
        inner: F,
        max: Option<usize>,
        refusal: Refusal,
        refused: Option<SendRefused>,
    ) -> Self {
        ResponseFuture {
            inner,
            check: Check::Body {
                max,
                refusal,
                refused,
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
            refusal,
            refused,
        } = std::mem::replace(this.check, Check::None)
        else {
            return Poll::Ready(result.map(|response| response.map(LimitsBody::passthrough)));
        };
        let response = match result {
            Ok(response) => response,
            Err(err) => {
                // The client reset its own oversized request, which failed
                // the call: answer with why, as a trailers-only response.
                return Poll::Ready(match refused.as_ref().and_then(|slot| slot.get()) {
                    Some(refused) => {
                        let mut response = http::Response::new(LimitsBody::empty());
                        let headers = response.headers_mut();
                        headers.insert(CONTENT_TYPE, APPLICATION_GRPC);
                        refused.status().add_to_headers(headers);
                        Ok(response)
                    }
                    None => Err(err),
                });
            }
        };
        let headers = response.headers();
        let framed = headers.get(CONTENT_TYPE).is_some_and(is_grpc_content_type)
            && !headers.contains_key(GRPC_STATUS);
        Poll::Ready(Ok(if framed {
            response.map(|body| LimitsBody::new(body, max, refusal, refused))
        } else {
            // Trailers-only or not gRPC: no messages to check.
            response.map(LimitsBody::passthrough)
        }))
    }
}
