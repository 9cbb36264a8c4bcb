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

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Reason {
    #[serde(default)]
    reason: String,
}

fn reason_of(body: OptionalJson<Reason>) -> Result<String, ApiError> {
    let reason = body.0.map(|b| b.reason).unwrap_or_default();
    validate::text("reason", &reason, 0, 500)
}

/// What a moderator does to a comment: `hide`, `delete` or `restore`.
#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Decision {
    Hide,
    Delete,
    Restore,
}

/// `POST /api/moderation/comments/{id}/{hide|delete|restore}/`.
async fn decide(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    path: web::Path<(i64, Decision)>,
    body: OptionalJson<Reason>,
) -> Result<HttpResponse, ApiError> {
    let (id, decision) = path.into_inner();
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
        code: "invalid_transition",
        message: message.into(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MuteBody {
    minutes: i64,
    #[serde(default)]
    live_event: Option<i64>,
    #[serde(default)]
    reason: String,
}

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

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct UnmuteBody {
    #[serde(default)]
    live_event: Option<i64>,
    #[serde(default)]
    reason: String,
}

/// Lifts a user's mutes: on one live event, or (without `live_event`) all.
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlowModeBody {
    seconds: i32,
}

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
