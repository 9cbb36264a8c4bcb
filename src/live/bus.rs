//! The bus: how committed live messages reach the rooms of every node.
//!
//! Single node (`REDIS_URL` unset) it hands them to this node's hub. With
//! Redis, each message also goes out on one pub/sub topic that every node
//! sharing the same Postgres database listens to; a node hands what it hears
//! from the others to its own hub. Sequence numbers come from Postgres, so
//! order never depends on the bus: rooms reorder and fill gaps from the store.
//!
//! Redis pub/sub forgets what it could not deliver, so the bus repairs:
//! - every node beats once a second (with its viewer counts); a subscription
//!   that hears nothing, not even its own beat, for a few seconds is dead and
//!   is reopened, and after every (re)subscribe the node's rooms reload from
//!   Postgres, so frames missed meanwhile are delivered in order;
//! - a message this node could not publish (Redis down or slow) marks its
//!   channel; once publishing works again a `reload` notice for the marked
//!   channels makes the other nodes' rooms catch up from Postgres.
//!
//! redis-rs gives no reconnect on pub/sub and a 500 ms response timeout by
//! default; both are handled here explicitly.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::Addr;
use futures_util::StreamExt;
use ringside_actors::channel::Channel;
use ringside_actors::hub::{
    EphemeralTo, Hub, KickUser, PeerViewers, PublishTo, ReloadRooms, ViewerCounts,
};
use ringside_actors::protocol::{self, Frame};
use ringside_actors::room::{FanoutHint, Headcount, Publish, SnapshotPatch};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::db::channels::Published;
use crate::db::Db;

/// How often a node beats (and shares its viewer counts).
const BEAT: Duration = Duration::from_secs(1);
/// A subscription silent this long is treated as dead.
const SILENCE: Duration = Duration::from_secs(4);
/// One publish may take this long before it counts as failed.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(2);
/// Messages waiting for Redis; past this, they are dropped and their
/// channels marked for a reload notice instead.
const QUEUE: usize = 10_000;
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// What nodes tell each other, as JSON on the topic.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Envelope {
    /// A committed durable frame.
    Publish {
        node: String,
        channel: String,
        epoch: String,
        seq: u64,
        frame: String,
        snapshot: Option<Value>,
        #[serde(default)]
        hint: Option<FanoutHint>,
    },
    /// "I am here", with this node's headcount per channel.
    Beat {
        node: String,
        viewers: Vec<(String, Headcount)>,
    },
    /// These channels may have frames you did not hear: reload them.
    Reload { node: String, channels: Vec<String> },
    /// An ephemeral frame (reaction totals, poll tallies) for a channel,
    /// and the snapshot field it makes current.
    Ephemeral {
        node: String,
        channel: String,
        frame: String,
        /// Absent from nodes of an older release.
        #[serde(default)]
        patch: Option<SnapshotPatch>,
    },
    /// Close this user's connections (a ban, or signed out everywhere).
    Kick {
        node: String,
        user: i64,
        /// Absent from nodes that predate it: a ban.
        #[serde(default)]
        reason: KickReason,
    },
    /// A frame for every session (an emergency broadcast).
    Broadcast { node: String, frame: String },
}

impl Envelope {
    fn node(&self) -> &str {
        match self {
            Envelope::Publish { node, .. }
            | Envelope::Beat { node, .. }
            | Envelope::Reload { node, .. }
            | Envelope::Ephemeral { node, .. }
            | Envelope::Kick { node, .. }
            | Envelope::Broadcast { node, .. } => node,
        }
    }
}

/// Why a user's live connections are closed (all with 1008).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KickReason {
    #[default]
    Banned,
    /// A password change or "sign out everywhere": the tokens are revoked.
    SignedOut,
}

/// Cheap to clone; every handler that publishes holds one.
#[derive(Clone)]
pub struct Bus {
    hub: Addr<Hub>,
    redis: Option<Arc<RedisLink>>,
}

