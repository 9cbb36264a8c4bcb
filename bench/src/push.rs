//! The `push` scenario: a bulk send to N registered devices (half Android,
//! half iOS) against the local fake FCM and APNs servers; the time from the
//! send request to the provider acceptances, p95 and last (DESIGN §7:
//! 10,000 devices p95 under a second, 100,000 under 8 s).
//!
//! The fakes run inside this process (each on a thread of its own) and
//! check credentials and wire formats as in the tests, and advertise and
//! enforce the providers' limits (FCM: 100 streams per HTTP/2 connection
//! and 600,000 sends a minute; APNs: 1000 streams; see `push-fakes`'s
//! header), unless the flags below say otherwise. Devices are spread
//! over `--users` accounts (signing up is deliberately slow: argon2), so a
//! send to everyone stores one notification per account and queues one
//! push per device.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ringside_push_fakes::{FakeApns, FakeFcm, Limits, Quota};
use serde_json::{json, Value};

use crate::http::HttpClient;
use crate::scenario::CommonArgs;

#[derive(Debug, Clone, clap::Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Accounts the devices belong to.
    #[arg(long, default_value_t = 500)]
    pub users: u64,
    /// Devices in all (spread evenly over the accounts).
    #[arg(long, default_value_t = 10_000)]
    pub devices: u64,
    /// Bulk sends, one after another (each to every device).
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    /// Streams the fake FCM allows per HTTP/2 connection (Google's front
    /// ends: 100).
    #[arg(long, default_value_t = 100)]
    pub fcm_streams: u32,
    /// Streams the fake APNs allows per HTTP/2 connection (1000).
    #[arg(long, default_value_t = 1000)]
    pub apns_streams: u32,
    /// The fake FCM's quota, sends a minute (FCM's default: 600,000; 0: none).
    #[arg(long, default_value_t = 600_000)]
    pub fcm_quota: u64,
    /// The p95 each round must be under, in ms (default: DESIGN §7's, 1 s
    /// up to 10,000 devices, 8 s above).
    #[arg(long)]
    pub target_ms: Option<u64>,
}

