//! The bounded queue between the rooms (many senders) and a connection's
//! writer (one receiver), in place of tokio's mpsc.
//!
//! Why not tokio's: a fan-out pushes one frame into each of thousands of
//! queues, and each push is a cold cache miss per line it touches. tokio's
//! channel keeps its tail, its semaphore and its waker on separate padded
//! lines and a 32-slot block beside them (five lines a push, measured at a
//! fifth of the server's CPU under 16 publishers), and allocates that block
//! (544 bytes) when the connection opens. Here one mutex guards the items,
//! the closed flag and the waker, side by side; the items live in a
//! `VecDeque` that idle connections do not allocate. Pushes that find the
//! writer already woken do not wake it again.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// A drained queue keeps a buffer of up to this many slots; a larger one (a
/// burst) is let go, so a connection that once fell behind does not keep
/// the memory.
const KEEP_SLOTS: usize = 8;

struct State<T> {
    items: VecDeque<T>,
    /// The receiver is gone or closed: sends fail.
    closed: bool,
    /// The writer waiting for an item, taken by the push that wakes it.
    waker: Option<Waker>,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    senders: AtomicUsize,
    capacity: usize,
}

impl<T> Shared<T> {
    /// A panic while holding the lock leaves the state consistent (every
    /// change under it is a single push, pop or flag), so poison is ignored.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Why a push failed; the item comes back.
#[derive(Debug, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// `capacity` items wait already.
    Full(T),
    /// The receiver is gone.
    Closed(T),
}

pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

/// A queue holding at most `capacity` items (at least one).
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            closed: false,
            waker: None,
        }),
        senders: AtomicUsize::new(1),
        capacity: capacity.max(1),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

impl<T> Sender<T> {
    /// Queues `item` now, or gives it back.
    pub fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        let waker = {
            let mut state = self.shared.lock();
            if state.closed {
                return Err(TrySendError::Closed(item));
            }
            if state.items.len() >= self.shared.capacity {
                return Err(TrySendError::Full(item));
            }
            state.items.push_back(item);
            state.waker.take()
        };
        // Woken outside the lock: the writer may run at once on another thread.
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// How many more items the queue takes now.
    pub fn room_left(&self) -> usize {
        let state = self.shared.lock();
        self.shared.capacity.saturating_sub(state.items.len())
    }

    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// Whether the receiver is gone (or closed).
    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.shared.senders.fetch_add(1, Ordering::Relaxed);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // The last sender gone: the receiver ends once it has drained.
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            let waker = self.shared.lock().waker.take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

impl<T> Receiver<T> {
    /// The next item; `None` once closed (or every sender is gone) and drained.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut state = self.shared.lock();
        if let Some(item) = state.items.pop_front() {
            if state.items.is_empty() && state.items.capacity() > KEEP_SLOTS {
                state.items = VecDeque::new();
            }
            return Poll::Ready(Some(item));
        }
        if state.closed || self.shared.senders.load(Ordering::Acquire) == 0 {
            return Poll::Ready(None);
        }
        match &state.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => state.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next item if one waits.
    pub fn try_recv(&mut self) -> Option<T> {
        self.shared.lock().items.pop_front()
    }

    /// Refuses further sends; what waits can still be received.
    pub fn close(&mut self) {
        self.shared.lock().closed = true;
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // Senders learn at once that nobody reads, and what waited is freed.
        let items = {
            let mut state = self.shared.lock();
            state.closed = true;
            state.waker = None;
            std::mem::take(&mut state.items)
        };
        drop(items);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::*;

    struct Flag(AtomicBool);

    impl std::task::Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    fn flag() -> (Arc<Flag>, Waker) {
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        (flag.clone(), Waker::from(flag))
    }

    #[test]
    fn items_come_out_in_order_up_to_the_bound() {
        let (tx, mut rx) = bounded(2);
        assert_eq!(tx.try_send(1), Ok(()));
        assert_eq!(tx.try_send(2), Ok(()));
        assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
        assert_eq!(tx.room_left(), 0);
        assert_eq!(rx.try_recv(), Some(1));
        assert_eq!(tx.room_left(), 1);
        assert_eq!(tx.try_send(3), Ok(()));
        assert_eq!(
            (rx.try_recv(), rx.try_recv(), rx.try_recv()),
            (Some(2), Some(3), None)
        );
    }

    #[test]
    fn a_waiting_receiver_is_woken_once_by_the_next_push() {
        let (tx, mut rx) = bounded(8);
        let (woken, waker) = flag();
        let mut cx = Context::from_waker(&waker);
        assert_eq!(rx.poll_recv(&mut cx), Poll::Pending);
        tx.try_send(1).expect("room");
        assert!(woken.0.swap(false, Ordering::SeqCst), "woken by the push");
        tx.try_send(2).expect("room");
        assert!(!woken.0.load(Ordering::SeqCst), "already woken: not again");
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(1)));
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(2)));
    }

    #[test]
    fn the_receiver_ends_when_every_sender_is_gone_after_draining() {
        let (tx, mut rx) = bounded(8);
        let other = tx.clone();
        tx.try_send(1).expect("room");
        drop(tx);
        let (woken, waker) = flag();
        let mut cx = Context::from_waker(&waker);
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(1)));
        assert_eq!(rx.poll_recv(&mut cx), Poll::Pending, "a sender is left");
        drop(other);
        assert!(
            woken.0.load(Ordering::SeqCst),
            "the last sender's drop wakes"
        );
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(None));
    }

    #[test]
    fn senders_see_a_closed_or_dropped_receiver() {
        let (tx, mut rx) = bounded(8);
        tx.try_send(1).expect("room");
        rx.close();
        assert_eq!(tx.try_send(2), Err(TrySendError::Closed(2)));
        assert_eq!(rx.try_recv(), Some(1), "what waited is still read");
        let (tx, rx) = bounded(8);
        drop(rx);
        assert_eq!(tx.try_send(1), Err(TrySendError::Closed(1)));
    }

    #[test]
    fn a_drained_burst_lets_its_buffer_go() {
        let (tx, mut rx) = bounded(1000);
        for i in 0..500 {
            tx.try_send(i).expect("room");
        }
        let waker = flag().1;
        let mut cx = Context::from_waker(&waker);
        while let Poll::Ready(Some(_)) = rx.poll_recv(&mut cx) {}
        assert!(rx.shared.lock().items.capacity() <= KEEP_SLOTS);
    }
}
