//! Configuration: every setting is an environment variable (a `.env` file is
//! read first), each with a default that works on a developer machine, and all
//! of them validated at start so a bad value is named before anything runs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ringside_actors::session::Transport;

/// A setting that could not be used; the message names variable and value.
#[derive(Debug, thiserror::Error)]
#[error("invalid {var}={value:?}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// How often each node looks for due automation jobs, and how long the
/// "minute" of `reminder_minutes` is (shorter only to compress time in tests).
#[derive(Debug, Clone)]
pub struct AutomationTimes {
    pub tick: Duration,
    pub minute: Duration,
}

/// How long history is kept, and how often the retention job looks.
#[derive(Debug, Clone)]
pub struct Retention {
    /// Stored channel messages (the resume log) of channels not kept whole.
    pub history: Duration,
    /// Ended push deliveries (the outbox), not the notifications.
    pub push: Duration,
    pub every: Duration,
}

/// The seed's live-traffic limits, by their seed names.
#[derive(Debug, Clone)]
pub struct LiveLimits {
    pub max_connections_per_user: u32,
    pub connection_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub max_message_size: usize,
    pub max_concurrent_events: u32,
    pub update_interval: Duration,
    /// Comments per minute per user.
    pub comment_rate_limit: u32,
    pub max_viewers_per_event: u32,
    /// Frames a session may have waiting before it is dropped.
    pub channel_capacity: usize,
    /// Age after which a waiting frame gets its session dropped.
    pub channel_expiry: Duration,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    /// A second listener with workers of its own, for the write path (a
    /// load balancer sends it everything but GETs): publishes, comments and
    /// fight control then never queue behind the fan-out's sockets.
    pub write_bind: Option<SocketAddr>,
    pub write_workers: usize,
    pub data_dir: PathBuf,
    /// `None`: run the embedded PostgreSQL in `data_dir`.
    pub database_url: Option<String>,
    /// Whether the embedded PostgreSQL flushes each commit to disk. Off is
    /// for benchmarks that measure the server rather than the disk (and for
    /// throw-away demos): a crash of the machine can then lose acknowledged
    /// writes. Ignored with `DATABASE_URL`.
    pub embedded_postgres_fsync: bool,
    pub database_pool_size: u32,
    /// How long a request waits for the database; a durable write not
    /// committed by then is answered 503 and never applied.
    pub database_timeout: Duration,
    /// `None`: a single node with the in-process bus.
    pub redis_url: Option<String>,
    pub admin_email: Option<String>,
    pub admin_password: Option<String>,
    /// HMAC key for auth tokens; `None`: generated once and kept in `data_dir`.
    pub secret_key: Option<String>,
    pub token_ttl: Duration,
    /// Login attempts per minute per account, and per client address.
    pub login_rate_per_account: u32,
    pub login_rate_per_ip: u32,
    pub workers: usize,
    pub log_format: LogFormat,
    pub live: LiveLimits,
    pub moderation_blocked_terms: Vec<String>,
    pub moderation_auto_hide_reports: u32,
    /// What the content filter does with a hit.
    pub moderation_filter_action: FilterAction,
    /// How long a room with no subscribers stays in memory.
    pub room_idle: Duration,
    pub automation: AutomationTimes,
    pub retention: Retention,
    /// How often a node adds its live analytics counts to PostgreSQL.
    pub analytics_flush_interval: Duration,
    pub engagement: EngagementLimits,
    pub push: PushSettings,
    pub guards: Guards,
    /// Development only (`RINGSIDE_WEB_DIR`): the console's files are read
    /// from `<dir>/admin/` on every request instead of the embedded copies.
    pub web_dir: Option<PathBuf>,
}

