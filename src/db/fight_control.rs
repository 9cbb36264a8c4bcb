//! The queries fight control runs: locking a live fight with what its rules
//! need, storing each transition in the timeline with the state it leads
//! to, and reading the timeline back. The rules are in
//! `ringside_actors::fight`; what is published in `features/fight_control.rs`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use ringside_actors::fight::{Bout, OfficialResult, Transition};
use ringside_actors::vocabulary::{FightStatus, Vocabulary};
use serde::Serialize;
use serde_json::Value;

use super::models::{Fight, LiveFight};
use super::schema::{fight_timeline, fights, live_events, live_fights};

/// A live fight locked for change, with what its rules need.
pub struct Locked {
    pub live: LiveFight,
    pub fight: Fight,
    pub event_status: String,
    /// The event's `settings.open_scoring`: the cards are shown live.
    pub open_scoring: bool,
}

impl Locked {
    /// The fight's rules state as stored (a fresh one before anything happened).
    pub fn bout(&self) -> QueryResult<Bout> {
        bout_of(&self.live, &self.fight)
    }
}

/// The stored rules state of a live fight. The fight row has the last word
/// on its rounds (an upcoming fight's may still be edited). A fight that ran
/// before the engine kept its state gets one from its row: its status,
/// round and official result.
pub fn bout_of(live: &LiveFight, fight: &Fight) -> QueryResult<Bout> {
    let mut bout = if live.bout.as_object().is_some_and(|m| m.is_empty()) {
        legacy_bout(live, fight)
    } else {
        serde_json::from_value(live.bout.clone())
            .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?
    };
    bout.scheduled_rounds = fight.scheduled_rounds;
    Ok(bout)
}

fn legacy_bout(live: &LiveFight, fight: &Fight) -> Bout {
    use ringside_actors::fight::{Phase, Winner};
    use ringside_actors::vocabulary::ResultMethod;
    let mut bout = Bout::new(fight.scheduled_rounds);
    bout.status = FightStatus::parse(&live.status).unwrap_or(FightStatus::Upcoming);
    bout.round = live.current_round;
    let result = fight.result_method.as_deref().and_then(ResultMethod::parse);
    match (bout.status, result) {
        (FightStatus::Completed, Some(method)) => {
            bout.phase = Phase::Over;
            bout.result = Some(OfficialResult {
                method,
                winner: fight.winner_corner.as_deref().and_then(Winner::parse),
                round: fight.result_round.unwrap_or(1),
                time: fight.result_time.clone().unwrap_or_else(|| "5:00".into()),
                technique: None,
                stoppage: None,
                foul: None,
                reason: None,
                cards: None,
            });
        }
        (FightStatus::InProgress, _) if bout.round > 0 => bout.phase = Phase::BetweenRounds,
        _ => {}
    }
    bout
}

/// Whether an event's settings open the judges' cards to everyone live.
pub fn open_scoring(settings: &Value) -> bool {
    settings["open_scoring"].as_bool().unwrap_or(false)
}

/// Locks the fight's live event, so two fights of it cannot start at once.
pub fn lock_event(conn: &mut PgConnection, locked: &Locked) -> QueryResult<()> {
    live_events::table
        .find(locked.live.live_event_id)
        .for_update()
        .select(live_events::id)
        .first::<i64>(conn)?;
    Ok(())
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
    let (event_status, settings): (String, Value) = live_events::table
        .find(live.live_event_id)
        .select((live_events::status, live_events::settings))
        .first(conn)?;
    Ok(Locked {
        live,
        fight,
        event_status,
        open_scoring: open_scoring(&settings),
    })
}

/// Another fight of the event that is in progress, if any.
pub fn other_in_progress(conn: &mut PgConnection, locked: &Locked) -> QueryResult<Option<i64>> {
    live_fights::table
        .filter(live_fights::live_event_id.eq(locked.live.live_event_id))
        .filter(live_fights::status.eq(FightStatus::InProgress.as_str()))
        .filter(live_fights::id.ne(locked.live.id))
        .select(live_fights::id)
        .first(conn)
        .optional()
}

/// One entry of a fight's timeline.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = fight_timeline)]
pub struct Entry {
    #[serde(skip)]
    pub id: i64,
    #[serde(skip)]
    pub live_fight_id: i64,
    pub n: i32,
    pub kind: String,
    pub data: Value,
    #[serde(rename = "by")]
    pub by_user: Option<i64>,
    pub seq: Option<i64>,
    pub at: DateTime<Utc>,
}

