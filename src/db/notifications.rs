//! Notifications as stored: the in-app record (numbered on `user:{id}` so a
//! connected user gets it at once and a returning one finds it), devices
//! (a token is never duplicated: re-registering moves it), and preferences.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types as sql;
use ringside_actors::Channel;
use serde::Serialize;
use serde_json::Value;

use super::channels::{self, Published};
use super::pagination::PageParams;
use super::schema::{
    devices, notification_campaigns, notification_preferences, push_notifications,
};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = push_notifications)]
#[schema(
    description = r#"One notification. A `fight_result` has `action_url` `/fights/{fight}` and `data` `{fight, event, winner, method, round, time}` (the catalog fight and event ids, the winning corner or null, the result method as in `ResultMethod`, the round and the time into it); an `event_start` `/live/events/{live_event}` and `{live_event, event}`; a `ranking_change` `/rankings/?division={division}` and `{fighter, division, fight, cause, rank_before, rank_after, rating_before, rating_after, reason}` (a null rank: the champion); a `breaking_news` `/live/events/{live_event}` and `{live_event, update, event}`; a sent one the sender's `action_url` and `data`."#
)]
pub struct Notification {
    pub id: i64,
    #[serde(rename = "recipient")]
    /// The recipient's user id; null for the emergency broadcast, which is for everyone (lists show only the caller's own, so never a broadcast).
    #[schema(required = true)]
    pub recipient_id: Option<i64>,
    #[schema(value_type = ringside_actors::vocabulary::NotificationType)]
    pub notification_type: String,
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[schema(max_length = 2000)]
    pub message: String,
    /// Where the client should go when it is opened (an app path), or null.
    #[schema(required = true)]
    pub action_url: Option<String>,
    /// Type-specific fields for the client.
    #[schema(value_type = Object)]
    pub data: Value,
    pub is_read: bool,
    /// When it was first read; null while unread (exactly when `is_read` is false).
    #[schema(required = true)]
    pub read_at: Option<DateTime<Utc>>,
    /// When it was first opened; null if never.
    #[schema(required = true)]
    pub opened_at: Option<DateTime<Utc>>,
    /// When a provider first accepted its push; null until then (and when there is no push).
    #[schema(required = true)]
    pub sent_at: Option<DateTime<Utc>>,
    /// Push delivery: `pending` (queued), `sending`, `sent` (every device accepted it), `partial` (some did), `failed` (none did) or `skipped` (no device to push to: none active, push off, quiet hours, or no provider for its platforms).
    #[schema(value_type = ringside_actors::vocabulary::DeliveryStatus)]
    pub delivery_status: String,
    pub created_at: DateTime<Utc>,
    #[serde(rename = "campaign")]
    /// The campaign it was sent in (see `GET /api/notifications/analytics/`).
    #[schema(required = true)]
    pub campaign_id: Option<i64>,
}

/// One sending: a trigger firing, an admin send, an emergency broadcast.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    /// `trigger`, `send` or `broadcast`.
    pub source: &'static str,
    pub notification_type: String,
    /// Who it was for, as asked (kept for the record and analytics).
    pub audience: Value,
    pub created_by: Option<i64>,
    /// The campaign's own title (recipients may read personalised ones).
    pub title: String,
    pub action_url: Option<String>,
    pub data: Value,
}

/// What one recipient reads: the templates filled for them.
#[derive(Debug, Clone)]
pub struct Personal {
    pub recipient: i64,
    pub title: String,
    pub message: String,
}

/// Which devices may get a push: those whose provider is configured, and
/// how long the push stays worth sending.
#[derive(Debug, Clone)]
pub struct PushTargets {
    pub platforms: Vec<String>,
    pub ttl_seconds: i64,
    /// Queue the first deliveries already claimed by this node's
    /// dispatcher, for the caller to hand over after the commit (no claim
    /// round trip for a bulk send). `None`: all wait to be claimed.
    pub hand_over: Option<HandOver>,
}

