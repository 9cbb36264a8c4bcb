//! The feature layer: one module per feature, each the one home of its
//! rules — validation, the authorisation decision, the transaction and what
//! it publishes. The edges (HTTP handlers, WebSocket ops, the CLI) only parse
//! and call these; `db/` only runs queries; `validate` and `error` sit below
//! them all. Writes go through the persistence actor ([`publishing`]) and are
//! answered after their commit. A read whose only rule is the role in its
//! handler's signature calls its `db/` query from the handler.
//!
//! - `fight_control`: the fight's changes (start, rounds, stats, scores,
//!   result), what each publishes.
//! - `rankings`: what a result moves (records, ratings, ranks, the
//!   champion), fighters entering and leaving rankings, imports,
//!   pound-for-pound, and the history that explains each move.
//! - `demo`: the demo card (`ringside seed-demo`).
//! - `live_events`: creation, start, end, cancel (the status machine, the
//!   live limit).
//! - `live_updates`: posting, review (approve/reject), listing by role.
//! - `notifications`: templates, the triggers and whom they reach, the
//!   user's inbox, devices and preferences (`inbox`), admin sends and the
//!   emergency broadcast (`admin`).
//! - `comments`: posting (filter, mutes, slow mode, rate limits), reports.
//! - `reactions`, `polls`: reactions, polls' life (drafts, open, close) and
//!   votes (the batched writer and coalesced totals are live machinery, in
//!   `live/`).
//! - `moderation`: decisions on comments, mutes, bans, slow mode.
//! - `presence`: who is on a channel, as the caller may see it.
//! - `follows`: follows and the activity log clients report to.

pub mod analytics;
pub mod automation;
pub mod comments;
pub mod demo;
pub mod fight_control;
pub mod follows;
pub mod idempotency;
pub mod live_events;
pub mod live_updates;
pub mod moderation;
pub mod notifications;
pub mod polls;
pub mod presence;
pub mod rankings;
pub mod reactions;

pub(crate) use crate::error::refers;
use crate::error::ApiError;

/// Runs `f` through the persistence actor (in a transaction, batched with
/// other writes) and, once it has committed, delivers what it published.
pub async fn publishing<T: Send + 'static>(
    state: &crate::state::AppState,
    f: impl FnOnce(
            &mut diesel::PgConnection,
        ) -> Result<(T, Vec<crate::db::channels::Published>), ApiError>
        + Send
        + 'static,
) -> Result<T, ApiError> {
    let (out, published) = crate::live::persist(&state.persister, f).await?;
    state.deliver(published);
    Ok(out)
}
