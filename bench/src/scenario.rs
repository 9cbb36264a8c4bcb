//! The scenarios: `fanout` (N subscribers, M updates at R/s or as fast as
//! possible) and `hold` (N idle subscribers, memory per connection), each
//! against Ringside, the reference server, or both in one run, with
//! subscribers over WebSocket, SSE or long-poll (`--transport`; the
//! reference speaks WebSocket only).
//!
//! Every phase has a time bound; every process started here is stopped
//! here (or by its handle's `Drop` when the run is interrupted).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::time::Instant;

use crate::api;
use crate::fleet::{Fleet, FleetPlan, SourcePool};
use crate::publisher::{self, PublishPlan};
use crate::report::{self, Figures};
use crate::server_control::{self, Kind, RingsideLaunch, ServerProcess};
use crate::stats::Histogram;
use crate::subscriber::Transport;
use crate::worker::{Progress, WorkerReport};

/// Options every scenario shares.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// Which server(s) to measure; `both` runs the identical scenario on
    /// each and adds the ratio Ringside ÷ reference.
    #[arg(long, value_enum, default_value_t = TargetArg::Ringside)]
    pub target: TargetArg,
    /// A running Ringside (`http://127.0.0.1:8000`) instead of starting one.
    #[arg(long)]
    pub url: Option<String>,
    /// Its process id, for memory readings.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Admin to sign in as on `--url`.
    #[arg(long, default_value = server_control::ADMIN_EMAIL)]
    pub admin_email: String,
    #[arg(long, default_value = server_control::ADMIN_PASSWORD)]
    pub admin_password: String,
    /// A running reference server instead of starting one.
    #[arg(long)]
    pub reference_url: Option<String>,
    #[arg(long)]
    pub reference_pid: Option<u32>,
    /// The Ringside binary (default: `ringside` beside this one).
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// Extra environment for the Ringside it starts, `KEY=VALUE` (repeatable).
    #[arg(long = "server-env")]
    pub server_env: Vec<String>,
    /// Connections per worker process (at most 8,000).
    #[arg(long, default_value_t = 8000)]
    pub per_worker: u64,
    /// Worker processes (default: enough for --per-worker, at least 2 from 2,000 connections).
    #[arg(long)]
    pub workers: Option<u64>,
    /// Subscribes (connect, handshake or first polls, `subscribed`) in flight per worker.
    #[arg(long, default_value_t = 128)]
    pub connect_concurrency: usize,
    /// Bound on the whole subscribe phase, seconds.
    #[arg(long, default_value_t = 300)]
    pub subscribe_timeout_secs: u64,
    /// The reference server's per-client queue, frames.
    #[arg(long, default_value_t = 1500)]
    pub queue: usize,
    /// Second octet N of the source addresses 127.N.0.x (default from the pid).
    #[arg(long)]
    pub source_net: Option<u8>,
    /// Keep the started Ringside's temporary folder (database and log).
    #[arg(long)]
    pub keep: bool,
    /// Start Ringside without its write listener (`RINGSIDE_WRITE_BIND`):
    /// publishes then share the workers with the subscribers' sockets.
    #[arg(long)]
    pub no_write_listener: bool,
    /// Also print one JSON line with every figure.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TargetArg {
    Ringside,
    Reference,
    Both,
}

impl TargetArg {
    fn kinds(self) -> Vec<Kind> {
        match self {
            TargetArg::Ringside => vec![Kind::Ringside],
            TargetArg::Reference => vec![Kind::Reference],
            TargetArg::Both => vec![Kind::Ringside, Kind::Reference],
        }
    }

