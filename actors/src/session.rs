//! A session: one WebSocket connection, as an actix actor over actix-ws.
//!
//! It reads the client's frames (`ctx.add_stream`) and answers ops. Its
//! bounded outgoing queue is filled by rooms without blocking and drained by
//! the response body itself (`writer.rs`). It closes the connection when the
//! client stops answering pings (even while the socket cannot be written),
//! when frames wait too long or too many pile up (4001: resume with `since`;
//! stalled sockets are found by the hub's sweep), on frames over the size
//! limit (1009), and on sustained abuse (1008).

use std::collections::{HashSet, VecDeque};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_ws::{Message, ProtocolError};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use crate::channel::Channel;
use crate::hub::{Connect, Disconnect, Hub, Refused, Subscribe, Unsubscribe};
use crate::outbox::{Kick, Outbox, Outgoing, SessionId};
use crate::protocol::{self, close, ClientOp, ErrorCode, Frame, Since};
use crate::role::Role;
use crate::writer::{CloseRequest, Writer};
use crate::writes::{ClientWrites, WriteOp};

/// Writes one session may have in flight; more are refused (rate_limited).
const MAX_WRITES_IN_FLIGHT: usize = 32;

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
}

/// Who is on the other end, if signed in.
#[derive(Debug, Clone)]
pub struct UserInfo {
    pub id: i64,
    pub role: Role,
    pub display_name: String,
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
    user: Option<UserInfo>,
    hub: Addr<Hub>,
    writes: Arc<dyn ClientWrites>,
    writes_in_flight: usize,
    config: SessionConfig,
    outbox: Outbox,
    /// Asks the writer for a close frame ahead of anything queued.
    closer: Option<oneshot::Sender<CloseRequest>>,
    /// Whether the hub admitted us (and so must hear when we go).
    registered: bool,
    channels: HashSet<Channel>,
    initial: Option<(Channel, Option<Since>)>,
    last_heard: Instant,
    limiter: DefaultDirectRateLimiter,
    strikes: VecDeque<Instant>,
}

