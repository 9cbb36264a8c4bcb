//! The `hostile` scenario (DESIGN §7: "a hostile client leaves the others'
//! delivery whole and the server's memory within 100 MB of where it was"):
//! the `fanout` room (N honest subscribers, updates at R/s), and while it
//! publishes, a hostile client opens
//!
//! - `--oversized` sockets that upgrade, then send a masked text-frame
//!   header declaring a 64 MiB payload (64-bit length): every other one then
//!   trickles a payload byte every `--trickle-ms`, the rest send nothing more;
//! - `--never-read` sockets that upgrade (so they are subscribed to the
//!   event) with a small receive buffer (`--rcvbuf`) and never read again.
//!
//! Hostile sockets live in `ringside-bench hostile-worker` processes (at most
//! `--hostile-per-worker` each, each from its own source address), like the
//! honest fleet. Measured: the server's RSS with the honest fleet before the
//! hostile client, its peak while it is connected, and after it left (plus
//! `--settle-secs`); whether every honest subscriber got every update in
//! order; and what became of the hostile sockets (upgrade refused, closed by
//! the server and when, still open at the end).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::{timeout, Instant};

use crate::fleet::{self, SourcePool};
use crate::publisher::{self, PublishPlan};
use crate::report::Figures;
use crate::scenario::{self, CommonArgs, Env};
use crate::server_control::{Kind, ServerProcess};
use crate::subscriber::Transport;

/// The declared payload of an oversized frame.
const DECLARED: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, clap::Args)]
pub struct HostileArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Honest subscribers.
    #[arg(long, default_value_t = 10_000)]
    pub subscribers: u64,
    #[arg(long, default_value_t = 60)]
    pub updates: u64,
    /// Updates per second.
    #[arg(long, default_value_t = 2.0)]
    pub rate: f64,
    /// Hostile sockets declaring a 64 MiB frame.
    #[arg(long, default_value_t = 1000)]
    pub oversized: u64,
    /// Hostile sockets that subscribe and never read.
    #[arg(long, default_value_t = 1000)]
    pub never_read: u64,
    /// Hostile sockets per hostile process (and per source address).
    #[arg(long, default_value_t = 500)]
    pub hostile_per_worker: u64,
    /// Interval between the trickled payload bytes, ms.
    #[arg(long, default_value_t = 1000)]
    pub trickle_ms: u64,
    /// SO_RCVBUF of the never-reading sockets, bytes (the kernel doubles it).
    #[arg(long, default_value_t = 4096)]
    pub rcvbuf: u32,
    /// After the hostile client leaves, how long before the last RSS reading, s.
    #[arg(long, default_value_t = 5)]
    pub settle_secs: u64,
    /// After the last update, how long honest subscribers may take to get it, s.
    #[arg(long, default_value_t = 30)]
    pub drain_secs: u64,
    /// Bound on the publishing phase, seconds.
    #[arg(long, default_value_t = 300)]
    pub max_publish_secs: u64,
}

/// What became of one kind of hostile socket, summed over the processes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SideTally {
    pub attempted: u64,
    pub connect_failed: u64,
    /// The upgrade was answered with something other than 101.
    pub refused: u64,
    pub refused_statuses: BTreeMap<String, u64>,
    /// Upgraded (101).
    pub upgraded: u64,
    /// Closed by the server after the upgrade (close frame, FIN or reset).
    pub closed_by_server: u64,
    /// Close code (or `eof`, `reset`, `fin` when no frame was read) → count.
    pub close_codes: BTreeMap<String, u64>,
    /// From the hostile act (frame header sent / upgrade done) to the
    /// close, ms, one entry per closed socket.
    pub closed_after_ms: Vec<u64>,
    pub open_at_end: u64,
}

impl SideTally {
    fn add(&mut self, o: &SideTally) {
        self.attempted += o.attempted;
        self.connect_failed += o.connect_failed;
        self.refused += o.refused;
        for (k, v) in &o.refused_statuses {
            *self.refused_statuses.entry(k.clone()).or_default() += v;
        }
        self.upgraded += o.upgraded;
        self.closed_by_server += o.closed_by_server;
        for (k, v) in &o.close_codes {
            *self.close_codes.entry(k.clone()).or_default() += v;
        }
        self.closed_after_ms.extend_from_slice(&o.closed_after_ms);
        self.open_at_end += o.open_at_end;
    }

