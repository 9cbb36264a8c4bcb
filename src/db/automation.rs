//! The automation jobs' queries: the plan of one live event (what is
//! pending, what may not come back), the runners' claim of what is due
//! (`FOR UPDATE SKIP LOCKED`, then a lease, so two nodes never take the same
//! job), and a job's ending.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::models::{Fight, LiveFight};
use super::schema::{automation_jobs, fights, live_fights};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = automation_jobs)]
#[schema(as = AutomationJob)]
pub struct Job {
    pub id: i64,
    #[serde(rename = "live_event")]
    pub live_event_id: i64,
    #[schema(value_type = ringside_actors::vocabulary::JobKind)]
    pub kind: String,
    #[serde(rename = "live_fight")]
    pub live_fight_id: Option<i64>,
    #[serde(rename = "poll")]
    pub poll_id: Option<i64>,
    pub round: Option<i32>,
    pub due_at: DateTime<Utc>,
    #[schema(value_type = ringside_actors::vocabulary::JobStatus)]
    pub status: String,
    #[serde(skip)]
    pub claimed_by: Option<String>,
    #[serde(skip)]
    pub claimed_until: Option<DateTime<Utc>>,
    pub fired_at: Option<DateTime<Utc>>,
    /// What firing did, or why it did nothing.
    pub outcome: Option<String>,
    pub cancelled_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// What a job does, on what: one pending job per key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub kind: &'static str,
    pub live_fight: Option<i64>,
    pub poll: Option<i64>,
    pub round: Option<i32>,
}

impl Job {
    pub fn key_matches(&self, key: &Key) -> bool {
        self.kind == key.kind
            && self.live_fight_id == key.live_fight
            && self.poll_id == key.poll
            && self.round == key.round
    }
}

/// Every job of a live event: pending first by due time, then the latest
/// others.
pub fn of_event(conn: &mut PgConnection, event: i64, history: i64) -> QueryResult<Vec<Job>> {
    let mut jobs: Vec<Job> = automation_jobs::table
        .filter(automation_jobs::live_event_id.eq(event))
        .filter(automation_jobs::status.eq("pending"))
        .order((automation_jobs::due_at, automation_jobs::id))
        .select(Job::as_select())
        .load(conn)?;
    jobs.extend(
        automation_jobs::table
            .filter(automation_jobs::live_event_id.eq(event))
            .filter(automation_jobs::status.ne("pending"))
            .order(automation_jobs::id.desc())
            .limit(history)
            .select(Job::as_select())
            .load(conn)?,
    );
    Ok(jobs)
}

/// Every job of the event that is no longer pending, of these kinds.
pub fn ended_of_event(conn: &mut PgConnection, event: i64) -> QueryResult<Vec<Job>> {
    automation_jobs::table
        .filter(automation_jobs::live_event_id.eq(event))
        .filter(automation_jobs::status.ne("pending"))
        .select(Job::as_select())
        .load(conn)
}

