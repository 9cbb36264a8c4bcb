//! A fight as clients see it: the clock at the server's time (so every
//! screen shows the arena's clock without drift), officials, stats, fouls,
//! and the judges' cards only where the rules let them be seen.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{
    Bout, Counters, Foul, OfficialResult, Officials, Phase, Winner, REST_S, ROUND_LENGTH_S,
};
use crate::scoring::{self, Card, Verdict};
use crate::vocabulary::FightStatus;

/// The clock: `elapsed_s` at `server_time`; while `running` a client adds
/// the time since.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Clock {
    /// The round on (or last fought); 0 before round 1.
    pub round: i32,
    pub round_length_s: i64,
    pub elapsed_s: f64,
    pub server_time: DateTime<Utc>,
    pub running: bool,
    pub paused: bool,
    /// Why the clock stands, while paused.
    pub pause_reason: Option<String>,
    pub between_rounds: bool,
    pub rest_length_s: i64,
    /// Into the minute between rounds, while between rounds.
    pub rest_elapsed_s: Option<f64>,
    /// The round was stopped before the horn.
    pub stopped: bool,
}

/// The stats: per round (keyed `"1"`…) and corner, and the totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stats {
    pub rounds: BTreeMap<String, BTreeMap<Winner, Counters>>,
    pub totals: BTreeMap<Winner, Counters>,
}

/// The rules' part of a fight snapshot.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct View {
    pub officials: Option<Officials>,
    pub clock: Clock,
    pub stats: Stats,
    pub fouls: Vec<Foul>,
    /// Each judge's card with deductions; null while the cards are hidden
    /// (the event's `settings.open_scoring` off and no result yet).
    pub scorecards: Option<Vec<Card>>,
    /// How many judges' rounds are in (shown even while the cards are hidden).
    pub scores_in: usize,
    /// What the complete rounds' cards would give now; only while the fight
    /// is in progress and its cards can be seen, never after a finish.
    pub projected: Option<Verdict>,
    pub result: Option<OfficialResult>,
}

impl Bout {
    /// Whether the judges' cards can be seen by everyone.
    pub fn cards_open(&self, open_scoring: bool) -> bool {
        open_scoring || self.status == FightStatus::Completed
    }

    /// The fight at `now`; `cards_visible`: the viewer may see the cards.
    pub fn view(&self, now: DateTime<Utc>, cards_visible: bool) -> View {
        let elapsed_ms = self.elapsed_at(now);
        let between = self.phase == Phase::BetweenRounds && self.round < self.scheduled_rounds;
        let rest_elapsed_s = match (between, self.round_ended_at) {
            (true, Some(ended)) => {
                let ms = (now - ended).num_milliseconds().clamp(0, REST_S * 1000);
                Some(ms as f64 / 1000.0)
            }
            _ => None,
        };
        let clock = Clock {
            round: self.round,
            round_length_s: ROUND_LENGTH_S,
            elapsed_s: elapsed_ms as f64 / 1000.0,
            server_time: now,
            running: self.phase == Phase::Running,
            paused: self.phase == Phase::Paused,
            pause_reason: self.pause_reason.clone(),
            between_rounds: between,
            rest_length_s: REST_S,
            rest_elapsed_s,
            stopped: self.phase == Phase::Stopped,
        };
        let stats = Stats {
            rounds: self
                .stats
                .iter()
                .map(|(round, corners)| (round.to_string(), corners.clone()))
                .collect(),
            totals: self.totals(),
        };
        let last = self.round;
        let scorecards = cards_visible.then(|| self.cards(last));
        let projected = (cards_visible && self.status == FightStatus::InProgress)
            .then(|| self.projection())
            .flatten();
        View {
            officials: self.officials.clone(),
            clock,
            stats,
            fouls: self.fouls.clone(),
            scorecards,
            scores_in: self.scores.len(),
            projected,
            result: self.result.clone(),
        }
    }

    /// The verdict of the rounds every judge has scored, if any.
    fn projection(&self) -> Option<Verdict> {
        let judges = self.officials.as_ref()?.judges.clone();
        let complete = (1..=self.round)
            .take_while(|r| scoring::missing(&judges, &self.scores, *r).is_empty())
            .last()?;
        Some(scoring::verdict(&self.cards(complete), false))
    }
}
