//! The WebSocket wire protocol (DESIGN §3): what clients send, what the
//! server answers, the stable error codes and the close codes.
//!
//! A broadcast is serialized once into a [`Frame`] and the same bytes go to
//! every subscriber.

use std::sync::Arc;

use bytestring::ByteString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::channel::Channel;

/// One encoded JSON text frame, cheap to clone (reference counted), with
/// what a transport needs to know of it without parsing it again: its type
/// (an SSE event's name) and where it leaves its channel's resume position
/// (an SSE id, a long-poll cursor). The text is what every transport sends.
///
/// One pointer wide, so a fan-out's copy into each subscriber's queue is
/// small and a clone is one counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame(Arc<Encoded>);

#[derive(Debug, PartialEq, Eq)]
struct Encoded {
    text: ByteString,
    kind: Option<FrameType>,
    mark: Option<Mark>,
}

/// How a frame moves its channel's resume position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// A durable frame: the channel is now at `seq`.
    At { channel: Channel, seq: u64 },
    /// `subscribed`: the channel's epoch and its current last seq.
    Subscribed {
        channel: Channel,
        epoch: String,
        seq: u64,
    },
    /// `resync`: the client reloads; the stream goes on from the subscription.
    Resync { channel: Channel },
}

impl Frame {
    fn new(kind: FrameType, v: &Value, mark: Option<Mark>) -> Frame {
        Frame::encoded(v.to_string(), Some(kind), mark)
    }

    fn encoded(text: String, kind: Option<FrameType>, mark: Option<Mark>) -> Frame {
        Frame(Arc::new(Encoded {
            text: ByteString::from(text),
            kind,
            mark,
        }))
    }

    /// A frame that came as text (from another node): its type and position
    /// are read once here, not per subscriber.
    pub fn received(text: String) -> Frame {
        #[derive(Deserialize)]
        struct Head {
            #[serde(rename = "type")]
            kind: String,
            channel: Option<String>,
            seq: Option<u64>,
        }
        let head = serde_json::from_str::<Head>(&text).ok();
        let kind = head.as_ref().and_then(|h| FrameType::parse(&h.kind));
        let mark = head.and_then(|h| {
            let channel = h.channel?.parse().ok()?;
            Some(Mark::At {
                channel,
                seq: h.seq?,
            })
        });
        Frame::encoded(text, kind, mark)
    }

    pub fn text(&self) -> &ByteString {
        &self.0.text
    }

    pub fn kind(&self) -> Option<FrameType> {
        self.0.kind
    }

    pub fn mark(&self) -> Option<&Mark> {
        self.0.mark.as_ref()
    }
}

impl std::ops::Deref for Frame {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0.text
    }
}

/// Text alone, with no type or position (tests, raw payloads).
impl From<String> for Frame {
    fn from(text: String) -> Frame {
        Frame::encoded(text, None, None)
    }
}

impl From<&str> for Frame {
    fn from(text: &str) -> Frame {
        Frame::from(text.to_string())
    }
}

/// Where a reconnecting client left off on a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Since {
    pub epoch: String,
    pub seq: u64,
}

impl Since {
    /// `<epoch>:<seq>`, the form of the `?since=` URL parameter.
    pub fn parse(s: &str) -> Option<Since> {
        let (epoch, seq) = s.split_once(':')?;
        if epoch.is_empty() {
            return None;
        }
        Some(Since {
            epoch: epoch.to_string(),
            seq: seq.parse().ok()?,
        })
    }
}

