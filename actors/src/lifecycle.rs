//! The live event's status machine: upcoming → live → completed, and
//! cancelled from anything not yet finished. One table of legal moves, so the
//! REST layer, the rooms and the tests all agree on it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    Upcoming,
    Live,
    Completed,
    Cancelled,
}

/// What an admin asks of a live event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventAction {
    Start,
    End,
    Cancel,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a live event that is {from}")]
pub struct IllegalTransition {
    pub from: EventStatus,
    pub action: EventAction,
}

impl EventStatus {
    pub const ALL: [EventStatus; 4] = [
        EventStatus::Upcoming,
        EventStatus::Live,
        EventStatus::Completed,
        EventStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Upcoming => "upcoming",
            EventStatus::Live => "live",
            EventStatus::Completed => "completed",
            EventStatus::Cancelled => "cancelled",
        }
    }

    /// The status after `action`, or why it is not allowed.
    pub fn apply(self, action: EventAction) -> Result<EventStatus, IllegalTransition> {
        use EventAction::*;
        use EventStatus::*;
        match (self, action) {
            (Upcoming, Start) => Ok(Live),
            (Live, End) => Ok(Completed),
            (Upcoming | Live, Cancel) => Ok(Cancelled),
            (from, action) => Err(IllegalTransition { from, action }),
        }
    }

    /// Finished events take no further live traffic.
    pub fn is_final(self) -> bool {
        matches!(self, EventStatus::Completed | EventStatus::Cancelled)
    }
}

impl fmt::Display for EventStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for EventAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EventAction::Start => "start",
            EventAction::End => "end",
            EventAction::Cancel => "cancel",
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown status {0:?}: expected upcoming, live, completed or cancelled")]
pub struct UnknownStatus(pub String);

impl FromStr for EventStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

// One of the enumerations the database's CHECKs list (see `vocabulary`).
impl crate::vocabulary::Vocabulary for EventStatus {
    const NAME: &'static str = "status";
    const ALL: &'static [Self] = &EventStatus::ALL;
    fn as_str(self) -> &'static str {
        EventStatus::as_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::EventAction::*;
    use super::EventStatus::*;
    use super::*;

    #[test]
    fn legal_moves() {
        assert_eq!(Upcoming.apply(Start), Ok(Live));
        assert_eq!(Live.apply(End), Ok(Completed));
        assert_eq!(Upcoming.apply(Cancel), Ok(Cancelled));
        assert_eq!(Live.apply(Cancel), Ok(Cancelled));
    }

    #[test]
    fn every_other_move_is_refused() {
        let legal = [
            (Upcoming, Start),
            (Live, End),
            (Upcoming, Cancel),
            (Live, Cancel),
        ];
        for from in EventStatus::ALL {
            for action in [Start, End, Cancel] {
                if !legal.contains(&(from, action)) {
                    assert_eq!(from.apply(action), Err(IllegalTransition { from, action }));
                }
            }
        }
    }

    #[test]
    fn statuses_are_spelled_once_and_parse_back() {
        let words: Vec<String> = EventStatus::ALL.iter().map(|s| s.to_string()).collect();
        assert_eq!(words, ["upcoming", "live", "completed", "cancelled"]);
        for status in EventStatus::ALL {
            assert_eq!(status.as_str().parse::<EventStatus>().ok(), Some(status));
            assert_eq!(
                serde_json::to_value(status).ok(),
                Some(serde_json::json!(status.as_str()))
            );
        }
        let err = "over".parse::<EventStatus>().expect_err("unknown");
        assert_eq!(err.0, "over");
    }

    #[test]
    fn only_completed_and_cancelled_events_are_final() {
        let finals: Vec<EventStatus> = EventStatus::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(finals, [Completed, Cancelled]);
    }

    #[test]
    fn a_refusal_names_the_action_and_the_status() {
        let cases = [
            (Live, Start, "start", "live"),
            (Completed, End, "end", "completed"),
            (Cancelled, Cancel, "cancel", "cancelled"),
        ];
        for (from, action, verb, status) in cases {
            let err = from.apply(action).expect_err("illegal");
            assert_eq!(
                err.to_string(),
                format!("cannot {verb} a live event that is {status}")
            );
        }
    }
}
