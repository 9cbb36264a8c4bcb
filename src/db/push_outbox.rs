//! The push outbox as the dispatchers see it: claim due deliveries under a
//! lease (`FOR UPDATE SKIP LOCKED`, so nodes share the work and never take
//! the same row), record what the providers said, give back what was not
//! sent, and roll delivery states up to their notifications.
//!
//! Claims and records commit without waiting for the WAL flush
//! (`synchronous_commit = off` for their transaction only): the enqueue is
//! what must be durable, and it is. If PostgreSQL itself crashed, the last
//! few milliseconds of claims and answers could be forgotten, which makes
//! those rows due again: sent once more (at least once, collapsed on the
//! device), never lost.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Double, Integer, Nullable, Text, Timestamptz};
use serde_json::Value;

/// A claimed delivery with what sending it needs.
#[derive(Debug)]
pub struct Claimed {
    pub id: i64,
    pub notification_id: i64,
    pub device_id: i64,
    pub attempts: i32,
    pub expires_at: DateTime<Utc>,
    /// The claim holds until then; a send must not start near it (another
    /// dispatcher may take the row over once it passes).
    pub lease_until: DateTime<Utc>,
    pub platform: String,
    pub token: String,
    pub is_active: bool,
    /// Shared by every delivery of the notification.
    pub content: Arc<Content>,
}

/// What a notification says, as a push carries it.
#[derive(Debug, Clone)]
pub struct Content {
    pub notification_type: String,
    pub title: String,
    pub message: String,
    pub action_url: Option<String>,
    pub data: Value,
}

/// A delivery row as queued or claimed (claimed: `lease_until` is set).
#[derive(Debug, QueryableByName)]
pub struct Queued {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    notification_id: i64,
    #[diesel(sql_type = BigInt)]
    device_id: i64,
    #[diesel(sql_type = Text)]
    platform: String,
    #[diesel(sql_type = Timestamptz)]
    expires_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    lease_until: Option<DateTime<Utc>>,
    #[diesel(sql_type = Integer)]
    attempts: i32,
}

/// Takes up to `limit` due deliveries for `claimer` until the lease runs
/// out: first in-flight ones whose holder let its lease lapse (it died),
/// then pending ones whose time has come, oldest first. Only for
/// `platforms` with a provider. Each step walks its own partial index, so a
/// claim costs the same with ten or a million rows waiting.
pub fn claim(
    conn: &mut PgConnection,
    claimer: &str,
    limit: i64,
    lease_seconds: f64,
    platforms: &[String],
) -> QueryResult<Vec<Claimed>> {
    bookkeeping(conn, |conn| {
        let take = |conn: &mut PgConnection, due: &str, order: &str, limit: i64| {
            diesel::sql_query(format!(
                "UPDATE notification_deliveries d \
                    SET status = 'in_flight', claimed_by = $1, claimed_at = now(), \
                        lease_until = now() + make_interval(secs => $3), attempts = d.attempts + 1 \
                  WHERE d.id IN (SELECT id FROM notification_deliveries \
                                  WHERE {due} AND expires_at > now() AND platform = ANY($4) \
                                  {order} LIMIT $2 FOR UPDATE SKIP LOCKED) \
                 RETURNING d.id, d.notification_id, d.device_id, d.platform, d.expires_at, \
                           d.lease_until, d.attempts"
            ))
            .bind::<Text, _>(claimer)
            .bind::<BigInt, _>(limit)
            .bind::<Double, _>(lease_seconds)
            .bind::<Array<Text>, _>(platforms)
            .load::<Queued>(conn)
        };
        let mut held = take(
            conn,
            "status = 'in_flight' AND lease_until < now()",
            "",
            limit,
        )?;
        if (held.len() as i64) < limit {
            let rest = limit - held.len() as i64;
            held.extend(take(
                conn,
                "status = 'pending' AND next_attempt_at <= now()",
                "ORDER BY next_attempt_at, id",
                rest,
            )?);
        }
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let mut notification_ids: Vec<i64> = held.iter().map(|h| h.notification_id).collect();
        notification_ids.sort_unstable();
        notification_ids.dedup();
        let contents: HashMap<i64, Arc<Content>> = {
            use super::schema::push_notifications as n;
            n::table
                .filter(n::id.eq_any(&notification_ids))
                .select((
                    n::id,
                    (
                        n::notification_type,
                        n::title,
                        n::message,
                        n::action_url,
                        n::data,
                    ),
                ))
                .load::<(i64, (String, String, String, Option<String>, Value))>(conn)?
                .into_iter()
                .map(
                    |(id, (notification_type, title, message, action_url, data))| {
                        let content = Content {
                            notification_type,
                            title,
                            message,
                            action_url,
                            data,
                        };
                        (id, Arc::new(content))
                    },
                )
                .collect()
        };
        complete(conn, held, contents)
    })
}

