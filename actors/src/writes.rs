//! Client writes over WebSocket (comment, react, vote), as a port the edges
//! implement: the session hands the op over and answers `ack` or `error`
//! when the future resolves, so the same code path serves REST and
//! WebSocket and the live core never touches storage.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::outbox::SessionId;
use crate::protocol::ErrorCode;
// The ops' payloads are protocol types; the REST bodies reuse them.
pub use crate::protocol::payloads::{Ballot, CommentInput, ReactionInput, VoteInput};

/// A write op from a signed-in client.
#[derive(Debug, Clone)]
pub enum WriteOp {
    Comment(CommentInput),
    React(ReactionInput),
    Vote(VoteInput),
}

/// Why a write was refused, as the client hears it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
    pub retry_after_ms: Option<u64>,
}

pub type WriteFuture = Pin<Box<dyn Future<Output = Result<Value, Refusal>>>>;

pub trait ClientWrites: Send + Sync + 'static {
    /// Performs `op` for `user`; resolves to the `ack` data once committed.
    fn perform(&self, user: i64, session: SessionId, op: WriteOp) -> WriteFuture;
}
