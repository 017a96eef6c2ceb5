//! Adapters from typed async handlers to channel-level services.
//!
//! Each adapter turns a closure over typed `Request`s and `Response`s into a
//! `Service<http::Request<GrpcBody>, Response = http::Response<GrpcBody>,
//! Error = Infallible>`, one per RPC kind:
//!
//! | kind | adapter | handler gets | handler returns |
//! |---|---|---|---|
//! | unary | [`unary`] | `Request<In>` | `Response<Out>` |
//! | server streaming | [`server_streaming`] | `Request<In>` | `Response<impl Stream<Item = Result<Out, Status>>>` |
//! | client streaming | [`client_streaming`] | `Request<Streaming<In>>` | `Response<Out>` |
//! | bidirectional | [`streaming`] | `Request<Streaming<In>>` | `Response<impl Stream<..>>` |
//! | any, step by step | [`raw`] | [`ServerCall`] | `Result<(), Status>` |
//!
//! A handler error is answered as a trailers-only response. Bidirectional
//! handlers are truly full-duplex: the response head and messages go out as
//! soon as the handler produces them, before the client half-closes.
//!
//! ```
//! use grpc_core::codec::BytesCodec;
//! use grpc_core::{Request, Response, Status};
//! use grpc_server::handler;
//!
//! let echo = handler::unary(BytesCodec, |req: Request<bytes::Bytes>| async move {
//!     Ok::<_, Status>(Response::new(req.into_inner()))
//! });
//! # let _ = echo;
//! ```
//!
//! Messages received are limited to 4 MiB by default
//! ([`grpc_core::codec::framing::DEFAULT_MAX_RECV_MESSAGE_SIZE`]); each
//! adapter has `max_decoding_message_size` and `max_encoding_message_size`,
//! and a [`MessageLimits`] request extension (set by a limits layer)
//! overrides both for one call.

mod raw;
mod read;
mod stream;

pub use raw::{raw, Raw, RawFuture, ServerCall};
pub use read::{ReadOne, ReadOneFuture};
pub use stream::{CallFuture, CallStreaming};

use std::future::Future;

use futures_core::Stream;
use grpc_core::codec::framing::{
    encode_message, MessageLimits, DEFAULT_MAX_RECV_MESSAGE_SIZE, DEFAULT_MAX_SEND_MESSAGE_SIZE,
};
use grpc_core::codec::{Codec, EncodeBody};
use grpc_core::headers::{APPLICATION_GRPC, GRPC_ACCEPT_ENCODING, GRPC_ENCODING};
use grpc_core::{GrpcBody, MetadataMap, Request, Response, Status, Streaming};
use http::header::CONTENT_TYPE;
use http::HeaderValue;

/// Message size limits of one adapter.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) max_recv: usize,
    pub(crate) max_send: usize,
}

impl Limits {
    /// The limits for one call: a [`MessageLimits`] request extension (set
    /// by a limits layer) wins over the adapter's own.
    pub(crate) fn for_request(self, extensions: &http::Extensions) -> Limits {
        match extensions.get::<MessageLimits>() {
            Some(limits) => Limits {
                max_recv: limits.max_recv(),
                max_send: limits.max_send(),
            },
            None => self,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_recv: DEFAULT_MAX_RECV_MESSAGE_SIZE,
            max_send: DEFAULT_MAX_SEND_MESSAGE_SIZE,
        }
    }
}

