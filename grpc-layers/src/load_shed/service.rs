//! [`ServerLoadShed`]: the service.

use std::sync::Arc;
use std::task::{Context, Poll};

use tower_service::Service;

use super::body::LoadShedBody;
use super::future::ResponseFuture;
use super::layer::ServerLoadShedLayer;
use super::state::{LoadShedStats, State};

/// Admits a call if every cap that applies to it has room, and refuses it
/// at once otherwise; see the [module docs](super).
#[derive(Clone, Debug)]
pub struct ServerLoadShed<S> {
    inner: S,
    state: Arc<State>,
}

middleware_accessors!(ServerLoadShed<S>, ServerLoadShedLayer);

impl<S> ServerLoadShed<S> {
    pub(crate) fn from_layer(inner: S, state: Arc<State>) -> Self {
        ServerLoadShed { inner, state }
    }

    /// The counters this service shares with its layer; see
    /// [`ServerLoadShedLayer::stats`].
    pub fn stats(&self) -> LoadShedStats {
        LoadShedStats {
            state: Arc::clone(&self.state),
        }
    }
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for ServerLoadShed<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<LoadShedBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    /// The inner service's readiness: the caps are not waited on here, a
    /// call over them is refused in `call`.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        match self.state.admit(request.uri().path()) {
            Ok(permit) => ResponseFuture::admitted(self.inner.call(request), permit),
            // The request, body unread, is dropped here; the inner service
            // never sees it (its readiness is kept for the next call).
            Err(head) => ResponseFuture::shed(head),
        }
    }
}
