//! Fight control over HTTP (the rules: `features/fight_control.rs`).

use actix_web::{web, HttpResponse};
use ringside_actors::fight::{FightResult, FightState};

use super::extract::{Auth, Moderator};
use super::resource;
use crate::error::ApiError;
use crate::features::fight_control::{self as rules, RoundInput, ScoreInput, StatsInput};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/live/fights/{id}/start/").post(start))
        .service(resource("/api/live/fights/{id}/rounds/start/").post(start_round))
        .service(resource("/api/live/fights/{id}/rounds/end/").post(end_round))
        .service(resource("/api/live/fights/{id}/stats/").post(stats))
        .service(resource("/api/live/fights/{id}/scores/").post(scores))
        .service(resource("/api/live/fights/{id}/result/").post(result));
}

async fn start(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(rules::start(&state, id.into_inner()).await?))
}

async fn start_round(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<RoundInput>,
) -> Result<HttpResponse, ApiError> {
    let step = FightState::start_round;
    let fight = rules::change_round(&state, id.into_inner(), body.round, step).await?;
    Ok(HttpResponse::Ok().json(fight))
}

async fn end_round(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<RoundInput>,
) -> Result<HttpResponse, ApiError> {
    let step = FightState::end_round;
    let fight = rules::change_round(&state, id.into_inner(), body.round, step).await?;
    Ok(HttpResponse::Ok().json(fight))
}

async fn stats(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<StatsInput>,
) -> Result<HttpResponse, ApiError> {
    let fight = rules::stats(&state, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(fight))
}

async fn scores(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<ScoreInput>,
) -> Result<HttpResponse, ApiError> {
    let fight = rules::score(&state, auth.user.id, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(fight))
}

async fn result(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<FightResult>,
) -> Result<HttpResponse, ApiError> {
    let fight = rules::result(&state, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(fight))
}
