//! Starting, watching and stopping the servers under test: the Ringside
//! release binary on a private embedded PostgreSQL in a temporary folder,
//! or this crate's reference server (`ringside-bench reference`). Or neither,
//! when pointed at a running server with `--url`.
//!
//! A started server is stopped with SIGTERM (Ringside then stops its
//! database cleanly), SIGKILL after a grace period; this also happens when
//! the handle is dropped (an interrupted run), and the children are told to
//! stop if the bench itself dies (`PR_SET_PDEATHSIG`).

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::http::wait_until_healthy;
use crate::stats;

/// Which server a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ringside,
    Reference,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ringside => "ringside",
            Kind::Reference => "reference",
        }
    }
}

/// Admin account created on a server the bench starts.
pub const ADMIN_EMAIL: &str = "bench-admin@ringside.local";
pub const ADMIN_PASSWORD: &str = "bench-admin-password";

/// What starting Ringside needs.
#[derive(Debug, Clone)]
pub struct RingsideLaunch {
    pub binary: PathBuf,
    /// `MAX_VIEWERS_PER_EVENT` (raised for big runs).
    pub max_viewers: u64,
    /// Extra `KEY=VALUE` variables, applied last.
    pub env: Vec<(String, String)>,
    /// Keep the temporary folder (database, log) after the run.
    pub keep: bool,
    /// Give it a write listener (`RINGSIDE_WRITE_BIND`) for the publishers.
    pub write_listener: bool,
}

/// Log lines at WARN or above, grouped.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LogFindings {
    pub warn: u64,
    pub error: u64,
    /// `LEVEL target: message` (digits masked) → count; at most 20 kinds.
    pub kinds: BTreeMap<String, u64>,
}

pub struct ServerProcess {
    pub kind: Kind,
    pub addr: SocketAddr,
    /// Ringside's write listener, where publishers post (else `addr`).
    write: Option<SocketAddr>,
    pub pid: Option<u32>,
    child: Option<Child>,
    dir: Option<PathBuf>,
    log: Option<PathBuf>,
    keep: bool,
    /// How it was started, to start it again (a Ringside the bench started).
    launch: Option<RingsideLaunch>,
}

/// A free port on 127.0.0.1 (bound then released).
pub(crate) fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("free port: {e}"))
}

/// Makes a child get `signal` when the bench dies.
pub(crate) fn die_with_parent(cmd: &mut Command, signal: libc::c_int) {
    // SAFETY: the closure only calls prctl, which is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong, 0, 0, 0);
            Ok(())
        });
    }
}

/// The Ringside binary at `path`, made absolute: the servers run in
/// folders of their own, where a relative path would not hold.
pub fn ringside_binary(path: &Path) -> Result<PathBuf, String> {
    if !path.is_file() {
        return Err(format!(
            "{} not found: build it first (cargo build --release -p ringside) or pass --server-bin",
            path.display()
        ));
    }
    std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))
}

impl ServerProcess {
    /// Where publishers post: the write listener if it has one.
    pub fn write_addr(&self) -> SocketAddr {
        self.write.unwrap_or(self.addr)
    }

    /// A server somebody else runs; `pid` (if known) is for RSS readings.
    pub fn external(kind: Kind, addr: SocketAddr, pid: Option<u32>) -> ServerProcess {
        ServerProcess {
            kind,
            addr,
            write: None,
            pid,
            child: None,
            dir: None,
            log: None,
            keep: true,
            launch: None,
        }
    }