/// Limits against hostile clients, and what a deployment behind a reverse
/// proxy or serving browsers needs.
#[derive(Debug, Clone)]
pub struct Guards {
    /// Live connections (WebSocket, later SSE) per client address (IPv6: per
    /// /64); 0 turns the limit off.
    pub max_connections_per_ip: u32,
    /// Percent of an event's viewer cap kept for signed-in users.
    pub signed_in_reserve_percent: u32,
    /// A resume further behind than this gets `resync` instead of a replay.
    pub resume_max_messages: u64,
    /// Origins allowed for browsers (CORS, WebSocket and SSE `Origin`);
    /// `None`: only the server's own origin (the request's `Host`).
    pub allowed_origins: Option<Vec<String>>,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<crate::client_addr::Cidr>,
    /// `None`: `/metrics` is open; else it needs `Authorization: Bearer <token>`.
    pub metrics_token: Option<String>,
    /// A request body must have arrived whole within this long.
    pub body_timeout: Duration,
    /// How long a closing WebSocket may take to get its close frame out
    /// before the connection is aborted (and its buffers freed).
    pub close_grace: Duration,
    /// The live transports served (`RINGSIDE_TRANSPORTS`); the others answer
    /// 403, as a proxy that blocks them would.
    pub transports: Vec<Transport>,
}

/// A filter hit is refused (`content_rejected`) or stored and held for review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterAction {
    Refuse,
    Hold,
}

/// Engagement settings beyond the seed's.
#[derive(Debug, Clone)]
pub struct EngagementLimits {
    /// Comments a comment room delivers per second before it samples
    /// (`COMMENT_FANOUT_PER_SECOND`); every comment is still stored.
    pub comment_fanout_per_second: u32,
    /// Reactions per second per user (burst: twice that).
    pub reaction_rate_limit: u32,
    /// Poll votes per second per user (burst: twice that).
    pub vote_rate_limit: u32,
    /// How often a target's reaction totals and a poll's tallies go out.
    pub totals_interval: Duration,
    /// Channels up to this many members list who is there (and announce
    /// joins and leaves); bigger ones only count.
    pub presence_list_max: u32,
}

/// Mobile push: the providers (each `None` when not configured: its devices
/// get no push, in-app notifications still work) and the dispatcher's pace.
#[derive(Debug, Clone)]
pub struct PushSettings {
    pub fcm: Option<FcmSettings>,
    pub apns: Option<ApnsSettings>,
    /// Requests in flight to each provider at once, per node.
    pub concurrency: usize,
    /// HTTP/2 connections to each provider, per node; the requests in
    /// flight are spread over them (the least busy takes the next).
    pub connections: usize,
    /// Attempts before a delivery is given up (`failed`).
    pub max_attempts: u32,
    /// How long a claimed delivery stays this node's before another may take it.
    pub lease: Duration,
    /// How often an idle dispatcher looks for due deliveries (other nodes'
    /// sends, retries); a send on this node wakes it at once.
    pub poll: Duration,
    /// One provider request, connect to answer.
    pub request_timeout: Duration,
    /// A push not accepted within this long after it was created is dropped.
    pub ttl: Duration,
}

/// FCM HTTP v1: a Google service account (the OAuth2 token exchange goes to
/// its `token_uri`) and the API's base URL.
#[derive(Clone)]
pub struct FcmSettings {
    pub project_id: String,
    pub client_email: String,
    pub private_key_id: Option<String>,
    /// PEM (PKCS#8 RSA), as in the service-account JSON.
    pub private_key: String,
    pub token_uri: String,
    pub base_url: String,
}

impl std::fmt::Debug for FcmSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FcmSettings")
            .field("project_id", &self.project_id)
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// APNs token auth: a .p8 signing key, its key id, the team and the app's topic.
#[derive(Clone)]
pub struct ApnsSettings {
    /// PEM (PKCS#8 P-256).
    pub key: String,
    pub key_id: String,
    pub team_id: String,
    pub topic: String,
    pub base_url: String,
}

