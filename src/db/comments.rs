//! Live comments: stored, numbered on `comments:{event}` when shown, and
//! every later change of visibility (hide, delete, restore) numbered too, so
//! clients that follow the channel stay in step with what is stored.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use ringside_actors::room::FanoutHint;
use ringside_actors::Channel;
use serde::Serialize;
use serde_json::{json, Value};

use super::channels::{self, Published};
use super::models::LiveComment;
use super::pagination::PageParams;
use super::schema::{comment_reports, live_comments, users};

/// A comment with its author's name, as lists and frames show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Comment, description = r#"A live comment with its author's display name (also the `data` of `comment` frames and of the `ack` of the WebSocket `comment` op)."#, example = json!({"id": 812, "live_event": 1, "live_fight": 3, "user": 42, "user_display_name": "Ana", "content": "What a jab!", "parent_comment": null, "status": "active", "like_count": 4, "reply_count": 1, "report_count": 0, "is_verified_user": false, "is_moderator": false, "seq": 57, "moderated_by": null, "moderated_at": null, "moderation_reason": null, "created_at": "2026-12-05T21:04:11.512Z", "updated_at": "2026-12-05T21:05:02.018Z"}))]
pub struct CommentView {
    #[serde(flatten)]
    pub comment: LiveComment,
    /// The author's display name now.
    pub user_display_name: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = live_comments)]
pub struct NewCommentRow {
    pub live_event_id: i64,
    pub live_fight_id: Option<i64>,
    pub user_id: i64,
    pub content: String,
    pub parent_comment_id: Option<i64>,
    pub status: String,
    pub is_verified_user: bool,
    pub is_moderator: bool,
    pub moderation_reason: Option<String>,
}

pub fn insert(conn: &mut PgConnection, row: &NewCommentRow) -> QueryResult<LiveComment> {
    let comment = diesel::insert_into(live_comments::table)
        .values(row)
        .returning(LiveComment::as_returning())
        .get_result(conn)?;
    if let Some(parent) = row.parent_comment_id {
        diesel::update(live_comments::table.find(parent))
            .set(live_comments::reply_count.eq(live_comments::reply_count + 1))
            .execute(conn)?;
    }
    Ok(comment)
}

pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<LiveComment> {
    live_comments::table
        .find(id)
        .select(LiveComment::as_select())
        .first(conn)
}

pub fn find_for_update(conn: &mut PgConnection, id: i64) -> QueryResult<LiveComment> {
    live_comments::table
        .find(id)
        .for_update()
        .select(LiveComment::as_select())
        .first(conn)
}

fn display_name(conn: &mut PgConnection, user: i64) -> QueryResult<String> {
    users::table
        .find(user)
        .select(users::display_name)
        .first(conn)
}

pub fn view(conn: &mut PgConnection, comment: LiveComment) -> QueryResult<CommentView> {
    let user_display_name = display_name(conn, comment.user_id)?;
    Ok(CommentView {
        comment,
        user_display_name,
    })
}

/// Rows of (comment, author's name) as views.
fn views(rows: Vec<(LiveComment, String)>) -> Vec<CommentView> {
    rows.into_iter()
        .map(|(comment, user_display_name)| CommentView {
            comment,
            user_display_name,
        })
        .collect()
}

fn to_json(view: &CommentView) -> QueryResult<Value> {
    serde_json::to_value(view).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
}

/// Shows a comment: numbers it on its event's comment channel (keeping the
/// first position on the row) and returns the `comment` message.
pub fn publish(conn: &mut PgConnection, view: &mut CommentView) -> QueryResult<Published> {
    let channel = Channel::Comments(view.comment.live_event_id);
    let (epoch, seq) = channels::next_position(conn, &channel)?;
    if view.comment.seq.is_none() {
        view.comment.seq = Some(seq as i64);
        diesel::update(live_comments::table.find(view.comment.id))
            .set(live_comments::seq.eq(view.comment.seq))
            .execute(conn)?;
    }
    let data = to_json(view)?;
    let mut published = channels::store(conn, &channel, epoch, seq, "comment", &data)?;
    let reply_to = match view.comment.parent_comment_id {
        Some(parent) => Some(find(conn, parent)?.user_id),
        None => None,
    };
    published.hint = Some(FanoutHint {
        always: view.comment.is_moderator || view.comment.is_verified_user,
        author: Some(view.comment.user_id),
        reply_to,
    });
    Ok(published)
}

/// A comment in the moderation queue: held or hidden, or shown with open
/// reports (an expression, for queries of different shapes).
macro_rules! in_queue {
    () => {
        live_comments::status
            .eq_any(["held", "hidden"])
            .or(live_comments::status.eq("active").and(
                live_comments::id.eq_any(
                    comment_reports::table
                        .filter(comment_reports::status.eq("open"))
                        .select(comment_reports::comment_id),
                ),
            ))
    };
}

/// `queue` on the event's staff channel: a comment entered the moderation
/// queue (`reason`: `held` or `reported`).
pub fn publish_to_queue(
    conn: &mut PgConnection,
    view: &CommentView,
    reason: &str,
) -> QueryResult<Published> {
    let data = json!({
        "reason": reason,
        "comment": view,
        "reports": view.comment.report_count,
    });
    channels::append(
        conn,
        &Channel::Moderation(view.comment.live_event_id),
        "queue",
        &data,
    )
}

