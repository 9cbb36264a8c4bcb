//! Rankings' pure rules (DESIGN §10): Glicko-2 ratings (the `skillratings`
//! crate) moved by official results, starting ratings from a record or an
//! imported order, a division's order (always the order by rating), the
//! champion's rules, pound-for-pound, and how a result is reversed.

use skillratings::glicko2::{glicko2, Glicko2Config, Glicko2Rating};
use skillratings::Outcomes;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rating {
    pub rating: f64,
    pub deviation: f64,
    pub volatility: f64,
}

/// A fighter with no record: Glicko-2's own starting point.
pub const NEWCOMER: Rating = Rating {
    rating: 1500.0,
    deviation: 350.0,
    volatility: 0.06,
};

/// The surest a starting rating gets from a record alone.
pub const MIN_START_DEVIATION: f64 = 75.0;

/// How a fight ended, from the red corner's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    RedWins,
    BlueWins,
    Draw,
    /// Moves nothing but the records.
    NoContest,
}

impl Outcome {
    /// (winner, loser) of (red, blue), if someone won.
    pub fn winner_of(self, red: i64, blue: i64) -> Option<(i64, i64)> {
        match self {
            Outcome::RedWins => Some((red, blue)),
            Outcome::BlueWins => Some((blue, red)),
            Outcome::Draw | Outcome::NoContest => None,
        }
    }
}

/// New ratings for (red, blue) after their fight (a no contest changes nothing).
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

/// A starting rating from a record: it rises with wins over losses and
/// with experience, and grows surer with the number of fights. 0-0 is
/// [`NEWCOMER`]; a winning record always starts above it.
pub fn from_record(wins: i32, losses: i32, draws: i32) -> Rating {
    let (w, l, d) = (
        f64::from(wins.max(0)),
        f64::from(losses.max(0)),
        f64::from(draws.max(0)),
    );
    let fights = w + l + d;
    Rating {
        rating: NEWCOMER.rating + 400.0 * (w - l) / (fights + 5.0),
        deviation: (NEWCOMER.deviation / (1.0 + fights / 3.0).sqrt()).max(MIN_START_DEVIATION),
        volatility: NEWCOMER.volatility,
    }
}

/// Rating points between two places of an imported ranking.
pub const IMPORT_STEP: f64 = 10.0;

/// Ratings for an imported list, best first (the champion, if any, then
/// 1…N), from each fighter's record rating: they keep the list's order
/// (descending by [`IMPORT_STEP`] from the best record's rating, the last
/// place still above a newcomer) and are at least as sure as an imported
/// place says (deviation at most 200).
pub fn imported(records: &[Rating]) -> Vec<Rating> {
    let best = records.iter().map(|r| r.rating).fold(f64::MIN, f64::max);
    let top = best.max(NEWCOMER.rating + IMPORT_STEP * records.len() as f64);
    records
        .iter()
        .enumerate()
        .map(|(i, r)| Rating {
            rating: top - IMPORT_STEP * i as f64,
            deviation: r.deviation.min(200.0),
            volatility: r.volatility,
        })
        .collect()
}

/// Ratings for fighters an import did not list, given in their current
/// order: each stays as it is if it is already below the one before it
/// (the last listed fighter's `floor` first), else goes one point below it.
pub fn below(floor: f64, current: &[Rating]) -> Vec<Rating> {
    let mut above = floor;
    current
        .iter()
        .map(|r| {
            let rating = r.rating.min(above - 1.0);
            above = rating;
            Rating { rating, ..*r }
        })
        .collect()
}

/// A division entry as ordering sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standing {
    pub fighter: i64,
    pub rating: f64,
    pub deviation: f64,
    /// The rank it has now (`None`: the champion, or not yet placed).
    pub rank: Option<i32>,
}

/// Each entry's rank: the champion has none (he is not a contender), the
/// others are 1…N by rating, ties broken by lower deviation, then the rank
/// held now (unplaced last), then id. So ranks never disagree with
/// ratings, and the order of fighters whose ratings did not move never
/// changes.
pub fn ranks(entries: &[Standing], champion: Option<i64>) -> Vec<(i64, Option<i32>)> {
    let mut contenders: Vec<&Standing> = entries
        .iter()
        .filter(|e| Some(e.fighter) != champion)
        .collect();
    contenders.sort_by(|a, b| {
        b.rating
            .total_cmp(&a.rating)
            .then(a.deviation.total_cmp(&b.deviation))
            .then(a.rank.unwrap_or(i32::MAX).cmp(&b.rank.unwrap_or(i32::MAX)))
            .then(a.fighter.cmp(&b.fighter))
    });
    let mut out: Vec<(i64, Option<i32>)> = entries
        .iter()
        .filter(|e| Some(e.fighter) == champion)
        .map(|e| (e.fighter, None))
        .collect();
    out.extend(
        contenders
            .iter()
            .enumerate()
            .map(|(i, e)| (e.fighter, Some(i as i32 + 1))),
    );
    out
}

