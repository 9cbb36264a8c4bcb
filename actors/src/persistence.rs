//! The persistence actor: every durable write goes through it. It batches
//! writes (a flush every few milliseconds or every N jobs, whichever comes
//! first) into one unit of work on the blocking pool, and answers each caller
//! only once its write is committed.
//!
//! When storage is down it keeps the jobs it could not start, retries with
//! backoff, and refuses new writes with [`PersistError::Full`] once its bounded
//! queue is full: nothing it acknowledged is ever lost, and nothing it could
//! not keep is ever acknowledged.
//!
//! Every write has a deadline ([`PersistenceConfig::deadline`] from its
//! arrival). A caller is answered by then: committed, or
//! [`PersistError::Expired`], and an expired write is never applied later —
//! a queued job past its deadline is dropped unrun, and a batch is handed the
//! earliest deadline of its jobs as the moment after which the writer must
//! not commit (Postgres checks it at COMMIT, see `db::fence`), so a batch
//! stuck on a frozen database cannot land once its callers were told no.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::telemetry;

/// What a batch came to.
pub enum WriteOutcome<J, O> {
    /// The batch ran; one output per job, in order (each may be a failure of
    /// its own).
    Done(Vec<O>),
    /// Storage could not be reached and no job was started: retry them all.
    NotStarted(Vec<J>, String),
}

/// The storage side, implemented by the edges (Postgres in `src/`).
pub trait BatchWriter: Send + Sync + 'static {
    type Job: Send + Unpin + 'static;
    type Output: Send + Unpin + 'static;
    /// Runs `jobs` as one unit of work, committing only if it can do so by
    /// `commit_by` (otherwise nothing of it is stored). Called on a
    /// blocking thread.
    fn write(
        &self,
        jobs: Vec<Self::Job>,
        commit_by: SystemTime,
    ) -> WriteOutcome<Self::Job, Self::Output>;
    /// The `writer` label of this actor's metrics.
    fn name(&self) -> &'static str {
        "writes"
    }
}

#[derive(Debug, Clone)]
pub struct PersistenceConfig {
    pub max_batch: usize,
    pub flush_every: Duration,
    /// Jobs that may wait (while storage is down, say) before new ones are refused.
    pub queue_limit: usize,
    pub max_backoff: Duration,
    /// From a write's arrival to its commit, at most; past it the caller
    /// hears [`PersistError::Expired`] and the write is never applied.
    pub deadline: Duration,
}

/// How long past a write's deadline its caller waits for the commit's
/// answer: a commit the database accepted just in time still reaches it.
const ANSWER_GRACE: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersistError {
    #[error("storage is unavailable and the write queue is full; try again shortly")]
    Full,
    #[error("the persistence actor stopped")]
    Stopped,
    #[error("storage did not commit the write in time; it was not applied, try again")]
    Expired,
}

type Reply<O> = oneshot::Sender<Result<O, PersistError>>;

/// A write waiting for its batch.
struct Queued<W: BatchWriter> {
    job: W::Job,
    reply: Reply<W::Output>,
    deadline: Instant,
}

pub struct Persistence<W: BatchWriter> {
    writer: Arc<W>,
    config: PersistenceConfig,
    queue: VecDeque<Queued<W>>,
    writing: bool,
    flush_scheduled: bool,
    backoff: Option<Duration>,
}

/// One durable write.
pub struct Write<W: BatchWriter>(pub W::Job);

impl<W: BatchWriter> Message for Write<W> {
    type Result = Result<W::Output, PersistError>;
}

impl<W: BatchWriter> Persistence<W> {
    pub fn new(writer: W, config: PersistenceConfig) -> Persistence<W> {
        Persistence {
            writer: Arc::new(writer),
            config,
            queue: VecDeque::new(),
            writing: false,
            flush_scheduled: false,
            backoff: None,
        }
    }

    fn schedule(&mut self, ctx: &mut Context<Self>) {
        if self.writing || self.backoff.is_some() || self.queue.is_empty() {
            return;
        }
        if self.queue.len() >= self.config.max_batch {
            return self.flush(ctx);
        }
        if !self.flush_scheduled {
            self.flush_scheduled = true;
            ctx.run_later(self.config.flush_every, |p, ctx| {
                p.flush_scheduled = false;
                p.flush(ctx);
            });
        }
    }

    /// Tells the edges how much waits.
    fn report_queue(&self) {
        telemetry::sink().persistence_queue(
            self.writer.name(),
            self.queue.len(),
            self.config.queue_limit,
        );
    }

