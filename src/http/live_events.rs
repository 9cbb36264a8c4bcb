//! Live events: the fight night as clients follow it. Anyone can read; admins
//! create, start, end and cancel.

use actix_web::{web, HttpRequest, HttpResponse};
use ringside_actors::{Channel, EventAction, EventStatus};
use serde::Deserialize;
use serde_json::Value;

use super::ws::{self, Access};
use super::{already_exists, created, named, query, resource};
use crate::auth::{Admin, Auth};
use crate::db::live_events::{self, NewLiveEvent};
use crate::db::pagination::{Page, PageParams};
use crate::db::snapshots;
use crate::error::ApiError;
use crate::state::AppState;
use crate::validate;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/live/events/").get(list).post(create))
        .service(resource("/api/live/events/{id}/").get(detail))
        .service(resource("/api/live/events/{id}/start/").post(start))
        .service(resource("/api/live/events/{id}/end/").post(end))
        .service(resource("/api/live/events/{id}/cancel/").post(cancel))
        .service(resource("/api/live/fights/{id}/").get(fight_detail));
}

#[derive(Deserialize)]
struct StatusFilter {
    status: Option<EventStatus>,
}

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

async fn create(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    body: web::Json<NewLiveEvent>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner();
    if !matches!(input.settings, None | Some(Value::Object(_))) {
        return Err(ApiError::invalid("settings", "must be a JSON object"));
    }
    if let Some(settings) = &input.settings {
        validate::json("settings", settings)?;
    }
    let id = query(&state.db, move |c| {
        live_events::create(c, &input).map(|l| l.id)
    })
    .await
    .map_err(already_exists("this event already has a live event"))?;
    Ok(created(snapshot(&state, id).await?))
}

/// The live event; with `Upgrade: websocket`, a session following `event:{id}`.
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

async fn start(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    transition(&state, id.into_inner(), EventAction::Start).await
}

async fn end(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    transition(&state, id.into_inner(), EventAction::End).await
}

async fn cancel(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    transition(&state, id.into_inner(), EventAction::Cancel).await
}
