//! Rankings (DESIGN §10), the one home of their rules: fighters' records,
//! Glicko-2 ratings, each division's order, its champion, pound-for-pound,
//! and the history that explains every move.
//!
//! - A division's ranks are always its contenders' order by rating
//!   (`ringside_actors::ranking::ranks`); the champion is not a contender.
//! - A result moves the records and ratings of the two fighters who fought,
//!   in the fight's division (a fighter without an entry there enters from
//!   his record first); the champion changes only through a title fight.
//! - Every move writes a `ranking_history` row with its reason and a
//!   `ranking` frame on `rankings` and `rankings:{division}`, in the
//!   caller's transaction. Fighters shifted by someone else's move are
//!   `passed`; only fighters who fought (and whose rank changed) are for
//!   their followers to hear ([`Applied::to_notify`]).
//! - Creating a fighter, correcting his record or moving his division
//!   places him by rating at once (`entered`); an import sets whole
//!   divisions (`imported`).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection, QueryResult};
pub use ringside_actors::ranking::Outcome;
use ringside_actors::ranking::{self, Rating, Standing};
use ringside_actors::vocabulary::RankingCause;
use ringside_actors::Channel;
use serde_json::{json, Value};

use super::publishing;
use crate::db::catalog::{self, FighterInput};
use crate::db::channels::{self, Published};
use crate::db::models::{Fight, Fighter};
use crate::db::rankings::{self as db, NewHistory, RecordColumn};
use crate::db::snapshots;
use crate::error::{named, ApiError};
use crate::state::AppState;
use crate::validate;

/// One fighter's move in one division, as stored and published.
#[derive(Debug, Clone, PartialEq)]
pub struct Move {
    pub fighter: i64,
    pub division: i64,
    pub fight: Option<i64>,
    pub cause: RankingCause,
    /// `None`: the champion, or not ranked yet.
    pub rank_before: Option<i32>,
    /// `None`: the champion.
    pub rank_after: Option<i32>,
    /// `None`: no rating in this division before.
    pub rating_before: Option<f64>,
    pub rating_after: f64,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// A title changing hands (`champion: None`: vacant again, after a reversal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TitleChange {
    pub division: i64,
    pub champion: Option<i64>,
    pub previous: Option<i64>,
}

/// What a change to the rankings did: its frames (deliver them after the
/// commit), its moves, and the title change if there was one.
#[derive(Debug, Default)]
pub struct Applied {
    pub published: Vec<Published>,
    pub moves: Vec<Move>,
    pub title: Option<TitleChange>,
}

impl Applied {
    /// The moves whose fighters' followers are told: fought, and own rank changed.
    pub fn to_notify(&self) -> Vec<&Move> {
        self.fought()
            .into_iter()
            .filter(|m| m.rank_before != m.rank_after)
            .collect()
    }

    /// The moves of the fighters who fought (not of those they shifted).
    pub fn fought(&self) -> Vec<&Move> {
        self.moves
            .iter()
            .filter(|m| matches!(m.cause, RankingCause::Fight | RankingCause::Amended))
            .collect()
    }
}

/// Why an actor (a fighter whose rating this change set) moved, and how
/// the fighters he shifted read it ("Bob beat Al").
struct Actor {
    fighter: i64,
    cause: RankingCause,
    reason: String,
    summary: String,
    fight: Option<i64>,
    /// He won the title: who held it before, and since when.
    title_from: Option<(Option<i64>, Option<DateTime<Utc>>)>,
}

/// A move about to be written: (fighter, cause, reason, fight, the actor
/// if his rating was set).
type Pending<'a> = (i64, RankingCause, String, Option<i64>, Option<&'a Actor>);

/// Reasons are stored with a bound (500 characters).
fn bounded(text: String) -> String {
    if text.chars().count() <= 500 {
        return text;
    }
    let mut cut: String = text.chars().take(499).collect();
    cut.push('…');
    cut
}

fn record_words(f: &Fighter) -> String {
    format!("{}-{}-{}", f.wins, f.losses, f.draws)
}

/// The ratings of every entry of a division, by fighter.
fn ratings(conn: &mut PgConnection, division: i64) -> QueryResult<HashMap<i64, Rating>> {
    Ok(db::entries(conn, division)?
        .into_iter()
        .map(|e| (e.fighter_id, e.rating()))
        .collect())
}

fn names(conn: &mut PgConnection, ids: &[i64]) -> QueryResult<HashMap<i64, String>> {
    Ok(catalog::fighter_names(conn, ids)?.into_iter().collect())
}