/// Runs `f` in a transaction whose commit does not wait for the WAL flush
/// (see above).
fn bookkeeping<T>(
    conn: &mut PgConnection,
    f: impl FnOnce(&mut PgConnection) -> QueryResult<T>,
) -> QueryResult<T> {
    conn.transaction(|conn| {
        diesel::sql_query("SET LOCAL synchronous_commit TO OFF").execute(conn)?;
        f(conn)
    })
}

/// The claimed rows among `rows` (those with a lease), with their device's
/// token and their notification's content: ready to send.
pub fn complete(
    conn: &mut PgConnection,
    rows: Vec<Queued>,
    contents: HashMap<i64, Arc<Content>>,
) -> QueryResult<Vec<Claimed>> {
    let rows: Vec<Queued> = rows
        .into_iter()
        .filter(|r| r.lease_until.is_some())
        .collect();
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let device_ids: Vec<i64> = rows.iter().map(|r| r.device_id).collect();
    let devices: HashMap<i64, (String, bool)> = {
        use super::schema::devices as v;
        v::table
            .filter(v::id.eq_any(&device_ids))
            .select((v::id, v::token, v::is_active))
            .load::<(i64, String, bool)>(conn)?
            .into_iter()
            .map(|(id, token, active)| (id, (token, active)))
            .collect()
    };
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            // A device deleted meanwhile took its deliveries with it.
            let (token, is_active) = devices.get(&r.device_id)?.clone();
            Some(Claimed {
                id: r.id,
                notification_id: r.notification_id,
                device_id: r.device_id,
                attempts: r.attempts,
                expires_at: r.expires_at,
                lease_until: r.lease_until?,
                platform: r.platform,
                token,
                is_active,
                content: contents.get(&r.notification_id)?.clone(),
            })
        })
        .collect())
}

/// How one delivery ended this attempt.
#[derive(Debug, Clone)]
pub enum Attempt {
    Sent {
        at: DateTime<Utc>,
        provider_id: Option<String>,
    },
    InvalidToken(String),
    Failed(String),
    /// Back to pending until `at` (or `expired` when that is too late).
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    /// Not sent for the provider's quota (or not tried while the provider
    /// is paused for it): pending again from `at`, the attempt not counted.
    Deferred {
        at: DateTime<Utc>,
        error: String,
    },
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub delivery: i64,
    pub device: i64,
    pub result: Attempt,
}

/// Writes a batch of results in two statements and deactivates the devices
/// whose tokens are dead. Only rows `claimer` still holds are touched: a
/// row whose lease lapsed and was taken over belongs to its new holder.
/// ("Held" is `lease_until IS NOT NULL`, the same as `in_flight` by the
/// table's check. `d.id = ANY($1)` makes the planner look the rows up by
/// id: left to the join with `unnest`, it scanned the whole table, so
/// every batch cost more as the outbox grew.)
pub fn record(conn: &mut PgConnection, claimer: &str, batch: &[Recorded]) -> QueryResult<usize> {
    bookkeeping(conn, |conn| record_in(conn, claimer, batch))
}

fn record_in(conn: &mut PgConnection, claimer: &str, batch: &[Recorded]) -> QueryResult<usize> {
    let n = batch.len();
    let mut uncounted: Vec<i32> = Vec::with_capacity(n);
    let (mut ids, mut statuses, mut sent_at, mut provider_ids, mut errors, mut next_at) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let mut dead_devices = Vec::new();
    for r in batch {
        ids.push(r.delivery);
        let (status, at, provider, error, retry): (_, _, Option<String>, Option<String>, _) =
            match &r.result {
                Attempt::Sent { at, provider_id } => {
                    ("sent", Some(*at), provider_id.clone(), None, None)
                }
                Attempt::InvalidToken(e) => {
                    dead_devices.push(r.device);
                    ("invalid_token", None, None, Some(e.clone()), None)
                }
                Attempt::Failed(e) => ("failed", None, None, Some(e.clone()), None),
                Attempt::Retry { at, error } => {
                    ("pending", None, None, Some(error.clone()), Some(*at))
                }
                Attempt::Deferred { at, error } => {
                    ("pending", None, None, Some(error.clone()), Some(*at))
                }
            };
        uncounted.push(i32::from(matches!(r.result, Attempt::Deferred { .. })));
        statuses.push(status);
        sent_at.push(at);
        provider_ids.push(provider);
        errors.push(error);
        next_at.push(retry);
    }
    let updated = diesel::sql_query(
        "UPDATE notification_deliveries d \
            SET status = CASE WHEN r.status = 'pending' AND r.next_at >= d.expires_at \
                              THEN 'expired' ELSE r.status END, \
                sent_at = r.sent_at, provider_id = r.provider_id, last_error = r.error, \
                next_attempt_at = COALESCE(r.next_at, d.next_attempt_at), lease_until = NULL, \
                attempts = greatest(d.attempts - r.uncounted, 0) \
           FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], \
                       $6::timestamptz[], $8::int[]) \
                AS r(id, status, sent_at, provider_id, error, next_at, uncounted) \
          WHERE d.id = ANY($1) AND d.id = r.id AND d.lease_until IS NOT NULL AND d.claimed_by = $7",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .bind::<Array<Text>, _>(&statuses)
    .bind::<Array<Nullable<Timestamptz>>, _>(&sent_at)
    .bind::<Array<Nullable<Text>>, _>(&provider_ids)
    .bind::<Array<Nullable<Text>>, _>(&errors)
    .bind::<Array<Nullable<Timestamptz>>, _>(&next_at)
    .bind::<Text, _>(claimer)
    .bind::<Array<Integer>, _>(&uncounted)
    .execute(conn)?;
    if !dead_devices.is_empty() {
        use super::schema::devices;
        diesel::update(
            devices::table
                .filter(devices::id.eq_any(&dead_devices))
                .filter(devices::is_active.eq(true)),
        )
        .set((
            devices::is_active.eq(false),
            devices::deactivated_reason.eq("invalid_token"),
        ))
        .execute(conn)?;
    }
    Ok(updated)
}

/// Gives back what `claimer` holds for `platform` and did not finish (a
/// stop that could not wait for every answer): pending again, the attempt
/// not counted. Per platform: each has its own dispatcher, stopping on its own.
pub fn release(conn: &mut PgConnection, claimer: &str, platform: &str) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE notification_deliveries \
            SET status = 'pending', lease_until = NULL, attempts = greatest(attempts - 1, 0) \
          WHERE status = 'in_flight' AND claimed_by = $1 AND platform = $2",
    )
    .bind::<Text, _>(claimer)
    .bind::<Text, _>(platform)
    .execute(conn)
}

