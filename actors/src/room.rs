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

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::channel::Channel;
use crate::history::ChannelLog;
use std::collections::BTreeSet;

use crate::hub::{Hub, LocalHeadcount};
use crate::outbox::{Outbox, SessionId};
use crate::protocol::{self, ErrorCode, Frame, Since};
use crate::store::{Head, LiveStore, StoreError};

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

/// Frames fetched from the store at a time while a subscriber catches up.
const REPLAY_PAGE: u64 = 256;
/// How long a catch-up waits for a full queue to drain before the next page.
const REPLAY_WAIT: Duration = Duration::from_millis(20);

/// Who follows a channel on one node: connections, distinct members (a
/// signed-in user once however many sessions, each anonymous connection
/// once), and the members' ids when the room is small.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Headcount {
    pub connections: usize,
    pub members: usize,
    pub users: Option<Vec<i64>>,
}

/// A channel's presence on every node, as `GET /api/live/presence/…` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Presence {
    pub count: usize,
    /// Member ids, for small channels.
    pub users: Option<Vec<i64>>,
}

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

/// A catch-up in progress: whose, of which join, and what is left.
struct Replay {
    id: SessionId,
    generation: u64,
    epoch: String,
    after: u64,
    upto: u64,
}

/// Who gets a frame.
enum Audience {
    Everyone,
    /// Only these users (a sampled-out comment's author and addressee).
    Only([Option<i64>; 2]),
}

/// An even pace of admissions: refilled at `rate` a second, up to `burst`.
struct Pace {
    tokens: f64,
    at: Instant,
}

struct Subscriber {
    outbox: Outbox,
    /// The last durable frame this subscriber was given.
    last_seq: u64,
    /// While replaying from the store: live frames held back, and the join
    /// generation the replay belongs to.
    catching_up: Option<(u64, Vec<(u64, Frame)>)>,
}

pub struct Room {
    channel: Channel,
    store: Arc<dyn LiveStore>,
    config: RoomConfig,
    hub: Addr<Hub>,
    log: Option<ChannelLog>,
    snapshot: Value,
    /// The channel names nothing that exists.
    missing: bool,
    subscribers: HashMap<SessionId, Subscriber>,
    generation: u64,
    filling_gap: bool,
    viewers_sent: usize,
    viewers_stored: usize,
    /// The local headcount last told to the hub (for other nodes).
    shared: Headcount,
    /// Other nodes' headcounts, and when each was last heard.
    peers: HashMap<String, (Headcount, Instant)>,
    /// Presence as last announced.
    presence: Presence,
    empty_since: Option<Instant>,
    /// Sampling hints of frames not yet fanned out, by seq.
    hints: HashMap<u64, FanoutHint>,
    pace: Pace,
}

/// A peer's count is dropped when not heard from for this long.
const PEER_COUNT_TTL: Duration = Duration::from_secs(5);

/// A room with no subscribers for `idle_after` tells the hub, which forgets it;
/// then the room stops.
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

/// An ephemeral frame for every current subscriber.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Ephemeral(pub Frame);

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

impl Room {
    pub fn new(
        channel: Channel,
        store: Arc<dyn LiveStore>,
        config: RoomConfig,
        hub: Addr<Hub>,
    ) -> Room {
        Room {
            channel,
            store,
            config,
            hub,
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
            // A room starts with a full burst: a quiet room's first comments
            // are never the ones left out.
            pace: Pace {
                tokens: f64::INFINITY,
                at: Instant::now(),
            },
        }
    }

    /// Runs a handler body; a panic stops the room, and its supervisor restarts it.
    fn guarded(&mut self, ctx: &mut Context<Self>, f: impl FnOnce(&mut Self, &mut Context<Self>)) {
        if catch_unwind(AssertUnwindSafe(|| f(self, ctx))).is_err() {
            tracing::error!(channel = %self.channel, "room failed; restarting it from storage");
            ctx.stop();
        }
    }

    fn counts_viewers(&self) -> bool {
        matches!(self.channel, Channel::Event(_) | Channel::Fight(_))
    }

    /// Viewers (connections) on every node: ours plus what peers said recently.
    fn viewers(&self) -> usize {
        let peers: usize = self.peers.values().map(|(h, _)| h.connections).sum();
        self.subscribers.len() + peers
    }

