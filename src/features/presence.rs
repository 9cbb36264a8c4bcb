//! Who is on a channel: the count on every node, and for small channels (up
//! to `PRESENCE_LIST_MAX` members) who they are — names only for signed-in
//! callers (who is watching is not for anyone on the internet to scrape);
//! a user's own channel is private.

use ringside_actors::hub;
use ringside_actors::Channel;
use serde_json::{json, Value};

use crate::db::users;
use crate::error::ApiError;
use crate::state::AppState;

/// The presence of channel `name` as `signed_in` or anonymous callers see it.
pub async fn of(state: &AppState, name: String, signed_in: bool) -> Result<Value, ApiError> {
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
        _ if !signed_in => None,
        None => None,
        Some(ids) if ids.is_empty() => Some(Vec::new()),
        Some(ids) => Some(
            state
                .db
                .run(move |c| users::display_names(c, &ids).map_err(ApiError::from))
                .await?
                .into_iter()
                .map(|(id, name)| json!({ "id": id, "display_name": name }))
                .collect::<Vec<_>>(),
        ),
    };
    Ok(json!({ "channel": name, "count": now.count, "users": users }))
}
