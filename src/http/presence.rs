//! Who is on a channel: the count on every node, and for small channels
//! (up to `PRESENCE_LIST_MAX` members) who they are — names only for
//! signed-in callers; anonymous ones get the count.

use actix_web::{web, HttpResponse};
use diesel::prelude::*;
use ringside_actors::hub;
use ringside_actors::Channel;
use serde_json::json;

use super::resource;
use crate::auth::MaybeAuth;
use crate::db::schema::users;
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
    description = r#"How many follow a channel now over WebSocket, on every node: `count` is its distinct members (a signed-in user counts once however many sessions, each anonymous connection once). While `count` is at most `PRESENCE_LIST_MAX` (default 100), `users` lists the signed-in members (anonymous ones are counted, not listed) to signed-in callers; above that, and always for anonymous callers, it is null. A channel nobody follows, or one that names nothing, answers `count` 0. The answering node knows the channel only while one of its own connections follows it (or did within `ROOM_IDLE`, default 60 s); otherwise it answers 0. The same count goes out live as `presence` frames. Public; a token, when sent, must be valid."#,
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
    let name = channel.into_inner();
    let channel: Channel =
        name.parse()
            .map_err(|e: ringside_actors::channel::UnknownChannel| {
                ApiError::invalid("channel", e.to_string())
            })?;
    if matches!(channel, Channel::User(_)) {
        return Err(ApiError::Forbidden("a user's channel is private".into()));
    }
    let now = hub::presence(&state.hub, channel).await;
    let users = match now.users {
        // Who is watching is not for anyone on the internet to scrape.
        _ if caller.0.is_none() => None,
        None => None,
        Some(ids) if ids.is_empty() => Some(Vec::new()),
        Some(ids) => Some(
            state
                .db
                .run(move |c| {
                    users::table
                        .filter(users::id.eq_any(&ids))
                        .order(users::id)
                        .select((users::id, users::display_name))
                        .load::<(i64, String)>(c)
                        .map_err(ApiError::from)
                })
                .await?
                .into_iter()
                .map(|(id, name)| json!({ "id": id, "display_name": name }))
                .collect::<Vec<_>>(),
        ),
    };
    Ok(HttpResponse::Ok().json(json!({ "channel": name, "count": now.count, "users": users })))
}
