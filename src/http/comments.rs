//! Live comments over REST: post (the same path as the WebSocket `comment`
//! op), list and thread, report.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{created, query, resource};
use crate::auth::TokenUser;
use crate::db::comments::{self, Visibility};
use crate::db::pagination::{Cursor, Page, PageParams};
use crate::error::ApiError;
use crate::features::comments::{post, report as report_comment};
use crate::state::AppState;
use ringside_actors::writes::CommentInput;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/live/comments/").get(list).post(create))
        .service(resource("/api/live/comments/{id}/report/").post(report));
}

async fn create(
    token: TokenUser,
    state: web::Data<AppState>,
    body: web::Json<CommentInput>,
) -> Result<HttpResponse, ApiError> {
    let view = post(&state, token, None, body.into_inner()).await?;
    Ok(created(view))
}

#[derive(Deserialize)]
struct ListFilter {
    event: Option<i64>,
    /// Comments after this comment id.
    since: Option<i64>,
    parent: Option<i64>,
}

/// The shown comments of an event, oldest first: `since` starts after a
/// comment id, `parent` lists one thread's replies.
async fn list(
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
    filter: web::Query<ListFilter>,
) -> Result<HttpResponse, ApiError> {
    let event = filter
        .event
        .ok_or_else(|| ApiError::invalid("event", "is required"))?;
    let limit = page.limit()?;
    let mut page = page.into_inner();
    if page.cursor.is_none() {
        page.cursor = filter.since.map(Cursor);
    }
    let parent = filter.parent;
    let rows = query(&state.db, move |c| {
        crate::db::live_events::find(c, event)?;
        comments::list(c, event, parent, Visibility::Public, &page, limit)
    })
    .await
    .map_err(super::named("live event"))?;
    Ok(HttpResponse::Ok().json(json!(Page::from_rows(rows, limit, |v| v.comment.id))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportBody {
    reason: String,
}

async fn report(
    token: TokenUser,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<ReportBody>,
) -> Result<HttpResponse, ApiError> {
    let answer = report_comment(&state, token, id.into_inner(), body.into_inner().reason).await?;
    Ok(created(answer))
}
