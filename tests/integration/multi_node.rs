//! Several nodes sharing one Postgres and one real Redis: committed messages
//! reach subscribers on every node in one order, viewer counts add up, and a
//! node that loses Redis catches up without a gap when it comes back.

use serde_json::Value;

use crate::harness::{fresh_database, test_config, RedisServer, TestApp};
use crate::live_ws::{live_event, post_update, watch};
use crate::ws_client::{Ended, WsClient};

/// `count` nodes over one fresh database and `redis`, each ready on the bus.
async fn nodes(redis: &RedisServer, count: usize) -> Vec<TestApp> {
    let database = fresh_database();
    let mut apps = Vec::new();
    for _ in 0..count {
        let mut config = test_config(database.clone());
        config.redis_url = Some(redis.url());
        let app = TestApp::with_config(config).await;
        let ready = app.wait_ready(true).await;
        assert_eq!(ready["bus"], "redis", "{ready}");
        apps.push(app);
    }
    apps
}

/// The next `n` durable frames as (seq, title).
async fn updates(client: &mut WsClient, n: usize) -> Vec<(u64, String)> {
    let mut got = Vec::new();
    while got.len() < n {
        let frame = client.next_durable().await;
        assert_eq!(frame["type"], "update", "{frame}");
        got.push((
            frame["seq"].as_u64().expect("seq"),
            frame["data"]["title"].as_str().expect("title").to_string(),
        ));
    }
    got
}

fn assert_consecutive(got: &[(u64, String)], after: u64) {
    let seqs: Vec<u64> = got.iter().map(|(s, _)| *s).collect();
    let expected: Vec<u64> = (after + 1..=after + got.len() as u64).collect();
    assert_eq!(seqs, expected, "no gap, no duplicate: {got:?}");
}

#[actix_rt::test]
async fn updates_from_either_node_reach_subscribers_on_both_in_one_order() {
    let redis = RedisServer::start();
    let apps = nodes(&redis, 2).await;
    let (a, b) = (&apps[0], &apps[1]);
    let (admin, event, _) = live_event(a).await;
    let (mut on_a, sub_a) = watch(a, event, "").await;
    let (mut on_b, sub_b) = watch(b, event, "").await;
    assert_eq!(sub_a["epoch"], sub_b["epoch"], "one channel, one epoch");
    let base = sub_b["seq"].as_u64().expect("seq");

    // Publishers on both nodes, racing.
    let titles: Vec<String> = (0..6).map(|i| format!("update {i}")).collect();
    let posts = titles.iter().enumerate().map(|(i, title)| {
        let (node, admin) = (&apps[i % 2], &admin);
        async move { post_update(node, admin, event, title).await }
    });
    futures_util::future::join_all(posts).await;

    let seen_a = updates(&mut on_a, titles.len()).await;
    let seen_b = updates(&mut on_b, titles.len()).await;
    assert_consecutive(&seen_b, base);
    assert_eq!(seen_a, seen_b, "every node delivers the same order");
    let mut delivered: Vec<&String> = seen_b.iter().map(|(_, t)| t).collect();
    delivered.sort();
    assert_eq!(delivered, titles.iter().collect::<Vec<_>>());
}

/// Reads frames until a `viewers` frame says `count`.
async fn until_viewers(client: &mut WsClient, count: u64) -> Value {
    loop {
        let frame = client.next().await;
        if frame["type"] == "viewers" && frame["data"]["count"].as_u64() == Some(count) {
            return frame;
        }
    }
}

#[actix_rt::test]
async fn viewer_counts_add_up_across_nodes() {
    let redis = RedisServer::start();
    let apps = nodes(&redis, 2).await;
    let (a, b) = (&apps[0], &apps[1]);
    let (_, event, _) = live_event(a).await;
    let (mut on_a, _) = watch(a, event, "").await;
    let (mut also_a, _) = watch(a, event, "").await;
    let (on_b, _) = watch(b, event, "").await;
    until_viewers(&mut on_a, 3).await;

    // A later joiner on the other node sees everyone in its snapshot.
    let (mut late_b, subscribed) = watch(b, event, "").await;
    assert_eq!(subscribed["snapshot"]["viewer_count"], 4, "{subscribed}");
    until_viewers(&mut late_b, 4).await;

    drop(on_b);
    until_viewers(&mut also_a, 3).await;
}

