//! Small hand-written HTTP/2 servers for the client's end-to-end tests.
//!
//! - [`TestServer`]: a hyper HTTP/2 server on `127.0.0.1` whose responses a
//!   test scripts with a closure; it counts accepted TCP connections and can
//!   be stopped and started again on the same port.
//! - [`RawH2Server`]: an h2 server that answers each stream with response
//!   headers (and optionally one message) and then reports the
//!   `RST_STREAM` reason the client sent, so tests can see a cancellation.
//!
//! Everything listens on loopback only, and every wait is bounded.

#![allow(dead_code, unreachable_pub)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use grpc_client::Endpoint;
use grpc_core::codec::framing::encode_raw;
use grpc_core::codec::Deframer;
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

/// How long any single wait in a test may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test if it takes longer than [`WAIT`].
pub async fn bounded<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(WAIT, future)
        .await
        .expect("the test waited too long")
}

pub type TestBody = BoxBody<Bytes, Infallible>;
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type Handler =
    Arc<dyn Fn(http::Request<Incoming>) -> BoxFuture<http::Response<TestBody>> + Send + Sync>;

/// A hyper HTTP/2 server answering every request with a scripted handler.
pub struct TestServer {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl TestServer {
    /// Starts on a free loopback port.
    pub async fn start<H, F>(handler: H) -> TestServer
    where
        H: Fn(http::Request<Incoming>) -> F + Send + Sync + 'static,
        F: Future<Output = http::Response<TestBody>> + Send + 'static,
    {
        Self::start_on("127.0.0.1:0".parse().unwrap(), handler).await
    }

    /// Starts on the given loopback address (to restart on the same port).
    pub async fn start_on<H, F>(addr: SocketAddr, handler: H) -> TestServer
    where
        H: Fn(http::Request<Incoming>) -> F + Send + Sync + 'static,
        F: Future<Output = http::Response<TestBody>> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |req| Box::pin(handler(req)));
        let listener = TcpListener::bind(addr).await.expect("bind a loopback port");
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(serve(listener, handler, accepted.clone()));
        TestServer {
            addr,
            accepted,
            task,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint::from_shared(format!("http://{}", self.addr)).unwrap()
    }

    /// TCP connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Stops listening and closes every connection.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

async fn serve(listener: TcpListener, handler: Handler, accepted: Arc<AtomicUsize>) {
    // Dropping the set (when this task is aborted) closes every connection.
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        accepted.fetch_add(1, Ordering::SeqCst);
        let handler = handler.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let response = handler(req);
                async move { Ok::<_, Infallible>(response.await) }
            });
            let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A framed gRPC message.
pub fn message(payload: &[u8]) -> Frame<Bytes> {
    Frame::data(encode_raw(payload, false))
}

/// Trailers with `grpc-status` and extra entries.
pub fn status_trailers(code: u32, extra: &[(&'static str, &'static str)]) -> Frame<Bytes> {
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from(code));
    for (k, v) in extra {
        trailers.append(*k, HeaderValue::from_static(v));
    }
    Frame::trailers(trailers)
}

/// A body of these frames.
pub fn frames_body(frames: Vec<Frame<Bytes>>) -> TestBody {
    let stream = futures_util::stream::iter(frames.into_iter().map(Ok::<_, Infallible>));
    StreamBody::new(stream).boxed()
}

/// A body fed by the returned sender; it ends when the sender is dropped.
pub fn channel_body() -> (mpsc::Sender<Frame<Bytes>>, TestBody) {
    let (tx, rx) = mpsc::channel(16);
    (tx, StreamBody::new(FrameStream(rx)).boxed())
}

struct FrameStream(mpsc::Receiver<Frame<Bytes>>);

impl futures_core::Stream for FrameStream {
    type Item = Result<Frame<Bytes>, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|f| f.map(Ok))
    }
}

/// A gRPC response (HTTP 200, `content-type: application/grpc`) with these
/// headers added.
pub fn grpc_response(
    headers: &[(&'static str, &'static str)],
    body: TestBody,
) -> http::Response<TestBody> {
    let mut response = http::Response::new(body);
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/grpc"));
    for (k, v) in headers {
        response
            .headers_mut()
            .append(*k, HeaderValue::from_static(v));
    }
    response
}

/// A plain HTTP response, as a proxy would send.
pub fn http_response(
    status: u16,
    content_type: &'static str,
    text: &'static str,
) -> http::Response<TestBody> {
    let mut response = http::Response::new(frames_body(vec![Frame::data(Bytes::from_static(
        text.as_bytes(),
    ))]));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static(content_type));
    response
}

/// Reads every request message (payloads).
pub async fn read_messages(body: Incoming) -> Vec<Bytes> {
    let mut deframer = Deframer::new(body, 1 << 20);
    let mut out = Vec::new();
    while let Some(frame) = deframer.message().await {
        out.push(frame.expect("a valid request message").into_payload());
    }
    out
}

/// Echoes each request message as soon as it arrives, with `x-init` in the
/// response headers and `x-trail` in the OK trailers.
pub async fn echo_handler(request: http::Request<Incoming>) -> http::Response<TestBody> {
    let (tx, body) = channel_body();
    tokio::spawn(async move {
        let mut deframer = Deframer::new(request.into_body(), 1 << 20);
        while let Some(Ok(frame)) = deframer.message().await {
            if tx.send(message(&frame.into_payload())).await.is_err() {
                return;
            }
        }
        let _ = tx.send(status_trailers(0, &[("x-trail", "bye")])).await;
    });
    grpc_response(&[("x-init", "hello")], body)
}

