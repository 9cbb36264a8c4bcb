//! Fight control's rules beyond the fight's own state machine (which is
//! `ringside_actors::fight`): what a change publishes (`fight_state` on the
//! fight's and the event's channels, `event_state`), and what an official
//! result moves: both fighters' records, their ratings (Glicko-2) and their
//! divisions' rankings, each move published as `ranking`.

use diesel::PgConnection;
use ringside_actors::fight::{FightResult, Winner};
use ringside_actors::ranking::{self, Outcome};
use ringside_actors::Channel;
use serde_json::json;

use crate::db::channels::{self, Published};
use crate::db::fight_control::{self as db, Locked, RecordColumn};
use crate::db::snapshots;
use diesel::QueryResult;

/// `fight_state` on the fight's channel and the event's, with both snapshots.
pub fn publish_state(conn: &mut PgConnection, locked: &Locked) -> QueryResult<Vec<Published>> {
    let (id, event) = (locked.live.id, locked.live.live_event_id);
    let fight = snapshots::fight(conn, id)?;
    let mut on_fight = channels::append(conn, &Channel::Fight(id), "fight_state", &fight)?;
    on_fight.snapshot = Some(fight.clone());
    let mut on_event = channels::append(conn, &Channel::Event(event), "fight_state", &fight)?;
    on_event.snapshot = Some(snapshots::event(conn, event)?);
    Ok(vec![on_fight, on_event])
}

/// `event_state` on the event's channel: status and current fight.
pub fn publish_event_state(conn: &mut PgConnection, event: i64) -> QueryResult<Published> {
    let snapshot = snapshots::event(conn, event)?;
    let data = json!({
        "id": event,
        "status": snapshot["status"],
        "current_fight": snapshot["current_fight"],
        "start_time": snapshot["start_time"],
        "end_time": snapshot["end_time"],
    });
    let mut published = channels::append(conn, &Channel::Event(event), "event_state", &data)?;
    published.snapshot = Some(snapshot);
    Ok(published)
}

/// A fighter whose rank changed after a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankMove {
    pub fighter: i64,
    pub division: i64,
    pub old_rank: i32,
    pub new_rank: i32,
}

/// Records the official result: the fight, both fighters' records, their
/// ratings and their divisions' rankings. Returns the ranking messages and
/// the rank changes.
pub fn finish(
    conn: &mut PgConnection,
    locked: &Locked,
    result: &FightResult,
) -> QueryResult<(Vec<Published>, Vec<RankMove>)> {
    db::store_result(conn, locked, result)?;
    let (red, blue) = (locked.fight.red_fighter_id, locked.fight.blue_fighter_id);
    let outcome = match (result.method.as_str(), result.winner) {
        ("no_contest", _) => None,
        (_, Some(Winner::Red)) => Some(Outcome::RedWins),
        (_, Some(Winner::Blue)) => Some(Outcome::BlueWins),
        (_, None) => Some(Outcome::Draw),
    };
    record(conn, red, blue, outcome)?;
    match outcome {
        Some(outcome) => rerank(conn, red, blue, outcome),
        None => Ok((Vec::new(), Vec::new())),
    }
}

fn record(
    conn: &mut PgConnection,
    red: i64,
    blue: i64,
    outcome: Option<Outcome>,
) -> QueryResult<()> {
    use RecordColumn::*;
    let (r, b) = match outcome {
        None => (NoContests, NoContests),
        Some(Outcome::Draw) => (Draws, Draws),
        Some(Outcome::RedWins) => (Wins, Losses),
        Some(Outcome::BlueWins) => (Losses, Wins),
    };
    db::bump_record(conn, red, r)?;
    db::bump_record(conn, blue, b)
}

fn rerank(
    conn: &mut PgConnection,
    red: i64,
    blue: i64,
    outcome: Outcome,
) -> QueryResult<(Vec<Published>, Vec<RankMove>)> {
    let (Some((red_div, red_rating)), Some((blue_div, blue_rating))) =
        (db::rating_of(conn, red)?, db::rating_of(conn, blue)?)
    else {
        return Ok((Vec::new(), Vec::new()));
    };
    let (new_red, new_blue) = ranking::rate(red_rating, blue_rating, outcome);
    db::set_rating(conn, red_div, red, &new_red)?;
    db::set_rating(conn, blue_div, blue, &new_blue)?;
    let mut divisions = vec![red_div];
    if blue_div != red_div {
        divisions.push(blue_div);
    }
    let mut out = Vec::new();
    let mut changed = Vec::new();
    for division in divisions {
        let entries = db::ranking_entries(conn, division)?;
        let mut moves = Vec::new();
        for (fighter, old, new) in ranking::reorder(&entries) {
            if old != new {
                db::set_rank(conn, division, fighter, new)?;
                changed.push(RankMove {
                    fighter,
                    division,
                    old_rank: old,
                    new_rank: new,
                });
            }
            if old != new || fighter == red || fighter == blue {
                let rating = entries.iter().find(|e| e.0 == fighter).map(|e| e.1);
                moves.push(json!({ "fighter": fighter, "old_rank": old, "new_rank": new, "rating": rating }));
            }
        }
        let data = json!({ "division": division, "moves": moves });
        out.push(channels::append(
            conn,
            &Channel::Rankings,
            "ranking",
            &data,
        )?);
        let mut on_division =
            channels::append(conn, &Channel::Division(division), "ranking", &data)?;
        on_division.snapshot = Some(snapshots::division(conn, division)?);
        out.push(on_division);
    }
    Ok((out, changed))
}