/// The number of comments of one live event in the moderation queue.
pub fn queue_size(conn: &mut PgConnection, live_event: i64) -> QueryResult<i64> {
    live_comments::table
        .filter(live_comments::live_event_id.eq(live_event))
        .filter(in_queue!())
        .count()
        .get_result(conn)
}

/// A comment leaves the screen (hidden or deleted): `comment_removed`.
pub fn publish_removal(conn: &mut PgConnection, comment: &LiveComment) -> QueryResult<Published> {
    channels::append(
        conn,
        &Channel::Comments(comment.live_event_id),
        "comment_removed",
        &json!({ "id": comment.id, "status": comment.status, "reason": comment.moderation_reason }),
    )
}

/// Sets a comment's status as a moderation decision (or an automatic one
/// when `moderator` is `None`).
pub fn set_status(
    conn: &mut PgConnection,
    id: i64,
    status: &str,
    moderator: Option<i64>,
    reason: &str,
) -> QueryResult<LiveComment> {
    diesel::update(live_comments::table.find(id))
        .set((
            live_comments::status.eq(status),
            live_comments::moderated_by.eq(moderator),
            live_comments::moderated_at.eq(diesel::dsl::now),
            live_comments::moderation_reason.eq(reason),
        ))
        .returning(LiveComment::as_returning())
        .get_result(conn)
}

/// When the user last commented on this event (for slow mode).
pub fn last_comment_at(
    conn: &mut PgConnection,
    user: i64,
    live_event: i64,
) -> QueryResult<Option<DateTime<Utc>>> {
    live_comments::table
        .filter(live_comments::user_id.eq(user))
        .filter(live_comments::live_event_id.eq(live_event))
        .select(diesel::dsl::max(live_comments::created_at))
        .first(conn)
}

/// The user's comments since `after`, newest first (for repeat detection).
pub fn recent_contents(
    conn: &mut PgConnection,
    user: i64,
    after: DateTime<Utc>,
) -> QueryResult<Vec<String>> {
    live_comments::table
        .filter(live_comments::user_id.eq(user))
        .filter(live_comments::created_at.gt(after))
        .order(live_comments::id.desc())
        .limit(20)
        .select(live_comments::content)
        .load(conn)
}

/// Which comments a list shows.
pub enum Visibility {
    /// What everyone sees: active comments.
    Public,
    /// Moderators: every status.
    All,
}

pub fn list(
    conn: &mut PgConnection,
    live_event: i64,
    parent: Option<i64>,
    visibility: Visibility,
    page: &PageParams,
    limit: i64,
) -> QueryResult<Vec<CommentView>> {
    let mut q = live_comments::table
        .inner_join(users::table)
        .filter(live_comments::live_event_id.eq(live_event))
        .select((LiveComment::as_select(), users::display_name))
        .order(live_comments::id)
        .limit(limit + 1)
        .into_boxed();
    if let Some(c) = page.cursor {
        q = q.filter(live_comments::id.gt(c.0));
    }
    if let Some(p) = parent {
        q = q.filter(live_comments::parent_comment_id.eq(p));
    }
    if let Visibility::Public = visibility {
        q = q.filter(live_comments::status.eq("active"));
    }
    q.load::<(LiveComment, String)>(conn).map(views)
}

/// One author's latest comments in any status, newest first.
pub fn by_user(conn: &mut PgConnection, user: i64, limit: i64) -> QueryResult<Vec<LiveComment>> {
    live_comments::table
        .filter(live_comments::user_id.eq(user))
        .order(live_comments::id.desc())
        .limit(limit)
        .select(LiveComment::as_select())
        .load(conn)
}

/// The moderation queue: held or hidden comments, and active ones with open
/// reports, oldest first.
pub fn queue(
    conn: &mut PgConnection,
    page: &PageParams,
    limit: i64,
) -> QueryResult<Vec<CommentView>> {
    let mut q = live_comments::table
        .inner_join(users::table)
        .filter(in_queue!())
        .select((LiveComment::as_select(), users::display_name))
        .order(live_comments::id)
        .limit(limit + 1)
        .into_boxed();
    if let Some(c) = page.cursor {
        q = q.filter(live_comments::id.gt(c.0));
    }
    q.load::<(LiveComment, String)>(conn).map(views)
}

/// Records a report (once per reporter) and returns the comment's new
/// report count.
pub fn report(
    conn: &mut PgConnection,
    comment: i64,
    reporter: i64,
    reason: &str,
) -> QueryResult<i32> {
    diesel::insert_into(comment_reports::table)
        .values((
            comment_reports::comment_id.eq(comment),
            comment_reports::reporter_id.eq(reporter),
            comment_reports::reason.eq(reason),
        ))
        .execute(conn)?;
    diesel::update(live_comments::table.find(comment))
        .set(live_comments::report_count.eq(live_comments::report_count + 1))
        .returning(live_comments::report_count)
        .get_result(conn)
}

/// Closes a comment's open reports: upheld when it was removed, dismissed
/// when it was restored.
pub fn resolve_reports(
    conn: &mut PgConnection,
    comment: i64,
    moderator: i64,
    upheld: bool,
) -> QueryResult<usize> {
    diesel::update(
        comment_reports::table
            .filter(comment_reports::comment_id.eq(comment))
            .filter(comment_reports::status.eq("open")),
    )
    .set((
        comment_reports::status.eq(if upheld { "upheld" } else { "dismissed" }),
        comment_reports::resolved_by.eq(moderator),
        comment_reports::resolved_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
}
