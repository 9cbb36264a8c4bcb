//! The HTTP fallbacks of the live protocol (DESIGN §12): an SSE stream and
//! long-poll. Both are sessions of the live core like a WebSocket (the same
//! rooms, frames, `seq`, queue bound and expiry, per-user and per-address
//! limits), followed channels given as `?channels=` and resumed every one
//! from the cursor (`Last-Event-ID` or `?cursor=`). Writes go over REST.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use ringside_actors::cursor::{encode, Cursor, Parsed};
use ringside_actors::protocol::{self, Since};
use ringside_actors::session::{Session, Transport};
use ringside_actors::writer::{Encoding, Writer};
use ringside_actors::Channel;
use serde::Deserialize;

use super::resource;
use super::ws::{abort_after_grace, caller, start, ADDRESS_FULL};
use crate::error::ApiError;
use crate::state::AppState;

/// Longest wait a poll may ask for.
const MAX_POLL_S: u64 = 60;
const DEFAULT_POLL_S: u64 = 25;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/live/stream/").get(stream))
        .service(resource("/api/live/poll/").get(poll));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamQuery {
    channels: Option<String>,
    cursor: Option<String>,
    token: Option<String>,
    timeout_s: Option<u64>,
}

impl StreamQuery {
    fn read(req: &HttpRequest) -> Result<StreamQuery, ApiError> {
        web::Query::<StreamQuery>::from_query(req.query_string())
            .map(web::Query::into_inner)
            .map_err(|e| ApiError::bad_request(format!("query string: {e}")))
    }
}

/// `?channels=event:7,comments:7`: each once, in order, at most `max`.
fn channels(listed: Option<&str>, max: usize) -> Result<Vec<Channel>, ApiError> {
    let mut channels: Vec<Channel> = Vec::new();
    for name in listed.unwrap_or("").split(',').map(str::trim) {
        if name.is_empty() {
            continue;
        }
        let channel = name
            .parse::<Channel>()
            .map_err(|e| ApiError::invalid("channels", e.to_string()))?;
        if !channels.contains(&channel) {
            channels.push(channel);
        }
    }
    if channels.is_empty() {
        return Err(ApiError::invalid(
            "channels",
            "name at least one channel (comma-separated)",
        ));
    }
    if channels.len() > max {
        return Err(ApiError::invalid(
            "channels",
            format!("at most {max} channels"),
        ));
    }
    Ok(channels)
}

fn cursor(text: Option<&str>) -> Result<Parsed, ApiError> {
    match text {
        None => Ok(Parsed::default()),
        Some(text) => Parsed::parse(text).map_err(|e| ApiError::invalid("cursor", e.to_string())),
    }
}

/// Each channel with where the cursor says it stood.
fn resumed(channels: &[Channel], cursor: &Parsed) -> Vec<(Channel, Option<Since>)> {
    channels
        .iter()
        .map(|c| (c.clone(), cursor.positions.get(c).cloned()))
        .collect()
}

