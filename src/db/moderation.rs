//! Moderation records: sanctions (mutes per event or everywhere, bans), slow
//! mode, and the log of every moderator action (who, what, when, why).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

use super::pagination::PageParams;
use super::schema::{live_events, moderation_actions, user_sanctions, users};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = moderation_actions)]
#[schema(description = r#"One entry of the moderation log."#)]
pub struct ModerationAction {
    pub id: i64,
    #[serde(rename = "moderator")]
    /// The moderator's user id; null for automatic actions (`hold_comment`, `auto_hide_comment`) or once the account is deleted.
    #[schema(required = true)]
    pub moderator_id: Option<i64>,
    /// What was done. `unmute_user`, `unban_user` and `dismiss_report` are reserved: no operation records them yet.
    #[schema(value_type = ringside_actors::vocabulary::ModerationAction)]
    pub action: String,
    /// What `target_id` is: a comment, a user, a live event (`event`), a live update or a report.
    #[schema(value_type = ringside_actors::vocabulary::ModerationTarget)]
    pub target_type: String,
    pub target_id: i64,
    #[serde(rename = "live_event")]
    /// The live event (id) concerned, if any (null for a ban or a mute everywhere).
    #[schema(required = true)]
    pub live_event_id: Option<i64>,
    /// The moderator's reason (may be empty), or the filter's verdict for `hold_comment`.
    pub reason: String,
    /// Per action: `{"from": <previous status>}` for comment decisions, `{"reports"}` for `auto_hide_comment`, `{"minutes", "until"}` for `mute_user`, `{"seconds"}` for `slow_mode`, otherwise `{}`.
    #[schema(value_type = Object)]
    pub details: Value,
    pub created_at: DateTime<Utc>,
}

/// One entry of the log. `moderator` is `None` for automatic actions.
pub struct Action<'a> {
    pub moderator: Option<i64>,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: i64,
    pub live_event: Option<i64>,
    pub reason: &'a str,
    pub details: Value,
}

pub fn record(conn: &mut PgConnection, a: Action<'_>) -> QueryResult<ModerationAction> {
    diesel::insert_into(moderation_actions::table)
        .values((
            moderation_actions::moderator_id.eq(a.moderator),
            moderation_actions::action.eq(a.action),
            moderation_actions::target_type.eq(a.target_type),
            moderation_actions::target_id.eq(a.target_id),
            moderation_actions::live_event_id.eq(a.live_event),
            moderation_actions::reason.eq(a.reason),
            moderation_actions::details.eq(a.details),
        ))
        .returning(ModerationAction::as_returning())
        .get_result(conn)
}

/// Newest first; the cursor is the last id seen.
pub fn actions(
    conn: &mut PgConnection,
    page: &PageParams,
    limit: i64,
) -> QueryResult<Vec<ModerationAction>> {
    let mut q = moderation_actions::table
        .select(ModerationAction::as_select())
        .order(moderation_actions::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(c) = page.cursor {
        q = q.filter(moderation_actions::id.lt(c.0));
    }
    q.load(conn)
}

/// What was done to one user, newest first.
pub fn actions_on_user(
    conn: &mut PgConnection,
    user: i64,
    limit: i64,
) -> QueryResult<Vec<ModerationAction>> {
    moderation_actions::table
        .filter(moderation_actions::target_type.eq("user"))
        .filter(moderation_actions::target_id.eq(user))
        .select(ModerationAction::as_select())
        .order(moderation_actions::id.desc())
        .limit(limit)
        .load(conn)
}

/// A user's mutes that are neither lifted nor over.
fn mutes_in_force(user: i64) -> user_sanctions::BoxedQuery<'static, diesel::pg::Pg> {
    user_sanctions::table
        .filter(user_sanctions::user_id.eq(user))
        .filter(user_sanctions::kind.eq("mute"))
        .filter(user_sanctions::revoked_at.is_null())
        .filter(
            user_sanctions::expires_at
                .is_null()
                .or(user_sanctions::expires_at.gt(Utc::now())),
        )
        .into_boxed()
}

/// A mute in force.
#[derive(Debug, Queryable, Serialize)]
pub struct Mute {
    /// `None`: everywhere.
    pub live_event: Option<i64>,
    /// `None`: until lifted.
    pub until: Option<DateTime<Utc>>,
    pub reason: String,
}

/// A user's mutes in force, newest first.
pub fn active_mutes(conn: &mut PgConnection, user: i64) -> QueryResult<Vec<Mute>> {
    mutes_in_force(user)
        .order(user_sanctions::id.desc())
        .select((
            user_sanctions::live_event_id,
            user_sanctions::expires_at,
            user_sanctions::reason,
        ))
        .load(conn)
}