struct RedisLink {
    node: String,
    out: mpsc::Sender<Envelope>,
    /// Channels whose messages did not make it out to the other nodes.
    unsent: Mutex<BTreeSet<String>>,
    /// The subscription is up (for /readyz).
    listening: AtomicBool,
}

impl RedisLink {
    fn mark_unsent(&self, channel: String) {
        if let Ok(mut unsent) = self.unsent.lock() {
            unsent.insert(channel);
        }
    }

    fn take_unsent(&self) -> Vec<String> {
        match self.unsent.lock() {
            Ok(mut unsent) => std::mem::take(&mut *unsent).into_iter().collect(),
            Err(_) => Vec::new(),
        }
    }
}

impl Bus {
    /// One node: messages go to this node's hub only.
    pub fn local(hub: Addr<Hub>) -> Bus {
        Bus { hub, redis: None }
    }

    /// Several nodes through Redis. Must be called inside an actix system;
    /// connecting (and reconnecting) happens in the background, so a node
    /// whose Redis is briefly away still serves its own clients.
    pub fn redis(hub: Addr<Hub>, url: &str, db: Db) -> Result<Bus, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let (out, queue) = mpsc::channel(QUEUE);
        let link = Arc::new(RedisLink {
            node: node_id(),
            out,
            unsent: Mutex::new(BTreeSet::new()),
            listening: AtomicBool::new(false),
        });
        tracing::info!(node = %link.node, "multi-node: live messages shared through Redis");
        let (task_link, task_hub) = (link.clone(), hub.clone());
        actix_web::rt::spawn(async move {
            let topic = topic(&db).await;
            tracing::info!(%topic, "bus topic");
            actix_web::rt::spawn(publish_loop(
                client.clone(),
                topic.clone(),
                queue,
                task_link.clone(),
            ));
            actix_web::rt::spawn(beat_loop(task_hub.clone(), task_link.clone()));
            listen_loop(client, topic, task_hub, task_link).await;
        });
        Ok(Bus {
            hub,
            redis: Some(link),
        })
    }

    /// Hands committed messages to the rooms, here and on the other nodes.
    /// Call only after the commit.
    pub fn deliver(&self, published: Vec<Published>) {
        for p in published {
            // Serialized once here, shared by every subscriber and node.
            let frame = protocol::durable(&p.frame_type, &p.channel, p.seq, &p.data);
            if let Some(link) = &self.redis {
                let envelope = Envelope::Publish {
                    node: link.node.clone(),
                    channel: p.channel.to_string(),
                    epoch: p.epoch.clone(),
                    seq: p.seq,
                    frame: frame.to_string(),
                    snapshot: p.snapshot.clone(),
                    hint: p.hint,
                };
                if link.out.try_send(envelope).is_err() {
                    crate::metrics::live()
                        .bus_publish_failures
                        .with_label_values(&["queue_full"])
                        .inc();
                    link.mark_unsent(p.channel.to_string());
                }
            }
            self.hub.do_send(PublishTo {
                channel: p.channel,
                message: Publish {
                    epoch: p.epoch,
                    seq: p.seq,
                    frame,
                    snapshot: p.snapshot,
                    hint: p.hint,
                },
                handed_over: std::time::Instant::now(),
            });
        }
    }

    /// An ephemeral frame for a channel's subscribers on every node, and
    /// the field of the channel's snapshot it makes current, if any.
    pub fn ephemeral(&self, channel: &Channel, frame: Frame, patch: Option<SnapshotPatch>) {
        if let Some(link) = &self.redis {
            let _ = link.out.try_send(Envelope::Ephemeral {
                node: link.node.clone(),
                channel: channel.to_string(),
                frame: frame.to_string(),
                patch: patch.clone(),
            });
        }
        self.hub.do_send(EphemeralTo {
            channel: channel.clone(),
            frame,
            patch,
        });
    }

    /// Every node's rooms of these channels reload from the store (their
    /// history was cut: a new epoch, and their subscribers resync).
    pub fn reload(&self, channels: Vec<Channel>) {
        if channels.is_empty() {
            return;
        }
        if let Some(link) = &self.redis {
            let _ = link.out.try_send(Envelope::Reload {
                node: link.node.clone(),
                channels: channels.iter().map(Channel::to_string).collect(),
            });
        }
        self.hub.do_send(ReloadRooms(Some(channels)));
    }

    /// Closes every connection of `user` on every node (1008: banned).
    pub fn kick_user(&self, user: i64) {
        self.kick(user, KickReason::Banned);
    }

    /// Closes every connection of `user` on every node, 1008 with `reason`.
    pub fn kick(&self, user: i64, reason: KickReason) {
        if let Some(link) = &self.redis {
            let _ = link.out.try_send(Envelope::Kick {
                node: link.node.clone(),
                user,
                reason,
            });
        }
        self.hub.do_send(kick(user, reason));
    }

    /// Sends `frame` to every session on every node; answers how many
    /// sessions this node has.
    pub async fn broadcast(&self, frame: Frame) -> usize {
        if let Some(link) = &self.redis {
            let _ = link.out.try_send(Envelope::Broadcast {
                node: link.node.clone(),
                frame: frame.to_string(),
            });
        }
        self.hub
            .send(ringside_actors::hub::Broadcast(frame))
            .await
            .unwrap_or(0)
    }

    /// False only while a multi-node bus cannot hear the other nodes.
    pub fn healthy(&self) -> bool {
        self.redis
            .as_ref()
            .is_none_or(|link| link.listening.load(Ordering::Relaxed))
    }

    /// This node's name on the bus (multi-node only).
    pub fn node(&self) -> Option<&str> {
        self.redis.as_ref().map(|link| link.node.as_str())
    }
}

