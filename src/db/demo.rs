//! `ringside seed-demo`: a realistic fight card so a newcomer has something to
//! watch — six divisions, their fighters (entered into the rankings), an event
//! with six fights and its live coverage, ready to start. Fictional names.
//! Running it again changes nothing.

use chrono::{Duration, Utc};
use diesel::prelude::*;

use super::catalog::{self, DivisionInput, EventInput, FightInput, FighterInput};
use super::live_events::{self, NewLiveEvent};
use super::schema::events;

pub const DEMO_EVENT: &str = "Ringside 1: Night of Champions";

const DIVISIONS: [(&str, f64); 6] = [
    ("Bantamweight", 135.0),
    ("Featherweight", 145.0),
    ("Lightweight", 155.0),
    ("Welterweight", 170.0),
    ("Middleweight", 185.0),
    ("Heavyweight", 265.0),
];

/// (division index, name, nickname, wins, losses, draws)
const FIGHTERS: [(usize, &str, &str, i32, i32, i32); 16] = [
    (0, "Mateo Varga", "The Viper", 17, 3, 0),
    (0, "Kenji Orimura", "Silent Storm", 15, 4, 1),
    (1, "Dario Mendes", "Hurricane", 22, 5, 0),
    (1, "Liam Callahan", "The Hammer", 19, 6, 0),
    (2, "Ruslan Temirov", "The Glacier", 25, 1, 0),
    (2, "Marcus Bell", "Showtime", 21, 4, 0),
    (2, "Andre Costa", "Carioca", 18, 5, 1),
    (3, "Tyrone Okafor", "The Architect", 20, 3, 0),
    (3, "Sean Whitaker", "Ice", 23, 6, 0),
    (4, "Israel Mbatha", "Clockwork", 24, 2, 0),
    (4, "Paulo Ferreira", "Stone Hands", 11, 2, 0),
    (4, "Robert Lindqvist", "The Reaper", 27, 8, 0),
    (5, "Jonas Kowalczyk", "The Oak", 26, 1, 0),
    (5, "Cyril Gaudet", "Le Mur", 13, 3, 0),
    (3, "Kamal Idris", "Nightshift", 16, 2, 0),
    (1, "Iker Zabala", "El Martillo", 16, 0, 0),
];

/// (red fighter index, blue fighter index, division index, rounds, card order, title)
const CARD: [(usize, usize, usize, i32, i32, bool); 6] = [
    (12, 13, 5, 5, 1, true),
    (4, 5, 2, 5, 2, true),
    (9, 11, 4, 3, 3, false),
    (7, 8, 3, 3, 4, false),
    (2, 15, 1, 3, 5, false),
    (0, 1, 0, 3, 6, false),
];

pub fn run(db: &crate::db::Db) -> Result<String, crate::db::DbError> {
    let mut conn = db.conn()?;
    Ok(conn.transaction(|c| seed(c))?)
}

fn seed(conn: &mut PgConnection) -> QueryResult<String> {
    let existing: Option<i64> = events::table
        .filter(events::name.eq(DEMO_EVENT))
        .select(events::id)
        .first(conn)
        .optional()?;
    if let Some(id) = existing {
        return Ok(format!("the demo card is already loaded (event {id})"));
    }
    let mut division_ids = Vec::new();
    for (name, limit) in DIVISIONS {
        let existing = crate::db::schema::divisions::table
            .filter(crate::db::schema::divisions::name.eq(name))
            .select(crate::db::schema::divisions::id)
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
        division_ids.push(id);
    }
    let mut fighter_ids = Vec::new();
    for (division, name, nickname, wins, losses, draws) in FIGHTERS {
        let fighter = catalog::insert_fighter(
            conn,
            &FighterInput {
                name: Some(name.into()),
                nickname: Some(Some(nickname.into())),
                division_id: Some(division_ids[division]),
                wins: Some(wins),
                losses: Some(losses),
                draws: Some(draws),
                no_contests: Some(0),
                country: None,
            },
        )?;
        fighter_ids.push(fighter.id);
    }
    let event = catalog::insert_event(
        conn,
        &EventInput {
            name: Some(DEMO_EVENT.into()),
            venue: Some("Harbour Arena, Lisbon".into()),
            scheduled_start: Some(Utc::now() + Duration::hours(2)),
        },
    )?;
    for (red, blue, division, rounds, order, title) in CARD {
        catalog::insert_fight(
            conn,
            &FightInput {
                event_id: Some(event.id),
                red_fighter_id: Some(fighter_ids[red]),
                blue_fighter_id: Some(fighter_ids[blue]),
                division_id: Some(division_ids[division]),
                scheduled_rounds: Some(rounds),
                card_order: Some(order),
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
    Ok(format!(
        "loaded the demo card: event {} \"{DEMO_EVENT}\" with {} fights; live event {} is ready \
         (POST /api/live/events/{}/start/ as admin)",
        event.id,
        CARD.len(),
        live.id,
        live.id
    ))
}
