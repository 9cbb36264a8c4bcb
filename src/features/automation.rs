//! Fight-night automation's rules (DESIGN §11): the switches in a live
//! event's `settings`, and the plan they make, the pending jobs (start the
//! event at its time, remind its followers, announce and open the next
//! fight, end a round on the clock, close a poll, complete the event).
//!
//! The plan is derived from the event's state, so every writer that moves
//! that state calls [`replan`] in its own transaction, and a job is due or
//! gone the moment its reason is. A job that fired, was cancelled or was
//! skipped is not planned again (until an operator re-arms its kind by
//! setting its switch or the start time). `crate::scheduler` fires the jobs.

use chrono::{DateTime, Utc};
use diesel::{PgConnection, QueryResult};
use ringside_actors::fight::{Phase, ROUND_LENGTH_S};
use ringside_actors::vocabulary::{JobKind, UpdateType, Vocabulary};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::time::Duration;

use crate::db::automation::{self as db, Job, Key};
use crate::db::channels::Published;
use crate::db::live_updates::{self, NewUpdate};
use crate::db::models::{Fight, LiveFight};
use crate::db::moderation::{self, Action};
use crate::db::{fight_control, live_events, polls};
use crate::error::{named, ApiError, ConflictCode};
use crate::state::AppState;

/// The switches, as a live event's `settings` hold them.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = AutomationSettings)]
pub struct Settings {
    /// Start the live event at its `start_time`.
    pub auto_start: bool,
    /// Notify the event's followers this many minutes before `start_time`.
    pub reminder_minutes: Option<i64>,
    /// When a fight's result is in, announce the next fight ("up next") and
    /// start it after `advance_delay_seconds`.
    pub auto_advance: bool,
    pub advance_delay_seconds: i64,
    /// End a round when its clock reaches 5:00, unless paused.
    pub auto_round_end: bool,
    /// Close a poll at its `closes_at`.
    pub auto_poll_close: bool,
    /// Complete the live event once every fight is completed or cancelled.
    pub auto_complete: bool,
}

impl Settings {
    /// Read leniently: a key that is missing or of the wrong type keeps its
    /// default (writes are checked by [`check_patch`]).
    pub fn of(settings: &Value) -> Settings {
        let flag = |k: &str, default: bool| settings[k].as_bool().unwrap_or(default);
        Settings {
            auto_start: flag("auto_start", false),
            reminder_minutes: settings["reminder_minutes"].as_i64().filter(|m| *m > 0),
            auto_advance: flag("auto_advance", false),
            advance_delay_seconds: settings["advance_delay_seconds"]
                .as_i64()
                .unwrap_or(0)
                .max(0),
            auto_round_end: flag("auto_round_end", false),
            auto_poll_close: flag("auto_poll_close", true),
            auto_complete: flag("auto_complete", false),
        }
    }
}

/// The job kinds each switch plans.
const SWITCHES: [(&str, &[JobKind]); 7] = [
    ("auto_start", &[JobKind::AutoStart]),
    ("reminder_minutes", &[JobKind::Reminder]),
    ("auto_advance", &[JobKind::Advance]),
    ("advance_delay_seconds", &[JobKind::Advance]),
    ("auto_round_end", &[JobKind::RoundEnd]),
    ("auto_poll_close", &[JobKind::PollClose]),
    ("auto_complete", &[JobKind::Complete]),
];

