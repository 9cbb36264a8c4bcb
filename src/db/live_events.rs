//! Queries on live events and their live fights.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use ringside_actors::{EventAction, EventStatus};
use serde::Deserialize;

use super::channels::Published;
use super::models::{Fight, LiveEvent, LiveFight};
use super::pagination::PageParams;
use super::schema::{fighters, fights, live_events, live_fights};

#[derive(Debug, Deserialize, Insertable, utoipa::ToSchema)]
#[diesel(table_name = live_events)]
#[schema(as = LiveEventCreate)]
pub struct NewLiveEvent {
    #[serde(rename = "event")]
    /// Event id; must exist and not have a live event yet.
    pub event_id: i64,
    pub start_time: Option<DateTime<Utc>>,
    #[schema(default = json!(false))]
    pub is_featured: Option<bool>,
    /// Must be a JSON object.
    #[schema(default = json!({}), value_type = Option<Object>)]
    pub settings: Option<serde_json::Value>,
}

/// The fields of a live event an admin may change (`None`: unchanged).
pub struct LiveEventChange {
    pub start_time: Option<Option<DateTime<Utc>>>,
    pub is_featured: Option<bool>,
    pub settings: Option<serde_json::Value>,
}

pub fn find_for_update(conn: &mut PgConnection, id: i64) -> QueryResult<LiveEvent> {
    live_events::table
        .find(id)
        .for_update()
        .select(LiveEvent::as_select())
        .first(conn)
}

pub fn change(conn: &mut PgConnection, id: i64, c: &LiveEventChange) -> QueryResult<LiveEvent> {
    let current = find_for_update(conn, id)?;
    diesel::update(live_events::table.find(id))
        .set((
            live_events::start_time.eq(c.start_time.unwrap_or(current.start_time)),
            live_events::is_featured.eq(c.is_featured.unwrap_or(current.is_featured)),
            live_events::settings.eq(c.settings.as_ref().unwrap_or(&current.settings)),
            live_events::updated_at.eq(diesel::dsl::now),
        ))
        .returning(LiveEvent::as_returning())
        .get_result(conn)
}

