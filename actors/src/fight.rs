//! A fight's live state machine: start, rounds, per-corner stats and the
//! official result. Pure rules; the edges load, apply and store.

use crate::vocabulary::{ResultMethod, Vocabulary};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FightError {
    #[error("{0}")]
    Invalid(&'static str),
    #[error("{0}")]
    WrongState(String),
}

/// What the edges know of a live fight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FightState {
    pub status: String,
    pub current_round: i32,
    pub round_running: bool,
    pub scheduled_rounds: i32,
}

impl FightState {
    fn require_live(&self) -> Result<(), FightError> {
        if self.status == "live" {
            Ok(())
        } else {
            Err(FightError::WrongState(format!(
                "the fight is {}",
                self.status
            )))
        }
    }

    pub fn start(&self) -> Result<FightState, FightError> {
        if self.status != "upcoming" {
            return Err(FightError::WrongState(format!(
                "the fight is {}",
                self.status
            )));
        }
        Ok(FightState {
            status: "live".into(),
            ..self.clone()
        })
    }

    pub fn start_round(&self, round: i32) -> Result<FightState, FightError> {
        self.require_live()?;
        if self.round_running {
            return Err(FightError::WrongState(format!(
                "round {} is still running",
                self.current_round
            )));
        }
        if round != self.current_round + 1 || round > self.scheduled_rounds {
            return Err(FightError::WrongState(format!(
                "the next round is {} of {}",
                self.current_round + 1,
                self.scheduled_rounds
            )));
        }
        Ok(FightState {
            current_round: round,
            round_running: true,
            ..self.clone()
        })
    }

    pub fn end_round(&self, round: i32) -> Result<FightState, FightError> {
        self.require_live()?;
        if !self.round_running || round != self.current_round {
            return Err(FightError::WrongState(format!(
                "round {round} is not running"
            )));
        }
        Ok(FightState {
            round_running: false,
            ..self.clone()
        })
    }

    /// Stats can be entered for rounds that have begun.
    pub fn check_stats_round(&self, round: i32) -> Result<(), FightError> {
        self.require_live()?;
        if round < 1 || round > self.current_round {
            return Err(FightError::WrongState(format!(
                "round {round} has not started"
            )));
        }
        Ok(())
    }

    /// Judges score rounds that are over.
    pub fn check_score_round(&self, round: i32) -> Result<(), FightError> {
        if self.status != "live" && self.status != "completed" {
            return Err(FightError::WrongState(format!(
                "the fight is {}",
                self.status
            )));
        }
        let last_finished = if self.round_running {
            self.current_round - 1
        } else {
            self.current_round
        };
        if round < 1 || round > last_finished {
            return Err(FightError::WrongState(format!("round {round} is not over")));
        }
        Ok(())
    }

    pub fn finish(&self, result: &FightResult) -> Result<FightState, FightError> {
        self.require_live()?;
        result.check(self)?;
        Ok(FightState {
            status: "completed".into(),
            round_running: false,
            ..self.clone()
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Winner {
    Red,
    Blue,
}

/// The official result as entered.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = FightResultRequest))]
pub struct FightResult {
    /// Null (or absent) exactly for `draw` and `no_contest`.
    pub winner: Option<Winner>,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::vocabulary::ResultMethod))]
    pub method: String,
    /// A round that was fought (1 to `current_round`, or 1 before any round); a decision or a draw needs the last scheduled round.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 5))]
    pub round: i32,
    /// `M:SS` into the round.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r#"^(0?[0-4]:[0-5][0-9]|0?5:00)$"#)
    )]
    pub time: String,
}

impl FightResult {
    fn check(&self, fight: &FightState) -> Result<(), FightError> {
        if ResultMethod::parse(&self.method).is_none() {
            return Err(FightError::Invalid(
                "method must be ko_tko, submission, unanimous_decision, split_decision, majority_decision, draw, dq or no_contest",
            ));
        }
        let no_winner = matches!(self.method.as_str(), "draw" | "no_contest");
        if no_winner != self.winner.is_none() {
            return Err(FightError::Invalid(
                "a draw or no contest has no winner; every other result has one",
            ));
        }
        if self.round < 1 || self.round > fight.current_round.max(1) {
            return Err(FightError::Invalid("round must be a round that was fought"));
        }
        let decision = self.method.ends_with("_decision") || self.method == "draw";
        if decision && self.round != fight.scheduled_rounds {
            return Err(FightError::Invalid(
                "a decision comes after the last scheduled round",
            ));
        }
        let (m, s) = self
            .time
            .split_once(':')
            .ok_or(FightError::Invalid("time must be M:SS"))?;
        let (m, s): (u32, u32) = match (m.parse(), s.parse()) {
            (Ok(m), Ok(s)) if s < 60 && s_digits(&self.time) => (m, s),
            _ => return Err(FightError::Invalid("time must be M:SS")),
        };
        if m * 60 + s > 300 {
            return Err(FightError::Invalid(
                "time must be within the 5-minute round",
            ));
        }
        Ok(())
    }
}

