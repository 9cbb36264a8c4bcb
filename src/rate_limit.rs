//! Throttles for the endpoints attackers like: sign-in per account and
//! client address, and per client address (GCRA, via governor). A refusal
//! says when to come back.
//!
//! The comment quota is the cluster's, not a node's ([`CommentLimiter`]):
//! a GCRA over Redis, with this node's governor when there is no Redis.
//!
//! The per-account limit counts an account's attempts from one address, not
//! from everywhere: counted globally, anyone could lock anyone out by
//! guessing wrong ten times a minute.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

pub struct LoginLimiter {
    /// (account, client address): see the module header.
    per_account: DefaultKeyedRateLimiter<(String, Option<IpAddr>)>,
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

fn per_minute_quota(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl LoginLimiter {
    /// `per_account` and `per_ip` attempts a minute, each also the burst.
    pub fn new(per_account: u32, per_ip: u32) -> LoginLimiter {
        LoginLimiter {
            per_account: RateLimiter::keyed(per_minute_quota(per_account)),
            per_ip: RateLimiter::keyed(per_minute_quota(per_ip)),
            clock: DefaultClock::default(),
        }
    }

    /// Counts an attempt from `ip` (and on `account` from `ip`, when an
    /// account is named). IPv6 clients count per /64.
    pub fn check(&self, ip: Option<IpAddr>, account: Option<&str>) -> Result<(), ApiError> {
        let ip = ip.map(crate::client_addr::limit_key);
        self.check_both(ip, account).inspect_err(|_| {
            crate::metrics::live().rate_limited("login");
        })
    }

    fn check_both(&self, ip: Option<IpAddr>, account: Option<&str>) -> Result<(), ApiError> {
        if let Some(ip) = ip {
            self.per_ip.check_key(&ip).map_err(|n| self.refusal(n))?;
        }
        if let Some(account) = account {
            self.per_account
                .check_key(&(account.to_string(), ip))
                .map_err(|n| self.refusal(n))?;
        }
        Ok(())
    }

    fn refusal(&self, not_until: governor::NotUntil<<DefaultClock as Clock>::Instant>) -> ApiError {
        let wait = not_until.wait_time_from(self.clock.now());
        ApiError::RateLimited {
            retry_after_ms: wait.as_millis().max(1) as u64,
        }
    }

    /// Forgets keys that are back to a full burst, so memory stays bounded.
    pub fn prune(&self) {
        self.per_account.retain_recent();
        self.per_ip.retain_recent();
    }
}

/// Per-user throttles on reactions and votes. Per node: a user writing
/// through several nodes gets each node's quota (comments have their own,
/// cluster-wide: [`CommentLimiter`]).
pub struct WriteLimiter {
    reactions: DefaultKeyedRateLimiter<i64>,
    votes: DefaultKeyedRateLimiter<i64>,
    clock: DefaultClock,
}

/// What a limiter guards.
#[derive(Debug, Clone, Copy)]
pub enum WriteKind {
    Reaction,
    Vote,
}

fn per_second(n: u32) -> Quota {
    let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(n).allow_burst(n.saturating_mul(NonZeroU32::new(2).unwrap_or(n)))
}

fn refusal(kind: &str, wait: Duration) -> ApiError {
    crate::metrics::live().rate_limited(kind);
    ApiError::RateLimited {
        retry_after_ms: (wait.as_millis() as u64).max(1),
    }
}

impl WriteLimiter {
    /// `reactions`/`votes` a second (burst: twice that).
    pub fn new(reactions: u32, votes: u32) -> WriteLimiter {
        WriteLimiter {
            reactions: RateLimiter::keyed(per_second(reactions)),
            votes: RateLimiter::keyed(per_second(votes)),
            clock: DefaultClock::default(),
        }
    }

    pub fn check(&self, kind: WriteKind, user: i64) -> Result<(), ApiError> {
        let (limiter, label) = match kind {
            WriteKind::Reaction => (&self.reactions, "reaction"),
            WriteKind::Vote => (&self.votes, "vote"),
        };
        limiter
            .check_key(&user)
            .map_err(|n| refusal(label, n.wait_time_from(self.clock.now())))
    }

    pub fn prune(&self) {
        self.reactions.retain_recent();
        self.votes.retain_recent();
    }
}

/// The per-user comment quota (`COMMENT_RATE_LIMIT` a minute, a burst of
/// half that), one for the whole cluster.
///
/// Why Redis and not a check in the comment's own PostgreSQL transaction:
/// comments are written in batches, one transaction per batch, and each
/// takes the row lock of its channel's sequence until the batch commits. A
/// per-user row (or advisory) lock in the same transactions would be taken
/// after another comment's channel lock in the same batch, so two nodes'
/// batches holding a hot event's lock and one user's lock in opposite orders
/// deadlock, and PostgreSQL aborts one whole batch. A GCRA script in Redis
/// runs atomically (one user's posts through any node are one sequence),
/// holds no lock, costs no database work (a flood is refused before any
/// I/O on PostgreSQL, as before), uses Redis's clock (nodes' clocks may
/// differ), and counts every attempt that passes the shape check, exactly
/// as the per-node limiter did. Its state is one key per user with a TTL of
/// the time until the user's quota is full again.
///
/// Fallback: with no `REDIS_URL` (one node) this node's governor is the
/// quota, exactly. With Redis configured but unreachable, slow (no answer
/// within [`REDIS_ANSWER`]) or not reached yet, the node's governor answers
/// instead (each node its own quota again, as before this limiter, rather
/// than refusing every comment), Redis is not asked again for
/// [`REDIS_RETRY`], and `ringside_rate_limit_fallbacks_total{kind="comment"}`
/// counts it. The governor also counts the comments Redis allowed through
/// this node, so a fallback starts from what this node has seen. It is never
/// a first gate: it sees only this node's share and would refuse what the
/// cluster allows after a refusal it counted.
pub struct CommentLimiter {
    local: DefaultKeyedRateLimiter<i64>,
    clock: DefaultClock,
    /// Between two comments at the steady rate.
    interval: Duration,
    burst: u32,
    cluster: Option<Arc<ClusterQuota>>,
}

/// How long a quota check may wait for Redis before this node decides.
pub const REDIS_ANSWER: Duration = Duration::from_millis(250);
/// After a failed check, Redis is left alone this long.
pub const REDIS_RETRY: Duration = Duration::from_secs(1);

/// GCRA over Redis's clock. `KEYS[1]`: the user's key; `ARGV[1]`: the
/// interval between comments (µs); `ARGV[2]`: the burst. Answers 0 when
/// allowed (and counts it), else the microseconds until it would be.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tau = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local after = tat + interval
local wait = after - now - tau
if wait > 0 then return wait end
redis.call('SET', KEYS[1], string.format('%d', after), 'PX', math.ceil((after - now) / 1000))
return 0
";

struct ClusterQuota {
    redis: redis::aio::ConnectionManager,
    /// `ringside:{cluster identity}:comment-quota:`, once the database has
    /// told it (nodes share quotas exactly when they share a database, as
    /// they share the bus).
    prefix: OnceLock<String>,
    /// Not asked again before this.
    resting_until: Mutex<Option<Instant>>,
}

impl ClusterQuota {
    /// `Some(Ok)` allowed, `Some(Err(wait))` refused, `None` not answered.
    async fn check(
        &self,
        user: i64,
        interval: Duration,
        burst: u32,
    ) -> Option<Result<(), Duration>> {
        let prefix = self.prefix.get()?;
        if self.resting() {
            return None;
        }
        let mut conn = self.redis.clone();
        let mut eval = redis::cmd("EVAL");
        eval.arg(GCRA)
            .arg(1)
            .arg(format!("{prefix}{user}"))
            .arg(interval.as_micros() as u64)
            .arg(burst);
        let call = eval.query_async::<i64>(&mut conn);
        match actix_web::rt::time::timeout(REDIS_ANSWER, call).await {
            Ok(Ok(wait)) => {
                self.awake();
                Some(match wait {
                    ..=0 => Ok(()),
                    us => Err(Duration::from_micros(us as u64)),
                })
            }
            Ok(Err(e)) => self.rest(&e.to_string()),
            Err(_) => self.rest("no answer in time"),
        }
    }

    fn resting(&self) -> bool {
        match self.resting_until.lock() {
            Ok(until) => until.is_some_and(|t| Instant::now() < t),
            Err(_) => false,
        }
    }

    fn rest<T>(&self, why: &str) -> Option<T> {
        if let Ok(mut until) = self.resting_until.lock() {
            if until.is_none() {
                tracing::warn!(
                    "comment quota: Redis did not answer ({why}); this node counts alone until it does"
                );
            }
            *until = Some(Instant::now() + REDIS_RETRY);
        }
        None
    }

    fn awake(&self) {
        if let Ok(mut until) = self.resting_until.lock() {
            if until.take().is_some() {
                tracing::info!("comment quota: Redis answers again; the cluster counts");
            }
        }
    }
}

impl CommentLimiter {
    /// `per_minute` comments a minute, a burst of half that (at least one);
    /// over the cluster when `redis_url` is given. Call inside the actix
    /// system: the key prefix is read from `db` in the background.
    pub fn new(
        per_minute: u32,
        redis_url: Option<&str>,
        db: &crate::db::Db,
    ) -> Result<CommentLimiter, redis::RedisError> {
        let per_minute = per_minute.max(1);
        let burst = per_minute.div_ceil(2);
        let cluster = match redis_url {
            None => None,
            Some(url) => {
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_response_timeout(Some(REDIS_ANSWER))
                    .set_connection_timeout(Some(REDIS_ANSWER))
                    .set_number_of_retries(1);
                let redis = redis::aio::ConnectionManager::new_lazy_with_config(
                    redis::Client::open(url)?,
                    config,
                )?;
                let quota = Arc::new(ClusterQuota {
                    redis,
                    prefix: OnceLock::new(),
                    resting_until: Mutex::new(None),
                });
                actix_web::rt::spawn(name_keys(quota.clone(), db.clone()));
                Some(quota)
            }
        };
        Ok(CommentLimiter {
            local: RateLimiter::keyed(
                per_minute_quota(per_minute)
                    .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN)),
            ),
            clock: DefaultClock::default(),
            interval: Duration::from_secs(60) / per_minute,
            burst,
            cluster,
        })
    }

