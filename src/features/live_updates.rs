//! Live updates: reporters, moderators and admins post them; a reporter's
//! update waits unverified until a moderator approves or rejects it. Only
//! verified updates are broadcast: stored first, numbered on the event's
//! channel (and the fight's, and `news` when breaking), then delivered.
//! This module owns those rules; `http/live_updates.rs` only parses.

use ringside_actors::vocabulary::{UpdateType, Vocabulary};
use ringside_actors::Role;

use super::publishing;
use crate::auth::{authorize, TokenUser};
use crate::db::live_events as events_db;
use crate::db::live_updates::{self, NewUpdate, Review};
use crate::db::models::{LiveUpdate, User};
use crate::db::pagination::PageParams;
use crate::error::{named, refers, ApiError};
use crate::state::AppState;
use crate::validate;

/// Numbers a verified update on its channels; a breaking one also goes to
/// everyone who wants breaking news, in the same transaction.
fn publish(
    conn: &mut diesel::PgConnection,
    update: &mut LiveUpdate,
    push: &crate::db::notifications::PushTargets,
) -> Result<Vec<crate::db::channels::Published>, ApiError> {
    let mut published = live_updates::publish(conn, update)?;
    if update.is_breaking {
        published.extend(
            crate::features::notifications::on_breaking_news(conn, update, push)?.published,
        );
    }
    Ok(published)
}

fn check(new: &mut NewUpdate) -> Result<(), ApiError> {
    validate::one_of::<UpdateType>("update_type", &new.update_type)?;
    // What fight control knows, it writes itself (features/fight_control.rs).
    if new.update_type != UpdateType::News.as_str() {
        return Err(ApiError::invalid(
            "update_type",
            format!(
                "{} updates are written by fight control as the fight happens; post news",
                new.update_type
            ),
        ));
    }
    new.title = validate::text("title", &new.title, 1, 200)?;
    new.description = validate::text("description", &new.description, 0, 5000)?;
    validate::range("round_number", new.round_number, 1, 5)?;
    if !new.data.is_object() {
        return Err(ApiError::invalid("data", "must be a JSON object"));
    }
    validate::json("data", &new.data)?;
    if new.data.to_string().len() > 16 * 1024 {
        return Err(ApiError::invalid("data", "must be under 16 KiB"));
    }
    Ok(())
}

/// Posts an update: a moderator's is verified and published at once, a
/// reporter's waits for review.
pub async fn post(
    state: &AppState,
    token: TokenUser,
    mut new: NewUpdate,
) -> Result<LiveUpdate, ApiError> {
    check(&mut new)?;
    let push = state.push.targets().clone();
    publishing(state, move |conn| {
        // The account is checked in the write's own transaction: one round
        // trip less on the hottest publishing path.
        let user = authorize(conn, token, Role::Reporter)?;
        new.is_verified = user.role().includes(Role::Moderator);
        new.created_by = Some(user.id);
        let live = events_db::find(conn, new.live_event_id).map_err(refers("live_event"))?;
        if live.status().is_final() {
            return Err(ApiError::Conflict {
                code: crate::error::ConflictCode::InvalidTransition,
                message: format!("the live event is {}", live.status),
            });
        }
        let mut update = live_updates::insert(conn, &new).map_err(|e| match ApiError::from(e) {
            // The fight must be on this event's card.
            ApiError::BadRequest { .. } if new.live_fight_id.is_some() => {
                ApiError::invalid("live_fight", "is not a fight of this live event")
            }
            other => other,
        })?;
        let published = if update.is_verified {
            publish(conn, &mut update, &push)?
        } else {
            vec![live_updates::publish_pending(conn, &update)?]
        };
        Ok((update, published))
    })
    .await
}

/// A moderator approves (publishes) or rejects a waiting update, once.
pub async fn review(
    state: &AppState,
    moderator: i64,
    id: i64,
    approve: bool,
    reason: &str,
) -> Result<LiveUpdate, ApiError> {
    let reason = validate::text("reason", reason, 0, 500)?;
    let push = state.push.targets().clone();
    publishing(state, move |conn| {
        let mut update =
            live_updates::find_for_update(conn, id).map_err(|e| named("live update")(e.into()))?;
        if update.is_verified || update.rejected {
            return Err(ApiError::Conflict {
                code: crate::error::ConflictCode::InvalidTransition,
                message: format!(
                    "this update was already {}",
                    if update.is_verified {
                        "approved"
                    } else {
                        "rejected"
                    }
                ),
            });
        }
        live_updates::review(conn, &mut update, moderator, approve, &reason)?;
        let mut published = vec![live_updates::publish_reviewed(conn, &update, moderator)?];
        if approve {
            published.extend(publish(conn, &mut update, &push)?);
        }
        Ok((update, published))
    })
    .await
}

/// Verified updates for everyone; pending and rejected ones for moderators.
pub async fn list(
    state: &AppState,
    caller: Option<&User>,
    event: Option<i64>,
    review: Option<Review>,
    page: PageParams,
) -> Result<(Vec<LiveUpdate>, i64), ApiError> {
    let review = review.unwrap_or(Review::Verified);
    if review != Review::Verified && !caller.is_some_and(|u| u.role().includes(Role::Moderator)) {
        return Err(ApiError::Forbidden(
            "pending and rejected updates are for moderators".into(),
        ));
    }
    let limit = page.limit()?;
    let rows = state
        .db
        .run(move |c| live_updates::list(c, event, review, &page, limit).map_err(ApiError::from))
        .await?;
    Ok((rows, limit))
}
