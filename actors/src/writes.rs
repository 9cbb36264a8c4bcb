//! Client writes over WebSocket (comment, react, vote), as a port the edges
//! implement: the session hands the op over and answers `ack` or `error`
//! when the future resolves, so the same code path serves REST and
//! WebSocket and the live core never touches storage.

use std::future::Future;
use std::pin::Pin;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::outbox::SessionId;
use crate::protocol::ErrorCode;

/// A comment: the `comment` op's payload and the body of
/// `POST /api/live/comments/`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    pub live_event: i64,
    #[serde(default)]
    pub live_fight: Option<i64>,
    pub content: String,
    #[serde(default)]
    pub parent_comment: Option<i64>,
}

/// A reaction: the `react` op's payload and the body of
/// `POST /api/live/reactions/`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReactionInput {
    pub target_type: String,
    pub target_id: i64,
    pub reaction_type: String,
}

/// A vote: the `vote` op's payload (over REST the poll is in the path and
/// the body is [`Ballot`]).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VoteInput {
    pub poll: i64,
    pub option: i64,
}

/// The body of `POST /api/live/polls/{id}/vote/`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ballot {
    pub option: i64,
}

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