/// Sets a pending job for `key` due at `due` (moving one that exists).
pub fn put_pending(
    conn: &mut PgConnection,
    event: i64,
    key: &Key,
    due: DateTime<Utc>,
    existing: Option<&Job>,
) -> QueryResult<()> {
    match existing {
        Some(job) if job.due_at == due => Ok(()),
        Some(job) => diesel::update(automation_jobs::table.find(job.id))
            .set((
                automation_jobs::due_at.eq(due),
                automation_jobs::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .map(drop),
        // Another writer planning the same job at once: theirs stands.
        None => diesel::insert_into(automation_jobs::table)
            .values((
                automation_jobs::live_event_id.eq(event),
                automation_jobs::kind.eq(key.kind),
                automation_jobs::live_fight_id.eq(key.live_fight),
                automation_jobs::poll_id.eq(key.poll),
                automation_jobs::round.eq(key.round),
                automation_jobs::due_at.eq(due),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .map(drop),
    }
}

/// Drops pending jobs, but not one a runner holds: it checks the job's
/// reason again under the same locks and ends it itself.
pub fn delete_pending(conn: &mut PgConnection, ids: &[i64]) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::delete(
        automation_jobs::table
            .filter(automation_jobs::id.eq_any(ids))
            .filter(automation_jobs::status.eq("pending"))
            .filter(
                automation_jobs::claimed_until
                    .is_null()
                    .or(automation_jobs::claimed_until.lt(diesel::dsl::now)),
            ),
    )
    .execute(conn)
}

/// Forgets cancelled and skipped jobs of these kinds, so the plan may set
/// them again: an operator switched them on again or moved the start.
pub fn rearm(conn: &mut PgConnection, event: i64, kinds: &[&str]) -> QueryResult<usize> {
    diesel::delete(
        automation_jobs::table
            .filter(automation_jobs::live_event_id.eq(event))
            .filter(automation_jobs::kind.eq_any(kinds))
            .filter(automation_jobs::status.eq_any(["cancelled", "skipped"])),
    )
    .execute(conn)
}

/// Takes the most overdue job nobody holds, for `lease`: only this node
/// runs it until then.
pub fn claim_due(
    conn: &mut PgConnection,
    node: &str,
    lease: std::time::Duration,
) -> QueryResult<Option<Job>> {
    diesel::sql_query(
        "UPDATE automation_jobs SET claimed_by = $1, \
             claimed_until = now() + make_interval(secs => $2) \
         WHERE id = (SELECT id FROM automation_jobs \
             WHERE status = 'pending' AND due_at <= now() \
               AND (claimed_until IS NULL OR claimed_until < now()) \
             ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING *",
    )
    .bind::<diesel::sql_types::Text, _>(node)
    .bind::<diesel::sql_types::Double, _>(lease.as_secs_f64())
    .get_result(conn)
    .optional()
}

/// The job, locked, if it is still pending and held by `node`: the check
/// that makes a job's work happen once (taken after the work's own locks).
pub fn lock_claimed(conn: &mut PgConnection, id: i64, node: &str) -> QueryResult<Option<Job>> {
    automation_jobs::table
        .find(id)
        .filter(automation_jobs::status.eq("pending"))
        .filter(automation_jobs::claimed_by.eq(node))
        .for_update()
        .select(Job::as_select())
        .first(conn)
        .optional()
}

/// Ends a job: `done` or `skipped`, with what happened.
pub fn finish(conn: &mut PgConnection, id: i64, status: &str, outcome: &str) -> QueryResult<Job> {
    diesel::update(automation_jobs::table.find(id))
        .set((
            automation_jobs::status.eq(status),
            automation_jobs::outcome.eq(outcome),
            automation_jobs::fired_at.eq(diesel::dsl::now),
            automation_jobs::claimed_until.eq(None::<DateTime<Utc>>),
            automation_jobs::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Job::as_returning())
        .get_result(conn)
}

/// Moves a held job to later and lets it go (its moment moved).
pub fn postpone(conn: &mut PgConnection, id: i64, due: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(automation_jobs::table.find(id))
        .set((
            automation_jobs::due_at.eq(due),
            automation_jobs::claimed_until.eq(None::<DateTime<Utc>>),
            automation_jobs::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(drop)
}

/// Lets go of a job this node holds, leaving it pending.
pub fn release(conn: &mut PgConnection, id: i64, node: &str) -> QueryResult<()> {
    diesel::update(
        automation_jobs::table
            .find(id)
            .filter(automation_jobs::claimed_by.eq(node)),
    )
    .set(automation_jobs::claimed_until.eq(None::<DateTime<Utc>>))
    .execute(conn)
    .map(drop)
}

pub fn find_for_update(conn: &mut PgConnection, id: i64) -> QueryResult<Job> {
    automation_jobs::table
        .find(id)
        .for_update()
        .select(Job::as_select())
        .first(conn)
}

pub fn cancel(conn: &mut PgConnection, id: i64, by: i64) -> QueryResult<Job> {
    diesel::update(automation_jobs::table.find(id))
        .set((
            automation_jobs::status.eq("cancelled"),
            automation_jobs::cancelled_by.eq(by),
            automation_jobs::outcome.eq("cancelled"),
            automation_jobs::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Job::as_returning())
        .get_result(conn)
}

/// The fights on a live event's card, in card order.
pub fn fights_of(conn: &mut PgConnection, event: i64) -> QueryResult<Vec<(LiveFight, Fight)>> {
    live_fights::table
        .inner_join(fights::table)
        .filter(live_fights::live_event_id.eq(event))
        .order((fights::card_order, fights::id))
        .select((LiveFight::as_select(), Fight::as_select()))
        .load(conn)
}
