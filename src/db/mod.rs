//! Postgres: the connection pool, the embedded migrations, and running diesel
//! on the blocking pool so no actor or request thread ever waits on I/O.
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
pub mod fight_control;
pub mod follows;
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

use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
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
}

/// A cheap, cloneable handle to the pool.
#[derive(Clone)]
pub struct Db {
    pool: PgPool,
}

impl Db {
    /// Connects lazily-but-checked: fails if the database cannot be reached now.
    pub fn connect(url: &str, size: u32) -> Result<Db, DbError> {
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(Some(size.min(2)))
            .connection_timeout(Duration::from_secs(5))
            .build(ConnectionManager::new(url))?;
        Ok(Db { pool })
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
        Db { pool }
    }

    pub fn conn(&self) -> Result<PooledConnection<ConnectionManager<PgConnection>>, DbError> {
        Ok(self.pool.get()?)
    }

    /// Applies every migration not applied yet; returns how many ran.
    pub fn migrate(&self) -> Result<usize, DbError> {
        let mut conn = self.conn()?;
        run_migrations(&mut conn)
    }

    /// Runs `f` with a connection on the blocking pool. `f`'s own error type
    /// absorbs pool and scheduling failures, so callers keep one error type.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
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