/// Nodes share a topic exactly when they share a database: the cluster's
/// system identifier plus the database name.
async fn topic(db: &Db) -> String {
    let mut backoff = Duration::from_millis(100);
    loop {
        match db.run(crate::db::cluster_identity).await {
            Ok(identity) => return format!("ringside:{identity}:bus"),
            Err(e) => {
                tracing::warn!("bus: cannot name the topic yet (database: {e}); retrying");
                actix_web::rt::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

fn node_id() -> String {
    let mut bytes = [0u8; 8];
    // A failing OS random source leaves zeros; the pid still tells nodes apart.
    let _ = getrandom::fill(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}-{}", std::process::id())
}

/// Sends queued envelopes in order; failures mark their channels, and the
/// first success after them sends a reload notice for those channels.
async fn publish_loop(
    client: redis::Client,
    topic: String,
    mut queue: mpsc::Receiver<Envelope>,
    link: Arc<RedisLink>,
) {
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_response_timeout(Some(PUBLISH_TIMEOUT))
        .set_connection_timeout(Some(PUBLISH_TIMEOUT));
    let mut conn = None;
    let mut failing = false;
    while let Some(envelope) = queue.recv().await {
        if conn.is_none() {
            match redis::aio::ConnectionManager::new_with_config(client.clone(), config.clone())
                .await
            {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    if !failing {
                        tracing::error!("bus: cannot reach Redis to publish: {e}");
                    }
                    failing = true;
                }
            }
        }
        let sent = match &mut conn {
            Some(c) => send(c, &topic, &envelope).await,
            None => false,
        };
        if !sent {
            crate::metrics::live()
                .bus_publish_failures
                .with_label_values(&["redis"])
                .inc();
            if let Envelope::Publish { channel, .. } = envelope {
                link.mark_unsent(channel);
            }
            if !failing {
                tracing::error!("bus: publishing to Redis failed; other nodes will catch up");
            }
            failing = true;
            continue;
        }
        if failing {
            tracing::info!("bus: publishing to Redis again");
            failing = false;
        }
        let unsent = link.take_unsent();
        if !unsent.is_empty() {
            let notice = Envelope::Reload {
                node: link.node.clone(),
                channels: unsent.clone(),
            };
            let Some(c) = &mut conn else { continue };
            if !send(c, &topic, &notice).await {
                unsent.into_iter().for_each(|ch| link.mark_unsent(ch));
            }
        }
    }
}

async fn send(conn: &mut redis::aio::ConnectionManager, topic: &str, envelope: &Envelope) -> bool {
    let Ok(payload) = serde_json::to_string(envelope) else {
        return false;
    };
    redis::cmd("PUBLISH")
        .arg(topic)
        .arg(payload)
        .query_async::<i64>(conn)
        .await
        .is_ok()
}

/// Once a second: this node's viewer counts go out (and prove the link works).
async fn beat_loop(hub: Addr<Hub>, link: Arc<RedisLink>) {
    let mut tick = actix_web::rt::time::interval(BEAT);
    loop {
        tick.tick().await;
        let Ok(counts) = hub.send(ViewerCounts).await else {
            return; // the hub is gone: the node is stopping
        };
        let beat = Envelope::Beat {
            node: link.node.clone(),
            viewers: counts
                .into_iter()
                .map(|(c, n)| (c.to_string(), n))
                .collect(),
        };
        // A full queue already means Redis is behind; skipping a beat is fine.
        let _ = link.out.try_send(beat);
    }
}

/// Subscribes, hands what other nodes publish to the hub, and resubscribes
/// (then reloads every room) whenever the subscription drops or goes silent.
async fn listen_loop(client: redis::Client, topic: String, hub: Addr<Hub>, link: Arc<RedisLink>) {
    let mut backoff = Duration::from_millis(100);
    let mut first = true;
    loop {
        if !std::mem::take(&mut first) {
            crate::metrics::live().bus_reconnects.inc();
        }
        match subscribe(&client, &topic).await {
            Ok(pubsub) => {
                backoff = Duration::from_millis(100);
                link.listening.store(true, Ordering::Relaxed);
                // Whatever was published while we were not listening.
                hub.do_send(ReloadRooms(None));
                let mut messages = pubsub.into_on_message();
                loop {
                    match actix_web::rt::time::timeout(SILENCE, messages.next()).await {
                        Ok(Some(msg)) => receive(&hub, &link.node, msg.get_payload_bytes()),
                        Ok(None) => {
                            tracing::warn!("bus: Redis subscription closed; reconnecting");
                            break;
                        }
                        Err(_) => {
                            tracing::warn!("bus: Redis subscription silent; reconnecting");
                            break;
                        }
                    }
                }
                link.listening.store(false, Ordering::Relaxed);
            }
            Err(e) => tracing::warn!("bus: cannot subscribe on Redis: {e}; retrying"),
        }
        if hub.connected() {
            actix_web::rt::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        } else {
            return;
        }
    }
}

async fn subscribe(client: &redis::Client, topic: &str) -> redis::RedisResult<redis::aio::PubSub> {
    let connecting = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(topic).await?;
        Ok(pubsub)
    };
    actix_web::rt::time::timeout(PUBLISH_TIMEOUT, connecting)
        .await
        .unwrap_or_else(|_| {
            Err(redis::RedisError::from(std::io::Error::from(
                std::io::ErrorKind::TimedOut,
            )))
        })
}

/// One message from the topic. Our own are skipped (delivered locally
/// already); anything unreadable is logged and dropped.
fn receive(hub: &Addr<Hub>, me: &str, payload: &[u8]) {
    let envelope: Envelope = match serde_json::from_slice(payload) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!("bus: unreadable message skipped: {e}");
            return;
        }
    };
    if envelope.node() == me {
        return;
    }
    match envelope {
        Envelope::Publish {
            channel,
            epoch,
            seq,
            frame,
            snapshot,
            hint,
            ..
        } => {
            let Ok(channel) = channel.parse::<Channel>() else {
                return;
            };
            hub.do_send(PublishTo {
                channel,
                message: Publish {
                    epoch,
                    seq,
                    frame: Frame::received(frame),
                    snapshot,
                    hint,
                },
                handed_over: std::time::Instant::now(),
            });
        }
        Envelope::Beat { node, viewers } => hub.do_send(PeerViewers {
            node,
            counts: viewers
                .into_iter()
                .filter_map(|(c, n)| Some((c.parse().ok()?, n)))
                .collect(),
        }),
        Envelope::Reload { channels, .. } => hub.do_send(ReloadRooms(Some(
            channels.iter().filter_map(|c| c.parse().ok()).collect(),
        ))),
        Envelope::Ephemeral {
            channel,
            frame,
            patch,
            ..
        } => {
            if let Ok(channel) = channel.parse::<Channel>() {
                hub.do_send(EphemeralTo {
                    channel,
                    frame: Frame::received(frame),
                    patch,
                });
            }
        }
        Envelope::Kick { user, reason, .. } => hub.do_send(kick(user, reason)),
        Envelope::Broadcast { frame, .. } => {
            hub.do_send(ringside_actors::hub::Broadcast(Frame::received(frame)))
        }
    }
}

