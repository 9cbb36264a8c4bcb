//! The admin's side of notifications: bulk sends to an audience and the
//! emergency broadcast (every session, every device, quiet hours or not).
//! Validation, the audience, the transaction and what goes out live here;
//! the HTTP handlers only parse and call.

use ringside_actors::protocol;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{recipients, templates, Reach};
use crate::db::notifications::{self, NewCampaign, Personal};
use crate::error::{named, ApiError};
use crate::state::AppState;
use crate::validate;
use ringside_actors::vocabulary::{NotificationType, Vocabulary};

/// At most this many listed users per send.
const MAX_LISTED_USERS: usize = 10_000;
/// `data` rides in the push payload, which both providers cap at 4 KiB.
const MAX_DATA_BYTES: usize = 2048;

/// A send or broadcast writes one delivery per device of its audience (up
/// to every user) in one transaction: it gets longer than a request's
/// `DATABASE_TIMEOUT`, and is still answered, and fenced, by a bound.
const BULK_WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Who a send goes to.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[schema(
    as = NotificationAudience,
    description = "Who a send is for, by `kind`. Unknown kinds and fields are refused."
)]
pub enum Audience {
    /// Everyone (users with `followed_only` left out, except for `system` and `user_activity`).
    All,
    /// The followers of a catalog event.
    EventFollowers {
        /// The catalog event's id; must exist.
        event: i64,
    },
    /// The followers of a fighter.
    FighterFollowers {
        /// The fighter's id; must exist.
        fighter: i64,
    },
    /// Listed users.
    Users {
        /// 1 to 10000 user ids once duplicates are dropped; unknown ids are ignored.
        #[schema(min_items = 1, max_items = 10000)]
        users: Vec<i64>,
    },
}

/// The body of `POST /api/notifications/send/`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NotificationSendRequest, description = r#"Unknown fields are refused. `{user}` in `title` or `message` becomes each recipient's display name."#)]
pub struct SendInput {
    pub audience: Audience,
    /// Any `NotificationType` but `emergency` (use the broadcast). `system` obeys no preference switch.
    #[schema(value_type = ringside_actors::vocabulary::NotificationType)]
    pub notification_type: String,
    /// Trimmed, then 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// Trimmed, then 1 to 2000 characters.
    #[schema(min_length = 1, max_length = 2000)]
    pub message: String,
    #[serde(default)]
    /// Where the client should go when it is opened (an app path); trimmed, then 1 to 500 characters.
    #[schema(min_length = 1, max_length = 500, default = json!(null))]
    pub action_url: Option<String>,
    #[serde(default)]
    /// Fields for the client (null is `{}`); at most 2048 bytes as JSON, since it rides in the push payload.
    #[schema(default = json!({}), value_type = Option<Object>)]
    pub data: Option<Value>,
}

fn check_content(
    action_url: Option<&str>,
    data: Option<Value>,
) -> Result<(Option<String>, Value), ApiError> {
    let action_url = match action_url {
        Some(url) => Some(validate::line("action_url", url, 1, 500)?),
        None => None,
    };
    let data = data.unwrap_or_else(|| json!({}));
    if !data.is_object() {
        return Err(ApiError::invalid("data", "must be a JSON object"));
    }
    validate::json("data", &data)?;
    if data.to_string().len() > MAX_DATA_BYTES {
        return Err(ApiError::invalid(
            "data",
            format!("must be at most {MAX_DATA_BYTES} bytes of JSON (it rides in the push)"),
        ));
    }
    Ok((action_url, data))
}

/// A send, checked: its texts, its reach and how the campaign records it.
struct Checked {
    notification_type: String,
    title: String,
    message: String,
    action_url: Option<String>,
    data: Value,
    reach: Reach,
    audience: Value,
}

fn check(b: SendInput) -> Result<Checked, ApiError> {
    let kind = NotificationType::parse(&b.notification_type);
    if matches!(kind, None | Some(NotificationType::Emergency)) {
        let sendable: Vec<&str> = NotificationType::ALL
            .iter()
            .filter(|t| **t != NotificationType::Emergency)
            .map(|t| t.as_str())
            .collect();
        return Err(ApiError::invalid(
            "notification_type",
            format!(
                "must be one of {} (emergencies go through /api/admin/broadcast/)",
                sendable.join(", ")
            ),
        ));
    }
    let title = validate::text("title", &b.title, 1, 200)?;
    let message = validate::text("message", &b.message, 1, 2000)?;
    let (action_url, data) = check_content(b.action_url.as_deref(), b.data)?;
    let (reach, audience) = match b.audience {
        Audience::All => (
            Reach {
                everyone: true,
                ..Reach::default()
            },
            json!({ "kind": "all" }),
        ),
        Audience::EventFollowers { event } => (
            Reach {
                events: vec![event],
                ..Reach::default()
            },
            json!({ "kind": "event_followers", "event": event }),
        ),
        Audience::FighterFollowers { fighter } => (
            Reach {
                fighters: vec![fighter],
                ..Reach::default()
            },
            json!({ "kind": "fighter_followers", "fighter": fighter }),
        ),
        Audience::Users { mut users } => {
            users.sort_unstable();
            users.dedup();
            if users.is_empty() || users.len() > MAX_LISTED_USERS {
                return Err(ApiError::invalid(
                    "audience.users",
                    format!("must list 1 to {MAX_LISTED_USERS} user ids"),
                ));
            }
            (
                Reach {
                    users: Some(users.clone()),
                    ..Reach::default()
                },
                json!({ "kind": "users", "users": users }),
            )
        }
    };
    Ok(Checked {
        notification_type: b.notification_type,
        title,
        message,
        action_url,
        data,
        reach,
        audience,
    })
}