/// What a client may send, besides `ref` (any op may carry one; see
/// [`ClientOp::parse`]). The write ops' payloads are the REST bodies' types.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientOp {
    /// Follow a channel (`event:{id}`, `fight:{id}`, `comments:{id}`,
    /// `user:{me}`, `news`, `rankings`, `rankings:{division}`); with `since`,
    /// resume after that `seq`. Answered with `subscribed` (or `resync`, or
    /// `error`).
    Subscribe {
        channel: String,
        since: Option<Since>,
        /// `true`: the state frames (`event_state`, `fight_state`) may come
        /// as deltas, `{"type","channel","seq","base","patch"}`: `patch` is
        /// a JSON Merge Patch (RFC 7386) to apply to the `data` of the
        /// frame of the same type and `data.id` whose `seq` is `base`,
        /// always one this subscription delivered since its `subscribed`.
        /// Replays and snapshots stay full. Default `false`: full frames
        /// only. Anything but a boolean is refused (`bad_request`).
        #[serde(default, deserialize_with = "delta_flag")]
        #[schemars(with = "bool")]
        delta: bool,
    },
    /// Stop following a channel. Answered with `unsubscribed`.
    Unsubscribe { channel: String },
    /// Answered with `pong`.
    Ping {},
    /// Post a comment (signed in). Answered with `ack` once stored, or `error`.
    Comment(CommentInput),
    /// React to a target (signed in). Answered with `ack` or `error`.
    React(ReactionInput),
    /// Vote in an open poll (signed in). Answered with `ack` or `error`.
    Vote(VoteInput),
}

impl ClientOp {
    /// Reads an op from a frame's JSON object: its `ref` (echoed on the
    /// answer, whatever else is wrong), and the op itself.
    pub fn parse(mut frame: Value) -> (Option<Value>, Result<ClientOp, serde_json::Error>) {
        let reference = frame.as_object_mut().and_then(|m| m.remove("ref"));
        (reference, serde_json::from_value(frame))
    }
}

/// A client op that parses as JSON but says something the protocol refuses.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OpError {
    #[error("`delta` must be true or false, not {0}")]
    Delta(Value),
}

impl OpError {
    /// The one place these map to codes.
    pub fn code(&self) -> ErrorCode {
        match self {
            OpError::Delta(_) => ErrorCode::BadRequest,
        }
    }
}

/// `delta` on `subscribe`: a boolean, or a clear refusal naming the field.
fn delta_flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match Value::deserialize(d)? {
        Value::Bool(b) => Ok(b),
        other => Err(serde::de::Error::custom(OpError::Delta(other))),
    }
}

/// Stable error codes of `error` frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    RateLimited,
    TooLarge,
    Muted,
    Banned,
    SlowMode,
    RoomFull,
    Unavailable,
    /// A REST conflict or refusal code passed through as is
    /// (`already_exists`, `invalid_transition`, `content_rejected`, …).
    Other(&'static str),
}

impl ErrorCode {
    /// Every fixed code, with what it means (the AsyncAPI document lists them).
    pub const ALL: [(ErrorCode, &'static str); 11] = [
        (
            ErrorCode::BadRequest,
            "a malformed frame, an unknown op or channel, a missing or invalid field",
        ),
        (
            ErrorCode::Unauthorized,
            "the op needs a signed-in user (or the token is no longer valid)",
        ),
        (
            ErrorCode::Forbidden,
            "the role is too low, or the channel is someone else's",
        ),
        (
            ErrorCode::NotFound,
            "no such channel, event, fight, comment or poll",
        ),
        (
            ErrorCode::RateLimited,
            "too many frames or writes: `retry_after_ms` says when to come back",
        ),
        (ErrorCode::TooLarge, "the message or a field is too large"),
        (
            ErrorCode::Muted,
            "the user is muted on this event or everywhere",
        ),
        (ErrorCode::Banned, "the user is banned"),
        (
            ErrorCode::SlowMode,
            "the event is in slow mode: `retry_after_ms` says when to post again",
        ),
        (
            ErrorCode::RoomFull,
            "the event has as many viewers as it takes (anonymous viewers are refused first)",
        ),
        (
            ErrorCode::Unavailable,
            "the server cannot do it now (storage unreachable): try again",
        ),
    ];

    /// REST conflict and refusal codes a write's `error` may carry as is.
    pub const PASSED_THROUGH: [(&'static str, &'static str); 4] = [
        ("already_voted", "this user already voted in this poll"),
        ("poll_not_open", "the poll is not open"),
        (
            "content_rejected",
            "the comment filter refused the text (blocked term, link spam, the same message again)",
        ),
        (
            "invalid_transition",
            "the target is not in a state that allows it",
        ),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::Muted => "muted",
            ErrorCode::Banned => "banned",
            ErrorCode::SlowMode => "slow_mode",
            ErrorCode::RoomFull => "room_full",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Other(code) => code,
        }
    }
}

