//! Notifications as stored: the in-app record (numbered on `user:{id}` so a
//! connected user gets it at once and a returning one finds it), devices
//! (a token is never duplicated: re-registering moves it), and preferences.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use ringside_actors::Channel;
use serde::Serialize;
use serde_json::Value;

use super::channels::{self, Published};
use super::pagination::PageParams;
use super::schema::{devices, notification_preferences, push_notifications};

pub const NOTIFICATION_TYPES: [&str; 7] = [
    "fight_result",
    "breaking_news",
    "ranking_change",
    "event_start",
    "user_activity",
    "system",
    "emergency",
];

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = push_notifications)]
pub struct Notification {
    pub id: i64,
    #[serde(rename = "recipient")]
    pub recipient_id: Option<i64>,
    pub notification_type: String,
    pub title: String,
    pub message: String,
    pub action_url: Option<String>,
    pub data: Value,
    pub is_read: bool,
    pub read_at: Option<DateTime<Utc>>,
    pub opened_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivery_status: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewNotification {
    pub recipient: i64,
    pub notification_type: String,
    pub title: String,
    pub message: String,
    pub action_url: Option<String>,
    pub data: Value,
}

/// Stores a notification for one user and numbers it on `user:{id}`.
pub fn create(
    conn: &mut PgConnection,
    new: &NewNotification,
) -> QueryResult<(Notification, Published)> {
    let n: Notification = diesel::insert_into(push_notifications::table)
        .values((
            push_notifications::recipient_id.eq(new.recipient),
            push_notifications::notification_type.eq(&new.notification_type),
            // Filled templates can outgrow the columns (long names): cut.
            push_notifications::title.eq(clip(&new.title, 200)),
            push_notifications::message.eq(clip(&new.message, 2000)),
            push_notifications::action_url.eq(&new.action_url),
            push_notifications::data.eq(&new.data),
        ))
        .returning(Notification::as_returning())
        .get_result(conn)?;
    let data = serde_json::to_value(&n)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    let published = channels::append(conn, &Channel::User(new.recipient), "notification", &data)?;
    Ok((n, published))
}

fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// A user's notifications, newest first (the cursor is the last id seen).
pub fn list(
    conn: &mut PgConnection,
    user: i64,
    unread_only: bool,
    page: &PageParams,
    limit: i64,
) -> QueryResult<Vec<Notification>> {
    let mut q = push_notifications::table
        .filter(push_notifications::recipient_id.eq(user))
        .order(push_notifications::id.desc())
        .limit(limit + 1)
        .select(Notification::as_select())
        .into_boxed();
    if unread_only {
        q = q.filter(push_notifications::is_read.eq(false));
    }
    if let Some(c) = page.cursor {
        q = q.filter(push_notifications::id.lt(c.0));
    }
    q.load(conn)
}

pub fn unread(conn: &mut PgConnection, user: i64) -> QueryResult<i64> {
    push_notifications::table
        .filter(push_notifications::recipient_id.eq(user))
        .filter(push_notifications::is_read.eq(false))
        .count()
        .get_result(conn)
}

/// Marks one of the user's notifications read (again is fine: the first
/// time stays); `NotFound` when it is not theirs.
pub fn mark_read(conn: &mut PgConnection, user: i64, id: i64) -> QueryResult<Notification> {
    let mine = push_notifications::table
        .find(id)
        .filter(push_notifications::recipient_id.eq(user));
    diesel::update(mine.filter(push_notifications::is_read.eq(false)))
        .set((
            push_notifications::is_read.eq(true),
            push_notifications::read_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    mine.select(Notification::as_select()).first(conn)
}

/// Marks every unread notification of the user read; returns how many.
pub fn mark_all_read(conn: &mut PgConnection, user: i64) -> QueryResult<usize> {
    diesel::update(
        push_notifications::table
            .filter(push_notifications::recipient_id.eq(user))
            .filter(push_notifications::is_read.eq(false)),
    )
    .set((
        push_notifications::is_read.eq(true),
        push_notifications::read_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
}

/// Records that the user opened it (the first time counts); opening reads it.
pub fn mark_opened(conn: &mut PgConnection, user: i64, id: i64) -> QueryResult<Notification> {
    let mine = push_notifications::table
        .find(id)
        .filter(push_notifications::recipient_id.eq(user));
    diesel::update(mine.filter(push_notifications::opened_at.is_null()))
        .set(push_notifications::opened_at.eq(diesel::dsl::now))
        .execute(conn)?;
    mark_read(conn, user, id)
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = devices)]
pub struct Device {
    pub id: i64,
    #[serde(rename = "user")]
    pub user_id: i64,
    pub platform: String,
    pub token: String,
    pub app_id: String,
    pub is_active: bool,
    pub deactivated_reason: Option<String>,
    pub last_seen_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Registers a device token for `user`. The same token registered again
/// (by this or another user) moves to `user` and is active again: one row
/// per token, never two. Returns the device and whether it is new.
pub fn register_device(
    conn: &mut PgConnection,
    user: i64,
    platform: &str,
    token: &str,
    app_id: &str,
) -> QueryResult<(Device, bool)> {
    let existed: bool = diesel::select(diesel::dsl::exists(
        devices::table
            .filter(devices::platform.eq(platform))
            .filter(devices::token.eq(token)),
    ))
    .get_result(conn)?;
    let device = diesel::insert_into(devices::table)
        .values((
            devices::user_id.eq(user),
            devices::platform.eq(platform),
            devices::token.eq(token),
            devices::app_id.eq(app_id),
        ))
        .on_conflict((devices::platform, devices::token))
        .do_update()
        .set((
            devices::user_id.eq(user),
            devices::app_id.eq(app_id),
            devices::is_active.eq(true),
            devices::deactivated_reason.eq(None::<String>),
            devices::last_seen_at.eq(diesel::dsl::now),
        ))
        .returning(Device::as_returning())
        .get_result(conn)?;
    Ok((device, !existed))
}

/// Deactivates the user's device with this token; false if they have none.
pub fn unregister_device(
    conn: &mut PgConnection,
    user: i64,
    platform: &str,
    token: &str,
) -> QueryResult<bool> {
    diesel::update(
        devices::table
            .filter(devices::user_id.eq(user))
            .filter(devices::platform.eq(platform))
            .filter(devices::token.eq(token))
            .filter(devices::is_active.eq(true)),
    )
    .set((
        devices::is_active.eq(false),
        devices::deactivated_reason.eq("unregistered"),
    ))
    .execute(conn)
    .map(|n| n > 0)
}

/// Preferences as clients read and write them (every field present).
#[derive(Debug, Clone, Queryable, Selectable, Serialize, AsChangeset, Insertable)]
#[diesel(table_name = notification_preferences)]
pub struct Preferences {
    #[serde(rename = "user")]
    pub user_id: i64,
    pub push_enabled: bool,
    pub fight_results: bool,
    pub breaking_news: bool,
    pub ranking_changes: bool,
    pub event_start: bool,
    pub user_activity: bool,
    pub followed_only: bool,
    /// Quiet hours, minutes after midnight in the user's time zone.
    #[diesel(treat_none_as_null = true)]
    pub quiet_start_min: Option<i32>,
    #[diesel(treat_none_as_null = true)]
    pub quiet_end_min: Option<i32>,
}

impl Preferences {
    pub fn defaults(user: i64) -> Preferences {
        Preferences {
            user_id: user,
            push_enabled: true,
            fight_results: true,
            breaking_news: true,
            ranking_changes: true,
            event_start: true,
            user_activity: true,
            followed_only: false,
            quiet_start_min: None,
            quiet_end_min: None,
        }
    }
}

pub fn preferences(conn: &mut PgConnection, user: i64) -> QueryResult<Preferences> {
    Ok(notification_preferences::table
        .find(user)
        .select(Preferences::as_select())
        .first(conn)
        .optional()?
        .unwrap_or_else(|| Preferences::defaults(user)))
}

pub fn set_preferences(conn: &mut PgConnection, prefs: &Preferences) -> QueryResult<Preferences> {
    diesel::insert_into(notification_preferences::table)
        .values(prefs)
        .on_conflict(notification_preferences::user_id)
        .do_update()
        .set(prefs)
        .returning(Preferences::as_returning())
        .get_result(conn)
}
