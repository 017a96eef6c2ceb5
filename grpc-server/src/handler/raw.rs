//! The low-level server call: [`raw`] handlers and [`ServerCall`].

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use grpc_core::codec::framing::encode_message;
use grpc_core::codec::Codec;
use grpc_core::limits::MessageLimits;
use grpc_core::{GrpcBody, MetadataMap, Status, Streaming};
use http::{Extensions, HeaderMap};
use http_body::{Body, Frame, SizeHint};
use tokio::sync::{mpsc, oneshot};
use tower_service::Service;

use super::{begin, grpc_response, limit_setters};

/// How many encoded messages may wait between the handler and the response
/// body before `send_message` waits.
const SEND_QUEUE: usize = 8;

type BoxHandlerFuture = Pin<Box<dyn Future<Output = Result<(), Status>> + Send>>;

/// A low-level handler, in full control of one HTTP/2 stream.
///
/// A [`raw`] handler receives a [`ServerCall`] and decides, step by step,
/// when to read request messages, when to send the response headers
/// (initial metadata), when to send each message and which trailing
/// metadata to end with. It serves any of the four RPC kinds.
///
/// ```
/// use grpc_core::codec::BytesCodec;
/// use grpc_core::{MetadataMap, Status};
/// use grpc_server::handler::{self, ServerCall};
///
/// let svc = handler::raw(BytesCodec, |mut call: ServerCall<BytesCodec>| async move {
///     let mut md = MetadataMap::new();
///     md.insert("x-hello", "early").unwrap();
///     call.send_initial_metadata(md)?;          // headers go out now
///     while let Some(msg) = call.recv_message().await? {
///         call.send_message(msg).await?;        // echo each message
///     }
///     let mut trailers = MetadataMap::new();
///     trailers.insert("x-done", "yes").unwrap();
///     call.set_trailing_metadata(trailers);
///     Ok::<(), Status>(())                      // ends with grpc-status 0
/// });
/// # let _ = svc;
/// ```
///
/// The handler's future is driven by the response body once the headers are
/// out, in the connection's stream task; it is boxed once per call.
pub fn raw<C, F, Fut>(codec: C, handler: F) -> Raw<C, F>
where
    C: Codec,
    F: Fn(ServerCall<C>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Status>> + Send + 'static,
{
    Raw {
        codec,
        handler,
        limits: MessageLimits::default(),
    }
}

/// One call as seen by a [`raw`] handler.
pub struct ServerCall<C: Codec> {
    metadata: MetadataMap,
    extensions: Extensions,
    requests: Streaming<C::Decode>,
    codec: C,
    max_send: usize,
    head: Option<oneshot::Sender<MetadataMap>>,
    messages: mpsc::Sender<Bytes>,
    trailers: Arc<Mutex<MetadataMap>>,
}

impl<C: Codec> ServerCall<C> {
    /// The request metadata.
    pub fn metadata(&self) -> &MetadataMap {
        &self.metadata
    }

    /// The request extensions (peer address, method, …).
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// The next request message; `Ok(None)` once the client half-closed.
    pub async fn recv_message(&mut self) -> Result<Option<C::Decode>, Status> {
        self.requests.message().await
    }

    /// Sends the response headers with this initial metadata now.
    ///
    /// Fails with FAILED_PRECONDITION if the headers already went out (they
    /// go out with the first message at the latest).
    pub fn send_initial_metadata(&mut self, metadata: MetadataMap) -> Result<(), Status> {
        match self.head.take() {
            Some(head) => head
                .send(metadata)
                .map_err(|_| Status::cancelled("the call was cancelled")),
            None => Err(Status::failed_precondition(
                "initial metadata was already sent",
            )),
        }
    }

    /// Whether the response headers went out.
    pub fn initial_metadata_sent(&self) -> bool {
        self.head.is_none()
    }

    /// Sends one message, sending the headers first if they have not gone
    /// out. Waits while the client is not reading (flow control).
    pub async fn send_message(&mut self, message: C::Encode) -> Result<(), Status> {
        if self.head.is_some() {
            self.send_initial_metadata(MetadataMap::new())?;
        }
        let frame = encode_message(&mut self.codec, message, self.max_send)?;
        self.messages
            .send(frame)
            .await
            .map_err(|_| Status::cancelled("the call was cancelled"))
    }

    /// Sets the trailing metadata sent with the final status.
    pub fn set_trailing_metadata(&mut self, metadata: MetadataMap) {
        *self.trailers.lock().unwrap_or_else(|e| e.into_inner()) = metadata;
    }
}

impl<C: Codec> fmt::Debug for ServerCall<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerCall")
            .field("metadata", &self.metadata)
            .field("initial_metadata_sent", &self.head.is_none())
            .finish_non_exhaustive()
    }
}

/// Service for [`raw`] handlers.
#[derive(Clone)]
pub struct Raw<C, F> {
    codec: C,
    handler: F,
    limits: MessageLimits,
}

impl<C, F> Raw<C, F> {
    limit_setters!();
}

impl<C, F> fmt::Debug for Raw<C, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Raw").field("limits", &self.limits).finish()
    }
}

