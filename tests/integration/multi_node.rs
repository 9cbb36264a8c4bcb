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
