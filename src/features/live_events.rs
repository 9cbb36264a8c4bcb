//! The live event's lifecycle: creation (one per event), start, end and
//! cancel under the status
//! machine (`ringside_actors::lifecycle`) and `MAX_CONCURRENT_EVENTS`, each
//! published as `event_state` in its transaction, with the event-start
//! notification to followers when it goes live.

use ringside_actors::EventAction;

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
    }
    state
        .db
        .run(move |c| {
            live_events::create(c, &input)
                .map(|l| l.id)
                .map_err(ApiError::from)
        })
        .await
        .map_err(already_exists("this event already has a live event"))
}

/// Starts, ends or cancels a live event.
pub async fn transition(
    state: &AppState,
    id: i64,
    action: EventAction,
) -> Result<LiveEvent, ApiError> {
    let max_live = state.config.live.max_concurrent_events;
    let push = state.push.targets().clone();
    let result = state
        .db
        .run(move |c| {
            Ok::<_, ApiError>(live_events::transition(
                c,
                id,
                action,
                max_live,
                |c, live| {
                    let mut published = vec![super::fight_control::publish_event_state(c, id)?];
                    if live.status == "live" {
                        published.extend(
                            crate::features::notifications::on_event_start(c, live, &push)?
                                .published,
                        );
                    }
                    Ok(published)
                },
            ))
        })
        .await?;
    match result {
        Ok((live, published)) => {
            state.deliver(published);
            tracing::info!(live_event = id, status = %live.status, "live event {action}");
            Ok(live)
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
