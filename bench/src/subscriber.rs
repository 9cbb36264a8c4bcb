//! One subscriber: connects from a chosen source address, waits for its
//! `subscribed` frame, then reads every frame, checking the channel sequence
//! and timing each update from its `sent_ns` stamp.
//!
//! This module is the WebSocket subscriber and what every transport shares
//! (the attempts, the connection, the accounting of a frame); `sse` and
//! `long_poll` are the other two transports.
//!
//! Subscribers of one worker run on one thread and share their tally through
//! `Rc<RefCell<_>>`; nothing here panics on a network result: failures are
//! counted by kind.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::time::Duration;

use futures_util::StreamExt;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{timeout, timeout_at, Instant};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::stats::{realtime_ns, Histogram};

/// How subscribers follow the event (DESIGN §3, §12).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    /// `ws://…/api/live/events/{id}/`.
    #[default]
    Websocket,
    /// Server-Sent Events, `GET /api/live/stream/?channels=event:{id}`.
    Sse,
    /// Long-poll, `GET /api/live/poll/?channels=event:{id}&cursor=…`.
    Poll,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Websocket => "websocket",
            Transport::Sse => "sse",
            Transport::Poll => "poll",
        }
    }

    /// The URL subscribers of this transport open on `addr` for `live_event`.
    pub fn url(self, addr: SocketAddr, live_event: i64) -> String {
        match self {
            Transport::Websocket => format!("ws://{addr}/api/live/events/{live_event}/"),
            Transport::Sse => format!("http://{addr}/api/live/stream/?channels=event:{live_event}"),
            Transport::Poll => format!("http://{addr}/api/live/poll/?channels=event:{live_event}"),
        }
    }
}

/// Where a subscriber is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Connecting,
    Subscribed,
    Failed,
    Closed,
}

/// What the worker's control loop can see of one subscriber.
#[derive(Debug)]
pub struct SubState {
    pub phase: Cell<Phase>,
    /// The last sequence number received (from `subscribed`, then updates).
    pub last_seq: Cell<u64>,
    /// The socket, while subscribed (for TCP_INFO readings); -1 otherwise.
    pub fd: Cell<RawFd>,
}

impl Default for SubState {
    fn default() -> Self {
        SubState {
            phase: Cell::new(Phase::Connecting),
            last_seq: Cell::new(0),
            fd: Cell::new(-1),
        }
    }
}

/// Everything a worker's subscribers measured.
#[derive(Debug, Default)]
pub struct Tally {
    pub latency: Histogram,
    /// Text frames received after subscribing, of any type.
    pub frames: u64,
    pub deliveries: u64,
    /// Sequence numbers skipped between two received frames.
    pub gaps: u64,
    /// Frames whose seq was not above the previous one.
    pub order_violations: u64,
    pub parse_errors: u64,
    /// Update frames without a `sent_ns` stamp.
    pub no_timestamp: u64,
    pub first_rx_ns: u64,
    pub last_rx_ns: u64,
    /// Frames without a seq (viewer counts, pongs, …), by type.
    pub unsequenced: BTreeMap<String, u64>,
    /// Connections the server closed after subscribing, by close code.
    pub close_codes: BTreeMap<String, u64>,
    /// Failed attempts and errors, by kind.
    pub errors: BTreeMap<String, u64>,
}

impl Tally {
    pub(crate) fn error(&mut self, kind: impl Into<String>) {
        let mut kind: String = kind.into();
        kind.truncate(120);
        *self.errors.entry(kind).or_default() += 1;
    }
}

/// Where and how subscribers connect.
pub struct Target {
    pub transport: Transport,
    /// The server's socket address.
    pub addr: SocketAddr,
    /// `ws://host:port/path` of the event, or `http://host:port/path?query`.
    pub url: String,
    pub connect_timeout: Duration,
    /// Budget for connect + handshake + `subscribed`, per attempt.
    pub subscribe_timeout: Duration,
    pub attempts: u32,
    /// The worker's hard stop: every read loop ends by then.
    pub deadline: Instant,
}

