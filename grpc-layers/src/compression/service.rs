//! [`Compression`]: the service the layer builds.

use std::task::{Context, Poll};

use bytes::Bytes;
use grpc_core::headers::{GRPC_ACCEPT_ENCODING, GRPC_ENCODING};
use grpc_core::limits::MessageLimits;
use grpc_core::{BoxError, GrpcBody, Status};
use http::HeaderValue;
use http_body::Body;
use tower_service::Service;

use super::body::CompressionBody;
use super::control::{MessageCompression, SendCompression};
use super::future::ResponseFuture;
use super::layer::{CompressionLayer, Config, Role};
use super::Encoding;

/// Compresses and decompresses the messages of the calls through `S`; built
/// by [`CompressionLayer`], see the [module docs](super).
///
/// The inner service gets `http::Request<GrpcBody>`: the request body as it
/// came (no extra box when it already is a `GrpcBody`) when it is not
/// transformed, or the transforming body erased once.
#[derive(Clone, Debug)]
pub struct Compression<S> {
    inner: S,
    config: Config,
}

impl<S> Compression<S> {
    /// The server side over `inner`, with the defaults of
    /// [`CompressionLayer::server`].
    pub fn server(inner: S) -> Self {
        Compression::with_config(inner, Config::new(Role::Server))
    }

    /// The client side over `inner`, with the defaults of
    /// [`CompressionLayer::client`].
    pub fn client(inner: S) -> Self {
        Compression::with_config(inner, Config::new(Role::Client))
    }

    /// The server layer; the same as [`CompressionLayer::server`].
    pub const fn server_layer() -> CompressionLayer {
        CompressionLayer::server()
    }

    /// The client layer; the same as [`CompressionLayer::client`].
    pub const fn client_layer() -> CompressionLayer {
        CompressionLayer::client()
    }

    pub(crate) fn with_config(inner: S, config: Config) -> Self {
        Compression { inner, config }
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

/// The receive limit of one call, by the one rule of
/// [`grpc_core::limits`]: the narrowest of the call's `MessageLimits` (set
/// by a limits layer or the client) and the layer's own, if set; the
/// default when neither asks.
pub(crate) fn recv_limit(extensions: &http::Extensions, config: &Config) -> usize {
    let own = match config.max_decompressed_size {
        Some(bytes) => MessageLimits::default().with_max_receive(bytes),
        None => MessageLimits::default(),
    };
    MessageLimits::of(extensions).narrow(own).max_receive()
}

impl<S, B, ResB> Service<http::Request<B>> for Compression<S>
where
    S: Service<http::Request<GrpcBody>, Response = http::Response<ResB>>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    ResB: Body<Data = Bytes>,
    ResB::Error: Into<BoxError>,
{
    type Response = http::Response<CompressionBody<ResB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        match self.config.role {
            Role::Server => self.call_server(request),
            Role::Client => self.call_client(request),
        }
    }
}

impl<S> Compression<S> {
    fn call_server<B>(&mut self, request: http::Request<B>) -> ResponseFuture<S::Future>
    where
        S: Service<http::Request<GrpcBody>>,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let config = self.config;
        let (mut parts, body) = request.into_parts();
        let body = match parts.headers.get(GRPC_ENCODING) {
            None => GrpcBody::new(body),
            Some(value) => match Encoding::from_name(value.as_bytes()) {
                Some(Encoding::Identity) => GrpcBody::new(body),
                Some(encoding) if config.accepts(encoding) => {
                    // The messages reach the inner service uncompressed.
                    parts.headers.remove(GRPC_ENCODING);
                    let limit = recv_limit(&parts.extensions, &config);
                    GrpcBody::new(CompressionBody::decompress(body, encoding, limit))
                }
                _ => return ResponseFuture::rejected(unsupported(value, &config)),
            },
        };
        let peer = super::EncodingSet::from_accept_headers(&parts.headers);
        let future = self.inner.call(http::Request::from_parts(parts, body));
        ResponseFuture::server(future, peer, config)
    }

    fn call_client<B>(&mut self, request: http::Request<B>) -> ResponseFuture<S::Future>
    where
        S: Service<http::Request<GrpcBody>>,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let config = self.config;
        let (mut parts, body) = request.into_parts();
        let send = match parts.extensions.get::<SendCompression>() {
            Some(choice) => choice.encoding(),
            None => config.send.iter().next().unwrap_or(Encoding::Identity),
        };
        let body = if send != Encoding::Identity
            && send.is_enabled()
            && !parts.headers.contains_key(GRPC_ENCODING)
        {
            parts.headers.insert(GRPC_ENCODING, send.header_value());
            let switch = parts.extensions.get::<MessageCompression>().cloned();
            GrpcBody::new(CompressionBody::compress(
                body,
                send,
                config.level,
                config.min_size,
                switch,
            ))
        } else {
            if let Some(switch) = parts.extensions.get::<MessageCompression>() {
                // Not compressed: its decisions will never be taken.
                switch.detach();
            }
            GrpcBody::new(body)
        };
        if !parts.headers.contains_key(GRPC_ACCEPT_ENCODING) {
            parts
                .headers
                .insert(GRPC_ACCEPT_ENCODING, config.accept.header_value());
        }
        let limit = recv_limit(&parts.extensions, &config);
        let future = self.inner.call(http::Request::from_parts(parts, body));
        ResponseFuture::client(future, limit, config)
    }
}

/// The answer to a request compressed in an encoding this server does not
/// take: trailers-only `UNIMPLEMENTED`, listing what it does take.
fn unsupported(declared: &HeaderValue, config: &Config) -> http::Response<()> {
    let status = Status::unimplemented(format!(
        "message encoding {:?} is not supported; supported: {}",
        String::from_utf8_lossy(declared.as_bytes()),
        config.accept.header_value().to_str().unwrap_or_default(),
    ));
    let mut response: http::Response<()> = status.into_http();
    response
        .headers_mut()
        .insert(GRPC_ACCEPT_ENCODING, config.accept.header_value());
    response
}
