//! Live polls: moderators create them as drafts, open and close them (open
//! and close are numbered `poll` messages on the event's channel, and the
//! fight's); drafts are the moderators' until they open; users vote once
//! (the database enforces it, so concurrent votes cannot double; the same
//! path serves REST and the WebSocket `vote` op), tallies coalesced.

use ringside_actors::Role;
use serde::Deserialize;
use serde_json::{json, Value};

use super::publishing;
use crate::auth::{authorize, TokenUser};
use crate::db::activity::{self, Activity};
use crate::db::models::User;
use crate::db::pagination::{Page, PageParams};
use crate::db::polls;
use crate::error::{named, refers, ApiError};
use crate::live::persist;
use crate::live::Counted;
use crate::rate_limit::WriteKind;
use crate::state::AppState;
use crate::validate;
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
        let poll = polls::find(conn, poll_id).map_err(|e| named("poll")(e.into()))?;
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

/// The body of `POST /api/live/polls/`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PollCreate, description = r#"Unknown fields are refused."#)]
pub struct NewPoll {
    /// Live event id; must exist.
    pub live_event: i64,
    #[serde(default)]
    /// A live fight on this live event's card.
    #[schema(default = json!(null))]
    pub live_fight: Option<i64>,
    /// Trimmed before the length check.
    #[schema(min_length = 1, max_length = 300)]
    pub question: String,
    /// The options, in display order; each trimmed before the length check.
    #[schema(min_items = 2, max_items = 20)]
    pub options: Vec<String>,
    /// When the poll closes by itself once open (RFC 3339, in the future),
    /// unless the event's `settings.auto_poll_close` is false.
    #[serde(default)]
    #[schema(default = json!(null))]
    pub closes_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Creates a draft poll on a live event (and one of its fights).
pub async fn create(state: &AppState, author: i64, new: NewPoll) -> Result<Value, ApiError> {
    let question = validate::text("question", &new.question, 1, 300)?;
    if !(2..=20).contains(&new.options.len()) {
        return Err(ApiError::invalid("options", "must have 2 to 20 options"));
    }
    if new.closes_at.is_some_and(|t| t <= chrono::Utc::now()) {
        return Err(ApiError::invalid("closes_at", "must be in the future"));
    }
    let options = new
        .options
        .iter()
        .map(|o| validate::line("options", o, 1, 100))
        .collect::<Result<Vec<_>, _>>()?;
    state
        .db
        .transaction(move |conn| {
            crate::db::live_events::find(conn, new.live_event).map_err(refers("live_event"))?;
            let poll = polls::create(
                conn,
                new.live_event,
                new.live_fight,
                &question,
                &options,
                author,
                new.closes_at,
            )
            .map_err(|e| match ApiError::from(e) {
                ApiError::BadRequest { .. } if new.live_fight.is_some() => {
                    ApiError::invalid("live_fight", "is not a fight of this live event")
                }
                other => other,
            })?;
            Ok::<_, ApiError>(polls::view(conn, &poll)?)
        })
        .await
}

/// Opens a draft poll (`to` = `open`), or closes an open one (`closed`: the
/// final result goes out).
pub async fn transition(state: &AppState, id: i64, to: &'static str) -> Result<Value, ApiError> {
    publishing(state, move |conn| transition_in(conn, id, to)).await
}

/// A poll's transition in the caller's transaction: the poll after it and
/// what it published.
pub fn transition_in(
    conn: &mut diesel::PgConnection,
    id: i64,
    to: &'static str,
) -> Result<(Value, Vec<crate::db::channels::Published>), ApiError> {
    let poll = polls::find_for_update(conn, id).map_err(|e| named("poll")(e.into()))?;
    let allowed = matches!(
        (poll.status.as_str(), to),
        ("draft", "open") | ("open", "closed")
    );
    if !allowed {
        return Err(ApiError::Conflict {
            code: crate::error::ConflictCode::InvalidTransition,
            message: format!("a {} poll cannot be {to}", poll.status),
        });
    }
    let (view, mut published) = polls::set_status(conn, id, to)?;
    // The event's snapshot lists its open polls: a fan who joins after
    // the opening must see it.
    for p in &mut published {
        if let ringside_actors::Channel::Event(event) = p.channel {
            p.snapshot = Some(crate::db::snapshots::event(conn, event)?);
        }
    }
    super::automation::replan(conn, poll.live_event_id, super::automation::Scope::Polls)?;
    Ok((view, published))
}

/// Drafts are the moderators' until they open.
fn sees_drafts(viewer: Option<&User>) -> bool {
    viewer.is_some_and(|u| u.role().includes(Role::Moderator))
}

/// One poll as `viewer` may see it (a draft is `not_found` to fans).
pub async fn detail(state: &AppState, viewer: Option<&User>, id: i64) -> Result<Value, ApiError> {
    let drafts = sees_drafts(viewer);
    state
        .db
        .run(move |c| {
            let poll = polls::find(c, id).map_err(|e| named("poll")(e.into()))?;
            if poll.status == "draft" && !drafts {
                return Err(ApiError::not_found("poll"));
            }
            Ok(polls::view(c, &poll)?)
        })
        .await
}

/// A page of polls (of one live event with `event`), as `viewer` may see them.
pub async fn list(
    state: &AppState,
    viewer: Option<&User>,
    event: Option<i64>,
    page: PageParams,
) -> Result<Page<Value>, ApiError> {
    let drafts = sees_drafts(viewer);
    let limit = page.limit()?;
    let rows = state
        .db
        .run(move |c| {
            polls::list(c, event, drafts, &page, limit)?
                .iter()
                .map(|p| polls::view(c, p))
                .collect::<diesel::QueryResult<Vec<Value>>>()
                .map_err(ApiError::from)
        })
        .await?;
    Ok(Page::from_rows(rows, limit, |p| {
        p["id"].as_i64().unwrap_or_default()
    }))
}
