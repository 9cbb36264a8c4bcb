//! Per round, per corner counters, and what makes them possible: landed
//! never above attempted, significant strikes never above all strikes, and
//! the two corners' control time within the round's clock.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{invalid, FightError, ROUND_LENGTH_S};

/// Every counter is at most this (a typo guard, far above any real round).
pub const MAX: u64 = 10_000;
/// Knockdowns and submission attempts in one round: each is a live update,
/// so their guard is tighter.
pub const MAX_EVENTS: u64 = 20;

macro_rules! counters {
    ($($field:ident),+ $(,)?) => {
        /// One corner's counters for one round (or their totals).
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(default)]
        pub struct Counters {
            $(pub $field: u32,)+
        }

        /// The counters' names, as the API spells them.
        pub const FIELDS: &[&str] = &[$(stringify!($field)),+];

        impl Counters {
            fn slot(&mut self, name: &str) -> Option<&mut u32> {
                match name {
                    $(stringify!($field) => Some(&mut self.$field),)+
                    _ => None,
                }
            }

            fn values(&self) -> Vec<u32> {
                vec![$(self.$field),+]
            }

            pub fn add(&mut self, other: &Counters) {
                $(self.$field += other.$field;)+
            }
        }
    };
}

counters!(
    strikes_landed,
    strikes_attempted,
    significant_strikes_landed,
    significant_strikes_attempted,
    takedowns_landed,
    takedowns_attempted,
    knockdowns,
    submission_attempts,
    control_time_s,
);

impl Counters {
    /// Whether any counter is lower than in `before` (a correction).
    pub fn lowers(&self, before: &Counters) -> bool {
        self.values()
            .iter()
            .zip(before.values())
            .any(|(now, was)| *now < was)
    }
}

/// The counters sent set those named; the others keep their value.
pub fn merge(current: &Counters, sent: &BTreeMap<String, u64>) -> Result<Counters, FightError> {
    if sent.is_empty() {
        return Err(invalid("stats", "no counters given"));
    }
    let mut out = *current;
    for (name, value) in sent {
        let slot = out.slot(name).ok_or_else(|| {
            invalid(
                "stats",
                format!(
                    "unknown counter {name}; the counters are {}",
                    FIELDS.join(", ")
                ),
            )
        })?;
        let max = match name.as_str() {
            "knockdowns" | "submission_attempts" => MAX_EVENTS,
            _ => MAX,
        };
        if *value > max {
            return Err(invalid("stats", format!("{name} is at most {max}")));
        }
        *slot = *value as u32;
    }
    Ok(out)
}

/// Whether a corner's counters can be, with the other corner's `theirs`,
/// in a round whose clock reads `round_ms`.
pub fn check(mine: &Counters, theirs: &Counters, round_ms: i64) -> Result<(), FightError> {
    let pairs = [
        (
            "strikes_landed",
            mine.strikes_landed,
            "strikes_attempted",
            mine.strikes_attempted,
        ),
        (
            "significant_strikes_landed",
            mine.significant_strikes_landed,
            "significant_strikes_attempted",
            mine.significant_strikes_attempted,
        ),
        (
            "takedowns_landed",
            mine.takedowns_landed,
            "takedowns_attempted",
            mine.takedowns_attempted,
        ),
        (
            "significant_strikes_landed",
            mine.significant_strikes_landed,
            "strikes_landed",
            mine.strikes_landed,
        ),
        (
            "significant_strikes_attempted",
            mine.significant_strikes_attempted,
            "strikes_attempted",
            mine.strikes_attempted,
        ),
    ];
    for (part, p, whole, w) in pairs {
        if p > w {
            return Err(invalid(
                "stats",
                format!("{part} ({p}) cannot exceed {whole} ({w})"),
            ));
        }
    }
    if mine.knockdowns > mine.strikes_landed {
        return Err(invalid(
            "stats",
            format!(
                "knockdowns ({}) cannot exceed strikes_landed ({})",
                mine.knockdowns, mine.strikes_landed
            ),
        ));
    }
    let control = i64::from(mine.control_time_s) + i64::from(theirs.control_time_s);
    let clock = (round_ms + 999) / 1000;
    if control > ROUND_LENGTH_S {
        return Err(invalid(
            "stats",
            format!(
                "control time of both corners ({control} s) cannot exceed the 300-second round"
            ),
        ));
    }
    if control > clock {
        // Possible later in the round: not yet.
        return Err(super::wrong(format!(
            "control time of both corners ({control} s) cannot exceed the round's clock ({clock} s)"
        )));
    }
    Ok(())
}
