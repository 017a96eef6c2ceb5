//! Write batching: one `writev` for the responses that become ready together.
//!
//! hyper runs each HTTP/2 stream as its own task. When a handler's response
//! is ready its task wakes the connection task, and tokio runs a task woken
//! that way next (its LIFO slot), before the other handlers that are already
//! runnable. So with many calls in flight on one connection the connection
//! wrote each response on its own: one `writev` per call, a third of the
//! server's CPU time at 64 calls in flight.
//!
//! The same holds for a client: a caller whose response arrived sends its
//! next request at once, and the connection wrote each request on its own.
//!
//! [`BatchIo`] wraps the connection's byte stream. When the connection is
//! about to write while other calls of the same connection are still in
//! flight, the first write of that poll is put off once: the connection
//! task wakes itself, which puts it at the back of tokio's run queue, behind
//! those handlers; when it runs again their responses are encoded too and go
//! out in the same write. Writes are put off at most once every other poll,
//! so a slow call delays nobody's bytes by more than one trip through the
//! run queue, and a connection with a single call in flight (or none) never
//! waits at all.
//!
//! Only small writes are put off, and only when the connection's last write
//! was small too: while it streams large bodies, the tasks ahead in the run
//! queue are producers filling their send buffers, and waiting behind them
//! would leave the socket idle (15 % fewer MB/s measured before this rule).
//!
//! The pieces: one [`Batch`] per connection (or per client channel); each
//! call holds an [`InFlight`] guard from [`Batch::enter`] (or runs as a
//! [`Counted`] future) while it counts; the task that drives the connection
//! calls [`Batch::next_round`] at the start of each poll; and the byte
//! stream is a [`BatchIo`].

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What a connection's calls and its byte stream share.
#[derive(Debug, Default)]
pub struct Batch {
    /// Calls counted in flight.
    pending: AtomicUsize,
    /// Polls of the connection so far.
    round: AtomicU64,
}

impl Batch {
    /// A new, shared batch.
    pub fn new() -> Arc<Batch> {
        Arc::new(Batch::default())
    }

    /// Called by the task that drives the connection at the start of each
    /// poll.
    pub fn next_round(&self) {
        self.round.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a call in flight until the guard is dropped.
    pub fn enter(self: &Arc<Self>) -> InFlight {
        self.pending.fetch_add(1, Ordering::Relaxed);
        InFlight {
            batch: Arc::clone(self),
        }
    }

    /// Calls counted in flight now.
    pub fn in_flight(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }
}

/// One call counted in flight by a [`Batch`], until dropped.
#[derive(Debug)]
pub struct InFlight {
    batch: Arc<Batch>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.batch.pending.fetch_sub(1, Ordering::Relaxed);
    }
}

pin_project_lite::pin_project! {
    /// A call's future, counted in flight until it completes or is dropped.
    #[derive(Debug)]
    pub struct Counted<F> {
        #[pin]
        future: F,
        in_flight: Option<InFlight>,
    }
}

impl<F> Counted<F> {
    /// Counts `future` in `batch` from now.
    pub fn new(future: F, batch: &Arc<Batch>) -> Self {
        Counted {
            future,
            in_flight: Some(batch.enter()),
        }
    }
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let output = std::task::ready!(this.future.poll(cx));
        this.in_flight.take();
        Poll::Ready(output)
    }
}

/// Writes of this many bytes or more go out at once, and turn batching off
/// until the next small write: batching is for small writes, and putting a
/// large one off only delays it. 16 KiB: a streamed body writes whole DATA
/// frames of the peer's maximum frame size (16 KiB unless it allows more),
/// while a batch of small responses stays below it (h2 writes from a 16 KiB
/// buffer).
pub const BATCH_BELOW: usize = 16 * 1024;

