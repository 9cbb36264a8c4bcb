//! Live analytics and the cluster monitor as the API answers them: a live
//! event's night from its per-minute buckets (summed over nodes, kept after
//! the event) and the durable tables (poll votes, engaged users, push), its
//! CSV export, the same for every live event now, and every node's
//! last-written figures with the push outbox by status.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::Serialize;
use serde_json::Value;

use crate::db::analytics as store;
use crate::db::live_events;
use crate::error::ApiError;
use crate::state::AppState;

/// A count in one UTC minute.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = AnalyticsPoint)]
pub struct Point {
    /// The start of the UTC minute (RFC 3339, `Z`).
    pub t: DateTime<Utc>,
    #[schema(minimum = 0)]
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = AnalyticsViewers)]
pub struct Viewers {
    /// Connections following `event:{id}` now, over every node.
    #[schema(minimum = 0)]
    pub current: i64,
    /// The most in any minute of `series` (or `current`, if more).
    #[schema(minimum = 0)]
    pub peak: i64,
    /// Per minute: the sum over nodes of the most each node saw in it.
    pub series: Vec<Point>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = AnalyticsMessages)]
pub struct Messages {
    /// Durable messages published on `event:{id}`, `comments:{id}` and the
    /// event's `fight:{id}` channels.
    #[schema(minimum = 0)]
    pub total: i64,
    pub per_minute: Vec<Point>,
    /// By frame type (`update`, `fight_state`, `comment`, …).
    pub by_type: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = AnalyticsComments)]
pub struct Comments {
    /// Comments accepted (shown or held for review).
    #[schema(minimum = 0)]
    pub total: i64,
    pub per_minute: Vec<Point>,
    /// Comments refused, by the error code the author got (`rate_limited`,
    /// `slow_mode`, `muted`, `banned`, `content_rejected`, …).
    pub refused: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = AnalyticsReactions)]
pub struct Reactions {
    #[schema(minimum = 0)]
    pub total: i64,
    /// By reaction type (`like`, `wow`, …).
    pub by_type: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = AnalyticsPoll)]
pub struct Poll {
    pub id: i64,
    pub question: String,
    #[schema(minimum = 0)]
    pub votes: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = AnalyticsPush)]
pub struct Push {
    /// Pushes queued (one per device) for the notifications about this event.
    #[schema(minimum = 0)]
    pub targeted: i64,
    /// Of those, accepted by a provider.
    #[schema(minimum = 0)]
    pub sent: i64,
    /// Those notifications opened.
    #[schema(minimum = 0)]
    pub opened: i64,
}

/// One live event's night.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = EventAnalytics)]
pub struct EventAnalytics {
    /// The live event's id.
    pub event: i64,
    pub viewers: Viewers,
    pub messages: Messages,
    pub comments: Comments,
    pub reactions: Reactions,
    pub polls: Vec<Poll>,
    /// Distinct users who commented, reacted (to the event or anything of
    /// it) or voted in its polls.
    #[schema(minimum = 0)]
    pub engaged_users: i64,
    pub push: Push,
    /// Reactions and refused comments per minute, for the CSV export.
    #[serde(skip)]
    #[schema(ignore)]
    minutes: BTreeMap<DateTime<Utc>, Row>,
}

/// One minute of the CSV export.
#[derive(Debug, Clone, Copy, Default)]
struct Row {
    viewers: i64,
    messages: i64,
    comments: i64,
    comments_refused: i64,
    reactions: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = LiveAnalyticsTotals)]
pub struct Totals {
    /// Current viewers, summed over the events.
    pub viewers: i64,
    pub messages: i64,
    pub comments: i64,
    pub reactions: i64,
    /// Summed over the events (a user engaged in two counts twice).
    pub engaged_users: i64,
}

/// Every live event now, and their totals.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = LiveAnalytics)]
pub struct AllEvents {
    pub events: Vec<EventAnalytics>,
    pub totals: Totals,
}

