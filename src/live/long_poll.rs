//! Long-poll sessions between their polls.
//!
//! A long-poll session is an ordinary session (it follows rooms, its queue
//! is bounded, a stalled one is dropped with 4001) whose writer is parked
//! here between polls instead of being a response body. A poll takes it by
//! the key its cursor names, drains what waits and parks it again; a poll
//! whose client left (found by peeking at its socket, or its request
//! dropped) ends the session instead.
//!
//! A poll whose cursor does not match the parked session exactly (its answer
//! was lost on the way, say) ends that session and starts a new one from
//! the cursor's positions, so nothing is skipped: the rooms replay it. A
//! session not polled for `idle_after` is dropped (the session sees its
//! writer gone at its next heartbeat and leaves the rooms); the client's
//! next poll resumes from its cursor.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use ringside_actors::channel::Channel;
use ringside_actors::cursor::{self, Cursor};
use ringside_actors::protocol::Since;
use ringside_actors::writer::Writer;

/// How often a waiting poll looks whether its client is still there.
const PEER_CHECK: Duration = Duration::from_secs(1);

/// How long a parked session waits for its next poll. A client polls again
/// as soon as an answer comes, so a session parked this long is abandoned
/// (a closed tab, a lost cursor) or its client is backing off; ending it
/// early costs that client a resume, and frees the user's and the address's
/// connection slots for whoever comes back.
pub const IDLE_AFTER: Duration = Duration::from_secs(15);

#[derive(Clone)]
pub struct LongPolls {
    parked: Arc<Mutex<HashMap<String, Parked>>>,
    idle_after: Duration,
}

struct Parked {
    /// `None` while a poll holds it.
    writer: Option<Writer>,
    user: Option<i64>,
    channels: Vec<Channel>,
    last_poll: Instant,
}

/// A parked session taken by one poll: parked again ([`Lease::park`]) once
/// the poll is answered, ended if the poll is dropped first.
pub struct Lease {
    polls: LongPolls,
    key: String,
    writer: Option<Writer>,
}