#[derive(QueryableByName)]
struct NotificationId {
    #[diesel(sql_type = BigInt)]
    notification_id: i64,
}

/// `platform`'s pending deliveries nobody managed before they expired:
/// `expired`. Returns their notifications (to roll up).
pub fn expire(conn: &mut PgConnection, platform: &str) -> QueryResult<Vec<i64>> {
    let rows: Vec<NotificationId> = diesel::sql_query(
        "UPDATE notification_deliveries \
            SET status = 'expired', lease_until = NULL, \
                last_error = COALESCE(last_error, 'not delivered before it expired') \
          WHERE expires_at <= now() AND platform = $1 \
            AND (status = 'pending' OR (status = 'in_flight' AND lease_until < now())) \
         RETURNING notification_id",
    )
    .bind::<Text, _>(platform)
    .load(conn)?;
    let mut ids: Vec<i64> = rows.into_iter().map(|r| r.notification_id).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Deletes deliveries that ended (sent, failed, refused or expired) and
/// were created before `cutoff`, at most `limit` (oldest first); answers
/// how many went. The notifications themselves (the users' inboxes) stay.
pub fn prune(
    conn: &mut PgConnection,
    cutoff: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM notification_deliveries WHERE id IN ( \
             SELECT id FROM notification_deliveries \
              WHERE created_at < $1 AND status IN ('sent', 'failed', 'invalid_token', 'expired') \
              ORDER BY created_at LIMIT $2)",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(cutoff)
    .bind::<BigInt, _>(limit)
    .execute(conn)
}

/// Sets each notification's `delivery_status` from its deliveries
/// (`sending` while any is open; then `sent`, `partial` or `failed`) and
/// its `sent_at` from the first acceptance.
pub fn roll_up(conn: &mut PgConnection, notifications: &[i64]) -> QueryResult<usize> {
    if notifications.is_empty() {
        return Ok(0);
    }
    diesel::sql_query(
        "UPDATE push_notifications n \
            SET delivery_status = s.status, sent_at = COALESCE(n.sent_at, s.first_sent) \
           FROM (SELECT notification_id, \
                        CASE WHEN bool_or(status IN ('pending', 'in_flight')) THEN 'sending' \
                             WHEN bool_and(status = 'sent') THEN 'sent' \
                             WHEN bool_or(status = 'sent') THEN 'partial' \
                             ELSE 'failed' END AS status, \
                        min(sent_at) AS first_sent \
                   FROM notification_deliveries WHERE notification_id = ANY($1) \
                  GROUP BY notification_id) s \
          WHERE n.id = s.notification_id",
    )
    .bind::<Array<BigInt>, _>(notifications)
    .execute(conn)
}

#[derive(QueryableByName)]
struct OutboxCounts {
    #[diesel(sql_type = BigInt)]
    pending: i64,
    #[diesel(sql_type = BigInt)]
    in_flight: i64,
}

/// Deliveries waiting and deliveries claimed (for `/metrics`); each count
/// walks its own partial index.
pub fn counts(conn: &mut PgConnection) -> Result<(i64, i64), super::DbError> {
    let c: OutboxCounts = diesel::sql_query(
        "SELECT (SELECT count(*) FROM notification_deliveries WHERE status = 'pending') AS pending, \
                (SELECT count(*) FROM notification_deliveries WHERE status = 'in_flight') AS in_flight",
    )
    .get_result(conn)?;
    Ok((c.pending, c.in_flight))
}
