//! The user's side of notifications: devices for mobile push, the in-app
//! list with its unread count, read / read-all / opened, and preferences.

use actix_web::{web, HttpResponse};
use ringside_actors::vocabulary::Platform;
use ringside_actors::{protocol, Channel};
use serde::Deserialize;
use serde_json::json;

use super::{created, named, resource};
use crate::auth::{Auth, Viewer};
use crate::db::notifications::{self, Preferences};
use crate::db::pagination::{Page, PageParams};
use crate::error::ApiError;
use crate::state::AppState;
use crate::validate;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/notifications/").get(list))
        .service(resource("/api/notifications/register/").post(register))
        .service(resource("/api/notifications/unregister/").post(unregister))
        .service(resource("/api/notifications/read-all/").post(read_all))
        .service(
            resource("/api/notifications/preferences/")
                .get(preferences)
                .put(set_preferences),
        )
        .service(resource("/api/notifications/{id}/read/").post(read))
        .service(resource("/api/notifications/{id}/opened/").post(opened));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceBody {
    platform: String,
    token: String,
    #[serde(default)]
    app_id: Option<String>,
}

fn check_device(body: &DeviceBody) -> Result<String, ApiError> {
    validate::one_of::<Platform>("platform", &body.platform)?;
    validate::line("token", &body.token, 1, 4096)
}

/// Registers a device token; the same token again moves to this user.
async fn register(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
    body: web::Json<DeviceBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let token = check_device(&body)?;
    let app_id = validate::line("app_id", body.app_id.as_deref().unwrap_or(""), 1, 255)?;
    let (user, platform) = (auth.user.id, body.platform);
    let (device, new) = state
        .db
        .run(move |c| {
            notifications::register_device(c, user, &platform, &token, &app_id)
                .map_err(ApiError::from)
        })
        .await?;
    Ok(if new {
        created(device)
    } else {
        HttpResponse::Ok().json(device)
    })
}

async fn unregister(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
    body: web::Json<DeviceBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let token = check_device(&body)?;
    let (user, platform) = (auth.user.id, body.platform);
    // The same answer whether anything changed: a token that moved to
    // another account (a phone that changed hands) stays theirs, and the
    // answer does not tell who holds a token.
    state
        .db
        .run(move |c| {
            notifications::unregister_device(c, user, &platform, &token).map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
struct ListFilter {
    #[serde(default)]
    unread: bool,
}

/// Newest first, with the unread count.
async fn list(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
    filter: web::Query<ListFilter>,
) -> Result<HttpResponse, ApiError> {
    let limit = page.limit()?;
    let (page, user, unread_only) = (page.into_inner(), auth.user.id, filter.unread);
    let (rows, unread) = state
        .db
        .run(move |c| {
            Ok::<_, ApiError>((
                notifications::list(c, user, unread_only, &page, limit)?,
                notifications::unread(c, user)?,
            ))
        })
        .await?;
    let mut body = json!(Page::from_rows(rows, limit, |n| n.id));
    body["unread"] = json!(unread);
    Ok(HttpResponse::Ok().json(body))
}

/// The user's other sessions hear the new unread count (ephemeral `unread`
/// on `user:{id}`, every node).
fn announce_unread(state: &AppState, user: i64, unread: i64) {
    let channel = Channel::User(user);
    state.bus.ephemeral(
        &channel,
        protocol::ephemeral("unread", &channel, &json!({ "unread": unread })),
    );
}

/// Marks one notification read (or opened, which also reads it).
async fn mark(
    state: &AppState,
    user: i64,
    id: i64,
    opened: bool,
) -> Result<HttpResponse, ApiError> {
    let (n, unread) = state
        .db
        .run(move |c| {
            let n = if opened {
                notifications::mark_opened(c, user, id)
            } else {
                notifications::mark_read(c, user, id)
            }
            .map_err(|e| named("notification")(e.into()))?;
            Ok::<_, ApiError>((n, notifications::unread(c, user)?))
        })
        .await?;
    announce_unread(state, user, unread);
    Ok(HttpResponse::Ok().json(n))
}

async fn read(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    mark(&state, auth.user.id, id.into_inner(), false).await
}

async fn opened(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    mark(&state, auth.user.id, id.into_inner(), true).await
}

async fn read_all(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let user = auth.user.id;
    let marked = state
        .db
        .run(move |c| notifications::mark_all_read(c, user).map_err(ApiError::from))
        .await?;
    announce_unread(&state, user, 0);
    Ok(HttpResponse::Ok().json(json!({ "marked": marked, "unread": 0 })))
}

async fn preferences(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let user = auth.user.id;
    let body = state
        .db
        .run(move |c| {
            preferences_body(
                notifications::preferences(c, user)?,
                notifications::timezone(c, user)?,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// The preferences as clients read them, with the time zone quiet hours
/// are read in.
fn preferences_body(prefs: Preferences, timezone: String) -> Result<serde_json::Value, ApiError> {
    let mut body = serde_json::to_value(prefs).map_err(|e| ApiError::Internal(e.to_string()))?;
    body["timezone"] = json!(timezone);
    Ok(body)
}

/// Replaces the preferences (every field given; `timezone` optional).
/// Quiet hours are minutes after midnight in the user's time zone, both set
/// or both null.
async fn set_preferences(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
    body: web::Json<PreferencesBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    validate::range("quiet_start_min", b.quiet_start_min, 0, 1439)?;
    validate::range("quiet_end_min", b.quiet_end_min, 0, 1439)?;
    if b.quiet_start_min.is_some() != b.quiet_end_min.is_some() {
        return Err(ApiError::invalid(
            "quiet_end_min",
            "quiet hours need both quiet_start_min and quiet_end_min (or neither)",
        ));
    }
    let prefs = Preferences {
        user_id: auth.user.id,
        push_enabled: b.push_enabled,
        fight_results: b.fight_results,
        breaking_news: b.breaking_news,
        ranking_changes: b.ranking_changes,
        event_start: b.event_start,
        user_activity: b.user_activity,
        followed_only: b.followed_only,
        quiet_start_min: b.quiet_start_min,
        quiet_end_min: b.quiet_end_min,
    };
    let timezone = match b.timezone {
        Some(tz) => Some(validate::line("timezone", &tz, 1, 64)?),
        None => None,
    };
    let user = auth.user.id;
    let saved = state
        .db
        .run(move |c| {
            c.build_transaction().run(|c| {
                if let Some(tz) = &timezone {
                    if !notifications::set_timezone(c, user, tz)? {
                        return Err(ApiError::invalid(
                            "timezone",
                            "must be an IANA time zone name such as Europe/Lisbon",
                        ));
                    }
                }
                preferences_body(
                    notifications::set_preferences(c, &prefs)?,
                    notifications::timezone(c, user)?,
                )
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(saved))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreferencesBody {
    push_enabled: bool,
    fight_results: bool,
    breaking_news: bool,
    ranking_changes: bool,
    event_start: bool,
    user_activity: bool,
    followed_only: bool,
    quiet_start_min: Option<i32>,
    quiet_end_min: Option<i32>,
    #[serde(default)]
    timezone: Option<String>,
}
