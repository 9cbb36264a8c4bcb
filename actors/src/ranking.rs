//! Rankings: Glicko-2 ratings (the `skillratings` crate) moved by official
//! results, and a division's order recomputed from them.

use skillratings::glicko2::{glicko2, Glicko2Config, Glicko2Rating};
use skillratings::Outcomes;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rating {
    pub rating: f64,
    pub deviation: f64,
    pub volatility: f64,
}

/// How a fight ended, from the red corner's side. No contests move nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    RedWins,
    BlueWins,
    Draw,
    NoContest,
}

/// New ratings for (red, blue) after their fight.
pub fn rate(red: Rating, blue: Rating, outcome: Outcome) -> (Rating, Rating) {
    let to = |r: Rating| Glicko2Rating {
        rating: r.rating,
        deviation: r.deviation,
        volatility: r.volatility,
    };
    let from = |r: Glicko2Rating| Rating {
        rating: r.rating,
        deviation: r.deviation,
        volatility: r.volatility,
    };
    let outcome = match outcome {
        Outcome::RedWins => Outcomes::WIN,
        Outcome::BlueWins => Outcomes::LOSS,
        Outcome::Draw => Outcomes::DRAW,
        Outcome::NoContest => return (red, blue),
    };
    let (r, b) = glicko2(&to(red), &to(blue), &outcome, &Glicko2Config::new());
    (from(r), from(b))
}

/// A fighter's place: (fighter, rating, current rank).
pub type Entry = (i64, f64, i32);

/// The order by rating (ties keep the earlier rank); returns every
/// (fighter, old rank, new rank) and the full new order.
pub fn reorder(entries: &[Entry]) -> Vec<(i64, i32, i32)> {
    let mut sorted = entries.to_vec();
    sorted.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    sorted
        .iter()
        .enumerate()
        .map(|(i, (fighter, _, old))| (*fighter, *old, i as i32 + 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW: Rating = Rating {
        rating: 1500.0,
        deviation: 350.0,
        volatility: 0.06,
    };

    #[test]
    fn winners_rise_and_losers_fall() {
        let (red, blue) = rate(NEW, NEW, Outcome::BlueWins);
        assert!(blue.rating > 1500.0 && red.rating < 1500.0);
        assert!(red.deviation < 350.0, "a fight makes the rating surer");
        let (red, blue) = rate(NEW, NEW, Outcome::Draw);
        assert!((red.rating - blue.rating).abs() < 1e-9);
    }

    #[test]
    fn reorder_sorts_by_rating_and_keeps_ties_stable() {
        let moves = reorder(&[(1, 1500.0, 1), (2, 1600.0, 2), (3, 1500.0, 3)]);
        assert_eq!(moves, vec![(2, 2, 1), (1, 1, 2), (3, 3, 3)]);
    }
}
