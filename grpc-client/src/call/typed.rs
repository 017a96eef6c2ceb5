//! [`Grpc`]: typed calls of the four kinds.

use futures_core::Stream;
use futures_util::StreamExt;
use grpc_core::codec::framing::encode_message;
use grpc_core::codec::{Codec, EncodeBody};
use grpc_core::limits::MessageLimits;
use grpc_core::{GrpcBody, GrpcMethod, Request, Response, Status, Streaming};

use super::cancel::{self, GuardedBody};
use super::head::{build_request, read_response, ready, Head};
use crate::service::GrpcService;

/// Typed gRPC calls over a [`GrpcService`] such as a
/// [`Channel`](crate::Channel).
///
/// ```no_run
/// use grpc_client::{Endpoint, Grpc};
/// use grpc_core::codec::BytesCodec;
/// use grpc_core::{GrpcMethod, Request};
///
/// # async fn run() -> Result<(), grpc_core::Status> {
/// let channel = Endpoint::from_static("http://127.0.0.1:50051").connect_lazy();
/// let mut grpc = Grpc::new(channel);
/// let method = GrpcMethod::new("echo.Echo", "Say");
/// let reply = grpc
///     .unary(Request::new(bytes::Bytes::from_static(b"hi")), method, BytesCodec)
///     .await?;
/// println!("{:?} then {:?}", reply.get_ref(), reply.trailers());
/// # Ok(()) }
/// ```
///
/// The generated clients are thin wrappers around these four methods:
///
/// | kind | request | response |
/// |---|---|---|
/// | [`unary`](Grpc::unary) | one message | one message |
/// | [`server_streaming`](Grpc::server_streaming) | one message | [`Streaming`] |
/// | [`client_streaming`](Grpc::client_streaming) | a `Stream` | one message |
/// | [`streaming`](Grpc::streaming) | a `Stream` | [`Streaming`] |
///
/// Each call sends `POST /{service}/{method}` with the request metadata as
/// headers and the [`GrpcMethod`] in the request extensions, then reads the
/// response as [`call`](crate::call#how-a-response-is-read) describes. A failure known from the
/// response head (a trailers-only status, a non-gRPC HTTP error) is the
/// `Err` of the call; a non-OK status in the trailers is the `Err` of a
/// call with a unary response, and the last item of a [`Streaming`]
/// response. Transport errors become a [`Status`] through
/// [`status_from_error`](crate::status::status_from_error).
///
/// # Limits
///
/// Received messages longer than
/// [`max_receive_message_size`](Grpc::max_receive_message_size) (4 MiB by
/// default) fail with `RESOURCE_EXHAUSTED`; sent messages longer than
/// [`max_send_message_size`](Grpc::max_send_message_size) (`i32::MAX` by
/// default) fail the call with `RESOURCE_EXHAUSTED` before anything is sent
/// (unary) or reset the stream (streaming). A [`MessageLimits`] in a
/// request's extensions asks for limits for that call; by the one rule of
/// [`grpc_core::limits`] the narrowest of it and the client's wins, and the
/// merged limits go into the extensions, so layers in the channel stack
/// (a limits layer, decompression) apply the same ones, each narrowing them
/// further if it asks for less.
///
/// # Cancellation
///
/// Dropping a call's future, or the [`Streaming`] of its response before
/// the end, resets the HTTP/2 stream with `CANCEL`, also while a streaming
/// request is still being sent.
#[derive(Debug, Clone)]
pub struct Grpc<S> {
    inner: S,
    /// The limits this client asks for (none by default).
    limits: MessageLimits,
}

impl<S> Grpc<S> {
    /// Calls through `inner`, with the default message size limits.
    pub fn new(inner: S) -> Self {
        Grpc {
            inner,
            limits: MessageLimits::default(),
        }
    }

    /// Sets the largest message accepted from the server (default 4 MiB;
    /// a narrower limit of the call or of a layer wins).
    pub fn max_receive_message_size(mut self, bytes: usize) -> Self {
        self.limits = self.limits.with_max_receive(bytes);
        self
    }

