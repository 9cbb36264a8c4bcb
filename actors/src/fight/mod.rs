//! A fight under the Unified Rules (DESIGN §9): the state machine a live
//! fight runs. Pure rules, no storage.
//!
//! A [`Bout`] is the fold of its timeline. Every change is a [`Command`];
//! [`Bout::decide`] checks it against the rules and the state and returns
//! the [`Transition`] to store (or why not), and [`Bout::apply`] folds a
//! stored transition in. The edges lock the fight, decide, apply, store the
//! transition in the timeline and publish it; a rebuild is a fold.
//!
//! The table of transitions (what each command needs, what it changes):
//!
//! | command | needs | becomes |
//! |---|---|---|
//! | officials | upcoming | three judges and a referee assigned |
//! | start | upcoming, officials, no other fight of the event in progress | in progress, before round 1 |
//! | start round r | before round 1 or between rounds, r the next, r ≤ scheduled | round r running, clock 0:00 |
//! | pause / resume | running / paused | the clock stops / goes on |
//! | set clock | running or paused | the round's clock reads what the arena's does |
//! | end round r | r running or paused | between rounds (the horn), or stopped (early, with a reason) |
//! | foul | a round begun and not over for the result | a foul; points off that corner on every card |
//! | score | an assigned judge, a finished round, once, before the result | the judge's round |
//! | stats | a begun round; possible numbers | that corner's counters for that round |
//! | result | see [`result`] | completed |
//! | amend | completed (admin) | the corrected result |
//! | cancel | upcoming | cancelled |

pub mod result;
pub mod stats;
#[cfg(test)]
mod tests;
pub mod view;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::scoring::{self, Card, Score};
use crate::vocabulary::{FightStatus, TransitionKind, Vocabulary};
pub use result::{OfficialResult, ResultInput};
pub use stats::Counters;

/// Every round lasts five minutes.
pub const ROUND_LENGTH_S: i64 = 300;
const ROUND_MS: i64 = ROUND_LENGTH_S * 1000;
/// The minute between rounds.
pub const REST_S: i64 = 60;
/// A fight has exactly three judges.
pub const JUDGES: usize = 3;

/// Why the rules refuse a command. Each maps to one HTTP/WS error in the
/// server's `error.rs`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FightError {
    /// A value that can never be right (400, `details` names the field).
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// Not now: the fight is not where the command needs it (409).
    #[error("{0}")]
    WrongState(String),
    #[error("assign the referee and three judges first")]
    OfficialsMissing,
    #[error("fight {0} of this event is in progress; finish it first")]
    FightInProgress(i64),
    #[error("{judge} has already scored round {round}")]
    AlreadyScored { judge: String, round: i32 },
    #[error("the cards are not complete: {}", missing_text(.0))]
    CardsIncomplete(Vec<(String, i32)>),
    /// The result named is not the one the cards give.
    #[error("the cards give {}", verdict_text(.0))]
    ContradictsScorecards(Box<scoring::Verdict>),
}

fn missing_text(missing: &[(String, i32)]) -> String {
    missing
        .iter()
        .map(|(judge, round)| format!("{judge} round {round}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn verdict_text(v: &scoring::Verdict) -> String {
    match v.winner {
        Some(w) => format!("a {} for {}", v.method, w.as_str()),
        None => format!("a {}", v.method),
    }
}

pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> FightError {
    FightError::Invalid {
        field,
        message: message.into(),
    }
}

pub(crate) fn wrong(message: impl Into<String>) -> FightError {
    FightError::WrongState(message.into())
}

/// A corner of the cage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Winner {
    Red,
    Blue,
}

impl Winner {
    pub fn other(self) -> Winner {
        match self {
            Winner::Red => Winner::Blue,
            Winner::Blue => Winner::Red,
        }
    }
}

// A corner, as the database's CHECKs list it (see `vocabulary`).
impl Vocabulary for Winner {
    const NAME: &'static str = "corner";
    const ALL: &'static [Self] = &[Winner::Red, Winner::Blue];
    fn as_str(self) -> &'static str {
        match self {
            Winner::Red => "red",
            Winner::Blue => "blue",
        }
    }
}

/// The referee and the three judges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Officials {
    pub referee: String,
    pub judges: Vec<String>,
}

impl Officials {
    /// The judge's name as assigned, matched without regard to case or
    /// spacing (so "sal d'amato" is Sal D'Amato, and no sixth card appears).
    pub fn judge(&self, name: &str) -> Option<&str> {
        let key = name_key(name);
        self.judges
            .iter()
            .find(|j| name_key(j) == key)
            .map(String::as_str)
    }
}

