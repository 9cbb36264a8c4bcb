//! Catching a subscriber up: resuming from a client's `since` (from the
//! in-memory window when it reaches back and the queue has room, else from
//! the store), refusing resumes that cannot be served (`resync`), and
//! replaying from the store in pages that never overrun the subscriber's
//! queue, holding its live frames back until the replay is out.

use std::time::Duration;

use actix::prelude::*;

use super::Room;
use crate::outbox::{Outbox, SessionId};
use crate::protocol::{self, Since};

/// Frames fetched from the store at a time while a subscriber catches up.
const REPLAY_PAGE: u64 = 256;
/// How long a catch-up waits for a full queue to drain before the next page.
const REPLAY_WAIT: Duration = Duration::from_millis(20);

/// A catch-up in progress: whose, of which join, and what is left.
struct Replay {
    id: SessionId,
    generation: u64,
    epoch: String,
    after: u64,
    upto: u64,
}

impl Room {
    /// After a reload: replays what a retained subscriber missed.
    pub(super) fn bring_up_to_date(
        &mut self,
        ctx: &mut Context<Self>,
        id: SessionId,
        epoch_changed: bool,
    ) {
        let Some(log) = &self.log else { return };
        let (epoch, last) = (log.epoch.clone(), log.last_seq);
        let Some(sub) = self.subscribers.get_mut(&id) else {
            return;
        };
        if epoch_changed || sub.last_seq > last {
            sub.last_seq = last;
            sub.in_step_from = sub.in_step_from.map(|_| last + 1);
            sub.catching_up = None;
            if !sub
                .outbox
                .deliver(protocol::resync(&self.channel, "history_gap"))
            {
                self.subscribers.remove(&id);
            }
        } else if last - sub.last_seq > self.config.resume_max_messages {
            sub.last_seq = last;
            sub.in_step_from = sub.in_step_from.map(|_| last + 1);
            sub.catching_up = None;
            if !sub
                .outbox
                .deliver(protocol::resync(&self.channel, "too_far_behind"))
            {
                self.subscribers.remove(&id);
            }
        } else if sub.last_seq < last {
            let after = sub.last_seq;
            self.catch_up(ctx, id, epoch, after, last);
        }
    }

    /// After the `subscribed` frame: what a joining client missed since
    /// `since`, or `resync` when that cannot be served.
    pub(super) fn resume(
        &mut self,
        ctx: &mut Context<Self>,
        id: SessionId,
        outbox: &Outbox,
        since: Since,
    ) {
        let Some(log) = &self.log else { return };
        let (epoch, last) = (log.epoch.clone(), log.last_seq);
        if since.epoch != epoch || since.seq > last {
            if !outbox.deliver(protocol::resync(&self.channel, "unknown_epoch")) {
                self.subscribers.remove(&id);
            }
            return;
        }
        if last - since.seq > self.config.resume_max_messages {
            if !outbox.deliver(protocol::resync(&self.channel, "too_far_behind")) {
                self.subscribers.remove(&id);
            }
            return;
        }
        // What memory holds goes at once if the queue has room for it;
        // otherwise the store replays it page by page.
        let in_memory = log
            .replay(since.seq)
            .filter(|frames| frames.len() <= outbox.room_left());
        match in_memory {
            Some(frames) => {
                for (_, frame) in frames {
                    if !outbox.deliver(frame) {
                        self.subscribers.remove(&id);
                        return;
                    }
                }
            }
            None => self.catch_up(ctx, id, epoch, since.seq, last),
        }
    }

    /// Replays `after < seq <= upto` from the store to one subscriber, holding
    /// its live frames back until the replay is out.
    fn catch_up(
        &mut self,
        ctx: &mut Context<Self>,
        id: SessionId,
        epoch: String,
        after: u64,
        upto: u64,
    ) {
        self.generation += 1;
        let generation = self.generation;
        let Some(sub) = self.subscribers.get_mut(&id) else {
            return;
        };
        sub.catching_up = Some((generation, Vec::new()));
        self.replay_page(
            ctx,
            Replay {
                id,
                generation,
                epoch,
                after,
                upto,
            },
        );
    }

    /// One page of a catch-up, never more than the subscriber's queue has
    /// room for (less a quarter kept for live ephemeral frames), so a long
    /// replay goes out at the client's pace instead of overrunning it.
    fn replay_page(&mut self, ctx: &mut Context<Self>, replay: Replay) {
        let Some(sub) = self.subscribers.get(&replay.id) else {
            return;
        };
        if !matches!(sub.catching_up, Some((g, _)) if g == replay.generation) {
            return;
        }
        let headroom = sub.outbox.capacity() / 4;
        let room = sub.outbox.room_left().saturating_sub(headroom) as u64;
        if room == 0 {
            ctx.run_later(REPLAY_WAIT, move |room, ctx| room.replay_page(ctx, replay));
            return;
        }
        let page_end = replay.upto.min(replay.after + room.min(REPLAY_PAGE));
        let store = self.store.clone();
        let channel = self.channel.clone();
        let (epoch, after) = (replay.epoch.clone(), replay.after);
        let fetch = async move { store.replay(&channel, &epoch, after, page_end).await };
        ctx.spawn(fetch.into_actor(self).map(move |result, room, ctx| {
            let Some(sub) = room.subscribers.get_mut(&replay.id) else {
                return;
            };
            if !matches!(sub.catching_up, Some((g, _)) if g == replay.generation) {
                return;
            }
            let (frames, done, resynced) = match result {
                Ok(frames) if frames.len() as u64 == page_end - replay.after => {
                    (frames, page_end == replay.upto, false)
                }
                Ok(_) => (
                    vec![(replay.upto, protocol::resync(&room.channel, "history_gap"))],
                    true,
                    true,
                ),
                Err(e) => {
                    tracing::warn!(channel = %room.channel, "replay failed: {e}");
                    (
                        vec![(replay.upto, protocol::resync(&room.channel, "unavailable"))],
                        true,
                        true,
                    )
                }
            };
            if resynced {
                // The client drops what it held: no earlier frame is a base.
                sub.in_step_from = sub.in_step_from.map(|_| replay.upto + 1);
            }
            let mut frames = frames;
            if done {
                if let Some((_, held)) = sub.catching_up.take() {
                    frames.extend(held.into_iter().filter(|(seq, _)| *seq > replay.upto));
                }
            }
            let delivered = frames.into_iter().all(|(seq, frame)| {
                let ok = sub.outbox.deliver(frame);
                if ok {
                    sub.last_seq = seq;
                }
                ok
            });
            if !delivered {
                room.subscribers.remove(&replay.id);
            } else if !done {
                room.replay_page(
                    ctx,
                    Replay {
                        after: page_end,
                        ..replay
                    },
                );
            }
        }));
    }
}
