//! [`Limits`]: the service.

use std::task::{Context, Poll};

use bytes::Bytes;
use grpc_core::codec::framing::MessageLimits;
use grpc_core::headers::is_grpc_content_type;
use grpc_core::{BoxError, GrpcBody};
use http::header::CONTENT_TYPE;
use http_body::Body;
use tower_service::Service;

use super::body::{LimitsBody, Refusal, SendRefused};
use super::future::ResponseFuture;
use super::layer::{LimitsLayer, Side};

/// Applies message size limits to the calls of `S`; see the
/// [module docs](super).
#[derive(Clone, Debug)]
pub struct Limits<S> {
    inner: S,
    layer: LimitsLayer,
}

impl<S> Limits<S> {
    /// The server side over `inner`, with the default limits.
    pub fn server(inner: S) -> Self {
        Limits::with_layer(inner, LimitsLayer::server())
    }

    /// The client side over `inner`, with the default limits.
    pub fn client(inner: S) -> Self {
        Limits::with_layer(inner, LimitsLayer::client())
    }

    pub(crate) fn with_layer(inner: S, layer: LimitsLayer) -> Self {
        Limits { inner, layer }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// Whether a limit can be exceeded by a message with a 32-bit prefix.
fn checked(max: usize) -> Option<usize> {
    (max < u32::MAX as usize).then_some(max)
}

impl<S, B, ResB> Service<http::Request<B>> for Limits<S>
where
    S: Service<http::Request<GrpcBody>, Response = http::Response<ResB>>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    ResB: Body<Data = Bytes>,
    ResB::Error: Into<BoxError>,
{
    type Response = http::Response<LimitsBody<ResB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let grpc = request
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(is_grpc_content_type);
        if !grpc {
            // Not a gRPC call (an axum route next to the gRPC ones): its
            // body is no stream of prefixed messages.
            return ResponseFuture::passthrough(self.inner.call(request.map(GrpcBody::new)));
        }
        let (mut parts, body) = request.into_parts();
        // Limits already on the call (from `Grpc`'s per-call settings or an
        // outer limits layer) are narrowed, never widened: each layer
        // enforces its own on the wire anyway.
        let own = self.layer.limits();
        let set = parts.extensions.get::<MessageLimits>().copied();
        let limits = match set {
            Some(set) => MessageLimits::new(
                set.max_recv().min(own.max_recv()),
                set.max_send().min(own.max_send()),
            ),
            None => own,
        };
        if set != Some(limits) {
            parts.extensions.insert(limits);
        }
        let (request_max, response_max, request_refusal, response_refusal) = match self.layer.side()
        {
            Side::Server => (
                limits.max_recv(),
                limits.max_send(),
                Refusal::Received,
                Refusal::ServerSend,
            ),
            Side::Client => (
                limits.max_send(),
                limits.max_recv(),
                Refusal::ClientSend,
                Refusal::Received,
            ),
        };
        let mut refused: Option<SendRefused> = None;
        let body = match checked(request_max) {
            // Nothing to check: no wrapper, and no box for a `GrpcBody`.
            None => GrpcBody::new(body),
            Some(max) => {
                if request_refusal == Refusal::ClientSend {
                    refused = Some(SendRefused::default());
                }
                GrpcBody::new(LimitsBody::new(
                    body,
                    Some(max),
                    request_refusal,
                    refused.clone(),
                ))
            }
        };
        let future = self.inner.call(http::Request::from_parts(parts, body));
        ResponseFuture::checked(future, checked(response_max), response_refusal, refused)
    }
}
