//! The write ops' payloads, each one type: the WebSocket op carries it and
//! the REST endpoint of the same write takes it as its body.

use schemars::JsonSchema;
use serde::Deserialize;

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
