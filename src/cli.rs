//! The `ringside` command: serve (the default), migrate, database, user
//! create, user set-password, seed-demo, rankings import.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use ringside_actors::Role;

use crate::bootstrap::{self, StartError};
use crate::config::Config;
use crate::db::models::NewUser;
use crate::db::{users, DbError};

#[derive(Parser)]
#[command(
    name = "ringside",
    version,
    about = "Ringside: the real-time server of an MMA platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Run only the embedded PostgreSQL (migrated, with the admin account),
    /// until SIGTERM or Ctrl-C, for several `ringside serve` on one machine
    /// that share it through `DATABASE_URL`. Prints one JSON line on stdout
    /// once it is ready: `{"database_url": …, "postgres_pid": …}`.
    Database {
        /// Connections the cluster accepts (every node's pool together).
        #[arg(long, default_value_t = 300)]
        max_connections: u32,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Load a realistic fight card (divisions, fighters, rankings, an event
    /// with its fights and live coverage) to have something to watch.
    SeedDemo,
    /// Manage rankings.
    Rankings {
        #[command(subcommand)]
        command: RankingsCommand,
    },
}

#[derive(Subcommand)]
enum RankingsCommand {
    /// Import rankings from a CSV file with a header: `division,rank,fighter`
    /// required, `nickname,wins,losses,draws` optional; `rank` is `C` (or
    /// `0`) for the champion, else 1…N. Sets each listed division's champion
    /// and order; a bad line changes nothing.
    Import { file: std::path::PathBuf },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account with a role.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        #[arg(long, default_value = "viewer", value_parser = parse_role)]
        role: Role,
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Set an account's password, read from stdin (one line), and revoke
    /// every token it has.
    SetPassword {
        #[arg(long)]
        email: String,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
        .map_err(|e: ringside_actors::role::UnknownRole| e.to_string())
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ringside: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = crate::logging::init(config.log_format) {
        eprintln!("ringside: {e}");
        return ExitCode::from(2);
    }
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config),
        Command::Migrate => {
            bootstrap::open_database(&config).map(|_| println!("migrations are up to date"))
        }
        Command::Database { max_connections } => run_database(&config, max_connections),
        Command::User {
            command:
                UserCommand::Create {
                    email,
                    password,
                    role,
                    display_name,
                },
        } => create_user(&config, &email, &password, role, display_name),
        Command::User {
            command: UserCommand::SetPassword { email },
        } => set_password(&config, &email),
        Command::SeedDemo => bootstrap::open_database(&config).and_then(|database| {
            let summary = crate::features::demo::run(&database.db)
                .map_err(|e| StartError::Other(e.to_string()))?;
            println!("{summary}");
            Ok(())
        }),
        Command::Rankings {
            command: RankingsCommand::Import { file },
        } => import_rankings(&config, &file),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("ringside: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_database(config: &Config, max_connections: u32) -> Result<(), StartError> {
    if config.database_url.is_some() {
        return Err(StartError::Other(
            "`ringside database` runs the embedded PostgreSQL: unset DATABASE_URL".into(),
        ));
    }
    let database = bootstrap::open_database_for(config, max_connections)?;
    bootstrap::ensure_admin(&database.db, config)?;
    let Some(pg) = &database.embedded else {
        return Err(StartError::Other(
            "no embedded PostgreSQL was started".into(),
        ));
    };
    println!(
        "{}",
        serde_json::json!({ "database_url": pg.url("ringside"), "postgres_pid": pg.pid() })
    );
    tracing::info!("the embedded PostgreSQL is serving; SIGTERM or Ctrl-C stops it");
    actix_web::rt::System::new().block_on(crate::server::until_signal());
    // `database` drops here: the cluster stops cleanly.
    Ok(())
}

fn import_rankings(config: &Config, file: &std::path::Path) -> Result<(), StartError> {
    let text = std::fs::read_to_string(file).map_err(|source| StartError::Io {
        context: format!("reading {}", file.display()),
        source,
    })?;
    let database = bootstrap::open_database(config)?;
    let mut conn = database.db.conn()?;
    let applied = crate::features::rankings::import_csv(&mut conn, &text)
        .map_err(|e| StartError::Other(format!("{}: {e}", file.display())))?;
    let imported = applied
        .moves
        .iter()
        .filter(|m| m.cause == ringside_actors::vocabulary::RankingCause::Imported)
        .count();
    println!(
        "imported {}: {imported} fighters placed, {} moves in all",
        file.display(),
        applied.moves.len()
    );
    Ok(())
}

fn serve(config: Config) -> Result<(), StartError> {
    let database = bootstrap::open_database(&config)?;
    let key = bootstrap::secret_key(&config)?;
    bootstrap::ensure_admin(&database.db, &config)?;
    let config = Arc::new(config);
    let db = database.db.clone();
    let result = actix_web::rt::System::new().block_on(async move {
        let running = crate::server::start(config, db, &key)?;
        tracing::info!(addr = %running.addr, write_addr = ?running.write_addr, "Ringside is listening");
        let mut handles = vec![running.server.handle()];
        handles.extend(running.write_server.as_ref().map(|s| s.handle()));
        actix_web::rt::spawn(crate::server::stop_on_signal(handles, running.hub.clone()));
        let write = running.write_server.map(actix_web::rt::spawn);
        let served = running.server.await;
        // The write listener drains too: a write it committed is answered
        // (and its Idempotency-Key's answer kept) before the process ends.
        if let Some(write) = write {
            if let Ok(Err(e)) = write.await {
                tracing::warn!("write listener: {e}");
            }
        }
        // The server has drained; what its last requests queued is pushed
        // (or given back) before the process ends.
        running.push.stop().await;
        running.analytics.flush().await;
        served
    });
    // `database` drops here, after the server has drained: the embedded
    // cluster stops last.
    drop(database);
    result.map_err(|e| StartError::Io {
        context: "serving".into(),
        source: e,
    })
}

fn create_user(
    config: &Config,
    email: &str,
    password: &str,
    role: Role,
    display_name: Option<String>,
) -> Result<(), StartError> {
    let email = crate::validate::email(email).map_err(|e| StartError::Other(e.to_string()))?;
    crate::validate::password(password).map_err(|e| StartError::Other(e.to_string()))?;
    let database = bootstrap::open_database(config)?;
    let hash =
        crate::auth::hash_password(password).map_err(|e| StartError::Other(e.to_string()))?;
    let display_name =
        display_name.unwrap_or_else(|| email.split('@').next().unwrap_or("user").to_string());
    let mut conn = database.db.conn()?;
    let user = users::insert(
        &mut conn,
        &NewUser {
            email: &email,
            password_hash: &hash,
            display_name: &display_name,
            role: role.as_str(),
            is_verified: role != Role::Viewer,
        },
    )
    .map_err(|e| match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => StartError::Other(format!("an account with email {email} already exists")),
        other => DbError::from(other).into(),
    })?;
    println!(
        "created user {} ({}) with role {}",
        user.id, user.email, user.role
    );
    Ok(())
}

/// Reads the password from stdin, never the command line (where `ps` and the
/// shell history would keep it). The prompt goes to stderr, only for a person.
fn read_password() -> Result<String, StartError> {
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("new password (shown as typed): ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| StartError::Other(format!("reading the password from stdin: {e}")))?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        return Err(StartError::Other(
            "no password on stdin (give it as one line)".into(),
        ));
    }
    Ok(password)
}

fn set_password(config: &Config, email: &str) -> Result<(), StartError> {
    let email = crate::validate::email(email).map_err(|e| StartError::Other(e.to_string()))?;
    let password = read_password()?;
    crate::validate::password(&password).map_err(|e| StartError::Other(e.to_string()))?;
    let database = bootstrap::open_database(config)?;
    let hash =
        crate::auth::hash_password(&password).map_err(|e| StartError::Other(e.to_string()))?;
    let mut conn = database.db.conn()?;
    let user = users::find_by_email(&mut conn, &email)
        .map_err(DbError::from)?
        .ok_or_else(|| StartError::Other(format!("no account with email {email}")))?;
    users::change_password(&mut conn, user.id, &hash, user.token_version)
        .map_err(DbError::from)?
        .ok_or_else(|| {
            StartError::Other("the account changed meanwhile; run the command again".into())
        })?;
    // Live connections on running servers are not closed from here (no bus
    // in this process); their next request and their reconnect are refused.
    println!("password set for {email}; every token of the account is revoked");
    Ok(())
}
