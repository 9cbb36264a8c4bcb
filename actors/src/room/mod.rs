//! A room: one channel's live state and subscribers (the event rooms, fight
//! rooms and the other channels all run this actor).
//!
//! The room delivers durable frames in sequence order with no gap and no
//! duplicate: publishers hand it frames already numbered and stored, it
//! reorders what arrives early, fills gaps from the store, keeps a window of
//! recent frames for resumes, and replays older history from the store. A
//! subscriber that cannot keep up is dropped, never waited for.
//!
//! A room turns any failure (a panic in a handler included) into a stop; its
//! supervisor restarts it with the same subscribers, it reloads its state
//! from the store and catches each subscriber up from the last frame it had.
//!
//! This file holds the actor, its messages and what ties them together
//! (loading, joining, the periodic tick); the rest is split by concern:
//! `ordering.rs` (in-order delivery: early arrivals, gap fill),
//! `catch_up.rs` (resume and paged replay), `delta.rs` (delta frames of
//! the state frames, for subscribers that ask), `sampling.rs` (the comment
//! fan-out budget and `skipped` ranges) and `presence.rs` (headcounts,
//! presence and viewer counts).

mod catch_up;
mod delta;
mod ordering;
mod presence;
mod sampling;

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use serde_json::Value;

use crate::channel::Channel;
use crate::history::ChannelLog;
use crate::outbox::{Outbox, SessionId};
use crate::protocol::{self, ErrorCode, Frame, Since};
use crate::store::{Head, LiveStore, StoreError};

pub(crate) use presence::{combine as combine_presence, PEER_COUNT_TTL};
pub use presence::{Headcount, Presence};
pub use sampling::FanoutHint;

use sampling::Pace;

/// Limits a room runs under.
#[derive(Debug, Clone)]
pub struct RoomConfig {
    /// Recent frames kept in memory for resumes.
    pub history: usize,
    /// Subscribers allowed (event channels: `MAX_VIEWERS_PER_EVENT`).
    pub max_subscribers: Option<usize>,
    /// How often viewer counts go out (coalesced).
    pub viewer_interval: Duration,
    /// Frames buffered for a subscriber while it catches up.
    pub catch_up_buffer: usize,
    /// A room with no subscribers this long stops.
    pub idle_after: Duration,
    /// Comment rooms: frames with a [`FanoutHint`] delivered to everyone per
    /// second; past it they are sampled (see [`FanoutHint`]).
    pub sample_per_second: Option<u32>,
    /// Rooms up to this many members list them (and announce joins and
    /// leaves); bigger ones only count.
    pub presence_list_max: usize,
    /// Of `max_subscribers`, places only signed-in users may take.
    pub signed_in_reserve: usize,
    /// A subscriber further behind than this is told to `resync` rather
    /// than replayed (`RESUME_MAX_MESSAGES`).
    pub resume_max_messages: u64,
}

struct Subscriber {
    outbox: Outbox,
    /// The last durable frame this subscriber was given.
    last_seq: u64,
    /// Asked for deltas: every frame from this seq on reached it in order,
    /// so a delta whose base is at or past it can go instead of the frame
    /// (`delta.rs`). `None`: full frames only.
    in_step_from: Option<u64>,
    /// While replaying from the store: live frames held back, and the join
    /// generation the replay belongs to.
    catching_up: Option<(u64, Vec<(u64, Frame)>)>,
}

pub struct Room {
    channel: Channel,
    store: Arc<dyn LiveStore>,
    config: RoomConfig,
    owner: RoomOwner,
    log: Option<ChannelLog>,
    snapshot: Value,
    /// The channel names nothing that exists.
    missing: bool,
    subscribers: HashMap<SessionId, Subscriber>,
    generation: u64,
    filling_gap: bool,
    viewers_sent: usize,
    viewers_stored: usize,
    /// The local headcount last told to the owner (for other nodes).
    shared: Headcount,
    /// Other nodes' headcounts, and when each was last heard.
    peers: HashMap<String, (Headcount, Instant)>,
    /// Presence as last announced.
    presence: Presence,
    empty_since: Option<Instant>,
    /// Sampling hints of frames not yet fanned out, by seq.
    hints: HashMap<u64, FanoutHint>,
    pace: Pace,
    /// The last state frames, for deltas (`delta.rs`).
    states: delta::States,
}