fn name_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Where a fight is between its first and last bell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Not started, or started and waiting for round 1.
    #[default]
    BeforeRounds,
    Running,
    Paused,
    BetweenRounds,
    /// The round was stopped early (an accidental foul, say): only scores
    /// and the result follow.
    Stopped,
    /// The result is in.
    Over,
}

/// A foul, and the points it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Foul {
    /// The corner that fouled.
    pub corner: Winner,
    pub round: i32,
    /// What it was ("eye poke", "groin strike", "fence grab").
    pub foul: String,
    /// Points taken from that corner on every judge's card for the round.
    pub points: i32,
    pub intentional: bool,
}

/// A fight's rules state: the fold of its timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bout {
    pub status: FightStatus,
    pub scheduled_rounds: i32,
    pub officials: Option<Officials>,
    /// The current (or last) round; 0 before round 1.
    pub round: i32,
    pub phase: Phase,
    /// The current round's clock up to `running_since`, in milliseconds.
    pub elapsed_ms: i64,
    pub running_since: Option<DateTime<Utc>>,
    pub pause_reason: Option<String>,
    pub round_ended_at: Option<DateTime<Utc>>,
    /// How long each finished round lasted, in milliseconds (a round
    /// stopped early, or finished, is shorter).
    pub rounds: BTreeMap<i32, i64>,
    pub fouls: Vec<Foul>,
    pub scores: Vec<Score>,
    /// Per round, per corner.
    pub stats: BTreeMap<i32, BTreeMap<Winner, Counters>>,
    pub result: Option<OfficialResult>,
}

/// A change asked for. The edges parse requests into these.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    AssignOfficials {
        referee: String,
        judges: Vec<String>,
    },
    /// `other_in_progress`: another fight of the event that is in progress.
    Start {
        other_in_progress: Option<i64>,
    },
    StartRound {
        round: i32,
    },
    Pause {
        reason: String,
    },
    Resume,
    SetClock {
        elapsed_s: i64,
        reason: String,
    },
    /// `time`: when the round was stopped, if before the horn.
    EndRound {
        round: i32,
        time: Option<String>,
        reason: Option<String>,
    },
    Foul {
        corner: Winner,
        round: i32,
        foul: String,
        points: i32,
        intentional: bool,
    },
    Score(Score),
    Stats {
        round: i32,
        corner: Winner,
        counters: BTreeMap<String, u64>,
        reason: Option<String>,
    },
    Result(ResultInput),
    Amend {
        result: ResultInput,
        reason: String,
    },
    Cancel {
        reason: String,
    },
}

/// What is stored in the timeline: one entry per change, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Transition {
    OfficialsAssigned(Officials),
    FightStarted {},
    RoundStarted {
        round: i32,
    },
    RoundPaused {
        round: i32,
        elapsed_ms: i64,
        reason: String,
    },
    RoundResumed {
        round: i32,
        elapsed_ms: i64,
    },
    ClockSet {
        round: i32,
        elapsed_ms: i64,
        was_ms: i64,
        reason: String,
    },
    RoundEnded {
        round: i32,
        elapsed_ms: i64,
        early: bool,
        reason: Option<String>,
    },
    Foul(Foul),
    Score(Score),
    Stats {
        round: i32,
        corner: Winner,
        before: Counters,
        after: Counters,
        reason: Option<String>,
    },
    Result(OfficialResult),
    ResultAmended {
        before: OfficialResult,
        after: OfficialResult,
        reason: String,
    },
    FightCancelled {
        reason: String,
    },
}

impl Transition {
    pub fn kind(&self) -> TransitionKind {
        match self {
            Transition::OfficialsAssigned(_) => TransitionKind::OfficialsAssigned,
            Transition::FightStarted {} => TransitionKind::FightStarted,
            Transition::RoundStarted { .. } => TransitionKind::RoundStarted,
            Transition::RoundPaused { .. } => TransitionKind::RoundPaused,
            Transition::RoundResumed { .. } => TransitionKind::RoundResumed,
            Transition::ClockSet { .. } => TransitionKind::ClockSet,
            Transition::RoundEnded { .. } => TransitionKind::RoundEnded,
            Transition::Foul(_) => TransitionKind::Foul,
            Transition::Score(_) => TransitionKind::Score,
            Transition::Stats { .. } => TransitionKind::Stats,
            Transition::Result(_) => TransitionKind::Result,
            Transition::ResultAmended { .. } => TransitionKind::ResultAmended,
            Transition::FightCancelled { .. } => TransitionKind::FightCancelled,
        }
    }

