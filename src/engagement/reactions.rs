//! Reactions (like, wow, angry, sad, celebrate) on an update, comment, fight
//! or event: throttled per user, stored in batches, totals coalesced.

use ringside_actors::Role;
use serde::Deserialize;
use serde_json::{json, Value};

use super::refers;
use super::totals::Counted;
use crate::auth::authorize;
use crate::db::activity::{self, Activity};
use crate::db::reactions::{self, REACTION_TYPES, TARGET_TYPES};
use crate::error::ApiError;
use crate::live::persist;
use crate::rate_limit::WriteKind;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewReaction {
    pub target_type: String,
    pub target_id: i64,
    pub reaction_type: String,
}

pub async fn react(
    state: &AppState,
    user_id: i64,
    session: Option<String>,
    new: NewReaction,
) -> Result<Value, ApiError> {
    if !TARGET_TYPES.contains(&new.target_type.as_str()) {
        return Err(ApiError::invalid(
            "target_type",
            format!("must be one of {}", TARGET_TYPES.join(", ")),
        ));
    }
    if !REACTION_TYPES.contains(&new.reaction_type.as_str()) {
        return Err(ApiError::invalid(
            "reaction_type",
            format!("must be one of {}", REACTION_TYPES.join(", ")),
        ));
    }
    state.write_limiter.check(WriteKind::Reaction, user_id)?;
    let (target_type, target_id, reaction_type) = (
        new.target_type.clone(),
        new.target_id,
        new.reaction_type.clone(),
    );
    let channels = persist(&state.persister, move |conn| {
        authorize(conn, user_id, Role::Viewer)?;
        let channels =
            reactions::channels_of(conn, &target_type, target_id).map_err(refers("target_id"))?;
        reactions::add(conn, user_id, &target_type, target_id, &reaction_type)?;
        activity::record(
            conn,
            Activity {
                user: user_id,
                activity_type: if reaction_type == "like" {
                    "like"
                } else {
                    "react"
                },
                target: Some((target_type.as_str(), target_id)),
                session,
                metadata: json!({ "reaction_type": reaction_type }),
            },
        )?;
        Ok(channels)
    })
    .await?;
    state.totals.mark(
        Counted::Reactions {
            target_type: new.target_type.clone(),
            target_id: new.target_id,
        },
        channels,
    );
    Ok(json!({
        "target": { "type": new.target_type, "id": new.target_id },
        "reaction_type": new.reaction_type,
    }))
}
