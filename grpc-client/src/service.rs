//! [`GrpcService`]: the services a [`Grpc`](crate::Grpc) client can call.
//!
//! It is an alias trait with a blanket implementation: any
//! `tower_service::Service<http::Request<GrpcBody>>` whose response body
//! carries `Bytes` and whose errors convert into a [`BoxError`] is a
//! `GrpcService`. A [`Channel`](crate::Channel) is one, and so is a channel
//! wrapped in any stack of tower layers, or an in-process server router.
//! Generated clients take any `S: GrpcService`.

use std::future::Future;
use std::task::{Context, Poll};

use bytes::Bytes;
use grpc_core::{BoxError, GrpcBody};
use http_body::Body;
use tower_service::Service;

/// A tower service that can carry gRPC calls; implemented for every
/// matching [`Service`], see the [module docs](self).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot carry gRPC calls",
    note = "a gRPC client needs a `tower_service::Service<http::Request<{ReqBody}>, Response = http::Response<B>>` whose body `B: http_body::Body<Data = bytes::Bytes> + Send + 'static` and whose errors convert into `BoxError`, such as `grpc_client::Channel`"
)]
pub trait GrpcService<ReqBody = GrpcBody> {
    /// The response body.
    type ResponseBody: Body<Data = Bytes, Error: Into<BoxError>> + Send + 'static;
    /// The transport error.
    type Error: Into<BoxError>;
    /// The response future.
    type Future: Future<Output = Result<http::Response<Self::ResponseBody>, Self::Error>>;

    /// [`Service::poll_ready`].
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>>;

    /// [`Service::call`].
    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future;
}

impl<T, ReqBody, ResBody> GrpcService<ReqBody> for T
where
    T: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    T::Error: Into<BoxError>,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type ResponseBody = ResBody;
    type Error = T::Error;
    type Future = T::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Service::poll_ready(self, cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        Service::call(self, request)
    }
}
