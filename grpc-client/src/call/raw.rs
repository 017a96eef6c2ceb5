//! [`Call`]: one call driven step by step.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use grpc_core::codec::framing::encode_message;
use grpc_core::codec::Codec;
use grpc_core::limits::MessageLimits;
use grpc_core::metadata::MetadataMap;
use grpc_core::{GrpcBody, GrpcMethod, Request, Status, Streaming};
use http::Extensions;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::cancel::{self, Canceller};
use super::head::{build_request, read_response, ready, Head};
use crate::service::GrpcService;

/// One gRPC call driven step by step, for full control of its HTTP/2
/// stream (in the manner of Python grpclib's `Stream`).
///
/// Each step of the call is an explicit method, and any of the four RPC
/// kinds can be built from them:
///
/// | step | method |
/// |---|---|
/// | send the request head (metadata) | [`Call::start`] |
/// | send a message | [`Call::send_message`] |
/// | end the request side (half-close) | [`Call::end_request`] |
/// | receive the initial metadata | [`Call::recv_initial_metadata`] |
/// | receive a message | [`Call::recv_message`] |
/// | receive the trailing metadata and status | [`Call::recv_trailing_metadata`] |
/// | reset the stream | [`Call::cancel`] (or drop the call) |
///
/// ```no_run
/// use bytes::Bytes;
/// use grpc_client::{Call, Endpoint};
/// use grpc_core::codec::BytesCodec;
/// use grpc_core::metadata::MetadataMap;
/// use grpc_core::GrpcMethod;
///
/// # async fn run() -> Result<(), grpc_core::Status> {
/// let mut channel = Endpoint::from_static("http://127.0.0.1:50051").connect_lazy();
/// let method = GrpcMethod::new("echo.Echo", "Chat");
/// let mut call = Call::start(&mut channel, method, MetadataMap::new(), BytesCodec).await?;
/// call.send_message(Bytes::from_static(b"ping")).await?;
/// let headers = call.recv_initial_metadata().await?.clone();
/// let pong = call.recv_message().await?;
/// call.end_request();
/// assert!(call.recv_message().await?.is_none());
/// let trailers = call.recv_trailing_metadata().await?;
/// # let _ = (headers, pong, trailers); Ok(()) }
/// ```
///
/// # How the call makes progress
///
/// [`Call::start`] spawns the service's response future on the tokio
/// runtime, so the call connects, sends its head and receives the response
/// head while you are not polling it (for example while you are still
/// sending). The request body is fed by a bounded channel of one message, so
/// [`Call::send_message`] waits while HTTP/2 flow control holds the stream
/// back. Receiving reads the response body directly, without another task.
///
/// # Cancellation
///
/// [`Call::cancel`], or dropping the call before its end, aborts the spawned
/// response future and resets the stream with `RST_STREAM(CANCEL)`.
pub struct Call<C: Codec> {
    codec: C,
    /// The call's limits, as its request head's extensions carry them.
    limits: MessageLimits,
    /// Feeds the request body; `None` once the request side ended.
    sender: Option<mpsc::Sender<Bytes>>,
    canceller: Canceller,
    initial_metadata: MetadataMap,
    extensions: Extensions,
    response: Progress<C::Decode>,
}

// The streaming state is the one a call spends its life in; boxing it would
// only add an allocation per call.
#[allow(clippy::large_enum_variant)]
enum Progress<T> {
    /// The response head has not been read yet.
    Pending(JoinHandle<Result<Head, Status>>),
    /// Reading messages.
    Streaming(Streaming<T>),
    /// The call is over: trailing metadata, or the status it failed with.
    Done(Result<MetadataMap, Status>),
}

