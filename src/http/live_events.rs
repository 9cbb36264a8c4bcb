//! Live events: the fight night as clients follow it. Anyone can read; admins
//! create, start, end and cancel.

use actix_web::{web, HttpRequest, HttpResponse};
use ringside_actors::{Channel, EventAction, EventStatus};
use serde::Deserialize;
use serde_json::Value;

use super::extract::{Admin, Auth};
use super::ws::{self, Access};
use super::{created, named, query, resource};
use crate::db::live_events::{self, NewLiveEvent};
use crate::db::pagination::{Page, PageParams};
use crate::db::snapshots;
use crate::error::ApiError;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/live/events/").get(list).post(create))
        .service(resource("/api/live/events/{id}/").get(detail).patch(update))
        .service(resource("/api/live/limits/").get(limits))
        .service(resource("/api/live/events/{id}/start/").post(start))
        .service(resource("/api/live/events/{id}/end/").post(end))
        .service(resource("/api/live/events/{id}/cancel/").post(cancel))
        .service(resource("/api/live/fights/{id}/").get(fight_detail));
}

#[derive(Deserialize)]
struct StatusFilter {
    status: Option<EventStatus>,
}

#[utoipa::path(
    get,
    path = "/api/live/events/",
    tags = ["live"],
    operation_id = "listLiveEvents",
    summary = r#"List live events"#,
    description = r#"Live event summary rows (without the card), optionally only those in one status. Public."#,
    params(
        crate::db::pagination::PageParams,
        ("status" = Option<ringside_actors::EventStatus>, Query, description = r#"Only live events in this status."#),
    ),
    responses(
        (status = 200, description = r#"A page of live events."#, body = crate::http::openapi::schemas::LiveEventPage),
        (status = 400, description = r#"`bad_request`: `limit` out of range, or a `cursor` or `status` that does not parse."#),
    )
)]
async fn list(
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
    filter: web::Query<StatusFilter>,
) -> Result<HttpResponse, ApiError> {
    let (page, status) = (page.into_inner(), filter.status);
    let limit = page.limit()?;
    let rows = query(&state.db, move |c| {
        live_events::list(c, &page, limit, status)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |r| r.id)))
}

