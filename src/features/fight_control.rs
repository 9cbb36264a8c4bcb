//! Fight control for moderators and admins: start the fight, run its
//! rounds, enter stats and judges' scores, record the result. The fight's
//! own state machine is `ringside_actors::fight`; this module locks the
//! fight, applies a change, stores it and decides what it publishes (`fight_state` on the
//! fight's and the event's channels, `event_state`); what an official
//! result moves (records, ratings, ranks, the champion) is `rankings`'.

use diesel::PgConnection;
use ringside_actors::fight::{self, FightError, FightResult, FightState, Winner};
use ringside_actors::scoring::{self, RoundScore};
use ringside_actors::Channel;
use serde::Deserialize;
use serde_json::json;
use serde_json::{Map, Value};

use super::publishing;
use super::rankings::{self, Outcome};
use crate::db::channels::{self, Published};
use crate::db::fight_control::{self as db, Locked};
use crate::db::snapshots;
use crate::error::{named, ApiError};
use crate::state::AppState;
use crate::validate;
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

/// Records the official result on the fight; what it moves (records,
/// ratings, ranks, the champion) is `rankings::apply_result`'s.
pub fn finish(
    conn: &mut PgConnection,
    locked: &Locked,
    result: &FightResult,
) -> QueryResult<rankings::Applied> {
    db::store_result(conn, locked, result)?;
    let outcome = match (result.method.as_str(), result.winner) {
        ("no_contest", _) => Outcome::NoContest,
        (_, Some(Winner::Red)) => Outcome::RedWins,
        (_, Some(Winner::Blue)) => Outcome::BlueWins,
        (_, None) => Outcome::Draw,
    };
    rankings::apply_result(conn, &locked.fight, outcome)
}

/// Locks the fight, applies `change`, publishes the new state, answers with it.
async fn control(
    state: &AppState,
    id: i64,
    change: impl FnOnce(&mut diesel::PgConnection, &Locked, FightState) -> Result<Vec<Published>, ApiError>
        + Send
        + 'static,
) -> Result<Value, ApiError> {
    publishing(state, move |conn| {
        let locked = db::lock(conn, id).map_err(|e| named("live fight")(e.into()))?;
        let mut published = change(conn, &locked, locked.state())?;
        published.extend(publish_state(conn, &locked)?);
        Ok((snapshots::fight(conn, id)?, published))
    })
    .await
}

/// Starts a fight of a live event.
pub async fn start(state: &AppState, id: i64) -> Result<Value, ApiError> {
    control(state, id, |conn, locked, fight| {
        if locked.event_status != "live" {
            return Err(ApiError::Conflict {
                code: crate::error::ConflictCode::InvalidTransition,
                message: format!("the live event is {}; start it first", locked.event_status),
            });
        }
        fight.start()?;
        db::start(conn, locked)?;
        Ok(vec![publish_event_state(conn, locked.live.live_event_id)?])
    })
    .await
}

/// The body of `POST …/rounds/start/` and `…/rounds/end/`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = RoundRequest)]
pub struct RoundInput {
    /// The round to start or end.
    pub round: i32,
}

/// Starts or ends a round (`step` is the state machine's move).
pub async fn change_round(
    state: &AppState,
    id: i64,
    round: i32,
    step: fn(&FightState, i32) -> Result<FightState, FightError>,
) -> Result<Value, ApiError> {
    control(state, id, move |conn, locked, fight| {
        db::set_round(conn, locked, &step(&fight, round)?)?;
        Ok(Vec::new())
    })
    .await
}

/// The body of `POST …/stats/`: one corner's counters for one round.
#[derive(Debug, Deserialize)]
pub struct StatsInput {
    pub corner: Winner,
    pub round: i32,
    #[serde(flatten)]
    pub counters: Map<String, Value>,
}

/// Sets a corner's counters for a round (merged into what is there).
pub async fn stats(state: &AppState, id: i64, body: StatsInput) -> Result<Value, ApiError> {
    let StatsInput {
        corner,
        round,
        counters,
    } = body;
    let counters = fight::check_stats(&counters)?;
    if counters.is_empty() {
        return Err(ApiError::bad_request("no stats given"));
    }
    control(state, id, move |conn, locked, fight| {
        fight.check_stats_round(round)?;
        let merged = fight::merge_stats(&locked.live.live_stats, round, corner, counters);
        db::set_stats(conn, locked, &merged)?;
        Ok(Vec::new())
    })
    .await
}

/// The body of `POST …/scores/`: one judge's score for one round.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = JudgeScoreRequest, description = r#"One judge's score of one round, 10-point must: 10-10, 10-9, 10-8 or 10-7, either way."#)]
pub struct ScoreInput {
    /// The judge's name (trimmed).
    #[schema(min_length = 1, max_length = 100)]
    pub judge: String,
    /// A round that is over.
    pub round: i32,
    #[schema(minimum = 7, maximum = 10)]
    pub red: i32,
    #[schema(minimum = 7, maximum = 10)]
    pub blue: i32,
}

/// Records a judge's round score (once per judge and round); `by` entered it.
pub async fn score(
    state: &AppState,
    by: i64,
    id: i64,
    body: ScoreInput,
) -> Result<Value, ApiError> {
    let judge = validate::line("judge", &body.judge, 1, 100)?;
    scoring::check_round_score(body.red, body.blue)
        .map_err(|e| ApiError::invalid("red", e.to_string()))?;
    let score = RoundScore {
        judge,
        round: body.round,
        red: body.red,
        blue: body.blue,
    };
    control(state, id, move |conn, locked, fight| {
        fight.check_score_round(score.round)?;
        db::add_score(conn, locked, &score, by).map_err(|e| match ApiError::from(e) {
            ApiError::Conflict { .. } => ApiError::Conflict {
                code: crate::error::ConflictCode::AlreadyExists,
                message: format!("{} has already scored round {}", score.judge, score.round),
            },
            other => other,
        })?;
        Ok(Vec::new())
    })
    .await
}

/// Records the official result: the fight ends, records, ratings and
/// rankings move, and followers are notified, all in one transaction.
pub async fn result(state: &AppState, id: i64, result: FightResult) -> Result<Value, ApiError> {
    validate::line("method", &result.method, 1, 50)?;
    validate::line("time", &result.time, 1, 10)?;
    let push = state.push.targets().clone();
    control(state, id, move |conn, locked, fight| {
        fight.finish(&result)?;
        let mut applied = finish(conn, locked, &result)?;
        let mut published = std::mem::take(&mut applied.published);
        published.push(publish_event_state(conn, locked.live.live_event_id)?);
        // Followers hear it in the same transaction: stored, then live.
        let finished = crate::db::catalog::find_fight(conn, locked.fight.id)?;
        published.extend(
            crate::features::notifications::on_fight_result(conn, &finished, &push)?.published,
        );
        published.extend(
            crate::features::notifications::on_ranking_moves(conn, &applied.to_notify(), &push)?
                .published,
        );
        Ok(published)
    })
    .await
}
