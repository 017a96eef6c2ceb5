//! Write batching: one `writev` for the responses that become ready together.
//!
//! hyper runs each HTTP/2 stream as its own task. When a handler's response
//! is ready its task wakes the connection task, and tokio runs a task woken
//! that way next (its LIFO slot), before the other handlers that are already
//! runnable. So with many calls in flight on one connection the connection
//! wrote each response on its own: one `writev` per call, a third of the
//! server's CPU time at 64 calls in flight.
//!
//! [`BatchIo`] wraps the connection's byte stream. When the connection is
//! about to write while other calls of the same connection are still being
//! answered, the first write of that poll is put off once: the connection
//! task wakes itself, which puts it at the back of tokio's run queue, behind
//! those handlers; when it runs again their responses are encoded too and go
//! out in the same write. Writes are put off at most once every other poll,
//! so a slow handler delays nobody's bytes by more than one trip through the
//! run queue, and a connection with a single call in flight (or none) never
//! waits at all.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What a connection's calls and its byte stream share.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// Calls whose response head is not ready yet.
    pending: AtomicUsize,
    /// Polls of the connection so far.
    round: AtomicU64,
}

impl Batch {
    pub(crate) fn new() -> Arc<Batch> {
        Arc::new(Batch::default())
    }

    /// Called by the connection task at the start of each poll.
    pub(crate) fn next_round(&self) {
        self.round.fetch_add(1, Ordering::Relaxed);
    }
}

pin_project_lite::pin_project! {
    /// A call's future, counted in [`Batch::pending`] until it completes or
    /// is dropped.
    pub(crate) struct Counted<F> {
        #[pin]
        future: F,
        batch: Option<Arc<Batch>>,
    }

    impl<F> PinnedDrop for Counted<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(batch) = this.project().batch.take() {
                batch.pending.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
}

impl<F> Counted<F> {
    pub(crate) fn new(future: F, batch: &Arc<Batch>) -> Self {
        batch.pending.fetch_add(1, Ordering::Relaxed);
        Counted {
            future,
            batch: Some(Arc::clone(batch)),
        }
    }
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let output = std::task::ready!(this.future.poll(cx));
        if let Some(batch) = this.batch.take() {
            batch.pending.fetch_sub(1, Ordering::Relaxed);
        }
        Poll::Ready(output)
    }
}

/// A connection's byte stream that batches writes (see the module docs).
#[derive(Debug)]
pub(crate) struct BatchIo<T> {
    io: T,
    batch: Arc<Batch>,
    /// The round in which a write was last put off.
    deferred: Option<u64>,
}

impl<T> BatchIo<T> {
    pub(crate) fn new(io: T, batch: Arc<Batch>) -> Self {
        BatchIo {
            io,
            batch,
            deferred: None,
        }
    }

    /// Whether to put this write off: other calls are being answered, and no
    /// write was put off in this round or the one before.
    fn defer(&mut self, cx: &mut Context<'_>) -> bool {
        if self.batch.pending.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let round = self.batch.round.load(Ordering::Relaxed);
        if let Some(last) = self.deferred {
            if round.wrapping_sub(last) <= 1 {
                return false;
            }
        }
        self.deferred = Some(round);
        // Woken from inside its own poll, a tokio task goes to the back of
        // the run queue: behind the handlers that are about to answer.
        cx.waker().wake_by_ref();
        true
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for BatchIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for BatchIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.defer(cx) {
            return Poll::Pending;
        }
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.defer(cx) {
            return Poll::Pending;
        }
        Pin::new(&mut this.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::task::{Wake, Waker};

    #[derive(Default)]
    struct CountWakes(AtomicUsize);

    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Collects what is written.
    #[derive(Default)]
    struct Sink(Vec<u8>);

    impl AsyncWrite for Sink {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.get_mut().0.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn write(io: &mut BatchIo<Sink>, waker: &Waker, bytes: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(io).poll_write(&mut Context::from_waker(waker), bytes)
    }

    #[test]
    fn with_no_other_call_in_flight_writes_go_straight_through() {
        let batch = Batch::new();
        let mut io = BatchIo::new(Sink::default(), batch.clone());
        let wakes = Arc::new(CountWakes::default());
        let waker = Waker::from(wakes.clone());
        for round in 0..5 {
            batch.next_round();
            assert!(
                matches!(write(&mut io, &waker, b"ab"), Poll::Ready(Ok(2))),
                "round {round}"
            );
        }
        assert_eq!(io.io.0, b"ababababab");
        assert_eq!(wakes.0.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_write_is_put_off_once_while_another_call_is_answered() {
        let batch = Batch::new();
        let mut io = BatchIo::new(Sink::default(), batch.clone());
        let wakes = Arc::new(CountWakes::default());
        let waker = Waker::from(wakes.clone());
        let call = Counted::new(std::future::pending::<()>(), &batch);

        batch.next_round();
        assert!(write(&mut io, &waker, b"first").is_pending());
        assert_eq!(wakes.0.load(Ordering::Relaxed), 1, "the task woke itself");
        assert!(io.io.0.is_empty());

        // The poll after the self-wake writes, whatever is still in flight.
        batch.next_round();
        assert!(matches!(
            write(&mut io, &waker, b"first"),
            Poll::Ready(Ok(5))
        ));
        assert!(matches!(
            write(&mut io, &waker, b"second"),
            Poll::Ready(Ok(6))
        ));
        assert_eq!(io.io.0, b"firstsecond");

        // A later round may batch again.
        batch.next_round();
        assert!(write(&mut io, &waker, b"x").is_pending());

        // Once the call is answered (or dropped), nothing waits.
        drop(call);
        batch.next_round();
        batch.next_round();
        assert!(write(&mut io, &waker, b"x").is_ready());
    }

    #[test]
    fn a_slow_call_never_stops_the_bytes() {
        // A call that never answers: every other round still writes.
        let batch = Batch::new();
        let mut io = BatchIo::new(Sink::default(), batch.clone());
        let waker = Waker::from(Arc::new(CountWakes::default()));
        let _slow = Counted::new(std::future::pending::<()>(), &batch);
        let mut written = 0;
        for _ in 0..100 {
            batch.next_round();
            if write(&mut io, &waker, b"y").is_ready() {
                written += 1;
            }
        }
        assert!(written >= 50, "{written} of 100 rounds wrote");
    }

    #[tokio::test]
    async fn a_call_counts_until_it_completes() {
        let batch = Batch::new();
        let call = Counted::new(async { 7 }, &batch);
        assert_eq!(batch.pending.load(Ordering::Relaxed), 1);
        assert_eq!(call.await, 7);
        assert_eq!(batch.pending.load(Ordering::Relaxed), 0);
    }
}