/// Where a room reports what its owner (the hub) keeps track of. Recipients
/// of the room's own messages, so the room never names the hub's type.
#[derive(Clone)]
pub struct RoomOwner {
    pub idle: Recipient<RoomIdle>,
    pub headcount: Recipient<LocalHeadcount>,
}

/// A room with no subscribers for `idle_after` tells its owner (the hub),
/// which forgets it; then the room stops.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RoomIdle {
    pub channel: Channel,
    pub room: Addr<Room>,
}

/// A session wants this channel (again), from `since` if given.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Join {
    pub outbox: Outbox,
    pub since: Option<Since>,
    pub reference: Option<Value>,
    /// The client asked for delta frames (`subscribe`'s `delta`).
    pub delta: bool,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    pub session: SessionId,
}

/// A durable frame, already numbered and stored by its publisher.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Publish {
    pub epoch: String,
    pub seq: u64,
    pub frame: Frame,
    /// The channel's new state, when this message changed it.
    pub snapshot: Option<Value>,
    /// Set on comments: how the frame may be sampled.
    pub hint: Option<FanoutHint>,
}

/// An ephemeral frame for every current subscriber, and the snapshot field
/// it makes current (the totals a later subscriber's `subscribed` shows).
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Ephemeral {
    pub frame: Frame,
    pub patch: Option<SnapshotPatch>,
}

/// A top-level field of a room's snapshot and its new value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SnapshotPatch {
    pub field: String,
    pub value: Value,
}

/// How many subscribe to the room.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct Subscribers;

/// How many follow this channel on another node (multi-node only).
#[derive(Message)]
#[rtype(result = "()")]
pub struct PeerCount {
    pub node: String,
    pub headcount: Headcount,
}

/// The channel's presence (count, and members for small channels).
#[derive(Message)]
#[rtype(result = "Presence")]
pub struct GetPresence;

/// Reload the head and snapshot from the store and catch every subscriber
/// up: frames published while this node could not hear the bus are found.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reload;

/// Fault injection for tests and drills: the room's next handler panics.
#[derive(Message)]
#[rtype(result = "()")]
pub struct InjectPanic;

/// A room's headcount on this node changed (its owner shares it with the
/// other nodes).
#[derive(Message)]
#[rtype(result = "()")]
pub struct LocalHeadcount {
    pub channel: Channel,
    pub headcount: Headcount,
}

impl Room {
    pub fn new(
        channel: Channel,
        store: Arc<dyn LiveStore>,
        config: RoomConfig,
        owner: RoomOwner,
    ) -> Room {
        Room {
            channel,
            store,
            config,
            owner,
            log: None,
            snapshot: Value::Null,
            missing: false,
            subscribers: HashMap::new(),
            generation: 0,
            filling_gap: false,
            viewers_sent: 0,
            viewers_stored: 0,
            shared: Headcount::default(),
            peers: HashMap::new(),
            presence: Presence {
                count: 0,
                users: Some(Vec::new()),
            },
            empty_since: Some(Instant::now()),
            hints: HashMap::new(),
            pace: Pace::full(),
            states: delta::States::default(),
        }
    }

    /// Runs a handler body; a panic stops the room, and its supervisor restarts it.
    fn guarded(&mut self, ctx: &mut Context<Self>, f: impl FnOnce(&mut Self, &mut Context<Self>)) {
        if catch_unwind(AssertUnwindSafe(|| f(self, ctx))).is_err() {
            tracing::error!(channel = %self.channel, "room failed; restarting it from storage");
            ctx.stop();
        }
    }

