//! Live polls: moderators create, open and close them (open and close are
//! numbered `poll` messages on the event's channel, and the fight's); users
//! vote once (the same path as the WebSocket `vote` op).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{created, named, publishing, query, resource};
use crate::auth::{Auth, MaybeAuth, Moderator, TokenUser};
use crate::db::pagination::{Page, PageParams};
use crate::db::polls;
use crate::error::ApiError;
use crate::features::polls::vote as cast;
use crate::state::AppState;
use crate::validate;
use ringside_actors::writes::Ballot;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/live/polls/").get(list).post(create))
        .service(resource("/api/live/polls/{id}/").get(detail))
        .service(resource("/api/live/polls/{id}/open/").post(open))
        .service(resource("/api/live/polls/{id}/close/").post(close))
        .service(resource("/api/live/polls/{id}/vote/").post(vote));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PollCreate, description = r#"Unknown fields are refused."#)]
struct NewPoll {
    /// Live event id; must exist.
    live_event: i64,
    #[serde(default)]
    /// A live fight on this live event's card.
    #[schema(default = json!(null))]
    live_fight: Option<i64>,
    /// Trimmed before the length check.
    #[schema(min_length = 1, max_length = 300)]
    question: String,
    /// The options, in display order; each trimmed before the length check.
    #[schema(min_items = 2, max_items = 20)]
    options: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/api/live/polls/",
    tags = ["engagement"],
    operation_id = "createPoll",
    summary = r#"Create a poll"#,
    description = r#"Creates a poll (status `draft`) on a live event, optionally about one of its fights, with 2 to 20 options in the order given. Nothing is broadcast and no votes are taken until it is opened. `question` and the options are trimmed. Unknown fields are refused. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = NewPoll, example = json!({"live_event": 1, "live_fight": 3, "question": "Who wins?", "options": ["Ruiz", "Okafor"]})),
    responses(
        (status = 201, description = r#"The created poll (`draft`, no votes)."#, body = crate::http::openapi::schemas::Poll),
        (status = 400, description = r#"`bad_request`: malformed body or an unknown field, or a field failed validation; `details` names the field: `question` (not 1 to 300 characters), `options` (not 2 to 20 options, or an option not 1 to 100 characters), `live_event` (refers to something that does not exist), `live_fight` (not a fight of this live event)."#),
    )
)]
async fn create(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    body: web::Json<NewPoll>,
) -> Result<HttpResponse, ApiError> {
    let new = body.into_inner();
    let question = validate::text("question", &new.question, 1, 300)?;
    if !(2..=20).contains(&new.options.len()) {
        return Err(ApiError::invalid("options", "must have 2 to 20 options"));
    }
    let options = new
        .options
        .iter()
        .map(|o| validate::line("options", o, 1, 100))
        .collect::<Result<Vec<_>, _>>()?;
    let author = auth.user.id;
    let body: Value = state
        .db
        .run(move |conn| {
            use diesel::Connection;
            conn.transaction(|conn| {
                crate::db::live_events::find(conn, new.live_event).map_err(
                    |e| match ApiError::from(e) {
                        ApiError::NotFound(_) => ApiError::invalid(
                            "live_event",
                            "refers to something that does not exist",
                        ),
                        other => other,
                    },
                )?;
                let poll = polls::create(
                    conn,
                    new.live_event,
                    new.live_fight,
                    &question,
                    &options,
                    author,
                )
                .map_err(|e| match ApiError::from(e) {
                    ApiError::BadRequest { .. } if new.live_fight.is_some() => {
                        ApiError::invalid("live_fight", "is not a fight of this live event")
                    }
                    other => other,
                })?;
                Ok::<_, ApiError>(polls::view(conn, &poll)?)
            })
        })
        .await?;
    Ok(created(body))
}

/// Opens a draft poll, or closes an open one (the final result goes out).
async fn transition(state: &AppState, id: i64, to: &'static str) -> Result<HttpResponse, ApiError> {
    let body = publishing(state, move |conn| {
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
        Ok(polls::set_status(conn, id, to)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

#[utoipa::path(
    post,
    path = "/api/live/polls/{id}/open/",
    tags = ["engagement"],
    operation_id = "openPoll",
    summary = r#"Open a poll"#,
    description = r#"Moves a `draft` poll to `open` and sets its `opened_at` to now; votes are taken from then on. No request body. Broadcasts the poll as a numbered `poll` frame on `event:{live_event}` and, for a fight's poll, on `fight:{live_fight}`. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    responses(
        (status = 200, description = r#"The poll after the transition."#, body = crate::http::openapi::schemas::Poll),
        (status = 404, description = r#"`not_found`: poll not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the poll is not `draft`."#),
    )
)]
async fn open(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    transition(&state, id.into_inner(), "open").await
}

#[utoipa::path(
    post,
    path = "/api/live/polls/{id}/close/",
    tags = ["engagement"],
    operation_id = "closePoll",
    summary = r#"Close a poll"#,
    description = r#"Moves an `open` poll to `closed` and sets its `closed_at` to now; no more votes are taken. No request body. Broadcasts the final result (the poll with its tallies) as a numbered `poll` frame on `event:{live_event}` and, for a fight's poll, on `fight:{live_fight}`. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    responses(
        (status = 200, description = r#"The poll after the transition, with its final tallies."#, body = crate::http::openapi::schemas::Poll),
        (status = 404, description = r#"`not_found`: poll not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the poll is not `open`."#),
    )
)]
async fn close(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    transition(&state, id.into_inner(), "closed").await
}

#[utoipa::path(
    post,
    path = "/api/live/polls/{id}/vote/",
    tags = ["engagement"],
    operation_id = "votePoll",
    summary = r#"Vote in a poll"#,
    description = r#"Votes for one of an open poll's options. One vote per user per poll, enforced by the database, so concurrent votes cannot count twice; a vote cannot be changed. The poll's live tallies then go out as an ephemeral `poll` frame (without `seq`) on its channels, at most one per poll per `REACTION_INTERVAL_MS` and read from storage. The same operation is the WebSocket `vote` op. Unknown fields are refused. Rate-limited per user: `VOTE_RATE_LIMIT` votes a second (default 2, burst twice that). Logged in the caller's activity (`vote`). Requires role: `viewer` (any signed-in user); only the token is checked up front, the account is loaded in the write's transaction."#,
    security(("bearerAuth" = ["viewer"])),
    request_body(content = ringside_actors::writes::Ballot, example = json!({"option": 11})),
    responses(
        (status = 201, description = r#"The vote was stored."#, body = crate::http::openapi::schemas::VoteResult),
        (status = 400, description = r#"`bad_request`: malformed body or an unknown field, `option` missing, or `option` not an option of this poll (`details`: `{"option": "is not an option of this poll"}`)."#),
        (status = 401, description = r#"`unauthorized`: no token, or a malformed, invalid or expired one (or its account no longer exists)."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
        (status = 404, description = r#"`not_found`: poll not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`poll_not_open`: the poll is `draft` or `closed`; `already_voted`: the caller already voted in this poll."#),
        (status = 429, description = r#"`rate_limited`: more than `VOTE_RATE_LIMIT` votes a second from this user (burst twice that). `details.retry_after_ms` and the `Retry-After` header say when to come back."#),
    )
)]
async fn vote(
    token: TokenUser,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<Ballot>,
) -> Result<HttpResponse, ApiError> {
    let answer = cast(&state, token, None, id.into_inner(), body.into_inner()).await?;
    Ok(created(answer))
}

/// Drafts are the moderators' until they open.
fn sees_drafts(auth: &MaybeAuth) -> bool {
    auth.0
        .as_ref()
        .is_some_and(|u| u.role().includes(ringside_actors::Role::Moderator))
}

#[utoipa::path(
    get,
    path = "/api/live/polls/{id}/",
    tags = ["engagement"],
    operation_id = "getPoll",
    summary = r#"Get a poll"#,
    description = r#"The poll with its options and current tallies. A draft answers 404 except to moderators and admins. Public."#,
    responses(
        (status = 200, description = r#"The poll."#, body = crate::http::openapi::schemas::Poll),
        (status = 404, description = r#"`not_found`: poll not found (or `id` is not an integer)."#),
    )
)]
async fn detail(
    auth: MaybeAuth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let drafts = sees_drafts(&auth);
    let body = query(&state.db, move |c| {
        let poll = polls::find(c, id)?;
        if poll.status == "draft" && !drafts {
            return Err(diesel::result::Error::NotFound);
        }
        polls::view(c, &poll)
    })
    .await
    .map_err(named("poll"))?;
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Deserialize)]
struct ListFilter {
    event: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/live/polls/",
    tags = ["engagement"],
    operation_id = "listPolls",
    summary = r#"List polls"#,
    description = r#"Polls with their options and current tallies, optionally only those of one live event. Drafts are listed only to moderators and admins (send a token); everyone else sees open and closed polls. Public."#,
    params(
        crate::db::pagination::PageParams,
        ("event" = Option<i64>, Query, description = r#"Only the polls of this live event (id)."#),
    ),
    responses(
        (status = 200, description = r#"A page of polls."#, body = crate::http::openapi::schemas::PollPage),
        (status = 400, description = r#"`bad_request`: `limit` out of range, or a `cursor` or `event` that does not parse."#),
    )
)]
async fn list(
    auth: MaybeAuth,
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
    filter: web::Query<ListFilter>,
) -> Result<HttpResponse, ApiError> {
    let drafts = sees_drafts(&auth);
    let limit = page.limit()?;
    let (page, event) = (page.into_inner(), filter.event);
    let rows = query(&state.db, move |c| {
        polls::list(c, event, drafts, &page, limit)?
            .iter()
            .map(|p| polls::view(c, p))
            .collect::<diesel::QueryResult<Vec<Value>>>()
    })
    .await?;
    Ok(
        HttpResponse::Ok().json(json!(Page::from_rows(rows, limit, |p| p["id"]
            .as_i64()
            .unwrap_or_default()))),
    )
}
