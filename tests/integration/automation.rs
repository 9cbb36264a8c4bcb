//! Fight-night automation over the API, with time compressed by
//! configuration (a 100 ms tick, a 500 ms reminder minute, round clocks set
//! near the horn): a scheduled event starts by itself once with two nodes
//! running; a job that fell due with no node up fires when one comes back;
//! reminders, round ends on the clock (not while paused), "up next" and the
//! next fight, poll closing and the event's completion each fire once, are
//! logged as the system's, and a cancelled job stays cancelled.

use std::time::{Duration, Instant};

use awc::http::StatusCode;
use chrono::SubsecRound;
use serde_json::{json, Value};

use crate::fight_control::{night, Night};
use crate::harness::{assert_error, build_card, fresh_database, test_config, RedisServer, TestApp};

/// How long a test waits for a job to fire.
const PATIENCE: Duration = Duration::from_secs(20);

/// A node that looks for due jobs every 100 ms, with 500 ms reminder minutes.
fn fast(database: String) -> ringside::config::Config {
    let mut config = test_config(database);
    config.automation.tick = Duration::from_millis(100);
    config.automation.minute = Duration::from_millis(500);
    config
}

/// GETs `path` until `ready` holds of the answer; panics after [`PATIENCE`].
async fn until(app: &TestApp, path: &str, token: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, body) = app.get(path, Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        if ready(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{path} never got there: {body}");
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn patch(app: &TestApp, token: &str, event: i64, body: Value) -> (StatusCode, Value) {
    app.call(
        "PATCH",
        &format!("/api/live/events/{event}/"),
        Some(token),
        Some(body),
    )
    .await
}

fn jobs_of<'a>(overview: &'a Value, kind: &str) -> Vec<&'a Value> {
    overview["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .filter(|j| j["kind"] == kind)
        .collect()
}

fn pending<'a>(overview: &'a Value, kind: &str) -> Option<&'a Value> {
    jobs_of(overview, kind)
        .into_iter()
        .find(|j| j["status"] == "pending")
}

