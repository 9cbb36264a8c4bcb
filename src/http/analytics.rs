//! Live analytics and the cluster monitor over HTTP (the figures:
//! `features/analytics.rs`): `GET /api/live/analytics/` as JSON or CSV, and
//! `GET /api/admin/monitor/`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::extract::{Admin, Auth, Moderator};
use super::resource;
use crate::error::ApiError;
use crate::features::analytics::{self as figures, AllEvents, EventAnalytics};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/live/analytics/").get(analytics))
        .service(resource("/api/admin/monitor/").get(monitor));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Filter {
    #[serde(default)]
    event: Option<i64>,
    #[serde(default)]
    format: Option<String>,
}

/// One live event's analytics, or every live event's with totals.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[schema(as = LiveAnalyticsAnswer)]
enum Answer {
    /// With `event`.
    One(Box<EventAnalytics>),
    /// Without: every live event now.
    All(AllEvents),
}

#[utoipa::path(
    get,
    path = "/api/live/analytics/",
    tags = ["analytics"],
    operation_id = "liveAnalytics",
    summary = r#"Live analytics of an event, or of every live event"#,
    description = r#"With `?event=` (a live event's id, any status: a past night stays) that event's figures (`EventAnalytics`): viewers now, their peak and per minute (each node keeps the most it saw in a minute, summed over the nodes); durable messages published on `event:{id}`, `comments:{id}` and the event's `fight:{id}` channels, per minute and by frame type; comments accepted per minute and refused by error code; reactions by type; its polls' votes; distinct engaged users (commented, reacted or voted); push for the notifications about the event (queued per device, accepted by a provider, opened). Every `t` is the start of a UTC minute; series are ascending and omit minutes without data. Counters reach PostgreSQL every `ANALYTICS_FLUSH_INTERVAL` (default 10 s) from each node, so the latest seconds may not show yet; polls, engaged users and push are read as they are. With `format=csv` the same night as `text/csv` (a download): the header `minute,viewers,messages,comments,comments_refused,reactions`, then one row per minute. Without `event`, every live event that is live now (`LiveAnalytics`), with totals. Unknown query parameters are refused. Requires role: `moderator`."#,
    params(
        ("event" = Option<i64>, Query, description = r#"The live event's id; without it, every live event now."#),
        ("format" = Option<String>, Query, description = r#"`json` (the default) or `csv` (needs `event`)."#),
    ),
    security(("bearerAuth" = ["moderator"])),
    responses(
        (status = 200, description = r#"The figures; with `format=csv`, the CSV export with `Content-Disposition: attachment`."#,
            content(
                (Answer = "application/json", example = json!({"event": 7, "viewers": {"current": 120, "peak": 150, "series": [{"t": "2026-12-01T17:00:00Z", "count": 118}]}, "messages": {"total": 60, "per_minute": [{"t": "2026-12-01T17:00:00Z", "count": 60}], "by_type": {"update": 20, "fight_state": 40}}, "comments": {"total": 12, "per_minute": [{"t": "2026-12-01T17:00:00Z", "count": 12}], "refused": {"rate_limited": 3, "slow_mode": 2}}, "reactions": {"total": 50, "by_type": {"like": 30, "wow": 20}}, "polls": [{"id": 3, "question": "Who wins?", "votes": 40}], "engaged_users": 61, "push": {"targeted": 100, "sent": 95, "opened": 12}})),
                (String = "text/csv", example = json!("minute,viewers,messages,comments,comments_refused,reactions\n2026-12-01T17:00:00Z,118,60,12,5,50\n")),
            )
        ),
        (status = 400, description = r#"`bad_request`: `event` not an integer, `format` not `json` or `csv`, `format=csv` without `event`, or an unknown query parameter."#),
        (status = 404, description = r#"`not_found`: no such live event (`live event not found`)."#),
    )
)]
async fn analytics(
    _: Auth<Moderator>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // Read after the role check: a caller without one hears 401/403 first.
    let filter = web::Query::<Filter>::from_query(req.query_string())
        .map_err(|e| ApiError::bad_request(format!("query string: {e}")))?
        .into_inner();
    let csv = match filter.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::invalid("format", "must be json or csv")),
    };
    match (filter.event, csv) {
        (Some(event), false) => Ok(
            HttpResponse::Ok().json(Answer::One(Box::new(figures::event(&state, event).await?)))
        ),
        (Some(event), true) => {
            let night = figures::event(&state, event).await?;
            Ok(HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header((
                    actix_web::http::header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"live-event-{event}-analytics.csv\""),
                ))
                .body(figures::csv(&night)))
        }
        (None, false) => Ok(HttpResponse::Ok().json(Answer::All(figures::live_now(&state).await?))),
        (None, true) => Err(ApiError::invalid("format", "csv needs event")),
    }
}

#[utoipa::path(
    get,
    path = "/api/admin/monitor/",
    tags = ["analytics"],
    operation_id = "clusterMonitor",
    summary = r#"The cluster monitor"#,
    description = r#"Every node as it last described itself (each writes its row every few seconds: at most 5 s apart, sooner with a shorter `ANALYTICS_FLUSH_INTERVAL`): live sessions by kind (the channel kind of the endpoint or first channel, as `ringside_ws_sessions` labels it) and by transport, rooms, frames sent per second since its previous row, slow-client drops (close 4001) since it started, durable writes waiting in its persistence queues, the bus (`redis` or `memory`) and whether it hears the other nodes. A node not seen for 15 s is `alive: false` (nodes not seen for a day are forgotten). `push` is the outbox by delivery status; `totals` sum the nodes alive. Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    responses(
        (status = 200, description = r#"The nodes, the push outbox and totals."#, body = crate::features::analytics::Monitor, example = json!({"nodes": [{"node": "host-1234", "started_at": "2026-12-01T16:00:00Z", "seen_at": "2026-12-01T17:00:03Z", "alive": true, "sessions": {"event": 10, "comments": 3}, "transports": {"websocket": 12, "sse": 1, "poll": 0}, "rooms": 5, "frames_per_second": 40.5, "slow_client_drops": 0, "persistence_queue": 0, "bus": "redis", "bus_healthy": true}], "push": {"pending": 0, "in_flight": 0, "sent": 10, "failed": 0, "invalid_token": 1, "expired": 0}, "totals": {"sessions": 13, "rooms": 5, "frames_per_second": 40.5}})),
    )
)]
async fn monitor(_: Auth<Admin>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(figures::monitor(&state).await?))
}
