//! The queries fight control runs: locking a live fight with what its rules
//! need, and storing each change (state, stats, scores, the result). The
//! rules and what is published are in `features/fight_control.rs`; what a
//! result moves (records, ratings, ranks) is `db/rankings.rs`.

use chrono::Utc;
use diesel::prelude::*;
use ringside_actors::fight::{FightResult, FightState, Winner};
use ringside_actors::scoring::{self, RoundScore};
use serde_json::Value;

use super::models::{Fight, LiveFight};
use super::schema::{fights, judge_scores, live_events, live_fights};

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

/// Stores the official result on the fight, completes the live fight and
/// clears it as the event's current fight.
pub fn store_result(
    conn: &mut PgConnection,
    locked: &Locked,
    result: &FightResult,
) -> QueryResult<()> {
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
    Ok(())
}
