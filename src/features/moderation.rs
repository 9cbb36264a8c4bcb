//! Moderation: decisions on comments (hide, delete, restore — each numbered
//! on the comment channel so clients update), mutes, bans (live connections
//! closed at once on every node; tokens refused from the commit on) and slow
//! mode. Every action is logged in the moderation log in the same
//! transaction. A moderator acts only on users below their own role.

use chrono::Utc;
use diesel::PgConnection;
use ringside_actors::protocol::FrameType;
use ringside_actors::vocabulary::{ModerationAction, Vocabulary};
use ringside_actors::{Channel, Role};
use serde::Deserialize;
use serde_json::{json, Value};

use super::publishing;
use crate::db::comments::{self, CommentView};
use crate::db::models::User;
use crate::db::moderation::{self, Action};
use crate::db::users;
use crate::db::{channels, snapshots};
use crate::error::{named, refers, ApiError};
use crate::state::AppState;
use crate::validate;

/// The optional body of the decisions, the ban and the unban.
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ModerationReason, description = r#"Optional. A body that is absent or cannot be read (unknown fields included) counts as no reason."#)]
pub struct Reason {
    #[serde(default)]
    /// Trimmed; kept on the target and in the moderation log.
    #[schema(max_length = 500, default = json!(""))]
    pub reason: String,
}

/// What a moderator does to a comment: `hide`, `delete` or `restore`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Hide,
    Delete,
    Restore,
}

/// The body of `POST /api/moderation/users/{id}/mute/`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MuteRequest, description = r#"Unknown fields are refused."#)]
pub struct MuteInput {
    /// How long (at most a year).
    #[schema(minimum = 1, maximum = 525600)]
    pub minutes: i64,
    #[serde(default)]
    /// The live event (id) to mute on; null mutes everywhere.
    #[schema(default = json!(null))]
    pub live_event: Option<i64>,
    #[serde(default)]
    /// Trimmed; kept with the mute and in the log.
    #[schema(max_length = 500, default = json!(""))]
    pub reason: String,
}

/// The optional body of `POST /api/moderation/users/{id}/unmute/`.
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UnmuteRequest, description = r#"Optional, like `ModerationReason`."#)]
pub struct UnmuteInput {
    #[serde(default)]
    pub live_event: Option<i64>,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: String,
}

/// The body of `POST /api/moderation/events/{id}/slow-mode/`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SlowModeRequest, description = r#"Unknown fields are refused."#)]
pub struct SlowModeInput {
    /// One comment per this many seconds per user; 0 turns slow mode off.
    #[schema(minimum = 0, maximum = 3600)]
    pub seconds: i32,
}

fn reason(text: &str) -> Result<String, ApiError> {
    validate::text("reason", text, 0, 500)
}

fn not_now(message: &str) -> ApiError {
    ApiError::Conflict {
        code: crate::error::ConflictCode::InvalidTransition,
        message: message.into(),
    }
}

