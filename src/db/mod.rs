//! Postgres: the connection pool, the embedded migrations, and running diesel
//! on the blocking pool so no actor or request thread ever waits on I/O.
//!
//! A request waits for the database at most `DATABASE_TIMEOUT`
//! ([`Db::run`], [`Db::transaction`]): a database that is frozen or away
//! answers 503 in time instead of holding the request. A transaction that
//! writes goes through [`Db::transaction`], armed with the commit [`fence`],
//! so a write answered 503 is never applied afterwards. Background work that
//! must hear how its transaction ended, however late, uses
//! [`Db::run_unbounded`].
//!
//! `schema` mirrors `migrations/`; `models` are the rows; the other modules
//! hold the queries for one concept each.

/// Ascending by id after the cursor, one row more than asked for.
macro_rules! page_query {
    ($table:ident, $model:ty, $page:expr, $limit:expr) => {{
        let mut q = $table::table
            .select(<$model>::as_select())
            .order($table::id)
            .into_boxed();
        if let Some(c) = $page.cursor {
            q = q.filter($table::id.gt(c.0));
        }
        q.limit($limit + 1)
    }};
}

pub mod activity;
pub mod analytics;
pub mod automation;
pub mod catalog;
pub mod channels;
pub mod comments;
pub mod demo;
pub mod fence;
pub mod fight_control;
pub mod follows;
pub mod idempotency;
pub mod live_events;
pub mod live_updates;
pub mod models;
pub mod moderation;
pub mod notifications;
pub mod pagination;
pub mod polls;
pub mod push_outbox;
pub mod rankings;
pub mod reactions;
pub mod schema;
pub mod snapshots;
pub mod users;

use std::time::{Duration, SystemTime};

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type PgPool = Pool<ConnectionManager<PgConnection>>;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database unavailable: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error("the blocking pool is shutting down")]
    Cancelled,
    #[error("the database did not answer within {} ms", .0.as_millis())]
    TimedOut(Duration),
    /// The request's `Idempotency-Key` was claimed by a retry meanwhile.
    #[error(
        "a retry with the same Idempotency-Key took this request over; nothing of it was applied"
    )]
    Superseded,
}

/// A cheap, cloneable handle to the pool.
#[derive(Clone)]
pub struct Db {
    pool: PgPool,
    /// How long a request waits for the database (`DATABASE_TIMEOUT`).
    timeout: Duration,
}

impl Db {
    /// Connects lazily-but-checked: fails if the database cannot be reached now.
    pub fn connect(url: &str, size: u32, timeout: Duration) -> Result<Db, DbError> {
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(Some(size.min(2)))
            .connection_timeout(timeout.min(Duration::from_secs(5)))
            .build(ConnectionManager::new(url))?;
        Ok(Db { pool, timeout })
    }

    /// A pool whose every checkout fails after `timeout`: storage down, for
    /// tests of what callers hear then.
    #[cfg(test)]
    pub fn unreachable(timeout: Duration) -> Db {
        // Port 1 refuses at once; no idle connections are kept or retried.
        let manager = ConnectionManager::new("postgres://ringside@127.0.0.1:1/ringside");
        let pool = Pool::builder()
            .max_size(1)
            .min_idle(Some(0))
            .connection_timeout(timeout)
            .build_unchecked(manager);
        Db {
            pool,
            timeout: timeout * 4,
        }
    }

    /// How long a request waits for the database.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn conn(&self) -> Result<PooledConnection<ConnectionManager<PgConnection>>, DbError> {
        Ok(self.pool.get()?)
    }

    /// Applies every migration not applied yet; returns how many ran.
    pub fn migrate(&self) -> Result<usize, DbError> {
        let mut conn = self.conn()?;
        run_migrations(&mut conn)
    }

    /// Runs `f` with a connection on the blocking pool, answering
    /// [`DbError::TimedOut`] if it is not done within the timeout (`f` may
    /// still finish later: what writes goes through [`Db::transaction`]).
    /// `f`'s own error type absorbs pool and scheduling failures, so callers
    /// keep one error type.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        self.run_within(self.timeout, f).await
    }

    /// A transaction that commits within `within` or not at all: the answer
    /// comes by then, and a 503 means nothing of it was applied.
    pub async fn transaction_within<T, E, F>(&self, within: Duration, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    {
        let commit_by = SystemTime::now() + within;
        let claimed = idempotency::current();
        // The answer waits a little past the fence for a commit made just in time.
        self.run_within(within + Duration::from_millis(250), move |conn| {
            conn.transaction(|conn| {
                fence::arm(conn, commit_by)?;
                if let Some(claimed) = &claimed {
                    if !idempotency::mark_committed(conn, claimed)? {
                        return Err(E::from(DbError::Superseded));
                    }
                }
                f(conn)
            })
        })
        .await
    }

    /// [`Db::transaction_within`] the timeout.
    pub async fn transaction<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    {
        self.transaction_within(self.timeout, f).await
    }

    async fn run_within<T, E, F>(&self, within: Duration, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        match actix_web::rt::time::timeout(within, self.run_unbounded(f)).await {
            Ok(done) => done,
            Err(_) => Err(E::from(DbError::TimedOut(within))),
        }
    }

    /// Runs `f` with a connection on the blocking pool and waits for it
    /// however long it takes: for background work that must know how its
    /// transaction ended.
    pub async fn run_unbounded<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::rt::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(DbError::from)?;
            f(&mut conn)
        })
        .await
        .map_err(|_| E::from(DbError::Cancelled))?
    }

    /// Connections open and idle, for /metrics.
    pub fn pool_state(&self) -> (u32, u32) {
        let s = self.pool.state();
        (s.connections, s.idle_connections)
    }
}

pub fn run_migrations(conn: &mut PgConnection) -> Result<usize, DbError> {
    conn.run_pending_migrations(MIGRATIONS)
        .map(|applied| applied.len())
        .map_err(|e| DbError::Migration(e.to_string()))
}

/// Names this database across the cluster it lives in (the cluster's system
/// identifier and the database name): nodes that share it share a bus.
pub fn cluster_identity(conn: &mut PgConnection) -> Result<String, DbError> {
    use diesel::sql_types::Text;
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Identity {
        #[diesel(sql_type = Text)]
        identity: String,
    }
    let row: Identity = diesel::sql_query(
        "SELECT (SELECT system_identifier::text FROM pg_control_system()) \
         || ':' || current_database() AS identity",
    )
    .get_result(conn)?;
    Ok(row.identity)
}