fn kick(user: i64, reason: KickReason) -> KickUser {
    KickUser {
        user,
        code: ringside_actors::protocol::close::POLICY,
        reason: match reason {
            KickReason::Banned => "banned",
            KickReason::SignedOut => "signed out",
        },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use actix::prelude::*;
    use ringside_actors::hub::{Connect, HubConfig, Stats};
    use ringside_actors::outbox::{Kick, NotSubscribed, Outbox, Outgoing};
    use ringside_actors::room::RoomConfig;
    use ringside_actors::store::{Head, LiveStore, StoreError, StoreFuture};
    use serde_json::json;

    use super::*;

    /// Nothing exists: these tests never need a room.
    struct Nothing;

    impl LiveStore for Nothing {
        fn exists(&self, _: &Channel) -> StoreFuture<bool> {
            Box::pin(async { Ok(false) })
        }
        fn head(&self, _: &Channel) -> StoreFuture<Head> {
            Box::pin(async { Err(StoreError::NotFound) })
        }
        fn replay(&self, _: &Channel, _: &str, _: u64, _: u64) -> StoreFuture<Vec<(u64, Frame)>> {
            Box::pin(async { Ok(Vec::new()) })
        }
        fn snapshot(&self, _: &Channel) -> StoreFuture<Value> {
            Box::pin(async { Err(StoreError::NotFound) })
        }
        fn record_viewers(&self, _: &Channel, _: u64) -> StoreFuture<()> {
            Box::pin(async { Ok(()) })
        }
    }

    /// Stands in for a session: hears its kicks.
    struct Probe(mpsc::UnboundedSender<(u16, &'static str)>);

    impl Actor for Probe {
        type Context = Context<Self>;
    }

    impl Handler<Kick> for Probe {
        type Result = ();
        fn handle(&mut self, msg: Kick, _: &mut Context<Self>) {
            let _ = self.0.send((msg.code, msg.reason));
        }
    }

    impl Handler<NotSubscribed> for Probe {
        type Result = ();
        fn handle(&mut self, _: NotSubscribed, _: &mut Context<Self>) {}
    }

    struct Session {
        frames: ringside_actors::outbox::queue::Receiver<Outgoing>,
        kicks: mpsc::UnboundedReceiver<(u16, &'static str)>,
    }

    /// A hub with one connected session of user 5.
    async fn hub() -> (Addr<Hub>, Session) {
        let config = HubConfig {
            max_connections_per_user: 5,
            max_viewers_per_event: 100,
            room: RoomConfig {
                history: 10,
                max_subscribers: None,
                viewer_interval: Duration::from_secs(3600),
                catch_up_buffer: 10,
                idle_after: Duration::from_secs(3600),
                sample_per_second: None,
                presence_list_max: 10,
                signed_in_reserve: 0,
                resume_max_messages: 100,
            },
            room_threads: 1,
            queue_expiry: Duration::from_secs(3600),
            comment_fanout_per_second: 100,
            signed_in_reserve_percent: 0,
        };
        let hub = Hub::new(Arc::new(Nothing), config).start();
        let (tx, frames) = ringside_actors::outbox::queue::bounded(16);
        let (kicked, kicks) = mpsc::unbounded_channel();
        let probe = Probe(kicked).start();
        let outbox = Outbox::new(
            1,
            Some(5),
            tx,
            probe.clone().recipient(),
            probe.recipient(),
            Arc::new(AtomicU64::new(0)),
        );
        let admitted = hub.send(Connect { outbox }).await.expect("hub");
        assert_eq!(admitted, Ok(()));
        (hub, Session { frames, kicks })
    }

    fn payload(envelope: &Envelope) -> Vec<u8> {
        serde_json::to_vec(envelope).expect("serializes")
    }

    fn broadcast(node: &str, text: &str) -> Vec<u8> {
        payload(&Envelope::Broadcast {
            node: node.into(),
            frame: text.into(),
        })
    }

    /// Frames the session got so far (the hub has handled what was sent
    /// before `Stats`: its mailbox is in order).
    async fn received(hub: &Addr<Hub>, session: &mut Session) -> Vec<String> {
        hub.send(Stats).await.expect("hub");
        let mut out = Vec::new();
        while let Some(item) = session.frames.try_recv() {
            if let Outgoing::Text(frame, _) = item {
                out.push(frame.to_string());
            }
        }
        out
    }

    #[actix_rt::test]
    async fn another_nodes_broadcast_reaches_the_sessions_and_our_own_is_not_delivered_twice() {
        let (hub, mut session) = hub().await;
        receive(&hub, "me", &broadcast("me", "ours"));
        receive(&hub, "me", &broadcast("n2", "theirs"));
        assert_eq!(
            received(&hub, &mut session).await,
            vec!["theirs".to_string()]
        );
    }

    #[actix_rt::test]
    async fn unreadable_or_unroutable_messages_are_dropped_and_the_next_is_read() {
        let (hub, mut session) = hub().await;
        receive(&hub, "me", b"not json");
        receive(&hub, "me", br#"{"kind":"teleport","node":"n2"}"#);
        for channel in ["nowhere:1", "news"] {
            receive(
                &hub,
                "me",
                &payload(&Envelope::Publish {
                    node: "n2".into(),
                    channel: channel.into(),
                    epoch: "e1".into(),
                    seq: 1,
                    frame: "{}".into(),
                    snapshot: None,
                    hint: None,
                }),
            );
        }
        receive(
            &hub,
            "me",
            &payload(&Envelope::Reload {
                node: "n2".into(),
                channels: vec!["news".into(), "bogus".into()],
            }),
        );
        receive(&hub, "me", &broadcast("n2", "still here"));
        assert_eq!(
            received(&hub, &mut session).await,
            vec!["still here".to_string()]
        );
        assert_eq!(hub.send(Stats).await.expect("hub").rooms, 0, "no room made");
    }

    #[actix_rt::test]
    async fn a_kick_from_a_node_that_predates_reasons_is_a_ban() {
        let (hub, mut session) = hub().await;
        receive(&hub, "me", br#"{"kind":"kick","node":"n2","user":5}"#);
        let kick = tokio::time::timeout(Duration::from_secs(5), session.kicks.recv()).await;
        assert_eq!(kick.ok().flatten(), Some((1008, "banned")));
        receive(
            &hub,
            "me",
            &payload(&Envelope::Kick {
                node: "n2".into(),
                user: 5,
                reason: KickReason::SignedOut,
            }),
        );
        let kick = tokio::time::timeout(Duration::from_secs(5), session.kicks.recv()).await;
        assert_eq!(kick.ok().flatten(), Some((1008, "signed out")));
    }

    #[test]
    fn node_names_are_random_hex_and_the_pid() {
        let (a, b) = (node_id(), node_id());
        assert_ne!(a, b);
        let (hex, pid) = a.split_once('-').expect("hex-pid");
        assert_eq!(hex.len(), 16);
        assert!(hex.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(pid, std::process::id().to_string());
        assert_eq!(json!(KickReason::SignedOut), json!("signed_out"));
    }
}
