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
use bytestring::ByteString;
use futures_util::StreamExt;
use ringside_actors::channel::Channel;
use ringside_actors::hub::{
    EphemeralTo, Hub, KickUser, PeerViewers, PublishTo, ReloadRooms, ViewerCounts,
};
use ringside_actors::protocol::{self, Frame};
use ringside_actors::room::{FanoutHint, Headcount, Publish};
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
    /// An ephemeral frame (reaction totals, poll tallies) for a channel.
    Ephemeral {
        node: String,
        channel: String,
        frame: String,
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

    /// An ephemeral frame for a channel's subscribers on every node.
    pub fn ephemeral(&self, channel: &Channel, frame: Frame) {
        if let Some(link) = &self.redis {
            let _ = link.out.try_send(Envelope::Ephemeral {
                node: link.node.clone(),
                channel: channel.to_string(),
                frame: frame.to_string(),
            });
        }
        self.hub.do_send(EphemeralTo {
            channel: channel.clone(),
            frame,
        });
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
                    frame: ByteString::from(frame),
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
        Envelope::Ephemeral { channel, frame, .. } => {
            if let Ok(channel) = channel.parse::<Channel>() {
                hub.do_send(EphemeralTo {
                    channel,
                    frame: ByteString::from(frame),
                });
            }
        }
        Envelope::Kick { user, reason, .. } => hub.do_send(kick(user, reason)),
        Envelope::Broadcast { frame, .. } => {
            hub.do_send(ringside_actors::hub::Broadcast(frame.into()))
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
