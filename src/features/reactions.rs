//! Reactions (like, wow, angry, sad, celebrate) on an update, comment, fight
//! or event: throttled per user, stored in multi-row batches by their own
//! persistence actor (`live/reaction_writer.rs`), totals coalesced.

use serde_json::{json, Value};

use crate::auth::TokenUser;
use crate::db::reactions::Reaction;
use crate::error::ApiError;
use crate::live::Counted;
use crate::rate_limit::WriteKind;
use crate::state::AppState;
use crate::validate;
use ringside_actors::vocabulary::{ReactionTarget, ReactionType};
use ringside_actors::writes::ReactionInput;

pub async fn react(
    state: &AppState,
    caller: TokenUser,
    session: Option<String>,
    new: ReactionInput,
) -> Result<Value, ApiError> {
    validate::one_of::<ReactionTarget>("target_type", &new.target_type)?;
    validate::one_of::<ReactionType>("reaction_type", &new.reaction_type)?;
    let user_id = caller.user_id;
    state.write_limiter.check(WriteKind::Reaction, user_id)?;
    let channels = crate::live::reaction_writer::store(
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
    if let Some(live_event) = channels.iter().find_map(|c| c.live_event()) {
        state.analytics.reaction(live_event, &new.reaction_type);
    }
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
