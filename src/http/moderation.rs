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
        .service(resource("/api/moderation/comments/{id}/hide/").post(hide))
        .service(resource("/api/moderation/comments/{id}/delete/").post(delete))
        .service(resource("/api/moderation/comments/{id}/restore/").post(restore))
        .service(resource("/api/moderation/users/{id}/").get(user_panel))
        .service(resource("/api/moderation/users/{id}/mute/").post(mute))
        .service(resource("/api/moderation/users/{id}/unmute/").post(unmute))
        .service(resource("/api/moderation/users/{id}/ban/").post(ban))
        .service(resource("/api/moderation/users/{id}/unban/").post(unban))
        .service(resource("/api/moderation/events/{id}/slow-mode/").post(slow_mode));
}

#[utoipa::path(
    get,
    path = "/api/moderation/queue/",
    tags = ["moderation"],
    operation_id = "getModerationQueue",
    summary = r#"The moderation queue"#,
    description = r#"Comments of every live event that wait for a moderator, oldest first (ascending id): `held` ones (caught by the content filter under `MODERATION_FILTER_ACTION=hold`), `hidden` ones (by a moderator or by reports; until deleted or restored), and shown (`active`) ones with open reports. Hiding, deleting or restoring a comment closes its open reports. Requires role: `moderator`."#,
    params(
        crate::db::pagination::PageParams,
    ),
    security(("bearerAuth" = ["moderator"])),
    responses(
        (status = 200, description = r#"A page of comments."#, body = crate::http::openapi::schemas::CommentPage),
        (status = 400, description = r#"`bad_request`: `limit` out of range, or a `cursor` that does not parse."#),
    )
)]
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

#[utoipa::path(
    get,
    path = "/api/moderation/actions/",
    tags = ["moderation"],
    operation_id = "listModerationActions",
    summary = r#"The moderation log"#,
    description = r#"Every moderation action, newest first: moderators' (comment decisions, mutes, bans, slow mode, live update reviews) and automatic ones (`moderator` null: a comment held by the content filter or hidden by reports). The next page (`cursor` from `next_cursor`, the last id seen) holds older entries. Requires role: `moderator`."#,
    params(
        crate::db::pagination::PageParams,
    ),
    security(("bearerAuth" = ["moderator"])),
    responses(
        (status = 200, description = r#"A page of the log, newest first."#, body = crate::http::openapi::schemas::ModerationActionPage),
        (status = 400, description = r#"`bad_request`: `limit` out of range, or a `cursor` that does not parse."#),
    )
)]
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

