//! A session's bounded outgoing queue, as rooms see it. Rooms push with a
//! non-blocking `try_send`: a full queue means the client is not keeping up,
//! and it is dropped (close 4001) rather than slowing anyone else.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use tokio::sync::mpsc;

use crate::protocol::Frame;

/// Unique per connection, per node.
pub type SessionId = u64;

/// What the writer sends on the socket.
#[derive(Debug)]
pub enum Outgoing {
    Text(Frame, Instant),
    Ping,
    Pong(bytes::Bytes),
}

/// Asks a session to close: the room dropped it, or the hub refused it.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct Kick {
    pub code: u16,
    pub reason: &'static str,
}

/// Tells a session that a subscription it asked for did not take (no such
/// channel, room full, not ready), so the channel no longer counts
/// against its subscription limit.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct NotSubscribed(pub crate::channel::Channel);

#[derive(Debug, PartialEq, Eq)]
pub enum PushError {
    /// More than the queue's capacity is waiting: the client is too slow.
    Full,
    /// The session is gone.
    Closed,
}

/// Cheap to clone; held by every room the session follows.
#[derive(Clone)]
pub struct Outbox {
    pub id: SessionId,
    pub user: Option<i64>,
    tx: mpsc::Sender<Outgoing>,
    kick: Recipient<Kick>,
    not_subscribed: Recipient<NotSubscribed>,
    /// The queue's capacity, to tell how much waits.
    capacity: usize,
    /// Frames the writer has handed to the socket (progress, for stalls).
    written: Arc<AtomicU64>,
}

impl Outbox {
    pub fn new(
        id: SessionId,
        user: Option<i64>,
        tx: mpsc::Sender<Outgoing>,
        kick: Recipient<Kick>,
        not_subscribed: Recipient<NotSubscribed>,
        written: Arc<AtomicU64>,
    ) -> Outbox {
        Outbox {
            id,
            user,
            capacity: tx.max_capacity(),
            tx,
            kick,
            not_subscribed,
            written,
        }
    }

    /// Refuses a subscription: the error frame (naming the channel), and the
    /// session forgets it.
    pub fn refuse_subscription(
        &self,
        channel: &crate::channel::Channel,
        code: crate::protocol::ErrorCode,
        message: &str,
        reference: &Option<serde_json::Value>,
    ) {
        self.deliver(crate::protocol::subscription_error(
            channel, code, message, reference,
        ));
        self.not_subscribed.do_send(NotSubscribed(channel.clone()));
    }

    /// Queues a frame stamped `now` (one clock read per fan-out, not per frame).
    pub fn push_at(&self, frame: Frame, now: Instant) -> Result<(), PushError> {
        self.tx
            .try_send(Outgoing::Text(frame, now))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => PushError::Full,
                mpsc::error::TrySendError::Closed(_) => PushError::Closed,
            })
    }

    /// Pushes, and on a full queue tells the session to go (it resumes later).
    /// Returns false when the subscriber should be forgotten.
    pub fn deliver(&self, frame: Frame) -> bool {
        self.deliver_at(frame, Instant::now())
    }

    /// [`Outbox::deliver`] with the caller's clock reading.
    pub fn deliver_at(&self, frame: Frame, now: Instant) -> bool {
        match self.push_at(frame, now) {
            Ok(()) => true,
            Err(PushError::Full) => {
                self.kick(
                    crate::protocol::close::TOO_SLOW,
                    "too slow: reconnect with since",
                );
                false
            }
            Err(PushError::Closed) => false,
        }
    }

    pub fn kick(&self, code: u16, reason: &'static str) {
        self.kick.do_send(Kick { code, reason });
    }

    /// Control frames (pings, pongs) share the queue but never kick.
    pub(crate) fn push_control(&self, item: Outgoing) -> bool {
        self.tx.try_send(item).is_ok()
    }

    /// How many more frames the queue takes now.
    pub fn room_left(&self) -> usize {
        self.tx.capacity()
    }

    /// The queue's bound (`CHANNEL_CAPACITY`).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Frames waiting to be written.
    pub fn queued(&self) -> usize {
        self.capacity - self.tx.capacity()
    }

    /// How many frames the writer has handed to the socket so far.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}
