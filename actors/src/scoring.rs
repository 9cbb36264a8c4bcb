//! Judges' scoring under the 10-point must system: each judge's card with
//! the referee's deductions applied, and the verdict three cards give.

use serde::{Deserialize, Serialize};

use crate::fight::{Foul, Winner};
use crate::vocabulary::ResultMethod;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScoreError {
    #[error("a round is scored 10-10, 10-9, 10-8 or 10-7 (either way)")]
    NotTenPointMust,
}

/// One judge's score of one round, before deductions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Score {
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

/// One round on a judge's card: as scored, the points taken, and what counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CardRound {
    pub round: i32,
    pub scored_red: i32,
    pub scored_blue: i32,
    pub deducted_red: i32,
    pub deducted_blue: i32,
    /// After deductions (10-9 with a point taken from red reads 9-9).
    pub red: i32,
    pub blue: i32,
}

/// A judge's card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Card {
    pub judge: String,
    pub rounds: Vec<CardRound>,
    pub red: i32,
    pub blue: i32,
    /// Who leads on this card; null when even.
    pub leader: Option<Winner>,
}

/// Each assigned judge's card through round `last`, deductions applied to
/// every card for the round they were taken in.
pub fn cards(judges: &[String], scores: &[Score], fouls: &[Foul], last: i32) -> Vec<Card> {
    let deducted = |corner: Winner, round: i32| -> i32 {
        fouls
            .iter()
            .filter(|f| f.corner == corner && f.round == round)
            .map(|f| f.points)
            .sum()
    };
    judges
        .iter()
        .map(|judge| {
            let mut rounds: Vec<CardRound> = scores
                .iter()
                .filter(|s| &s.judge == judge && s.round <= last)
                .map(|s| {
                    let (dr, db) = (
                        deducted(Winner::Red, s.round),
                        deducted(Winner::Blue, s.round),
                    );
                    CardRound {
                        round: s.round,
                        scored_red: s.red,
                        scored_blue: s.blue,
                        deducted_red: dr,
                        deducted_blue: db,
                        red: s.red - dr,
                        blue: s.blue - db,
                    }
                })
                .collect();
            rounds.sort_by_key(|r| r.round);
            let red = rounds.iter().map(|r| r.red).sum();
            let blue = rounds.iter().map(|r| r.blue).sum();
            Card {
                judge: judge.clone(),
                rounds,
                red,
                blue,
                leader: leader(red, blue),
            }
        })
        .collect()
}

fn leader(red: i32, blue: i32) -> Option<Winner> {
    match red.cmp(&blue) {
        std::cmp::Ordering::Greater => Some(Winner::Red),
        std::cmp::Ordering::Less => Some(Winner::Blue),
        std::cmp::Ordering::Equal => None,
    }
}

/// What the cards give: the method, the winner, and the totals per judge
/// ("29-28, 28-29, 29-28").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verdict {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::vocabulary::ResultMethod))]
    pub method: ResultMethod,
    pub winner: Option<Winner>,
    pub cards: Vec<CardTotal>,
}

/// One judge's total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CardTotal {
    pub judge: String,
    pub red: i32,
    pub blue: i32,
}

/// The verdict of three cards. `technical`: after an accidental-foul
/// stoppage past the threshold (technical decision or draw).
pub fn verdict(cards: &[Card], technical: bool) -> Verdict {
    let red = cards
        .iter()
        .filter(|c| c.leader == Some(Winner::Red))
        .count();
    let blue = cards
        .iter()
        .filter(|c| c.leader == Some(Winner::Blue))
        .count();
    let even = cards.len() - red - blue;
    let (winner, for_winner, against) = match red.cmp(&blue) {
        std::cmp::Ordering::Greater => (Some(Winner::Red), red, blue),
        std::cmp::Ordering::Less => (Some(Winner::Blue), blue, red),
        std::cmp::Ordering::Equal => (None, 0, 0),
    };
    // A winner needs most of the cards; otherwise it is a draw.
    let winner = winner.filter(|_| for_winner * 2 > cards.len());
    use ResultMethod::*;
    let method = match (technical, winner) {
        (true, Some(_)) => TechnicalDecision,
        (true, None) => TechnicalDraw,
        (false, Some(_)) if against == 0 && even == 0 => UnanimousDecision,
        (false, Some(_)) if against == 0 => MajorityDecision,
        (false, Some(_)) => SplitDecision,
        (false, None) if even == cards.len() => UnanimousDraw,
        (false, None) if red == 0 || blue == 0 => MajorityDraw,
        (false, None) => SplitDraw,
    };
    Verdict {
        method,
        winner,
        cards: cards
            .iter()
            .map(|c| CardTotal {
                judge: c.judge.clone(),
                red: c.red,
                blue: c.blue,
            })
            .collect(),
    }
}

