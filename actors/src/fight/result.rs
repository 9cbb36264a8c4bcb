//! The official result: every method of the Unified Rules with its details,
//! and when each can happen.
//!
//! - A finish (`ko`, `tko`, `submission`, `technical_submission`) happens in
//!   the round on (running or paused), at a time no later than its clock. A
//!   doctor's or corner's stoppage between rounds is a `tko` at the end of
//!   the round just over.
//! - A decision or draw comes after the last round's horn, from three
//!   complete cards with deductions applied, and is the one they give;
//!   anything else is `ContradictsScorecards`.
//! - An accidental foul that stops the fight before the end of round 2 of
//!   3 (round 3 of 5) is a `no_contest`; later the cards decide, the stopped
//!   round scored: `technical_decision` or `technical_draw`.
//! - A `dq` needs three fouls, or an intentional one, by the loser.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{invalid, text, wrong, Bout, FightError, Phase, Winner, ROUND_LENGTH_S};
use crate::scoring::{self, CardTotal};
use crate::vocabulary::{ResultMethod, Stoppage, Vocabulary};

/// A result as an operator enters it (`POST …/result/`, and the fields of
/// `…/result/amend/`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = FightResultRequest))]
pub struct ResultInput {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::vocabulary::ResultMethod))]
    pub method: String,
    /// Null (or absent) for draws and no contests; the winner otherwise.
    #[serde(default)]
    pub winner: Option<Winner>,
    /// The round it ended in. A decision's is the last round (may be left out).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 5))]
    pub round: Option<i32>,
    /// `M:SS` into the round, no later than its clock. A decision's is 5:00 (may be left out).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = r#"^[0-5]?[0-9]:[0-5][0-9]$"#))]
    pub time: Option<String>,
    /// The submission (`submission`, `technical_submission`): "rear-naked choke".
    #[serde(default)]
    pub technique: Option<String>,
    /// Who stopped it (`tko`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::vocabulary::Stoppage>))]
    pub stoppage: Option<Stoppage>,
    /// The foul (`dq`; `no_contest` and technical results after an accidental foul).
    #[serde(default)]
    pub foul: Option<String>,
    /// Why (`no_contest` without a foul).
    #[serde(default)]
    pub reason: Option<String>,
}

/// The result as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfficialResult {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::vocabulary::ResultMethod))]
    pub method: ResultMethod,
    pub winner: Option<Winner>,
    pub round: i32,
    /// `M:SS` into the round.
    pub time: String,
    pub technique: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::vocabulary::Stoppage>))]
    pub stoppage: Option<Stoppage>,
    pub foul: Option<String>,
    pub reason: Option<String>,
    /// Each judge's total, for a result on the cards.
    pub cards: Option<Vec<CardTotal>>,
}

impl OfficialResult {
    /// Seconds into the round.
    pub fn seconds(&self) -> i64 {
        parse_time(&self.time).unwrap_or(ROUND_LENGTH_S)
    }

    /// Whether the cards gave it.
    pub fn on_the_cards(&self) -> bool {
        self.cards.is_some()
    }
}

/// What kind of ending a method is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Finish,
    Decision,
    Technical,
    Dq,
    NoContest,
}

pub fn kind(method: ResultMethod) -> Kind {
    use ResultMethod::*;
    match method {
        Ko | Tko | Submission | TechnicalSubmission => Kind::Finish,
        UnanimousDecision | SplitDecision | MajorityDecision | UnanimousDraw | SplitDraw
        | MajorityDraw => Kind::Decision,
        TechnicalDecision | TechnicalDraw => Kind::Technical,
        Dq => Kind::Dq,
        NoContest => Kind::NoContest,
    }
}

/// Whether the method has a winner.
pub fn has_winner(method: ResultMethod) -> bool {
    use ResultMethod::*;
    !matches!(
        method,
        UnanimousDraw | SplitDraw | MajorityDraw | TechnicalDraw | NoContest
    )
}

