//! A worker: a child process (`ringside-bench worker …`) holding up to a few
//! thousand subscribers, so no process nears the 20,000-open-files cap.
//!
//! It talks to the parent over its pipes, one JSON object a line:
//! stdout carries [`WorkerMsg`] (progress every half second, `ready` once
//! every subscriber has subscribed or given up, and the final report);
//! stdin carries [`ParentMsg`]. End of stdin, the parent's death
//! (`PR_SET_PDEATHSIG`) or the `--max-secs` deadline end the worker.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncBufReadExt;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::stats::WireHistogram;
use crate::subscriber::{self, Phase, SubState, Tally, Target, Transport};

/// Worker → parent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkerMsg {
    Progress(Progress),
    /// Every subscriber has subscribed or failed.
    Ready(Progress),
    Report(Box<WorkerReport>),
}

/// Parent → worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum ParentMsg {
    /// Publishing is over at `last_seq`: wait (at most `timeout_ms`) until
    /// every live subscriber has it, then report and exit.
    Finish { last_seq: u64, timeout_ms: u64 },
    /// Publishing starts: note frames and TCP segments received so far.
    Mark,
}

/// Subscriber counts by phase, and deliveries so far.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Progress {
    pub connecting: u64,
    pub subscribed: u64,
    /// Lost a connection and resuming (`--reconnect-urls`).
    #[serde(default)]
    pub reconnecting: u64,
    pub failed: u64,
    pub closed: u64,
    pub deliveries: u64,
}

impl Progress {
    pub fn add(&mut self, o: &Progress) {
        self.connecting += o.connecting;
        self.subscribed += o.subscribed;
        self.reconnecting += o.reconnecting;
        self.failed += o.failed;
        self.closed += o.closed;
        self.deliveries += o.deliveries;
    }
}

/// A worker's final figures.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WorkerReport {
    pub progress: Progress,
    pub latency: WireHistogram,
    pub deliveries: u64,
    pub gaps: u64,
    pub order_violations: u64,
    pub parse_errors: u64,
    pub no_timestamp: u64,
    /// Frames up to `last_seq` that still-connected subscribers never got.
    pub tail_missing: u64,
    /// Frames up to `last_seq` that subscribers closed by the server missed.
    pub missed_by_closed: u64,
    /// Subscribers that had `last_seq` when the report was made.
    pub complete: u64,
    pub first_rx_ns: u64,
    pub last_rx_ns: u64,
    /// This worker's CPU seconds when it was ready, and at the report.
    pub cpu_at_ready: f64,
    pub cpu_at_report: f64,
    /// Text frames and TCP data segments received since `Mark` by the
    /// subscribers still connected at the report.
    pub frames_since_mark: u64,
    pub segments_since_mark: u64,
    pub close_codes: BTreeMap<String, u64>,
    pub errors: BTreeMap<String, u64>,
    pub unsequenced: BTreeMap<String, u64>,
    /// Connections lost and resumed on another node, and what it took.
    pub resumed: u64,
    pub resume_refusals: u64,
    pub resume_refusals_max: u64,
    pub resyncs: u64,
    pub resume_time: WireHistogram,
}

/// `ringside-bench worker` arguments (given by the parent).
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    /// `ws://127.x.y.z:port/path` (WebSocket) or `http://127.x.y.z:port/path?query`
    /// (SSE, long-poll) to subscribe to.
    #[arg(long)]
    pub url: String,
    #[arg(long, value_enum, default_value_t = Transport::Websocket)]
    pub transport: Transport,
    #[arg(long)]
    pub connections: u64,
    /// Source address every socket binds to before connecting.
    #[arg(long)]
    pub source: IpAddr,
    /// Handshakes in flight at once.
    #[arg(long, default_value_t = 128)]
    pub concurrency: usize,
    #[arg(long, default_value_t = 10_000)]
    pub connect_timeout_ms: u64,
    #[arg(long, default_value_t = 30_000)]
    pub subscribe_timeout_ms: u64,
    #[arg(long, default_value_t = 3)]
    pub attempts: u32,
    /// Hard stop: the worker exits after this long whatever happens.
    #[arg(long, default_value_t = 1800)]
    pub max_secs: u64,
    /// Every node's URL, comma-separated: a subscriber that loses its
    /// connection resumes (`?since=`) on another of them (WebSocket only).
    #[arg(long, value_delimiter = ',')]
    pub reconnect_urls: Vec<String>,
}

