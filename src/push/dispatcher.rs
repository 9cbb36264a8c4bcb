//! A push dispatcher: an actor on its own arbiter that drains one
//! provider's share of the outbox (each configured provider has its own, so
//! the two request paths run on two threads).
//!
//! It sends what a bulk send on this node handed over (rows queued already
//! claimed in its name) and claims the rest under a lease; each push is its
//! own request, at most `PUSH_CONCURRENCY` in flight (streams multiplexed
//! over the provider's `PUSH_CONNECTIONS` HTTP/2 connections), and a recorder writes the
//! answers back in batches, giving way to sending while a burst is in
//! flight. Nothing is lost: a row is only ever `in_flight` under a lease,
//! so rows held by a node that dies go back to whoever claims next once the
//! lease lapses, and a row is only sent while its lease outlasts the
//! request. Nothing is doubled on a stop: claiming stops, the requests in
//! flight finish and are recorded, and what was not sent is given back
//! before the actor is done. A crash can only resend what was in flight or
//! answered but not yet recorded at that instant (the last `RECORD_WITHIN`
//! of answers, 50 ms), and those carry the notification's collapse id, so the
//! device shows it once.
//!
//! When the provider says its quota is spent (FCM 429 with `Retry-After`),
//! that push goes back to the outbox due after the wait, its attempt not
//! counted, and the dispatcher pauses: nothing more goes to that provider
//! until the wait is over, and rows it holds or is handed meanwhile go back
//! the same way (not failed, not sent early), to be claimed once it ends.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::Utc;
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch, Notify, OwnedSemaphorePermit, Semaphore};

use super::{Message, Outcome, Provider};
use crate::config::PushSettings;
use crate::db::push_outbox::{self, Attempt, Claimed, Recorded};
use crate::db::{Db, DbError};

/// Claims running at once, and the most rows one claim takes.
const CLAIMS_IN_FLIGHT: usize = 2;
const MAX_CLAIM: usize = 500;
/// How often deliveries that expired unsent are swept.
const EXPIRY_EVERY: Duration = Duration::from_secs(30);
/// Answers are written once the dispatcher is idle, or at the latest this
/// long after the first one waiting, or when this many wait.
const RECORD_WITHIN: Duration = Duration::from_millis(50);
const RECORD_BATCH: usize = 2_000;
/// How often the recorder looks whether it is time to write.
const RECORD_TICK: Duration = Duration::from_millis(10);
/// Notification states are rolled up when the dispatcher is idle, or at the
/// latest this long after the last roll-up.
const ROLL_UP_WITHIN: Duration = Duration::from_secs(2);

/// How the rest of the server reaches the dispatcher.
#[derive(Clone)]
pub struct Handle {
    addr: Addr<Dispatcher>,
    wake: Arc<Notify>,
    handed: mpsc::UnboundedSender<Vec<Claimed>>,
}

impl Handle {
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Deliveries committed already claimed in this dispatcher's name.
    pub fn hand_over(&self, rows: Vec<Claimed>) {
        if !rows.is_empty() {
            // Gone only when the dispatcher stopped: the rows' lease lapses
            // and they are claimed again, by this node or another.
            let _ = self.handed.send(rows);
        }
    }

    pub async fn stop(&self) {
        let _ = self.addr.send(Stop).await;
    }
}

/// Starts the dispatcher of one provider's platform on an arbiter of its own.
pub fn start(db: Db, provider: Arc<Provider>, settings: PushSettings, claimer: String) -> Handle {
    let wake = Arc::new(Notify::new());
    let (handed, handed_rows) = mpsc::unbounded_channel();
    let arbiter = Arbiter::new();
    let woken = wake.clone();
    let addr = Dispatcher::start_in_arbiter(&arbiter.handle(), move |_| {
        let (stop, stopping) = watch::channel(false);
        let (finished, done) = watch::channel(false);
        Dispatcher {
            work: Some(Work {
                db,
                provider,
                settings,
                claimer,
                wake: woken,
                handed: handed_rows,
                stopping,
                finished,
            }),
            stop,
            done,
        }
    });
    Handle { addr, wake, handed }
}

