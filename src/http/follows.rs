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

#[utoipa::path(
    post,
    path = "/api/follows/",
    tags = ["engagement"],
    operation_id = "createFollow",
    summary = r#"Follow a fighter or an event"#,
    description = r#"Follows a fighter or an event (a catalog event's id, not a live event's); push notifications can target followers. Following again is not an error: it answers the existing follow with `200`. A new follow is logged in the caller's activity (`follow`). Unknown fields are refused. Requires role: `viewer` (any signed-in user); only the token is checked up front, the account is loaded in the write's transaction."#,
    security(("bearerAuth" = ["viewer"])),
    request_body(content = Target, example = json!({"target_type": "fighter", "target_id": 3})),
    responses(
        (status = 200, description = r#"Already followed: the existing follow."#, body = crate::db::follows::Follow),
        (status = 201, description = r#"The new follow."#, body = crate::db::follows::Follow),
        (status = 400, description = r#"`bad_request`: malformed body or an unknown field, `target_type` not `fighter` or `event`, or `target_id` refers to something that does not exist; `details` names the field."#),
        (status = 401, description = r#"`unauthorized`: no token, or a malformed, invalid or expired one (or its account no longer exists)."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
    )
)]
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

#[utoipa::path(
    delete,
    path = "/api/follows/{target_type}/{target_id}/",
    tags = ["engagement"],
    operation_id = "deleteFollow",
    summary = r#"Unfollow a fighter or an event"#,
    description = r#"Removes the caller's follow of this fighter or event. Requires role: `viewer` (any signed-in user)."#,
    params(
        ("target_type" = ringside_actors::vocabulary::FollowTarget, Path, description = r#"`fighter` or `event`; anything else answers 400 `bad_request`."#),
        ("target_id" = i64, Path, description = r#"The followed fighter's or event's id. A value that is not an integer answers 404 `not_found`."#),
    ),
    security(("bearerAuth" = ["viewer"])),
    responses(
        (status = 204, description = r#"Unfollowed; no body."#),
        (status = 400, description = r#"`bad_request`: `target_type` not `fighter` or `event` (`details` names it)."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
        (status = 404, description = r#"`not_found`: the caller does not follow this (or `target_id` is not an integer)."#),
    )
)]
async fn unfollow(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (target_type, target_id) = path.into_inner();
    rules::unfollow(&state, auth.user.id, &target_type, target_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    get,
    path = "/api/follows/",
    tags = ["engagement"],
    operation_id = "listFollows",
    summary = r#"The caller's follows"#,
    description = r#"The fighters and events the caller follows. Requires role: `viewer` (any signed-in user)."#,
    params(
        crate::db::pagination::PageParams,
    ),
    security(("bearerAuth" = ["viewer"])),
    responses(
        (status = 200, description = r#"A page of follows."#, body = crate::http::openapi::schemas::FollowPage),
        (status = 400, description = r#"`bad_request`: `limit` out of range, or a `cursor` that does not parse."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
    )
)]
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
#[utoipa::path(
    post,
    path = "/api/activity/",
    tags = ["engagement"],
    operation_id = "recordActivity",
    summary = r#"Report a view or a share"#,
    description = r#"Records a view or a share in the caller's activity log, with an optional target (`target_type` and `target_id`, both or neither; not checked to exist), the client's own session id (its first 64 characters are kept) and free-form `metadata`. Clients report only these two; comments, likes and other reactions, votes and follows are logged by those writes themselves. Stored in batches through the shared writer and answered once stored. Unknown fields are refused. Requires role: `viewer` (any signed-in user); only the token is checked up front, the account is loaded in the write's transaction."#,
    security(("bearerAuth" = ["viewer"])),
    request_body(content = ActivityInput, example = json!({"activity_type": "view", "target_type": "event", "target_id": 1, "session_id": "b7f3c2", "metadata": {"screen": "card"}})),
    responses(
        (status = 202, description = r#"Recorded."#, body = crate::http::openapi::schemas::ActivityRecorded, example = json!({"recorded": true})),
        (status = 400, description = r#"`bad_request`: malformed body or an unknown field, or a field failed validation; `details` names the field: `activity_type` (not `view` or `share`), `target_type` (given without `target_id` or the other way round, or not one of `event`, `fight`, `fighter`, `update`, `comment`, `article`), `metadata` (not a JSON object, or over 4 KiB as JSON)."#),
        (status = 401, description = r#"`unauthorized`: no token, or a malformed, invalid or expired one (or its account no longer exists)."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
    )
)]
async fn record(
    token: TokenUser,
    state: web::Data<AppState>,
    body: web::Json<ActivityInput>,
) -> Result<HttpResponse, ApiError> {
    rules::record(&state, token, body.into_inner()).await?;
    Ok(HttpResponse::Accepted().json(json!({ "recorded": true })))
}

/// The signed-in user's own activity, newest first.
#[utoipa::path(
    get,
    path = "/api/activity/",
    tags = ["engagement"],
    operation_id = "listActivity",
    summary = r#"The caller's activity"#,
    description = r#"The caller's activity log, newest first; the next page (`cursor` from `next_cursor`, the last id seen) holds older entries. Views and shares are what the client reported; comments, likes and other reactions, votes and follows were logged by those writes themselves (see the `Activity` schema for their targets). Requires role: `viewer` (any signed-in user)."#,
    params(
        crate::db::pagination::PageParams,
    ),
    security(("bearerAuth" = ["viewer"])),
    responses(
        (status = 200, description = r#"A page of activity, newest first."#, body = crate::http::openapi::schemas::ActivityPage),
        (status = 400, description = r#"`bad_request`: `limit` out of range, or a `cursor` that does not parse."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
    )
)]
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
