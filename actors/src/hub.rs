//! The hub (one per node): the registry of live rooms and of connected
//! sessions. It starts rooms on demand, spread over the node's arbiters and
//! each under a supervisor; replaces a room whose address has died; enforces
//! per-user connection limits; reaches every session for broadcasts; and
//! once a second sweeps for sessions whose socket stopped taking frames.
//! A channel is looked up in the store before a room is made for it, so
//! subscriptions to channels that do not exist cost a query and no room.
//!
//! Presence on a channel this node has no room for comes from the other
//! nodes' beats (multi-node): each beat carries that node's headcount of
//! every channel it has a room for, and the hub keeps the last beat of each
//! node (dropped once older than the rooms' own peer-count TTL). That is the
//! source the rooms already add up, so `GET /api/live/presence/…` answers the
//! cluster's count on any node, with no room started (a room would load its
//! snapshot and log for a one-off read) and no store round trip (the counts
//! are nowhere else: they live in the nodes' memories and on the bus).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use serde_json::Value;

use crate::channel::Channel;
use crate::outbox::{Outbox, SessionId};
use crate::protocol::{self, ErrorCode, Frame, Since};
use crate::room::{
    self, GetPresence, Handed, Headcount, InjectPanic, Join, Leave, PeerCount, Presence, Publish,
    Reload, Room, RoomConfig, RoomIdle, RoomOwner, Subscribers,
};
// Defined with the room, which sends it; kept reachable here for the edges.
pub use crate::room::LocalHeadcount;
use crate::store::{LiveStore, StoreError};

#[derive(Debug, Clone)]
pub struct HubConfig {
    pub max_connections_per_user: usize,
    pub max_viewers_per_event: usize,
    pub room: RoomConfig,
    /// Arbiters (threads) rooms are spread over.
    pub room_threads: usize,
    /// A session whose writer made no progress this long while frames
    /// waited is dropped (`CHANNEL_EXPIRY`).
    pub queue_expiry: Duration,
    /// Comment rooms' fan-out budget (`COMMENT_FANOUT_PER_SECOND`).
    pub comment_fanout_per_second: u32,
    /// Percent of an event room's places kept for signed-in users.
    pub signed_in_reserve_percent: u32,
}

pub struct Hub {
    store: Arc<dyn LiveStore>,
    config: HubConfig,
    arbiters: Vec<ArbiterHandle>,
    next_arbiter: usize,
    rooms: HashMap<Channel, Addr<Room>>,
    sessions: HashMap<SessionId, Outbox>,
    users: HashMap<i64, Vec<SessionId>>,
    /// Who follows this node's rooms, as the rooms last said.
    local_viewers: HashMap<Channel, Headcount>,
    /// Every other node's last beat: its headcount per channel, and when it
    /// came (see the module header).
    remote: HashMap<String, (Instant, HashMap<Channel, Headcount>)>,
    /// Sessions with frames waiting: progress seen, and since when.
    stalls: HashMap<SessionId, (u64, Instant)>,
    /// Joins waiting for their channel to be looked up.
    pending: HashMap<Channel, Vec<Join>>,
}

impl Hub {
    pub fn new(store: Arc<dyn LiveStore>, config: HubConfig) -> Hub {
        let arbiters = (0..config.room_threads.max(1))
            .map(|_| Arbiter::new().handle())
            .collect();
        Hub {
            store,
            config,
            arbiters,
            next_arbiter: 0,
            rooms: HashMap::new(),
            sessions: HashMap::new(),
            users: HashMap::new(),
            local_viewers: HashMap::new(),
            remote: HashMap::new(),
            stalls: HashMap::new(),
            pending: HashMap::new(),
        }
    }

    fn room(&mut self, channel: &Channel, ctx: &mut Context<Self>) -> Addr<Room> {
        if let Some(addr) = self.rooms.get(channel) {
            if addr.connected() {
                return addr.clone();
            }
            tracing::warn!(%channel, "room died; starting a new one");
            crate::telemetry::sink().rooms_reloaded("replaced", 1);
        }
        let mut config = self.config.room.clone();
        match channel {
            Channel::Event(_) => {
                let max = self.config.max_viewers_per_event;
                config.max_subscribers = Some(max);
                // Rounded down: a tiny cap keeps no place from anonymous viewers.
                config.signed_in_reserve =
                    max * self.config.signed_in_reserve_percent as usize / 100;
            }
            Channel::Comments(_) => {
                config.sample_per_second = Some(self.config.comment_fanout_per_second)
            }
            _ => {}
        }
        let arbiter = &self.arbiters[self.next_arbiter % self.arbiters.len()];
        self.next_arbiter += 1;
        let owner = RoomOwner {
            idle: ctx.address().recipient(),
            headcount: ctx.address().recipient(),
        };
        let (store, ch) = (self.store.clone(), channel.clone());
        let addr =
            Supervisor::start_in_arbiter(arbiter, move |_| Room::new(ch, store, config, owner));
        // The other nodes' counts as last heard, so a new room's presence
        // and viewer count do not start from this node alone.
        for (node, (_, counts)) in &self.remote {
            if let Some(headcount) = counts.get(channel) {
                addr.do_send(PeerCount {
                    node: node.clone(),
                    headcount: headcount.clone(),
                });
            }
        }
        self.rooms.insert(channel.clone(), addr.clone());
        addr
    }

