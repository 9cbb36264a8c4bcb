//! History with an end: the retention job, on one node at a time (a
//! transaction-scoped advisory lock; the others skip the round). It cuts the
//! stored history of every channel not kept whole (the channels of live
//! events that are upcoming, live, or ended within `HISTORY_RETENTION_DAYS`
//! are kept) once it holds a message older than that: the messages go and
//! the channel gets a new epoch, so a resume from before the cut gets
//! `resync`, never a gap; rooms on every node reload. Ended push deliveries
//! older than `PUSH_RETENTION_DAYS` go too (the notifications stay), and
//! `Idempotency-Key`s past their 24 hours.

use actix_web::web;
use diesel::Connection;
use ringside_actors::Channel;

use crate::config::Retention;
use crate::db::{channels, idempotency, push_outbox, Db};
use crate::error::ApiError;
use crate::live::Bus;
use crate::state::AppState;

/// The advisory lock the job runs under (one node at a time).
const LOCK: i64 = 7_248_002;

/// At most this many channels cut, and deliveries deleted, per round.
const CHANNELS_PER_ROUND: i64 = 1_000;
const DELIVERIES_PER_ROUND: i64 = 50_000;

/// What one round did (`None` from [`run_once`]: another node holds it).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    pub channels_cut: usize,
    pub messages_deleted: usize,
    pub deliveries_deleted: usize,
    /// Idempotency keys past their 24 hours.
    pub keys_deleted: usize,
}

/// Starts this node's retention rounds.
pub fn start(state: web::Data<AppState>) {
    let every = state.config.retention.every;
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match run_once(&state.db, &state.bus, &state.config.retention).await {
                Ok(Some(round)) if round != Round::default() => {
                    tracing::info!(?round, "retention: history cut")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "retention: will retry"),
            }
        }
    });
}

/// One round, if no other node is running one.
pub async fn run_once(db: &Db, bus: &Bus, r: &Retention) -> Result<Option<Round>, ApiError> {
    let now = chrono::Utc::now();
    let history = now - chrono::Duration::from_std(r.history).unwrap_or_default();
    let push = now - chrono::Duration::from_std(r.push).unwrap_or_default();
    let done = db
        .run_unbounded(move |c| {
            c.transaction(|c| {
                let locked: bool = diesel::RunQueryDsl::get_result(
                    diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
                        "pg_try_advisory_xact_lock({LOCK})"
                    ))),
                    c,
                )?;
                if !locked {
                    return Ok::<_, diesel::result::Error>(None);
                }
                let mut round = Round::default();
                let cut = channels::cuttable(c, history, CHANNELS_PER_ROUND)?;
                for channel in &cut {
                    round.messages_deleted += channels::cut(c, channel)?;
                }
                round.channels_cut = cut.len();
                round.deliveries_deleted = push_outbox::prune(c, push, DELIVERIES_PER_ROUND)?;
                let keys =
                    now - chrono::Duration::hours(crate::features::idempotency::KEEP_FOR_HOURS);
                round.keys_deleted = idempotency::prune(c, keys)?;
                Ok(Some((round, cut)))
            })
            .map_err(ApiError::from)
        })
        .await?;
    Ok(done.map(|(round, cut)| {
        bus.reload(
            cut.iter()
                .filter_map(|c| c.parse::<Channel>().ok())
                .collect(),
        );
        round
    }))
}