    /// Answers and drops the queued writes whose deadline has passed: their
    /// callers are told no, so they must never run.
    fn expire(&mut self) {
        let now = Instant::now();
        let before = self.queue.len();
        let mut kept = VecDeque::with_capacity(self.queue.len());
        for q in self.queue.drain(..) {
            if q.deadline > now {
                kept.push_back(q);
            } else {
                let _ = q.reply.send(Err(PersistError::Expired));
            }
        }
        self.queue = kept;
        for _ in self.queue.len()..before {
            telemetry::sink().persistence_expired(self.writer.name());
        }
    }

    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.writing {
            return;
        }
        self.expire();
        if self.queue.is_empty() {
            self.report_queue();
            return;
        }
        self.writing = true;
        let n = self.queue.len().min(self.config.max_batch);
        let batch: Vec<Queued<W>> = self.queue.drain(..n).collect();
        self.report_queue();
        // The batch must not commit once its most pressing caller was told no.
        let now = Instant::now();
        let earliest = batch.iter().map(|q| q.deadline).min().unwrap_or(now);
        let commit_by = SystemTime::now() + earliest.saturating_duration_since(now);
        let mut jobs = Vec::with_capacity(n);
        let mut replies = Vec::with_capacity(n);
        for q in batch {
            jobs.push(q.job);
            replies.push((q.reply, q.deadline));
        }
        let writer = self.writer.clone();
        let started = std::time::Instant::now();
        let work =
            async move { tokio::task::spawn_blocking(move || writer.write(jobs, commit_by)).await };
        ctx.spawn(work.into_actor(self).map(move |outcome, p, ctx| {
            p.writing = false;
            telemetry::sink().persistence_batch(p.writer.name(), n, started.elapsed());
            match outcome {
                Ok(WriteOutcome::Done(outputs)) => {
                    p.backoff = None;
                    for ((reply, _), output) in replies.into_iter().zip(outputs) {
                        let _ = reply.send(Ok(output));
                    }
                }
                Ok(WriteOutcome::NotStarted(jobs, why)) => {
                    // Back to the front, in order, and try again later (those
                    // past their deadline are dropped at the next flush).
                    for (job, (reply, deadline)) in jobs.into_iter().zip(replies).rev() {
                        p.queue.push_front(Queued {
                            job,
                            reply,
                            deadline,
                        });
                    }
                    telemetry::sink().persistence_retry(p.writer.name());
                    p.report_queue();
                    let wait = p.backoff.map_or(Duration::from_millis(50), |b| {
                        (b * 2).min(p.config.max_backoff)
                    });
                    tracing::warn!(
                        queued = p.queue.len(),
                        retry_in_ms = wait.as_millis() as u64,
                        "storage unavailable: {why}"
                    );
                    p.backoff = Some(wait);
                    ctx.run_later(wait, |p, ctx| {
                        p.backoff = None;
                        p.flush(ctx);
                    });
                    return;
                }
                Err(_) => {
                    // The blocking task panicked: its jobs are answered, never lost silently.
                    for (reply, _) in replies {
                        let _ = reply.send(Err(PersistError::Stopped));
                    }
                }
            }
            p.schedule(ctx);
        }));
    }
}

impl<W: BatchWriter> Actor for Persistence<W> {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        self.report_queue();
    }
}

impl<W: BatchWriter> Handler<Write<W>> for Persistence<W> {
    type Result = ResponseFuture<Result<W::Output, PersistError>>;