pub struct Dispatcher {
    /// Taken by `started`, which runs it.
    work: Option<Work>,
    stop: watch::Sender<bool>,
    done: watch::Receiver<bool>,
}

impl Actor for Dispatcher {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        if let Some(work) = self.work.take() {
            tracing::info!(
                claimer = %work.claimer,
                platform = work.provider.platform(),
                concurrency = work.settings.concurrency,
                "push dispatcher started"
            );
            actix::spawn(work.run());
        }
    }
}

/// Stop claiming; resolves once what was in flight is recorded.
#[derive(Message)]
#[rtype(result = "()")]
struct Stop;

impl Handler<Stop> for Dispatcher {
    type Result = ResponseFuture<()>;
    fn handle(&mut self, _: Stop, _: &mut Context<Self>) -> Self::Result {
        let _ = self.stop.send(true);
        let mut done = self.done.clone();
        Box::pin(async move {
            let _ = done.wait_for(|finished| *finished).await;
        })
    }
}

/// Until when the provider asked not to be sent anything (its quota).
#[derive(Clone, Default)]
struct Pause(Arc<std::sync::Mutex<Option<Instant>>>);

impl Pause {
    fn until(&self) -> Option<Instant> {
        let at = *self.0.lock().unwrap_or_else(|p| p.into_inner());
        at.filter(|at| *at > Instant::now())
    }

    fn extend(&self, after: Duration) {
        let mut at = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let until = Instant::now() + after;
        if at.is_none_or(|at| at < until) {
            *at = Some(until);
        }
    }
}

struct Work {
    db: Db,
    provider: Arc<Provider>,
    settings: PushSettings,
    /// This node's name on the rows it holds (unique per start; shared by
    /// the node's dispatchers, each of which keeps to its platform).
    claimer: String,
    wake: Arc<Notify>,
    /// Rows queued already claimed by this node (bulk sends), to send first.
    handed: mpsc::UnboundedReceiver<Vec<Claimed>>,
    stopping: watch::Receiver<bool>,
    finished: watch::Sender<bool>,
}

