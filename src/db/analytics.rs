//! Live analytics in PostgreSQL: the per-minute buckets the nodes add to
//! (`analytics`, `analytics_viewers`), the figures read from the durable
//! tables at read time (poll votes, engaged users, push), and the monitor's
//! rows (`cluster_nodes`, the push outbox by status).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Jsonb, Nullable, Text, Timestamptz};
use serde_json::Value;

/// One counter of one minute, as a node counted it since its last flush.
/// `live_event` or, for a message on `fight:{id}`, `live_fight` says whose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub live_event: Option<i64>,
    pub live_fight: Option<i64>,
    pub minute: DateTime<Utc>,
    pub metric: &'static str,
    pub label: String,
    pub value: i64,
}

/// Adds the counts to their buckets. A fight's messages go to its live
/// event; counts for events that do not exist are dropped (a refused
/// comment may name any id). One statement whatever the count.
pub fn add_counts(conn: &mut PgConnection, counts: &[Count]) -> QueryResult<usize> {
    if counts.is_empty() {
        return Ok(0);
    }
    let events: Vec<Option<i64>> = counts.iter().map(|c| c.live_event).collect();
    let fights: Vec<Option<i64>> = counts.iter().map(|c| c.live_fight).collect();
    let minutes: Vec<DateTime<Utc>> = counts.iter().map(|c| c.minute).collect();
    let metrics: Vec<String> = counts.iter().map(|c| c.metric.to_string()).collect();
    let labels: Vec<String> = counts.iter().map(|c| c.label.clone()).collect();
    let values: Vec<i64> = counts.iter().map(|c| c.value).collect();
    // Grouped first: an event's and its fight's messages of one type share
    // a bucket, and one statement may not update a row twice.
    diesel::sql_query(
        "INSERT INTO analytics (live_event_id, minute, metric, label, value) \
         SELECT le.id, t.m, t.k, t.l, sum(t.v)::bigint \
           FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::bigint[]) \
                AS t(e, f, m, k, l, v) \
           LEFT JOIN live_fights lf ON lf.id = t.f \
           JOIN live_events le ON le.id = COALESCE(t.e, lf.live_event_id) \
          GROUP BY le.id, t.m, t.k, t.l \
         ON CONFLICT (live_event_id, minute, metric, label) \
         DO UPDATE SET value = analytics.value + EXCLUDED.value",
    )
    .bind::<Array<Nullable<BigInt>>, _>(events)
    .bind::<Array<Nullable<BigInt>>, _>(fights)
    .bind::<Array<Timestamptz>, _>(minutes)
    .bind::<Array<Text>, _>(metrics)
    .bind::<Array<Text>, _>(labels)
    .bind::<Array<BigInt>, _>(values)
    .execute(conn)
}

/// Records `node`'s viewer peaks per (live event, minute): a bucket keeps
/// the most the node saw in that minute.
pub fn add_viewers(
    conn: &mut PgConnection,
    node: &str,
    peaks: &[(i64, DateTime<Utc>, i64)],
) -> QueryResult<usize> {
    if peaks.is_empty() {
        return Ok(0);
    }
    let events: Vec<i64> = peaks.iter().map(|p| p.0).collect();
    let minutes: Vec<DateTime<Utc>> = peaks.iter().map(|p| p.1).collect();
    let values: Vec<i64> = peaks.iter().map(|p| p.2).collect();
    diesel::sql_query(
        "INSERT INTO analytics_viewers (live_event_id, minute, node, value) \
         SELECT t.e, t.m, $4, t.v \
           FROM unnest($1::bigint[], $2::timestamptz[], $3::bigint[]) AS t(e, m, v) \
           JOIN live_events le ON le.id = t.e \
         ON CONFLICT (live_event_id, minute, node) \
         DO UPDATE SET value = GREATEST(analytics_viewers.value, EXCLUDED.value)",
    )
    .bind::<Array<BigInt>, _>(events)
    .bind::<Array<Timestamptz>, _>(minutes)
    .bind::<Array<BigInt>, _>(values)
    .bind::<Text, _>(node)
    .execute(conn)
}