#[derive(Debug, Clone)]
pub struct HandOver {
    pub claimer: String,
    pub lease_seconds: f64,
    /// At most this many rows (the rest are claimed as usual).
    pub max: i64,
}

/// Sendings, stored.
#[derive(Debug, Default)]
pub struct Sent {
    pub campaigns: Vec<i64>,
    /// The `notification` frames on each recipient's `user:{id}`, to deliver
    /// after the commit.
    pub published: Vec<Published>,
    /// Push deliveries queued (one per device).
    pub deliveries: usize,
    /// Deliveries queued already claimed (see [`PushTargets::hand_over`]):
    /// give them to the dispatcher once committed.
    pub claimed: Vec<super::push_outbox::Claimed>,
}

impl Sent {
    /// Adds another sending's results to these.
    pub fn absorb(&mut self, other: Sent) {
        self.campaigns.extend(other.campaigns);
        self.published.extend(other.published);
        self.deliveries += other.deliveries;
        self.claimed.extend(other.claimed);
    }
}

/// Stores a notification for each recipient (one campaign), numbers each on
/// its `user:{id}` and queues a push delivery for each of their active
/// devices, unless they turned push off or are in their quiet hours. All in
/// the caller's transaction, a few statements whatever the count: a result
/// may go to every user.
pub fn send(
    conn: &mut PgConnection,
    campaign: &NewCampaign,
    recipients: Vec<Personal>,
    push: &PushTargets,
) -> QueryResult<Sent> {
    use diesel::sql_types::{Array, BigInt, Jsonb, Nullable, Text};
    let id = insert_campaign(conn, campaign, recipients.len())?;
    let (mut users, mut titles, mut messages) = (Vec::new(), Vec::new(), Vec::new());
    for p in recipients {
        users.push(p.recipient);
        // Filled templates can outgrow the columns (long names): cut.
        titles.push(clip(&p.title, 200));
        messages.push(clip(&p.message, 2000));
    }
    let stored: Vec<Notification> = diesel::sql_query(
        "INSERT INTO push_notifications \
           (campaign_id, recipient_id, notification_type, title, message, action_url, data) \
         SELECT $1, r, $2, t, m, $3, $4 FROM unnest($5::bigint[], $6::text[], $7::text[]) AS x(r, t, m) \
         RETURNING *",
    )
    .bind::<BigInt, _>(id)
    .bind::<Text, _>(&campaign.notification_type)
    .bind::<Nullable<Text>, _>(&campaign.action_url)
    .bind::<Jsonb, _>(&campaign.data)
    .bind::<Array<BigInt>, _>(&users)
    .bind::<Array<Text>, _>(&titles)
    .bind::<Array<Text>, _>(&messages)
    .load(conn)?;
    let hand_over = push.hand_over.as_ref();
    let queued: Vec<super::push_outbox::Queued> = diesel::sql_query(
        "INSERT INTO notification_deliveries (notification_id, device_id, platform, expires_at, \
                                             status, claimed_by, claimed_at, lease_until, attempts) \
         SELECT n, d, platform, now() + make_interval(secs => $3), \
                CASE WHEN mine THEN 'in_flight' ELSE 'pending' END, \
                CASE WHEN mine THEN $5 END, CASE WHEN mine THEN now() END, \
                CASE WHEN mine THEN now() + make_interval(secs => $6) END, \
                CASE WHEN mine THEN 1 ELSE 0 END \
         FROM (SELECT n.id AS n, d.id AS d, d.platform, row_number() OVER () <= $4 AS mine \
               FROM push_notifications n \
               JOIN devices d ON d.user_id = n.recipient_id AND d.is_active AND d.platform = ANY($2) \
               JOIN users u ON u.id = n.recipient_id \
               LEFT JOIN notification_preferences p ON p.user_id = n.recipient_id \
               WHERE n.campaign_id = $1 AND COALESCE(p.push_enabled, true) \
                 AND (p.quiet_start_min IS NULL \
                      OR NOT ringside_quiet_now(p.quiet_start_min, p.quiet_end_min, u.timezone))) q \
         RETURNING id, notification_id, device_id, platform, expires_at, lease_until, attempts",
    )
    .bind::<BigInt, _>(id)
    .bind::<Array<Text>, _>(&push.platforms)
    .bind::<diesel::sql_types::Double, _>(push.ttl_seconds as f64)
    .bind::<BigInt, _>(hand_over.map_or(0, |h| h.max))
    .bind::<Nullable<Text>, _>(hand_over.map(|h| h.claimer.as_str()))
    .bind::<diesel::sql_types::Double, _>(hand_over.map_or(0.0, |h| h.lease_seconds))
    .load(conn)?;
    let deliveries = queued.len();
    let contents = stored.iter().map(|n| {
        let content = super::push_outbox::Content {
            notification_type: n.notification_type.clone(),
            title: n.title.clone(),
            message: n.message.clone(),
            action_url: n.action_url.clone(),
            data: n.data.clone(),
        };
        (n.id, std::sync::Arc::new(content))
    });
    let claimed = super::push_outbox::complete(conn, queued, contents.collect())?;
    let skipped: std::collections::HashSet<i64> =
        mark_undeliverable(conn, id)?.into_iter().collect();
    let mut frames = Vec::with_capacity(stored.len());
    for mut n in stored {
        if skipped.contains(&n.id) {
            n.delivery_status = "skipped".into();
        }
        let data = serde_json::to_value(&n)
            .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
        if let Some(user) = n.recipient_id {
            frames.push((Channel::User(user), data));
        }
    }
    let published = channels::append_many(conn, "notification", frames)?;
    Ok(Sent {
        campaigns: vec![id],
        published,
        deliveries,
        claimed,
    })
}