    /// Loads (or reloads, after a restart) the head and snapshot; then brings
    /// every retained subscriber up to date. Nothing else runs meanwhile.
    fn load(&mut self, ctx: &mut Context<Self>) {
        let store = self.store.clone();
        let channel = self.channel.clone();
        let previous_epoch = self.log.as_ref().map(|l| l.epoch.clone());
        let work = async move {
            // The snapshot first: a channel of nothing gets no sequence row.
            let snapshot = store.snapshot(&channel).await?;
            let head = store.head(&channel).await?;
            Ok::<(Head, Value), StoreError>((head, snapshot))
        };
        ctx.wait(work.into_actor(self).map(move |result, room, ctx| match result {
            Ok((head, snapshot)) => {
                room.missing = false;
                room.snapshot = snapshot;
                // Catch-ups below send frames that never pass the fan-out.
                room.states.clear();
                let epoch_changed = previous_epoch.is_some_and(|e| e != head.epoch);
                // Hints of frames the reload already covers would never be used.
                room.hints.retain(|seq, _| *seq > head.last_seq);
                room.log = Some(ChannelLog::new(head.epoch, head.last_seq, room.config.history));
                let ids: Vec<SessionId> = room.subscribers.keys().copied().collect();
                for id in ids {
                    room.bring_up_to_date(ctx, id, epoch_changed);
                }
            }
            Err(StoreError::NotFound) => {
                room.missing = true;
                let channel = room.channel.clone();
                for (_, sub) in room.subscribers.drain() {
                    sub.outbox.refuse_subscription(&channel, ErrorCode::NotFound, "no such channel", &None);
                }
            }
            Err(e) => {
                tracing::warn!(channel = %room.channel, "loading the room failed: {e}; retrying");
                ctx.run_later(Duration::from_millis(500), |room, ctx| room.load(ctx));
            }
        }));
    }

    fn join(&mut self, ctx: &mut Context<Self>, msg: Join) {
        let Join {
            outbox,
            since,
            reference,
            delta,
        } = msg;
        if self.missing {
            outbox.refuse_subscription(
                &self.channel,
                ErrorCode::NotFound,
                "no such channel",
                &reference,
            );
            return;
        }
        let Some(log) = &self.log else {
            outbox.refuse_subscription(
                &self.channel,
                ErrorCode::Unavailable,
                "channel not ready; retry",
                &reference,
            );
            return;
        };
        let rejoin = self.subscribers.contains_key(&outbox.id);
        if let Some(max) = self.config.max_subscribers {
            // Anonymous viewers cannot fill the places kept for signed-in fans.
            let cap = match outbox.user {
                Some(_) => max,
                None => max.saturating_sub(self.config.signed_in_reserve),
            };
            if !rejoin && self.viewers() >= cap {
                outbox.refuse_subscription(
                    &self.channel,
                    ErrorCode::RoomFull,
                    "this room is full",
                    &reference,
                );
                return;
            }
        }
        let (epoch, last) = (log.epoch.clone(), log.last_seq);
        let id = outbox.id;
        // In the room before the snapshot is taken, so it counts this viewer.
        self.subscribers.insert(
            id,
            Subscriber {
                outbox: outbox.clone(),
                last_seq: last,
                // Replays (after `since`) and held frames go full: the
                // first frame that may be a delta's base is the next live one.
                in_step_from: delta.then_some(last + 1),
                catching_up: None,
            },
        );
        self.empty_since = None;
        let snapshot = self.snapshot_now();
        if !outbox.deliver(protocol::subscribed(
            &self.channel,
            &epoch,
            last,
            &snapshot,
            &reference,
        )) {
            self.subscribers.remove(&id);
            return;
        }
        if let Some(since) = since {
            self.resume(ctx, id, &outbox, since);
        }
    }

