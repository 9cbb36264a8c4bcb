//! Live updates over REST: parse, then the feature (`features/live_updates.rs`)
//! decides, stores and publishes.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::optional_json::OptionalJson;
use super::{created, resource};
use crate::auth::{Auth, MaybeAuth, Moderator, TokenUser};
use crate::db::live_updates::{NewUpdate, Review};
use crate::db::pagination::{Page, PageParams};
use crate::error::ApiError;
use crate::features::live_updates;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/live/updates/").get(list).post(create))
        .service(resource("/api/live/updates/{id}/approve/").post(approve))
        .service(resource("/api/live/updates/{id}/reject/").post(reject));
}

async fn create(
    token: TokenUser,
    state: web::Data<AppState>,
    body: web::Json<NewUpdate>,
) -> Result<HttpResponse, ApiError> {
    let update = live_updates::post(&state, token, body.into_inner()).await?;
    Ok(created(update))
}

#[derive(Deserialize, Default)]
struct ReviewBody {
    #[serde(default)]
    reason: String,
}

async fn approve(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: OptionalJson<ReviewBody>,
) -> Result<HttpResponse, ApiError> {
    let reason = body.0.map(|b| b.reason).unwrap_or_default();
    let update = live_updates::review(&state, auth.user.id, id.into_inner(), true, &reason).await?;
    Ok(HttpResponse::Ok().json(update))
}

async fn reject(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: OptionalJson<ReviewBody>,
) -> Result<HttpResponse, ApiError> {
    let reason = body.0.map(|b| b.reason).unwrap_or_default();
    let update =
        live_updates::review(&state, auth.user.id, id.into_inner(), false, &reason).await?;
    Ok(HttpResponse::Ok().json(update))
}

#[derive(Deserialize)]
struct ListFilter {
    event: Option<i64>,
    review: Option<Review>,
}

async fn list(
    auth: MaybeAuth,
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
    filter: web::Query<ListFilter>,
) -> Result<HttpResponse, ApiError> {
    let (rows, limit) = live_updates::list(
        &state,
        auth.0.as_ref(),
        filter.event,
        filter.review,
        page.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!(Page::from_rows(rows, limit, |u| u.id))))
}
