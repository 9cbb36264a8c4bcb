//! The node's side of live analytics and of the monitor. What this node did
//! for each live event is counted in memory per UTC minute (messages it
//! published by frame type, comments accepted and refused, reactions) and
//! added to PostgreSQL every `ANALYTICS_FLUSH_INTERVAL` and once more on a
//! graceful shutdown; viewers are sampled from the hub each second and the
//! most seen in a minute is kept in this node's own row. The node's monitor
//! row (sessions, rooms, frames per second, …) is written every few seconds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::Addr;
use chrono::{DateTime, Utc};
use ringside_actors::hub::{Hub, Stats, ViewerCounts};
use ringside_actors::Channel;
use serde_json::{json, Value};

use crate::db::analytics::{self as store, Count};
use crate::db::channels::Published;
use crate::db::{Db, DbError};

/// How often the node's monitor row is written at most (sooner when the
/// flush interval is shorter); a row older than [`ALIVE_SECONDS`] is a dead node.
const NODE_INTERVAL: Duration = Duration::from_secs(5);
/// A node not seen for this long is shown `alive: false`.
pub const ALIVE_SECONDS: i64 = 15;
/// Viewers are sampled this often.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// Whose a count is: a live event, or a live fight (mapped to its event
/// when flushed, so publishing costs no lookup).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Scope {
    Event(i64),
    Fight(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    scope: Scope,
    minute: DateTime<Utc>,
    metric: &'static str,
    label: String,
}

#[derive(Default)]
struct Pending {
    counts: HashMap<Key, i64>,
    /// (live event, minute) → the most viewers seen on this node.
    viewers: HashMap<(i64, DateTime<Utc>), i64>,
}

impl Pending {
    fn count(&mut self, key: Key, n: i64) {
        *self.counts.entry(key).or_default() += n;
    }

    /// A viewer sample: a minute keeps the most seen.
    fn saw(&mut self, at: (i64, DateTime<Utc>), viewers: i64) {
        let peak = self.viewers.entry(at).or_default();
        *peak = (*peak).max(viewers);
    }

    /// Adds `other` (counted earlier, not written) to what is pending.
    fn merge(&mut self, other: Pending) {
        for (key, n) in other.counts {
            self.count(key, n);
        }
        for (at, n) in other.viewers {
            self.saw(at, n);
        }
    }
}

/// This node's counters; shared by the request handlers (through the app
/// state) and the loop that flushes them.
pub struct Analytics {
    db: Db,
    node: String,
    started_at: DateTime<Utc>,
    pending: Mutex<Pending>,
}

/// The start of the UTC minute `t` falls in.
pub fn minute_of(t: DateTime<Utc>) -> DateTime<Utc> {
    let secs = t.timestamp();
    DateTime::from_timestamp(secs - secs.rem_euclid(60), 0).unwrap_or(t)
}

/// This node's name in `cluster_nodes` and its viewer rows: the bus's name
/// on several nodes, else host and pid (a second server in one process, as
/// tests run them, gets a suffix).
fn node_name(bus: &super::Bus) -> String {
    if let Some(node) = bus.node() {
        return node.to_string();
    }
    static SERVERS: AtomicUsize = AtomicUsize::new(0);
    let n = SERVERS.fetch_add(1, Ordering::Relaxed);
    let host = hostname();
    match n {
        0 => format!("{host}-{}", std::process::id()),
        n => format!("{host}-{}-{n}", std::process::id()),
    }
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; the name is NUL-terminated
    // when it fits, and the rest of the buffer is zeros.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) } == 0;
    let end = buf.iter().position(|b| *b == 0).unwrap_or(0);
    match std::str::from_utf8(&buf[..end]) {
        Ok(name) if ok && !name.is_empty() => name.to_string(),
        _ => "node".to_string(),
    }
}