/// One live event's analytics; 404 when there is no such live event.
pub async fn event(state: &AppState, live_event: i64) -> Result<EventAnalytics, ApiError> {
    state
        .db
        .run(move |c| {
            let live = live_events::find(c, live_event)
                .map_err(|e| crate::error::named("live event")(e.into()))?;
            read(c, live.id, live.viewer_count.into()).map_err(ApiError::from)
        })
        .await
}

/// Every live event that is live now, with totals.
pub async fn live_now(state: &AppState) -> Result<AllEvents, ApiError> {
    state
        .db
        .run(|c| {
            let mut events = Vec::new();
            for id in store::live_now(c)? {
                let live = live_events::find(c, id)?;
                events.push(read(c, id, live.viewer_count.into())?);
            }
            let totals = Totals {
                viewers: events.iter().map(|e| e.viewers.current).sum(),
                messages: events.iter().map(|e| e.messages.total).sum(),
                comments: events.iter().map(|e| e.comments.total).sum(),
                reactions: events.iter().map(|e| e.reactions.total).sum(),
                engaged_users: events.iter().map(|e| e.engaged_users).sum(),
            };
            Ok::<_, ApiError>(AllEvents { events, totals })
        })
        .await
}

fn read(
    c: &mut PgConnection,
    live_event: i64,
    current: i64,
) -> diesel::QueryResult<EventAnalytics> {
    let mut minutes: BTreeMap<DateTime<Utc>, Row> = BTreeMap::new();
    let mut by_type = BTreeMap::new();
    let mut refused = BTreeMap::new();
    let mut reactions_by_type = BTreeMap::new();
    for b in store::buckets(c, live_event)? {
        let row = minutes.entry(b.minute).or_default();
        match b.metric.as_str() {
            "message" => {
                row.messages += b.value;
                *by_type.entry(b.label).or_default() += b.value;
            }
            "comment" => {
                row.comments += b.value;
            }
            "comment_refused" => {
                row.comments_refused += b.value;
                *refused.entry(b.label).or_default() += b.value;
            }
            "reaction" => {
                row.reactions += b.value;
                *reactions_by_type.entry(b.label).or_default() += b.value;
            }
            _ => {}
        }
    }
    let series: Vec<Point> = store::viewer_series(c, live_event)?
        .into_iter()
        .map(|v| Point {
            t: v.minute,
            count: v.count,
        })
        .collect();
    for p in &series {
        minutes.entry(p.t).or_default().viewers = p.count;
    }
    let per_minute = |pick: fn(&Row) -> i64| -> Vec<Point> {
        minutes
            .iter()
            .filter(|(_, r)| pick(r) > 0)
            .map(|(t, r)| Point {
                t: *t,
                count: pick(r),
            })
            .collect()
    };
    let peak = series.iter().map(|p| p.count).max().unwrap_or(0);
    let push = store::push_counts(c, live_event)?;
    Ok(EventAnalytics {
        event: live_event,
        viewers: Viewers {
            current,
            peak: peak.max(current),
            series: series.clone(),
        },
        messages: Messages {
            total: by_type.values().sum(),
            per_minute: per_minute(|r| r.messages),
            by_type,
        },
        comments: Comments {
            total: minutes.values().map(|r| r.comments).sum(),
            per_minute: per_minute(|r| r.comments),
            refused,
        },
        reactions: Reactions {
            total: reactions_by_type.values().sum(),
            by_type: reactions_by_type,
        },
        polls: store::poll_votes(c, live_event)?
            .into_iter()
            .map(|p| Poll {
                id: p.id,
                question: p.question,
                votes: p.votes,
            })
            .collect(),
        engaged_users: store::engaged_users(c, live_event)?,
        push: Push {
            targeted: push.targeted,
            sent: push.sent,
            opened: push.opened,
        },
        minutes,
    })
}

/// The CSV export: a header, then one row per minute with any figure.
pub fn csv(analytics: &EventAnalytics) -> String {
    let mut out = String::from("minute,viewers,messages,comments,comments_refused,reactions\n");
    for (t, r) in &analytics.minutes {
        out.push_str(&format!(
            "{},{},{},{},{},{}\n",
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            r.viewers,
            r.messages,
            r.comments,
            r.comments_refused,
            r.reactions
        ));
    }
    out
}

