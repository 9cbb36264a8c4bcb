//! The comment fan-out budget: past `COMMENT_FANOUT_PER_SECOND` a hinted
//! comment goes only to its author and addressee, and everyone else gets a
//! `skipped` frame for its `seq`, so sequences stay gap-free and resumable.

use std::collections::HashMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::Room;
use crate::protocol::{self, Frame};

/// How a comment may be left out when its room is over its fan-out budget.
/// Everyone who does not get it gets a `skipped` frame for its `seq`
/// instead, so sequences stay gap-free; it is still stored and listable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FanoutHint {
    /// Never left out (moderators' and verified users' comments).
    pub always: bool,
    /// Always delivered to its author ...
    pub author: Option<i64>,
    /// ... and to the author of the comment it replies to.
    pub reply_to: Option<i64>,
}

/// Who gets a frame.
enum Audience {
    Everyone,
    /// Only these users (a sampled-out comment's author and addressee).
    Only([Option<i64>; 2]),
}

/// An even pace of admissions: refilled at `rate` a second, up to `burst`.
pub(super) struct Pace {
    tokens: f64,
    at: Instant,
}

impl Pace {
    /// A room starts with a full burst: a quiet room's first comments are
    /// never the ones left out.
    pub(super) fn full() -> Pace {
        Pace {
            tokens: f64::INFINITY,
            at: Instant::now(),
        }
    }
}

impl Room {
    /// Whether a hinted frame goes to everyone: within the budget's even
    /// pace (burst: a quarter second's worth), or never to be left out.
    fn admit(&mut self, hint: &FanoutHint, now: Instant) -> bool {
        let Some(rate) = self.config.sample_per_second else {
            return true;
        };
        let rate = f64::from(rate.max(1));
        let burst = (rate / 4.0).max(1.0);
        let elapsed = now.duration_since(self.pace.at).as_secs_f64();
        self.pace.tokens = (self.pace.tokens + elapsed * rate).min(burst);
        self.pace.at = now;
        if self.pace.tokens >= 1.0 {
            self.pace.tokens -= 1.0;
            return true;
        }
        hint.always
    }

    pub(super) fn fan_out(&mut self, ready: Vec<(u64, Frame)>) {
        if ready.is_empty() {
            return;
        }
        let capacity = self.config.catch_up_buffer;
        let now = Instant::now();
        let deltas = self.deltas(&ready);
        let ready: Vec<(u64, Frame, Audience)> = ready
            .into_iter()
            .map(|(seq, frame)| {
                let audience = match self.hints.remove(&seq) {
                    Some(hint) if !self.admit(&hint, now) => {
                        Audience::Only([hint.author, hint.reply_to])
                    }
                    _ => Audience::Everyone,
                };
                (seq, frame, audience)
            })
            .collect();
        let channel = &self.channel;
        // Subscribers in step need the same `skipped` frame: encode it once.
        let mut skipped: HashMap<(u64, u64), Frame> = HashMap::new();
        self.subscribers.retain(|_, sub| {
            for (seq, frame, audience) in &ready {
                if let Some((_, held)) = &mut sub.catching_up {
                    if held.len() >= capacity {
                        sub.outbox
                            .kick(protocol::close::TOO_SLOW, "too slow: reconnect with since");
                        return false;
                    }
                    held.push((*seq, frame.clone()));
                    continue;
                }
                let wanted = match audience {
                    Audience::Everyone => true,
                    Audience::Only(users) => {
                        sub.outbox.user.is_some() && users.contains(&sub.outbox.user)
                    }
                };
                if *seq <= sub.last_seq || !wanted {
                    continue;
                }
                if *seq > sub.last_seq + 1 {
                    let range = (sub.last_seq + 1, seq - 1);
                    let gap = skipped
                        .entry(range)
                        .or_insert_with(|| protocol::skipped(channel, range.0, range.1));
                    if !sub.outbox.deliver_at(gap.clone(), now) {
                        return false;
                    }
                }
                // Only comments are ever sampled out, never a state frame,
                // so `in_step_from` holds across a `skipped` range.
                let out = match (deltas.get(seq), sub.in_step_from) {
                    (Some((base, delta)), Some(from)) if *base >= from => delta,
                    _ => frame,
                };
                if !sub.outbox.deliver_at(out.clone(), now) {
                    return false;
                }
                sub.last_seq = *seq;
            }
            true
        });
    }

    /// Subscribers still short of the head only because comments were left
    /// out for them hear how many, so their `seq` catches up.
    pub(super) fn report_skipped(&mut self) {
        let Some(last) = self.log.as_ref().map(|l| l.last_seq) else {
            return;
        };
        if self.config.sample_per_second.is_none() {
            return;
        }
        let channel = &self.channel;
        let mut skipped: HashMap<u64, Frame> = HashMap::new();
        self.subscribers.retain(|_, sub| {
            if sub.catching_up.is_some() || sub.last_seq >= last {
                return true;
            }
            let from = sub.last_seq + 1;
            let frame = skipped
                .entry(from)
                .or_insert_with(|| protocol::skipped(channel, from, last))
                .clone();
            sub.last_seq = last;
            sub.outbox.deliver(frame)
        });
    }
}