    /// The transition's fields without `kind` (the timeline's `data`).
    pub fn data(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.remove("kind");
        }
        value
    }

    /// Rebuilds a stored transition from its kind and data.
    pub fn from_stored(kind: &str, data: &serde_json::Value) -> Option<Transition> {
        let mut value = data.clone();
        value.as_object_mut()?.insert("kind".into(), kind.into());
        serde_json::from_value(value).ok()
    }

    /// The data as the public sees it: a judge's numbers stay hidden until
    /// the cards are open (`open_scoring`) or the result is in.
    pub fn public_data(&self, cards_open: bool) -> serde_json::Value {
        match self {
            Transition::Score(s) if !cards_open => {
                serde_json::json!({ "judge": s.judge, "round": s.round })
            }
            _ => self.data(),
        }
    }
}

impl Bout {
    pub fn new(scheduled_rounds: i32) -> Bout {
        Bout {
            status: FightStatus::Upcoming,
            scheduled_rounds,
            officials: None,
            round: 0,
            phase: Phase::BeforeRounds,
            elapsed_ms: 0,
            running_since: None,
            pause_reason: None,
            round_ended_at: None,
            rounds: BTreeMap::new(),
            fouls: Vec::new(),
            scores: Vec::new(),
            stats: BTreeMap::new(),
            result: None,
        }
    }

    /// The state a timeline leads to.
    pub fn fold<'a>(
        scheduled_rounds: i32,
        timeline: impl IntoIterator<Item = (&'a Transition, DateTime<Utc>)>,
    ) -> Bout {
        let mut bout = Bout::new(scheduled_rounds);
        for (t, at) in timeline {
            bout.apply(t, at);
        }
        bout
    }

    /// The round's clock now, in milliseconds.
    pub fn elapsed_at(&self, now: DateTime<Utc>) -> i64 {
        let running = self
            .running_since
            .map(|since| (now - since).num_milliseconds().max(0))
            .unwrap_or(0);
        (self.elapsed_ms + running).min(ROUND_MS)
    }

    /// Rounds that went their full five minutes.
    pub fn full_rounds(&self) -> i32 {
        self.rounds.values().filter(|ms| **ms >= ROUND_MS).count() as i32
    }

    /// Before the end of this many rounds an accidental-foul stoppage is a
    /// no contest; after it, it goes to the cards: two of three, three of five.
    pub fn foul_threshold(&self) -> i32 {
        if self.scheduled_rounds >= 5 {
            3
        } else {
            2
        }
    }

    /// Whether a round is over (ended, stopped or finished) and may be scored.
    pub fn round_finished(&self, round: i32) -> bool {
        self.rounds.contains_key(&round)
    }

    /// Each judge's card as it stands, deductions applied, through `last`.
    pub fn cards(&self, last: i32) -> Vec<Card> {
        let judges = self
            .officials
            .as_ref()
            .map(|o| o.judges.clone())
            .unwrap_or_default();
        scoring::cards(&judges, &self.scores, &self.fouls, last)
    }

