//! Fight control: the one home of running a fight (DESIGN §9). The rules
//! are `ringside_actors::fight` (a pure state machine); this module locks
//! the fight, asks the rules, stores the transition in the fight's timeline
//! with the state it leads to, and decides what it publishes and moves:
//!
//! - every transition: `fight_state` on `fight:{id}` and `event:{eid}`
//!   carrying the transition, its timeline entry numbered with that `seq`;
//! - the live updates the engine knows of (`fight_start`, `round_start`,
//!   `round_end`, `knockdown`, `submission_attempt`, `result`), written by
//!   the transitions themselves, verified;
//! - a start: `event_state` (the current fight);
//! - a result: records, ratings and rankings (`features::rankings`), the
//!   followers' notifications, `event_state`;
//! - an amendment: the old result reversed and the new one applied, a
//!   correction to everyone who was told.

use chrono::{SubsecRound, Utc};
use diesel::PgConnection;
use ringside_actors::fight::{Command, OfficialResult, ResultInput, Transition, Winner};
use ringside_actors::ranking::Outcome;
use ringside_actors::scoring::Score;
use ringside_actors::vocabulary::{ResultMethod, UpdateType, Vocabulary};
use ringside_actors::{Channel, Role};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

use super::publishing;
use crate::db::channels::{self, Published};
use crate::db::fight_control::{self as db, Entry, Locked};
use crate::db::live_updates::{self, NewUpdate};
use crate::db::models::{Fight, User};
use crate::db::notifications::PushTargets;
use crate::db::snapshots;
use crate::error::{named, ApiError, ConflictCode};
use crate::features::rankings::{Applied, Move};
use crate::state::AppState;

/// `event_state` on the event's channel: status and current fight.
pub fn publish_event_state(conn: &mut PgConnection, event: i64) -> diesel::QueryResult<Published> {
    event_state(conn, event, false)
}

/// `event_state` with the card (`fights`, as in the snapshot): the card
/// itself changed.
pub fn publish_card(conn: &mut PgConnection, event: i64) -> diesel::QueryResult<Published> {
    event_state(conn, event, true)
}

fn event_state(
    conn: &mut PgConnection,
    event: i64,
    with_card: bool,
) -> diesel::QueryResult<Published> {
    let snapshot = snapshots::event(conn, event)?;
    let mut data = json!({
        "id": event,
        "status": snapshot["status"],
        "current_fight": snapshot["current_fight"],
        "start_time": snapshot["start_time"],
        "end_time": snapshot["end_time"],
    });
    if with_card {
        data["fights"] = snapshot["fights"].clone();
    }
    let mut published = channels::append(conn, &Channel::Event(event), "event_state", &data)?;
    published.snapshot = Some(snapshot);
    Ok(published)
}

/// Locks the fight, asks the rules for the transition `build` describes,
/// stores and publishes it with what it moves; answers the fight snapshot.
async fn control(
    state: &AppState,
    by: i64,
    id: i64,
    build: impl FnOnce(&mut PgConnection, &Locked) -> Result<Command, ApiError> + Send + 'static,
) -> Result<Value, ApiError> {
    let push = state.push.targets().clone();
    publishing(state, move |conn| change(conn, Some(by), id, build, &push)).await
}

/// One change of a fight in the caller's transaction (`by`: who, if a user):
/// the snapshot after it and what it published.
pub fn change(
    conn: &mut PgConnection,
    by: Option<i64>,
    id: i64,
    build: impl FnOnce(&mut PgConnection, &Locked) -> Result<Command, ApiError>,
    push: &PushTargets,
) -> Result<(Value, Vec<Published>), ApiError> {
    let locked = db::lock(conn, id).map_err(|e| named("live fight")(e.into()))?;
    let mut bout = locked.bout()?;
    let command = build(conn, &locked)?;
    // The timeline keeps microseconds: the state must fold back from it exactly.
    let now = Utc::now().trunc_subsecs(6);
    let transition = bout.decide(command, now)?;
    bout.apply(&transition, now);
    let entry = db::record(conn, &locked, &bout, &transition, by, now)?;
    let mut published = publish_transition(conn, &locked, &bout, entry)?;
    let snapshot = published
        .first()
        .and_then(|p| p.snapshot.clone())
        .unwrap_or_default();
    published.extend(consequences(conn, &locked, &transition, by, push)?);
    // The clock, the card's progress: what automation waits for.
    if !matches!(
        transition,
        Transition::Stats { .. } | Transition::Score(_) | Transition::Foul(_)
    ) {
        super::automation::replan(
            conn,
            locked.live.live_event_id,
            super::automation::Scope::Card,
        )?;
    }
    Ok((snapshot, published))
}