/// Places every entry of `division` by rating (`champion` unranked), and
/// writes what moved: a history row and a `ranking` frame for each actor
/// (his rating was set) and for each fighter whose rank changed (`passed`,
/// the reason naming the actor who passed him or let him up, else
/// `fallback`). `before`: the ratings before the change.
fn settle(
    conn: &mut PgConnection,
    out: &mut Applied,
    division: i64,
    before: &HashMap<i64, Rating>,
    champion: Option<i64>,
    actors: Vec<Actor>,
    fallback: &str,
) -> QueryResult<()> {
    let entries = db::entries(conn, division)?;
    let standings: Vec<Standing> = entries
        .iter()
        .map(|e| Standing {
            fighter: e.fighter_id,
            rating: e.rating,
            deviation: e.rating_deviation,
            rank: e.rank,
        })
        .collect();
    let placed: HashMap<i64, Option<i32>> =
        ranking::ranks(&standings, champion).into_iter().collect();
    let by_fighter: HashMap<i64, &db::Entry> = entries.iter().map(|e| (e.fighter_id, e)).collect();
    let ids: Vec<i64> = entries.iter().map(|e| e.fighter_id).collect();
    let names = names(conn, &ids)?;
    // Ranks change first, all of them (uniqueness is checked at commit).
    for e in &entries {
        let after = placed.get(&e.fighter_id).copied().flatten();
        if after != e.rank {
            db::set_rank(conn, division, e.fighter_id, after, e.rank)?;
        }
    }
    let rank_of = |f: i64| by_fighter.get(&f).and_then(|e| e.rank);
    let after_of = |f: i64| placed.get(&f).copied().flatten();
    let above = |a: Option<i32>, b: Option<i32>| matches!((a, b), (Some(a), Some(b)) if a < b);
    let now = Utc::now();
    // (fighter, cause, reason, fight, the actor if his rating was set)
    let mut moves: Vec<Pending> = Vec::new();
    let actor_ids: HashSet<i64> = actors.iter().map(|a| a.fighter).collect();
    for a in &actors {
        if by_fighter.contains_key(&a.fighter) {
            moves.push((a.fighter, a.cause, a.reason.clone(), a.fight, Some(a)));
        }
    }
    let mut shifted: Vec<&db::Entry> = entries
        .iter()
        .filter(|e| !actor_ids.contains(&e.fighter_id))
        .filter(|e| after_of(e.fighter_id) != e.rank)
        .collect();
    shifted.sort_by_key(|e| after_of(e.fighter_id).unwrap_or(0));
    for e in shifted {
        let (f, was, now_at) = (e.fighter_id, e.rank, after_of(e.fighter_id));
        let down = match (was, now_at) {
            (Some(a), Some(b)) => b > a,
            (None, Some(_)) => true,
            _ => false,
        };
        let cause_of = actors.iter().find(|a| {
            let (before_above, after_above) = (
                above(rank_of(a.fighter), was),
                above(after_of(a.fighter), now_at),
            );
            if down {
                !before_above && after_above
            } else {
                before_above && !after_above
            }
        });
        let reason = match cause_of {
            Some(a) if down => format!(
                "passed by {} after {}",
                names
                    .get(&a.fighter)
                    .map(String::as_str)
                    .unwrap_or("a fighter"),
                a.summary
            ),
            Some(a) => format!("moved up as {}", a.summary),
            None => fallback.to_string(),
        };
        moves.push((
            f,
            RankingCause::Passed,
            reason,
            cause_of.and_then(|a| a.fight),
            None,
        ));
    }
    let mut division_frames = Vec::new();
    for (fighter, cause, reason, fight, actor) in moves {
        let rated = actor.is_some();
        let Some(e) = by_fighter.get(&fighter) else {
            continue;
        };
        let old = before.get(&fighter).copied().filter(|_| rated);
        let now_rating = e.rating();
        let reason = bounded(reason);
        let title_from = actor.and_then(|a| a.title_from);
        db::insert_history(
            conn,
            &NewHistory {
                fighter_id: fighter,
                division_id: division,
                fight_id: fight,
                cause: cause.to_string(),
                rank_before: e.rank,
                rank_after: after_of(fighter),
                rating_before: if rated {
                    old.map(|r| r.rating)
                } else {
                    Some(now_rating.rating)
                },
                rating_after: now_rating.rating,
                deviation_before: if rated {
                    old.map(|r| r.deviation)
                } else {
                    Some(now_rating.deviation)
                },
                deviation_after: now_rating.deviation,
                volatility_before: if rated {
                    old.map(|r| r.volatility)
                } else {
                    Some(now_rating.volatility)
                },
                volatility_after: now_rating.volatility,
                reason: reason.clone(),
                title_won: title_from.is_some(),
                champion_before: title_from.and_then(|t| t.0),
                champion_since_before: title_from.and_then(|t| t.1),
                at: now,
            },
        )?;
        let m = Move {
            fighter,
            division,
            fight,
            cause,
            rank_before: e.rank,
            rank_after: after_of(fighter),
            rating_before: if rated {
                old.map(|r| r.rating)
            } else {
                Some(now_rating.rating)
            },
            rating_after: now_rating.rating,
            reason,
            at: now,
        };
        let data = frame(&m, names.get(&fighter).map(String::as_str));
        out.published.push(channels::append(
            conn,
            &Channel::Rankings,
            "ranking",
            &data,
        )?);
        division_frames.push(channels::append(
            conn,
            &Channel::Division(division),
            "ranking",
            &data,
        )?);
        out.moves.push(m);
    }
    if let Some(last) = division_frames.last_mut() {
        last.snapshot = Some(snapshots::division(conn, division)?);
    }
    out.published.extend(division_frames);
    Ok(())
}

