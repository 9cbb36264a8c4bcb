//! Reactions have their own persistence actor: a reaction is plain data, so
//! a batch is stored with a few multi-row statements (`db::reactions::
//! add_batch`) instead of a savepoint and five statements each. Like every
//! durable write, a reaction is answered only after its batch commits.

use std::time::SystemTime;

use actix::Addr;
use diesel::Connection;
use ringside_actors::persistence::{BatchWriter, PersistError, Persistence, Write, WriteOutcome};
use ringside_actors::Channel;

use crate::db::reactions::{self, Reaction, Refusal};
use crate::db::{fence, Db};
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

    fn write(
        &self,
        jobs: Vec<Reaction>,
        commit_by: SystemTime,
    ) -> WriteOutcome<Reaction, Self::Output> {
        let mut conn = match self.db.conn() {
            Ok(conn) => conn,
            Err(e) => return WriteOutcome::NotStarted(jobs, e.to_string()),
        };
        let stored = conn.transaction(|c| {
            fence::arm(c, commit_by)?;
            reactions::add_batch(c, &jobs)
        });
        WriteOutcome::Done(match stored {
            Ok(outcome) => outcome.into_iter().map(|o| o.map_err(refused)).collect(),
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

/// What the caller hears for a reaction the batch refused.
fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::UnknownUser => ApiError::Unauthorized("invalid token"),
        Refusal::Revoked => ApiError::Unauthorized("token revoked; sign in again"),
        Refusal::Banned => ApiError::Banned,
        Refusal::UnknownTarget => {
            ApiError::invalid("target_id", "refers to something that does not exist")
        }
    }
}

/// Stores one reaction through the batching actor; answers after the commit.
pub async fn store(
    writer: &ReactionPersister,
    reaction: Reaction,
) -> Result<Vec<Channel>, ApiError> {
    match writer.send(Write(reaction)).await {
        Ok(Ok(out)) => out,
        Ok(Err(refused)) => Err(refused.into()),
        // The actor is gone: the server is stopping.
        Err(_) => Err(PersistError::Stopped.into()),
    }
}

#[cfg(test)]
mod tests {
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

    fn reaction() -> Reaction {
        Reaction {
            user: 1,
            token_version: None,
            target_type: "event".into(),
            target_id: 1,
            reaction_type: "wow".into(),
            session: None,
        }
    }

    fn writer() -> ReactionWriter {
        ReactionWriter::new(Db::unreachable(Duration::from_millis(20)))
    }

    #[test]
    fn a_batch_that_cannot_reach_the_database_is_handed_back_whole() {
        match writer().write(vec![reaction(), reaction()], SystemTime::now()) {
            WriteOutcome::NotStarted(jobs, _) => assert_eq!(jobs.len(), 2),
            WriteOutcome::Done(_) => panic!("nothing can be written"),
        }
    }

    #[test]
    fn each_refusal_is_what_the_client_hears_on_any_other_write() {
        let cases = [
            (Refusal::UnknownUser, "unauthorized"),
            (Refusal::Revoked, "unauthorized"),
            (Refusal::Banned, "banned"),
            (Refusal::UnknownTarget, "bad_request"),
        ];
        for (refusal, code) in cases {
            assert_eq!(refused(refusal).code(), code);
        }
        match refused(Refusal::UnknownTarget) {
            ApiError::BadRequest { details, .. } => {
                assert!(details.is_some_and(|d| d["target_id"].is_string()))
            }
            other => panic!("expected a bad request, got {other:?}"),
        }
    }

    #[actix_rt::test]
    async fn past_the_queue_limit_or_once_stopped_a_reaction_is_refused_as_unavailable() {
        let full = Persistence::new(writer(), config(0)).start();
        match store(&full, reaction()).await {
            Err(ApiError::Unavailable(m)) => assert!(m.contains("queue is full"), "{m}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        let arbiter = Arbiter::new();
        let stopped = Persistence::start_in_arbiter(&arbiter.handle(), |_| {
            Persistence::new(writer(), config(8))
        });
        arbiter.stop();
        arbiter.join().expect("the actor's thread ends");
        match store(&stopped, reaction()).await {
            Err(ApiError::Unavailable(m)) => assert!(m.contains("shutting down"), "{m}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
}
