//! The admin's side of notifications: bulk sends to an audience, the
//! emergency broadcast (every session, every device, quiet hours or not)
//! and delivery analytics per campaign.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::extract::{Admin, Auth};
use super::resource;
use crate::db::notifications;
use crate::db::pagination::{Page, PageParams};
use crate::error::ApiError;
use crate::features::notifications::admin::{self, BroadcastInput, SendInput};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/notifications/send/").post(send))
        .service(resource("/api/notifications/preview/").post(preview))
        .service(resource("/api/notifications/analytics/").get(analytics))
        .service(resource("/api/admin/broadcast/").post(broadcast));
}

/// Sends one notification to an audience; 202 with the campaign id once
/// everything is stored and queued.
#[utoipa::path(
    post,
    path = "/api/notifications/send/",
    tags = ["notifications"],
    operation_id = "sendNotification",
    summary = r#"Send a notification to an audience"#,
    description = r#"Sends one notification (a new campaign, `source` `send`) to an audience: everyone (`all`), the followers of a catalog event (`event_followers`) or of a fighter (`fighter_followers`), or listed users (`users`: 1 to 10000 ids; duplicates and unknown ids are ignored). `{user}` in `title` or `message` is replaced by each recipient's display name. The recipients are the audience minus banned users and minus those whose preference switch for the type is off (`system` has no switch); for `all` and `users`, also minus users with `followed_only` (except for `system` and `user_activity`). Each recipient gets a stored notification (a live `notification` frame on `user:{id}`), and each of their active devices whose platform has a provider a queued push (`push_enabled` and quiet hours honoured). Everything is committed before the answer; pushes go out after it. `emergency` is refused: use `POST /api/admin/broadcast/`. Unknown fields are refused. Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    request_body(content = crate::features::notifications::admin::SendInput, example = json!({"audience": {"kind": "fighter_followers", "fighter": 7}, "notification_type": "system", "title": "Fight week", "message": "{user}, open workouts start tomorrow at noon.", "action_url": "/fighters/7", "data": {"fighter": 7}})),
    responses(
        (status = 202, description = r#"Stored and queued."#, body = crate::http::openapi::schemas::SendResult, example = json!({"id": 12, "recipients": 340, "deliveries": 512})),
        (status = 400, description = r#"`bad_request`: malformed body, an unknown field, a field missing or of the wrong type, or an unknown `audience.kind` (`details`: `{line, column}`); or a field failed validation, named in `details`: `notification_type` (not one of `fight_result`, `breaking_news`, `ranking_change`, `event_start`, `user_activity`, `system`; `emergency` included), `title` (not 1 to 200 characters after trimming), `message` (not 1 to 2000), `action_url` (not 1 to 500), `data` (not a JSON object, or over 2048 bytes as JSON), `audience.users` (not 1 to 10000 distinct ids)."#),
        (status = 404, description = r#"`not_found`: the event of an `event_followers` audience, or the fighter of a `fighter_followers` one, does not exist (`event not found`, `fighter not found`)."#),
    )
)]
async fn send(
    auth: Auth<Admin>,
    state: web::Data<AppState>,
    body: web::Json<SendInput>,
) -> Result<HttpResponse, ApiError> {
    let sent = admin::send(&state, auth.user.id, body.into_inner()).await?;
    Ok(HttpResponse::Accepted().json(sent))
}

#[utoipa::path(
    post,
    path = "/api/notifications/preview/",
    tags = ["notifications"],
    operation_id = "previewNotification",
    summary = r#"Preview a send: its audience and a filled template"#,
    description = r#"Checks a send exactly as `POST /api/notifications/send/` does and sends nothing: answers how many users the audience reaches now (preferences applied, as the send would) and the notification as the first of them would get it, `{user}` filled with their display name (`sample.user` null when nobody is reached). Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    request_body(content = crate::features::notifications::admin::SendInput, example = json!({"audience": {"kind": "event_followers", "event": 3}, "notification_type": "system", "title": "Doors open", "message": "{user}, doors open at 6pm.", "action_url": "/events/3"})),
    responses(
        (status = 200, description = r#"`{"audience_size", "sample": {"user": {"id", "display_name"} | null, "title", "message", "action_url"}}`."#, body = crate::http::openapi::schemas::SendPreview, example = json!({"audience_size": 340, "sample": {"user": {"id": 8, "display_name": "Ana"}, "title": "Doors open", "message": "Ana, doors open at 6pm.", "action_url": "/events/3"}})),
        (status = 400, description = r#"`bad_request`: as for `POST /api/notifications/send/`."#),
        (status = 404, description = r#"`not_found`: the event or fighter of a followers audience does not exist."#),
    )
)]
async fn preview(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    body: web::Json<SendInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(admin::preview(&state, body.into_inner()).await?))
}

/// The emergency broadcast: every session on every node and every device.
#[utoipa::path(
    post,
    path = "/api/admin/broadcast/",
    tags = ["notifications"],
    operation_id = "emergencyBroadcast",
    summary = r#"Emergency broadcast"#,
    description = r#"The emergency broadcast (a new campaign, `source` `broadcast`). A `broadcast` frame `{"type": "broadcast", "data": {id, title, message, action_url, created_at}}` (no `channel`, no `seq`) goes at once to every connected WebSocket session on every node, whatever it follows (see the `websocket` tag), and a push (priority high, type `emergency`) is queued for every active device whose platform has a provider, bypassing quiet hours and `push_enabled`. It is stored as one notification with `recipient` null and `notification_type` `emergency` (not listed by users' `GET /api/notifications/`). `title` and `message` are taken as they are, without `{user}` replacement. Unknown fields are refused. Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    request_body(content = crate::features::notifications::admin::BroadcastInput, example = json!({"title": "Evacuate the arena", "message": "Please leave by the nearest exit and follow staff instructions.", "action_url": "/live/events/3"})),
    responses(
        (status = 202, description = r#"Stored, sent to this node's sessions (and published to the other nodes), and the pushes queued."#, body = crate::http::openapi::schemas::BroadcastResult, example = json!({"id": 13, "notification": 9001, "sessions": 1830, "deliveries": 4210})),
        (status = 400, description = r#"`bad_request`: malformed body, an unknown field, or a field missing or of the wrong type (`details`: `{line, column}`); or a field failed validation, named in `details`: `title` (not 1 to 200 characters after trimming), `message` (not 1 to 2000), `action_url` (not 1 to 500)."#),
    )
)]
async fn broadcast(
    auth: Auth<Admin>,
    state: web::Data<AppState>,
    body: web::Json<BroadcastInput>,
) -> Result<HttpResponse, ApiError> {
    let sent = admin::broadcast(&state, auth.user.id, body.into_inner()).await?;
    Ok(HttpResponse::Accepted().json(sent))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalyticsFilter {
    #[serde(default)]
    campaign: Option<i64>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    cursor: Option<crate::db::pagination::Cursor>,
}

/// Campaigns newest first with their delivery counts and latencies; one
/// campaign with `?campaign=`.
#[utoipa::path(
    get,
    path = "/api/notifications/analytics/",
    tags = ["notifications"],
    operation_id = "notificationAnalytics",
    summary = r#"Delivery analytics per campaign"#,
    description = r#"Campaigns (trigger firings, sends and broadcasts), newest first, each with its delivery counts and latencies (`CampaignStats`); the next page (`cursor` from `next_cursor`) holds older ones. With `?campaign=` the answer is that one campaign's `CampaignStats` instead of a page. Unknown query parameters are refused. Requires role: `admin`."#,
    params(
        ("campaign" = Option<i64>, Query, description = r#"Only this campaign: the answer is its `CampaignStats` (not a page), or 404 `not_found`."#),
        crate::db::pagination::PageParams,
    ),
    security(("bearerAuth" = ["admin"])),
    responses(
        (status = 200, description = r#"A page of campaigns, newest first; with `campaign`, that campaign alone."#, body = crate::http::openapi::schemas::Analytics),
        (status = 400, description = r#"`bad_request`: `limit` out of range, a `cursor` that does not parse, `campaign` not an integer, or an unknown query parameter."#),
        (status = 404, description = r#"`not_found`: with `campaign`, no such campaign (`campaign not found`)."#),
    )
)]
async fn analytics(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    filter: web::Query<AnalyticsFilter>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter.into_inner();
    let page = PageParams {
        limit: filter.limit,
        cursor: filter.cursor,
    };
    let limit = page.limit()?;
    let only = filter.campaign;
    let rows = state
        .db
        .run(move |c| notifications::campaign_stats(c, only, &page, limit).map_err(ApiError::from))
        .await?;
    match only {
        Some(_) => {
            let one = rows
                .into_iter()
                .next()
                .ok_or_else(|| ApiError::not_found("campaign"))?;
            Ok(HttpResponse::Ok().json(one))
        }
        None => Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |s| s.id))),
    }
}
