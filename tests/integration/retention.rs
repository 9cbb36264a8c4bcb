//! History with an end: the retention job cuts the stored history of a
//! night long over (its resume log goes, its channels get a new epoch, a
//! resume from before the cut gets `resync`, a viewer still on it is told
//! to reload), keeps live and recent nights whole, prunes ended push
//! deliveries past their retention and keeps the notifications, and the
//! outbox's expiry sweep can walk its index.

use std::time::{Duration, Instant};

use awc::http::StatusCode;
use serde_json::json;

use crate::harness::{fresh_database, test_config, TestApp};
use crate::live_ws::{live_event, post_update, watch};

fn epoch_of(app: &TestApp, channel: &str) -> String {
    app.rows(&format!(
        "SELECT epoch FROM channel_sequences WHERE channel = '{channel}'"
    ))[0]["epoch"]
        .as_str()
        .expect("epoch")
        .to_string()
}

fn stored(app: &TestApp, channel: &str) -> i64 {
    app.rows(&format!(
        "SELECT count(*) AS n FROM channel_messages WHERE channel = '{channel}'"
    ))[0]["n"]
        .as_i64()
        .expect("count")
}

#[actix_rt::test]
async fn an_old_nights_history_is_cut_and_live_nights_are_kept_whole() {
    let mut config = test_config(fresh_database());
    config.retention.every = Duration::from_secs(1);
    config.retention.history = Duration::from_secs(86_400 * 30);
    config.retention.push = Duration::from_secs(86_400 * 7);
    let app = TestApp::with_config(config).await;
    let (admin, old, _) = live_event(&app).await;
    post_update(&app, &admin, old, "Long ago").await;
    let live = crate::comments::another_live_event(&app, &admin).await;
    post_update(&app, &admin, live, "Tonight").await;
    let (mut staying, _) = watch(&app, old, "").await;
    let old_channel = format!("event:{old}");
    let live_channel = format!("event:{live}");
    let before = epoch_of(&app, &old_channel);
    let head = app.rows(&format!(
        "SELECT last_seq FROM channel_sequences WHERE channel = '{old_channel}'"
    ))[0]["last_seq"]
        .as_i64()
        .expect("seq");

    // The old night ended 40 days ago; tonight's is live.
    let (status, _) = app
        .post(
            &format!("/api/live/events/{old}/end/"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.execute(&format!(
        "UPDATE live_events SET start_time = now() - interval '41 days', end_time = now() - interval '40 days', \
         updated_at = now() - interval '40 days' WHERE id = {old}"
    ));
    // Ended deliveries: one old, one recent, and an old one still pending.
    let (fan, fan_id) = app.register("fan@ringside.test").await;
    let (status, device) = app
        .post(
            "/api/notifications/register/",
            Some(&fan),
            json!({ "platform": "android", "token": "fcm-token-1", "app_id": "com.ringside.app" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{device}");
    for (status, age) in [("sent", 10), ("sent", 1), ("pending", 10)] {
        app.execute(&format!(
            "INSERT INTO push_notifications (recipient_id, notification_type, title, message) \
             VALUES ({fan_id}, 'system', 'Hi', 'Hello')"
        ));
        app.execute(&format!(
            "INSERT INTO notification_deliveries (notification_id, device_id, status, platform, created_at, expires_at) \
             SELECT max(id), {}, '{status}', 'android', now() - interval '{age} days', now() + interval '1 day' \
             FROM push_notifications",
            device["id"]
        ));
    }

    // Aged last: the round that sees old messages sees the deliveries too.
    app.execute("UPDATE channel_messages SET created_at = now() - interval '40 days'");

    // The job's next round (every second here) cuts the old night only.
    let deadline = Instant::now() + Duration::from_secs(20);
    while stored(&app, &old_channel) > 0 {
        assert!(Instant::now() < deadline, "the old history was never cut");
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert_ne!(epoch_of(&app, &old_channel), before, "a new epoch");
    assert!(
        stored(&app, &live_channel) > 0,
        "a live night is kept whole"
    );
    let deliveries: Vec<(String, i64)> = app
        .rows("SELECT status, extract(day FROM now() - created_at)::int8 AS age FROM notification_deliveries ORDER BY id")
        .iter()
        .map(|r| (r["status"].as_str().unwrap_or("").to_string(), r["age"].as_i64().unwrap_or(-1)))
        .collect();
    assert_eq!(
        deliveries,
        vec![("sent".to_string(), 1), ("pending".to_string(), 10)],
        "old ended deliveries go; recent or unfinished ones stay"
    );
    assert_eq!(app.count("push_notifications"), 3, "the inbox stays");

    // A viewer who stayed is told to reload; a resume from before the cut
    // gets resync, not a gap.
    loop {
        let frame = staying.next_durable().await;
        if frame["type"] == "resync" {
            break;
        }
    }
    let (mut late, _) = watch(&app, old, &format!("?since={before}:{head}")).await;
    let resync = late.next_durable().await;
    assert_eq!(resync["type"], "resync", "{resync}");
}

#[actix_rt::test]
async fn the_expiry_sweep_can_walk_its_index() {
    let app = TestApp::spawn().await;
    let plan = app.rows(
        "SELECT 1 AS one", // the connection exists; the plan is read below
    );
    assert_eq!(plan.len(), 1);
    let mut conn =
        <diesel::PgConnection as diesel::Connection>::establish(&app.db_url).expect("connect");
    use diesel::RunQueryDsl;
    diesel::sql_query("SET enable_seqscan = off")
        .execute(&mut conn)
        .expect("set");
    #[derive(diesel::QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let lines: Vec<Line> = diesel::sql_query(
        "EXPLAIN SELECT id FROM notification_deliveries \
          WHERE expires_at <= now() AND platform = 'android' \
            AND (status = 'pending' OR (status = 'in_flight' AND lease_until < now()))",
    )
    .load(&mut conn)
    .expect("explain");
    let plan: String = lines
        .into_iter()
        .map(|l| l.line)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        plan.contains("notification_deliveries_expiry_idx"),
        "the sweep walks its index:\n{plan}"
    );
}