/// A connection's byte stream that batches writes (see the module docs).
#[derive(Debug)]
pub struct BatchIo<T> {
    io: T,
    batch: Arc<Batch>,
    /// Writes are put off only while more calls than this are in flight.
    alone: usize,
    /// The round in which a write was last put off.
    deferred: Option<u64>,
    /// Whether the last write that went out was small too.
    last_small: bool,
}

impl<T> BatchIo<T> {
    /// A server's byte stream: its calls count until their response head
    /// is ready, so any call counted is one still being answered.
    pub fn server(io: T, batch: Arc<Batch>) -> Self {
        BatchIo {
            io,
            batch,
            alone: 0,
            deferred: None,
            last_small: true,
        }
    }

    /// A client's byte stream: its calls count from sending until the
    /// response head arrives, so the call being written counts too; writes
    /// wait only when there is another.
    pub fn client(io: T, batch: Arc<Batch>) -> Self {
        BatchIo {
            io,
            batch,
            alone: 1,
            deferred: None,
            last_small: true,
        }
    }

    /// The wrapped byte stream.
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// Whether to put this write of `len` bytes off: it and the last write
    /// are small, other calls are in flight, and no write was put off in this
    /// round or the one before.
    ///
    /// Both writes small: while the connection streams large bodies the other
    /// runnable tasks are producers filling their send buffers, and waiting
    /// behind them would leave the socket idle; batching pays off among calls
    /// that answer small and fast.
    fn defer(&mut self, cx: &mut Context<'_>, len: usize) -> bool {
        let small = len < BATCH_BELOW;
        if !(small && self.last_small) || self.batch.in_flight() <= self.alone {
            self.last_small = small;
            return false;
        }
        let round = self.batch.round.load(Ordering::Relaxed);
        if let Some(last) = self.deferred {
            if round.wrapping_sub(last) <= 1 {
                self.last_small = small;
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
        if this.defer(cx, buf.len()) {
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
        let len = bufs.iter().map(|b| b.len()).sum();
        if this.defer(cx, len) {
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
        let mut io = BatchIo::server(Sink::default(), batch.clone());
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
        let mut io = BatchIo::server(Sink::default(), batch.clone());
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
    fn large_writes_go_at_once_and_turn_batching_off_until_a_small_one() {
        let batch = Batch::new();
        let mut io = BatchIo::server(Sink::default(), batch.clone());
        let waker = Waker::from(Arc::new(CountWakes::default()));
        let _other = batch.enter();
        let big = vec![7; BATCH_BELOW];
        batch.next_round();
        assert!(
            write(&mut io, &waker, &big).is_ready(),
            "a large write is never put off"
        );
        batch.next_round();
        batch.next_round();
        assert!(
            write(&mut io, &waker, b"small").is_ready(),
            "not right after a large one"
        );
        batch.next_round();
        batch.next_round();
        assert!(
            write(&mut io, &waker, b"small").is_pending(),
            "small after small batches"
        );
    }

    #[test]
    fn a_slow_call_never_stops_the_bytes() {
        // A call that never answers: every other round still writes.
        let batch = Batch::new();
        let mut io = BatchIo::server(Sink::default(), batch.clone());
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

    #[test]
    fn a_client_writes_alone_with_one_call_and_batches_with_two() {
        let batch = Batch::new();
        let mut io = BatchIo::client(Sink::default(), batch.clone());
        let waker = Waker::from(Arc::new(CountWakes::default()));
        let first = batch.enter();
        batch.next_round();
        assert!(write(&mut io, &waker, b"a").is_ready());
        let _second = batch.enter();
        batch.next_round();
        assert!(write(&mut io, &waker, b"b").is_pending());
        drop(first);
        batch.next_round();
        batch.next_round();
        assert!(write(&mut io, &waker, b"b").is_ready());
    }

    #[tokio::test]
    async fn a_call_counts_until_it_completes() {
        let batch = Batch::new();
        let call = Counted::new(async { 7 }, &batch);
        assert_eq!(batch.in_flight(), 1);
        assert_eq!(call.await, 7);
        assert_eq!(batch.in_flight(), 0);
    }
}