impl LongPolls {
    pub fn new(idle_after: Duration) -> LongPolls {
        LongPolls {
            parked: Arc::default(),
            idle_after,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Parked>> {
        self.parked.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The session `key` names, if it is this user's, follows exactly these
    /// channels, is not being polled and stands exactly where the client
    /// does. A session that does not match is ended (the caller starts a
    /// new one from the client's positions).
    pub fn take(
        &self,
        key: &str,
        user: Option<i64>,
        channels: &[Channel],
        positions: &BTreeMap<Channel, Since>,
    ) -> Option<Lease> {
        let mut parked = self.lock();
        let entry = parked.get_mut(key)?;
        let matches = entry.user == user
            && entry.channels == channels
            && entry
                .writer
                .as_ref()
                .and_then(Writer::cursor)
                .is_some_and(|c| c.positions() == *positions);
        if !matches {
            // Dropped outside the lock: the writer holds a connection slot.
            let ended = parked.remove(key);
            drop(parked);
            drop(ended);
            return None;
        }
        let writer = entry.writer.take();
        Some(Lease {
            polls: self.clone(),
            key: key.to_string(),
            writer,
        })
    }

    /// Parks a new session's writer under a fresh key, taken at once.
    pub fn open(&self, writer: Writer, user: Option<i64>, channels: Vec<Channel>) -> Lease {
        let key = new_key();
        self.lock().insert(
            key.clone(),
            Parked {
                writer: None,
                user,
                channels,
                last_poll: Instant::now(),
            },
        );
        Lease {
            polls: self.clone(),
            key,
            writer: Some(writer),
        }
    }

    /// Drops sessions nobody polled for `idle_after`.
    pub fn sweep(&self) {
        self.sweep_at(Instant::now());
    }

    fn sweep_at(&self, now: Instant) {
        let idle_after = self.idle_after;
        let ended: Vec<Parked> = {
            let mut parked = self.lock();
            let idle: Vec<String> = parked
                .iter()
                .filter(|(_, p)| p.writer.is_some() && now.duration_since(p.last_poll) > idle_after)
                .map(|(k, _)| k.clone())
                .collect();
            idle.iter().filter_map(|k| parked.remove(k)).collect()
        };
        drop(ended);
    }

    /// Sessions parked or being polled.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Lease {
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Waits up to `wait` for frames and answers them with the next cursor
    /// (naming this session while it lasts), parking the session again.
    /// Waits in slices, asking `gone` between them whether the client is
    /// still there: one that left (a reopened link, a closed tab) must not
    /// keep the session, and its slots, until the timeout; then the session
    /// ends and there is no answer (`None`).
    pub async fn answer(
        mut self,
        wait: Duration,
        gone: Option<Box<dyn Fn() -> bool>>,
    ) -> Option<(Bytes, String)> {
        let deadline = Instant::now() + wait;
        let writer = self.writer.as_mut()?;
        let frames = loop {
            let slice = deadline
                .saturating_duration_since(Instant::now())
                .min(PEER_CHECK);
            match tokio::time::timeout(slice, writer.next()).await {
                Ok(Some(Ok(chunk))) => break chunk,
                // The session is gone (its close went out before).
                Ok(Some(Err(_)) | None) => break Bytes::new(),
                Err(_) if Instant::now() >= deadline => break Bytes::new(),
                // Dropping the lease ends the session.
                Err(_) if gone.as_ref().is_some_and(|g| g()) => return None,
                Err(_) => {}
            }
        };
        let positions = writer.cursor().map(Cursor::positions).unwrap_or_default();
        let session = (!writer.is_done()).then_some(self.key.as_str());
        let next = cursor::encode(session, &positions);
        self.park();
        Some((frames, next))
    }

    /// Parks the session again for the client's next poll (unless its
    /// close is out: then there is nothing left to poll).
    pub fn park(mut self) {
        let writer = self.writer.take();
        let ended = {
            let mut parked = self.polls.lock();
            match (parked.get_mut(&self.key), writer) {
                (Some(entry), Some(writer)) if !writer.is_done() => {
                    entry.writer = Some(writer);
                    entry.last_poll = Instant::now();
                    None
                }
                (_, writer) => {
                    parked.remove(&self.key);
                    writer
                }
            }
        };
        drop(ended);
    }
}

/// A lease dropped without [`Lease::park`] (its client left, and the poll
/// with it) ends its session: the client's next poll, if it comes, resumes
/// from its cursor.
impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(writer) = self.writer.take() {
            let ended = self.polls.lock().remove(&self.key);
            drop((writer, ended));
        }
    }
}

/// 128 random bits, hex: a session nobody else can guess.
fn new_key() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random generator is available");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ringside_actors::cursor::Cursor;
    use ringside_actors::outbox::queue;
    use ringside_actors::writer::Encoding;
    use tokio::sync::oneshot;

    use super::*;

    /// A parked writer, and its queue (closed once the writer is dropped).
    /// Its session stays (its closer is leaked): only the registry ends it.
    fn writer() -> (Writer, queue::Sender<ringside_actors::outbox::Outgoing>) {
        let (tx, rx) = queue::bounded(4);
        let (closer, close) = oneshot::channel::<ringside_actors::writer::CloseRequest>();
        std::mem::forget(closer);
        let writer = Writer::new(
            Encoding::Poll(Cursor::default()),
            rx,
            close,
            Arc::default(),
            Duration::from_secs(60),
        );
        (writer, tx)
    }