/// `fight_state` with the transition, on the fight's channel (whose `seq`
/// numbers the timeline entry; first, with the fight's snapshot) and the
/// event's.
fn publish_transition(
    conn: &mut PgConnection,
    locked: &Locked,
    bout: &ringside_actors::fight::Bout,
    mut entry: Entry,
) -> Result<Vec<Published>, ApiError> {
    let (id, event) = (locked.live.id, locked.live.live_event_id);
    let position = channels::next_position(conn, &Channel::Fight(id))?;
    entry.seq = Some(position.1 as i64);
    db::set_seq(conn, &entry, position.1 as i64)?;
    // The frame is the snapshot's card entry with the transition.
    let snapshot = snapshots::fight(conn, id)?;
    let mut data = snapshot.clone();
    if let Some(map) = data.as_object_mut() {
        map.remove("reactions");
        map.remove("timeline");
    }
    data["transition"] =
        snapshots::timeline_entry_json(&entry, bout.cards_open(locked.open_scoring));
    let mut on_fight = channels::store(
        conn,
        &Channel::Fight(id),
        position.0,
        position.1,
        "fight_state",
        &data,
    )?;
    on_fight.snapshot = Some(snapshot);
    let mut on_event = channels::append(conn, &Channel::Event(event), "fight_state", &data)?;
    on_event.snapshot = Some(snapshots::event(conn, event)?);
    Ok(vec![on_fight, on_event])
}

/// What a transition moves beyond the fight itself.
fn consequences(
    conn: &mut PgConnection,
    locked: &Locked,
    t: &Transition,
    by: Option<i64>,
    push: &PushTargets,
) -> Result<Vec<Published>, ApiError> {
    let event = locked.live.live_event_id;
    let mut out = Vec::new();
    // A correction after the result is no news of the night.
    let live = !matches!(t, Transition::Stats { .. }) || locked.live.status == "in_progress";
    let generated = if live {
        let (red, blue) = crate::db::catalog::corner_names(conn, &locked.fight)?;
        generated_updates(&Corners(red, blue), t)
    } else {
        Vec::new()
    };
    for (update_type, title, description, round, data) in generated {
        let mut update = live_updates::insert(
            conn,
            &NewUpdate {
                live_event_id: event,
                live_fight_id: Some(locked.live.id),
                update_type: update_type.as_str().into(),
                title,
                description,
                round_number: round,
                data,
                is_breaking: false,
                media_asset_id: None,
                is_verified: true,
                created_by: by,
            },
        )?;
        out.extend(live_updates::publish(conn, &mut update)?);
    }
    match t {
        Transition::FightStarted {} | Transition::FightCancelled { .. } => {
            out.push(publish_event_state(conn, event)?);
        }
        Transition::Result(result) => {
            let fight = crate::db::catalog::find_fight(conn, locked.fight.id)?;
            let applied = super::rankings::apply_result(conn, &fight, outcome(result))?;
            out.extend(applied.published.iter().cloned());
            let title_won = won_title(&applied, &fight, result);
            out.extend(
                super::notifications::on_fight_result(conn, &fight, result, title_won, push)?
                    .published,
            );
            out.extend(
                super::notifications::on_ranking_moves(conn, &applied.to_notify(), push)?.published,
            );
            out.push(publish_event_state(conn, event)?);
        }
        Transition::ResultAmended {
            before,
            after,
            reason,
        } => {
            let fight = crate::db::catalog::find_fight(conn, locked.fight.id)?;
            let reversed = super::rankings::reverse_result(conn, &fight, outcome(before), reason)?;
            out.extend(reversed.published.iter().cloned());
            let applied = super::rankings::apply_result(conn, &fight, outcome(after))?;
            out.extend(applied.published.iter().cloned());
            let title_won = won_title(&applied, &fight, after);
            out.extend(
                super::notifications::on_result_amended(
                    conn, &fight, before, after, title_won, push,
                )?
                .published,
            );
            // Followers hear of a fighter whose rank the correction moved,
            // from where he stood before it to where he stands now.
            let moves = net_moves(&reversed, &applied);
            let moves: Vec<&Move> = moves.iter().collect();
            out.extend(super::notifications::on_ranking_moves(conn, &moves, push)?.published);
            out.push(publish_event_state(conn, event)?);
        }
        _ => {}
    }
    Ok(out)
}

