//! Reactions (like, wow, angry, sad, celebrate) on an update, comment, fight
//! or event: throttled per user, stored in multi-row batches by their own
//! persistence actor (`reaction_writer.rs`), totals coalesced.

use serde::Deserialize;
use serde_json::{json, Value};

use super::totals::Counted;
use crate::auth::TokenUser;
use crate::db::reactions::{Reaction, REACTION_TYPES, TARGET_TYPES};
use crate::error::ApiError;
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
    caller: TokenUser,
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
    let user_id = caller.user_id;
    state.write_limiter.check(WriteKind::Reaction, user_id)?;
    let channels = super::reaction_writer::store(
        &state.reaction_writer,
        Reaction {
            user: user_id,
            token_version: caller.version,
            target_type: new.target_type.clone(),
            target_id: new.target_id,
            reaction_type: new.reaction_type.clone(),
            session,
        },
    )
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