impl<C, F, Fut> Service<http::Request<GrpcBody>> for Raw<C, F>
where
    C: Codec,
    F: Fn(ServerCall<C>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Status>> + Send + 'static,
{
    type Response = http::Response<GrpcBody>;
    type Error = Infallible;
    type Future = RawFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<GrpcBody>) -> RawFuture {
        let (parts, body) = request.into_parts();
        let limits = match begin(self.limits, &parts) {
            Ok(limits) => limits,
            Err(refused) => {
                return RawFuture {
                    state: Some(RawState::Ready(refused.into_response())),
                }
            }
        };
        let (head_tx, head_rx) = oneshot::channel();
        let (msg_tx, msg_rx) = mpsc::channel(SEND_QUEUE);
        let trailers = Arc::new(Mutex::new(MetadataMap::new()));
        let call = ServerCall {
            metadata: MetadataMap::from_headers(parts.headers),
            extensions: parts.extensions,
            requests: Streaming::new_request(body, self.codec.clone(), limits.max_receive()),
            codec: self.codec.clone(),
            max_send: limits.max_send(),
            head: Some(head_tx),
            messages: msg_tx,
            trailers: trailers.clone(),
        };
        let fut: BoxHandlerFuture = Box::pin((self.handler)(call));
        RawFuture {
            state: Some(RawState::Running(Running {
                fut,
                head: head_rx,
                messages: msg_rx,
                trailers,
            })),
        }
    }
}

struct Running {
    fut: BoxHandlerFuture,
    head: oneshot::Receiver<MetadataMap>,
    messages: mpsc::Receiver<Bytes>,
    trailers: Arc<Mutex<MetadataMap>>,
}

enum RawState {
    Running(Running),
    Ready(http::Response<GrpcBody>),
}

/// Response future of [`Raw`]: resolves when the handler sends its headers
/// or finishes.
pub struct RawFuture {
    state: Option<RawState>,
}

impl fmt::Debug for RawFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawFuture").finish_non_exhaustive()
    }
}

fn final_trailers(result: Result<(), Status>, trailers: &Mutex<MetadataMap>) -> HeaderMap {
    let metadata = std::mem::take(&mut *trailers.lock().unwrap_or_else(|e| e.into_inner()));
    let mut headers = metadata.into_headers();
    match result {
        Ok(()) => Status::ok().add_to_headers(&mut headers),
        Err(status) => status.add_to_headers(&mut headers),
    }
    headers
}

impl Future for RawFuture {
    type Output = Result<http::Response<GrpcBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut running = match self.state.take().expect("polled after completion") {
            RawState::Ready(response) => return Poll::Ready(Ok(response)),
            RawState::Running(running) => running,
        };
        if let Poll::Ready(result) = running.fut.as_mut().poll(cx) {
            return Poll::Ready(Ok(match running.head.try_recv() {
                Ok(metadata) => grpc_response(
                    metadata,
                    GrpcBody::new(RawBody {
                        fut: None,
                        result: Some(result),
                        messages: running.messages,
                        trailers: running.trailers,
                    }),
                ),
                Err(_) => {
                    // Nothing was sent: a trailers-only response.
                    let headers = final_trailers(result, &running.trailers);
                    let mut response = grpc_response(MetadataMap::new(), GrpcBody::empty());
                    response.headers_mut().extend(headers);
                    response
                }
            }));
        }
        match Pin::new(&mut running.head).poll(cx) {
            Poll::Ready(Ok(metadata)) => Poll::Ready(Ok(grpc_response(
                metadata,
                GrpcBody::new(RawBody {
                    fut: Some(running.fut),
                    result: None,
                    messages: running.messages,
                    trailers: running.trailers,
                }),
            ))),
            // The call object was dropped without sending headers, or
            // nothing happened yet: wait for the handler to finish.
            Poll::Ready(Err(_)) | Poll::Pending => {
                self.state = Some(RawState::Running(running));
                Poll::Pending
            }
        }
    }
}

/// The response body of a [`raw`] handler: drives the handler and sends
/// what it queues, then the trailers.
struct RawBody {
    fut: Option<BoxHandlerFuture>,
    result: Option<Result<(), Status>>,
    messages: mpsc::Receiver<Bytes>,
    trailers: Arc<Mutex<MetadataMap>>,
}

impl Body for RawBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = &mut *self;
        if let Some(fut) = this.fut.as_mut() {
            if let Poll::Ready(Some(frame)) = this.messages.poll_recv(cx) {
                return Poll::Ready(Some(Ok(Frame::data(frame))));
            }
            match fut.as_mut().poll(cx) {
                Poll::Ready(result) => {
                    this.fut = None;
                    this.result = Some(result);
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        // The handler is done: flush what it queued, then the status.
        if let Ok(frame) = this.messages.try_recv() {
            return Poll::Ready(Some(Ok(Frame::data(frame))));
        }
        match this.result.take() {
            Some(result) => Poll::Ready(Some(Ok(Frame::trailers(final_trailers(
                result,
                &this.trailers,
            ))))),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.fut.is_none() && self.result.is_none() && self.messages.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}