/// A `ranking` frame's data: the history row's fields, with whose and where.
fn frame(m: &Move, name: Option<&str>) -> Value {
    json!({
        "fighter": m.fighter,
        "fighter_name": name,
        "division": m.division,
        "at": m.at,
        "fight": m.fight,
        "cause": m.cause,
        "rank_before": m.rank_before,
        "rank_after": m.rank_after,
        "rating_before": m.rating_before,
        "rating_after": m.rating_after,
        "reason": m.reason,
    })
}

/// Enters `fighter` in `division` from his record and places him.
fn enter(
    conn: &mut PgConnection,
    out: &mut Applied,
    division: i64,
    fighter: &Fighter,
    reason: String,
) -> QueryResult<()> {
    let (champion, _) = db::lock_division(conn, division)?;
    let before = ratings(conn, division)?;
    db::insert_entry(
        conn,
        division,
        fighter.id,
        &ranking::from_record(fighter.wins, fighter.losses, fighter.draws),
    )?;
    settle(
        conn,
        out,
        division,
        &before,
        champion,
        vec![Actor {
            fighter: fighter.id,
            cause: RankingCause::Entered,
            reason,
            summary: format!("{} entered the rankings", fighter.name),
            fight: None,
            title_from: None,
        }],
        "moved as a fighter entered the rankings",
    )
}

/// Takes `fighter` out of `division` (vacating the title if he held it);
/// those below him move up.
fn leave(
    conn: &mut PgConnection,
    out: &mut Applied,
    division: i64,
    fighter: &Fighter,
) -> QueryResult<()> {
    let (mut champion, _) = db::lock_division(conn, division)?;
    if champion == Some(fighter.id) {
        db::set_champion(conn, division, None, None)?;
        champion = None;
        out.title = Some(TitleChange {
            division,
            champion: None,
            previous: Some(fighter.id),
        });
    }
    let before = ratings(conn, division)?;
    if db::delete_entry(conn, division, fighter.id)? == 0 {
        return Ok(());
    }
    settle(
        conn,
        out,
        division,
        &before,
        champion,
        Vec::new(),
        &format!("moved up as {} left the division", fighter.name),
    )
}

/// A new fighter enters his division's ranking by his record's rating.
pub fn fighter_created(conn: &mut PgConnection, fighter: &Fighter) -> QueryResult<Applied> {
    let mut out = Applied::default();
    let division = catalog::find_division(conn, fighter.division_id)?.name;
    enter(
        conn,
        &mut out,
        fighter.division_id,
        fighter,
        format!(
            "entered the {division} rankings from his record {}",
            record_words(fighter)
        ),
    )?;
    Ok(out)
}

/// A fighter changed: moving division places him in the new one (from
/// his record, unless he already has an entry there) and takes him out of
/// the old one; a corrected record re-places him while results or an
/// import have not rated him yet.
pub fn fighter_changed(
    conn: &mut PgConnection,
    before: &Fighter,
    after: &Fighter,
) -> QueryResult<Applied> {
    let mut out = Applied::default();
    let home = after.division_id;
    let name = catalog::find_division(conn, home)?.name;
    if before.division_id != home {
        leave(conn, &mut out, before.division_id, before)?;
    }
    if db::entry(conn, home, after.id)?.is_none() {
        let reason = if before.division_id != home {
            let old = catalog::find_division(conn, before.division_id)?.name;
            format!(
                "moved from {old} to {name}; entered from his record {}",
                record_words(after)
            )
        } else {
            format!(
                "entered the {name} rankings from his record {}",
                record_words(after)
            )
        };
        enter(conn, &mut out, home, after, reason)?;
        return Ok(out);
    }
    let record_changed =
        (before.wins, before.losses, before.draws) != (after.wins, after.losses, after.draws);
    if record_changed && !db::rated_by_results(conn, after.id, home)? {
        let (champion, _) = db::lock_division(conn, home)?;
        let ratings_before = ratings(conn, home)?;
        db::set_rating(
            conn,
            home,
            after.id,
            &ranking::from_record(after.wins, after.losses, after.draws),
        )?;
        settle(
            conn,
            &mut out,
            home,
            &ratings_before,
            champion,
            vec![Actor {
                fighter: after.id,
                cause: RankingCause::Entered,
                reason: format!(
                    "placed in the {name} rankings from his corrected record {}",
                    record_words(after)
                ),
                summary: format!("{}'s record was corrected", after.name),
                fight: None,
                title_from: None,
            }],
            "moved as a record was corrected",
        )?;
    }
    Ok(out)
}

