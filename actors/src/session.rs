//! A session: one client connection, as an actix actor: a WebSocket, an SSE
//! stream or a long-poll stream ([`Transport`]). All three share the rooms'
//! fan-out, the queue bound and expiry, and the per-user limits; only a
//! WebSocket reads ops, the other two are written to (their writes go over
//! REST).
//!
//! A WebSocket session reads the client's frames (`reader.rs`, through
//! `ctx.add_stream`) and answers ops. Its bounded outgoing queue is filled
//! by rooms without blocking and drained by the response body itself
//! (`writer.rs`). It closes
//! the connection when the client stops answering pings (even while the
//! socket cannot be written), when frames wait too long or too many pile up
//! (4001: resume with `since`; stalled sockets are found by the hub's sweep),
//! on frames over the size limit (1009, judged by the header), on protocol
//! breaches (1002, 1007), and on sustained abuse (1008); it answers the
//! client's own close with a close. Whenever it ends, the connection gets
//! `close_grace` to get its close frame out, then is aborted, so a client
//! that stopped reading cannot keep a socket and its kernel buffers. An SSE
//! or long-poll session has no pings to answer: it ends as soon as its body
//! is dropped (the client hung up, or stopped polling), and a stalled one is
//! dropped by the same sweep.

use std::collections::{HashSet, VecDeque};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::Bytes;
use futures_util::Stream;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::channel::{Channel, Restriction};
use crate::cursor::Cursor;
use crate::hub::{Connect, Disconnect, Hub, Refused, Subscribe, Unsubscribe};
use crate::outbox::{Kick, NotSubscribed, Outbox, Outgoing, SessionId};
use crate::protocol::{self, close, ClientOp, ErrorCode, Frame, Since};
use crate::reader::{FrameReader, Incoming, ReadError};
use crate::role::Role;
use crate::telemetry::{self, Initiator, OpenSession};
use crate::writer::{CloseRequest, Encoding, Writer};
use crate::writes::{ClientWrites, WriteOp};

/// Writes one session may have in flight; more are refused (rate_limited).
const MAX_WRITES_IN_FLIGHT: usize = 32;

/// How far back refused frames count against `max_strikes_per_minute`.
const STRIKE_WINDOW: Duration = Duration::from_secs(60);

/// When the client's refused frames happened, over the last minute.
#[derive(Default)]
struct Strikes(VecDeque<Instant>);

impl Strikes {
    /// Counts a strike at `now`; returns how many fall within the window
    /// ending then (older ones are forgotten).
    fn record(&mut self, now: Instant) -> usize {
        self.0.push_back(now);
        while self
            .0
            .front()
            .is_some_and(|t| now.duration_since(*t) > STRIKE_WINDOW)
        {
            self.0.pop_front();
        }
        self.0.len()
    }
}

#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub heartbeat_interval: Duration,
    pub connection_timeout: Duration,
    /// Frames that may wait in the outgoing queue (`CHANNEL_CAPACITY`).
    pub queue_capacity: usize,
    /// How long a frame may wait (`CHANNEL_EXPIRY`).
    pub queue_expiry: Duration,
    /// Largest frame accepted from the client (`MAX_MESSAGE_SIZE`).
    pub max_frame_size: usize,
    pub max_subscriptions: usize,
    /// Client frames per second (burst: twice that).
    pub frames_per_second: u32,
    /// Refused frames per minute before the connection is closed.
    pub max_strikes_per_minute: usize,
    /// How long a closing connection may take to get its close frame out
    /// before it is aborted.
    pub close_grace: Duration,
}

/// Tears the connection down at once (the edges know the socket); called
/// `close_grace` after the session ends, and a no-op if it is gone already.
pub type Abort = Box<dyn FnOnce()>;

/// Who is on the other end, if signed in.
#[derive(Debug, Clone)]
pub struct UserInfo {
    pub id: i64,
    pub role: Role,
    pub display_name: String,
}

/// How the client is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Reads ops and pongs; alive while it answers pings.
    WebSocket,
    /// A `text/event-stream` response; alive while its body is.
    EventStream,
    /// Polled for frames; alive while polls keep its body parked.
    LongPoll,
}

impl Transport {
    pub const ALL: [Transport; 3] = [
        Transport::WebSocket,
        Transport::EventStream,
        Transport::LongPoll,
    ];

