//! The server's "start draining" signal to its connections, cheap enough to
//! check on every poll of a connection.
//!
//! A connection task is woken several times per call (request headers, data,
//! response written), and checks the signal at each wake-up, for a signal
//! that fires once in a server's life. So the check is one atomic load, plus
//! a waker comparison, not a `tokio::sync::watch` future polled beside the
//! connection (benches/RESULTS.md has what that saves); the waker is stored
//! in the connection's slot only when it changes (a task's waker does not),
//! so the lock is taken about once per connection.
//!
//! Ordering: [`Drain::fire`] sets the flag, then takes each slot's waker under
//! the slot's lock; [`Watch::poll_fired`] stores its waker under that lock,
//! then loads the flag. Whichever takes the lock second sees the other's
//! write, so a connection is never left waiting.

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll, Waker};

type Slot = Mutex<Option<Waker>>;

#[derive(Debug, Default)]
struct Shared {
    fired: AtomicBool,
    /// One slot per watching connection; dead ones are pruned as it grows.
    slots: Mutex<Vec<Weak<Slot>>>,
}

/// The sending side: held by the server's accept loop.
#[derive(Debug, Default)]
pub(crate) struct Drain {
    shared: Arc<Shared>,
}

impl Drain {
    pub(crate) fn new() -> Self {
        Drain::default()
    }

    /// A watch for one connection.
    pub(crate) fn watch(&self) -> Watch {
        let slot = Arc::new(Mutex::new(None));
        let mut slots = self
            .shared
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if slots.len() == slots.capacity() {
            // About to grow: drop the slots of closed connections first, so
            // the list follows the open connections, not all connections ever.
            slots.retain(|slot| slot.strong_count() > 0);
        }
        slots.push(Arc::downgrade(&slot));
        Watch {
            shared: Arc::clone(&self.shared),
            slot,
            registered: None,
        }
    }

    /// Tells every connection, present and future, to drain.
    pub(crate) fn fire(&self) {
        self.shared.fired.store(true, Ordering::Release);
        let slots = std::mem::take(
            &mut *self
                .shared
                .slots
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for slot in slots.iter().filter_map(Weak::upgrade) {
            let waker = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

/// One connection's view of the signal.
#[derive(Debug)]
pub(crate) struct Watch {
    shared: Arc<Shared>,
    slot: Arc<Slot>,
    /// The waker last stored in `slot`, to skip the lock when unchanged.
    registered: Option<Waker>,
}

impl Watch {
    /// Whether the server has started draining; if not, the task of `cx` is
    /// woken when it does.
    pub(crate) fn poll_fired(&mut self, cx: &mut Context<'_>) -> bool {
        if self.shared.fired.load(Ordering::Acquire) {
            return true;
        }
        let unchanged = self
            .registered
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()));
        if !unchanged {
            let waker = cx.waker().clone();
            *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(waker.clone());
            self.registered = Some(waker);
        }
        self.shared.fired.load(Ordering::Acquire)
    }

    /// Completes when the server starts draining.
    pub(crate) async fn fired(&mut self) {
        poll_fn(|cx| {
            if self.poll_fired(cx) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_waiting_watch_wakes_when_fired() {
        let drain = Drain::new();
        let mut watch = drain.watch();
        let waiter = tokio::spawn(async move { watch.fired().await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        drain.fire();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .unwrap();
    }

    #[tokio::test]
    async fn a_watch_made_after_firing_is_fired() {
        let drain = Drain::new();
        drain.fire();
        let mut watch = drain.watch();
        tokio::time::timeout(Duration::from_secs(5), watch.fired())
            .await
            .expect("already fired");
    }

    #[test]
    fn closed_connections_do_not_pile_up() {
        let drain = Drain::new();
        for _ in 0..10_000 {
            drop(drain.watch());
        }
        let kept = drain.shared.slots.lock().unwrap().capacity();
        assert!(
            kept <= 8,
            "room for {kept} slots kept for one connection at a time"
        );
        let _open: Vec<_> = (0..100).map(|_| drain.watch()).collect();
        assert!(drain.shared.slots.lock().unwrap().len() >= 100);
    }

    #[tokio::test]
    async fn many_watches_all_wake() {
        let drain = Drain::new();
        let waiters: Vec<_> = (0..50)
            .map(|_| {
                let mut watch = drain.watch();
                tokio::spawn(async move { watch.fired().await })
            })
            .collect();
        tokio::task::yield_now().await;
        drain.fire();
        for waiter in waiters {
            tokio::time::timeout(Duration::from_secs(5), waiter)
                .await
                .expect("woken")
                .unwrap();
        }
    }
}