    fn closed(&mut self, code: impl Into<String>, since: Instant) {
        self.closed_by_server += 1;
        *self.close_codes.entry(code.into()).or_default() += 1;
        self.closed_after_ms
            .push(since.elapsed().as_millis() as u64);
    }
}

/// A hostile process's report.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HostileReport {
    pub oversized: SideTally,
    pub never_read: SideTally,
}

/// Hostile worker → parent, one JSON object a line.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum HostileMsg {
    /// Every socket has upgraded or failed.
    Ready,
    Report(Box<HostileReport>),
}

/// `ringside-bench hostile-worker` arguments (given by the parent).
#[derive(Debug, Clone, clap::Args)]
pub struct HostileWorkerArgs {
    /// `ws://127.x.y.z:port/path` to upgrade on.
    #[arg(long)]
    pub url: String,
    #[arg(long)]
    pub source: IpAddr,
    #[arg(long, default_value_t = 0)]
    pub oversized: u64,
    #[arg(long, default_value_t = 0)]
    pub never_read: u64,
    #[arg(long, default_value_t = 1000)]
    pub trickle_ms: u64,
    #[arg(long, default_value_t = 4096)]
    pub rcvbuf: u32,
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Hard stop: the worker exits after this long whatever happens.
    #[arg(long, default_value_t = 1800)]
    pub max_secs: u64,
}

// ---------------------------------------------------------------- scenario

pub async fn run(args: HostileArgs) -> Result<(), String> {
    if args.common.target != scenario::TargetArg::Ringside {
        return Err("hostile runs against Ringside only (--target ringside)".into());
    }
    let mut common = args.common.clone();
    // Every honest worker connects from one address: the per-address cap
    // must admit a whole worker's share. Given first, so --server-env wins.
    let per_address = common
        .per_worker
        .clamp(1, 8000)
        .max(args.hostile_per_worker);
    common
        .server_env
        .insert(0, format!("MAX_CONNECTIONS_PER_IP={per_address}"));
    let env = Env {
        common: &common,
        viewers: args.subscribers + args.oversized + args.never_read,
    };
    let mut sources = scenario::source_pool(&common);
    eprintln!(
        "== hostile on ringside: {} subscribers, {} updates at {}/s; {} oversized-frame and {} never-reading sockets ==",
        args.subscribers, args.updates, args.rate, args.oversized, args.never_read
    );
    let mut server = scenario::server_for(Kind::Ringside, &env).await?;
    let mut figures = Figures {
        scenario: "hostile".into(),
        target: Kind::Ringside.name().into(),
        subscribers_requested: args.subscribers,
        updates_requested: args.updates,
        publish_rate: args.rate,
        hostile_oversized: Some(args.oversized),
        hostile_never_read: Some(args.never_read),
        ..Figures::default()
    };
    let result = hostile_on(&server, &args, &common, &mut sources, &mut figures).await;
    let figures = scenario::finish_run(Kind::Ringside, &mut server, figures, result).await;
    scenario::conclude("hostile", &[figures], common.json)
}

