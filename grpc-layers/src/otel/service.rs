//! [`ServerTelemetry`] and [`ClientTelemetry`]: the services.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use grpc_core::headers::is_grpc_content_type;
use grpc_core::{BoxError, GrpcBody};
use http::header::CONTENT_TYPE;
use http_body::Body;
use tower_service::Service;

use super::body::{TelemetryBody, WatchedBody};
use super::call::{Call, State, Watch};
use super::future::{ClientResponseFuture, ServerResponseFuture};
use super::layer::{ClientTelemetryLayer, ServerTelemetryLayer, Shared};

/// Only gRPC calls are recorded: anything else (a plain HTTP route of the
/// same server) passes untouched.
fn is_grpc<B>(request: &http::Request<B>) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(is_grpc_content_type)
}

/// The request body as the inner service gets it: as it came (no box for a
/// `GrpcBody`) unless its messages are counted.
fn request_body<B>(body: B, watch: Option<Watch>) -> GrpcBody
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    match watch {
        None => GrpcBody::new(body),
        Some(watch) => GrpcBody::new(WatchedBody::new(body, watch)),
    }
}

/// The request body with its messages counted, as the same type, so the
/// inner service takes whatever body the caller sends (a tonic `Channel`
/// takes only its own): a [`GrpcBody`], what grpc-client's calls send, is
/// rewrapped; any other body is handed back as it is, uncounted.
fn rewrap_watched<B>(body: B, watch: Watch) -> Result<B, B>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    GrpcBody::map_same(body, |grpc| GrpcBody::new(WatchedBody::new(grpc, watch)))
}

/// The server side: a span per call (a child of the context the request
/// carries) and the server metrics; see the [module docs](super).
#[derive(Clone)]
pub struct ServerTelemetry<S> {
    inner: S,
    shared: Arc<Shared>,
}

middleware_accessors!(ServerTelemetry<S>, ServerTelemetryLayer);

impl<S> ServerTelemetry<S> {
    pub(crate) fn from_layer(inner: S, shared: Arc<Shared>) -> Self {
        ServerTelemetry { inner, shared }
    }
}

impl<S: fmt::Debug> fmt::Debug for ServerTelemetry<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTelemetry")
            .field("inner", &self.inner)
            .field("shared", &self.shared)
            .finish()
    }
}

impl<S, B, ResB> Service<http::Request<B>> for ServerTelemetry<S>
where
    S: Service<http::Request<GrpcBody>, Response = http::Response<ResB>>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<TelemetryBody<ResB>>;
    type Error = S::Error;
    type Future = ServerResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if !is_grpc(&request) {
            return ServerResponseFuture::new(
                self.inner.call(request.map(GrpcBody::new)),
                State::Pass,
            );
        }
        if !self.shared.active {
            // Nothing can record: only a context the request carries is
            // passed on, to the calls the handler makes.
            let state = match super::propagation::extract_span(request.headers()) {
                Some(cx) => State::Propagate(cx),
                None => State::Pass,
            };
            let request = request.map(GrpcBody::new);
            let future = {
                let _entered = state.enter();
                self.inner.call(request)
            };
            return ServerResponseFuture::new(future, state);
        }
        let call = Box::new(Call::server(self.shared.clone(), &request));
        let watch = call.request_watch();
        let request = request.map(|body| request_body(body, watch));
        // `call` may already do work (a proxy sends its request here): it
        // runs in the call's context too, as every poll does.
        let future = {
            let _entered = call.enter();
            self.inner.call(request)
        };
        ServerResponseFuture::new(future, State::Record(call))
    }
}

/// The client side: a span per call (a child of the current context),
/// the context sent along, and the client metrics; see the
/// [module docs](super).
#[derive(Clone)]
pub struct ClientTelemetry<S> {
    inner: S,
    shared: Arc<Shared>,
}

middleware_accessors!(ClientTelemetry<S>, ClientTelemetryLayer);

impl<S> ClientTelemetry<S> {
    pub(crate) fn from_layer(inner: S, shared: Arc<Shared>) -> Self {
        ClientTelemetry { inner, shared }
    }
}

impl<S: fmt::Debug> fmt::Debug for ClientTelemetry<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTelemetry")
            .field("inner", &self.inner)
            .field("shared", &self.shared)
            .finish()
    }
}

impl<S, B, ResB> Service<http::Request<B>> for ClientTelemetry<S>
where
    S: Service<http::Request<B>, Response = http::Response<ResB>>,
    S::Error: Into<BoxError>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<TelemetryBody<ResB>>;
    type Error = BoxError;
    type Future = ClientResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        if !is_grpc(&request) {
            return ClientResponseFuture::new(self.inner.call(request), State::Pass);
        }
        if !self.shared.active {
            // Nothing can record: the current context is sent along as it
            // is (the no-op span would carry the same).
            opentelemetry::Context::map_current(|cx| {
                super::propagation::inject(cx, request.headers_mut())
            });
            return ClientResponseFuture::new(self.inner.call(request), State::Pass);
        }
        let mut call = Box::new(Call::client(self.shared.clone(), &mut request));
        if let Some(watch) = call.request_watch() {
            let (parts, body) = request.into_parts();
            let body = match rewrap_watched(body, watch) {
                Ok(body) => body,
                Err(body) => {
                    call.request_not_counted();
                    body
                }
            };
            request = http::Request::from_parts(parts, body);
        }
        ClientResponseFuture::new(self.inner.call(request), State::Record(call))
    }
}
