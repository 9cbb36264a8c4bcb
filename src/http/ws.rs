//! WebSocket upgrades. Each live endpoint is also a REST resource: a request
//! with `Upgrade: websocket` becomes a session auto-subscribed to the
//! endpoint's channel (resuming from `?since=<epoch>:<seq>`), anything else
//! is answered by the REST handler. Auth: `?token=` or `Authorization: Bearer`.
//! An address over `MAX_CONNECTIONS_PER_IP` is upgraded and closed at once
//! with 1008, so browsers see why (a refused handshake shows them nothing).

use std::net::IpAddr;

use actix_web::body::{BodyStream, MessageBody};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use ringside_actors::protocol::{close, Since};
use ringside_actors::session::{Abort, Session, Start, Transport, UserInfo};
use ringside_actors::writer::{Encoding, Writer};
use ringside_actors::Channel;
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;

pub fn is_upgrade(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

#[derive(Deserialize)]
struct WsParams {
    token: Option<String>,
    since: Option<String>,
    /// `true`: the auto-subscription asks for delta frames (as the
    /// `subscribe` op's `delta`).
    delta: Option<String>,
}

/// Whether the endpoint needs a signed-in user.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    SignedIn,
}

/// Who is connecting, checked alike for every transport.
pub struct Caller {
    pub user: Option<UserInfo>,
    pub ip: Option<IpAddr>,
}

/// What every live connection passes before it starts: the transport is
/// served here, the origin is allowed, the token (`?token=` or the bearer
/// header) is valid.
pub async fn caller(
    req: &HttpRequest,
    state: &AppState,
    transport: Transport,
    token: Option<String>,
) -> Result<Caller, ApiError> {
    let served = &state.config.guards.transports;
    if !served.contains(&transport) {
        let names: Vec<&str> = served.iter().map(|t| t.as_str()).collect();
        return Err(ApiError::Forbidden(format!(
            "{} is not served here (RINGSIDE_TRANSPORTS): use {}",
            transport.as_str(),
            names.join(", ")
        )));
    }
    super::cors::check_origin(req, &state.config.guards)?;
    let header_token = super::extract::bearer_token(req)?;
    let user = match token.filter(|t| !t.is_empty()).or(header_token) {
        Some(token) => Some(super::extract::user_for_token(state, &token).await?),
        None => None,
    };
    if let Some(user) = &user {
        crate::logging::note_user(req, user.id);
    }
    Ok(Caller {
        user: user.map(|u| UserInfo {
            id: u.id,
            role: u.role(),
            display_name: u.display_name,
        }),
        ip: crate::client_addr::client_ip(req, &state.config.guards.trusted_proxies),
    })
}

/// A session's start for `user`, following `channels` from the start.
pub fn start(
    state: &web::Data<AppState>,
    user: Option<UserInfo>,
    channels: Vec<(Channel, Option<Since>)>,
    abort: Option<Abort>,
) -> Start {
    Start {
        hub: state.hub.clone(),
        writes: super::ws_ops::Writes::shared(state),
        user,
        config: crate::live::session_config(&state.config),
        channels,
        delta: false,
        abort,
    }
}

/// Cuts the connection `close_grace` after a refusal's close is sent, if
/// the client will not hang up.
pub fn abort_after_grace(state: &AppState, abort: Option<Abort>) {
    if let Some(abort) = abort {
        let grace = state.config.guards.close_grace;
        actix_web::rt::spawn(async move {
            actix_web::rt::time::sleep(grace).await;
            abort();
        });
    }
}

/// The close sent to an address that has `MAX_CONNECTIONS_PER_IP` open.
pub const ADDRESS_FULL: (u16, &str) = (close::POLICY, "too many connections from this address");

/// Upgrades to a session following `channel` (the signed-in user's own
/// channel when `channel` is `None`). Refusals are plain HTTP errors.
pub async fn connect(
    req: HttpRequest,
    body: web::Payload,
    state: &web::Data<AppState>,
    channel: Option<Channel>,
    access: Access,
) -> Result<HttpResponse, ApiError> {
    let params = web::Query::<WsParams>::from_query(req.query_string())
        .map_err(|e| ApiError::bad_request(format!("query string: {e}")))?
        .into_inner();
    let caller = caller(&req, state, Transport::WebSocket, params.token).await?;
    if access == Access::SignedIn && caller.user.is_none() {
        return Err(ApiError::Unauthorized("authentication required"));
    }
    let since = match params.since.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            Since::parse(s).ok_or_else(|| ApiError::invalid("since", "expected <epoch>:<seq>"))?,
        ),
    };
    let delta = match params.delta.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::invalid("delta", "expected true or false")),
    };
    let channel = channel.or_else(|| caller.user.as_ref().map(|u| Channel::User(u.id)));
    let mut handshake = actix_http::ws::handshake(req.head())
        .map_err(|e| ApiError::bad_request(format!("WebSocket handshake: {e}")))?;
    let abort = super::socket::abort_handle(&req);
    let body = match state.live_slots.take(caller.ip) {
        Ok(slot) => {
            let channels = channel.map(|c| (c, since)).into_iter().collect();
            let start = Start {
                delta,
                ..start(state, caller.user, channels, abort)
            };
            Session::websocket(body, start).keeping(Box::new(slot))
        }
        Err(crate::live::Full) => {
            // No session: the close frame goes out, and the connection is
            // cut after the grace if the client will not hang up.
            abort_after_grace(state, abort);
            Writer::closing(Encoding::websocket(), ADDRESS_FULL.0, ADDRESS_FULL.1)
        }
    };
    let response = handshake
        .message_body(BodyStream::new(body).boxed())
        .map_err(|e| ApiError::Internal(format!("WebSocket response: {e}")))?;
    Ok(HttpResponse::from(response))
}