    /// Sets the largest message sent to the server (default `i32::MAX`;
    /// a narrower limit of the call or of a layer wins).
    pub fn max_send_message_size(mut self, bytes: usize) -> Self {
        self.limits = self.limits.with_max_send(bytes);
        self
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

impl<S: GrpcService> Grpc<S> {
    /// One message in, one message out.
    pub async fn unary<C: Codec>(
        &mut self,
        request: Request<C::Encode>,
        method: GrpcMethod,
        mut codec: C,
    ) -> Result<Response<C::Decode>, Status> {
        let (metadata, mut extensions, message) = request.into_parts();
        let limits = self.limits(&mut extensions);
        let bytes = encode_message(&mut codec, message, limits.max_send())?;
        let request = build_request(metadata, extensions, method, GrpcBody::once(bytes, None))?;
        let head = self.send(request).await?;
        read_single(head, codec, limits).await
    }

    /// One message in, a stream of messages out.
    pub async fn server_streaming<C: Codec>(
        &mut self,
        request: Request<C::Encode>,
        method: GrpcMethod,
        mut codec: C,
    ) -> Result<Response<Streaming<C::Decode>>, Status> {
        let (metadata, mut extensions, message) = request.into_parts();
        let limits = self.limits(&mut extensions);
        let bytes = encode_message(&mut codec, message, limits.max_send())?;
        let request = build_request(metadata, extensions, method, GrpcBody::once(bytes, None))?;
        let head = self.send(request).await?;
        Ok(read_stream(head, codec, limits))
    }

    /// A stream of messages in, one message out.
    pub async fn client_streaming<St, C>(
        &mut self,
        request: Request<St>,
        method: GrpcMethod,
        codec: C,
    ) -> Result<Response<C::Decode>, Status>
    where
        St: Stream<Item = C::Encode> + Send + 'static,
        C: Codec,
    {
        let (request, canceller, limits) =
            self.streaming_request(request, method, codec.clone())?;
        let mut head = self.send(request).await?;
        head.body = GrpcBody::new(GuardedBody::new(head.body, canceller));
        read_single(head, codec, limits).await
    }

    /// A stream of messages in, a stream of messages out.
    pub async fn streaming<St, C>(
        &mut self,
        request: Request<St>,
        method: GrpcMethod,
        codec: C,
    ) -> Result<Response<Streaming<C::Decode>>, Status>
    where
        St: Stream<Item = C::Encode> + Send + 'static,
        C: Codec,
    {
        let (request, canceller, limits) =
            self.streaming_request(request, method, codec.clone())?;
        let mut head = self.send(request).await?;
        head.body = GrpcBody::new(GuardedBody::new(head.body, canceller));
        Ok(read_stream(head, codec, limits))
    }

    /// The limits of one call: this client's merged into the request
    /// extensions by the one rule (the narrowest wins), so layers further
    /// in apply the same ones.
    fn limits(&self, extensions: &mut http::Extensions) -> MessageLimits {
        self.limits.apply(extensions)
    }

    /// The request of a client-streaming or bidi call, with the canceller
    /// that resets it when the response side is dropped.
    fn streaming_request<St, C>(
        &self,
        request: Request<St>,
        method: GrpcMethod,
        codec: C,
    ) -> Result<(http::Request<GrpcBody>, cancel::Canceller, MessageLimits), Status>
    where
        St: Stream<Item = C::Encode> + Send + 'static,
        C: Codec,
    {
        let (metadata, mut extensions, messages) = request.into_parts();
        let limits = self.limits(&mut extensions);
        let body = EncodeBody::client(messages.map(Ok), codec, limits.max_send());
        let (canceller, body) = cancel::link(body);
        let request = build_request(metadata, extensions, method, GrpcBody::new(body))?;
        Ok((request, canceller, limits))
    }

    async fn send(&mut self, request: http::Request<GrpcBody>) -> Result<Head, Status> {
        ready(&mut self.inner).await?;
        read_response(self.inner.call(request).await)
    }
}

// Free functions rather than methods: a call future must not hold `&self`
// across an await, or it would need `S: Sync` to be `Send`.

async fn read_single<C: Codec>(
    head: Head,
    codec: C,
    limits: MessageLimits,
) -> Result<Response<C::Decode>, Status> {
    let max = head.receive_limit(limits);
    let mut stream = Streaming::new_response(head.body, codec, max);
    let message = single_message(&mut stream).await?;
    let trailers = stream.take_trailers().unwrap_or_default();
    Ok(Response::from_parts(
        head.metadata,
        trailers,
        head.extensions,
        message,
    ))
}

fn read_stream<C: Codec>(
    head: Head,
    codec: C,
    limits: MessageLimits,
) -> Response<Streaming<C::Decode>> {
    let max = head.receive_limit(limits);
    let stream = Streaming::new_response(head.body, codec, max);
    Response::from_parts(head.metadata, Default::default(), head.extensions, stream)
}

/// The one message of a unary response: exactly one message, then trailers
/// with an OK status. Zero or more than one message is
/// [`Code::Internal`](grpc_core::Code::Internal).
pub(crate) async fn single_message<T>(stream: &mut Streaming<T>) -> Result<T, Status> {
    let Some(message) = stream.message().await? else {
        return Err(Status::internal(
            "protocol error: the server sent no response message for a unary response",
        ));
    };
    match stream.message().await? {
        None => Ok(message),
        Some(_) => Err(Status::internal(
            "protocol error: the server sent more than one response message for a unary response",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::head::tests::response;
    use super::*;
    use bytes::Bytes;
    use grpc_core::codec::BytesCodec;
    use grpc_core::test_util::ScriptedBody;
    use grpc_core::Code;
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};

    const METHOD: GrpcMethod = GrpcMethod::new("pkg.Svc", "M");

    /// A service answering one 10-byte message, recording the request head.
    fn recording() -> (
        impl GrpcService<Future = impl Send> + Clone,
        Arc<Mutex<Option<http::request::Parts>>>,
    ) {
        let seen = Arc::new(Mutex::new(None));
        let record = seen.clone();
        let service = tower::service_fn(move |request: http::Request<GrpcBody>| {
            let (parts, _body) = request.into_parts();
            *record.lock().unwrap() = Some(parts);
            let body = ScriptedBody::messages([[7u8; 10]]).with_status(&Status::ok());
            let mut response = http::Response::new(body);
            response.headers_mut().insert(
                "content-type",
                http::HeaderValue::from_static("application/grpc"),
            );
            std::future::ready(Ok::<_, Infallible>(response))
        });
        (service, seen)
    }

    #[tokio::test]
    async fn the_method_and_the_limits_travel_in_the_request_extensions() {
        let (service, seen) = recording();
        let mut grpc = Grpc::new(service)
            .max_receive_message_size(100)
            .max_send_message_size(50);
        grpc.unary(Request::new(Bytes::new()), METHOD, BytesCodec)
            .await
            .unwrap();
        let parts = seen.lock().unwrap().take().unwrap();
        assert_eq!(parts.uri, "/pkg.Svc/M");
        assert_eq!(parts.extensions.get::<GrpcMethod>(), Some(&METHOD));
        assert_eq!(
            parts.extensions.get::<MessageLimits>(),
            Some(&MessageLimits::new(100, 50))
        );
    }

    #[tokio::test]
    async fn message_limits_in_a_request_narrow_the_clients_for_that_call() {
        let (service, seen) = recording();
        let mut grpc = Grpc::new(service);
        let mut request = Request::new(Bytes::new());
        request.extensions_mut().insert(MessageLimits::new(9, 1000));
        let status = grpc.unary(request, METHOD, BytesCodec).await.unwrap_err();
        assert_eq!(
            status.code(),
            Code::ResourceExhausted,
            "the 10-byte reply is over 9"
        );
        let parts = seen.lock().unwrap().take().unwrap();
        assert_eq!(
            parts.extensions.get::<MessageLimits>(),
            Some(&MessageLimits::new(9, 1000))
        );

        // The next call, without the extension, uses the client's limits again.
        grpc.unary(Request::new(Bytes::new()), METHOD, BytesCodec)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_service_error_is_mapped_through_status_from_error() {
        let service = tower::service_fn(|_request: http::Request<GrpcBody>| {
            let refused = h2::Error::from(h2::Reason::REFUSED_STREAM);
            std::future::ready(Err::<http::Response<GrpcBody>, _>(refused))
        });
        let status = Grpc::new(service)
            .unary(Request::new(Bytes::new()), METHOD, BytesCodec)
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unavailable);
    }

    #[tokio::test]
    async fn a_trailers_only_ok_is_a_protocol_error_for_a_unary_response() {
        let r = response(
            200,
            &[("content-type", "application/grpc"), ("grpc-status", "0")],
            ScriptedBody::default(),
        );
        let head = super::super::head::read_head(r).unwrap();
        let mut stream = Streaming::new_response(head.body, BytesCodec, 100);
        assert_eq!(
            single_message(&mut stream).await.unwrap_err().code(),
            Code::Internal
        );
    }

    #[tokio::test]
    async fn a_unary_response_needs_exactly_one_message() {
        let ok = Status::ok();
        let one = ScriptedBody::messages([b"a"]).with_status(&ok);
        let two = ScriptedBody::messages([b"a", b"b"]).with_status(&ok);
        let none = ScriptedBody::default().with_status(&ok);
        let failed = ScriptedBody::messages([b"a"]).with_status(&Status::aborted("x"));
        let read = |b: ScriptedBody| async move {
            let head = super::super::head::read_head(response(
                200,
                &[("content-type", "application/grpc")],
                b,
            ))
            .unwrap();
            let mut stream = Streaming::new_response(head.body, BytesCodec, 100);
            single_message(&mut stream).await
        };
        assert_eq!(read(one).await.unwrap(), "a");
        assert_eq!(read(two).await.unwrap_err().code(), Code::Internal);
        assert_eq!(read(none).await.unwrap_err().code(), Code::Internal);
        assert_eq!(read(failed).await.unwrap_err().code(), Code::Aborted);
    }
}
