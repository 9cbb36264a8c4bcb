//! Live updates: stored first, then (once verified) numbered on their
//! channels in the same transaction, so what clients see is what is stored.

use diesel::prelude::*;
use ringside_actors::Channel;
use serde::Deserialize;

use super::channels::{self, Published};
use super::models::LiveUpdate;
use super::pagination::PageParams;
use super::schema::{live_updates, moderation_actions};

#[derive(Debug, Deserialize, Insertable, utoipa::ToSchema)]
#[diesel(table_name = live_updates)]
#[schema(as = LiveUpdateCreate)]
pub struct NewUpdate {
    #[serde(rename = "live_event")]
    /// Live event id; must exist and not be `completed` or `cancelled`.
    pub live_event_id: i64,
    #[serde(rename = "live_fight", default)]
    /// A live fight on this live event's card.
    pub live_fight_id: Option<i64>,
    #[schema(value_type = ringside_actors::vocabulary::UpdateType)]
    pub update_type: String,
    /// Trimmed.
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[serde(default)]
    /// Trimmed.
    #[schema(max_length = 5000, default = json!(""))]
    pub description: String,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 5)]
    pub round_number: Option<i32>,
    #[serde(default = "empty_object")]
    /// Free-form details; at most 16 KiB as JSON.
    #[schema(default = json!({}), value_type = Object)]
    pub data: serde_json::Value,
    #[serde(default)]
    /// Also broadcast on `news` once verified.
    #[schema(default = json!(false))]
    pub is_breaking: bool,
    #[serde(rename = "media", default)]
    /// Media asset id; must exist.
    pub media_asset_id: Option<i64>,
    #[serde(skip)]
    pub is_verified: bool,
    #[serde(skip)]
    pub created_by: Option<i64>,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

pub fn insert(conn: &mut PgConnection, new: &NewUpdate) -> QueryResult<LiveUpdate> {
    diesel::insert_into(live_updates::table)
        .values(new)
        .returning(LiveUpdate::as_returning())
        .get_result(conn)
}

pub fn find_for_update(conn: &mut PgConnection, id: i64) -> QueryResult<LiveUpdate> {
    live_updates::table
        .find(id)
        .for_update()
        .select(LiveUpdate::as_select())
        .first(conn)
}

/// Numbers a verified update on its channels: the event's, the fight's, and
/// `news` when breaking. The update keeps its event-channel `seq`.
pub fn publish(conn: &mut PgConnection, update: &mut LiveUpdate) -> QueryResult<Vec<Published>> {
    let event = Channel::Event(update.live_event_id);
    // The seq goes on the row before it is serialised, so every channel's
    // copy says where it stands on the event channel.
    let (epoch, seq) = channels::next_position(conn, &event)?;
    update.seq = Some(seq as i64);
    diesel::update(live_updates::table.find(update.id))
        .set(live_updates::seq.eq(update.seq))
        .execute(conn)?;
    let data = serde_json::to_value(&*update)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    let mut out = vec![channels::store(conn, &event, epoch, seq, "update", &data)?];
    if let Some(fight) = update.live_fight_id {
        out.push(channels::append(
            conn,
            &Channel::Fight(fight),
            "update",
            &data,
        )?);
    }
    if update.is_breaking {
        out.push(channels::append(conn, &Channel::News, "update", &data)?);
    }
    Ok(out)
}

/// `update_pending` on the event's staff channel: a reporter's update waits.
pub fn publish_pending(conn: &mut PgConnection, update: &LiveUpdate) -> QueryResult<Published> {
    let data = serde_json::to_value(update)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    channels::append(
        conn,
        &Channel::Moderation(update.live_event_id),
        "update_pending",
        &data,
    )
}

/// `update_reviewed` on the event's staff channel.
pub fn publish_reviewed(
    conn: &mut PgConnection,
    update: &LiveUpdate,
    moderator: i64,
) -> QueryResult<Published> {
    let review = if update.is_verified {
        "approved"
    } else {
        "rejected"
    };
    channels::append(
        conn,
        &Channel::Moderation(update.live_event_id),
        "update_reviewed",
        &serde_json::json!({ "id": update.id, "review": review, "by": moderator }),
    )
}

/// Marks a pending update reviewed; `approve` verifies it, else it is rejected.
pub fn review(
    conn: &mut PgConnection,
    update: &mut LiveUpdate,
    moderator: i64,
    approve: bool,
    reason: &str,
) -> QueryResult<()> {
    *update = diesel::update(live_updates::table.find(update.id))
        .set((
            live_updates::is_verified.eq(approve),
            live_updates::rejected.eq(!approve),
            live_updates::reviewed_by.eq(moderator),
            live_updates::reviewed_at.eq(diesel::dsl::now),
        ))
        .returning(LiveUpdate::as_returning())
        .get_result(conn)?;
    diesel::insert_into(moderation_actions::table)
        .values((
            moderation_actions::moderator_id.eq(moderator),
            moderation_actions::action.eq(if approve {
                "approve_update"
            } else {
                "reject_update"
            }),
            moderation_actions::target_type.eq("update"),
            moderation_actions::target_id.eq(update.id),
            moderation_actions::live_event_id.eq(update.live_event_id),
            moderation_actions::reason.eq(reason),
        ))
        .execute(conn)?;
    Ok(())
}

/// Which updates a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Review {
    Verified,
    Pending,
    Rejected,
}

pub fn list(
    conn: &mut PgConnection,
    event: Option<i64>,
    review: Review,
    page: &PageParams,
    limit: i64,
) -> QueryResult<Vec<LiveUpdate>> {
    let mut q = page_query!(live_updates, LiveUpdate, page, limit);
    if let Some(e) = event {
        q = q.filter(live_updates::live_event_id.eq(e));
    }
    q = match review {
        Review::Verified => q.filter(live_updates::is_verified.eq(true)),
        Review::Pending => q
            .filter(live_updates::is_verified.eq(false))
            .filter(live_updates::rejected.eq(false)),
        Review::Rejected => q.filter(live_updates::rejected.eq(true)),
    };
    q.load(conn)
}