async fn hostile_on(
    server: &ServerProcess,
    args: &HostileArgs,
    c: &CommonArgs,
    sources: &mut SourcePool,
    f: &mut Figures,
) -> Result<(), String> {
    let (live, client) = scenario::prepare(Kind::Ringside, server, c).await?;
    let token = client
        .as_ref()
        .and_then(|cl| cl.token().map(str::to_string));
    let rss_idle = server.rss();
    let url = format!("ws://{}/api/live/events/{live}/", server.addr);
    let budget =
        c.subscribe_timeout_secs + args.max_publish_secs + args.drain_secs + args.settle_secs + 300;
    let plan = scenario::fleet_plan(
        c,
        Transport::Websocket,
        url.clone(),
        args.subscribers,
        budget,
    );
    let mut fleet = scenario::subscribe_fleet(c, &plan, sources, f, None).await?;
    let rss_before = server.rss();
    f.rss_before_kib = scenario::kib(rss_idle).map(scenario::round2);
    f.rss_with_connections_kib = scenario::kib(rss_before).map(scenario::round2);
    f.rss_per_connection_kib =
        scenario::per_connection(rss_idle, rss_before, f.subscribed).map(scenario::round2);
    f.rss_before_hostile_mb = mb(rss_before);
    eprintln!(
        "  {} subscribed ({} failed) in {:.1} s, RSS {:.0} MB; publishing, hostile client connecting…",
        f.subscribed,
        f.subscribe_failed,
        f.subscribe_seconds,
        f.rss_before_hostile_mb.unwrap_or(0.0)
    );

    fleet.mark().await;
    let cpu_before = server.cpu();
    let mut hostile = HostileFleet::spawn(args, &url, budget, sources)?;
    let plan = PublishPlan {
        live_event: live,
        updates: args.updates,
        rate: args.rate,
        publishers: 1,
        max_duration: Duration::from_secs(args.max_publish_secs),
        token,
    };
    let mut peak = rss_before.unwrap_or(0);
    let outcome = {
        let publish = publisher::publish(server.write_addr(), &plan);
        tokio::pin!(publish);
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                o = &mut publish => break o,
                _ = tick.tick() => peak = peak.max(server.rss().unwrap_or(0)),
                Some(()) = hostile.ready_note() => {
                    eprintln!("  hostile process ready ({} of {})", hostile.ready, hostile.len());
                }
            }
        }
    };
    peak = peak.max(server.rss().unwrap_or(0));
    eprintln!(
        "  published {} of {} (last seq {}) in {:.1} s; RSS peak {:.0} MB; hostile client leaving…",
        outcome.published,
        outcome.attempted,
        outcome.last_seq,
        outcome.seconds(),
        peak as f64 / 1e6
    );
    let cpu_after = server.cpu();
    let report = hostile.finish().await;
    // RSS after the hostile client is gone, the honest fleet still connected.
    let settle = Instant::now() + Duration::from_secs(args.settle_secs);
    while Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rss_after = server.rss();
    f.rss_peak_mb = mb((peak > 0).then_some(peak));
    f.rss_after_mb = mb(rss_after);
    f.rss_after_kib = scenario::kib(rss_after).map(scenario::round2);
    if let (Some(b), Some(a)) = (rss_before, rss_after) {
        f.rss_growth_peak_mb = Some(scenario::round2((peak as f64 - b as f64) / 1e6));
        f.rss_growth_after_mb = Some(scenario::round2((a as f64 - b as f64) / 1e6));
    }

    let reports = fleet
        .finish(outcome.last_seq, Duration::from_secs(args.drain_secs))
        .await?;
    fleet.shutdown().await;
    if let Some(mut client) = client {
        crate::api::end_live_event(&mut client, live).await;
    }

    f.updates_published = outcome.published;
    f.publish_errors = outcome.attempted - outcome.published;
    f.publish_error_kinds = outcome.errors.clone();
    f.publish_behind_schedule = outcome.behind_schedule;
    let secs = outcome.seconds();
    if secs > 0.0 {
        f.publish_rate_achieved = scenario::round2(outcome.published as f64 / secs);
    }
    if let (Some(a), Some(b)) = (cpu_before, cpu_after) {
        f.server_cpu_seconds = Some(scenario::round2(b - a));
    }
    f.publish_call_p50_ms = scenario::ms(outcome.call_latency.quantile(0.5));
    f.publish_call_p99_ms = scenario::ms(outcome.call_latency.quantile(0.99));
    scenario::absorb(f, &reports);
    f.deliveries_expected = f.subscribed * outcome.published;
    // Every honest subscriber got every update, in order: none dropped,
    // nothing missing, nothing out of order.
    f.deliveries_complete = Some(
        reports.len() == f.workers
            && f.losses == 0
            && f.order_violations == 0
            && f.dropped_connections == 0
            && f.missed_by_dropped == 0
            && f.deliveries == f.deliveries_expected,
    );
    hostile_figures(f, &report);
    if reports.len() < f.workers {
        f.notes.push(format!(
            "{} of {} workers sent no report",
            f.workers - reports.len(),
            f.workers
        ));
    }
    Ok(())
}