    /// Starts the Ringside release binary on its own embedded PostgreSQL in
    /// a fresh folder under /tmp (or on the database `launch.env` names) and
    /// waits for `/readyz`.
    pub async fn start_ringside(launch: &RingsideLaunch) -> Result<ServerProcess, String> {
        let mut launch = launch.clone();
        launch.binary = ringside_binary(&launch.binary)?;
        let port = free_port()?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let dir = std::env::temp_dir().join(format!(
            "ringside-bench-{}-{}",
            std::process::id(),
            stats::realtime_ns() % 1_000_000_000
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let write = match launch.write_listener {
            true => Some(SocketAddr::from(([127, 0, 0, 1], free_port()?))),
            false => None,
        };
        let mut server = ServerProcess {
            kind: Kind::Ringside,
            addr,
            write,
            pid: None,
            child: None,
            log: Some(dir.join("server.log")),
            dir: Some(dir),
            keep: launch.keep,
            launch: Some(launch),
        };
        server.spawn_ringside()?;
        server.wait_healthy("/readyz").await?;
        Ok(server)
    }

    /// Starts Ringside's process (again) on this server's ports and folder,
    /// its output appended to the log.
    fn spawn_ringside(&mut self) -> Result<(), String> {
        let (Some(launch), Some(dir), Some(log)) = (&self.launch, &self.dir, &self.log) else {
            return Err("not a Ringside the bench started".into());
        };
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("open {}: {e}", log.display()))?;
        let log_err = log_file.try_clone().map_err(|e| format!("log file: {e}"))?;
        let mut cmd = Command::new(&launch.binary);
        cmd.arg("serve")
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env("RINGSIDE_DATA_DIR", dir.join("data"))
            .env("RINGSIDE_BIND", self.addr.to_string())
            .env("RINGSIDE_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("RINGSIDE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("MAX_VIEWERS_PER_EVENT", launch.max_viewers.to_string())
            // The load comes from a few addresses, thousands of anonymous
            // sockets each: no per-address cap unless a scenario sets one
            // (`hostile` does), and no places kept for signed-in users.
            .env("MAX_CONNECTIONS_PER_IP", "0")
            .env("SIGNED_IN_RESERVE", "0")
            .env("RUST_LOG", "warn")
            .env("LOG_FORMAT", "json")
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log_file))
            .stderr(Stdio::from(log_err))
            .kill_on_drop(false);
        if let Some(write) = self.write {
            cmd.env("RINGSIDE_WRITE_BIND", write.to_string());
        }
        for (k, v) in &launch.env {
            cmd.env(k, v);
        }
        die_with_parent(&mut cmd, libc::SIGTERM);
        let child = cmd
            .spawn()
            .map_err(|e| format!("start {}: {e}", launch.binary.display()))?;
        self.pid = child.id();
        self.child = Some(child);
        Ok(())
    }

    /// Starts a Ringside the bench stopped ([`ServerProcess::terminate`],
    /// [`ServerProcess::kill`]) again, same ports, and waits for `/readyz`.
    pub async fn restart(&mut self) -> Result<(), String> {
        self.spawn_ringside()?;
        self.wait_healthy("/readyz").await
    }

    /// SIGTERM (a graceful stop: sessions hear 1012), waiting at most 30 s
    /// for the exit; the folder stays for [`ServerProcess::restart`].
    pub async fn terminate(&mut self) -> Result<(), String> {
        self.signal_and_wait(libc::SIGTERM).await
    }

    /// SIGKILL: a crash, nobody told.
    pub async fn kill(&mut self) -> Result<(), String> {
        self.signal_and_wait(libc::SIGKILL).await
    }

