//! Voting in a live poll: one vote per user per poll (the database enforces
//! it, so concurrent votes cannot double), tallies coalesced.

use ringside_actors::Role;
use serde_json::{json, Value};

use super::totals::Counted;
use crate::auth::{authorize, TokenUser};
use crate::db::activity::{self, Activity};
use crate::db::polls;
use crate::error::ApiError;
use crate::live::persist;
use crate::rate_limit::WriteKind;
use crate::state::AppState;
use ringside_actors::writes::Ballot;

pub async fn vote(
    state: &AppState,
    caller: TokenUser,
    session: Option<String>,
    poll_id: i64,
    ballot: Ballot,
) -> Result<Value, ApiError> {
    let user_id = caller.user_id;
    state.write_limiter.check(WriteKind::Vote, user_id)?;
    let poll = persist(&state.persister, move |conn| {
        authorize(conn, caller, Role::Viewer)?;
        let poll = polls::find(conn, poll_id).map_err(|e| crate::http::named("poll")(e.into()))?;
        if poll.status != "open" {
            return Err(ApiError::Conflict {
                code: crate::error::ConflictCode::PollNotOpen,
                message: format!("this poll is {}", poll.status),
            });
        }
        polls::vote(conn, poll.id, ballot.option, user_id).map_err(|e| {
            match ApiError::from(e) {
                ApiError::Conflict { .. } => ApiError::Conflict {
                    code: crate::error::ConflictCode::AlreadyVoted,
                    message: "you already voted in this poll".into(),
                },
                ApiError::BadRequest { .. } => {
                    ApiError::invalid("option", "is not an option of this poll")
                }
                other => other,
            }
        })?;
        activity::record(
            conn,
            Activity {
                user: user_id,
                activity_type: "vote",
                target: None,
                session,
                metadata: json!({ "poll": poll.id, "option": ballot.option }),
            },
        )?;
        Ok(poll)
    })
    .await?;
    state.totals.mark(Counted::Poll(poll.id), poll.channels());
    Ok(json!({ "poll": poll.id, "option": ballot.option }))
}
