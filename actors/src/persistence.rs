//! The persistence actor: every durable write goes through it. It batches
//! writes (a flush every few milliseconds or every N jobs, whichever comes
//! first) into one unit of work on the blocking pool, and answers each caller
//! only once its write is committed.
//!
//! When storage is down it keeps the jobs it could not start, retries with
//! backoff, and refuses new writes with [`PersistError::Full`] once its bounded
//! queue is full: nothing it acknowledged is ever lost, and nothing it could
//! not keep is ever acknowledged.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

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
    /// Runs `jobs` as one unit of work. Called on a blocking thread.
    fn write(&self, jobs: Vec<Self::Job>) -> WriteOutcome<Self::Job, Self::Output>;
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
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersistError {
    #[error("storage is unavailable and the write queue is full; try again shortly")]
    Full,
    #[error("the persistence actor stopped")]
    Stopped,
}

type Reply<O> = oneshot::Sender<Result<O, PersistError>>;

pub struct Persistence<W: BatchWriter> {
    writer: Arc<W>,
    config: PersistenceConfig,
    queue: VecDeque<(W::Job, Reply<W::Output>)>,
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

    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.writing || self.queue.is_empty() {
            return;
        }
        self.writing = true;
        let n = self.queue.len().min(self.config.max_batch);
        let (jobs, replies): (Vec<_>, Vec<_>) = self.queue.drain(..n).unzip();
        self.report_queue();
        let writer = self.writer.clone();
        let started = std::time::Instant::now();
        let work = async move { tokio::task::spawn_blocking(move || writer.write(jobs)).await };
        ctx.spawn(work.into_actor(self).map(move |outcome, p, ctx| {
            p.writing = false;
            telemetry::sink().persistence_batch(p.writer.name(), n, started.elapsed());
            match outcome {
                Ok(WriteOutcome::Done(outputs)) => {
                    p.backoff = None;
                    for (reply, output) in replies.into_iter().zip(outputs) {
                        let _ = reply.send(Ok(output));
                    }
                }
                Ok(WriteOutcome::NotStarted(jobs, why)) => {
                    // Back to the front, in order, and try again later.
                    for job in jobs.into_iter().zip(replies).rev() {
                        p.queue.push_front(job);
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
                    for reply in replies {
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
            telemetry::sink().persistence_refused(self.writer.name());
            return Box::pin(async { Err(PersistError::Full) });
        }
        let (tx, rx) = oneshot::channel();
        self.queue.push_back((msg.0, tx));
        self.report_queue();
        self.schedule(ctx);
        Box::pin(async move { rx.await.unwrap_or(Err(PersistError::Stopped)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    /// Storage that is down for the first `down` batches and records what it wrote.
    struct Fake {
        down: AtomicUsize,
        batches: Mutex<Vec<Vec<u32>>>,
    }

    impl BatchWriter for Arc<Fake> {
        type Job = u32;
        type Output = u32;
        fn write(&self, jobs: Vec<u32>) -> WriteOutcome<u32, u32> {
            if self.down.load(Ordering::SeqCst) > 0 {
                self.down.fetch_sub(1, Ordering::SeqCst);
                return WriteOutcome::NotStarted(jobs, "down".into());
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
        }
    }

    #[actix_rt::test]
    async fn batches_answer_each_caller_with_its_own_result() {
        let fake = Arc::new(Fake {
            down: AtomicUsize::new(0),
            batches: Mutex::new(Vec::new()),
        });
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
        let fake = Arc::new(Fake {
            down: AtomicUsize::new(3),
            batches: Mutex::new(Vec::new()),
        });
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
        assert_eq!(fake.batches.lock().expect("lock").concat(), vec![1, 2]);
    }
}
