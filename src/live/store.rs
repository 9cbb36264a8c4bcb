//! [`LiveStore`] on Postgres: what rooms load, replay and keep.

use diesel::prelude::*;
use ringside_actors::protocol::{self, Frame};
use ringside_actors::store::{Head, LiveStore, StoreError, StoreFuture};
use ringside_actors::Channel;
use serde_json::{json, Value};

use super::{persist, Persister};
use crate::db::{channels, live_events, snapshots, Db, DbError};

pub struct PgLiveStore {
    db: Db,
    persister: Persister,
}

impl PgLiveStore {
    /// Reads go to the pool; writes through the persistence actor.
    pub fn new(db: Db, persister: Persister) -> PgLiveStore {
        PgLiveStore { db, persister }
    }

    fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut PgConnection) -> QueryResult<T> + Send + 'static,
    ) -> StoreFuture<T> {
        let db = self.db.clone();
        Box::pin(async move {
            db.run(move |conn| f(conn).map_err(DbError::from))
                .await
                .map_err(|e| match e {
                    DbError::Query(diesel::result::Error::NotFound) => StoreError::NotFound,
                    other => StoreError::Unavailable(other.to_string()),
                })
        })
    }
}

impl LiveStore for PgLiveStore {
    fn exists(&self, channel: &Channel) -> StoreFuture<bool> {
        let channel = channel.clone();
        self.run(move |conn| channels::exists(conn, &channel))
    }

    fn head(&self, channel: &Channel) -> StoreFuture<Head> {
        let channel = channel.clone();
        self.run(move |conn| channels::head(conn, &channel))
    }

    fn replay(
        &self,
        channel: &Channel,
        epoch: &str,
        after: u64,
        upto: u64,
    ) -> StoreFuture<Vec<(u64, Frame)>> {
        let (channel, epoch) = (channel.clone(), epoch.to_string());
        self.run(move |conn| {
            let rows = channels::replay(conn, &channel, &epoch, after, upto)?;
            Ok(rows
                .into_iter()
                .map(|(seq, frame_type, data)| {
                    (seq, protocol::durable(&frame_type, &channel, seq, &data))
                })
                .collect())
        })
    }

    fn snapshot(&self, channel: &Channel) -> StoreFuture<Value> {
        let channel = channel.clone();
        self.run(move |conn| match channel {
            Channel::Event(id) => snapshots::event(conn, id),
            Channel::Fight(id) => snapshots::fight(conn, id),
            Channel::Comments(id) => snapshots::comments(conn, id),
            Channel::User(id) => snapshots::user(conn, id),
            Channel::Moderation(id) => snapshots::moderation(conn, id),
            Channel::Division(id) => snapshots::division(conn, id),
            Channel::News | Channel::Rankings => Ok(json!({})),
        })
    }

    fn record_viewers(&self, channel: &Channel, count: u64) -> StoreFuture<()> {
        let channel = channel.clone();
        let count = i32::try_from(count).unwrap_or(i32::MAX);
        let persister = self.persister.clone();
        Box::pin(async move {
            persist(&persister, move |conn| {
                match channel {
                    Channel::Event(id) => live_events::record_viewers(conn, id, count)?,
                    Channel::Fight(id) => live_events::record_fight_viewers(conn, id, count)?,
                    _ => {}
                }
                Ok(())
            })
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))
        })
    }
}
