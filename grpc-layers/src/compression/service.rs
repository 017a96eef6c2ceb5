//! [`ServerCompression`] and [`ClientCompression`]: the services the
//! layers build.

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
use super::layer::{ClientCompressionLayer, Config, ServerCompressionLayer};
use super::Encoding;

/// A side's service: the struct, its accessors and the `Service` impl,
/// the same on both sides but for what a call does.
macro_rules! compression_service {
    ($(#[$doc:meta])* $name:ident, $layer:ident, $call:ident) => {
        $(#[$doc])*
        ///
        /// The inner service gets `http::Request<GrpcBody>`: the request body
        /// as it came (no extra box when it already is a `GrpcBody`) when it
        /// is not transformed, or the transforming body erased once.
        #[derive(Clone, Debug)]
        pub struct $name<S> {
            inner: S,
            config: Config,
        }

        middleware_accessors!($name<S>, $layer);

        impl<S> $name<S> {
            pub(crate) fn from_layer(inner: S, config: Config) -> Self {
                $name { inner, config }
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
            type Response = http::Response<CompressionBody<ResB>>;
            type Error = S::Error;
            type Future = ResponseFuture<S::Future>;

            fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
                self.inner.poll_ready(cx)
            }

            fn call(&mut self, request: http::Request<B>) -> Self::Future {
                $call(&mut self.inner, self.config, request)
            }
        }
    };
}

compression_service!(
    /// Compression on the server, over `S`: decompresses requests,
    /// compresses responses; built by [`ServerCompressionLayer`], see the
    /// [module docs](super).
    ServerCompression,
    ServerCompressionLayer,
    call_server
);

compression_service!(
    /// Compression on the client, over `S`: compresses requests,
    /// decompresses responses; built by [`ClientCompressionLayer`], see the
    /// [module docs](super).
    ClientCompression,
    ClientCompressionLayer,
    call_client
);

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

/// A call through [`ServerCompression`].
fn call_server<S, B>(
    inner: &mut S,
    config: Config,
    request: http::Request<B>,
) -> ResponseFuture<S::Future>
where
    S: Service<http::Request<GrpcBody>>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
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
    let future = inner.call(http::Request::from_parts(parts, body));
    ResponseFuture::server(future, peer, config)
}

/// A call through [`ClientCompression`].
fn call_client<S, B>(
    inner: &mut S,
    config: Config,
    request: http::Request<B>,
) -> ResponseFuture<S::Future>
where
    S: Service<http::Request<GrpcBody>>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
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
    let future = inner.call(http::Request::from_parts(parts, body));
    ResponseFuture::client(future, limit, config)
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
