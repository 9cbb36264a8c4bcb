//! Moderator tools over HTTP: the queue of held and reported comments, the
//! log of every action, and the actions themselves (their rules are in
//! `features/moderation.rs`).

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::extract::{Auth, Moderator};
use super::optional_json::OptionalJson;
use super::{query, resource};
use crate::db::comments;
use crate::db::moderation;
use crate::db::pagination::{Page, PageParams};
use crate::error::ApiError;
use crate::features::moderation::{self as rules, Decision, MuteInput, Reason};
use crate::features::moderation::{SlowModeInput, UnmuteInput};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/moderation/queue/").get(queue))
        .service(resource("/api/moderation/actions/").get(actions))
        .service(resource("/api/moderation/comments/{id}/{decision}/").post(decide))
        .service(resource("/api/moderation/users/{id}/mute/").post(mute))
        .service(resource("/api/moderation/users/{id}/unmute/").post(unmute))
        .service(resource("/api/moderation/users/{id}/ban/").post(ban))
        .service(resource("/api/moderation/users/{id}/unban/").post(unban))
        .service(resource("/api/moderation/events/{id}/slow-mode/").post(slow_mode));
}

async fn queue(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = page.limit()?;
    let page = page.into_inner();
    let rows = query(&state.db, move |c| comments::queue(c, &page, limit)).await?;
    Ok(HttpResponse::Ok().json(json!(Page::from_rows(rows, limit, |v| v.comment.id))))
}

async fn actions(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = page.limit()?;
    let page = page.into_inner();
    let rows = query(&state.db, move |c| moderation::actions(c, &page, limit)).await?;
    Ok(HttpResponse::Ok().json(json!(Page::from_rows(rows, limit, |a| a.id))))
}

/// `POST /api/moderation/comments/{id}/{hide|delete|restore}/`.
async fn decide(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    path: web::Path<(i64, Decision)>,
    body: OptionalJson<Reason>,
) -> Result<HttpResponse, ApiError> {
    let (id, decision) = path.into_inner();
    let body = body.0.unwrap_or_default();
    let view = rules::decide(&state, auth.user.id, id, decision, body).await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn mute(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<MuteInput>,
) -> Result<HttpResponse, ApiError> {
    let answer = rules::mute(&state, &auth.user, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(answer))
}

async fn unmute(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: OptionalJson<UnmuteInput>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0.unwrap_or_default();
    let answer = rules::unmute(&state, &auth.user, id.into_inner(), body).await?;
    Ok(HttpResponse::Ok().json(answer))
}

async fn ban(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: OptionalJson<Reason>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0.unwrap_or_default();
    let answer = rules::ban(&state, &auth.user, id.into_inner(), body).await?;
    Ok(HttpResponse::Ok().json(answer))
}

async fn unban(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: OptionalJson<Reason>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0.unwrap_or_default();
    let answer = rules::unban(&state, &auth.user, id.into_inner(), body).await?;
    Ok(HttpResponse::Ok().json(answer))
}

async fn slow_mode(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<SlowModeInput>,
) -> Result<HttpResponse, ApiError> {
    let answer = rules::slow_mode(&state, auth.user.id, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(answer))
}