/// An emergency broadcast: one stored notification for nobody in
/// particular (recipient NULL), pushed to every active device, quiet hours
/// or not. The live frame goes to every session (see `live::Bus`).
pub fn broadcast(
    conn: &mut PgConnection,
    campaign: &NewCampaign,
    message: &str,
    push: &PushTargets,
) -> QueryResult<(Notification, usize)> {
    use diesel::sql_types::{Array, BigInt, Text};
    let id = insert_campaign(conn, campaign, 0)?;
    let n: Notification = diesel::insert_into(push_notifications::table)
        .values((
            push_notifications::campaign_id.eq(id),
            push_notifications::notification_type.eq(&campaign.notification_type),
            push_notifications::title.eq(clip(&campaign.title, 200)),
            push_notifications::message.eq(clip(message, 2000)),
            push_notifications::action_url.eq(&campaign.action_url),
            push_notifications::data.eq(&campaign.data),
        ))
        .returning(Notification::as_returning())
        .get_result(conn)?;
    let deliveries = diesel::sql_query(
        "INSERT INTO notification_deliveries (notification_id, device_id, platform, expires_at) \
         SELECT $1, d.id, d.platform, now() + make_interval(secs => $3) FROM devices d \
         WHERE d.is_active AND d.platform = ANY($2)",
    )
    .bind::<BigInt, _>(n.id)
    .bind::<Array<Text>, _>(&push.platforms)
    .bind::<diesel::sql_types::Double, _>(push.ttl_seconds as f64)
    .execute(conn)?;
    mark_undeliverable(conn, id)?;
    Ok((n, deliveries))
}

fn insert_campaign(
    conn: &mut PgConnection,
    campaign: &NewCampaign,
    recipients: usize,
) -> QueryResult<i64> {
    diesel::insert_into(notification_campaigns::table)
        .values((
            notification_campaigns::source.eq(campaign.source),
            notification_campaigns::notification_type.eq(&campaign.notification_type),
            notification_campaigns::audience.eq(&campaign.audience),
            notification_campaigns::title.eq(clip(&campaign.title, 200)),
            notification_campaigns::created_by.eq(campaign.created_by),
            notification_campaigns::recipients.eq(recipients as i32),
        ))
        .returning(notification_campaigns::id)
        .get_result(conn)
}

