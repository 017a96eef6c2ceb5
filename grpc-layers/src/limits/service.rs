//! [`ServerLimits`] and [`ClientLimits`]: the services.

use std::task::{Context, Poll};

use bytes::Bytes;
use grpc_core::headers::is_grpc_content_type;
use grpc_core::limits::{MessageLimits, DEFAULT_MAX_RECEIVE_MESSAGE_SIZE};
use grpc_core::status::mapping::Side;
use grpc_core::{BoxError, GrpcBody};
use http::header::CONTENT_TYPE;
use http_body::Body;
use tower_service::Service;

use super::body::{LimitsBody, Refused, RequestBody};
use super::future::ResponseFuture;
use super::{ClientLimitsLayer, ServerLimitsLayer};

/// A side's service: the struct, its accessors and the `Service` impl,
/// the same on both sides but for the side.
macro_rules! limits_service {
    ($(#[$doc:meta])* $name:ident, $layer:ident, $side:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name<S> {
            inner: S,
            limits: MessageLimits,
        }

        middleware_accessors!($name<S>, $layer);

        impl<S> $name<S> {
            pub(crate) fn from_layer(inner: S, limits: MessageLimits) -> Self {
                $name { inner, limits }
            }
        }

        impl<S, B, ResB> Service<http::Request<B>> for $name<S>
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
                call(&mut self.inner, self.limits, $side, request)
            }
        }
    };
}

limits_service!(
    /// Applies message size limits to the calls a server answers; see the
    /// [module docs](super).
    ServerLimits,
    ServerLimitsLayer,
    Side::Server
);

limits_service!(
    /// Applies message size limits to the calls a client makes; see the
    /// [module docs](super).
    ClientLimits,
    ClientLimitsLayer,
    Side::Client
);

/// Whether a limit can be exceeded by a message with a 32-bit prefix.
fn checked(max: usize) -> Option<usize> {
    (max < u32::MAX as usize).then_some(max)
}

fn call<S, B, ResB>(
    inner: &mut S,
    own: MessageLimits,
    side: Side,
    request: http::Request<B>,
) -> ResponseFuture<S::Future>
where
    S: Service<http::Request<GrpcBody>, Response = http::Response<ResB>>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let grpc = request
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(is_grpc_content_type);
    if !grpc {
        // Not a gRPC call (an axum route next to the gRPC ones): its body is
        // no stream of prefixed messages.
        return ResponseFuture::passthrough(inner.call(request.map(GrpcBody::new)));
    }
    let (mut parts, body) = request.into_parts();
    // The one rule: limits already on the call (a client's per-call ones,
    // an outer limits layer) and this layer's combine to the narrowest,
    // which everything further in reads.
    let limits = own.apply(&mut parts.extensions);
    let (request_max, response_max) = match side {
        Side::Server => (limits.max_receive(), limits.max_send()),
        Side::Client => (limits.max_send(), limits.max_receive()),
    };
    let mut refused: Option<Refused> = None;
    let body = match checked(request_max) {
        // Nothing to check: no wrapper, and no box for a `GrpcBody`.
        None => GrpcBody::new(body),
        Some(max) => {
            let slot = Refused::default();
            refused = Some(slot.clone());
            GrpcBody::new(RequestBody::new(body, max, side, slot))
        }
    };
    let raised = (side == Side::Client && limits.max_receive() > DEFAULT_MAX_RECEIVE_MESSAGE_SIZE)
        .then_some(limits);
    let future = inner.call(http::Request::from_parts(parts, body));
    ResponseFuture::checked(future, checked(response_max), side, refused, raised)
}