/// A title changing hands: (new champion, the previous one or `None` if
/// it was vacant).
pub type TitleChange = (i64, Option<i64>);

/// Whether a result changes the champion: only a title fight won outright,
/// by a challenger against the champion or by either fighter for a vacant
/// title. A defence, a draw, a no contest, a non-title fight, or a title
/// fight the champion was not in leave him champion.
pub fn title_after(
    champion: Option<i64>,
    is_title_fight: bool,
    red: i64,
    blue: i64,
    outcome: Outcome,
) -> Option<TitleChange> {
    let (winner, loser) = outcome.winner_of(red, blue)?;
    if !is_title_fight {
        return None;
    }
    match champion {
        None => Some((winner, None)),
        Some(c) if c == loser => Some((winner, Some(c))),
        Some(_) => None,
    }
}

/// A fighter's rating once a result is taken back. When that fight was the
/// last thing that rated him, exactly what he had before it (`before`);
/// otherwise his rating now, shifted back by what the fight gave him
/// (deviation and volatility kept within Glicko-2's sensible bounds).
pub fn reversed(current: Rating, before: Rating, after: Rating, latest: bool) -> Rating {
    if latest {
        return before;
    }
    Rating {
        rating: current.rating - (after.rating - before.rating),
        deviation: (current.deviation - (after.deviation - before.deviation)).clamp(30.0, 350.0),
        volatility: (current.volatility - (after.volatility - before.volatility)).clamp(0.01, 0.2),
    }
}

/// One division entry for pound-for-pound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    pub fighter: i64,
    pub division: i64,
    pub rating: f64,
    pub deviation: f64,
}