fn s_digits(time: &str) -> bool {
    time.split_once(':')
        .is_some_and(|(m, s)| (1..=2).contains(&m.len()) && s.len() == 2)
}

/// The counters kept per corner per round.
pub const STAT_FIELDS: [&str; 9] = [
    "strikes_landed",
    "strikes_attempted",
    "significant_strikes_landed",
    "significant_strikes_attempted",
    "takedowns_landed",
    "takedowns_attempted",
    "knockdowns",
    "submission_attempts",
    "control_time_s",
];

/// Checks one corner's counters for one round: whole, non-negative numbers,
/// landed never above attempted, control time within the round.
pub fn check_stats(counters: &Map<String, Value>) -> Result<Map<String, Value>, FightError> {
    let mut out = Map::new();
    for (key, value) in counters {
        if !STAT_FIELDS.contains(&key.as_str()) {
            return Err(FightError::Invalid(
                "unknown stat; see the stats fields in the API docs",
            ));
        }
        let n = value
            .as_u64()
            .filter(|n| *n <= 10_000)
            .ok_or(FightError::Invalid(
                "stats are whole numbers from 0 to 10000",
            ))?;
        out.insert(key.clone(), json!(n));
    }
    let get = |k: &str| out.get(k).and_then(Value::as_u64);
    for (landed, attempted) in [
        ("strikes_landed", "strikes_attempted"),
        (
            "significant_strikes_landed",
            "significant_strikes_attempted",
        ),
        ("takedowns_landed", "takedowns_attempted"),
    ] {
        if let (Some(l), Some(a)) = (get(landed), get(attempted)) {
            if l > a {
                return Err(FightError::Invalid("landed cannot exceed attempted"));
            }
        }
    }
    if get("control_time_s").is_some_and(|t| t > 300) {
        return Err(FightError::Invalid(
            "control_time_s cannot exceed the 300-second round",
        ));
    }
    Ok(out)
}

