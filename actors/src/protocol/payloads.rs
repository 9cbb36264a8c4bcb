//! The write ops' payloads, each one type: the WebSocket op carries it and
//! the REST endpoint of the same write takes it as its body.

use schemars::JsonSchema;
use serde::Deserialize;

/// A comment: the `comment` op's payload and the body of
/// `POST /api/live/comments/`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = CommentCreate, description = r#"Unknown fields are refused."#))]
pub struct CommentInput {
    /// Live event id; must exist and not be `completed` or `cancelled`.
    pub live_event: i64,
    #[serde(default)]
    /// A live fight on this live event's card.
    #[cfg_attr(feature = "openapi", schema(default = json!(null)))]
    pub live_fight: Option<i64>,
    /// Trimmed before the length check.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 1000))]
    pub content: String,
    #[serde(default)]
    /// A shown comment of the same live event to reply to.
    #[cfg_attr(feature = "openapi", schema(default = json!(null)))]
    pub parent_comment: Option<i64>,
}

/// A reaction: the `react` op's payload and the body of
/// `POST /api/live/reactions/`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ReactionCreate, description = r#"Unknown fields are refused."#))]
pub struct ReactionInput {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::vocabulary::ReactionTarget))]
    pub target_type: String,
    /// The target's id: a verified live update, a shown comment, a live fight or a live event.
    pub target_id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::vocabulary::ReactionType))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = VoteRequest, description = r#"Unknown fields are refused."#))]
pub struct Ballot {
    /// An option (id) of this poll.
    pub option: i64,
}