/// Stores a transition and the state it leads to: the timeline entry, the
/// live fight (state, status, round), and what else it changes (the
/// event's current fight, the fight's official result).
pub fn record(
    conn: &mut PgConnection,
    locked: &Locked,
    bout: &Bout,
    t: &Transition,
    by: Option<i64>,
    at: DateTime<Utc>,
) -> QueryResult<Entry> {
    let id = locked.live.id;
    let n: Option<i32> = fight_timeline::table
        .filter(fight_timeline::live_fight_id.eq(id))
        .select(diesel::dsl::max(fight_timeline::n))
        .first(conn)?;
    let entry: Entry = diesel::insert_into(fight_timeline::table)
        .values((
            fight_timeline::live_fight_id.eq(id),
            fight_timeline::n.eq(n.unwrap_or(0) + 1),
            fight_timeline::kind.eq(t.kind().as_str()),
            fight_timeline::data.eq(t.data()),
            fight_timeline::by_user.eq(by),
            fight_timeline::at.eq(at),
        ))
        .returning(Entry::as_returning())
        .get_result(conn)?;
    let state = serde_json::to_value(bout)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    diesel::update(live_fights::table.find(id))
        .set((
            live_fights::bout.eq(state),
            live_fights::status.eq(bout.status.as_str()),
            live_fights::current_round.eq(bout.round),
        ))
        .execute(conn)?;
    match t {
        Transition::FightStarted {} => {
            diesel::update(live_fights::table.find(id))
                .set(live_fights::started_at.eq(at))
                .execute(conn)?;
            diesel::update(live_events::table.find(locked.live.live_event_id))
                .set(live_events::current_fight_id.eq(id))
                .execute(conn)?;
        }
        Transition::Result(result) => {
            store_result(conn, locked, result)?;
            diesel::update(live_fights::table.find(id))
                .set(live_fights::ended_at.eq(at))
                .execute(conn)?;
            diesel::update(
                live_events::table
                    .find(locked.live.live_event_id)
                    .filter(live_events::current_fight_id.eq(id)),
            )
            .set(live_events::current_fight_id.eq(None::<i64>))
            .execute(conn)?;
        }
        Transition::ResultAmended { after, .. } => store_result(conn, locked, after)?,
        _ => {}
    }
    Ok(entry)
}

/// The official result on the fight itself.
fn store_result(
    conn: &mut PgConnection,
    locked: &Locked,
    result: &OfficialResult,
) -> QueryResult<()> {
    let details = serde_json::json!({
        "technique": result.technique,
        "stoppage": result.stoppage,
        "foul": result.foul,
        "reason": result.reason,
        "cards": result.cards,
    });
    diesel::update(fights::table.find(locked.fight.id))
        .set((
            fights::winner_corner.eq(result.winner.map(|w| w.as_str())),
            fights::result_method.eq(result.method.as_str()),
            fights::result_round.eq(result.round),
            fights::result_time.eq(&result.time),
            fights::result_details.eq(details),
        ))
        .execute(conn)?;
    Ok(())
}

/// Its position on `fight:{id}`, once published.
pub fn set_seq(conn: &mut PgConnection, entry: &Entry, seq: i64) -> QueryResult<()> {
    diesel::update(fight_timeline::table.find(entry.id))
        .set(fight_timeline::seq.eq(seq))
        .execute(conn)?;
    Ok(())
}

/// A fight's timeline after entry `after`, in order; the last `limit` when
/// `latest`.
pub fn timeline(
    conn: &mut PgConnection,
    live_fight: i64,
    after: i32,
    limit: i64,
    latest: bool,
) -> QueryResult<Vec<Entry>> {
    let q = fight_timeline::table
        .filter(fight_timeline::live_fight_id.eq(live_fight))
        .filter(fight_timeline::n.gt(after))
        .select(Entry::as_select())
        .limit(limit);
    if latest {
        let mut rows: Vec<Entry> = q.order(fight_timeline::n.desc()).load(conn)?;
        rows.reverse();
        Ok(rows)
    } else {
        q.order(fight_timeline::n.asc()).load(conn)
    }
}
