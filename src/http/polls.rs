//! Live polls over HTTP (the rules: `features/polls.rs`).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::extract::{Auth, MaybeAuth, Moderator};
use super::{created, resource};
use crate::auth::TokenUser;
use crate::db::pagination::PageParams;
use crate::error::ApiError;
use crate::features::polls::{self as rules, NewPoll};
use crate::state::AppState;
use ringside_actors::writes::Ballot;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/live/polls/").get(list).post(create))
        .service(resource("/api/live/polls/{id}/").get(detail))
        .service(resource("/api/live/polls/{id}/open/").post(open))
        .service(resource("/api/live/polls/{id}/close/").post(close))
        .service(resource("/api/live/polls/{id}/vote/").post(vote));
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
    Ok(created(
        rules::create(&state, auth.user.id, body.into_inner()).await?,
    ))
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
    let poll = rules::transition(&state, id.into_inner(), "open").await?;
    Ok(HttpResponse::Ok().json(poll))
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
    let poll = rules::transition(&state, id.into_inner(), "closed").await?;
    Ok(HttpResponse::Ok().json(poll))
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
    let answer = rules::vote(&state, token, None, id.into_inner(), body.into_inner()).await?;
    Ok(created(answer))
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
    let poll = rules::detail(&state, auth.0.as_ref(), id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(poll))
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
    let page = rules::list(&state, auth.0.as_ref(), filter.event, page.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}