    #[test]
    fn a_matching_poll_takes_the_session_and_gives_it_back() {
        let polls = LongPolls::new(Duration::from_secs(60));
        let (w, queue) = writer();
        let lease = polls.open(w, Some(5), vec![Channel::News]);
        let key = lease.key().to_string();
        lease.park();
        let none = BTreeMap::new();
        let lease = polls
            .take(&key, Some(5), &[Channel::News], &none)
            .expect("the same user, channels and positions");
        // While one poll holds it, another with the same cursor ends it.
        assert!(polls.take(&key, Some(5), &[Channel::News], &none).is_none());
        lease.park();
        assert!(polls.is_empty());
        assert!(queue.is_closed(), "the ended session's writer is dropped");
        // A poll dropped before its answer (its client left) ends it too.
        let (w, queue) = writer();
        let lease = polls.open(w, Some(5), vec![Channel::News]);
        let key = lease.key().to_string();
        lease.park();
        drop(polls.take(&key, Some(5), &[Channel::News], &none));
        assert!(polls.is_empty() && queue.is_closed());
    }

    #[test]
    fn a_poll_that_does_not_match_ends_the_session() {
        let polls = LongPolls::new(Duration::from_secs(60));
        for (user, channels) in [
            (Some(6), vec![Channel::News]),
            (Some(5), vec![Channel::News, Channel::Rankings]),
        ] {
            let (w, queue) = writer();
            let lease = polls.open(w, Some(5), vec![Channel::News]);
            let key = lease.key().to_string();
            lease.park();
            assert_eq!(polls.len(), 1);
            assert!(polls
                .take(&key, user, &channels, &BTreeMap::new())
                .is_none());
            assert!(polls.is_empty() && queue.is_closed());
        }
        let (w, _queue) = writer();
        let lease = polls.open(w, None, vec![Channel::News]);
        let key = lease.key().to_string();
        lease.park();
        let elsewhere = BTreeMap::from([(
            Channel::News,
            Since {
                epoch: "e".into(),
                seq: 3,
            },
        )]);
        assert!(polls
            .take(&key, None, &[Channel::News], &elsewhere)
            .is_none());
        assert!(polls.is_empty());
    }

    #[test]
    fn the_sweep_drops_sessions_nobody_polls() {
        let polls = LongPolls::new(Duration::from_secs(15));
        let (w, queue) = writer();
        polls.open(w, None, vec![Channel::News]).park();
        polls.sweep_at(Instant::now() + Duration::from_secs(14));
        assert_eq!(polls.len(), 1, "not idle long enough");
        polls.sweep_at(Instant::now() + Duration::from_secs(16));
        assert!(polls.is_empty() && queue.is_closed());
    }

    #[actix_rt::test]
    async fn an_answer_carries_what_waited_and_a_cursor_naming_the_session() {
        let polls = LongPolls::new(Duration::from_secs(60));
        let (w, queue) = writer();
        let lease = polls.open(w, None, vec![Channel::News]);
        let key = lease.key().to_string();
        let frame = ringside_actors::protocol::subscribed(
            &Channel::News,
            "e",
            4,
            &serde_json::json!({}),
            &None,
        );
        queue
            .try_send(ringside_actors::outbox::Outgoing::Text(
                frame.clone(),
                ringside_actors::outbox::Queued::now(),
            ))
            .expect("room");
        let (frames, next) = lease
            .answer(Duration::from_secs(5), None)
            .await
            .expect("an answer");
        assert_eq!(&frames[..], frame.as_bytes());
        assert_eq!(next, format!("{key}~news@e:4"));
        assert_eq!(polls.len(), 1, "parked for the next poll");
    }

    #[actix_rt::test]
    async fn a_poll_whose_client_left_ends_its_session_without_an_answer() {
        let polls = LongPolls::new(Duration::from_secs(60));
        let (w, queue) = writer();
        let lease = polls.open(w, None, vec![Channel::News]);
        let answer = lease.answer(Duration::from_secs(60), Some(Box::new(|| true)));
        assert!(answer.await.is_none());
        assert!(polls.is_empty() && queue.is_closed());
    }

    #[test]
    fn keys_are_long_and_never_repeat() {
        let keys: std::collections::HashSet<String> = (0..100).map(|_| new_key()).collect();
        assert_eq!(keys.len(), 100);
        assert!(keys.iter().all(|k| k.len() == 32));
    }
}
