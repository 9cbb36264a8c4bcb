//! Moderator tools: the queue of held and reported comments, hide / delete /
//! restore (each numbered on the comment channel so clients update), mutes,
//! bans (live connections closed at once on every node, tokens refused),
//! slow mode, and the log of every action.

use actix_web::{web, HttpResponse};
use chrono::Utc;
use ringside_actors::Role;
use serde::Deserialize;
use serde_json::json;

use super::optional_json::OptionalJson;
use super::{named, publishing, query, resource};
use crate::auth::{Auth, Moderator};
use crate::db::comments::{self, CommentView};
use crate::db::moderation::{self, Action};
use crate::db::pagination::{Page, PageParams};
use crate::db::users;
use crate::error::ApiError;
use crate::state::AppState;
use crate::validate;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/moderation/queue/").get(queue))
        .service(resource("/api/moderation/actions/").get(actions))
        .service(resource("/api/moderation/comments/{id}/hide/").post(hide))
        .service(resource("/api/moderation/comments/{id}/delete/").post(delete))
        .service(resource("/api/moderation/comments/{id}/restore/").post(restore))
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

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ModerationReason, description = r#"Optional. A body that is absent or cannot be read (unknown fields included) counts as no reason."#)]
struct Reason {
    #[serde(default)]
    /// Trimmed; kept on the target and in the moderation log.
    #[schema(max_length = 500, default = json!(""))]
    reason: String,
}

fn reason_of(body: OptionalJson<Reason>) -> Result<String, ApiError> {
    let reason = body.0.map(|b| b.reason).unwrap_or_default();
    validate::text("reason", &reason, 0, 500)
}

/// What a moderator does to a comment: `hide`, `delete` or `restore`.
#[derive(Clone, Copy)]
enum Decision {
    Hide,
    Delete,
    Restore,
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

/// `POST /api/moderation/comments/{id}/{hide|delete|restore}/`.
async fn decide(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: i64,
    decision: Decision,
    body: OptionalJson<Reason>,
) -> Result<HttpResponse, ApiError> {
    let (moderator, reason) = (auth.user.id, reason_of(body)?);
    let view = publishing(&state, move |conn| {
        let comment =
            comments::find_for_update(conn, id).map_err(|e| named("comment")(e.into()))?;
        let (status, action) = match decision {
            Decision::Hide => ("hidden", "hide_comment"),
            Decision::Delete => ("deleted", "delete_comment"),
            Decision::Restore => ("active", "restore_comment"),
        };
        if comment.status == status {
            return Err(not_now(&format!("the comment is already {status}")));
        }
        let was_shown = comment.status == "active";
        let updated = comments::set_status(conn, id, status, Some(moderator), &reason)?;
        comments::resolve_reports(conn, id, moderator, !matches!(decision, Decision::Restore))?;
        moderation::record(
            conn,
            Action {
                moderator: Some(moderator),
                action,
                target_type: "comment",
                target_id: id,
                live_event: Some(updated.live_event_id),
                reason: &reason,
                details: json!({ "from": comment.status }),
            },
        )?;
        let mut view: CommentView = comments::view(conn, updated)?;
        let published = match decision {
            Decision::Restore => vec![comments::publish(conn, &mut view)?],
            _ if was_shown => vec![comments::publish_removal(conn, &view.comment)?],
            _ => Vec::new(),
        };
        Ok((view, published))
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// A moderator acts only on users below their own role (admins on moderators).
fn outranks(moderator: Role, target: Role) -> Result<(), ApiError> {
    if moderator.includes(target) && moderator != target {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "a {moderator} cannot sanction a {target}"
        )))
    }
}

/// Runs `act` on user `target` in one transaction, once the moderator is
/// known to outrank them; `act` logs what it did (`user_action`).
async fn on_user<T: Send + 'static>(
    state: &AppState,
    moderator_role: Role,
    target: i64,
    act: impl FnOnce(&mut diesel::PgConnection) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    state
        .db
        .run(move |conn| {
            use diesel::Connection;
            conn.transaction(|conn| {
                let user = users::find(conn, target)?.ok_or_else(|| ApiError::not_found("user"))?;
                outranks(moderator_role, user.role())?;
                act(conn)
            })
        })
        .await
}

