//! Prometheus metrics (the `prometheus` crate), rendered in the text format
//! at `GET /metrics`.
//!
//! Two kinds of series:
//! - per server ([`Metrics`], one per `server::start`): HTTP requests and
//!   latency, and the gauges read when scraped (database pool, rooms,
//!   subscriptions, bus, push outbox, the process);
//! - per process ([`live`]): what the live core and the edges count as it
//!   happens (sessions, frames, closes, fan-out latency, persistence, bus
//!   failures, refusals, push outcomes). The live core reports through
//!   [`ringside_actors::telemetry`], installed once per process. Production
//!   runs one server per process, so both kinds describe the same node.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use ringside_actors::hub::HubStats;
use ringside_actors::telemetry::{self, Initiator, Telemetry, CHANNEL_KINDS};

/// HTTP latency buckets, in seconds.
const HTTP_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Fan-out latency buckets (hand-over to the last subscriber's queue).
const FANOUT_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
/// Persistence batch latency buckets.
const BATCH_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];
const BATCH_SIZES: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// Close codes with a series of their own from the start (others get one
/// when first seen): see `protocol::close` and README, WebSocket protocol.
const CLOSE_CODES: [u16; 11] = [
    1000, 1001, 1002, 1006, 1007, 1008, 1009, 1011, 1012, 4000, 4001,
];

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric")
}

fn gauge_vec(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric")
}

fn histogram_vec(name: &str, help: &str, labels: &[&str], buckets: &[f64]) -> HistogramVec {
    HistogramVec::new(
        HistogramOpts::new(name, help).buckets(buckets.to_vec()),
        labels,
    )
    .expect("valid metric")
}

/// The per-process series (see the module header).
pub struct Live {
    pub ws_sessions: IntGaugeVec,
    pub ws_frames_sent: IntCounter,
    pub ws_closes: IntCounterVec,
    pub fanout_seconds: Histogram,
    pub rate_limited: IntCounterVec,
    pub rate_limit_fallbacks: IntCounterVec,
    pub room_reloads: IntCounterVec,
    pub persistence_queue: IntGaugeVec,
    pub persistence_queue_limit: IntGaugeVec,
    pub persistence_batch_size: HistogramVec,
    pub persistence_batch_seconds: HistogramVec,
    pub persistence_retries: IntCounterVec,
    pub persistence_refused: IntCounterVec,
    pub persistence_expired: IntCounterVec,
    pub bus_publish_failures: IntCounterVec,
    pub bus_reconnects: IntCounter,
    pub comment_refusals: IntCounterVec,
    pub push_deliveries: IntCounterVec,
    pub build_info: IntGaugeVec,
}

