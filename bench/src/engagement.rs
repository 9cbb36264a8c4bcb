//! The `comments` scenario: comment posting at a sustained rate (latency
//! from send to the `201`, which Ringside answers only once the row is
//! committed) while WebSocket watchers follow the comment room, then a burst
//! of reactions as fast as the API takes them (reactions absorbed per
//! second), checking that the stored totals equal what was accepted.
//!
//! Ringside only: the reference server has no comments. The bench raises
//! the per-user comment limit and the sign-up limit so that every post of
//! the schedule is accepted; it measures the write path, not the throttles.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::api;
use crate::http::HttpClient;
use crate::scenario::CommonArgs;
use crate::stats::Histogram;

#[derive(Debug, Clone, clap::Args)]
pub struct CommentsArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Accounts that comment (and react).
    #[arg(long, default_value_t = 200)]
    pub users: u64,
    /// Comments per second, all users together.
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// How long comments are posted, seconds.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    /// Concurrent posting connections.
    #[arg(long, default_value_t = 32)]
    pub posters: usize,
    /// WebSocket watchers on the comment room while comments are posted.
    #[arg(long, default_value_t = 1000)]
    pub watchers: u64,
    /// Reactions sent as fast as the API takes them, after the comments.
    #[arg(long, default_value_t = 20_000)]
    pub reactions: u64,
}

#[derive(Default)]
struct Outcome {
    accepted: u64,
    errors: std::collections::BTreeMap<String, u64>,
    latency: Histogram,
    behind_schedule: u64,
}

impl Outcome {
    fn merge(&mut self, other: Outcome) {
        self.accepted += other.accepted;
        self.behind_schedule += other.behind_schedule;
        self.latency.merge(&other.latency);
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
    }
}

fn ms(micros: u64) -> f64 {
    (micros as f64 / 10.0).round() / 100.0
}

pub async fn run(args: CommentsArgs) -> Result<(), String> {
    // Every request of the schedule must be accepted: the bench measures the
    // write path, not the throttles (settings given later still win).
    let mut common = args.common.clone();
    let raised = [
        "COMMENT_RATE_LIMIT=10000",
        "REACTION_RATE_LIMIT=10000",
        "LOGIN_RATE_PER_IP=100000",
    ];
    common.server_env = raised
        .iter()
        .map(|kv| kv.to_string())
        .chain(common.server_env)
        .collect();
    let env = crate::scenario::Env {
        common: &common,
        viewers: args.watchers,
    };
    let mut server =
        crate::scenario::server_for(crate::server_control::Kind::Ringside, &env).await?;
    let result = measure(&args, server.addr).await;
    server.stop().await;
    let log = server.log_path().map(|_| server.log_findings());
    let mut figures = result?;
    if let Some(log) = log {
        figures["server_log"] = json!(log);
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&figures).unwrap_or_default()
    );
    Ok(())
}