/// Whether the result's winner took the title with it.
fn won_title(applied: &Applied, fight: &Fight, result: &OfficialResult) -> bool {
    let winner = match result.winner {
        Some(Winner::Red) => Some(fight.red_fighter_id),
        Some(Winner::Blue) => Some(fight.blue_fighter_id),
        None => None,
    };
    applied
        .title
        .as_ref()
        .is_some_and(|t| t.champion.is_some() && t.champion == winner)
}

/// Per fighter who fought, his move across a reversal and the result that
/// replaced it: where he stood before the one, where he stands after the
/// other. Only those whose rank changed.
fn net_moves(reversed: &Applied, applied: &Applied) -> Vec<Move> {
    let mut out: Vec<Move> = Vec::new();
    for m in reversed.fought().into_iter().chain(applied.fought()) {
        match out
            .iter_mut()
            .find(|o| o.fighter == m.fighter && o.division == m.division)
        {
            Some(o) => {
                o.rank_after = m.rank_after;
                o.rating_after = m.rating_after;
                o.reason = m.reason.clone();
                o.cause = m.cause;
                o.at = m.at;
            }
            None => out.push(m.clone()),
        }
    }
    out.retain(|m| m.rank_before != m.rank_after);
    out
}

/// How a result counts for records and ratings.
fn outcome(result: &OfficialResult) -> Outcome {
    match (result.method, result.winner) {
        (ResultMethod::NoContest, _) => Outcome::NoContest,
        (_, Some(Winner::Red)) => Outcome::RedWins,
        (_, Some(Winner::Blue)) => Outcome::BlueWins,
        (_, None) => Outcome::Draw,
    }
}

type Generated = (UpdateType, String, String, Option<i32>, Value);

/// The live updates a transition writes: what the engine knows, no
/// reporter types it.
fn generated_updates(corners: &Corners, t: &Transition) -> Vec<Generated> {
    let entry =
        |update_type, title: String, description: String, round: Option<i32>, data: Value| {
            let mut data = data;
            data["generated"] = json!(true);
            (update_type, title, description, round, data)
        };
    match t {
        Transition::FightStarted {} => vec![entry(
            UpdateType::FightStart,
            "The fight is under way".into(),
            String::new(),
            None,
            json!({}),
        )],
        Transition::RoundStarted { round } => vec![entry(
            UpdateType::RoundStart,
            format!("Round {round}"),
            String::new(),
            Some(*round),
            json!({}),
        )],
        Transition::RoundEnded {
            round,
            elapsed_ms,
            early,
            reason,
        } => vec![entry(
            UpdateType::RoundEnd,
            if *early {
                format!(
                    "Round {round} stopped at {}",
                    ringside_actors::fight::clock_text(*elapsed_ms)
                )
            } else {
                format!("End of round {round}")
            },
            reason.clone().unwrap_or_default(),
            Some(*round),
            json!({ "early": early, "elapsed_ms": elapsed_ms }),
        )],
        Transition::Stats {
            round,
            corner,
            before,
            after,
            ..
        } => {
            let mut out = Vec::new();
            for _ in before.knockdowns..after.knockdowns {
                out.push(entry(
                    UpdateType::Knockdown,
                    format!(
                        "Knockdown: {} drops {}",
                        corners.of(*corner),
                        corners.of(corner.other())
                    ),
                    String::new(),
                    Some(*round),
                    json!({ "corner": corner }),
                ));
            }
            for _ in before.submission_attempts..after.submission_attempts {
                out.push(entry(
                    UpdateType::SubmissionAttempt,
                    format!("Submission attempt by {}", corners.of(*corner)),
                    String::new(),
                    Some(*round),
                    json!({ "corner": corner }),
                ));
            }
            out
        }
        Transition::Result(result) => vec![entry(
            UpdateType::Result,
            corners.headline(result),
            String::new(),
            Some(result.round),
            json!({ "result": result }),
        )],
        Transition::ResultAmended {
            before,
            after,
            reason,
        } => vec![entry(
            UpdateType::Result,
            format!("Result amended: {}", corners.headline(after)),
            reason.clone(),
            Some(after.round),
            json!({ "result": after, "amended_from": before, "correction": true }),
        )],
        _ => Vec::new(),
    }
}

/// The fighters' names, red then blue, for the updates' headlines.
struct Corners(String, String);

impl Corners {
    fn of(&self, corner: Winner) -> &str {
        match corner {
            Winner::Red => &self.0,
            Winner::Blue => &self.1,
        }
    }

