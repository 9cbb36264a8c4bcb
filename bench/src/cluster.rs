//! `cluster` and `chaos`: Ringside as a cluster on this machine, N
//! `ringside serve` nodes sharing one PostgreSQL (`ringside database`) and
//! one Redis, under a 2/s event, with one fault during it:
//!
//! - `kill`: SIGKILL a node; its subscribers resume on the others.
//! - `restart`: SIGTERM a node (1012 with a retry hint) and start it again:
//!   the reconnect storm of everyone it held.
//! - `rolling`: restart every node in turn.
//! - `database`: freeze PostgreSQL (SIGSTOP of its process group) for 30 s.
//!
//! Subscribers are spread over the nodes' worker processes and resume on
//! another node (`?since=`, jittered backoff, the 1012 hint) when they lose
//! theirs; the publisher posts each update with an `Idempotency-Key` and
//! retries it, same key, on the next node until it is acknowledged. A run
//! passes when every subscriber holds every update in order with none
//! lost, every update was applied exactly once, and the fault's own
//! condition holds. `chaos` runs each fault on a fresh cluster and says
//! pass or fail for each.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};
use tokio::time::Instant;

use crate::api;
use crate::fleet::{Fleet, FleetPlan, SourcePool};
use crate::http::HttpClient;
use crate::scenario::{kib, ms, round2};
use crate::server_control::{self, RingsideLaunch, ServerProcess};
use crate::stats::{realtime_ns, Histogram};
use crate::subscriber::{self, Transport};
use crate::worker::{Progress, WorkerReport};

/// What goes wrong during the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    None,
    Kill,
    Restart,
    Rolling,
    Database,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::None => "none",
            Fault::Kill => "kill",
            Fault::Restart => "restart",
            Fault::Rolling => "rolling",
            Fault::Database => "database",
        }
    }
}

/// What every cluster run shares.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The Ringside binary (default: `ringside` beside this one).
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// Updates per second.
    #[arg(long, default_value_t = 2.0)]
    pub rate: f64,
    /// Connections per worker process (at most 8,000).
    #[arg(long, default_value_t = 8000)]
    pub per_worker: u64,
    /// Subscribes in flight per worker at the start.
    #[arg(long, default_value_t = 128)]
    pub connect_concurrency: usize,
    /// Bound on the subscribe phase, seconds.
    #[arg(long, default_value_t = 600)]
    pub subscribe_timeout_secs: u64,
    /// After the last update, how long subscribers may take to get it, seconds.
    #[arg(long, default_value_t = 60)]
    pub drain_secs: u64,
    /// Second octet N of the source addresses 127.N.0.x (default from the pid).
    #[arg(long)]
    pub source_net: Option<u8>,
    /// Keep the nodes' folders (logs) after the run.
    #[arg(long)]
    pub keep: bool,
    /// Also print one JSON line with every figure.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[arg(long, default_value_t = 6)]
    pub nodes: usize,
    #[arg(long, default_value_t = 100_000)]
    pub subscribers: u64,
    #[arg(long, default_value_t = 60)]
    pub updates: u64,
    #[arg(long, value_enum, default_value_t = Fault::None)]
    pub fault: Fault,
    /// When the fault strikes, seconds after publishing starts.
    #[arg(long, default_value_t = 8)]
    pub fault_at_secs: u64,
    /// How long PostgreSQL stays frozen (`--fault database`), seconds.
    #[arg(long, default_value_t = 30)]
    pub database_down_secs: u64,
    /// Start every subscriber on the first node (the others only take
    /// those who resume): `--fault restart` then makes a storm of all of them.
    #[arg(long)]
    pub all_on_first: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ChaosArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Subscribers for `kill`, `rolling` and `database`.
    #[arg(long, default_value_t = 9_000)]
    pub subscribers: u64,
    /// Subscribers on the node `restart` restarts: the storm.
    #[arg(long, default_value_t = 19_000)]
    pub storm: u64,
    #[arg(long, default_value_t = 80)]
    pub updates: u64,
    #[arg(long, default_value_t = 30)]
    pub database_down_secs: u64,
    /// Only these faults (default: kill, restart, rolling, database).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<Fault>,
}

