//! Posting and reporting comments. The order of checks is the order of
//! cost: shape first, then the rate limit (the cluster's quota: one Redis
//! round trip with several nodes, no I/O on one; `rate_limit.rs`), then,
//! inside the batched transaction, ban, event state, mute, slow mode,
//! repeats and the thread, so a refusal never stores anything.

use chrono::Utc;
use ringside_actors::writes::CommentInput;
use ringside_actors::Role;
use serde_json::json;

use super::refers;
use crate::auth::TokenUser;
use crate::config::FilterAction;
use crate::content_filter::{repeat_key, Verdict};
use crate::db::activity::{self, Activity};
use crate::db::comments::{self, CommentView, NewCommentRow};
use crate::db::moderation::{self, Action};
use crate::db::{live_events, users};
use crate::error::ApiError;
use crate::live::persist;
use crate::state::AppState;
use crate::validate;

/// The same message again within this window counts as spam.
const REPEAT_WINDOW_MINUTES: i64 = 5;

/// Posts a comment for `user_id`; answered once the row is committed. A
/// comment caught by the filter is refused or held, by configuration.
pub async fn post(
    state: &AppState,
    caller: TokenUser,
    session: Option<String>,
    new: CommentInput,
) -> Result<CommentView, ApiError> {
    let live_event = new.live_event;
    post_checked(state, caller, session, new)
        .await
        .inspect(|_| state.analytics.comment(live_event))
        .inspect_err(|e| {
            crate::metrics::live()
                .comment_refusals
                .with_label_values(&[e.code()])
                .inc();
            state.analytics.comment_refused(live_event, e.code());
        })
}

async fn post_checked(
    state: &AppState,
    caller: TokenUser,
    session: Option<String>,
    new: CommentInput,
) -> Result<CommentView, ApiError> {
    let user_id = caller.user_id;
    let content = validate::text("content", &new.content, 1, 1000)?;
    state.comment_limiter.check(user_id).await?;
    let verdict = state.content_filter.check(&content);
    let action = state.config.moderation_filter_action;
    let push = state.push.targets().clone();
    let (view, published) = persist(&state.persister, move |conn| {
        let user = users::find(conn, user_id)?.ok_or(ApiError::Unauthorized("invalid token"))?;
        crate::auth::check_account(&user, caller.version)?;
        let live = live_events::find(conn, new.live_event).map_err(refers("live_event"))?;
        if live.status().is_final() {
            return Err(ApiError::Conflict {
                code: crate::error::ConflictCode::InvalidTransition,
                message: format!("the live event is {}", live.status),
            });
        }
        let moderator = user.role().includes(Role::Moderator);
        // Mutes bind everyone (only a higher role can mute a moderator);
        // slow mode does not bind moderators.
        if let Some(until) = moderation::active_mute(conn, user.id, live.id)? {
            return Err(ApiError::Muted { until });
        }
        if !moderator && live.slow_mode_seconds > 0 {
            if let Some(last) = comments::last_comment_at(conn, user.id, live.id)? {
                let next = last + chrono::Duration::seconds(live.slow_mode_seconds.into());
                let wait = (next - Utc::now()).num_milliseconds();
                if wait > 0 {
                    return Err(ApiError::SlowMode {
                        seconds: live.slow_mode_seconds,
                        retry_after_ms: wait as u64,
                    });
                }
            }
        }
        let mut verdict = verdict;
        if verdict == Verdict::Clean {
            let key = repeat_key(&content);
            let since = Utc::now() - chrono::Duration::minutes(REPEAT_WINDOW_MINUTES);
            if !key.is_empty()
                && comments::recent_contents(conn, user.id, since)?
                    .iter()
                    .any(|c| repeat_key(c) == key)
            {
                verdict = Verdict::Caught("the same message again".into());
            }
        }
        let held = match verdict {
            Verdict::Clean => None,
            Verdict::Caught(why) => match action {
                FilterAction::Refuse => return Err(ApiError::ContentRejected(why)),
                FilterAction::Hold => Some(why),
            },
        };
        let mut replied_to = None;
        if let Some(parent) = new.parent_comment {
            let parent = comments::find(conn, parent).map_err(refers("parent_comment"))?;
            if parent.live_event_id != live.id {
                return Err(ApiError::invalid(
                    "parent_comment",
                    "is not a comment of this live event",
                ));
            }
            if parent.status != "active" {
                return Err(ApiError::invalid("parent_comment", "is not shown"));
            }
            replied_to = Some(parent);
        }
        let row = NewCommentRow {
            live_event_id: live.id,
            live_fight_id: new.live_fight,
            user_id: user.id,
            content,
            parent_comment_id: new.parent_comment,
            status: if held.is_some() { "held" } else { "active" }.into(),
            is_verified_user: user.is_verified,
            is_moderator: moderator,
            moderation_reason: held.clone(),
        };
        let comment = comments::insert(conn, &row).map_err(|e| match ApiError::from(e) {
            // The fight must be on this event's card.
            ApiError::BadRequest { .. } if row.live_fight_id.is_some() => {
                ApiError::invalid("live_fight", "is not a fight of this live event")
            }
            other => other,
        })?;
        let mut view = CommentView {
            comment,
            user_display_name: user.display_name.clone(),
        };
        let mut published = Vec::new();
        match &held {
            None => {
                published.push(comments::publish(conn, &mut view)?);
                if let Some(parent) = replied_to.filter(|p| p.user_id != user.id) {
                    published.extend(
                        crate::features::notifications::on_reply(conn, &view, &parent, &push)?
                            .published,
                    );
                }
            }
            Some(why) => {
                moderation::record(
                    conn,
                    Action {
                        moderator: None,
                        action: "hold_comment",
                        target_type: "comment",
                        target_id: view.comment.id,
                        live_event: Some(live.id),
                        reason: why,
                        details: json!({}),
                    },
                )?;
                published.push(comments::publish_to_queue(conn, &view, "held")?);
            }
        }
        activity::record(
            conn,
            Activity {
                user: user.id,
                activity_type: "comment",
                target: Some(("event", live.id)),
                session,
                metadata: json!({ "comment": view.comment.id }),
            },
        )?;
        Ok((view, published))
    })
    .await?;
    state.deliver(published);
    Ok(view)
}

