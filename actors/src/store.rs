//! What the live core needs from storage, as a trait the edges implement
//! (Postgres in `src/`): channel heads, replays, snapshots, viewer counts.
//! Futures are `Send + 'static` so rooms can wait on them without blocking.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::channel::Channel;
use crate::protocol::Frame;

pub type StoreFuture<T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send>>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The channel names something that does not exist.
    #[error("not found")]
    NotFound,
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// A channel's position: its epoch and the last sequence number stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub epoch: String,
    pub last_seq: u64,
}

pub trait LiveStore: Send + Sync + 'static {
    /// Whether the channel names something that exists (asked before a
    /// room is made for it).
    fn exists(&self, channel: &Channel) -> StoreFuture<bool>;
    /// The channel's head (creating its epoch on first use).
    fn head(&self, channel: &Channel) -> StoreFuture<Head>;
    /// Stored frames with `after < seq <= upto` in `epoch`, in order. Fewer
    /// than asked for means the history is gone.
    fn replay(
        &self,
        channel: &Channel,
        epoch: &str,
        after: u64,
        upto: u64,
    ) -> StoreFuture<Vec<(u64, Frame)>>;
    /// The channel's current state, for `subscribed` frames.
    fn snapshot(&self, channel: &Channel) -> StoreFuture<Value>;
    /// Keeps a room's viewer count (event and fight channels).
    fn record_viewers(&self, channel: &Channel, count: u64) -> StoreFuture<()>;
}