/// WebSocket close codes. 1000–1015 are the standard ones; 4000+ are Ringside's.
pub mod close {
    /// The normal close, and the answer to a client's close without a code.
    pub const NORMAL: u16 = 1000;
    /// The client broke the protocol (RFC 6455): unmasked or reserved bits,
    /// unknown opcodes, bad control frames or close codes.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A text message (or close reason) that is not valid UTF-8.
    pub const INVALID_DATA: u16 = 1007;
    /// Policy: banned, too many connections for this user or from this
    /// address, repeated abuse, signed out everywhere.
    pub const POLICY: u16 = 1008;
    /// A frame (or fragmented message) larger than `MAX_MESSAGE_SIZE`,
    /// refused by its header, before its payload is read.
    pub const TOO_LARGE: u16 = 1009;
    /// The server failed.
    pub const SERVER_ERROR: u16 = 1011;
    /// The server is restarting: reconnect and resume.
    pub const RESTART: u16 = 1012;

    /// 1012's reasons, each with the wait a session is asked for: spread
    /// over 0–5 s in steps of 0.5 s. Static, as every close reason is.
    pub const RESTART_REASONS: [&str; 10] = [
        "server restarting: reconnect and resume; retry_after_ms=0",
        "server restarting: reconnect and resume; retry_after_ms=500",
        "server restarting: reconnect and resume; retry_after_ms=1000",
        "server restarting: reconnect and resume; retry_after_ms=1500",
        "server restarting: reconnect and resume; retry_after_ms=2000",
        "server restarting: reconnect and resume; retry_after_ms=2500",
        "server restarting: reconnect and resume; retry_after_ms=3000",
        "server restarting: reconnect and resume; retry_after_ms=3500",
        "server restarting: reconnect and resume; retry_after_ms=4000",
        "server restarting: reconnect and resume; retry_after_ms=4500",
    ];
    /// No answer to pings within `CONNECTION_TIMEOUT`.
    pub const HEARTBEAT_TIMEOUT: u16 = 4000;
    /// The client did not keep up: more than `CHANNEL_CAPACITY` frames waited,
    /// or one waited longer than `CHANNEL_EXPIRY`. Reconnect with `since`.
    pub const TOO_SLOW: u16 = 4001;

    /// Every close code the server sends, with its meaning (README's table;
    /// the AsyncAPI document lists them).
    pub const ALL: [(u16, &str); 9] = [
        (NORMAL, "the answer to the client's own close without a code (a close with a code is echoed with that code); then the server hangs up"),
        (PROTOCOL_ERROR, "protocol error (RFC 6455): an unmasked frame, reserved bits or opcodes, a fragmented or over-125-byte control frame, a continuation with no message, an invalid close code"),
        (INVALID_DATA, "a text message (or close reason) that is not valid UTF-8"),
        (POLICY, "policy: more than MAX_CONNECTIONS_PER_USER connections, more than MAX_CONNECTIONS_PER_IP from the client's address, repeated bad frames or a frame flood, the user was banned; reason `signed out`: the password changed or the user signed out everywhere (do not reconnect with the old token)"),
        (TOO_LARGE, "a message over MAX_MESSAGE_SIZE, refused as soon as its frame header (or a fragmented message's running total) says so"),
        (SERVER_ERROR, "server error"),
        (RESTART, "the server is shutting down or restarting: reconnect (to any node) and resume with `since`, after the reason's `retry_after_ms=N` (spread over 0 to 5 s across the node's sessions, so its clients do not all come back in one instant)"),
        (HEARTBEAT_TIMEOUT, "no answer to pings for CONNECTION_TIMEOUT"),
        (TOO_SLOW, "too slow: more than CHANNEL_CAPACITY frames waited, or one waited over CHANNEL_EXPIRY; reconnect with `since`"),
    ];
}

