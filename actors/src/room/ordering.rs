//! In-order delivery: frames arriving ahead of a gap wait in the channel
//! log until the gap closes, and a gap still open shortly after is filled
//! from the store.

use std::time::Duration;

use actix::prelude::*;

use super::{Publish, Room};

impl Room {
    pub(super) fn publish(&mut self, ctx: &mut Context<Self>, msg: Publish) {
        let Some(log) = &mut self.log else { return };
        if msg.epoch != log.epoch {
            // The history was reset under us: reload everything.
            ctx.stop();
            return;
        }
        if let Some(snapshot) = msg.snapshot {
            self.snapshot = snapshot;
        }
        if let Some(hint) = msg.hint {
            if msg.seq > log.last_seq {
                self.hints.insert(msg.seq, hint);
            }
        }
        let ready = log.accept(msg.seq, msg.frame);
        self.fan_out(ready);
        self.schedule_gap_fill(ctx);
    }

    /// A frame arrived past a gap: if the gap is still there shortly, the
    /// missing frames are fetched from the store.
    pub(super) fn schedule_gap_fill(&mut self, ctx: &mut Context<Self>) {
        if self.filling_gap || self.log.as_ref().and_then(|l| l.gap()).is_none() {
            return;
        }
        self.filling_gap = true;
        ctx.run_later(Duration::from_millis(250), |room, ctx| {
            let Some((after, upto, epoch)) = room
                .log
                .as_ref()
                .and_then(|l| l.gap().map(|(a, u)| (a, u, l.epoch.clone())))
            else {
                room.filling_gap = false;
                return;
            };
            let store = room.store.clone();
            let channel = room.channel.clone();
            let fetch = async move { store.replay(&channel, &epoch, after, upto).await };
            ctx.spawn(fetch.into_actor(room).map(|result, room, ctx| {
                room.filling_gap = false;
                if let (Ok(frames), Some(log)) = (result, room.log.as_mut()) {
                    let mut ready = Vec::new();
                    for (seq, frame) in frames {
                        ready.extend(log.accept(seq, frame));
                    }
                    room.fan_out(ready);
                }
                room.schedule_gap_fill(ctx);
            }));
        });
    }
}