    /// Periodic work: `skipped` reports, headcounts, presence and viewer
    /// counts, and stopping once idle for long enough.
    fn tick(&mut self, ctx: &mut Context<Self>) {
        self.report_skipped();
        let local = self.subscribers.len();
        self.share_counts(ctx);
        match (local, self.empty_since) {
            (0, None) => self.empty_since = Some(Instant::now()),
            (0, Some(since)) if since.elapsed() > self.config.idle_after => {
                // Once the owner has forgotten us, stop for good (no address is
                // left, so the supervisor lets us go). Anyone who joined in
                // the meantime is sent to the new room: reconnect and resume.
                let idle = self.owner.idle.send(RoomIdle {
                    channel: self.channel.clone(),
                    room: ctx.address(),
                });
                ctx.wait(idle.into_actor(self).map(|_, room, ctx| {
                    for (_, sub) in room.subscribers.drain() {
                        sub.outbox
                            .kick(protocol::close::RESTART, "room moved: reconnect and resume");
                    }
                    ctx.stop();
                }));
            }
            _ => {}
        }
    }
}

impl Actor for Room {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.load(ctx);
        ctx.run_interval(self.config.viewer_interval, |room, ctx| {
            room.guarded(ctx, Room::tick)
        });
    }
}

impl Supervised for Room {
    fn restarting(&mut self, _: &mut Context<Self>) {
        // Subscribers stay; the state is rebuilt by `started` from the store.
        self.filling_gap = false;
        self.states.clear();
        for sub in self.subscribers.values_mut() {
            sub.catching_up = None;
        }
    }
}

impl Handler<Join> for Room {
    type Result = ();
    fn handle(&mut self, msg: Join, ctx: &mut Context<Self>) {
        self.guarded(ctx, |room, ctx| room.join(ctx, msg));
    }
}

impl Handler<Leave> for Room {
    type Result = ();
    fn handle(&mut self, msg: Leave, _: &mut Context<Self>) {
        self.subscribers.remove(&msg.session);
    }
}

impl Handler<Publish> for Room {
    type Result = ();
    fn handle(&mut self, msg: Publish, ctx: &mut Context<Self>) {
        self.guarded(ctx, |room, ctx| room.publish(ctx, msg));
    }
}

/// A [`Publish`] from the hub with the bus's hand-over time: the room reports
/// how long the frame took to reach its last subscriber's queue.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Handed {
    pub message: Publish,
    pub at: Instant,
}

impl Handler<Handed> for Room {
    type Result = ();
    fn handle(&mut self, msg: Handed, ctx: &mut Context<Self>) {
        self.guarded(ctx, |room, ctx| room.publish(ctx, msg.message));
        crate::telemetry::sink().fanned_out(msg.at.elapsed());
    }
}

impl Handler<Ephemeral> for Room {
    type Result = ();
    fn handle(&mut self, msg: Ephemeral, _: &mut Context<Self>) {
        if let (Some(patch), Some(snapshot)) = (msg.patch, self.snapshot.as_object_mut()) {
            snapshot.insert(patch.field, patch.value);
        }
        self.subscribers
            .retain(|_, sub| sub.outbox.deliver(msg.frame.clone()));
    }
}

impl Handler<Subscribers> for Room {
    type Result = usize;
    fn handle(&mut self, _: Subscribers, _: &mut Context<Self>) -> usize {
        self.subscribers.len()
    }
}

impl Handler<PeerCount> for Room {
    type Result = ();
    fn handle(&mut self, msg: PeerCount, _: &mut Context<Self>) {
        self.peers.insert(msg.node, (msg.headcount, Instant::now()));
    }
}

impl Handler<GetPresence> for Room {
    type Result = MessageResult<GetPresence>;
    fn handle(&mut self, _: GetPresence, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.presence_now(&self.local_headcount()))
    }
}

impl Handler<Reload> for Room {
    type Result = ();
    fn handle(&mut self, _: Reload, ctx: &mut Context<Self>) {
        self.guarded(ctx, Room::load);
    }
}

impl Handler<InjectPanic> for Room {
    type Result = ();
    fn handle(&mut self, _: InjectPanic, ctx: &mut Context<Self>) {
        self.guarded(ctx, |_, _| panic!("injected fault"));
    }
}

#[cfg(test)]
mod tests;