#[utoipa::path(
    post,
    path = "/api/live/events/",
    tags = ["live"],
    operation_id = "createLiveEvent",
    summary = r#"Create an event's live coverage"#,
    description = r#"Creates the live event (status `upcoming`) for an event, with a live fight for each fight on its card, and answers its snapshot. An event has at most one live event. Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    request_body(content = crate::db::live_events::NewLiveEvent, example = json!({"event": 1, "is_featured": true, "settings": {}})),
    responses(
        (status = 201, description = r#"The created live event's snapshot."#, body = crate::http::openapi::schemas::LiveEventDetail),
        (status = 400, description = r#"`bad_request`: malformed body, `event` missing or referring to something that does not exist, or `settings` not a JSON object."#),
        (status = 409, description = r#"`already_exists`: this event already has a live event."#),
    )
)]
async fn create(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    body: web::Json<NewLiveEvent>,
) -> Result<HttpResponse, ApiError> {
    let id = crate::features::live_events::create(&state, body.into_inner()).await?;
    Ok(created(snapshot(&state, id).await?))
}

/// The live event; with `Upgrade: websocket`, a session following `event:{id}`.
#[utoipa::path(
    get,
    path = "/api/live/events/{id}/",
    tags = ["live", "websocket"],
    operation_id = "getLiveEvent",
    summary = r#"A live event's snapshot (or its WebSocket stream)"#,
    description = r#"The live event with its event and its card (in card order), as clients render them. With `Upgrade: websocket` (a WebSocket handshake) the request instead becomes a WebSocket session auto-subscribed to `event:{id}` (`101`; `?since=` resumes it, `?delta=true` asks it for delta state frames, `?token=` or the bearer header signs the session in, anonymous is fine): the `subscribed` frame's snapshot is this same JSON, and changes follow as frames. See the `websocket` tag. Without the upgrade, tokens and `since` are ignored. Public."#,
    security((), ("bearerAuth" = []), ("tokenQuery" = [])),
    responses(
        (status = 101, description = r#"Switching Protocols (with `Upgrade: websocket`): the connection is now a WebSocket session auto-subscribed to `event:{id}`; its first frame is `welcome`, then `subscribed` (or an `error` such as `room_full`). See the `websocket` tag."#),
        (status = 200, description = r#"The snapshot."#, body = crate::http::openapi::schemas::LiveEventDetail),
        (status = 400, description = r#"`bad_request` (WebSocket upgrade): a `since` that does not parse, a query string that does not parse, or a malformed handshake."#),
        (status = 401, description = r#"`unauthorized` (WebSocket upgrade): a token was sent (`?token=` or `Authorization`) but is malformed, invalid or expired."#),
        (status = 403, description = r#"`banned` (WebSocket upgrade): the token's account is banned."#),
        (status = 404, description = r#"`not_found`: live event not found (or `id` is not an integer)."#),
    )
)]
async fn detail(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    if ws::is_upgrade(&req) {
        // Only whether it exists: the room sends the snapshot.
        ws::ensure_live_event(&state, id).await?;
        return ws::connect(req, body, &state, Some(Channel::Event(id)), Access::Public).await;
    }
    Ok(HttpResponse::Ok().json(snapshot(&state, id).await?))
}

/// A live fight; with `Upgrade: websocket`, a session following `fight:{id}`.
#[utoipa::path(
    get,
    path = "/api/live/fights/{id}/",
    tags = ["live", "websocket"],
    operation_id = "getLiveFight",
    summary = r#"A live fight's snapshot (or its WebSocket stream)"#,
    description = r#"One live fight as the card shows it: status, round and clock, fighters, stats, scorecards and result. With `Upgrade: websocket` (a WebSocket handshake) the request instead becomes a WebSocket session auto-subscribed to `fight:{id}` (`101`; `?since=` resumes it, `?delta=true` asks it for delta state frames, `?token=` or the bearer header signs the session in, anonymous is fine): the `subscribed` frame's snapshot is this same JSON, and changes follow as frames. See the `websocket` tag. Without the upgrade, tokens and `since` are ignored. Public."#,
    security((), ("bearerAuth" = []), ("tokenQuery" = [])),
    responses(
        (status = 101, description = r#"Switching Protocols (with `Upgrade: websocket`): the connection is now a WebSocket session auto-subscribed to `fight:{id}`; its first frame is `welcome`, then `subscribed` (or an `error`). See the `websocket` tag."#),
        (status = 200, description = r#"The fight snapshot."#, body = crate::http::openapi::schemas::LiveFight),
        (status = 400, description = r#"`bad_request` (WebSocket upgrade): a `since` that does not parse, a query string that does not parse, or a malformed handshake."#),
        (status = 401, description = r#"`unauthorized` (WebSocket upgrade): a token was sent (`?token=` or `Authorization`) but is malformed, invalid or expired."#),
        (status = 403, description = r#"`banned` (WebSocket upgrade): the token's account is banned."#),
        (status = 404, description = r#"`not_found`: live fight not found (or `id` is not an integer)."#),
    )
)]
async fn fight_detail(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let snapshot = query(&state.db, move |c| snapshots::fight(c, id))
        .await
        .map_err(named("live fight"))?;
    if ws::is_upgrade(&req) {
        return ws::connect(req, body, &state, Some(Channel::Fight(id)), Access::Public).await;
    }
    Ok(HttpResponse::Ok().json(snapshot))
}

/// The live event with its event and its card, as clients render them.
#[utoipa::path(
    patch,
    path = "/api/live/events/{id}/",
    tags = ["live", "automation"],
    operation_id = "updateLiveEvent",
    summary = r#"Change a live event's start, featuring or settings"#,
    description = r#"Changes `start_time` (only while `upcoming`), `is_featured`, or `settings`, which are merged key by key (a key set to null is removed). The automation switches among the settings are checked (see the `automation` tag and `AutomationSettings`); setting one, or moving the start, re-arms the jobs of its kind that were cancelled or skipped, and the event's automation is planned again at once. Broadcasts `event_state` on `event:{id}`. Unknown fields are refused. Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    request_body(content = crate::features::live_events::LiveEventPatch, example = json!({"start_time": "2026-12-05T02:00:00Z", "settings": {"auto_start": true, "reminder_minutes": 30, "auto_advance": true, "advance_delay_seconds": 120, "auto_round_end": true, "auto_complete": true}})),
    responses(
        (status = 200, description = r#"The live event's snapshot after the change."#, body = crate::http::openapi::schemas::LiveEventDetail),
        (status = 400, description = r#"`bad_request`: malformed body or an unknown field, or an automation switch of the wrong type or out of range (`details` names it: `auto_start`, `auto_advance`, `auto_round_end`, `auto_poll_close`, `auto_complete` are true or false; `reminder_minutes` 1 to 10080 or null; `advance_delay_seconds` 0 to 3600)."#),
        (status = 404, description = r#"`not_found`: live event not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: `start_time` sent for a live event that is no longer `upcoming`."#),
    )
)]
async fn update(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<crate::features::live_events::LiveEventPatch>,
) -> Result<HttpResponse, ApiError> {
    let live =
        crate::features::live_events::update(&state, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(snapshot(&state, live.id).await?))
}

#[utoipa::path(
    get,
    path = "/api/live/limits/",
    tags = ["live"],
    operation_id = "getLiveLimits",
    summary = r#"The server's live limits"#,
    description = r#"The seed's live limits as this server applies them (each is its configuration variable, upper-cased): how many live events may be live at once (`MAX_CONCURRENT_EVENTS`; past it a start answers 409 `too_many_live_events`), viewers per event, connections per user, the largest WebSocket message, the heartbeat and connection timeout in seconds, and comments per minute per user. Public."#,
    responses(
        (status = 200, description = r#"The limits."#, body = crate::http::openapi::schemas::LiveLimits, example = json!({"max_concurrent_events": 10, "max_viewers_per_event": 10000, "max_connections_per_user": 5, "max_message_size": 4096, "heartbeat_interval_s": 30, "connection_timeout_s": 300, "comment_rate_limit": 10})),
    )
)]
async fn limits(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(crate::features::live_events::limits(&state))
}

async fn snapshot(state: &AppState, id: i64) -> Result<Value, ApiError> {
    query(&state.db, move |c| snapshots::event(c, id))
        .await
        .map_err(named("live event"))
}

async fn transition(
    state: &AppState,
    id: i64,
    action: EventAction,
) -> Result<HttpResponse, ApiError> {
    let live = crate::features::live_events::transition(state, id, action).await?;
    Ok(HttpResponse::Ok().json(snapshot(state, live.id).await?))
}

#[utoipa::path(
    post,
    path = "/api/live/events/{id}/start/",
    tags = ["live"],
    operation_id = "startLiveEvent",
    summary = r#"Start a live event"#,
    description = r#"Moves an `upcoming` live event to `live` and sets its `start_time` to now. At most `MAX_CONCURRENT_EVENTS` (server setting, default 10) live events can be live at once. No request body. Broadcasts `event_state` (`{id, status, current_fight, start_time, end_time}`) on `event:{id}`. Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    responses(
        (status = 200, description = r#"The live event's snapshot after the transition."#, body = crate::http::openapi::schemas::LiveEventDetail),
        (status = 404, description = r#"`not_found`: live event not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the live event is not `upcoming`; `too_many_live_events`: the cap on concurrently live events is reached."#),
    )
)]
async fn start(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    transition(&state, id.into_inner(), EventAction::Start).await
}

#[utoipa::path(
    post,
    path = "/api/live/events/{id}/end/",
    tags = ["live"],
    operation_id = "endLiveEvent",
    summary = r#"End a live event"#,
    description = r#"Moves a `live` live event to `completed` and sets its `end_time` to now. No request body. Broadcasts `event_state` (`{id, status, current_fight, start_time, end_time}`) on `event:{id}`. Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    responses(
        (status = 200, description = r#"The live event's snapshot after the transition."#, body = crate::http::openapi::schemas::LiveEventDetail),
        (status = 404, description = r#"`not_found`: live event not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the live event is not `live`."#),
    )
)]
async fn end(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    transition(&state, id.into_inner(), EventAction::End).await
}

#[utoipa::path(
    post,
    path = "/api/live/events/{id}/cancel/",
    tags = ["live"],
    operation_id = "cancelLiveEvent",
    summary = r#"Cancel a live event"#,
    description = r#"Moves an `upcoming` or `live` live event to `cancelled` (a live one also gets its `end_time` set to now); its upcoming and live fights become `cancelled`. No request body. Broadcasts `event_state` (`{id, status, current_fight, start_time, end_time}`) on `event:{id}`. Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    responses(
        (status = 200, description = r#"The live event's snapshot after the transition."#, body = crate::http::openapi::schemas::LiveEventDetail),
        (status = 404, description = r#"`not_found`: live event not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the live event is already `completed` or `cancelled`."#),
    )
)]
async fn cancel(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    transition(&state, id.into_inner(), EventAction::Cancel).await
}
