//! Adapters whose request is a stream: client and bidirectional streaming.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use grpc_core::codec::Codec;
use grpc_core::limits::MessageLimits;
use grpc_core::{GrpcBody, Request, Response, Status, Streaming};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::{begin, limit_setters, Reply};

/// Service for [`client_streaming`](super::client_streaming) and
/// [`streaming`](super::streaming) handlers: calls the handler at once with
/// a [`Streaming`] of the request messages.
pub struct CallStreaming<C, F, K> {
    codec: C,
    handler: F,
    limits: MessageLimits,
    _kind: PhantomData<fn() -> K>,
}

impl<C, F, K> CallStreaming<C, F, K> {
    pub(crate) fn new(codec: C, handler: F) -> Self {
        CallStreaming {
            codec,
            handler,
            limits: MessageLimits::default(),
            _kind: PhantomData,
        }
    }

    limit_setters!();
}

impl<C: Clone, F: Clone, K> Clone for CallStreaming<C, F, K> {
    fn clone(&self) -> Self {
        CallStreaming {
            codec: self.codec.clone(),
            handler: self.handler.clone(),
            limits: self.limits,
            _kind: PhantomData,
        }
    }
}

impl<C, F, K> fmt::Debug for CallStreaming<C, F, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallStreaming")
            .field("limits", &self.limits)
            .finish()
    }
}

impl<C, F, Fut, T, K> Service<http::Request<GrpcBody>> for CallStreaming<C, F, K>
where
    C: Codec,
    F: Fn(Request<Streaming<C::Decode>>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<T>, Status>>,
    K: Reply<C, T>,
{
    type Response = http::Response<GrpcBody>;
    type Error = Infallible;
    type Future = CallStreamingFuture<C, Fut, K>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<GrpcBody>) -> Self::Future {
        let (parts, body) = request.into_parts();
        let (inner, max_send) = match begin(self.limits, &parts) {
            Err(refused) => (
                Inner::Done {
                    response: Some(refused.into_response()),
                },
                0,
            ),
            Ok(limits) => {
                let stream = Streaming::new_request(body, self.codec.clone(), limits.max_receive());
                let inner = Inner::Calling {
                    fut: (self.handler)(Request::from_http_parts(parts, stream)),
                    codec: Some(self.codec.clone()),
                };
                (inner, limits.max_send())
            }
        };
        CallStreamingFuture {
            inner,
            max_send,
            _kind: PhantomData,
        }
    }
}

pin_project! {
    /// Response future of [`CallStreaming`].
    pub struct CallStreamingFuture<C, Fut, K> {
        #[pin]
        inner: Inner<C, Fut>,
        max_send: usize,
        _kind: PhantomData<fn() -> K>,
    }
}

pin_project! {
    #[project = InnerProj]
    enum Inner<C, Fut> {
        Calling { #[pin] fut: Fut, codec: Option<C> },
        Done { response: Option<http::Response<GrpcBody>> },
    }
}

impl<C, Fut, K> fmt::Debug for CallStreamingFuture<C, Fut, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallStreamingFuture")
            .finish_non_exhaustive()
    }
}

impl<C, Fut, T, K> Future for CallStreamingFuture<C, Fut, K>
where
    C: Codec,
    Fut: Future<Output = Result<Response<T>, Status>>,
    K: Reply<C, T>,
{
    type Output = Result<http::Response<GrpcBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.inner.project() {
            InnerProj::Calling { fut, codec } => {
                let response = match ready!(fut.poll(cx)) {
                    Ok(response) => K::reply(
                        response,
                        codec.take().expect("polled after completion"),
                        *this.max_send,
                    ),
                    Err(status) => status.into_http(),
                };
                Poll::Ready(Ok(response))
            }
            InnerProj::Done { response } => {
                Poll::Ready(Ok(response.take().expect("polled after completion")))
            }
        }
    }
}
