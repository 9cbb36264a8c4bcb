//! The persistence actor's Postgres side: a batch of jobs runs in one
//! transaction, each job in its own savepoint so one job's failure is only
//! its own; the caller hears back after the commit.

use std::any::Any;

use actix::Addr;
use diesel::{Connection, PgConnection};
use ringside_actors::persistence::{BatchWriter, PersistError, Persistence, Write, WriteOutcome};

use crate::db::Db;
use crate::error::ApiError;

type Boxed = Box<dyn Any + Send>;
pub type Job = Box<dyn FnOnce(&mut PgConnection) -> Result<Boxed, ApiError> + Send>;

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
    type Output = Result<Boxed, ApiError>;

    fn write(&self, jobs: Vec<Job>) -> WriteOutcome<Job, Self::Output> {
        let mut pooled = match self.db.conn() {
            Ok(conn) => conn,
            Err(e) => return WriteOutcome::NotStarted(jobs, e.to_string()),
        };
        let conn: &mut PgConnection = &mut pooled;
        let n = jobs.len();
        let mut outputs = Vec::with_capacity(n);
        let committed = conn.transaction::<_, diesel::result::Error, _>(|conn| {
            for job in jobs {
                outputs.push(conn.transaction::<_, ApiError, _>(|c| job(c)));
            }
            Ok(())
        });
        match committed {
            Ok(()) => WriteOutcome::Done(outputs),
            // Nothing of the batch is stored: no caller may hear otherwise.
            Err(e) => WriteOutcome::Done(
                (0..n)
                    .map(|_| {
                        Err(ApiError::Unavailable(format!(
                            "the write was not committed: {e}"
                        )))
                    })
                    .collect(),
            ),
        }
    }
}

pub type Persister = Addr<Persistence<PgWriter>>;

/// Runs `f` through the persistence actor; answers after the commit.
pub async fn persist<T: Send + 'static>(
    persister: &Persister,
    f: impl FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let job: Job = Box::new(move |conn| f(conn).map(|t| Box::new(t) as Boxed));
    match persister.send(Write(job)).await {
        Ok(Ok(Ok(out))) => out
            .downcast::<T>()
            .map(|b| *b)
            .map_err(|_| ApiError::Internal("persistence returned another type".into())),
        Ok(Ok(Err(e))) => Err(e),
        Ok(Err(PersistError::Full)) => Err(ApiError::Unavailable(
            "storage is unavailable and the write queue is full; try again shortly".into(),
        )),
        Ok(Err(PersistError::Stopped)) | Err(_) => {
            Err(ApiError::Unavailable("the server is shutting down".into()))
        }
    }
}
