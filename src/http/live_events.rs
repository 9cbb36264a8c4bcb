//! Live events: the fight night as clients follow it. Anyone can read; admins
//! create, start, end and cancel.

use actix_web::{web, HttpResponse};
use ringside_actors::{EventAction, EventStatus};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{already_exists, created, named, query, resource};
use crate::auth::{Admin, Auth};
use crate::db::live_events::{self, NewLiveEvent, TransitionError};
use crate::db::pagination::{Page, PageParams};
use crate::db::{catalog, models::LiveEvent};
use crate::error::ApiError;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/live/events/").get(list).post(create))
        .service(resource("/api/live/events/{id}/").get(detail))
        .service(resource("/api/live/events/{id}/start/").post(start))
        .service(resource("/api/live/events/{id}/end/").post(end))
        .service(resource("/api/live/events/{id}/cancel/").post(cancel));
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
    let limit = page
        .limit()
        .map_err(|e| ApiError::invalid("limit", e.to_string()))?;
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
    let id = query(&state.db, move |c| {
        live_events::create(c, &input).map(|l| l.id)
    })
    .await
    .map_err(already_exists("this event already has a live event"))?;
    Ok(created(snapshot(&state, id).await?))
}

async fn detail(state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(snapshot(&state, id.into_inner()).await?))
}

/// The live event with its event and its card, as clients render them.
async fn snapshot(state: &AppState, id: i64) -> Result<Value, ApiError> {
    let (live, event, card) = query(&state.db, move |c| {
        let live = live_events::find(c, id)?;
        let event = catalog::find_event(c, live.event_id)?;
        let card = live_events::card(c, id)?;
        Ok((live, event, card))
    })
    .await
    .map_err(named("live event"))?;
    let fights: Vec<Value> = card
        .into_iter()
        .map(|e| {
            json!({
                "id": e.live.id,
                "fight": e.fight.id,
                "status": e.live.status,
                "current_round": e.live.current_round,
                "round_start_time": e.live.round_start_time,
                "scheduled_rounds": e.fight.scheduled_rounds,
                "card_order": e.fight.card_order,
                "is_title_fight": e.fight.is_title_fight,
                "division": e.fight.division_id,
                "red_fighter": { "id": e.fight.red_fighter_id, "name": e.red_name },
                "blue_fighter": { "id": e.fight.blue_fighter_id, "name": e.blue_name },
                "viewer_count": e.live.viewer_count,
                "live_stats": e.live.live_stats,
                "judge_scores": e.live.judge_scores,
                "started_at": e.live.started_at,
                "ended_at": e.live.ended_at,
            })
        })
        .collect();
    let mut body = serde_json::to_value(&live).map_err(|e| ApiError::Internal(e.to_string()))?;
    body["event_detail"] = json!({
        "id": event.id,
        "name": event.name,
        "venue": event.venue,
        "scheduled_start": event.scheduled_start,
    });
    body["fights"] = Value::Array(fights);
    Ok(body)
}

async fn transition(
    state: &AppState,
    id: i64,
    action: EventAction,
) -> Result<HttpResponse, ApiError> {
    let max_live = state.config.live.max_concurrent_events;
    let result: Result<LiveEvent, TransitionError> = state
        .db
        .run(move |c| Ok::<_, ApiError>(live_events::transition(c, id, action, max_live)))
        .await?;
    match result {
        Ok(live) => {
            tracing::info!(live_event = id, status = %live.status, "live event {action}");
            Ok(HttpResponse::Ok().json(snapshot(state, live.id).await?))
        }
        Err(TransitionError::Illegal(e)) => Err(ApiError::Conflict {
            code: "invalid_transition",
            message: e.to_string(),
        }),
        Err(TransitionError::TooManyLive(n)) => Err(ApiError::Conflict {
            code: "too_many_live_events",
            message: format!("{n} events are live already (MAX_CONCURRENT_EVENTS)"),
        }),
        Err(TransitionError::Db(e)) => Err(named("live event")(e.into())),
    }
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