/// Why a transition did not happen.
#[derive(Debug)]
pub enum TransitionError {
    Illegal(ringside_actors::IllegalTransition),
    TooManyLive(u32),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for TransitionError {
    fn from(e: diesel::result::Error) -> Self {
        TransitionError::Db(e)
    }
}

/// Creates the live event and a live fight for each fight on the card.
pub fn create(conn: &mut PgConnection, new: &NewLiveEvent) -> QueryResult<LiveEvent> {
    conn.transaction(|conn| {
        let live: LiveEvent = diesel::insert_into(live_events::table)
            .values(new)
            .returning(LiveEvent::as_returning())
            .get_result(conn)?;
        let card: Vec<i64> = fights::table
            .filter(fights::event_id.eq(new.event_id))
            .select(fights::id)
            .load(conn)?;
        let rows: Vec<_> = card
            .into_iter()
            .map(|fight| {
                (
                    live_fights::live_event_id.eq(live.id),
                    live_fights::fight_id.eq(fight),
                )
            })
            .collect();
        diesel::insert_into(live_fights::table)
            .values(&rows)
            .execute(conn)?;
        Ok(live)
    })
}

/// The live coverage of a catalog event, if it has any.
pub fn of_event(conn: &mut PgConnection, event: i64) -> QueryResult<Option<LiveEvent>> {
    live_events::table
        .filter(live_events::event_id.eq(event))
        .select(LiveEvent::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<LiveEvent> {
    live_events::table
        .find(id)
        .select(LiveEvent::as_select())
        .first(conn)
}

pub fn list(
    conn: &mut PgConnection,
    page: &PageParams,
    limit: i64,
    status: Option<EventStatus>,
) -> QueryResult<Vec<LiveEvent>> {
    let mut q = page_query!(live_events, LiveEvent, page, limit);
    if let Some(s) = status {
        q = q.filter(live_events::status.eq(s.as_str()));
    }
    q.load(conn)
}

/// A live fight with the fight and the two names a card shows.
pub struct CardEntry {
    pub live: LiveFight,
    pub fight: Fight,
    pub red_name: String,
    pub blue_name: String,
    /// The event's `settings.open_scoring`: the cards are shown live.
    pub open_scoring: bool,
}

/// The card of a live event, in card order.
pub fn card(conn: &mut PgConnection, live_event: i64) -> QueryResult<Vec<CardEntry>> {
    card_entries(conn, Some(live_event), None)
}

/// One live fight as its card entry.
pub fn card_entry(conn: &mut PgConnection, live_fight: i64) -> QueryResult<CardEntry> {
    card_entries(conn, None, Some(live_fight))?
        .pop()
        .ok_or(diesel::result::Error::NotFound)
}

fn card_entries(
    conn: &mut PgConnection,
    live_event: Option<i64>,
    live_fight: Option<i64>,
) -> QueryResult<Vec<CardEntry>> {
    let (red, blue) = diesel::alias!(fighters as red, fighters as blue);
    let mut q = live_fights::table
        .inner_join(fights::table)
        .inner_join(live_events::table)
        .inner_join(red.on(red.field(fighters::id).eq(fights::red_fighter_id)))
        .inner_join(blue.on(blue.field(fighters::id).eq(fights::blue_fighter_id)))
        .order((fights::card_order, fights::id))
        .select((
            LiveFight::as_select(),
            Fight::as_select(),
            red.field(fighters::name),
            blue.field(fighters::name),
            live_events::settings,
        ))
        .into_boxed();
    if let Some(id) = live_event {
        q = q.filter(live_fights::live_event_id.eq(id));
    }
    if let Some(id) = live_fight {
        q = q.filter(live_fights::id.eq(id));
    }
    let rows: Vec<(LiveFight, Fight, String, String, serde_json::Value)> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(live, fight, red_name, blue_name, settings)| CardEntry {
            live,
            fight,
            red_name,
            blue_name,
            open_scoring: super::fight_control::open_scoring(&settings),
        })
        .collect())
}

/// Applies `action` if the status machine allows it from the current status.
/// Serialised per server cluster by an advisory lock, so the cap on live
/// events holds under concurrent starts.
/// Moves a live event through its status machine; `then` runs in the same
/// transaction with the updated event (the edge's triggers: notifications)
/// and adds what it publishes.
pub fn transition(
    conn: &mut PgConnection,
    id: i64,
    action: EventAction,
    max_live: u32,
    then: impl FnOnce(&mut PgConnection, &LiveEvent) -> QueryResult<Vec<Published>>,
) -> Result<(LiveEvent, Vec<Published>), TransitionError> {
    conn.transaction(|conn| {
        diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "pg_advisory_xact_lock(7248001) IS NOT NULL",
        ))
        .get_result::<bool>(conn)?;
        let current: LiveEvent = live_events::table
            .find(id)
            .for_update()
            .select(LiveEvent::as_select())
            .first(conn)?;
        let next = current
            .status()
            .apply(action)
            .map_err(TransitionError::Illegal)?;
        if next == EventStatus::Live {
            let live: i64 = live_events::table
                .filter(live_events::status.eq("live"))
                .count()
                .get_result(conn)?;
            if live >= i64::from(max_live) {
                return Err(TransitionError::TooManyLive(max_live));
            }
        }
        let now = Utc::now();
        let updated = diesel::update(live_events::table.find(id))
            .set((
                live_events::status.eq(next.as_str()),
                live_events::start_time.eq(match next {
                    EventStatus::Live => Some(now),
                    _ => current.start_time,
                }),
                // A cancelled event ends now only if it had begun.
                live_events::end_time.eq(match (current.status(), next) {
                    (_, EventStatus::Completed) | (EventStatus::Live, EventStatus::Cancelled) => {
                        Some(now)
                    }
                    _ => current.end_time,
                }),
            ))
            .returning(LiveEvent::as_returning())
            .get_result(conn)?;
        if next == EventStatus::Cancelled {
            diesel::update(
                live_fights::table
                    .filter(live_fights::live_event_id.eq(id))
                    .filter(live_fights::status.eq_any(["upcoming", "live"])),
            )
            .set(live_fights::status.eq("cancelled"))
            .execute(conn)?;
        }
        let published = then(conn, &updated)?;
        Ok((updated, published))
    })
}

/// A live event's viewer count now, and its peak.
pub fn record_viewers(conn: &mut PgConnection, id: i64, count: i32) -> QueryResult<()> {
    use diesel::sql_types::Integer;
    diesel::update(live_events::table.find(id))
        .set((
            live_events::viewer_count.eq(count),
            live_events::peak_viewers.eq(diesel::dsl::sql::<Integer>("GREATEST(peak_viewers, ")
                .bind::<Integer, _>(count)
                .sql(")")),
        ))
        .execute(conn)?;
    Ok(())
}

/// A live fight's viewer count now.
pub fn record_fight_viewers(conn: &mut PgConnection, id: i64, count: i32) -> QueryResult<()> {
    diesel::update(live_fights::table.find(id))
        .set(live_fights::viewer_count.eq(count))
        .execute(conn)?;
    Ok(())
}