/// Notifications with no device to push to are done: `skipped`. Returns them.
fn mark_undeliverable(conn: &mut PgConnection, campaign: i64) -> QueryResult<Vec<i64>> {
    use super::schema::notification_deliveries as d;
    diesel::update(
        push_notifications::table
            .filter(push_notifications::campaign_id.eq(campaign))
            .filter(diesel::dsl::not(diesel::dsl::exists(
                d::table.filter(d::notification_id.eq(push_notifications::id)),
            ))),
    )
    .set(push_notifications::delivery_status.eq("skipped"))
    .returning(push_notifications::id)
    .get_results(conn)
}

fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// A user's notifications, newest first (the cursor is the last id seen).
pub fn list(
    conn: &mut PgConnection,
    user: i64,
    unread_only: bool,
    page: &PageParams,
    limit: i64,
) -> QueryResult<Vec<Notification>> {
    let mut q = push_notifications::table
        .filter(push_notifications::recipient_id.eq(user))
        .order(push_notifications::id.desc())
        .limit(limit + 1)
        .select(Notification::as_select())
        .into_boxed();
    if unread_only {
        q = q.filter(push_notifications::is_read.eq(false));
    }
    if let Some(c) = page.cursor {
        q = q.filter(push_notifications::id.lt(c.0));
    }
    q.load(conn)
}

pub fn unread(conn: &mut PgConnection, user: i64) -> QueryResult<i64> {
    push_notifications::table
        .filter(push_notifications::recipient_id.eq(user))
        .filter(push_notifications::is_read.eq(false))
        .count()
        .get_result(conn)
}

