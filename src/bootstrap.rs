//! Start-up steps shared by `ringside serve`, the other commands and the test
//! harness: open the database (embedded or not) and migrate it, load the
//! token key, and make sure there is an admin.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use ringside_actors::Role;

use crate::auth;
use crate::config::Config;
use crate::db::models::NewUser;
use crate::db::{users, Db, DbError};
use crate::embedded_postgres::{self, EmbeddedPgError, EmbeddedPostgres};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("embedded PostgreSQL: {0}")]
    EmbeddedPg(#[from] EmbeddedPgError),
    #[error("database: {0}")]
    Db(#[from] DbError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// The database the server uses, and the private cluster behind it if it runs one.
pub struct Database {
    pub db: Db,
    /// Stops the embedded cluster when dropped.
    pub embedded: Option<EmbeddedPostgres>,
}

/// Connects to `DATABASE_URL`, or starts the embedded cluster; then migrates.
pub fn open_database(config: &Config) -> Result<Database, StartError> {
    open_database_for(config, (config.database_pool_size * 2 + 10).max(100))
}

/// [`open_database`], the embedded cluster (if it starts one) taking up to
/// `max_connections` (`ringside database` serves several nodes' pools).
pub fn open_database_for(config: &Config, max_connections: u32) -> Result<Database, StartError> {
    let (url, embedded) = match &config.database_url {
        Some(url) => (url.clone(), None),
        None => {
            if !config.embedded_postgres_fsync {
                tracing::warn!(
                    "EMBEDDED_POSTGRES_FSYNC=off: commits are not flushed to disk; \
                     a crash of the machine can lose acknowledged writes"
                );
            }
            let pg = EmbeddedPostgres::start(&embedded_postgres::Options {
                data_dir: config.data_dir.clone(),
                durable: config.embedded_postgres_fsync,
                max_connections,
            })?;
            pg.ensure_database("ringside")?;
            (pg.url("ringside"), Some(pg))
        }
    };
    let db = Db::connect(&url, config.database_pool_size, config.database_timeout)?;
    let applied = db.migrate()?;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    Ok(Database { db, embedded })
}

/// The HMAC key for tokens: `RINGSIDE_SECRET_KEY`, or one generated on first
/// start and kept (mode 0600) in the data folder so tokens survive restarts.
pub fn secret_key(config: &Config) -> Result<Vec<u8>, StartError> {
    if let Some(key) = &config.secret_key {
        return Ok(key.as_bytes().to_vec());
    }
    let path = config.data_dir.join("secret_key");
    let io = |context: &str, path: &Path| {
        let context = format!("{context} {}", path.display());
        move |source| StartError::Io { context, source }
    };
    match fs::read_to_string(&path) {
        Ok(key) if key.trim().len() >= 32 => return Ok(key.trim().as_bytes().to_vec()),
        Ok(_) => {
            return Err(StartError::Other(format!(
                "{} is too short; delete it to make a new one",
                path.display()
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("reading", &path)(e)),
    }
    fs::create_dir_all(&config.data_dir).map_err(io("creating", &config.data_dir))?;
    let key = auth::random_token(48);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(io("creating", &path))?;
    file.write_all(key.as_bytes())
        .map_err(io("writing", &path))?;
    tracing::info!(path = %path.display(), "generated a new token signing key");
    Ok(key.into_bytes())
}

pub const DEFAULT_ADMIN_EMAIL: &str = "admin@ringside.local";

/// With no admin yet, creates one from `RINGSIDE_ADMIN_EMAIL`/`_PASSWORD`
/// (or promotes that account if it exists). With no password given, one is
/// generated and printed once. Returns the password it printed, if any.
pub fn ensure_admin(db: &Db, config: &Config) -> Result<Option<String>, StartError> {
    let mut conn = db.conn()?;
    if users::any_admin(&mut conn).map_err(DbError::from)? {
        return Ok(None);
    }
    let email = config
        .admin_email
        .clone()
        .unwrap_or_else(|| DEFAULT_ADMIN_EMAIL.to_string())
        .trim()
        .to_lowercase();
    let (password, generated) = match &config.admin_password {
        Some(p) if p.chars().count() >= 8 => (p.clone(), false),
        Some(_) => {
            return Err(StartError::Other(
                "RINGSIDE_ADMIN_PASSWORD must be at least 8 characters".into(),
            ))
        }
        None => (auth::random_token(18), true),
    };
    let hash = auth::hash_password(&password).map_err(|e| StartError::Other(e.to_string()))?;
    match users::find_by_email(&mut conn, &email).map_err(DbError::from)? {
        Some(existing) => {
            users::set_role(&mut conn, existing.id, Role::Admin).map_err(DbError::from)?;
            if config.admin_password.is_some() {
                users::set_password(&mut conn, existing.id, &hash).map_err(DbError::from)?;
            }
            tracing::info!(%email, "promoted the existing account to admin");
            return Ok(None);
        }
        None => {
            users::insert(
                &mut conn,
                &NewUser {
                    email: &email,
                    password_hash: &hash,
                    display_name: "Admin",
                    role: Role::Admin.as_str(),
                    is_verified: true,
                },
            )
            .map_err(DbError::from)?;
        }
    }
    if generated {
        // Printed once, on the console only: it is not stored anywhere readable.
        println!("Created the first admin: {email} / password: {password}  (change it, or set RINGSIDE_ADMIN_PASSWORD)");
        Ok(Some(password))
    } else {
        tracing::info!(%email, "created the first admin");
        Ok(None)
    }
}
