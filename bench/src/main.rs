//! `ringside-bench`: Ringside's load generator and the reference fan-out
//! server it is compared with (DESIGN §7).
//!
//! ```text
//! ringside-bench fanout   --subscribers N --updates M --rate R [--target ringside|reference|both] [--transport websocket|sse|poll] [--json]
//! ringside-bench saturate --subscribers N --updates M          (fanout at --rate 0)
//! ringside-bench push     --devices 10000 --users 500        (bulk push against fake FCM/APNs)
//! ringside-bench hold     --connections 19000 [--transport …] (idle subscribers, memory per connection)
//! ringside-bench hostile  --subscribers 10000 --oversized 1000 --never-read 1000   (fanout under a hostile client)
//! ringside-bench cluster  --nodes 6 --subscribers 100000 [--fault kill|restart|rolling|database]  (a cluster on this machine)
//! ringside-bench chaos    [--only kill,restart,rolling,database]   (each fault on a fresh cluster: PASS or FAIL)
//! ringside-bench reference --bind 127.0.0.1:PORT              (the reference server itself)
//! ringside-bench worker   …                                   (internal: a subscriber process)
//! ```
//!
//! Modules: `scenario` runs the scenarios; `server_control` starts and stops
//! the servers; `api` and `http` speak Ringside's REST API; `publisher`
//! posts updates; `fleet` (parent) and `worker` (child) spread subscribers
//! over processes and source addresses; `subscriber` is one WebSocket
//! client (and what every transport shares), `sse` one Server-Sent Events
//! client, `long_poll` one long-poll client; `reference` is the reference
//! server; `stats` and `report` turn measurements into figures.

mod api;
mod bandwidth;
mod cluster;
mod disk;
mod engagement;
mod fleet;
mod hostile;
mod http;
mod long_poll;
mod publisher;
mod push;
mod reference;
mod report;
mod scenario;
mod server_control;
mod sse;
mod stats;
mod subscriber;
mod worker;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "ringside-bench",
    about = "Ringside's load generator and reference fan-out server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// N subscribers (WebSocket, SSE or long-poll) on one live event; M updates published at R/s
    /// through the REST API; publish-to-delivery latency, throughput,
    /// losses, order, server memory per connection.
    Fanout(scenario::FanoutArgs),
    /// `fanout` publishing as fast as the API takes updates (rate 0).
    Saturate(scenario::FanoutArgs),
    /// N idle subscribers on one server process: memory per connection.
    Hold(scenario::HoldArgs),
    /// Comments posted at a sustained rate while watchers follow the room
    /// (post latency, row committed), then a reaction burst (absorbed/s).
    Comments(engagement::CommentsArgs),
    /// A bulk send to N devices against local fake FCM and APNs servers:
    /// time from the request to the last provider acceptance.
    Push(push::PushArgs),
    /// The fanout room under a hostile client (sockets declaring 64 MiB
    /// frames, sockets that never read): server memory before, at peak and
    /// after; whether honest delivery stayed whole.
    Hostile(hostile::HostileArgs),
    /// N nodes sharing one PostgreSQL and one Redis, subscribers spread
    /// over them (resuming elsewhere when they lose a node), a 2/s event,
    /// and one fault during it; passes when nothing is lost or doubled.
    Cluster(cluster::ClusterArgs),
    /// Every fault (`kill`, `restart`: a 19,000-client reconnect storm,
    /// `rolling`, `database`: PostgreSQL frozen 30 s) on a fresh cluster,
    /// each bounded; PASS or FAIL for each.
    Chaos(cluster::ChaosArgs),
    /// A fight night through the fight-control API, watched with and without
    /// delta frames: the state frames' bytes each way, and the saving.
    Bandwidth(bandwidth::BandwidthArgs),
    /// The disk's time to make a small write durable (append 8 KiB,
    /// fdatasync), the floor under every durable commit.
    Disk(disk::DiskArgs),
    /// Run the reference fan-out server.
    Reference(ReferenceArgs),
    /// Internal: a subscriber process driven by its parent over pipes.
    #[command(hide = true)]
    Worker(worker::WorkerArgs),
    /// Internal: a hostile-client process driven by its parent over pipes.
    #[command(hide = true)]
    HostileWorker(hostile::HostileWorkerArgs),
}

#[derive(clap::Args)]
struct ReferenceArgs {
    #[arg(long, default_value = "127.0.0.1:9100")]
    bind: String,
    /// Frames a client may have waiting before it is dropped.
    #[arg(long, default_value_t = 1500)]
    queue: usize,
    /// Stop after this long, seconds.
    #[arg(long, default_value_t = 3600)]
    max_secs: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Worker(args) => ExitCode::from(worker::run(args).clamp(0, 255) as u8),
        Command::HostileWorker(args) => {
            ExitCode::from(hostile::run_worker(args).clamp(0, 255) as u8)
        }
        Command::Reference(args) => match reference::run(&args.bind, args.queue, args.max_secs) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("reference: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Fanout(args) => drive(scenario::fanout(args, "fanout")),
        Command::Saturate(mut args) => {
            args.rate = 0.0;
            drive(scenario::fanout(args, "saturate"))
        }
        Command::Hold(args) => drive(scenario::hold(args)),
        Command::Comments(args) => drive(engagement::run(args)),
        Command::Push(args) => drive(push::run(args)),
        Command::Hostile(args) => drive(hostile::run(args)),
        Command::Cluster(args) => drive(cluster::cluster(args)),
        Command::Chaos(args) => drive(cluster::chaos(args)),
        Command::Bandwidth(args) => drive(bandwidth::run(args)),
        Command::Disk(args) => drive(disk::run(args)),
    }
}

/// Runs a scenario on a single-threaded runtime (the servers and workers
/// are other processes), stopping early on Ctrl-C or SIGTERM: dropping the
/// scenario stops every process it started.
fn drive(run: impl std::future::Future<Output = Result<(), String>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => return Err(format!("signal handler: {e}")),
            };
        tokio::select! {
            r = run => r,
            _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
            _ = term.recv() => Err("terminated".into()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ringside-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