    fn local_headcount(&self) -> Headcount {
        let mut users = BTreeSet::new();
        let mut anonymous = 0;
        for sub in self.subscribers.values() {
            match sub.outbox.user {
                Some(u) => {
                    users.insert(u);
                }
                None => anonymous += 1,
            }
        }
        let members = users.len() + anonymous;
        Headcount {
            connections: self.subscribers.len(),
            members,
            users: (members <= self.config.presence_list_max).then(|| users.into_iter().collect()),
        }
    }

    /// Presence over every node; members are listed only when every node
    /// listed its own and the total is small.
    fn presence_now(&self, local: &Headcount) -> Presence {
        let mut count = local.members;
        let mut users: Option<BTreeSet<i64>> =
            local.users.as_ref().map(|u| u.iter().copied().collect());
        for (peer, _) in self.peers.values() {
            count += peer.members;
            users = match (users, &peer.users) {
                (Some(mut all), Some(theirs)) => {
                    all.extend(theirs);
                    Some(all)
                }
                _ => None,
            };
        }
        Presence {
            users: users
                .filter(|_| count <= self.config.presence_list_max)
                .map(|u| u.into_iter().collect()),
            count,
        }
    }

    /// Announces presence when it changed: the count, and who joined and
    /// left when the channel is small. Big event and fight rooms already
    /// announce `viewers`; a second frame per change would only double the
    /// traffic of a connection storm, so there it is kept for REST and
    /// snapshots only.
    fn announce_presence(&mut self, now: Presence) {
        let quiet = matches!(self.channel, Channel::User(_))
            || (self.counts_viewers() && now.users.is_none());
        if now == self.presence || quiet {
            self.presence = now;
            return;
        }
        let mut data = json!({ "count": now.count });
        if let (Some(before), Some(after)) = (&self.presence.users, &now.users) {
            let joined: Vec<i64> = after
                .iter()
                .filter(|u| !before.contains(u))
                .copied()
                .collect();
            let left: Vec<i64> = before
                .iter()
                .filter(|u| !after.contains(u))
                .copied()
                .collect();
            data["joined"] = json!(joined);
            data["left"] = json!(left);
        }
        let frame = protocol::ephemeral("presence", &self.channel, &data);
        self.subscribers
            .retain(|_, sub| sub.outbox.deliver(frame.clone()));
        self.presence = now;
    }

