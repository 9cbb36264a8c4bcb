//! The live event's lifecycle: creation (one per event), start, end and
//! cancel under the status
//! machine (`ringside_actors::lifecycle`) and `MAX_CONCURRENT_EVENTS`, each
//! published as `event_state` in its transaction, with the event-start
//! notification to followers when it goes live.

use ringside_actors::EventAction;

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::automation::Scope;
use crate::db::channels::Published;
use crate::db::live_events::{self, NewLiveEvent, TransitionError};
use crate::db::models::LiveEvent;
use crate::error::{already_exists, named, ApiError};
use crate::state::AppState;
use crate::validate;

/// Creates the live event of a catalogue event (one each); answers its id.
pub async fn create(state: &AppState, input: NewLiveEvent) -> Result<i64, ApiError> {
    if !matches!(input.settings, None | Some(serde_json::Value::Object(_))) {
        return Err(ApiError::invalid("settings", "must be a JSON object"));
    }
    if let Some(settings) = &input.settings {
        validate::json("settings", settings)?;
        if let Some(map) = settings.as_object() {
            super::automation::check_patch(map)?;
        }
    }
    let minute = state.config.automation.minute;
    state
        .db
        .transaction(move |c| {
            let live = live_events::create(c, &input)?;
            super::automation::replan(c, live.id, Scope::Everything { minute })?;
            Ok::<_, ApiError>(live.id)
        })
        .await
        .map_err(already_exists("this event already has a live event"))
}

/// The body of `PATCH /api/live/events/{id}/`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = LiveEventUpdate, description = r#"Every field optional; unknown fields are refused."#)]
pub struct LiveEventPatch {
    /// When the event starts (null: not set); only while `upcoming`.
    #[serde(default, deserialize_with = "crate::db::catalog::double_option")]
    #[schema(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    pub start_time: Option<Option<DateTime<Utc>>>,
    pub is_featured: Option<bool>,
    /// Merged into the settings key by key; a key set to null is removed.
    /// The automation switches are checked (see `AutomationSettings`).
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Map<String, Value>>,
}

/// Changes a live event's start, featuring or settings; moving the start or
/// setting an automation switch re-arms its jobs. Published as
/// `event_state`.
pub async fn update(
    state: &AppState,
    id: i64,
    patch: LiveEventPatch,
) -> Result<LiveEvent, ApiError> {
    let mut rearmed = match &patch.settings {
        Some(s) => {
            validate::json("settings", &Value::Object(s.clone()))?;
            super::automation::check_patch(s)?
        }
        None => Vec::new(),
    };
    if patch.start_time.is_some() {
        rearmed.extend(["auto_start", "reminder"]);
    }
    let minute = state.config.automation.minute;
    super::publishing(state, move |c| {
        let current =
            live_events::find_for_update(c, id).map_err(|e| named("live event")(e.into()))?;
        if patch.start_time.is_some() && current.status != "upcoming" {
            return Err(ApiError::Conflict {
                code: crate::error::ConflictCode::InvalidTransition,
                message: format!("the live event is {}: its start is history", current.status),
            });
        }
        let settings = patch.settings.map(|changes| {
            let mut merged = current.settings.as_object().cloned().unwrap_or_default();
            for (k, v) in changes {
                if v.is_null() {
                    merged.remove(&k);
                } else {
                    merged.insert(k, v);
                }
            }
            Value::Object(merged)
        });
        let change = live_events::LiveEventChange {
            start_time: patch.start_time,
            is_featured: patch.is_featured,
            settings,
        };
        let live = live_events::change(c, id, &change)?;
        crate::db::automation::rearm(c, id, &rearmed)?;
        super::automation::replan(c, id, Scope::Everything { minute })?;
        let published = vec![super::fight_control::publish_event_state(c, id)?];
        Ok((live, published))
    })
    .await
}

/// Starts, ends or cancels a live event.
pub async fn transition(
    state: &AppState,
    id: i64,
    action: EventAction,
) -> Result<LiveEvent, ApiError> {
    let rules = Rules::of(state);
    let (live, published) = state
        .db
        .transaction(move |c| transition_in(c, id, action, &rules))
        .await?;
    state.deliver(published);
    Ok(live)
}

/// What a live event's transitions need from the configuration.
#[derive(Clone)]
pub struct Rules {
    pub max_live: u32,
    pub minute: std::time::Duration,
    pub push: crate::db::notifications::PushTargets,
}

impl Rules {
    pub fn of(state: &AppState) -> Rules {
        Rules {
            max_live: state.config.live.max_concurrent_events,
            minute: state.config.automation.minute,
            push: state.push.targets().clone(),
        }
    }
}

/// A transition in its own transaction on `c` (`by` none: automation):
/// the event after it and what it published, to deliver once committed.
pub fn transition_in(
    c: &mut PgConnection,
    id: i64,
    action: EventAction,
    rules: &Rules,
) -> Result<(LiveEvent, Vec<Published>), ApiError> {
    let result = live_events::transition(c, id, action, rules.max_live, |c, live| {
        let mut published = vec![super::fight_control::publish_event_state(c, id)?];
        if live.status == "live" {
            published.extend(
                crate::features::notifications::on_event_start(c, live, &rules.push)?.published,
            );
        }
        super::automation::replan(
            c,
            id,
            Scope::Everything {
                minute: rules.minute,
            },
        )?;
        Ok(published)
    });
    match result {
        Ok((live, published)) => {
            tracing::info!(live_event = id, status = %live.status, "live event {action}");
            Ok((live, published))
        }
        Err(TransitionError::Illegal(e)) => Err(ApiError::Conflict {
            code: crate::error::ConflictCode::InvalidTransition,
            message: e.to_string(),
        }),
        Err(TransitionError::TooManyLive(n)) => Err(ApiError::Conflict {
            code: crate::error::ConflictCode::TooManyLiveEvents,
            message: format!("{n} events are live already (MAX_CONCURRENT_EVENTS)"),
        }),
        Err(TransitionError::Db(e)) => Err(named("live event")(e.into())),
    }
}

/// A catalog event's card changed (a fight added, a late replacement, a
/// new order): its live coverage, while upcoming or live, tells its viewers
/// (`event_state` with the new snapshot) and plans its automation again.
pub async fn card_changed(state: &AppState, event: i64) -> Result<(), ApiError> {
    super::publishing(state, move |c| {
        let Some(live) = live_events::of_event(c, event)? else {
            return Ok(((), Vec::new()));
        };
        if !matches!(live.status.as_str(), "upcoming" | "live") {
            return Ok(((), Vec::new()));
        }
        super::automation::replan(c, live.id, Scope::Card)?;
        Ok(((), vec![super::fight_control::publish_card(c, live.id)?]))
    })
    .await
}

/// The seed's live limits as this server applies them: what a client or
/// the console shows before it runs into one.
pub fn limits(state: &AppState) -> Value {
    let live = &state.config.live;
    serde_json::json!({
        "max_concurrent_events": live.max_concurrent_events,
        "max_viewers_per_event": live.max_viewers_per_event,
        "max_connections_per_user": live.max_connections_per_user,
        "max_message_size": live.max_message_size,
        "heartbeat_interval_s": live.heartbeat_interval.as_secs(),
        "connection_timeout_s": live.connection_timeout.as_secs(),
        "comment_rate_limit": live.comment_rate_limit,
    })
}
