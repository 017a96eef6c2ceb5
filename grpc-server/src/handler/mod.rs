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
//! # Limits and encodings
//!
//! Every adapter starts a call the same way, in one place:
//!
//! - its message size limits are the call's [`MessageLimits`] (set by a
//!   limits layer further out) narrowed with the adapter's own
//!   `max_receive_message_size` / `max_send_message_size`, if set: the
//!   narrowest wins, and where nothing asks, 4 MiB received and `i32::MAX`
//!   sent ([`grpc_core::limits`]);
//! - a request whose `grpc-encoding` nothing decompressed (no compression
//!   layer took it off) is answered `UNIMPLEMENTED` with
//!   `grpc-accept-encoding: identity`, and the handler never runs.
//!
//! A message still flagged compressed is refused where messages are
//! decoded ([`grpc_core::codec::decode_message`]), as `INTERNAL`.

mod raw;
mod read;
mod stream;

pub use raw::{raw, Raw, RawFuture, ServerCall};
pub use read::{ReadOne, ReadOneFuture};
pub use stream::{CallStreaming, CallStreamingFuture};

use std::future::Future;

use futures_core::Stream;
use grpc_core::codec::framing::encode_message;
use grpc_core::codec::{Codec, EncodeBody};
use grpc_core::headers::{APPLICATION_GRPC, GRPC_ACCEPT_ENCODING, GRPC_ENCODING};
use grpc_core::limits::MessageLimits;
use grpc_core::{GrpcBody, MetadataMap, Request, Response, Status, Streaming};
use http::header::CONTENT_TYPE;
use http::HeaderValue;

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

/// The start of every adapter's call (see the [module docs](self)): the
/// call's limits, or why it is refused.
pub(crate) fn begin(
    own: MessageLimits,
    parts: &http::request::Parts,
) -> Result<MessageLimits, UndecodedEncoding> {
    match parts.headers.get(GRPC_ENCODING) {
        Some(encoding) if encoding.as_bytes() != b"identity" => {
            Err(UndecodedEncoding(encoding.clone()))
        }
        _ => Ok(MessageLimits::of(&parts.extensions).narrow(own)),
    }
}

/// A request in a `grpc-encoding` that no decompression layer took care of.
pub(crate) struct UndecodedEncoding(HeaderValue);

impl UndecodedEncoding {
    /// The answer: UNIMPLEMENTED, with `grpc-accept-encoding: identity`.
    pub(crate) fn into_response(self) -> http::Response<GrpcBody> {
        let status = Status::unimplemented(format!(
            "message encoding {:?} is not supported (no decompression configured)",
            String::from_utf8_lossy(self.0.as_bytes())
        ));
        let mut response: http::Response<GrpcBody> = status.into_http();
        response
            .headers_mut()
            .insert(GRPC_ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        response
    }
}

macro_rules! limit_setters {
    () => {
        /// Limits the size of each received message (default: the call's
        /// limit, 4 MiB unless a layer asks otherwise; the narrower of the
        /// two wins); a larger one is answered with RESOURCE_EXHAUSTED.
        pub fn max_receive_message_size(mut self, bytes: usize) -> Self {
            self.limits = self.limits.with_max_receive(bytes);
            self
        }

        /// Limits the size of each sent message (default: the call's
        /// limit, `i32::MAX` unless a layer asks otherwise; the narrower
        /// wins); a larger one ends the call with RESOURCE_EXHAUSTED.
        pub fn max_send_message_size(mut self, bytes: usize) -> Self {
            self.limits = self.limits.with_max_send(bytes);
            self
        }
    };
}
pub(crate) use limit_setters;

#[cfg(test)]
mod tests;
