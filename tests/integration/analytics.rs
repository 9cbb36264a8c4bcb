//! Live analytics and the cluster monitor over real sockets and PostgreSQL:
//! the figures of a night checked against what the test did (viewers,
//! comments accepted and refused, reactions, votes, engaged users, push),
//! the per-minute series and the CSV export agreeing with the totals, the
//! numbers kept across a restart and summed over two nodes, the roles, and
//! the monitor listing the nodes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use awc::http::StatusCode;
use ringside::config::Config;
use ringside_push_fakes::FakeFcm;
use serde_json::{json, Value};

use crate::child::ChildServer;
use crate::comments::comment;
use crate::harness::{assert_error, fresh_database, test_config_with, RedisServer, TestApp};
use crate::live_ws::{live_event, post_update, watch};

/// How long a test waits for a flush to show.
const PATIENCE: Duration = Duration::from_secs(30);

/// Test settings with a short flush, so a test waits for flushes, not for 10 s.
fn config(database: String, extra: &[(&str, String)]) -> Config {
    let mut config = test_config_with(database, extra);
    config.analytics_flush_interval = Duration::from_millis(200);
    config
}

async fn analytics(app: &TestApp, token: &str, event: i64) -> Value {
    let (status, body) = app
        .get(&format!("/api/live/analytics/?event={event}"), Some(token))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Polls the event's analytics until `done` holds; panics after [`PATIENCE`].
async fn until(app: &TestApp, token: &str, event: i64, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let got = analytics(app, token, event).await;
        if done(&got) {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "analytics never got there: {got}"
        );
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
}

fn sum(points: &Value) -> i64 {
    points
        .as_array()
        .expect("a series")
        .iter()
        .map(|p| p["count"].as_i64().expect("count"))
        .sum()
}

fn values(map: &Value) -> i64 {
    map.as_object()
        .expect("a map")
        .values()
        .map(|v| v.as_i64().expect("a number"))
        .sum()
}

/// Series are ascending UTC minutes (`…:00Z`) with no empty minute.
fn assert_minutes(points: &Value) {
    let ts: Vec<&str> = points
        .as_array()
        .expect("a series")
        .iter()
        .map(|p| {
            assert!(p["count"].as_i64() > Some(0), "an empty minute: {points}");
            p["t"].as_str().expect("t")
        })
        .collect();
    for t in &ts {
        assert!(t.ends_with(":00Z"), "not a minute's start: {t}");
    }
    assert!(
        ts.windows(2).all(|w| w[0] < w[1]),
        "not ascending: {points}"
    );
}

/// Every series of a night sums to its total.
fn assert_consistent(got: &Value) {
    assert_minutes(&got["viewers"]["series"]);
    assert_minutes(&got["messages"]["per_minute"]);
    assert_minutes(&got["comments"]["per_minute"]);
    assert_eq!(
        sum(&got["messages"]["per_minute"]),
        got["messages"]["total"]
    );
    assert_eq!(
        values(&got["messages"]["by_type"]),
        got["messages"]["total"]
    );
    assert_eq!(
        sum(&got["comments"]["per_minute"]),
        got["comments"]["total"]
    );
    assert_eq!(
        values(&got["reactions"]["by_type"]),
        got["reactions"]["total"]
    );
    let peak = got["viewers"]["peak"].as_i64().expect("peak");
    for p in got["viewers"]["series"].as_array().expect("series") {
        assert!(p["count"].as_i64() <= Some(peak), "{got}");
    }
}

/// The CSV export as (content type, disposition, body).
async fn csv(app: &TestApp, token: &str, event: i64) -> (String, String, String) {
    let mut resp = app
        .client
        .get(app.url(&format!("/api/live/analytics/?event={event}&format=csv")))
        .bearer_auth(token)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (kind, disposition) = (header("content-type"), header("content-disposition"));
    let body = resp.body().await.expect("body");
    (
        kind,
        disposition,
        String::from_utf8(body.to_vec()).expect("UTF-8"),
    )
}

/// The CSV rows say per minute what the JSON says.
fn assert_csv_matches(text: &str, got: &Value) {
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("minute,viewers,messages,comments,comments_refused,reactions")
    );
    let per_minute = |series: &Value| -> BTreeMap<String, i64> {
        series
            .as_array()
            .expect("series")
            .iter()
            .map(|p| {
                (
                    p["t"].as_str().expect("t").to_string(),
                    p["count"].as_i64().expect("n"),
                )
            })
            .collect()
    };
    let (viewers, messages, comments) = (
        per_minute(&got["viewers"]["series"]),
        per_minute(&got["messages"]["per_minute"]),
        per_minute(&got["comments"]["per_minute"]),
    );
    let mut rows = BTreeSet::new();
    let (mut refused, mut reactions) = (0, 0);
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), 6, "{line}");
        let n = |i: usize| cells[i].parse::<i64>().expect("a number");
        let minute = cells[0].to_string();
        assert_eq!(viewers.get(&minute).copied().unwrap_or(0), n(1), "{line}");
        assert_eq!(messages.get(&minute).copied().unwrap_or(0), n(2), "{line}");
        assert_eq!(comments.get(&minute).copied().unwrap_or(0), n(3), "{line}");
        refused += n(4);
        reactions += n(5);
        assert!(rows.insert(minute), "one row per minute: {text}");
    }
    for minute in viewers.keys().chain(messages.keys()).chain(comments.keys()) {
        assert!(rows.contains(minute), "{minute} has no row: {text}");
    }
    assert_eq!(refused, values(&got["comments"]["refused"]));
    assert_eq!(reactions, got["reactions"]["total"]);
}