impl Live {
    fn new() -> Live {
        let live = Live {
            ws_sessions: gauge_vec(
                "ringside_ws_sessions",
                "Open live sessions, by the kind of channel their endpoint (or first \
                 channel) follows and by transport (websocket, sse, poll).",
                &["kind", "transport"],
            ),
            ws_frames_sent: IntCounter::new(
                "ringside_ws_frames_sent_total",
                "WebSocket frames handed to sockets (text, pings and pongs).",
            )
            .expect("valid metric"),
            ws_closes: counter_vec(
                "ringside_ws_closes_total",
                "WebSocket connections ended, by close code and who started it \
                 (1006: gone without a close frame).",
                &["code", "initiator"],
            ),
            fanout_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "ringside_fanout_seconds",
                    "From the bus hand-over of a committed frame to its last \
                     subscriber's queue on this node.",
                )
                .buckets(FANOUT_BUCKETS.to_vec()),
            )
            .expect("valid metric"),
            rate_limited: counter_vec(
                "ringside_rate_limited_total",
                "Requests and frames refused by a rate limit, by kind.",
                &["kind"],
            ),
            rate_limit_fallbacks: counter_vec(
                "ringside_rate_limit_fallbacks_total",
                "Cluster-wide rate-limit checks this node answered alone because \
                 Redis did not (unreachable, slow, or not reached yet), by kind.",
                &["kind"],
            ),
            room_reloads: counter_vec(
                "ringside_room_reloads_total",
                "Rooms told to reload from Postgres (bus: after a bus outage or a \
                 peer's notice; replaced: the room's actor had died).",
                &["reason"],
            ),
            persistence_queue: gauge_vec(
                "ringside_persistence_queue",
                "Durable writes waiting in a persistence actor's queue.",
                &["writer"],
            ),
            persistence_queue_limit: gauge_vec(
                "ringside_persistence_queue_limit",
                "The bound of a persistence queue; past it writes are refused (503).",
                &["writer"],
            ),
            persistence_batch_size: histogram_vec(
                "ringside_persistence_batch_size",
                "Writes per persistence batch.",
                &["writer"],
                &BATCH_SIZES,
            ),
            persistence_batch_seconds: histogram_vec(
                "ringside_persistence_batch_seconds",
                "Time a persistence batch took on the blocking pool.",
                &["writer"],
                &BATCH_BUCKETS,
            ),
            persistence_retries: counter_vec(
                "ringside_persistence_retries_total",
                "Batches put back because storage was unreachable.",
                &["writer"],
            ),
            persistence_refused: counter_vec(
                "ringside_persistence_refused_total",
                "Writes refused because the persistence queue was full.",
                &["writer"],
            ),
            persistence_expired: counter_vec(
                "ringside_persistence_expired_total",
                "Writes not committed by their deadline (WRITE_TIMEOUT): answered \
                 503 unavailable and never applied.",
                &["writer"],
            ),
            bus_publish_failures: counter_vec(
                "ringside_bus_publish_failures_total",
                "Messages that did not reach Redis (queue_full: the publish queue \
                 was full; redis: Redis refused, timed out or was unreachable).",
                &["reason"],
            ),
            bus_reconnects: IntCounter::new(
                "ringside_bus_reconnects_total",
                "Redis subscriptions reopened after closing or going silent.",
            )
            .expect("valid metric"),
            comment_refusals: counter_vec(
                "ringside_comment_refusals_total",
                "Comments refused, by the error code the author got.",
                &["reason"],
            ),
            push_deliveries: counter_vec(
                "ringside_push_deliveries_total",
                "Push attempts, by provider and outcome \
                 (sent, retry, invalid_token, failed).",
                &["provider", "outcome"],
            ),
            build_info: gauge_vec(
                "ringside_build_info",
                "Always 1; the labels name the build.",
                &["version", "commit"],
            ),
        };
        for kind in [
            "event", "fight", "comments", "user", "news", "rankings", "none",
        ] {
            for transport in ringside_actors::session::Transport::ALL {
                live.ws_sessions
                    .with_label_values(&[kind, transport.as_str()]);
            }
        }
        for code in CLOSE_CODES {
            for by in [Initiator::Server, Initiator::Client] {
                live.ws_closes
                    .with_label_values(&[&code.to_string(), by.as_str()]);
            }
        }
        for kind in [
            "comment",
            "reaction",
            "vote",
            "login",
            "ws_frame",
            "ws_writes",
        ] {
            live.rate_limited.with_label_values(&[kind]);
        }
        live.rate_limit_fallbacks.with_label_values(&["comment"]);
        // The refusals an operator watches for, listed from the start.
        for reason in [
            "rate_limited",
            "content_rejected",
            "muted",
            "slow_mode",
            "banned",
            "unavailable",
        ] {
            live.comment_refusals.with_label_values(&[reason]);
        }
        for provider in ["fcm", "apns"] {
            for outcome in [
                "sent",
                "retry",
                "throttled",
                "deferred",
                "invalid_token",
                "failed",
            ] {
                live.push_deliveries.with_label_values(&[provider, outcome]);
            }
        }
        for writer in ["live", "reactions"] {
            live.persistence_batch_size.with_label_values(&[writer]);
            live.persistence_batch_seconds.with_label_values(&[writer]);
            live.persistence_retries.with_label_values(&[writer]);
            live.persistence_refused.with_label_values(&[writer]);
            live.persistence_expired.with_label_values(&[writer]);
        }
        for reason in ["bus", "replaced"] {
            live.room_reloads.with_label_values(&[reason]);
        }
        for reason in ["queue_full", "redis"] {
            live.bus_publish_failures.with_label_values(&[reason]);
        }
        live.build_info
            .with_label_values(&[
                env!("CARGO_PKG_VERSION"),
                option_env!("RINGSIDE_GIT_COMMIT").unwrap_or("unknown"),
            ])
            .set(1);
        live
    }

    fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        registry.register(Box::new(self.ws_sessions.clone()))?;
        registry.register(Box::new(self.ws_frames_sent.clone()))?;
        registry.register(Box::new(self.ws_closes.clone()))?;
        registry.register(Box::new(self.fanout_seconds.clone()))?;
        registry.register(Box::new(self.rate_limited.clone()))?;
        registry.register(Box::new(self.rate_limit_fallbacks.clone()))?;
        registry.register(Box::new(self.room_reloads.clone()))?;
        registry.register(Box::new(self.persistence_queue.clone()))?;
        registry.register(Box::new(self.persistence_queue_limit.clone()))?;
        registry.register(Box::new(self.persistence_batch_size.clone()))?;
        registry.register(Box::new(self.persistence_batch_seconds.clone()))?;
        registry.register(Box::new(self.persistence_retries.clone()))?;
        registry.register(Box::new(self.persistence_refused.clone()))?;
        registry.register(Box::new(self.persistence_expired.clone()))?;
        registry.register(Box::new(self.bus_publish_failures.clone()))?;
        registry.register(Box::new(self.bus_reconnects.clone()))?;
        registry.register(Box::new(self.comment_refusals.clone()))?;
        registry.register(Box::new(self.push_deliveries.clone()))?;
        registry.register(Box::new(self.build_info.clone()))?;
        Ok(())
    }

    /// A refusal by a rate limit of `kind`.
    pub fn rate_limited(&self, kind: &str) {
        self.rate_limited.with_label_values(&[kind]).inc();
    }

    /// A cluster-wide check of `kind` answered by this node alone.
    pub fn rate_limit_fallback(&self, kind: &str) {
        self.rate_limit_fallbacks.with_label_values(&[kind]).inc();
    }
}