impl std::fmt::Debug for ApnsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsSettings")
            .field("key_id", &self.key_id)
            .field("team_id", &self.team_id)
            .field("topic", &self.topic)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads `.env` (if any) and then the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => {
                return Err(ConfigError {
                    var: ".env",
                    value: String::new(),
                    reason: e.to_string(),
                })
            }
        }
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any source of variables (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let vars = Vars(&get);
        let live = LiveLimits {
            max_connections_per_user: vars.number("MAX_CONNECTIONS_PER_USER", 5, 1..=1000)?,
            connection_timeout: vars.seconds("CONNECTION_TIMEOUT", 300, 1..=86_400)?,
            heartbeat_interval: vars.seconds("HEARTBEAT_INTERVAL", 30, 1..=3_600)?,
            max_message_size: vars.number("MAX_MESSAGE_SIZE", 4096, 256..=1_048_576)?,
            max_concurrent_events: vars.number("MAX_CONCURRENT_EVENTS", 10, 1..=10_000)?,
            update_interval: vars.seconds("UPDATE_INTERVAL", 2, 1..=3_600)?,
            comment_rate_limit: vars.number("COMMENT_RATE_LIMIT", 10, 1..=10_000)?,
            max_viewers_per_event: vars.number("MAX_VIEWERS_PER_EVENT", 10_000, 1..=10_000_000)?,
            channel_capacity: vars.number("CHANNEL_CAPACITY", 1500, 1..=1_000_000)?,
            channel_expiry: vars.seconds("CHANNEL_EXPIRY", 10, 1..=3_600)?,
        };
        if live.heartbeat_interval >= live.connection_timeout {
            return Err(ConfigError {
                var: "HEARTBEAT_INTERVAL",
                value: live.heartbeat_interval.as_secs().to_string(),
                reason: format!(
                    "must be shorter than CONNECTION_TIMEOUT ({} s)",
                    live.connection_timeout.as_secs()
                ),
            });
        }
        Ok(Config {
            bind: vars.parse(
                "RINGSIDE_BIND",
                "127.0.0.1:8000",
                "a socket address such as 127.0.0.1:8000",
            )?,
            data_dir: PathBuf::from(
                vars.text("RINGSIDE_DATA_DIR")
                    .unwrap_or_else(|| "./data".into()),
            ),
            database_url: vars.url("DATABASE_URL", &["postgres://", "postgresql://"])?,
            embedded_postgres_fsync: vars.switch("EMBEDDED_POSTGRES_FSYNC", true)?,
            database_pool_size: vars.number("DATABASE_POOL_SIZE", 16, 1..=500)?,
            database_timeout: Duration::from_millis(vars.number(
                "DATABASE_TIMEOUT_MS",
                5000,
                100..=120_000,
            )?),
            redis_url: vars.url(
                "REDIS_URL",
                &["redis://", "rediss://", "redis+unix://", "unix://"],
            )?,
            admin_email: vars.text("RINGSIDE_ADMIN_EMAIL"),
            admin_password: vars.text("RINGSIDE_ADMIN_PASSWORD"),
            secret_key: match vars.text("RINGSIDE_SECRET_KEY") {
                Some(key) if key.len() < 32 => {
                    return Err(ConfigError {
                        var: "RINGSIDE_SECRET_KEY",
                        value: "(hidden)".into(),
                        reason: "must be at least 32 characters".into(),
                    })
                }
                key => key,
            },
            token_ttl: vars.seconds("TOKEN_TTL", 7 * 86_400, 60..=365 * 86_400)?,
            login_rate_per_account: vars.number("LOGIN_RATE_PER_ACCOUNT", 10, 1..=100_000)?,
            login_rate_per_ip: vars.number("LOGIN_RATE_PER_IP", 30, 1..=100_000)?,
            write_bind: match vars.text("RINGSIDE_WRITE_BIND") {
                None => None,
                Some(_) => Some(vars.parse(
                    "RINGSIDE_WRITE_BIND",
                    "",
                    "a socket address such as 127.0.0.1:8001",
                )?),
            },
            write_workers: vars.number("RINGSIDE_WRITE_WORKERS", 1, 1..=64)?,
            workers: vars.number(
                "RINGSIDE_WORKERS",
                std::thread::available_parallelism().map_or(2, |n| n.get()),
                1..=256,
            )?,
            log_format: match vars.text("LOG_FORMAT").as_deref() {
                None | Some("pretty") => LogFormat::Pretty,
                Some("json") => LogFormat::Json,
                Some(other) => {
                    return Err(ConfigError {
                        var: "LOG_FORMAT",
                        value: other.into(),
                        reason: "expected pretty or json".into(),
                    })
                }
            },
            moderation_blocked_terms: vars
                .text("MODERATION_BLOCKED_TERMS")
                .map(|s| {
                    s.split(',')
                        .map(|t| t.trim().to_lowercase())
                        .filter(|t| !t.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            moderation_auto_hide_reports: vars.number(
                "MODERATION_AUTO_HIDE_REPORTS",
                3,
                1..=1000,
            )?,
            moderation_filter_action: match vars
                .text("MODERATION_FILTER_ACTION")
                .as_deref()
                .map(str::trim)
            {
                None | Some("refuse") => FilterAction::Refuse,
                Some("hold") => FilterAction::Hold,
                Some(other) => {
                    return Err(ConfigError {
                        var: "MODERATION_FILTER_ACTION",
                        value: other.into(),
                        reason: "expected refuse or hold".into(),
                    })
                }
            },
            room_idle: vars.seconds("ROOM_IDLE", 60, 1..=86_400)?,
            automation: AutomationTimes {
                tick: Duration::from_millis(vars.number(
                    "AUTOMATION_TICK_MS",
                    1000,
                    50..=60_000,
                )?),
                minute: Duration::from_millis(vars.number(
                    "AUTOMATION_MINUTE_MS",
                    60_000,
                    100..=60_000,
                )?),
            },
            retention: Retention {
                history: Duration::from_secs(
                    86_400 * vars.number("HISTORY_RETENTION_DAYS", 90, 1..=3650)?,
                ),
                push: Duration::from_secs(
                    86_400 * vars.number("PUSH_RETENTION_DAYS", 30, 1..=3650)?,
                ),
                every: vars.seconds("RETENTION_INTERVAL", 3600, 1..=86_400)?,
            },
            analytics_flush_interval: vars.seconds("ANALYTICS_FLUSH_INTERVAL", 10, 1..=3600)?,
            engagement: EngagementLimits {
                comment_fanout_per_second: vars.number(
                    "COMMENT_FANOUT_PER_SECOND",
                    20,
                    1..=100_000,
                )?,
                reaction_rate_limit: vars.number("REACTION_RATE_LIMIT", 5, 1..=10_000)?,
                vote_rate_limit: vars.number("VOTE_RATE_LIMIT", 2, 1..=10_000)?,
                totals_interval: Duration::from_millis(vars.number(
                    "REACTION_INTERVAL_MS",
                    250,
                    10..=60_000,
                )?),
                presence_list_max: vars.number("PRESENCE_LIST_MAX", 100, 0..=10_000)?,
            },
            push: push_settings(&vars)?,
            guards: guards(&vars)?,
            web_dir: vars.text("RINGSIDE_WEB_DIR").map(PathBuf::from),
            live,
        })
    }
}

fn guards(vars: &Vars) -> Result<Guards, ConfigError> {
    let list = |var: &str| {
        vars.text(var).map(|s| {
            s.split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
        })
    };
    let trusted_proxies = list("RINGSIDE_TRUSTED_PROXIES")
        .unwrap_or_default()
        .iter()
        .map(|c| {
            c.parse().map_err(|reason| ConfigError {
                var: "RINGSIDE_TRUSTED_PROXIES",
                value: c.clone(),
                reason,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let allowed_origins = match list("RINGSIDE_ALLOWED_ORIGINS") {
        None => None,
        Some(origins) => {
            for o in &origins {
                let ok = o == "*"
                    || ((o.starts_with("http://") || o.starts_with("https://"))
                        && !o.trim_end_matches('/').contains(['?', '#'])
                        && o.matches('/').count() == 2);
                if !ok {
                    return Err(ConfigError {
                        var: "RINGSIDE_ALLOWED_ORIGINS",
                        value: o.clone(),
                        reason: "expected origins such as https://app.example.com (scheme, host, \
                                 optional port; no path), comma-separated, or *"
                            .into(),
                    });
                }
            }
            Some(
                origins
                    .into_iter()
                    .map(|o| o.to_ascii_lowercase())
                    .collect(),
            )
        }
    };
    Ok(Guards {
        max_connections_per_ip: vars.number("MAX_CONNECTIONS_PER_IP", 500, 0..=1_000_000)?,
        signed_in_reserve_percent: vars.number("SIGNED_IN_RESERVE", 10, 0..=100)?,
        resume_max_messages: vars.number("RESUME_MAX_MESSAGES", 1000, 1..=1_000_000)?,
        allowed_origins,
        trusted_proxies,
        metrics_token: vars.text("METRICS_TOKEN"),
        body_timeout: vars.seconds("BODY_TIMEOUT", 10, 1..=3_600)?,
        close_grace: Duration::from_millis(vars.number("CLOSE_GRACE_MS", 2000, 10..=60_000)?),
        transports: transports(list("RINGSIDE_TRANSPORTS"))?,
    })
}

/// `websocket,sse,poll` (the default), or some of them.
fn transports(listed: Option<Vec<String>>) -> Result<Vec<Transport>, ConfigError> {
    let Some(names) = listed else {
        return Ok(Transport::ALL.to_vec());
    };
    let error = |value: String| ConfigError {
        var: "RINGSIDE_TRANSPORTS",
        value,
        reason: "expected some of websocket, sse, poll, comma-separated".into(),
    };
    if names.is_empty() {
        return Err(error(String::new()));
    }
    names
        .into_iter()
        .map(|n| Transport::parse(&n).ok_or_else(|| error(n)))
        .collect()
}

fn push_settings(vars: &Vars) -> Result<PushSettings, ConfigError> {
    let settings = PushSettings {
        fcm: fcm_settings(vars)?,
        apns: apns_settings(vars)?,
        concurrency: vars.number("PUSH_CONCURRENCY", 400, 1..=10_000)?,
        connections: vars.number("PUSH_CONNECTIONS", 4, 1..=64)?,
        max_attempts: vars.number("PUSH_MAX_ATTEMPTS", 8, 1..=100)?,
        lease: vars.seconds("PUSH_LEASE", 60, 5..=3_600)?,
        poll: Duration::from_millis(vars.number("PUSH_POLL_MS", 250, 10..=60_000)?),
        request_timeout: vars.seconds("PUSH_REQUEST_TIMEOUT", 10, 1..=300)?,
        ttl: vars.seconds("PUSH_TTL", 86_400, 60..=28 * 86_400)?,
    };
    // A request must be able to finish inside the claim it is sent under,
    // or another node could take the row over and send it again.
    if settings.lease <= settings.request_timeout {
        return Err(ConfigError {
            var: "PUSH_LEASE",
            value: settings.lease.as_secs().to_string(),
            reason: format!(
                "must be longer than PUSH_REQUEST_TIMEOUT ({} s)",
                settings.request_timeout.as_secs()
            ),
        });
    }
    Ok(settings)
}

/// `FCM_SERVICE_ACCOUNT_FILE` (or the JSON itself in `FCM_SERVICE_ACCOUNT_JSON`).
fn fcm_settings(vars: &Vars) -> Result<Option<FcmSettings>, ConfigError> {
    let (var, json) = match (
        vars.text("FCM_SERVICE_ACCOUNT_FILE"),
        vars.text("FCM_SERVICE_ACCOUNT_JSON"),
    ) {
        (None, None) => return Ok(None),
        (Some(path), _) => (
            "FCM_SERVICE_ACCOUNT_FILE",
            read_secret("FCM_SERVICE_ACCOUNT_FILE", &path)?,
        ),
        (None, Some(json)) => ("FCM_SERVICE_ACCOUNT_JSON", json),
    };
    let bad = |reason: String| ConfigError {
        var,
        value: "(service account)".into(),
        reason,
    };
    let account: serde_json::Value =
        serde_json::from_str(&json).map_err(|e| bad(format!("not JSON: {e}")))?;
    let field = |name: &str| {
        account[name]
            .as_str()
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| bad(format!("the service account has no \"{name}\"")))
    };
    let private_key = field("private_key")?;
    jsonwebtoken::EncodingKey::from_rsa_pem(private_key.as_bytes())
        .map_err(|e| bad(format!("private_key is not an RSA PEM key: {e}")))?;
    Ok(Some(FcmSettings {
        project_id: field("project_id")?,
        client_email: field("client_email")?,
        private_key_id: field("private_key_id").ok(),
        private_key,
        token_uri: field("token_uri")
            .unwrap_or_else(|_| "https://oauth2.googleapis.com/token".into()),
        base_url: base_url(vars, "FCM_BASE_URL", "https://fcm.googleapis.com")?,
    }))
}

/// `APNS_KEY_FILE` (or the PEM itself in `APNS_KEY`), `APNS_KEY_ID`,
/// `APNS_TEAM_ID`, `APNS_TOPIC`: all or none.
fn apns_settings(vars: &Vars) -> Result<Option<ApnsSettings>, ConfigError> {
    let key = match (vars.text("APNS_KEY_FILE"), vars.text("APNS_KEY")) {
        (Some(path), _) => Some(read_secret("APNS_KEY_FILE", &path)?),
        (None, key) => key,
    };
    let (key_id, team_id, topic) = (
        vars.text("APNS_KEY_ID"),
        vars.text("APNS_TEAM_ID"),
        vars.text("APNS_TOPIC"),
    );
    let (Some(key), Some(key_id), Some(team_id), Some(topic)) =
        (key.clone(), key_id.clone(), team_id.clone(), topic.clone())
    else {
        if key.is_none() && key_id.is_none() && team_id.is_none() && topic.is_none() {
            return Ok(None);
        }
        let missing: Vec<&str> = [
            ("APNS_KEY_FILE", key.is_none()),
            ("APNS_KEY_ID", key_id.is_none()),
            ("APNS_TEAM_ID", team_id.is_none()),
            ("APNS_TOPIC", topic.is_none()),
        ]
        .iter()
        .filter(|(_, absent)| *absent)
        .map(|(name, _)| *name)
        .collect();
        return Err(ConfigError {
            var: "APNS_KEY_FILE",
            value: String::new(),
            reason: format!(
                "APNs needs all of its settings; missing {}",
                missing.join(", ")
            ),
        });
    };
    jsonwebtoken::EncodingKey::from_ec_pem(key.as_bytes()).map_err(|e| ConfigError {
        var: "APNS_KEY_FILE",
        value: "(key)".into(),
        reason: format!("not a PKCS#8 P-256 key (.p8): {e}"),
    })?;
    Ok(Some(ApnsSettings {
        key,
        key_id,
        team_id,
        topic,
        base_url: base_url(vars, "APNS_BASE_URL", "https://api.push.apple.com")?,
    }))
}

fn read_secret(var: &'static str, path: &str) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError {
        var,
        value: path.into(),
        reason: format!("cannot read it: {e}"),
    })
}

/// A provider's base URL; `http://` is allowed so tests can use local fakes.
fn base_url(vars: &Vars, var: &'static str, default: &str) -> Result<String, ConfigError> {
    Ok(vars
        .url(var, &["https://", "http://"])?
        .unwrap_or_else(|| default.to_string())
        .trim_end_matches('/')
        .to_string())
}

/// Typed reads of variables; an empty value counts as unset.
struct Vars<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Vars<'_> {
    fn text(&self, var: &str) -> Option<String> {
        (self.0)(var).filter(|v| !v.trim().is_empty())
    }

    fn parse<T: std::str::FromStr>(
        &self,
        var: &'static str,
        default: &str,
        expected: &str,
    ) -> Result<T, ConfigError> {
        let value = self.text(var).unwrap_or_else(|| default.to_string());
        value.trim().parse().map_err(|_| ConfigError {
            var,
            value,
            reason: format!("expected {expected}"),
        })
    }

    /// `on`/`off` (also `true`/`false`, `1`/`0`).
    fn switch(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        let Some(value) = self.text(var) else {
            return Ok(default);
        };
        match value.trim().to_ascii_lowercase().as_str() {
            "on" | "true" | "1" => Ok(true),
            "off" | "false" | "0" => Ok(false),
            _ => Err(ConfigError {
                var,
                value,
                reason: "expected on or off".into(),
            }),
        }
    }

    fn number<T>(
        &self,
        var: &'static str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let Some(value) = self.text(var) else {
            return Ok(default);
        };
        let out_of_range = || ConfigError {
            var,
            value: value.clone(),
            reason: format!(
                "expected a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        };
        let n: T = value.trim().parse().map_err(|_| out_of_range())?;
        if range.contains(&n) {
            Ok(n)
        } else {
            Err(out_of_range())
        }
    }

    fn seconds(
        &self,
        var: &'static str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Duration, ConfigError> {
        self.number(var, default, range).map(Duration::from_secs)
    }

    fn url(&self, var: &'static str, schemes: &[&str]) -> Result<Option<String>, ConfigError> {
        match self.text(var) {
            None => Ok(None),
            Some(url) if schemes.iter().any(|s| url.starts_with(s)) => Ok(Some(url)),
            Some(url) => Err(ConfigError {
                var,
                value: url,
                reason: format!("expected a URL starting with {}", schemes.join(" or ")),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_the_seeds() {
        let c = config(&[]).expect("defaults are valid");
        assert_eq!(c.bind.to_string(), "127.0.0.1:8000");
        assert_eq!(c.live.max_connections_per_user, 5);
        assert_eq!(c.analytics_flush_interval, Duration::from_secs(10));
        assert_eq!(c.live.connection_timeout, Duration::from_secs(300));
        assert_eq!(c.live.heartbeat_interval, Duration::from_secs(30));
        assert_eq!(c.live.max_message_size, 4096);
        assert_eq!(c.live.max_concurrent_events, 10);
        assert_eq!(c.live.update_interval, Duration::from_secs(2));
        assert_eq!(c.live.comment_rate_limit, 10);
        assert_eq!(c.live.max_viewers_per_event, 10_000);
        assert_eq!(c.live.channel_capacity, 1500);
        assert_eq!(c.live.channel_expiry, Duration::from_secs(10));
        assert_eq!(c.moderation_auto_hide_reports, 3);
        assert!(c.database_url.is_none() && c.redis_url.is_none());
        assert_eq!(c.write_bind, None, "one listener unless asked");
        assert_eq!(c.database_timeout, Duration::from_secs(5));
        assert!(c.embedded_postgres_fsync, "durable unless asked");
    }

    #[test]
    fn bad_values_name_the_variable_and_value() {
        let cases = [
            ("MAX_MESSAGE_SIZE", "lots"),
            ("MAX_CONNECTIONS_PER_USER", "0"),
            ("RINGSIDE_BIND", "localhost"),
            ("DATABASE_URL", "mysql://x"),
            ("LOG_FORMAT", "xml"),
            ("HEARTBEAT_INTERVAL", "400"),
            ("ANALYTICS_FLUSH_INTERVAL", "0"),
            ("RINGSIDE_WRITE_BIND", "8001"),
            ("DATABASE_TIMEOUT_MS", "50"),
            ("EMBEDDED_POSTGRES_FSYNC", "sometimes"),
        ];
        for (var, value) in cases {
            let err = config(&[(var, value)]).expect_err(var);
            assert_eq!(err.var, var);
            let text = err.to_string();
            assert!(text.contains(var) && text.contains(value), "{text}");
        }
    }

    #[test]
    fn push_providers_are_off_unless_fully_configured() {
        let c = config(&[]).expect("valid");
        assert!(c.push.fcm.is_none() && c.push.apns.is_none());
        let err = config(&[("APNS_KEY_ID", "K"), ("APNS_TOPIC", "app")]).expect_err("partial");
        let text = err.to_string();
        assert!(
            text.contains("APNS_KEY_FILE") && text.contains("APNS_TEAM_ID"),
            "{text}"
        );
        let err = config(&[("FCM_SERVICE_ACCOUNT_JSON", "{not json")]).expect_err("bad json");
        assert_eq!(err.var, "FCM_SERVICE_ACCOUNT_JSON");
        let err = config(&[("FCM_SERVICE_ACCOUNT_FILE", "/nonexistent/sa.json")])
            .expect_err("missing file");
        assert!(err.to_string().contains("/nonexistent/sa.json"));
        let no_key = r#"{"project_id":"p","client_email":"e@p","private_key":"nope"}"#;
        let err = config(&[("FCM_SERVICE_ACCOUNT_JSON", no_key)]).expect_err("bad key");
        assert!(err.to_string().contains("RSA"), "{err}");
    }

    #[test]
    fn blocked_terms_are_trimmed_and_lowercased() {
        let c = config(&[("MODERATION_BLOCKED_TERMS", " Foo, ,BAR ")]).expect("valid");
        assert_eq!(c.moderation_blocked_terms, vec!["foo", "bar"]);
    }
}
