//! The push outbox as the dispatchers see it: claim due deliveries under a
//! lease (`FOR UPDATE SKIP LOCKED`, so nodes share the work and never take
//! the same row), record what the providers said, give back what was not
//! sent, and roll delivery states up to their notifications.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Double, Integer, Nullable, Text, Timestamptz};
use serde_json::Value;

/// A claimed delivery with what sending it needs.
#[derive(Debug, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = BigInt)]
    pub notification_id: i64,
    #[diesel(sql_type = BigInt)]
    pub device_id: i64,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Timestamptz)]
    pub expires_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub platform: String,
    #[diesel(sql_type = Text)]
    pub token: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub is_active: bool,
    #[diesel(sql_type = Text)]
    pub notification_type: String,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Text)]
    pub message: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub action_url: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub data: Value,
}

/// Takes up to `limit` due deliveries for `claimer` until the lease runs
/// out: pending ones whose time has come, and in-flight ones whose holder
/// let its lease lapse (it died). Only for `platforms` with a provider.
pub fn claim(
    conn: &mut PgConnection,
    claimer: &str,
    limit: i64,
    lease_seconds: f64,
    platforms: &[String],
) -> QueryResult<Vec<Claimed>> {
    diesel::sql_query(
        "WITH due AS ( \
             SELECT d.id FROM notification_deliveries d JOIN devices v ON v.id = d.device_id \
             WHERE ((d.status = 'pending' AND d.next_attempt_at <= now()) \
                 OR (d.status = 'in_flight' AND d.lease_until < now())) \
               AND d.expires_at > now() AND v.platform = ANY($4) \
             ORDER BY d.next_attempt_at, d.id LIMIT $2 \
             FOR UPDATE OF d SKIP LOCKED) \
         UPDATE notification_deliveries d \
            SET status = 'in_flight', claimed_by = $1, claimed_at = now(), \
                lease_until = now() + make_interval(secs => $3), attempts = d.attempts + 1 \
           FROM due, devices v, push_notifications n \
          WHERE d.id = due.id AND v.id = d.device_id AND n.id = d.notification_id \
         RETURNING d.id, d.notification_id, d.device_id, d.attempts, d.expires_at, \
                   v.platform, v.token, v.is_active, \
                   n.notification_type, n.title, n.message, n.action_url, n.data",
    )
    .bind::<Text, _>(claimer)
    .bind::<BigInt, _>(limit)
    .bind::<Double, _>(lease_seconds)
    .bind::<Array<Text>, _>(platforms)
    .load(conn)
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
pub fn record(conn: &mut PgConnection, claimer: &str, batch: &[Recorded]) -> QueryResult<usize> {
    let n = batch.len();
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
            };
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
                next_attempt_at = COALESCE(r.next_at, d.next_attempt_at), lease_until = NULL \
           FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], \
                       $6::timestamptz[]) AS r(id, status, sent_at, provider_id, error, next_at) \
          WHERE d.id = r.id AND d.status = 'in_flight' AND d.claimed_by = $7",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .bind::<Array<Text>, _>(&statuses)
    .bind::<Array<Nullable<Timestamptz>>, _>(&sent_at)
    .bind::<Array<Nullable<Text>>, _>(&provider_ids)
    .bind::<Array<Nullable<Text>>, _>(&errors)
    .bind::<Array<Nullable<Timestamptz>>, _>(&next_at)
    .bind::<Text, _>(claimer)
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

/// Gives back what `claimer` holds and did not finish (a stop that could
/// not wait for every answer): pending again, the attempt not counted.
pub fn release(conn: &mut PgConnection, claimer: &str) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE notification_deliveries \
            SET status = 'pending', lease_until = NULL, attempts = greatest(attempts - 1, 0) \
          WHERE status = 'in_flight' AND claimed_by = $1",
    )
    .bind::<Text, _>(claimer)
    .execute(conn)
}

#[derive(QueryableByName)]
struct NotificationId {
    #[diesel(sql_type = BigInt)]
    notification_id: i64,
}

/// Pending deliveries nobody managed before they expired: `expired`.
/// Returns their notifications (to roll up).
pub fn expire(conn: &mut PgConnection) -> QueryResult<Vec<i64>> {
    let rows: Vec<NotificationId> = diesel::sql_query(
        "UPDATE notification_deliveries \
            SET status = 'expired', lease_until = NULL, \
                last_error = COALESCE(last_error, 'not delivered before it expired') \
          WHERE expires_at <= now() \
            AND (status = 'pending' OR (status = 'in_flight' AND lease_until < now())) \
         RETURNING notification_id",
    )
    .load(conn)?;
    let mut ids: Vec<i64> = rows.into_iter().map(|r| r.notification_id).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
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