/// Marks one of the user's notifications read (again is fine: the first
/// time stays); `NotFound` when it is not theirs.
pub fn mark_read(conn: &mut PgConnection, user: i64, id: i64) -> QueryResult<Notification> {
    let mine = push_notifications::table
        .find(id)
        .filter(push_notifications::recipient_id.eq(user));
    diesel::update(mine.filter(push_notifications::is_read.eq(false)))
        .set((
            push_notifications::is_read.eq(true),
            push_notifications::read_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    mine.select(Notification::as_select()).first(conn)
}

/// Marks every unread notification of the user read; returns how many.
pub fn mark_all_read(conn: &mut PgConnection, user: i64) -> QueryResult<usize> {
    diesel::update(
        push_notifications::table
            .filter(push_notifications::recipient_id.eq(user))
            .filter(push_notifications::is_read.eq(false)),
    )
    .set((
        push_notifications::is_read.eq(true),
        push_notifications::read_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
}

/// Records that the user opened it (the first time counts); opening reads it.
pub fn mark_opened(conn: &mut PgConnection, user: i64, id: i64) -> QueryResult<Notification> {
    let mine = push_notifications::table
        .find(id)
        .filter(push_notifications::recipient_id.eq(user));
    diesel::update(mine.filter(push_notifications::opened_at.is_null()))
        .set(push_notifications::opened_at.eq(diesel::dsl::now))
        .execute(conn)?;
    mark_read(conn, user, id)
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = devices)]
#[schema(
    description = r#"A device push goes to. One row per (`platform`, `token`): registering a token again, by this or another user, moves it to that user and makes it active again."#
)]
pub struct Device {
    pub id: i64,
    #[serde(rename = "user")]
    /// The owner's user id.
    pub user_id: i64,
    #[schema(value_type = ringside_actors::vocabulary::Platform)]
    pub platform: String,
    /// The push token (FCM registration token or APNs device token), as registered (trimmed).
    #[schema(min_length = 1, max_length = 4096)]
    pub token: String,
    /// The app's id (e.g. its bundle id), as last registered.
    #[schema(min_length = 1, max_length = 255)]
    pub app_id: String,
    /// False once unregistered.
    pub is_active: bool,
    /// Why it is inactive (`unregistered` when the user unregistered it); null while active.
    #[schema(required = true)]
    pub deactivated_reason: Option<String>,
    /// When it was last registered.
    pub last_seen_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Registers a device token for `user`. The same token registered again
/// (by this or another user) moves to `user` and is active again: one row
/// per token, never two. Returns the device and whether it is new.
pub fn register_device(
    conn: &mut PgConnection,
    user: i64,
    platform: &str,
    token: &str,
    app_id: &str,
) -> QueryResult<(Device, bool)> {
    let existed: bool = diesel::select(diesel::dsl::exists(
        devices::table
            .filter(devices::platform.eq(platform))
            .filter(devices::token.eq(token)),
    ))
    .get_result(conn)?;
    let device = diesel::insert_into(devices::table)
        .values((
            devices::user_id.eq(user),
            devices::platform.eq(platform),
            devices::token.eq(token),
            devices::app_id.eq(app_id),
        ))
        .on_conflict((devices::platform, devices::token))
        .do_update()
        .set((
            devices::user_id.eq(user),
            devices::app_id.eq(app_id),
            devices::is_active.eq(true),
            devices::deactivated_reason.eq(None::<String>),
            devices::last_seen_at.eq(diesel::dsl::now),
        ))
        .returning(Device::as_returning())
        .get_result(conn)?;
    Ok((device, !existed))
}

/// Deactivates the user's device with this token; false if they have none
/// (never, or no longer: another account registered it since).
pub fn unregister_device(
    conn: &mut PgConnection,
    user: i64,
    platform: &str,
    token: &str,
) -> QueryResult<bool> {
    diesel::update(
        devices::table
            .filter(devices::user_id.eq(user))
            .filter(devices::platform.eq(platform))
            .filter(devices::token.eq(token))
            .filter(devices::is_active.eq(true)),
    )
    .set((
        devices::is_active.eq(false),
        devices::deactivated_reason.eq("unregistered"),
    ))
    .execute(conn)
    .map(|n| n > 0)
}

/// Preferences as stored (every field present); clients see them with the
/// time zone (`features::notifications::inbox::PreferencesView`).
#[derive(
    Debug, Clone, Queryable, Selectable, Serialize, AsChangeset, Insertable, utoipa::ToSchema,
)]
#[diesel(table_name = notification_preferences)]
pub struct Preferences {
    #[serde(rename = "user")]
    /// The user's id.
    pub user_id: i64,
    /// Mobile push at all (default true).
    pub push_enabled: bool,
    /// `fight_result` notifications (default true).
    pub fight_results: bool,
    /// `breaking_news` notifications (default true).
    pub breaking_news: bool,
    /// `ranking_change` notifications (default true).
    pub ranking_changes: bool,
    /// `event_start` notifications (default true).
    pub event_start: bool,
    /// `user_activity` notifications (default true).
    pub user_activity: bool,
    /// Only about followed fighters and events, where a type allows it (default false).
    pub followed_only: bool,
    #[diesel(treat_none_as_null = true)]
    /// Quiet hours start, in minutes after midnight in `timezone`; null (with `quiet_end_min`) when there are none.
    #[schema(minimum = 0, maximum = 1439, required = true)]
    pub quiet_start_min: Option<i32>,
    #[diesel(treat_none_as_null = true)]
    /// Quiet hours end, in minutes after midnight in `timezone`; null (with `quiet_start_min`) when there are none.
    #[schema(minimum = 0, maximum = 1439, required = true)]
    pub quiet_end_min: Option<i32>,
}