pub mod frames;
pub mod merge_patch;
pub mod payloads;

use payloads::{CommentInput, ReactionInput, VoteInput};

/// How a frame reaches a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// Sent once, when the socket opens.
    Session,
    /// The answer to one op; echoes its `ref`.
    Reply,
    /// A durable message on a channel: `{"type","channel","seq","data"}`.
    Durable,
    /// An ephemeral message on a channel (coalesced, no `seq`).
    Ephemeral,
    /// To every session (`broadcast`), or to one session about one channel
    /// (`resync`).
    Notice,
}

/// Every frame type the server sends. The builders below and the callers of
/// [`durable`] and [`ephemeral`] use these names (a name not here fails a
/// debug assertion), and [`FrameType::schema`] gives each its JSON Schema
/// for the AsyncAPI document (`crate::asyncapi`), so a new frame type cannot
/// reach the wire undocumented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameType {
    Welcome,
    Subscribed,
    Unsubscribed,
    Update,
    EventState,
    FightState,
    Comment,
    CommentRemoved,
    SlowMode,
    Poll,
    Ranking,
    Notification,
    UpdatePending,
    UpdateReviewed,
    Queue,
    Skipped,
    Viewers,
    Reactions,
    Presence,
    Unread,
    Broadcast,
    Resync,
    Pong,
    Ack,
    Error,
    Close,
}

impl FrameType {
    pub const ALL: [FrameType; 26] = [
        FrameType::Welcome,
        FrameType::Subscribed,
        FrameType::Unsubscribed,
        FrameType::Update,
        FrameType::EventState,
        FrameType::FightState,
        FrameType::Comment,
        FrameType::CommentRemoved,
        FrameType::SlowMode,
        FrameType::Poll,
        FrameType::Ranking,
        FrameType::Notification,
        FrameType::UpdatePending,
        FrameType::UpdateReviewed,
        FrameType::Queue,
        FrameType::Skipped,
        FrameType::Viewers,
        FrameType::Reactions,
        FrameType::Presence,
        FrameType::Unread,
        FrameType::Broadcast,
        FrameType::Resync,
        FrameType::Pong,
        FrameType::Ack,
        FrameType::Error,
        FrameType::Close,
    ];