#[actix_rt::test]
async fn a_node_that_loses_redis_catches_up_when_it_returns() {
    let mut redis = RedisServer::start();
    let apps = nodes(&redis, 2).await;
    let (a, b) = (&apps[0], &apps[1]);
    let (admin, event, _) = live_event(a).await;
    let (mut on_a, _) = watch(a, event, "").await;
    let (mut on_b, subscribed) = watch(b, event, "").await;
    let base = subscribed["seq"].as_u64().expect("seq");
    let before = crate::ops::scrape(b).await;
    let before_a = crate::ops::scrape(a).await;

    // Redis dies: publishing still works (Postgres has the order), the
    // node's own subscribers still get everything, and the other node says
    // it is not ready.
    redis.kill();
    b.wait_ready(false).await;
    let down = crate::ops::scrape(b).await;
    assert_eq!(
        crate::ops::value(&down, r#"ringside_bus_up{mode="redis"}"#),
        0.0
    );
    for title in ["while down 1", "while down 2", "while down 3"] {
        post_update(a, &admin, event, title).await;
    }
    assert_consecutive(&updates(&mut on_a, 3).await, base);
    let failed = r#"ringside_bus_publish_failures_total{reason="redis"}"#;
    crate::ops::scrape_until(a, |m| crate::ops::moved(&before_a, m, failed) >= 1.0).await;

    // Back: the other node catches up by itself, before anything new is
    // published, with no gap.
    redis.restart();
    b.wait_ready(true).await;
    let seen = updates(&mut on_b, 3).await;
    assert_consecutive(&seen, base);
    assert_eq!(seen[0].1, "while down 1");
    // Operators see it: the bus is back, it reconnected, its rooms reloaded
    // (per process, so at least this node's).
    let back = crate::ops::scrape(b).await;
    assert_eq!(
        crate::ops::value(&back, r#"ringside_bus_up{mode="redis"}"#),
        1.0
    );
    for series in [
        "ringside_bus_reconnects_total",
        r#"ringside_room_reloads_total{reason="bus"}"#,
    ] {
        assert!(crate::ops::moved(&before, &back, series) >= 1.0, "{series}");
    }
    post_update(a, &admin, event, "after").await;
    assert_consecutive(&updates(&mut on_b, 1).await, base + 3);

    // A Redis that stops answering (frozen, sockets open) is noticed too.
    redis.freeze(true);
    b.wait_ready(false).await;
    post_update(a, &admin, event, "while frozen").await;
    redis.freeze(false);
    b.wait_ready(true).await;
    let seen = updates(&mut on_b, 1).await;
    assert_consecutive(&seen, base + 4);
    assert_eq!(seen[0].1, "while frozen");
}

#[actix_rt::test]
async fn a_ban_on_one_node_closes_the_users_sockets_on_every_node() {
    let redis = RedisServer::start();
    let apps = nodes(&redis, 2).await;
    let (a, b) = (&apps[0], &apps[1]);
    let (_, event, _) = live_event(a).await;
    let (fan, fan_id) = a.register("fan@ringside.test").await;
    let moderator = a.user_with_role("mod@ringside.test", "moderator").await;
    let mut on_b = WsClient::open(b, &format!("/api/live/events/{event}/?token={fan}")).await;
    let (status, body) = a
        .post(
            &format!("/api/moderation/users/{fan_id}/ban/"),
            Some(&moderator),
            serde_json::json!({ "reason": "abuse" }),
        )
        .await;
    assert_eq!(status.as_u16(), 200, "{body}");
    assert_eq!(on_b.ended().await, Ended::Closed(Some(1008)));
}

#[actix_rt::test]
async fn comments_and_reaction_totals_reach_every_node() {
    let redis = RedisServer::start();
    let apps = nodes(&redis, 2).await;
    let (a, b) = (&apps[0], &apps[1]);
    let (_, event, _) = live_event(a).await;
    let (fan, _) = a.register("fan@ringside.test").await;
    let mut on_b = crate::comments::watch_comments(b, event, None).await;
    let (status, posted) =
        crate::comments::comment(a, &fan, event, "Hello from node A", None).await;
    assert_eq!(status.as_u16(), 201, "{posted}");
    let frame = crate::comments::next_comment_frame(&mut on_b).await;
    assert_eq!(frame["type"], "comment");
    assert_eq!(frame["seq"], posted["seq"]);

    let (mut watching_b, _) = watch(b, event, "").await;
    for _ in 0..3 {
        let (status, _) = a
            .post(
                "/api/live/reactions/",
                Some(&fan),
                serde_json::json!({ "target_type": "event", "target_id": event, "reaction_type": "wow" }),
            )
            .await;
        assert_eq!(status.as_u16(), 201);
    }
    loop {
        let f = watching_b.next().await;
        if f["type"] == "reactions" && f["data"]["totals"]["wow"] == 3 {
            break;
        }
    }
}

#[actix_rt::test]
async fn an_emergency_broadcast_on_one_node_reaches_sessions_on_every_node() {
    let redis = RedisServer::start();
    let apps = nodes(&redis, 2).await;
    let (a, b) = (&apps[0], &apps[1]);
    let (admin, event, _) = live_event(a).await;
    let (mut on_b, _) = watch(b, event, "").await;
    let (status, cast) = a
        .post(
            "/api/admin/broadcast/",
            Some(&admin),
            serde_json::json!({ "title": "Evacuate hall B", "message": "Use the north exits." }),
        )
        .await;
    assert_eq!(status.as_u16(), 202, "{cast}");
    let frame = on_b.next_durable().await;
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

/// `GET /api/live/presence/{channel}/` on `app` (signed in as `token`)
/// until `done` holds; panics after a bound.
async fn presence_until(
    app: &TestApp,
    channel: &str,
    token: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (status, got) = app
            .get(&format!("/api/live/presence/{channel}/"), Some(token))
            .await;
        assert_eq!(status.as_u16(), 200, "{got}");
        if done(&got) {
            return got;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "presence on {channel}: {got}"
        );
        actix_rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[actix_rt::test]
async fn presence_asked_on_a_node_without_the_room_is_the_clusters() {
    let redis = RedisServer::start();
    let apps = nodes(&redis, 2).await;
    let (a, b) = (&apps[0], &apps[1]);
    let (_, event, _) = live_event(a).await;
    let (fan, fan_id) = a.register("fan@ringside.test").await;
    let (asker, _) = b.register("asker@ringside.test").await;
    let channel = format!("event:{event}");

    // Viewers on node A only: the fan on two sockets, one anonymous viewer.
    let mut fan_sockets = Vec::new();
    for _ in 0..2 {
        let mut c = WsClient::open(a, &format!("/api/live/events/{event}/?token={fan}")).await;
        assert_eq!(c.next_durable().await["type"], "subscribed");
        fan_sockets.push(c);
    }
    let (anonymous, _) = watch(a, event, "").await;
    let on_a = presence_until(a, &channel, &asker, |p| p["count"] == 2).await;
    assert_eq!(on_a["users"][0]["id"], fan_id, "{on_a}");

    // Node B has no room for the channel and answers the same, from A's beat.
    let on_b = presence_until(b, &channel, &asker, |p| p["count"] == 2).await;
    assert_eq!(on_b, on_a, "the same presence on every node");
    let (_, anonymous_ask) = b.get(&format!("/api/live/presence/{channel}/"), None).await;
    assert_eq!(
        (
            anonymous_ask["count"].clone(),
            anonymous_ask["users"].clone()
        ),
        (serde_json::json!(2), Value::Null),
        "names are for signed-in callers: {anonymous_ask}"
    );
    let room = b
        .hub()
        .send(ringside_actors::hub::RoomOf(
            channel.parse().expect("a channel"),
        ))
        .await
        .expect("hub");
    assert!(room.is_none(), "asking made no room on B");

    // They leave A: B hears it too.
    drop(fan_sockets);
    drop(anonymous);
    presence_until(b, &channel, &asker, |p| p["count"] == 0).await;
}

#[actix_rt::test]
async fn the_comment_quota_is_one_for_the_cluster() {
    let redis = RedisServer::start();
    let database = fresh_database();
    let mut apps = Vec::new();
    for _ in 0..2 {
        let mut config = test_config(database.clone());
        config.redis_url = Some(redis.url());
        // Six a minute: a burst of three, then one every ten seconds.
        config.live.comment_rate_limit = 6;
        let app = TestApp::with_config(config).await;
        app.wait_ready(true).await;
        apps.push(app);
    }
    let (a, b) = (&apps[0], &apps[1]);
    let (_, event, _) = live_event(a).await;
    let (fan, _) = a.register("fan@ringside.test").await;

    // One user, posting alternately through both nodes.
    let started = std::time::Instant::now();
    let mut accepted = 0;
    let refused = loop {
        let node = &apps[accepted % 2];
        let got =
            crate::comments::comment(node, &fan, event, &format!("take {accepted}"), None).await;
        if got.0.as_u16() != 201 {
            break got;
        }
        accepted += 1;
        assert!(accepted <= 6, "never refused");
    };
    assert_eq!(accepted, 3, "the burst, over both nodes together");
    crate::harness::assert_error(&refused, 429, "rate_limited");
    let wait = refused.1["error"]["details"]["retry_after_ms"]
        .as_u64()
        .expect("retry_after_ms");
    let elapsed = started.elapsed().as_millis() as u64;
    assert!(
        (10_000u64.saturating_sub(elapsed + 1_000)..=10_000).contains(&wait),
        "the next comment is ten seconds after the first: {wait} ms ({elapsed} ms in)"
    );

    // The other node refuses too, with the same answer over HTTP and
    // nothing stored.
    let mut response = a
        .client
        .post(a.url("/api/live/comments/"))
        .bearer_auth(&fan)
        .send_json(&serde_json::json!({ "live_event": event, "content": "one more" }))
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 429);
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .expect("a Retry-After header");
    assert!((1..=10).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    let stored = a.rows(&format!(
        "SELECT count(*) AS n FROM live_comments WHERE live_event_id = {event}"
    ));
    assert_eq!(stored[0]["n"], 3, "refusals store nothing");

    // Over WebSocket, on node B, the same refusal.
    let mut ws = crate::comments::watch_comments(b, event, Some(&fan)).await;
    ws.send(serde_json::json!({ "op": "comment", "live_event": event, "content": "by socket", "ref": 9 }))
        .await;
    let frame = crate::comments::next_comment_frame(&mut ws).await;
    assert_eq!(
        (frame["code"].clone(), frame["ref"].clone()),
        (serde_json::json!("rate_limited"), serde_json::json!(9)),
        "{frame}"
    );
    assert!(frame["retry_after_ms"]
        .as_u64()
        .is_some_and(|ms| (1..=10_000).contains(&ms)));
}

#[actix_rt::test]
async fn without_redis_each_node_keeps_its_own_comment_quota() {
    let mut redis = RedisServer::start();
    let database = fresh_database();
    let mut apps = Vec::new();
    for _ in 0..2 {
        let mut config = test_config(database.clone());
        config.redis_url = Some(redis.url());
        config.live.comment_rate_limit = 4; // a burst of two
        let app = TestApp::with_config(config).await;
        app.wait_ready(true).await;
        apps.push(app);
    }
    let (a, b) = (&apps[0], &apps[1]);
    let (_, event, _) = live_event(a).await;
    let (fan, _) = a.register("fan@ringside.test").await;
    let (status, body) = crate::comments::comment(a, &fan, event, "before", None).await;
    assert_eq!(status.as_u16(), 201, "{body}");

    // Redis gone: comments are still taken (not refused, not 503), each node
    // counting alone; node B has seen none of the fan's comments.
    let before = crate::ops::scrape(b).await;
    redis.kill();
    let series = r#"ringside_rate_limit_fallbacks_total{kind="comment"}"#;
    let mut taken = 0;
    for i in 0..3 {
        let got = crate::comments::comment(b, &fan, event, &format!("while down {i}"), None).await;
        match got.0.as_u16() {
            201 => taken += 1,
            _ => crate::harness::assert_error(&got, 429, "rate_limited"),
        }
    }
    assert_eq!(taken, 2, "node B's own burst");
    let after = crate::ops::scrape(b).await;
    assert!(
        crate::ops::moved(&before, &after, series) >= 3.0,
        "{series}"
    );

    // Back (empty: this Redis keeps nothing across a restart): the cluster
    // counts again. Node B's own burst is spent, so a comment it takes is
    // one Redis let through; the shared burst of two then ends it.
    redis.restart();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let got = crate::comments::comment(b, &fan, event, "after", None).await;
        if got.0.as_u16() == 201 {
            break;
        }
        crate::harness::assert_error(&got, 429, "rate_limited");
        assert!(
            std::time::Instant::now() < deadline,
            "Redis never answered again"
        );
        actix_rt::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let got = crate::comments::comment(b, &fan, event, "after, again", None).await;
    assert_eq!(got.0.as_u16(), 201, "{}", got.1);
    let got = crate::comments::comment(b, &fan, event, "after, once more", None).await;
    crate::harness::assert_error(&got, 429, "rate_limited");
}

#[actix_rt::test]
async fn a_slow_mode_change_reaches_comment_viewers_on_every_node() {
    let redis = RedisServer::start();
    let apps = nodes(&redis, 2).await;
    let (a, b) = (&apps[0], &apps[1]);
    let (_, event, _) = live_event(a).await;
    let moderator = a.user_with_role("mod@ringside.test", "moderator").await;
    let mut on_b = WsClient::open(b, &format!("/api/live/comments/{event}/")).await;
    let subscribed = on_b.next_durable().await;
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    assert_eq!(
        subscribed["snapshot"]["slow_mode_seconds"], 0,
        "{subscribed}"
    );
    let base = subscribed["seq"].as_u64().expect("seq");

    let (status, answer) = a
        .post(
            &format!("/api/moderation/events/{event}/slow-mode/"),
            Some(&moderator),
            serde_json::json!({ "seconds": 45 }),
        )
        .await;
    assert_eq!(status.as_u16(), 200, "{answer}");
    let frame = crate::comments::next_comment_frame(&mut on_b).await;
    assert_eq!(
        (
            frame["type"].as_str(),
            frame["channel"].clone(),
            frame["seq"].as_u64(),
            frame["data"].clone()
        ),
        (
            Some("slow_mode"),
            serde_json::json!(format!("comments:{event}")),
            Some(base + 1),
            answer.clone()
        ),
        "{frame}"
    );
    assert_eq!(frame["data"]["slow_mode_seconds"], 45);

    // A later subscriber on B sees it in the snapshot; one resuming from
    // before the change gets the frame replayed.
    let mut late = WsClient::open(b, &format!("/api/live/comments/{event}/")).await;
    let snapshot = late.next_durable().await;
    assert_eq!(snapshot["snapshot"]["slow_mode_seconds"], 45, "{snapshot}");
    assert_eq!(snapshot["seq"].as_u64(), Some(base + 1));
    let epoch = subscribed["epoch"].as_str().expect("epoch");
    let mut resumed = WsClient::open(
        a,
        &format!("/api/live/comments/{event}/?since={epoch}:{base}"),
    )
    .await;
    assert_eq!(resumed.next_durable().await["type"], "subscribed");
    let replayed = crate::comments::next_comment_frame(&mut resumed).await;
    assert_eq!(replayed, frame, "numbered and stored: replayed as sent");

    // Turned off: the viewers hear 0.
    let (status, _) = a
        .post(
            &format!("/api/moderation/events/{event}/slow-mode/"),
            Some(&moderator),
            serde_json::json!({ "seconds": 0 }),
        )
        .await;
    assert_eq!(status.as_u16(), 200);
    let off = crate::comments::next_comment_frame(&mut on_b).await;
    assert_eq!(
        (
            off["type"].as_str(),
            off["data"]["slow_mode_seconds"].as_i64()
        ),
        (Some("slow_mode"), Some(0)),
        "{off}"
    );
}
