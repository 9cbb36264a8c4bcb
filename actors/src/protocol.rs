//! The WebSocket wire protocol (DESIGN §3): what clients send, what the
//! server answers, the stable error codes and the close codes.
//!
//! A broadcast is serialized once into a [`Frame`] and the same bytes go to
//! every subscriber.

use crate::writes::{CommentInput, ReactionInput, VoteInput};
use bytestring::ByteString;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::channel::Channel;

/// One encoded JSON text frame, cheap to clone (reference counted).
pub type Frame = ByteString;

/// Where a reconnecting client left off on a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientOp {
    Subscribe {
        channel: String,
        since: Option<Since>,
    },
    Unsubscribe {
        channel: String,
    },
    Ping {},
    /// Writes: answered with `ack` once stored, or `error`.
    Comment(CommentInput),
    React(ReactionInput),
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
    /// No answer to pings within `CONNECTION_TIMEOUT`.
    pub const HEARTBEAT_TIMEOUT: u16 = 4000;
    /// The client did not keep up: more than `CHANNEL_CAPACITY` frames waited,
    /// or one waited longer than `CHANNEL_EXPIRY`. Reconnect with `since`.
    pub const TOO_SLOW: u16 = 4001;
}

fn with_ref(mut v: Value, reference: &Option<Value>) -> Value {
    if let Some(r) = reference {
        v["ref"] = r.clone();
    }
    v
}

fn encode(v: &Value) -> Frame {
    ByteString::from(v.to_string())
}

pub fn welcome(session: &str, user: Option<Value>, heartbeat_s: u64) -> Frame {
    encode(
        &json!({ "type": "welcome", "session": session, "user": user, "heartbeat_s": heartbeat_s }),
    )
}

pub fn subscribed(
    channel: &Channel,
    epoch: &str,
    seq: u64,
    snapshot: &Value,
    reference: &Option<Value>,
) -> Frame {
    encode(&with_ref(
        json!({ "type": "subscribed", "channel": channel.to_string(), "epoch": epoch, "seq": seq, "snapshot": snapshot }),
        reference,
    ))
}

pub fn unsubscribed(channel: &Channel, reference: &Option<Value>) -> Frame {
    encode(&with_ref(
        json!({ "type": "unsubscribed", "channel": channel.to_string() }),
        reference,
    ))
}

/// A durable message: `{"type","channel","seq","data"}`.
pub fn durable(frame_type: &str, channel: &Channel, seq: u64, data: &Value) -> Frame {
    encode(&json!({ "type": frame_type, "channel": channel.to_string(), "seq": seq, "data": data }))
}

/// An ephemeral message (viewers, reactions, presence): no `seq`.
pub fn ephemeral(frame_type: &str, channel: &Channel, data: &Value) -> Frame {
    encode(&json!({ "type": frame_type, "channel": channel.to_string(), "data": data }))
}

/// An emergency broadcast: every session gets it, whatever it follows (no
/// channel, no seq).
pub fn broadcast(data: &Value) -> Frame {
    encode(&json!({ "type": "broadcast", "data": data }))
}

pub fn resync(channel: &Channel, reason: &str) -> Frame {
    encode(&json!({ "type": "resync", "channel": channel.to_string(), "reason": reason }))
}

pub fn pong(reference: &Option<Value>) -> Frame {
    encode(&with_ref(json!({ "type": "pong" }), reference))
}

pub fn error(code: ErrorCode, message: &str, reference: &Option<Value>) -> Frame {
    encode(&with_ref(
        json!({ "type": "error", "code": code.as_str(), "message": message }),
        reference,
    ))
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
    let mut v = json!({ "type": "error", "code": code.as_str(), "message": message });
    if let Some(ms) = retry_after_ms {
        v["retry_after_ms"] = json!(ms);
    }
    encode(&with_ref(v, reference))
}

/// A write was stored: `{"type":"ack","ref","data"}`.
pub fn ack(data: &Value, reference: &Option<Value>) -> Frame {
    encode(&with_ref(json!({ "type": "ack", "data": data }), reference))
}

/// Comments a room left out under its fan-out budget: the `seq` range they
/// held, so the client's sequence stays gap-free and resumable.
pub fn skipped(channel: &Channel, from: u64, to: u64) -> Frame {
    encode(&json!({
        "type": "skipped", "channel": channel.to_string(), "seq": to,
        "data": { "from_seq": from, "to_seq": to, "count": to + 1 - from }
    }))
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