    fn handle(&mut self, msg: Write<W>, ctx: &mut Context<Self>) -> Self::Result {
        if self.queue.len() >= self.config.queue_limit {
            // Room may be held by writes nobody waits for any more.
            self.expire();
        }
        if self.queue.len() >= self.config.queue_limit {
            telemetry::sink().persistence_refused(self.writer.name());
            return Box::pin(async { Err(PersistError::Full) });
        }
        let (tx, rx) = oneshot::channel();
        let deadline = Instant::now() + self.config.deadline;
        self.queue.push_back(Queued {
            job: msg.0,
            reply: tx,
            deadline,
        });
        self.report_queue();
        self.schedule(ctx);
        // Answered by the deadline whatever storage does: a batch still
        // running then cannot commit any more (the writer's `commit_by`).
        let answer_by = tokio::time::Instant::from_std(deadline + ANSWER_GRACE);
        Box::pin(async move {
            match tokio::time::timeout_at(answer_by, rx).await {
                Ok(answer) => answer.unwrap_or(Err(PersistError::Stopped)),
                Err(_) => Err(PersistError::Expired),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    /// Storage that is down for the first `down` batches, takes `stall` over
    /// each batch it runs, and, like Postgres's commit fence, stores a batch
    /// only if it is done by `commit_by`; records what it stored.
    struct Fake {
        down: AtomicUsize,
        stall: Duration,
        batches: Mutex<Vec<Vec<u32>>>,
    }

    impl Fake {
        fn new(down: usize, stall: Duration) -> Arc<Fake> {
            Arc::new(Fake {
                down: AtomicUsize::new(down),
                stall,
                batches: Mutex::new(Vec::new()),
            })
        }

        fn stored(&self) -> Vec<u32> {
            self.batches.lock().expect("lock").concat()
        }
    }

    impl BatchWriter for Arc<Fake> {
        type Job = u32;
        type Output = u32;
        fn write(&self, jobs: Vec<u32>, commit_by: SystemTime) -> WriteOutcome<u32, u32> {
            if self.down.load(Ordering::SeqCst) > 0 {
                self.down.fetch_sub(1, Ordering::SeqCst);
                return WriteOutcome::NotStarted(jobs, "down".into());
            }
            std::thread::sleep(self.stall);
            if SystemTime::now() > commit_by {
                return WriteOutcome::Done(jobs.iter().map(|_| 0).collect());
            }
            if let Ok(mut b) = self.batches.lock() {
                b.push(jobs.clone());
            }
            WriteOutcome::Done(jobs.into_iter().map(|j| j * 10).collect())
        }
    }

    fn config(queue_limit: usize) -> PersistenceConfig {
        PersistenceConfig {
            max_batch: 4,
            flush_every: Duration::from_millis(5),
            queue_limit,
            max_backoff: Duration::from_millis(100),
            deadline: Duration::from_secs(5),
        }
    }

    #[actix_rt::test]
    async fn batches_answer_each_caller_with_its_own_result() {
        let fake = Fake::new(0, Duration::ZERO);
        let addr = Persistence::new(fake.clone(), config(100)).start();
        let writes: Vec<_> = (1..=10).map(|i| addr.send(Write::<Arc<Fake>>(i))).collect();
        let results = futures_util::future::join_all(writes).await;
        let values: Vec<u32> = results
            .into_iter()
            .map(|r| r.expect("mailbox").expect("written"))
            .collect();
        assert_eq!(values, (1..=10).map(|i| i * 10).collect::<Vec<_>>());
        let batches = fake.batches.lock().expect("lock").clone();
        assert!(batches.iter().all(|b| b.len() <= 4), "{batches:?}");
        assert_eq!(
            batches.concat(),
            (1..=10).collect::<Vec<_>>(),
            "in order, each once"
        );
    }

    #[actix_rt::test]
    async fn storage_outages_are_retried_and_a_full_queue_refuses() {
        let fake = Fake::new(3, Duration::ZERO);
        let addr = Persistence::new(fake.clone(), config(2)).start();
        let first = addr.send(Write::<Arc<Fake>>(1));
        let second = addr.send(Write::<Arc<Fake>>(2));
        let third = addr.send(Write::<Arc<Fake>>(3)).await.expect("mailbox");
        assert_eq!(third, Err(PersistError::Full));
        assert_eq!(
            first.await.expect("mailbox"),
            Ok(10),
            "kept through the outage"
        );
        assert_eq!(second.await.expect("mailbox"), Ok(20));
        assert_eq!(fake.stored(), vec![1, 2]);
    }

    /// A persistence actor over `fake` whose writes have 200 ms.
    fn within_200ms(fake: &Arc<Fake>) -> Addr<Persistence<Arc<Fake>>> {
        Persistence::new(
            fake.clone(),
            PersistenceConfig {
                deadline: Duration::from_millis(200),
                ..config(100)
            },
        )
        .start()
    }

    #[actix_rt::test]
    async fn a_write_storage_cannot_take_by_its_deadline_is_refused_and_never_applied() {
        // Down for longer than the deadline (backoff 100 ms, 8 refusals).
        let fake = Fake::new(8, Duration::ZERO);
        let addr = within_200ms(&fake);
        let answer = addr.send(Write::<Arc<Fake>>(1)).await.expect("mailbox");
        assert_eq!(answer, Err(PersistError::Expired));
        // Storage comes back: the next write lands, the expired one never.
        let later = loop {
            match addr.send(Write::<Arc<Fake>>(2)).await.expect("mailbox") {
                Err(PersistError::Expired) => continue,
                other => break other,
            }
        };
        assert_eq!(later, Ok(20));
        assert_eq!(
            fake.stored(),
            vec![2],
            "the refused write was dropped unrun"
        );
    }

    #[actix_rt::test]
    async fn a_batch_stuck_past_its_deadline_is_answered_in_time_and_cannot_commit() {
        // Each batch takes 600 ms; the deadline is 200 ms.
        let fake = Fake::new(0, Duration::from_millis(600));
        let addr = within_200ms(&fake);
        let started = Instant::now();
        let answer = addr.send(Write::<Arc<Fake>>(1)).await.expect("mailbox");
        assert_eq!(answer, Err(PersistError::Expired));
        assert!(
            started.elapsed() < Duration::from_millis(600),
            "answered before the stuck batch ended"
        );
        // The batch ends after its commit_by: the fence keeps it out.
        let stored = fake.clone();
        let after = addr.send(Write::<Arc<Fake>>(2)).await.expect("mailbox");
        assert_eq!(after, Err(PersistError::Expired));
        assert!(stored.stored().is_empty(), "{:?}", stored.stored());
    }
}
