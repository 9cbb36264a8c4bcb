//! Live polls over HTTP (the rules: `features/polls.rs`).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::extract::{Auth, MaybeAuth, Moderator};
use super::{created, resource};
use crate::auth::TokenUser;
use crate::db::pagination::PageParams;
use crate::error::ApiError;
use crate::features::polls::{self as rules, NewPoll};
use crate::state::AppState;
use ringside_actors::writes::Ballot;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/live/polls/").get(list).post(create))
        .service(resource("/api/live/polls/{id}/").get(detail))
        .service(resource("/api/live/polls/{id}/open/").post(open))
        .service(resource("/api/live/polls/{id}/close/").post(close))
        .service(resource("/api/live/polls/{id}/vote/").post(vote));
}

async fn create(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    body: web::Json<NewPoll>,
) -> Result<HttpResponse, ApiError> {
    Ok(created(
        rules::create(&state, auth.user.id, body.into_inner()).await?,
    ))
}

async fn open(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let poll = rules::transition(&state, id.into_inner(), "open").await?;
    Ok(HttpResponse::Ok().json(poll))
}

async fn close(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let poll = rules::transition(&state, id.into_inner(), "closed").await?;
    Ok(HttpResponse::Ok().json(poll))
}

async fn vote(
    token: TokenUser,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<Ballot>,
) -> Result<HttpResponse, ApiError> {
    let answer = rules::vote(&state, token, None, id.into_inner(), body.into_inner()).await?;
    Ok(created(answer))
}

async fn detail(
    auth: MaybeAuth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let poll = rules::detail(&state, auth.0.as_ref(), id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(poll))
}

#[derive(Deserialize)]
struct ListFilter {
    event: Option<i64>,
}

async fn list(
    auth: MaybeAuth,
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
    filter: web::Query<ListFilter>,
) -> Result<HttpResponse, ApiError> {
    let page = rules::list(&state, auth.0.as_ref(), filter.event, page.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}