    /// "Varga wins by submission (rear-naked choke)".
    fn headline(&self, result: &OfficialResult) -> String {
        let how = super::notifications::templates::result_words(result);
        match result.winner {
            Some(w) => format!("{} wins by {how}", self.of(w)),
            None => format!("{} vs {}: {how}", self.0, self.1),
        }
    }
}

// ---- the commands -----------------------------------------------------------
//
// Each body converts into the rules' `Command`; `run` applies it. Starting
// a fight is its own function: it needs the event and the other fights.

/// Applies a command to a fight (`by`: the staff member).
pub async fn run(state: &AppState, by: i64, id: i64, command: Command) -> Result<Value, ApiError> {
    control(state, by, id, move |_, _| Ok(command)).await
}

/// Starts a fight of a live event: one at a time per event.
pub async fn start(state: &AppState, by: i64, id: i64) -> Result<Value, ApiError> {
    control(state, by, id, start_command).await
}

/// The start of a fight, once its event is live and no other fight of it
/// is in progress.
pub fn start_command(conn: &mut PgConnection, locked: &Locked) -> Result<Command, ApiError> {
    if locked.event_status != "live" {
        return Err(ApiError::Conflict {
            code: ConflictCode::InvalidTransition,
            message: format!("the live event is {}; start it first", locked.event_status),
        });
    }
    db::lock_event(conn, locked)?;
    Ok(Command::Start {
        other_in_progress: db::other_in_progress(conn, locked)?,
    })
}

/// The body of `POST …/officials/`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = OfficialsRequest)]
pub struct OfficialsInput {
    /// The referee's name.
    #[schema(min_length = 1, max_length = 100)]
    pub referee: String,
    /// Exactly three different judges.
    #[schema(min_items = 3, max_items = 3)]
    pub judges: Vec<String>,
}

impl From<OfficialsInput> for Command {
    fn from(b: OfficialsInput) -> Command {
        Command::AssignOfficials {
            referee: b.referee,
            judges: b.judges,
        }
    }
}

/// The body of `POST …/rounds/start/`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = RoundRequest)]
pub struct RoundInput {
    /// The round to start: the next one.
    pub round: i32,
}

impl From<RoundInput> for Command {
    fn from(b: RoundInput) -> Command {
        Command::StartRound { round: b.round }
    }
}

/// The body of `POST …/rounds/end/`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = RoundEndRequest)]
pub struct EndRoundInput {
    /// The round on.
    pub round: i32,
    /// `M:SS`: when the round was stopped, if before the horn (then `reason` too). Absent: the horn, 5:00.
    #[serde(default)]
    pub time: Option<String>,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub reason: Option<String>,
}

impl From<EndRoundInput> for Command {
    fn from(b: EndRoundInput) -> Command {
        Command::EndRound {
            round: b.round,
            time: b.time,
            reason: b.reason,
        }
    }
}

/// The body of `POST …/rounds/pause/` and `…/cancel/`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = ReasonRequest)]
pub struct ReasonInput {
    #[schema(min_length = 1, max_length = 200)]
    pub reason: String,
}

/// The body of `POST …/rounds/clock/`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = ClockRequest)]
pub struct ClockInput {
    /// What the arena's clock reads, `M:SS` into the round.
    pub elapsed: String,
    #[schema(min_length = 1, max_length = 200)]
    pub reason: String,
}

impl TryFrom<ClockInput> for Command {
    type Error = ApiError;
    fn try_from(b: ClockInput) -> Result<Command, ApiError> {
        let elapsed_s = ringside_actors::fight::result::parse_time(&b.elapsed)
            .map_err(|_| ApiError::invalid("elapsed", "must be M:SS from 0:00 to 5:00"))?;
        Ok(Command::SetClock {
            elapsed_s,
            reason: b.reason,
        })
    }
}

/// The body of `POST …/fouls/`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = FoulRequest)]
pub struct FoulInput {
    /// The corner that fouled.
    pub corner: Winner,
    /// The round on (or just over).
    pub round: i32,
    /// What it was: "eye poke", "groin strike", "fence grab".
    #[schema(min_length = 1, max_length = 100)]
    pub foul: String,
    /// Points taken from that corner on every card for the round.
    #[schema(minimum = 0, maximum = 2)]
    pub points: i32,
    pub intentional: bool,
}

impl From<FoulInput> for Command {
    fn from(b: FoulInput) -> Command {
        Command::Foul {
            corner: b.corner,
            round: b.round,
            foul: b.foul,
            points: b.points,
            intentional: b.intentional,
        }
    }
}