async fn react(app: &TestApp, token: &str, event: i64, kind: &str) {
    let (status, body) = app
        .post(
            "/api/live/reactions/",
            Some(token),
            json!({ "target_type": "event", "target_id": event, "reaction_type": kind }),
        )
        .await;
    assert!(status.is_success(), "{body}");
}

/// The durable messages stored for the event's channels (its own, its
/// comments' and its fights'), by frame type: what analytics must have counted.
fn stored_by_type(app: &TestApp, event: i64, fights: &[i64]) -> Value {
    let mut channels = vec![format!("'event:{event}'"), format!("'comments:{event}'")];
    channels.extend(fights.iter().map(|f| format!("'fight:{f}'")));
    let rows = app.rows(&format!(
        "SELECT frame_type, count(*) AS n FROM channel_messages \
          WHERE channel IN ({}) GROUP BY frame_type",
        channels.join(", ")
    ));
    let by_type: serde_json::Map<String, Value> = rows
        .iter()
        .map(|r| {
            (
                r["frame_type"].as_str().expect("type").to_string(),
                r["n"].clone(),
            )
        })
        .collect();
    Value::Object(by_type)
}

/// A push provider (a local fake FCM) so a campaign queues deliveries.
fn push_vars(fcm: &FakeFcm) -> Vec<(&'static str, String)> {
    vec![
        ("FCM_SERVICE_ACCOUNT_JSON", fcm.service_account_json()),
        ("FCM_BASE_URL", fcm.base_url.clone()),
        ("PUSH_POLL_MS", "50".into()),
    ]
}