/// A fighter is about to be deleted: he leaves every ranking he is in.
pub fn fighter_removed(conn: &mut PgConnection, fighter: &Fighter) -> QueryResult<Applied> {
    let mut out = Applied::default();
    for division in db::divisions_of(conn, fighter.id)? {
        leave(conn, &mut out, division, fighter)?;
    }
    Ok(out)
}

/// `POST /api/fighters/`: the fighter, placed in his division's ranking.
pub async fn create_fighter(state: &AppState, input: FighterInput) -> Result<Fighter, ApiError> {
    publishing(state, move |conn| {
        let fighter = catalog::insert_fighter(conn, &input)?;
        let applied = fighter_created(conn, &fighter)?;
        Ok((fighter, applied.published))
    })
    .await
}

/// `PATCH /api/fighters/{id}/`: the change, and where it places him.
pub async fn update_fighter(
    state: &AppState,
    id: i64,
    input: FighterInput,
) -> Result<Fighter, ApiError> {
    publishing(state, move |conn| {
        let before = catalog::find_fighter(conn, id).map_err(|e| named("fighter")(e.into()))?;
        let after = catalog::update_fighter(conn, id, &input)?;
        let applied = fighter_changed(conn, &before, &after)?;
        Ok((after, applied.published))
    })
    .await
}

/// `DELETE /api/fighters/{id}/`: those below him move up (a fighter on a
/// card is kept: the delete is refused and nothing moves).
pub async fn delete_fighter(state: &AppState, id: i64) -> Result<usize, ApiError> {
    publishing(state, move |conn| {
        let fighter = catalog::find_fighter(conn, id).map_err(|e| named("fighter")(e.into()))?;
        let applied = fighter_removed(conn, &fighter)?;
        let n = catalog::delete_fighter(conn, id)?;
        Ok((n, applied.published))
    })
    .await
}

/// One more (or, `by` = -1, one less) result on both fighters' records.
fn record(
    conn: &mut PgConnection,
    red: i64,
    blue: i64,
    outcome: Outcome,
    by: i32,
) -> QueryResult<()> {
    use RecordColumn::*;
    let (r, b) = match outcome {
        Outcome::NoContest => (NoContests, NoContests),
        Outcome::Draw => (Draws, Draws),
        Outcome::RedWins => (Wins, Losses),
        Outcome::BlueWins => (Losses, Wins),
    };
    db::bump_record(conn, red, r, by)?;
    db::bump_record(conn, blue, b, by)
}

/// What a result says of one fighter: (his own reason, how others read it).
fn fight_words(
    me: &str,
    other: &str,
    won: Option<bool>,
    title: Title,
    champion_name: &str,
) -> (String, String) {
    match (won, title) {
        (Some(true), Title::WonFrom) => (
            format!("after beating {other}; won the title from {other}"),
            format!("{me} beat {other} and won the title from him"),
        ),
        (Some(false), Title::WonFrom) => (
            format!("after losing to {other}; lost the title to {other}"),
            format!("{me} lost the title to {other}"),
        ),
        (Some(true), Title::Vacant) => (
            format!("after beating {other}; won the vacant title"),
            format!("{me} beat {other} and won the vacant title"),
        ),
        (Some(false), Title::Vacant) => (
            format!("after losing to {other} for the vacant title"),
            format!("{me} lost to {other} for the vacant title"),
        ),
        (Some(true), Title::Defended) => (
            format!("after beating {other}; defended the title"),
            format!("{me} beat {other} and defended the title"),
        ),
        (Some(false), Title::Defended) => (
            format!("after losing to {other} in a title fight"),
            format!("{me} lost to {other} in a title fight"),
        ),
        (Some(false), Title::KeptOutsideTitleFight) => (
            format!("after losing to {other} in a non-title fight (he keeps the title)"),
            format!("{me} lost to {other} in a non-title fight"),
        ),
        (Some(true), _) => (
            format!("after beating {other}"),
            format!("{me} beat {other}"),
        ),
        (Some(false), _) => (
            format!("after losing to {other}"),
            format!("{me} lost to {other}"),
        ),
        (None, Title::Stays) => (
            format!("after a draw with {other} (the title stays with {champion_name})"),
            format!("{me} drew with {other}"),
        ),
        (None, _) => (
            format!("after a draw with {other}"),
            format!("{me} drew with {other}"),
        ),
    }
}