/// Everything one cluster run measured. Times in ms, memory in KiB.
#[derive(Debug, Default, Serialize)]
pub struct ClusterFigures {
    pub fault: Option<Fault>,
    pub nodes: usize,
    pub subscribers_requested: u64,
    pub subscribed: u64,
    pub subscribe_seconds: f64,
    pub workers: usize,
    pub updates_requested: u64,
    /// Updates acknowledged (201), each once.
    pub acknowledged: u64,
    /// Updates applied whose answer was lost (409 `already_applied` on the
    /// retry): their node died between the commit and the answer.
    pub answers_lost: u64,
    /// Channel messages the updates made: equal to `acknowledged` when
    /// nothing was applied twice or applied after a refusal.
    pub applied: u64,
    pub publish_attempts: u64,
    /// Answers 503 `unavailable` (PostgreSQL away).
    pub publish_unavailable: u64,
    /// Retries answered the first answer (`Idempotent-Replayed`).
    pub publish_replayed: u64,
    pub publish_errors: std::collections::BTreeMap<String, u64>,
    pub publish_p50_ms: f64,
    pub publish_p99_ms: f64,
    /// Slowest single answer (the bound on a durable write).
    pub publish_slowest_answer_ms: f64,
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    pub latency_p999_ms: f64,
    pub latency_max_ms: f64,
    pub deliveries: u64,
    pub deliveries_expected: u64,
    /// Seqs missing (gaps, never-arrived tail, and what resyncs skipped).
    pub losses: u64,
    pub order_violations: u64,
    pub resyncs: u64,
    /// Subscribers holding the last update at the end.
    pub complete: u64,
    /// Subscribers that gave up.
    pub gave_up: u64,
    pub resumed: u64,
    pub resume_p50_ms: f64,
    pub resume_p99_ms: f64,
    pub resume_max_ms: f64,
    pub resume_refusals: u64,
    pub resume_refusals_max: u64,
    /// How the lost connections ended, by close code.
    pub close_codes: std::collections::BTreeMap<String, u64>,
    /// The subscribers' failed attempts and errors, by kind.
    pub errors: std::collections::BTreeMap<String, u64>,
    /// From the fault to every subscriber subscribed again.
    pub recovered_seconds: Option<f64>,
    pub rss_per_node_kib: Vec<f64>,
    pub rss_per_connection_kib: Option<f64>,
    /// Nodes that were not running at the end (they should all be).
    pub nodes_down_at_end: usize,
    pub failures: Vec<String>,
    pub passed: bool,
}

/// PostgreSQL for every node: `ringside database` on a private cluster.
struct SharedDatabase {
    child: Child,
    url: String,
    /// The postmaster; its backends are its children.
    postgres_pid: i32,
}

impl SharedDatabase {
    async fn start(binary: &PathBuf, dir: &std::path::Path) -> Result<SharedDatabase, String> {
        let mut cmd = Command::new(binary);
        cmd.args(["database", "--max-connections", "400"])
            .env_remove("DATABASE_URL")
            .env("RINGSIDE_DATA_DIR", dir.join("database"))
            .env("RINGSIDE_ADMIN_EMAIL", server_control::ADMIN_EMAIL)
            .env("RINGSIDE_ADMIN_PASSWORD", server_control::ADMIN_PASSWORD)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        server_control::die_with_parent(&mut cmd, libc::SIGTERM);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("start ringside database: {e}"))?;
        let stdout = child.stdout.take().ok_or("ringside database: no stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
            .await
            .map_err(|_| "ringside database: not ready within 120 s".to_string())?
            .map_err(|e| format!("ringside database: {e}"))?
            .ok_or("ringside database exited before it was ready")?;
        let v: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| format!("ringside database said {line:?}: {e}"))?;
        let url = v["database_url"]
            .as_str()
            .ok_or("ringside database: no database_url")?
            .to_string();
        let postgres_pid = v["postgres_pid"]
            .as_i64()
            .ok_or("ringside database: no postgres_pid")? as i32;
        Ok(SharedDatabase {
            child,
            url,
            postgres_pid,
        })
    }

    /// SIGSTOP or SIGCONT to the postmaster and every backend: connections
    /// stay open and nothing answers, as with a database host that hangs.
    /// Each backend leads its own process group, so one by one: the
    /// postmaster first on SIGSTOP (it forks no new one meanwhile), last on
    /// SIGCONT.
    fn signal(&self, signal: libc::c_int) -> Result<(), String> {
        let mut pids = vec![self.postgres_pid];
        pids.extend(children_of(self.postgres_pid));
        if signal == libc::SIGCONT {
            pids.reverse();
        }
        for pid in pids {
            // SAFETY: kill has no memory-safety preconditions.
            if unsafe { libc::kill(pid, signal) } != 0 {
                return Err(format!("kill {pid}: {}", std::io::Error::last_os_error()));
            }
        }
        Ok(())
    }

    async fn stop(&mut self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
        }
        if tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// The pids whose parent is `parent` (from /proc).