/// `M:SS` within the five-minute round, in seconds.
pub fn parse_time(time: &str) -> Result<i64, FightError> {
    let bad = || invalid("time", "must be M:SS within the 5-minute round");
    let (m, s) = time.split_once(':').ok_or_else(bad)?;
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if !(1..=2).contains(&m.len()) || s.len() != 2 || !digits(m) || !digits(s) {
        return Err(bad());
    }
    let (m, s): (i64, i64) = match (m.parse(), s.parse()) {
        (Ok(m), Ok(s)) if s < 60 && m >= 0 => (m, s),
        _ => return Err(bad()),
    };
    let total = m * 60 + s;
    if total > ROUND_LENGTH_S {
        return Err(bad());
    }
    Ok(total)
}

fn time_text(seconds: i64) -> String {
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// The method, the winner and the details, checked against each other.
struct Shape {
    method: ResultMethod,
    winner: Option<Winner>,
    technique: Option<String>,
    stoppage: Option<Stoppage>,
    foul: Option<String>,
    reason: Option<String>,
}

/// Whether a result's fields can be right at all, whatever the fight's state.
pub fn check_shape(input: &ResultInput) -> Result<(), FightError> {
    if let Some(t) = &input.time {
        parse_time(t)?;
    }
    shape(input).map(|_| ())
}

fn shape(input: &ResultInput) -> Result<Shape, FightError> {
    let method = ResultMethod::parse(&input.method)
        .ok_or_else(|| invalid("method", ResultMethod::expected()))?;
    if has_winner(method) != input.winner.is_some() {
        return Err(invalid(
            "winner",
            if has_winner(method) {
                format!("a {method} has a winner")
            } else {
                format!("a {method} has no winner")
            },
        ));
    }
    use ResultMethod::*;
    let submission = matches!(method, Submission | TechnicalSubmission);
    let technique = match (&input.technique, submission) {
        (Some(t), true) => Some(text("technique", t, 100)?),
        (None, true) => {
            return Err(invalid(
                "technique",
                "a submission names its technique (\"rear-naked choke\")",
            ))
        }
        (Some(_), false) => return Err(invalid("technique", "only a submission has one")),
        (None, false) => None,
    };
    let stoppage = match (input.stoppage, method == Tko) {
        (Some(s), true) => Some(s),
        (None, true) => {
            return Err(invalid(
                "stoppage",
                format!(
                    "a tko says who stopped it: {}",
                    Stoppage::words().join(", ")
                ),
            ))
        }
        (Some(_), false) => return Err(invalid("stoppage", "only a tko has one")),
        (None, false) => None,
    };
    let foul_allowed = matches!(kind(method), Kind::Dq | Kind::NoContest | Kind::Technical);
    let foul = match (&input.foul, foul_allowed) {
        (Some(f), true) => Some(text("foul", f, 100)?),
        (Some(_), false) => {
            return Err(invalid(
                "foul",
                "only a dq, a no contest or a technical result names a foul",
            ))
        }
        (None, _) if method == Dq => {
            return Err(invalid("foul", "a dq names the foul"));
        }
        (None, _) => None,
    };
    let reason = input
        .reason
        .as_deref()
        .map(|r| text("reason", r, 500))
        .transpose()?;
    if method == NoContest && foul.is_none() && reason.is_none() {
        return Err(invalid("reason", "a no contest gives a foul or a reason"));
    }
    Ok(Shape {
        method,
        winner: input.winner,
        technique,
        stoppage,
        foul,
        reason,
    })
}

impl Shape {
    fn recorded(self, round: i32, seconds: i64, cards: Option<Vec<CardTotal>>) -> OfficialResult {
        OfficialResult {
            method: self.method,
            winner: self.winner,
            round,
            time: time_text(seconds),
            technique: self.technique,
            stoppage: self.stoppage,
            foul: self.foul,
            reason: self.reason,
            cards,
        }
    }
}

/// `round` and `time` if given must be these; absent, they are these.
fn fixed(input: &ResultInput, round: i32, seconds: i64) -> Result<(i32, i64), FightError> {
    if input.round.is_some_and(|r| r != round) {
        return Err(invalid("round", format!("it ended in round {round}")));
    }
    if let Some(t) = &input.time {
        if parse_time(t)? != seconds {
            return Err(invalid(
                "time",
                format!("it ended at {}", time_text(seconds)),
            ));
        }
    }
    Ok((round, seconds))
}

/// In the round on: that round, at a time no later than its clock.
fn in_the_round(
    bout: &Bout,
    input: &ResultInput,
    now: DateTime<Utc>,
    default_now: bool,
) -> Result<(i32, i64), FightError> {
    let round = input.round.unwrap_or(bout.round);
    if round != bout.round {
        return Err(wrong(format!("the fight is in round {}", bout.round)));
    }
    let clock = bout.elapsed_at(now);
    let seconds = match &input.time {
        Some(t) => parse_time(t)?,
        None if default_now => clock / 1000,
        None => return Err(invalid("time", "a finish gives its time (M:SS)")),
    };
    if seconds * 1000 > clock + 999 {
        return Err(wrong(format!(
            "the round's clock reads {}; the fight cannot have ended later",
            super::clock_text(clock)
        )));
    }
    Ok((round, seconds))
}

/// The cards through `last` must be complete and give `shape`.
fn on_the_cards(
    bout: &Bout,
    shape: &Shape,
    last: i32,
    technical: bool,
) -> Result<Vec<CardTotal>, FightError> {
    let judges = bout
        .officials
        .as_ref()
        .map(|o| o.judges.clone())
        .unwrap_or_default();
    let missing = scoring::missing(&judges, &bout.scores, last);
    if !missing.is_empty() {
        return Err(FightError::CardsIncomplete(missing));
    }
    let verdict = scoring::verdict(&bout.cards(last), technical);
    if verdict.method != shape.method || verdict.winner != shape.winner {
        return Err(FightError::ContradictsScorecards(Box::new(verdict)));
    }
    Ok(verdict.cards)
}

fn technical_allowed(bout: &Bout) -> Result<(), FightError> {
    let threshold = bout.foul_threshold();
    if bout.full_rounds() < threshold {
        return Err(wrong(format!(
            "an accidental foul that stops the fight before the end of round {threshold} is a no contest"
        )));
    }
    if !bout
        .fouls
        .iter()
        .any(|f| !f.intentional && f.round == bout.round)
    {
        return Err(wrong(format!(
            "a technical result follows an accidental foul in the last round fought (round {})",
            bout.round
        )));
    }
    Ok(())
}

fn dq_allowed(bout: &Bout, winner: Option<Winner>) -> Result<(), FightError> {
    let Some(loser) = winner.map(Winner::other) else {
        return Ok(());
    };
    let fouls: Vec<_> = bout.fouls.iter().filter(|f| f.corner == loser).collect();
    if fouls.len() >= 3 || fouls.iter().any(|f| f.intentional) {
        Ok(())
    } else {
        Err(wrong(format!(
            "a dq needs three fouls, or an intentional one, by {}",
            loser.as_str()
        )))
    }
}

/// The length of a finished round, in seconds.
fn length_of(bout: &Bout, round: i32) -> i64 {
    bout.rounds
        .get(&round)
        .map(|ms| ms / 1000)
        .unwrap_or(ROUND_LENGTH_S)
}

/// The result entered while the fight is in progress.
pub fn finish(
    bout: &Bout,
    input: ResultInput,
    now: DateTime<Utc>,
) -> Result<OfficialResult, FightError> {
    let shape = shape(&input)?;
    let in_round = matches!(bout.phase, Phase::Running | Phase::Paused);
    let after_round = matches!(bout.phase, Phase::BetweenRounds | Phase::Stopped);
    let last_round_over = bout.phase == Phase::BetweenRounds && bout.round >= bout.scheduled_rounds;
    match kind(shape.method) {
        Kind::Finish if bout.phase == Phase::Paused && shape.method != ResultMethod::Tko => Err(
            wrong("the clock is stopped: a paused round ends only by a stoppage (tko) or a dq"),
        ),
        Kind::Finish if in_round => {
            let (round, seconds) = in_the_round(bout, &input, now, false)?;
            Ok(shape.recorded(round, seconds, None))
        }
        Kind::Finish
            if shape.method == ResultMethod::Tko
                && ((shape.stoppage != Some(Stoppage::Referee)
                    && bout.phase == Phase::BetweenRounds
                    && !last_round_over)
                    || bout.phase == Phase::Stopped) =>
        {
            // The doctor or the corner stopped it on the stool, or the
            // stopped round is not resumed.
            let (round, seconds) = fixed(&input, bout.round, length_of(bout, bout.round))?;
            Ok(shape.recorded(round, seconds, None))
        }
        Kind::Finish => Err(wrong(format!(
            "a finish happens in a running round: {}",
            bout.describe()
        ))),
        Kind::Decision if last_round_over => {
            let cards = on_the_cards(bout, &shape, bout.scheduled_rounds, false)?;
            let (round, seconds) = fixed(&input, bout.scheduled_rounds, ROUND_LENGTH_S)?;
            Ok(shape.recorded(round, seconds, Some(cards)))
        }
        Kind::Decision => Err(wrong(format!(
            "a decision comes after the last round: {}",
            bout.describe()
        ))),
        Kind::Technical if after_round && !last_round_over => {
            technical_allowed(bout)?;
            let cards = on_the_cards(bout, &shape, bout.round, true)?;
            let (round, seconds) = fixed(&input, bout.round, length_of(bout, bout.round))?;
            Ok(shape.recorded(round, seconds, Some(cards)))
        }
        Kind::Technical => Err(wrong(format!(
            "a technical result comes after a stoppage: {}",
            bout.describe()
        ))),
        Kind::Dq => {
            dq_allowed(bout, shape.winner)?;
            let (round, seconds) = if in_round {
                in_the_round(bout, &input, now, false)?
            } else if after_round {
                fixed(&input, bout.round, length_of(bout, bout.round))?
            } else {
                return Err(wrong(format!("cannot disqualify now: {}", bout.describe())));
            };
            Ok(shape.recorded(round, seconds, None))
        }
        Kind::NoContest => {
            // In any phase: once past the threshold, an accidental foul
            // that ends the fight is for the cards.
            if shape.foul.is_some() && technical_allowed(bout).is_ok() {
                return Err(wrong(format!(
                    "after round {} an accidental-foul stoppage goes to the cards: end the round at the stoppage (rounds/end with its time) and enter a technical decision or draw",
                    bout.foul_threshold()
                )));
            }
            let (round, seconds) = if in_round {
                in_the_round(bout, &input, now, true)?
            } else if after_round {
                fixed(&input, bout.round, length_of(bout, bout.round))?
            } else {
                fixed(&input, 1, 0)?
            };
            Ok(shape.recorded(round, seconds, None))
        }
    }
}

/// A completed fight's result, corrected or overturned. The clock is over,
/// so a finish is checked against the rounds as they were fought.
pub fn amend(bout: &Bout, input: ResultInput) -> Result<OfficialResult, FightError> {
    let shape = shape(&input)?;
    let previous = bout.result.as_ref();
    let fought = bout.round.max(1);
    let went_the_distance = bout.full_rounds() >= bout.scheduled_rounds;
    match kind(shape.method) {
        Kind::Finish | Kind::Dq => {
            if shape.method == ResultMethod::Dq {
                dq_allowed(bout, shape.winner)?;
            }
            // It ended in the last round fought, as it did.
            let round = input.round.unwrap_or(fought);
            if round != fought {
                return Err(invalid(
                    "round",
                    format!("the fight ended in round {fought}"),
                ));
            }
            let seconds = match &input.time {
                Some(t) => parse_time(t)?,
                None => return Err(invalid("time", "give the time (M:SS)")),
            };
            if seconds > length_of(bout, round) {
                return Err(invalid(
                    "time",
                    format!("round {round} lasted {}", time_text(length_of(bout, round))),
                ));
            }
            Ok(shape.recorded(round, seconds, None))
        }
        Kind::Decision if went_the_distance => {
            let cards = on_the_cards(bout, &shape, bout.scheduled_rounds, false)?;
            let (round, seconds) = fixed(&input, bout.scheduled_rounds, ROUND_LENGTH_S)?;
            Ok(shape.recorded(round, seconds, Some(cards)))
        }
        Kind::Decision => Err(wrong("the fight did not go the distance")),
        Kind::Technical => {
            technical_allowed(bout)?;
            let cards = on_the_cards(bout, &shape, bout.round, true)?;
            let (round, seconds) = fixed(&input, bout.round, length_of(bout, bout.round))?;
            Ok(shape.recorded(round, seconds, Some(cards)))
        }
        Kind::NoContest => {
            let round = previous.map(|p| p.round).unwrap_or(fought);
            let seconds = previous.map(|p| p.seconds()).unwrap_or(0);
            let (round, seconds) = fixed(&input, round, seconds)?;
            Ok(shape.recorded(round, seconds, None))
        }
    }
}