fn mb(bytes: Option<u64>) -> Option<f64> {
    bytes.map(|b| scenario::round2(b as f64 / 1e6))
}

fn hostile_figures(f: &mut Figures, r: &HostileReport) {
    let quantile = |v: &[u64], q: f64| -> Option<f64> {
        if v.is_empty() {
            return None;
        }
        let mut v = v.to_vec();
        v.sort_unstable();
        let i = ((v.len() - 1) as f64 * q).round() as usize;
        v.get(i).map(|x| *x as f64)
    };
    let o = &r.oversized;
    f.hostile_oversized_upgraded = Some(o.upgraded);
    f.hostile_oversized_refused = Some(o.refused + o.connect_failed);
    f.hostile_oversized_closed = Some(o.closed_by_server);
    f.hostile_oversized_open_at_end = Some(o.open_at_end);
    f.hostile_oversized_closed_p50_ms = quantile(&o.closed_after_ms, 0.5);
    f.hostile_oversized_closed_max_ms = quantile(&o.closed_after_ms, 1.0);
    let n = &r.never_read;
    f.hostile_never_read_upgraded = Some(n.upgraded);
    f.hostile_never_read_refused = Some(n.refused + n.connect_failed);
    f.hostile_never_read_closed = Some(n.closed_by_server);
    f.hostile_never_read_open_at_end = Some(n.open_at_end);
    f.hostile_never_read_closed_p50_ms = quantile(&n.closed_after_ms, 0.5);
    f.hostile_never_read_closed_max_ms = quantile(&n.closed_after_ms, 1.0);
    for (side, t) in [("oversized", o), ("never_read", n)] {
        for (k, v) in &t.close_codes {
            f.hostile_close_codes.insert(format!("{side} {k}"), *v);
        }
        for (k, v) in &t.refused_statuses {
            f.hostile_close_codes
                .insert(format!("{side} refused {k}"), *v);
        }
    }
}

// ------------------------------------------------------ the parent's side

struct HostileProc {
    child: Child,
    stdin: Option<ChildStdin>,
    report: Option<HostileReport>,
    exited: bool,
}

/// The hostile processes. Dropping it kills those still running.
struct HostileFleet {
    procs: Vec<HostileProc>,
    rx: mpsc::UnboundedReceiver<(usize, Option<HostileMsg>)>,
    ready: usize,
}

impl HostileFleet {
    fn spawn(
        args: &HostileArgs,
        url: &str,
        max_secs: u64,
        sources: &mut SourcePool,
    ) -> Result<HostileFleet, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let per = args.hostile_per_worker.clamp(1, 8000);
        let mut jobs = Vec::new();
        for (kind, total) in [
            ("oversized", args.oversized),
            ("never-read", args.never_read),
        ] {
            let mut left = total;
            while left > 0 {
                let n = left.min(per);
                left -= n;
                jobs.push((kind, n));
            }
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let mut procs = Vec::new();
        for (kind, n) in jobs {
            let source = sources.take();
            let mut cmd = Command::new(&exe);
            cmd.arg("hostile-worker")
                .args(["--url", url])
                .args(["--source", &source.to_string()])
                .args([format!("--{kind}"), n.to_string()])
                .args(["--trickle-ms", &args.trickle_ms.to_string()])
                .args(["--rcvbuf", &args.rcvbuf.to_string()])
                .args(["--max-secs", &max_secs.to_string()]);
            let (child, stdin) = fleet::spawn_child(cmd, "hostile worker", procs.len(), &tx)?;
            procs.push(HostileProc {
                child,
                stdin,
                report: None,
                exited: false,
            });
        }
        Ok(HostileFleet {
            procs,
            rx,
            ready: 0,
        })
    }

    fn len(&self) -> usize {
        self.procs.len()
    }

