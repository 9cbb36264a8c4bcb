//! Mobile push end to end: the real server (in-process, or a child process
//! for restarts) against local fake FCM and APNs servers that check
//! credentials and wire formats and answer with the providers' errors.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use awc::http::StatusCode;
use ringside_push_fakes::{FakeApns, FakeFcm, Limits, Quota, Received, Reply};
use serde_json::{json, Value};

use crate::harness::{assert_error, fresh_database, test_config_with, TestApp};
use crate::notifications::change_preferences;
use crate::ws_client::WsClient;

/// How long a test waits for pushes that must arrive.
const PATIENCE: Duration = Duration::from_secs(30);

struct Fakes {
    fcm: FakeFcm,
    apns: FakeApns,
}

impl Fakes {
    fn start() -> Fakes {
        Fakes {
            fcm: FakeFcm::start(),
            apns: FakeApns::start(),
        }
    }

    fn with(fcm: Limits, apns: Limits) -> Fakes {
        Fakes {
            fcm: FakeFcm::start_with(fcm),
            apns: FakeApns::start_with(apns),
        }
    }

    /// Provider settings pointing at the fakes.
    fn vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("FCM_SERVICE_ACCOUNT_JSON", self.fcm.service_account_json()),
            ("FCM_BASE_URL", self.fcm.base_url.clone()),
            ("APNS_KEY", ringside_push_fakes::APNS_PRIVATE_KEY.into()),
            ("APNS_KEY_ID", ringside_push_fakes::APNS_KEY_ID.into()),
            ("APNS_TEAM_ID", ringside_push_fakes::APNS_TEAM_ID.into()),
            ("APNS_TOPIC", ringside_push_fakes::APNS_TOPIC.into()),
            ("APNS_BASE_URL", self.apns.base_url.clone()),
            ("PUSH_POLL_MS", "50".into()),
        ]
    }

    fn received(&self) -> Vec<Received> {
        let mut all = self.fcm.received();
        all.extend(self.apns.received());
        all
    }

    /// Accepted pushes per device token.
    fn per_token(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for r in self.received() {
            *counts.entry(r.token).or_insert(0) += 1;
        }
        counts
    }
}

