//! Running a fight: each change is checked against the fight's state
//! machine, stored, and numbered on the fight's and the event's channels in
//! one transaction. A result also updates records, ratings and rankings.

use chrono::Utc;
use diesel::prelude::*;
use ringside_actors::fight::{FightResult, FightState, Winner};
use ringside_actors::ranking::{self, Outcome, Rating};
use ringside_actors::scoring::{self, RoundScore};
use ringside_actors::Channel;
use serde_json::{json, Value};

use super::channels::{self, Published};
use super::models::{Fight, LiveFight};
use super::schema::{fighters, fights, judge_scores, live_events, live_fights, rankings};
use super::snapshots;

/// A live fight locked for change, with what its rules need.
pub struct Locked {
    pub live: LiveFight,
    pub fight: Fight,
    pub event_status: String,
}

impl Locked {
    pub fn state(&self) -> FightState {
        FightState {
            status: self.live.status.clone(),
            current_round: self.live.current_round,
            round_running: self.live.round_start_time.is_some(),
            scheduled_rounds: self.fight.scheduled_rounds,
        }
    }
}

pub fn lock(conn: &mut PgConnection, live_fight: i64) -> QueryResult<Locked> {
    let live: LiveFight = live_fights::table
        .find(live_fight)
        .for_update()
        .select(LiveFight::as_select())
        .first(conn)?;
    let fight = fights::table
        .find(live.fight_id)
        .select(Fight::as_select())
        .first(conn)?;
    let event_status = live_events::table
        .find(live.live_event_id)
        .select(live_events::status)
        .first(conn)?;
    Ok(Locked {
        live,
        fight,
        event_status,
    })
}

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

pub fn start(conn: &mut PgConnection, locked: &Locked) -> QueryResult<()> {
    diesel::update(live_fights::table.find(locked.live.id))
        .set((
            live_fights::status.eq("live"),
            live_fights::started_at.eq(Utc::now()),
        ))
        .execute(conn)?;
    diesel::update(live_events::table.find(locked.live.live_event_id))
        .set(live_events::current_fight_id.eq(locked.live.id))
        .execute(conn)?;
    Ok(())
}

