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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = DeviceRegisterRequest, description = r#"Unknown fields are refused."#)]
struct DeviceBody {
    #[schema(value_type = ringside_actors::vocabulary::Platform)]
    platform: String,
    /// The push token; trimmed, then 1 to 4096 characters.
    #[schema(min_length = 1, max_length = 4096)]
    token: String,
    #[serde(default)]
    /// The app's id; trimmed, then 1 to 255 characters.
    #[schema(min_length = 1, max_length = 255, required = true)]
    app_id: Option<String>,
}

fn check_device(body: &DeviceBody) -> Result<String, ApiError> {
    validate::one_of::<Platform>("platform", &body.platform)?;
    validate::line("token", &body.token, 1, 4096)
}

/// Registers a device token; the same token again moves to this user.
#[utoipa::path(
    post,
    path = "/api/notifications/register/",
    tags = ["notifications"],
    operation_id = "registerDevice",
    summary = r#"Register a device for push"#,
    description = r#"Registers a push token for the caller's device. A token new to the server answers `201` with the new device; a token already registered (`platform` and `token` equal), by this or another user, answers `200` with that same device, now the caller's and active again (`app_id` updated, `deactivated_reason` cleared, `last_seen_at` now): one row per token, never two. `token` and `app_id` are trimmed. Unknown fields are refused. Requires role: `viewer` (any signed-in user)."#,
    security(("bearerAuth" = ["viewer"])),
    request_body(content = DeviceBody, example = json!({"platform": "ios", "token": "9f2c4e1a7b3d", "app_id": "com.example.ringside"})),
    responses(
        (status = 200, description = r#"Already registered: the same device, now the caller's and active."#, body = crate::db::notifications::Device),
        (status = 201, description = r#"The new device."#, body = crate::db::notifications::Device),
        (status = 400, description = r#"`bad_request`: malformed body, an unknown field, or a field missing or of the wrong type (`details`: `{line, column}`); or a field failed validation, named in `details`: `platform` (not `android` or `ios`), `token` (not 1 to 4096 characters after trimming), `app_id` (absent, or not 1 to 255 characters after trimming)."#),
        (status = 401, description = r#"`unauthorized`: no token, or a malformed, invalid or expired one (or its account no longer exists)."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
    )
)]
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

#[utoipa::path(
    post,
    path = "/api/notifications/unregister/",
    tags = ["notifications"],
    operation_id = "unregisterDevice",
    summary = r#"Unregister a device"#,
    description = r#"Deactivates the caller's active device with this `platform` and `token` (`is_active` false, `deactivated_reason` `unregistered`); the row is kept, and registering the token again reactivates it. A token that another account registered since (a phone that changed hands) stays that account's and active; the answer is the same `204` whether or not anything changed (unregistering is idempotent and does not tell who holds a token). `app_id` may be sent and is ignored. Unknown fields are refused. Requires role: `viewer` (any signed-in user)."#,
    security(("bearerAuth" = ["viewer"])),
    request_body(content = crate::http::openapi::schemas::DeviceUnregisterRequest, example = json!({"platform": "ios", "token": "9f2c4e1a7b3d"})),
    responses(
        (status = 204, description = r#"Unregistered; no body."#),
        (status = 400, description = r#"`bad_request`: malformed body, an unknown field, or a field missing or of the wrong type (`details`: `{line, column}`); or a field failed validation, named in `details`: `platform` (not `android` or `ios`), `token` (not 1 to 4096 characters after trimming)."#),
        (status = 401, description = r#"`unauthorized`: no token, or a malformed, invalid or expired one (or its account no longer exists)."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
    )
)]
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
#[utoipa::path(
    get,
    path = "/api/notifications/",
    tags = ["notifications"],
    operation_id = "listNotifications",
    summary = r#"The caller's notifications"#,
    description = r#"The caller's notifications, newest first; the next page (`cursor` from `next_cursor`, the last id seen) holds older ones. `?unread=true` lists only the unread ones. The answer also carries `unread`, the caller's total unread count. Requires role: `viewer` (any signed-in user)."#,
    params(
        ("unread" = Option<bool>, Query, description = r#"`true`: only unread notifications. Anything but `true` or `false` answers 400 `bad_request`."#),
        crate::db::pagination::PageParams,
    ),
    security(("bearerAuth" = ["viewer"])),
    responses(
        (status = 200, description = r#"A page of notifications, newest first, with the unread count."#, body = crate::http::openapi::schemas::NotificationPage),
        (status = 400, description = r#"`bad_request`: `limit` out of range, a `cursor` that does not parse, or `unread` not `true` or `false`."#),
        (status = 401, description = r#"`unauthorized`: no token, or a malformed, invalid or expired one (or its account no longer exists)."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
    )
)]
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

#[utoipa::path(
    post,
    path = "/api/notifications/{id}/read/",
    tags = ["notifications"],
    operation_id = "readNotification",
    summary = r#"Mark a notification read"#,
    description = r#"Marks one of the caller's notifications read. Idempotent: reading it again changes nothing (the first `read_at` stays). No body is read. Requires role: `viewer` (any signed-in user)."#,
    security(("bearerAuth" = ["viewer"])),
    responses(
        (status = 200, description = r#"The notification, read."#, body = crate::db::notifications::Notification),
        (status = 401, description = r#"`unauthorized`: no token, or a malformed, invalid or expired one (or its account no longer exists)."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
        (status = 404, description = r#"`not_found`: notification not found, or not the caller's (or `id` is not an integer)."#),
    )
)]
async fn read(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    mark(&state, auth.user.id, id.into_inner(), false).await
}

#[utoipa::path(
    post,
    path = "/api/notifications/{id}/opened/",
    tags = ["notifications"],
    operation_id = "openNotification",
    summary = r#"Record that a notification was opened"#,
    description = r#"Records that the caller opened one of their notifications (e.g. tapped it): `opened_at` is set the first time and kept after; opening also marks it read (the first `read_at` stays). No body is read. Requires role: `viewer` (any signed-in user)."#,
    security(("bearerAuth" = ["viewer"])),
    responses(
        (status = 200, description = r#"The notification, opened and read."#, body = crate::db::notifications::Notification),
        (status = 401, description = r#"`unauthorized`: no token, or a malformed, invalid or expired one (or its account no longer exists)."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
        (status = 404, description = r#"`not_found`: notification not found, or not the caller's (or `id` is not an integer)."#),
    )
)]
async fn opened(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    mark(&state, auth.user.id, id.into_inner(), true).await
}

#[utoipa::path(
    post,
    path = "/api/notifications/read-all/",
    tags = ["notifications"],
    operation_id = "readAllNotifications",
    summary = r#"Mark every notification read"#,
    description = r#"Marks every unread notification of the caller read (`read_at` now). No body is read. Requires role: `viewer` (any signed-in user)."#,
    security(("bearerAuth" = ["viewer"])),
    responses(
        (status = 200, description = r#"How many were marked; the unread count is now 0."#, body = crate::http::openapi::schemas::ReadAllResult, example = json!({"marked": 3, "unread": 0})),
        (status = 401, description = r#"`unauthorized`: no token, or a malformed, invalid or expired one (or its account no longer exists)."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
    )
)]
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

#[utoipa::path(
    get,
    path = "/api/notifications/preferences/",
    tags = ["notifications"],
    operation_id = "getNotificationPreferences",
    summary = r#"The caller's notification preferences"#,
    description = r#"The caller's preferences; the defaults (every type on, push on, `followed_only` false, no quiet hours) when they never set them, with the caller's `timezone` (default `UTC`). Requires role: `viewer` (any signed-in user)."#,
    security(("bearerAuth" = ["viewer"])),
    responses(
        (status = 200, description = r#"The preferences."#, body = crate::http::openapi::schemas::NotificationPreferences),
        (status = 401, description = r#"`unauthorized`: no token, or a malformed, invalid or expired one (or its account no longer exists)."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
    )
)]
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
#[utoipa::path(
    put,
    path = "/api/notifications/preferences/",
    tags = ["notifications"],
    operation_id = "setNotificationPreferences",
    summary = r#"Replace the caller's notification preferences"#,
    description = r#"Replaces the caller's preferences: every boolean must be given; the quiet hours (`quiet_start_min`, `quiet_end_min`, minutes after midnight in the user's `timezone`, 0 to 1439) are both set or both null (an omitted one counts as null). `timezone` is optional: an IANA name such as `Europe/Lisbon` (trimmed) sets the user's time zone; absent (or null) leaves it unchanged. Unknown fields are refused. Requires role: `viewer` (any signed-in user)."#,
    security(("bearerAuth" = ["viewer"])),
    request_body(content = PreferencesBody, example = json!({"push_enabled": true, "fight_results": true, "breaking_news": true, "ranking_changes": false, "event_start": true, "user_activity": false, "followed_only": true, "quiet_start_min": 1380, "quiet_end_min": 420, "timezone": "Europe/Lisbon"})),
    responses(
        (status = 200, description = r#"The saved preferences."#, body = crate::http::openapi::schemas::NotificationPreferences),
        (status = 400, description = r#"`bad_request`: malformed body, an unknown field, or a field missing or of the wrong type (`details`: `{line, column}`) (every boolean is required); or a field failed validation, named in `details`: `quiet_start_min` or `quiet_end_min` (not 0 to 1439), `quiet_end_min` (only one of the two set), `timezone` (not 1 to 64 characters after trimming, or not a known IANA time zone name)."#),
        (status = 401, description = r#"`unauthorized`: no token, or a malformed, invalid or expired one (or its account no longer exists)."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
    )
)]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NotificationPreferencesRequest, description = r#"Every preference, replacing the stored ones: the booleans are required; the quiet hours are both set or both null (an omitted one counts as null); `timezone` is optional (absent or null: unchanged). Unknown fields are refused."#)]
struct PreferencesBody {
    /// Mobile push at all (default true).
    push_enabled: bool,
    /// `fight_result` notifications (default true).
    fight_results: bool,
    /// `breaking_news` notifications (default true).
    breaking_news: bool,
    /// `ranking_change` notifications (default true).
    ranking_changes: bool,
    /// `event_start` notifications (default true).
    event_start: bool,
    /// `user_activity` notifications (default true).
    user_activity: bool,
    /// Only about followed fighters and events, where a type allows it (default false).
    followed_only: bool,
    /// Quiet hours start, in minutes after midnight in `timezone`; null (with `quiet_end_min`) when there are none.
    #[schema(minimum = 0, maximum = 1439)]
    quiet_start_min: Option<i32>,
    /// Quiet hours end, in minutes after midnight in `timezone`; null (with `quiet_start_min`) when there are none.
    #[schema(minimum = 0, maximum = 1439)]
    quiet_end_min: Option<i32>,
    #[serde(default)]
    /// An IANA time zone name such as `Europe/Lisbon` (trimmed), the one quiet hours are read in; absent or null leaves the stored one (default `UTC`). An unknown name answers 400 `bad_request` (`details.timezone`).
    #[schema(min_length = 1, max_length = 64, example = json!("Europe/Lisbon"))]
    timezone: Option<String>,
}