/// One bucket as read back.
#[derive(Debug, QueryableByName)]
pub struct Bucket {
    #[diesel(sql_type = Timestamptz)]
    pub minute: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub metric: String,
    #[diesel(sql_type = Text)]
    pub label: String,
    #[diesel(sql_type = BigInt)]
    pub value: i64,
}

/// A live event's counter buckets, by minute.
pub fn buckets(conn: &mut PgConnection, live_event: i64) -> QueryResult<Vec<Bucket>> {
    diesel::sql_query(
        "SELECT minute, metric, label, value FROM analytics \
          WHERE live_event_id = $1 ORDER BY minute, metric, label",
    )
    .bind::<BigInt, _>(live_event)
    .load(conn)
}

#[derive(Debug, QueryableByName)]
pub struct ViewerMinute {
    #[diesel(sql_type = Timestamptz)]
    pub minute: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
}

/// A live event's viewers per minute, summed over the nodes, ascending.
pub fn viewer_series(conn: &mut PgConnection, live_event: i64) -> QueryResult<Vec<ViewerMinute>> {
    diesel::sql_query(
        "SELECT minute, sum(value)::bigint AS count FROM analytics_viewers \
          WHERE live_event_id = $1 GROUP BY minute ORDER BY minute",
    )
    .bind::<BigInt, _>(live_event)
    .load(conn)
}

#[derive(Debug, QueryableByName)]
pub struct PollVotes {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub question: String,
    #[diesel(sql_type = BigInt)]
    pub votes: i64,
}

/// The live event's polls with their votes, oldest first.
pub fn poll_votes(conn: &mut PgConnection, live_event: i64) -> QueryResult<Vec<PollVotes>> {
    diesel::sql_query(
        "SELECT p.id, p.question, count(v.id) AS votes FROM polls p \
           LEFT JOIN poll_votes v ON v.poll_id = p.id \
          WHERE p.live_event_id = $1 GROUP BY p.id ORDER BY p.id",
    )
    .bind::<BigInt, _>(live_event)
    .load(conn)
}

#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Distinct users who commented on the live event, reacted to it or to
/// anything of it (a fight, an update, a comment), or voted in its polls.
pub fn engaged_users(conn: &mut PgConnection, live_event: i64) -> QueryResult<i64> {
    diesel::sql_query(
        "SELECT count(DISTINCT u)::bigint AS n FROM ( \
           SELECT user_id AS u FROM live_comments WHERE live_event_id = $1 \
           UNION ALL \
           SELECT v.user_id FROM poll_votes v JOIN polls p ON p.id = v.poll_id \
            WHERE p.live_event_id = $1 \
           UNION ALL \
           SELECT r.user_id FROM reaction_events r \
            WHERE (r.target_type = 'event' AND r.target_id = $1) \
               OR (r.target_type = 'fight' AND r.target_id IN \
                    (SELECT id FROM live_fights WHERE live_event_id = $1)) \
               OR (r.target_type = 'update' AND r.target_id IN \
                    (SELECT id FROM live_updates WHERE live_event_id = $1)) \
               OR (r.target_type = 'comment' AND r.target_id IN \
                    (SELECT id FROM live_comments WHERE live_event_id = $1)) \
         ) engaged",
    )
    .bind::<BigInt, _>(live_event)
    .get_result::<Number>(conn)
    .map(|r| r.n)
}

#[derive(Debug, Default, QueryableByName)]
pub struct PushCounts {
    /// Deliveries queued (one per device).
    #[diesel(sql_type = BigInt)]
    pub targeted: i64,
    #[diesel(sql_type = BigInt)]
    pub sent: i64,
    /// Notifications opened.
    #[diesel(sql_type = BigInt)]
    pub opened: i64,
}

