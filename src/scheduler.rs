//! Fires the automation jobs (their rules: `features/automation.rs`) on
//! every node: each tick a node takes the most overdue job nobody holds
//! (`FOR UPDATE SKIP LOCKED`, then a lease), does its work, and marks it
//! done in the work's own transaction, after the work's locks and only if
//! the job is still pending and still its own. So a job fires once with
//! several nodes and across restarts: a node that dies mid-job committed
//! nothing, and its lease runs out for another node to take it.
//!
//! Every fired or skipped job is in the moderation log as `automation`,
//! with no moderator (the system).

use std::time::Duration;

use actix_web::web;
use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection};
use ringside_actors::fight::{Command, Phase, ROUND_LENGTH_S};
use ringside_actors::EventAction;
use serde_json::json;

use crate::db::automation::{self as jobs, Job};
use crate::db::channels::Published;
use crate::db::moderation::{self, Action};
use crate::error::ApiError;
use crate::features::{automation, fight_control, live_events, polls};
use crate::state::AppState;

/// How long a node holds a job it took.
const LEASE: Duration = Duration::from_secs(30);

/// Starts this node's runner.
pub fn start(state: web::Data<AppState>) {
    let node = node_name();
    let every = state.config.automation.tick;
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // Everything due now, one job at a time.
            loop {
                match fire_next(&state, &node).await {
                    Ok(true) => continue,
                    Ok(false) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "automation: will retry");
                        break;
                    }
                }
            }
        }
    });
}

fn node_name() -> String {
    let mut bytes = [0u8; 6];
    // A failing OS random source leaves zeros; the pid still tells nodes apart.
    let _ = getrandom::fill(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}-{}", std::process::id())
}