/// What a send would do, sending nothing: how many users its audience
/// reaches now (their preferences applied) and the notification as the
/// first of them would get it.
pub async fn preview(state: &AppState, b: SendInput) -> Result<Value, ApiError> {
    let checked = check(b)?;
    state
        .db
        .run(move |c| {
            check_target(c, &checked.reach)?;
            let people = recipients(c, &checked.notification_type, &checked.reach)?;
            let sample = people.first().map_or(
                json!({ "user": null, "title": checked.title, "message": checked.message,
                        "action_url": checked.action_url }),
                |(id, name)| {
                    json!({
                        "user": { "id": id, "display_name": name },
                        "title": templates::personalise(&checked.title, name),
                        "message": templates::personalise(&checked.message, name),
                        "action_url": checked.action_url,
                    })
                },
            );
            Ok(json!({ "audience_size": people.len(), "sample": sample }))
        })
        .await
}

/// Sends one notification to an audience. Each recipient's preferences
/// decide (the type's switch, followed-only, push on or off, quiet hours);
/// `{user}` in the title or message becomes the recipient's name. Answers
/// `{id, recipients, deliveries}` once everything is stored and queued.
pub async fn send(state: &AppState, admin: i64, b: SendInput) -> Result<Value, ApiError> {
    let Checked {
        notification_type,
        title,
        message,
        action_url,
        data,
        reach,
        audience,
    } = check(b)?;
    let push = state.push.targets_to_hand_over();
    let sent = state
        .db
        .transaction_within(BULK_WRITE_TIMEOUT, move |c| {
            check_target(c, &reach)?;
            let people = recipients(c, &notification_type, &reach)?;
            let personal = people
                .iter()
                .map(|(user, name)| Personal {
                    recipient: *user,
                    title: templates::personalise(&title, name),
                    message: templates::personalise(&message, name),
                })
                .collect();
            let campaign = NewCampaign {
                source: "send",
                notification_type,
                audience,
                created_by: Some(admin),
                title,
                action_url,
                data,
            };
            Ok::<_, ApiError>(notifications::send(c, &campaign, personal, &push)?)
        })
        .await?;
    let id = sent.campaigns.first().copied().unwrap_or_default();
    let recipients = sent.published.len();
    tracing::info!(
        campaign = id,
        recipients,
        deliveries = sent.deliveries,
        "notification sent"
    );
    state.push.hand_over(sent.claimed);
    state.deliver(sent.published);
    Ok(json!({ "id": id, "recipients": recipients, "deliveries": sent.deliveries }))
}

/// A followers audience names an event or fighter that must exist.
fn check_target(conn: &mut diesel::PgConnection, reach: &Reach) -> Result<(), ApiError> {
    for &event in &reach.events {
        crate::db::catalog::find_event(conn, event).map_err(|e| named("event")(e.into()))?;
    }
    for &fighter in &reach.fighters {
        crate::db::catalog::find_fighter(conn, fighter).map_err(|e| named("fighter")(e.into()))?;
    }
    Ok(())
}

/// The body of `POST /api/admin/broadcast/`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = BroadcastRequest, description = r#"Unknown fields are refused."#)]
pub struct BroadcastInput {
    /// Trimmed, then 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// Trimmed, then 1 to 2000 characters.
    #[schema(min_length = 1, max_length = 2000)]
    pub message: String,
    #[serde(default)]
    /// Where the client should go when it is opened (an app path); trimmed, then 1 to 500 characters.
    #[schema(min_length = 1, max_length = 500, default = json!(null))]
    pub action_url: Option<String>,
}

/// The emergency broadcast: at once to every connected session on every
/// node (a `broadcast` frame, whatever they follow), and a push to every
/// active device, quiet hours and push settings notwithstanding. Stored.
pub async fn broadcast(state: &AppState, admin: i64, b: BroadcastInput) -> Result<Value, ApiError> {
    let title = validate::text("title", &b.title, 1, 200)?;
    let message = validate::text("message", &b.message, 1, 2000)?;
    let (action_url, data) = check_content(b.action_url.as_deref(), None)?;
    let push = state.push.targets().clone();
    let campaign = NewCampaign {
        source: "broadcast",
        notification_type: "emergency".into(),
        audience: json!({ "kind": "everyone" }),
        created_by: Some(admin),
        title,
        action_url,
        data,
    };
    let (stored, deliveries) = state
        .db
        .transaction_within(BULK_WRITE_TIMEOUT, move |c| {
            notifications::broadcast(c, &campaign, &message, &push).map_err(ApiError::from)
        })
        .await?;
    state.push.wake();
    let frame = protocol::broadcast(&json!({
        "id": stored.id, "title": stored.title, "message": stored.message,
        "action_url": stored.action_url, "created_at": stored.created_at,
    }));
    let sessions = state.bus.broadcast(frame).await;
    tracing::warn!(
        campaign = stored.campaign_id,
        sessions,
        deliveries,
        "emergency broadcast"
    );
    Ok(json!({
        "id": stored.campaign_id, "notification": stored.id,
        "sessions": sessions, "deliveries": deliveries,
    }))
}
