//! [`ServerDeadline`] and [`ClientDeadline`]: the services.

use std::task::{Context, Poll};
use std::time::Duration;

use grpc_core::deadline::Deadline;
use grpc_core::headers::GRPC_TIMEOUT;
use grpc_core::status::mapping::Side;
use grpc_core::timeout::{format_timeout, parse_timeout};
use grpc_core::Status;
use http::HeaderValue;
use tokio::time::Instant;
use tower_service::Service;

use super::error::exceeded;
use super::future::ResponseFuture;
use super::layer::{ClientConfig, ClientDeadlineLayer, ServerConfig, ServerDeadlineLayer};
use super::propagate::{self, earliest};
use super::DeadlineBody;

/// The server side: enforces each call's deadline; see the
/// [module docs](super).
#[derive(Clone, Debug)]
pub struct ServerDeadline<S> {
    inner: S,
    config: ServerConfig,
}

middleware_accessors!(ServerDeadline<S>, ServerDeadlineLayer);

impl<S> ServerDeadline<S> {
    pub(crate) fn from_layer(inner: S, config: ServerConfig) -> Self {
        ServerDeadline { inner, config }
    }
}

/// Reads `grpc-timeout`; a malformed value is the status to answer with.
fn sent_timeout(headers: &http::HeaderMap) -> Result<Option<Duration>, Status> {
    match headers.get(GRPC_TIMEOUT) {
        None => Ok(None),
        Some(value) => parse_timeout(value.as_bytes()).map(Some).map_err(|err| {
            Status::internal(format!(
                "malformed grpc-timeout {:?}: {err}",
                String::from_utf8_lossy(value.as_bytes())
            ))
        }),
    }
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for ServerDeadline<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<DeadlineBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let sent = match sent_timeout(request.headers()) {
            Ok(sent) => sent,
            // Refused before the handler runs: it never sees a bad deadline.
            Err(status) => return ResponseFuture::answer(status, Side::Server),
        };
        let now = Instant::now();
        let own = self
            .config
            .timeout(sent)
            .map(|timeout| Deadline::from_timeout(now.into_std(), timeout));
        // Served in-process from inside another call: that call's deadline binds too.
        let Some(deadline) = earliest(own, propagate::current()) else {
            return ResponseFuture::passthrough(self.inner.call(request), Side::Server);
        };
        let timeout = deadline.remaining_at(now.into_std());
        if timeout.is_zero() {
            return ResponseFuture::answer(exceeded(Side::Server, timeout), Side::Server);
        }
        request.extensions_mut().insert(deadline);
        // `call` may already do the work (a proxy sends its request here), so
        // it runs with the deadline as the current one, as every poll does.
        let inner = propagate::in_scope(deadline, || self.inner.call(request));
        ResponseFuture::timed(inner, deadline, timeout, Side::Server)
    }
}

/// The client side: sends each call's deadline as `grpc-timeout` and
/// enforces it locally; see the [module docs](super).
#[derive(Clone, Debug)]
pub struct ClientDeadline<S> {
    inner: S,
    config: ClientConfig,
}

middleware_accessors!(ClientDeadline<S>, ClientDeadlineLayer);

impl<S> ClientDeadline<S> {
    pub(crate) fn from_layer(inner: S, config: ClientConfig) -> Self {
        ClientDeadline { inner, config }
    }
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for ClientDeadline<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<DeadlineBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let now = Instant::now().into_std();
        // The call's own deadline: an extension, or a grpc-timeout already set.
        let mut own = request.extensions().get::<Deadline>().copied();
        if let Some(value) = request.headers().get(GRPC_TIMEOUT) {
            match parse_timeout(value.as_bytes()) {
                Ok(timeout) => own = earliest(own, Some(Deadline::from_timeout(now, timeout))),
                Err(err) => {
                    let status = Status::internal(format!(
                        "the request carries a malformed grpc-timeout {:?}: {err}",
                        String::from_utf8_lossy(value.as_bytes())
                    ));
                    return ResponseFuture::answer(status, Side::Client);
                }
            }
        }
        let own = own.or_else(|| {
            self.config
                .default_timeout
                .map(|timeout| Deadline::from_timeout(now, timeout))
        });
        let deadline = if self.config.propagate {
            earliest(own, propagate::current())
        } else {
            own
        };
        let Some(deadline) = deadline else {
            return ResponseFuture::passthrough(self.inner.call(request), Side::Client);
        };
        let timeout = deadline.remaining_at(now);
        if timeout.is_zero() {
            // Not worth sending: the server would refuse it on arrival.
            return ResponseFuture::answer(exceeded(Side::Client, Duration::ZERO), Side::Client);
        }
        let value = HeaderValue::try_from(format_timeout(timeout))
            .expect("digits and a unit letter are a valid header value");
        request.headers_mut().insert(GRPC_TIMEOUT, value);
        request.extensions_mut().insert(deadline);
        ResponseFuture::timed(self.inner.call(request), deadline, timeout, Side::Client)
    }
}