pub async fn run(args: PushArgs) -> Result<(), String> {
    let fcm = FakeFcm::start_with(Limits {
        streams_per_connection: args.fcm_streams,
        quota: (args.fcm_quota > 0).then_some(Quota {
            requests: args.fcm_quota,
            window: Duration::from_secs(60),
        }),
    });
    let apns = FakeApns::start_with(Limits {
        streams_per_connection: args.apns_streams,
        quota: None,
    });
    let dir = std::env::temp_dir().join(format!("ringside-bench-push-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let account = dir.join("service-account.json");
    let key = dir.join("apns-key.p8");
    std::fs::write(&account, fcm.service_account_json()).map_err(|e| e.to_string())?;
    std::fs::write(&key, ringside_push_fakes::APNS_PRIVATE_KEY).map_err(|e| e.to_string())?;
    let mut common = args.common.clone();
    let settings = [
        format!("FCM_SERVICE_ACCOUNT_FILE={}", account.display()),
        format!("FCM_BASE_URL={}", fcm.base_url),
        format!("APNS_KEY_FILE={}", key.display()),
        format!("APNS_KEY_ID={}", ringside_push_fakes::APNS_KEY_ID),
        format!("APNS_TEAM_ID={}", ringside_push_fakes::APNS_TEAM_ID),
        format!("APNS_TOPIC={}", ringside_push_fakes::APNS_TOPIC),
        format!("APNS_BASE_URL={}", apns.base_url),
        "LOGIN_RATE_PER_IP=100000".to_string(),
    ];
    common.server_env = settings.into_iter().chain(common.server_env).collect();
    let env = crate::scenario::Env {
        common: &common,
        viewers: 0,
    };
    let mut server =
        crate::scenario::server_for(crate::server_control::Kind::Ringside, &env).await?;
    let result = measure(&args, server.addr, &fcm, &apns).await;
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    let figures = result?;
    println!(
        "{}",
        serde_json::to_string_pretty(&figures).unwrap_or_default()
    );
    Ok(())
}

async fn measure(
    args: &PushArgs,
    addr: SocketAddr,
    fcm: &FakeFcm,
    apns: &FakeApns,
) -> Result<Value, String> {
    let c = &args.common;
    let mut admin = crate::api::sign_in(addr, &c.admin_email, &c.admin_password).await?;
    eprintln!("registering {} users…", args.users);
    let tokens = crate::engagement::register(addr, args.users).await?;
    eprintln!("registering {} devices…", args.devices);
    register_devices(addr, &tokens, args.devices).await?;

    let mut rounds = Vec::new();
    for round in 0..args.rounds {
        let before = fcm.accepted() + apns.accepted();
        let target = before + args.devices as usize;
        // The admin's connection sat idle: open a fresh one.
        admin.reconnect();
        let started = Instant::now();
        let sent = admin
            .post(
                "/api/notifications/send/",
                Some(&json!({
                    "audience": { "kind": "all" }, "notification_type": "system",
                    "title": format!("Round {round}"), "message": "Doors open, {user}.",
                })),
            )
            .await?;
        let answered = started.elapsed();
        if sent.status != 202 {
            return Err(format!("send: {} {}", sent.status, sent.text()));
        }
        let campaign = sent.json()?["id"].clone();
        let deadline = Instant::now() + Duration::from_secs(120);
        while fcm.accepted() + apns.accepted() < target && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let mut times: Vec<Duration> = fcm
            .accepted_since(started)
            .into_iter()
            .chain(apns.accepted_since(started))
            .map(|at| at - started)
            .collect();
        if times.len() < args.devices as usize {
            return Err(format!(
                "round {round}: only {} of {} pushes accepted within 120 s",
                times.len(),
                args.devices
            ));
        }
        times.sort_unstable();
        let at = |q: f64| ms(times[((times.len() - 1) as f64 * q).round() as usize]);
        // Idle while the pushes went out, perhaps past the server's
        // keep-alive (5 s, a 100,000-device round): a fresh connection.
        admin.reconnect();
        let stats = server_stats(&mut admin, &campaign).await?;
        eprintln!(
            "round {round}: last acceptance {} ms after the request",
            at(1.0)
        );
        rounds.push(json!({
            "round": round,
            "send_answered_ms": ms(answered),
            "first_acceptance_ms": at(0.0),
            "p50_acceptance_ms": at(0.5),
            "p95_acceptance_ms": at(0.95),
            "p99_acceptance_ms": at(0.99),
            "last_acceptance_ms": at(1.0),
            "server": stats,
        }));
    }
    let of = |key: &str| -> Vec<f64> { rounds.iter().filter_map(|r| r[key].as_f64()).collect() };
    let (p95, last) = (of("p95_acceptance_ms"), of("last_acceptance_ms"));
    let target = args
        .target_ms
        .unwrap_or(if args.devices > 10_000 { 8_000 } else { 1_000 });
    let throttled = fcm.answered().iter().filter(|a| a.status == 429).count();
    let connections = |seen: Vec<ringside_push_fakes::ConnectionSeen>| {
        json!({
            "opened": seen.len(),
            "max_streams_on_one": seen.iter().map(|c| c.max_streams).max().unwrap_or(0),
        })
    };
    Ok(json!({
        "scenario": "push",
        "users": args.users,
        "devices": args.devices,
        "limits": {
            "fcm_streams_per_connection": args.fcm_streams,
            "apns_streams_per_connection": args.apns_streams,
            "fcm_quota_per_minute": args.fcm_quota,
        },
        "connections": {
            "fcm": connections(fcm.connections()),
            "apns": connections(apns.connections()),
        },
        "fcm_429s": throttled,
        "auth_refusals": fcm.rejected_auth() + apns.rejected_auth(),
        "oauth_tokens_fetched": fcm.tokens_issued(),
        "p95_acceptance_ms": p95,
        "last_acceptance_ms": last,
        "target_p95_ms": target,
        "met": p95.iter().all(|ms| *ms < target as f64),
        "rounds": rounds,
    }))
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 100_000.0).round() / 100.0
}

/// `devices` registrations spread over the accounts, 16 connections at once.
async fn register_devices(addr: SocketAddr, tokens: &[String], devices: u64) -> Result<(), String> {
    let mut set = tokio::task::JoinSet::new();
    let lanes = 16u64;
    for lane in 0..lanes {
        let tokens = tokens.to_vec();
        set.spawn(async move {
            let mut client = HttpClient::new(addr, Duration::from_secs(30));
            let mut i = lane;
            while i < devices {
                let user = &tokens[(i % tokens.len() as u64) as usize];
                client.set_token(user.clone());
                let platform = if i % 2 == 0 { "android" } else { "ios" };
                let r = client
                    .post(
                        "/api/notifications/register/",
                        Some(&json!({ "platform": platform, "token": format!("bench-device-{i}"), "app_id": "com.ringside.app" })),
                    )
                    .await?;
                if r.status != 201 {
                    return Err(format!("register device: {} {}", r.status, r.text()));
                }
                i += lanes;
            }
            Ok::<_, String>(())
        });
    }
    while let Some(done) = set.join_next().await {
        done.map_err(|e| e.to_string())??;
    }
    Ok(())
}

/// The server's own view: counts and created-to-accepted latencies.
async fn server_stats(admin: &mut HttpClient, campaign: &Value) -> Result<Value, String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stats = admin
            .get(&format!(
                "/api/notifications/analytics/?campaign={campaign}"
            ))
            .await?
            .json()?;
        if stats["pending"] == 0 || Instant::now() > deadline {
            return Ok(json!({
                "targeted": stats["targeted"], "sent": stats["sent"], "failed": stats["failed"],
                "latency_p50_ms": stats["latency_p50_ms"], "latency_p99_ms": stats["latency_p99_ms"],
                "latency_max_ms": stats["latency_max_ms"],
            }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
