//! What the live core tells an operator, as events; the edges count them.
//!
//! This crate has no metrics library: the edges (`src/metrics.rs`) implement
//! [`Telemetry`] over Prometheus series and [`install`] it once per process.
//! Until then (unit tests, tools) every event goes nowhere. Each call is one
//! virtual call, so the hot paths (the writer, fan-out) pay a few atomic adds.

use std::sync::OnceLock;
use std::time::Duration;

use crate::channel::Channel;

/// The code counted for a connection that ended without a close frame
/// (RFC 6455 §7.1.5; never sent on the wire).
pub const ABNORMAL: u16 = 1006;

/// Who ended a WebSocket connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initiator {
    /// The server sent (or asked to send) the close frame.
    Server,
    /// The client's close, echoed; or the connection dropped without one (1006).
    Client,
}

impl Initiator {
    pub fn as_str(self) -> &'static str {
        match self {
            Initiator::Server => "server",
            Initiator::Client => "client",
        }
    }
}

/// Every method has a do-nothing default, so an implementation counts what
/// it cares about.
pub trait Telemetry: Send + Sync + 'static {
    /// A session was admitted; `kind` is its endpoint's ([`session_kind`]),
    /// `transport` how it is connected (`websocket`, `sse`, `poll`).
    fn session_opened(&self, _kind: &'static str, _transport: &'static str) {}
    fn session_closed(&self, _kind: &'static str, _transport: &'static str) {}
    /// Frames handed to sockets (text, pings and pongs).
    fn frames_sent(&self, _n: u64) {}
    /// A close frame, by code and who started it.
    fn closed(&self, _code: u16, _by: Initiator) {}
    /// A durable frame went from the bus hand-over to the last subscriber's
    /// queue of this node.
    fn fanned_out(&self, _elapsed: Duration) {}
    /// A client was refused for going too fast (`ws_frame`, `ws_writes`).
    fn rate_limited(&self, _kind: &'static str) {}
    /// Rooms told to reload from the store (`bus`), or replaced (`replaced`).
    fn rooms_reloaded(&self, _reason: &'static str, _rooms: usize) {}
    /// A persistence actor's queue (jobs waiting) and its bound.
    fn persistence_queue(&self, _writer: &'static str, _depth: usize, _limit: usize) {}
    /// A batch committed (or not started) after `elapsed` on the blocking pool.
    fn persistence_batch(&self, _writer: &'static str, _size: usize, _elapsed: Duration) {}
    /// Storage was down: the batch goes back to the queue.
    fn persistence_retry(&self, _writer: &'static str) {}
    /// A write was refused because the queue was full.
    fn persistence_refused(&self, _writer: &'static str) {}
    /// A write was answered `Expired`: not committed by its deadline, never applied.
    fn persistence_expired(&self, _writer: &'static str) {}
}

struct Nowhere;
impl Telemetry for Nowhere {}

static SINK: OnceLock<Box<dyn Telemetry>> = OnceLock::new();

/// Sets where events go, once per process; false if one was set already.
pub fn install(sink: Box<dyn Telemetry>) -> bool {
    SINK.set(sink).is_ok()
}

/// Where events go now.
pub fn sink() -> &'static dyn Telemetry {
    match SINK.get() {
        Some(sink) => sink.as_ref(),
        None => &Nowhere,
    }
}

/// The label of a channel's kind (`rankings:{id}` counts as `rankings`).
pub fn channel_kind(channel: &Channel) -> &'static str {
    match channel {
        Channel::Event(_) => "event",
        Channel::Fight(_) => "fight",
        Channel::Comments(_) => "comments",
        Channel::User(_) => "user",
        Channel::Moderation(_) => "moderation",
        Channel::News => "news",
        Channel::Rankings | Channel::Division(_) => "rankings",
    }
}

/// Every label [`channel_kind`] gives, for series that list them all.
pub const CHANNEL_KINDS: [&str; 7] = [
    "event",
    "fight",
    "comments",
    "user",
    "moderation",
    "news",
    "rankings",
];

/// A session's kind: the channel its endpoint follows, `none` for none.
pub fn session_kind(initial: Option<&Channel>) -> &'static str {
    initial.map_or("none", channel_kind)
}

/// Counts a session as open until dropped (held by the session actor).
pub struct OpenSession {
    kind: &'static str,
    transport: &'static str,
}

impl OpenSession {
    pub fn new(kind: &'static str, transport: &'static str) -> OpenSession {
        sink().session_opened(kind, transport);
        OpenSession { kind, transport }
    }
}

impl Drop for OpenSession {
    fn drop(&mut self) {
        sink().session_closed(self.kind, self.transport);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_has_a_listed_kind() {
        let channels = [
            Channel::Event(1),
            Channel::Fight(2),
            Channel::Comments(1),
            Channel::User(5),
            Channel::News,
            Channel::Rankings,
            Channel::Division(3),
        ];
        let kinds: Vec<&str> = channels.iter().map(channel_kind).collect();
        assert_eq!(
            kinds,
            ["event", "fight", "comments", "user", "news", "rankings", "rankings"]
        );
        for channel in &channels {
            assert!(CHANNEL_KINDS.contains(&channel_kind(channel)), "{channel}");
        }
        assert_eq!(
            (Initiator::Server.as_str(), Initiator::Client.as_str()),
            ("server", "client")
        );
        assert_eq!(session_kind(None), "none");
        assert_eq!(session_kind(Some(&Channel::User(5))), "user");
        // Without a sink installed, events go nowhere (and do not panic).
        drop(OpenSession::new("event", "sse"));
        sink().closed(ABNORMAL, Initiator::Client);
    }
}