/// The (judge, round) pairs still to score through round `last`.
pub fn missing(judges: &[String], scores: &[Score], last: i32) -> Vec<(String, i32)> {
    let mut out = Vec::new();
    for judge in judges {
        for round in 1..=last {
            if !scores.iter().any(|s| &s.judge == judge && s.round == round) {
                out.push((judge.clone(), round));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(judge: &str, round: i32, red: i32, blue: i32) -> Score {
        Score {
            judge: judge.into(),
            round,
            red,
            blue,
        }
    }

    fn judges() -> Vec<String> {
        vec!["A".into(), "B".into(), "C".into()]
    }

    fn foul(corner: Winner, round: i32, points: i32) -> Foul {
        Foul {
            corner,
            round,
            foul: "eye poke".into(),
            points,
            intentional: true,
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

    fn verdict_of(scores: &[Score], fouls: &[Foul]) -> (ResultMethod, Option<Winner>) {
        let v = verdict(&cards(&judges(), scores, fouls, 1), false);
        (v.method, v.winner)
    }

    #[test]
    fn every_verdict_three_cards_can_give() {
        use ResultMethod::*;
        let r = Some(Winner::Red);
        let b = Some(Winner::Blue);
        let cases = [
            ([(10, 9), (10, 9), (10, 9)], (UnanimousDecision, r)),
            ([(10, 9), (9, 10), (10, 9)], (SplitDecision, r)),
            ([(9, 10), (10, 10), (9, 10)], (MajorityDecision, b)),
            ([(10, 10), (10, 10), (10, 10)], (UnanimousDraw, None)),
            ([(10, 9), (9, 10), (10, 10)], (SplitDraw, None)),
            ([(10, 9), (10, 10), (10, 10)], (MajorityDraw, None)),
        ];
        for (rounds, expected) in cases {
            let scores: Vec<Score> = ["A", "B", "C"]
                .iter()
                .zip(rounds)
                .map(|(j, (red, blue))| s(j, 1, red, blue))
                .collect();
            assert_eq!(verdict_of(&scores, &[]), expected, "{rounds:?}");
        }
    }

    #[test]
    fn the_split_draw_of_the_issue_is_a_split_draw() {
        // 29-28, 28-29, 28-28 over three rounds.
        let mut scores = Vec::new();
        for (judge, rounds) in [
            ("A", [(10, 9), (10, 9), (9, 10)]),
            ("B", [(9, 10), (9, 10), (10, 9)]),
            ("C", [(10, 8), (8, 10), (10, 10)]),
        ] {
            for (i, (red, blue)) in rounds.into_iter().enumerate() {
                scores.push(s(judge, i as i32 + 1, red, blue));
            }
        }
        let v = verdict(&cards(&judges(), &scores, &[], 3), false);
        let totals: Vec<(i32, i32)> = v.cards.iter().map(|c| (c.red, c.blue)).collect();
        assert_eq!(totals, vec![(29, 28), (28, 29), (28, 28)]);
        assert_eq!((v.method, v.winner), (ResultMethod::SplitDraw, None));
    }

    #[test]
    fn a_deduction_comes_off_every_card_for_its_round() {
        let scores = [s("A", 1, 10, 9), s("B", 1, 10, 9), s("C", 1, 10, 8)];
        let cards = cards(&judges(), &scores, &[foul(Winner::Red, 1, 1)], 1);
        assert_eq!(
            cards.iter().map(|c| (c.red, c.blue)).collect::<Vec<_>>(),
            vec![(9, 9), (9, 9), (9, 8)],
            "10-9 with a point taken from the winner reads 9-9"
        );
        assert_eq!(cards[0].rounds[0].scored_red, 10);
        assert_eq!(cards[0].rounds[0].deducted_red, 1);
        let v = verdict(&cards, false);
        assert_eq!(
            (v.method, v.winner),
            (ResultMethod::MajorityDraw, None),
            "one card for red, two even"
        );
        // A deduction in another round leaves this one alone.
        let other = super::cards(&judges(), &scores, &[foul(Winner::Red, 2, 2)], 1);
        assert_eq!(other[0].red, 10);
    }

    #[test]
    fn technical_verdicts_and_what_is_missing() {
        let scores = [s("A", 1, 10, 9), s("B", 1, 10, 9), s("C", 1, 9, 10)];
        let v = verdict(&cards(&judges(), &scores, &[], 1), true);
        assert_eq!(
            (v.method, v.winner),
            (ResultMethod::TechnicalDecision, Some(Winner::Red))
        );
        let even = [s("A", 1, 10, 9), s("B", 1, 9, 10), s("C", 1, 10, 10)];
        let v = verdict(&cards(&judges(), &even, &[], 1), true);
        assert_eq!((v.method, v.winner), (ResultMethod::TechnicalDraw, None));
        assert_eq!(
            missing(&judges(), &scores[..2], 2),
            vec![
                ("A".to_string(), 2),
                ("B".to_string(), 2),
                ("C".to_string(), 1),
                ("C".to_string(), 2)
            ]
        );
        assert!(missing(&judges(), &scores, 1).is_empty());
    }
}