fn children_of(parent: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let ppid = |pid: i32| {
        // The field after the parenthesised name: state, then ppid.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse::<i32>()
            .ok()
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| ppid(*pid) == Some(parent))
        .collect()
}

/// One `redis-server` without persistence, on a free port.
struct Redis {
    _child: Child,
    url: String,
}

impl Redis {
    async fn start() -> Result<Redis, String> {
        let port = server_control::free_port()?;
        let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let mut cmd = Command::new(&binary);
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--maxclients", "10000"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        server_control::die_with_parent(&mut cmd, libc::SIGKILL);
        let child = cmd
            .spawn()
            .map_err(|e| format!("start {binary} (install redis-server): {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                return Err("redis-server did not come up in 30 s".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Redis {
            _child: child,
            url: format!("redis://127.0.0.1:{port}/"),
        })
    }
}

/// The cluster: nodes first, so they stop before the database they use.
struct Cluster {
    nodes: Vec<ServerProcess>,
    database: SharedDatabase,
    _redis: Redis,
    dir: PathBuf,
    keep: bool,
}

impl Cluster {
    async fn start(run: &RunArgs, nodes: usize, viewers: u64) -> Result<Cluster, String> {
        let binary = match &run.server_bin {
            Some(b) => b.clone(),
            None => std::env::current_exe()
                .map_err(|e| format!("current_exe: {e}"))?
                .with_file_name("ringside"),
        };
        let binary = crate::server_control::ringside_binary(&binary)?;
        let dir = std::env::temp_dir().join(format!(
            "ringside-cluster-{}-{}",
            std::process::id(),
            realtime_ns() % 1_000_000_000
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        eprintln!("starting PostgreSQL (ringside database) and Redis…");
        let database = SharedDatabase::start(&binary, &dir).await?;
        let redis = Redis::start().await?;
        // One key for every node: a token signed on one is good on all.
        let key = format!("bench-cluster-key-{:032x}", realtime_ns());
        let launch = RingsideLaunch {
            binary,
            max_viewers: viewers + 1000,
            env: vec![
                ("DATABASE_URL".into(), database.url.clone()),
                ("REDIS_URL".into(), redis.url.clone()),
                ("RINGSIDE_SECRET_KEY".into(), key),
                // Six nodes on two cores: one worker each, small pools.
                ("RINGSIDE_WORKERS".into(), "1".into()),
                ("DATABASE_POOL_SIZE".into(), "8".into()),
            ],
            keep: run.keep,
            write_listener: true,
        };
        let mut cluster = Cluster {
            nodes: Vec::new(),
            database,
            _redis: redis,
            dir,
            keep: run.keep,
        };
        for i in 0..nodes {
            eprintln!("starting node {i}…");
            cluster
                .nodes
                .push(ServerProcess::start_ringside(&launch).await?);
        }
        Ok(cluster)
    }

    fn rss(&self) -> Vec<Option<u64>> {
        self.nodes.iter().map(ServerProcess::rss).collect()
    }

    async fn stop(mut self) {
        for node in &mut self.nodes {
            node.stop().await;
        }
        self.database.stop().await;
        if self.keep {
            eprintln!("kept {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// What the publisher did.
#[derive(Debug, Default)]
struct Published {
    seqs: Vec<u64>,
    /// Updates answered 409 `already_applied`: applied, but the first
    /// answer was lost (its node died between the commit and the answer).
    answers_lost: u64,
    attempts: u64,
    unavailable: u64,
    replayed: u64,
    errors: std::collections::BTreeMap<String, u64>,
    /// Acknowledged round trips (the last attempt of each update), µs.
    calls: Histogram,
    slowest_answer_us: u64,
}

/// Posts `updates` updates at `rate`, each with its own key, retrying an
/// unanswered or refused one (same key) on the next node until it is
/// acknowledged or `limit` has passed.
async fn publish(
    nodes: Vec<SocketAddr>,
    token: String,
    live: i64,
    updates: u64,
    rate: f64,
    limit: Duration,
) -> Published {
    let start = Instant::now();
    let deadline = start + limit;
    let tag = format!("bench-{}-{}", std::process::id(), realtime_ns());
    let mut out = Published::default();
    let mut clients: Vec<HttpClient> = nodes
        .iter()
        .map(|a| {
            let mut c = HttpClient::new(*a, Duration::from_secs(20));
            c.set_token(token.clone());
            c
        })
        .collect();
    let mut node = 0;
    for i in 0..updates {
        let due = start + Duration::from_secs_f64(i as f64 / rate.max(0.01));
        tokio::time::sleep_until(due).await;
        let key = format!("{tag}-{i}");
        loop {
            if Instant::now() >= deadline {
                *out.errors
                    .entry("gave up: publish deadline".into())
                    .or_default() += 1;
                return out;
            }
            out.attempts += 1;
            let sent_ns = realtime_ns();
            let body = json!({
                "live_event": live,
                "update_type": "news",
                "title": format!("Cluster update {i}"),
                "data": {"sent_ns": sent_ns},
                "is_breaking": false,
            });
            let client = &mut clients[node];
            let result = client.post_keyed("/api/live/updates/", &body, &key).await;
            let took = realtime_ns().saturating_sub(sent_ns) / 1000;
            out.slowest_answer_us = out.slowest_answer_us.max(took);
            let retry_in = match result {
                Ok(r) if r.status == 201 => match r.json().ok().and_then(|v| v["seq"].as_u64()) {
                    Some(seq) => {
                        out.calls.record(took);
                        out.seqs.push(seq);
                        if r.header("idempotent-replayed") == Some("true") {
                            out.replayed += 1;
                        }
                        break;
                    }
                    None => {
                        *out.errors.entry("201 without seq".into()).or_default() += 1;
                        Duration::from_millis(500)
                    }
                },
                Ok(r) if r.status == 409 && r.text().contains("already_applied") => {
                    out.answers_lost += 1;
                    break;
                }
                Ok(r) => {
                    if r.status == 503 {
                        out.unavailable += 1;
                    }
                    *out.errors
                        .entry(format!("status {}", r.status))
                        .or_default() += 1;
                    let hint = r.header("retry-after").and_then(|s| s.parse::<u64>().ok());
                    Duration::from_millis(hint.map_or(500, |s| s * 1000).min(5000))
                }
                Err(e) => {
                    let mut e = e;
                    e.truncate(80);
                    *out.errors.entry(e).or_default() += 1;
                    Duration::from_millis(250)
                }
            };
            // Somewhere else, a little later, same key.
            node = (node + 1) % clients.len();
            tokio::time::sleep(retry_in).await;
        }
    }
    out
}

/// Runs one cluster scenario and prints its figures; fails if it did not pass.
pub async fn cluster(args: ClusterArgs) -> Result<(), String> {
    let json = args.run.json;
    let f = run_cluster(&args).await;
    print(&[&f], json);
    match f.passed {
        true => Ok(()),
        false => Err(format!("cluster run failed: {}", f.failures.join("; "))),
    }
}

/// Runs every fault on a fresh cluster; one line each, PASS or FAIL.
pub async fn chaos(args: ChaosArgs) -> Result<(), String> {
    let faults = match args.only.is_empty() {
        true => vec![Fault::Kill, Fault::Restart, Fault::Rolling, Fault::Database],
        false => args.only.clone(),
    };
    let mut runs = Vec::new();
    for fault in faults {
        let (nodes, subscribers, all_on_first) = match fault {
            // The storm: everyone on one node, which restarts; they land
            // on the others (a process holds at most 20,000 files).
            Fault::Restart => (args.nodes.max(3), args.storm, true),
            _ => (args.nodes, args.subscribers, false),
        };
        let run = ClusterArgs {
            run: args.run.clone(),
            nodes,
            subscribers,
            updates: args.updates,
            fault,
            fault_at_secs: 8,
            database_down_secs: args.database_down_secs,
            all_on_first,
        };
        runs.push(run_cluster(&run).await);
    }
    let refs: Vec<&ClusterFigures> = runs.iter().collect();
    print(&refs, args.run.json);
    println!();
    for f in &runs {
        let name = f.fault.map_or("?", Fault::name);
        match f.passed {
            true => println!("PASS  {name}"),
            false => println!("FAIL  {name}: {}", f.failures.join("; ")),
        }
    }
    match runs.iter().all(|f| f.passed) {
        true => Ok(()),
        false => Err("chaos: a scenario failed".into()),
    }
}

async fn run_cluster(args: &ClusterArgs) -> ClusterFigures {
    eprintln!(
        "== cluster: {} nodes, {} subscribers, {} updates at {}/s, fault {} ==",
        args.nodes,
        args.subscribers,
        args.updates,
        args.run.rate,
        args.fault.name()
    );
    let mut f = ClusterFigures {
        fault: Some(args.fault),
        nodes: args.nodes,
        subscribers_requested: args.subscribers,
        updates_requested: args.updates,
        ..ClusterFigures::default()
    };
    let mut cluster = match Cluster::start(&args.run, args.nodes.max(1), args.subscribers).await {
        Ok(c) => c,
        Err(e) => {
            f.failures.push(format!("cluster did not start: {e}"));
            return f;
        }
    };
    if let Err(e) = run_on(&mut cluster, args, &mut f).await {
        f.failures.push(e);
    }
    f.nodes_down_at_end = cluster
        .nodes
        .iter_mut()
        .map(|n| !n.running())
        .filter(|down| *down)
        .count();
    if f.nodes_down_at_end > 0 {
        f.failures.push(format!(
            "{} node(s) not running at the end",
            f.nodes_down_at_end
        ));
    }
    cluster.stop().await;
    f.passed = f.failures.is_empty();
    f
}

async fn run_on(
    cluster: &mut Cluster,
    args: &ClusterArgs,
    f: &mut ClusterFigures,
) -> Result<(), String> {
    let run = &args.run;
    let first = cluster.nodes[0].addr;
    let mut admin = api::sign_in(
        first,
        server_control::ADMIN_EMAIL,
        server_control::ADMIN_PASSWORD,
    )
    .await?;
    let live = api::prepare_live_event(&mut admin).await?;
    let token = admin
        .token()
        .ok_or("signed in without a token")?
        .to_string();
    let urls: Vec<String> = cluster
        .nodes
        .iter()
        .map(|n| Transport::Websocket.url(n.addr, live))
        .collect();
    let rss_before = cluster.rss();
    let budget = run.subscribe_timeout_secs
        + args.updates * 2 / run.rate.max(0.01) as u64
        + args.database_down_secs
        + run.drain_secs
        + 600;
    let plan = FleetPlan {
        transport: Transport::Websocket,
        url: urls[0].clone(),
        urls: urls.clone(),
        spread: !args.all_on_first,
        connections: args.subscribers,
        per_worker: run.per_worker,
        // At least one worker a node, so every node holds subscribers.
        min_workers: (args.nodes as u64).max(2),
        concurrency: run.connect_concurrency,
        subscribe_timeout: Duration::from_secs(30),
        max_secs: budget,
    };
    let net = run
        .source_net
        .unwrap_or((std::process::id() % 200) as u8 + 20);
    let mut sources = SourcePool::new(net);
    let started = Instant::now();
    let mut fleet = Fleet::spawn(&plan, &mut sources)?;
    f.workers = fleet.len();
    eprintln!(
        "  {} workers, waiting for every subscribed frame…",
        fleet.len()
    );
    let ready = fleet
        .wait_ready(Duration::from_secs(run.subscribe_timeout_secs), false)
        .await;
    let ready = match ready {
        Ok(p) => p,
        Err(e) => {
            fleet.shutdown().await;
            return Err(e);
        }
    };
    f.subscribe_seconds = round2(started.elapsed().as_secs_f64());
    f.subscribed = ready.subscribed;
    let rss_with = cluster.rss();
    f.rss_per_node_kib = rss_with
        .iter()
        .map(|r| kib(*r).map(round2).unwrap_or(0.0))
        .collect();
    let grew: f64 = rss_before
        .iter()
        .zip(&rss_with)
        .filter_map(|(b, w)| Some(w.as_ref()?.saturating_sub(*b.as_ref()?) as f64))
        .sum();
    if f.subscribed > 0 {
        f.rss_per_connection_kib = Some(round2(grew / 1024.0 / f.subscribed as f64));
    }
    eprintln!(
        "  {} subscribed ({} failed) in {:.1} s; publishing…",
        f.subscribed, ready.failed, f.subscribe_seconds
    );
    if ready.failed > 0 {
        f.failures
            .push(format!("{} subscribers never subscribed", ready.failed));
    }
    let seq_at_start = subscriber::current_seq(first, &urls[0]).await?;
    fleet.mark().await;

    let writers: Vec<SocketAddr> = cluster.nodes.iter().map(|n| n.write_addr()).collect();
    let publish_limit = Duration::from_secs(
        args.updates * 3 / run.rate.max(0.01) as u64 + args.database_down_secs + 120,
    );
    let publisher = tokio::spawn(publish(
        writers,
        token,
        live,
        args.updates,
        run.rate,
        publish_limit,
    ));

    tokio::time::sleep(Duration::from_secs(args.fault_at_secs)).await;
    let everyone = f.subscribed;
    let fault_result = strike(cluster, &mut fleet, args, everyone).await;
    match fault_result {
        Ok(Some(recovered)) => f.recovered_seconds = Some(round2(recovered.as_secs_f64())),
        Ok(None) => {}
        Err(e) => f.failures.push(e),
    }

    let published = match publisher.await {
        Ok(p) => p,
        Err(e) => {
            fleet.shutdown().await;
            return Err(format!("publisher: {e}"));
        }
    };
    let last_seq = published.seqs.iter().copied().max().unwrap_or(seq_at_start);
    eprintln!(
        "  acknowledged {} of {} (last seq {last_seq}); draining…",
        published.seqs.len(),
        args.updates
    );
    let reports = fleet
        .finish(last_seq, Duration::from_secs(run.drain_secs))
        .await?;
    fleet.shutdown().await;
    let seq_at_end = subscriber::current_seq(first, &urls[0])
        .await
        .unwrap_or(last_seq);
    api::end_live_event(&mut admin, live).await;

    fold(f, &published, &reports, seq_at_start, seq_at_end);
    judge(f, args, &published);
    Ok(())
}

/// Does the fault; returns, where it applies, the time from the fault to
/// every subscriber subscribed again.
async fn strike(
    cluster: &mut Cluster,
    fleet: &mut Fleet,
    args: &ClusterArgs,
    everyone: u64,
) -> Result<Option<Duration>, String> {
    let settle = Duration::from_secs(120);
    let all_back = move |p: &Progress| p.reconnecting == 0 && p.subscribed >= everyone;
    let someone_lost = |p: &Progress| p.reconnecting > 0 || p.closed > 0;
    match args.fault {
        Fault::None => Ok(None),
        Fault::Kill => {
            eprintln!("  SIGKILL node 0…");
            let t = Instant::now();
            cluster.nodes[0].kill().await?;
            fleet
                .wait_until(Duration::from_secs(10), someone_lost)
                .await;
            let (p, ok) = fleet.wait_until(settle, all_back).await;
            let took = t.elapsed();
            eprintln!(
                "  node 0 restarting; {} subscribed, {} resuming",
                p.subscribed, p.reconnecting
            );
            cluster.nodes[0].restart().await?;
            match ok {
                true => Ok(Some(took)),
                false => Err(format!("not all resumed within {settle:?}: {p:?}")),
            }
        }
        Fault::Restart => {
            eprintln!("  SIGTERM node 0 (1012), start it again…");
            let t = Instant::now();
            restart(cluster, fleet, 0).await?;
            let (p, ok) = fleet.wait_until(settle, all_back).await;
            match ok {
                true => Ok(Some(t.elapsed())),
                false => Err(format!("not all resumed within {settle:?}: {p:?}")),
            }
        }
        Fault::Rolling => {
            let t = Instant::now();
            for i in 0..cluster.nodes.len() {
                eprintln!("  rolling: restart node {i}…");
                restart(cluster, fleet, i).await?;
                let (p, ok) = fleet.wait_until(settle, all_back).await;
                if !ok {
                    return Err(format!(
                        "after node {i}: not all resumed within {settle:?}: {p:?}"
                    ));
                }
            }
            Ok(Some(t.elapsed()))
        }
        Fault::Database => {
            eprintln!("  PostgreSQL frozen for {} s…", args.database_down_secs);
            cluster.database.signal(libc::SIGSTOP)?;
            let (p, _) = fleet
                .wait_until(Duration::from_secs(args.database_down_secs), |_| false)
                .await;
            cluster.database.signal(libc::SIGCONT)?;
            eprintln!(
                "  PostgreSQL back; {} subscribed, {} resuming",
                p.subscribed, p.reconnecting
            );
            if p.reconnecting > 0 || p.subscribed < everyone {
                return Err(format!(
                    "viewers lost their connection while PostgreSQL was away: {p:?}"
                ));
            }
            Ok(None)
        }
    }
}

/// SIGTERM node `i` (its sessions hear 1012 with a retry hint), wait for
/// it to exit, start it again.
async fn restart(cluster: &mut Cluster, fleet: &mut Fleet, i: usize) -> Result<(), String> {
    let node = &mut cluster.nodes[i];
    node.terminate().await?;
    // The progress reports piled up meanwhile.
    fleet.wait_until(Duration::from_millis(10), |_| false).await;
    node.restart().await
}

fn fold(
    f: &mut ClusterFigures,
    published: &Published,
    reports: &[WorkerReport],
    seq_at_start: u64,
    seq_at_end: u64,
) {
    let mut latency = Histogram::default();
    let mut resume = Histogram::default();
    for r in reports {
        latency.merge(&Histogram::from_wire(&r.latency));
        resume.merge(&Histogram::from_wire(&r.resume_time));
        f.deliveries += r.deliveries;
        f.losses += r.gaps + r.tail_missing + r.missed_by_closed;
        f.order_violations += r.order_violations;
        f.resyncs += r.resyncs;
        f.complete += r.complete;
        f.gave_up += r.progress.closed;
        f.resumed += r.resumed;
        f.resume_refusals += r.resume_refusals;
        f.resume_refusals_max = f.resume_refusals_max.max(r.resume_refusals_max);
        for (k, v) in &r.close_codes {
            *f.close_codes.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &r.errors {
            *f.errors.entry(k.clone()).or_default() += v;
        }
    }
    f.latency_p50_ms = ms(latency.quantile(0.5));
    f.latency_p99_ms = ms(latency.quantile(0.99));
    f.latency_p999_ms = ms(latency.quantile(0.999));
    f.latency_max_ms = ms(latency.max());
    f.resume_p50_ms = ms(resume.quantile(0.5));
    f.resume_p99_ms = ms(resume.quantile(0.99));
    f.resume_max_ms = ms(resume.max());
    let mut distinct = published.seqs.clone();
    distinct.sort_unstable();
    distinct.dedup();
    f.acknowledged = distinct.len() as u64;
    f.answers_lost = published.answers_lost;
    f.applied = seq_at_end.saturating_sub(seq_at_start);
    f.deliveries_expected = f.subscribed * f.applied;
    f.publish_attempts = published.attempts;
    f.publish_unavailable = published.unavailable;
    f.publish_replayed = published.replayed;
    f.publish_errors = published.errors.clone();
    f.publish_p50_ms = ms(published.calls.quantile(0.5));
    f.publish_p99_ms = ms(published.calls.quantile(0.99));
    f.publish_slowest_answer_ms = ms(published.slowest_answer_us);
}

/// What a run must show to pass.
fn judge(f: &mut ClusterFigures, args: &ClusterArgs, published: &Published) {
    let mut fail = |why: String| f.failures.push(why);
    let settled = f.acknowledged + f.answers_lost;
    if settled != args.updates {
        fail(format!(
            "{settled} of {} updates acknowledged",
            args.updates
        ));
    }
    // Only a crash can lose an answer; a graceful stop answers what it applied.
    if f.answers_lost > 0 && args.fault != Fault::Kill {
        fail(format!("{} answers lost without a crash", f.answers_lost));
    }
    if published.seqs.len() as u64 != f.acknowledged {
        fail("two updates were acknowledged with one seq".into());
    }
    if f.applied != settled {
        fail(format!(
            "{} channel messages for {settled} acknowledged updates (applied twice, or after a refusal)",
            f.applied
        ));
    }
    if f.losses > 0 || f.resyncs > 0 {
        fail(format!("{} updates lost, {} resyncs", f.losses, f.resyncs));
    }
    if f.order_violations > 0 {
        fail(format!("{} out of order", f.order_violations));
    }
    if f.complete != f.subscribed {
        fail(format!(
            "{} of {} subscribers hold every update",
            f.complete, f.subscribed
        ));
    }
    if f.gave_up > 0 {
        fail(format!("{} subscribers gave up", f.gave_up));
    }
    match args.fault {
        Fault::Kill | Fault::Restart | Fault::Rolling if f.resumed == 0 => {
            fail("the fault moved nobody".into())
        }
        // 5 s to wait for PostgreSQL, then an answer: well inside 10 s.
        Fault::Database if f.publish_unavailable == 0 => {
            fail("no write was answered 503 while PostgreSQL was away".into())
        }
        Fault::Database if f.publish_slowest_answer_ms > 10_000.0 => fail(format!(
            "a write waited {:.0} ms for its answer",
            f.publish_slowest_answer_ms
        )),
        _ => {}
    }
}

fn print(runs: &[&ClusterFigures], json: bool) {
    println!();
    println!(
        "{:<9} {:>5} {:>7} {:>6} {:>7} {:>8} {:>8} {:>7} {:>7} {:>8} {:>8} {:>6} {:>7} {:>5}",
        "fault",
        "nodes",
        "subs",
        "acked",
        "applied",
        "p50 ms",
        "p99 ms",
        "lost",
        "resumed",
        "res p99",
        "res max",
        "503s",
        "KiB/c",
        "pass"
    );
    for f in runs {
        println!(
            "{:<9} {:>5} {:>7} {:>6} {:>7} {:>8.1} {:>8.1} {:>7} {:>7} {:>8.0} {:>8.0} {:>6} {:>7} {:>5}",
            f.fault.map_or("?", Fault::name),
            f.nodes,
            f.subscribed,
            f.acknowledged,
            f.applied,
            f.latency_p50_ms,
            f.latency_p99_ms,
            f.losses + f.resyncs,
            f.resumed,
            f.resume_p99_ms,
            f.resume_max_ms,
            f.publish_unavailable,
            f.rss_per_connection_kib
                .map_or("-".to_string(), |k| format!("{k:.1}")),
            if f.passed { "yes" } else { "NO" }
        );
    }
    if json {
        for f in runs {
            if let Ok(line) = serde_json::to_string(f) {
                println!("{line}");
            }
        }
    }
}