impl Preferences {
    pub fn defaults(user: i64) -> Preferences {
        Preferences {
            user_id: user,
            push_enabled: true,
            fight_results: true,
            breaking_news: true,
            ranking_changes: true,
            event_start: true,
            user_activity: true,
            followed_only: false,
            quiet_start_min: None,
            quiet_end_min: None,
        }
    }
}

pub fn preferences(conn: &mut PgConnection, user: i64) -> QueryResult<Preferences> {
    Ok(notification_preferences::table
        .find(user)
        .select(Preferences::as_select())
        .first(conn)
        .optional()?
        .unwrap_or_else(|| Preferences::defaults(user)))
}

pub fn set_preferences(conn: &mut PgConnection, prefs: &Preferences) -> QueryResult<Preferences> {
    diesel::insert_into(notification_preferences::table)
        .values(prefs)
        .on_conflict(notification_preferences::user_id)
        .do_update()
        .set(prefs)
        .returning(Preferences::as_returning())
        .get_result(conn)
}

/// A campaign as analytics reads it: what was sent, to how many, what the
/// providers said, how many opened it, and how long from creation to the
/// provider's acceptance.
#[derive(Debug, QueryableByName, Serialize, utoipa::ToSchema)]
#[schema(
    description = r#"One campaign (a trigger firing, an admin send or a broadcast) with its delivery counts. Push counts are per device: `targeted` = `sent` + `failed` + `invalid` + `expired` + `pending`. Latencies run from the notification's creation to the provider's acceptance, over the accepted pushes; null when none was accepted."#
)]
pub struct CampaignStats {
    #[diesel(sql_type = sql::BigInt)]
    pub id: i64,
    #[diesel(sql_type = sql::Text)]
    /// What fired it: a trigger, `POST /api/notifications/send/` or `POST /api/admin/broadcast/`.
    #[schema(value_type = ringside_actors::vocabulary::CampaignSource)]
    pub source: String,
    #[diesel(sql_type = sql::Text)]
    #[schema(value_type = ringside_actors::vocabulary::NotificationType)]
    pub notification_type: String,
    #[diesel(sql_type = sql::Text)]
    /// The campaign's title as written (recipients may read personalised ones).
    pub title: String,
    #[diesel(sql_type = sql::Jsonb)]
    /// Who it was for, as asked: a send's `audience` (e.g. `{"kind": "all"}`); a trigger's `{"kind": "trigger", "fighters": [...], "events": [...], "everyone": bool}`; a broadcast's `{"kind": "everyone"}`.
    #[schema(value_type = Object)]
    pub audience: Value,
    #[serde(rename = "created_by")]
    #[diesel(sql_type = sql::Nullable<sql::BigInt>)]
    /// The admin who sent it; null for a trigger.
    #[schema(required = true)]
    pub created_by: Option<i64>,
    #[diesel(sql_type = sql::Timestamptz)]
    pub created_at: DateTime<Utc>,
    /// Users it was stored for (0 for a broadcast: it is for everyone).
    #[diesel(sql_type = sql::BigInt)]
    #[schema(minimum = 0)]
    pub recipients: i64,
    /// Devices a push was queued for.
    #[diesel(sql_type = sql::BigInt)]
    #[schema(minimum = 0)]
    pub targeted: i64,
    #[diesel(sql_type = sql::BigInt)]
    /// Pushes a provider accepted.
    #[schema(minimum = 0)]
    pub sent: i64,
    #[diesel(sql_type = sql::BigInt)]
    /// Pushes refused, or given up after `PUSH_MAX_ATTEMPTS` attempts.
    #[schema(minimum = 0)]
    pub failed: i64,
    #[diesel(sql_type = sql::BigInt)]
    /// Pushes to dead tokens (the device was deactivated).
    #[schema(minimum = 0)]
    pub invalid: i64,
    #[diesel(sql_type = sql::BigInt)]
    /// Pushes not accepted within `PUSH_TTL`.
    #[schema(minimum = 0)]
    pub expired: i64,
    /// Not answered yet (waiting, retrying or in flight).
    #[diesel(sql_type = sql::BigInt)]
    #[schema(minimum = 0)]
    pub pending: i64,
    #[diesel(sql_type = sql::BigInt)]
    /// Notifications opened (`POST /api/notifications/{id}/opened/`).
    #[schema(minimum = 0)]
    pub opened: i64,
    #[diesel(sql_type = sql::BigInt)]
    /// Notifications read.
    #[schema(minimum = 0)]
    pub read: i64,
    /// Created to accepted by the provider, in milliseconds.
    #[diesel(sql_type = sql::Nullable<sql::Double>)]
    #[schema(minimum = 0, required = true)]
    pub latency_p50_ms: Option<f64>,
    #[diesel(sql_type = sql::Nullable<sql::Double>)]
    /// 90th percentile, in milliseconds.
    #[schema(minimum = 0, required = true)]
    pub latency_p90_ms: Option<f64>,
    #[diesel(sql_type = sql::Nullable<sql::Double>)]
    /// 99th percentile, in milliseconds.
    #[schema(minimum = 0, required = true)]
    pub latency_p99_ms: Option<f64>,
    #[diesel(sql_type = sql::Nullable<sql::Double>)]
    /// The slowest, in milliseconds.
    #[schema(minimum = 0, required = true)]
    pub latency_max_ms: Option<f64>,
}