/// The per-process series; the first use installs them as the live core's
/// telemetry.
pub fn live() -> &'static Live {
    static LIVE: LazyLock<Live> = LazyLock::new(|| {
        telemetry::install(Box::new(LiveTelemetry));
        Live::new()
    });
    &LIVE
}

/// The live core's events, counted.
struct LiveTelemetry;

impl Telemetry for LiveTelemetry {
    fn session_opened(&self, kind: &'static str, transport: &'static str) {
        live()
            .ws_sessions
            .with_label_values(&[kind, transport])
            .inc();
    }
    fn session_closed(&self, kind: &'static str, transport: &'static str) {
        live()
            .ws_sessions
            .with_label_values(&[kind, transport])
            .dec();
    }
    fn frames_sent(&self, n: u64) {
        live().ws_frames_sent.inc_by(n);
    }
    fn closed(&self, code: u16, by: Initiator) {
        // A client may close with any code: unknown ones share one series.
        let code = if CLOSE_CODES.contains(&code) {
            code.to_string()
        } else {
            "other".to_string()
        };
        live()
            .ws_closes
            .with_label_values(&[&code, by.as_str()])
            .inc();
    }
    fn fanned_out(&self, elapsed: Duration) {
        live().fanout_seconds.observe(elapsed.as_secs_f64());
    }
    fn rate_limited(&self, kind: &'static str) {
        live().rate_limited(kind);
    }
    fn rooms_reloaded(&self, reason: &'static str, rooms: usize) {
        live()
            .room_reloads
            .with_label_values(&[reason])
            .inc_by(rooms as u64);
    }
    fn persistence_queue(&self, writer: &'static str, depth: usize, limit: usize) {
        let live = live();
        live.persistence_queue
            .with_label_values(&[writer])
            .set(depth as i64);
        live.persistence_queue_limit
            .with_label_values(&[writer])
            .set(limit as i64);
    }
    fn persistence_batch(&self, writer: &'static str, size: usize, elapsed: Duration) {
        let live = live();
        live.persistence_batch_size
            .with_label_values(&[writer])
            .observe(size as f64);
        live.persistence_batch_seconds
            .with_label_values(&[writer])
            .observe(elapsed.as_secs_f64());
    }
    fn persistence_retry(&self, writer: &'static str) {
        live()
            .persistence_retries
            .with_label_values(&[writer])
            .inc();
    }
    fn persistence_refused(&self, writer: &'static str) {
        live()
            .persistence_refused
            .with_label_values(&[writer])
            .inc();
    }

    fn persistence_expired(&self, writer: &'static str) {
        live()
            .persistence_expired
            .with_label_values(&[writer])
            .inc();
    }
}

/// What `/metrics` reads when scraped, besides the counters.
pub struct Scraped {
    /// Database pool connections (open, idle).
    pub pool: (u32, u32),
    pub hub: HubStats,
    /// The bus hears the other nodes (always, on one node); its mode.
    pub bus_up: bool,
    pub bus_mode: &'static str,
    /// Push deliveries waiting (`pending`) and sent but unanswered
    /// (`in_flight`), when the database answered.
    pub outbox: Option<(i64, i64)>,
}

