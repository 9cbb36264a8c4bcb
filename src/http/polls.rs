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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPoll {
    live_event: i64,
    #[serde(default)]
    live_fight: Option<i64>,
    question: String,
    options: Vec<String>,
}

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
                code: "invalid_transition",
                message: format!("a {} poll cannot be {to}", poll.status),
            });
        }
        Ok(polls::set_status(conn, id, to)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

async fn open(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    transition(&state, id.into_inner(), "open").await
}

async fn close(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    transition(&state, id.into_inner(), "closed").await
}

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
