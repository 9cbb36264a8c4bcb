//! Idempotency keys (`idempotency_keys`): claiming a key for a request,
//! marking it committed inside the write's transaction, keeping the answer
//! or releasing the key. The rules are in `features::idempotency`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::idempotency_keys as k;

/// The key a request runs under, for the transactions it commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub user: i64,
    pub key: String,
    /// Which claim of the key this request holds (random).
    pub attempt: i64,
}

tokio::task_local! {
    /// The key the request being served claimed. Task-local because the
    /// writes that must mark it are deep in the feature code, which should
    /// not thread a header through every call: `live::persist` and
    /// `Db::transaction` read it when they are called and mark it in their
    /// own transaction.
    pub static CLAIMED: Claimed;
}

/// The key the current request claimed, if any.
pub fn current() -> Option<Claimed> {
    CLAIMED.try_with(Claimed::clone).ok()
}

/// What is stored for a key.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = k)]
pub struct Row {
    pub request_hash: Vec<u8>,
    pub attempt: i64,
    pub committed: bool,
    pub status: Option<i16>,
    pub content_type: Option<String>,
    pub response: Option<Vec<u8>>,
    pub locked_until: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// Inserts a fresh claim; false if the key exists.
pub fn insert(
    conn: &mut PgConnection,
    who: &Claimed,
    hash: &[u8],
    locked_until: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::insert_into(k::table)
        .values((
            k::user_id.eq(who.user),
            k::key.eq(&who.key),
            k::request_hash.eq(hash),
            k::attempt.eq(who.attempt),
            k::locked_until.eq(locked_until),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .map(|n| n == 1)
}

/// The key's row, locked for the rest of the transaction.
pub fn find_for_update(conn: &mut PgConnection, who: &Claimed) -> QueryResult<Option<Row>> {
    k::table
        .find((who.user, &who.key))
        .select(Row::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Starts the key over for a new attempt (the old one expired, or never
/// applied anything and its claimer is gone).
pub fn reclaim(
    conn: &mut PgConnection,
    who: &Claimed,
    hash: &[u8],
    locked_until: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(k::table.find((who.user, &who.key)))
        .set((
            k::request_hash.eq(hash),
            k::attempt.eq(who.attempt),
            k::committed.eq(false),
            k::status.eq(None::<i16>),
            k::content_type.eq(None::<String>),
            k::response.eq(None::<Vec<u8>>),
            k::locked_until.eq(locked_until),
            k::created_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// First in a write's transaction: what it applies, it applies under this
/// key (the row stays locked until the write ends). False if the key is no
/// longer this attempt's: the write must apply nothing.
pub fn mark_committed(conn: &mut PgConnection, who: &Claimed) -> QueryResult<bool> {
    diesel::update(
        k::table
            .find((who.user, &who.key))
            .filter(k::attempt.eq(who.attempt)),
    )
    .set(k::committed.eq(true))
    .execute(conn)
    .map(|n| n == 1)
}

/// Keeps the answer of a request that applied something; releases the key
/// of one that applied nothing (a retry runs anew). True if kept.
pub fn finish(
    conn: &mut PgConnection,
    who: &Claimed,
    status: i16,
    content_type: Option<&str>,
    body: &[u8],
) -> QueryResult<bool> {
    let mine = k::table
        .find((who.user, &who.key))
        .filter(k::attempt.eq(who.attempt));
    let kept = diesel::update(mine.filter(k::committed.eq(true)))
        .set((
            k::status.eq(status),
            k::content_type.eq(content_type),
            k::response.eq(body),
        ))
        .execute(conn)?;
    if kept == 0 {
        diesel::delete(mine.filter(k::committed.eq(false))).execute(conn)?;
    }
    Ok(kept == 1)
}

/// Forgets keys claimed before `before`; how many.
pub fn prune(conn: &mut PgConnection, before: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(k::table.filter(k::created_at.lt(before))).execute(conn)
}