/// `host:port` of a `ws://` or `http://` URL.
pub fn socket_addr_of(url: &str) -> Result<SocketAddr, String> {
    let rest = url
        .strip_prefix("ws://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("{url}: expected ws:// or http://"))?;
    let hostport = rest.split('/').next().unwrap_or(rest);
    let addr: SocketAddr = hostport
        .parse()
        .map_err(|e| format!("{url}: expected ws://IP:PORT/… or http://IP:PORT/…: {e}"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("{addr}: the bench only targets 127.0.0.0/8"));
    }
    Ok(addr)
}

fn emit(msg: &WorkerMsg) {
    if let Ok(line) = serde_json::to_string(msg) {
        let mut out = std::io::stdout().lock();
        // A parent that has gone away ends us through PDEATHSIG or stdin EOF.
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// Runs a worker to completion; the process exit code.
pub fn run(args: WorkerArgs) -> i32 {
    let url = args.url.clone();
    run_child("worker", &url, |addr| main_loop(args, addr))
}

/// The entry of a child process the parent drives over pipes (a worker, a
/// hostile worker): it dies with its parent, resolves `url`'s address and
/// runs `main` on one thread, in a `LocalSet` (its tasks share `Rc` state).
/// `name` labels the errors; returns the process exit code.
pub fn run_child<F, Fut>(name: &str, url: &str, main: F) -> i32
where
    F: FnOnce(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = i32>,
{
    // SAFETY: prctl with PR_SET_PDEATHSIG has no memory-safety preconditions.
    unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        );
    }
    let addr = match socket_addr_of(url) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{name}: {e}");
            return 2;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{name}: runtime: {e}");
            return 1;
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, main(addr))
}

async fn main_loop(args: WorkerArgs, addr: SocketAddr) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(args.max_secs);
    let reconnect = match args.reconnect_urls.is_empty() {
        true => None,
        false => {
            let mut nodes = Vec::new();
            for url in &args.reconnect_urls {
                match socket_addr_of(url) {
                    Ok(a) => nodes.push((a, url.clone())),
                    Err(e) => {
                        eprintln!("worker: {e}");
                        return 2;
                    }
                }
            }
            Some(subscriber::Reconnect { nodes })
        }
    };
    let target = Rc::new(Target {
        transport: args.transport,
        addr,
        url: args.url.clone(),
        connect_timeout: Duration::from_millis(args.connect_timeout_ms),
        subscribe_timeout: Duration::from_millis(args.subscribe_timeout_ms),
        attempts: args.attempts.max(1),
        deadline,
        reconnect,
    });
    let tally = Rc::new(RefCell::new(Tally::default()));
    let gate = Rc::new(Semaphore::new(args.concurrency.max(1)));
    let states: Vec<Rc<SubState>> = (0..args.connections)
        .map(|_| Rc::new(SubState::default()))
        .collect();
    for state in &states {
        tokio::task::spawn_local(subscriber::run(
            target.clone(),
            args.source,
            state.clone(),
            tally.clone(),
            gate.clone(),
        ));
    }

    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    let mut ready_sent = false;
    let mut cpu_at_ready = 0.0;
    let mut mark = (0, 0);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let p = progress(&states, &tally);
                if !ready_sent && p.connecting == 0 {
                    ready_sent = true;
                    cpu_at_ready = own_cpu_seconds();
                    emit(&WorkerMsg::Ready(p));
                } else {
                    emit(&WorkerMsg::Progress(p));
                }
            }
            line = stdin.next_line() => match line {
                Ok(Some(line)) => match serde_json::from_str::<ParentMsg>(&line) {
                    Ok(ParentMsg::Finish { last_seq, timeout_ms }) => {
                        let mut report = finish(&states, &tally, last_seq, Duration::from_millis(timeout_ms)).await;
                        report.cpu_at_ready = cpu_at_ready;
                        report.cpu_at_report = own_cpu_seconds();
                        let (frames, segments) = counters(&states, &tally);
                        report.frames_since_mark = frames.saturating_sub(mark.0);
                        report.segments_since_mark = segments.saturating_sub(mark.1);
                        emit(&WorkerMsg::Report(Box::new(report)));
                        return 0;
                    }
                    Ok(ParentMsg::Mark) => mark = counters(&states, &tally),
                    Err(e) => eprintln!("worker: bad command {line:?}: {e}"),
                },
                // The parent is done with us.
                Ok(None) | Err(_) => return 0,
            },
            _ = tokio::time::sleep_until(deadline) => {
                eprintln!("worker: deadline reached");
                return 3;
            }
        }
    }
}