    fn snapshot_now(&self) -> Value {
        let mut snapshot = self.snapshot.clone();
        if self.counts_viewers() {
            if let Value::Object(map) = &mut snapshot {
                map.insert("viewer_count".into(), json!(self.viewers()));
            }
        }
        if let Value::Object(map) = &mut snapshot {
            map.insert("presence".into(), json!({ "count": self.presence.count }));
        }
        snapshot
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
                    sub.outbox.refuse_subscription(&channel, protocol::error(ErrorCode::NotFound, "no such channel", &None));
                }
            }
            Err(e) => {
                tracing::warn!(channel = %room.channel, "loading the room failed: {e}; retrying");
                ctx.run_later(Duration::from_millis(500), |room, ctx| room.load(ctx));
            }
        }));
    }

    /// After a reload: replays what a retained subscriber missed.
    fn bring_up_to_date(&mut self, ctx: &mut Context<Self>, id: SessionId, epoch_changed: bool) {
        let Some(log) = &self.log else { return };
        let (epoch, last) = (log.epoch.clone(), log.last_seq);
        let Some(sub) = self.subscribers.get_mut(&id) else {
            return;
        };
        if epoch_changed || sub.last_seq > last {
            sub.last_seq = last;
            sub.catching_up = None;
            if !sub
                .outbox
                .deliver(protocol::resync(&self.channel, "history_gap"))
            {
                self.subscribers.remove(&id);
            }
        } else if last - sub.last_seq > self.config.resume_max_messages {
            sub.last_seq = last;
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

    fn join(&mut self, ctx: &mut Context<Self>, msg: Join) {
        let Join {
            outbox,
            since,
            reference,
        } = msg;
        if self.missing {
            outbox.refuse_subscription(
                &self.channel,
                protocol::error(ErrorCode::NotFound, "no such channel", &reference),
            );
            return;
        }
        let Some(log) = &self.log else {
            outbox.refuse_subscription(
                &self.channel,
                protocol::error(
                    ErrorCode::Unavailable,
                    "channel not ready; retry",
                    &reference,
                ),
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
                    protocol::error(ErrorCode::RoomFull, "this room is full", &reference),
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
        let Some(since) = since else { return };
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
            let (frames, done) = match result {
                Ok(frames) if frames.len() as u64 == page_end - replay.after => {
                    (frames, page_end == replay.upto)
                }
                Ok(_) => (
                    vec![(replay.upto, protocol::resync(&room.channel, "history_gap"))],
                    true,
                ),
                Err(e) => {
                    tracing::warn!(channel = %room.channel, "replay failed: {e}");
                    (
                        vec![(replay.upto, protocol::resync(&room.channel, "unavailable"))],
                        true,
                    )
                }
            };
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

    fn publish(&mut self, ctx: &mut Context<Self>, msg: Publish) {
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

    fn fan_out(&mut self, ready: Vec<(u64, Frame)>) {
        if ready.is_empty() {
            return;
        }
        let capacity = self.config.catch_up_buffer;
        let now = Instant::now();
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
                if !sub.outbox.deliver_at(frame.clone(), now) {
                    return false;
                }
                sub.last_seq = *seq;
            }
            true
        });
    }

    /// Subscribers still short of the head only because comments were left
    /// out for them hear how many, so their `seq` catches up.
    fn report_skipped(&mut self) {
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

    /// A frame arrived past a gap: if the gap is still there shortly, the
    /// missing frames are fetched from the store.
    fn schedule_gap_fill(&mut self, ctx: &mut Context<Self>) {
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

    fn tick(&mut self, ctx: &mut Context<Self>) {
        self.report_skipped();
        let local = self.subscribers.len();
        let headcount = self.local_headcount();
        if headcount != self.shared {
            self.shared = headcount.clone();
            self.hub.do_send(LocalHeadcount {
                channel: self.channel.clone(),
                headcount: headcount.clone(),
            });
        }
        self.peers
            .retain(|_, (_, heard)| heard.elapsed() < PEER_COUNT_TTL);
        let presence = self.presence_now(&headcount);
        self.announce_presence(presence);
        let count = self.viewers();
        if self.counts_viewers() && count != self.viewers_sent {
            self.viewers_sent = count;
            let frame = protocol::ephemeral("viewers", &self.channel, &json!({ "count": count }));
            self.subscribers
                .retain(|_, sub| sub.outbox.deliver(frame.clone()));
        }
        if self.counts_viewers() && count != self.viewers_stored {
            self.viewers_stored = count;
            let store = self.store.clone();
            let channel = self.channel.clone();
            ctx.spawn(
                async move {
                    if let Err(e) = store.record_viewers(&channel, count as u64).await {
                        tracing::warn!(%channel, "storing the viewer count failed: {e}");
                    }
                }
                .into_actor(self),
            );
        }
        match (local, self.empty_since) {
            (0, None) => self.empty_since = Some(Instant::now()),
            (0, Some(since)) if since.elapsed() > self.config.idle_after => {
                // Once the hub has forgotten us, stop for good (no address is
                // left, so the supervisor lets us go). Anyone who joined in
                // the meantime is sent to the new room: reconnect and resume.
                let idle = self.hub.send(RoomIdle {
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

/// From the hub: a publish timed from its hand-over (fan-out latency).
impl Handler<crate::hub::Handed> for Room {
    type Result = ();
    fn handle(&mut self, msg: crate::hub::Handed, ctx: &mut Context<Self>) {
        self.guarded(ctx, |room, ctx| room.publish(ctx, msg.message));
        crate::telemetry::sink().fanned_out(msg.at.elapsed());
    }
}

impl Handler<Ephemeral> for Room {
    type Result = ();
    fn handle(&mut self, msg: Ephemeral, _: &mut Context<Self>) {
        self.subscribers
            .retain(|_, sub| sub.outbox.deliver(msg.0.clone()));
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
