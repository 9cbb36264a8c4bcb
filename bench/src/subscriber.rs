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
    /// Lost its connection and resuming elsewhere (`--reconnect`).
    Reconnecting,
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
    /// Where a `resync` puts the stream: the last `subscribed` frame's seq.
    pub resync_to: Cell<u64>,
}

impl Default for SubState {
    fn default() -> Self {
        SubState {
            phase: Cell::new(Phase::Connecting),
            last_seq: Cell::new(0),
            fd: Cell::new(-1),
            resync_to: Cell::new(0),
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
    /// Connections lost after subscribing and resumed (`--reconnect`).
    pub resumed: u64,
    /// Resume attempts refused or failed before one held.
    pub resume_refusals: u64,
    /// The most refusals one resume met.
    pub resume_refusals_max: u64,
    /// `resync` frames: history a resume could not replay (a loss).
    pub resyncs: u64,
    /// From losing the connection to the next `subscribed`, µs.
    pub resume_time: Histogram,
}

impl Tally {
    pub(crate) fn error(&mut self, kind: impl Into<String>) {
        let mut kind: String = kind.into();
        kind.truncate(120);
        *self.errors.entry(kind).or_default() += 1;
    }
}

/// Where subscribers go when they lose their connection: every node's
/// address and URL (`--reconnect`).
pub struct Reconnect {
    pub nodes: Vec<(SocketAddr, String)>,
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
    /// Resume on another node after a lost connection, or end there.
    pub reconnect: Option<Reconnect>,
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

/// One WebSocket subscriber: connect (a few attempts), then read; with
/// `target.reconnect`, resume on another node each time the connection is
/// lost, as a real client does.
async fn run_websocket(
    target: &Target,
    source: IpAddr,
    state: &SubState,
    tally: &RefCell<Tally>,
    gate: &Semaphore,
) {
    let first = || subscribe(target.addr, &target.url, target, source);
    let Some((mut ws, sub)) = attempts(target, tally, gate, first).await else {
        state.phase.set(Phase::Failed);
        return;
    };
    state.last_seq.set(sub.seq);
    state.resync_to.set(sub.seq);
    let mut epoch = sub.epoch;
    // Differs per subscriber so a crowd spreads over the nodes.
    let mut rng = Rng::new(source, state as *const SubState as u64);
    let mut node = target.reconnect.as_ref().map_or(0, |r| {
        r.nodes
            .iter()
            .position(|(addr, _)| *addr == target.addr)
            .unwrap_or(0)
    });
    loop {
        state.fd.set(ws.get_ref().as_raw_fd());
        state.phase.set(Phase::Subscribed);
        let ended = read_loop(&mut ws, target, state, tally).await;
        state.fd.set(-1);
        // The worker's deadline: nothing more to do.
        let Some(ended) = ended else { return };
        let Some(reconnect) = &target.reconnect else {
            return closed(state, tally, ended.how);
        };
        *tally.borrow_mut().close_codes.entry(ended.how).or_default() += 1;
        state.phase.set(Phase::Reconnecting);
        let lost = Lost {
            epoch: &epoch,
            retry_after: ended.retry_after,
            node: &mut node,
        };
        match resume(target, reconnect, source, state, tally, lost, &mut rng).await {
            Some((next, sub)) => {
                ws = next;
                epoch = sub.epoch;
                state.resync_to.set(sub.seq);
            }
            None => return closed(state, tally, "gave up resuming"),
        }
    }
}

/// A lost connection: the epoch held, the server's retry hint (1012), and
/// the node it was on (updated to the node resumed on).
struct Lost<'a> {
    epoch: &'a str,
    retry_after: Option<Duration>,
    node: &'a mut usize,
}

/// Reconnects to a node other than the last one tried, with `?since=` the
/// last seq held, until one answers `subscribed` or the worker's deadline:
/// the first try after the server's retry hint or up to 1 s, then
/// exponential backoff with full jitter, at most 5 s.
async fn resume(
    target: &Target,
    reconnect: &Reconnect,
    source: IpAddr,
    state: &SubState,
    tally: &RefCell<Tally>,
    lost: Lost<'_>,
    rng: &mut Rng,
) -> Option<(WebSocketStream<TcpStream>, Subscription)> {
    let since = Instant::now();
    let mut wait = match lost.retry_after {
        Some(hint) => hint + Duration::from_millis(rng.below(hint.as_millis() as u64 / 2 + 1)),
        None => Duration::from_millis(rng.below(1000)),
    };
    let mut refusals = 0u64;
    let nodes = reconnect.nodes.len().max(1);
    loop {
        tokio::time::sleep(wait).await;
        if Instant::now() >= target.deadline {
            return None;
        }
        // Any node but the one that failed last.
        let node = (*lost.node + 1 + rng.below(nodes.max(2) as u64 - 1) as usize) % nodes;
        *lost.node = node;
        let (addr, base) = reconnect.nodes.get(node)?;
        let url = format!("{base}?since={}:{}", lost.epoch, state.last_seq.get());
        match timeout(
            target.subscribe_timeout,
            subscribe(*addr, &url, target, source),
        )
        .await
        {
            Ok(Ok(ok)) => {
                let mut t = tally.borrow_mut();
                t.resumed += 1;
                t.resume_refusals_max = t.resume_refusals_max.max(refusals);
                t.resume_time.record(since.elapsed().as_micros() as u64);
                return Some(ok);
            }
            Ok(Err(e)) => tally.borrow_mut().error(format!("resume: {e}")),
            Err(_) => tally.borrow_mut().error("resume: timed out"),
        }
        refusals += 1;
        tally.borrow_mut().resume_refusals += 1;
        let ceiling = (250u64 << refusals.min(5)).min(5000);
        wait = Duration::from_millis(rng.below(ceiling) + 50);
    }
}

/// A small xorshift generator: jitter without a dependency.
struct Rng(u64);

impl Rng {
    fn new(source: IpAddr, salt: u64) -> Rng {
        let ip = match source {
            IpAddr::V4(v4) => u64::from(u32::from(v4)),
            IpAddr::V6(v6) => u128::from(v6) as u64,
        };
        Rng((ip << 32 ^ salt ^ crate::stats::realtime_ns()) | 1)
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        if n == 0 {
            0
        } else {
            self.0 % n
        }
    }
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
    connect_to(target.addr, target.connect_timeout, source).await
}

async fn connect_to(
    addr: SocketAddr,
    limit: Duration,
    source: IpAddr,
) -> Result<TcpStream, String> {
    let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
    socket
        .bind(SocketAddr::new(source, 0))
        .map_err(|e| format!("bind {source}: {e}"))?;
    let stream = timeout(limit, socket.connect(addr))
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

/// What a `subscribed` frame says.
pub(crate) struct Subscription {
    pub epoch: String,
    /// The channel's last seq when the subscription began.
    pub seq: u64,
}

/// How a subscribed connection ended.
struct Ended {
    /// A close code, `eof` or `error`.
    how: String,
    /// A 1012's `retry_after_ms` hint.
    retry_after: Option<Duration>,
}

/// Connects from `source` to `addr`, completes the handshake on `url` and
/// reads until the `subscribed` frame.
async fn subscribe(
    addr: SocketAddr,
    url: &str,
    target: &Target,
    source: IpAddr,
) -> Result<(WebSocketStream<TcpStream>, Subscription), String> {
    let stream = connect_to(addr, target.connect_timeout, source).await?;
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config()))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    // `welcome` comes first, maybe a viewer count; `subscribed` soon after.
    for _ in 0..32 {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                let frame: Incoming = serde_json::from_str(text.as_str())
                    .map_err(|e| format!("subscribe: bad frame: {e}"))?;
                match frame.kind {
                    "subscribed" => {
                        let sub = Subscription {
                            epoch: frame.epoch.unwrap_or_default().to_string(),
                            seq: frame.seq.unwrap_or(0),
                        };
                        return Ok((ws, sub));
                    }
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

/// The channel's last seq now: one subscription's `subscribed` frame.
pub(crate) async fn current_seq(addr: SocketAddr, url: &str) -> Result<u64, String> {
    let stream = timeout(Duration::from_secs(10), TcpStream::connect(addr))
        .await
        .map_err(|_| "connect: timed out".to_string())?
        .map_err(|e| format!("connect: {e}"))?;
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config()))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let found = timeout(Duration::from_secs(10), async {
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Text(text) = message {
                if let Ok(frame) = serde_json::from_str::<Incoming>(text.as_str()) {
                    if frame.kind == "subscribed" {
                        return frame.seq;
                    }
                }
            }
        }
        None
    })
    .await;
    let _ = ws.close(None).await;
    found
        .ok()
        .flatten()
        .ok_or_else(|| format!("{url}: no subscribed frame"))
}

/// Reads until the connection ends (`Some`) or the worker's deadline (`None`).
async fn read_loop(
    ws: &mut WebSocketStream<TcpStream>,
    target: &Target,
    state: &SubState,
    tally: &RefCell<Tally>,
) -> Option<Ended> {
    let ended = |how: String| Ended {
        how,
        retry_after: None,
    };
    // One frame per round.
    loop {
        let next = timeout_at(target.deadline, ws.next()).await.ok()?;
        match next {
            Some(Ok(Message::Text(text))) => {
                on_frame(text.as_str(), state, tally);
            }
            Some(Ok(Message::Close(close))) => {
                let Some(close) = close else {
                    return Some(ended("none".into()));
                };
                let retry_after = close
                    .reason
                    .as_str()
                    .split_once("retry_after_ms=")
                    .and_then(|(_, ms)| ms.trim().parse().ok())
                    .map(Duration::from_millis);
                return Some(Ended {
                    how: u16::from(close.code).to_string(),
                    retry_after,
                });
            }
            // Pings are answered by tungstenite as we keep reading.
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                tally.borrow_mut().error(format!("read: {e}"));
                return Some(ended("error".into()));
            }
            None => return Some(ended("eof".into())),
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
            // History the resume could not replay: counted as a loss, the
            // stream goes on from the subscription.
            "resync" => {
                tally.resyncs += 1;
                tally.error(format!("resync: {}", frame.reason.unwrap_or("?")));
                state
                    .last_seq
                    .set(state.last_seq.get().max(state.resync_to.get()));
            }
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
    /// A `subscribed` frame's epoch.
    #[serde(default, borrow)]
    pub epoch: Option<&'a str>,
    /// A `resync` frame's reason.
    #[serde(default, borrow)]
    pub reason: Option<&'a str>,
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
