//! Test support for the live core's unit tests: an in-memory [`LiveStore`]
//! that a test scripts (heads, replays that come back short or fail,
//! snapshots, missing channels, answers held back until released), clients
//! made of a real [`Outbox`] over a tokio channel with a probe actor that
//! sees kicks and refused subscriptions, a stand-in for the hub as a room's
//! owner, and bounded waits (a test waits for a condition, never a time).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix::prelude::*;
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};

use crate::channel::Channel;
use crate::outbox::{Kick, NotSubscribed, Outbox, Outgoing, SessionId};
use crate::protocol::{self, Frame};
use crate::room::{
    FanoutHint, Headcount, LocalHeadcount, Publish, Room, RoomConfig, RoomIdle, RoomOwner,
};
use crate::store::{Head, LiveStore, StoreError, StoreFuture};

/// How long any wait in a test may take before the test fails.
pub const BOUND: Duration = Duration::from_secs(5);

#[derive(Default)]
struct ChannelData {
    epoch: String,
    frames: BTreeMap<u64, Frame>,
    snapshot: Value,
}

#[derive(Default)]
struct State {
    channels: HashMap<Channel, ChannelData>,
    /// The next this many replays come back short (the history is gone).
    short_replays: usize,
    /// The next this many replays fail (storage unavailable).
    failing_replays: usize,
    /// Every replay asked for: `(after, upto)`.
    replays: Vec<(u64, u64)>,
    exists_calls: usize,
    /// The next this many lookups (`exists`) fail.
    failing_lookups: usize,
    /// The next this many snapshots (a room's load) fail.
    failing_snapshots: usize,
    viewers: Vec<u64>,
}

/// An in-memory store; every answer can be scripted.
pub struct FakeStore {
    state: Mutex<State>,
    /// Replays wait while this is false.
    replays_open: watch::Sender<bool>,
    /// Lookups (`exists`) wait while this is false.
    lookups_open: watch::Sender<bool>,
}