async fn push_app(fakes: &Fakes, extra: &[(&'static str, String)]) -> TestApp {
    push_app_on(fresh_database(), fakes, extra).await
}

async fn push_app_on(db: String, fakes: &Fakes, extra: &[(&'static str, String)]) -> TestApp {
    let mut vars = extra.to_vec();
    vars.extend(fakes.vars());
    TestApp::with_config(test_config_with(db, &vars)).await
}

/// Polls `done` until it holds; panics after `PATIENCE`.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn register_device(app: &TestApp, user: &str, platform: &str, token: &str) {
    let (status, body) = app
        .post(
            "/api/notifications/register/",
            Some(user),
            json!({ "platform": platform, "token": token, "app_id": "com.ringside.app" }),
        )
        .await;
    assert!(status.is_success(), "{body}");
}

async fn send(app: &TestApp, admin: &str, body: Value) -> Value {
    let (status, sent) = app
        .post("/api/notifications/send/", Some(admin), body)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    sent
}

/// A plain `system` notification for one user.
fn to_user(user: i64, title: &str) -> Value {
    json!({ "audience": { "kind": "users", "users": [user] },
            "notification_type": "system", "title": title, "message": "Test." })
}

/// The admin sends to everyone; answers (admin token, the 202 body).
async fn send_to_everyone(app: &TestApp, devices: usize) -> (String, Value) {
    let admin = app.admin_token().await;
    let sent = send(
        app,
        &admin,
        json!({ "audience": { "kind": "all" }, "notification_type": "system",
                "title": "Doors open", "message": "Welcome." }),
    )
    .await;
    assert_eq!(sent["deliveries"], devices);
    (admin, sent)
}

async fn analytics(app: &TestApp, admin: &str, campaign: &Value) -> Value {
    let (status, stats) = app
        .get(
            &format!("/api/notifications/analytics/?campaign={campaign}"),
            Some(admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    stats
}

/// Analytics once nothing of the campaign is pending any more.
async fn settled(app: &TestApp, admin: &str, campaign: &Value) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let stats = analytics(app, admin, campaign).await;
        if stats["pending"] == 0 {
            return stats;
        }
        assert!(Instant::now() < deadline, "campaign still pending: {stats}");
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_rt::test]
async fn a_notification_reaches_the_socket_fcm_and_apns_and_is_tracked() {
    let fakes = Fakes::start();
    let app = push_app(&fakes, &[]).await;
    let admin = app.admin_token().await;
    let (fan, fan_id) = app.register("fan@ringside.test").await;
    register_device(&app, &fan, "android", "fcm-fan").await;
    register_device(&app, &fan, "ios", "apns-fan").await;
    let mut inbox = WsClient::open(&app, &format!("/api/live/notifications/?token={fan}")).await;
    inbox.next_durable().await;

    let sent = send(
        &app,
        &admin,
        json!({
            "audience": { "kind": "users", "users": [fan_id] },
            "notification_type": "system", "title": "Hello {user}",
            "message": "Doors open in ten minutes, {user}.", "action_url": "/live",
            "data": { "gate": 4, "note": "bring id" },
        }),
    )
    .await;
    assert_eq!(
        (sent["recipients"].as_i64(), sent["deliveries"].as_i64()),
        (Some(1), Some(2))
    );

    // In-app at once, personalised.
    let live = inbox.next_durable().await;
    assert_eq!(live["type"], "notification", "{live}");
    assert_eq!(live["data"]["title"], "Hello Fan");
    assert_eq!(live["data"]["campaign"], sent["id"]);
    let id = live["data"]["id"].as_i64().expect("id");

    until("both pushes", || fakes.received().len() == 2).await;
    let fcm = &fakes.fcm.received()[0];
    let m = &fcm.body["message"];
    assert_eq!(fcm.token, "fcm-fan");
    assert_eq!(m["notification"]["title"], "Hello Fan");
    assert_eq!(m["notification"]["body"], "Doors open in ten minutes, Fan.");
    assert_eq!(m["data"]["gate"], "4", "FCM data values are strings");
    assert_eq!(m["data"]["notification_id"], id.to_string());
    assert_eq!(m["data"]["action_url"], "/live");
    assert_eq!(m["android"]["collapse_key"], format!("n{id}"));
    assert_eq!(m["android"]["priority"], "NORMAL");
    let apns = &fakes.apns.received()[0];
    assert_eq!(apns.token, "apns-fan");
    assert_eq!(apns.headers["apns-topic"], ringside_push_fakes::APNS_TOPIC);
    assert_eq!(apns.headers["apns-push-type"], "alert");
    assert_eq!(apns.headers["apns-priority"], "5");
    assert_eq!(apns.headers["apns-collapse-id"], format!("n{id}"));
    let expiration: i64 = apns.headers["apns-expiration"].parse().expect("a number");
    assert!(expiration > chrono::Utc::now().timestamp() + 3600);
    assert_eq!(apns.body["aps"]["alert"]["title"], "Hello Fan");
    assert_eq!(apns.body["notification_id"], id);
    assert_eq!(apns.body["data"]["gate"], 4);
    assert_eq!(fakes.fcm.rejected_auth() + fakes.apns.rejected_auth(), 0);

    let stats = settled(&app, &admin, &sent["id"]).await;
    assert_eq!(
        (
            &stats["recipients"],
            &stats["targeted"],
            &stats["sent"],
            &stats["failed"],
            &stats["invalid"]
        ),
        (&json!(1), &json!(2), &json!(2), &json!(0), &json!(0)),
        "{stats}"
    );
    assert!(
        stats["latency_p50_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{stats}"
    );
    assert!(stats["latency_max_ms"].as_f64() >= stats["latency_p50_ms"].as_f64());
    let (status, _) = app
        .post(
            &format!("/api/notifications/{id}/opened/"),
            Some(&fan),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(analytics(&app, &admin, &sent["id"]).await["opened"], 1);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (_, mine) = app.get("/api/notifications/", Some(&fan)).await;
        if mine["results"][0]["delivery_status"] == "sent" {
            assert!(mine["results"][0]["sent_at"].is_string());
            break;
        }
        assert!(Instant::now() < deadline, "never rolled up: {mine}");
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }

    // The OAuth2 access token is cached, not fetched per push.
    send(&app, &admin, to_user(fan_id, "Again")).await;
    until("the second pushes", || fakes.received().len() == 4).await;
    assert_eq!(fakes.fcm.tokens_issued(), 1);
    let (_, listed) = app.get("/api/notifications/analytics/", Some(&admin)).await;
    assert_eq!(
        listed["results"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );
}

/// The `delivery_status` of `user`'s newest notification.
async fn newest_status(app: &TestApp, user: &str) -> Value {
    let (status, mine) = app.get("/api/notifications/", Some(user)).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    mine["results"][0]["delivery_status"].clone()
}

/// Waits until `user`'s newest notification is `sent`; how long it took.
async fn until_sent(app: &TestApp, user: &str) -> Duration {
    let started = Instant::now();
    while newest_status(app, user).await != "sent" {
        assert!(started.elapsed() < PATIENCE, "never rolled up");
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

#[actix_rt::test]
async fn a_notification_settles_while_other_pushes_are_still_in_flight() {
    let fakes = Fakes::start();
    fakes.apns.slow_token("apns-slow", Duration::from_secs(8));
    let app = push_app(&fakes, &[]).await;
    let admin = app.admin_token().await;
    let (first, first_id) = app.register("first@ringside.test").await;
    let (quick, quick_id) = app.register("quick@ringside.test").await;
    let (slow, slow_id) = app.register("slow@ringside.test").await;
    register_device(&app, &first, "ios", "apns-first").await;
    register_device(&app, &quick, "ios", "apns-quick").await;
    register_device(&app, &slow, "ios", "apns-slow").await;
    // One notification settles with the dispatcher idle: a roll-up just ran.
    send(&app, &admin, to_user(first_id, "First")).await;
    until_sent(&app, &first).await;
    // Then two at once: one answered at once, one held for 8 s. The quick
    // one's state must not wait for the slow one's answer.
    send(
        &app,
        &admin,
        json!({ "audience": { "kind": "users", "users": [quick_id, slow_id] },
                "notification_type": "system", "title": "Two", "message": "Test." }),
    )
    .await;
    let took = until_sent(&app, &quick).await;
    assert!(took < Duration::from_secs(6), "settled only after {took:?}");
    assert!(
        fakes.apns.answered().iter().all(|a| a.token != "apns-slow"),
        "the slow push was still in flight"
    );
    assert_eq!(newest_status(&app, &slow).await, "pending");
}

#[actix_rt::test]
async fn dead_tokens_are_pruned_and_never_pushed_again() {
    let fakes = Fakes::start();
    let app = push_app(&fakes, &[]).await;
    let admin = app.admin_token().await;
    let (fan, fan_id) = app.register("fan@ringside.test").await;
    register_device(&app, &fan, "android", "uninstalled-android").await;
    register_device(&app, &fan, "ios", "uninstalled-ios").await;
    register_device(&app, &fan, "ios", "garbled-ios").await;
    register_device(&app, &fan, "android", "garbled-android").await;
    register_device(&app, &fan, "android", "alive-android").await;
    fakes.fcm.kill_token("uninstalled-android");
    fakes.apns.kill_token("uninstalled-ios");
    fakes.apns.script("garbled-ios", vec![Reply::BadToken]);
    fakes.fcm.script("garbled-android", vec![Reply::BadToken]);
    let to_fan = to_user(fan_id, "Hi");
    let sent = send(&app, &admin, to_fan.clone()).await;
    assert_eq!(sent["deliveries"], 5);
    let stats = settled(&app, &admin, &sent["id"]).await;
    assert_eq!(
        (&stats["sent"], &stats["invalid"]),
        (&json!(1), &json!(4)),
        "{stats}"
    );

    let devices =
        app.rows("SELECT token, is_active, deactivated_reason FROM devices ORDER BY token");
    for d in &devices {
        let alive = d["token"] == "alive-android";
        assert_eq!(d["is_active"], alive, "{d}");
        if !alive {
            assert_eq!(d["deactivated_reason"], "invalid_token", "{d}");
        }
    }
    let errors = app.rows(
        "SELECT d.token, n.last_error FROM notification_deliveries n JOIN devices d ON d.id = n.device_id \
         WHERE n.status = 'invalid_token' ORDER BY d.token",
    );
    let said: Vec<&str> = errors
        .iter()
        .map(|e| e["last_error"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(said.len(), 4, "{errors:?}");
    for (error, words) in said.iter().zip([
        "not a valid FCM registration token",
        "APNs 400: BadDeviceToken",
        "FCM 404: UNREGISTERED",
        "APNs 410: Unregistered",
    ]) {
        assert!(error.contains(words), "{error:?} should say {words:?}");
    }

    let again = send(&app, &admin, to_fan).await;
    assert_eq!(
        again["deliveries"], 1,
        "only the live device is targeted now"
    );
    settled(&app, &admin, &again["id"]).await;
    assert_eq!(fakes.per_token().get("alive-android"), Some(&2));
    // Deleting a device or a notification deletes its deliveries.
    let before = app.count("notification_deliveries");
    app.execute("DELETE FROM devices WHERE token = 'uninstalled-ios'");
    assert_eq!(app.count("notification_deliveries"), before - 1);
    app.execute(&format!(
        "DELETE FROM push_notifications WHERE campaign_id = {}",
        again["id"]
    ));
    assert_eq!(app.count("notification_deliveries"), before - 2);
    // Registering the token again revives it.
    register_device(&app, &fan, "ios", "garbled-ios").await;
    assert_eq!(
        app.rows("SELECT is_active FROM devices WHERE token = 'garbled-ios'")[0]["is_active"],
        true
    );
}

#[actix_rt::test]
async fn throttled_and_failing_pushes_are_retried_after_retry_after() {
    let fakes = Fakes::start();
    let app = push_app(&fakes, &[]).await;
    let admin = app.admin_token().await;
    let (fan, fan_id) = app.register("fan@ringside.test").await;
    for (platform, token) in [
        ("android", "throttled-android"),
        ("ios", "throttled-ios"),
        ("android", "flaky-android"),
    ] {
        register_device(&app, &fan, platform, token).await;
    }
    let later = || {
        vec![Reply::TooManyRequests {
            retry_after: Some(1),
        }]
    };
    fakes.fcm.script("throttled-android", later());
    fakes.apns.script("throttled-ios", later());
    fakes.fcm.script("flaky-android", vec![Reply::Unavailable]);
    let sent = send(&app, &admin, to_user(fan_id, "Hi")).await;
    let stats = settled(&app, &admin, &sent["id"]).await;
    assert_eq!(
        (&stats["sent"], &stats["failed"]),
        (&json!(3), &json!(0)),
        "{stats}"
    );
    assert_eq!(
        fakes.per_token().values().copied().collect::<Vec<_>>(),
        vec![1, 1, 1]
    );
    let mut answered = fakes.fcm.answered();
    answered.extend(fakes.apns.answered());
    for token in ["throttled-android", "throttled-ios", "flaky-android"] {
        let tries: Vec<_> = answered.iter().filter(|a| a.token == token).collect();
        let statuses: Vec<u16> = tries.iter().map(|a| a.status).collect();
        let first = if token.starts_with("flaky") { 503 } else { 429 };
        assert_eq!(statuses, vec![first, 200], "{token}");
        let waited = tries[1].at - tries[0].at;
        assert!(
            waited >= Duration::from_millis(950),
            "{token} retried after {waited:?}"
        );
    }
    // FCM's 429 with Retry-After is its quota: not an attempt. APNs' 429 is
    // about one device (too many pushes to it), a 503 an outage: attempts.
    let attempts = app.rows(
        "SELECT v.token, d.attempts FROM notification_deliveries d \
         JOIN devices v ON v.id = d.device_id ORDER BY d.id",
    );
    for a in &attempts {
        let counted = if a["token"] == "throttled-android" {
            1
        } else {
            2
        };
        assert_eq!(a["attempts"], counted, "{a}");
    }
}

#[actix_rt::test]
async fn a_revoked_access_token_is_renewed_and_the_push_retried() {
    let fakes = Fakes::start();
    let app = push_app(&fakes, &[]).await;
    let admin = app.admin_token().await;
    let (fan, fan_id) = app.register("fan@ringside.test").await;
    register_device(&app, &fan, "android", "fcm-fan").await;
    let hello = to_user(fan_id, "Hi");
    let first = send(&app, &admin, hello.clone()).await;
    settled(&app, &admin, &first["id"]).await;
    assert_eq!(fakes.fcm.tokens_issued(), 1);
    fakes.fcm.revoke_access_tokens();
    let second = send(&app, &admin, hello).await;
    let stats = settled(&app, &admin, &second["id"]).await;
    assert_eq!(stats["sent"], 1, "{stats}");
    assert_eq!(fakes.fcm.tokens_issued(), 2);
    assert_eq!(fakes.fcm.rejected_auth(), 1);
    assert_eq!(fakes.fcm.received().len(), 2);
}

/// Minutes after midnight now in `tz`, as PostgreSQL reads it.
fn local_minute(app: &TestApp, tz: &str) -> i64 {
    app.rows(&format!("SELECT ringside_local_minute('{tz}') AS m"))[0]["m"]
        .as_i64()
        .expect("minute")
}

#[actix_rt::test]
async fn preferences_and_quiet_hours_decide_who_is_pushed() {
    let fakes = Fakes::start();
    let app = push_app(&fakes, &[]).await;
    let admin = app.admin_token().await;
    let now_tokyo = local_minute(&app, "Asia/Tokyo");
    let mut users = HashMap::new();
    for name in ["all", "off", "quiet", "awake", "nonews", "followed"] {
        let (token, id) = app.register(&format!("{name}@ringside.test")).await;
        register_device(&app, &token, "android", &format!("tok-{name}")).await;
        // Quiet from half an hour ago to half an hour from now, Tokyo time;
        // "awake" has the same window read in UTC (9 h behind): not now.
        let window = json!({
            "quiet_start_min": (now_tokyo + 1410) % 1440,
            "quiet_end_min": (now_tokyo + 30) % 1440,
        });
        let change = match name {
            "off" => json!({ "push_enabled": false }),
            "nonews" => json!({ "breaking_news": false }),
            "followed" => json!({ "followed_only": true }),
            "quiet" => {
                let mut w = window.clone();
                w["timezone"] = json!("Asia/Tokyo");
                w
            }
            "awake" => window,
            _ => json!({}),
        };
        let saved = change_preferences(&app, &token, change).await;
        let zone = if name == "quiet" { "Asia/Tokyo" } else { "UTC" };
        assert_eq!(saved["timezone"], zone);
        users.insert(name, (token, id));
    }
    let bad_zone = app
        .call(
            "PUT",
            "/api/notifications/preferences/",
            Some(&users["all"].0),
            Some(
                json!({ "push_enabled": true, "fight_results": true, "breaking_news": true,
                         "ranking_changes": true, "event_start": true, "user_activity": true,
                         "followed_only": false, "quiet_start_min": null, "quiet_end_min": null,
                         "timezone": "Mars/Olympus" }),
            ),
        )
        .await;
    assert_error(&bad_zone, 400, "bad_request");

    let sent = send(
        &app,
        &admin,
        json!({ "audience": { "kind": "all" }, "notification_type": "breaking_news",
                "title": "Title fight announced", "message": "Main event set." }),
    )
    .await;
    // Stored for all, off, quiet, awake and the admin; pushed to all and awake.
    assert_eq!(
        (sent["recipients"].as_i64(), sent["deliveries"].as_i64()),
        (Some(5), Some(2))
    );
    settled(&app, &admin, &sent["id"]).await;
    let mut pushed: Vec<String> = fakes.received().into_iter().map(|r| r.token).collect();
    pushed.sort();
    assert_eq!(pushed, vec!["tok-all", "tok-awake"]);
    for (name, stored) in [("off", 1), ("quiet", 1), ("nonews", 0), ("followed", 0)] {
        let (_, list) = app.get("/api/notifications/", Some(&users[name].0)).await;
        assert_eq!(list["unread"], stored, "{name}: {list}");
    }

    // The emergency broadcast reaches every device and every session,
    // quiet hours and push settings notwithstanding.
    let (_, live_event, _) = crate::live_ws::live_event(&app).await;
    let mut anonymous = WsClient::open(&app, &format!("/api/live/events/{live_event}/")).await;
    anonymous.next_durable().await;
    let mut quiet_inbox = WsClient::open(
        &app,
        &format!("/api/live/notifications/?token={}", users["quiet"].0),
    )
    .await;
    quiet_inbox.next_durable().await;
    let (status, cast) = app
        .post(
            "/api/admin/broadcast/",
            Some(&admin),
            json!({ "title": "Evacuate hall B", "message": "Use the north exits." }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{cast}");
    assert_eq!(cast["deliveries"], 6);
    assert!(cast["sessions"].as_i64() >= Some(2), "{cast}");
    for inbox in [&mut anonymous, &mut quiet_inbox] {
        let mut frame = inbox.next().await;
        while matches!(frame["type"].as_str(), Some("viewers" | "presence")) {
            frame = inbox.next().await;
        }
        assert_eq!(
            (
                frame["type"].as_str(),
                frame["data"]["title"].as_str(),
                frame.get("seq")
            ),
            (Some("broadcast"), Some("Evacuate hall B"), None),
            "{frame}"
        );
    }
    settled(&app, &admin, &cast["id"]).await;
    let emergency: Vec<Received> = fakes
        .received()
        .into_iter()
        .filter(|r| r.body["message"]["notification"]["title"] == "Evacuate hall B")
        .collect();
    assert_eq!(emergency.len(), 6);
    assert!(emergency
        .iter()
        .all(|r| r.body["message"]["android"]["priority"] == "HIGH"));
    let stored = app.rows(
        "SELECT recipient_id, notification_type FROM push_notifications WHERE title = 'Evacuate hall B'",
    );
    assert_eq!(
        stored,
        vec![json!({ "recipient_id": null, "notification_type": "emergency" })]
    );
}

#[actix_rt::test]
async fn without_providers_nothing_is_queued_and_in_app_still_works() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (fan, fan_id) = app.register("fan@ringside.test").await;
    register_device(&app, &fan, "android", "fcm-fan").await;
    let sent = send(&app, &admin, to_user(fan_id, "Hi")).await;
    assert_eq!(
        (sent["recipients"].as_i64(), sent["deliveries"].as_i64()),
        (Some(1), Some(0))
    );
    let (_, list) = app.get("/api/notifications/", Some(&fan)).await;
    assert_eq!(list["results"][0]["delivery_status"], "skipped");
    assert_eq!(app.count("notification_deliveries"), 0);
}

#[actix_rt::test]
async fn sends_broadcasts_and_analytics_refuse_bad_input() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (viewer, _) = app.register("fan@ringside.test").await;
    let ok = json!({ "audience": { "kind": "all" }, "notification_type": "system",
                     "title": "Hi", "message": "Test." });
    let with = |field: &str, value: Value| {
        let mut body = ok.clone();
        body[field] = value;
        body
    };
    let cases = [
        (
            with("audience", json!({ "kind": "planet" })),
            400,
            "bad_request",
        ),
        (
            with("audience", json!({ "kind": "users", "users": [] })),
            400,
            "bad_request",
        ),
        (
            with("audience", json!({ "kind": "event_followers" })),
            400,
            "bad_request",
        ),
        (
            with(
                "audience",
                json!({ "kind": "event_followers", "event": 999_999 }),
            ),
            404,
            "not_found",
        ),
        (
            with(
                "audience",
                json!({ "kind": "fighter_followers", "fighter": 999_999 }),
            ),
            404,
            "not_found",
        ),
        (
            with("notification_type", json!("emergency")),
            400,
            "bad_request",
        ),
        (
            with("notification_type", json!("party")),
            400,
            "bad_request",
        ),
        (with("title", json!("")), 400, "bad_request"),
        (with("message", json!(7)), 400, "bad_request"),
        (with("data", json!([1])), 400, "bad_request"),
        (
            with("data", json!({ "blob": "x".repeat(3000) })),
            400,
            "bad_request",
        ),
        (with("surprise", json!(true)), 400, "bad_request"),
    ];
    for (body, status, code) in cases {
        let got = app
            .post("/api/notifications/send/", Some(&admin), body.clone())
            .await;
        assert_error(&got, status, code);
    }
    assert_eq!(app.count("notification_campaigns"), 0, "nothing was sent");
    assert_error(
        &app.post("/api/notifications/send/", Some(&viewer), ok.clone())
            .await,
        403,
        "forbidden",
    );
    assert_error(
        &app.post("/api/notifications/send/", None, ok).await,
        401,
        "unauthorized",
    );
    let cast = app
        .post(
            "/api/admin/broadcast/",
            Some(&admin),
            json!({ "title": "Only a title" }),
        )
        .await;
    assert_error(&cast, 400, "bad_request");
    let cast = app
        .post(
            "/api/admin/broadcast/",
            Some(&viewer),
            json!({ "title": "t", "message": "m" }),
        )
        .await;
    assert_error(&cast, 403, "forbidden");
    let stats = app
        .get(
            "/api/notifications/analytics/?campaign=999999",
            Some(&admin),
        )
        .await;
    assert_error(&stats, 404, "not_found");
    let stats = app
        .get("/api/notifications/analytics/?limit=0", Some(&admin))
        .await;
    assert_error(&stats, 400, "bad_request");
    let stats = app
        .get("/api/notifications/analytics/", Some(&viewer))
        .await;
    assert_error(&stats, 403, "forbidden");
    assert_eq!(app.count("notification_campaigns"), 0);
}

/// `n` users with one device each (half android, half ios), straight into
/// the database: the bulk tests are about sending, not signing up.
fn bulk_devices(app: &TestApp, n: usize) -> Vec<String> {
    app.execute(&format!(
        "INSERT INTO users (email, password_hash, display_name) \
         SELECT 'bulk' || g || '@ringside.test', 'x', 'Bulk ' || g FROM generate_series(1, {n}) g"
    ));
    app.execute(
        "INSERT INTO devices (user_id, platform, token, app_id) \
         SELECT id, CASE WHEN id % 2 = 0 THEN 'android' ELSE 'ios' END, 'bulk-' || id, 'app' \
         FROM users WHERE email LIKE 'bulk%'",
    );
    app.rows("SELECT token FROM devices WHERE token LIKE 'bulk-%'")
        .into_iter()
        .map(|r| r["token"].as_str().expect("token").to_string())
        .collect()
}

#[actix_rt::test]
async fn two_dispatchers_share_a_broadcast_and_never_push_twice() {
    let fakes = Fakes::start();
    fakes.fcm.set_delay(Duration::from_millis(10));
    fakes.apns.set_delay(Duration::from_millis(10));
    let db = fresh_database();
    let small = [("PUSH_CONCURRENCY", "8".to_string())];
    let one = push_app_on(db.clone(), &fakes, &small).await;
    let _two = push_app_on(db, &fakes, &small).await;
    let tokens = bulk_devices(&one, 400);
    // The emergency broadcast is claimed from the outbox by whichever
    // dispatcher gets there (a bulk send is handed to the sending node's).
    let admin = one.admin_token().await;
    let (status, cast) = one
        .post(
            "/api/admin/broadcast/",
            Some(&admin),
            json!({ "title": "Doors open", "message": "Welcome." }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{cast}");
    assert_eq!(cast["deliveries"], 400);
    settled(&one, &admin, &cast["id"]).await;
    let counts = fakes.per_token();
    assert_eq!(counts.len(), 400);
    assert!(
        tokens.iter().all(|t| counts.get(t) == Some(&1)),
        "a device was pushed twice or skipped"
    );
    let claimers = one.rows("SELECT DISTINCT claimed_by FROM notification_deliveries");
    assert_eq!(
        claimers.len(),
        2,
        "both dispatchers took part: {claimers:?}"
    );
}

#[actix_rt::test]
async fn concurrent_claims_never_take_the_same_row() {
    use diesel::{Connection, PgConnection};
    let app_db = fresh_database();
    let app = TestApp::at(String::new(), app_db.clone());
    bulk_devices(&app, 1000);
    app.execute(
        "WITH c AS (INSERT INTO notification_campaigns (source, notification_type, title) \
                    VALUES ('send', 'system', 't') RETURNING id), \
              n AS (INSERT INTO push_notifications (campaign_id, recipient_id, notification_type, title, message) \
                    SELECT c.id, u.id, 'system', 't', 'm' FROM c, users u \
                    WHERE u.email LIKE 'bulk%' RETURNING id, recipient_id) \
         INSERT INTO notification_deliveries (notification_id, device_id, platform) \
         SELECT n.id, d.id, d.platform FROM n JOIN devices d ON d.user_id = n.recipient_id",
    );
    let platforms = vec!["android".to_string(), "ios".to_string()];
    let claimers: Vec<_> = (0..4)
        .map(|i| {
            let (url, platforms) = (app_db.clone(), platforms.clone());
            std::thread::spawn(move || {
                let mut conn = PgConnection::establish(&url).expect("connect");
                let mut mine = Vec::new();
                loop {
                    let got = ringside::db::push_outbox::claim(
                        &mut conn,
                        &format!("c{i}"),
                        37,
                        60.0,
                        &platforms,
                    )
                    .expect("claim");
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|c| c.id));
                }
            })
        })
        .collect();
    let mut all: Vec<i64> = Vec::new();
    let mut busy = 0;
    for c in claimers {
        let mine = c.join().expect("claimer");
        busy += usize::from(!mine.is_empty());
        all.extend(mine);
    }
    let total = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(
        (total, all.len()),
        (1000, 1000),
        "every row claimed exactly once"
    );
    assert!(busy >= 2, "the claimers ran side by side");
}

/// The real server binary in a child process, for restarts and crashes.
struct Child {
    process: std::process::Child,
}

impl Child {
    async fn start(db: &str, port: u16, vars: &[(&'static str, String)]) -> (Child, TestApp) {
        let log = std::env::temp_dir().join(format!("ringside-push-child-{port}.log"));
        let process = std::process::Command::new(env!("CARGO_BIN_EXE_ringside"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", db)
            .env("RINGSIDE_BIND", format!("127.0.0.1:{port}"))
            .env("RINGSIDE_WORKERS", "2")
            .env("DATABASE_POOL_SIZE", "6")
            .env("RINGSIDE_ADMIN_EMAIL", crate::harness::ADMIN_EMAIL)
            .env("RINGSIDE_ADMIN_PASSWORD", crate::harness::ADMIN_PASSWORD)
            .env(
                "RINGSIDE_SECRET_KEY",
                "test-secret-key-of-at-least-32-bytes!",
            )
            .env("RUST_LOG", "warn,ringside::push=info")
            .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
            .current_dir(std::env::temp_dir())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start the server binary");
        let app = TestApp::at(format!("http://127.0.0.1:{port}"), db.to_string());
        let deadline = Instant::now() + PATIENCE;
        loop {
            let up = app.client.get(app.url("/healthz")).send().await;
            if up.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the child server never came up; see {log:?}"
            );
            actix_rt::time::sleep(Duration::from_millis(20)).await;
        }
        (Child { process }, app)
    }

    fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.process.id() as i32, signal) };
    }

    async fn wait(mut self) -> std::process::ExitStatus {
        actix_web::rt::task::spawn_blocking(move || self.process.wait().expect("wait"))
            .await
            .expect("join")
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts a bulk send to `n` devices in a child server and stops the child
/// with `signal` once a quarter of them are accepted. Returns what the
/// fakes had accepted by the time the child was gone, then restarts it and
/// waits for the send to finish.
async fn interrupt_bulk_send(
    signal: i32,
    extra: &[(&'static str, String)],
) -> (Fakes, Vec<String>, usize, TestApp) {
    let fakes = Fakes::start();
    fakes.fcm.set_delay(Duration::from_millis(20));
    fakes.apns.set_delay(Duration::from_millis(20));
    let db = fresh_database();
    let mut vars = fakes.vars();
    vars.push(("PUSH_CONCURRENCY", "8".into()));
    vars.extend_from_slice(extra);
    let port = free_port();
    let (child, app) = Child::start(&db, port, &vars).await;
    let tokens = bulk_devices(&app, 600);
    let (_, sent) = send_to_everyone(&app, 600).await;
    until("a quarter of the pushes", || fakes.received().len() >= 150).await;
    child.signal(signal);
    child.wait().await;
    let before_restart = fakes.received().len();
    assert!(
        before_restart < 600,
        "the child finished before it was stopped"
    );
    let (child, app) = Child::start(&db, free_port(), &vars).await;
    until("the rest of the pushes", || {
        let counts = fakes.per_token();
        tokens.iter().all(|t| counts.contains_key(t))
    })
    .await;
    let admin = app.admin_token().await;
    settled(&app, &admin, &sent["id"]).await;
    child.signal(libc::SIGTERM);
    child.wait().await;
    (fakes, tokens, before_restart, app)
}

#[actix_rt::test]
async fn a_restart_halfway_through_a_bulk_send_finishes_it_once() {
    let (fakes, tokens, before_restart, app) = interrupt_bulk_send(libc::SIGTERM, &[]).await;
    let counts = fakes.per_token();
    assert_eq!(counts.len(), tokens.len());
    let doubled: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(doubled.is_empty(), "pushed more than once: {doubled:?}");
    // What was accepted before the stop was recorded before the exit.
    let sent_first = app.rows(
        "SELECT count(*) AS n FROM notification_deliveries WHERE status = 'sent' \
         AND claimed_by IN (SELECT claimed_by FROM notification_deliveries GROUP BY claimed_by \
                            ORDER BY min(claimed_at) LIMIT 1)",
    );
    assert_eq!(sent_first[0]["n"].as_u64(), Some(before_restart as u64));
    assert_eq!(app.count("notification_deliveries"), 600);
}

#[actix_rt::test]
async fn a_crash_halfway_through_a_bulk_send_skips_no_device() {
    let lease = [
        ("PUSH_LEASE", "5".to_string()),
        ("PUSH_REQUEST_TIMEOUT", "2".to_string()),
    ];
    let (fakes, tokens, _, app) = interrupt_bulk_send(libc::SIGKILL, &lease).await;
    let counts = fakes.per_token();
    assert_eq!(counts.len(), tokens.len(), "every device got it");
    // Only what the killed server held (in flight, or answered but not yet
    // recorded) can go twice: those rows were taken over once its lease
    // lapsed. A repeat carries the same collapse id, so the device shows
    // it once.
    let taken_over: Vec<String> = app
        .rows(
            "SELECT v.token FROM notification_deliveries d JOIN devices v ON v.id = d.device_id \
             WHERE d.attempts > 1",
        )
        .into_iter()
        .map(|r| r["token"].as_str().unwrap_or_default().to_string())
        .collect();
    let repeated: Vec<&String> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(t, _)| t)
        .collect();
    // In flight (8 at once per provider) or answered in the last 50 ms
    // before the kill (the recorder's longest wait while pushes are in
    // flight; about 800 answers a second here): a few dozen, not the rest
    // of the send.
    assert!(
        repeated.len() <= 64,
        "{} repeats: {repeated:?}",
        repeated.len()
    );
    for token in &repeated {
        assert!(
            taken_over.contains(token),
            "{token} went twice but was never taken over"
        );
    }
    for token in repeated {
        let ids: Vec<String> = fakes
            .received()
            .iter()
            .filter(|r| &r.token == token)
            .map(|r| {
                r.headers
                    .get("apns-collapse-id")
                    .cloned()
                    .unwrap_or_else(|| r.body["message"]["android"]["collapse_key"].to_string())
            })
            .collect();
        assert!(ids.windows(2).all(|w| w[0] == w[1]), "{token}: {ids:?}");
    }
    let open = app.rows("SELECT count(*) AS n FROM notification_deliveries WHERE status <> 'sent'");
    assert_eq!(open[0]["n"], 0);
}

/// The path the real providers take: h2 agreed by ALPN over TLS, the
/// provider's certificate checked against the trusted roots.
#[actix_rt::test]
async fn providers_are_reached_over_tls_with_http2_and_a_checked_certificate() {
    use ringside::push::transport::{Body, Transport};
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let apns = FakeApns::start_tls();
    let request = |t: &Transport| {
        let uri = t.uri("/3/device/abc").expect("a device URI");
        t.post(uri).body(Body::from("{}")).expect("a request")
    };
    let mut test_ca = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ringside_push_fakes::TLS_CA_CERT.as_bytes()) {
        test_ca.add(cert.expect("the test CA")).expect("a root");
    }
    let trusting = Transport::with_roots(&apns.base_url, Duration::from_secs(5), test_ca)
        .expect("a transport");
    let answer = trusting
        .send(request(&trusting))
        .await
        .expect("an answer over TLS");
    // The fake answers only HTTP/2, and this request has no provider token.
    assert_eq!(answer.status(), 403);
    let body: Value = serde_json::from_slice(answer.body()).expect("a JSON body");
    assert_eq!(body["reason"], "MissingProviderToken");
    assert_eq!(apns.rejected_auth(), 1);

    // With the public roots only, the test CA is unknown: refused before
    // any request goes out.
    let public = Transport::new(&apns.base_url, Duration::from_secs(5)).expect("a transport");
    let refused = public
        .send(request(&public))
        .await
        .expect_err("an unknown issuer is refused");
    assert!(refused.contains("certificate"), "{refused}");
    assert_eq!(apns.rejected_auth(), 1);
}

/// The fakes' limits with `streams` per connection (and FCM's `quota`).
fn limits(streams: u32, quota: Option<Quota>) -> Limits {
    Limits {
        streams_per_connection: streams,
        quota,
    }
}

/// `ringside_push_deliveries_total{provider, outcome}` as /metrics says
/// (the process's: other tests' pushes count too).
async fn push_metric(app: &TestApp, provider: &str, outcome: &str) -> u64 {
    let (status, text) = app.get("/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    let text = text.as_str().unwrap_or_default().to_string();
    text.lines()
        .find(|l| {
            l.starts_with("ringside_push_deliveries_total{")
                && l.contains(&format!("provider=\"{provider}\""))
                && l.contains(&format!("outcome=\"{outcome}\""))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[actix_rt::test]
async fn the_pool_spreads_pushes_within_each_connections_stream_limit() {
    // 10 streams per connection: one connection could carry 10 at once;
    // three carry the 30 in flight, never more than 10 on any.
    let fakes = Fakes::with(limits(10, None), limits(10, None));
    fakes.fcm.set_delay(Duration::from_millis(40));
    fakes.apns.set_delay(Duration::from_millis(40));
    let vars = [
        ("PUSH_CONNECTIONS", "3".to_string()),
        ("PUSH_CONCURRENCY", "30".to_string()),
    ];
    let app = push_app(&fakes, &vars).await;
    let tokens = bulk_devices(&app, 600);
    let (admin, sent) = send_to_everyone(&app, 600).await;
    let stats = settled(&app, &admin, &sent["id"]).await;
    assert_eq!((&stats["sent"], &stats["failed"]), (&json!(600), &json!(0)));
    let counts = fakes.per_token();
    assert!(tokens.iter().all(|t| counts.get(t) == Some(&1)));
    for (name, seen) in [
        ("fcm", fakes.fcm.connections()),
        ("apns", fakes.apns.connections()),
    ] {
        // FCM's token endpoint is on the same fake: one connection more,
        // one request on it.
        let pushing: Vec<_> = seen.iter().filter(|c| c.requests > 1).collect();
        assert_eq!(pushing.len(), 3, "{name}: {seen:?}");
        assert!(
            seen.iter().all(|c| c.max_streams <= 10),
            "{name}: over the limit: {seen:?}"
        );
        let at_once: usize = pushing.iter().map(|c| c.max_streams).sum();
        assert!(at_once > 10, "{name}: the pool was not used: {seen:?}");
        assert!(
            pushing.iter().all(|c| c.requests >= 50),
            "{name}: not spread: {seen:?}"
        );
    }
}

#[actix_rt::test]
async fn a_quota_burst_is_sent_once_after_retry_after_and_counted() {
    // 40 sends per 2 s window: a send to 120 android devices runs into it.
    let quota = Quota {
        requests: 40,
        window: Duration::from_secs(2),
    };
    let fakes = Fakes::with(limits(100, Some(quota)), Limits::apns());
    let app = push_app(&fakes, &[]).await;
    let before = push_metric(&app, "fcm", "throttled").await;
    app.execute(
        "INSERT INTO users (email, password_hash, display_name) \
         SELECT 'quota' || g || '@ringside.test', 'x', 'Quota ' || g FROM generate_series(1, 120) g",
    );
    app.execute(
        "INSERT INTO devices (user_id, platform, token, app_id) \
         SELECT id, 'android', 'quota-' || id, 'app' FROM users WHERE email LIKE 'quota%'",
    );
    let (admin, sent) = send_to_everyone(&app, 120).await;
    let stats = settled(&app, &admin, &sent["id"]).await;
    assert_eq!(
        (&stats["sent"], &stats["failed"]),
        (&json!(120), &json!(0)),
        "{stats}"
    );
    let counts = fakes.per_token();
    assert_eq!(counts.len(), 120);
    assert!(counts.values().all(|n| *n == 1), "sent twice: {counts:?}");
    let answered = fakes.fcm.answered();
    let refused: Vec<_> = answered.iter().filter(|a| a.status == 429).collect();
    assert!(!refused.is_empty(), "the quota was never reached");
    // Each refused push was sent once more, after the Retry-After (at
    // least a second: whole seconds, rounded up).
    for r in &refused {
        let later: Vec<_> = answered
            .iter()
            .filter(|a| a.token == r.token && a.at > r.at)
            .collect();
        let ok = later
            .iter()
            .find(|a| a.status == 200)
            .expect("sent after the 429");
        assert!(
            ok.at - r.at >= Duration::from_millis(950),
            "{} retried after {:?}",
            r.token,
            ok.at - r.at
        );
    }
    // The fake never accepted more than the quota in a window.
    let accepted: Vec<Instant> = fakes.fcm.received().iter().map(|r| r.at).collect();
    for first in &accepted {
        let within = accepted
            .iter()
            .filter(|a| **a >= *first && **a - *first < Duration::from_millis(1900))
            .count();
        assert!(within <= 40, "{within} accepted within one window");
    }
    // Not failed, not an attempt: every row took one counted attempt.
    let rows = app.rows("SELECT attempts, status FROM notification_deliveries");
    assert!(
        rows.iter()
            .all(|r| r["attempts"] == 1 && r["status"] == "sent"),
        "{rows:?}"
    );
    let throttled = push_metric(&app, "fcm", "throttled").await;
    assert!(
        throttled >= before + refused.len() as u64,
        "throttled {before} -> {throttled}, {} refused",
        refused.len()
    );
}

#[actix_rt::test]
async fn a_dropped_connection_is_replaced_and_nothing_is_lost_or_doubled() {
    let fakes = Fakes::start();
    fakes.fcm.set_delay(Duration::from_millis(300));
    fakes.apns.set_delay(Duration::from_millis(300));
    let vars = [
        ("PUSH_CONNECTIONS", "2".to_string()),
        ("PUSH_CONCURRENCY", "20".to_string()),
    ];
    let app = push_app(&fakes, &vars).await;
    let tokens = bulk_devices(&app, 400);
    let (admin, sent) = send_to_everyone(&app, 400).await;
    // Mid-burst, with pushes waiting on both connections of each pool: FCM's
    // are dropped outright, APNs' are told to go away (GOAWAY).
    until("pushes in flight on every connection", || {
        fakes.fcm.open_streams() >= 15 && fakes.apns.open_streams() >= 15
    })
    .await;
    fakes.fcm.kill_connections();
    fakes.apns.close_connections();
    fakes.fcm.set_delay(Duration::from_millis(5));
    fakes.apns.set_delay(Duration::from_millis(5));
    let stats = settled(&app, &admin, &sent["id"]).await;
    assert_eq!(
        (&stats["sent"], &stats["failed"]),
        (&json!(400), &json!(0)),
        "{stats}"
    );
    let counts = fakes.per_token();
    assert_eq!(counts.len(), 400, "a device was skipped");
    assert!(
        tokens.iter().all(|t| counts.get(t) == Some(&1)),
        "a device was pushed twice"
    );
    // The dropped connection's unanswered pushes came back through the
    // outbox (a second attempt), and were still accepted once.
    let retried = app.rows(
        "SELECT count(*) AS n FROM notification_deliveries \
         WHERE platform = 'android' AND attempts > 1",
    );
    assert!(retried[0]["n"].as_i64() > Some(0), "{retried:?}");
    for (name, seen) in [
        ("fcm", fakes.fcm.connections()),
        ("apns", fakes.apns.connections()),
    ] {
        let closed = seen.iter().filter(|c| !c.open).count();
        let open_now = seen.iter().filter(|c| c.open && c.requests > 1).count();
        assert!(closed >= 2, "{name}: {seen:?}");
        assert!(
            (1..=2).contains(&open_now),
            "{name}: replaced by new connections: {seen:?}"
        );
    }
}
