//! Presence over HTTP (the rules: `features/presence.rs`).

use actix_web::{web, HttpResponse};

use super::extract::MaybeAuth;
use super::resource;
use crate::error::ApiError;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/live/presence/{channel}/").get(presence));
}

#[utoipa::path(
    get,
    path = "/api/live/presence/{channel}/",
    tags = ["engagement"],
    operation_id = "getPresence",
    summary = r#"Who is on a channel"#,
    description = r#"How many follow a channel now over WebSocket, on every node: `count` is its distinct members (a signed-in user counts once however many sessions, each anonymous connection once). While `count` is at most `PRESENCE_LIST_MAX` (default 100), `users` lists the signed-in members (anonymous ones are counted, not listed) to signed-in callers; above that, and always for anonymous callers, it is null. A channel nobody follows, or one that names nothing, answers `count` 0. Any node answers for the whole cluster: with several nodes, each tells the others its headcount of every channel it serves once a second over the bus, so a node none of whose connections follows the channel answers from the others' last word (a node not heard from for 5 s is left out, so a count may lag a change by a second or two). The same count goes out live as `presence` frames. Public; a token, when sent, must be valid."#,
    params(
        ("channel" = String, Path, description = r#"A channel name (see the `websocket` tag): `event:{id}`, `fight:{id}`, `comments:{id}`, `rankings:{division}`, `news` or `rankings`. `user:` channels are private."#),
    ),
    security((), ("bearerAuth" = [])),
    responses(
        (status = 200, description = r#"The channel's presence."#, body = crate::http::openapi::schemas::Presence),
        (status = 400, description = r#"`bad_request`: not a channel name (`details`: `{"channel": "unknown channel ..."}`)."#),
        (status = 403, description = r#"`forbidden`: a `user:` channel (private)."#),
        (status = 401, description = r#"`unauthorized`: a token was sent and is invalid, expired or revoked."#),
    )
)]
async fn presence(
    caller: MaybeAuth,
    state: web::Data<AppState>,
    channel: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let signed_in = caller.0.is_some();
    let now = crate::features::presence::of(&state, channel.into_inner(), signed_in).await?;
    Ok(HttpResponse::Ok().json(now))
}