    fn handle(&mut self, i: usize, msg: Option<HostileMsg>) -> bool {
        let Some(p) = self.procs.get_mut(i) else {
            return false;
        };
        match msg {
            Some(HostileMsg::Ready) => {
                self.ready += 1;
                return true;
            }
            Some(HostileMsg::Report(r)) => p.report = Some(*r),
            None => p.exited = true,
        }
        false
    }

    /// Resolves with `Some(())` when a process reports it is ready; pends
    /// forever once every process is gone (so a `select!` keeps going).
    async fn ready_note(&mut self) -> Option<()> {
        loop {
            match self.rx.recv().await {
                Some((i, msg)) => {
                    if self.handle(i, msg) {
                        return Some(());
                    }
                }
                None => std::future::pending::<()>().await,
            }
        }
    }

    /// Asks every process for its report (they then close their sockets
    /// and exit) and sums them.
    async fn finish(mut self) -> HostileReport {
        for p in &mut self.procs {
            if let Some(mut stdin) = p.stdin.take() {
                let _ = stdin.write_all(b"report\n").await;
                let _ = stdin.flush().await;
            }
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.procs.iter().all(|p| p.report.is_some() || p.exited) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some((i, msg))) => {
                    self.handle(i, msg);
                }
                Ok(None) | Err(_) => break,
            }
        }
        let mut total = HostileReport::default();
        for p in &mut self.procs {
            match &p.report {
                Some(r) => {
                    total.oversized.add(&r.oversized);
                    total.never_read.add(&r.never_read);
                }
                None => eprintln!("warning: a hostile worker sent no report"),
            }
            if tokio::time::timeout(Duration::from_secs(5), p.child.wait())
                .await
                .is_err()
            {
                let _ = p.child.kill().await;
            }
        }
        total
    }
}

// ------------------------------------------------------ the worker's side

/// Runs a hostile worker to completion; the process exit code.
pub fn run_worker(args: HostileWorkerArgs) -> i32 {
    let url = args.url.clone();
    crate::worker::run_child("hostile worker", &url, |target| worker_loop(args, target))
}

fn emit(msg: &HostileMsg) {
    if let Ok(line) = serde_json::to_string(msg) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

struct Shared {
    target: SocketAddr,
    path: String,
    source: IpAddr,
    trickle: Option<Duration>,
    rcvbuf: u32,
    tally: RefCell<HostileReport>,
    /// Sockets not yet upgraded or failed.
    pending: std::cell::Cell<u64>,
}

async fn worker_loop(args: HostileWorkerArgs, target: SocketAddr) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(args.max_secs);
    let path = args
        .url
        .strip_prefix("ws://")
        .and_then(|rest| rest.find('/').map(|i| rest[i..].to_string()))
        .unwrap_or_else(|| "/".into());
    let shared = Rc::new(Shared {
        target,
        path,
        source: args.source,
        trickle: Some(Duration::from_millis(args.trickle_ms.max(1))),
        rcvbuf: args.rcvbuf,
        tally: RefCell::new(HostileReport::default()),
        pending: std::cell::Cell::new(args.oversized + args.never_read),
    });
    let gate = Rc::new(Semaphore::new(args.concurrency.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    for i in 0..args.oversized {
        // Every other one trickles; the rest stop after the header.
        let trickle = if i % 2 == 0 { shared.trickle } else { None };
        tasks.push(tokio::task::spawn_local(oversized(
            shared.clone(),
            gate.clone(),
            stop_rx.clone(),
            trickle,
        )));
    }
    for _ in 0..args.never_read {
        tasks.push(tokio::task::spawn_local(never_read(
            shared.clone(),
            gate.clone(),
            stop_rx.clone(),
        )));
    }
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut ticker = tokio::time::interval(Duration::from_millis(200));
    let mut ready_sent = false;
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if !ready_sent && shared.pending.get() == 0 {
                    ready_sent = true;
                    emit(&HostileMsg::Ready);
                }
            }
            // `report`, or the parent closing the pipe, ends the run.
            _ = stdin.next_line() => break,
            _ = tokio::time::sleep_until(deadline) => {
                eprintln!("hostile worker: deadline reached");
                break;
            }
        }
    }
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    let report = shared.tally.take();
    emit(&HostileMsg::Report(Box::new(report)));
    0
}

