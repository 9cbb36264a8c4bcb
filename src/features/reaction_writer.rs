//! Reactions have their own persistence actor: a reaction is plain data, so
//! a batch is stored with a few multi-row statements (`db::reactions::
//! add_batch`) instead of a savepoint and five statements each. Like every
//! durable write, a reaction is answered only after its batch commits.

use actix::Addr;
use diesel::Connection;
use ringside_actors::persistence::{BatchWriter, PersistError, Persistence, Write, WriteOutcome};
use ringside_actors::Channel;

use crate::db::reactions::{self, Reaction, Refusal};
use crate::db::Db;
use crate::error::ApiError;

pub struct ReactionWriter {
    db: Db,
}

impl ReactionWriter {
    pub fn new(db: Db) -> ReactionWriter {
        ReactionWriter { db }
    }
}

pub type ReactionPersister = Addr<Persistence<ReactionWriter>>;

impl BatchWriter for ReactionWriter {
    fn name(&self) -> &'static str {
        "reactions"
    }

    type Job = Reaction;
    type Output = Result<Vec<Channel>, ApiError>;

    fn write(&self, jobs: Vec<Reaction>) -> WriteOutcome<Reaction, Self::Output> {
        let mut conn = match self.db.conn() {
            Ok(conn) => conn,
            Err(e) => return WriteOutcome::NotStarted(jobs, e.to_string()),
        };
        let stored = conn.transaction(|c| reactions::add_batch(c, &jobs));
        WriteOutcome::Done(match stored {
            Ok(outcome) => outcome
                .into_iter()
                .map(|o| {
                    o.map_err(|refusal| match refusal {
                        Refusal::UnknownUser => ApiError::Unauthorized("invalid token"),
                        Refusal::Revoked => ApiError::Unauthorized("token revoked; sign in again"),
                        Refusal::Banned => ApiError::Banned,
                        Refusal::UnknownTarget => ApiError::invalid(
                            "target_id",
                            "refers to something that does not exist",
                        ),
                    })
                })
                .collect(),
            // Nothing of the batch is stored: no caller may hear otherwise.
            Err(e) => jobs
                .iter()
                .map(|_| {
                    Err(ApiError::Unavailable(format!(
                        "the write was not committed: {e}"
                    )))
                })
                .collect(),
        })
    }
}

/// Stores one reaction through the batching actor; answers after the commit.
pub async fn store(
    writer: &ReactionPersister,
    reaction: Reaction,
) -> Result<Vec<Channel>, ApiError> {
    match writer.send(Write(reaction)).await {
        Ok(Ok(out)) => out,
        Ok(Err(PersistError::Full)) => Err(ApiError::Unavailable(
            "storage is unavailable and the write queue is full; try again shortly".into(),
        )),
        Ok(Err(PersistError::Stopped)) | Err(_) => {
            Err(ApiError::Unavailable("the server is shutting down".into()))
        }
    }
}