/// A small read buffer: tens of thousands of these live in one process.
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(Some(1 << 20))
}

/// Runs one subscriber to the end over `target.transport`.
pub async fn run(
    target: Rc<Target>,
    source: IpAddr,
    state: Rc<SubState>,
    tally: Rc<RefCell<Tally>>,
    gate: Rc<Semaphore>,
) {
    match target.transport {
        Transport::Websocket => run_websocket(&target, source, &state, &tally, &gate).await,
        Transport::Sse => crate::sse::run(&target, source, &state, &tally, &gate).await,
        Transport::Poll => crate::long_poll::run(&target, source, &state, &tally, &gate).await,
    }
}

/// One WebSocket subscriber: connect (a few attempts), then read.
async fn run_websocket(
    target: &Target,
    source: IpAddr,
    state: &SubState,
    tally: &RefCell<Tally>,
    gate: &Semaphore,
) {
    let Some((mut ws, seq)) = attempts(target, tally, gate, || subscribe(target, source)).await
    else {
        state.phase.set(Phase::Failed);
        return;
    };
    state.last_seq.set(seq);
    state.fd.set(ws.get_ref().as_raw_fd());
    state.phase.set(Phase::Subscribed);
    read_loop(&mut ws, target, state, tally).await;
    state.fd.set(-1);
}

/// Runs `subscribe` up to `target.attempts` times (each within
/// `target.subscribe_timeout`, a short pause between them), holding one of
/// `gate`'s permits meanwhile: how many subscribes are in flight at once.
/// Failures are counted by kind; `None` when every attempt failed.
pub(crate) async fn attempts<T, F, Fut>(
    target: &Target,
    tally: &RefCell<Tally>,
    gate: &Semaphore,
    mut subscribe: F,
) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let _permit = gate.acquire().await.ok()?;
    for attempt in 0..target.attempts {
        if Instant::now() >= target.deadline {
            break;
        }
        match timeout(target.subscribe_timeout, subscribe()).await {
            Ok(Ok(ok)) => return Some(ok),
            Ok(Err(e)) => tally.borrow_mut().error(e),
            Err(_) => tally.borrow_mut().error("subscribe: timed out"),
        }
        tokio::time::sleep(Duration::from_millis(250 * u64::from(attempt + 1))).await;
    }
    None
}

/// A TCP connection to the server from `source` (any port), without Nagle.
pub(crate) async fn connect(target: &Target, source: IpAddr) -> Result<TcpStream, String> {
    let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
    socket
        .bind(SocketAddr::new(source, 0))
        .map_err(|e| format!("bind {source}: {e}"))?;
    let stream = timeout(target.connect_timeout, socket.connect(target.addr))
        .await
        .map_err(|_| "connect: timed out".to_string())?
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// Notes that the server ended a subscribed connection (`how`: a close code,
/// `eof`, `error`, …).
pub(crate) fn closed(state: &SubState, tally: &RefCell<Tally>, how: impl Into<String>) {
    *tally
        .borrow_mut()
        .close_codes
        .entry(how.into())
        .or_default() += 1;
    state.phase.set(Phase::Closed);
}

/// The kernel's `struct tcp_info` of a socket, as the bytes it filled in:
/// read by offset, since libc's copy of the struct is shorter than what
/// recent kernels write. `None` if the kernel does not say.
pub struct TcpInfo {
    buf: [u8; 256],
    len: usize,
}

impl TcpInfo {
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Reads `TCP_INFO` of `fd` (-1: no socket).
pub fn tcp_info(fd: RawFd) -> Option<TcpInfo> {
    if fd < 0 {
        return None;
    }
    let mut buf = [0u8; 256];
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes into `buf`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            buf.as_mut_ptr().cast(),
            &mut len,
        )
    };
    (rc == 0).then(|| TcpInfo {
        buf,
        len: (len as usize).min(buf.len()),
    })
}

