//! Response futures of [`ServerStatus`](super::ServerStatus) and
//! [`ClientStatus`](super::ClientStatus).

use std::convert::Infallible;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use grpc_core::headers::APPLICATION_GRPC;
use grpc_core::{BoxError, Status};
use http::header::CONTENT_TYPE;
use pin_project_lite::pin_project;

use super::body::{ClientStatusBody, ServerStatusBody};
use super::classify::log_panic;
use super::MapError;

/// A trailers-only response carrying `status`.
pub(crate) fn trailers_only<B, M>(status: &Status) -> http::Response<ServerStatusBody<B, M>> {
    let mut response = http::Response::new(ServerStatusBody::empty());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, APPLICATION_GRPC);
    status.add_to_headers(headers);
    response
}

pin_project! {
    #[project = ServerKindProj]
    enum ServerKind<F, M> {
        Call {
            #[pin]
            future: F,
            mapper: Option<M>,
        },
        Answer {
            status: Option<Status>,
        },
    }
}

pin_project! {
    /// Response future of [`ServerStatus`](super::ServerStatus): never
    /// fails; an error or a panic of the inner future is answered with a
    /// trailers-only status.
    pub struct ServerResponseFuture<F, M> {
        #[pin]
        kind: ServerKind<F, M>,
    }
}

impl<F, M> ServerResponseFuture<F, M> {
    pub(crate) fn call(future: F, mapper: M) -> Self {
        ServerResponseFuture {
            kind: ServerKind::Call {
                future,
                mapper: Some(mapper),
            },
        }
    }

    pub(crate) fn answer(status: Status) -> Self {
        ServerResponseFuture {
            kind: ServerKind::Answer {
                status: Some(status),
            },
        }
    }
}

impl<F, B, E, M> Future for ServerResponseFuture<F, M>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    E: Into<BoxError>,
    M: MapError,
{
    type Output = Result<http::Response<ServerStatusBody<B, M>>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            ServerKindProj::Answer { status } => {
                let status = status.take().expect("polled after completion");
                Poll::Ready(Ok(trailers_only(&status)))
            }
            ServerKindProj::Call { future, mapper } => {
                let polled = match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
                    Ok(Poll::Pending) => return Poll::Pending,
                    Ok(Poll::Ready(result)) => Ok(result),
                    Err(payload) => Err(payload),
                };
                let mapper = mapper.take().expect("polled after completion");
                let status = match polled {
                    Ok(Ok(response)) => {
                        return Poll::Ready(Ok(
                            response.map(|body| ServerStatusBody::new(body, Some(mapper)))
                        ));
                    }
                    Ok(Err(err)) => {
                        let err = err.into();
                        tracing::debug!(error = %err, "the service failed; answering with a status");
                        mapper.map_error(err)
                    }
                    Err(payload) => {
                        log_panic(&*payload, "while answering");
                        mapper.map_panic(&*payload)
                    }
                };
                Poll::Ready(Ok(trailers_only(&status)))
            }
        }
    }
}

impl<F, M> std::fmt::Debug for ServerResponseFuture<F, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerResponseFuture")
            .finish_non_exhaustive()
    }
}

pin_project! {
    /// Response future of [`ClientStatus`](super::ClientStatus): its error
    /// is a [`Status`] mapped from the inner one.
    pub struct ClientResponseFuture<F, M> {
        #[pin]
        future: F,
        mapper: Option<M>,
    }
}

impl<F, M> ClientResponseFuture<F, M> {
    pub(crate) fn new(future: F, mapper: M) -> Self {
        ClientResponseFuture {
            future,
            mapper: Some(mapper),
        }
    }
}

impl<F, B, E, M> Future for ClientResponseFuture<F, M>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    E: Into<BoxError>,
    M: MapError,
{
    type Output = Result<http::Response<ClientStatusBody<B, M>>, Status>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.future.poll(cx));
        let mapper = this.mapper.take().expect("polled after completion");
        Poll::Ready(match result {
            Ok(response) => Ok(response.map(|body| ClientStatusBody::new(body, mapper))),
            Err(err) => Err(mapper.map_error(err.into())),
        })
    }
}

impl<F, M> std::fmt::Debug for ClientResponseFuture<F, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientResponseFuture")
            .finish_non_exhaustive()
    }
}