/// One node as it last wrote its row.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = MonitorNode)]
pub struct Node {
    /// The node's name (on several nodes, its name on the bus).
    pub node: String,
    pub started_at: DateTime<Utc>,
    /// When it last wrote its row (every few seconds while it runs).
    pub seen_at: DateTime<Utc>,
    /// Seen within the last 15 seconds.
    pub alive: bool,
    /// Live sessions by the kind of channel their endpoint (or first channel) follows.
    #[schema(value_type = Object)]
    pub sessions: Value,
    /// Live sessions by transport (`websocket`, `sse`, `poll`).
    #[schema(value_type = Object)]
    pub transports: Value,
    /// Rooms (channels with subscribers) on the node.
    pub rooms: i64,
    /// Frames handed to sockets per second since its previous row.
    pub frames_per_second: f64,
    /// Sessions dropped for being too slow (close 4001) since the node started.
    pub slow_client_drops: i64,
    /// Durable writes waiting in its persistence queues.
    pub persistence_queue: i64,
    /// `redis` (several nodes) or `memory` (one node).
    pub bus: String,
    /// Whether the node hears the other nodes (always true on one node).
    pub bus_healthy: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = MonitorTotals)]
pub struct MonitorTotals {
    /// Over the nodes alive.
    pub sessions: i64,
    pub rooms: i64,
    pub frames_per_second: f64,
}

/// The cluster as its nodes last described themselves.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ClusterMonitor)]
pub struct Monitor {
    pub nodes: Vec<Node>,
    /// Push deliveries in the outbox by status (`pending`, `in_flight`,
    /// `sent`, `failed`, `invalid_token`, `expired`).
    pub push: BTreeMap<String, i64>,
    pub totals: MonitorTotals,
}

pub async fn monitor(state: &AppState) -> Result<Monitor, ApiError> {
    let (rows, outcomes) = state
        .db
        .run(|c| {
            Ok::<_, ApiError>((
                store::nodes(c, crate::live::analytics::ALIVE_SECONDS)?,
                store::push_outcomes(c)?,
            ))
        })
        .await?;
    let nodes: Vec<Node> = rows.into_iter().map(node).collect();
    let mut push: BTreeMap<String, i64> = [
        "pending",
        "in_flight",
        "sent",
        "failed",
        "invalid_token",
        "expired",
    ]
    .into_iter()
    .map(|s| (s.to_string(), 0))
    .collect();
    for o in outcomes {
        push.insert(o.status, o.n);
    }
    let alive = || nodes.iter().filter(|n| n.alive);
    let totals = MonitorTotals {
        sessions: alive()
            .map(|n| {
                n.transports
                    .as_object()
                    .map(|m| m.values().filter_map(Value::as_i64).sum::<i64>())
                    .unwrap_or(0)
            })
            .sum(),
        rooms: alive().map(|n| n.rooms).sum(),
        frames_per_second: alive().map(|n| n.frames_per_second).sum(),
    };
    Ok(Monitor {
        nodes,
        push,
        totals,
    })
}

fn node(row: store::NodeRow) -> Node {
    let f = &row.figures;
    let int = |k: &str| f[k].as_i64().unwrap_or(0);
    Node {
        alive: row.alive,
        sessions: f["sessions"].clone(),
        transports: f["transports"].clone(),
        rooms: int("rooms"),
        frames_per_second: f["frames_per_second"].as_f64().unwrap_or(0.0),
        slow_client_drops: int("slow_client_drops"),
        persistence_queue: int("persistence_queue"),
        bus: f["bus"].as_str().unwrap_or("memory").to_string(),
        bus_healthy: f["bus_healthy"].as_bool().unwrap_or(false),
        node: row.node,
        started_at: row.started_at,
        seen_at: row.seen_at,
    }
}
