//! Tying the request stream of a call to its response, so that giving up on
//! the response resets the whole HTTP/2 stream with `CANCEL`.
//!
//! hyper resets a stream when its response future or body is dropped, but
//! only once the request body is no longer being sent: while the request
//! body of a client-streaming or bidi call is still waiting for its next
//! message, hyper keeps the stream open. A [`Canceller`] held by the
//! response side (the call future, then the response body) closes that gap:
//! when it is dropped, the request body ([`CancellableBody`]) fails with a
//! `CANCEL` reason, which hyper turns into `RST_STREAM(CANCEL)`.
//!
//! Unary and server-streaming requests are a single chunk that hyper sends at
//! once, so they need no link.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use grpc_core::status::mapping::reset_code;
use grpc_core::{Code, Status};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

#[derive(Debug, Default)]
struct Signal {
    cancelled: AtomicBool,
    waker: AtomicWaker,
}

/// Cancels the linked request body when dropped (or when asked to).
#[derive(Debug)]
pub(crate) struct Canceller {
    signal: Arc<Signal>,
}

impl Canceller {
    /// Marks the call cancelled and wakes the request body so it fails now.
    pub(crate) fn cancel(&self) {
        if !self.signal.cancelled.swap(true, Ordering::AcqRel) {
            self.signal.waker.wake();
        }
    }
}

impl Drop for Canceller {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// A new link: the canceller and the request body wrapper it controls.
pub(crate) fn link<B>(body: B) -> (Canceller, CancellableBody<B>) {
    let signal = Arc::new(Signal::default());
    (
        Canceller {
            signal: signal.clone(),
        },
        CancellableBody {
            inner: body,
            signal,
            failed: false,
        },
    )
}

/// The error that makes hyper reset the stream with `CANCEL`: hyper looks
/// for an `h2::Error` in the body error's source chain for the reason code.
pub(crate) fn cancelled() -> Status {
    let reason = reset_code(Code::Cancelled);
    Status::cancelled("the call was cancelled by the client")
        .with_source(h2::Error::from(h2::Reason::from(u32::from(reason))))
}

pin_project! {
    /// A request body that fails with [`cancelled`] once its [`Canceller`]
    /// is dropped.
    #[derive(Debug)]
    pub(crate) struct CancellableBody<B> {
        #[pin]
        inner: B,
        signal: Arc<Signal>,
        failed: bool,
    }
}

impl<B> Body for CancellableBody<B>
where
    B: Body<Data = Bytes, Error = Status>,
{
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = self.project();
        if *this.failed {
            return Poll::Ready(None);
        }
        this.signal.waker.register(cx.waker());
        if this.signal.cancelled.load(Ordering::Acquire) {
            *this.failed = true;
            return Poll::Ready(Some(Err(cancelled())));
        }
        this.inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project! {
    /// A response body that owns the call's [`Canceller`], so dropping the
    /// body cancels the request side too.
    #[derive(Debug)]
    pub(crate) struct GuardedBody<B> {
        #[pin]
        inner: B,
        canceller: Canceller,
    }
}

impl<B> GuardedBody<B> {
    pub(crate) fn new(inner: B, canceller: Canceller) -> Self {
        GuardedBody { inner, canceller }
    }
}

impl<B: Body> Body for GuardedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;
    use grpc_core::test_util::ScriptedBody;
    use grpc_core::Code;
    use http_body_util::BodyExt;

    #[test]
    fn a_linked_body_runs_normally_until_cancelled() {
        let (canceller, mut body) = link(ScriptedBody::new([&b"a"[..], b"b"]));
        let first = body.frame().now_or_never().unwrap().unwrap().unwrap();
        assert_eq!(first.into_data().unwrap(), "a");
        drop(canceller);
        let err = body.frame().now_or_never().unwrap().unwrap().unwrap_err();
        assert_eq!(err.code(), Code::Cancelled);
        assert!(body.is_end_stream());
        assert!(body.frame().now_or_never().unwrap().is_none());
    }

    #[test]
    fn the_cancel_error_carries_the_h2_cancel_reason() {
        let status = cancelled();
        let source = std::error::Error::source(&status).unwrap();
        let h2 = source.downcast_ref::<h2::Error>().unwrap();
        assert_eq!(h2.reason(), Some(h2::Reason::CANCEL));
    }

    #[tokio::test]
    async fn cancelling_wakes_a_pending_request_body() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Status>>(1);
        let stream = http_body_util::StreamBody::new(ReceiverStream(rx));
        let (canceller, body) = link(stream);
        let guarded = GuardedBody::new(http_body_util::Empty::<Bytes>::new(), canceller);
        let reader = tokio::spawn(async move {
            let mut body = body;
            body.frame().await
        });
        tokio::task::yield_now().await;
        drop(guarded);
        let outcome = tokio::time::timeout(std::time::Duration::from_secs(5), reader)
            .await
            .expect("the pending body was woken")
            .unwrap();
        assert_eq!(outcome.unwrap().unwrap_err().code(), Code::Cancelled);
        drop(tx);
    }

    struct ReceiverStream(tokio::sync::mpsc::Receiver<Result<Frame<Bytes>, Status>>);

    impl futures_core::Stream for ReceiverStream {
        type Item = Result<Frame<Bytes>, Status>;

        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.0.poll_recv(cx)
        }
    }
}