/// Hides, deletes or restores a comment; answers the comment as moderators
/// see it. Hiding or deleting a shown comment publishes its removal;
/// restoring publishes it again.
pub async fn decide(
    state: &AppState,
    moderator: i64,
    id: i64,
    decision: Decision,
    body: Reason,
) -> Result<CommentView, ApiError> {
    let reason = reason(&body.reason)?;
    publishing(state, move |conn| {
        let comment =
            comments::find_for_update(conn, id).map_err(|e| named("comment")(e.into()))?;
        let (status, action) = match decision {
            Decision::Hide => ("hidden", ModerationAction::HideComment),
            Decision::Delete => ("deleted", ModerationAction::DeleteComment),
            Decision::Restore => ("active", ModerationAction::RestoreComment),
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
                action: action.as_str(),
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
    .await
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

/// Runs `act` on user `target` in one transaction, once `moderator` is known
/// to outrank them, and logs the action (`action`, the live event and the
/// details `act` answers besides its result).
async fn on_user<T: Send + 'static>(
    state: &AppState,
    moderator: &User,
    target: i64,
    action: ModerationAction,
    reason: String,
    act: impl FnOnce(&mut PgConnection, &str) -> Result<(T, Option<i64>, Value), ApiError>
        + Send
        + 'static,
) -> Result<T, ApiError> {
    let (moderator_id, moderator_role) = (moderator.id, moderator.role());
    state
        .db
        .transaction(move |conn| {
            let user = users::find(conn, target)?.ok_or_else(|| ApiError::not_found("user"))?;
            outranks(moderator_role, user.role())?;
            let (answer, live_event, details) = act(conn, &reason)?;
            moderation::record(
                conn,
                Action {
                    moderator: Some(moderator_id),
                    action: action.as_str(),
                    target_type: "user",
                    target_id: target,
                    live_event,
                    reason: &reason,
                    details,
                },
            )?;
            Ok(answer)
        })
        .await
}

/// Mutes a user for `minutes`, on one live event or everywhere.
pub async fn mute(
    state: &AppState,
    moderator: &User,
    target: i64,
    body: MuteInput,
) -> Result<Value, ApiError> {
    validate::range("minutes", Some(body.minutes), 1, 525_600)?;
    let reason = reason(&body.reason)?;
    let until = Utc::now() + chrono::Duration::minutes(body.minutes);
    let by = moderator.id;
    on_user(state, moderator, target, ModerationAction::MuteUser, reason, move |conn, reason| {
        if let Some(event) = body.live_event {
            crate::db::live_events::find(conn, event).map_err(refers("live_event"))?;
        }
        // As stored (Postgres keeps microseconds), so clients compare equal.
        let (sanction, until) =
            moderation::mute(conn, target, body.live_event, Some(until), by, reason)?;
        let answer = json!({
            "id": sanction, "user": target, "live_event": body.live_event, "until": until, "reason": reason
        });
        let details = json!({ "minutes": body.minutes, "until": until });
        Ok((answer, body.live_event, details))
    })
    .await
}

/// Lifts a user's mutes: on one live event, or (without `live_event`) all.
pub async fn unmute(
    state: &AppState,
    moderator: &User,
    target: i64,
    body: UnmuteInput,
) -> Result<Value, ApiError> {
    let reason = reason(&body.reason)?;
    on_user(
        state,
        moderator,
        target,
        ModerationAction::UnmuteUser,
        reason,
        move |conn, _| {
            let lifted = moderation::unmute(conn, target, body.live_event)?;
            if lifted == 0 {
                return Err(not_now("this user is not muted there"));
            }
            let answer = json!({ "user": target, "live_event": body.live_event, "lifted": lifted });
            Ok((answer, body.live_event, json!({ "lifted": lifted })))
        },
    )
    .await
}

/// Bans a user: their token stops working at the commit, and then their
/// live connections are closed on every node.
pub async fn ban(
    state: &AppState,
    moderator: &User,
    target: i64,
    body: Reason,
) -> Result<Value, ApiError> {
    let reason = reason(&body.reason)?;
    let by = moderator.id;
    let answer = on_user(
        state,
        moderator,
        target,
        ModerationAction::BanUser,
        reason,
        move |conn, reason| {
            if !moderation::ban(conn, target, by, reason)? {
                return Err(not_now("this user is already banned"));
            }
            let answer = json!({ "user": target, "banned": true, "reason": reason });
            Ok((answer, None, json!({})))
        },
    )
    .await?;
    state.bus.kick_user(target);
    Ok(answer)
}

pub async fn unban(
    state: &AppState,
    moderator: &User,
    target: i64,
    body: Reason,
) -> Result<Value, ApiError> {
    let reason = reason(&body.reason)?;
    on_user(
        state,
        moderator,
        target,
        ModerationAction::UnbanUser,
        reason,
        move |conn, reason| {
            if !moderation::unban(conn, target)? {
                return Err(not_now("this user is not banned"));
            }
            let answer = json!({ "user": target, "banned": false, "reason": reason });
            Ok((answer, None, json!({})))
        },
    )
    .await
}

/// Sets a live event's slow mode (0 turns it off) and tells the event's
/// comment stream: a `slow_mode` frame on `comments:{event}`, numbered in
/// the same transaction as the change (so a resume replays it, on every
/// node), with the channel's new snapshot, whose `slow_mode_seconds` it is.
pub async fn slow_mode(
    state: &AppState,
    moderator: i64,
    event: i64,
    body: SlowModeInput,
) -> Result<Value, ApiError> {
    let seconds = body.seconds;
    validate::range("seconds", Some(seconds), 0, 3600)?;
    publishing(state, move |conn| {
        moderation::set_slow_mode(conn, event, seconds)
            .map_err(|e| named("live event")(e.into()))?;
        moderation::record(
            conn,
            Action {
                moderator: Some(moderator),
                action: ModerationAction::SlowMode.as_str(),
                target_type: "event",
                target_id: event,
                live_event: Some(event),
                reason: "",
                details: json!({ "seconds": seconds }),
            },
        )?;
        let answer = json!({ "live_event": event, "slow_mode_seconds": seconds });
        let mut published = channels::append(
            conn,
            &Channel::Comments(event),
            FrameType::SlowMode.as_str(),
            &answer,
        )?;
        published.snapshot = Some(snapshots::comments(conn, event)?);
        Ok((answer, vec![published]))
    })
    .await
}

/// The user panel: who they are, their standing (ban, mutes in force),
/// their latest comments in any status and what moderators did to them.
pub async fn user_panel(state: &AppState, id: i64) -> Result<Value, ApiError> {
    state
        .db
        .run(move |c| {
            let user = users::find(c, id)?.ok_or_else(|| ApiError::not_found("user"))?;
            let mutes = moderation::active_mutes(c, id)?;
            let comments: Vec<Value> = comments::by_user(c, id, 50)?
                .into_iter()
                .map(|m| {
                    json!({ "id": m.id, "live_event": m.live_event_id, "content": m.content,
                            "status": m.status, "created_at": m.created_at })
                })
                .collect();
            Ok(json!({
                "user": {
                    "id": user.id,
                    "email": user.email,
                    "display_name": user.display_name,
                    "role": user.role,
                    "created_at": user.created_at,
                },
                "banned": user.banned_at.is_some(),
                "mutes": mutes,
                "comments": comments,
                "actions": moderation::actions_on_user(c, id, 50)?,
            }))
        })
        .await
}