    /// The frame's `type`.
    pub fn as_str(self) -> &'static str {
        self.describe().0
    }

    pub fn kind(self) -> FrameKind {
        self.describe().1
    }

    /// What the frame says, for the document.
    pub fn summary(self) -> &'static str {
        self.describe().2
    }

    /// Sent without `seq` (through [`ephemeral`]): the ephemeral frames, and
    /// `poll` for a tally between its durable opening and closing.
    pub fn may_be_ephemeral(self) -> bool {
        self.kind() == FrameKind::Ephemeral || self == FrameType::Poll
    }

    pub fn parse(s: &str) -> Option<FrameType> {
        FrameType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// A channel's state, repeated whole at every change: the frames a
    /// subscription that asks for `delta` may get as a patch ([`delta`]).
    pub fn carries_state(self) -> bool {
        matches!(self, FrameType::EventState | FrameType::FightState)
    }

    /// The frame's JSON Schema, every field but `type` (and `ref`, which
    /// [`FrameKind::Reply`] frames echo).
    pub fn schema(self, generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        use frames::*;
        use schemars::JsonSchema as _;
        match self {
            FrameType::Welcome => Welcome::json_schema(generator),
            FrameType::Subscribed => Subscribed::json_schema(generator),
            FrameType::Unsubscribed => Unsubscribed::json_schema(generator),
            FrameType::EventState | FrameType::FightState => StateFrame::json_schema(generator),
            FrameType::Update
            | FrameType::Comment
            | FrameType::CommentRemoved
            | FrameType::SlowMode
            | FrameType::Ranking
            | FrameType::Notification
            | FrameType::UpdatePending
            | FrameType::UpdateReviewed
            | FrameType::Queue => Durable::json_schema(generator),
            FrameType::Poll => PollFrame::json_schema(generator),
            FrameType::Skipped => Skipped::json_schema(generator),
            FrameType::Viewers => Viewers::json_schema(generator),
            FrameType::Reactions => Reactions::json_schema(generator),
            FrameType::Presence => PresenceFrame::json_schema(generator),
            FrameType::Unread => Unread::json_schema(generator),
            FrameType::Broadcast => Broadcast::json_schema(generator),
            FrameType::Resync => Resync::json_schema(generator),
            FrameType::Pong => Pong::json_schema(generator),
            FrameType::Ack => Ack::json_schema(generator),
            FrameType::Error => ErrorFrame::json_schema(generator),
            FrameType::Close => CloseFrame::json_schema(generator),
        }
    }

    fn describe(self) -> (&'static str, FrameKind, &'static str) {
        use FrameKind::*;
        match self {
            FrameType::Welcome => ("welcome", Session, "The first frame on every socket: the session id, the signed-in user (or null) and the heartbeat period."),
            FrameType::Subscribed => ("subscribed", Reply, "A subscription holds: the channel's epoch and current last seq, and its snapshot; replayed messages (after `since`) follow."),
            FrameType::Unsubscribed => ("unsubscribed", Reply, "The session no longer follows the channel."),
            FrameType::Update => ("update", Durable, "A live update (on its event, its fight, and `news` when breaking)."),
            FrameType::EventState => ("event_state", Durable, "The live event's state: start, end, the current fight. To a `delta` subscription, possibly as a delta: `base` and `patch` instead of `data`."),
            FrameType::FightState => ("fight_state", Durable, "A fight's state: round, clock, stats, scores, result (on the fight and its event). To a `delta` subscription, possibly as a delta: `base` and `patch` instead of `data`."),
            FrameType::Comment => ("comment", Durable, "A new comment on the event's comment stream."),
            FrameType::CommentRemoved => ("comment_removed", Durable, "A comment was hidden or deleted by a moderator."),
            FrameType::SlowMode => ("slow_mode", Durable, "A moderator set the live event's slow mode (on `comments:{live_event}`): `{live_event, slow_mode_seconds}`, one comment per user per that many seconds, 0 for off; the `comments:` snapshot's `slow_mode_seconds` is the same value."),
            FrameType::Poll => ("poll", Durable, "A poll opened or closed (durable: with `seq`), or its tally changed (coalesced: no `seq`)."),
            FrameType::Ranking => ("ranking", Durable, "A fighter's rank or rating moved (on `rankings` and `rankings:{division}`), one frame per fighter: the ranking history row's fields `at`, `fight`, `cause`, `rank_before`, `rank_after`, `rating_before`, `rating_after`, `reason`, with `fighter`, `fighter_name` and `division`."),
            FrameType::Notification => ("notification", Durable, "An in-app notification for this user (on `user:{id}`)."),
            FrameType::UpdatePending => ("update_pending", Durable, "A reporter's live update awaiting approval (on `moderation:{event}`): the stored update, as in `update`."),
            FrameType::UpdateReviewed => ("update_reviewed", Durable, "A waiting update was approved or rejected (on `moderation:{event}`): `id`, `review` (`approved` or `rejected`), `by`."),
            FrameType::Queue => ("queue", Durable, "A comment entered the moderation queue (on `moderation:{event}`): `reason` (`held` by the filter, or `reported`), `comment` (the comment's view), `reports` (its report count)."),
            FrameType::Skipped => ("skipped", Durable, "Comments the room left out under its fan-out budget: the seq range they held, so the sequence stays gap-free."),
            FrameType::Viewers => ("viewers", Ephemeral, "The channel's viewer count."),
            FrameType::Reactions => ("reactions", Ephemeral, "A target's reaction totals."),
            FrameType::Presence => ("presence", Ephemeral, "Who is on the channel: the count and, in small channels, who joined and left."),
            FrameType::Unread => ("unread", Ephemeral, "The user's unread notification count (on `user:{id}`)."),
            FrameType::Broadcast => ("broadcast", Notice, "An emergency broadcast: every session gets it, whatever it follows (no channel, no seq)."),
            FrameType::Resync => ("resync", Notice, "The channel cannot be resumed from `since`: reload its snapshot over REST and subscribe again."),
            FrameType::Pong => ("pong", Reply, "The answer to `ping`."),
            FrameType::Ack => ("ack", Reply, "A write (comment, react, vote) was committed: the stored row."),
            FrameType::Error => ("error", Reply, "An op was refused, with a stable `code`; the socket stays open."),
            FrameType::Close => ("close", Notice, "SSE and long-poll only (a WebSocket gets a close frame instead): the server ends the stream with a close code and reason, the WebSocket's; reconnect with the cursor, unless the code says not to (1008)."),
        }
    }
}