impl Work {
    async fn run(mut self) {
        let slots = Arc::new(Semaphore::new(self.settings.concurrency));
        let (results, to_record) = mpsc::unbounded_channel();
        let sending = Sending {
            slots: slots.clone(),
            all: self.settings.concurrency,
        };
        let recorder = actix::spawn(record(
            self.db.clone(),
            self.claimer.clone(),
            to_record,
            sending,
        ));
        // Claim in batches for slots reserved beforehand: a claim starts
        // once a quarter of the slots are free, and two may run at once, so
        // sending never waits for one claim's round trip.
        let floor = (self.settings.concurrency / 4).max(1) as u32;
        let mut claims = futures_util::stream::FuturesUnordered::new();
        let mut ready: std::collections::VecDeque<Claimed> = std::collections::VecDeque::new();
        let mut swept: Option<Instant> = None;
        let pause = Pause::default();
        let name = self.provider.name();
        loop {
            if *self.stopping.borrow() {
                break;
            }
            if swept.is_none_or(|at| at.elapsed() >= EXPIRY_EVERY) {
                swept = Some(Instant::now());
                self.sweep_expired().await;
            }
            let paused = pause.until();
            if let Some(until) = paused {
                defer(ready.drain(..), until, name, &results);
            }
            let resume = tokio::time::Instant::from_std(paused.unwrap_or_else(Instant::now));
            tokio::select! {
                Some(rows) = self.handed.recv() => match paused {
                    Some(until) => defer(rows, until, name, &results),
                    None => ready.extend(rows),
                },
                _ = tokio::time::sleep_until(resume), if paused.is_some() => {}
                slot = slots.clone().acquire_owned(), if !ready.is_empty() && paused.is_none() => {
                    let Ok(mut reserved) = slot else { break };
                    // Every free slot at once, not one per turn of the loop.
                    let more = slots.available_permits().min(ready.len() - 1);
                    if let Ok(extra) = slots.clone().try_acquire_many_owned(more as u32) {
                        reserved.merge(extra);
                    }
                    let n = reserved.num_permits().min(ready.len());
                    let rows: Vec<Claimed> = ready.drain(..n).collect();
                    self.spawn_sends(rows, &mut reserved, &results, &pause);
                }
                reserved = slots.clone().acquire_many_owned(floor),
                    if claims.len() < CLAIMS_IN_FLIGHT && ready.is_empty() && paused.is_none() => {
                    let Ok(mut reserved) = reserved else { break };
                    let more = slots
                        .available_permits()
                        .min(MAX_CLAIM.saturating_sub(floor as usize));
                    if let Ok(extra) = slots.clone().try_acquire_many_owned(more as u32) {
                        reserved.merge(extra);
                    }
                    claims.push(self.claim(reserved));
                }
                Some((claimed, mut reserved)) = claims.next() => {
                    let rows = match claimed {
                        Ok(rows) => rows,
                        Err(e) => {
                            tracing::warn!(error = %e, "push: claiming deliveries failed");
                            Vec::new()
                        }
                    };
                    if rows.is_empty() {
                        drop(reserved);
                        if claims.is_empty() {
                            self.idle().await;
                        }
                        continue;
                    }
                    if let Some(until) = pause.until() {
                        defer(rows, until, name, &results);
                        continue;
                    }
                    self.spawn_sends(rows, &mut reserved, &results, &pause);
                }
                _ = self.stopping.changed() => continue,
            }
        }
        // Claims still running hold rows: send those too before stopping.
        while let Some((claimed, mut reserved)) = claims.next().await {
            self.spawn_sends(claimed.unwrap_or_default(), &mut reserved, &results, &pause);
        }
        // Stopping: let what is in flight finish (each request has its own
        // timeout), record it, and give back anything still held.
        let wait = self.settings.request_timeout + Duration::from_secs(2);
        let everything = self.settings.concurrency as u32;
        if tokio::time::timeout(wait, slots.acquire_many(everything))
            .await
            .is_err()
        {
            tracing::warn!("push: some requests did not finish before the stop");
        }
        drop(results);
        let _ = recorder.await;
        let claimer = self.claimer.clone();
        let platform = self.provider.platform();
        match self
            .db
            .run_unbounded(move |c| {
                push_outbox::release(c, &claimer, platform).map_err(DbError::from)
            })
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::warn!(released = n, "push: unfinished deliveries given back"),
            Err(e) => tracing::warn!(error = %e, "push: giving back deliveries failed"),
        }
        tracing::info!("push dispatcher stopped");
        let _ = self.finished.send(true);
    }

    /// Sends each row on a task of its own, holding one reserved slot.
    fn spawn_sends(
        &self,
        rows: Vec<Claimed>,
        reserved: &mut OwnedSemaphorePermit,
        results: &mpsc::UnboundedSender<(i64, Recorded)>,
        pause: &Pause,
    ) {
        // A send must be able to finish (its timeout) inside the lease.
        let margin = chrono::Duration::from_std(self.settings.request_timeout)
            .unwrap_or(chrono::Duration::MAX);
        for row in rows {
            if row.lease_until - margin < Utc::now() {
                // Too late: it comes back once the lease lapses.
                continue;
            }
            let Some(slot) = reserved.split(1) else {
                break;
            };
            let (provider, results, pause) =
                (self.provider.clone(), results.clone(), pause.clone());
            let max_attempts = self.settings.max_attempts;
            // Boxed: the request's state is a few KiB, and a task is moved
            // more than once as it is spawned; moving a pointer is cheaper.
            actix::spawn(Box::pin(async move {
                let notification = row.notification_id;
                let recorded = send(&provider, row, max_attempts, &pause).await;
                drop(slot);
                let _ = results.send((notification, recorded));
            }));
        }
    }

    /// Claims as many rows as `reserved` has slots; the slots come back
    /// with the rows (each row's send holds one).
    fn claim(
        &self,
        reserved: OwnedSemaphorePermit,
    ) -> impl std::future::Future<Output = (Result<Vec<Claimed>, DbError>, OwnedSemaphorePermit)>
    {
        let db = self.db.clone();
        let claimer = self.claimer.clone();
        let platforms = [self.provider.platform().to_string()];
        let lease = self.settings.lease.as_secs_f64();
        let n = reserved.num_permits() as i64;
        async move {
            let claimed = db
                .run_unbounded(move |c| {
                    push_outbox::claim(c, &claimer, n, lease, &platforms).map_err(DbError::from)
                })
                .await;
            (claimed, reserved)
        }
    }

    /// Nothing due: wait for a wake-up, the next poll, or the stop.
    async fn idle(&mut self) {
        tokio::select! {
            _ = self.wake.notified() => {}
            _ = tokio::time::sleep(self.settings.poll) => {}
            _ = self.stopping.changed() => {}
        }
    }

    async fn sweep_expired(&self) {
        let platform = self.provider.platform();
        let swept = self
            .db
            .run_unbounded(move |c| {
                let ids = push_outbox::expire(c, platform)?;
                push_outbox::roll_up(c, &ids)?;
                Ok::<_, DbError>(ids.len())
            })
            .await;
        match swept {
            Ok(0) => {}
            Ok(n) => tracing::info!(notifications = n, "push: expired deliveries dropped"),
            Err(e) => tracing::warn!(error = %e, "push: sweeping expired deliveries failed"),
        }
    }
}