/// Campaigns newest first (one, when `only` is given), with their counts.
pub fn campaign_stats(
    conn: &mut PgConnection,
    only: Option<i64>,
    page: &PageParams,
    limit: i64,
) -> QueryResult<Vec<CampaignStats>> {
    diesel::sql_query(
        "SELECT c.id, c.source, c.notification_type, c.title, c.audience, c.created_by, c.created_at, \
                n.recipients, n.opened, n.read, \
                d.targeted, d.sent, d.failed, d.invalid, d.expired, d.pending, \
                d.p50 AS latency_p50_ms, d.p90 AS latency_p90_ms, d.p99 AS latency_p99_ms, \
                d.max AS latency_max_ms \
           FROM notification_campaigns c \
           CROSS JOIN LATERAL ( \
                SELECT count(recipient_id) AS recipients, count(opened_at) AS opened, \
                       count(read_at) AS read \
                  FROM push_notifications WHERE campaign_id = c.id) n \
           CROSS JOIN LATERAL ( \
                SELECT count(*) AS targeted, \
                       count(*) FILTER (WHERE d.status = 'sent') AS sent, \
                       count(*) FILTER (WHERE d.status = 'failed') AS failed, \
                       count(*) FILTER (WHERE d.status = 'invalid_token') AS invalid, \
                       count(*) FILTER (WHERE d.status = 'expired') AS expired, \
                       count(*) FILTER (WHERE d.status IN ('pending', 'in_flight')) AS pending, \
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY l.ms) AS p50, \
                       percentile_cont(0.9) WITHIN GROUP (ORDER BY l.ms) AS p90, \
                       percentile_cont(0.99) WITHIN GROUP (ORDER BY l.ms) AS p99, \
                       max(l.ms) AS max \
                  FROM push_notifications pn \
                  JOIN notification_deliveries d ON d.notification_id = pn.id \
                  CROSS JOIN LATERAL (SELECT (extract(epoch FROM d.sent_at - pn.created_at) * 1000)::float8 AS ms) l \
                 WHERE pn.campaign_id = c.id) d \
          WHERE ($1::bigint IS NULL OR c.id = $1) AND ($2::bigint IS NULL OR c.id < $2) \
          ORDER BY c.id DESC LIMIT $3",
    )
    .bind::<sql::Nullable<sql::BigInt>, _>(only)
    .bind::<sql::Nullable<sql::BigInt>, _>(page.cursor.map(|c| c.0))
    .bind::<sql::BigInt, _>(limit + 1)
    .load(conn)
}