    /// Forgets the beats of nodes not heard from within the peer TTL.
    fn forget_silent_nodes(&mut self) {
        self.remote
            .retain(|_, (heard, _)| heard.elapsed() < room::PEER_COUNT_TTL);
    }

    /// A socket the client stopped reading is never polled, so its writer
    /// cannot notice old frames: this finds it by its progress counter.
    fn sweep_stalls(&mut self) {
        let now = Instant::now();
        let expiry = self.config.queue_expiry;
        for (id, outbox) in &self.sessions {
            if outbox.queued() == 0 {
                self.stalls.remove(id);
                continue;
            }
            let written = outbox.written();
            match self.stalls.get(id) {
                Some((seen, since)) if *seen == written => {
                    if now.duration_since(*since) > expiry {
                        outbox.kick(protocol::close::TOO_SLOW, "too slow: reconnect with since");
                    }
                }
                _ => {
                    self.stalls.insert(*id, (written, now));
                }
            }
        }
    }
}

impl Actor for Hub {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(Duration::from_secs(1), |hub, _| {
            hub.sweep_stalls();
            hub.forget_silent_nodes();
        });
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    TooManyConnections,
}

/// A session opens; refused past the user's connection limit.
#[derive(Message)]
#[rtype(result = "Result<(), Refused>")]
pub struct Connect {
    pub outbox: Outbox,
}

