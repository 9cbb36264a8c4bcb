//! The queries rankings run: division entries (rating, rank), the
//! champion, fighters' records, the history of every move, and the
//! lookups an import needs. The rules are in `features/rankings.rs`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use ringside_actors::ranking::Rating;
use ringside_actors::vocabulary::{RankingCause, Vocabulary};
use serde::Serialize;

use super::models::Fighter;
use super::pagination::PageParams;
use super::schema::{divisions, fighters, ranking_history, rankings};

/// A fighter's entry in a division.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = rankings)]
pub struct Entry {
    pub fighter_id: i64,
    pub division_id: i64,
    pub rank: Option<i32>,
    pub previous_rank: Option<i32>,
    pub rating: f64,
    pub rating_deviation: f64,
    pub volatility: f64,
}

impl Entry {
    pub fn rating(&self) -> Rating {
        Rating {
            rating: self.rating,
            deviation: self.rating_deviation,
            volatility: self.volatility,
        }
    }
}

/// Locks the division's row (so two results in it apply one after the
/// other) and returns its champion and since when.
pub fn lock_division(
    conn: &mut PgConnection,
    division: i64,
) -> QueryResult<(Option<i64>, Option<DateTime<Utc>>)> {
    divisions::table
        .find(division)
        .for_update()
        .select((divisions::champion_id, divisions::champion_since))
        .first(conn)
}

pub fn champion_of(
    conn: &mut PgConnection,
    division: i64,
) -> QueryResult<(Option<i64>, Option<DateTime<Utc>>)> {
    divisions::table
        .find(division)
        .select((divisions::champion_id, divisions::champion_since))
        .first(conn)
}

pub fn set_champion(
    conn: &mut PgConnection,
    division: i64,
    champion: Option<i64>,
    since: Option<DateTime<Utc>>,
) -> QueryResult<()> {
    diesel::update(divisions::table.find(division))
        .set((
            divisions::champion_id.eq(champion),
            divisions::champion_since.eq(since),
        ))
        .execute(conn)?;
    Ok(())
}

/// Every entry of a division, champion first, then by rank.
pub fn entries(conn: &mut PgConnection, division: i64) -> QueryResult<Vec<Entry>> {
    rankings::table
        .filter(rankings::division_id.eq(division))
        .order((rankings::rank.asc().nulls_first(), rankings::fighter_id))
        .select(Entry::as_select())
        .load(conn)
}

pub fn entry(conn: &mut PgConnection, division: i64, fighter: i64) -> QueryResult<Option<Entry>> {
    rankings::table
        .filter(rankings::division_id.eq(division))
        .filter(rankings::fighter_id.eq(fighter))
        .select(Entry::as_select())
        .first(conn)
        .optional()
}

/// The divisions a fighter has an entry in.
pub fn divisions_of(conn: &mut PgConnection, fighter: i64) -> QueryResult<Vec<i64>> {
    rankings::table
        .filter(rankings::fighter_id.eq(fighter))
        .order(rankings::division_id)
        .select(rankings::division_id)
        .load(conn)
}

/// Every entry of every division, for pound-for-pound.
pub fn all_entries(conn: &mut PgConnection) -> QueryResult<Vec<Entry>> {
    rankings::table.select(Entry::as_select()).load(conn)
}