    /// The servers to measure with subscribers over `transport`, and a note
    /// when `--target both` loses the reference (it speaks WebSocket only).
    fn kinds_for(self, transport: Transport) -> Result<(Vec<Kind>, Option<String>), String> {
        if transport == Transport::Websocket {
            return Ok((self.kinds(), None));
        }
        let name = transport.name();
        match self {
            TargetArg::Ringside => Ok((vec![Kind::Ringside], None)),
            TargetArg::Reference => Err(format!(
                "--transport {name}: the reference server speaks WebSocket only"
            )),
            TargetArg::Both => {
                let note = format!(
                    "--target both --transport {name}: Ringside only (the reference server speaks WebSocket only)"
                );
                eprintln!("note: {note}");
                Ok((vec![Kind::Ringside], Some(note)))
            }
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct FanoutArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// How subscribers follow the event: WebSocket, Server-Sent Events or
    /// long-poll (the last two Ringside only).
    #[arg(long, value_enum, default_value_t = Transport::Websocket)]
    pub transport: Transport,
    #[arg(long, default_value_t = 1000)]
    pub subscribers: u64,
    #[arg(long, default_value_t = 20)]
    pub updates: u64,
    /// Updates per second; 0 = saturation (as fast as the API takes them).
    #[arg(long, default_value_t = 2.0)]
    pub rate: f64,
    /// Concurrent publishing connections (default: 1 on a schedule, 16 at saturation).
    #[arg(long)]
    pub publishers: Option<usize>,
    /// After the last update, how long subscribers may take to get it, seconds.
    #[arg(long, default_value_t = 30)]
    pub drain_secs: u64,
    /// Bound on the publishing phase, seconds.
    #[arg(long, default_value_t = 300)]
    pub max_publish_secs: u64,
}

#[derive(Debug, Clone, clap::Args)]
pub struct HoldArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// How subscribers follow the event: WebSocket, Server-Sent Events or
    /// long-poll (the last two Ringside only).
    #[arg(long, value_enum, default_value_t = Transport::Websocket)]
    pub transport: Transport,
    #[arg(long, default_value_t = 19_000)]
    pub connections: u64,
    /// How long to hold them idle after all subscribed (a heartbeat is 30 s).
    #[arg(long, default_value_t = 40)]
    pub hold_secs: u64,
}

/// `http://host:port` (or `host:port`) on the loopback range.
fn loopback_addr(url: &str) -> Result<SocketAddr, String> {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let hostport = rest.split('/').next().unwrap_or(rest);
    let hostport = hostport.replace("localhost", "127.0.0.1");
    let addr: SocketAddr = hostport
        .parse()
        .map_err(|e| format!("{url}: expected http://IP:PORT ({e})"))?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "{addr}: the bench only sends traffic to 127.0.0.0/8"
        ));
    }
    Ok(addr)
}

pub(crate) struct Env<'a> {
    pub common: &'a CommonArgs,
    /// Subscribers the server must admit on one event.
    pub viewers: u64,
}

/// Starts (or finds) the server of `kind`.
pub(crate) async fn server_for(kind: Kind, env: &Env<'_>) -> Result<ServerProcess, String> {
    let c = env.common;
    match kind {
        Kind::Ringside => match &c.url {
            Some(url) => Ok(ServerProcess::external(
                kind,
                loopback_addr(url)?,
                c.server_pid,
            )),
            None => {
                let binary = match &c.server_bin {
                    Some(b) => b.clone(),
                    None => std::env::current_exe()
                        .map_err(|e| format!("current_exe: {e}"))?
                        .with_file_name("ringside"),
                };
                let mut vars = Vec::new();
                for kv in &c.server_env {
                    let (k, v) = kv
                        .split_once('=')
                        .ok_or_else(|| format!("--server-env {kv}: expected KEY=VALUE"))?;
                    vars.push((k.to_string(), v.to_string()));
                }
                eprintln!("starting ringside ({})…", binary.display());
                ServerProcess::start_ringside(&RingsideLaunch {
                    binary,
                    max_viewers: env.viewers.max(10_000) + 100,
                    env: vars,
                    keep: c.keep,
                    write_listener: !c.no_write_listener,
                })
                .await
            }
        },
        Kind::Reference => match &c.reference_url {
            Some(url) => Ok(ServerProcess::external(
                kind,
                loopback_addr(url)?,
                c.reference_pid,
            )),
            None => {
                eprintln!("starting the reference server…");
                ServerProcess::start_reference(c.queue).await
            }
        },
    }
}

/// The live event to subscribe to, and the token to publish with.
pub(crate) async fn prepare(
    kind: Kind,
    server: &ServerProcess,
    c: &CommonArgs,
) -> Result<(i64, Option<crate::http::HttpClient>), String> {
    match kind {
        Kind::Reference => Ok((1, None)),
        Kind::Ringside => {
            let mut client = api::sign_in(server.addr, &c.admin_email, &c.admin_password).await?;
            let live = api::prepare_live_event(&mut client).await?;
            Ok((live, Some(client)))
        }
    }
}

pub(crate) fn fleet_plan(
    c: &CommonArgs,
    transport: Transport,
    url: String,
    connections: u64,
    max_secs: u64,
) -> FleetPlan {
    FleetPlan {
        transport,
        url,
        urls: Vec::new(),
        spread: false,
        connections,
        per_worker: c.per_worker,
        min_workers: c.workers.unwrap_or(if connections >= 2000 { 2 } else { 1 }),
        concurrency: c.connect_concurrency,
        subscribe_timeout: Duration::from_secs(30),
        max_secs,
    }
}