/// The pound-for-pound list: the `n` best fighters across divisions by
/// rating (ties: lower deviation, then id), champions included, each once
/// at his best division entry. (fighter, rank, division).
pub fn pound_for_pound(entries: &[Entry], n: usize) -> Vec<(i64, i32, i64)> {
    let better = |a: &Entry, b: &Entry| {
        b.rating
            .total_cmp(&a.rating)
            .then(a.deviation.total_cmp(&b.deviation))
            .then(a.fighter.cmp(&b.fighter))
            .then(a.division.cmp(&b.division))
    };
    let mut sorted = entries.to_vec();
    sorted.sort_by(better);
    let mut seen = std::collections::HashSet::new();
    sorted
        .into_iter()
        .filter(|e| seen.insert(e.fighter))
        .take(n)
        .enumerate()
        .map(|(i, e)| (e.fighter, i as i32 + 1, e.division))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(fighter: i64, rating: f64, deviation: f64, rank: Option<i32>) -> Standing {
        Standing {
            fighter,
            rating,
            deviation,
            rank,
        }
    }

    #[test]
    fn winners_rise_and_losers_fall() {
        let (red, blue) = rate(NEWCOMER, NEWCOMER, Outcome::BlueWins);
        assert!(blue.rating > 1500.0 && red.rating < 1500.0);
        assert!(red.deviation < 350.0, "a fight makes the rating surer");
        let (red, blue) = rate(NEWCOMER, NEWCOMER, Outcome::Draw);
        assert!((red.rating - blue.rating).abs() < 1e-9);
    }

    #[test]
    fn a_no_contest_moves_no_rating() {
        let strong = from_record(20, 1, 0);
        assert_eq!(
            rate(strong, NEWCOMER, Outcome::NoContest),
            (strong, NEWCOMER)
        );
    }

    #[test]
    fn starting_ratings_come_from_the_record() {
        assert_eq!(from_record(0, 0, 0), NEWCOMER, "0-0 is Glicko-2's start");
        let veteran = from_record(25, 1, 0);
        let prospect = from_record(3, 0, 0);
        let loser = from_record(2, 8, 0);
        assert!(veteran.rating > prospect.rating && prospect.rating > 1500.0);
        assert!(loser.rating < 1500.0);
        assert!(
            veteran.deviation < prospect.deviation && prospect.deviation < 350.0,
            "more fights, surer"
        );
        assert!(from_record(300, 0, 0).deviation >= MIN_START_DEVIATION);
        // 1500 + 400·(w−l)/(w+l+d+5), 350/√(1+n/3).
        let r = from_record(10, 2, 0);
        assert!((r.rating - (1500.0 + 400.0 * 8.0 / 17.0)).abs() < 1e-9);
        assert!((r.deviation - 350.0 / 5.0f64.sqrt()).abs() < 1e-9);
        // A newcomer never outranks a winning fighter by entering.
        let order = ranks(
            &[
                standing(1, NEWCOMER.rating, NEWCOMER.deviation, None),
                standing(2, from_record(1, 0, 0).rating, 300.0, Some(1)),
            ],
            None,
        );
        assert_eq!(order, vec![(2, Some(1)), (1, Some(2))]);
    }

    #[test]
    fn ranks_follow_ratings_with_deterministic_ties() {
        let order = ranks(
            &[
                standing(1, 1500.0, 200.0, Some(1)),
                standing(2, 1600.0, 200.0, Some(2)),
                standing(3, 1500.0, 100.0, Some(3)),
                standing(4, 1500.0, 100.0, Some(4)),
                standing(5, 1500.0, 100.0, None),
                standing(6, 1500.0, 100.0, None),
            ],
            None,
        );
        // Rating, then lower deviation, then the rank held, then id.
        assert_eq!(
            order,
            vec![
                (2, Some(1)),
                (3, Some(2)),
                (4, Some(3)),
                (5, Some(4)),
                (6, Some(5)),
                (1, Some(6))
            ]
        );
    }

    #[test]
    fn the_champion_has_no_rank_and_is_not_counted() {
        let order = ranks(
            &[
                standing(1, 1500.0, 100.0, Some(1)),
                standing(9, 1400.0, 100.0, None),
                standing(2, 1450.0, 100.0, Some(2)),
            ],
            Some(9),
        );
        assert_eq!(order, vec![(9, None), (1, Some(1)), (2, Some(2))]);
    }

    #[test]
    fn the_title_changes_only_through_a_title_fight_won_against_the_champion() {
        let (champ, challenger, other) = (1, 2, 3);
        // The challenger beats the champion for the title.
        assert_eq!(
            title_after(Some(champ), true, champ, challenger, Outcome::BlueWins),
            Some((challenger, Some(champ)))
        );
        // A defence, a draw, a no contest: he stays champion.
        for outcome in [Outcome::RedWins, Outcome::Draw, Outcome::NoContest] {
            assert_eq!(
                title_after(Some(champ), true, champ, challenger, outcome),
                None
            );
        }
        // A champion who loses a non-title fight keeps the title.
        assert_eq!(
            title_after(Some(champ), false, champ, challenger, Outcome::BlueWins),
            None
        );
        // A title fight he is not in changes nothing.
        assert_eq!(
            title_after(Some(champ), true, other, challenger, Outcome::BlueWins),
            None
        );
        // A vacant title goes to the winner of a title fight, not of another.
        assert_eq!(
            title_after(None, true, other, challenger, Outcome::RedWins),
            Some((other, None))
        );
        assert_eq!(
            title_after(None, false, other, challenger, Outcome::RedWins),
            None
        );
        assert_eq!(
            title_after(None, true, other, challenger, Outcome::Draw),
            None
        );
    }

    #[test]
    fn a_reversal_restores_or_shifts_back() {
        let before = from_record(5, 1, 0);
        let (after, _) = rate(before, NEWCOMER, Outcome::RedWins);
        // The fight was the last thing that rated him: exactly as before.
        assert_eq!(reversed(after, before, after, true), before);
        // Later fights moved him on: take back only this fight's delta.
        let later = Rating {
            rating: after.rating + 30.0,
            deviation: after.deviation - 5.0,
            volatility: after.volatility,
        };
        let back = reversed(later, before, after, false);
        assert!((back.rating - (before.rating + 30.0)).abs() < 1e-9);
        assert!((back.deviation - (before.deviation - 5.0)).abs() < 1e-9);
        assert!((back.volatility - before.volatility).abs() < 1e-9);
    }

    #[test]
    fn imports_keep_their_order_and_unlisted_fighters_go_below() {
        let records = [
            from_record(2, 3, 0),
            from_record(25, 1, 0),
            from_record(0, 0, 0),
        ];
        let rated = imported(&records);
        assert!(rated[0].rating > rated[1].rating && rated[1].rating > rated[2].rating);
        assert!(
            rated[0].rating >= from_record(25, 1, 0).rating,
            "the best record's rating"
        );
        assert!(rated[2].rating > NEWCOMER.rating, "above any newcomer");
        assert!(rated.iter().all(|r| r.deviation <= 200.0));
        let floor = rated[2].rating;
        let unlisted = below(
            floor,
            &[
                from_record(30, 0, 0),
                from_record(10, 0, 0),
                from_record(0, 5, 0),
            ],
        );
        assert!(unlisted[0].rating < floor);
        assert!(unlisted[1].rating < unlisted[0].rating);
        assert_eq!(unlisted[2], from_record(0, 5, 0), "already below: kept");
    }

    #[test]
    fn pound_for_pound_lists_each_fighter_once_at_his_best() {
        let e = |fighter, division, rating| Entry {
            fighter,
            division,
            rating,
            deviation: 100.0,
        };
        let list = pound_for_pound(
            &[
                e(1, 10, 1700.0),
                e(1, 11, 1800.0),
                e(2, 10, 1750.0),
                e(3, 12, 1600.0),
            ],
            2,
        );
        assert_eq!(list, vec![(1, 1, 11), (2, 2, 10)]);
    }

    #[test]
    fn an_imported_list_of_newcomers_still_sits_above_a_newcomer() {
        let list = imported(&[NEWCOMER, NEWCOMER, NEWCOMER]);
        let ratings: Vec<f64> = list.iter().map(|r| r.rating).collect();
        // The last place one step above a newcomer, each place a step apart.
        assert_eq!(ratings, vec![1530.0, 1520.0, 1510.0]);
    }
}