/// Connects from the worker's source address and upgrades on the event path;
/// `Err` has been counted.
async fn upgrade(
    shared: &Shared,
    rcvbuf: Option<u32>,
    side: fn(&mut HostileReport) -> &mut SideTally,
) -> Result<TcpStream, ()> {
    let failed = |status: Option<String>| {
        let mut t = shared.tally.borrow_mut();
        let s = side(&mut t);
        match status {
            None => s.connect_failed += 1,
            Some(code) => {
                s.refused += 1;
                *s.refused_statuses.entry(code).or_default() += 1;
            }
        }
    };
    side(&mut shared.tally.borrow_mut()).attempted += 1;
    let Ok(socket) = TcpSocket::new_v4() else {
        failed(None);
        return Err(());
    };
    if let Some(size) = rcvbuf {
        let _ = socket.set_recv_buffer_size(size);
    }
    if socket.bind(SocketAddr::new(shared.source, 0)).is_err() {
        failed(None);
        return Err(());
    }
    let Ok(Ok(mut stream)) = timeout(Duration::from_secs(10), socket.connect(shared.target)).await
    else {
        failed(None);
        return Err(());
    };
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        shared.path, shared.target
    );
    if stream.write_all(request.as_bytes()).await.is_err() {
        failed(None);
        return Err(());
    }
    // The answer's head only, a byte at a time: what follows is frames this
    // socket may never read.
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    let read_head = async {
        while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
            match stream.read(&mut byte).await {
                Ok(1) => head.push(byte[0]),
                _ => return false,
            }
        }
        true
    };
    if !matches!(timeout(Duration::from_secs(10), read_head).await, Ok(true)) {
        failed(Some("no answer".into()));
        return Err(());
    }
    let status = String::from_utf8_lossy(&head)
        .split(' ')
        .nth(1)
        .unwrap_or("?")
        .to_string();
    if status != "101" {
        failed(Some(status));
        return Err(());
    }
    side(&mut shared.tally.borrow_mut()).upgraded += 1;
    Ok(stream)
}

fn oversized_side(r: &mut HostileReport) -> &mut SideTally {
    &mut r.oversized
}

fn never_read_side(r: &mut HostileReport) -> &mut SideTally {
    &mut r.never_read
}

/// Upgrades, declares a 64 MiB masked text frame, then trickles its payload
/// (or sends nothing more), reading what the server sends until it closes.
async fn oversized(
    shared: Rc<Shared>,
    gate: Rc<Semaphore>,
    mut stop: watch::Receiver<bool>,
    trickle: Option<Duration>,
) {
    let permit = gate.acquire().await;
    let upgraded = upgrade(&shared, None, oversized_side).await;
    shared.pending.set(shared.pending.get().saturating_sub(1));
    drop(permit);
    let Ok(mut stream) = upgraded else { return };
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut header = vec![0x81, 0x80 | 127];
    header.extend_from_slice(&DECLARED.to_be_bytes());
    header.extend_from_slice(&mask);
    let since = Instant::now();
    let closed = |code: String| {
        shared.tally.borrow_mut().oversized.closed(code, since);
    };
    if stream.write_all(&header).await.is_err() {
        closed("reset".into());
        return;
    }
    let (mut read, mut write) = stream.split();
    let mut frames = FrameScanner::default();
    let mut buf = vec![0u8; 4096];
    let mut tick = tokio::time::interval(trickle.unwrap_or(Duration::from_secs(3600)));
    tick.tick().await;
    let mut sent = 0u64;
    loop {
        tokio::select! {
            r = read.read(&mut buf) => match r {
                Ok(0) => return closed(frames.close_code().unwrap_or_else(|| "eof".into())),
                Ok(n) => frames.feed(&buf[..n]),
                Err(_) => return closed(frames.close_code().unwrap_or_else(|| "reset".into())),
            },
            _ = tick.tick(), if trickle.is_some() && sent < DECLARED => {
                let byte = [b'x' ^ mask[(sent % 4) as usize]];
                sent += 1;
                if write.write_all(&byte).await.is_err() {
                    return closed(frames.close_code().unwrap_or_else(|| "reset".into()));
                }
            }
            _ = stop.changed() => {
                shared.tally.borrow_mut().oversized.open_at_end += 1;
                return;
            }
        }
    }
}