#[actix_rt::test]
async fn a_nights_figures_are_what_happened_and_survive_a_restart() {
    let fcm = FakeFcm::start();
    let database = fresh_database();
    let mut settings = config(database.clone(), &push_vars(&fcm));
    settings.live.comment_rate_limit = 4; // burst 2
    let app = TestApp::with_config(settings.clone()).await;
    let (admin, event, fights) = live_event(&app).await;
    let moderator = app.user_with_role("mod@ringside.test", "moderator").await;

    // Three viewers on the event.
    let mut viewers = Vec::new();
    for _ in 0..3 {
        viewers.push(watch(&app, event, "").await.0);
    }
    let got = until(&app, &moderator, event, |g| {
        g["viewers"]["current"] == 3 && g["viewers"]["peak"] == 3
    })
    .await;
    assert_eq!(got["event"], event);

    // Comments: a burst until the rate limit refuses, then slow mode.
    let mut engaged = BTreeSet::new();
    let (fan, fan_id) = app.register("fan@ringside.test").await;
    let (other, other_id) = app.register("other@ringside.test").await;
    let (mut accepted, mut rate_limited) = (0, 0);
    for i in 0..4 {
        let posted = comment(&app, &fan, event, &format!("round {i} was close"), None).await;
        match posted.0.as_u16() {
            201 => accepted += 1,
            _ => {
                assert_error(&posted, 429, "rate_limited");
                rate_limited += 1;
            }
        }
    }
    assert!(
        accepted >= 1 && rate_limited >= 1,
        "{accepted} {rate_limited}"
    );
    engaged.insert(fan_id);
    let (status, body) = app
        .post(
            &format!("/api/moderation/events/{event}/slow-mode/"),
            Some(&moderator),
            json!({ "seconds": 60 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = comment(&app, &other, event, "first from me", None).await;
    assert_eq!(status, StatusCode::CREATED);
    accepted += 1;
    engaged.insert(other_id);
    let slow = comment(&app, &other, event, "second so soon", None).await;
    assert_error(&slow, 429, "slow_mode");

    // Reactions of two types, and a poll with two votes.
    let (voter, voter_id) = app.register("voter@ringside.test").await;
    react(&app, &fan, event, "like").await;
    react(&app, &voter, event, "like").await;
    react(&app, &voter, event, "wow").await;
    engaged.insert(voter_id);
    let (status, poll) = app
        .post(
            "/api/live/polls/",
            Some(&admin),
            json!({ "live_event": event, "live_fight": null, "question": "Who wins?", "options": ["Red", "Blue"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{poll}");
    let poll_id = poll["id"].as_i64().expect("id");
    let (status, _) = app
        .post(
            &format!("/api/live/polls/{poll_id}/open/"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for voter in [&fan, &voter] {
        let (status, body) = app
            .post(
                &format!("/api/live/polls/{poll_id}/vote/"),
                Some(voter),
                json!({ "option": poll["options"][0]["id"] }),
            )
            .await;
        assert!(status.is_success(), "{body}");
    }
    post_update(&app, &admin, event, "Round 1 to Red").await;

    // A push campaign for the event's followers: one follower, one device.
    let catalog_event = app.rows(&format!(
        "SELECT event_id FROM live_events WHERE id = {event}"
    ))[0]["event_id"]
        .as_i64()
        .expect("event");
    let (follower, _) = app.register("follower@ringside.test").await;
    let (status, body) = app
        .post(
            "/api/follows/",
            Some(&follower),
            json!({ "target_type": "event", "target_id": catalog_event }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app
        .post(
            "/api/notifications/register/",
            Some(&follower),
            json!({ "platform": "android", "token": "device-1", "app_id": "com.ringside.app" }),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let (status, sent) = app
        .post(
            "/api/notifications/send/",
            Some(&admin),
            json!({ "audience": { "kind": "event_followers", "event": catalog_event },
                    "notification_type": "system", "title": "Main event next", "message": "Now." }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    let (_, mine) = app.get("/api/notifications/", Some(&follower)).await;
    let notification = mine["results"][0]["id"].as_i64().expect("a notification");
    let (status, _) = app
        .post(
            &format!("/api/notifications/{notification}/opened/"),
            Some(&follower),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // One viewer leaves: current drops, the peak stays.
    viewers.pop();
    let stored = stored_by_type(&app, event, &fights);
    let got = until(&app, &moderator, event, |g| {
        g["comments"]["total"] == accepted
            && g["reactions"]["total"] == 3
            && g["messages"]["by_type"] == stored
            && g["viewers"]["current"] == 2
            && g["push"]["sent"] == 1
    })
    .await;
    assert_eq!(got["viewers"]["peak"], 3, "{got}");
    assert_eq!(
        got["comments"]["refused"],
        json!({ "rate_limited": rate_limited, "slow_mode": 1 }),
        "{got}"
    );
    assert_eq!(got["reactions"]["by_type"], json!({ "like": 2, "wow": 1 }));
    assert_eq!(
        got["polls"],
        json!([{ "id": poll_id, "question": "Who wins?", "votes": 2 }])
    );
    assert_eq!(got["engaged_users"], engaged.len());
    assert_eq!(
        got["push"],
        json!({ "targeted": 1, "sent": 1, "opened": 1 }),
        "{got}"
    );
    // Each accepted comment went out once on `comments:{id}`; the poll on `event:{id}`.
    assert_eq!(got["messages"]["by_type"]["comment"], accepted, "{got}");
    assert!(
        got["messages"]["by_type"]["poll"].as_i64() >= Some(1),
        "{got}"
    );
    assert_consistent(&got);

    // The CSV says per minute what the JSON says.
    let (kind, disposition, text) = csv(&app, &moderator, event).await;
    assert!(kind.starts_with("text/csv"), "{kind}");
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert_csv_matches(&text, &got);

    // The all-events form lists this live event with the same figures.
    let (status, all) = app.get("/api/live/analytics/", Some(&moderator)).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let listed = all["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["event"] == event)
        .cloned()
        .expect("the live event is listed");
    assert_eq!(listed["comments"], got["comments"]);
    assert_eq!(all["totals"]["comments"], got["comments"]["total"]);
    assert_eq!(all["totals"]["engaged_users"], got["engaged_users"]);

    // A new server over the same database tells the same night.
    drop(viewers);
    let restarted = TestApp::with_config(settings).await;
    let moderator = restarted.login("mod@ringside.test", "password-123").await.1["token"]
        .as_str()
        .expect("token")
        .to_string();
    let after = analytics(&restarted, &moderator, event).await;
    for part in [
        "messages",
        "comments",
        "reactions",
        "polls",
        "engaged_users",
        "push",
    ] {
        assert_eq!(after[part], got[part], "{part} after the restart: {after}");
    }
    assert_eq!(after["viewers"]["peak"], 3);
    assert_eq!(after["viewers"]["series"], got["viewers"]["series"]);
}

/// What a node counted since its last flush is written when it stops
/// gracefully, so a restart loses nothing even with a long flush interval.
#[actix_rt::test]
async fn a_graceful_stop_flushes_what_was_counted() {
    let env = [("ANALYTICS_FLUSH_INTERVAL", "3600")];
    let mut server = ChildServer::start(&env).await;
    let app = server.app();
    let (_, event, _) = live_event(&app).await;
    let (fan, _) = app.register("fan@ringside.test").await;
    for text in ["left hook", "right cross"] {
        let (status, body) = comment(&app, &fan, event, text, None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    react(&app, &fan, event, "wow").await;
    assert_eq!(app.count("analytics"), 0, "nothing flushed before the stop");

    server.stop();
    server.restart(&env).await;
    let app = server.app();
    let admin = app.admin_token().await;
    let got = analytics(&app, &admin, event).await;
    assert_eq!(got["comments"]["total"], 2, "{got}");
    assert_eq!(got["messages"]["by_type"]["comment"], 2, "{got}");
    assert_eq!(got["reactions"]["by_type"], json!({ "wow": 1 }), "{got}");
}

#[actix_rt::test]
async fn the_numbers_of_two_nodes_add_up() {
    let redis = RedisServer::start();
    let database = fresh_database();
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let mut settings = config(database.clone(), &[]);
        settings.redis_url = Some(redis.url());
        let app = TestApp::with_config(settings).await;
        assert_eq!(app.wait_ready(true).await["bus"], "redis");
        nodes.push(app);
    }
    let (a, b) = (&nodes[0], &nodes[1]);
    let (admin, event, fights) = live_event(a).await;

    // Two viewers on one node, one on the other; comments and reactions on both.
    let mut viewers = vec![
        watch(a, event, "").await.0,
        watch(a, event, "").await.0,
        watch(b, event, "").await.0,
    ];
    for (i, node) in nodes.iter().enumerate() {
        let (fan, _) = node.register(&format!("fan{i}@ringside.test")).await;
        for n in 0..2 {
            let (status, body) =
                comment(node, &fan, event, &format!("node {i} says {n}"), None).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        react(node, &fan, event, "celebrate").await;
    }
    post_update(b, &admin, event, "From the other node").await;
    // A fight's frames (on `fight:{id}` and `event:{id}`) count for its event.
    let (status, body) = b
        .post(
            &format!("/api/live/fights/{}/officials/", fights[0]),
            Some(&admin),
            json!({ "referee": "Herb Dean", "judges": ["Sal D'Amato", "Derek Cleary", "Chris Lee"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Counted once, by the node that published, however many nodes delivered.
    let stored = stored_by_type(a, event, &fights);
    assert_eq!(stored["fight_state"], 2, "{stored}");
    let got = until(a, &admin, event, |g| {
        g["comments"]["total"] == 4
            && g["reactions"]["by_type"]["celebrate"] == 2
            && g["messages"]["by_type"] == stored
            && g["viewers"]["peak"] == 3
    })
    .await;
    assert_eq!(got["messages"]["by_type"]["comment"], 4, "{got}");
    assert_eq!(got["engaged_users"], 2);
    assert_consistent(&got);
    // The peak is the sum of the two nodes' rows for a minute.
    let rows = a.rows(&format!(
        "SELECT node, max(value) AS most FROM analytics_viewers WHERE live_event_id = {event} GROUP BY node ORDER BY node"
    ));
    assert_eq!(rows.len(), 2, "one viewer row per node: {rows:?}");
    // Either node answers the same night.
    let from_b = analytics(b, &admin, event).await;
    assert_eq!(from_b["comments"], got["comments"]);

    // The monitor lists both nodes, alive, on Redis, with their rooms.
    let deadline = Instant::now() + PATIENCE;
    let monitor = loop {
        let (status, monitor) = a.get("/api/admin/monitor/", Some(&admin)).await;
        assert_eq!(status, StatusCode::OK, "{monitor}");
        let ready = monitor["nodes"].as_array().is_some_and(|nodes| {
            nodes.len() == 2
                && nodes
                    .iter()
                    .all(|n| n["alive"] == true && n["rooms"].as_i64() >= Some(1))
        });
        if ready {
            break monitor;
        }
        assert!(
            Instant::now() < deadline,
            "the monitor never listed both: {monitor}"
        );
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    };
    for node in monitor["nodes"].as_array().expect("nodes") {
        assert_eq!(node["bus"], "redis", "{node}");
        assert_eq!(node["bus_healthy"], true, "{node}");
        assert!(
            node["transports"]["websocket"].as_i64() >= Some(1),
            "{node}"
        );
        assert!(node["frames_per_second"].as_f64().is_some(), "{node}");
    }
    assert!(monitor["totals"]["rooms"].as_i64() >= Some(2), "{monitor}");
    viewers.clear();
}

#[actix_rt::test]
async fn the_monitor_shows_this_node_and_a_node_gone_quiet() {
    let app = TestApp::with_config(config(fresh_database(), &[])).await;
    let (admin, event, _) = live_event(&app).await;
    let _viewers = [
        watch(&app, event, "").await.0,
        watch(&app, event, "").await.0,
    ];
    app.execute(
        "INSERT INTO cluster_nodes (node, started_at, seen_at, figures) \
         VALUES ('gone-1', now() - interval '1 hour', now() - interval '1 minute', \
                 '{\"rooms\": 7, \"transports\": {\"websocket\": 40}}')",
    );
    let deadline = Instant::now() + PATIENCE;
    let monitor = loop {
        let (status, monitor) = app.get("/api/admin/monitor/", Some(&admin)).await;
        assert_eq!(status, StatusCode::OK, "{monitor}");
        let here = monitor["nodes"].as_array().and_then(|nodes| {
            nodes
                .iter()
                .find(|n| n["node"] != "gone-1" && n["rooms"].as_i64() >= Some(1))
                .cloned()
        });
        if let Some(here) = here.filter(|n| n["transports"]["websocket"].as_i64() >= Some(2)) {
            break (monitor, here);
        }
        assert!(
            Instant::now() < deadline,
            "this node never showed: {monitor}"
        );
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    };
    let (monitor, here) = monitor;
    assert_eq!(here["alive"], true);
    assert_eq!(here["bus"], "memory");
    assert_eq!(here["bus_healthy"], true);
    let gone = monitor["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["node"] == "gone-1")
        .cloned()
        .expect("the quiet node is listed");
    assert_eq!(gone["alive"], false);
    // Totals count the nodes alive only.
    assert_eq!(monitor["totals"]["rooms"], here["rooms"], "{monitor}");
    assert_eq!(
        monitor["push"],
        json!({ "pending": 0, "in_flight": 0, "sent": 0, "failed": 0, "invalid_token": 0, "expired": 0 })
    );
}

#[actix_rt::test]
async fn analytics_and_the_monitor_refuse_whom_they_must() {
    let app = TestApp::with_config(config(fresh_database(), &[])).await;
    let (admin, event, _) = live_event(&app).await;
    let moderator = app.user_with_role("mod@ringside.test", "moderator").await;
    let reporter = app.user_with_role("rep@ringside.test", "reporter").await;
    let (viewer, _) = app.register("fan@ringside.test").await;
    let path = format!("/api/live/analytics/?event={event}");

    assert_error(&app.get(&path, None).await, 401, "unauthorized");
    assert_error(
        &app.get("/api/live/analytics/", None).await,
        401,
        "unauthorized",
    );
    for token in [&viewer, &reporter] {
        assert_error(&app.get(&path, Some(token)).await, 403, "forbidden");
    }
    // A bad query is read only after the role: 401 first.
    assert_error(
        &app.get("/api/live/analytics/?event=abc", None).await,
        401,
        "unauthorized",
    );
    for bad in [
        "?event=abc",
        "?event=1&format=xml",
        "?format=csv",
        "?evnt=1",
    ] {
        let got = app
            .get(&format!("/api/live/analytics/{bad}"), Some(&moderator))
            .await;
        assert_error(&got, 400, "bad_request");
    }
    assert_error(
        &app.get("/api/live/analytics/?event=999999", Some(&moderator))
            .await,
        404,
        "not_found",
    );
    for token in [&moderator, &admin] {
        let (status, body) = app.get(&path, Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // A live event with nothing counted yet: zeros and empty series.
    let (_, body) = app.get(&path, Some(&moderator)).await;
    assert_eq!(body["comments"]["total"], 0);
    assert_eq!(body["comments"]["per_minute"], json!([]));
    assert_eq!(body["polls"], json!([]));

    assert_error(
        &app.get("/api/admin/monitor/", None).await,
        401,
        "unauthorized",
    );
    for token in [&viewer, &reporter, &moderator] {
        assert_error(
            &app.get("/api/admin/monitor/", Some(token)).await,
            403,
            "forbidden",
        );
    }
    let (status, body) = app.get("/api/admin/monitor/", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