fn with_ref(mut v: Value, reference: &Option<Value>) -> Value {
    if let Some(r) = reference {
        v["ref"] = r.clone();
    }
    v
}

pub fn welcome(session: &str, user: Option<Value>, heartbeat_s: u64) -> Frame {
    Frame::new(
        FrameType::Welcome,
        &json!({ "type": FrameType::Welcome.as_str(), "session": session, "user": user, "heartbeat_s": heartbeat_s }),
        None,
    )
}

pub fn subscribed(
    channel: &Channel,
    epoch: &str,
    seq: u64,
    snapshot: &Value,
    reference: &Option<Value>,
) -> Frame {
    Frame::new(
        FrameType::Subscribed,
        &with_ref(
            json!({ "type": FrameType::Subscribed.as_str(), "channel": channel.to_string(), "epoch": epoch, "seq": seq, "snapshot": snapshot }),
            reference,
        ),
        Some(Mark::Subscribed {
            channel: channel.clone(),
            epoch: epoch.to_string(),
            seq,
        }),
    )
}

pub fn unsubscribed(channel: &Channel, reference: &Option<Value>) -> Frame {
    Frame::new(
        FrameType::Unsubscribed,
        &with_ref(
            json!({ "type": FrameType::Unsubscribed.as_str(), "channel": channel.to_string() }),
            reference,
        ),
        None,
    )
}

/// A durable message: `{"type","channel","seq","data"}`.
pub fn durable(frame_type: &str, channel: &Channel, seq: u64, data: &Value) -> Frame {
    let kind = FrameType::parse(frame_type);
    debug_assert_eq!(
        kind.map(FrameType::kind),
        Some(FrameKind::Durable),
        "{frame_type:?} is not a durable protocol::FrameType"
    );
    Frame::encoded(
        json!({ "type": frame_type, "channel": channel.to_string(), "seq": seq, "data": data })
            .to_string(),
        kind,
        Some(Mark::At {
            channel: channel.clone(),
            seq,
        }),
    )
}

/// A state frame as a delta (`delta: true` subscriptions only):
/// `{"type","channel","seq","base","patch","nulls"?}`, `patch` the JSON
/// Merge Patch from the `data` of the frame at `base` (same type, same
/// `data.id`) to this one's, `nulls` the members it makes null
/// ([`merge_patch`]). Its position is the full frame's: resume positions,
/// SSE ids and cursors do not see the difference.
pub fn delta(
    kind: FrameType,
    channel: &Channel,
    seq: u64,
    base: u64,
    patch: &Value,
    nulls: &[String],
) -> Frame {
    debug_assert!(kind.carries_state(), "{kind:?} carries no state");
    let mut v = json!({ "type": kind.as_str(), "channel": channel.to_string(), "seq": seq, "base": base, "patch": patch });
    if !nulls.is_empty() {
        v["nulls"] = json!(nulls);
    }
    Frame::new(
        kind,
        &v,
        Some(Mark::At {
            channel: channel.clone(),
            seq,
        }),
    )
}