/// Upgrades (subscribing to the event) with a small receive buffer, then
/// never reads; whether the server closed it is read from the kernel's TCP
/// state every half second.
async fn never_read(shared: Rc<Shared>, gate: Rc<Semaphore>, mut stop: watch::Receiver<bool>) {
    let permit = gate.acquire().await;
    let upgraded = upgrade(&shared, Some(shared.rcvbuf), never_read_side).await;
    shared.pending.set(shared.pending.get().saturating_sub(1));
    drop(permit);
    let Ok(stream) = upgraded else { return };
    let since = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Some(state) = tcp_state(stream.as_raw_fd()) {
                    if state != TCP_ESTABLISHED {
                        // FIN received (CLOSE_WAIT) or reset (CLOSE).
                        let code = if state == TCP_CLOSE_WAIT { "fin" } else { "reset" };
                        shared.tally.borrow_mut().never_read.closed(code, since);
                        return;
                    }
                }
            }
            _ = stop.changed() => {
                shared.tally.borrow_mut().never_read.open_at_end += 1;
                return;
            }
        }
    }
}

const TCP_ESTABLISHED: u8 = 1;
const TCP_CLOSE_WAIT: u8 = 8;

/// `tcp_info.tcpi_state` (the first byte) of a socket.
fn tcp_state(fd: RawFd) -> Option<u8> {
    crate::subscriber::tcp_info(fd)?.bytes().first().copied()
}

/// Finds the close frame in what the server sent (unmasked frames),
/// keeping only the bytes of an unfinished frame header.
#[derive(Default)]
struct FrameScanner {
    pending: Vec<u8>,
    /// Payload bytes of the current frame still to skip.
    skip: u64,
    close: Option<u16>,
}

impl FrameScanner {
    fn feed(&mut self, data: &[u8]) {
        if self.close.is_some() {
            return;
        }
        let skipped = (self.skip as usize).min(data.len());
        self.skip -= skipped as u64;
        self.pending.extend_from_slice(&data[skipped..]);
        let mut at = 0;
        loop {
            let p = &self.pending[at..];
            if p.len() < 2 {
                break;
            }
            let (len, head) = match p[1] & 0x7f {
                126 if p.len() >= 4 => (u64::from(u16::from_be_bytes([p[2], p[3]])), 4),
                127 if p.len() >= 10 => {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&p[2..10]);
                    (u64::from_be_bytes(b), 10)
                }
                126 | 127 => break,
                n => (u64::from(n), 2),
            };
            if p[0] & 0x0f == 0x8 {
                if len < 2 {
                    self.close = Some(1005);
                } else if p.len() >= head + 2 {
                    self.close = Some(u16::from_be_bytes([p[head], p[head + 1]]));
                } else {
                    break;
                }
                self.pending = Vec::new();
                return;
            }
            let available = (p.len() - head) as u64;
            if available >= len {
                at += head + len as usize;
            } else {
                self.skip = len - available;
                at = self.pending.len();
                break;
            }
        }
        self.pending.drain(..at);
    }

    fn close_code(&self) -> Option<String> {
        self.close.map(|c| c.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::FrameScanner;

    #[test]
    fn the_close_code_is_found_after_other_frames_in_any_split() {
        let mut wire = vec![0x81, 3, b'a', b'b', b'c', 0x81, 126, 0, 200];
        wire.extend_from_slice(&[b'x'; 200]);
        wire.extend_from_slice(&[0x88, 2, 0x03, 0xf1]); // 1009
        for cut in 0..wire.len() {
            let mut s = FrameScanner::default();
            s.feed(&wire[..cut]);
            s.feed(&wire[cut..]);
            assert_eq!(s.close_code().as_deref(), Some("1009"), "cut at {cut}");
        }
    }
}
