//! Who is on a channel: the count on every node, and for small channels
//! (up to `PRESENCE_LIST_MAX` members) who they are — names only for
//! signed-in callers; anonymous ones get the count.

use actix_web::{web, HttpResponse};
use diesel::prelude::*;
use ringside_actors::hub;
use ringside_actors::Channel;
use serde_json::json;

use super::extract::MaybeAuth;
use super::resource;
use crate::db::schema::users;
use crate::error::ApiError;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/live/presence/{channel}/").get(presence));
}

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
