//! The current call's deadline, carried through the task that runs it.
//!
//! The server layer polls the handler (its future and its response body)
//! with the call's [`Deadline`] set as the *current* one; the client layer
//! reads it when a request is made from there, so a call made from inside a
//! handler inherits the incoming deadline without the handler passing it.
//!
//! It is a thread-local set around each poll, the way a tokio `task_local!`
//! scope works, but holding a `Copy` value in a `Cell`: no borrow can fail
//! and nothing here panics, on any executor.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use grpc_core::deadline::Deadline;
use pin_project_lite::pin_project;

thread_local! {
    static CURRENT: Cell<Option<Deadline>> = const { Cell::new(None) };
}

/// The deadline of the call being handled, when called from a handler
/// behind a [`ServerDeadlineLayer`](super::ServerDeadlineLayer) (or inside
/// [`scope`] or [`inherit`]); `None` elsewhere.
pub fn current() -> Option<Deadline> {
    CURRENT.try_with(Cell::get).ok().flatten()
}

/// Runs `f` with `deadline` as the current deadline, then restores the
/// previous one (also if `f` panics).
pub(crate) fn in_scope<R>(deadline: Deadline, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Deadline>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = CURRENT.try_with(|c| c.set(self.0));
        }
    }
    match CURRENT.try_with(|c| c.replace(Some(deadline))) {
        Ok(previous) => {
            let _restore = Restore(previous);
            f()
        }
        // The thread is being torn down: run without a current deadline.
        Err(_) => f(),
    }
}

/// The earlier of two optional deadlines.
pub(crate) fn earliest(a: Option<Deadline>, b: Option<Deadline>) -> Option<Deadline> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Runs `future` with `deadline` as the current deadline, narrowed by the
/// current one if that is earlier: like Go's `context.WithDeadline`, a scope
/// can shorten the deadline of the call it runs in, never extend it.
///
/// Use it to give the calls a background job makes a deadline, or to give a
/// part of a handler less time than the whole call.
pub fn scope<F: Future>(deadline: Deadline, future: F) -> Scoped<F> {
    Scoped {
        deadline: earliest(Some(deadline), current()),
        future,
    }
}

/// Carries the current deadline (if any) into `future`, for a task the
/// handler spawns: `tokio::spawn(deadline::inherit(async move { .. }))`.
///
/// A spawned task runs outside the handler's polls, so without this the
/// calls it makes do not inherit the handler's deadline.
pub fn inherit<F: Future>(future: F) -> Scoped<F> {
    Scoped {
        deadline: current(),
        future,
    }
}

pin_project! {
    /// A future run with a current deadline; see [`scope`] and [`inherit`].
    pub struct Scoped<F> {
        deadline: Option<Deadline>,
        #[pin]
        future: F,
    }
}

impl<F> Scoped<F> {
    /// The deadline the future runs with.
    pub fn deadline(&self) -> Option<Deadline> {
        self.deadline
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        match *this.deadline {
            Some(deadline) => in_scope(deadline, || this.future.poll(cx)),
            None => this.future.poll(cx),
        }
    }
}

impl<F> fmt::Debug for Scoped<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scoped")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}