/// A new entry, not yet placed (no rank).
pub fn insert_entry(
    conn: &mut PgConnection,
    division: i64,
    fighter: i64,
    r: &Rating,
) -> QueryResult<()> {
    diesel::insert_into(rankings::table)
        .values((
            rankings::division_id.eq(division),
            rankings::fighter_id.eq(fighter),
            rankings::rank.eq(None::<i32>),
            rankings::rating.eq(r.rating),
            rankings::rating_deviation.eq(r.deviation),
            rankings::volatility.eq(r.volatility),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete_entry(conn: &mut PgConnection, division: i64, fighter: i64) -> QueryResult<usize> {
    diesel::delete(
        rankings::table
            .filter(rankings::division_id.eq(division))
            .filter(rankings::fighter_id.eq(fighter)),
    )
    .execute(conn)
}

pub fn set_rating(
    conn: &mut PgConnection,
    division: i64,
    fighter: i64,
    r: &Rating,
) -> QueryResult<()> {
    diesel::update(
        rankings::table
            .filter(rankings::division_id.eq(division))
            .filter(rankings::fighter_id.eq(fighter)),
    )
    .set((
        rankings::rating.eq(r.rating),
        rankings::rating_deviation.eq(r.deviation),
        rankings::volatility.eq(r.volatility),
    ))
    .execute(conn)?;
    Ok(())
}

/// A new rank, and the one it replaces (rank uniqueness is deferred).
pub fn set_rank(
    conn: &mut PgConnection,
    division: i64,
    fighter: i64,
    rank: Option<i32>,
    previous: Option<i32>,
) -> QueryResult<()> {
    diesel::update(
        rankings::table
            .filter(rankings::division_id.eq(division))
            .filter(rankings::fighter_id.eq(fighter)),
    )
    .set((
        rankings::rank.eq(rank),
        rankings::previous_rank.eq(previous),
    ))
    .execute(conn)?;
    Ok(())
}

/// A column of a fighter's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordColumn {
    Wins,
    Losses,
    Draws,
    NoContests,
}

/// Adds `by` (1, or -1 to take a result back; never below 0) to a record column.
pub fn bump_record(
    conn: &mut PgConnection,
    fighter: i64,
    column: RecordColumn,
    by: i32,
) -> QueryResult<()> {
    let column = match column {
        RecordColumn::Wins => "wins",
        RecordColumn::Losses => "losses",
        RecordColumn::Draws => "draws",
        RecordColumn::NoContests => "no_contests",
    };
    diesel::sql_query(format!(
        "UPDATE fighters SET {column} = GREATEST({column} + $2, 0) WHERE id = $1"
    ))
    .bind::<diesel::sql_types::BigInt, _>(fighter)
    .bind::<diesel::sql_types::Integer, _>(by)
    .execute(conn)?;
    Ok(())
}

/// A history row to write.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = ranking_history)]
pub struct NewHistory {
    pub fighter_id: i64,
    pub division_id: i64,
    pub fight_id: Option<i64>,
    pub cause: String,
    pub rank_before: Option<i32>,
    pub rank_after: Option<i32>,
    pub rating_before: Option<f64>,
    pub rating_after: f64,
    pub deviation_before: Option<f64>,
    pub deviation_after: f64,
    pub volatility_before: Option<f64>,
    pub volatility_after: f64,
    pub reason: String,
    pub title_won: bool,
    pub champion_before: Option<i64>,
    pub champion_since_before: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

/// A stored move, as `GET /api/rankings/history/` lists it.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = ranking_history)]
#[schema(as = RankingMove, description = r#"One move of a fighter's rank or rating, and why."#)]
pub struct HistoryRow {
    pub id: i64,
    #[serde(rename = "fighter")]
    pub fighter_id: i64,
    #[serde(rename = "division")]
    /// The division whose ranking moved.
    pub division_id: i64,
    #[serde(rename = "fight")]
    /// The fight that caused it, if one did.
    #[schema(required = true)]
    pub fight_id: Option<i64>,
    #[schema(value_type = ringside_actors::vocabulary::RankingCause)]
    pub cause: String,
    /// Null: the champion (not a contender), or not yet ranked.
    #[schema(required = true)]
    pub rank_before: Option<i32>,
    /// Null: the champion.
    #[schema(required = true)]
    pub rank_after: Option<i32>,
    /// Null: he had no rating in this division before.
    #[schema(required = true)]
    pub rating_before: Option<f64>,
    pub rating_after: f64,
    #[serde(skip)]
    pub deviation_before: Option<f64>,
    #[serde(skip)]
    pub deviation_after: f64,
    #[serde(skip)]
    pub volatility_before: Option<f64>,
    #[serde(skip)]
    pub volatility_after: f64,
    /// Why, in words.
    pub reason: String,
    #[serde(skip)]
    pub title_won: bool,
    #[serde(skip)]
    pub champion_before: Option<i64>,
    #[serde(skip)]
    pub champion_since_before: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

impl HistoryRow {
    pub fn before(&self) -> Option<Rating> {
        Some(Rating {
            rating: self.rating_before?,
            deviation: self.deviation_before?,
            volatility: self.volatility_before?,
        })
    }

    pub fn after(&self) -> Rating {
        Rating {
            rating: self.rating_after,
            deviation: self.deviation_after,
            volatility: self.volatility_after,
        }
    }
}

pub fn insert_history(conn: &mut PgConnection, row: &NewHistory) -> QueryResult<HistoryRow> {
    diesel::insert_into(ranking_history::table)
        .values(row)
        .returning(HistoryRow::as_returning())
        .get_result(conn)
}

/// A fighter's moves, oldest first, a page at a time.
pub fn history_of(
    conn: &mut PgConnection,
    fighter: i64,
    page: &PageParams,
    limit: i64,
) -> QueryResult<Vec<HistoryRow>> {
    let mut q = ranking_history::table
        .filter(ranking_history::fighter_id.eq(fighter))
        .order(ranking_history::id)
        .select(HistoryRow::as_select())
        .into_boxed();
    if let Some(c) = page.cursor {
        q = q.filter(ranking_history::id.gt(c.0));
    }
    q.limit(limit + 1).load(conn)
}

/// The latest row a fight wrote for a fighter with `cause`.
pub fn fight_row(
    conn: &mut PgConnection,
    fight: i64,
    fighter: i64,
    cause: RankingCause,
) -> QueryResult<Option<HistoryRow>> {
    ranking_history::table
        .filter(ranking_history::fight_id.eq(fight))
        .filter(ranking_history::fighter_id.eq(fighter))
        .filter(ranking_history::cause.eq(cause.as_str()))
        .order(ranking_history::id.desc())
        .select(HistoryRow::as_select())
        .first(conn)
        .optional()
}

/// The id of the latest row that set a fighter's rating in a division
/// (any cause but `passed`, which moves only ranks).
pub fn latest_rating_row(
    conn: &mut PgConnection,
    fighter: i64,
    division: i64,
) -> QueryResult<Option<i64>> {
    ranking_history::table
        .filter(ranking_history::fighter_id.eq(fighter))
        .filter(ranking_history::division_id.eq(division))
        .filter(ranking_history::cause.ne(RankingCause::Passed.as_str()))
        .order(ranking_history::id.desc())
        .select(ranking_history::id)
        .first(conn)
        .optional()
}

/// Whether results or an import rated the fighter in the division (then
/// his record no longer sets his rating).
pub fn rated_by_results(conn: &mut PgConnection, fighter: i64, division: i64) -> QueryResult<bool> {
    let causes = [
        RankingCause::Fight.as_str(),
        RankingCause::Imported.as_str(),
        RankingCause::Amended.as_str(),
    ];
    diesel::select(diesel::dsl::exists(
        ranking_history::table
            .filter(ranking_history::fighter_id.eq(fighter))
            .filter(ranking_history::division_id.eq(division))
            .filter(ranking_history::cause.eq_any(causes)),
    ))
    .get_result(conn)
}

/// The division named `name`, if any.
pub fn division_named(conn: &mut PgConnection, name: &str) -> QueryResult<Option<i64>> {
    divisions::table
        .filter(divisions::name.eq(name))
        .select(divisions::id)
        .first(conn)
        .optional()
}

/// The fighter of that name in that division (the first created, if several).
pub fn fighter_named(
    conn: &mut PgConnection,
    division: i64,
    name: &str,
) -> QueryResult<Option<Fighter>> {
    fighters::table
        .filter(fighters::division_id.eq(division))
        .filter(fighters::name.eq(name))
        .order(fighters::id)
        .select(Fighter::as_select())
        .first(conn)
        .optional()
}

/// A division's table as clients read it: the champion (or null) and the
/// top `limit` contenders, with names.
pub struct Table {
    pub champion: Option<(i64, String, Option<DateTime<Utc>>, f64)>,
    pub contenders: Vec<(Entry, String, DateTime<Utc>)>,
}

pub fn table(conn: &mut PgConnection, division: i64, limit: i64) -> QueryResult<Table> {
    let (champion_id, since) = champion_of(conn, division)?;
    let champion = match champion_id {
        Some(id) => rankings::table
            .inner_join(fighters::table)
            .filter(rankings::division_id.eq(division))
            .filter(rankings::fighter_id.eq(id))
            .select((fighters::name, rankings::rating))
            .first::<(String, f64)>(conn)
            .optional()?
            .map(|(name, rating)| (id, name, since, rating)),
        None => None,
    };
    let contenders = rankings::table
        .inner_join(fighters::table)
        .filter(rankings::division_id.eq(division))
        .filter(rankings::rank.is_not_null())
        .order(rankings::rank)
        .limit(limit)
        .select((Entry::as_select(), fighters::name, rankings::updated_at))
        .load(conn)?;
    Ok(Table {
        champion,
        contenders,
    })
}