    async fn signal_and_wait(&mut self, signal: libc::c_int) -> Result<(), String> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if let Some(pid) = child.id() {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe {
                libc::kill(pid as libc::pid_t, signal);
            }
        }
        self.pid = None;
        match tokio::time::timeout(Duration::from_secs(30), child.wait()).await {
            Ok(_) => Ok(()),
            Err(_) => {
                let _ = child.kill().await;
                Err(format!(
                    "{}: no exit 30 s after signal {signal}",
                    self.kind.name()
                ))
            }
        }
    }

    /// Whether its process is running (a server somebody else runs: true).
    pub fn running(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => self.launch.is_none(),
        }
    }

    /// Starts `ringside-bench reference` on a free port.
    pub async fn start_reference(queue: usize) -> Result<ServerProcess, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let port = free_port()?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut cmd = Command::new(exe);
        cmd.arg("reference")
            .args(["--bind", &addr.to_string()])
            .args(["--queue", &queue.to_string()])
            .stdin(Stdio::null())
            .kill_on_drop(false);
        die_with_parent(&mut cmd, libc::SIGKILL);
        let child = cmd.spawn().map_err(|e| format!("start reference: {e}"))?;
        let mut server = ServerProcess {
            kind: Kind::Reference,
            addr,
            write: None,
            pid: child.id(),
            child: Some(child),
            dir: None,
            log: None,
            keep: false,
            launch: None,
        };
        server.wait_healthy("/healthz").await?;
        Ok(server)
    }

    async fn wait_healthy(&mut self, path: &str) -> Result<(), String> {
        let addr = self.addr;
        let child = &mut self.child;
        // Still running (or not ours to watch)?
        let alive = || {
            child
                .as_mut()
                .is_none_or(|c| matches!(c.try_wait(), Ok(None)))
        };
        let result = wait_until_healthy(addr, path, Duration::from_secs(120), alive).await;
        if let Err(e) = result {
            let tail = self.log_tail(20);
            self.stop().await;
            return Err(format!("{} did not start: {e}\n{tail}", self.kind.name()));
        }
        Ok(())
    }

    /// Resident memory of the server process, bytes.
    pub fn rss(&self) -> Option<u64> {
        self.pid.and_then(stats::vm_rss_bytes)
    }

    /// CPU seconds the server process has used.
    pub fn cpu(&self) -> Option<f64> {
        self.pid.and_then(stats::cpu_seconds)
    }

    pub fn log_path(&self) -> Option<&Path> {
        self.log.as_deref()
    }

    fn log_tail(&self, lines: usize) -> String {
        let Some(log) = &self.log else {
            return String::new();
        };
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// WARN and ERROR lines of the server's JSON log, grouped by message.
    pub fn log_findings(&self) -> LogFindings {
        let mut f = LogFindings::default();
        let Some(log) = &self.log else { return f };
        let Ok(text) = std::fs::read_to_string(log) else {
            return f;
        };
        for line in text.lines() {
            let (level, target, message) = match serde_json::from_str::<serde_json::Value>(line) {
                Ok(v) => (
                    v["level"].as_str().unwrap_or("").to_string(),
                    v["target"].as_str().unwrap_or("").to_string(),
                    v["fields"]["message"]
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v["fields"].to_string()),
                ),
                // Not JSON (a panic message, say): keep it as an error.
                Err(_) if !line.trim().is_empty() => ("ERROR".into(), "stderr".into(), line.into()),
                Err(_) => continue,
            };
            match level.as_str() {
                "WARN" => f.warn += 1,
                "ERROR" => f.error += 1,
                _ => continue,
            }
            let masked: String = message
                .chars()
                .take(160)
                .map(|c| if c.is_ascii_digit() { '#' } else { c })
                .collect();
            let key = format!("{level} {target}: {masked}");
            if f.kinds.len() < 20 || f.kinds.contains_key(&key) {
                *f.kinds.entry(key).or_default() += 1;
            }
        }
        f
    }

    /// SIGTERM, then SIGKILL after 30 s; removes the temporary folder.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe {
                    libc::kill(pid as libc::pid_t, libc::SIGTERM);
                }
            }
            if tokio::time::timeout(Duration::from_secs(30), child.wait())
                .await
                .is_err()
            {
                eprintln!(
                    "{}: no exit 30 s after SIGTERM; killing it",
                    self.kind.name()
                );
                let _ = child.kill().await;
            }
        }
        self.remove_dir();
    }

    fn remove_dir(&mut self) {
        if let Some(dir) = self.dir.take() {
            if self.keep {
                eprintln!("kept {}", dir.display());
            } else {
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
    }
}

impl Drop for ServerProcess {
    /// An interrupted run: the same stop, synchronously.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe {
                    libc::kill(pid as libc::pid_t, libc::SIGTERM);
                }
                for _ in 0..300 {
                    if !matches!(child.try_wait(), Ok(None)) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                let _ = child.start_kill();
            }
        }
        self.remove_dir();
    }
}