/// The system's entries in the moderation log of one event, by job kind.
async fn system_log(app: &TestApp, token: &str, event: i64) -> Vec<(String, String)> {
    let (status, log) = app
        .get("/api/moderation/actions/?limit=200", Some(token))
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    log["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|a| a["action"] == "automation" && a["live_event"] == event)
        .map(|a| {
            assert!(a["moderator"].is_null(), "the system's: {a}");
            (
                a["details"]["kind"].as_str().unwrap_or("").to_string(),
                a["details"]["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// An upcoming live event of a `fights`-fight card created with `settings`.
async fn upcoming(app: &TestApp, admin: &str, fights: usize, settings: Value) -> i64 {
    let (event, _) = build_card(app, admin, fights).await;
    let (status, live) = app
        .post(
            "/api/live/events/",
            Some(admin),
            json!({ "event": event, "settings": settings }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{live}");
    live["id"].as_i64().expect("id")
}

#[actix_rt::test]
async fn a_scheduled_event_starts_by_itself_once_with_two_nodes_running() {
    let redis = RedisServer::start();
    let database = fresh_database();
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let mut config = fast(database.clone());
        config.redis_url = Some(redis.url());
        let app = TestApp::with_config(config).await;
        app.wait_ready(true).await;
        nodes.push(app);
    }
    let admin = nodes[0].admin_token().await;
    let event = upcoming(&nodes[0], &admin, 1, json!({ "auto_start": true })).await;
    // Its followers hear when it starts; once, or the job ran twice.
    let (fan, _) = nodes[0].register("fan@ringside.test").await;
    let (_, live) = nodes[0]
        .get(&format!("/api/live/events/{event}/"), None)
        .await;
    let (status, _) = nodes[0]
        .post(
            "/api/follows/",
            Some(&fan),
            json!({ "target_type": "event", "target_id": live["event"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut viewers = Vec::new();
    for node in &nodes {
        viewers.push(crate::live_ws::watch(node, event, "").await.0);
    }

    let start = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).trunc_subsecs(3);
    let (status, body) = patch(
        &nodes[1],
        &admin,
        event,
        json!({ "start_time": start.to_rfc3339() }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let planned = until(
        &nodes[0],
        &format!("/api/live/events/{event}/automation/"),
        &admin,
        |o| pending(o, "auto_start").is_some(),
    )
    .await;
    let due: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(pending(&planned, "auto_start").expect("pending")["due_at"].clone())
            .expect("due_at");
    assert_eq!(due, start, "due at the start time");

    // Viewers on both nodes see it go live.
    for viewer in &mut viewers {
        loop {
            let frame = viewer.next_durable().await;
            if frame["type"] == "event_state" && frame["data"]["status"] == "live" {
                break;
            }
        }
    }
    let after = until(
        &nodes[1],
        &format!("/api/live/events/{event}/automation/"),
        &admin,
        |o| {
            jobs_of(o, "auto_start")
                .iter()
                .any(|j| j["status"] == "done")
        },
    )
    .await;
    assert_eq!(jobs_of(&after, "auto_start").len(), 1, "{after}");
    assert_eq!(
        system_log(&nodes[0], &admin, event).await,
        vec![("auto_start".to_string(), "done".to_string())]
    );
    let (_, inbox) = nodes[0].get("/api/notifications/", Some(&fan)).await;
    let starts = inbox["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|n| n["notification_type"] == "event_start")
        .count();
    assert_eq!(starts, 1, "{inbox}");
    let (_, live) = nodes[1]
        .get(&format!("/api/live/events/{event}/"), None)
        .await;
    assert_eq!(live["status"], "live");
}

#[actix_rt::test]
async fn a_job_that_fell_due_with_no_node_running_fires_when_one_comes_back() {
    let database = fresh_database();
    // This node's runner looked once, at its start, and sleeps a minute.
    let mut asleep = fast(database.clone());
    asleep.automation.tick = Duration::from_secs(60);
    let first = TestApp::with_config(asleep).await;
    let admin = first.admin_token().await;
    let past = chrono::Utc::now() - chrono::Duration::seconds(5);
    let (event, _) = build_card(&first, &admin, 1).await;
    let (status, live) = first
        .post(
            "/api/live/events/",
            Some(&admin),
            json!({ "event": event, "start_time": past.to_rfc3339(),
                    "settings": { "auto_start": true } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{live}");
    let id = live["id"].as_i64().expect("id");
    assert_eq!(live["status"], "upcoming");

    let second = TestApp::with_config(fast(database)).await;
    let live = until(&second, &format!("/api/live/events/{id}/"), &admin, |l| {
        l["status"] == "live"
    })
    .await;
    assert_eq!(live["status"], "live");
}

#[actix_rt::test]
async fn switches_are_checked_and_a_start_cannot_move_once_live() {
    let app = TestApp::with_config(fast(fresh_database())).await;
    let admin = app.admin_token().await;
    let event = upcoming(&app, &admin, 1, json!({})).await;
    for (key, bad) in [
        ("auto_start", json!("yes")),
        ("reminder_minutes", json!(0)),
        ("reminder_minutes", json!(1.5)),
        ("advance_delay_seconds", json!(-1)),
        ("auto_round_end", json!(1)),
    ] {
        let got = patch(&app, &admin, event, json!({ "settings": { key: bad } })).await;
        assert_error(&got, 400, "bad_request");
        assert!(got.1["error"]["details"][key].is_string(), "{}", got.1);
    }
    let unknown = patch(&app, &admin, event, json!({ "colour": "red" })).await;
    assert_error(&unknown, 400, "bad_request");
    let moderator = app.user_with_role("mod@ringside.test", "moderator").await;
    let refused = patch(&app, &moderator, event, json!({ "is_featured": true })).await;
    assert_error(&refused, 403, "forbidden");
    let (_, unchanged) = app
        .get(
            &format!("/api/live/events/{event}/automation/"),
            Some(&admin),
        )
        .await;
    assert_eq!(unchanged["settings"]["auto_start"], false);
    assert_eq!(unchanged["settings"]["auto_poll_close"], true);

    // Merged key by key; null removes.
    let (status, body) = patch(
        &app,
        &admin,
        event,
        json!({ "settings": { "auto_complete": true, "theme": "dark" } }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = patch(
        &app,
        &admin,
        event,
        json!({ "settings": { "theme": null } }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["settings"], json!({ "auto_complete": true }));

    let (status, _) = app
        .post(
            &format!("/api/live/events/{event}/start/"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let late = patch(
        &app,
        &admin,
        event,
        json!({ "start_time": chrono::Utc::now().to_rfc3339() }),
    )
    .await;
    assert_error(&late, 409, "invalid_transition");
    let viewer_view = app
        .get(
            &format!("/api/live/events/{event}/automation/"),
            Some(&app.register("fan@ringside.test").await.0),
        )
        .await;
    assert_error(&viewer_view, 403, "forbidden");
}

#[actix_rt::test]
async fn followers_are_reminded_before_the_start_once() {
    let app = TestApp::with_config(fast(fresh_database())).await;
    let admin = app.admin_token().await;
    let event = upcoming(&app, &admin, 1, json!({ "reminder_minutes": 2 })).await;
    let (fan, _) = app.register("fan@ringside.test").await;
    let (_, live) = app.get(&format!("/api/live/events/{event}/"), None).await;
    app.post(
        "/api/follows/",
        Some(&fan),
        json!({ "target_type": "event", "target_id": live["event"] }),
    )
    .await;
    // Two 500 ms minutes before a start 3 s away: due in about 2 s.
    let start = chrono::Utc::now() + chrono::Duration::seconds(3);
    let (status, body) = patch(
        &app,
        &admin,
        event,
        json!({ "start_time": start.to_rfc3339() }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let inbox = until(&app, "/api/notifications/", &fan, |i| {
        i["results"].as_array().is_some_and(|r| !r.is_empty())
    })
    .await;
    let results = inbox["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "{inbox}");
    assert!(
        results[0]["title"]
            .as_str()
            .is_some_and(|t| t.ends_with("starts in 2 minutes")),
        "{inbox}"
    );
    // Not started: the switch is off.
    let (_, live) = app.get(&format!("/api/live/events/{event}/"), None).await;
    assert_eq!(live["status"], "upcoming");
    assert_eq!(
        system_log(&app, &admin, event).await,
        vec![("reminder".to_string(), "done".to_string())]
    );
}

async fn until_fight(n: &Night, fight: i64, ready: impl Fn(&Value) -> bool) -> Value {
    let path = format!("/api/live/fights/{fight}/");
    until(&n.api, &path, &n.admin, ready).await
}

#[actix_rt::test]
async fn the_card_runs_itself_rounds_on_the_clock_next_fight_and_completion() {
    let app = TestApp::with_config(fast(fresh_database())).await;
    let n = night(
        &app,
        2,
        json!({ "auto_round_end": true, "auto_advance": true, "auto_complete": true }),
    )
    .await;
    let overview_path = format!("/api/live/events/{}/automation/", n.event);
    // The card runs from its highest card order down to the main event.
    let (opener, main) = (&n.fights[1], &n.fights[0]);

    n.ok_on(opener, "start/", json!({})).await;
    n.ok_on(opener, "rounds/start/", json!({ "round": 1 }))
        .await;
    let (_, o) = app.get(&overview_path, Some(&n.admin)).await;
    let job = pending(&o, "round_end").expect("a round end is planned");
    assert_eq!(
        (job["live_fight"].as_i64(), job["round"].as_i64()),
        (Some(opener.id), Some(1))
    );

    // Paused, the round does not end: the job is gone until it resumes.
    n.ok_on(opener, "rounds/pause/", json!({ "reason": "eye poke" }))
        .await;
    let (_, o) = app.get(&overview_path, Some(&n.admin)).await;
    assert!(pending(&o, "round_end").is_none(), "{o}");
    n.ok_on(opener, "rounds/resume/", json!({})).await;
    n.clock(opener, "4:59").await;
    let f = until_fight(&n, opener.id, |f| f["clock"]["between_rounds"] == true).await;
    assert_eq!(f["clock"]["round"], 1, "{f}");

    // Round 2's end is cancelled by staff: it stays cancelled.
    n.ok_on(opener, "rounds/start/", json!({ "round": 2 }))
        .await;
    let (_, o) = app.get(&overview_path, Some(&n.admin)).await;
    let job = pending(&o, "round_end").expect("planned").clone();
    let moderator = app.user_with_role("mod@ringside.test", "moderator").await;
    let (status, cancelled) = app
        .post(
            &format!("/api/live/automation/{}/cancel/", job["id"]),
            Some(&moderator),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    let twice = app
        .post(
            &format!("/api/live/automation/{}/cancel/", job["id"]),
            Some(&moderator),
            json!({}),
        )
        .await;
    assert_error(&twice, 409, "invalid_transition");
    n.clock(opener, "4:59").await;
    let (_, o) = app.get(&overview_path, Some(&n.admin)).await;
    assert!(
        pending(&o, "round_end").is_none(),
        "replanned after a cancel: {o}"
    );
    n.ok_on(opener, "rounds/end/", json!({ "round": 2 })).await;

    // A finish: the next fight is announced and started by itself.
    n.ok_on(opener, "rounds/start/", json!({ "round": 3 }))
        .await;
    n.clock(opener, "0:31").await;
    n.ok_on(
        opener,
        "result/",
        json!({ "winner": "red", "method": "ko", "round": 3, "time": "0:30" }),
    )
    .await;
    let f = until_fight(&n, main.id, |f| f["status"] == "in_progress").await;
    assert_eq!(f["status"], "in_progress");
    let (_, updates) = app
        .get(&format!("/api/live/updates/?event={}", n.event), None)
        .await;
    assert!(
        updates["results"]
            .as_array()
            .expect("results")
            .iter()
            .any(|u| u["title"]
                .as_str()
                .is_some_and(|t| t.starts_with("Up next: "))
                && u["live_fight"] == main.id),
        "{updates}"
    );

    // The last result completes the event by itself.
    n.ok_on(main, "rounds/start/", json!({ "round": 1 })).await;
    n.clock(main, "2:11").await;
    n.ok_on(
        main,
        "result/",
        json!({ "winner": "blue", "method": "submission", "round": 1, "time": "2:10",
                "technique": "rear-naked choke" }),
    )
    .await;
    let live = until(
        &app,
        &format!("/api/live/events/{}/", n.event),
        &n.admin,
        |l| l["status"] == "completed",
    )
    .await;
    assert_eq!(live["status"], "completed");
    let (_, o) = app.get(&overview_path, Some(&n.admin)).await;
    assert!(
        o["jobs"]
            .as_array()
            .expect("jobs")
            .iter()
            .all(|j| j["status"] != "pending"),
        "{o}"
    );

    let mut log = system_log(&app, &n.admin, n.event).await;
    log.sort();
    assert_eq!(
        log,
        vec![
            ("advance".to_string(), "done".to_string()),
            ("complete".to_string(), "done".to_string()),
            ("round_end".to_string(), "done".to_string()),
        ],
        "each fired once"
    );
}

#[actix_rt::test]
async fn a_poll_closes_at_its_time() {
    let app = TestApp::with_config(fast(fresh_database())).await;
    let n = night(&app, 1, json!({})).await;
    let early = app
        .post(
            "/api/live/polls/",
            Some(&n.admin),
            json!({ "live_event": n.event, "question": "Who wins?", "options": ["Red", "Blue"],
                    "closes_at": (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339() }),
        )
        .await;
    assert_error(&early, 400, "bad_request");
    let closes = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let (status, poll) = app
        .post(
            "/api/live/polls/",
            Some(&n.admin),
            json!({ "live_event": n.event, "question": "Who wins?", "options": ["Red", "Blue"],
                    "closes_at": closes.to_rfc3339() }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{poll}");
    assert!(poll["closes_at"].is_string(), "{poll}");
    let path = format!("/api/live/polls/{}/", poll["id"]);
    let (status, _) = app
        .post(&format!("{path}open/"), Some(&n.admin), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let closed = until(&app, &path, &n.admin, |p| p["status"] == "closed").await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(
        system_log(&app, &n.admin, n.event).await,
        vec![("poll_close".to_string(), "done".to_string())]
    );
}