/// Spawns the honest fleet of `plan` and waits (at most
/// `--subscribe-timeout-secs`) until every subscriber has subscribed or
/// given up, noting the workers and the subscribe figures. On failure it
/// notes how many subscribed, plus the server's RSS with them when
/// `rss_on_failure` is given (hold's figure), and shuts the fleet down.
pub(crate) async fn subscribe_fleet(
    c: &CommonArgs,
    plan: &FleetPlan,
    sources: &mut SourcePool,
    f: &mut Figures,
    rss_on_failure: Option<&ServerProcess>,
) -> Result<Fleet, String> {
    let started = Instant::now();
    let mut fleet = Fleet::spawn(plan, sources)?;
    f.workers = fleet.len();
    eprintln!(
        "  {} workers ({:?} connections each), waiting for every subscribed frame…",
        fleet.len(),
        fleet.shares()
    );
    let ready = match fleet
        .wait_ready(Duration::from_secs(c.subscribe_timeout_secs), false)
        .await
    {
        Ok(p) => p,
        Err(e) => {
            f.subscribed = fleet.progress().subscribed;
            if let Some(server) = rss_on_failure {
                f.rss_with_connections_kib = kib(server.rss()).map(round2);
            }
            fleet.shutdown().await;
            return Err(e);
        }
    };
    f.subscribe_seconds = round2(started.elapsed().as_secs_f64());
    f.subscribed = ready.subscribed + ready.closed;
    f.subscribe_failed = ready.failed;
    Ok(fleet)
}

pub(crate) fn kib(bytes: Option<u64>) -> Option<f64> {
    bytes.map(|b| b as f64 / 1024.0)
}

pub(crate) fn per_connection(before: Option<u64>, with: Option<u64>, n: u64) -> Option<f64> {
    match (before, with) {
        (Some(b), Some(w)) if n > 0 => Some((w as f64 - b as f64) / 1024.0 / n as f64),
        _ => None,
    }
}

pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

pub(crate) fn ms(micros: u64) -> f64 {
    round2(micros as f64 / 1000.0)
}

