//! Throttles for the endpoints attackers like: sign-in per account and
//! client address, and per client address (GCRA, via governor). A refusal
//! says when to come back.
//!
//! The per-account limit counts an account's attempts from one address, not
//! from everywhere: counted globally, anyone could lock anyone out by
//! guessing wrong ten times a minute.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

pub struct LoginLimiter {
    /// (account, client address): see the module header.
    per_account: DefaultKeyedRateLimiter<(String, Option<IpAddr>)>,
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl LoginLimiter {
    /// `per_account` and `per_ip` attempts a minute, each also the burst.
    pub fn new(per_account: u32, per_ip: u32) -> LoginLimiter {
        LoginLimiter {
            per_account: RateLimiter::keyed(per_minute(per_account)),
            per_ip: RateLimiter::keyed(per_minute(per_ip)),
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

/// Per-user throttles on engagement writes (comments, reactions, votes).
/// Per node: a user writing through several nodes gets each node's quota.
pub struct WriteLimiter {
    comments: DefaultKeyedRateLimiter<i64>,
    reactions: DefaultKeyedRateLimiter<i64>,
    votes: DefaultKeyedRateLimiter<i64>,
    clock: DefaultClock,
}

/// What a limiter guards.
#[derive(Debug, Clone, Copy)]
pub enum WriteKind {
    Comment,
    Reaction,
    Vote,
}

fn per_second(n: u32) -> Quota {
    let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(n).allow_burst(n.saturating_mul(NonZeroU32::new(2).unwrap_or(n)))
}

impl WriteLimiter {
    /// `comments` a minute (burst: half of that, at least one), and
    /// `reactions`/`votes` a second (burst: twice that).
    pub fn new(comments: u32, reactions: u32, votes: u32) -> WriteLimiter {
        let burst = NonZeroU32::new(comments.div_ceil(2)).unwrap_or(NonZeroU32::MIN);
        WriteLimiter {
            comments: RateLimiter::keyed(per_minute(comments).allow_burst(burst)),
            reactions: RateLimiter::keyed(per_second(reactions)),
            votes: RateLimiter::keyed(per_second(votes)),
            clock: DefaultClock::default(),
        }
    }

    pub fn check(&self, kind: WriteKind, user: i64) -> Result<(), ApiError> {
        let (limiter, label) = match kind {
            WriteKind::Comment => (&self.comments, "comment"),
            WriteKind::Reaction => (&self.reactions, "reaction"),
            WriteKind::Vote => (&self.votes, "vote"),
        };
        limiter.check_key(&user).map_err(|n| {
            crate::metrics::live().rate_limited(label);
            let wait = n.wait_time_from(self.clock.now());
            ApiError::RateLimited {
                retry_after_ms: wait.as_millis().max(1) as u64,
            }
        })
    }

    pub fn prune(&self) {
        self.comments.retain_recent();
        self.reactions.retain_recent();
        self.votes.retain_recent();
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
}