/// What a result did to the title, as the reasons tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Title {
    None,
    WonFrom,
    Vacant,
    Defended,
    KeptOutsideTitleFight,
    Stays,
}

/// An official result: records, ratings, ranks, champion, history rows,
/// `ranking` frames. In the caller's transaction.
pub fn apply_result(
    conn: &mut PgConnection,
    fight: &Fight,
    outcome: Outcome,
) -> QueryResult<Applied> {
    let mut out = Applied::default();
    let division = fight.division_id;
    let (red, blue) = (fight.red_fighter_id, fight.blue_fighter_id);
    let (champion, since) = db::lock_division(conn, division)?;
    let division_name = catalog::find_division(conn, division)?.name;
    // A fighter without an entry in the fight's division enters it from
    // his record (before this result) first.
    for id in [red, blue] {
        if db::entry(conn, division, id)?.is_none() {
            let f = catalog::find_fighter(conn, id)?;
            let reason = format!(
                "entered the {division_name} rankings from his record {} to fight at {division_name}",
                record_words(&f)
            );
            enter(conn, &mut out, division, &f, reason)?;
        }
    }
    record(conn, red, blue, outcome, 1)?;
    if outcome == Outcome::NoContest {
        return Ok(out);
    }
    let before = ratings(conn, division)?;
    let (Some(r0), Some(b0)) = (before.get(&red).copied(), before.get(&blue).copied()) else {
        return Ok(out);
    };
    let (r1, b1) = ranking::rate(r0, b0, outcome);
    db::set_rating(conn, division, red, &r1)?;
    db::set_rating(conn, division, blue, &b1)?;
    let change = ranking::title_after(champion, fight.is_title_fight, red, blue, outcome);
    let champion_after = change.map(|(c, _)| c).or(champion);
    if let Some((winner, previous)) = change {
        db::set_champion(conn, division, Some(winner), Some(Utc::now()))?;
        out.title = Some(TitleChange {
            division,
            champion: Some(winner),
            previous,
        });
    }
    let names = names(conn, &[red, blue])?;
    let name = |id: i64| names.get(&id).cloned().unwrap_or_default();
    let champion_name = match champion {
        Some(c) => names
            .get(&c)
            .cloned()
            .unwrap_or_else(|| "the champion".into()),
        None => String::new(),
    };
    let champion_fought = champion.is_some_and(|c| c == red || c == blue);
    let title = match (change, outcome.winner_of(red, blue)) {
        (Some((_, Some(_))), _) => Title::WonFrom,
        (Some((_, None)), _) => Title::Vacant,
        (None, Some(_)) if fight.is_title_fight && champion_fought => Title::Defended,
        (None, Some((_, loser))) if champion == Some(loser) => Title::KeptOutsideTitleFight,
        (None, None) if fight.is_title_fight && champion_fought => Title::Stays,
        _ => Title::None,
    };
    let mut actors = Vec::new();
    for (me, other) in [(red, blue), (blue, red)] {
        let won = outcome.winner_of(red, blue).map(|(w, _)| w == me);
        // The "kept the title" words are the champion's own.
        let title = match title {
            Title::KeptOutsideTitleFight if champion != Some(me) => Title::None,
            t => t,
        };
        let (reason, summary) = fight_words(&name(me), &name(other), won, title, &champion_name);
        actors.push(Actor {
            fighter: me,
            cause: RankingCause::Fight,
            reason,
            summary,
            fight: Some(fight.id),
            title_from: change
                .filter(|(winner, _)| *winner == me)
                .map(|_| (champion, since)),
        });
    }
    settle(
        conn,
        &mut out,
        division,
        &before,
        champion_after,
        actors,
        &format!("moved after {} vs {}", name(red), name(blue)),
    )?;
    Ok(out)
}