/// Logs a moderator's action on a user.
fn user_action(
    conn: &mut diesel::PgConnection,
    moderator: i64,
    action: &str,
    target: i64,
    live_event: Option<i64>,
    reason: &str,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    moderation::record(
        conn,
        Action {
            moderator: Some(moderator),
            action,
            target_type: "user",
            target_id: target,
            live_event,
            reason,
            details,
        },
    )?;
    Ok(())
}

fn not_now(message: &str) -> ApiError {
    ApiError::Conflict {
        code: crate::error::ConflictCode::InvalidTransition,
        message: message.into(),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MuteRequest, description = r#"Unknown fields are refused."#)]
struct MuteBody {
    /// How long (at most a year).
    #[schema(minimum = 1, maximum = 525600)]
    minutes: i64,
    #[serde(default)]
    /// The live event (id) to mute on; null mutes everywhere.
    #[schema(default = json!(null))]
    live_event: Option<i64>,
    #[serde(default)]
    /// Trimmed; kept with the mute and in the log.
    #[schema(max_length = 500, default = json!(""))]
    reason: String,
}

#[utoipa::path(
    post,
    path = "/api/moderation/users/{id}/mute/",
    tags = ["moderation"],
    operation_id = "muteUser",
    summary = r#"Mute a user"#,
    description = r#"Mutes a user for `minutes`, on one live event or (with `live_event` null or absent) everywhere: until then their comments there are refused with 403 `muted` (`details.until`). A mute binds whoever it names (only an admin can mute a moderator); slow mode does not bind moderators. Logged as `mute_user` (`details`: `{minutes, until}`). Unknown fields are refused. Requires role: `moderator`, and the target's role must be below the caller's (admins may sanction moderators; nobody their own role)."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = MuteBody, example = json!({"minutes": 30, "live_event": 1, "reason": "spamming the chat"})),
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
    body: web::Json<MuteBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    validate::range("minutes", Some(body.minutes), 1, 525_600)?;
    let reason = validate::text("reason", &body.reason, 0, 500)?;
    let (moderator, target) = (auth.user.id, id.into_inner());
    let until = Utc::now() + chrono::Duration::minutes(body.minutes);
    let answer = on_user(&state, auth.user.role(), target, move |conn| {
        if let Some(event) = body.live_event {
            crate::db::live_events::find(conn, event).map_err(|e| match ApiError::from(e) {
                ApiError::NotFound(_) => {
                    ApiError::invalid("live_event", "refers to something that does not exist")
                }
                other => other,
            })?;
        }
        // As stored (Postgres keeps microseconds), so clients compare equal.
        let (sanction, until) =
            moderation::mute(conn, target, body.live_event, Some(until), moderator, &reason)?;
        let details = json!({ "minutes": body.minutes, "until": until });
        user_action(conn, moderator, "mute_user", target, body.live_event, &reason, details)?;
        Ok(json!({
            "id": sanction, "user": target, "live_event": body.live_event, "until": until, "reason": reason
        }))
    })
    .await?;
    Ok(HttpResponse::Created().json(answer))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UnmuteRequest, description = r#"Optional, like `ModerationReason`."#)]
struct UnmuteBody {
    #[serde(default)]
    live_event: Option<i64>,
    #[serde(default)]
    #[schema(max_length = 500)]
    reason: String,
}

/// Lifts a user's mutes: on one live event, or (without `live_event`) all.
#[utoipa::path(
    post,
    path = "/api/moderation/users/{id}/unmute/",
    tags = ["moderation"],
    operation_id = "unmuteUser",
    summary = r#"Lift mutes"#,
    description = r#"Lifts a user's active mutes: those on `live_event` when given, else all of them (per event and everywhere). Logged as `unmute_user` (`details`: `{lifted}`). Requires role: `moderator`, and the target's role must be below the caller's. The body may be left out (empty: every mute); a body that is sent must be valid JSON and may only have `live_event` and `reason`."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = Option<UnmuteBody>, example = json!({"live_event": 7, "reason": "cooled off"})),
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
    body: OptionalJson<UnmuteBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0.unwrap_or_default();
    let reason = validate::text("reason", &body.reason, 0, 500)?;
    let (moderator, target) = (auth.user.id, id.into_inner());
    let answer = on_user(&state, auth.user.role(), target, move |conn| {
        let lifted = moderation::unmute(conn, target, body.live_event)?;
        if lifted == 0 {
            return Err(not_now("this user is not muted there"));
        }
        let details = json!({ "lifted": lifted });
        user_action(
            conn,
            moderator,
            "unmute_user",
            target,
            body.live_event,
            &reason,
            details,
        )?;
        Ok(json!({ "user": target, "live_event": body.live_event, "lifted": lifted }))
    })
    .await?;
    Ok(HttpResponse::Ok().json(answer))
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
    let reason = reason_of(body)?;
    let (moderator, target) = (auth.user.id, id.into_inner());
    let answer = on_user(&state, auth.user.role(), target, move |conn| {
        if !moderation::ban(conn, target, moderator, &reason)? {
            return Err(not_now("this user is already banned"));
        }
        user_action(
            conn,
            moderator,
            "ban_user",
            target,
            None,
            &reason,
            json!({}),
        )?;
        Ok(json!({ "user": target, "banned": true, "reason": reason }))
    })
    .await?;
    // Committed: the token already stops working; now the live connections.
    state.bus.kick_user(target);
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
    let reason = reason_of(body)?;
    let (moderator, target) = (auth.user.id, id.into_inner());
    let answer = on_user(&state, auth.user.role(), target, move |conn| {
        if !moderation::unban(conn, target)? {
            return Err(not_now("this user is not banned"));
        }
        user_action(
            conn,
            moderator,
            "unban_user",
            target,
            None,
            &reason,
            json!({}),
        )?;
        Ok(json!({ "user": target, "banned": false, "reason": reason }))
    })
    .await?;
    Ok(HttpResponse::Ok().json(answer))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SlowModeRequest, description = r#"Unknown fields are refused."#)]
struct SlowModeBody {
    /// One comment per this many seconds per user; 0 turns slow mode off.
    #[schema(minimum = 0, maximum = 3600)]
    seconds: i32,
}

#[utoipa::path(
    post,
    path = "/api/moderation/events/{id}/slow-mode/",
    tags = ["moderation"],
    operation_id = "setSlowMode",
    summary = r#"Set a live event's slow mode"#,
    description = r#"Sets the slow mode of a live event (`id` is the live event's id): each user may post one comment per `seconds` on it, and a faster one is answered 429 `slow_mode`; moderators and admins are exempt. `0` turns it off. Stored as the live event's `slow_mode_seconds`; logged as `slow_mode` (`details`: `{seconds}`). Unknown fields are refused. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = SlowModeBody, example = json!({"seconds": 30})),
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
    body: web::Json<SlowModeBody>,
) -> Result<HttpResponse, ApiError> {
    let seconds = body.seconds;
    validate::range("seconds", Some(seconds), 0, 3600)?;
    let (moderator, event) = (auth.user.id, id.into_inner());
    state
        .db
        .run(move |conn| {
            use diesel::Connection;
            conn.transaction(|conn| {
                moderation::set_slow_mode(conn, event, seconds)
                    .map_err(|e| named("live event")(e.into()))?;
                moderation::record(
                    conn,
                    Action {
                        moderator: Some(moderator),
                        action: "slow_mode",
                        target_type: "event",
                        target_id: event,
                        live_event: Some(event),
                        reason: "",
                        details: json!({ "seconds": seconds }),
                    },
                )?;
                Ok::<_, ApiError>(())
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "live_event": event, "slow_mode_seconds": seconds })))
}
