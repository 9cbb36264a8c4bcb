//! Judges' scoring under the 10-point must system, and the decision their
//! cards project.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScoreError {
    #[error("a round is scored 10-10, 10-9, 10-8 or 10-7 (either way)")]
    NotTenPointMust,
}

/// One judge's score of one round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundScore {
    pub judge: String,
    pub round: i32,
    pub red: i32,
    pub blue: i32,
}

/// Only 10-10, 10-9, 10-8 and 10-7 (either corner) are legal.
pub fn check_round_score(red: i32, blue: i32) -> Result<(), ScoreError> {
    let legal = (red == 10 && (7..=10).contains(&blue)) || (blue == 10 && (7..=10).contains(&red));
    if legal {
        Ok(())
    } else {
        Err(ScoreError::NotTenPointMust)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Corner {
    Red,
    Blue,
}

/// Running totals per judge and the decision they would give now.
pub fn scorecards(scores: &[RoundScore]) -> Value {
    let mut cards: BTreeMap<&str, (i32, i32, Vec<i32>)> = BTreeMap::new();
    for s in scores {
        let card = cards.entry(&s.judge).or_default();
        card.0 += s.red;
        card.1 += s.blue;
        card.2.push(s.round);
    }
    let judges: Vec<Value> = cards
        .iter()
        .map(|(judge, (red, blue, rounds))| {
            json!({ "judge": judge, "red": red, "blue": blue, "rounds_scored": rounds.len(), "leader": leader(*red, *blue) })
        })
        .collect();
    let leaders: Vec<Option<Corner>> = cards.values().map(|(r, b, _)| leader(*r, *b)).collect();
    json!({ "judges": judges, "projected": projected(&leaders) })
}

fn leader(red: i32, blue: i32) -> Option<Corner> {
    match red.cmp(&blue) {
        std::cmp::Ordering::Greater => Some(Corner::Red),
        std::cmp::Ordering::Less => Some(Corner::Blue),
        std::cmp::Ordering::Equal => None,
    }
}

/// The decision the cards give: unanimous, split or majority for a corner,
/// or a draw. `null` before any card.
fn projected(leaders: &[Option<Corner>]) -> Value {
    if leaders.is_empty() {
        return Value::Null;
    }
    let red = leaders.iter().filter(|l| **l == Some(Corner::Red)).count();
    let blue = leaders.iter().filter(|l| **l == Some(Corner::Blue)).count();
    let even = leaders.len() - red - blue;
    let (winner, for_winner, against) = match red.cmp(&blue) {
        std::cmp::Ordering::Greater => (Some(Corner::Red), red, blue),
        std::cmp::Ordering::Less => (Some(Corner::Blue), blue, red),
        std::cmp::Ordering::Equal => (None, 0, 0),
    };
    // A decision needs most of the cards; otherwise it is a draw.
    let method = match winner {
        Some(_) if for_winner * 2 <= leaders.len() => "draw",
        Some(_) if against == 0 && even == 0 => "unanimous_decision",
        Some(_) if against == 0 => "majority_decision",
        Some(_) => "split_decision",
        None => "draw",
    };
    let winner = if method == "draw" { None } else { winner };
    json!({ "winner": winner, "method": method, "red_cards": red, "blue_cards": blue, "even_cards": even })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(judge: &str, round: i32, red: i32, blue: i32) -> RoundScore {
        RoundScore {
            judge: judge.into(),
            round,
            red,
            blue,
        }
    }

    #[test]
    fn only_ten_point_must_scores_are_legal() {
        for (r, b) in [
            (10, 10),
            (10, 9),
            (9, 10),
            (10, 8),
            (8, 10),
            (10, 7),
            (7, 10),
        ] {
            assert_eq!(check_round_score(r, b), Ok(()), "{r}-{b}");
        }
        for (r, b) in [(9, 9), (10, 6), (11, 9), (10, 11), (0, 10), (9, 8)] {
            assert!(check_round_score(r, b).is_err(), "{r}-{b}");
        }
    }

    fn method(scores: &[RoundScore]) -> (Value, Value) {
        let p = scorecards(scores)["projected"].clone();
        (p["winner"].clone(), p["method"].clone())
    }

    #[test]
    fn decisions_follow_the_cards() {
        let unanimous = [s("A", 1, 10, 9), s("B", 1, 10, 9), s("C", 1, 10, 9)];
        assert_eq!(
            method(&unanimous),
            (json!("red"), json!("unanimous_decision"))
        );
        let split = [s("A", 1, 10, 9), s("B", 1, 9, 10), s("C", 1, 10, 9)];
        assert_eq!(method(&split), (json!("red"), json!("split_decision")));
        let majority = [s("A", 1, 9, 10), s("B", 1, 10, 10), s("C", 1, 9, 10)];
        assert_eq!(
            method(&majority),
            (json!("blue"), json!("majority_decision"))
        );
        let split_draw = [s("A", 1, 10, 9), s("B", 1, 9, 10), s("C", 1, 10, 10)];
        assert_eq!(method(&split_draw), (Value::Null, json!("draw")));
        let majority_draw = [s("A", 1, 10, 9), s("B", 1, 10, 10), s("C", 1, 10, 10)];
        assert_eq!(method(&majority_draw), (Value::Null, json!("draw")));
        assert_eq!(scorecards(&[])["projected"], Value::Null);
    }

    #[test]
    fn totals_add_up_per_judge() {
        let cards = scorecards(&[s("A", 1, 10, 9), s("A", 2, 10, 8), s("B", 1, 9, 10)]);
        assert_eq!(
            cards["judges"][0],
            json!({ "judge": "A", "red": 20, "blue": 17, "rounds_scored": 2, "leader": "red" })
        );
        assert_eq!(cards["judges"][1]["leader"], "blue");
    }

    #[test]
    fn while_cards_come_in_a_decision_needs_more_than_half_of_them() {
        // Two cards in: one for red and one even is half, a draw so far.
        let half = [s("A", 1, 10, 9), s("B", 1, 10, 10)];
        assert_eq!(method(&half), (Value::Null, json!("draw")));
        let both = [s("A", 1, 10, 9), s("B", 1, 10, 8)];
        assert_eq!(method(&both), (json!("red"), json!("unanimous_decision")));
        // Five cards: three of them carry it.
        let five = [
            s("A", 1, 10, 9),
            s("B", 1, 10, 9),
            s("C", 1, 10, 9),
            s("D", 1, 9, 10),
            s("E", 1, 9, 10),
        ];
        assert_eq!(method(&five), (json!("red"), json!("split_decision")));
        let counts = scorecards(&five)["projected"].clone();
        assert_eq!(
            (
                counts["red_cards"].clone(),
                counts["blue_cards"].clone(),
                counts["even_cards"].clone()
            ),
            (json!(3), json!(2), json!(0))
        );
    }
}