impl FakeStore {
    pub fn new() -> Arc<FakeStore> {
        Arc::new(FakeStore {
            state: Mutex::default(),
            replays_open: watch::Sender::new(true),
            lookups_open: watch::Sender::new(true),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("fake store lock")
    }

    /// Makes `channel` exist, empty, in `epoch`, with an empty snapshot.
    pub fn add_channel(&self, channel: &Channel, epoch: &str) {
        self.state().channels.insert(
            channel.clone(),
            ChannelData {
                epoch: epoch.into(),
                frames: BTreeMap::new(),
                snapshot: json!({}),
            },
        );
    }

    /// Stores the channel's next durable frame, as a publisher would before
    /// telling the room; returns the message for the room.
    pub fn append(&self, channel: &Channel) -> Publish {
        self.append_hinted(channel, None)
    }

    /// Stores a durable frame of `frame_type` with `data` (a state frame,
    /// say); returns the message for the room.
    pub fn append_frame(&self, channel: &Channel, frame_type: &str, data: &Value) -> Publish {
        let mut state = self.state();
        let stored = state
            .channels
            .get_mut(channel)
            .expect("channel added first");
        let seq = stored.frames.keys().next_back().copied().unwrap_or(0) + 1;
        let frame = protocol::durable(frame_type, channel, seq, data);
        stored.frames.insert(seq, frame.clone());
        Publish {
            epoch: stored.epoch.clone(),
            seq,
            frame,
            snapshot: None,
            hint: None,
        }
    }

    /// [`FakeStore::append`] for a comment with a fan-out hint.
    pub fn append_hinted(&self, channel: &Channel, hint: Option<FanoutHint>) -> Publish {
        let mut state = self.state();
        let data = state
            .channels
            .get_mut(channel)
            .expect("channel added first");
        let seq = data.frames.keys().next_back().copied().unwrap_or(0) + 1;
        let frame = protocol::durable("update", channel, seq, &json!({ "n": seq }));
        data.frames.insert(seq, frame.clone());
        Publish {
            epoch: data.epoch.clone(),
            seq,
            frame,
            snapshot: None,
            hint,
        }
    }

    /// Resets the channel's history under a new epoch (as a restore would).
    pub fn reset_epoch(&self, channel: &Channel, epoch: &str) {
        if let Some(data) = self.state().channels.get_mut(channel) {
            data.epoch = epoch.into();
            data.frames.clear();
        }
    }

    /// Forgets the frames after `keep`, epoch unchanged (a restore from an
    /// older backup).
    pub fn truncate(&self, channel: &Channel, keep: u64) {
        if let Some(data) = self.state().channels.get_mut(channel) {
            data.frames.retain(|seq, _| *seq <= keep);
        }
    }

    pub fn set_snapshot(&self, channel: &Channel, snapshot: Value) {
        if let Some(data) = self.state().channels.get_mut(channel) {
            data.snapshot = snapshot;
        }
    }

    /// The next `n` replays come back short, as when history was deleted.
    pub fn short_replays(&self, n: usize) {
        self.state().short_replays = n;
    }

    /// The next `n` replays fail.
    pub fn fail_replays(&self, n: usize) {
        self.state().failing_replays = n;
    }

    /// The next `n` lookups (`exists`) fail.
    pub fn fail_lookups(&self, n: usize) {
        self.state().failing_lookups = n;
    }

    /// The next `n` snapshots fail, and with them a room's load.
    pub fn fail_snapshots(&self, n: usize) {
        self.state().failing_snapshots = n;
    }

    /// Replays wait until [`FakeStore::release_replays`].
    pub fn hold_replays(&self) {
        self.replays_open.send_replace(false);
    }

    pub fn release_replays(&self) {
        self.replays_open.send_replace(true);
    }

    /// Lookups wait until [`FakeStore::release_lookups`].
    pub fn hold_lookups(&self) {
        self.lookups_open.send_replace(false);
    }

    pub fn release_lookups(&self) {
        self.lookups_open.send_replace(true);
    }

    /// Every replay asked for so far: `(after, upto)`.
    pub fn replay_calls(&self) -> Vec<(u64, u64)> {
        self.state().replays.clone()
    }

    pub fn exists_calls(&self) -> usize {
        self.state().exists_calls
    }

    /// Viewer counts stored so far, in order.
    pub fn viewers_recorded(&self) -> Vec<u64> {
        self.state().viewers.clone()
    }
}

/// Waits until the gate is open (it may already be).
async fn open(gate: watch::Receiver<bool>) {
    let mut gate = gate;
    let _ = gate.wait_for(|open| *open).await;
}

impl LiveStore for Arc<FakeStore> {
    fn exists(&self, channel: &Channel) -> StoreFuture<bool> {
        let store = self.clone();
        let channel = channel.clone();
        let gate = self.lookups_open.subscribe();
        Box::pin(async move {
            store.state().exists_calls += 1;
            open(gate).await;
            let mut state = store.state();
            if state.failing_lookups > 0 {
                state.failing_lookups -= 1;
                return Err(StoreError::Unavailable("scripted failure".into()));
            }
            Ok(state.channels.contains_key(&channel))
        })
    }

    fn head(&self, channel: &Channel) -> StoreFuture<Head> {
        let answer = match self.state().channels.get(channel) {
            Some(data) => Ok(Head {
                epoch: data.epoch.clone(),
                last_seq: data.frames.keys().next_back().copied().unwrap_or(0),
            }),
            None => Err(StoreError::NotFound),
        };
        Box::pin(async move { answer })
    }

    fn replay(
        &self,
        channel: &Channel,
        epoch: &str,
        after: u64,
        upto: u64,
    ) -> StoreFuture<Vec<(u64, Frame)>> {
        let store = self.clone();
        let (channel, epoch) = (channel.clone(), epoch.to_string());
        let gate = self.replays_open.subscribe();
        Box::pin(async move {
            store.state().replays.push((after, upto));
            open(gate).await;
            let mut state = store.state();
            if state.failing_replays > 0 {
                state.failing_replays -= 1;
                return Err(StoreError::Unavailable("scripted failure".into()));
            }
            let short = state.short_replays > 0;
            if short {
                state.short_replays -= 1;
            }
            let Some(data) = state.channels.get(&channel).filter(|d| d.epoch == epoch) else {
                return Ok(Vec::new());
            };
            let mut frames: Vec<(u64, Frame)> = data
                .frames
                .range(after + 1..=upto)
                .map(|(s, f)| (*s, f.clone()))
                .collect();
            if short && !frames.is_empty() {
                // The oldest frame has been deleted.
                frames.remove(0);
            }
            Ok(frames)
        })
    }

    fn snapshot(&self, channel: &Channel) -> StoreFuture<Value> {
        let mut state = self.state();
        if state.failing_snapshots > 0 {
            state.failing_snapshots -= 1;
            return Box::pin(async { Err(StoreError::Unavailable("scripted failure".into())) });
        }
        let answer = match state.channels.get(channel) {
            Some(data) => Ok(data.snapshot.clone()),
            None => Err(StoreError::NotFound),
        };
        Box::pin(async move { answer })
    }

    fn record_viewers(&self, _: &Channel, count: u64) -> StoreFuture<()> {
        self.state().viewers.push(count);
        Box::pin(async { Ok(()) })
    }
}

/// What a session would have been told by the room or the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Told {
    Kick(u16),
    NotSubscribed(Channel),
}

/// Stands in for a session: records kicks (and their reasons) and refused
/// subscriptions.
struct Probe(mpsc::UnboundedSender<Told>, Arc<Mutex<Vec<&'static str>>>);

impl Actor for Probe {
    type Context = Context<Self>;
}

impl Handler<Kick> for Probe {
    type Result = ();
    fn handle(&mut self, msg: Kick, _: &mut Context<Self>) {
        if let Ok(mut reasons) = self.1.lock() {
            reasons.push(msg.reason);
        }
        let _ = self.0.send(Told::Kick(msg.code));
    }
}

impl Handler<NotSubscribed> for Probe {
    type Result = ();
    fn handle(&mut self, msg: NotSubscribed, _: &mut Context<Self>) {
        let _ = self.0.send(Told::NotSubscribed(msg.0));
    }
}

/// The client end of a session's queue.
pub struct Client {
    pub outbox: Outbox,
    rx: crate::outbox::queue::Receiver<Outgoing>,
    told: mpsc::UnboundedReceiver<Told>,
    kick_reasons: Arc<Mutex<Vec<&'static str>>>,
}

/// A client with its own outbox (`capacity` frames) and probe.
pub fn client(id: SessionId, user: Option<i64>, capacity: usize) -> Client {
    let (tx, rx) = crate::outbox::queue::bounded(capacity);
    let (told_tx, told) = mpsc::unbounded_channel();
    let kick_reasons = Arc::new(Mutex::new(Vec::new()));
    let probe = Probe(told_tx, kick_reasons.clone()).start();
    let outbox = Outbox::new(
        id,
        user,
        tx,
        probe.clone().recipient(),
        probe.recipient(),
        Arc::new(AtomicU64::new(0)),
    );
    Client {
        outbox,
        rx,
        told,
        kick_reasons,
    }
}

fn parse(item: Outgoing) -> Value {
    match item {
        Outgoing::Text(frame, _) => serde_json::from_str(&frame).expect("frames are JSON"),
        other => json!({ "control": format!("{other:?}") }),
    }
}

impl Client {
    /// The next frame of any kind (waits, within the bound).
    pub async fn next_any(&mut self) -> Value {
        let item = tokio::time::timeout(BOUND, self.rx.recv())
            .await
            .expect("a frame within the bound")
            .expect("the queue is open");
        parse(item)
    }

    /// The next frame that is not an ephemeral count (`presence`, `viewers`).
    pub async fn next(&mut self) -> Value {
        loop {
            let v = self.next_any().await;
            if !matches!(v["type"].as_str(), Some("presence" | "viewers")) {
                return v;
            }
        }
    }

    /// The next frame of type `ty`, skipping others.
    pub async fn next_of(&mut self, ty: &str) -> Value {
        loop {
            let v = self.next_any().await;
            if v["type"] == ty {
                return v;
            }
        }
    }

    /// The `seq`s of the next `n` non-ephemeral frames.
    pub async fn seqs(&mut self, n: usize) -> Vec<u64> {
        let mut out = Vec::new();
        for _ in 0..n {
            let v = self.next().await;
            out.push(v["seq"].as_u64().unwrap_or_else(|| panic!("a seq in {v}")));
        }
        out
    }

    /// What the session was told next (a kick, a refusal).
    pub async fn told(&mut self) -> Told {
        tokio::time::timeout(BOUND, self.told.recv())
            .await
            .expect("told within the bound")
            .expect("probe alive")
    }

    /// Nothing queued for this client right now.
    pub fn rx_is_empty(&mut self) -> bool {
        self.rx.try_recv().is_none()
    }

    /// Nothing told so far.
    /// The reasons of the kicks told so far.
    pub fn kick_reasons(&self) -> Vec<&'static str> {
        self.kick_reasons
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    pub fn told_nothing(&mut self) -> bool {
        self.told.try_recv().is_err()
    }
}

/// Stands in for the hub as a room's owner: reports headcounts and idles.
struct Owner(mpsc::UnboundedSender<Headcount>);

impl Actor for Owner {
    type Context = Context<Self>;
}

impl Handler<RoomIdle> for Owner {
    type Result = ();
    fn handle(&mut self, _: RoomIdle, _: &mut Context<Self>) {}
}

impl Handler<LocalHeadcount> for Owner {
    type Result = ();
    fn handle(&mut self, msg: LocalHeadcount, _: &mut Context<Self>) {
        let _ = self.0.send(msg.headcount);
    }
}

/// Limits for a test room: no periodic tick (tests that need one set
/// `viewer_interval`), no caps.
pub fn room_config() -> RoomConfig {
    RoomConfig {
        history: 100,
        max_subscribers: None,
        viewer_interval: Duration::from_secs(3600),
        catch_up_buffer: 64,
        idle_after: Duration::from_secs(3600),
        sample_per_second: None,
        presence_list_max: 10,
        signed_in_reserve: 0,
        resume_max_messages: 1000,
    }
}

/// Starts a supervised room over `store`; the receiver hears the headcounts
/// it reports to its owner.
pub fn start_room(
    channel: &Channel,
    store: &Arc<FakeStore>,
    config: RoomConfig,
) -> (Addr<Room>, mpsc::UnboundedReceiver<Headcount>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let owner = Owner(tx).start();
    let owner = RoomOwner {
        idle: owner.clone().recipient(),
        headcount: owner.recipient(),
    };
    let (channel, store) = (channel.clone(), store.clone());
    let addr = Supervisor::start(move |_| Room::new(channel, Arc::new(store), config, owner));
    (addr, rx)
}

/// Polls `condition` until it holds, failing the test past the bound.
pub async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + BOUND;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