/// Checks the automation keys of a settings object being written; answers
/// the job kinds it re-arms.
pub fn check_patch(patch: &Map<String, Value>) -> Result<Vec<&'static str>, ApiError> {
    let mut rearmed = Vec::new();
    for (key, kinds) in SWITCHES {
        let Some(value) = patch.get(key) else {
            continue;
        };
        let ok = match key {
            "reminder_minutes" => {
                value.is_null() || value.as_i64().is_some_and(|m| (1..=10_080).contains(&m))
            }
            "advance_delay_seconds" => value.as_i64().is_some_and(|s| (0..=3_600).contains(&s)),
            _ => value.is_boolean(),
        };
        if !ok {
            let expected = match key {
                "reminder_minutes" => "must be a whole number of minutes from 1 to 10080, or null",
                "advance_delay_seconds" => "must be a whole number of seconds from 0 to 3600",
                _ => "must be true or false",
            };
            return Err(ApiError::invalid(key, expected));
        }
        rearmed.extend(kinds.iter().map(|k| k.as_str()));
    }
    Ok(rearmed)
}

/// Which of an event's jobs a change can move.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// The event itself changed (its status, start, switches); `minute`:
    /// how long a reminder minute is.
    Everything { minute: Duration },
    /// A fight changed: its rounds, the next fight, the completion.
    Card,
    /// A poll opened or closed.
    Polls,
}

impl Scope {
    fn covers(self, kind: &str) -> bool {
        let card = ["round_end", "advance", "complete"];
        match self {
            Scope::Everything { .. } => true,
            Scope::Card => card.contains(&kind),
            Scope::Polls => kind == "poll_close",
        }
    }
}

/// Brings the event's pending jobs in line with its state and switches, in
/// the caller's transaction.
pub fn replan(conn: &mut PgConnection, event: i64, scope: Scope) -> QueryResult<()> {
    let now = Utc::now();
    let desired: Vec<_> = plan(conn, event, now, scope)?
        .into_iter()
        .filter(|(key, _)| scope.covers(key.kind))
        .collect();
    let mut pending: Vec<Job> = db::of_event(conn, event, 0)?;
    pending.retain(|j| scope.covers(&j.kind));
    let ended = db::ended_of_event(conn, event)?;
    for (key, due) in &desired {
        if ended.iter().any(|j| j.key_matches(key)) {
            continue;
        }
        let existing = pending.iter().find(|j| j.key_matches(key));
        db::put_pending(conn, event, key, *due, existing)?;
    }
    let stale: Vec<i64> = pending
        .iter()
        .filter(|j| !desired.iter().any(|(key, _)| j.key_matches(key)))
        .map(|j| j.id)
        .collect();
    db::delete_pending(conn, &stale)?;
    Ok(())
}

fn key(kind: JobKind) -> Key {
    Key {
        kind: kind.as_str(),
        live_fight: None,
        poll: None,
        round: None,
    }
}

/// What should be pending now, and when it is due.
fn plan(
    conn: &mut PgConnection,
    event: i64,
    now: DateTime<Utc>,
    scope: Scope,
) -> QueryResult<Vec<(Key, DateTime<Utc>)>> {
    let live = live_events::find(conn, event)?;
    let s = Settings::of(&live.settings);
    let mut desired = Vec::new();
    match (live.status.as_str(), live.start_time) {
        ("upcoming", Some(start)) => {
            if s.auto_start {
                desired.push((key(JobKind::AutoStart), start));
            }
            if let (Some(m), Scope::Everything { minute }, true) =
                (s.reminder_minutes, scope, start > now)
            {
                let before = chrono::Duration::from_std(minute * m as u32).unwrap_or_default();
                desired.push((key(JobKind::Reminder), start - before));
            }
        }
        ("live", _) => desired.extend(card_jobs(conn, event, &s, now)?),
        _ => return Ok(desired),
    }
    if s.auto_poll_close {
        for (poll, closes_at) in polls::closing(conn, event)? {
            let k = Key {
                poll: Some(poll),
                ..key(JobKind::PollClose)
            };
            desired.push((k, closes_at));
        }
    }
    Ok(desired)
}

