//! The persistence actor's Postgres side: a batch of jobs runs in one
//! transaction, each job in its own savepoint so one job's failure is only
//! its own; the caller hears back after the commit.
//!
//! Results are typed end to end: each job carries its caller's
//! `oneshot::Sender<Result<T, ApiError>>` in its closure, so whatever type a
//! write returns reaches its caller as that type, with no `Any` to downcast.

use std::time::SystemTime;

use actix::Addr;
use diesel::{Connection, PgConnection};
use ringside_actors::persistence::{BatchWriter, PersistError, Persistence, Write, WriteOutcome};
use tokio::sync::oneshot;

use crate::db::{fence, idempotency, Db, DbError};
use crate::error::ApiError;

/// How a job's caller is answered once its batch's transaction is over:
/// `Ok(())` after the commit (the job's own result goes out), or the reason
/// nothing of the batch was stored.
pub type Answer = Box<dyn FnOnce(Result<(), ApiError>) + Send>;

/// One write. Run inside the batch's transaction (in its own savepoint), it
/// returns how to answer its caller; the answer goes out only after the commit.
pub type Job = Box<dyn FnOnce(&mut PgConnection) -> Answer + Send>;

pub struct PgWriter {
    db: Db,
}

impl PgWriter {
    pub fn new(db: Db) -> PgWriter {
        PgWriter { db }
    }
}

impl BatchWriter for PgWriter {
    fn name(&self) -> &'static str {
        "live"
    }

    type Job = Job;
    /// Callers are answered through their jobs' own channels.
    type Output = ();

    fn write(&self, jobs: Vec<Job>, commit_by: SystemTime) -> WriteOutcome<Job, ()> {
        let mut pooled = match self.db.conn() {
            Ok(conn) => conn,
            Err(e) => return WriteOutcome::NotStarted(jobs, e.to_string()),
        };
        let conn: &mut PgConnection = &mut pooled;
        let n = jobs.len();
        let mut answers = Vec::with_capacity(n);
        let committed = conn.transaction::<_, diesel::result::Error, _>(|conn| {
            fence::arm(conn, commit_by)?;
            for job in jobs {
                answers.push(job(conn));
            }
            Ok(())
        });
        for answer in answers {
            match &committed {
                Ok(()) => answer(Ok(())),
                // Nothing of the batch is stored: no caller may hear otherwise.
                Err(e) => answer(Err(ApiError::Unavailable(format!(
                    "the write was not committed: {e}"
                )))),
            }
        }
        WriteOutcome::Done(vec![(); n])
    }
}

pub type Persister = Addr<Persistence<PgWriter>>;

/// Runs `f` through the persistence actor; answers after the commit.
pub async fn persist<T: Send + 'static>(
    persister: &Persister,
    f: impl FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let (tx, rx) = oneshot::channel::<Result<T, ApiError>>();
    let claimed = idempotency::current();
    let job: Job = Box::new(move |conn| {
        // Its own savepoint: a failing job undoes only its own writes.
        let out = conn.transaction::<_, ApiError, _>(|conn| {
            // Under an Idempotency-Key: only while the key is still this
            // request's, and the key's row stays locked until the commit.
            if let Some(claimed) = &claimed {
                if !idempotency::mark_committed(conn, claimed)? {
                    return Err(DbError::Superseded.into());
                }
            }
            f(conn)
        });
        Box::new(move |batch: Result<(), ApiError>| {
            // The caller may have gone (a dropped request): nobody to tell.
            let _ = tx.send(batch.and(out));
        })
    });
    match persister.send(Write(job)).await {
        // Answered on the blocking thread right after the commit; a job that
        // was dropped unanswered (the blocking task failed) means shutdown.
        Ok(Ok(())) => rx
            .await
            .unwrap_or_else(|_| Err(ApiError::Unavailable("the server is shutting down".into()))),
        Ok(Err(refused)) => Err(refused.into()),
        // The actor is gone: the server is stopping.
        Err(_) => Err(PersistError::Stopped.into()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use actix::{Actor, Arbiter};
    use ringside_actors::persistence::PersistenceConfig;

    use super::*;

    fn config(queue_limit: usize) -> PersistenceConfig {
        PersistenceConfig {
            max_batch: 8,
            flush_every: Duration::from_millis(1),
            queue_limit,
            max_backoff: Duration::from_millis(50),
            deadline: Duration::from_secs(5),
        }
    }

    fn down() -> Db {
        Db::unreachable(Duration::from_millis(20))
    }

    #[test]
    fn a_batch_that_cannot_reach_the_database_is_handed_back_unrun() {
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let job: Job = Box::new(move |_| {
            flag.store(true, Ordering::SeqCst);
            Box::new(|_| {})
        });
        match PgWriter::new(down()).write(vec![job], SystemTime::now()) {
            WriteOutcome::NotStarted(jobs, why) => {
                assert_eq!(jobs.len(), 1, "every job back, to retry");
                assert!(!why.is_empty());
            }
            WriteOutcome::Done(_) => panic!("nothing can be written"),
        }
        assert!(!ran.load(Ordering::SeqCst), "no job ran");
    }

    #[actix_rt::test]
    async fn past_the_queue_limit_a_write_is_refused_as_unavailable() {
        let persister = Persistence::new(PgWriter::new(down()), config(0)).start();
        match persist(&persister, |_| Ok(1)).await {
            Err(ApiError::Unavailable(m)) => assert!(m.contains("queue is full"), "{m}"),
            other => panic!("expected a refusal, got {:?}", other.map(|_: i32| ())),
        }
    }

    #[actix_rt::test]
    async fn a_stopped_persistence_actor_answers_shutting_down() {
        let arbiter = Arbiter::new();
        let persister = Persistence::start_in_arbiter(&arbiter.handle(), |_| {
            Persistence::new(PgWriter::new(down()), config(8))
        });
        arbiter.stop();
        arbiter.join().expect("the actor's thread ends");
        match persist(&persister, |_| Ok(1)).await {
            Err(ApiError::Unavailable(m)) => assert!(m.contains("shutting down"), "{m}"),
            other => panic!("expected a refusal, got {:?}", other.map(|_: i32| ())),
        }
    }
}
