//! [`ServerStatus`] and [`ClientStatus`]: the services.

use std::convert::Infallible;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::task::{Context, Poll};

use grpc_core::{BoxError, Status};
use tower_service::Service;

use super::body::{ClientStatusBody, ServerStatusBody};
use super::classify::log_panic;
use super::future::{ClientResponseFuture, ServerResponseFuture};
use super::{ClientStatusLayer, DefaultMapper, MapError, ServerStatusLayer};

/// The server side: never fails; see the [module docs](super).
#[derive(Clone, Debug)]
pub struct ServerStatus<S, M = DefaultMapper> {
    inner: S,
    mapper: M,
    /// The inner service failed its readiness: it is gone, and every call
    /// is answered with this.
    failed: Option<Status>,
}

middleware_accessors!(ServerStatus<S, M>, ServerStatusLayer);

impl<S, M> ServerStatus<S, M> {
    /// Wraps `inner`, mapping errors and panics with `mapper`.
    pub fn with_mapper(inner: S, mapper: M) -> Self {
        ServerStatus {
            inner,
            mapper,
            failed: None,
        }
    }
}

impl<S, Req, B, M> Service<Req> for ServerStatus<S, M>
where
    S: Service<Req, Response = http::Response<B>>,
    S::Error: Into<BoxError>,
    M: MapError + Clone,
{
    type Response = http::Response<ServerStatusBody<B, M>>;
    type Error = Infallible;
    type Future = ServerResponseFuture<S::Future, M>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        if self.failed.is_some() {
            return Poll::Ready(Ok(()));
        }
        match self.inner.poll_ready(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
            Poll::Ready(Err(err)) => {
                // A service whose readiness failed must not be called again
                // (tower's contract); with no error type left to report it,
                // every call is answered with its status instead.
                let err = err.into();
                tracing::warn!(error = %err, "the service failed; answering every call with a status");
                self.failed = Some(self.mapper.map_error(err));
                Poll::Ready(Ok(()))
            }
        }
    }

    fn call(&mut self, request: Req) -> Self::Future {
        if let Some(status) = &self.failed {
            return ServerResponseFuture::answer(status.clone());
        }
        match catch_unwind(AssertUnwindSafe(|| self.inner.call(request))) {
            Ok(future) => ServerResponseFuture::call(future, self.mapper.clone()),
            Err(payload) => {
                log_panic(&*payload, "when called");
                ServerResponseFuture::answer(self.mapper.map_panic(&*payload))
            }
        }
    }
}

/// The client side: fails with a [`Status`]; see the [module docs](super).
#[derive(Clone, Debug)]
pub struct ClientStatus<S, M = DefaultMapper> {
    inner: S,
    mapper: M,
}

middleware_accessors!(ClientStatus<S, M>, ClientStatusLayer);

impl<S, M> ClientStatus<S, M> {
    /// Wraps `inner`, mapping errors with `mapper`.
    pub fn with_mapper(inner: S, mapper: M) -> Self {
        ClientStatus { inner, mapper }
    }
}

impl<S, Req, B, M> Service<Req> for ClientStatus<S, M>
where
    S: Service<Req, Response = http::Response<B>>,
    S::Error: Into<BoxError>,
    M: MapError + Clone,
{
    type Response = http::Response<ClientStatusBody<B, M>>;
    type Error = Status;
    type Future = ClientResponseFuture<S::Future, M>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        self.inner
            .poll_ready(cx)
            .map_err(|err| self.mapper.map_error(err.into()))
    }

    fn call(&mut self, request: Req) -> Self::Future {
        ClientResponseFuture::new(self.inner.call(request), self.mapper.clone())
    }
}