/// The body of `POST …/scores/`: one judge's score for one round.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = JudgeScoreRequest, description = r#"One assigned judge's score of one finished round, 10-point must before deductions: 10-10, 10-9, 10-8 or 10-7, either way."#)]
pub struct ScoreInput {
    /// One of the fight's three judges (matched without regard to case or spacing).
    #[schema(min_length = 1, max_length = 100)]
    pub judge: String,
    pub round: i32,
    #[schema(minimum = 7, maximum = 10)]
    pub red: i32,
    #[schema(minimum = 7, maximum = 10)]
    pub blue: i32,
}

impl From<ScoreInput> for Command {
    fn from(b: ScoreInput) -> Command {
        Command::Score(Score {
            judge: b.judge,
            round: b.round,
            red: b.red,
            blue: b.blue,
        })
    }
}

/// The body of `POST …/stats/`: one corner's counters for one round.
#[derive(Debug, Deserialize)]
pub struct StatsInput {
    pub corner: Winner,
    pub round: i32,
    /// Why, for a correction (a counter lowered, or after the result).
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(flatten)]
    pub counters: BTreeMap<String, Value>,
}

impl TryFrom<StatsInput> for Command {
    type Error = ApiError;
    fn try_from(b: StatsInput) -> Result<Command, ApiError> {
        let mut counters = BTreeMap::new();
        for (name, value) in b.counters {
            let n = value.as_u64().ok_or_else(|| {
                ApiError::invalid("stats", format!("{name} must be a whole number from 0"))
            })?;
            counters.insert(name, n);
        }
        Ok(Command::Stats {
            round: b.round,
            corner: b.corner,
            counters,
            reason: b.reason,
        })
    }
}

/// The body of `POST …/result/amend/`: the corrected result and why.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = AmendRequest)]
pub struct AmendInput {
    #[serde(flatten)]
    pub result: ResultInput,
    /// Why (kept in the timeline and told to everyone who heard the result).
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

impl From<AmendInput> for Command {
    fn from(b: AmendInput) -> Command {
        Command::Amend {
            result: b.result,
            reason: b.reason,
        }
    }
}

// ---- the reads --------------------------------------------------------------

/// A fight's rules state, and whether `viewer` may see its cards: staff
/// always, everyone else when the event opens scoring or the result is in.
fn cards_open_to(
    conn: &mut PgConnection,
    id: i64,
    viewer: Option<&User>,
) -> Result<(ringside_actors::fight::Bout, bool), ApiError> {
    let card =
        crate::db::live_events::card_entry(conn, id).map_err(|e| named("live fight")(e.into()))?;
    let bout = db::bout_of(&card.live, &card.fight)?;
    let staff = viewer.is_some_and(|u| u.role().includes(Role::Moderator));
    let open = staff || bout.cards_open(card.open_scoring);
    Ok((bout, open))
}

/// Every transition of a fight in order (after entry `after`); judges'
/// numbers hidden from the public while the cards are.
pub async fn timeline(
    state: &AppState,
    viewer: Option<User>,
    id: i64,
    after: i32,
) -> Result<Value, ApiError> {
    state
        .db
        .run(move |conn| {
            let (_, open) = cards_open_to(conn, id, viewer.as_ref())?;
            let rows = db::timeline(conn, id, after, 10_000, false)?;
            Ok(json!({
                "live_fight": id,
                "results": rows.iter().map(|e| snapshots::timeline_entry_json(e, open)).collect::<Vec<_>>(),
            }))
        })
        .await
}

/// Each judge's card, round by round, deductions applied, with totals:
/// staff at once, everyone else when the cards are open.
pub async fn scorecards(
    state: &AppState,
    viewer: Option<User>,
    id: i64,
) -> Result<Value, ApiError> {
    state
        .db
        .run(move |conn| {
            let (bout, open) = cards_open_to(conn, id, viewer.as_ref())?;
            if !open {
                return Err(ApiError::Forbidden(
                    "the judges' cards are read with the result (this event does not open scoring)"
                        .into(),
                ));
            }
            // The view projects only while the fight is in progress.
            let view = bout.view(Utc::now(), true);
            Ok(json!({
                "live_fight": id,
                "judges": bout.officials.as_ref().map(|o| o.judges.clone()).unwrap_or_default(),
                "cards": view.scorecards,
                "fouls": view.fouls,
                "projected": view.projected,
                "result": view.result,
            }))
        })
        .await
}