impl<C: Codec> Call<C> {
    /// Starts a call: waits until `service` is ready, then sends the request
    /// head (the path is `/{service}/{method}`).
    ///
    /// The head is a [`MetadataMap`], or a [`Request<()>`] whose extensions
    /// also go with the call (a [`MessageLimits`] for its message size
    /// limits, a deadline, a compression choice, for the layers that read
    /// them). The call's limits are the ones its extensions carry, merged
    /// by the one rule of [`grpc_core::limits`] (4 MiB received and
    /// `i32::MAX` sent when none asks otherwise); layers in the stack may
    /// narrow them further.
    ///
    /// The response future is spawned on the tokio runtime, so this needs
    /// one.
    pub async fn start<S>(
        service: &mut S,
        method: GrpcMethod,
        head: impl Into<Request<()>>,
        codec: C,
    ) -> Result<Call<C>, Status>
    where
        S: GrpcService,
        S::Future: Send + 'static,
    {
        ready(service).await?;
        let (metadata, extensions, ()) = head.into().into_parts();
        let limits = MessageLimits::of(&extensions);
        let (sender, receiver) = mpsc::channel(1);
        let (canceller, body) = cancel::link(MpscBody { receiver });
        let request = build_request(metadata, extensions, method, GrpcBody::new(body))?;
        let response = service.call(request);
        let task = tokio::spawn(async move { read_response(response.await) });
        Ok(Call {
            codec,
            limits,
            sender: Some(sender),
            canceller,
            initial_metadata: MetadataMap::new(),
            extensions: Extensions::new(),
            response: Progress::Pending(task),
        })
    }

    /// Sends one message; waits while the stream is flow-controlled.
    ///
    /// A message over the send limit is `RESOURCE_EXHAUSTED` and is not
    /// sent (the call goes on). After [`Call::end_request`] this is
    /// `FAILED_PRECONDITION`. When the stream can no longer take messages
    /// (the server ended the call, the stream was reset, the connection
    /// failed), the error is the call's status when the response head tells
    /// it, and `UNAVAILABLE` otherwise; the response is still readable.
    pub async fn send_message(&mut self, message: C::Encode) -> Result<(), Status> {
        let Some(sender) = &self.sender else {
            return Err(Status::failed_precondition(
                "the request side of this call has already ended",
            ));
        };
        let bytes = encode_message(&mut self.codec, message, self.limits.max_send())?;
        if sender.send(bytes).await.is_ok() {
            return Ok(());
        }
        self.sender = None;
        match self.await_head().await {
            Err(status) => Err(status),
            Ok(()) => Err(Status::unavailable(
                "the stream no longer accepts request messages; the response carries the call's outcome",
            )),
        }
    }

    /// Ends the request side (half-close): the server sees the end of the
    /// request stream once the messages already sent are delivered.
    pub fn end_request(&mut self) {
        self.sender = None;
    }

    /// Waits for the response head and returns the initial metadata.
    ///
    /// A trailers-only response or a non-gRPC HTTP response carries no
    /// initial metadata: an error status is returned as `Err`, an OK one
    /// gives empty metadata (its metadata is the trailing metadata).
    pub async fn recv_initial_metadata(&mut self) -> Result<&MetadataMap, Status> {
        self.await_head().await?;
        Ok(&self.initial_metadata)
    }

    /// The next response message; `Ok(None)` once the response ended with
    /// an OK status, `Err` with the status otherwise.
    pub async fn recv_message(&mut self) -> Result<Option<C::Decode>, Status> {
        self.await_head().await?;
        let Progress::Streaming(stream) = &mut self.response else {
            return match &self.response {
                Progress::Done(Ok(_)) => Ok(None),
                Progress::Done(Err(status)) => Err(status.clone()),
                _ => unreachable!("the head was read"),
            };
        };
        match stream.message().await {
            Ok(Some(message)) => Ok(Some(message)),
            Ok(None) => {
                let trailers = stream.take_trailers().unwrap_or_default();
                self.response = Progress::Done(Ok(trailers));
                Ok(None)
            }
            Err(status) => {
                // A failed status from the trailers, or a message we could
                // not read: either way the call is over (dropping the
                // stream resets it if the server is still sending).
                self.canceller.cancel();
                self.response = Progress::Done(Err(status.clone()));
                Err(status)
            }
        }
    }

