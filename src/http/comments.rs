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

#[utoipa::path(
    post,
    path = "/api/live/comments/",
    tags = ["engagement"],
    operation_id = "createComment",
    summary = r#"Post a comment"#,
    description = r#"Posts a comment on a live event, optionally about one of its fights and optionally as a reply to one of its shown comments. The same operation is the WebSocket `comment` op (see the `websocket` tag). Unknown fields are refused. Checks, in order: `content` (trimmed, 1 to 1000 characters); the author's rate limit (`COMMENT_RATE_LIMIT` comments a minute per user, default 10, burst half of that; one quota for the user over every node); then, in the write's transaction, the account (a ban answers 403 `banned`), the live event (it must exist and not be `completed` or `cancelled`), mutes (on this live event or everywhere: 403 `muted`) and slow mode (one comment per `slow_mode_seconds` per user on this live event: 429 `slow_mode`), both of which moderators and admins are exempt from; then the content filter and the thread. A refusal stores nothing.

The content filter catches blocked terms (a built-in list plus `MODERATION_BLOCKED_TERMS`, also through case, spacing and punctuation inside a word, stretched letters and letter-for-digit or symbol swaps), link spam (more than 1 link) and the same message again from the same user within 5 minutes. With `MODERATION_FILTER_ACTION=refuse` (the default) a caught comment is refused with 422 `content_rejected`; with `hold` it is stored with status `held` (`moderation_reason` says why, `seq` null), is neither shown nor broadcast, is logged as `hold_comment` and waits in the moderation queue (restoring it releases it).

A shown comment is numbered on `comments:{live_event}` (`seq`) and broadcast there as `comment` (subject to the fan-out budget, see the `websocket` tag). A reply adds one to its parent's `reply_count`. The comment is logged in the author's activity (`comment`). The answer comes once the comment is stored. Requires role: `viewer` (any signed-in user); only the token is checked up front, the account is loaded in the write's transaction."#,
    security(("bearerAuth" = ["viewer"])),
    request_body(content = ringside_actors::writes::CommentInput, example = json!({"live_event": 1, "live_fight": 3, "content": "What a jab!", "parent_comment": null})),
    responses(
        (status = 201, description = r#"The stored comment (`status` `active`, or `held` under `MODERATION_FILTER_ACTION=hold`)."#, body = crate::db::comments::CommentView),
        (status = 400, description = r#"`bad_request`: malformed body or an unknown field, or a field failed validation; `details` names the field: `content` (not 1 to 1000 characters after trimming), `live_event` (refers to something that does not exist), `live_fight` (not a fight of this live event), `parent_comment` (does not exist, is a comment of another live event, or is not shown)."#),
        (status = 401, description = r#"`unauthorized`: no token, or a malformed, invalid or expired one (or its account no longer exists)."#),
        (status = 403, response = crate::http::openapi::schemas::CommentForbidden),
        (status = 409, description = r#"`invalid_transition`: the live event is `completed` or `cancelled`."#),
        (status = 422),
        (status = 429, response = crate::http::openapi::schemas::CommentThrottled),
    )
)]
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
#[utoipa::path(
    get,
    path = "/api/live/comments/",
    tags = ["engagement"],
    operation_id = "listComments",
    summary = r#"List a live event's comments"#,
    description = r#"The shown (`active`) comments of one live event, oldest first (ascending id), each with its author's display name. `since` starts after a comment id (to catch up from the last comment seen; a `cursor` overrides it); `parent` lists one comment's replies. Held, hidden and deleted comments are left out (moderators find them in `GET /api/moderation/queue/`). Every stored comment is listed here, including those the WebSocket fan-out budget left out of a connection's stream (see the `websocket` tag). Public."#,
    params(
        crate::db::pagination::PageParams,
        ("event" = i64, Query, description = r#"The live event (id) whose comments to list."#),
        ("since" = Option<i64>, Query, description = r#"Only comments after this comment id. Ignored when `cursor` is given."#),
        ("parent" = Option<i64>, Query, description = r#"Only the replies to this comment (id)."#),
    ),
    responses(
        (status = 200, description = r#"A page of comments."#, body = crate::http::openapi::schemas::CommentPage),
        (status = 400, description = r#"`bad_request`: `event` missing (`details`: `{"event": "is required"}`), `limit` out of range, or a `cursor`, `event`, `since` or `parent` that does not parse."#),
        (status = 404, description = r#"`not_found`: live event not found."#),
    )
)]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CommentReportRequest, description = r#"Unknown fields are refused."#)]
struct ReportBody {
    /// Trimmed before the length check.
    #[schema(min_length = 1, max_length = 500)]
    reason: String,
}

#[utoipa::path(
    post,
    path = "/api/live/comments/{id}/report/",
    tags = ["engagement"],
    operation_id = "reportComment",
    summary = r#"Report a comment"#,
    description = r#"Reports a comment to the moderators, once per user; the `reason` (trimmed, 1 to 500 characters) is kept with the report. Unknown fields are refused. When its report count reaches `MODERATION_AUTO_HIDE_REPORTS` (default 3), a shown (`active`) comment is hidden pending review (`status` `hidden`, `moderation_reason` `N reports`, logged as `auto_hide_comment` with no moderator) and `comment_removed` is numbered and broadcast on `comments:{live_event}`. A shown comment with open reports is in the moderation queue until a moderator hides, deletes or restores it. Requires role: `viewer` (any signed-in user); only the token is checked up front, the account is loaded in the write's transaction."#,
    security(("bearerAuth" = ["viewer"])),
    request_body(content = ReportBody, example = json!({"reason": "abusive"})),
    responses(
        (status = 201, description = r#"The report was recorded."#, body = crate::http::openapi::schemas::CommentReportResult),
        (status = 400, description = r#"`bad_request`: malformed body or an unknown field, `reason` missing or not 1 to 500 characters, or the comment is the caller's own (`details`: `{"comment": "you cannot report your own comment"}`)."#),
        (status = 401, description = r#"`unauthorized`: no token, or a malformed, invalid or expired one (or its account no longer exists)."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
        (status = 404, description = r#"`not_found`: comment not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`already_exists`: the caller already reported this comment."#),
    )
)]
async fn report(
    token: TokenUser,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<ReportBody>,
) -> Result<HttpResponse, ApiError> {
    let answer = report_comment(&state, token, id.into_inner(), body.into_inner().reason).await?;
    Ok(created(answer))
}
