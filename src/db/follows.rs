//! Users follow fighters and events; push notifications target followers.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::pagination::PageParams;
use super::schema::follows;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = follows)]
pub struct Follow {
    pub id: i64,
    #[serde(rename = "user")]
    /// The follower's user id.
    pub user_id: i64,
    #[schema(value_type = ringside_actors::vocabulary::FollowTarget)]
    pub target_type: String,
    /// The followed fighter's or (catalog) event's id.
    pub target_id: i64,
    /// Push notifications about the target go to this follower (true for every new follow).
    pub notify: bool,
    pub created_at: DateTime<Utc>,
}

/// Follows a fighter or event; following again returns the existing follow.
pub fn follow(
    conn: &mut PgConnection,
    user: i64,
    target_type: &str,
    target_id: i64,
) -> QueryResult<(Follow, bool)> {
    let inserted = diesel::insert_into(follows::table)
        .values((
            follows::user_id.eq(user),
            follows::target_type.eq(target_type),
            follows::target_id.eq(target_id),
        ))
        .on_conflict_do_nothing()
        .returning(Follow::as_returning())
        .get_result(conn)
        .optional()?;
    match inserted {
        Some(f) => Ok((f, true)),
        None => follows::table
            .filter(follows::user_id.eq(user))
            .filter(follows::target_type.eq(target_type))
            .filter(follows::target_id.eq(target_id))
            .select(Follow::as_select())
            .first(conn)
            .map(|f| (f, false)),
    }
}

pub fn unfollow(
    conn: &mut PgConnection,
    user: i64,
    target_type: &str,
    target_id: i64,
) -> QueryResult<usize> {
    diesel::delete(
        follows::table
            .filter(follows::user_id.eq(user))
            .filter(follows::target_type.eq(target_type))
            .filter(follows::target_id.eq(target_id)),
    )
    .execute(conn)
}

pub fn list(
    conn: &mut PgConnection,
    user: i64,
    page: &PageParams,
    limit: i64,
) -> QueryResult<Vec<Follow>> {
    page_query!(follows, Follow, page, limit)
        .filter(follows::user_id.eq(user))
        .load(conn)
}