/// Frames received, and TCP data segments on the sockets still open.
fn counters(states: &[Rc<SubState>], tally: &RefCell<Tally>) -> (u64, u64) {
    let segments = states
        .iter()
        .filter(|s| s.phase.get() == Phase::Subscribed)
        .filter_map(|s| subscriber::data_segments_in(s.fd.get()))
        .sum();
    (tally.borrow().frames, segments)
}

/// User + system CPU seconds of this process.
fn own_cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return 0.0;
        }
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

fn progress(states: &[Rc<SubState>], tally: &RefCell<Tally>) -> Progress {
    let mut p = Progress {
        deliveries: tally.borrow().deliveries,
        ..Progress::default()
    };
    for s in states {
        match s.phase.get() {
            Phase::Connecting => p.connecting += 1,
            Phase::Subscribed => p.subscribed += 1,
            Phase::Reconnecting => p.reconnecting += 1,
            Phase::Failed => p.failed += 1,
            Phase::Closed => p.closed += 1,
        }
    }
    p
}

/// Waits until every subscriber still connected has `last_seq` (polling
/// every 20 ms, at most `limit`), then builds the report.
async fn finish(
    states: &[Rc<SubState>],
    tally: &RefCell<Tally>,
    last_seq: u64,
    limit: Duration,
) -> WorkerReport {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let pending = states.iter().any(|s| {
            matches!(s.phase.get(), Phase::Subscribed | Phase::Reconnecting)
                && s.last_seq.get() < last_seq
        });
        if !pending {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut report = WorkerReport {
        progress: progress(states, tally),
        ..WorkerReport::default()
    };
    for s in states {
        let have = s.last_seq.get();
        let missing = last_seq.saturating_sub(have);
        match s.phase.get() {
            Phase::Subscribed | Phase::Reconnecting => report.tail_missing += missing,
            Phase::Closed => report.missed_by_closed += missing,
            Phase::Connecting | Phase::Failed => continue,
        }
        if missing == 0 {
            report.complete += 1;
        }
    }
    let t = tally.borrow();
    report.latency = t.latency.to_wire();
    report.deliveries = t.deliveries;
    report.gaps = t.gaps;
    report.order_violations = t.order_violations;
    report.parse_errors = t.parse_errors;
    report.no_timestamp = t.no_timestamp;
    report.first_rx_ns = t.first_rx_ns;
    report.last_rx_ns = t.last_rx_ns;
    report.close_codes = t.close_codes.clone();
    report.errors = t.errors.clone();
    report.unsequenced = t.unsequenced.clone();
    report.resumed = t.resumed;
    report.resume_refusals = t.resume_refusals;
    report.resume_refusals_max = t.resume_refusals_max;
    report.resyncs = t.resyncs;
    report.resume_time = t.resume_time.to_wire();
    report
}