/// What [`RawH2Server`] does with each stream.
#[derive(Clone, Copy, Debug)]
pub enum RawScript {
    /// Never answer; wait for the client to reset.
    Silent,
    /// Send gRPC response headers and one message, then wait.
    HeadersAndMessage,
    /// Reset the stream at once with this reason.
    Reset(h2::Reason),
    /// Send headers and one message, then reset with this reason.
    MessageThenReset(h2::Reason),
}

/// An h2 server that reports the reset reason of every stream the client
/// resets.
pub struct RawH2Server {
    addr: SocketAddr,
    resets: mpsc::UnboundedReceiver<h2::Reason>,
    task: JoinHandle<()>,
}

impl RawH2Server {
    pub async fn start(script: RawScript) -> RawH2Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, resets) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((tcp, _)) = listener.accept().await {
                let tx = tx.clone();
                connections.spawn(async move {
                    let Ok(mut conn) = h2::server::handshake(tcp).await else {
                        return;
                    };
                    let mut streams = JoinSet::new();
                    while let Some(Ok((_request, respond))) = conn.accept().await {
                        streams.spawn(answer(respond, script, tx.clone()));
                    }
                });
            }
        });
        RawH2Server { addr, resets, task }
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint::from_shared(format!("http://{}", self.addr)).unwrap()
    }

    /// The reason of the next stream reset by the client.
    pub async fn next_reset(&mut self) -> h2::Reason {
        bounded(self.resets.recv())
            .await
            .expect("the server is running")
    }
}

impl Drop for RawH2Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    mut respond: h2::server::SendResponse<Bytes>,
    script: RawScript,
    resets: mpsc::UnboundedSender<h2::Reason>,
) {
    let headers = || {
        http::Response::builder()
            .header("content-type", "application/grpc")
            .body(())
            .unwrap()
    };
    match script {
        RawScript::Silent => {
            if let Ok(reason) = std::future::poll_fn(|cx| respond.poll_reset(cx)).await {
                let _ = resets.send(reason);
            }
        }
        RawScript::HeadersAndMessage => {
            let Ok(mut send) = respond.send_response(headers(), false) else {
                return;
            };
            let _ = send.send_data(encode_raw(b"first", false), false);
            if let Ok(reason) = std::future::poll_fn(|cx| send.poll_reset(cx)).await {
                let _ = resets.send(reason);
            }
        }
        RawScript::Reset(reason) => respond.send_reset(reason),
        RawScript::MessageThenReset(reason) => {
            let Ok(mut send) = respond.send_response(headers(), false) else {
                return;
            };
            let _ = send.send_data(encode_raw(b"first", false), false);
            tokio::time::sleep(Duration::from_millis(50)).await;
            send.send_reset(reason);
            // Keep the stream handle alive until the reset is flushed.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// An h2 server that answers every stream with a whole OK unary response
/// (echoing nothing: the message is `ok`) and then shuts the connection
/// down gracefully with `GOAWAY`.
pub struct GoawayServer {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl GoawayServer {
    pub async fn start() -> GoawayServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((tcp, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                connections.spawn(async move {
                    let Ok(mut conn) = h2::server::handshake(tcp).await else {
                        return;
                    };
                    if let Some(Ok((_request, mut respond))) = conn.accept().await {
                        let head = http::Response::builder()
                            .header("content-type", "application/grpc")
                            .body(())
                            .unwrap();
                        if let Ok(mut send) = respond.send_response(head, false) {
                            let _ = send.send_data(encode_raw(b"ok", false), false);
                            let mut trailers = HeaderMap::new();
                            trailers.insert("grpc-status", HeaderValue::from_static("0"));
                            let _ = send.send_trailers(trailers);
                        }
                    }
                    conn.graceful_shutdown();
                    // Drive the connection until the shutdown completes.
                    while let Some(Ok((_request, mut respond))) = conn.accept().await {
                        respond.send_reset(h2::Reason::REFUSED_STREAM);
                    }
                });
            }
        });
        GoawayServer {
            addr,
            accepted,
            task,
        }
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint::from_shared(format!("http://{}", self.addr)).unwrap()
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for GoawayServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A loopback port nothing listens on (bound, then released).
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

/// A loopback listener that never accepts and whose accept queue is full,
/// so a new TCP connect to it hangs (the kernel drops its SYNs).
pub struct HangingListener {
    addr: SocketAddr,
    _listener: tokio::net::TcpListener,
    _fillers: Vec<tokio::net::TcpStream>,
}

impl HangingListener {
    pub async fn start() -> HangingListener {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(1).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut fillers = Vec::new();
        // Fill the accept queue; connects past its size hang, so give up
        // on each after a moment.
        for _ in 0..4 {
            let connect = tokio::net::TcpStream::connect(addr);
            if let Ok(Ok(stream)) = tokio::time::timeout(Duration::from_millis(200), connect).await
            {
                fillers.push(stream);
            }
        }
        HangingListener {
            addr,
            _listener: listener,
            _fillers: fillers,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// The header value a test handler saw, or "" when absent.
pub fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Collects an `Incoming` body and ignores it.
pub async fn drain(body: Incoming) {
    let _ = body.collect().await;
}
