//! The user activity log (view, comment, like, share, follow, react, vote),
//! written inside the batched transaction of the write it describes.

use diesel::prelude::*;
use serde_json::Value;

use super::schema::user_activities;

pub const ACTIVITY_TYPES: [&str; 7] = [
    "view", "comment", "like", "share", "follow", "react", "vote",
];

pub struct Activity<'a> {
    pub user: i64,
    pub activity_type: &'a str,
    pub target: Option<(&'a str, i64)>,
    /// The WebSocket session it came through, if any.
    pub session: Option<String>,
    pub metadata: Value,
}

pub fn record(conn: &mut PgConnection, a: Activity<'_>) -> QueryResult<()> {
    diesel::insert_into(user_activities::table)
        .values((
            user_activities::user_id.eq(a.user),
            user_activities::activity_type.eq(a.activity_type),
            user_activities::target_type.eq(a.target.map(|t| t.0)),
            user_activities::target_id.eq(a.target.map(|t| t.1)),
            user_activities::session_id.eq(a.session),
            user_activities::metadata.eq(a.metadata),
        ))
        .execute(conn)
        .map(|_| ())
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, utoipa::ToSchema)]
#[diesel(table_name = user_activities)]
#[schema(as = Activity, description = r#"One entry of a user's activity log. Targets by type: `view` and `share` as reported; `comment`: the live event (`target_type` `event`, `metadata.comment` the comment id); `like` and `react`: the reaction's target (as in `ReactionTargetType`; `metadata.reaction_type`); `vote`: no target (`metadata`: `{poll, option}`); `follow`: the followed fighter or (catalog) event."#)]
pub struct ActivityRow {
    pub id: i64,
    #[schema(value_type = ringside_actors::vocabulary::ActivityType)]
    pub activity_type: String,
    #[schema(required = true)]
    pub target_type: Option<String>,
    #[schema(required = true)]
    pub target_id: Option<i64>,
    /// For `view` and `share`, the client's; for writes made over WebSocket, the WebSocket session (as in `welcome`); otherwise null.
    #[schema(required = true)]
    pub session_id: Option<String>,
    #[schema(value_type = Object)]
    pub metadata: Value,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A user's activity, newest first; the cursor is the last id seen.
pub fn of_user(
    conn: &mut PgConnection,
    user: i64,
    page: &super::pagination::PageParams,
    limit: i64,
) -> QueryResult<Vec<ActivityRow>> {
    let mut q = user_activities::table
        .filter(user_activities::user_id.eq(user))
        .order(user_activities::id.desc())
        .limit(limit + 1)
        .select(ActivityRow::as_select())
        .into_boxed();
    if let Some(cursor) = page.cursor {
        q = q.filter(user_activities::id.lt(cursor.0));
    }
    q.load(conn)
}