/// 404 before an upgrade to a live event that does not exist.
pub async fn ensure_live_event(state: &AppState, id: i64) -> Result<(), ApiError> {
    super::query(&state.db, move |c| {
        crate::db::live_events::find(c, id).map(|_| ())
    })
    .await
    .map_err(super::named("live event"))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/api/live/comments/{id}/").get(comments))
        .service(super::resource("/api/live/notifications/").get(notifications));
}

/// `comments:{event_id}` over WebSocket.
#[utoipa::path(
    get,
    path = "/api/live/comments/{id}/",
    tags = ["websocket"],
    operation_id = "streamComments",
    summary = r#"A live event's comment stream (WebSocket)"#,
    description = r#"WebSocket only: the session is auto-subscribed to `comments:{id}` (`id` is the live event's id; the subscription snapshot is `{live_event}`). `?since=` resumes it; `?token=` or the bearer header signs the session in (anonymous is fine). The live event must exist. See the `websocket` tag. Public."#,
    security((), ("bearerAuth" = []), ("tokenQuery" = [])),
    responses(
        (status = 101, description = r#"Switching Protocols (with `Upgrade: websocket`): the connection is now a WebSocket session auto-subscribed to `comments:{id}`; its first frame is `welcome`, then `subscribed` (or an `error`). See the `websocket` tag."#),
        (status = 400, description = r#"`bad_request`: not a WebSocket upgrade (the message names the REST comment list, which this version does not serve yet), a `since` or query string that does not parse, or a malformed handshake."#),
        (status = 401, description = r#"`unauthorized` (WebSocket upgrade): a token was sent (`?token=` or `Authorization`) but is malformed, invalid or expired."#),
        (status = 403, description = r#"`banned` (WebSocket upgrade): the token's account is banned."#),
        (status = 404, description = r#"`not_found`: live event not found (or `id` is not an integer)."#),
    )
)]
async fn comments(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    ensure_live_event(&state, id).await?;
    if !is_upgrade(&req) {
        return Err(ApiError::bad_request(format!(
            "this is the comment stream's WebSocket endpoint: connect with Upgrade: websocket \
             (the comment list is GET /api/live/comments/?event={id})"
        )));
    }
    connect(
        req,
        body,
        &state,
        Some(Channel::Comments(id)),
        Access::Public,
    )
    .await
}

/// `user:{me}` over WebSocket: the signed-in user's notifications.
#[utoipa::path(
    get,
    path = "/api/live/notifications/",
    tags = ["websocket"],
    operation_id = "streamNotifications",
    summary = r#"The signed-in user's notification stream (WebSocket)"#,
    description = r#"WebSocket only: the session is auto-subscribed to `user:{me}`, the caller's own channel (subscription snapshot `{user, unread}`, `unread` being the caller's unread count). It carries `notification` frames (a `Notification` each, numbered, sent as soon as it is stored); the list, read state and preferences are REST (`notifications` tag). Needs a signed-in user: the token goes in `?token=` or the bearer header. `?since=` resumes the channel. See the `websocket` tag. Requires role: `viewer`."#,
    security(("bearerAuth" = ["viewer"]), ("tokenQuery" = ["viewer"])),
    responses(
        (status = 101, description = r#"Switching Protocols (with `Upgrade: websocket`): the connection is now a WebSocket session auto-subscribed to `user:{me}`; its first frame is `welcome`, then `subscribed` (or an `error`). See the `websocket` tag."#),
        (status = 400, description = r#"`bad_request`: not a WebSocket upgrade (checked first; the list is `GET /api/notifications/`), a `since` or query string that does not parse, or a malformed handshake."#),
        (status = 401, description = r#"`unauthorized`: no token, or a malformed, invalid or expired one."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
    )
)]
async fn notifications(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if !is_upgrade(&req) {
        return Err(ApiError::bad_request(
            "this is the notification stream's WebSocket endpoint: connect with Upgrade: websocket",
        ));
    }
    connect(req, body, &state, None, Access::SignedIn).await
}
