//! A session's bounded outgoing queue, as rooms see it. Rooms push with a
//! non-blocking `try_send`: a full queue means the client is not keeping up,
//! and it is dropped (close 4001) rather than slowing anyone else.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use actix::prelude::*;

use crate::protocol::Frame;

pub mod queue;

/// Unique per connection, per node.
pub type SessionId = u64;

/// What the writer sends on the socket. Kept to 16 bytes (an `Instant` and
/// an inline `Bytes` made it 64): each is a slot in a connection's queue,
/// and a fan-out writes one into every subscriber's.
#[derive(Debug)]
pub enum Outgoing {
    Text(Frame, Queued),
    Ping,
    /// Rare (a client's ping), so boxed rather than widening every slot.
    Pong(Box<bytes::Bytes>),
}

// The reason for the layout above; a wider slot fails the build.
const _: () = assert!(std::mem::size_of::<Outgoing>() <= 16);

/// The process's clock origin for [`Queued`].
static ORIGIN: LazyLock<Instant> = LazyLock::new(Instant::now);

/// When a frame was queued: milliseconds from the process's clock origin,
/// modulo 2^32, so an age is right up to 49 days, far past any expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued(u32);

impl Queued {
    pub fn now() -> Queued {
        Queued::at(Instant::now())
    }

    /// Readings from before the origin wrap below it, so ages stay right.
    pub fn at(t: Instant) -> Queued {
        let origin = *ORIGIN;
        // Truncating to u32 is the modulo 2^32 the type is defined by.
        Queued(if t >= origin {
            (t - origin).as_millis() as u32
        } else {
            ((origin - t).as_millis() as u32).wrapping_neg()
        })
    }

    /// How long ago, to the millisecond.
    pub fn age(self) -> Duration {
        Queued::now().since(self)
    }

    fn since(self, earlier: Queued) -> Duration {
        Duration::from_millis(u64::from(self.0.wrapping_sub(earlier.0)))
    }
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
    tx: queue::Sender<Outgoing>,
    kick: Recipient<Kick>,
    not_subscribed: Recipient<NotSubscribed>,
    /// Frames the writer has handed to the socket (progress, for stalls).
    written: Arc<AtomicU64>,
}

impl Outbox {
    pub fn new(
        id: SessionId,
        user: Option<i64>,
        tx: queue::Sender<Outgoing>,
        kick: Recipient<Kick>,
        not_subscribed: Recipient<NotSubscribed>,
        written: Arc<AtomicU64>,
    ) -> Outbox {
        Outbox {
            id,
            user,
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
            .try_send(Outgoing::Text(frame, Queued::at(now)))
            .map_err(|e| match e {
                queue::TrySendError::Full(_) => PushError::Full,
                queue::TrySendError::Closed(_) => PushError::Closed,
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
        self.tx.room_left()
    }

    /// The queue's bound (`CHANNEL_CAPACITY`).
    pub fn capacity(&self) -> usize {
        self.tx.capacity()
    }

    /// Frames waiting to be written.
    pub fn queued(&self) -> usize {
        self.tx.capacity() - self.tx.room_left()
    }

    /// How many frames the writer has handed to the socket so far.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_tells_its_age_whether_read_before_or_after_the_origin() {
        let now = Instant::now();
        let _ = Queued::now(); // the origin is set by now
        let earlier = now
            .checked_sub(Duration::from_secs(90))
            .expect("the clock reaches back 90 s");
        let age = Queued::at(earlier).age();
        // Both ends are read to the millisecond, so it may be one short.
        assert!(
            age >= Duration::from_millis(89_999) && age < Duration::from_secs(100),
            "{age:?}"
        );
        assert!(Queued::now().age() < Duration::from_secs(5));
    }

    #[test]
    fn ages_are_right_across_the_wrap_of_the_counter() {
        // A process up for 49.7 days: the counter wraps, the age does not.
        let before_wrap = Queued(u32::MAX - 499);
        let after_wrap = Queued(500);
        assert_eq!(after_wrap.since(before_wrap), Duration::from_millis(1000));
    }
}