impl Session {
    /// Starts the actor for an upgraded connection reading `stream`;
    /// returns the body that writes to it. `initial` is the endpoint's
    /// auto-subscription.
    pub fn start(
        stream: actix_ws::MessageStream,
        hub: Addr<Hub>,
        writes: Arc<dyn ClientWrites>,
        user: Option<UserInfo>,
        config: SessionConfig,
        initial: Option<(Channel, Option<Since>)>,
    ) -> Writer {
        let stream = stream.max_frame_size(config.max_frame_size);
        let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
        let (closer, close) = oneshot::channel();
        let written = Arc::new(AtomicU64::new(0));
        let writer = Writer::new(rx, close, written.clone(), config.queue_expiry);
        Session::create(move |ctx| {
            ctx.add_stream(stream);
            let id = NEXT_SESSION.fetch_add(1, Ordering::Relaxed);
            let outbox = Outbox::new(
                id,
                user.as_ref().map(|u| u.id),
                tx,
                ctx.address().recipient(),
                written,
            );
            let per_second = NonZeroU32::new(config.frames_per_second).unwrap_or(NonZeroU32::MIN);
            let burst = per_second.saturating_mul(NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN));
            Session {
                id,
                user,
                hub,
                writes,
                writes_in_flight: 0,
                outbox,
                closer: Some(closer),
                registered: false,
                channels: HashSet::new(),
                initial,
                last_heard: Instant::now(),
                limiter: RateLimiter::direct_with_clock(
                    Quota::per_second(per_second).allow_burst(burst),
                    clock(),
                ),
                strikes: VecDeque::new(),
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
        if let Some(closer) = self.closer.take() {
            let _ = closer.send((code, reason));
        }
        ctx.stop();
    }

    /// Answers a bad frame; a client that keeps sending them is closed.
    fn refuse(&mut self, ctx: &mut Context<Self>, frame: Frame) {
        self.send(ctx, frame);
        let now = Instant::now();
        self.strikes.push_back(now);
        while self
            .strikes
            .front()
            .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
        {
            self.strikes.pop_front();
        }
        if self.strikes.len() > self.config.max_strikes_per_minute {
            self.close(ctx, close::POLICY, "too many bad frames");
        }
    }

    fn heartbeat(&mut self, ctx: &mut Context<Self>) {
        if self.last_heard.elapsed() > self.config.connection_timeout {
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
        reference: Option<Value>,
    ) {
        if let Channel::User(owner) = channel {
            match &self.user {
                None => {
                    return self.refuse(
                        ctx,
                        protocol::error(
                            ErrorCode::Unauthorized,
                            "sign in to follow your notifications",
                            &reference,
                        ),
                    )
                }
                Some(u) if u.id != owner => {
                    return self.refuse(
                        ctx,
                        protocol::error(
                            ErrorCode::Forbidden,
                            "that is another user's channel",
                            &reference,
                        ),
                    )
                }
                Some(_) => {}
            }
        }
        if !self.channels.contains(&channel) && self.channels.len() >= self.config.max_subscriptions
        {
            return self.refuse(
                ctx,
                protocol::error(
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
        });
    }

    fn on_text(&mut self, ctx: &mut Context<Self>, text: &str) {
        if let Err(not_until) = self.limiter.check() {
            let wait = not_until.wait_time_from(clock().now());
            let frame =
                protocol::rate_limited("too many frames", wait.as_millis().max(1) as u64, &None);
            return self.refuse(ctx, frame);
        }
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
        let reference = value.get("ref").cloned();
        let op: ClientOp = match serde_json::from_value(value) {
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
                reference,
            } => match channel.parse::<Channel>() {
                Ok(channel) => self.subscribe(ctx, channel, since, reference),
                Err(e) => self.refuse(
                    ctx,
                    protocol::error(ErrorCode::BadRequest, &e.to_string(), &reference),
                ),
            },
            ClientOp::Unsubscribe { channel, reference } => {
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
            ClientOp::Ping { reference } => self.send(ctx, protocol::pong(&reference)),
            ClientOp::Comment {
                live_event,
                live_fight,
                content,
                parent_comment,
                reference,
            } => self.write(
                ctx,
                WriteOp::Comment {
                    live_event,
                    live_fight,
                    content,
                    parent_comment,
                },
                reference,
            ),
            ClientOp::React {
                target_type,
                target_id,
                reaction_type,
                reference,
            } => self.write(
                ctx,
                WriteOp::React {
                    target_type,
                    target_id,
                    reaction_type,
                },
                reference,
            ),
            ClientOp::Vote {
                poll,
                option,
                reference,
            } => self.write(ctx, WriteOp::Vote { poll, option }, reference),
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
        let admit = self.hub.send(Connect {
            outbox: self.outbox.clone(),
        });
        ctx.wait(admit.into_actor(self).map(|answer, session, ctx| match answer {
            Ok(Ok(())) => {
                session.registered = true;
                let user = session.user.as_ref().map(|u| json!({ "id": u.id, "role": u.role, "display_name": u.display_name }));
                let welcome = protocol::welcome(&format!("{:x}", session.id), user, session.config.heartbeat_interval.as_secs());
                session.send(ctx, welcome);
                if let Some((channel, since)) = session.initial.take() {
                    session.subscribe(ctx, channel, since, None);
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
    }
}

impl Handler<Kick> for Session {
    type Result = ();
    fn handle(&mut self, msg: Kick, ctx: &mut Context<Self>) {
        self.close(ctx, msg.code, msg.reason);
    }
}

impl StreamHandler<Result<Message, ProtocolError>> for Session {
    fn handle(&mut self, item: Result<Message, ProtocolError>, ctx: &mut Context<Self>) {
        self.last_heard = Instant::now();
        match item {
            Ok(Message::Text(text)) => self.on_text(ctx, &text),
            Ok(Message::Binary(_)) => {
                self.refuse(
                    ctx,
                    protocol::error(ErrorCode::BadRequest, "frames are JSON text", &None),
                );
            }
            Ok(Message::Continuation(_)) => {
                self.refuse(
                    ctx,
                    protocol::error(
                        ErrorCode::BadRequest,
                        "fragmented frames are not supported",
                        &None,
                    ),
                );
            }
            Ok(Message::Ping(payload)) => {
                let _ = self.outbox.push_control(Outgoing::Pong(payload));
            }
            Ok(Message::Pong(_)) | Ok(Message::Nop) => {}
            Ok(Message::Close(_)) => ctx.stop(),
            Err(ProtocolError::Overflow) => self.close(ctx, close::TOO_LARGE, "frame too large"),
            Err(_) => self.close(ctx, close::POLICY, "protocol error"),
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