    /// The name `RINGSIDE_TRANSPORTS` and the docs use.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::WebSocket => "websocket",
            Transport::EventStream => "sse",
            Transport::LongPoll => "poll",
        }
    }

    pub fn parse(s: &str) -> Option<Transport> {
        Transport::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// What every session starts from.
pub struct Start {
    pub hub: Addr<Hub>,
    pub writes: Arc<dyn ClientWrites>,
    pub user: Option<UserInfo>,
    pub config: SessionConfig,
    /// Followed from the start (the endpoint's channel, or a stream's list),
    /// each resumed after `since` when given.
    pub channels: Vec<(Channel, Option<Since>)>,
    /// Those channels asked for delta frames (a WebSocket's `?delta=true`;
    /// SSE and long-poll send full frames only).
    pub delta: bool,
    pub abort: Option<Abort>,
}

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

/// One calibrated clock shared by every session's limiter: making a new one
/// per connection calibrates it again (a CPUID, a VM exit on virtual machines).
fn clock() -> DefaultClock {
    static CLOCK: std::sync::OnceLock<DefaultClock> = std::sync::OnceLock::new();
    CLOCK.get_or_init(DefaultClock::default).clone()
}

pub struct Session {
    id: SessionId,
    transport: Transport,
    user: Option<UserInfo>,
    hub: Addr<Hub>,
    writes: Arc<dyn ClientWrites>,
    writes_in_flight: usize,
    config: SessionConfig,
    outbox: Outbox,
    /// Asks the writer for a close frame ahead of anything queued.
    closer: Option<oneshot::Sender<CloseRequest>>,
    /// Resolves when the body (the writer) is dropped.
    body_dropped: Option<oneshot::Receiver<()>>,
    /// Whether the hub admitted us (and so must hear when we go).
    registered: bool,
    channels: HashSet<Channel>,
    initial: Vec<(Channel, Option<Since>)>,
    initial_delta: bool,
    last_heard: Instant,
    limiter: DefaultDirectRateLimiter,
    strikes: Strikes,
    abort: Option<Abort>,
    /// Counted among the open sessions while held.
    open: Option<OpenSession>,
}

impl Session {
    /// Starts the actor for an upgraded connection whose raw bytes arrive on
    /// `stream`; returns the body that writes to it.
    pub fn websocket<S, E>(stream: S, start: Start) -> Writer
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + 'static,
        E: 'static,
    {
        let stream = FrameReader::new(stream, start.config.max_frame_size);
        Session::launch(
            start,
            Transport::WebSocket,
            Encoding::websocket(),
            move |ctx| {
                ctx.add_stream(stream);
            },
        )
    }

    /// Starts an SSE session; returns its response body.
    pub fn event_stream(start: Start) -> Writer {
        let encoding = Encoding::EventStream(Session::cursor(&start));
        Session::launch(start, Transport::EventStream, encoding, |_| {})
    }

    /// Starts a long-poll session; returns what its polls drain.
    pub fn long_poll(start: Start) -> Writer {
        let encoding = Encoding::Poll(Session::cursor(&start));
        Session::launch(start, Transport::LongPoll, encoding, |_| {})
    }

    /// A stream's cursor, resuming the channels that say where from.
    fn cursor(start: &Start) -> Cursor {
        Cursor::resuming(
            start
                .channels
                .iter()
                .filter_map(|(c, since)| Some((c.clone(), since.clone()?)))
                .collect(),
        )
    }

    fn launch(
        start: Start,
        transport: Transport,
        encoding: Encoding,
        reader: impl FnOnce(&mut Context<Session>),
    ) -> Writer {
        let Start {
            hub,
            writes,
            user,
            config,
            channels: initial,
            delta: initial_delta,
            abort,
        } = start;
        let (tx, rx) = crate::outbox::queue::bounded(config.queue_capacity.max(1));
        let (closer, close) = oneshot::channel();
        let written = Arc::new(AtomicU64::new(0));
        let (gone, body_dropped) = oneshot::channel::<()>();
        let writer =
            Writer::new(encoding, rx, close, written.clone(), config.queue_expiry).signalling(gone);
        Session::create(move |ctx| {
            reader(ctx);
            let id = NEXT_SESSION.fetch_add(1, Ordering::Relaxed);
            let outbox = Outbox::new(
                id,
                user.as_ref().map(|u| u.id),
                tx,
                ctx.address().recipient(),
                ctx.address().recipient(),
                written,
            );
            let per_second = NonZeroU32::new(config.frames_per_second).unwrap_or(NonZeroU32::MIN);
            let burst = per_second.saturating_mul(NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN));
            Session {
                id,
                transport,
                user,
                hub,
                writes,
                writes_in_flight: 0,
                outbox,
                closer: Some(closer),
                body_dropped: Some(body_dropped),
                registered: false,
                channels: HashSet::new(),
                initial,
                // Only a WebSocket can apply a delta's patch to what it holds.
                initial_delta: initial_delta && transport == Transport::WebSocket,
                last_heard: Instant::now(),
                limiter: RateLimiter::direct_with_clock(
                    Quota::per_second(per_second).allow_burst(burst),
                    clock(),
                ),
                strikes: Strikes::default(),
                abort,
                open: None,
                config,
            }
        });
        writer
    }

    fn send(&mut self, ctx: &mut Context<Self>, frame: Frame) {
        if !self.outbox.deliver(frame) {
            self.close(ctx, close::TOO_SLOW, "too slow: reconnect with since");
        }
    }

    /// Has the writer send a close frame next (the socket permitting) and stops.
    fn close(&mut self, ctx: &mut Context<Self>, code: u16, reason: &'static str) {
        self.close_as(ctx, code, reason, Initiator::Server);
    }

    fn close_as(
        &mut self,
        ctx: &mut Context<Self>,
        code: u16,
        reason: &'static str,
        by: Initiator,
    ) {
        if let Some(closer) = self.closer.take() {
            telemetry::sink().closed(code, by);
            let _ = closer.send(CloseRequest {
                code,
                reason,
                echo: by == Initiator::Client,
            });
        }
        ctx.stop();
    }

    /// Answers a bad frame; a client that keeps sending them is closed.
    fn refuse(&mut self, ctx: &mut Context<Self>, frame: Frame) {
        self.send(ctx, frame);
        if self.strikes.record(Instant::now()) > self.config.max_strikes_per_minute {
            self.close(ctx, close::POLICY, "too many bad frames");
        }
    }

    fn heartbeat(&mut self, ctx: &mut Context<Self>) {
        // Streams hear nothing: they live as long as their body does.
        if self.transport == Transport::WebSocket
            && self.last_heard.elapsed() > self.config.connection_timeout
        {
            tracing::debug!(session = self.id, "no answer to pings; closing");
            // Best effort: a stuck socket gets a second, then is dropped.
            self.close(ctx, close::HEARTBEAT_TIMEOUT, "no answer to pings");
            return;
        }
        let _ = self.outbox_ping();
    }

    fn outbox_ping(&self) -> bool {
        self.outbox.push_control(Outgoing::Ping)
    }

    fn subscribe(
        &mut self,
        ctx: &mut Context<Self>,
        channel: Channel,
        since: Option<Since>,
        delta: bool,
        reference: Option<Value>,
    ) {
        if let Some(restriction) = channel.restricted_to() {
            let refusal = match (&self.user, restriction) {
                (None, _) => Some((ErrorCode::Unauthorized, "sign in to follow this channel")),
                (Some(u), Restriction::Owner(owner)) if u.id != owner => {
                    Some((ErrorCode::Forbidden, "that is another user's channel"))
                }
                (Some(u), Restriction::Role(role)) if !u.role.includes(role) => {
                    Some((ErrorCode::Forbidden, "this channel is for moderators"))
                }
                _ => None,
            };
            if let Some((code, message)) = refusal {
                return self.refuse(
                    ctx,
                    protocol::subscription_error(&channel, code, message, &reference),
                );
            }
        }
        if !self.channels.contains(&channel) && self.channels.len() >= self.config.max_subscriptions
        {
            return self.refuse(
                ctx,
                protocol::subscription_error(
                    &channel,
                    ErrorCode::BadRequest,
                    "too many subscriptions on one connection",
                    &reference,
                ),
            );
        }
        self.channels.insert(channel.clone());
        self.hub.do_send(Subscribe {
            channel,
            since,
            reference,
            outbox: self.outbox.clone(),
            delta,
        });
    }

    /// Every frame the client sends counts, pings and pongs too; past the
    /// rate a frame is refused (and counts as a strike) instead of answered.
    fn within_rate(&mut self, ctx: &mut Context<Self>) -> bool {
        match self.limiter.check() {
            Ok(()) => true,
            Err(not_until) => {
                telemetry::sink().rate_limited("ws_frame");
                let wait = not_until.wait_time_from(clock().now());
                let frame = protocol::rate_limited(
                    "too many frames",
                    wait.as_millis().max(1) as u64,
                    &None,
                );
                self.refuse(ctx, frame);
                false
            }
        }
    }

    fn on_text(&mut self, ctx: &mut Context<Self>, text: &str) {
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                return self.refuse(
                    ctx,
                    protocol::error(
                        ErrorCode::BadRequest,
                        &format!("malformed JSON: {e}"),
                        &None,
                    ),
                )
            }
        };
        let (reference, op) = ClientOp::parse(value);
        let op = match op {
            Ok(op) => op,
            Err(e) => {
                return self.refuse(
                    ctx,
                    protocol::error(ErrorCode::BadRequest, &format!("bad op: {e}"), &reference),
                )
            }
        };
        match op {
            ClientOp::Subscribe {
                channel,
                since,
                delta,
            } => match channel.parse::<Channel>() {
                Ok(channel) => self.subscribe(ctx, channel, since, delta, reference),
                Err(e) => self.refuse(
                    ctx,
                    protocol::error(ErrorCode::BadRequest, &e.to_string(), &reference),
                ),
            },
            ClientOp::Unsubscribe { channel } => {
                let parsed = channel
                    .parse::<Channel>()
                    .ok()
                    .filter(|c| self.channels.remove(c));
                match parsed {
                    Some(channel) => {
                        self.hub.do_send(Unsubscribe {
                            channel: channel.clone(),
                            session: self.id,
                        });
                        self.send(ctx, protocol::unsubscribed(&channel, &reference));
                    }
                    None => self.refuse(
                        ctx,
                        protocol::error(
                            ErrorCode::NotFound,
                            "not subscribed to that channel",
                            &reference,
                        ),
                    ),
                }
            }
            ClientOp::Ping {} => self.send(ctx, protocol::pong(&reference)),
            ClientOp::Comment(input) => self.write(ctx, WriteOp::Comment(input), reference),
            ClientOp::React(input) => self.write(ctx, WriteOp::React(input), reference),
            ClientOp::Vote(input) => self.write(ctx, WriteOp::Vote(input), reference),
        }
    }

    /// Hands a write to the edges; `ack` once it is stored, else `error`.
    fn write(&mut self, ctx: &mut Context<Self>, op: WriteOp, reference: Option<Value>) {
        let Some(user) = &self.user else {
            return self.refuse(
                ctx,
                protocol::error(
                    ErrorCode::Unauthorized,
                    "sign in to comment, react or vote",
                    &reference,
                ),
            );
        };
        if self.writes_in_flight >= MAX_WRITES_IN_FLIGHT {
            telemetry::sink().rate_limited("ws_writes");
            return self.send(
                ctx,
                protocol::rate_limited("too many writes at once", 100, &reference),
            );
        }
        self.writes_in_flight += 1;
        let pending = self.writes.perform(user.id, self.id, op);
        ctx.spawn(pending.into_actor(self).map(move |result, session, ctx| {
            session.writes_in_flight -= 1;
            let frame = match result {
                Ok(data) => protocol::ack(&data, &reference),
                Err(r) => protocol::refused(r.code, &r.message, r.retry_after_ms, &reference),
            };
            session.send(ctx, frame);
        }));
    }
}