/// Data segments this socket has received (the kernel's
/// `tcp_info.tcpi_data_segs_in`), to see how many frames a server packs
/// into one write. `None` if the kernel does not say.
pub fn data_segments_in(fd: RawFd) -> Option<u64> {
    // Offset of tcpi_data_segs_in in the kernel's struct tcp_info
    // (include/uapi/linux/tcp.h, since Linux 4.6).
    const OFFSET: usize = 152;
    let info = tcp_info(fd)?;
    let bytes: [u8; 4] = info.bytes().get(OFFSET..OFFSET + 4)?.try_into().ok()?;
    Some(u64::from(u32::from_ne_bytes(bytes)))
}

/// Connects from `source`, completes the handshake and reads until the
/// `subscribed` frame; returns the socket and the channel's current seq.
async fn subscribe(
    target: &Target,
    source: IpAddr,
) -> Result<(WebSocketStream<TcpStream>, u64), String> {
    let stream = connect(target, source).await?;
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(target.url.as_str(), stream, Some(ws_config()))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
    // `welcome` comes first, maybe a viewer count; `subscribed` soon after.
    for _ in 0..32 {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                let frame: Incoming = serde_json::from_str(text.as_str())
                    .map_err(|e| format!("subscribe: bad frame: {e}"))?;
                match frame.kind {
                    "subscribed" => return Ok((ws, frame.seq.unwrap_or(0))),
                    "error" => return Err(format!("subscribe: error frame {}", frame.code_text())),
                    _ => {}
                }
            }
            Some(Ok(Message::Close(close))) => {
                return Err(format!(
                    "subscribe: closed {}",
                    close.map(|c| u16::from(c.code)).unwrap_or(0)
                ))
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("subscribe: {e}")),
            None => return Err("subscribe: connection ended".into()),
        }
    }
    Err("subscribe: no subscribed frame".into())
}

async fn read_loop(
    ws: &mut WebSocketStream<TcpStream>,
    target: &Target,
    state: &SubState,
    tally: &RefCell<Tally>,
) {
    // Ends on close, error, or the worker's deadline: one frame per round.
    loop {
        let next = match timeout_at(target.deadline, ws.next()).await {
            Ok(next) => next,
            Err(_) => return,
        };
        match next {
            Some(Ok(Message::Text(text))) => {
                on_frame(text.as_str(), state, tally);
            }
            Some(Ok(Message::Close(close))) => {
                let code = close
                    .map(|c| u16::from(c.code).to_string())
                    .unwrap_or_else(|| "none".into());
                return closed(state, tally, code);
            }
            // Pings are answered by tungstenite as we keep reading.
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                tally.borrow_mut().error(format!("read: {e}"));
                return closed(state, tally, "error");
            }
            None => return closed(state, tally, "eof"),
        }
    }
}

/// Accounts for one frame's JSON received at once; returns the code of a
/// `close` frame (how SSE and long-poll end a session).
pub(crate) fn on_frame(text: &str, state: &SubState, tally: &RefCell<Tally>) -> Option<String> {
    let now = realtime_ns();
    match serde_json::from_str::<Incoming>(text) {
        Ok(frame) => on_incoming(&frame, now, state, tally),
        Err(_) => {
            let mut tally = tally.borrow_mut();
            tally.frames += 1;
            tally.parse_errors += 1;
            None
        }
    }
}