// One handler per decision: each is its own documented operation.
#[utoipa::path(
    post,
    path = "/api/moderation/comments/{id}/hide/",
    tags = ["moderation"],
    operation_id = "hideComment",
    summary = r#"Hide a comment"#,
    description = r#"Sets a comment's status to `hidden` (from any other status; `moderated_by`, `moderated_at` and `moderation_reason` set) and upholds its open reports. If it was shown, `comment_removed` (`{id, status, reason}`) is numbered on `comments:{live_event}` and broadcast there. Logged as `hide_comment` (`details`: `{"from": <previous status>}`). The optional body's `reason` (trimmed, at most 500 characters) is kept on the comment and in the log. Requires role: `moderator`. The body may be left out (empty); a body that is sent must be valid JSON (400 otherwise, 415 for another content type)."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = Option<Reason>, example = json!({"reason": "abuse"})),
    responses(
        (status = 200, description = r#"The comment after the decision."#, body = crate::db::comments::CommentView),
        (status = 400, description = r#"`bad_request`: `reason` over 500 characters."#),
        (status = 404, description = r#"`not_found`: comment not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the comment is already `hidden`."#),
    )
)]
async fn hide(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: OptionalJson<Reason>,
) -> Result<HttpResponse, ApiError> {
    decide(auth, state, id.into_inner(), Decision::Hide, body).await
}

#[utoipa::path(
    post,
    path = "/api/moderation/comments/{id}/delete/",
    tags = ["moderation"],
    operation_id = "deleteComment",
    summary = r#"Delete a comment"#,
    description = r#"Sets a comment's status to `deleted` (from any other status; `moderated_by`, `moderated_at` and `moderation_reason` set) and upholds its open reports. The row is kept, and `restore` can bring it back. If it was shown, `comment_removed` (`{id, status, reason}`) is numbered on `comments:{live_event}` and broadcast there. Logged as `delete_comment` (`details`: `{"from": <previous status>}`). The optional body's `reason` (trimmed, at most 500 characters) is kept on the comment and in the log. Requires role: `moderator`. The body may be left out (empty); a body that is sent must be valid JSON (400 otherwise, 415 for another content type)."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = Option<Reason>, example = json!({"reason": "spam"})),
    responses(
        (status = 200, description = r#"The comment after the decision."#, body = crate::db::comments::CommentView),
        (status = 400, description = r#"`bad_request`: `reason` over 500 characters."#),
        (status = 404, description = r#"`not_found`: comment not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the comment is already `deleted`."#),
    )
)]
async fn delete(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: OptionalJson<Reason>,
) -> Result<HttpResponse, ApiError> {
    decide(auth, state, id.into_inner(), Decision::Delete, body).await
}

#[utoipa::path(
    post,
    path = "/api/moderation/comments/{id}/restore/",
    tags = ["moderation"],
    operation_id = "restoreComment",
    summary = r#"Restore (or release) a comment"#,
    description = r#"Shows a comment again: sets its status to `active` from `held`, `hidden` or `deleted` (this is also how a held comment is released) and dismisses its open reports. It is numbered on `comments:{live_event}` and broadcast there as `comment` (subject to the fan-out budget); the comment keeps the `seq` of its first showing (a released held comment gets its first one). Logged as `restore_comment` (`details`: `{"from": <previous status>}`). The optional body's `reason` (trimmed, at most 500 characters) is kept on the comment and in the log. Requires role: `moderator`. The body may be left out (empty); a body that is sent must be valid JSON (400 otherwise, 415 for another content type)."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = Option<Reason>, example = json!({"reason": "reviewed: fine"})),
    responses(
        (status = 200, description = r#"The comment after the decision."#, body = crate::db::comments::CommentView),
        (status = 400, description = r#"`bad_request`: `reason` over 500 characters."#),
        (status = 404, description = r#"`not_found`: comment not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the comment is already `active`."#),
    )
)]
async fn restore(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: OptionalJson<Reason>,
) -> Result<HttpResponse, ApiError> {
    decide(auth, state, id.into_inner(), Decision::Restore, body).await
}

async fn decide(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: i64,
    decision: Decision,
    body: OptionalJson<Reason>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0.unwrap_or_default();
    let view = rules::decide(&state, auth.user.id, id, decision, body).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(
    post,
    path = "/api/moderation/users/{id}/mute/",
    tags = ["moderation"],
    operation_id = "muteUser",
    summary = r#"Mute a user"#,
    description = r#"Mutes a user for `minutes`, on one live event or (with `live_event` null or absent) everywhere: until then their comments there are refused with 403 `muted` (`details.until`). A mute binds whoever it names (only an admin can mute a moderator); slow mode does not bind moderators. Logged as `mute_user` (`details`: `{minutes, until}`). Unknown fields are refused. Requires role: `moderator`, and the target's role must be below the caller's (admins may sanction moderators; nobody their own role)."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = MuteInput, example = json!({"minutes": 30, "live_event": 1, "reason": "spamming the chat"})),
    responses(
        (status = 201, description = r#"The mute."#, body = crate::http::openapi::schemas::Mute),
        (status = 400, description = r#"`bad_request`: malformed body, an unknown field, or `minutes` missing; or a field failed validation, named in `details`: `minutes` (not 1 to 525600), `reason` (over 500 characters), `live_event` (refers to something that does not exist)."#),
        (status = 403, description = r#"`forbidden`: the caller's role is too low, or the target's role is not below the caller's; `banned`: the caller's account is banned."#),
        (status = 404, description = r#"`not_found`: user not found (or `id` is not an integer)."#),
    )
)]
async fn mute(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<MuteInput>,
) -> Result<HttpResponse, ApiError> {
    let answer = rules::mute(&state, &auth.user, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(answer))
}

#[utoipa::path(
    post,
    path = "/api/moderation/users/{id}/unmute/",
    tags = ["moderation"],
    operation_id = "unmuteUser",
    summary = r#"Lift mutes"#,
    description = r#"Lifts a user's active mutes: those on `live_event` when given, else all of them (per event and everywhere). Logged as `unmute_user` (`details`: `{lifted}`). Requires role: `moderator`, and the target's role must be below the caller's. The body may be left out (empty: every mute); a body that is sent must be valid JSON and may only have `live_event` and `reason`."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = Option<UnmuteInput>, example = json!({"live_event": 7, "reason": "cooled off"})),
    responses(
        (status = 200, description = r#"Mutes lifted."#, body = crate::http::openapi::schemas::UnmuteResult),
        (status = 400, description = r#"`bad_request`: `reason` over 500 characters."#),
        (status = 403, description = r#"`forbidden`: the caller's role is too low, or the target's role is not below the caller's; `banned`: the caller's account is banned."#),
        (status = 404, description = r#"`not_found`: user not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the user has no active mute there."#),
    )
)]
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

#[utoipa::path(
    get,
    path = "/api/moderation/users/{id}/",
    tags = ["moderation"],
    operation_id = "getModeratedUser",
    summary = r#"A user as moderators see them"#,
    description = r#"The moderators' panel of one user: the account (`id`, `email`, `display_name`, `role`, `created_at`), whether it is banned, the mutes in force (`live_event` null: everywhere; `until` null: until lifted), their latest 50 comments in any status, newest first, and the latest 50 moderation actions taken on them, newest first. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    responses(
        (status = 200, description = r#"The panel."#, body = crate::http::openapi::schemas::ModeratedUser),
        (status = 404, description = r#"`not_found`: user not found (or `id` is not an integer)."#),
    )
)]
async fn user_panel(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(rules::user_panel(&state, id.into_inner()).await?))
}

#[utoipa::path(
    post,
    path = "/api/moderation/users/{id}/ban/",
    tags = ["moderation"],
    operation_id = "banUser",
    summary = r#"Ban a user"#,
    description = r#"Bans a user. Their tokens stop working at once (every signed-in request, sign-in included, answers 403 `banned`) and all their WebSocket connections, on every node, are closed with 1008. Logged as `ban_user`; the optional body's `reason` (trimmed, at most 500 characters) is kept with the ban and in the log. Requires role: `moderator`, and the target's role must be below the caller's (admins may sanction moderators; nobody their own role). The body may be left out (empty); a body that is sent must be valid JSON (400 otherwise, 415 for another content type)."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = Option<Reason>, example = json!({"reason": "repeated abuse"})),
    responses(
        (status = 200, description = r#"The user is banned."#, body = crate::http::openapi::schemas::BanResult),
        (status = 400, description = r#"`bad_request`: `reason` over 500 characters."#),
        (status = 403, description = r#"`forbidden`: the caller's role is too low, or the target's role is not below the caller's; `banned`: the caller's account is banned."#),
        (status = 404, description = r#"`not_found`: user not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the user is already banned."#),
    )
)]
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

#[utoipa::path(
    post,
    path = "/api/moderation/users/{id}/unban/",
    tags = ["moderation"],
    operation_id = "unbanUser",
    summary = r#"Lift a ban"#,
    description = r#"Lifts a user's ban: their existing tokens work again (sign-in too) and the ban sanction is closed. Logged as `unban_user`; the optional body's `reason` (trimmed, at most 500 characters) is kept in the log. Requires role: `moderator`, and the target's role must be below the caller's. The body may be left out (empty); a body that is sent must be valid JSON (400 otherwise, 415 for another content type)."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = Option<Reason>, example = json!({"reason": "appeal accepted"})),
    responses(
        (status = 200, description = r#"The ban is lifted."#, body = crate::http::openapi::schemas::UnbanResult),
        (status = 400, description = r#"`bad_request`: `reason` over 500 characters."#),
        (status = 403, description = r#"`forbidden`: the caller's role is too low, or the target's role is not below the caller's; `banned`: the caller's account is banned."#),
        (status = 404, description = r#"`not_found`: user not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the user is not banned."#),
    )
)]
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

#[utoipa::path(
    post,
    path = "/api/moderation/events/{id}/slow-mode/",
    tags = ["moderation"],
    operation_id = "setSlowMode",
    summary = r#"Set a live event's slow mode"#,
    description = r#"Sets the slow mode of a live event (`id` is the live event's id): each user may post one comment per `seconds` on it, and a faster one is answered 429 `slow_mode`; moderators and admins are exempt. `0` turns it off. Stored as the live event's `slow_mode_seconds`; logged as `slow_mode` (`details`: `{seconds}`); announced on `comments:{id}` on every node as a durable `slow_mode` frame (`data`: this answer), so the comment stream's snapshot and every viewer follow it. Unknown fields are refused. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = SlowModeInput, example = json!({"seconds": 30})),
    responses(
        (status = 200, description = r#"The live event's slow mode."#, body = crate::http::openapi::schemas::SlowMode),
        (status = 400, description = r#"`bad_request`: malformed body, an unknown field, or `seconds` missing; or `seconds` not 0 to 3600 (`details` names it)."#),
        (status = 404, description = r#"`not_found`: live event not found (or `id` is not an integer)."#),
    )
)]
async fn slow_mode(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<SlowModeInput>,
) -> Result<HttpResponse, ApiError> {
    let answer = rules::slow_mode(&state, auth.user.id, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(answer))
}