/// Reports a comment (once per user); past the configured number of reports
/// it is hidden pending review, and clients hear `comment_removed`.
pub async fn report(
    state: &AppState,
    caller: TokenUser,
    comment_id: i64,
    reason: String,
) -> Result<serde_json::Value, ApiError> {
    let reporter = caller.user_id;
    let reason = validate::text("reason", &reason, 1, 500)?;
    let threshold = state.config.moderation_auto_hide_reports as i32;
    let (answer, published) = persist(&state.persister, move |conn| {
        crate::auth::authorize(conn, caller, Role::Viewer)?;
        let comment = comments::find_for_update(conn, comment_id)
            .map_err(|e| crate::error::named("comment")(e.into()))?;
        if comment.user_id == reporter {
            return Err(ApiError::invalid(
                "comment",
                "you cannot report your own comment",
            ));
        }
        let count = comments::report(conn, comment.id, reporter, &reason).map_err(|e| {
            crate::error::already_exists("you already reported this comment")(e.into())
        })?;
        let mut published = Vec::new();
        let mut status = comment.status.clone();
        if count >= threshold && comment.status == "active" {
            let hidden = comments::set_status(
                conn,
                comment.id,
                "hidden",
                None,
                &format!("{count} reports"),
            )?;
            moderation::record(
                conn,
                Action {
                    moderator: None,
                    action: "auto_hide_comment",
                    target_type: "comment",
                    target_id: comment.id,
                    live_event: Some(comment.live_event_id),
                    reason: "reported",
                    details: json!({ "reports": count }),
                },
            )?;
            published.push(comments::publish_removal(conn, &hidden)?);
            status = hidden.status;
        }
        let current = comments::find(conn, comment.id)?;
        let view = comments::view(conn, current)?;
        published.push(comments::publish_to_queue(conn, &view, "reported")?);
        Ok((
            json!({ "comment": comment.id, "report_count": count, "status": status }),
            published,
        ))
    })
    .await?;
    state.deliver(published);
    Ok(answer)
}
