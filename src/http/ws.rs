//! WebSocket upgrades. Each live endpoint is also a REST resource: a request
//! with `Upgrade: websocket` becomes a session auto-subscribed to the
//! endpoint's channel (resuming from `?since=<epoch>:<seq>`), anything else
//! is answered by the REST handler. Auth: `?token=` or `Authorization: Bearer`.
//! An address over `MAX_CONNECTIONS_PER_IP` is upgraded and closed at once
//! with 1008, so browsers see why (a refused handshake shows them nothing).

use actix_web::body::{BodyStream, MessageBody};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use ringside_actors::protocol::{close, Since};
use ringside_actors::session::{Session, UserInfo};
use ringside_actors::writer::Writer;
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
}

/// Whether the endpoint needs a signed-in user.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    SignedIn,
}

/// Upgrades to a session following `channel` (the signed-in user's own
/// channel when `channel` is `None`). Refusals are plain HTTP errors.
pub async fn connect(
    req: HttpRequest,
    body: web::Payload,
    state: &web::Data<AppState>,
    channel: Option<Channel>,
    access: Access,
) -> Result<HttpResponse, ApiError> {
    super::cors::check_origin(&req, &state.config.guards)?;
    let params = web::Query::<WsParams>::from_query(req.query_string())
        .map_err(|e| ApiError::bad_request(format!("query string: {e}")))?
        .into_inner();
    let header_token = super::extract::bearer_token(&req)?;
    let token = params.token.filter(|t| !t.is_empty()).or(header_token);
    let user = match token {
        Some(token) => Some(super::extract::user_for_token(state, &token).await?),
        None => None,
    };
    if let Some(user) = &user {
        crate::logging::note_user(&req, user.id);
    }
    if access == Access::SignedIn && user.is_none() {
        return Err(ApiError::Unauthorized("authentication required"));
    }
    let since = match params.since.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            Since::parse(s).ok_or_else(|| ApiError::invalid("since", "expected <epoch>:<seq>"))?,
        ),
    };
    let user = user.map(|u| UserInfo {
        id: u.id,
        role: u.role(),
        display_name: u.display_name,
    });
    let channel = channel.or_else(|| user.as_ref().map(|u| Channel::User(u.id)));
    let mut handshake = actix_http::ws::handshake(req.head())
        .map_err(|e| ApiError::bad_request(format!("WebSocket handshake: {e}")))?;
    let abort = super::socket::abort_handle(&req);
    let ip = crate::client_addr::client_ip(&req, &state.config.guards.trusted_proxies);
    let body = match state.live_slots.take(ip) {
        Ok(slot) => Session::start(
            body,
            state.hub.clone(),
            super::ws_ops::Writes::shared(state),
            user,
            crate::live::session_config(&state.config),
            channel.map(|c| (c, since)),
            abort,
        )
        .keeping(Box::new(slot)),
        Err(crate::live::Full) => {
            // No session: the close frame goes out, and the connection is
            // cut after the grace if the client will not hang up.
            if let Some(abort) = abort {
                let grace = state.config.guards.close_grace;
                actix_web::rt::spawn(async move {
                    actix_web::rt::time::sleep(grace).await;
                    abort();
                });
            }
            Writer::closing(close::POLICY, "too many connections from this address")
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