/// Undoes what [`apply_result`] did for this fight: records, ratings
/// (exactly the stored before-values when this was each fighter's latest
/// rated fight, else shifted back by the fight's delta), ranks, champion;
/// history rows with cause `amended` and the given reason; frames too.
pub fn reverse_result(
    conn: &mut PgConnection,
    fight: &Fight,
    outcome: Outcome,
    reason: &str,
) -> QueryResult<Applied> {
    let mut out = Applied::default();
    let division = fight.division_id;
    let (red, blue) = (fight.red_fighter_id, fight.blue_fighter_id);
    let (champion, _) = db::lock_division(conn, division)?;
    record(conn, red, blue, outcome, -1)?;
    if outcome == Outcome::NoContest {
        return Ok(out);
    }
    let before = ratings(conn, division)?;
    let names = names(conn, &[red, blue])?;
    let name = |id: i64| names.get(&id).cloned().unwrap_or_default();
    let mut champion_after = champion;
    let mut actors = Vec::new();
    for (me, other) in [(red, blue), (blue, red)] {
        let Some(row) = db::fight_row(conn, fight.id, me, RankingCause::Fight)? else {
            continue;
        };
        let Some(current) = before.get(&me).copied() else {
            continue;
        };
        let latest = db::latest_rating_row(conn, me, division)? == Some(row.id);
        if let Some(was) = row.before() {
            let restored = ranking::reversed(current, was, row.after(), latest);
            db::set_rating(conn, division, me, &restored)?;
        }
        if row.title_won && champion == Some(me) {
            db::set_champion(
                conn,
                division,
                row.champion_before,
                row.champion_since_before,
            )?;
            champion_after = row.champion_before;
            out.title = Some(TitleChange {
                division,
                champion: row.champion_before,
                previous: Some(me),
            });
        }
        actors.push(Actor {
            fighter: me,
            cause: RankingCause::Amended,
            reason: format!(
                "after his result against {} was amended: {reason}",
                name(other)
            ),
            summary: format!("{}'s result against {} was amended", name(me), name(other)),
            fight: Some(fight.id),
            title_from: None,
        });
    }
    settle(
        conn,
        &mut out,
        division,
        &before,
        champion_after,
        actors,
        &format!("moved as {} vs {} was amended", name(red), name(blue)),
    )?;
    Ok(out)
}

/// `GET /api/rankings/p4p/`: the 15 best fighters across divisions by
/// rating, each once at his best division entry, champions included.
pub fn pound_for_pound(conn: &mut PgConnection) -> QueryResult<Value> {
    let entries: Vec<ranking::Entry> = db::all_entries(conn)?
        .into_iter()
        .map(|e| ranking::Entry {
            fighter: e.fighter_id,
            division: e.division_id,
            rating: e.rating,
            deviation: e.rating_deviation,
        })
        .collect();
    let list = ranking::pound_for_pound(&entries, 15);
    let ids: Vec<i64> = list.iter().map(|(f, _, _)| *f).collect();
    let names = names(conn, &ids)?;
    let rating = |f: i64, d: i64| {
        entries
            .iter()
            .find(|e| e.fighter == f && e.division == d)
            .map(|e| e.rating)
    };
    let results: Vec<Value> = list
        .iter()
        .map(|&(fighter, rank, division)| {
            json!({
                "fighter": fighter,
                "fighter_name": names.get(&fighter),
                "rank": rank,
                "division": division,
                "rating": rating(fighter, division),
            })
        })
        .collect();
    Ok(json!({ "results": results }))
}

// ---- import ----------------------------------------------------------------

/// One line of an imported ranking. `rank: None` is the champion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    pub line: usize,
    pub division: String,
    pub rank: Option<i32>,
    pub fighter: String,
    pub nickname: Option<String>,
    pub wins: i32,
    pub losses: i32,
    pub draws: i32,
}

fn line_error(line: usize, problem: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest {
        message: format!("line {line}: {problem}"),
        details: Some(json!({ "line": line })),
    }
}

/// One CSV line's fields: commas separate, a field in double quotes may
/// hold commas and `""` for a quote.
fn split_csv(text: &str) -> Result<Vec<String>, &'static str> {
    let mut fields = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut field = String::new();
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err("a quoted field is not closed"),
                }
            }
            while chars.peek() == Some(&' ') {
                chars.next();
            }
            match chars.peek() {
                None | Some(',') => {}
                Some(_) => return Err("text after a quoted field"),
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if c == '"' {
                    return Err("a quote inside an unquoted field");
                }
                field.push(c);
                chars.next();
            }
            field = field.trim().to_string();
        }
        fields.push(field);
        match chars.next() {
            Some(',') => continue,
            _ => return Ok(fields),
        }
    }
}

const COLUMNS: [&str; 7] = [
    "division", "rank", "fighter", "nickname", "wins", "losses", "draws",
];