/// The per-server registry.
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    ws_upgrade_duration: HistogramVec,
    db_connections: IntGaugeVec,
    up_seconds: Gauge,
    rooms: IntGauge,
    ws_subscriptions: IntGaugeVec,
    bus_up: IntGaugeVec,
    push_outbox: IntGaugeVec,
    process: crate::process_stats::ProcessGauges,
    started: Instant,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let m = Metrics {
            http_requests: counter_vec(
                "ringside_http_requests_total",
                "HTTP requests by route and status (WebSocket upgrades included).",
                &["method", "route", "status"],
            ),
            http_duration: histogram_vec(
                "ringside_http_request_duration_seconds",
                "HTTP request latency, by route pattern (WebSocket upgrades excluded).",
                &["method", "route"],
                &HTTP_BUCKETS,
            ),
            ws_upgrade_duration: histogram_vec(
                "ringside_ws_upgrade_duration_seconds",
                "Time to answer a WebSocket upgrade (token check, handshake).",
                &["route"],
                &HTTP_BUCKETS,
            ),
            db_connections: gauge_vec(
                "ringside_db_connections",
                "Database pool connections.",
                &["state"],
            ),
            up_seconds: Gauge::new("ringside_up_seconds", "Seconds since the server started.")
                .expect("valid metric"),
            rooms: IntGauge::new(
                "ringside_rooms",
                "Live rooms (channels with subscribers) on this node.",
            )
            .expect("valid metric"),
            ws_subscriptions: gauge_vec(
                "ringside_ws_subscriptions",
                "Subscriptions on this node by channel kind (as rooms last counted, \
                 each viewer interval).",
                &["kind"],
            ),
            bus_up: gauge_vec(
                "ringside_bus_up",
                "1 while this node hears the other nodes (always 1 on one node).",
                &["mode"],
            ),
            push_outbox: gauge_vec(
                "ringside_push_outbox",
                "Push deliveries in the outbox: pending (waiting) and in_flight \
                 (claimed, unanswered).",
                &["status"],
            ),
            process: crate::process_stats::ProcessGauges::new(),
            started: Instant::now(),
            registry,
        };
        let registered = (|| {
            m.registry.register(Box::new(m.http_requests.clone()))?;
            m.registry.register(Box::new(m.http_duration.clone()))?;
            m.registry
                .register(Box::new(m.ws_upgrade_duration.clone()))?;
            m.registry.register(Box::new(m.db_connections.clone()))?;
            m.registry.register(Box::new(m.up_seconds.clone()))?;
            m.registry.register(Box::new(m.rooms.clone()))?;
            m.registry.register(Box::new(m.ws_subscriptions.clone()))?;
            m.registry.register(Box::new(m.bus_up.clone()))?;
            m.registry.register(Box::new(m.push_outbox.clone()))?;
            m.process.register(&m.registry)?;
            live().register(&m.registry)
        })();
        for route in [
            "/api/live/events/{id}/",
            "/api/live/fights/{id}/",
            "/api/live/comments/{id}/",
            "/api/live/notifications/",
        ] {
            m.ws_upgrade_duration.with_label_values(&[route]);
        }
        if let Err(e) = registered {
            tracing::error!("metrics: {e}");
        }
        m
    }

    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration, upgrade: bool) {
        self.http_requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        if upgrade {
            self.ws_upgrade_duration
                .with_label_values(&[route])
                .observe(elapsed.as_secs_f64());
        } else {
            self.http_duration
                .with_label_values(&[method, route])
                .observe(elapsed.as_secs_f64());
        }
    }

    /// The text exposition format.
    pub fn render(&self, scraped: &Scraped) -> String {
        self.up_seconds.set(self.started.elapsed().as_secs_f64());
        self.db_connections
            .with_label_values(&["open"])
            .set(scraped.pool.0.into());
        self.db_connections
            .with_label_values(&["idle"])
            .set(scraped.pool.1.into());
        self.rooms.set(scraped.hub.rooms as i64);
        for (kind, n) in CHANNEL_KINDS.iter().zip(scraped.hub.subscriptions) {
            self.ws_subscriptions
                .with_label_values(&[kind])
                .set(n as i64);
        }
        self.bus_up
            .with_label_values(&[scraped.bus_mode])
            .set(i64::from(scraped.bus_up));
        if let Some((pending, in_flight)) = scraped.outbox {
            self.push_outbox
                .with_label_values(&["pending"])
                .set(pending);
            self.push_outbox
                .with_label_values(&["in_flight"])
                .set(in_flight);
        }
        self.process.update();
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!("metrics: {e}");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}
