//! Live updates over REST: parse, then the feature (`features/live_updates.rs`)
//! decides, stores and publishes.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::extract::{Auth, MaybeAuth, Moderator};
use super::optional_json::OptionalJson;
use super::{created, resource};
use crate::auth::TokenUser;
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

#[utoipa::path(
    post,
    path = "/api/live/updates/",
    tags = ["live-updates"],
    operation_id = "createLiveUpdate",
    summary = r#"Post a live update"#,
    description = r#"A reporter's update is stored unverified (`is_verified` false, `seq` null) and is not broadcast until a moderator approves it. A moderator's or admin's is verified at once, numbered on `event:{live_event}` (`seq`) and broadcast as `update` on `event:{live_event}`, on `fight:{live_fight}` when it names a fight, and on `news` when `is_breaking`. Requires role: `reporter`."#,
    security(("bearerAuth" = ["reporter"])),
    request_body(content = crate::db::live_updates::NewUpdate, example = json!({"live_event": 1, "live_fight": 3, "update_type": "news", "title": "Okafor's corner calls for ice between rounds", "round_number": 2, "is_breaking": false})),
    responses(
        (status = 201, description = r#"The stored update."#, body = crate::db::models::LiveUpdate),
        (status = 400, description = r#"`bad_request`: malformed body, or a field failed validation (`update_type` not `news`: the other types are written by fight control as the fight happens; `title` not 1 to 200 characters, `description` over 5000 characters, `round_number` not 1 to 5, `data` not a JSON object or over 16 KiB), `live_event` referring to something that does not exist, `live_fight` not a fight of this live event, or `media` referring to something that does not exist; `details` names the field."#),
        (status = 409, description = r#"`invalid_transition`: the live event is `completed` or `cancelled`."#),
    )
)]
async fn create(
    token: TokenUser,
    state: web::Data<AppState>,
    body: web::Json<NewUpdate>,
) -> Result<HttpResponse, ApiError> {
    let update = live_updates::post(&state, token, body.into_inner()).await?;
    Ok(created(update))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[schema(as = LiveUpdateReview, description = r#"Optional. A body that is absent or cannot be read counts as no reason."#)]
struct ReviewBody {
    #[serde(default)]
    /// Kept in the moderation log.
    #[schema(default = json!(""))]
    reason: String,
}

#[utoipa::path(
    post,
    path = "/api/live/updates/{id}/approve/",
    tags = ["live-updates"],
    operation_id = "approveLiveUpdate",
    summary = r#"Approve a pending live update"#,
    description = r#"Verifies a pending update (`reviewed_by`, `reviewed_at` set), numbers it on `event:{live_event}` (`seq`) and broadcasts it as `update` on `event:{live_event}`, on `fight:{live_fight}` when it names a fight, and on `news` when breaking. The optional body's `reason` goes to the moderation log. Requires role: `moderator`. The body may be left out (empty); a body that is sent must be valid JSON (400 otherwise, 415 for another content type)."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = Option<ReviewBody>, example = json!({"reason": "confirmed by the cage-side reporter"})),
    responses(
        (status = 200, description = r#"The update after the review."#, body = crate::db::models::LiveUpdate),
        (status = 404, description = r#"`not_found`: live update not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: this update was already approved or rejected (or posted verified)."#),
    )
)]
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

#[utoipa::path(
    post,
    path = "/api/live/updates/{id}/reject/",
    tags = ["live-updates"],
    operation_id = "rejectLiveUpdate",
    summary = r#"Reject a pending live update"#,
    description = r#"Marks a pending update `rejected` (`reviewed_by`, `reviewed_at` set). It is never broadcast; moderators still see it with `review=rejected`. The optional body's `reason` goes to the moderation log. Requires role: `moderator`. The body may be left out (empty); a body that is sent must be valid JSON (400 otherwise, 415 for another content type)."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = Option<ReviewBody>, example = json!({"reason": "confirmed by the cage-side reporter"})),
    responses(
        (status = 200, description = r#"The update after the review."#, body = crate::db::models::LiveUpdate),
        (status = 404, description = r#"`not_found`: live update not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: this update was already approved or rejected (or posted verified)."#),
    )
)]
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

#[utoipa::path(
    get,
    path = "/api/live/updates/",
    tags = ["live-updates"],
    operation_id = "listLiveUpdates",
    summary = r#"List live updates"#,
    description = r#"Verified updates by default, optionally of one live event. Public; `review=pending` and `review=rejected` need the `moderator` role."#,
    params(
        crate::db::pagination::PageParams,
        ("event" = Option<i64>, Query, description = r#"Only the updates of this live event (id)."#),
        ("review" = Option<crate::db::live_updates::Review>, Query, description = r#"`verified` (posted by a moderator or admin, or approved), `pending` (a reporter's, awaiting review) or `rejected`. `pending` and `rejected` need the `moderator` role."#),
    ),
    security((), ("bearerAuth" = [])),
    responses(
        (status = 200, description = r#"A page of live updates."#, body = crate::http::openapi::schemas::LiveUpdatePage),
        (status = 400, description = r#"`bad_request`: `limit` out of range, or a `cursor`, `event` or `review` that does not parse."#),
        (status = 401, description = r#"`unauthorized`: a token was sent but is malformed, invalid or expired."#),
        (status = 403, description = r#"`forbidden`: `review=pending` or `review=rejected` without the `moderator` role; `banned`: the account is banned."#),
    )
)]
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