/// Why a job's work was rolled back.
enum Abort {
    /// The rules refused: the job ends `skipped`, saying why.
    Refused(ApiError),
    /// Its moment is not yet (a round clock was set back): due again then.
    NotYet(DateTime<Utc>),
    /// Someone else ended or moved it meanwhile.
    Gone,
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for Abort {
    fn from(e: diesel::result::Error) -> Self {
        Abort::Db(e)
    }
}

impl From<ApiError> for Abort {
    fn from(e: ApiError) -> Self {
        Abort::Refused(e)
    }
}

/// Takes one due job and fires it; answers whether there was one.
async fn fire_next(state: &web::Data<AppState>, node: &str) -> Result<bool, ApiError> {
    let claimer = node.to_string();
    let Some(job) = state
        .db
        .run_unbounded(move |c| Ok::<_, ApiError>(jobs::claim_due(c, &claimer, LEASE)?))
        .await?
    else {
        return Ok(false);
    };
    let (rules, claimer) = (live_events::Rules::of(state), node.to_string());
    let published = state
        .db
        .run_unbounded(move |c| fire(c, &job, &claimer, &rules))
        .await?;
    state.deliver(published);
    Ok(true)
}

fn fire(
    c: &mut PgConnection,
    job: &Job,
    node: &str,
    rules: &live_events::Rules,
) -> Result<Vec<Published>, ApiError> {
    let attempt = c.transaction::<_, Abort, _>(|c| {
        let (outcome, published) = work(c, job, rules)?;
        let held = jobs::lock_claimed(c, job.id, node)?.ok_or(Abort::Gone)?;
        if held.due_at > Utc::now() + chrono::Duration::seconds(1) {
            return Err(Abort::Gone);
        }
        let done = jobs::finish(c, job.id, "done", &outcome)?;
        log(c, &done)?;
        Ok(published)
    });
    match attempt {
        Ok(published) => {
            tracing::info!(job = job.id, kind = %job.kind, live_event = job.live_event_id, "automation fired");
            Ok(published)
        }
        // Not the rules' answer: the lease runs out and the job is tried again.
        Err(Abort::Refused(e @ (ApiError::Internal(_) | ApiError::Unavailable(_)))) => Err(e),
        Err(Abort::Db(e)) => Err(e.into()),
        Err(Abort::Refused(why)) => {
            c.transaction(|c| {
                if jobs::lock_claimed(c, job.id, node)?.is_some() {
                    let skipped = jobs::finish(c, job.id, "skipped", &why.to_string())?;
                    log(c, &skipped)?;
                }
                Ok::<_, diesel::result::Error>(())
            })?;
            tracing::info!(job = job.id, kind = %job.kind, reason = %why, "automation skipped");
            Ok(Vec::new())
        }
        Err(Abort::NotYet(due)) => {
            jobs::postpone(c, job.id, due)?;
            Ok(Vec::new())
        }
        // Let go: whoever moved it planned it again.
        Err(Abort::Gone) => {
            jobs::release(c, job.id, node)?;
            Ok(Vec::new())
        }
    }
}

/// A job's work, in the caller's transaction: what it did and published.
fn work(
    c: &mut PgConnection,
    job: &Job,
    rules: &live_events::Rules,
) -> Result<(String, Vec<Published>), Abort> {
    let event = job.live_event_id;
    let fight = || job.live_fight_id.ok_or(Abort::Gone);
    match job.kind.as_str() {
        "auto_start" => {
            let (_, published) = live_events::transition_in(c, event, EventAction::Start, rules)?;
            Ok(("started the live event".into(), published))
        }
        "complete" => {
            let (_, published) = live_events::transition_in(c, event, EventAction::End, rules)?;
            Ok((
                "completed the live event after its last fight".into(),
                published,
            ))
        }
        "reminder" => {
            let live = crate::db::live_events::find_for_update(c, event)?;
            if live.status != "upcoming" {
                return Err(ApiError::Conflict {
                    code: crate::error::ConflictCode::InvalidTransition,
                    message: format!("the live event is {} already", live.status),
                }
                .into());
            }
            let minutes = automation::Settings::of(&live.settings)
                .reminder_minutes
                .unwrap_or(0);
            let sent =
                crate::features::notifications::on_event_reminder(c, &live, minutes, &rules.push)?;
            Ok((
                format!("reminded the followers {minutes} minutes before the start"),
                sent.published,
            ))
        }
        "advance" => {
            let id = fight()?;
            let locked = crate::db::fight_control::lock(c, id)?;
            if locked.live.status != "upcoming" {
                return Err(ApiError::Conflict {
                    code: crate::error::ConflictCode::InvalidTransition,
                    message: format!("the fight is {} already", locked.live.status),
                }
                .into());
            }
            let mut published = automation::announce_up_next(c, &locked.live, &locked.fight)?;
            let (_, started) =
                fight_control::change(c, None, id, fight_control::start_command, &rules.push)?;
            published.extend(started);
            Ok(("announced the next fight and started it".into(), published))
        }
        "round_end" => {
            let id = fight()?;
            let bout = crate::db::fight_control::lock(c, id)?.bout()?;
            let now = Utc::now();
            if bout.phase != Phase::Running || Some(bout.round) != job.round {
                return Err(ApiError::Conflict {
                    code: crate::error::ConflictCode::InvalidTransition,
                    message: format!("round {} is not running", job.round.unwrap_or(0)),
                }
                .into());
            }
            let left = ROUND_LENGTH_S * 1000 - bout.elapsed_at(now);
            if left > 0 {
                return Err(Abort::NotYet(now + chrono::Duration::milliseconds(left)));
            }
            let round = bout.round;
            let (_, published) = fight_control::change(
                c,
                None,
                id,
                move |_, _| {
                    Ok(Command::EndRound {
                        round,
                        time: None,
                        reason: None,
                    })
                },
                &rules.push,
            )?;
            Ok((format!("ended round {round} on the clock"), published))
        }
        "poll_close" => {
            let poll = job.poll_id.ok_or(Abort::Gone)?;
            let (_, published) = polls::transition_in(c, poll, "closed")?;
            Ok(("closed the poll at its closing time".into(), published))
        }
        other => Err(ApiError::Internal(format!("unknown automation job {other}")).into()),
    }
}

/// The job in the moderation log, as the system's.
fn log(c: &mut PgConnection, job: &Job) -> diesel::QueryResult<()> {
    let (target_type, target_id) = match (job.live_fight_id, job.poll_id) {
        (Some(fight), _) => ("fight", fight),
        (_, Some(poll)) => ("poll", poll),
        _ => ("event", job.live_event_id),
    };
    moderation::record(
        c,
        Action {
            moderator: None,
            action: "automation",
            target_type,
            target_id,
            live_event: Some(job.live_event_id),
            reason: job.outcome.as_deref().unwrap_or(""),
            details: json!({ "kind": job.kind, "job": job.id, "status": job.status }),
        },
    )
    .map(drop)
}
