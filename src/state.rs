//! What every request handler shares.

use std::sync::Arc;

use actix::Addr;
use ringside_actors::hub::Hub;

use crate::auth::TokenKeys;
use crate::config::Config;
use crate::db::Db;
use crate::metrics::Metrics;
use crate::rate_limit::LoginLimiter;

pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub tokens: TokenKeys,
    pub login_limiter: LoginLimiter,
    pub metrics: Arc<Metrics>,
    /// The live core's registry of rooms and sessions.
    pub hub: Addr<Hub>,
    /// Where committed live messages go: this node's rooms and the other nodes'.
    pub bus: crate::live::Bus,
    /// Every durable live write goes through it (batched, committed, then answered).
    pub persister: crate::live::Persister,
    pub content_filter: crate::content_filter::ContentFilter,
    /// Per-user throttles on reactions and votes (per node).
    pub write_limiter: crate::rate_limit::WriteLimiter,
    /// The per-user comment quota, over the cluster.
    pub comment_limiter: crate::rate_limit::CommentLimiter,
    /// Reactions are stored in batches of their own (multi-row inserts).
    pub reaction_writer: crate::live::reaction_writer::ReactionPersister,
    /// Reaction totals and poll tallies waiting to go out.
    pub totals: Arc<crate::live::Totals>,
    /// Mobile push: where deliveries may go, and the dispatcher's doorbell.
    pub push: crate::push::Push,
    /// Live connections per client address.
    pub live_slots: crate::live::ConnectionSlots,
    /// Long-poll sessions between their polls.
    pub long_polls: crate::live::LongPolls,
    /// What this node counts for live analytics, flushed to PostgreSQL.
    pub analytics: Arc<crate::live::analytics::Analytics>,
}

impl AppState {
    /// Hands committed messages to the bus; notifications among them may
    /// have queued pushes, so the dispatcher looks at once.
    pub fn deliver(&self, published: Vec<crate::db::channels::Published>) {
        if published
            .iter()
            .any(|p| matches!(p.channel, ringside_actors::Channel::User(_)))
        {
            self.push.wake();
        }
        self.analytics.published(&published);
        self.bus.deliver(published);
    }
}