/// Mutes `user` until `until` (`None`: until lifted), on one live event or
/// everywhere.
pub fn mute(
    conn: &mut PgConnection,
    user: i64,
    live_event: Option<i64>,
    until: Option<DateTime<Utc>>,
    moderator: i64,
    reason: &str,
) -> QueryResult<(i64, Option<DateTime<Utc>>)> {
    diesel::insert_into(user_sanctions::table)
        .values((
            user_sanctions::user_id.eq(user),
            user_sanctions::kind.eq("mute"),
            user_sanctions::live_event_id.eq(live_event),
            user_sanctions::expires_at.eq(until),
            user_sanctions::reason.eq(reason),
            user_sanctions::created_by.eq(moderator),
        ))
        .returning((user_sanctions::id, user_sanctions::expires_at))
        .get_result(conn)
}

/// Whether `user` is muted on `live_event` now: `Some(until)` (`None` inside
/// means indefinitely).
pub fn active_mute(
    conn: &mut PgConnection,
    user: i64,
    live_event: i64,
) -> QueryResult<Option<Option<DateTime<Utc>>>> {
    let mutes: Vec<Option<DateTime<Utc>>> = mutes_in_force(user)
        .filter(
            user_sanctions::live_event_id
                .is_null()
                .or(user_sanctions::live_event_id.eq(live_event)),
        )
        .select(user_sanctions::expires_at)
        .load(conn)?;
    Ok(match mutes.iter().any(Option::is_none) {
        true => Some(None),
        false => mutes.into_iter().flatten().max().map(Some),
    })
}

/// Bans `user`: their tokens stop working at once (auth checks
/// `banned_at`). Returns false if they were already banned.
pub fn ban(conn: &mut PgConnection, user: i64, moderator: i64, reason: &str) -> QueryResult<bool> {
    let changed = diesel::update(users::table.find(user).filter(users::banned_at.is_null()))
        .set(users::banned_at.eq(diesel::dsl::now))
        .execute(conn)?;
    if changed == 0 {
        return Ok(false);
    }
    diesel::insert_into(user_sanctions::table)
        .values((
            user_sanctions::user_id.eq(user),
            user_sanctions::kind.eq("ban"),
            user_sanctions::reason.eq(reason),
            user_sanctions::created_by.eq(moderator),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Sets slow mode on a live event (0 turns it off).
pub fn set_slow_mode(conn: &mut PgConnection, live_event: i64, seconds: i32) -> QueryResult<()> {
    diesel::update(live_events::table.find(live_event))
        .set(live_events::slow_mode_seconds.eq(seconds))
        .execute(conn)
        .and_then(|n| match n {
            0 => Err(diesel::result::Error::NotFound),
            _ => Ok(()),
        })
}

/// Lifts `user`'s active mutes (on one live event, or all of them when
/// `live_event` is `None`); returns how many were lifted.
pub fn unmute(conn: &mut PgConnection, user: i64, live_event: Option<i64>) -> QueryResult<usize> {
    let now = Utc::now();
    let active = user_sanctions::table
        .filter(user_sanctions::user_id.eq(user))
        .filter(user_sanctions::kind.eq("mute"))
        .filter(user_sanctions::revoked_at.is_null())
        .filter(
            user_sanctions::expires_at
                .is_null()
                .or(user_sanctions::expires_at.gt(now)),
        );
    match live_event {
        Some(event) => diesel::update(active.filter(user_sanctions::live_event_id.eq(event)))
            .set(user_sanctions::revoked_at.eq(now))
            .execute(conn),
        None => diesel::update(active)
            .set(user_sanctions::revoked_at.eq(now))
            .execute(conn),
    }
}

/// Lifts a ban; returns false if the user was not banned.
pub fn unban(conn: &mut PgConnection, user: i64) -> QueryResult<bool> {
    let changed = diesel::update(
        users::table
            .find(user)
            .filter(users::banned_at.is_not_null()),
    )
    .set(users::banned_at.eq(None::<DateTime<Utc>>))
    .execute(conn)?;
    diesel::update(
        user_sanctions::table
            .filter(user_sanctions::user_id.eq(user))
            .filter(user_sanctions::kind.eq("ban"))
            .filter(user_sanctions::revoked_at.is_null()),
    )
    .set(user_sanctions::revoked_at.eq(diesel::dsl::now))
    .execute(conn)?;
    Ok(changed > 0)
}