/// Accounts for one parsed frame received at `now` (CLOCK_REALTIME, ns):
/// its seq against the last one, its latency from the update's `sent_ns`.
/// Returns the code of a `close` frame.
pub(crate) fn on_incoming(
    frame: &Incoming,
    now: u64,
    state: &SubState,
    tally: &RefCell<Tally>,
) -> Option<String> {
    let mut tally = tally.borrow_mut();
    tally.frames += 1;
    // Ephemeral frames (viewers, reactions, presence) carry no seq.
    let Some(seq) = frame.seq else {
        let unsequenced = &mut tally.unsequenced;
        if let Some(n) = unsequenced.get_mut(frame.kind) {
            *n += 1;
        } else if unsequenced.len() < 32 {
            unsequenced.insert(frame.kind.to_string(), 1);
        }
        match frame.kind {
            "error" => tally.error(format!("error frame {}", frame.code_text())),
            "close" => return Some(frame.code_text().to_string()),
            _ => {}
        }
        return None;
    };
    if frame.kind == "subscribed" {
        return None;
    }
    let last = state.last_seq.get();
    if seq <= last {
        tally.order_violations += 1;
        return None;
    }
    tally.gaps += seq - last - 1;
    state.last_seq.set(seq);
    tally.deliveries += 1;
    if tally.first_rx_ns == 0 {
        tally.first_rx_ns = now;
    }
    tally.last_rx_ns = tally.last_rx_ns.max(now);
    let sent = frame
        .data
        .0
        .as_ref()
        .and_then(|d| d.data.0.as_ref())
        .and_then(|p| p.sent_ns);
    match sent {
        Some(sent) => tally.latency.record(now.saturating_sub(sent) / 1000),
        None if frame.kind == "update" => tally.no_timestamp += 1,
        None => {}
    }
    None
}

/// The parts of a server frame a subscriber looks at; the rest is skipped
/// without allocating.
#[derive(Deserialize)]
pub(crate) struct Incoming<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: &'a str,
    #[serde(default)]
    pub seq: Option<u64>,
    /// An `error` frame's code (text) or a `close` frame's (a number).
    #[serde(default)]
    code: Option<Code>,
    #[serde(default)]
    data: Lenient<StoredUpdate>,
}

impl Incoming<'_> {
    fn code_text(&self) -> &str {
        self.code.as_ref().map_or("without code", |c| c.0.as_str())
    }
}

/// A frame's `code`, a string or a number, as text.
struct Code(String);

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct CodeVisitor;
        impl Visitor<'_> for CodeVisitor {
            type Value = Code;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or a number")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Code, E> {
                Ok(Code(v.to_string()))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Code, E> {
                Ok(Code(v.to_string()))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Code, E> {
                Ok(Code(v.to_string()))
            }
        }
        d.deserialize_any(CodeVisitor)
    }
}

/// The stored update inside an update frame.
#[derive(Deserialize)]
struct StoredUpdate {
    #[serde(default)]
    data: Lenient<Stamp>,
}

/// The publisher's own `data` object.
#[derive(Deserialize)]
struct Stamp {
    #[serde(default)]
    sent_ns: Option<u64>,
}

/// An object field that may hold anything else (a number, a list, null) in
/// frames we do not time: those are skipped as `None`.
struct Lenient<T>(Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Lenient(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LenientVisitor(PhantomData))
    }
}

struct LenientVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for LenientVisitor<T> {
    type Value = Lenient<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| Lenient(Some(t)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // Bounded by the frame's length.
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Lenient(None))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ringside_update_frames() {
        let state = SubState::default();
        state.last_seq.set(4);
        let tally = RefCell::new(Tally::default());
        let sent = realtime_ns() - 3_000_000;
        let frame = format!(
            r#"{{"channel":"event:1","data":{{"created_at":"x","data":{{"sent_ns":{sent}}},"id":9,"title":"t"}},"seq":5,"type":"update"}}"#
        );
        on_frame(&frame, &state, &tally);
        // A viewer count: no seq, a number as data.
        on_frame(
            r#"{"type":"viewers","channel":"event:1","data":12}"#,
            &state,
            &tally,
        );
        // A gap of one, then a duplicate.
        on_frame(
            r#"{"type":"update","channel":"event:1","seq":7,"data":{"data":[1,2]}}"#,
            &state,
            &tally,
        );
        on_frame(
            r#"{"type":"update","channel":"event:1","seq":7,"data":null}"#,
            &state,
            &tally,
        );
        let t = tally.borrow();
        assert_eq!(t.deliveries, 2);
        assert_eq!(t.gaps, 1);
        assert_eq!(t.order_violations, 1);
        assert_eq!(t.no_timestamp, 1);
        assert_eq!(t.parse_errors, 0);
        assert_eq!(t.latency.count(), 1);
        assert!(t.latency.max() >= 3000);
        assert_eq!(state.last_seq.get(), 7);
    }
}