/// Reads an imported ranking: a header naming the columns (`division`,
/// `rank`, `fighter` required; `nickname`, `wins`, `losses`, `draws`
/// optional), then a line per fighter; `rank` is `C` (or `0`) for the
/// champion, else 1…N without gaps per division. Every bad line is an
/// error naming it.
pub fn parse_csv(text: &str) -> Result<Vec<ImportRow>, ApiError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((header_line, header)) = lines.next() else {
        return Err(ApiError::bad_request(
            "the file is empty: it needs a header line",
        ));
    };
    let header: Vec<String> = split_csv(header.trim_start_matches('\u{feff}'))
        .map_err(|e| line_error(header_line, e))?
        .into_iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let mut at = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        if !COLUMNS.contains(&h.as_str()) {
            return Err(line_error(
                header_line,
                format!("unknown column \"{h}\" (columns: {})", COLUMNS.join(", ")),
            ));
        }
        if at.insert(h.clone(), i).is_some() {
            return Err(line_error(header_line, format!("column \"{h}\" twice")));
        }
    }
    for required in ["division", "rank", "fighter"] {
        if !at.contains_key(required) {
            return Err(line_error(
                header_line,
                format!("the header lacks the \"{required}\" column"),
            ));
        }
    }
    let mut rows = Vec::new();
    for (n, text) in lines {
        let fields = split_csv(text).map_err(|e| line_error(n, e))?;
        if fields.len() != header.len() {
            return Err(line_error(
                n,
                format!("{} fields, the header has {}", fields.len(), header.len()),
            ));
        }
        let get = |c: &str| at.get(c).map(|&i| fields[i].as_str()).unwrap_or("");
        let check = |field: &str, value: &str| {
            validate::line(field, value, 1, 100).map_err(|e| line_error(n, e))
        };
        let division = check("division", get("division"))?;
        let fighter = check("fighter", get("fighter"))?;
        let nickname = match get("nickname") {
            "" => None,
            nick => Some(check("nickname", nick)?),
        };
        let rank = match get("rank") {
            "C" | "c" | "0" => None,
            r => match r.parse::<i32>() {
                Ok(r) if (1..=1000).contains(&r) => Some(r),
                _ => {
                    return Err(line_error(
                        n,
                        format!("rank \"{r}\": C (or 0) for the champion, else 1 to 1000"),
                    ))
                }
            },
        };
        let count = |c: &str| -> Result<i32, ApiError> {
            match get(c) {
                "" => Ok(0),
                v => v
                    .parse::<i32>()
                    .ok()
                    .filter(|v| (0..=1000).contains(v))
                    .ok_or_else(|| line_error(n, format!("{c} \"{v}\": a number from 0 to 1000"))),
            }
        };
        rows.push(ImportRow {
            line: n,
            division,
            rank,
            fighter,
            nickname,
            wins: count("wins")?,
            losses: count("losses")?,
            draws: count("draws")?,
        });
    }
    if rows.is_empty() {
        return Err(ApiError::bad_request("the file lists no fighters"));
    }
    check_lists(&rows)?;
    Ok(rows)
}

/// Per division: one champion at most, each fighter once, ranks 1…N.
fn check_lists(rows: &[ImportRow]) -> Result<(), ApiError> {
    let mut by_division: BTreeMap<&str, Vec<&ImportRow>> = BTreeMap::new();
    for r in rows {
        by_division.entry(&r.division).or_default().push(r);
    }
    for (division, list) in by_division {
        let mut fighters = HashSet::new();
        let mut champion = false;
        for r in &list {
            if !fighters.insert(r.fighter.as_str()) {
                return Err(line_error(
                    r.line,
                    format!("{} is listed twice in {division}", r.fighter),
                ));
            }
            if r.rank.is_none() {
                if champion {
                    return Err(line_error(
                        r.line,
                        format!("a second champion in {division}"),
                    ));
                }
                champion = true;
            }
        }
        let mut ranked: Vec<&&ImportRow> = list.iter().filter(|r| r.rank.is_some()).collect();
        ranked.sort_by_key(|r| (r.rank, r.line));
        for (i, r) in ranked.iter().enumerate() {
            let expected = i as i32 + 1;
            if r.rank != Some(expected) {
                let problem = if r.rank == Some(expected - 1) {
                    format!("rank {} twice in {division}", expected - 1)
                } else {
                    format!(
                        "rank {} in {division} leaves a gap: rank {expected} is missing",
                        r.rank.unwrap_or_default()
                    )
                };
                return Err(line_error(r.line, problem));
            }
        }
    }
    Ok(())
}

/// `ringside rankings import FILE.csv`: [`parse_csv`], then [`import_rows`].
pub fn import_csv(conn: &mut PgConnection, text: &str) -> Result<Applied, ApiError> {
    let rows = parse_csv(text)?;
    import_rows(conn, &rows)
}

