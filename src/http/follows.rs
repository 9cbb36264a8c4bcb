//! Follows and the activity log over HTTP (the rules: `features/follows.rs`).

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::extract::{Auth, Viewer};
use super::{created, resource};
use crate::auth::TokenUser;
use crate::db::pagination::{Page, PageParams};
use crate::db::{activity, follows};
use crate::error::ApiError;
use crate::features::follows::{self as rules, ActivityInput, Target};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/follows/").get(list).post(follow))
        .service(resource("/api/follows/{target_type}/{target_id}/").delete(unfollow))
        .service(resource("/api/activity/").get(my_activity).post(record));
}

async fn follow(
    token: TokenUser,
    state: web::Data<AppState>,
    body: web::Json<Target>,
) -> Result<HttpResponse, ApiError> {
    let (follow, new) = rules::follow(&state, token, body.into_inner()).await?;
    Ok(if new {
        created(follow)
    } else {
        HttpResponse::Ok().json(follow)
    })
}

async fn unfollow(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (target_type, target_id) = path.into_inner();
    rules::unfollow(&state, auth.user.id, &target_type, target_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn list(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = page.limit()?;
    let (page, user) = (page.into_inner(), auth.user.id);
    let rows = state
        .db
        .run(move |c| follows::list(c, user, &page, limit).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Ok().json(json!(Page::from_rows(rows, limit, |f| f.id))))
}

/// Views and shares, as clients report them; stored in batches.
async fn record(
    token: TokenUser,
    state: web::Data<AppState>,
    body: web::Json<ActivityInput>,
) -> Result<HttpResponse, ApiError> {
    rules::record(&state, token, body.into_inner()).await?;
    Ok(HttpResponse::Accepted().json(json!({ "recorded": true })))
}

/// The signed-in user's own activity, newest first.
async fn my_activity(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = page.limit()?;
    let (page, user) = (page.into_inner(), auth.user.id);
    let rows = state
        .db
        .run(move |c| activity::of_user(c, user, &page, limit).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Ok().json(json!(Page::from_rows(rows, limit, |r| r.id))))
}
