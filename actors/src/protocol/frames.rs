//! The shape of each server frame, for its JSON Schema in the AsyncAPI
//! document (`crate::asyncapi`). The frames themselves are built by the
//! functions of [`super`] (their bytes are what clients already read); these
//! types only describe them, each field as it goes on the wire, `type` (and
//! a reply's `ref`) aside. [`super::FrameType::schema`] maps each frame type
//! to one of them.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde_json::Value;

/// `welcome`.
#[derive(JsonSchema)]
pub struct Welcome {
    /// This connection's session id.
    pub session: String,
    /// The signed-in user (`{"id","role",…}`), or null for an anonymous viewer.
    pub user: Option<Value>,
    /// Seconds between the server's pings; answer them or be closed with 4000.
    pub heartbeat_s: u64,
}

/// `subscribed`.
#[derive(JsonSchema)]
pub struct Subscribed {
    pub channel: String,
    /// The channel's epoch: a short token without `:`; resume with it.
    pub epoch: String,
    /// The channel's current last seq.
    pub seq: u64,
    /// The channel's current state (with the ephemeral counts).
    pub snapshot: Value,
}

/// `unsubscribed`.
#[derive(JsonSchema)]
pub struct Unsubscribed {
    pub channel: String,
}

/// A durable frame: `update`, `event_state`, `fight_state`, `comment`,
/// `comment_removed`, `slow_mode`, `ranking`, `notification`.
#[derive(JsonSchema)]
pub struct Durable {
    pub channel: String,
    /// Strictly one more than the previous durable message on this channel.
    pub seq: u64,
    /// The resource as the REST API shows it.
    pub data: Value,
}

/// `event_state` and `fight_state`: `data` in full, or (to a subscription
/// that asked for `delta`) `base` and `patch` instead.
#[derive(JsonSchema)]
pub struct StateFrame {
    pub channel: String,
    /// Strictly one more than the previous durable message on this channel.
    pub seq: u64,
    /// The state in full, as the REST API shows it (absent in a delta).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// A delta only: the `seq` of the earlier frame of the same `type` and
    /// `data.id` on this channel whose `data` `patch` applies to; always one
    /// this subscription was sent since its `subscribed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<u64>,
    /// A delta only: the JSON Merge Patch (RFC 7386) from the base's `data`
    /// to this frame's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<Value>,
    /// A delta only, when some: the members this frame makes null, as JSON
    /// Pointers (RFC 6901) into `data`; set them to null after applying
    /// `patch` (in a merge patch, null means "remove").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nulls: Option<Vec<String>>,
}

/// `poll`: durable when it opens or closes, ephemeral (no `seq`) for a
/// coalesced tally.
#[derive(JsonSchema)]
pub struct PollFrame {
    pub channel: String,
    /// Present when the poll opened or closed; absent on a tally.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The poll as `GET /api/live/polls/{id}/` shows it.
    pub data: Value,
}

/// `skipped`.
#[derive(JsonSchema)]
pub struct Skipped {
    pub channel: String,
    /// The last seq of the range (`data.to_seq`).
    pub seq: u64,
    pub data: SkippedRange,
}

#[derive(JsonSchema)]
pub struct SkippedRange {
    pub from_seq: u64,
    pub to_seq: u64,
    pub count: u64,
}

/// `viewers`.
#[derive(JsonSchema)]
pub struct Viewers {
    pub channel: String,
    pub data: ViewerCount,
}

#[derive(JsonSchema)]
pub struct ViewerCount {
    pub count: u64,
}

/// `reactions`.
#[derive(JsonSchema)]
pub struct Reactions {
    pub channel: String,
    pub data: ReactionTotals,
}

#[derive(JsonSchema)]
pub struct ReactionTotals {
    pub target: ReactionTarget,
    /// Reaction type → count.
    pub totals: BTreeMap<String, u64>,
}

#[derive(JsonSchema)]
pub struct ReactionTarget {
    /// `event`, `fight`, `update`, `comment`, …
    #[schemars(rename = "type")]
    pub target_type: String,
    pub id: i64,
}

/// `presence`.
#[derive(JsonSchema)]
pub struct PresenceFrame {
    pub channel: String,
    pub data: PresenceChange,
}

#[derive(JsonSchema)]
pub struct PresenceChange {
    pub count: u64,
    /// Users who joined since the last `presence` (small channels only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joined: Option<Vec<i64>>,
    /// Users who left since the last `presence` (small channels only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left: Option<Vec<i64>>,
}

/// `unread`.
#[derive(JsonSchema)]
pub struct Unread {
    pub channel: String,
    pub data: UnreadCount,
}

#[derive(JsonSchema)]
pub struct UnreadCount {
    pub unread: u64,
}

/// `broadcast`.
#[derive(JsonSchema)]
pub struct Broadcast {
    /// `{"id","title","message","action_url","created_at"}`.
    pub data: Value,
}

/// `resync`.
#[derive(JsonSchema)]
pub struct Resync {
    pub channel: String,
    pub reason: ResyncReason,
}

/// Why a channel cannot be resumed.
#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResyncReason {
    /// The epoch is not the channel's (its history was reset).
    UnknownEpoch,
    /// Messages after `since` are missing.
    HistoryGap,
    /// `since` is further back than `RESUME_MAX_MESSAGES`.
    TooFarBehind,
    /// The history could not be read now.
    Unavailable,
}

/// `pong`.
#[derive(JsonSchema)]
pub struct Pong {}

/// `ack`.
#[derive(JsonSchema)]
pub struct Ack {
    /// The stored row (`{"id",…}`), as the REST answer.
    pub data: Value,
}

/// `error`.
#[derive(JsonSchema)]
pub struct ErrorFrame {
    /// A stable code (`components.schemas.ErrorCode` lists them).
    pub code: String,
    pub message: String,
    /// With `rate_limited` and `slow_mode`: when to try again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// With a refused subscription: its channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

/// `close` (SSE and long-poll only).
#[derive(JsonSchema)]
pub struct CloseFrame {
    /// A WebSocket close code (the `close codes` of this document).
    pub code: u16,
    pub reason: String,
}
