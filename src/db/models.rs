//! Rows as diesel reads and writes them. Rows that clients see serialize
//! straight to the API's field names (a foreign key is named for what it
//! points at: `division`, not `division_id`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use ringside_actors::{EventStatus, Role};
use serde::Serialize;

use super::schema::*;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub email: String,
    #[serde(skip)]
    pub password_hash: String,
    pub display_name: String,
    pub role: String,
    pub is_verified: bool,
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

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = divisions)]
pub struct Division {
    pub id: i64,
    pub name: String,
    pub weight_limit_lbs: f64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = fighters)]
pub struct Fighter {
    pub id: i64,
    pub name: String,
    pub nickname: Option<String>,
    #[serde(rename = "division")]
    pub division_id: i64,
    pub wins: i32,
    pub losses: i32,
    pub draws: i32,
    pub no_contests: i32,
    pub country: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = events)]
pub struct Event {
    pub id: i64,
    pub name: String,
    pub venue: String,
    pub scheduled_start: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = fights)]
pub struct Fight {
    pub id: i64,
    #[serde(rename = "event")]
    pub event_id: i64,
    #[serde(rename = "red_fighter")]
    pub red_fighter_id: i64,
    #[serde(rename = "blue_fighter")]
    pub blue_fighter_id: i64,
    #[serde(rename = "division")]
    pub division_id: i64,
    pub scheduled_rounds: i32,
    pub card_order: i32,
    pub is_title_fight: bool,
    pub winner_corner: Option<String>,
    pub result_method: Option<String>,
    pub result_round: Option<i32>,
    pub result_time: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = rankings)]
pub struct Ranking {
    #[serde(rename = "division")]
    pub division_id: i64,
    #[serde(rename = "fighter")]
    pub fighter_id: i64,
    pub rank: i32,
    pub rating: f64,
    pub rating_deviation: f64,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = live_events)]
pub struct LiveEvent {
    pub id: i64,
    #[serde(rename = "event")]
    pub event_id: i64,
    pub status: String,
    pub start_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
    pub viewer_count: i32,
    pub peak_viewers: i32,
    pub is_featured: bool,
    pub settings: serde_json::Value,
    pub slow_mode_seconds: i32,
    #[serde(rename = "current_fight")]
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
    pub round_start_time: Option<DateTime<Utc>>,
    pub live_stats: serde_json::Value,
    pub judge_scores: serde_json::Value,
    pub viewer_count: i32,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = live_updates)]
pub struct LiveUpdate {
    pub id: i64,
    #[serde(rename = "live_event")]
    pub live_event_id: i64,
    #[serde(rename = "live_fight")]
    pub live_fight_id: Option<i64>,
    pub update_type: String,
    pub title: String,
    pub description: String,
    pub round_number: Option<i32>,
    pub data: serde_json::Value,
    pub is_verified: bool,
    pub is_breaking: bool,
    #[serde(rename = "media")]
    pub media_asset_id: Option<i64>,
    pub created_by: Option<i64>,
    pub reviewed_by: Option<i64>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub rejected: bool,
    pub seq: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = live_comments)]
pub struct LiveComment {
    pub id: i64,
    #[serde(rename = "live_event")]
    pub live_event_id: i64,
    #[serde(rename = "live_fight")]
    pub live_fight_id: Option<i64>,
    #[serde(rename = "user")]
    pub user_id: i64,
    pub content: String,
    #[serde(rename = "parent_comment")]
    pub parent_comment_id: Option<i64>,
    pub status: String,
    pub like_count: i32,
    pub reply_count: i32,
    pub report_count: i32,
    pub is_verified_user: bool,
    pub is_moderator: bool,
    pub seq: Option<i64>,
    pub moderated_by: Option<i64>,
    pub moderated_at: Option<DateTime<Utc>>,
    pub moderation_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