pub fn set_round(conn: &mut PgConnection, locked: &Locked, next: &FightState) -> QueryResult<()> {
    let round_start = if next.round_running {
        Some(Utc::now())
    } else {
        None
    };
    diesel::update(live_fights::table.find(locked.live.id))
        .set((
            live_fights::current_round.eq(next.current_round),
            live_fights::round_start_time.eq(round_start),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_stats(conn: &mut PgConnection, locked: &Locked, stats: &Value) -> QueryResult<()> {
    diesel::update(live_fights::table.find(locked.live.id))
        .set(live_fights::live_stats.eq(stats))
        .execute(conn)?;
    Ok(())
}

/// Stores one judge's round (once: the unique key refuses a second) and
/// recomputes the fight's scorecards.
pub fn add_score(
    conn: &mut PgConnection,
    locked: &Locked,
    score: &RoundScore,
    by: i64,
) -> QueryResult<()> {
    diesel::insert_into(judge_scores::table)
        .values((
            judge_scores::live_fight_id.eq(locked.live.id),
            judge_scores::judge.eq(&score.judge),
            judge_scores::round.eq(score.round),
            judge_scores::red.eq(score.red),
            judge_scores::blue.eq(score.blue),
            judge_scores::entered_by.eq(by),
        ))
        .execute(conn)?;
    let rows: Vec<(String, i32, i32, i32)> = judge_scores::table
        .filter(judge_scores::live_fight_id.eq(locked.live.id))
        .order((judge_scores::judge, judge_scores::round))
        .select((
            judge_scores::judge,
            judge_scores::round,
            judge_scores::red,
            judge_scores::blue,
        ))
        .load(conn)?;
    let scores: Vec<RoundScore> = rows
        .into_iter()
        .map(|(judge, round, red, blue)| RoundScore {
            judge,
            round,
            red,
            blue,
        })
        .collect();
    diesel::update(live_fights::table.find(locked.live.id))
        .set(live_fights::judge_scores.eq(scoring::scorecards(&scores)))
        .execute(conn)?;
    Ok(())
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
    let winner = result.winner.map(|w| match w {
        Winner::Red => "red",
        Winner::Blue => "blue",
    });
    diesel::update(fights::table.find(locked.fight.id))
        .set((
            fights::winner_corner.eq(winner),
            fights::result_method.eq(&result.method),
            fights::result_round.eq(result.round),
            fights::result_time.eq(&result.time),
        ))
        .execute(conn)?;
    diesel::update(live_fights::table.find(locked.live.id))
        .set((
            live_fights::status.eq("completed"),
            live_fights::round_start_time.eq(None::<chrono::DateTime<Utc>>),
            live_fights::ended_at.eq(Utc::now()),
        ))
        .execute(conn)?;
    diesel::update(
        live_events::table
            .find(locked.live.live_event_id)
            .filter(live_events::current_fight_id.eq(locked.live.id)),
    )
    .set(live_events::current_fight_id.eq(None::<i64>))
    .execute(conn)?;

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
    let bump = |conn: &mut PgConnection, id: i64, column: &str| {
        diesel::sql_query(format!(
            "UPDATE fighters SET {column} = {column} + 1 WHERE id = $1"
        ))
        .bind::<diesel::sql_types::BigInt, _>(id)
        .execute(conn)
    };
    match outcome {
        None => {
            bump(conn, red, "no_contests")?;
            bump(conn, blue, "no_contests")?;
        }
        Some(Outcome::Draw) => {
            bump(conn, red, "draws")?;
            bump(conn, blue, "draws")?;
        }
        Some(Outcome::RedWins) => {
            bump(conn, red, "wins")?;
            bump(conn, blue, "losses")?;
        }
        Some(Outcome::BlueWins) => {
            bump(conn, blue, "wins")?;
            bump(conn, red, "losses")?;
        }
    }
    Ok(())
}

/// A fighter's ranking row: (division, rating).
fn rating_of(conn: &mut PgConnection, fighter: i64) -> QueryResult<Option<(i64, Rating)>> {
    rankings::table
        .inner_join(fighters::table)
        .filter(rankings::fighter_id.eq(fighter))
        .filter(rankings::division_id.eq(fighters::division_id))
        .select((
            rankings::division_id,
            rankings::rating,
            rankings::rating_deviation,
            rankings::volatility,
        ))
        .first::<(i64, f64, f64, f64)>(conn)
        .optional()
        .map(|row| {
            row.map(|(d, rating, deviation, volatility)| {
                (
                    d,
                    Rating {
                        rating,
                        deviation,
                        volatility,
                    },
                )
            })
        })
}

fn rerank(
    conn: &mut PgConnection,
    red: i64,
    blue: i64,
    outcome: Outcome,
) -> QueryResult<(Vec<Published>, Vec<RankMove>)> {
    let (Some((red_div, red_rating)), Some((blue_div, blue_rating))) =
        (rating_of(conn, red)?, rating_of(conn, blue)?)
    else {
        return Ok((Vec::new(), Vec::new()));
    };
    let (new_red, new_blue) = ranking::rate(red_rating, blue_rating, outcome);
    for (fighter, division, r) in [(red, red_div, new_red), (blue, blue_div, new_blue)] {
        diesel::update(
            rankings::table
                .filter(rankings::division_id.eq(division))
                .filter(rankings::fighter_id.eq(fighter)),
        )
        .set((
            rankings::rating.eq(r.rating),
            rankings::rating_deviation.eq(r.deviation),
            rankings::volatility.eq(r.volatility),
        ))
        .execute(conn)?;
    }
    let mut divisions = vec![red_div];
    if blue_div != red_div {
        divisions.push(blue_div);
    }
    let mut out = Vec::new();
    let mut changed = Vec::new();
    for division in divisions {
        let entries: Vec<(i64, f64, i32)> = rankings::table
            .filter(rankings::division_id.eq(division))
            .select((rankings::fighter_id, rankings::rating, rankings::rank))
            .load(conn)?;
        let mut moves = Vec::new();
        for (fighter, old, new) in ranking::reorder(&entries) {
            if old != new {
                diesel::update(
                    rankings::table
                        .filter(rankings::division_id.eq(division))
                        .filter(rankings::fighter_id.eq(fighter)),
                )
                .set(rankings::rank.eq(new))
                .execute(conn)?;
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
