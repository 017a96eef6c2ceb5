//! Adapters whose request is a single message: unary and server streaming.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use grpc_core::codec::framing::Frame;
use grpc_core::codec::{decode_message, Codec, Deframer};
use grpc_core::limits::MessageLimits;
use grpc_core::{GrpcBody, Request, Response, Status};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::{begin, limit_setters, Reply};

/// Service for [`unary`](super::unary) and
/// [`server_streaming`](super::server_streaming) handlers: reads exactly one
/// request message, then calls the handler.
pub struct ReadOne<C, F, K> {
    codec: C,
    handler: F,
    limits: MessageLimits,
    _kind: PhantomData<fn() -> K>,
}

impl<C, F, K> ReadOne<C, F, K> {
    pub(crate) fn new(codec: C, handler: F) -> Self {
        ReadOne {
            codec,
            handler,
            limits: MessageLimits::default(),
            _kind: PhantomData,
        }
    }

    limit_setters!();
}

impl<C: Clone, F: Clone, K> Clone for ReadOne<C, F, K> {
    fn clone(&self) -> Self {
        ReadOne {
            codec: self.codec.clone(),
            handler: self.handler.clone(),
            limits: self.limits,
            _kind: PhantomData,
        }
    }
}

impl<C, F, K> fmt::Debug for ReadOne<C, F, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadOne")
            .field("limits", &self.limits)
            .finish()
    }
}

impl<C, F, Fut, T, K> Service<http::Request<GrpcBody>> for ReadOne<C, F, K>
where
    C: Codec,
    F: Fn(Request<C::Decode>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<T>, Status>>,
    K: Reply<C, T>,
{
    type Response = http::Response<GrpcBody>;
    type Error = Infallible;
    type Future = ReadOneFuture<C, F, Fut, K>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<GrpcBody>) -> Self::Future {
        let (parts, body) = request.into_parts();
        let (state, max_send) = match begin(self.limits, &parts) {
            Err(refused) => (
                State::Done {
                    response: Some(refused.into_response()),
                },
                0,
            ),
            Ok(limits) => (
                State::Reading {
                    deframer: Deframer::new(body, limits.max_receive()),
                    message: None,
                    parts: Some(parts),
                    codec: Some(self.codec.clone()),
                    handler: Some(self.handler.clone()),
                },
                limits.max_send(),
            ),
        };
        ReadOneFuture {
            state,
            max_send,
            _kind: PhantomData,
        }
    }
}

pin_project! {
    /// Response future of [`ReadOne`].
    pub struct ReadOneFuture<C, F, Fut, K> {
        #[pin]
        state: State<C, F, Fut>,
        max_send: usize,
        _kind: PhantomData<fn() -> K>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<C, F, Fut> {
        Reading {
            deframer: Deframer<GrpcBody>,
            message: Option<Frame>,
            parts: Option<http::request::Parts>,
            codec: Option<C>,
            handler: Option<F>,
        },
        Calling {
            #[pin]
            fut: Fut,
            codec: Option<C>,
        },
        Done {
            response: Option<http::Response<GrpcBody>>,
        },
    }
}

impl<C, F, Fut, K> fmt::Debug for ReadOneFuture<C, F, Fut, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadOneFuture").finish_non_exhaustive()
    }
}

impl<C, F, Fut, T, K> Future for ReadOneFuture<C, F, Fut, K>
where
    C: Codec,
    F: Fn(Request<C::Decode>) -> Fut,
    Fut: Future<Output = Result<Response<T>, Status>>,
    K: Reply<C, T>,
{
    type Output = Result<http::Response<GrpcBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Reading {
                    deframer,
                    message,
                    parts,
                    codec,
                    handler,
                } => {
                    let next = match ready!(Pin::new(&mut *deframer).poll_message(cx)) {
                        Some(Ok(frame)) => {
                            if message.is_some() {
                                Err(Status::internal(
                                    "a unary request carried more than one message",
                                ))
                            } else {
                                *message = Some(frame);
                                continue;
                            }
                        }
                        Some(Err(status)) => Err(status),
                        None => match message.take() {
                            None => Err(Status::internal("the request carried no message")),
                            Some(frame) => {
                                let mut codec = codec.take().expect("polled after completion");
                                match decode_message(&mut codec, frame) {
                                    Ok(decoded) => Ok((decoded, codec)),
                                    Err(status) => Err(status),
                                }
                            }
                        },
                    };
                    match next {
                        Ok((decoded, codec)) => {
                            let parts = parts.take().expect("polled after completion");
                            let handler = handler.take().expect("polled after completion");
                            let request = Request::from_http_parts(parts, decoded);
                            let fut = handler(request);
                            this.state.set(State::Calling {
                                fut,
                                codec: Some(codec),
                            });
                        }
                        Err(status) => {
                            this.state.set(State::Done {
                                response: Some(status.into_http()),
                            });
                        }
                    }
                }
                StateProj::Calling { fut, codec } => {
                    let response = match ready!(fut.poll(cx)) {
                        Ok(response) => {
                            let codec = codec.take().expect("polled after completion");
                            K::reply(response, codec, *this.max_send)
                        }
                        Err(status) => status.into_http(),
                    };
                    this.state.set(State::Done { response: None });
                    return Poll::Ready(Ok(response));
                }
                StateProj::Done { response } => {
                    return Poll::Ready(Ok(response.take().expect("polled after completion")));
                }
            }
        }
    }
}