/// A unary handler: one message in, one message out.
pub fn unary<C, F, Fut>(codec: C, handler: F) -> ReadOne<C, F, One>
where
    C: Codec,
    F: Fn(Request<C::Decode>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<C::Encode>, Status>> + Send + 'static,
{
    ReadOne::new(codec, handler)
}

/// A server-streaming handler: one message in, a stream of messages out.
pub fn server_streaming<C, F, Fut, S>(codec: C, handler: F) -> ReadOne<C, F, Many>
where
    C: Codec,
    F: Fn(Request<C::Decode>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<S>, Status>> + Send + 'static,
    S: Stream<Item = Result<C::Encode, Status>> + Send + 'static,
{
    ReadOne::new(codec, handler)
}

/// A client-streaming handler: a stream of messages in, one message out.
pub fn client_streaming<C, F, Fut>(codec: C, handler: F) -> CallStreaming<C, F, One>
where
    C: Codec,
    F: Fn(Request<Streaming<C::Decode>>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<C::Encode>, Status>> + Send + 'static,
{
    CallStreaming::new(codec, handler)
}

/// A bidirectional-streaming handler: streams both ways, full-duplex.
pub fn streaming<C, F, Fut, S>(codec: C, handler: F) -> CallStreaming<C, F, Many>
where
    C: Codec,
    F: Fn(Request<Streaming<C::Decode>>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<S>, Status>> + Send + 'static,
    S: Stream<Item = Result<C::Encode, Status>> + Send + 'static,
{
    CallStreaming::new(codec, handler)
}

/// Reply shape: one message. Used as a type parameter of the adapters.
#[derive(Debug, Clone, Copy)]
pub struct One;

/// Reply shape: a stream of messages. Used as a type parameter of the adapters.
#[derive(Debug, Clone, Copy)]
pub struct Many;

/// How a handler's typed response becomes an HTTP response.
pub trait Reply<C: Codec, T> {
    /// Builds the response: headers from the initial metadata, then the
    /// message(s), then trailers with the status and trailing metadata.
    fn reply(response: Response<T>, codec: C, max_send: usize) -> http::Response<GrpcBody>;
}

impl<C: Codec> Reply<C, C::Encode> for One {
    fn reply(
        response: Response<C::Encode>,
        mut codec: C,
        max_send: usize,
    ) -> http::Response<GrpcBody> {
        let (metadata, trailers, extensions, message) = response.into_parts();
        match encode_message(&mut codec, message, max_send) {
            Ok(frame) => {
                let mut trailer_headers = trailers.into_headers();
                trailer_headers.insert(
                    grpc_core::headers::GRPC_STATUS,
                    HeaderValue::from_static("0"),
                );
                let mut response =
                    grpc_response(metadata, GrpcBody::once(frame, Some(trailer_headers)));
                *response.extensions_mut() = extensions;
                response
            }
            Err(status) => status.into_http(),
        }
    }
}

impl<C, S> Reply<C, S> for Many
where
    C: Codec,
    S: Stream<Item = Result<C::Encode, Status>> + Send + 'static,
{
    fn reply(response: Response<S>, codec: C, max_send: usize) -> http::Response<GrpcBody> {
        let (metadata, trailers, extensions, stream) = response.into_parts();
        let body = EncodeBody::server(stream, codec, max_send, trailers);
        let mut response = grpc_response(metadata, GrpcBody::new(body));
        *response.extensions_mut() = extensions;
        response
    }
}

/// A gRPC response head: `content-type: application/grpc` plus metadata.
pub(crate) fn grpc_response(metadata: MetadataMap, body: GrpcBody) -> http::Response<GrpcBody> {
    let mut response = http::Response::new(body);
    *response.headers_mut() = metadata.into_headers();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, APPLICATION_GRPC);
    response
}

/// Refuses a compressed request when no decompression layer took care of
/// it: UNIMPLEMENTED, with `grpc-accept-encoding: identity`.
pub(crate) fn encoding_rejection(headers: &http::HeaderMap) -> Option<http::Response<GrpcBody>> {
    match headers.get(GRPC_ENCODING) {
        None => None,
        Some(v) if v.as_bytes() == b"identity" => None,
        Some(v) => {
            let status = Status::unimplemented(format!(
                "message encoding {:?} is not supported (no decompression configured)",
                String::from_utf8_lossy(v.as_bytes())
            ));
            let mut response: http::Response<GrpcBody> = status.into_http();
            response
                .headers_mut()
                .insert(GRPC_ACCEPT_ENCODING, HeaderValue::from_static("identity"));
            Some(response)
        }
    }
}

macro_rules! limit_setters {
    () => {
        /// Limits the size of each received message (default 4 MiB);
        /// a larger one is answered with RESOURCE_EXHAUSTED.
        pub fn max_decoding_message_size(mut self, limit: usize) -> Self {
            self.limits.max_recv = limit;
            self
        }

        /// Limits the size of each sent message (default `i32::MAX`);
        /// a larger one ends the call with RESOURCE_EXHAUSTED.
        pub fn max_encoding_message_size(mut self, limit: usize) -> Self {
            self.limits.max_send = limit;
            self
        }
    };
}
pub(crate) use limit_setters;

#[cfg(test)]
mod tests;
