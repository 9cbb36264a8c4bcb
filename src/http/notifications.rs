//! The user's side of notifications over HTTP (the rules:
//! `features/notifications/inbox.rs`).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::extract::{Auth, Viewer};
use super::{created, resource};
use crate::db::pagination::PageParams;
use crate::error::ApiError;
use crate::features::notifications::inbox::{self, DeviceInput, PreferencesInput};
use crate::state::AppState;

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

/// Registers a device token; the same token again moves to this user.
#[utoipa::path(
    post,
    path = "/api/notifications/register/",
    tags = ["notifications"],
    operation_id = "registerDevice",
    summary = r#"Register a device for push"#,
    description = r#"Registers a push token for the caller's device. A token new to the server answers `201` with the new device; a token already registered (`platform` and `token` equal), by this or another user, answers `200` with that same device, now the caller's and active again (`app_id` updated, `deactivated_reason` cleared, `last_seen_at` now): one row per token, never two. `token` and `app_id` are trimmed. Unknown fields are refused. Requires role: `viewer` (any signed-in user)."#,
    security(("bearerAuth" = ["viewer"])),
    request_body(content = DeviceInput, example = json!({"platform": "ios", "token": "9f2c4e1a7b3d", "app_id": "com.example.ringside"})),
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
    body: web::Json<DeviceInput>,
) -> Result<HttpResponse, ApiError> {
    let (device, new) = inbox::register_device(&state, auth.user.id, body.into_inner()).await?;
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
    body: web::Json<DeviceInput>,
) -> Result<HttpResponse, ApiError> {
    inbox::unregister_device(&state, auth.user.id, body.into_inner()).await?;
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
    let body = inbox::list(&state, auth.user.id, filter.unread, page.into_inner()).await?;
    Ok(HttpResponse::Ok().json(body))
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
    let n = inbox::mark(&state, auth.user.id, id.into_inner(), false).await?;
    Ok(HttpResponse::Ok().json(n))
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
    let n = inbox::mark(&state, auth.user.id, id.into_inner(), true).await?;
    Ok(HttpResponse::Ok().json(n))
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
    Ok(HttpResponse::Ok().json(inbox::read_all(&state, auth.user.id).await?))
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
        (status = 200, description = r#"The preferences."#, body = crate::features::notifications::inbox::PreferencesView),
        (status = 401, description = r#"`unauthorized`: no token, or a malformed, invalid or expired one (or its account no longer exists)."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
    )
)]
async fn preferences(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(inbox::preferences(&state, auth.user.id).await?))
}

#[utoipa::path(
    put,
    path = "/api/notifications/preferences/",
    tags = ["notifications"],
    operation_id = "setNotificationPreferences",
    summary = r#"Replace the caller's notification preferences"#,
    description = r#"Replaces the caller's preferences: every boolean must be given; the quiet hours (`quiet_start_min`, `quiet_end_min`, minutes after midnight in the user's `timezone`, 0 to 1439) are both set or both null (an omitted one counts as null). `timezone` is optional: an IANA name such as `Europe/Lisbon` (trimmed) sets the user's time zone; absent (or null) leaves it unchanged. Unknown fields are refused. Requires role: `viewer` (any signed-in user)."#,
    security(("bearerAuth" = ["viewer"])),
    request_body(content = PreferencesInput, example = json!({"push_enabled": true, "fight_results": true, "breaking_news": true, "ranking_changes": false, "event_start": true, "user_activity": false, "followed_only": true, "quiet_start_min": 1380, "quiet_end_min": 420, "timezone": "Europe/Lisbon"})),
    responses(
        (status = 200, description = r#"The saved preferences."#, body = crate::features::notifications::inbox::PreferencesView),
        (status = 400, description = r#"`bad_request`: malformed body, an unknown field, or a field missing or of the wrong type (`details`: `{line, column}`) (every boolean is required); or a field failed validation, named in `details`: `quiet_start_min` or `quiet_end_min` (not 0 to 1439), `quiet_end_min` (only one of the two set), `timezone` (not 1 to 64 characters after trimming, or not a known IANA time zone name)."#),
        (status = 401, description = r#"`unauthorized`: no token, or a malformed, invalid or expired one (or its account no longer exists)."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
    )
)]
async fn set_preferences(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
    body: web::Json<PreferencesInput>,
) -> Result<HttpResponse, ApiError> {
    let saved = inbox::set_preferences(&state, auth.user.id, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(saved))
}