    /// Checks a command against the rules and the state: the transition to
    /// store, or why not.
    pub fn decide(&self, command: Command, now: DateTime<Utc>) -> Result<Transition, FightError> {
        match command {
            Command::AssignOfficials { referee, judges } => self.assign(referee, judges),
            Command::Start { other_in_progress } => self.start(other_in_progress),
            Command::StartRound { round } => self.start_round(round),
            Command::Pause { reason } => {
                let reason = text("reason", &reason, 200)?;
                self.require(&[Phase::Running], "pause a round that is running")?;
                Ok(Transition::RoundPaused {
                    round: self.round,
                    elapsed_ms: self.elapsed_at(now),
                    reason,
                })
            }
            Command::Resume => {
                self.require(&[Phase::Paused], "resume a paused round")?;
                Ok(Transition::RoundResumed {
                    round: self.round,
                    elapsed_ms: self.elapsed_ms,
                })
            }
            Command::SetClock { elapsed_s, reason } => {
                if !(0..=ROUND_LENGTH_S).contains(&elapsed_s) {
                    return Err(invalid("elapsed", "must be from 0:00 to 5:00"));
                }
                let reason = text("reason", &reason, 200)?;
                self.require(&[Phase::Running, Phase::Paused], "set the clock of a round")?;
                Ok(Transition::ClockSet {
                    round: self.round,
                    elapsed_ms: elapsed_s * 1000,
                    was_ms: self.elapsed_at(now),
                    reason,
                })
            }
            Command::EndRound {
                round,
                time,
                reason,
            } => self.end_round(round, time, reason, now),
            Command::Foul {
                corner,
                round,
                foul,
                points,
                intentional,
            } => self.foul(corner, round, foul, points, intentional),
            Command::Score(score) => self.score(score),
            Command::Stats {
                round,
                corner,
                counters,
                reason,
            } => self.stats(round, corner, &counters, reason, now),
            Command::Result(input) => {
                result::check_shape(&input)?;
                self.require_in_progress()?;
                Ok(Transition::Result(result::finish(self, input, now)?))
            }
            Command::Amend { result, reason } => {
                let reason = text("reason", &reason, 500)?;
                let mut result = result;
                // The amendment's reason is the result's when it gives none.
                result.reason.get_or_insert_with(|| reason.clone());
                result::check_shape(&result)?;
                let before = match (&self.status, &self.result) {
                    (FightStatus::Completed, Some(before)) => before.clone(),
                    _ => return Err(wrong("only a completed fight's result can be amended")),
                };
                let after = result::amend(self, result)?;
                let same = OfficialResult {
                    reason: before.reason.clone(),
                    ..after.clone()
                };
                if same == before {
                    return Err(wrong("the result is already that"));
                }
                Ok(Transition::ResultAmended {
                    before,
                    after,
                    reason,
                })
            }
            Command::Cancel { reason } => {
                let reason = text("reason", &reason, 500)?;
                if self.status != FightStatus::Upcoming {
                    return Err(wrong(format!(
                        "the fight is {}; a fight that started ends with a result (no contest)",
                        self.status
                    )));
                }
                Ok(Transition::FightCancelled { reason })
            }
        }
    }

    /// Folds a stored transition in. No checks: it was decided already.
    pub fn apply(&mut self, t: &Transition, at: DateTime<Utc>) {
        match t {
            Transition::OfficialsAssigned(officials) => self.officials = Some(officials.clone()),
            Transition::FightStarted {} => {
                self.status = FightStatus::InProgress;
                self.phase = Phase::BeforeRounds;
            }
            Transition::RoundStarted { round } => {
                self.round = *round;
                self.phase = Phase::Running;
                self.elapsed_ms = 0;
                self.running_since = Some(at);
                self.pause_reason = None;
            }
            Transition::RoundPaused {
                elapsed_ms, reason, ..
            } => {
                self.phase = Phase::Paused;
                self.elapsed_ms = *elapsed_ms;
                self.running_since = None;
                self.pause_reason = Some(reason.clone());
            }
            Transition::RoundResumed { elapsed_ms, .. } => {
                self.phase = Phase::Running;
                self.elapsed_ms = *elapsed_ms;
                self.running_since = Some(at);
                self.pause_reason = None;
            }
            Transition::ClockSet { elapsed_ms, .. } => {
                self.elapsed_ms = *elapsed_ms;
                if self.phase == Phase::Running {
                    self.running_since = Some(at);
                }
            }
            Transition::RoundEnded {
                round,
                elapsed_ms,
                early,
                ..
            } => {
                self.rounds.insert(*round, *elapsed_ms);
                self.elapsed_ms = *elapsed_ms;
                self.running_since = None;
                self.pause_reason = None;
                self.round_ended_at = Some(at);
                self.phase = if *early {
                    Phase::Stopped
                } else {
                    Phase::BetweenRounds
                };
            }
            Transition::Foul(foul) => self.fouls.push(foul.clone()),
            Transition::Score(score) => self.scores.push(score.clone()),
            Transition::Stats {
                round,
                corner,
                after,
                ..
            } => {
                self.stats
                    .entry(*round)
                    .or_default()
                    .insert(*corner, *after);
            }
            Transition::Result(result) => {
                if matches!(self.phase, Phase::Running | Phase::Paused) {
                    // The round ends where the fight did.
                    let ms = result.seconds() * 1000;
                    self.rounds.insert(result.round, ms);
                    self.elapsed_ms = ms;
                }
                self.round = self.round.max(result.round);
                self.running_since = None;
                self.pause_reason = None;
                self.phase = Phase::Over;
                self.status = FightStatus::Completed;
                self.result = Some(result.clone());
            }
            Transition::ResultAmended { after, .. } => self.result = Some(after.clone()),
            Transition::FightCancelled { .. } => self.status = FightStatus::Cancelled,
        }
    }