impl Actor for Session {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // No body, no session: whoever dropped it (actix-web when the client
        // hung up, the long-poll sweep) ends the session at once.
        if let Some(dropped) = self.body_dropped.take() {
            ctx.spawn(dropped.into_actor(self).map(|_, _, ctx| ctx.stop()));
        }
        let admit = self.hub.send(Connect {
            outbox: self.outbox.clone(),
        });
        ctx.wait(admit.into_actor(self).map(|answer, session, ctx| match answer {
            Ok(Ok(())) => {
                session.registered = true;
                let kind = telemetry::session_kind(session.initial.first().map(|(c, _)| c));
                session.open = Some(OpenSession::new(kind, session.transport.as_str()));
                let user = session.user.as_ref().map(|u| json!({ "id": u.id, "role": u.role, "display_name": u.display_name }));
                let welcome = protocol::welcome(&format!("{:x}", session.id), user, session.config.heartbeat_interval.as_secs());
                session.send(ctx, welcome);
                let delta = session.initial_delta;
                for (channel, since) in std::mem::take(&mut session.initial) {
                    session.subscribe(ctx, channel, since, delta, None);
                }
            }
            Ok(Err(Refused::TooManyConnections)) => session.close(ctx, close::POLICY, "too many connections for this user"),
            Err(_) => session.close(ctx, close::SERVER_ERROR, "server error"),
        }));
        ctx.run_interval(self.config.heartbeat_interval, |s, ctx| s.heartbeat(ctx));
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        if self.registered {
            self.hub.do_send(Disconnect {
                session: self.id,
                channels: self.channels.drain().collect(),
            });
        }
        // A client that reads gets the close frame and hangs up well within
        // the grace; one that does not is cut off, freeing its buffers.
        if let Some(abort) = self.abort.take() {
            let grace = self.config.close_grace;
            actix::spawn(async move {
                tokio::time::sleep(grace).await;
                abort();
            });
        }
    }
}