impl Analytics {
    pub fn new(bus: &super::Bus, db: Db) -> Analytics {
        Analytics {
            db,
            node: node_name(bus),
            started_at: Utc::now(),
            pending: Mutex::new(Pending::default()),
        }
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    fn add(&self, scope: Scope, metric: &'static str, label: &str, n: i64) {
        let key = Key {
            scope,
            minute: minute_of(Utc::now()),
            metric,
            label: label.to_string(),
        };
        if let Ok(mut pending) = self.pending.lock() {
            pending.count(key, n);
        }
    }

    /// Durable messages this node is about to deliver: counted once, here,
    /// by the node that published them.
    pub fn published(&self, published: &[Published]) {
        for p in published {
            let scope = match p.channel {
                Channel::Event(id) | Channel::Comments(id) => Scope::Event(id),
                Channel::Fight(id) => Scope::Fight(id),
                _ => continue,
            };
            self.add(scope, "message", &p.frame_type, 1);
        }
    }

    /// A comment accepted (stored, shown or held) on a live event.
    pub fn comment(&self, live_event: i64) {
        self.add(Scope::Event(live_event), "comment", "", 1);
    }

    /// A comment refused, by the error code its author got.
    pub fn comment_refused(&self, live_event: i64, code: &str) {
        self.add(Scope::Event(live_event), "comment_refused", code, 1);
    }

    /// A reaction accepted on something of a live event.
    pub fn reaction(&self, live_event: i64, reaction_type: &str) {
        self.add(Scope::Event(live_event), "reaction", reaction_type, 1);
    }

    /// One sample of this node's viewers per live event.
    fn sampled(&self, counts: &[(Channel, ringside_actors::room::Headcount)]) {
        let minute = minute_of(Utc::now());
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        for (channel, headcount) in counts {
            if let (Channel::Event(id), n @ 1..) = (channel, headcount.connections) {
                pending.saw((*id, minute), n as i64);
            }
        }
    }

    fn take(&self) -> Pending {
        self.pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }

    /// Puts back what a failed flush took, so the next one adds it.
    fn put_back(&self, taken: Pending) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.merge(taken);
        }
    }

    /// Adds what was counted since the last flush to PostgreSQL. On failure
    /// the counts are kept for the next flush.
    pub async fn flush(&self) {
        let taken = self.take();
        if taken.counts.is_empty() && taken.viewers.is_empty() {
            return;
        }
        let counts: Vec<Count> = taken
            .counts
            .iter()
            .map(|(key, n)| {
                let (live_event, live_fight) = match key.scope {
                    Scope::Event(id) => (Some(id), None),
                    Scope::Fight(id) => (None, Some(id)),
                };
                Count {
                    live_event,
                    live_fight,
                    minute: key.minute,
                    metric: key.metric,
                    label: key.label.clone(),
                    value: *n,
                }
            })
            .collect();
        // The most seen is kept whatever was there: a partial peak written
        // earlier in the minute only grows.
        let viewers: Vec<(i64, DateTime<Utc>, i64)> = taken
            .viewers
            .iter()
            .map(|((event, minute), n)| (*event, *minute, *n))
            .collect();
        let node = self.node.clone();
        let written = self
            .db
            .run_unbounded(move |conn| {
                use diesel::Connection;
                conn.transaction(|c| {
                    store::add_counts(c, &counts)?;
                    store::add_viewers(c, &node, &viewers)
                })
                .map_err(DbError::from)
            })
            .await;
        if let Err(e) = written {
            tracing::warn!("analytics: flush failed, kept for the next one: {e}");
            self.put_back(taken);
        }
    }

    /// Samples viewers each second, flushes every `flush_every`, and writes
    /// this node's monitor row every few seconds. Runs until the system stops.
    pub fn run(self: Arc<Self>, hub: Addr<Hub>, bus: super::Bus, flush_every: Duration) {
        actix_web::rt::spawn(async move {
            let node_every = NODE_INTERVAL.min(flush_every);
            let mut tick = actix_web::rt::time::interval(SAMPLE_EVERY.min(flush_every));
            let mut flushed = Instant::now();
            let mut monitor = Monitor::new();
            let mut wrote_node: Option<Instant> = None;
            loop {
                tick.tick().await;
                if let Ok(counts) = hub.send(ViewerCounts).await {
                    self.sampled(&counts);
                }
                if flushed.elapsed() >= flush_every {
                    flushed = Instant::now();
                    self.flush().await;
                }
                if wrote_node.is_none_or(|at| at.elapsed() >= node_every) {
                    wrote_node = Some(Instant::now());
                    let figures = monitor.figures(&hub, &bus).await;
                    let (node, started_at) = (self.node.clone(), self.started_at);
                    let written = self
                        .db
                        .run_unbounded(move |c| {
                            store::upsert_node(c, &node, started_at, &figures)
                                .map_err(DbError::from)
                        })
                        .await;
                    if let Err(e) = written {
                        tracing::warn!("monitor: writing this node's row failed: {e}");
                    }
                }
            }
        });
    }
}