    fn require_in_progress(&self) -> Result<(), FightError> {
        match self.status {
            FightStatus::InProgress => Ok(()),
            FightStatus::Completed => Err(wrong("the result is in")),
            other => Err(wrong(format!("the fight is {other}"))),
        }
    }

    /// In progress and in one of `phases`, else "cannot {what} now".
    fn require(&self, phases: &[Phase], what: &str) -> Result<(), FightError> {
        self.require_in_progress()?;
        if phases.contains(&self.phase) {
            Ok(())
        } else {
            Err(wrong(format!("cannot {what} now: {}", self.describe())))
        }
    }

    /// Where the fight is, in words, for refusals.
    pub fn describe(&self) -> String {
        match self.phase {
            Phase::BeforeRounds => "round 1 has not started".into(),
            Phase::Running => format!("round {} is running", self.round),
            Phase::Paused => format!("round {} is paused", self.round),
            Phase::BetweenRounds if self.round >= self.scheduled_rounds => {
                "the last round is over; the cards decide".into()
            }
            Phase::BetweenRounds => format!("between rounds {} and {}", self.round, self.round + 1),
            Phase::Stopped => format!("round {} was stopped; the result is next", self.round),
            Phase::Over => "the result is in".into(),
        }
    }

    fn assign(&self, referee: String, judges: Vec<String>) -> Result<Transition, FightError> {
        let referee = text("referee", &referee, 100)?;
        if judges.len() != JUDGES {
            return Err(invalid("judges", "exactly three judges"));
        }
        let judges = judges
            .iter()
            .map(|j| text("judges", j, 100))
            .collect::<Result<Vec<_>, _>>()?;
        let mut keys: Vec<String> = judges.iter().map(|j| name_key(j)).collect();
        keys.sort();
        keys.dedup();
        if keys.len() != JUDGES {
            return Err(invalid("judges", "three different judges"));
        }
        if keys.contains(&name_key(&referee)) {
            return Err(invalid("referee", "the referee cannot also judge"));
        }
        if self.status != FightStatus::Upcoming {
            return Err(wrong("officials are assigned before the fight starts"));
        }
        Ok(Transition::OfficialsAssigned(Officials { referee, judges }))
    }

    fn start(&self, other_in_progress: Option<i64>) -> Result<Transition, FightError> {
        if self.status != FightStatus::Upcoming {
            return Err(wrong(format!("the fight is {}", self.status)));
        }
        if self.officials.is_none() {
            return Err(FightError::OfficialsMissing);
        }
        if let Some(other) = other_in_progress {
            return Err(FightError::FightInProgress(other));
        }
        Ok(Transition::FightStarted {})
    }

    fn start_round(&self, round: i32) -> Result<Transition, FightError> {
        self.require(
            &[Phase::BeforeRounds, Phase::BetweenRounds],
            "start a round",
        )?;
        if round != self.round + 1 || round > self.scheduled_rounds {
            return Err(wrong(if self.round >= self.scheduled_rounds {
                format!(
                    "all {} rounds are fought; the cards decide",
                    self.scheduled_rounds
                )
            } else {
                format!(
                    "the next round is {} of {}",
                    self.round + 1,
                    self.scheduled_rounds
                )
            }));
        }
        Ok(Transition::RoundStarted { round })
    }