async fn measure(args: &CommentsArgs, addr: SocketAddr) -> Result<Value, String> {
    let c = &args.common;
    let mut admin = api::sign_in(addr, &c.admin_email, &c.admin_password).await?;
    let live = api::prepare_live_event(&mut admin).await?;
    eprintln!("registering {} users…", args.users);
    let tokens = Arc::new(register(addr, args.users).await?);

    eprintln!("opening {} watchers on comments:{live}…", args.watchers);
    let watching = Arc::new(AtomicU64::new(0));
    let received = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    // The watchers read on a thread of their own, so reading frames never
    // delays the posters' clock readings.
    let watchers = {
        let (watching, received, stop) = (watching.clone(), received.clone(), stop.clone());
        let n = args.watchers;
        std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let mut set = JoinSet::new();
                for i in 0..n {
                    set.spawn(watch(addr, live, i, watching.clone(), received.clone()));
                }
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                set.abort_all();
            });
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while watching.load(Ordering::Relaxed) < args.watchers {
        if Instant::now() > deadline {
            return Err(format!(
                "only {} of {} watchers subscribed",
                watching.load(Ordering::Relaxed),
                args.watchers
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let total = (args.rate * args.seconds as f64).round() as u64;
    eprintln!("posting {total} comments at {}/s…", args.rate);
    let started = Instant::now();
    let comments = drive(addr, args.posters, total, Some(args.rate), tokens.clone(), move |i| {
        (
            "/api/live/comments/",
            json!({ "live_event": live, "content": format!("Great exchange in round {} number {i}", i % 5 + 1) }),
        )
    })
    .await;
    let comment_secs = started.elapsed().as_secs_f64();

    eprintln!(
        "sending {} reactions as fast as they are taken…",
        args.reactions
    );
    let started = Instant::now();
    let kinds = ["like", "wow", "celebrate", "angry", "sad"];
    let reactions = drive(addr, args.posters, args.reactions, None, tokens, move |i| {
        (
            "/api/live/reactions/",
            json!({ "target_type": "event", "target_id": live, "reaction_type": kinds[i as usize % 5] }),
        )
    })
    .await;
    let reaction_secs = started.elapsed().as_secs_f64();

    // The stored totals must be exactly what was accepted. (The admin's
    // connection sat idle through the run: open a fresh one.)
    admin.reconnect();
    let stored = admin
        .get(&format!(
            "/api/live/reactions/?target_type=event&target_id={live}"
        ))
        .await?
        .json()?;
    let stored_total: i64 = stored["totals"]
        .as_object()
        .map(|m| m.values().filter_map(Value::as_i64).sum())
        .unwrap_or(-1);
    stop.store(true, Ordering::Relaxed);
    let _ = watchers.join();

    Ok(json!({
        "scenario": "comments",
        "users": args.users,
        "watchers": args.watchers,
        "comment_rate_requested": args.rate,
        "comments_attempted": total,
        "comments_accepted": comments.accepted,
        "comments_per_second": (comments.accepted as f64 / comment_secs * 10.0).round() / 10.0,
        "comment_behind_schedule": comments.behind_schedule,
        "comment_post_p50_ms": ms(comments.latency.quantile(0.50)),
        "comment_post_p90_ms": ms(comments.latency.quantile(0.90)),
        "comment_post_p99_ms": ms(comments.latency.quantile(0.99)),
        "comment_post_max_ms": ms(comments.latency.max()),
        "comment_errors": comments.errors,
        "comment_frames_received_by_watchers": received.load(Ordering::Relaxed),
        "reactions_attempted": args.reactions,
        "reactions_accepted": reactions.accepted,
        "reactions_per_second": (reactions.accepted as f64 / reaction_secs).round(),
        "reaction_post_p50_ms": ms(reactions.latency.quantile(0.50)),
        "reaction_post_p99_ms": ms(reactions.latency.quantile(0.99)),
        "reaction_errors": reactions.errors,
        "reaction_totals_stored": stored_total,
        "reaction_totals_exact": stored_total == reactions.accepted as i64,
    }))
}

/// Registers `n` accounts; returns their tokens.
pub(crate) async fn register(addr: SocketAddr, n: u64) -> Result<Vec<String>, String> {
    let tag = crate::stats::realtime_ns() % 1_000_000_000;
    let mut client = HttpClient::new(addr, Duration::from_secs(30));
    let mut tokens = Vec::new();
    for i in 0..n {
        let r = client
            .post(
                "/api/auth/register/",
                Some(&json!({ "email": format!("fan{i}-{tag}@bench.test"), "password": "bench-password-1", "display_name": format!("Fan {i}") })),
            )
            .await?;
        if r.status != 201 {
            return Err(format!("register: {} {}", r.status, r.text()));
        }
        let token = r.json()?["token"]
            .as_str()
            .ok_or("register: no token")?
            .to_string();
        tokens.push(token);
    }
    Ok(tokens)
}

/// `total` POSTs over `posters` keep-alive connections, on a schedule
/// (`rate` per second) or as fast as answered; the user rotates per request.
async fn drive(
    addr: SocketAddr,
    posters: usize,
    total: u64,
    rate: Option<f64>,
    tokens: Arc<Vec<String>>,
    body: impl Fn(u64) -> (&'static str, Value) + Send + Sync + Clone + 'static,
) -> Outcome {
    let start = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..posters.max(1) {
        let (next, tokens, body) = (next.clone(), tokens.clone(), body.clone());
        tasks.spawn(async move {
            let mut client = HttpClient::new(addr, Duration::from_secs(30));
            let mut out = Outcome::default();
            let interval = rate.map(|r| Duration::from_secs_f64(1.0 / r));
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                if let Some(interval) = interval {
                    let due = start + interval.mul_f64(i as f64);
                    tokio::time::sleep_until(due).await;
                    if Instant::now().duration_since(due) > interval {
                        out.behind_schedule += 1;
                    }
                }
                client.set_token(tokens[i as usize % tokens.len()].clone());
                let (path, json) = body(i);
                let sent = Instant::now();
                match client.post(path, Some(&json)).await {
                    Ok(r) if r.status == 201 => {
                        out.accepted += 1;
                        out.latency.record(sent.elapsed().as_micros() as u64);
                    }
                    Ok(r) => {
                        *out.errors
                            .entry(format!("status {}", r.status))
                            .or_default() += 1
                    }
                    Err(e) => *out.errors.entry(e).or_default() += 1,
                }
            }
            out
        });
    }
    let mut total_out = Outcome::default();
    while let Some(done) = tasks.join_next().await {
        if let Ok(out) = done {
            total_out.merge(out);
        }
    }
    total_out
}

/// One watcher on `comments:{live}`: counts `comment` frames (and answers
/// pings, which tungstenite does while reading).
async fn watch(
    addr: SocketAddr,
    live: i64,
    i: u64,
    watching: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
) {
    // Spread over source addresses like the fleet does, past ~28k ports.
    let source = std::net::Ipv4Addr::new(127, 3, (i / 250) as u8, (i % 250) as u8 + 1);
    let socket = match tokio::net::TcpSocket::new_v4() {
        Ok(s) => s,
        Err(_) => return,
    };
    if socket.bind(SocketAddr::new(source.into(), 0)).is_err() {
        return;
    }
    let Ok(stream) = socket.connect(addr).await else {
        return;
    };
    let url = format!("ws://{addr}/api/live/comments/{live}/");
    let Ok((mut ws, _)) = tokio_tungstenite::client_async(url, stream).await else {
        return;
    };
    let mut counted = false;
    while let Some(Ok(msg)) = ws.next().await {
        let Ok(text) = msg.to_text() else { continue };
        if !counted && text.contains("\"subscribed\"") {
            counted = true;
            watching.fetch_add(1, Ordering::Relaxed);
        } else if text.starts_with("{\"type\":\"comment\"") || text.contains("\"type\":\"comment\"")
        {
            received.fetch_add(1, Ordering::Relaxed);
        }
    }
}
