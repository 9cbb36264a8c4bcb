//! The user's side of notifications: devices for mobile push, the in-app
//! list with its unread count, read / read-all / opened (each announces the
//! new unread count to the user's other sessions), and preferences.

use ringside_actors::room::SnapshotPatch;
use ringside_actors::vocabulary::Platform;
use ringside_actors::{protocol, Channel};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::db::notifications::{self, Device, Notification, Preferences};
use crate::db::pagination::{Page, PageParams};
use crate::error::{named, ApiError};
use crate::state::AppState;
use crate::validate;

/// The body of `POST /api/notifications/register/` and `…/unregister/`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = DeviceRegisterRequest, description = r#"Unknown fields are refused."#)]
pub struct DeviceInput {
    #[schema(value_type = ringside_actors::vocabulary::Platform)]
    pub platform: String,
    /// The push token; trimmed, then 1 to 4096 characters.
    #[schema(min_length = 1, max_length = 4096)]
    pub token: String,
    #[serde(default)]
    /// The app's id; trimmed, then 1 to 255 characters.
    #[schema(min_length = 1, max_length = 255, required = true)]
    pub app_id: Option<String>,
}

fn check_device(body: &DeviceInput) -> Result<String, ApiError> {
    validate::one_of::<Platform>("platform", &body.platform)?;
    validate::line("token", &body.token, 1, 4096)
}

/// Registers a device token; the same token again moves to this user.
/// Answers the device and whether it is new.
pub async fn register_device(
    state: &AppState,
    user: i64,
    body: DeviceInput,
) -> Result<(Device, bool), ApiError> {
    let token = check_device(&body)?;
    let app_id = validate::line("app_id", body.app_id.as_deref().unwrap_or(""), 1, 255)?;
    let platform = body.platform;
    state
        .db
        .run(move |c| {
            notifications::register_device(c, user, &platform, &token, &app_id)
                .map_err(ApiError::from)
        })
        .await
}

/// Forgets a device token of this user.
pub async fn unregister_device(
    state: &AppState,
    user: i64,
    body: DeviceInput,
) -> Result<(), ApiError> {
    let token = check_device(&body)?;
    let platform = body.platform;
    // The same answer whether anything changed: a token that moved to
    // another account (a phone that changed hands) stays theirs, and the
    // answer does not tell who holds a token.
    state
        .db
        .run(move |c| {
            notifications::unregister_device(c, user, &platform, &token).map_err(ApiError::from)
        })
        .await?;
    Ok(())
}

/// Newest first, with the unread count.
pub async fn list(
    state: &AppState,
    user: i64,
    unread_only: bool,
    page: PageParams,
) -> Result<Value, ApiError> {
    let limit = page.limit()?;
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
    Ok(body)
}

/// The user's other sessions hear the new unread count (ephemeral `unread`
/// on `user:{id}`, every node).
fn announce_unread(state: &AppState, user: i64, unread: i64) {
    let channel = Channel::User(user);
    state.bus.ephemeral(
        &channel,
        protocol::ephemeral("unread", &channel, &json!({ "unread": unread })),
        Some(SnapshotPatch {
            field: "unread".into(),
            value: json!(unread),
        }),
    );
}

/// Marks one notification read (or opened, which also reads it).
pub async fn mark(
    state: &AppState,
    user: i64,
    id: i64,
    opened: bool,
) -> Result<Notification, ApiError> {
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
    Ok(n)
}

/// Marks everything read; answers how many were marked.
pub async fn read_all(state: &AppState, user: i64) -> Result<Value, ApiError> {
    let marked = state
        .db
        .run(move |c| notifications::mark_all_read(c, user).map_err(ApiError::from))
        .await?;
    announce_unread(state, user, 0);
    Ok(json!({ "marked": marked, "unread": 0 }))
}

pub async fn preferences(state: &AppState, user: i64) -> Result<PreferencesView, ApiError> {
    state
        .db
        .run(move |c| {
            preferences_body(
                notifications::preferences(c, user)?,
                notifications::timezone(c, user)?,
            )
        })
        .await
}

/// A user's notification preferences. A user who never set them has the defaults: every type on, push on, `followed_only` false, no quiet hours, `timezone` `UTC`. The type switches decide who gets a notification, `followed_only` keeps out what is not about followed fighters and events (see each trigger), `push_enabled` and the quiet hours decide whether it is also pushed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = NotificationPreferences)]
pub struct PreferencesView {
    #[serde(flatten)]
    pub preferences: Preferences,
    /// The IANA time zone quiet hours are read in, such as `Europe/Lisbon` (default `UTC`).
    #[schema(example = json!("Europe/Lisbon"))]
    pub timezone: String,
}

fn preferences_body(
    preferences: Preferences,
    timezone: String,
) -> Result<PreferencesView, ApiError> {
    Ok(PreferencesView {
        preferences,
        timezone,
    })
}

/// The body of `PUT /api/notifications/preferences/`: every field given,
/// `timezone` optional.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NotificationPreferencesRequest, description = r#"Every preference, replacing the stored ones: the booleans are required; the quiet hours are both set or both null (an omitted one counts as null); `timezone` is optional (absent or null: unchanged). Unknown fields are refused."#)]
pub struct PreferencesInput {
    /// Mobile push at all (default true).
    pub push_enabled: bool,
    /// `fight_result` notifications (default true).
    pub fight_results: bool,
    /// `breaking_news` notifications (default true).
    pub breaking_news: bool,
    /// `ranking_change` notifications (default true).
    pub ranking_changes: bool,
    /// `event_start` notifications (default true).
    pub event_start: bool,
    /// `user_activity` notifications (default true).
    pub user_activity: bool,
    /// Only about followed fighters and events, where a type allows it (default false).
    pub followed_only: bool,
    /// Quiet hours start, in minutes after midnight in `timezone`; null (with `quiet_end_min`) when there are none.
    #[schema(minimum = 0, maximum = 1439)]
    pub quiet_start_min: Option<i32>,
    /// Quiet hours end, in minutes after midnight in `timezone`; null (with `quiet_start_min`) when there are none.
    #[schema(minimum = 0, maximum = 1439)]
    pub quiet_end_min: Option<i32>,
    #[serde(default)]
    /// An IANA time zone name such as `Europe/Lisbon` (trimmed), the one quiet hours are read in; absent or null leaves the stored one (default `UTC`). An unknown name answers 400 `bad_request` (`details.timezone`).
    #[schema(min_length = 1, max_length = 64, example = json!("Europe/Lisbon"))]
    pub timezone: Option<String>,
}

/// Replaces the preferences. Quiet hours are minutes after midnight in the
/// user's time zone, both set or both null.
pub async fn set_preferences(
    state: &AppState,
    user: i64,
    b: PreferencesInput,
) -> Result<PreferencesView, ApiError> {
    validate::range("quiet_start_min", b.quiet_start_min, 0, 1439)?;
    validate::range("quiet_end_min", b.quiet_end_min, 0, 1439)?;
    if b.quiet_start_min.is_some() != b.quiet_end_min.is_some() {
        return Err(ApiError::invalid(
            "quiet_end_min",
            "quiet hours need both quiet_start_min and quiet_end_min (or neither)",
        ));
    }
    let prefs = Preferences {
        user_id: user,
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
    state
        .db
        .transaction(move |c| {
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
        .await
}