/// Sets a corner's counters for a round in the fight's `live_stats` and
/// recomputes the totals.
pub fn merge_stats(
    live_stats: &Value,
    round: i32,
    corner: Winner,
    counters: Map<String, Value>,
) -> Value {
    let mut stats = live_stats.clone();
    if !stats.is_object() {
        stats = json!({});
    }
    let corner = corner.as_str();
    let rounds = stats["rounds"].as_object().cloned().unwrap_or_default();
    let mut rounds = Value::Object(rounds);
    let slot = &mut rounds[round.to_string()][corner];
    let mut merged = slot.as_object().cloned().unwrap_or_default();
    merged.extend(counters);
    *slot = Value::Object(merged);
    let mut totals = json!({ "red": {}, "blue": {} });
    if let Some(map) = rounds.as_object() {
        for round in map.values() {
            for c in ["red", "blue"] {
                if let Some(counters) = round[c].as_object() {
                    for (k, v) in counters {
                        let sum = totals[c][k].as_u64().unwrap_or(0) + v.as_u64().unwrap_or(0);
                        totals[c][k] = json!(sum);
                    }
                }
            }
        }
    }
    stats["rounds"] = rounds;
    stats["totals"] = totals;
    stats
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

#[cfg(test)]
mod tests {
    use super::*;

    fn live(round: i32, running: bool) -> FightState {
        FightState {
            status: "live".into(),
            current_round: round,
            round_running: running,
            scheduled_rounds: 3,
        }
    }

    #[test]
    fn rounds_run_in_order() {
        let f = live(0, false);
        assert!(f.start_round(2).is_err());
        let f = f.start_round(1).expect("round 1");
        assert!(f.start_round(2).is_err(), "round 1 still running");
        assert!(f.end_round(2).is_err());
        let f = f.end_round(1).expect("end 1");
        assert!(f.end_round(1).is_err());
        let f = f
            .start_round(2)
            .and_then(|f| f.end_round(2))
            .and_then(|f| f.start_round(3))
            .expect("to 3");
        let f = f.end_round(3).expect("end 3");
        assert!(f.start_round(4).is_err(), "only three rounds");
    }

    #[test]
    fn results_are_checked() {
        let f = live(3, false);
        let r = |winner, method: &str, round, time: &str| FightResult {
            winner,
            method: method.into(),
            round,
            time: time.into(),
        };
        assert!(f
            .finish(&r(Some(Winner::Red), "unanimous_decision", 3, "5:00"))
            .is_ok());
        assert!(f
            .finish(&r(Some(Winner::Blue), "ko_tko", 2, "3:12"))
            .is_ok());
        assert!(f.finish(&r(None, "draw", 3, "5:00")).is_ok());
        assert!(
            f.finish(&r(None, "ko_tko", 2, "3:12")).is_err(),
            "a KO has a winner"
        );
        assert!(f.finish(&r(Some(Winner::Red), "draw", 3, "5:00")).is_err());
        assert!(f
            .finish(&r(Some(Winner::Red), "unanimous_decision", 2, "5:00"))
            .is_err());
        assert!(f
            .finish(&r(Some(Winner::Red), "ko_tko", 4, "1:00"))
            .is_err());
        assert!(f
            .finish(&r(Some(Winner::Red), "ko_tko", 1, "5:01"))
            .is_err());
        assert!(f.finish(&r(Some(Winner::Red), "ko_tko", 1, "1:5")).is_err());
        assert!(f
            .finish(&r(Some(Winner::Red), "headbutt", 1, "1:05"))
            .is_err());
    }

    #[test]
    fn scores_only_for_finished_rounds() {
        assert!(live(2, true).check_score_round(1).is_ok());
        assert!(live(2, true).check_score_round(2).is_err());
        assert!(live(2, false).check_score_round(2).is_ok());
    }

    #[test]
    fn stats_are_validated_and_totalled() {
        let ok = check_stats(
            json!({ "strikes_landed": 10, "strikes_attempted": 20 })
                .as_object()
                .expect("map"),
        )
        .expect("valid");
        assert!(check_stats(
            json!({ "strikes_landed": 30, "strikes_attempted": 20 })
                .as_object()
                .expect("map")
        )
        .is_err());
        assert!(check_stats(json!({ "strikes_landed": -1 }).as_object().expect("map")).is_err());
        assert!(check_stats(json!({ "elbows": 1 }).as_object().expect("map")).is_err());
        let stats = merge_stats(&json!({}), 1, Winner::Red, ok.clone());
        let stats = merge_stats(&stats, 2, Winner::Red, ok);
        assert_eq!(stats["totals"]["red"]["strikes_landed"], 20);
        assert_eq!(stats["rounds"]["1"]["red"]["strikes_attempted"], 20);
    }

    #[test]
    fn only_an_upcoming_fight_starts_and_only_a_live_one_runs_rounds() {
        let upcoming = FightState {
            status: "upcoming".into(),
            ..live(0, false)
        };
        let started = upcoming.start().expect("starts");
        assert_eq!(started, live(0, false));
        assert_eq!(
            started.start(),
            Err(FightError::WrongState("the fight is live".into()))
        );
        for op in [
            upcoming.start_round(1).map(|_| ()),
            upcoming.end_round(1).map(|_| ()),
            upcoming.check_stats_round(1),
            upcoming.check_score_round(1),
        ] {
            assert_eq!(
                op,
                Err(FightError::WrongState("the fight is upcoming".into()))
            );
        }
        let round = started.start_round(1).expect("round 1");
        assert_eq!((round.current_round, round.round_running), (1, true));
        let over = round.end_round(1).expect("over");
        assert_eq!((over.current_round, over.round_running), (1, false));
    }

    #[test]
    fn stats_are_for_rounds_that_began_and_scores_for_rounds_that_ended() {
        let f = live(2, true);
        assert!(f.check_stats_round(0).is_err());
        assert!(f.check_stats_round(1).is_ok());
        assert!(f.check_stats_round(2).is_ok(), "the running round");
        assert!(f.check_stats_round(3).is_err());
        assert!(f.check_score_round(0).is_err());
        let completed = FightState {
            status: "completed".into(),
            ..live(3, false)
        };
        assert!(completed.check_score_round(3).is_ok(), "after the result");
        assert!(completed.check_score_round(4).is_err());
    }

    #[test]
    fn a_result_completes_the_fight_and_is_checked_at_its_bounds() {
        let f = live(3, true);
        let r = |winner, method: &str, round, time: &str| FightResult {
            winner,
            method: method.into(),
            round,
            time: time.into(),
        };
        let done = f
            .finish(&r(Some(Winner::Red), "ko_tko", 3, "5:00"))
            .expect("the last second counts");
        assert_eq!(
            (done.status.as_str(), done.round_running),
            ("completed", false)
        );
        assert!(f.finish(&r(Some(Winner::Red), "ko_tko", 3, "0:00")).is_ok());
        assert!(f
            .finish(&r(Some(Winner::Red), "ko_tko", 3, "4:60"))
            .is_err());
        assert!(f
            .finish(&r(Some(Winner::Red), "ko_tko", 3, "10:00"))
            .is_err());
        assert!(f.finish(&r(Some(Winner::Red), "ko_tko", 3, "500")).is_err());
        assert!(f
            .finish(&r(Some(Winner::Red), "ko_tko", 0, "1:00"))
            .is_err());
        assert!(f.finish(&r(None, "no_contest", 1, "1:00")).is_ok());
        assert!(
            f.finish(&r(None, "draw", 2, "5:00")).is_err(),
            "a draw goes the distance"
        );
        assert!(f
            .finish(&r(Some(Winner::Blue), "split_decision", 3, "5:00"))
            .is_ok());
        // A fight stopped before round 1 began is scored as round 1.
        assert!(live(0, false)
            .finish(&r(Some(Winner::Red), "dq", 1, "0:10"))
            .is_ok());
        let completed = FightState {
            status: "completed".into(),
            ..live(3, false)
        };
        assert!(completed
            .finish(&r(Some(Winner::Red), "ko_tko", 1, "1:00"))
            .is_err());
    }

    #[test]
    fn stats_bounds_are_inclusive() {
        let map = |v: Value| v.as_object().cloned().expect("map");
        assert!(check_stats(&map(json!({ "knockdowns": 10_000 }))).is_ok());
        assert!(check_stats(&map(json!({ "knockdowns": 10_001 }))).is_err());
        assert!(check_stats(&map(json!({ "knockdowns": 1.5 }))).is_err());
        assert!(check_stats(&map(json!({ "control_time_s": 300 }))).is_ok());
        assert_eq!(
            check_stats(&map(json!({ "control_time_s": 301 }))),
            Err(FightError::Invalid(
                "control_time_s cannot exceed the 300-second round"
            ))
        );
        assert!(check_stats(&map(
            json!({ "takedowns_landed": 3, "takedowns_attempted": 3 })
        ))
        .is_ok());
        assert!(check_stats(&map(
            json!({ "takedowns_landed": 4, "takedowns_attempted": 3 })
        ))
        .is_err());
        // Only pairs given together are compared.
        assert!(check_stats(&map(json!({ "significant_strikes_landed": 9 }))).is_ok());
    }

    #[test]
    fn entering_a_rounds_stats_again_replaces_them_in_the_totals() {
        let c = |v: Value| v.as_object().cloned().expect("map");
        let stats = merge_stats(&Value::Null, 1, Winner::Blue, c(json!({ "knockdowns": 1 })));
        assert_eq!(
            stats["totals"],
            json!({ "red": {}, "blue": { "knockdowns": 1 } })
        );
        let stats = merge_stats(
            &stats,
            1,
            Winner::Blue,
            c(json!({ "knockdowns": 2, "submission_attempts": 1 })),
        );
        let stats = merge_stats(&stats, 2, Winner::Red, c(json!({ "knockdowns": 1 })));
        let stats = merge_stats(&stats, 2, Winner::Blue, c(json!({ "knockdowns": 1 })));
        assert_eq!(
            stats["totals"],
            json!({ "red": { "knockdowns": 1 }, "blue": { "knockdowns": 3, "submission_attempts": 1 } })
        );
        assert_eq!(
            stats["rounds"]["1"]["blue"],
            json!({ "knockdowns": 2, "submission_attempts": 1 })
        );
    }
}