/// Sets each listed division's ranking, in one transaction: its champion
/// (none listed: vacant), ratings that keep the listed order
/// (`ranking::imported`), and every unlisted fighter of the division below
/// the listed ones (`ranking::below`). A fighter not found by name in the
/// division is created with the given record. Anything wrong changes nothing.
pub fn import_rows(conn: &mut PgConnection, rows: &[ImportRow]) -> Result<Applied, ApiError> {
    check_lists(rows)?;
    conn.transaction(|conn| {
        let mut out = Applied::default();
        let mut order: Vec<&str> = Vec::new();
        for r in rows {
            if !order.contains(&r.division.as_str()) {
                order.push(&r.division);
            }
        }
        let mut divisions = Vec::new();
        for name in &order {
            let first = rows
                .iter()
                .find(|r| r.division == *name)
                .map(|r| r.line)
                .unwrap_or(0);
            match db::division_named(conn, name)? {
                Some(id) => divisions.push((id, *name)),
                None => {
                    return Err(line_error(
                        first,
                        format!("division \"{name}\" does not exist"),
                    ))
                }
            }
        }
        for (division, name) in divisions {
            let mut list: Vec<&ImportRow> = rows.iter().filter(|r| r.division == name).collect();
            list.sort_by_key(|r| r.rank.unwrap_or(0));
            import_division(conn, &mut out, division, name, &list)?;
        }
        Ok(out)
    })
}

fn import_division(
    conn: &mut PgConnection,
    out: &mut Applied,
    division: i64,
    name: &str,
    list: &[&ImportRow],
) -> Result<(), ApiError> {
    let (champion_was, since) = db::lock_division(conn, division)?;
    let before = ratings(conn, division)?;
    let mut listed = Vec::new();
    for r in list {
        let fighter = match db::fighter_named(conn, division, &r.fighter)? {
            Some(f) => f,
            None => catalog::insert_fighter(
                conn,
                &FighterInput {
                    name: Some(r.fighter.clone()),
                    nickname: Some(r.nickname.clone()),
                    division_id: Some(division),
                    wins: Some(r.wins),
                    losses: Some(r.losses),
                    draws: Some(r.draws),
                    no_contests: Some(0),
                    country: None,
                },
            )?,
        };
        let from_record = ranking::from_record(fighter.wins, fighter.losses, fighter.draws);
        if db::entry(conn, division, fighter.id)?.is_none() {
            db::insert_entry(conn, division, fighter.id, &from_record)?;
        }
        listed.push((fighter, r.rank, from_record));
    }
    let records: Vec<Rating> = listed.iter().map(|(_, _, r)| *r).collect();
    let rated = ranking::imported(&records);
    let mut actors = Vec::new();
    for ((fighter, rank, _), rating) in listed.iter().zip(&rated) {
        db::set_rating(conn, division, fighter.id, rating)?;
        actors.push(Actor {
            fighter: fighter.id,
            cause: RankingCause::Imported,
            reason: match rank {
                None => format!("imported as the {name} champion"),
                Some(n) => format!("imported at #{n} in {name}"),
            },
            summary: format!("{} was imported above him", fighter.name),
            fight: None,
            title_from: None,
        });
    }
    // The unlisted, in their current order, go below the listed.
    let listed_ids: HashSet<i64> = listed.iter().map(|(f, _, _)| f.id).collect();
    let entries = db::entries(conn, division)?;
    let standings: Vec<Standing> = entries
        .iter()
        .filter(|e| !listed_ids.contains(&e.fighter_id))
        .map(|e| Standing {
            fighter: e.fighter_id,
            rating: e.rating,
            deviation: e.rating_deviation,
            rank: e.rank,
        })
        .collect();
    let unlisted: Vec<(i64, Rating)> = ranking::ranks(&standings, None)
        .into_iter()
        .filter_map(|(f, _)| entries.iter().find(|e| e.fighter_id == f))
        .map(|e| (e.fighter_id, e.rating()))
        .collect();
    let floor = rated
        .last()
        .map(|r| r.rating)
        .unwrap_or(ranking::NEWCOMER.rating);
    let current: Vec<Rating> = unlisted.iter().map(|(_, r)| *r).collect();
    for ((fighter, was), now) in unlisted.iter().zip(ranking::below(floor, &current)) {
        if now != *was {
            db::set_rating(conn, division, *fighter, &now)?;
            actors.push(Actor {
                fighter: *fighter,
                cause: RankingCause::Imported,
                reason: format!("placed below the imported {name} list"),
                summary: "the import placed him".into(),
                fight: None,
                title_from: None,
            });
        }
    }
    let champion = listed
        .iter()
        .find(|(_, rank, _)| rank.is_none())
        .map(|(f, _, _)| f.id);
    if champion != champion_was {
        db::set_champion(conn, division, champion, champion.map(|_| Utc::now()))?;
        out.title = Some(TitleChange {
            division,
            champion,
            previous: champion_was,
        });
    } else if champion.is_some() && since.is_none() {
        db::set_champion(conn, division, champion, Some(Utc::now()))?;
    }
    settle(
        conn,
        out,
        division,
        &before,
        champion,
        actors,
        &format!("moved below the imported {name} list"),
    )?;
    Ok(())
}