    /// Counts a comment of `user`; refused (`rate_limited`, with when to
    /// come back) past the quota.
    pub async fn check(&self, user: i64) -> Result<(), ApiError> {
        let verdict = match &self.cluster {
            Some(cluster) => {
                let verdict = cluster.check(user, self.interval, self.burst).await;
                if verdict.is_none() {
                    crate::metrics::live().rate_limit_fallback("comment");
                }
                verdict
            }
            None => None,
        };
        let outcome = match verdict {
            Some(Ok(())) => {
                // Kept current for a fallback; its verdict is not this one.
                let _ = self.local.check_key(&user);
                Ok(())
            }
            Some(Err(wait)) => Err(wait),
            None => self
                .local
                .check_key(&user)
                .map_err(|n| n.wait_time_from(self.clock.now())),
        };
        outcome.map_err(|wait| refusal("comment", wait))
    }

    /// Forgets this node's keys that are back to a full burst.
    pub fn prune(&self) {
        self.local.retain_recent();
    }
}

/// Names the Redis keys after the database, retrying until it answers.
async fn name_keys(quota: Arc<ClusterQuota>, db: crate::db::Db) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match db.run(crate::db::cluster_identity).await {
            Ok(identity) => {
                let _ = quota
                    .prefix
                    .set(format!("ringside:{identity}:comment-quota:"));
                return;
            }
            Err(e) => {
                tracing::warn!("comment quota: cannot name its keys yet (database: {e}); retrying");
                actix_web::rt::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_limited_per_client_address() {
        let limiter = LoginLimiter::new(3, 100);
        let attacker = "192.0.2.1".parse().ok();
        let owner = "198.51.100.7".parse().ok();
        for _ in 0..3 {
            assert!(limiter.check(attacker, Some("fan@example.com")).is_ok());
        }
        assert!(limiter.check(attacker, Some("fan@example.com")).is_err());
        assert!(limiter.check(owner, Some("fan@example.com")).is_ok());
    }

    fn retry_after(refused: Result<(), ApiError>) -> u64 {
        match refused {
            Err(ApiError::RateLimited { retry_after_ms }) => retry_after_ms,
            other => panic!("expected rate_limited, got {other:?}"),
        }
    }

    #[actix_rt::test]
    async fn one_node_counts_comments_alone_a_burst_of_half_the_rate() {
        let db = crate::db::Db::unreachable(Duration::from_millis(20));
        let limiter = CommentLimiter::new(6, None, &db).expect("no Redis to open");
        for _ in 0..3 {
            assert!(limiter.check(5).await.is_ok());
        }
        let wait = retry_after(limiter.check(5).await);
        assert!(
            (9_000..=10_000).contains(&wait),
            "one every ten seconds: {wait}"
        );
        assert!(limiter.check(6).await.is_ok(), "per user");
    }

    #[actix_rt::test]
    async fn a_cluster_quota_that_cannot_ask_redis_counts_on_this_node() {
        // Neither the keys' name (no database) nor Redis (nothing listens).
        let db = crate::db::Db::unreachable(Duration::from_millis(20));
        let limiter =
            CommentLimiter::new(2, Some("redis://127.0.0.1:1/"), &db).expect("a valid URL");
        assert!(limiter.check(5).await.is_ok());
        let wait = retry_after(limiter.check(5).await);
        assert!((29_000..=30_000).contains(&wait), "{wait}");
    }
}