impl Handler<Connect> for Hub {
    type Result = Result<(), Refused>;
    fn handle(&mut self, msg: Connect, _: &mut Context<Self>) -> Self::Result {
        let outbox = msg.outbox;
        if let Some(user) = outbox.user {
            let open = self.users.entry(user).or_default();
            if open.len() >= self.config.max_connections_per_user {
                return Err(Refused::TooManyConnections);
            }
            open.push(outbox.id);
        }
        self.sessions.insert(outbox.id, outbox);
        Ok(())
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Disconnect {
    pub session: SessionId,
    pub channels: Vec<Channel>,
}

impl Handler<Disconnect> for Hub {
    type Result = ();
    fn handle(&mut self, msg: Disconnect, _: &mut Context<Self>) {
        self.stalls.remove(&msg.session);
        if let Some(outbox) = self.sessions.remove(&msg.session) {
            if let Some(user) = outbox.user {
                if let Some(open) = self.users.get_mut(&user) {
                    open.retain(|s| *s != msg.session);
                    if open.is_empty() {
                        self.users.remove(&user);
                    }
                }
            }
        }
        for channel in msg.channels {
            self.drop_pending(&channel, msg.session);
            if let Some(room) = self.rooms.get(&channel) {
                room.do_send(Leave {
                    session: msg.session,
                });
            }
        }
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Subscribe {
    pub channel: Channel,
    pub since: Option<Since>,
    pub reference: Option<Value>,
    pub outbox: Outbox,
    /// The client asked for delta frames (`subscribe`'s `delta`).
    pub delta: bool,
}

impl Handler<Subscribe> for Hub {
    type Result = ();
    fn handle(&mut self, msg: Subscribe, ctx: &mut Context<Self>) {
        let join = Join {
            outbox: msg.outbox,
            since: msg.since,
            reference: msg.reference,
            delta: msg.delta,
        };
        let channel = msg.channel;
        if self
            .rooms
            .get(&channel)
            .is_some_and(|room| room.connected())
        {
            return self.join(ctx, channel, join);
        }
        if let Some(waiting) = self.pending.get_mut(&channel) {
            return waiting.push(join);
        }
        self.pending.insert(channel.clone(), vec![join]);
        let store = self.store.clone();
        let lookup = channel.clone();
        let exists = async move { store.exists(&lookup).await };
        ctx.spawn(exists.into_actor(self).map(move |found, hub, ctx| {
            let waiting = hub.pending.remove(&channel).unwrap_or_default();
            let refusal = match found {
                Ok(true) => {
                    return waiting
                        .into_iter()
                        .for_each(|join| hub.join(ctx, channel.clone(), join))
                }
                Ok(false) | Err(StoreError::NotFound) => (ErrorCode::NotFound, "no such channel"),
                Err(StoreError::Unavailable(e)) => {
                    tracing::warn!(%channel, "looking the channel up failed: {e}");
                    (ErrorCode::Unavailable, "channel not ready; retry")
                }
            };
            for join in waiting {
                join.outbox
                    .refuse_subscription(&channel, refusal.0, refusal.1, &join.reference);
            }
        }));
    }
}

impl Hub {
    fn join(&mut self, ctx: &mut Context<Self>, channel: Channel, join: Join) {
        let retry = join.clone();
        let room = self.room(&channel, ctx);
        // A room that stopped (idle) with this join still in its mailbox
        // drops it: the join then goes to a fresh room, never lost.
        ctx.spawn(room.send(join).into_actor(self).map(move |sent, hub, ctx| {
            if sent.is_err() {
                hub.room(&channel, ctx).do_send(retry);
            }
        }));
    }

    /// Forgets a session's joins still waiting for a lookup.
    fn drop_pending(&mut self, channel: &Channel, session: SessionId) {
        if let Some(waiting) = self.pending.get_mut(channel) {
            waiting.retain(|join| join.outbox.id != session);
        }
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Unsubscribe {
    pub channel: Channel,
    pub session: SessionId,
}

impl Handler<Unsubscribe> for Hub {
    type Result = ();
    fn handle(&mut self, msg: Unsubscribe, _: &mut Context<Self>) {
        self.drop_pending(&msg.channel, msg.session);
        if let Some(room) = self.rooms.get(&msg.channel) {
            room.do_send(Leave {
                session: msg.session,
            });
        }
    }
}

/// A durable frame for a channel, already stored with its `seq`. Rooms that
/// nobody follows do not exist; their subscribers-to-be load from the store.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PublishTo {
    pub channel: Channel,
    pub message: Publish,
    /// When the bus handed it over (the fan-out latency starts here).
    pub handed_over: Instant,
}

impl Handler<PublishTo> for Hub {
    type Result = ();
    fn handle(&mut self, msg: PublishTo, _: &mut Context<Self>) {
        if let Some(room) = self.rooms.get(&msg.channel) {
            room.do_send(Handed {
                message: msg.message,
                at: msg.handed_over,
            });
        }
    }
}

/// An ephemeral frame for a channel's current subscribers.
#[derive(Message)]
#[rtype(result = "()")]
pub struct EphemeralTo {
    pub channel: Channel,
    pub frame: Frame,
    pub patch: Option<room::SnapshotPatch>,
}

impl Handler<EphemeralTo> for Hub {
    type Result = ();
    fn handle(&mut self, msg: EphemeralTo, _: &mut Context<Self>) {
        if let Some(room) = self.rooms.get(&msg.channel) {
            room.do_send(room::Ephemeral {
                frame: msg.frame,
                patch: msg.patch,
            });
        }
    }
}

/// A frame for every connected session, whatever it follows.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct Broadcast(pub Frame);

impl Handler<Broadcast> for Hub {
    type Result = usize;
    fn handle(&mut self, msg: Broadcast, _: &mut Context<Self>) -> usize {
        self.sessions
            .retain(|_, outbox| outbox.deliver(msg.0.clone()));
        self.sessions.len()
    }
}

/// Closes every session of a user (a ban, say).
#[derive(Message)]
#[rtype(result = "()")]
pub struct KickUser {
    pub user: i64,
    pub code: u16,
    pub reason: &'static str,
}

impl Handler<KickUser> for Hub {
    type Result = ();
    fn handle(&mut self, msg: KickUser, _: &mut Context<Self>) {
        for id in self.users.get(&msg.user).into_iter().flatten() {
            if let Some(outbox) = self.sessions.get(id) {
                outbox.kick(msg.code, msg.reason);
            }
        }
    }
}

/// The node is going down: every session is closed with 1012 (restart) so
/// clients reconnect, elsewhere or shortly, and resume with `since`; each
/// session's reason asks for its own wait (`retry_after_ms`), spread evenly
/// over 0–5 s, so thousands of clients do not reconnect in one instant.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct Shutdown;

impl Handler<Shutdown> for Hub {
    type Result = usize;
    fn handle(&mut self, _: Shutdown, _: &mut Context<Self>) -> usize {
        let reasons = protocol::close::RESTART_REASONS;
        // Sessions in a random order, then dealt round the waits.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() as u64);
        let mut order: Vec<(u64, &Outbox)> = self
            .sessions
            .iter()
            .map(|(id, outbox)| (mix(*id ^ seed), outbox))
            .collect();
        order.sort_unstable_by_key(|(key, _)| *key);
        for (i, (_, outbox)) in order.iter().enumerate() {
            outbox.kick(protocol::close::RESTART, reasons[i % reasons.len()]);
        }
        self.sessions.len()
    }
}

impl Handler<RoomIdle> for Hub {
    type Result = ();
    fn handle(&mut self, msg: RoomIdle, _: &mut Context<Self>) {
        // Only if it is still the registered room: dropping the last address
        // lets it stop for good instead of being restarted.
        if self.rooms.get(&msg.channel) == Some(&msg.room) {
            self.rooms.remove(&msg.channel);
            self.local_viewers.remove(&msg.channel);
        }
    }
}

impl Handler<LocalHeadcount> for Hub {
    type Result = ();
    fn handle(&mut self, msg: LocalHeadcount, _: &mut Context<Self>) {
        // Zero stays until the room stops, so peers hear the drop.
        self.local_viewers.insert(msg.channel, msg.headcount);
    }
}

/// This node's headcounts, to share with the other nodes.
#[derive(Message)]
#[rtype(result = "Vec<(Channel, Headcount)>")]
pub struct ViewerCounts;

impl Handler<ViewerCounts> for Hub {
    type Result = MessageResult<ViewerCounts>;
    fn handle(&mut self, _: ViewerCounts, _: &mut Context<Self>) -> Self::Result {
        MessageResult(
            self.local_viewers
                .iter()
                .map(|(c, h)| (c.clone(), h.clone()))
                .collect(),
        )
    }
}

/// Another node's headcounts (all of its rooms'): rooms add them to their
/// own, and the hub keeps them for channels it has no room for.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PeerViewers {
    pub node: String,
    pub counts: Vec<(Channel, Headcount)>,
}

impl Handler<PeerViewers> for Hub {
    type Result = ();
    fn handle(&mut self, msg: PeerViewers, _: &mut Context<Self>) {
        let mut counts = HashMap::with_capacity(msg.counts.len());
        for (channel, headcount) in msg.counts {
            if let Some(room) = self.rooms.get(&channel) {
                room.do_send(PeerCount {
                    node: msg.node.clone(),
                    headcount: headcount.clone(),
                });
            }
            counts.insert(channel, headcount);
        }
        // The whole beat replaces the last: a channel it no longer names has
        // no room there any more.
        self.remote.insert(msg.node, (Instant::now(), counts));
    }
}

/// A channel's presence from the other nodes' last beats alone: what a node
/// with no room for the channel answers.
#[derive(Message)]
#[rtype(result = "Presence")]
pub struct RemotePresence(pub Channel);

impl Handler<RemotePresence> for Hub {
    type Result = MessageResult<RemotePresence>;
    fn handle(&mut self, msg: RemotePresence, _: &mut Context<Self>) -> Self::Result {
        let heard = self
            .remote
            .values()
            .filter(|(at, _)| at.elapsed() < room::PEER_COUNT_TTL)
            .filter_map(|(_, counts)| counts.get(&msg.0));
        MessageResult(room::combine_presence(
            heard,
            self.config.room.presence_list_max,
        ))
    }
}

/// Rooms reload from the store (all of them when `None`): this node may have
/// missed frames published elsewhere while it could not hear the bus.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReloadRooms(pub Option<Vec<Channel>>);

impl Handler<ReloadRooms> for Hub {
    type Result = ();
    fn handle(&mut self, msg: ReloadRooms, _: &mut Context<Self>) {
        let mut reloaded = 0;
        match msg.0 {
            None => self.rooms.values().for_each(|room| {
                room.do_send(Reload);
                reloaded += 1;
            }),
            Some(channels) => channels
                .iter()
                .filter_map(|c| self.rooms.get(c))
                .for_each(|room| {
                    room.do_send(Reload);
                    reloaded += 1;
                }),
        }
        crate::telemetry::sink().rooms_reloaded("bus", reloaded);
    }
}

/// A 64-bit finaliser (splitmix64's): neighbouring ids land far apart.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Counts, for /metrics and tests.
#[derive(Message)]
#[rtype(result = "HubStats")]
pub struct Stats;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HubStats {
    pub sessions: usize,
    pub rooms: usize,
    /// Subscriptions on this node by channel kind, in the order of
    /// [`CHANNEL_KINDS`](crate::telemetry::CHANNEL_KINDS), as rooms last
    /// told (each viewer interval).
    pub subscriptions: [usize; crate::telemetry::CHANNEL_KINDS.len()],
}

impl Handler<Stats> for Hub {
    type Result = MessageResult<Stats>;
    fn handle(&mut self, _: Stats, _: &mut Context<Self>) -> Self::Result {
        let mut subscriptions = [0; crate::telemetry::CHANNEL_KINDS.len()];
        for (channel, headcount) in &self.local_viewers {
            let kind = crate::telemetry::channel_kind(channel);
            if let Some(i) = crate::telemetry::CHANNEL_KINDS
                .iter()
                .position(|k| *k == kind)
            {
                subscriptions[i] += headcount.connections;
            }
        }
        MessageResult(HubStats {
            sessions: self.sessions.len(),
            rooms: self.rooms.len(),
            subscriptions,
        })
    }
}

/// The subscribers of one channel's room (0 when it has none).
#[derive(Message)]
#[rtype(result = "Option<Addr<Room>>")]
pub struct RoomOf(pub Channel);

impl Handler<RoomOf> for Hub {
    type Result = Option<Addr<Room>>;
    fn handle(&mut self, msg: RoomOf, _: &mut Context<Self>) -> Self::Result {
        self.rooms.get(&msg.0).cloned()
    }
}

/// A channel's presence on every node: from its room here, which adds up
/// every node's headcount, or, with no room here, from the other nodes'
/// beats (nobody when no node follows it).
pub async fn presence(hub: &Addr<Hub>, channel: Channel) -> Presence {
    match hub.send(RoomOf(channel.clone())).await {
        Ok(Some(room)) => room.send(GetPresence).await.unwrap_or_default(),
        Ok(None) => hub.send(RemotePresence(channel)).await.unwrap_or_default(),
        Err(_) => Presence::default(),
    }
}

/// Fault injection: makes a channel's room fail.
pub async fn crash_room(hub: &Addr<Hub>, channel: Channel) -> bool {
    match hub.send(RoomOf(channel)).await {
        Ok(Some(room)) => room.send(InjectPanic).await.is_ok(),
        _ => false,
    }
}

/// How many follow a channel on this node.
pub async fn subscribers(hub: &Addr<Hub>, channel: Channel) -> usize {
    match hub.send(RoomOf(channel)).await {
        Ok(Some(room)) => room.send(Subscribers).await.unwrap_or(0),
        _ => 0,
    }
}

pub use protocol::close;

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use super::*;
    use crate::test_support::{client, eventually, room_config, Client, FakeStore, Told};

    pub(crate) fn hub_config() -> HubConfig {
        HubConfig {
            max_connections_per_user: 2,
            max_viewers_per_event: 100,
            room: room_config(),
            room_threads: 1,
            queue_expiry: Duration::from_secs(3600),
            comment_fanout_per_second: 100,
            signed_in_reserve_percent: 0,
        }
    }

    fn subscribe(channel: Channel, outbox: &Outbox, reference: i64) -> Subscribe {
        Subscribe {
            channel,
            since: None,
            reference: Some(json!(reference)),
            outbox: outbox.clone(),
            delta: false,
        }
    }

    #[actix_rt::test]
    async fn a_missing_channel_is_looked_up_once_makes_no_room_and_is_refused() {
        let store = FakeStore::new();
        let hub = Hub::new(Arc::new(store.clone()), hub_config()).start();
        let mut a = client(1, None, 16);
        let mut b = client(2, Some(7), 16);
        // Both wait on one lookup.
        store.hold_lookups();
        hub.send(subscribe(Channel::Event(99), &a.outbox, 1))
            .await
            .expect("hub");
        hub.send(subscribe(Channel::Event(99), &b.outbox, 2))
            .await
            .expect("hub");
        store.release_lookups();
        for (c, reference) in [(&mut a, 1), (&mut b, 2)] {
            let refused = c.next().await;
            assert_eq!(refused["type"], "error");
            assert_eq!(refused["code"], "not_found");
            assert_eq!(refused["ref"], reference);
            assert_eq!(c.told().await, Told::NotSubscribed(Channel::Event(99)));
        }
        assert_eq!(store.exists_calls(), 1, "one lookup shared");
        assert_eq!(hub.send(Stats).await.expect("hub").rooms, 0, "no room made");
    }

    #[actix_rt::test]
    async fn an_existing_channel_gets_a_room_and_its_frames() {
        let store = FakeStore::new();
        store.add_channel(&Channel::News, "e1");
        let hub = Hub::new(Arc::new(store.clone()), hub_config()).start();
        let mut a = client(1, None, 16);
        hub.send(subscribe(Channel::News, &a.outbox, 1))
            .await
            .expect("hub");
        let subscribed = a.next().await;
        assert_eq!(subscribed["type"], "subscribed");
        assert_eq!(subscribed["ref"], 1);
        hub.send(PublishTo {
            channel: Channel::News,
            message: store.append(&Channel::News),
            handed_over: Instant::now(),
        })
        .await
        .expect("hub");
        assert_eq!(a.next().await["seq"], 1);
        assert_eq!(hub.send(Stats).await.expect("hub").rooms, 1);
    }

    #[actix_rt::test]
    async fn a_user_past_the_connection_limit_is_refused_and_kicks_reach_every_session() {
        let store = FakeStore::new();
        let hub = Hub::new(Arc::new(store), hub_config()).start();
        let mut one = client(1, Some(7), 16);
        let mut two = client(2, Some(7), 16);
        let three = client(3, Some(7), 16);
        for c in [&one, &two] {
            let admitted = hub.send(Connect {
                outbox: c.outbox.clone(),
            });
            assert_eq!(admitted.await.expect("hub"), Ok(()));
        }
        let refused = hub.send(Connect {
            outbox: three.outbox.clone(),
        });
        assert_eq!(
            refused.await.expect("hub"),
            Err(Refused::TooManyConnections)
        );
        hub.send(KickUser {
            user: 7,
            code: close::POLICY,
            reason: "banned",
        })
        .await
        .expect("hub");
        assert_eq!(one.told().await, Told::Kick(close::POLICY));
        assert_eq!(two.told().await, Told::Kick(close::POLICY));
    }

    fn hub_with(store: &Arc<FakeStore>, config: HubConfig) -> Addr<Hub> {
        Hub::new(Arc::new(store.clone()), config).start()
    }

    async fn connect(hub: &Addr<Hub>, c: &Client) {
        let admitted = hub.send(Connect {
            outbox: c.outbox.clone(),
        });
        assert_eq!(admitted.await.expect("hub"), Ok(()));
    }

    /// Subscribes and waits for the `subscribed` frame.
    async fn follow(hub: &Addr<Hub>, c: &mut Client, channel: Channel) {
        hub.send(subscribe(channel.clone(), &c.outbox, 0))
            .await
            .expect("hub");
        let s = c.next().await;
        assert_eq!(
            (s["type"].clone(), s["channel"].clone()),
            (json!("subscribed"), json!(channel.to_string()))
        );
    }

    #[actix_rt::test]
    async fn a_broadcast_reaches_every_session_and_counts_those_still_connected() {
        let store = FakeStore::new();
        let hub = hub_with(&store, hub_config());
        let mut a = client(1, None, 16);
        let mut b = client(2, Some(7), 16);
        let gone = client(3, None, 16);
        for c in [&a, &b, &gone] {
            connect(&hub, c).await;
        }
        drop(gone);
        let frame = protocol::broadcast(&json!({ "message": "evacuate" }));
        assert_eq!(hub.send(Broadcast(frame)).await.expect("hub"), 2);
        for c in [&mut a, &mut b] {
            let got = c.next().await;
            assert_eq!(got["type"], "broadcast");
            assert_eq!(got["data"]["message"], "evacuate");
        }
        assert_eq!(hub.send(Stats).await.expect("hub").sessions, 2);
    }

    #[actix_rt::test]
    async fn shutdown_closes_every_session_with_1012_and_spreads_their_return() {
        let store = FakeStore::new();
        let hub = hub_with(&store, hub_config());
        let mut clients: Vec<_> = (1..=20).map(|id| client(id, None, 16)).collect();
        for c in &clients {
            connect(&hub, c).await;
        }
        assert_eq!(hub.send(Shutdown).await.expect("hub"), 20);
        let mut waits = Vec::new();
        for c in &mut clients {
            assert_eq!(c.told().await, Told::Kick(close::RESTART));
            let reason = c.kick_reasons()[0];
            let ms: u64 = reason
                .rsplit_once("retry_after_ms=")
                .and_then(|(_, n)| n.parse().ok())
                .expect("a wait in the reason");
            assert!(ms < 5000, "{reason}");
            waits.push(ms);
        }
        // Twenty sessions dealt round ten waits: each wait twice.
        waits.sort_unstable();
        let expected: Vec<u64> = (0..10).flat_map(|i| [i * 500, i * 500]).collect();
        assert_eq!(waits, expected);
    }

    #[actix_rt::test]
    async fn a_disconnect_frees_the_users_place_and_leaves_its_rooms() {
        let store = FakeStore::new();
        store.add_channel(&Channel::News, "e1");
        let hub = hub_with(&store, hub_config());
        let mut one = client(1, Some(7), 16);
        let two = client(2, Some(7), 16);
        connect(&hub, &one).await;
        connect(&hub, &two).await;
        follow(&hub, &mut one, Channel::News).await;
        assert_eq!(subscribers(&hub, Channel::News).await, 1);
        hub.send(Disconnect {
            session: 1,
            channels: vec![Channel::News],
        })
        .await
        .expect("hub");
        assert_eq!(subscribers(&hub, Channel::News).await, 0);
        let three = client(3, Some(7), 16);
        connect(&hub, &three).await;
        let stats = hub.send(Stats).await.expect("hub");
        assert_eq!((stats.sessions, stats.rooms), (2, 1));
        // The last session of a user gone, the user's slots are all free.
        for id in [2, 3] {
            hub.send(Disconnect {
                session: id,
                channels: vec![],
            })
            .await
            .expect("hub");
        }
        for id in [4, 5] {
            connect(&hub, &client(id, Some(7), 16)).await;
        }
    }

    #[actix_rt::test]
    async fn unsubscribing_leaves_the_room_and_drops_a_join_still_being_looked_up() {
        let store = FakeStore::new();
        store.add_channel(&Channel::News, "e1");
        let hub = hub_with(&store, hub_config());
        let early = client(1, None, 16);
        let mut late = client(2, None, 16);
        store.hold_lookups();
        hub.send(subscribe(Channel::News, &early.outbox, 1))
            .await
            .expect("hub");
        hub.send(Unsubscribe {
            channel: Channel::News,
            session: 1,
        })
        .await
        .expect("hub");
        hub.send(subscribe(Channel::News, &late.outbox, 2))
            .await
            .expect("hub");
        store.release_lookups();
        assert_eq!(late.next().await["type"], "subscribed");
        assert_eq!(
            subscribers(&hub, Channel::News).await,
            1,
            "only the join still wanted"
        );
        hub.send(Unsubscribe {
            channel: Channel::News,
            session: 2,
        })
        .await
        .expect("hub");
        assert_eq!(subscribers(&hub, Channel::News).await, 0);
    }

    #[actix_rt::test]
    async fn ephemeral_frames_reach_the_rooms_subscribers_and_nothing_makes_a_room() {
        let store = FakeStore::new();
        store.add_channel(&Channel::Event(1), "e1");
        let hub = hub_with(&store, hub_config());
        let mut a = client(1, None, 16);
        follow(&hub, &mut a, Channel::Event(1)).await;
        let totals = json!({ "wow": 3 });
        for channel in [Channel::Event(2), Channel::Event(1)] {
            hub.send(EphemeralTo {
                frame: protocol::ephemeral("reactions", &channel, &totals),
                channel,
                patch: None,
            })
            .await
            .expect("hub");
        }
        // Only the followed channel's frame arrives.
        let got = a.next_of("reactions").await;
        assert_eq!(
            (got["channel"].clone(), got["data"].clone()),
            (json!("event:1"), totals)
        );
        hub.send(PublishTo {
            channel: Channel::Event(3),
            message: {
                store.add_channel(&Channel::Event(3), "e3");
                store.append(&Channel::Event(3))
            },
            handed_over: Instant::now(),
        })
        .await
        .expect("hub");
        assert_eq!(hub.send(Stats).await.expect("hub").rooms, 1);
    }

    #[actix_rt::test]
    async fn event_rooms_take_the_viewer_cap_and_keep_the_reserve_for_signed_in_fans() {
        let store = FakeStore::new();
        store.add_channel(&Channel::Event(1), "e1");
        store.add_channel(&Channel::News, "e1");
        let hub = hub_with(
            &store,
            HubConfig {
                max_viewers_per_event: 2,
                signed_in_reserve_percent: 50,
                ..hub_config()
            },
        );
        let mut first = client(1, None, 16);
        follow(&hub, &mut first, Channel::Event(1)).await;
        let mut anonymous = client(2, None, 16);
        hub.send(subscribe(Channel::Event(1), &anonymous.outbox, 2))
            .await
            .expect("hub");
        assert_eq!(anonymous.next().await["code"], "room_full");
        assert_eq!(
            anonymous.told().await,
            Told::NotSubscribed(Channel::Event(1))
        );
        let mut fan = client(3, Some(7), 16);
        follow(&hub, &mut fan, Channel::Event(1)).await;
        let mut another = client(4, Some(8), 16);
        hub.send(subscribe(Channel::Event(1), &another.outbox, 4))
            .await
            .expect("hub");
        assert_eq!(another.next().await["code"], "room_full", "cap of two");
        // Other channels have no cap.
        for (id, mut c) in [(5, client(5, None, 16)), (6, client(6, None, 16))] {
            follow(&hub, &mut c, Channel::News).await;
            assert!(c.told_nothing(), "{id}");
        }
    }

    #[actix_rt::test]
    async fn comment_rooms_sample_past_the_fanout_budget() {
        let store = FakeStore::new();
        let comments = Channel::Comments(1);
        store.add_channel(&comments, "e1");
        let hub = hub_with(
            &store,
            HubConfig {
                comment_fanout_per_second: 1,
                ..hub_config()
            },
        );
        let mut reader = client(1, Some(9), 64);
        follow(&hub, &mut reader, comments.clone()).await;
        let hint = Some(crate::room::FanoutHint {
            always: false,
            author: Some(5),
            reply_to: None,
        });
        for _ in 0..3 {
            hub.send(PublishTo {
                channel: comments.clone(),
                message: store.append_hinted(&comments, hint),
                handed_over: Instant::now(),
            })
            .await
            .expect("hub");
        }
        // An unhinted frame goes to everyone, after what was left out.
        hub.send(PublishTo {
            channel: comments.clone(),
            message: store.append(&comments),
            handed_over: Instant::now(),
        })
        .await
        .expect("hub");
        assert_eq!(reader.next().await["seq"], 1, "within the burst");
        let skipped = reader.next().await;
        assert_eq!(skipped["type"], "skipped");
        assert_eq!(
            skipped["data"],
            json!({ "from_seq": 2, "to_seq": 3, "count": 2 })
        );
        assert_eq!(reader.next().await["seq"], 4);
    }

    #[actix_rt::test]
    async fn a_failed_lookup_is_refused_as_unavailable_and_the_next_one_is_made() {
        let store = FakeStore::new();
        store.add_channel(&Channel::News, "e1");
        let hub = hub_with(&store, hub_config());
        let mut a = client(1, None, 16);
        store.fail_lookups(1);
        hub.send(subscribe(Channel::News, &a.outbox, 1))
            .await
            .expect("hub");
        let refused = a.next().await;
        assert_eq!(
            (refused["code"].clone(), refused["ref"].clone()),
            (json!("unavailable"), json!(1))
        );
        assert_eq!(a.told().await, Told::NotSubscribed(Channel::News));
        follow(&hub, &mut a, Channel::News).await;
        assert_eq!(store.exists_calls(), 2);
    }

    #[actix_rt::test]
    async fn headcounts_reach_stats_and_viewer_counts_and_an_idle_room_is_forgotten() {
        let store = FakeStore::new();
        store.add_channel(&Channel::Event(1), "e1");
        store.add_channel(&Channel::News, "e1");
        store.add_channel(&Channel::Rankings, "e1");
        let mut config = hub_config();
        config.room.viewer_interval = Duration::from_millis(10);
        config.room.idle_after = Duration::from_millis(30);
        let hub = hub_with(&store, config);
        let mut a = client(1, Some(7), 16);
        let mut b = client(2, Some(7), 16);
        let mut c = client(3, None, 16);
        // The last kind of the list too: the counts have a slot for each.
        let mut d = client(4, None, 16);
        follow(&hub, &mut a, Channel::Event(1)).await;
        follow(&hub, &mut b, Channel::Event(1)).await;
        follow(&hub, &mut c, Channel::News).await;
        follow(&hub, &mut d, Channel::Rankings).await;
        let kind = |k: &str| {
            crate::telemetry::CHANNEL_KINDS
                .iter()
                .position(|x| *x == k)
                .expect("a kind")
        };
        eventually("the rooms' headcounts", || {
            let hub = hub.clone();
            async move {
                let s = hub.send(Stats).await.expect("hub").subscriptions;
                s[kind("event")] == 2 && s[kind("news")] == 1 && s[kind("rankings")] == 1
            }
        })
        .await;
        let counts = hub.send(ViewerCounts).await.expect("hub");
        let event = counts
            .iter()
            .find(|(ch, _)| *ch == Channel::Event(1))
            .map(|(_, h)| h.clone());
        assert_eq!(
            event,
            Some(Headcount {
                connections: 2,
                members: 1,
                users: Some(vec![7]),
            }),
            "two connections of one fan"
        );
        // The news room empties, idles and is forgotten; the others stay.
        hub.send(Unsubscribe {
            channel: Channel::News,
            session: 3,
        })
        .await
        .expect("hub");
        eventually("the idle room to go", || {
            let hub = hub.clone();
            async move {
                hub.send(RoomOf(Channel::News))
                    .await
                    .expect("hub")
                    .is_none()
            }
        })
        .await;
        let counts = hub.send(ViewerCounts).await.expect("hub");
        assert!(
            counts.iter().all(|(ch, _)| *ch != Channel::News),
            "{counts:?}"
        );
        assert_eq!(
            hub.send(Stats).await.expect("hub").rooms,
            2,
            "event, rankings"
        );
        // A new subscriber gets a new room.
        follow(&hub, &mut c, Channel::News).await;
    }

    #[actix_rt::test]
    async fn other_nodes_headcounts_add_to_presence() {
        let store = FakeStore::new();
        store.add_channel(&Channel::Event(1), "e1");
        store.add_channel(&Channel::Event(5), "e5");
        let hub = hub_with(&store, hub_config());
        let mut a = client(1, Some(7), 16);
        follow(&hub, &mut a, Channel::Event(1)).await;
        let peer = Headcount {
            connections: 3,
            members: 2,
            users: Some(vec![8, 9]),
        };
        let elsewhere = Headcount {
            connections: 2,
            members: 2,
            users: Some(vec![10, 11]),
        };
        hub.send(PeerViewers {
            node: "n2".into(),
            counts: vec![
                (Channel::Event(1), peer),
                (Channel::Event(5), elsewhere.clone()),
            ],
        })
        .await
        .expect("hub");
        assert_eq!(
            presence(&hub, Channel::Event(1)).await,
            Presence {
                count: 3,
                users: Some(vec![7, 8, 9]),
            }
        );
        assert_eq!(
            presence(&hub, Channel::Event(5)).await,
            Presence {
                count: 2,
                users: Some(vec![10, 11]),
            },
            "no room here: the other node's count"
        );
        assert_eq!(subscribers(&hub, Channel::Event(5)).await, 0);
        assert_eq!(
            hub.send(Stats).await.expect("hub").rooms,
            1,
            "asking made no room"
        );
        assert_eq!(
            presence(&hub, Channel::Event(6)).await,
            Presence {
                count: 0,
                users: Some(vec![]),
            },
            "followed nowhere: nobody"
        );

        // A room made now starts from the other node's count.
        let mut b = client(2, Some(12), 16);
        follow(&hub, &mut b, Channel::Event(5)).await;
        assert_eq!(
            presence(&hub, Channel::Event(5)).await,
            Presence {
                count: 3,
                users: Some(vec![10, 11, 12]),
            }
        );
        hub.send(Unsubscribe {
            channel: Channel::Event(5),
            session: 2,
        })
        .await
        .expect("hub");

        // A beat replaces the node's last: a channel it no longer names is
        // not followed there any more.
        hub.send(PeerViewers {
            node: "n2".into(),
            counts: vec![(Channel::Event(1), Headcount::default())],
        })
        .await
        .expect("hub");
        assert_eq!(
            hub.send(RemotePresence(Channel::Event(5)))
                .await
                .expect("hub"),
            Presence {
                count: 0,
                users: Some(vec![]),
            }
        );
    }

    #[actix_rt::test]
    async fn reloading_rooms_delivers_what_the_bus_missed() {
        let store = FakeStore::new();
        for c in [Channel::News, Channel::Rankings] {
            store.add_channel(&c, "e1");
        }
        let hub = hub_with(&store, hub_config());
        let mut news = client(1, None, 16);
        let mut rankings = client(2, None, 16);
        follow(&hub, &mut news, Channel::News).await;
        follow(&hub, &mut rankings, Channel::Rankings).await;
        // Stored and published elsewhere, never heard here.
        store.append(&Channel::News);
        store.append(&Channel::Rankings);
        hub.send(ReloadRooms(Some(vec![Channel::News, Channel::Event(9)])))
            .await
            .expect("hub");
        assert_eq!(news.seqs(1).await, vec![1]);
        store.append(&Channel::News);
        hub.send(ReloadRooms(None)).await.expect("hub");
        assert_eq!(rankings.seqs(1).await, vec![1], "every room reloads");
        assert_eq!(news.seqs(1).await, vec![2]);
    }

    #[actix_rt::test]
    async fn a_crashed_room_restarts_and_its_subscribers_keep_receiving() {
        let store = FakeStore::new();
        store.add_channel(&Channel::News, "e1");
        let hub = hub_with(&store, hub_config());
        let mut a = client(1, None, 16);
        follow(&hub, &mut a, Channel::News).await;
        assert!(crash_room(&hub, Channel::News).await);
        assert!(!crash_room(&hub, Channel::Rankings).await, "no such room");
        hub.send(PublishTo {
            channel: Channel::News,
            message: store.append(&Channel::News),
            handed_over: Instant::now(),
        })
        .await
        .expect("hub");
        assert_eq!(a.seqs(1).await, vec![1]);
        assert_eq!(subscribers(&hub, Channel::News).await, 1);
    }

    #[actix_rt::test]
    async fn a_socket_that_stopped_taking_frames_is_dropped_with_4001() {
        let store = FakeStore::new();
        let hub = hub_with(
            &store,
            HubConfig {
                queue_expiry: Duration::ZERO,
                ..hub_config()
            },
        );
        let mut stalled = client(1, None, 16);
        let mut idle = client(2, None, 16);
        connect(&hub, &stalled).await;
        connect(&hub, &idle).await;
        // A frame waits in one queue; its writer never takes it.
        assert!(stalled.outbox.deliver(protocol::broadcast(&json!({}))));
        // Two sweeps (a second apart): the first notes the progress, the
        // second finds none.
        assert_eq!(stalled.told().await, Told::Kick(close::TOO_SLOW));
        assert!(idle.told_nothing(), "nothing waited for it");
    }
}
