//! `ringside seed-demo`: a card a fan would recognise, so a newcomer has
//! something to watch. Six divisions, each with a champion and 15 ranked
//! contenders (fictional names, varied records) loaded through the
//! rankings import; an event whose main event is a five-round title fight
//! (champion against #1), with a five-round title co-main and three-round
//! prelims, and its live coverage, ready to start. Running it again
//! changes nothing.

use diesel::{Connection, PgConnection};
use ringside_actors::fight::Command;

use super::rankings::{self, ImportRow};
use crate::db::demo::{self, CardFight, DEMO_EVENT, DIVISIONS};
use crate::db::rankings as ranking_db;
use crate::error::ApiError;

const FIRST: [&str; 24] = [
    "Mateo", "Kenji", "Dario", "Liam", "Ruslan", "Marcus", "Andre", "Tyrone", "Sean", "Israel",
    "Paulo", "Robert", "Jonas", "Cyril", "Kamal", "Iker", "Tomasz", "Bruno", "Arman", "Diego",
    "Elias", "Farid", "Hugo", "Niko",
];
const LAST: [&str; 24] = [
    "Varga",
    "Orimura",
    "Mendes",
    "Callahan",
    "Temirov",
    "Bell",
    "Costa",
    "Okafor",
    "Whitaker",
    "Mbatha",
    "Ferreira",
    "Lindqvist",
    "Kowalczyk",
    "Gaudet",
    "Idris",
    "Zabala",
    "Novak",
    "Santos",
    "Petrosyan",
    "Ramirez",
    "Brandt",
    "Haddad",
    "Lemaire",
    "Rautio",
];
const NICKNAMES: [&str; 20] = [
    "The Viper",
    "Silent Storm",
    "Hurricane",
    "The Hammer",
    "The Glacier",
    "Showtime",
    "Carioca",
    "The Architect",
    "Ice",
    "Clockwork",
    "Stone Hands",
    "The Reaper",
    "The Oak",
    "Le Mur",
    "Nightshift",
    "El Martillo",
    "The Wolf",
    "Dynamite",
    "The Professor",
    "Lights Out",
];

/// Fighters per division: the champion and 15 contenders.
const PER_DIVISION: usize = 16;

/// The demo's fighter at `place` (0: the champion) of division `d`.
fn fighter(d: usize, place: usize) -> ImportRow {
    // 5 and 24 are coprime: the first names of a division never repeat.
    let name = format!(
        "{} {}",
        FIRST[(d * 7 + place * 5) % FIRST.len()],
        LAST[(d * 11 + place * 3) % LAST.len()]
    );
    let p = place as i32;
    let d = d as i32;
    ImportRow {
        line: 0,
        division: DIVISIONS[d as usize].0.to_string(),
        rank: (place > 0).then_some(p),
        fighter: name,
        nickname: Some(NICKNAMES[((d * 5 + p * 7) as usize) % NICKNAMES.len()].to_string()),
        wins: 26 - p + (d + p) % 4,
        losses: 1 + (p * 3 + d) % 6,
        draws: i32::from((p + d) % 5 == 0),
    }
}

/// The demo's judges and referees (fictional).
const JUDGES: [&str; 5] = [
    "Helena Marsh",
    "Tomas Quill",
    "Dina Okoro",
    "Ravi Anand",
    "Colette Brun",
];
const REFEREES: [&str; 3] = ["Marco Sato", "Glen Abernathy", "Ines Varela"];

pub fn run(db: &crate::db::Db) -> Result<String, ApiError> {
    let mut conn = db.conn()?;
    conn.transaction(|c| seed(c))
}

fn seed(conn: &mut PgConnection) -> Result<String, ApiError> {
    if let Some(id) = demo::existing_event(conn)? {
        return Ok(format!("the demo card is already loaded (event {id})"));
    }
    let divisions = demo::divisions(conn)?;
    let rows: Vec<ImportRow> = (0..DIVISIONS.len())
        .flat_map(|d| (0..PER_DIVISION).map(move |place| fighter(d, place)))
        .enumerate()
        .map(|(i, row)| ImportRow { line: i + 1, ..row })
        .collect();
    rankings::import_rows(conn, &rows)?;
    let id = |conn: &mut PgConnection, d: usize, place: usize| -> Result<i64, ApiError> {
        let name = fighter(d, place).fighter;
        ranking_db::fighter_named(conn, divisions[d], &name)?
            .map(|f| f.id)
            .ok_or_else(|| ApiError::Internal(format!("{name} was not imported")))
    };
    // (division, red place, blue place, rounds, title)
    let matchups = [
        (2, 0, 1, 5, true),
        (3, 0, 1, 5, true),
        (0, 1, 2, 3, false),
        (1, 2, 3, 3, false),
        (4, 1, 3, 3, false),
        (5, 4, 5, 3, false),
    ];
    let mut card: Vec<CardFight> = Vec::new();
    for (d, red, blue, rounds, title) in matchups {
        card.push((
            id(conn, d, red)?,
            id(conn, d, blue)?,
            divisions[d],
            rounds,
            title,
        ));
    }
    let (event, live) = demo::card(conn, &card)?;
    // Officials as a commission assigns them: a referee and three judges a
    // fight, none judging twice in a row.
    // Assigning officials notifies no one.
    let push = crate::db::notifications::PushTargets {
        platforms: Vec::new(),
        ttl_seconds: 0,
        hand_over: None,
    };
    for (i, fight) in demo::live_fights(conn, live)?.into_iter().enumerate() {
        let judges: Vec<String> = (0..3)
            .map(|j| JUDGES[(i + j) % JUDGES.len()].to_string())
            .collect();
        let referee = REFEREES[i % REFEREES.len()].to_string();
        super::fight_control::change(
            conn,
            None,
            fight,
            |_, _| Ok(Command::AssignOfficials { referee, judges }),
            &push,
        )?;
    }
    Ok(format!(
        "loaded the demo card: event {event} \"{DEMO_EVENT}\" with {} fights and {} ranked fighters \
         in {} divisions; live event {live} is ready (POST /api/live/events/{live}/start/ as admin)",
        card.len(),
        rows.len(),
        DIVISIONS.len(),
    ))
}