/// The jobs a live event's card needs: the running round's end, the next
/// fight, the event's completion.
fn card_jobs(
    conn: &mut PgConnection,
    event: i64,
    s: &Settings,
    now: DateTime<Utc>,
) -> QueryResult<Vec<(Key, DateTime<Utc>)>> {
    let fights = db::fights_of(conn, event)?;
    let mut desired = Vec::new();
    let in_progress = fights.iter().find(|(l, _)| l.status == "in_progress");
    if let Some((live, fight)) = in_progress {
        let bout = fight_control::bout_of(live, fight)?;
        if s.auto_round_end && bout.phase == Phase::Running {
            let left = ROUND_LENGTH_S * 1000 - bout.elapsed_at(now);
            let k = Key {
                live_fight: Some(live.id),
                round: Some(bout.round),
                ..key(JobKind::RoundEnd)
            };
            desired.push((k, now + chrono::Duration::milliseconds(left.max(0))));
        }
        return Ok(desired);
    }
    let last_end = fights
        .iter()
        .filter(|(l, _)| matches!(l.status.as_str(), "completed" | "cancelled"))
        .filter_map(|(l, _)| l.ended_at.or(l.started_at))
        .max();
    // The card runs from its highest `card_order` down to the main event (1).
    let next = fights
        .iter()
        .filter(|(l, _)| l.status == "upcoming")
        .max_by_key(|(_, f)| f.card_order);
    match (next, last_end) {
        (Some((live, _)), Some(end)) if s.auto_advance => {
            let k = Key {
                live_fight: Some(live.id),
                ..key(JobKind::Advance)
            };
            desired.push((k, end + chrono::Duration::seconds(s.advance_delay_seconds)));
        }
        (None, _) if s.auto_complete && !fights.is_empty() => {
            desired.push((key(JobKind::Complete), last_end.unwrap_or(now)));
        }
        _ => {}
    }
    Ok(desired)
}

/// "Up next": the verified news update automation posts before it opens
/// the next fight.
pub fn announce_up_next(
    conn: &mut PgConnection,
    live: &LiveFight,
    fight: &Fight,
) -> QueryResult<Vec<Published>> {
    let (red, blue) = crate::db::catalog::corner_names(conn, fight)?;
    let mut update = live_updates::insert(
        conn,
        &NewUpdate {
            live_event_id: live.live_event_id,
            live_fight_id: Some(live.id),
            update_type: UpdateType::News.as_str().into(),
            title: format!("Up next: {red} vs {blue}"),
            description: String::new(),
            round_number: None,
            data: json!({ "up_next": live.id }),
            is_breaking: false,
            media_asset_id: None,
            is_verified: true,
            created_by: None,
        },
    )?;
    live_updates::publish(conn, &mut update)
}

/// An event's switches and jobs (pending first), for staff.
pub async fn overview(state: &AppState, event: i64) -> Result<Value, ApiError> {
    state
        .db
        .run(move |conn| {
            let live = live_events::find(conn, event).map_err(|e| named("live event")(e.into()))?;
            let jobs = db::of_event(conn, event, 50)?;
            Ok(json!({ "settings": Settings::of(&live.settings), "jobs": jobs }))
        })
        .await
}

/// Cancels a pending job, logged as the staff member's decision.
pub async fn cancel(state: &AppState, by: i64, id: i64) -> Result<Job, ApiError> {
    state
        .db
        .transaction(move |conn| {
            let job =
                db::find_for_update(conn, id).map_err(|e| named("automation job")(e.into()))?;
            if job.status != "pending" {
                return Err(ApiError::Conflict {
                    code: ConflictCode::InvalidTransition,
                    message: format!("this job is {}", job.status),
                });
            }
            let job = db::cancel(conn, id, by)?;
            moderation::record(
                conn,
                Action {
                    moderator: Some(by),
                    action: "cancel_automation",
                    target_type: "job",
                    target_id: job.id,
                    live_event: Some(job.live_event_id),
                    reason: "",
                    details: json!({ "kind": job.kind, "due_at": job.due_at }),
                },
            )?;
            Ok(job)
        })
        .await
}