#[utoipa::path(
    get,
    path = "/api/live/stream/",
    tags = ["streams"],
    operation_id = "liveStream",
    summary = r#"Follow channels over Server-Sent Events"#,
    description = r#"A `text/event-stream` session following `channels`: the frames of the WebSocket protocol (the `websocket` tag), one event each (`event:` the frame's type, `data:` its JSON, `id:` the stream's cursor on every frame that moves it), starting with `welcome` and a `subscribed` per channel (or its `error`, as for a `subscribe` op). Comments (`: keep-alive`) every `HEARTBEAT_INTERVAL` keep proxies from closing a quiet stream. A reconnect sends the last id as `Last-Event-ID` (browsers do) or `?cursor=` and resumes every channel gap-free, or gets `resync` for a channel that cannot be. When the server ends the stream it sends a `close` event with the code and reason a WebSocket would get (4001 too slow, 1012 restart, 1008 policy: do not reconnect), then ends the response. Limits and origin checks are the WebSocket's. Writes go over REST. Public; `user:{me}` needs the token."#,
    params(
        ("channels" = String, Query, description = r#"The channels to follow, comma-separated (`event:7,comments:7`), at most 50."#),
        ("cursor" = Option<String>, Query, description = r#"Where to resume (the last event id); `Last-Event-ID` wins over it."#),
        ("Last-Event-ID" = Option<String>, Header, description = r#"The last event id received: resume from it."#),
    ),
    security((), ("bearerAuth" = []), ("tokenQuery" = [])),
    responses(
        (status = 200, description = r#"The event stream (`text/event-stream`), open until the client or the server ends it."#, content_type = "text/event-stream", body = String),
        (status = 400, description = r#"`bad_request`: `channels` missing, empty, over 50 or naming an unknown channel, or a cursor that does not parse (`details` names the field)."#),
        (status = 401, description = r#"`unauthorized`: a token was sent but is malformed, invalid or expired."#),
        (status = 403, description = r#"`forbidden`: an `Origin` not in `RINGSIDE_ALLOWED_ORIGINS`, or SSE is not in `RINGSIDE_TRANSPORTS`; `banned`: the token's account is banned."#),
    )
)]
async fn stream(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let query = StreamQuery::read(&req)?;
    let caller = caller(&req, &state, Transport::EventStream, query.token).await?;
    let max = crate::live::session_config(&state.config).max_subscriptions;
    let channels = channels(query.channels.as_deref(), max)?;
    // A browser's reconnect keeps the first URL and adds the newer id.
    let last_id = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok());
    let cursor = cursor(last_id.or(query.cursor.as_deref()))?;
    let abort = super::socket::abort_handle(&req);
    let body = match state.live_slots.take(caller.ip) {
        Ok(slot) => Session::event_stream(start(
            &state,
            caller.user,
            resumed(&channels, &cursor),
            abort,
        ))
        .keeping(Box::new(slot)),
        Err(crate::live::Full) => {
            abort_after_grace(&state, abort);
            let (code, reason) = ADDRESS_FULL;
            Writer::closing(Encoding::EventStream(Cursor::default()), code, reason)
        }
    };
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        // nginx: pass events on as they come.
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

#[utoipa::path(
    get,
    path = "/api/live/poll/",
    tags = ["streams"],
    operation_id = "livePoll",
    summary = r#"Follow channels by long-polling"#,
    description = r#"Answers `{"frames":[…],"cursor":"…"}`: the frames of the WebSocket protocol (the `websocket` tag) that waited, at once when some do, else after up to `timeout_s` with none. The first poll (no cursor) starts a session following `channels` and answers its `welcome`; the next ones send the cursor the last answer gave, which names that session, and get what came since (the `subscribed` frames, then the channels' messages). A cursor from elsewhere (an SSE id, a client's own positions, an answer that was lost, a session that ended) starts a new session resuming every channel from it gap-free, or with `resync` where it cannot. A session not polled for 15 seconds ends; one whose frames wait longer than `CHANNEL_EXPIRY` (or more than `CHANNEL_CAPACITY` of them) is ended with 4001. An ended session's last answer ends with a `close` frame (the code a WebSocket would get) and a cursor naming no session: poll again with it to resume, unless the code is 1008. Limits and origin checks are the WebSocket's. Writes go over REST. Public; `user:{me}` needs the token."#,
    params(
        ("channels" = String, Query, description = r#"The channels to follow, comma-separated (`event:7,comments:7`), at most 50; the same on every poll of a session."#),
        ("cursor" = Option<String>, Query, description = r#"The last answer's cursor."#),
        ("timeout_s" = Option<u64>, Query, description = r#"How long to wait when nothing waits: 0 to 60 seconds, default 25."#),
    ),
    security((), ("bearerAuth" = []), ("tokenQuery" = [])),
    responses(
        (status = 200, description = r#"`{"frames": [frame, …], "cursor": string}`."#, body = crate::http::openapi::schemas::PollAnswer),
        (status = 400, description = r#"`bad_request`: `channels` missing, empty, over 50 or naming an unknown channel, a cursor that does not parse, or `timeout_s` over 60 (`details` names the field)."#),
        (status = 401, description = r#"`unauthorized`: a token was sent but is malformed, invalid or expired."#),
        (status = 403, description = r#"`forbidden`: an `Origin` not in `RINGSIDE_ALLOWED_ORIGINS`, or long-poll is not in `RINGSIDE_TRANSPORTS`; `banned`: the token's account is banned."#),
    )
)]
async fn poll(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let query = StreamQuery::read(&req)?;
    let wait = query.timeout_s.unwrap_or(DEFAULT_POLL_S);
    if wait > MAX_POLL_S {
        return Err(ApiError::invalid(
            "timeout_s",
            format!("0 to {MAX_POLL_S} seconds"),
        ));
    }
    let caller = caller(&req, &state, Transport::LongPoll, query.token).await?;
    let max = crate::live::session_config(&state.config).max_subscriptions;
    let channels = channels(query.channels.as_deref(), max)?;
    let cursor = cursor(query.cursor.as_deref())?;
    let user = caller.user.as_ref().map(|u| u.id);
    let held = cursor.session.as_deref().and_then(|key| {
        state
            .long_polls
            .take(key, user, &channels, &cursor.positions)
    });
    let lease = match held {
        Some(lease) => lease,
        None => match state.live_slots.take(caller.ip) {
            Ok(slot) => {
                let session = start(&state, caller.user, resumed(&channels, &cursor), None);
                let writer = Session::long_poll(session).keeping(Box::new(slot));
                state.long_polls.open(writer, user, channels)
            }
            Err(crate::live::Full) => {
                let (code, reason) = ADDRESS_FULL;
                let close = protocol::closing(code, reason);
                let positions = encode(None, &cursor.positions);
                return Ok(answer(Bytes::copy_from_slice(close.as_bytes()), &positions));
            }
        },
    };
    let gone = super::socket::peer_gone_handle(&req);
    match lease.answer(Duration::from_secs(wait), gone).await {
        Some((frames, next)) => Ok(answer(frames, &next)),
        // Nobody to answer: the session has ended; the client's next poll
        // (if any) resumes from its cursor.
        None => Ok(HttpResponse::NoContent().finish()),
    }
}

/// `{"frames":[…],"cursor":"…"}` around frames already encoded, so no frame
/// is serialized again per poll.
fn answer(frames: Bytes, cursor: &str) -> HttpResponse {
    let cursor = serde_json::Value::String(cursor.to_string()).to_string();
    let mut body = Vec::with_capacity(frames.len() + cursor.len() + 24);
    body.extend_from_slice(b"{\"frames\":[");
    body.extend_from_slice(&frames);
    body.extend_from_slice(b"],\"cursor\":");
    body.extend_from_slice(cursor.as_bytes());
    body.push(b'}');
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}
