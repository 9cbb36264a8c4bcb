//! The admin's side of notifications: bulk sends to an audience, the
//! emergency broadcast (every session, every device, quiet hours or not)
//! and delivery analytics per campaign.

use actix_web::{web, HttpResponse};
use ringside_actors::protocol;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{named, resource};
use crate::auth::{Admin, Auth};
use crate::db::notifications::{self, NewCampaign, Personal, NOTIFICATION_TYPES};
use crate::db::pagination::{Page, PageParams};
use crate::error::ApiError;
use crate::notifications::{recipients, templates, Reach};
use crate::state::AppState;
use crate::validate;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/notifications/send/").post(send))
        .service(resource("/api/notifications/analytics/").get(analytics))
        .service(resource("/api/admin/broadcast/").post(broadcast));
}

/// At most this many listed users per send.
const MAX_LISTED_USERS: usize = 10_000;
/// `data` rides in the push payload, which both providers cap at 4 KiB.
const MAX_DATA_BYTES: usize = 2048;

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum Audience {
    All,
    EventFollowers { event: i64 },
    FighterFollowers { fighter: i64 },
    Users { users: Vec<i64> },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendBody {
    audience: Audience,
    notification_type: String,
    title: String,
    message: String,
    #[serde(default)]
    action_url: Option<String>,
    #[serde(default)]
    data: Option<Value>,
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

/// Sends one notification to an audience. Each recipient's preferences
/// decide (the type's switch, followed-only, push on or off, quiet hours);
/// `{user}` in the title or message becomes the recipient's name. Answers
/// 202 with the campaign id once everything is stored and queued.
async fn send(
    auth: Auth<Admin>,
    state: web::Data<AppState>,
    body: web::Json<SendBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    if !NOTIFICATION_TYPES.contains(&b.notification_type.as_str())
        || b.notification_type == "emergency"
    {
        return Err(ApiError::invalid(
            "notification_type",
            "must be one of fight_result, breaking_news, ranking_change, event_start, \
             user_activity, system (emergencies go through /api/admin/broadcast/)",
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
    let push = state.push.targets_to_hand_over();
    let admin = auth.user.id;
    let notification_type = b.notification_type;
    let sent = state
        .db
        .run(move |c| {
            c.build_transaction().run(|c| {
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
    Ok(HttpResponse::Accepted().json(json!({
        "id": id, "recipients": recipients, "deliveries": sent.deliveries,
    })))
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BroadcastBody {
    title: String,
    message: String,
    #[serde(default)]
    action_url: Option<String>,
}

/// The emergency broadcast: at once to every connected session on every
/// node (a `broadcast` frame, whatever they follow), and a push to every
/// active device, quiet hours and push settings notwithstanding. Stored.
async fn broadcast(
    auth: Auth<Admin>,
    state: web::Data<AppState>,
    body: web::Json<BroadcastBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let title = validate::text("title", &b.title, 1, 200)?;
    let message = validate::text("message", &b.message, 1, 2000)?;
    let (action_url, data) = check_content(b.action_url.as_deref(), None)?;
    let push = state.push.targets().clone();
    let campaign = NewCampaign {
        source: "broadcast",
        notification_type: "emergency".into(),
        audience: json!({ "kind": "everyone" }),
        created_by: Some(auth.user.id),
        title,
        action_url,
        data,
    };
    let (stored, deliveries) = state
        .db
        .run(move |c| {
            c.build_transaction()
                .run(|c| notifications::broadcast(c, &campaign, &message, &push))
                .map_err(ApiError::from)
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
    Ok(HttpResponse::Accepted().json(json!({
        "id": stored.campaign_id, "notification": stored.id,
        "sessions": sessions, "deliveries": deliveries,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalyticsFilter {
    #[serde(default)]
    campaign: Option<i64>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    cursor: Option<crate::db::pagination::Cursor>,
}

/// Campaigns newest first with their delivery counts and latencies; one
/// campaign with `?campaign=`.
async fn analytics(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    filter: web::Query<AnalyticsFilter>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter.into_inner();
    let page = PageParams {
        limit: filter.limit,
        cursor: filter.cursor,
    };
    let limit = page.limit()?;
    let only = filter.campaign;
    let rows = state
        .db
        .run(move |c| notifications::campaign_stats(c, only, &page, limit).map_err(ApiError::from))
        .await?;
    match only {
        Some(_) => {
            let one = rows
                .into_iter()
                .next()
                .ok_or_else(|| ApiError::not_found("campaign"))?;
            Ok(HttpResponse::Ok().json(one))
        }
        None => Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |s| s.id))),
    }
}