/// Folds the workers' reports into the figures.
pub(crate) fn absorb(f: &mut Figures, reports: &[WorkerReport]) {
    let mut latency = Histogram::default();
    let mut progress = Progress::default();
    for r in reports {
        latency.merge(&Histogram::from_wire(&r.latency));
        progress.add(&r.progress);
        f.deliveries += r.deliveries;
        f.losses += r.gaps + r.tail_missing;
        f.order_violations += r.order_violations;
        f.missed_by_dropped += r.missed_by_closed;
        f.parse_errors += r.parse_errors;
        f.updates_without_timestamp += r.no_timestamp;
        for (k, v) in &r.close_codes {
            *f.close_codes.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &r.unsequenced {
            *f.unsequenced_frames.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &r.errors {
            *f.errors.entry(k.clone()).or_default() += v;
        }
    }
    f.latency_p50_ms = ms(latency.quantile(0.50));
    f.latency_p90_ms = ms(latency.quantile(0.90));
    f.latency_p99_ms = ms(latency.quantile(0.99));
    f.latency_p999_ms = ms(latency.quantile(0.999));
    f.latency_max_ms = ms(latency.max());
    f.latency_mean_ms = round2(latency.mean() / 1000.0);
    let cpu: f64 = reports
        .iter()
        .map(|r| (r.cpu_at_report - r.cpu_at_ready).max(0.0))
        .sum();
    if !reports.is_empty() {
        f.subscribers_cpu_seconds = Some(round2(cpu));
    }
    f.latency_samples = latency.count();
    f.dropped_connections = progress.closed;
}

fn last_rx_ns(reports: &[WorkerReport]) -> u64 {
    reports.iter().map(|r| r.last_rx_ns).max().unwrap_or(0)
}

/// Source addresses for this run's workers (`--source-net`, else from the pid).
pub(crate) fn source_pool(c: &CommonArgs) -> SourcePool {
    SourcePool::new(
        c.source_net
            .unwrap_or((std::process::id() % 200) as u8 + 20),
    )
}

/// Ends one target's run: notes a failure, stops its server, keeps what its
/// log says.
pub(crate) async fn finish_run(
    kind: Kind,
    server: &mut ServerProcess,
    mut figures: Figures,
    result: Result<(), String>,
) -> Figures {
    if let Err(e) = &result {
        eprintln!("{}: {e}", kind.name());
        figures.notes.push(format!("run failed: {e}"));
    }
    server.stop().await;
    if server.log_path().is_some() {
        figures.server_log = Some(server.log_findings());
    }
    figures
}

/// Prints every target's figures; fails if any run failed.
pub(crate) fn conclude(scenario: &str, runs: &[Figures], json: bool) -> Result<(), String> {
    output(scenario, runs, json);
    if runs
        .iter()
        .any(|f| f.notes.iter().any(|n| n.starts_with("run failed")))
    {
        return Err("a run failed (see notes)".into());
    }
    Ok(())
}

/// Runs the fan-out scenario on every target and prints the figures.
pub async fn fanout(args: FanoutArgs, scenario: &str) -> Result<(), String> {
    let c = &args.common;
    let env = Env {
        common: c,
        viewers: args.subscribers,
    };
    let transport = args.transport;
    let (kinds, note) = c.target.kinds_for(transport)?;
    let mut sources = source_pool(c);
    let mut runs = Vec::new();
    for kind in kinds {
        eprintln!(
            "== {scenario} on {} over {}: {} subscribers, {} updates at {} ==",
            kind.name(),
            transport.name(),
            args.subscribers,
            args.updates,
            if args.rate > 0.0 {
                format!("{}/s", args.rate)
            } else {
                "saturation".into()
            }
        );
        let mut server = server_for(kind, &env).await?;
        let mut figures = Figures {
            scenario: scenario.into(),
            target: kind.name().into(),
            transport: Some(transport.name().into()),
            subscribers_requested: args.subscribers,
            updates_requested: args.updates,
            publish_rate: args.rate,
            notes: note.iter().cloned().collect(),
            ..Figures::default()
        };
        let result = fanout_on(kind, &server, &args, &mut sources, &mut figures).await;
        runs.push(finish_run(kind, &mut server, figures, result).await);
    }
    conclude(scenario, &runs, c.json)
}

async fn fanout_on(
    kind: Kind,
    server: &ServerProcess,
    args: &FanoutArgs,
    sources: &mut SourcePool,
    f: &mut Figures,
) -> Result<(), String> {
    let c = &args.common;
    let (live, client) = prepare(kind, server, c).await?;
    let token = client
        .as_ref()
        .and_then(|cl| cl.token().map(str::to_string));
    let rss_before = server.rss();
    let transport = args.transport;
    let url = transport.url(server.addr, live);
    let budget = c.subscribe_timeout_secs + args.max_publish_secs + args.drain_secs + 300;
    let plan = fleet_plan(c, transport, url, args.subscribers, budget);
    let mut fleet = subscribe_fleet(c, &plan, sources, f, None).await?;
    let rss_with = server.rss();
    f.rss_before_kib = kib(rss_before).map(round2);
    f.rss_with_connections_kib = kib(rss_with).map(round2);
    f.rss_per_connection_kib = per_connection(rss_before, rss_with, f.subscribed).map(round2);
    eprintln!(
        "  {} subscribed ({} failed) in {:.1} s; publishing…",
        f.subscribed, f.subscribe_failed, f.subscribe_seconds
    );

    fleet.mark().await;
    let cpu_before = server.cpu();
    let plan = PublishPlan {
        live_event: live,
        updates: args.updates,
        rate: args.rate,
        publishers: args
            .publishers
            .unwrap_or(if args.rate > 0.0 { 1 } else { 16 }),
        max_duration: Duration::from_secs(args.max_publish_secs),
        token,
    };
    let outcome = publisher::publish(server.write_addr(), &plan).await;
    eprintln!(
        "  published {} of {} (last seq {}) in {:.1} s; draining…",
        outcome.published,
        outcome.attempted,
        outcome.last_seq,
        outcome.seconds()
    );
    let reports = fleet
        .finish(outcome.last_seq, Duration::from_secs(args.drain_secs))
        .await?;
    let cpu_after = server.cpu();
    f.rss_after_kib = kib(server.rss()).map(round2);
    fleet.shutdown().await;
    if let Some(mut client) = client {
        api::end_live_event(&mut client, live).await;
    }

    f.updates_published = outcome.published;
    f.publish_errors = outcome.attempted - outcome.published;
    f.publish_error_kinds = outcome.errors.clone();
    f.publish_behind_schedule = outcome.behind_schedule;
    let secs = outcome.seconds();
    if secs > 0.0 {
        f.publish_rate_achieved = round2(outcome.published as f64 / secs);
    }
    f.publish_call_p50_ms = ms(outcome.call_latency.quantile(0.5));
    f.publish_call_p99_ms = ms(outcome.call_latency.quantile(0.99));
    f.publish_first_call_ms = outcome.first_call_us.map(ms);
    absorb(f, &reports);
    f.deliveries_expected = f.subscribed * outcome.published;
    let window = last_rx_ns(&reports).saturating_sub(outcome.first_send_ns) as f64 / 1e9;
    if window > 0.0 {
        f.deliveries_per_second = round2(f.deliveries as f64 / window);
    }
    if let (Some(a), Some(b)) = (cpu_before, cpu_after) {
        f.server_cpu_seconds = Some(round2(b - a));
        if f.deliveries > 0 {
            f.server_cpu_us_per_delivery = Some(round2((b - a) * 1e6 / f.deliveries as f64));
        }
    }
    let frames: u64 = reports.iter().map(|r| r.frames_since_mark).sum();
    let segments: u64 = reports.iter().map(|r| r.segments_since_mark).sum();
    if segments > 0 {
        f.frames_per_tcp_segment = Some(round2(frames as f64 / segments as f64));
    }
    if reports.len() < f.workers {
        f.notes.push(format!(
            "{} of {} workers sent no report",
            f.workers - reports.len(),
            f.workers
        ));
    }
    Ok(())
}

/// Runs the hold scenario on every target and prints the figures.
pub async fn hold(args: HoldArgs) -> Result<(), String> {
    let c = &args.common;
    let env = Env {
        common: c,
        viewers: args.connections,
    };
    let transport = args.transport;
    let (kinds, note) = c.target.kinds_for(transport)?;
    let mut sources = source_pool(c);
    let mut runs = Vec::new();
    for kind in kinds {
        eprintln!(
            "== hold on {} over {}: {} idle subscribers for {} s ==",
            kind.name(),
            transport.name(),
            args.connections,
            args.hold_secs
        );
        let mut server = server_for(kind, &env).await?;
        let mut figures = Figures {
            scenario: "hold".into(),
            target: kind.name().into(),
            transport: Some(transport.name().into()),
            subscribers_requested: args.connections,
            notes: note.iter().cloned().collect(),
            ..Figures::default()
        };
        let result = hold_on(kind, &server, &args, &mut sources, &mut figures).await;
        runs.push(finish_run(kind, &mut server, figures, result).await);
    }
    conclude("hold", &runs, c.json)
}

async fn hold_on(
    kind: Kind,
    server: &ServerProcess,
    args: &HoldArgs,
    sources: &mut SourcePool,
    f: &mut Figures,
) -> Result<(), String> {
    let c = &args.common;
    let (live, client) = prepare(kind, server, c).await?;
    let rss_before = server.rss();
    let transport = args.transport;
    let url = transport.url(server.addr, live);
    let budget = c.subscribe_timeout_secs + args.hold_secs + 300;
    let plan = fleet_plan(c, transport, url, args.connections, budget);
    let mut fleet = subscribe_fleet(c, &plan, sources, f, Some(server)).await?;
    let rss_with = server.rss();
    f.rss_before_kib = kib(rss_before).map(round2);
    f.rss_with_connections_kib = kib(rss_with).map(round2);
    f.rss_per_connection_kib = per_connection(rss_before, rss_with, f.subscribed).map(round2);
    eprintln!(
        "  {} subscribed ({} failed) in {:.1} s, RSS {:.0} → {:.0} KiB; holding {} s…",
        f.subscribed,
        f.subscribe_failed,
        f.subscribe_seconds,
        f.rss_before_kib.unwrap_or(0.0),
        f.rss_with_connections_kib.unwrap_or(0.0),
        args.hold_secs
    );
    let cpu_before = server.cpu();
    let held = fleet.watch(Duration::from_secs(args.hold_secs)).await;
    f.hold_seconds = Some(args.hold_secs as f64);
    f.held_after_seconds = Some(held.subscribed);
    f.rss_after_kib = kib(server.rss()).map(round2);
    if let (Some(a), Some(b)) = (cpu_before, server.cpu()) {
        f.server_cpu_seconds = Some(round2(b - a));
    }
    let reports = fleet.finish(0, Duration::from_secs(1)).await?;
    fleet.shutdown().await;
    if let Some(mut client) = client {
        api::end_live_event(&mut client, live).await;
    }
    absorb(f, &reports);
    Ok(())
}

fn output(scenario: &str, runs: &[Figures], json: bool) {
    let ratio = match (
        runs.iter().find(|f| f.target == "ringside"),
        runs.iter().find(|f| f.target == "reference"),
    ) {
        (Some(a), Some(b)) => Some(report::ratios(a, b)),
        _ => None,
    };
    println!();
    report::print_table(runs, ratio.as_ref());
    if json {
        println!("{}", report::json_line(scenario, runs, ratio.as_ref()));
    }
}