impl Handler<NotSubscribed> for Session {
    type Result = ();
    fn handle(&mut self, msg: NotSubscribed, _: &mut Context<Self>) {
        self.channels.remove(&msg.0);
    }
}

impl Handler<Kick> for Session {
    type Result = ();
    fn handle(&mut self, msg: Kick, ctx: &mut Context<Self>) {
        self.close(ctx, msg.code, msg.reason);
    }
}

impl StreamHandler<Result<Incoming, ReadError>> for Session {
    fn handle(&mut self, item: Result<Incoming, ReadError>, ctx: &mut Context<Self>) {
        self.last_heard = Instant::now();
        let incoming = match item {
            Ok(incoming) => incoming,
            Err(e) => return self.close(ctx, e.code, e.reason),
        };
        if let Incoming::Close(code) = incoming {
            // Echo the client's code (RFC 6455 §5.5.1), then hang up.
            return self.close_as(ctx, code.unwrap_or(close::NORMAL), "", Initiator::Client);
        }
        if !self.within_rate(ctx) {
            return;
        }
        match incoming {
            Incoming::Text(text) => self.on_text(ctx, &text),
            Incoming::Binary => {
                self.refuse(
                    ctx,
                    protocol::error(ErrorCode::BadRequest, "frames are JSON text", &None),
                );
            }
            Incoming::Ping(payload) => {
                let _ = self.outbox.push_control(Outgoing::Pong(Box::new(payload)));
            }
            Incoming::Pong | Incoming::Close(_) => {}
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        // Gone without a close frame: counted as 1006, never sent.
        if self.closer.take().is_some() {
            telemetry::sink().closed(telemetry::ABNORMAL, Initiator::Client);
        }
        ctx.stop();
    }
}

#[cfg(test)]
mod tests {
    use actix_codec::{Decoder, Encoder};
    use actix_http::ws::{CloseCode, CloseReason, Codec, Frame as WsFrame, Message};
    use bytes::BytesMut;
    use futures_util::StreamExt;

    use super::*;
    use crate::hub::tests::hub_config;
    use crate::test_support::{FakeStore, BOUND};
    use crate::writes::{Refusal, VoteInput, WriteFuture, WriteOp};
    use tokio::sync::mpsc;

    /// Writes are not what these tests are about: every one is acknowledged.
    struct AckAll;

    impl ClientWrites for AckAll {
        fn perform(&self, _: i64, _: SessionId, _: WriteOp) -> WriteFuture {
            Box::pin(async { Ok(json!({ "id": 1 })) })
        }
    }

    fn config() -> SessionConfig {
        SessionConfig {
            heartbeat_interval: Duration::from_secs(3600),
            connection_timeout: Duration::from_secs(3600),
            queue_capacity: 64,
            queue_expiry: Duration::from_secs(3600),
            max_frame_size: 4096,
            max_subscriptions: 2,
            frames_per_second: 1000,
            max_strikes_per_minute: 1000,
            close_grace: Duration::from_secs(3600),
        }
    }

    /// The client's end of a connection to a real session (and hub).
    struct Conn {
        to_server: mpsc::UnboundedSender<Bytes>,
        from_server: Writer,
        encoder: Codec,
        decoder: Codec,
        buf: BytesMut,
        /// Kept so its rooms keep running.
        _hub: Addr<Hub>,
    }

    fn hub(store: Arc<FakeStore>) -> Addr<Hub> {
        Hub::new(Arc::new(store), hub_config()).start()
    }

    fn connect(store: Arc<FakeStore>, config: SessionConfig) -> Conn {
        open(&hub(store), Arc::new(AckAll), None, config, None, None)
    }

    fn viewer(id: i64) -> Option<UserInfo> {
        Some(UserInfo {
            id,
            role: Role::Viewer,
            display_name: format!("fan {id}"),
        })
    }