/// Push for the notifications about a live event: those whose `data` names
/// it (`live_event`) or its catalog event (`event`: results, breaking news,
/// event start), and those of campaigns for its catalog event's followers
/// (an admin send to `event_followers`, a trigger naming the event).
pub fn push_counts(conn: &mut PgConnection, live_event: i64) -> QueryResult<PushCounts> {
    diesel::sql_query(
        "WITH le AS (SELECT id, event_id FROM live_events WHERE id = $1), \
              n AS ( \
                SELECT pn.id, pn.opened_at FROM push_notifications pn \
                  CROSS JOIN le \
                  LEFT JOIN notification_campaigns c ON c.id = pn.campaign_id \
                 WHERE pn.data->>'live_event' = le.id::text \
                    OR pn.data->>'event' = le.event_id::text \
                    OR (c.audience->>'kind' = 'event_followers' \
                        AND c.audience->>'event' = le.event_id::text) \
                    OR (c.audience->>'kind' = 'trigger' \
                        AND c.audience->'events' @> to_jsonb(le.event_id))) \
         SELECT (SELECT count(*) FROM notification_deliveries d \
                   JOIN n ON n.id = d.notification_id)::bigint AS targeted, \
                (SELECT count(*) FROM notification_deliveries d \
                   JOIN n ON n.id = d.notification_id WHERE d.status = 'sent')::bigint AS sent, \
                (SELECT count(opened_at) FROM n)::bigint AS opened",
    )
    .bind::<BigInt, _>(live_event)
    .get_result(conn)
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// The live events that are live now, oldest first.
pub fn live_now(conn: &mut PgConnection) -> QueryResult<Vec<i64>> {
    diesel::sql_query("SELECT id FROM live_events WHERE status = 'live' ORDER BY id")
        .load::<Id>(conn)
        .map(|rows| rows.into_iter().map(|r| r.id).collect())
}

/// Writes this node's monitor row; forgets nodes not seen for a day.
pub fn upsert_node(
    conn: &mut PgConnection,
    node: &str,
    started_at: DateTime<Utc>,
    figures: &Value,
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO cluster_nodes (node, started_at, seen_at, figures) VALUES ($1, $2, now(), $3) \
         ON CONFLICT (node) DO UPDATE SET seen_at = now(), figures = EXCLUDED.figures, \
                                          started_at = EXCLUDED.started_at",
    )
    .bind::<Text, _>(node)
    .bind::<Timestamptz, _>(started_at)
    .bind::<Jsonb, _>(figures)
    .execute(conn)?;
    diesel::sql_query("DELETE FROM cluster_nodes WHERE seen_at < now() - interval '1 day'")
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, QueryableByName)]
pub struct NodeRow {
    #[diesel(sql_type = Text)]
    pub node: String,
    #[diesel(sql_type = Timestamptz)]
    pub started_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub seen_at: DateTime<Utc>,
    #[diesel(sql_type = Jsonb)]
    pub figures: Value,
    /// Seen within `alive_seconds`, by the database's clock.
    #[diesel(sql_type = Bool)]
    pub alive: bool,
}

/// Every node's row, by name.
pub fn nodes(conn: &mut PgConnection, alive_seconds: i64) -> QueryResult<Vec<NodeRow>> {
    diesel::sql_query(
        "SELECT node, started_at, seen_at, figures, \
                seen_at > now() - $1::float8 * interval '1 second' AS alive \
           FROM cluster_nodes ORDER BY node",
    )
    .bind::<BigInt, _>(alive_seconds)
    .load(conn)
}

#[derive(Debug, QueryableByName)]
pub struct StatusCount {
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// Push deliveries in the outbox by status.
pub fn push_outcomes(conn: &mut PgConnection) -> QueryResult<Vec<StatusCount>> {
    diesel::sql_query(
        "SELECT status, count(*)::bigint AS n FROM notification_deliveries GROUP BY status",
    )
    .load(conn)
}
