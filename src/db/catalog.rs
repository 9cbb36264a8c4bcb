//! Queries on the sport's catalog: divisions, fighters, events and fights
//! (a fighter's ranking entries are `db/rankings.rs`'s). Inputs
//! deserialize straight from the API's bodies (foreign keys under the
//! API's names); the HTTP layer validates them first.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Deserialize;

use super::models::{Division, Event, Fight, Fighter};
use super::pagination::PageParams;
use super::schema::{divisions, events, fighters, fights, live_events, live_fights};

/// `Some(None)` clears a nullable field, `None` leaves it alone.
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, Insertable, AsChangeset, utoipa::ToSchema)]
#[diesel(table_name = divisions)]
#[schema(as = DivisionPatch, description = r#"Partial update: every field optional."#)]
pub struct DivisionInput {
    /// Trimmed; unique.
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[schema(minimum = 1, maximum = 999)]
    pub weight_limit_lbs: Option<f64>,
}

#[derive(Debug, Deserialize, Insertable, AsChangeset, utoipa::ToSchema)]
#[diesel(table_name = fighters)]
#[schema(as = FighterPatch, description = r#"Partial update: every field optional. `nickname` and `country` set to null are cleared; other fields sent as null are left alone."#)]
pub struct FighterInput {
    /// Trimmed.
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    /// Trimmed; null clears it.
    #[schema(min_length = 1, max_length = 100)]
    pub nickname: Option<Option<String>>,
    #[serde(rename = "division")]
    /// Division id; must exist. Moving division places the fighter in the new division's ranking.
    pub division_id: Option<i64>,
    #[schema(minimum = 0, maximum = 1000)]
    pub wins: Option<i32>,
    #[schema(minimum = 0, maximum = 1000)]
    pub losses: Option<i32>,
    #[schema(minimum = 0, maximum = 1000)]
    pub draws: Option<i32>,
    #[schema(minimum = 0, maximum = 1000)]
    pub no_contests: Option<i32>,
    #[serde(default, deserialize_with = "double_option")]
    /// Trimmed; null clears it.
    #[schema(min_length = 1, max_length = 100)]
    pub country: Option<Option<String>>,
}

#[derive(Debug, Deserialize, Insertable, AsChangeset, utoipa::ToSchema)]
#[diesel(table_name = events)]
#[schema(as = EventPatch, description = r#"Partial update: every field optional."#)]
pub struct EventInput {
    /// Trimmed.
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// Trimmed.
    #[schema(max_length = 200)]
    pub venue: Option<String>,
    /// RFC 3339 with an offset.
    pub scheduled_start: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, Insertable, AsChangeset, utoipa::ToSchema)]
#[diesel(table_name = fights)]
#[schema(as = FightPatch, description = r#"Partial update: every field optional. `event` cannot be changed (sending it answers 400). Only fights that have not started can be changed."#)]
pub struct FightInput {
    #[serde(rename = "event")]
    pub event_id: Option<i64>,
    #[serde(rename = "red_fighter")]
    /// Fighter id; must exist and differ from the blue corner.
    pub red_fighter_id: Option<i64>,
    #[serde(rename = "blue_fighter")]
    /// Fighter id; must exist and differ from the red corner.
    pub blue_fighter_id: Option<i64>,
    #[serde(rename = "division")]
    /// Division id; must exist.
    pub division_id: Option<i64>,
    #[schema(minimum = 1, maximum = 5)]
    pub scheduled_rounds: Option<i32>,
    /// Unique per event.
    #[schema(minimum = 1, maximum = 100)]
    pub card_order: Option<i32>,
    pub is_title_fight: Option<bool>,
}

pub fn list_divisions(
    conn: &mut PgConnection,
    page: &PageParams,
    limit: i64,
) -> QueryResult<Vec<Division>> {
    page_query!(divisions, Division, page, limit).load(conn)
}

pub fn list_fighters(
    conn: &mut PgConnection,
    page: &PageParams,
    limit: i64,
    division: Option<i64>,
) -> QueryResult<Vec<Fighter>> {
    let mut q = page_query!(fighters, Fighter, page, limit);
    if let Some(d) = division {
        q = q.filter(fighters::division_id.eq(d));
    }
    q.load(conn)
}

pub fn list_events(
    conn: &mut PgConnection,
    page: &PageParams,
    limit: i64,
) -> QueryResult<Vec<Event>> {
    page_query!(events, Event, page, limit).load(conn)
}

pub fn list_fights(
    conn: &mut PgConnection,
    page: &PageParams,
    limit: i64,
    event: Option<i64>,
) -> QueryResult<Vec<Fight>> {
    let mut q = page_query!(fights, Fight, page, limit);
    if let Some(e) = event {
        q = q.filter(fights::event_id.eq(e));
    }
    q.load(conn)
}

pub fn find_division(conn: &mut PgConnection, id: i64) -> QueryResult<Division> {
    divisions::table
        .find(id)
        .select(Division::as_select())
        .first(conn)
}

