//! Rows as diesel reads and writes them. Rows that clients see serialize
//! straight to the API's field names (a foreign key is named for what it
//! points at: `division`, not `division_id`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use ringside_actors::{EventStatus, Role};
use serde::Serialize;

use super::schema::*;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = users)]
#[schema(
    description = r#"An account. The password hash, ban state and last sign-in time are never returned."#
)]
pub struct User {
    pub id: i64,
    /// Stored lower-cased.
    pub email: String,
    #[serde(skip)]
    pub password_hash: String,
    #[schema(min_length = 1, max_length = 50)]
    pub display_name: String,
    #[schema(value_type = ringside_actors::Role)]
    pub role: String,
    pub is_verified: bool,
    /// IANA time zone name.
    #[schema(example = json!("UTC"))]
    pub timezone: String,
    #[serde(skip)]
    pub banned_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Tokens signed for another version are refused (see `auth`).
    #[serde(skip)]
    pub token_version: i32,
}

impl User {
    /// The database constrains the column to the four roles.
    pub fn role(&self) -> Role {
        self.role.parse().unwrap_or(Role::Viewer)
    }

    pub fn is_banned(&self) -> bool {
        self.banned_at.is_some()
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub display_name: &'a str,
    pub role: &'a str,
    pub is_verified: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = divisions)]
pub struct Division {
    pub id: i64,
    /// Unique.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    pub weight_limit_lbs: f64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = fighters)]
pub struct Fighter {
    pub id: i64,
    pub name: String,
    #[schema(required = true)]
    pub nickname: Option<String>,
    #[serde(rename = "division")]
    /// The fighter's division (id).
    pub division_id: i64,
    #[schema(minimum = 0)]
    pub wins: i32,
    #[schema(minimum = 0)]
    pub losses: i32,
    #[schema(minimum = 0)]
    pub draws: i32,
    #[schema(minimum = 0)]
    pub no_contests: i32,
    #[schema(required = true)]
    pub country: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = events)]
pub struct Event {
    pub id: i64,
    pub name: String,
    /// Empty when not set.
    pub venue: String,
    pub scheduled_start: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = fights)]
pub struct Fight {
    pub id: i64,
    #[serde(rename = "event")]
    /// The event (id) whose card this fight is on.
    pub event_id: i64,
    #[serde(rename = "red_fighter")]
    /// Fighter id in the red corner.
    pub red_fighter_id: i64,
    #[serde(rename = "blue_fighter")]
    /// Fighter id in the blue corner.
    pub blue_fighter_id: i64,
    #[serde(rename = "division")]
    /// Division id the fight is contested at.
    pub division_id: i64,
    #[schema(minimum = 1, maximum = 5)]
    pub scheduled_rounds: i32,
    /// 1 is the main event; unique per event.
    #[schema(minimum = 1)]
    pub card_order: i32,
    pub is_title_fight: bool,
    #[schema(required = true, value_type = Option<ringside_actors::fight::Winner>)]
    pub winner_corner: Option<String>,
    #[schema(required = true, value_type = Option<ringside_actors::vocabulary::ResultMethod>)]
    pub result_method: Option<String>,
    #[schema(minimum = 1, maximum = 5, required = true)]
    pub result_round: Option<i32>,
    /// Time in the round, M:SS.
    #[schema(pattern = r#"^[0-5]?[0-9]:[0-5][0-9]$"#, required = true)]
    pub result_time: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The result's details: `technique`, `stoppage`, `foul`, `reason` and, for a result on the cards, each judge's total (`cards`). `{}` until a result.
    #[schema(value_type = Object)]
    pub result_details: serde_json::Value,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = live_events)]