    fn end_round(
        &self,
        round: i32,
        time: Option<String>,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Transition, FightError> {
        if let Some(t) = &time {
            result::parse_time(t)?;
        }
        let reason = reason.map(|r| text("reason", &r, 200)).transpose()?;
        self.require(&[Phase::Running, Phase::Paused], "end a round")?;
        if round != self.round {
            return Err(wrong(format!("round {} is the one on", self.round)));
        }
        // The horn ends a round at 5:00 whatever the server's clock says; a
        // stoppage gives the time it happened.
        let elapsed_ms = match &time {
            None => ROUND_MS,
            Some(t) => {
                let s = result::parse_time(t)?;
                if s * 1000 > self.elapsed_at(now) + 999 {
                    return Err(wrong(format!(
                        "the round's clock reads {}",
                        clock_text(self.elapsed_at(now))
                    )));
                }
                s * 1000
            }
        };
        let early = elapsed_ms < ROUND_MS;
        let reason = match (reason, early) {
            (Some(r), _) => Some(r),
            (None, true) => {
                return Err(invalid(
                    "reason",
                    "a round stopped before the horn needs a reason",
                ))
            }
            (None, false) => None,
        };
        Ok(Transition::RoundEnded {
            round,
            elapsed_ms,
            early,
            reason,
        })
    }

    fn foul(
        &self,
        corner: Winner,
        round: i32,
        foul: String,
        points: i32,
        intentional: bool,
    ) -> Result<Transition, FightError> {
        let foul = text("foul", &foul, 100)?;
        if !(0..=2).contains(&points) {
            return Err(invalid("points", "a foul takes 0, 1 or 2 points"));
        }
        self.require(
            &[
                Phase::Running,
                Phase::Paused,
                Phase::BetweenRounds,
                Phase::Stopped,
            ],
            "record a foul",
        )?;
        if round != self.round {
            return Err(wrong(format!(
                "a foul is in the round on or just over: round {}",
                self.round
            )));
        }
        Ok(Transition::Foul(Foul {
            corner,
            round,
            foul,
            points,
            intentional,
        }))
    }

    fn score(&self, score: Score) -> Result<Transition, FightError> {
        text("judge", &score.judge, 100)?;
        scoring::check_round_score(score.red, score.blue)
            .map_err(|e| invalid("red", e.to_string()))?;
        self.require_in_progress()?;
        let officials = self
            .officials
            .as_ref()
            .ok_or(FightError::OfficialsMissing)?;
        let judge = officials.judge(&score.judge).ok_or_else(|| {
            invalid(
                "judge",
                format!(
                    "not one of this fight's judges ({})",
                    officials.judges.join(", ")
                ),
            )
        })?;
        if !self.round_finished(score.round) {
            return Err(wrong(format!("round {} is not over", score.round)));
        }
        if self
            .scores
            .iter()
            .any(|s| s.judge == judge && s.round == score.round)
        {
            return Err(FightError::AlreadyScored {
                judge: judge.into(),
                round: score.round,
            });
        }
        Ok(Transition::Score(Score {
            judge: judge.into(),
            ..score
        }))
    }

    fn stats(
        &self,
        round: i32,
        corner: Winner,
        counters: &BTreeMap<String, u64>,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Transition, FightError> {
        let reason = reason.map(|r| text("reason", &r, 200)).transpose()?;
        // The counters' names and sizes first: a bad value is bad in any state.
        stats::merge(&Counters::default(), counters)?;
        match self.status {
            FightStatus::InProgress => {}
            FightStatus::Completed if reason.is_some() => {}
            FightStatus::Completed => {
                return Err(wrong("the result is in: a stats correction needs a reason"))
            }
            other => return Err(wrong(format!("the fight is {other}"))),
        }
        if round < 1 || round > self.round {
            return Err(wrong(format!("round {round} has not started")));
        }
        let round_ms = self
            .rounds
            .get(&round)
            .copied()
            .unwrap_or_else(|| self.elapsed_at(now));
        let mine = self.counters(round, corner);
        let theirs = self.counters(round, corner.other());
        let after = stats::merge(&mine, counters)?;
        stats::check(&after, &theirs, round_ms)?;
        if after.lowers(&mine) && reason.is_none() {
            return Err(invalid(
                "reason",
                "lowering a counter is a correction: say why",
            ));
        }
        Ok(Transition::Stats {
            round,
            corner,
            before: mine,
            after,
            reason,
        })
    }

    /// A corner's counters for a round (zero until entered).
    pub fn counters(&self, round: i32, corner: Winner) -> Counters {
        self.stats
            .get(&round)
            .and_then(|c| c.get(&corner))
            .copied()
            .unwrap_or_default()
    }

    /// Every round's counters added up, per corner.
    pub fn totals(&self) -> BTreeMap<Winner, Counters> {
        let mut totals = BTreeMap::new();
        for corners in self.stats.values() {
            for (corner, c) in corners {
                totals
                    .entry(*corner)
                    .or_insert_with(Counters::default)
                    .add(c);
            }
        }
        totals
    }
}

/// "2:41" for 161 000 ms.
pub fn clock_text(ms: i64) -> String {
    let s = ms / 1000;
    format!("{}:{:02}", s / 60, s % 60)
}

/// A trimmed, non-empty text of at most `max` characters.
pub(crate) fn text(field: &'static str, value: &str, max: usize) -> Result<String, FightError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(invalid(field, format!("must be 1 to {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(value.to_string())
}