    /// Waits for the end of the response: the trailing metadata when the
    /// status is OK, the status otherwise (also for trailers-only and
    /// non-gRPC responses). Response messages not received yet are read and
    /// dropped.
    pub async fn recv_trailing_metadata(&mut self) -> Result<MetadataMap, Status> {
        while self.recv_message().await?.is_some() {}
        match &self.response {
            Progress::Done(Ok(trailers)) => Ok(trailers.clone()),
            Progress::Done(Err(status)) => Err(status.clone()),
            _ => unreachable!("the response was read to its end"),
        }
    }

    /// The extensions of the response head (empty until it was received).
    pub fn response_extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// Cancels the call: resets the stream with `RST_STREAM(CANCEL)` unless
    /// it already ended. The same happens when a call is dropped.
    pub fn cancel(self) {
        drop(self);
    }

    /// Waits for the response head, once; `Err` when the call failed.
    async fn await_head(&mut self) -> Result<(), Status> {
        let Progress::Pending(task) = &mut self.response else {
            return match &self.response {
                Progress::Done(Err(status)) => Err(status.clone()),
                _ => Ok(()),
            };
        };
        let head = match task.await {
            Ok(head) => head,
            Err(join) => {
                Err(Status::cancelled("the call's response task was aborted").with_source(join))
            }
        };
        match head {
            Ok(head) => {
                let max = head.receive_limit(self.limits);
                self.initial_metadata = head.metadata;
                self.extensions = head.extensions;
                let stream = Streaming::new_response(head.body, self.codec.clone(), max);
                self.response = Progress::Streaming(stream);
                Ok(())
            }
            Err(status) => {
                self.canceller.cancel();
                self.response = Progress::Done(Err(status.clone()));
                Err(status)
            }
        }
    }
}

impl<C: Codec> Drop for Call<C> {
    fn drop(&mut self) {
        if let Progress::Pending(task) = &self.response {
            // Drops the service's response future (and with it the stream).
            task.abort();
        }
        // The canceller, dropped next, fails the request body with CANCEL.
    }
}

impl<C: Codec> fmt::Debug for Call<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let progress = match &self.response {
            Progress::Pending(_) => "waiting for the response head",
            Progress::Streaming(_) => "receiving messages",
            Progress::Done(Ok(_)) => "done",
            Progress::Done(Err(_)) => "failed",
        };
        f.debug_struct("Call")
            .field("request_open", &self.sender.is_some())
            .field("response", &progress)
            .finish()
    }
}

/// The request body of a [`Call`], fed through a bounded mpsc channel:
/// the messages sent into it, and the end of the stream once the sender is
/// dropped.
#[derive(Debug)]
struct MpscBody {
    receiver: mpsc::Receiver<Bytes>,
}

impl Body for MpscBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        self.receiver
            .poll_recv(cx)
            .map(|message| message.map(|bytes| Ok(Frame::data(bytes))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grpc_core::codec::BytesCodec;
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};

    #[tokio::test]
    async fn the_limits_of_the_request_head_go_with_the_call_and_bound_it() {
        let seen = Arc::new(Mutex::new(None));
        let record = seen.clone();
        let mut service = tower::service_fn(move |request: http::Request<GrpcBody>| {
            *record.lock().unwrap() = request.extensions().get::<MessageLimits>().copied();
            let mut response = http::Response::new(GrpcBody::empty());
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                grpc_core::headers::APPLICATION_GRPC,
            );
            std::future::ready(Ok::<_, Infallible>(response))
        });
        let mut head = Request::new(());
        head.extensions_mut().insert(MessageLimits::new(100, 3));
        let mut call = Call::start(
            &mut service,
            GrpcMethod::new("pkg.Svc", "M"),
            head,
            BytesCodec,
        )
        .await
        .unwrap();
        assert_eq!(*seen.lock().unwrap(), Some(MessageLimits::new(100, 3)));
        let status = call
            .send_message(Bytes::from_static(b"four"))
            .await
            .unwrap_err();
        assert_eq!(status.code(), grpc_core::Code::ResourceExhausted);
    }
}