/// The user's time zone (quiet hours are read in it).
pub fn timezone(conn: &mut PgConnection, user: i64) -> QueryResult<String> {
    use super::schema::users;
    users::table.find(user).select(users::timezone).first(conn)
}

/// Sets the user's time zone; false when PostgreSQL does not know the name
/// (an IANA name such as `Europe/Lisbon`, or `UTC`).
pub fn set_timezone(conn: &mut PgConnection, user: i64, tz: &str) -> QueryResult<bool> {
    use super::schema::users;
    #[derive(QueryableByName)]
    struct Known {
        #[diesel(sql_type = sql::Bool)]
        known: bool,
    }
    let known: Known = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1) AS known",
    )
    .bind::<sql::Text, _>(tz)
    .get_result(conn)?;
    if !known.known {
        return Ok(false);
    }
    diesel::update(users::table.find(user))
        .set(users::timezone.eq(tz))
        .execute(conn)?;
    Ok(true)
}

/// Whom a campaign may reach, before each user's row is read.
pub struct Audience<'a> {
    /// The preferences column that must be on (absent preferences: all on).
    pub switch: Option<&'static str>,
    /// Only these users; `None`: anyone.
    pub users: Option<&'a [i64]>,
    /// Followers of any of these fighters or events.
    pub fighters: &'a [i64],
    pub events: &'a [i64],
    /// Everyone else too, except users who asked for followed things only.
    pub everyone: bool,
    pub ignore_followed_only: bool,
}

#[derive(QueryableByName)]
struct Recipient {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    display_name: String,
}

/// Users (id, display name) not banned whom `a` reaches, by id.
pub fn recipients(conn: &mut PgConnection, a: Audience<'_>) -> QueryResult<Vec<(i64, String)>> {
    use diesel::sql_types::{Array, BigInt, Bool};
    // The column comes from a fixed list, never from input.
    let switch = a
        .switch
        .map(|column| format!("COALESCE(p.{column}, true)"))
        .unwrap_or_else(|| "true".into());
    let sql = format!(
        "SELECT u.id, u.display_name FROM users u \
         LEFT JOIN notification_preferences p ON p.user_id = u.id \
         WHERE u.banned_at IS NULL AND {switch} \
           AND ($1 OR u.id = ANY($2)) \
           AND (EXISTS (SELECT 1 FROM follows f WHERE f.user_id = u.id \
                  AND ((f.target_type = 'fighter' AND f.target_id = ANY($3)) \
                    OR (f.target_type = 'event' AND f.target_id = ANY($4)))) \
                OR ($5 AND ($6 OR NOT COALESCE(p.followed_only, false)))) \
         ORDER BY u.id"
    );
    let rows: Vec<Recipient> = diesel::sql_query(sql)
        .bind::<Bool, _>(a.users.is_none())
        .bind::<Array<BigInt>, _>(a.users.unwrap_or_default())
        .bind::<Array<BigInt>, _>(a.fighters)
        .bind::<Array<BigInt>, _>(a.events)
        .bind::<Bool, _>(a.everyone || a.users.is_some())
        .bind::<Bool, _>(a.ignore_followed_only)
        .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.id, r.display_name)).collect())
}

/// The users told about a fight by a notification of this type (a
/// correction goes to them).
pub fn told_of_fight(
    conn: &mut PgConnection,
    notification_type: &str,
    fight: i64,
) -> QueryResult<Vec<i64>> {
    use super::schema::push_notifications as n;
    let rows: Vec<Option<i64>> = n::table
        .filter(n::notification_type.eq(notification_type))
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("data->>'fight' = ")
                .bind::<diesel::sql_types::Text, _>(fight.to_string()),
        )
        .select(n::recipient_id)
        .distinct()
        .load(conn)?;
    Ok(rows.into_iter().flatten().collect())
}