/// An ephemeral message (viewers, reactions, presence): no `seq`.
pub fn ephemeral(frame_type: &str, channel: &Channel, data: &Value) -> Frame {
    let kind = FrameType::parse(frame_type);
    debug_assert!(
        kind.is_some_and(FrameType::may_be_ephemeral),
        "{frame_type:?} is not an ephemeral protocol::FrameType"
    );
    Frame::encoded(
        json!({ "type": frame_type, "channel": channel.to_string(), "data": data }).to_string(),
        kind,
        None,
    )
}

/// An emergency broadcast: every session gets it, whatever it follows (no
/// channel, no seq).
pub fn broadcast(data: &Value) -> Frame {
    Frame::new(
        FrameType::Broadcast,
        &json!({ "type": FrameType::Broadcast.as_str(), "data": data }),
        None,
    )
}

pub fn resync(channel: &Channel, reason: &str) -> Frame {
    Frame::new(
        FrameType::Resync,
        &json!({ "type": FrameType::Resync.as_str(), "channel": channel.to_string(), "reason": reason }),
        Some(Mark::Resync {
            channel: channel.clone(),
        }),
    )
}

pub fn pong(reference: &Option<Value>) -> Frame {
    Frame::new(
        FrameType::Pong,
        &with_ref(json!({ "type": FrameType::Pong.as_str() }), reference),
        None,
    )
}

pub fn error(code: ErrorCode, message: &str, reference: &Option<Value>) -> Frame {
    refused(code, message, None, reference)
}

/// A subscription refused: the error names its channel, so a stream that
/// follows several (SSE, long-poll: no `ref`) knows which one failed.
pub fn subscription_error(
    channel: &Channel,
    code: ErrorCode,
    message: &str,
    reference: &Option<Value>,
) -> Frame {
    Frame::new(
        FrameType::Error,
        &with_ref(
            json!({ "type": FrameType::Error.as_str(), "code": code.as_str(), "message": message, "channel": channel.to_string() }),
            reference,
        ),
        None,
    )
}

/// A `rate_limited` error that says when to come back.
pub fn rate_limited(message: &str, retry_after_ms: u64, reference: &Option<Value>) -> Frame {
    refused(
        ErrorCode::RateLimited,
        message,
        Some(retry_after_ms),
        reference,
    )
}

/// An error that may say when to try again (`rate_limited`, `slow_mode`).
pub fn refused(
    code: ErrorCode,
    message: &str,
    retry_after_ms: Option<u64>,
    reference: &Option<Value>,
) -> Frame {
    let mut v =
        json!({ "type": FrameType::Error.as_str(), "code": code.as_str(), "message": message });
    if let Some(ms) = retry_after_ms {
        v["retry_after_ms"] = json!(ms);
    }
    Frame::new(FrameType::Error, &with_ref(v, reference), None)
}

/// A write was stored: `{"type":"ack","ref","data"}`.
pub fn ack(data: &Value, reference: &Option<Value>) -> Frame {
    Frame::new(
        FrameType::Ack,
        &with_ref(
            json!({ "type": FrameType::Ack.as_str(), "data": data }),
            reference,
        ),
        None,
    )
}

/// The end of an SSE or long-poll stream: what a WebSocket close frame says.
pub fn closing(code: u16, reason: &str) -> Frame {
    Frame::new(
        FrameType::Close,
        &json!({ "type": FrameType::Close.as_str(), "code": code, "reason": reason }),
        None,
    )
}