pub fn find_fighter(conn: &mut PgConnection, id: i64) -> QueryResult<Fighter> {
    fighters::table
        .find(id)
        .select(Fighter::as_select())
        .first(conn)
}

pub fn find_event(conn: &mut PgConnection, id: i64) -> QueryResult<Event> {
    events::table
        .find(id)
        .select(Event::as_select())
        .first(conn)
}

pub fn find_fight(conn: &mut PgConnection, id: i64) -> QueryResult<Fight> {
    fights::table
        .find(id)
        .select(Fight::as_select())
        .first(conn)
}

pub fn insert_division(conn: &mut PgConnection, input: &DivisionInput) -> QueryResult<Division> {
    diesel::insert_into(divisions::table)
        .values(input)
        .returning(Division::as_returning())
        .get_result(conn)
}

pub fn update_division(
    conn: &mut PgConnection,
    id: i64,
    input: &DivisionInput,
) -> QueryResult<Division> {
    diesel::update(divisions::table.find(id))
        .set(input)
        .returning(Division::as_returning())
        .get_result(conn)
}

pub fn delete_division(conn: &mut PgConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(divisions::table.find(id)).execute(conn)
}

/// A new fighter (the feature places him in his division's ranking).
pub fn insert_fighter(conn: &mut PgConnection, input: &FighterInput) -> QueryResult<Fighter> {
    diesel::insert_into(fighters::table)
        .values(input)
        .returning(Fighter::as_returning())
        .get_result(conn)
}

pub fn update_fighter(
    conn: &mut PgConnection,
    id: i64,
    input: &FighterInput,
) -> QueryResult<Fighter> {
    diesel::update(fighters::table.find(id))
        .set(input)
        .returning(Fighter::as_returning())
        .get_result(conn)
}

pub fn delete_fighter(conn: &mut PgConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(fighters::table.find(id)).execute(conn)
}

pub fn insert_event(conn: &mut PgConnection, input: &EventInput) -> QueryResult<Event> {
    diesel::insert_into(events::table)
        .values(input)
        .returning(Event::as_returning())
        .get_result(conn)
}

pub fn update_event(conn: &mut PgConnection, id: i64, input: &EventInput) -> QueryResult<Event> {
    diesel::update(events::table.find(id))
        .set(input)
        .returning(Event::as_returning())
        .get_result(conn)
}

/// True if the event has live coverage that has begun (live or completed):
/// such history is kept, not deleted.
pub fn event_has_coverage(conn: &mut PgConnection, event: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        live_events::table
            .filter(live_events::event_id.eq(event))
            .filter(live_events::status.eq_any(["live", "completed"])),
    ))
    .get_result(conn)
}

pub fn delete_event(conn: &mut PgConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(events::table.find(id)).execute(conn)
}

/// A fight added to a card that already has live coverage gets its live fight.
pub fn insert_fight(conn: &mut PgConnection, input: &FightInput) -> QueryResult<Fight> {
    conn.transaction(|conn| {
        let fight: Fight = diesel::insert_into(fights::table)
            .values(input)
            .returning(Fight::as_returning())
            .get_result(conn)?;
        let live_event: Option<i64> = live_events::table
            .filter(live_events::event_id.eq(fight.event_id))
            .filter(live_events::status.eq_any(["upcoming", "live"]))
            .select(live_events::id)
            .first(conn)
            .optional()?;
        if let Some(live_event) = live_event {
            diesel::insert_into(live_fights::table)
                .values((
                    live_fights::live_event_id.eq(live_event),
                    live_fights::fight_id.eq(fight.id),
                ))
                .execute(conn)?;
        }
        Ok(fight)
    })
}

pub fn update_fight(conn: &mut PgConnection, id: i64, input: &FightInput) -> QueryResult<Fight> {
    diesel::update(fights::table.find(id))
        .set(input)
        .returning(Fight::as_returning())
        .get_result(conn)
}

/// The status of the fight's live fight, if it has one.
pub fn live_fight_status(conn: &mut PgConnection, fight: i64) -> QueryResult<Option<String>> {
    live_fights::table
        .filter(live_fights::fight_id.eq(fight))
        .select(live_fights::status)
        .first(conn)
        .optional()
}

pub fn delete_fight(conn: &mut PgConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(fights::table.find(id)).execute(conn)
}

/// The names of `ids`, by id.
/// The names in a fight's corners: (red, blue).
pub fn corner_names(conn: &mut PgConnection, fight: &Fight) -> QueryResult<(String, String)> {
    let names = fighter_names(conn, &[fight.red_fighter_id, fight.blue_fighter_id])?;
    let name_of = |id: i64| {
        names
            .iter()
            .find(|(f, _)| *f == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    };
    Ok((
        name_of(fight.red_fighter_id),
        name_of(fight.blue_fighter_id),
    ))
}

pub fn fighter_names(conn: &mut PgConnection, ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    fighters::table
        .filter(fighters::id.eq_any(ids))
        .select((fighters::id, fighters::name))
        .order(fighters::id)
        .load(conn)
}
