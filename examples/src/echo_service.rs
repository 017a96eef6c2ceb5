//! The Rust implementation of the `grpcstack.echo.Echo` test service.
//!
//! Behaviour, shared with the Python peer in `python/echo_server.py`:
//! - request metadata `x-echo-initial` comes back as initial metadata, and
//!   `x-echo-trailing` / `x-echo-trailing-bin` as trailing metadata (also on
//!   errors);
//! - a non-zero `fail_code` answers with that status and `fail_message`;
//! - `reply_size` > 0 replies with that many payload bytes, else the request
//!   payload is echoed;
//! - `delay_ms` waits before replying (before each reply when streaming).
//!
//! [`EchoService`] also counts what it saw ([`Stats`]), so tests can check
//! from the server side that a call was cancelled or which connections
//! calls came over.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use grpc_core::{Code, MetadataMap, Request, Response, Status, Streaming};
use grpc_server::PeerAddr;

use crate::echo::echo_server::Echo;
use crate::echo::{EchoReply, EchoRequest};

/// What the service saw; cheap to clone, shared with the service.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    inner: Arc<StatsInner>,
}

#[derive(Debug, Default)]
struct StatsInner {
    started: AtomicUsize,
    cancelled: AtomicUsize,
    peers: Mutex<HashSet<SocketAddr>>,
}

impl Stats {
    /// Calls whose handler started.
    pub fn started(&self) -> usize {
        self.inner.started.load(Ordering::SeqCst)
    }

    /// Calls whose handler was dropped before it finished (client cancel,
    /// deadline, lost connection).
    pub fn cancelled(&self) -> usize {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Distinct peer addresses (so distinct connections) calls came from.
    pub fn peers(&self) -> usize {
        self.inner
            .peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    fn start<T>(&self, request: &Request<T>) -> CallGuard {
        self.inner.started.fetch_add(1, Ordering::SeqCst);
        if let Some(PeerAddr(addr)) = request.extensions().get::<PeerAddr>() {
            self.inner
                .peers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(*addr);
        }
        CallGuard {
            stats: self.clone(),
            finished: false,
        }
    }
}

/// Counts a cancellation when dropped before [`CallGuard::finish`].
struct CallGuard {
    stats: Stats,
    finished: bool,
}

impl CallGuard {
    fn finish(mut self) {
        self.finished = true;
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.stats.inner.cancelled.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// The Echo service; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct EchoService {
    stats: Stats,
}

impl EchoService {
    /// A new service with fresh statistics.
    pub fn new() -> Self {
        EchoService::default()
    }

    /// The statistics, shared with the service.
    pub fn stats(&self) -> Stats {
        self.stats.clone()
    }
}

/// The initial and trailing metadata a request asks to be echoed.
fn echoed_metadata(request: &MetadataMap) -> (MetadataMap, MetadataMap) {
    let mut initial = MetadataMap::new();
    for v in request.get_all("x-echo-initial") {
        let _ = initial.append("x-echo-initial", v);
    }
    let mut trailing = MetadataMap::new();
    for v in request.get_all("x-echo-trailing") {
        let _ = trailing.append("x-echo-trailing", v);
    }
    for v in request.get_all_bin("x-echo-trailing-bin").flatten() {
        let _ = trailing.append_bin("x-echo-trailing-bin", v);
    }
    (initial, trailing)
}

fn failure(request: &EchoRequest, trailing: &MetadataMap) -> Option<Status> {
    (request.fail_code != 0).then(|| {
        Status::new(
            Code::from_i32(request.fail_code),
            request.fail_message.clone(),
        )
        .with_metadata(trailing.clone())
    })
}

fn reply(request: &EchoRequest, index: u32) -> EchoReply {
    let payload = if request.reply_size > 0 {
        vec![0u8; request.reply_size as usize]
    } else {
        request.payload.clone()
    };
    EchoReply {
        message: request.message.clone(),
        payload,
        index,
        count: 0,
    }
}

async fn delay(request: &EchoRequest) {
    if request.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(u64::from(request.delay_ms))).await;
    }
}

fn respond<T>(message: T, initial: MetadataMap, trailing: MetadataMap) -> Response<T> {
    Response::from_parts(initial, trailing, Default::default(), message)
}

/// A boxed stream of replies.
pub type ReplyStream = Pin<Box<dyn Stream<Item = Result<EchoReply, Status>> + Send>>;

impl Echo for EchoService {
    async fn unary(&self, request: Request<EchoRequest>) -> Result<Response<EchoReply>, Status> {
        let guard = self.stats.start(&request);
        let (initial, trailing) = echoed_metadata(request.metadata());
        let request = request.into_inner();
        delay(&request).await;
        guard.finish();
        if let Some(status) = failure(&request, &trailing) {
            return Err(status);
        }
        Ok(respond(reply(&request, 0), initial, trailing))
    }

    type ServerStreamStream = ReplyStream;

    async fn server_stream(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<ReplyStream>, Status> {
        let guard = self.stats.start(&request);
        let (initial, trailing) = echoed_metadata(request.metadata());
        let request = request.into_inner();
        if let Some(status) = failure(&request, &trailing) {
            guard.finish();
            return Err(status);
        }
        let replies = futures_util::stream::unfold(
            (0u32, request, Some(guard)),
            |(i, request, mut guard)| async move {
                if i >= request.repeat {
                    if let Some(guard) = guard.take() {
                        guard.finish();
                    }
                    return None;
                }
                delay(&request).await;
                let item = Ok(reply(&request, i));
                Some((item, (i + 1, request, guard)))
            },
        );
        Ok(respond(Box::pin(replies), initial, trailing))
    }

    async fn client_stream(
        &self,
        request: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<EchoReply>, Status> {
        let guard = self.stats.start(&request);
        let (initial, trailing) = echoed_metadata(request.metadata());
        let mut stream = request.into_inner();
        let mut messages = Vec::new();
        while let Some(request) = stream.message().await? {
            if let Some(status) = failure(&request, &trailing) {
                guard.finish();
                return Err(status);
            }
            messages.push(request.message);
        }
        guard.finish();
        let reply = EchoReply {
            message: messages.join(","),
            count: messages.len() as u32,
            ..EchoReply::default()
        };
        Ok(respond(reply, initial, trailing))
    }

    type BidiStream = ReplyStream;

    async fn bidi(
        &self,
        request: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<ReplyStream>, Status> {
        let guard = self.stats.start(&request);
        guard.finish();
        let (initial, trailing) = echoed_metadata(request.metadata());
        let failure_metadata = trailing.clone();
        let replies = request.into_inner().enumerate().then(move |(i, item)| {
            let failure_metadata = failure_metadata.clone();
            async move {
                let request = item?;
                delay(&request).await;
                match failure(&request, &failure_metadata) {
                    Some(status) => Err(status),
                    None => Ok(reply(&request, i as u32)),
                }
            }
        });
        Ok(respond(Box::pin(replies), initial, trailing))
    }
}