    /// A session on `hub` over an in-memory connection, as the edges start
    /// one.
    fn open(
        hub: &Addr<Hub>,
        writes: Arc<dyn ClientWrites>,
        user: Option<UserInfo>,
        config: SessionConfig,
        initial: Option<(Channel, Option<Since>)>,
        abort: Option<Abort>,
    ) -> Conn {
        let (to_server, rx) = mpsc::unbounded_channel::<Bytes>();
        let stream = Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv()
                .await
                .map(|b| (Ok::<Bytes, std::io::Error>(b), rx))
        }));
        let start = Start {
            hub: hub.clone(),
            writes,
            user,
            config,
            channels: initial.into_iter().collect(),
            delta: false,
            abort,
        };
        let from_server = Session::websocket(stream, start);
        Conn {
            to_server,
            from_server,
            encoder: Codec::new().client_mode(),
            decoder: Codec::new().client_mode(),
            buf: BytesMut::new(),
            _hub: hub.clone(),
        }
    }

    impl Conn {
        fn send(&mut self, message: Message) {
            let mut out = BytesMut::new();
            self.encoder.encode(message, &mut out).expect("encodes");
            self.to_server.send(out.freeze()).expect("session reading");
        }

        fn text(&mut self, s: &str) {
            self.send(Message::Text(s.to_string().into()));
        }

        /// Bytes as they are, framed or not.
        fn raw(&mut self, bytes: &[u8]) {
            self.to_server
                .send(Bytes::copy_from_slice(bytes))
                .expect("session reading");
        }

        /// Ends the client's side of the stream (a dropped TCP connection).
        fn hang_up(&mut self) {
            self.to_server = mpsc::unbounded_channel().0;
        }

        /// The next frame from the server; `None` once the body has ended.
        async fn frame(&mut self) -> Option<WsFrame> {
            loop {
                if let Some(frame) = self.decoder.decode(&mut self.buf).expect("valid frames") {
                    return Some(frame);
                }
                let chunk = tokio::time::timeout(BOUND, self.from_server.next())
                    .await
                    .expect("the server writes within the bound")?;
                self.buf.extend_from_slice(&chunk.expect("bytes"));
            }
        }

        /// The next JSON text frame (pings skipped).
        async fn json(&mut self) -> Value {
            loop {
                match self.frame().await.expect("the connection is open") {
                    WsFrame::Text(t) => return serde_json::from_slice(&t).expect("JSON"),
                    WsFrame::Ping(_) | WsFrame::Pong(_) => continue,
                    other => panic!("expected text, got {other:?}"),
                }
            }
        }

        /// The close frame's code, then checks the body ends after it.
        async fn closed_with(&mut self) -> u16 {
            let code = loop {
                match self.frame().await.expect("a close frame") {
                    WsFrame::Close(reason) => {
                        break reason.map_or(0, |r| u16::from(r.code));
                    }
                    WsFrame::Text(_) | WsFrame::Ping(_) | WsFrame::Pong(_) => continue,
                    other => panic!("unexpected {other:?}"),
                }
            };
            assert!(self.frame().await.is_none(), "nothing after the close");
            code
        }

        async fn welcomed(&mut self) {
            assert_eq!(self.json().await["type"], "welcome");
        }

        /// The very first frame is a close (nothing before it); its code,
        /// once the body has ended after it.
        async fn refused_with(&mut self) -> u16 {
            let code = match self.frame().await {
                Some(WsFrame::Close(Some(reason))) => u16::from(reason.code),
                other => panic!("expected a close first, got {other:?}"),
            };
            assert!(self.frame().await.is_none(), "nothing after the close");
            code
        }
    }

    fn store() -> Arc<FakeStore> {
        let store = FakeStore::new();
        for c in [Channel::News, Channel::Rankings, Channel::Division(1)] {
            store.add_channel(&c, "e1");
        }
        store
    }

    #[actix_rt::test]
    async fn bad_frames_get_errors_and_the_connection_stays_up() {
        let mut c = connect(store(), config());
        c.welcomed().await;
        c.text("not json");
        let e = c.json().await;
        assert_eq!(
            (e["type"].clone(), e["code"].clone()),
            (json!("error"), json!("bad_request"))
        );
        assert!(e["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("malformed JSON")));
        c.text(r#"{"op":"dance","ref":3}"#);
        let e = c.json().await;
        assert_eq!(e["code"], "bad_request");
        assert_eq!(e["ref"], 3, "the ref is echoed even for an unknown op");
        c.text(r#"{"op":"subscribe","channel":"nowhere:1","ref":4}"#);
        assert_eq!(c.json().await["code"], "bad_request");
        c.send(Message::Binary(Bytes::from_static(b"\x00")));
        assert_eq!(c.json().await["code"], "bad_request");
        c.text(r#"{"op":"comment","live_event":1,"content":"hi","ref":5}"#);
        let e = c.json().await;
        assert_eq!(
            (e["code"].clone(), e["ref"].clone()),
            (json!("unauthorized"), json!(5))
        );
        c.text(r#"{"op":"ping","ref":6}"#);
        assert_eq!(c.json().await, json!({ "type": "pong", "ref": 6 }));
    }

    #[actix_rt::test]
    async fn subscriptions_are_capped_per_connection_and_unsubscribing_frees_one() {
        let mut c = connect(store(), config());
        c.welcomed().await;
        c.text(r#"{"op":"subscribe","channel":"news","ref":1}"#);
        assert_eq!(c.json().await["type"], "subscribed");
        c.text(r#"{"op":"subscribe","channel":"rankings","ref":2}"#);
        assert_eq!(c.json().await["type"], "subscribed");
        c.text(r#"{"op":"subscribe","channel":"rankings:1","ref":3}"#);
        let e = c.json().await;
        assert_eq!(
            (e["code"].clone(), e["ref"].clone()),
            (json!("bad_request"), json!(3))
        );
        c.text(r#"{"op":"unsubscribe","channel":"rankings","ref":4}"#);
        assert_eq!(
            c.json().await,
            json!({ "type": "unsubscribed", "channel": "rankings", "ref": 4 })
        );
        c.text(r#"{"op":"subscribe","channel":"rankings:1","ref":5}"#);
        assert_eq!(c.json().await["type"], "subscribed");
        c.text(r#"{"op":"unsubscribe","channel":"rankings","ref":6}"#);
        assert_eq!(
            c.json().await["code"],
            "not_found",
            "not subscribed any more"
        );
    }

    #[actix_rt::test]
    async fn past_the_frame_rate_frames_are_refused_with_rate_limited() {
        let mut c = connect(
            store(),
            SessionConfig {
                frames_per_second: 1,
                ..config()
            },
        );
        c.welcomed().await;
        for i in 0..6 {
            c.text(&format!(r#"{{"op":"ping","ref":{i}}}"#));
        }
        let mut answers = Vec::new();
        for _ in 0..6 {
            answers.push(c.json().await);
        }
        // A burst of two, then refusals that say when to come back.
        assert_eq!(answers[0]["type"], "pong");
        assert_eq!(answers[1]["type"], "pong");
        let refused: Vec<&Value> = answers.iter().filter(|a| a["type"] == "error").collect();
        assert!(!refused.is_empty(), "{answers:?}");
        assert!(refused
            .iter()
            .all(|e| e["code"] == "rate_limited" && e["retry_after_ms"].as_u64() > Some(0)));
    }

    #[actix_rt::test]
    async fn repeated_bad_frames_close_the_connection_with_1008() {
        let mut c = connect(
            store(),
            SessionConfig {
                max_strikes_per_minute: 2,
                ..config()
            },
        );
        c.welcomed().await;
        for _ in 0..2 {
            c.text("{");
            assert_eq!(c.json().await["code"], "bad_request");
        }
        c.text(r#"{"op":"ping","ref":1}"#);
        assert_eq!(c.json().await["type"], "pong", "two strikes: still open");
        // The third: closed (the close goes ahead of its error frame).
        c.text("{");
        assert_eq!(c.closed_with().await, close::POLICY);
    }

    #[actix_rt::test]
    async fn a_client_close_is_echoed_with_its_code() {
        let mut c = connect(store(), config());
        c.welcomed().await;
        c.send(Message::Close(Some(CloseReason {
            code: CloseCode::Other(4321),
            description: None,
        })));
        assert_eq!(c.closed_with().await, 4321);
    }

    #[actix_rt::test]
    async fn a_client_close_without_a_code_is_answered_with_1000() {
        let mut c = connect(store(), config());
        c.welcomed().await;
        c.send(Message::Close(None));
        assert_eq!(c.closed_with().await, close::NORMAL);
    }

    /// A write the session handed over, with its way to answer.
    type Handed = (i64, WriteOp, oneshot::Sender<Result<Value, Refusal>>);

    /// A write port the test answers, op by op, when it chooses.
    struct Scripted(mpsc::UnboundedSender<Handed>);

    impl ClientWrites for Scripted {
        fn perform(&self, user: i64, _: SessionId, op: WriteOp) -> WriteFuture {
            let (answer, answered) = oneshot::channel();
            let _ = self.0.send((user, op, answer));
            Box::pin(async move {
                answered.await.unwrap_or_else(|_| {
                    Err(Refusal {
                        code: ErrorCode::Unavailable,
                        message: "the test dropped the write".into(),
                        retry_after_ms: None,
                    })
                })
            })
        }
    }

    fn scripted() -> (Arc<dyn ClientWrites>, mpsc::UnboundedReceiver<Handed>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Arc::new(Scripted(tx)), rx)
    }

    async fn handed(writes: &mut mpsc::UnboundedReceiver<Handed>) -> Handed {
        tokio::time::timeout(BOUND, writes.recv())
            .await
            .expect("a write within the bound")
            .expect("the port is open")
    }

    #[test]
    fn strikes_older_than_a_minute_are_forgotten() {
        let t0 = Instant::now();
        let mut strikes = Strikes::default();
        assert_eq!(strikes.record(t0), 1);
        assert_eq!(strikes.record(t0 + Duration::from_secs(30)), 2);
        // Exactly a minute later the first still counts; just past, it does not.
        assert_eq!(strikes.record(t0 + STRIKE_WINDOW), 3);
        assert_eq!(
            strikes.record(t0 + STRIKE_WINDOW + Duration::from_millis(1)),
            3
        );
        assert_eq!(strikes.record(t0 + Duration::from_secs(200)), 1);
    }

    #[actix_rt::test]
    async fn a_signed_in_clients_writes_go_out_as_its_user_and_each_is_answered_by_its_ref() {
        let (writes, mut port) = scripted();
        let mut c = open(&hub(store()), writes, viewer(5), config(), None, None);
        let welcome = c.json().await;
        assert_eq!(
            welcome["user"],
            json!({ "id": 5, "role": "viewer", "display_name": "fan 5" })
        );
        assert_eq!(welcome["heartbeat_s"], 3600);
        c.text(r#"{"op":"comment","live_event":1,"content":"What a jab!","ref":1}"#);
        c.text(
            r#"{"op":"react","target_type":"fight","target_id":7,"reaction_type":"wow","ref":2}"#,
        );
        c.text(r#"{"op":"vote","poll":3,"option":1,"ref":3}"#);
        let (user, comment, comment_answer) = handed(&mut port).await;
        assert_eq!(user, 5);
        assert!(
            matches!(&comment, WriteOp::Comment(i) if i.live_event == 1 && i.content == "What a jab!"),
            "{comment:?}"
        );
        let (_, react, react_answer) = handed(&mut port).await;
        assert!(
            matches!(&react, WriteOp::React(i) if i.target_type == "fight" && i.target_id == 7 && i.reaction_type == "wow"),
            "{react:?}"
        );
        let (_, vote, vote_answer) = handed(&mut port).await;
        assert!(
            matches!(&vote, WriteOp::Vote(i) if i.poll == 3 && i.option == 1),
            "{vote:?}"
        );
        // Answered as they complete, not in the order they were sent.
        let _ = vote_answer.send(Ok(json!({ "id": 30 })));
        assert_eq!(
            c.json().await,
            json!({ "type": "ack", "ref": 3, "data": { "id": 30 } })
        );
        let _ = react_answer.send(Err(Refusal {
            code: ErrorCode::SlowMode,
            message: "slow mode is on".into(),
            retry_after_ms: Some(4200),
        }));
        assert_eq!(
            c.json().await,
            json!({ "type": "error", "ref": 2, "code": "slow_mode",
                    "message": "slow mode is on", "retry_after_ms": 4200 })
        );
        let _ = comment_answer.send(Ok(json!({ "id": 991 })));
        assert_eq!(
            c.json().await,
            json!({ "type": "ack", "ref": 1, "data": { "id": 991 } })
        );
    }

    #[actix_rt::test]
    async fn past_32_writes_in_flight_a_write_is_refused_until_one_is_answered() {
        let (writes, mut port) = scripted();
        let mut c = open(&hub(store()), writes, viewer(5), config(), None, None);
        c.welcomed().await;
        for i in 1..=MAX_WRITES_IN_FLIGHT + 1 {
            c.text(&format!(r#"{{"op":"vote","poll":1,"option":1,"ref":{i}}}"#));
        }
        let mut answers = Vec::new();
        for _ in 0..MAX_WRITES_IN_FLIGHT {
            answers.push(handed(&mut port).await.2);
        }
        let refused = c.json().await;
        assert_eq!(
            (refused["code"].clone(), refused["ref"].clone()),
            (json!("rate_limited"), json!(MAX_WRITES_IN_FLIGHT + 1))
        );
        assert_eq!(refused["retry_after_ms"], 100);
        assert!(port.try_recv().is_err(), "the refused write never left");
        // One answered frees one place.
        let _ = answers.remove(0).send(Ok(json!({ "id": 1 })));
        assert_eq!(c.json().await["type"], "ack");
        c.text(r#"{"op":"vote","poll":1,"option":2,"ref":"again"}"#);
        let (_, op, _) = handed(&mut port).await;
        assert!(matches!(op, WriteOp::Vote(VoteInput { option: 2, .. })));
    }

    #[actix_rt::test]
    async fn only_its_owner_may_follow_a_notification_channel() {
        let store = store();
        store.add_channel(&Channel::User(5), "u5");
        let hub = hub(store);
        let mut anonymous = open(&hub, Arc::new(AckAll), None, config(), None, None);
        anonymous.welcomed().await;
        anonymous.text(r#"{"op":"subscribe","channel":"user:5","ref":1}"#);
        let e = anonymous.json().await;
        assert_eq!(
            (e["code"].clone(), e["ref"].clone()),
            (json!("unauthorized"), json!(1))
        );
        let mut five = open(&hub, Arc::new(AckAll), viewer(5), config(), None, None);
        five.welcomed().await;
        five.text(r#"{"op":"subscribe","channel":"user:6","ref":2}"#);
        let e = five.json().await;
        assert_eq!(
            (e["code"].clone(), e["ref"].clone()),
            (json!("forbidden"), json!(2))
        );
        five.text(r#"{"op":"subscribe","channel":"user:5","ref":3}"#);
        let s = five.json().await;
        assert_eq!(
            (s["type"].clone(), s["channel"].clone(), s["epoch"].clone()),
            (json!("subscribed"), json!("user:5"), json!("u5"))
        );
    }

    #[actix_rt::test]
    async fn the_endpoints_channel_follows_the_welcome_and_resumes_from_since() {
        let store = store();
        for _ in 0..2 {
            store.append(&Channel::News);
        }
        let since = Since {
            epoch: "e1".into(),
            seq: 0,
        };
        let mut c = open(
            &hub(store),
            Arc::new(AckAll),
            None,
            config(),
            Some((Channel::News, Some(since))),
            None,
        );
        c.welcomed().await;
        let s = c.json().await;
        assert_eq!(
            (s["type"].clone(), s["channel"].clone(), s["seq"].clone()),
            (json!("subscribed"), json!("news"), json!(2))
        );
        assert_eq!(c.json().await["seq"], 1);
        assert_eq!(c.json().await["seq"], 2);
    }

    #[actix_rt::test]
    async fn a_refused_subscription_does_not_count_against_the_limit() {
        let mut c = connect(
            store(),
            SessionConfig {
                max_subscriptions: 1,
                ..config()
            },
        );
        c.welcomed().await;
        c.text(r#"{"op":"subscribe","channel":"event:99","ref":1}"#);
        assert_eq!(c.json().await["code"], "not_found");
        c.text(r#"{"op":"subscribe","channel":"news","ref":2}"#);
        assert_eq!(c.json().await["type"], "subscribed");
    }

    #[actix_rt::test]
    async fn a_users_connection_past_the_limit_is_closed_with_1008_before_any_welcome() {
        let hub = hub(store());
        let mut open_ones = Vec::new();
        for _ in 0..hub_config().max_connections_per_user {
            let mut c = open(&hub, Arc::new(AckAll), viewer(5), config(), None, None);
            c.welcomed().await;
            open_ones.push(c);
        }
        let mut extra = open(&hub, Arc::new(AckAll), viewer(5), config(), None, None);
        assert_eq!(extra.refused_with().await, close::POLICY);
        // Another user is not affected.
        open(&hub, Arc::new(AckAll), viewer(6), config(), None, None)
            .welcomed()
            .await;
    }

    #[actix_rt::test]
    async fn a_session_the_hub_cannot_admit_is_closed_with_1011() {
        let arbiter = Arbiter::new();
        let store = store();
        let hub = Hub::start_in_arbiter(&arbiter.handle(), move |_| {
            Hub::new(Arc::new(store), hub_config())
        });
        arbiter.stop();
        arbiter.join().expect("the hub's thread ends");
        let mut c = open(&hub, Arc::new(AckAll), None, config(), None, None);
        assert_eq!(c.refused_with().await, close::SERVER_ERROR);
    }

    #[actix_rt::test]
    async fn a_kick_from_the_hub_closes_with_its_code() {
        let hub = hub(store());
        let mut c = open(&hub, Arc::new(AckAll), viewer(5), config(), None, None);
        c.welcomed().await;
        hub.do_send(crate::hub::KickUser {
            user: 5,
            code: close::POLICY,
            reason: "banned",
        });
        assert_eq!(c.closed_with().await, close::POLICY);
    }

    #[actix_rt::test]
    async fn a_protocol_breach_or_an_oversized_frame_closes_with_its_code() {
        let mut c = connect(store(), config());
        c.welcomed().await;
        c.raw(&[0x81, 0x01, b'x']); // unmasked
        assert_eq!(c.closed_with().await, close::PROTOCOL_ERROR);
        let mut c = connect(store(), config());
        c.welcomed().await;
        let mut header = vec![0x81, 0x80 | 126];
        header.extend_from_slice(&8192u16.to_be_bytes()); // over the 4096 limit
        c.raw(&header);
        assert_eq!(c.closed_with().await, close::TOO_LARGE);
    }

    #[actix_rt::test]
    async fn a_client_ping_is_answered_with_its_payload_and_a_pong_with_nothing() {
        let mut c = connect(store(), config());
        c.welcomed().await;
        c.send(Message::Ping(Bytes::from_static(b"abc")));
        match c.frame().await {
            Some(WsFrame::Pong(payload)) => assert_eq!(&payload[..], b"abc"),
            other => panic!("expected a pong, got {other:?}"),
        }
        c.send(Message::Pong(Bytes::from_static(b"x")));
        c.text(r#"{"op":"ping","ref":1}"#);
        // The next frame is the answer to the op: the pong got none.
        match c.frame().await {
            Some(WsFrame::Text(t)) => {
                assert_eq!(
                    serde_json::from_slice::<Value>(&t).ok(),
                    Some(json!({ "type": "pong", "ref": 1 }))
                )
            }
            other => panic!("expected the op's pong, got {other:?}"),
        }
    }

    #[actix_rt::test]
    async fn a_client_that_hangs_up_ends_the_body_without_a_close_frame() {
        let mut c = connect(store(), config());
        c.welcomed().await;
        c.hang_up();
        assert!(c.frame().await.is_none());
    }

    #[actix_rt::test]
    async fn the_connection_is_aborted_a_grace_after_the_session_ends() {
        let (aborted_tx, mut aborted) = oneshot::channel();
        let abort: Abort = Box::new(move || {
            let _ = aborted_tx.send(());
        });
        let config = SessionConfig {
            close_grace: Duration::from_millis(10),
            ..config()
        };
        let mut c = open(
            &hub(store()),
            Arc::new(AckAll),
            None,
            config,
            None,
            Some(abort),
        );
        c.welcomed().await;
        assert!(aborted.try_recv().is_err(), "not while the session runs");
        c.send(Message::Close(None));
        assert_eq!(c.closed_with().await, close::NORMAL);
        tokio::time::timeout(BOUND, aborted)
            .await
            .expect("aborted within the bound")
            .expect("abort called");
    }

    #[actix_rt::test]
    async fn a_client_that_stops_answering_pings_is_closed_with_4000() {
        let mut c = connect(
            store(),
            SessionConfig {
                heartbeat_interval: Duration::from_millis(20),
                connection_timeout: Duration::from_millis(100),
                ..config()
            },
        );
        c.welcomed().await;
        let mut pings = 0;
        let code = loop {
            match c.frame().await.expect("a frame") {
                WsFrame::Ping(_) => pings += 1,
                WsFrame::Close(reason) => break reason.map(|r| u16::from(r.code)),
                other => panic!("unexpected {other:?}"),
            }
        };
        assert_eq!(code, Some(close::HEARTBEAT_TIMEOUT));
        assert!(pings > 0, "pinged before being closed");
        assert!(c.frame().await.is_none());
    }

    #[actix_rt::test]
    async fn a_client_that_answers_pings_stays_connected_past_the_timeout() {
        let mut c = connect(
            store(),
            SessionConfig {
                heartbeat_interval: Duration::from_millis(10),
                connection_timeout: Duration::from_millis(50),
                ..config()
            },
        );
        c.welcomed().await;
        // Fifteen pings take three times the timeout.
        for _ in 0..15 {
            match c.frame().await.expect("a frame") {
                WsFrame::Ping(_) => c.send(Message::Pong(Bytes::new())),
                other => panic!("expected a ping, got {other:?}"),
            }
        }
        c.text(r#"{"op":"ping","ref":1}"#);
        assert_eq!(c.json().await["type"], "pong");
    }

    /// An SSE session as the edges start one, with a fast heartbeat.
    fn event_stream(hub: &Addr<Hub>, since: Option<Since>) -> Writer {
        Session::event_stream(Start {
            hub: hub.clone(),
            writes: Arc::new(AckAll),
            user: None,
            config: SessionConfig {
                heartbeat_interval: Duration::from_millis(20),
                ..config()
            },
            channels: vec![(Channel::News, since)],
            delta: false,
            abort: None,
        })
    }

    async fn chunk(body: &mut Writer) -> String {
        let bytes = tokio::time::timeout(BOUND, body.next())
            .await
            .expect("the server writes within the bound")
            .expect("the body is open")
            .expect("bytes");
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    #[actix_rt::test]
    async fn an_sse_session_resumes_its_channels_and_keeps_the_stream_alive() {
        let store = store();
        for _ in 0..3 {
            store.append(&Channel::News);
        }
        let hub = hub(store);
        let since = Since {
            epoch: "e1".into(),
            seq: 1,
        };
        let mut body = event_stream(&hub, Some(since));
        let mut text = String::new();
        while !text.contains(": keep-alive") {
            text.push_str(&chunk(&mut body).await);
        }
        let ids: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("id: "))
            .collect();
        // The position stays at the resume's start until the replay moves it.
        assert_eq!(ids, vec!["news@e1:1", "news@e1:2", "news@e1:3"], "{text}");
        assert!(text.starts_with("event: welcome\n"), "{text}");
    }

    #[actix_rt::test]
    async fn an_sse_session_whose_body_is_gone_leaves_its_rooms() {
        let hub = hub(store());
        let mut body = event_stream(&hub, None);
        while !chunk(&mut body).await.contains("event: subscribed") {}
        assert_eq!(crate::hub::subscribers(&hub, Channel::News).await, 1);
        // The client hung up: the body is dropped, and the session goes.
        drop(body);
        let deadline = Instant::now() + BOUND;
        while crate::hub::subscribers(&hub, Channel::News).await > 0 {
            assert!(Instant::now() < deadline, "the session stayed in its room");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[actix_rt::test]
    async fn a_session_whose_queue_is_full_is_closed_with_4001() {
        let mut c = connect(
            store(),
            SessionConfig {
                queue_capacity: 1,
                ..config()
            },
        );
        // The welcome fills the queue; the pong finds no room.
        c.text(r#"{"op":"ping","ref":1}"#);
        assert_eq!(c.refused_with().await, close::TOO_SLOW);
    }
}