/// One delivery, one request; what happened, as the outbox records it.
async fn send(provider: &Provider, row: Claimed, max_attempts: u32, pause: &Pause) -> Recorded {
    let result = if !row.is_active {
        Attempt::Failed("the device was unregistered".into())
    } else {
        let message = Message {
            delivery: row.id,
            notification: row.notification_id,
            content: row.content,
            expires_at: row.expires_at,
            token: row.token,
        };
        match provider.send(&message).await {
            Outcome::Accepted(provider_id) => Attempt::Sent {
                at: Utc::now(),
                provider_id,
            },
            Outcome::InvalidToken(e) => Attempt::InvalidToken(e),
            Outcome::Failed(e) => Attempt::Failed(e),
            Outcome::Throttled { after, reason } => {
                pause.extend(after);
                Attempt::Deferred {
                    at: Utc::now()
                        + chrono::Duration::from_std(after).unwrap_or(chrono::Duration::MAX),
                    error: reason,
                }
            }
            Outcome::Retry { reason, .. } if row.attempts as u32 >= max_attempts => {
                Attempt::Failed(format!("gave up after {} attempts: {reason}", row.attempts))
            }
            Outcome::Retry { after, reason } => {
                let wait = after.unwrap_or_else(|| backoff(row.attempts, row.id));
                Attempt::Retry {
                    at: Utc::now()
                        + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX),
                    error: reason,
                }
            }
        }
    };
    let outcome = match &result {
        Attempt::Sent { .. } => "sent",
        Attempt::Retry { .. } => "retry",
        Attempt::Deferred { .. } => "throttled",
        Attempt::InvalidToken(_) => "invalid_token",
        Attempt::Failed(_) => "failed",
    };
    crate::metrics::live()
        .push_deliveries
        .with_label_values(&[provider.name(), outcome])
        .inc();
    Recorded {
        delivery: row.id,
        device: row.device_id,
        result,
    }
}

/// Gives rows back unsent while the provider is paused: pending again from
/// `until`, the attempt not counted (counted as `deferred`).
fn defer(
    rows: impl IntoIterator<Item = Claimed>,
    until: Instant,
    provider: &'static str,
    results: &mpsc::UnboundedSender<(i64, Recorded)>,
) {
    let at = Utc::now()
        + chrono::Duration::from_std(until.saturating_duration_since(Instant::now()))
            .unwrap_or(chrono::Duration::MAX);
    for row in rows {
        crate::metrics::live()
            .push_deliveries
            .with_label_values(&[provider, "deferred"])
            .inc();
        let recorded = Recorded {
            delivery: row.id,
            device: row.device_id,
            result: Attempt::Deferred {
                at,
                error: "not sent: the provider's quota was spent".into(),
            },
        };
        let _ = results.send((row.notification_id, recorded));
    }
}

