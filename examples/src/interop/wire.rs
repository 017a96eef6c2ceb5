//! Observes the *compressed* flag of each message as it crosses the wire.
//!
//! The compressed interop cases must check what the wire carried: the
//! server must refuse a request it expected compressed that was not, and a
//! client must see the flag set exactly on the responses it asked to be
//! compressed. Compression layers decompress before anything typed sees a
//! message, so these layers sit on the wire side of them and record the
//! 5-byte prefix of every message into a [`MessageFlags`] queue:
//!
//! - on the server, [`RecordRequestFlagsLayer`] (outside compression) puts a
//!   fresh [`MessageFlags`] in every request's extensions and records the
//!   request messages into it; a handler pops one flag per message it reads;
//! - on the client, [`RecordResponseFlagsLayer`] (between compression and
//!   the channel) records the response messages of a call whose request
//!   extensions carry a [`MessageFlags`].

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use grpc_core::GrpcBody;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

/// The compressed flags of the messages seen so far, oldest first.
/// Clones share one queue.
#[derive(Clone, Debug, Default)]
pub struct MessageFlags {
    seen: Arc<Mutex<VecDeque<bool>>>,
}

impl MessageFlags {
    /// An empty queue.
    pub fn new() -> MessageFlags {
        MessageFlags::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<bool>> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, compressed: bool) {
        self.lock().push_back(compressed);
    }

    /// Takes the flag of the oldest message not taken yet.
    pub fn next(&self) -> Option<bool> {
        self.lock().pop_front()
    }

    /// The flags not taken yet, oldest first.
    pub fn remaining(&self) -> Vec<bool> {
        self.lock().iter().copied().collect()
    }
}

/// Where the scanner is in the stream of 5-byte-prefixed messages.
#[derive(Debug, Default)]
struct Scanner {
    prefix: [u8; 5],
    prefix_len: usize,
    payload_left: usize,
}

impl Scanner {
    fn scan(&mut self, mut data: &[u8], flags: &MessageFlags) {
        while !data.is_empty() {
            if self.payload_left > 0 {
                let n = self.payload_left.min(data.len());
                self.payload_left -= n;
                data = &data[n..];
                continue;
            }
            let n = (5 - self.prefix_len).min(data.len());
            self.prefix[self.prefix_len..self.prefix_len + n].copy_from_slice(&data[..n]);
            self.prefix_len += n;
            data = &data[n..];
            if self.prefix_len == 5 {
                flags.push(self.prefix[0] & 1 == 1);
                let len = u32::from_be_bytes([
                    self.prefix[1],
                    self.prefix[2],
                    self.prefix[3],
                    self.prefix[4],
                ]);
                self.payload_left = len as usize;
                self.prefix_len = 0;
            }
        }
    }
}

pin_project! {
    /// A body that records the compressed flag of each message passing
    /// through, and is otherwise unchanged.
    #[derive(Debug)]
    pub struct FlagBody<B> {
        #[pin]
        inner: B,
        flags: MessageFlags,
        scanner: Scanner,
    }
}

impl<B> FlagBody<B> {
    /// Records `inner`'s messages into `flags`.
    pub fn new(inner: B, flags: MessageFlags) -> FlagBody<B> {
        FlagBody {
            inner,
            flags,
            scanner: Scanner::default(),
        }
    }
}

impl<B> Body for FlagBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        if let Some(Ok(frame)) = &frame {
            if let Some(data) = frame.data_ref() {
                this.scanner.scan(data.chunk(), this.flags);
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Server side: records each request's message flags into a fresh
/// [`MessageFlags`] in its extensions.
#[derive(Clone, Copy, Debug, Default)]
pub struct RecordRequestFlagsLayer;

impl<S> Layer<S> for RecordRequestFlagsLayer {
    type Service = RecordRequestFlags<S>;

    fn layer(&self, inner: S) -> RecordRequestFlags<S> {
        RecordRequestFlags { inner }
    }
}

/// The service of [`RecordRequestFlagsLayer`].
#[derive(Clone, Debug)]
pub struct RecordRequestFlags<S> {
    inner: S,
}

impl<S> Service<http::Request<GrpcBody>> for RecordRequestFlags<S>
where
    S: Service<http::Request<GrpcBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<GrpcBody>) -> S::Future {
        let flags = MessageFlags::new();
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(flags.clone());
        let body = GrpcBody::new(FlagBody::new(body, flags));
        self.inner.call(http::Request::from_parts(parts, body))
    }
}

/// Client side: records the response message flags of calls whose request
/// extensions carry a [`MessageFlags`].
#[derive(Clone, Copy, Debug, Default)]
pub struct RecordResponseFlagsLayer;

impl<S> Layer<S> for RecordResponseFlagsLayer {
    type Service = RecordResponseFlags<S>;

    fn layer(&self, inner: S) -> RecordResponseFlags<S> {
        RecordResponseFlags { inner }
    }
}

/// The service of [`RecordResponseFlagsLayer`].
#[derive(Clone, Debug)]
pub struct RecordResponseFlags<S> {
    inner: S,
}

impl<S, ReqBody> Service<http::Request<ReqBody>> for RecordResponseFlags<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<GrpcBody>>,
{
    type Response = http::Response<GrpcBody>;
    type Error = S::Error;
    type Future = RecordResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let flags = request.extensions().get::<MessageFlags>().cloned();
        RecordResponseFuture {
            inner: self.inner.call(request),
            flags,
        }
    }
}

pin_project! {
    /// The response future of [`RecordResponseFlags`].
    #[derive(Debug)]
    pub struct RecordResponseFuture<F> {
        #[pin]
        inner: F,
        flags: Option<MessageFlags>,
    }
}

impl<F, E> Future for RecordResponseFuture<F>
where
    F: Future<Output = Result<http::Response<GrpcBody>, E>>,
{
    type Output = Result<http::Response<GrpcBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        Poll::Ready(Ok(match this.flags.take() {
            Some(flags) => response.map(|body| GrpcBody::new(FlagBody::new(body, flags))),
            None => response,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(compressed: bool, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![u8::from(compressed)];
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn flags_are_read_across_any_chunking() {
        let mut wire = frame(true, b"hello");
        wire.extend(frame(false, b""));
        wire.extend(frame(true, &[7; 300]));
        for chunk in [1, 2, 3, 5, 7, 64, 1000] {
            let flags = MessageFlags::new();
            let mut scanner = Scanner::default();
            for piece in wire.chunks(chunk) {
                scanner.scan(piece, &flags);
            }
            assert_eq!(flags.remaining(), [true, false, true], "chunk {chunk}");
            assert_eq!(flags.next(), Some(true));
            assert_eq!(flags.remaining(), [false, true]);
        }
    }
}