/// This node's monitor figures, from where `/metrics` reads them.
struct Monitor {
    frames: u64,
    at: Instant,
}

/// The session kinds `/metrics` labels (the channel kind of the endpoint or
/// first channel).
const SESSION_KINDS: [&str; 7] = [
    "event", "fight", "comments", "user", "news", "rankings", "none",
];

impl Monitor {
    fn new() -> Monitor {
        Monitor {
            frames: crate::metrics::live().ws_frames_sent.get(),
            at: Instant::now(),
        }
    }

    async fn figures(&mut self, hub: &Addr<Hub>, bus: &super::Bus) -> Value {
        let live = crate::metrics::live();
        let stats = hub.send(Stats).await.unwrap_or_default();
        let mut sessions = serde_json::Map::new();
        let mut transports = serde_json::Map::new();
        for transport in ringside_actors::session::Transport::ALL {
            let mut n = 0;
            for kind in SESSION_KINDS {
                let here = live
                    .ws_sessions
                    .with_label_values(&[kind, transport.as_str()])
                    .get()
                    .max(0);
                n += here;
                let by_kind = sessions.entry(kind).or_insert(json!(0));
                *by_kind = json!(by_kind.as_i64().unwrap_or(0) + here);
            }
            transports.insert(transport.as_str().into(), json!(n));
        }
        let frames = live.ws_frames_sent.get();
        let elapsed = self.at.elapsed().as_secs_f64();
        let per_second = if elapsed > 0.0 {
            frames.saturating_sub(self.frames) as f64 / elapsed
        } else {
            0.0
        };
        self.frames = frames;
        self.at = Instant::now();
        let slow = live
            .ws_closes
            .with_label_values(&[
                &ringside_actors::protocol::close::TOO_SLOW.to_string(),
                ringside_actors::telemetry::Initiator::Server.as_str(),
            ])
            .get();
        let queue: i64 = ["live", "reactions"]
            .into_iter()
            .map(|w| live.persistence_queue.with_label_values(&[w]).get())
            .sum();
        json!({
            "sessions": sessions,
            "transports": transports,
            "rooms": stats.rooms,
            "frames_per_second": (per_second * 10.0).round() / 10.0,
            "slow_client_drops": slow,
            "persistence_queue": queue,
            "bus": if bus.node().is_some() { "redis" } else { "memory" },
            "bus_healthy": bus.healthy(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minute_starts_on_its_first_second() {
        let t = DateTime::parse_from_rfc3339("2026-12-01T17:03:59.900Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(minute_of(t).to_rfc3339(), "2026-12-01T17:03:00+00:00");
        assert_eq!(minute_of(minute_of(t)), minute_of(t));
    }

    fn key(metric: &'static str, label: &str) -> Key {
        Key {
            scope: Scope::Event(7),
            minute: DateTime::from_timestamp(1_796_144_400, 0).expect("a minute"),
            metric,
            label: label.into(),
        }
    }

    /// A failed flush gives its counts back: counters add up with what was
    /// counted meanwhile, and a viewer peak keeps the most seen.
    #[test]
    fn what_a_failed_flush_took_is_added_back() {
        let minute = key("comment", "").minute;
        let mut taken = Pending::default();
        taken.count(key("comment", ""), 3);
        taken.count(key("comment_refused", "slow_mode"), 1);
        taken.saw((7, minute), 5);
        taken.saw((7, minute), 2);
        let mut meanwhile = Pending::default();
        meanwhile.count(key("comment", ""), 2);
        meanwhile.saw((7, minute), 4);
        meanwhile.merge(taken);
        assert_eq!(meanwhile.counts[&key("comment", "")], 5);
        assert_eq!(meanwhile.counts[&key("comment_refused", "slow_mode")], 1);
        assert_eq!(meanwhile.viewers[&(7, minute)], 5);
    }
}