/// 1 s, 2 s, 4 s … up to 5 min after the n-th failed attempt, spread by up
/// to 30% so a burst of failures does not come back as one burst.
fn backoff(attempts: i32, delivery: i64) -> Duration {
    let exp = attempts.clamp(1, 12) as u32 - 1;
    let base = Duration::from_secs(1u64 << exp).min(Duration::from_secs(300));
    let spread = (delivery.unsigned_abs() % 31) as u32;
    base + base * spread / 100
}

/// Writes results in batches and rolls notification states up. While
/// pushes are in flight, answers wait a little (at most `RECORD_WITHIN`, at
/// most `RECORD_BATCH` of them) so that a burst is recorded in a few large
/// statements rather than many small ones competing with it; once the
/// dispatcher is idle, whatever waits is written at once. Times are taken
/// at the answer, so waiting changes no figure; a crash in the wait can
/// only resend what was answered (see the module doc).
async fn record(
    db: Db,
    claimer: String,
    mut results: mpsc::UnboundedReceiver<(i64, Recorded)>,
    sending: Sending,
) {
    let mut batch: Vec<Recorded> = Vec::new();
    let mut oldest = Instant::now();
    let mut touched = BTreeSet::new();
    let mut rolled = Instant::now();
    let mut tick = tokio::time::interval(RECORD_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut open = true;
    while open {
        tokio::select! {
            next = results.recv() => match next {
                Some((notification, r)) => {
                    if batch.is_empty() {
                        oldest = Instant::now();
                    }
                    touched.insert(notification);
                    batch.push(r);
                }
                None => open = false,
            },
            _ = tick.tick() => {}
        }
        let quiet = !open || sending.is_idle();
        if !batch.is_empty()
            && (quiet || oldest.elapsed() >= RECORD_WITHIN || batch.len() >= RECORD_BATCH)
        {
            write(&db, &claimer, std::mem::take(&mut batch)).await;
        }
        // Separately from the write: a burst's last answers may be written
        // while a claim still holds slots (not quiet); the tick brings the
        // roll-up once the dispatcher is idle, or at the latest after
        // ROLL_UP_WITHIN, even if no answer comes after them.
        if batch.is_empty() && !touched.is_empty() && (quiet || rolled.elapsed() >= ROLL_UP_WITHIN)
        {
            roll_up(&db, std::mem::take(&mut touched)).await;
            rolled = Instant::now();
        }
    }
}

/// Whether the dispatcher has pushes in flight (or slots reserved for rows
/// it is claiming): every slot free means it is idle.
#[derive(Clone)]
struct Sending {
    slots: Arc<Semaphore>,
    all: usize,
}

impl Sending {
    fn is_idle(&self) -> bool {
        self.slots.available_permits() >= self.all
    }
}

/// Writes one batch, retrying while the database is away: these rows are
/// held under our lease, so giving up only delays them (they are claimed
/// again once it lapses).
async fn write(db: &Db, claimer: &str, rows: Vec<Recorded>) {
    let rows = Arc::new(rows);
    for attempt in 1..=10u32 {
        let (claimer, batch) = (claimer.to_string(), rows.clone());
        let written = db
            .run_unbounded(move |c| push_outbox::record(c, &claimer, &batch).map_err(DbError::from))
            .await;
        match written {
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, attempt, "push: recording results failed");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
        }
    }
    tracing::error!(
        rows = rows.len(),
        "push: results not recorded; they will be sent again when their lease lapses"
    );
}

async fn roll_up(db: &Db, notifications: BTreeSet<i64>) {
    if notifications.is_empty() {
        return;
    }
    let ids: Vec<i64> = notifications.into_iter().collect();
    if let Err(e) = db
        .run_unbounded(move |c| push_outbox::roll_up(c, &ids).map_err(DbError::from))
        .await
    {
        tracing::warn!(error = %e, "push: rolling up notification states failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes_with_a_spread() {
        assert_eq!(backoff(1, 0), Duration::from_secs(1));
        assert_eq!(backoff(2, 0), Duration::from_secs(2));
        assert_eq!(backoff(12, 0), Duration::from_secs(300));
        let spread = backoff(3, 30);
        assert!(spread > Duration::from_secs(4) && spread <= Duration::from_millis(5200));
    }
}
