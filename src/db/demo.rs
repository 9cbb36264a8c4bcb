//! `ringside seed-demo`'s queries: the demo's divisions, and its event with
//! the card and live coverage. What fighters and rankings it loads, and the
//! card's match-ups, are `features/demo.rs`'s.

use chrono::{Duration, Utc};
use diesel::prelude::*;

use super::catalog::{self, DivisionInput, EventInput, FightInput};
use super::live_events::{self, NewLiveEvent};
use super::schema::{divisions, events};

pub const DEMO_EVENT: &str = "Ringside 1: Night of Champions";

pub const DIVISIONS: [(&str, f64); 6] = [
    ("Bantamweight", 135.0),
    ("Featherweight", 145.0),
    ("Lightweight", 155.0),
    ("Welterweight", 170.0),
    ("Middleweight", 185.0),
    ("Heavyweight", 265.0),
];

/// The demo event, if it is loaded.
pub fn existing_event(conn: &mut PgConnection) -> QueryResult<Option<i64>> {
    events::table
        .filter(events::name.eq(DEMO_EVENT))
        .select(events::id)
        .first(conn)
        .optional()
}

/// The demo's divisions (created if missing), in [`DIVISIONS`] order.
pub fn divisions(conn: &mut PgConnection) -> QueryResult<Vec<i64>> {
    let mut ids = Vec::new();
    for (name, limit) in DIVISIONS {
        let existing = divisions::table
            .filter(divisions::name.eq(name))
            .select(divisions::id)
            .first::<i64>(conn)
            .optional()?;
        let id = match existing {
            Some(id) => id,
            None => {
                catalog::insert_division(
                    conn,
                    &DivisionInput {
                        name: Some(name.into()),
                        weight_limit_lbs: Some(limit),
                    },
                )?
                .id
            }
        };
        ids.push(id);
    }
    Ok(ids)
}

/// A fight of the card: (red, blue, division, rounds, card order, title fight).
pub type CardFight = (i64, i64, i64, i32, bool);

/// The event, its card in order (1 is the main event) and its live
/// coverage; answers (event, live event).
pub fn card(conn: &mut PgConnection, fights: &[CardFight]) -> QueryResult<(i64, i64)> {
    let event = catalog::insert_event(
        conn,
        &EventInput {
            name: Some(DEMO_EVENT.into()),
            venue: Some("Harbour Arena, Lisbon".into()),
            scheduled_start: Some(Utc::now() + Duration::hours(2)),
        },
    )?;
    for (order, &(red, blue, division, rounds, title)) in fights.iter().enumerate() {
        catalog::insert_fight(
            conn,
            &FightInput {
                event_id: Some(event.id),
                red_fighter_id: Some(red),
                blue_fighter_id: Some(blue),
                division_id: Some(division),
                scheduled_rounds: Some(rounds),
                card_order: Some(order as i32 + 1),
                is_title_fight: Some(title),
            },
        )?;
    }
    let live = live_events::create(
        conn,
        &NewLiveEvent {
            event_id: event.id,
            start_time: event.scheduled_start.into(),
            is_featured: Some(true),
            settings: None,
        },
    )?;
    Ok((event.id, live.id))
}

/// The live fights of a live event, in card order.
pub fn live_fights(conn: &mut PgConnection, live_event: i64) -> QueryResult<Vec<i64>> {
    Ok(live_events::card(conn, live_event)?
        .into_iter()
        .map(|e| e.live.id)
        .collect())
}
