//! Reactions over REST (the same path as the WebSocket `react` op), and a
//! target's current totals.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{created, query, resource};
use crate::auth::TokenUser;
use crate::db::reactions;
use crate::error::ApiError;
use crate::features::reactions::react;
use crate::state::AppState;
use ringside_actors::vocabulary::ReactionTarget;
use ringside_actors::writes::ReactionInput;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/live/reactions/").get(totals).post(create));
}

#[utoipa::path(
    post,
    path = "/api/live/reactions/",
    tags = ["engagement"],
    operation_id = "createReaction",
    summary = r#"React to an update, comment, fight or event"#,
    description = r#"Adds a reaction to a verified live update, a shown comment, a live fight or a live event. Every reaction counts (reacting again adds another); a `like` on a comment also adds one to its `like_count`. The target's totals then go out as an ephemeral `reactions` frame on its channels, at most one per target per `REACTION_INTERVAL_MS` (default 250) and read from storage (see the `websocket` tag). The same operation is the WebSocket `react` op. Unknown fields are refused. Rate-limited per user: `REACTION_RATE_LIMIT` reactions a second (default 5, burst twice that). Logged in the caller's activity (`like` for a like, `react` for the others). Requires role: `viewer` (any signed-in user); only the token is checked up front, the account is loaded in the write's transaction."#,
    security(("bearerAuth" = ["viewer"])),
    request_body(content = ringside_actors::writes::ReactionInput, example = json!({"target_type": "fight", "target_id": 7, "reaction_type": "wow"})),
    responses(
        (status = 201, description = r#"The reaction was stored."#, body = crate::http::openapi::schemas::ReactionResult),
        (status = 400, description = r#"`bad_request`: malformed body or an unknown field, or a field failed validation; `details` names the field: `target_type` (not one of `update`, `comment`, `fight`, `event`), `reaction_type` (not one of `like`, `wow`, `angry`, `sad`, `celebrate`), `target_id` (refers to nothing that takes reactions: no such target, an update that is not verified, or a comment that is not shown)."#),
        (status = 401, description = r#"`unauthorized`: no token, or a malformed, invalid or expired one (or its account no longer exists)."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
        (status = 429, description = r#"`rate_limited`: more than `REACTION_RATE_LIMIT` reactions a second from this user (burst twice that). `details.retry_after_ms` and the `Retry-After` header say when to come back."#),
    )
)]
async fn create(
    token: TokenUser,
    state: web::Data<AppState>,
    body: web::Json<ReactionInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(created(
        react(&state, token, None, body.into_inner()).await?,
    ))
}

#[derive(Deserialize)]
struct Target {
    target_type: String,
    target_id: i64,
}

/// `?target_type=&target_id=`: the stored totals (what the live frames converge to).
#[utoipa::path(
    get,
    path = "/api/live/reactions/",
    tags = ["engagement"],
    operation_id = "getReactionTotals",
    summary = r#"A target's reaction totals"#,
    description = r#"The stored reaction totals of one target, every reaction type present (0 when none): exact, and what the live `reactions` frames converge to. A target that does not exist (or has no reactions) answers zeros. Public."#,
    params(
        ("target_type" = ringside_actors::vocabulary::ReactionTarget, Query, description = r#"What the target is."#),
        ("target_id" = i64, Query, description = r#"The target's id (a live update, comment, live fight or live event)."#),
    ),
    responses(
        (status = 200, description = r#"The target's totals."#, body = crate::http::openapi::schemas::ReactionTotals),
        (status = 400, description = r#"`bad_request`: `target_type` or `target_id` missing or not parsing (a query string error, without `details`), or `target_type` not one of `update`, `comment`, `fight`, `event` (`details` names it)."#),
    )
)]
async fn totals(
    state: web::Data<AppState>,
    target: web::Query<Target>,
) -> Result<HttpResponse, ApiError> {
    let Target {
        target_type,
        target_id,
    } = target.into_inner();
    crate::validate::one_of::<ReactionTarget>("target_type", &target_type)?;
    let tt = target_type.clone();
    let totals = query(&state.db, move |c| reactions::totals(c, &tt, target_id)).await?;
    Ok(HttpResponse::Ok().json(json!({
        "target": { "type": target_type, "id": target_id },
        "totals": totals,
    })))
}
