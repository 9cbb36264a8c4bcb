//! The feature layer: one module per feature, each the one home of its
//! rules — validation, the authorisation decision, the transaction and what
//! it publishes. The edges (HTTP handlers, WebSocket ops, the CLI) only parse
//! and call these; `db/` only runs queries; `validate` and `error` sit below
//! them all. Writes go through the persistence actor ([`publishing`]) and are
//! answered after their commit.
//!
//! - `fight_control`: what each change publishes; a result's records,
//!   ratings and rankings.
//! - `live_events`: start, end, cancel (the status machine, the live limit).
//! - `live_updates`: posting, review (approve/reject), listing by role.
//! - `notifications`: templates, the triggers and whom they reach, admin
//!   sends and the emergency broadcast.
//! - `comments`: posting (filter, mutes, slow mode, rate limits), reports.
//! - `reactions`, `polls`: reactions and votes; `totals` coalesces their live
//!   totals; `reaction_writer` batches reactions into multi-row inserts.

pub mod comments;
pub mod fight_control;
pub mod live_events;
pub mod live_updates;
pub mod notifications;
pub mod polls;
pub mod reaction_writer;
pub mod reactions;
mod totals;

pub use totals::{Counted, Totals};

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
