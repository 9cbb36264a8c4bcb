//! The embedded default: with no `DATABASE_URL`, Ringside runs a private
//! PostgreSQL from the local installation in its data folder.
//!
//! The cluster listens only on a Unix socket inside its own directory, so
//! several servers (and the test suite) never fight over a port. PostgreSQL
//! refuses to run as root, so as root the cluster belongs to an unprivileged
//! system user (`postgres`, else `nobody`). The postmaster runs in its own
//! process group (a Ctrl-C reaches Ringside, which drains and then stops the
//! database) and gets SIGINT if Ringside dies without stopping it.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection};

/// Fixed: the socket lives in the cluster's own directory, so no port is taken.
const PORT: u16 = 5432;
/// The PostgreSQL superuser of an embedded cluster.
pub const SUPERUSER: &str = "ringside";

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedPgError {
    #[error(
        "PostgreSQL server programs (initdb, postgres) were not found on PATH or under \
         /usr/lib/postgresql/*/bin. Install them (Debian/Ubuntu: apt-get install postgresql) \
         or set DATABASE_URL to a server you run yourself."
    )]
    NotInstalled,
    #[error("running as root, but neither a `postgres` nor a `nobody` user exists to own the database cluster; create one or set DATABASE_URL")]
    NoServiceUser,
    #[error("{path}: the database user {user} cannot reach this folder (a parent is not searchable by others); choose another RINGSIDE_DATA_DIR")]
    Unreachable { path: PathBuf, user: String },
    #[error("the socket path {0} is longer than Unix allows (107 bytes); choose a shorter RINGSIDE_DATA_DIR")]
    PathTooLong(PathBuf),
    #[error("{path} holds files but no PostgreSQL cluster; empty it or choose another RINGSIDE_DATA_DIR")]
    NotACluster { path: PathBuf },
    #[error("{action} failed: {detail}")]
    Failed { action: String, detail: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EmbeddedPgError {
    let context = context.into();
    move |source| EmbeddedPgError::Io { context, source }
}

/// How to run the cluster.
#[derive(Debug, Clone)]
pub struct Options {
    /// The cluster goes in `<data_dir>/postgres`, its log in `<data_dir>/postgres.log`.
    pub data_dir: PathBuf,
    /// Off only for throw-away clusters (tests; benchmarks, through
    /// `EMBEDDED_POSTGRES_FSYNC=off`): skips fsync for speed.
    pub durable: bool,
    pub max_connections: u32,
}

/// A running private PostgreSQL; stopped by [`EmbeddedPostgres::stop`] or on drop.
pub struct EmbeddedPostgres {
    child: Option<Child>,
    cluster_dir: PathBuf,
    log_path: PathBuf,
}

impl EmbeddedPostgres {
    /// Initialises the cluster on first use, starts it and waits until it
    /// accepts connections.
    pub fn start(options: &Options) -> Result<EmbeddedPostgres, EmbeddedPgError> {
        let bin = find_binaries()?;
        let owner = ServiceUser::for_current_process()?;
        fs::create_dir_all(&options.data_dir)
            .map_err(io(format!("creating {}", options.data_dir.display())))?;
        let data_dir = fs::canonicalize(&options.data_dir)
            .map_err(io(format!("resolving {}", options.data_dir.display())))?;
        let cluster_dir = owner.cluster_dir_for(&data_dir)?;
        let log_path = data_dir.join("postgres.log");
        let socket = cluster_dir.join(format!(".s.PGSQL.{PORT}"));
        if socket.as_os_str().len() > 107 {
            return Err(EmbeddedPgError::PathTooLong(socket));
        }

        if !cluster_dir.join("PG_VERSION").exists() {
            init_cluster(&bin, &cluster_dir, &owner, options.durable)?;
        } else if running_postmaster(&cluster_dir).is_some() {
            // Another Ringside process (say, the server while `ringside
            // seed-demo` runs) has it up: share it, and leave stopping it to its owner.
            let mut pg = EmbeddedPostgres {
                child: None,
                cluster_dir,
                log_path,
            };
            pg.wait_ready(0)?;
            tracing::info!(dir = %pg.cluster_dir.display(), "using the embedded PostgreSQL another process runs");
            return Ok(pg);
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io(format!("opening {}", log_path.display())))?;
        let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);

        let mut command = Command::new(bin.join("postgres"));
        command
            .arg("-D")
            .arg(&cluster_dir)
            .arg("-k")
            .arg(&cluster_dir)
            .args(["-p", &PORT.to_string(), "-c", "listen_addresses="])
            .args([
                "-c",
                &format!("max_connections={}", options.max_connections),
            ]);
        if !options.durable {
            command.args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]);
        }
        command
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(io("log file"))?)
            .stderr(log)
            .process_group(0);
        owner.apply(&mut command);
        // SAFETY: prctl is async-signal-safe; it only sets a flag on the child.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().map_err(io("starting postgres"))?;
        let mut pg = EmbeddedPostgres {
            child: Some(child),
            cluster_dir,
            log_path,
        };
        pg.wait_ready(log_start)?;
        tracing::info!(dir = %pg.cluster_dir.display(), "embedded PostgreSQL is up");
        Ok(pg)
    }

    /// A libpq URL for `database` on this cluster.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgresql://{SUPERUSER}@/{database}?host={}&port={PORT}",
            percent_encode(&self.cluster_dir.to_string_lossy())
        )
    }

    /// Creates `database` if it does not exist yet.
    pub fn ensure_database(&self, database: &str) -> Result<(), EmbeddedPgError> {
        use diesel::RunQueryDsl;
        let mut conn =
            PgConnection::establish(&self.url("postgres")).map_err(|e| failed("connecting", e))?;
        let exists: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
            "EXISTS (SELECT 1 FROM pg_database WHERE datname = '{}')",
            database.replace('\'', "''")
        )))
        .get_result(&mut conn)
        .map_err(|e| failed("looking up the database", e))?;
        if !exists {
            diesel::sql_query(format!(
                "CREATE DATABASE \"{}\"",
                database.replace('"', "\"\"")
            ))
            .execute(&mut conn)
            .map_err(|e| failed("creating the database", e))?;
        }
        Ok(())
    }

    fn wait_ready(&mut self, log_start: u64) -> Result<(), EmbeddedPgError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = self.url("postgres");
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(EmbeddedPgError::Failed {
                        action: "starting PostgreSQL".into(),
                        detail: format!(
                            "postgres exited ({status}); its log says:\n{}",
                            self.log_since(log_start)
                        ),
                    });
                }
            }
            match PgConnection::establish(&url) {
                // Answered, and (when we started one) by our own postmaster.
                Ok(_)
                    if self.child.is_none()
                        || running_postmaster(&self.cluster_dir)
                            == self.child.as_ref().map(|c| c.id() as i32) =>
                {
                    return Ok(())
                }
                Ok(_) => std::thread::sleep(Duration::from_millis(25)),
                Err(e) if Instant::now() > deadline => {
                    return Err(EmbeddedPgError::Failed {
                        action: "waiting for PostgreSQL".into(),
                        detail: format!("{e}; its log says:\n{}", self.log_since(log_start)),
                    })
                }
                // The postmaster is still starting: poll again shortly.
                Err(_) => std::thread::sleep(Duration::from_millis(25)),
            }
        }
    }

    fn log_since(&self, offset: u64) -> String {
        let mut text = String::new();
        if let Ok(mut f) = File::open(&self.log_path) {
            let _ = f.seek(SeekFrom::Start(offset));
            let _ = f.take(16 * 1024).read_to_string(&mut text);
        }
        text
    }

    /// The postmaster's pid, when this process started it; for fault tests
    /// that freeze it (its backends are its children, each in a process
    /// group of its own).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Fast shutdown: open transactions roll back, committed data stays.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = child.id() as libc::pid_t;
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe { libc::kill(pid, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() > deadline => {
                    tracing::warn!("PostgreSQL did not stop in 30 s; killing it");
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        tracing::info!("embedded PostgreSQL stopped");
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The pid in `postmaster.pid`, if that process is alive.
fn running_postmaster(cluster_dir: &Path) -> Option<i32> {
    let text = fs::read_to_string(cluster_dir.join("postmaster.pid")).ok()?;
    let pid: i32 = text.lines().next()?.trim().parse().ok()?;
    // SAFETY: signal 0 only checks that the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    alive.then_some(pid)
}

fn failed(action: &str, e: impl std::fmt::Display) -> EmbeddedPgError {
    EmbeddedPgError::Failed {
        action: action.into(),
        detail: e.to_string(),
    }
}

fn init_cluster(
    bin: &Path,
    dir: &Path,
    owner: &ServiceUser,
    durable: bool,
) -> Result<(), EmbeddedPgError> {
    if dir.exists()
        && fs::read_dir(dir)
            .map_err(io("reading the cluster folder"))?
            .next()
            .is_some()
    {
        return Err(EmbeddedPgError::NotACluster { path: dir.into() });
    }
    fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .map_err(io("setting permissions"))?;
    owner.take_ownership(dir)?;
    let mut command = Command::new(bin.join("initdb"));
    command.arg("-D").arg(dir).args([
        "-U",
        SUPERUSER,
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C",
    ]);
    if !durable {
        command.arg("--no-sync");
    }
    owner.apply(&mut command);
    let out = command.output().map_err(io("running initdb"))?;
    if !out.status.success() {
        return Err(EmbeddedPgError::Failed {
            action: "initdb".into(),
            detail: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        });
    }
    tracing::info!(dir = %dir.display(), "initialised a new PostgreSQL cluster");
    Ok(())
}

/// The folder holding `initdb` and `postgres`: PATH first, then the newest
/// version under /usr/lib/postgresql (Debian keeps them off PATH).
fn find_binaries() -> Result<PathBuf, EmbeddedPgError> {
    let has_both = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(dir) = std::env::split_paths(&path).find(|d| has_both(d)) {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| has_both(bin))
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or(EmbeddedPgError::NotInstalled)
}

/// The unprivileged account the cluster runs as when Ringside runs as root.
struct ServiceUser(Option<(String, u32, u32)>);

impl ServiceUser {
    fn for_current_process() -> Result<ServiceUser, EmbeddedPgError> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Ok(ServiceUser(None));
        }
        ["postgres", "nobody"]
            .into_iter()
            .find_map(lookup_user)
            .map(|u| ServiceUser(Some(u)))
            .ok_or(EmbeddedPgError::NoServiceUser)
    }

    fn apply(&self, command: &mut Command) {
        if let Some((_, uid, gid)) = &self.0 {
            command.uid(*uid).gid(*gid);
        }
    }

    fn take_ownership(&self, dir: &Path) -> Result<(), EmbeddedPgError> {
        if let Some((_, uid, gid)) = &self.0 {
            std::os::unix::fs::chown(dir, Some(*uid), Some(*gid))
                .map_err(io(format!("chown {}", dir.display())))?;
        }
        Ok(())
    }

    /// `<data_dir>/postgres`, unless the service user cannot reach it (a
    /// checkout under `/root`, say): then a folder of its own under
    /// /var/lib/ringside, named after the data folder, so one data folder
    /// still means one cluster.
    fn cluster_dir_for(&self, data_dir: &Path) -> Result<PathBuf, EmbeddedPgError> {
        let preferred = data_dir.join("postgres");
        match self.check_reachable(&preferred) {
            Ok(()) => Ok(preferred),
            Err(unreachable) => {
                let name: String = data_dir
                    .to_string_lossy()
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                let base = Path::new("/var/lib/ringside");
                fs::create_dir_all(base).map_err(io(format!("creating {}", base.display())))?;
                let dir = base.join(name.trim_start_matches('_'));
                if self.check_reachable(&dir).is_err() {
                    return Err(unreachable);
                }
                tracing::warn!(
                    "{unreachable}; keeping the PostgreSQL cluster in {} instead",
                    dir.display()
                );
                Ok(dir)
            }
        }
    }

    /// Every parent of `dir` must be searchable by the service user.
    fn check_reachable(&self, dir: &Path) -> Result<(), EmbeddedPgError> {
        let Some((name, uid, _)) = &self.0 else {
            return Ok(());
        };
        for parent in dir.ancestors().skip(1) {
            let Ok(meta) = fs::metadata(parent) else {
                continue;
            };
            use std::os::unix::fs::MetadataExt;
            let mode = meta.mode();
            let searchable = mode & 0o001 != 0 || (meta.uid() == *uid && mode & 0o100 != 0);
            if !searchable {
                return Err(EmbeddedPgError::Unreachable {
                    path: parent.into(),
                    user: name.clone(),
                });
            }
        }
        Ok(())
    }
}

fn lookup_user(name: &str) -> Option<(String, u32, u32)> {
    let cname = std::ffi::CString::new(name).ok()?;
    // SAFETY: getpwnam returns a pointer into static storage or null; we copy
    // out the two numbers at once, before any other call could overwrite it.
    unsafe {
        let pw = libc::getpwnam(cname.as_ptr());
        if pw.is_null() {
            None
        } else {
            Some((name.to_string(), (*pw).pw_uid, (*pw).pw_gid))
        }
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