#[schema(description = r#"A live event's summary row (as listed)."#)]
pub struct LiveEvent {
    pub id: i64,
    #[serde(rename = "event")]
    /// The event (id) this covers; one live event per event.
    pub event_id: i64,
    #[schema(value_type = ringside_actors::EventStatus)]
    pub status: String,
    /// Set when started (or as given at creation).
    #[schema(required = true)]
    pub start_time: Option<DateTime<Utc>>,
    /// Set when completed, or cancelled while live.
    #[schema(required = true)]
    pub end_time: Option<DateTime<Utc>>,
    #[schema(minimum = 0)]
    pub viewer_count: i32,
    #[schema(minimum = 0)]
    pub peak_viewers: i32,
    pub is_featured: bool,
    /// Free-form settings object.
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// One comment per this many seconds per user; 0 is off.
    #[schema(minimum = 0, maximum = 3600)]
    pub slow_mode_seconds: i32,
    #[serde(rename = "current_fight")]
    /// The fight now being covered, if any.
    #[schema(required = true)]
    pub current_fight_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl LiveEvent {
    /// The database constrains the column to the four statuses.
    pub fn status(&self) -> EventStatus {
        self.status.parse().unwrap_or(EventStatus::Upcoming)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = live_fights)]
pub struct LiveFight {
    pub id: i64,
    #[serde(rename = "live_event")]
    pub live_event_id: i64,
    #[serde(rename = "fight")]
    pub fight_id: i64,
    pub status: String,
    pub current_round: i32,
    pub viewer_count: i32,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// The rules state (`ringside_actors::fight::Bout`); `{}` before anything happened.
    #[serde(skip)]
    pub bout: serde_json::Value,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = live_updates)]
#[schema(
    description = r#"A live update (also the `data` of `update` frames). Anyone sees verified ones; pending and rejected ones are for moderators."#
)]
pub struct LiveUpdate {
    pub id: i64,
    #[serde(rename = "live_event")]
    /// The live event (id) it belongs to.
    pub live_event_id: i64,
    #[serde(rename = "live_fight")]
    /// The live fight (id) it is about, if any.
    #[schema(required = true)]
    pub live_fight_id: Option<i64>,
    #[schema(value_type = ringside_actors::vocabulary::UpdateType)]
    pub update_type: String,
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[schema(max_length = 5000)]
    pub description: String,
    #[schema(minimum = 1, maximum = 5, required = true)]
    pub round_number: Option<i32>,
    /// Free-form details.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// Posted by a moderator or admin, or approved.
    pub is_verified: bool,
    /// Also broadcast on `news`.
    pub is_breaking: bool,
    #[serde(rename = "media")]
    /// Media asset (id), if any.
    #[schema(required = true)]
    pub media_asset_id: Option<i64>,
    /// The poster's user id (null once the account is deleted).
    #[schema(required = true)]
    pub created_by: Option<i64>,
    /// The reviewing moderator's user id; null unless approved or rejected.
    #[schema(required = true)]
    pub reviewed_by: Option<i64>,
    #[schema(required = true)]
    pub reviewed_at: Option<DateTime<Utc>>,
    pub rejected: bool,
    /// Its position on the `event:{live_event}` channel once verified and broadcast; null while pending or when rejected.
    #[schema(minimum = 1, required = true)]
    pub seq: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = live_comments)]
#[schema(description = r#"A live comment as stored."#)]
pub struct LiveComment {
    pub id: i64,
    #[serde(rename = "live_event")]
    /// The live event (id) it was posted on.
    pub live_event_id: i64,
    #[serde(rename = "live_fight")]
    /// The live fight (id) it is about, if any.
    #[schema(required = true)]
    pub live_fight_id: Option<i64>,
    #[serde(rename = "user")]
    /// The author's user id.
    pub user_id: i64,
    #[schema(min_length = 1, max_length = 1000)]
    pub content: String,
    #[serde(rename = "parent_comment")]
    /// The comment (id) it replies to, if any; always of the same live event.
    #[schema(required = true)]
    pub parent_comment_id: Option<i64>,
    #[schema(value_type = ringside_actors::vocabulary::CommentStatus)]
    pub status: String,
    /// `like` reactions on it.
    #[schema(minimum = 0)]
    pub like_count: i32,
    /// Replies posted to it (held ones included).
    #[schema(minimum = 0)]
    pub reply_count: i32,
    /// Reports it received.
    #[schema(minimum = 0)]
    pub report_count: i32,
    /// The author's account was verified when posting.
    pub is_verified_user: bool,
    /// The author was a moderator or admin when posting.
    pub is_moderator: bool,
    /// Its first position on `comments:{live_event}`; null while it has never been shown (held).
    #[schema(minimum = 1, required = true)]
    pub seq: Option<i64>,
    /// The moderator (user id) of its last status change; null when none, or when it was automatic.
    #[schema(required = true)]
    pub moderated_by: Option<i64>,
    /// When its status last changed by moderation (by a moderator or by reports).
    #[schema(required = true)]
    pub moderated_at: Option<DateTime<Utc>>,
    /// Why it was held (the filter's verdict, such as `blocked term`), hidden by reports (`N reports`), or the moderator's reason.
    #[schema(required = true)]
    pub moderation_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