/// Comments a room left out under its fan-out budget: the `seq` range they
/// held, so the client's sequence stays gap-free and resumable.
pub fn skipped(channel: &Channel, from: u64, to: u64) -> Frame {
    Frame::new(
        FrameType::Skipped,
        &json!({
            "type": FrameType::Skipped.as_str(), "channel": channel.to_string(), "seq": to,
            "data": { "from_seq": from, "to_seq": to, "count": to + 1 - from }
        }),
        Some(Mark::At {
            channel: channel.clone(),
            seq: to,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_parse_and_unknown_ones_do_not() {
        let parse = |text: &str| ClientOp::parse(serde_json::from_str(text).expect("JSON"));
        let (reference, op) = parse(
            r#"{"op":"subscribe","channel":"event:42","since":{"epoch":"k3x9","seq":17},"ref":1}"#,
        );
        assert_eq!(reference, Some(serde_json::json!(1)));
        assert!(matches!(
            op,
            Ok(ClientOp::Subscribe {
                since: Some(Since { seq: 17, .. }),
                ..
            })
        ));
        let (_, op) = parse(r#"{"op":"comment","live_event":7,"content":"jab","ref":"c1"}"#);
        assert!(matches!(
            op,
            Ok(ClientOp::Comment(CommentInput { live_event: 7, .. }))
        ));
        assert!(parse(r#"{"op":"dance"}"#).1.is_err());
        let (reference, op) = parse(r#"{"op":"ping","extra":1,"ref":9}"#);
        assert!(op.is_err() && reference == Some(serde_json::json!(9)));
        assert!(parse(r#"{"op":"vote","poll":1,"option":2,"content":"x"}"#)
            .1
            .is_err());
    }

    #[test]
    fn subscribe_takes_delta_as_a_boolean_only() {
        let parse = |text: &str| ClientOp::parse(serde_json::from_str(text).expect("JSON")).1;
        assert!(matches!(
            parse(r#"{"op":"subscribe","channel":"fight:7"}"#),
            Ok(ClientOp::Subscribe { delta: false, .. })
        ));
        assert!(matches!(
            parse(r#"{"op":"subscribe","channel":"fight:7","delta":true}"#),
            Ok(ClientOp::Subscribe { delta: true, .. })
        ));
        for bad in [r#""yes""#, "1", "null"] {
            let text = format!(r#"{{"op":"subscribe","channel":"fight:7","delta":{bad}}}"#);
            let e = parse(&text).expect_err("refused");
            assert!(
                e.to_string().contains("`delta` must be true or false"),
                "{e}"
            );
        }
    }

    #[test]
    fn a_delta_frame_keeps_the_full_frames_type_and_position() {
        let channel = Channel::Fight(7);
        let f = delta(
            FrameType::FightState,
            &channel,
            42,
            39,
            &json!({ "round": 2 }),
            &[],
        );
        let v: Value = serde_json::from_str(&f).expect("json");
        assert_eq!(
            v,
            json!({ "type": "fight_state", "channel": "fight:7", "seq": 42, "base": 39, "patch": { "round": 2 } })
        );
        assert_eq!(f.kind(), Some(FrameType::FightState));
        assert_eq!(
            f.mark(),
            Some(&Mark::At {
                channel: channel.clone(),
                seq: 42
            })
        );
        assert_eq!(
            Frame::received(f.text().to_string()).mark(),
            f.mark(),
            "another node reads the same position"
        );
    }

    #[test]
    fn since_parses_from_the_url_form() {
        assert_eq!(
            Since::parse("k3x9:17"),
            Some(Since {
                epoch: "k3x9".into(),
                seq: 17
            })
        );
        assert_eq!(Since::parse(":17"), None);
        assert_eq!(Since::parse("k3x9"), None);
        assert_eq!(Since::parse("k3x9:x"), None);
    }

    #[test]
    fn frames_echo_ref() {
        let f = pong(&Some(json!(6)));
        let v: Value = serde_json::from_str(&f).expect("json");
        assert_eq!(v, json!({ "type": "pong", "ref": 6 }));
    }
}
