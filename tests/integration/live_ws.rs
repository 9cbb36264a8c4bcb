//! The live core over real sockets: subscribe, updates, ordering, resume,
//! limits, bad frames, slow clients and room recovery.

use std::time::{Duration, Instant};

use awc::http::StatusCode;
use serde_json::{json, Value};

use crate::harness::{assert_error, build_card, fresh_database, test_config, TestApp};
use crate::ws_client::{Ended, WsClient};

/// A live event with a two-fight card: (admin token, live event id, live fight ids).
pub(crate) async fn live_event(app: &TestApp) -> (String, i64, Vec<i64>) {
    let admin = app.admin_token().await;
    let (event, _) = build_card(app, &admin, 2).await;
    let (status, live) = app
        .post("/api/live/events/", Some(&admin), json!({ "event": event }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{live}");
    let id = live["id"].as_i64().expect("id");
    let (status, _) = app
        .post(
            &format!("/api/live/events/{id}/start/"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let fights = live["fights"]
        .as_array()
        .expect("fights")
        .iter()
        .map(|f| f["id"].as_i64().expect("id"))
        .collect();
    (admin, id, fights)
}

pub(crate) async fn post_update(app: &TestApp, token: &str, event: i64, title: &str) -> Value {
    let (status, body) = app
        .post(
            "/api/live/updates/",
            Some(token),
            json!({ "live_event": event, "live_fight": null, "update_type": "news", "title": title,
                    "description": "", "round_number": null, "data": { "source": "cageside", "n": [1, 2] },
                    "is_breaking": false }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// A news update's body, for posting by hand.
pub(crate) fn news(event: i64, title: &str) -> Value {
    json!({ "live_event": event, "live_fight": null, "update_type": "news", "title": title,
            "description": "", "round_number": null, "data": {}, "is_breaking": false })
}

/// Whether an answer is a replay of an `Idempotency-Key`'s first answer.
pub(crate) fn replayed(headers: &awc::http::header::HeaderMap) -> bool {
    headers
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true")
}

/// Posts an update with `Idempotency-Key: key`: (status, whether it was a
/// replay, body).
pub(crate) async fn post_keyed(
    app: &TestApp,
    token: &str,
    key: &str,
    body: Value,
) -> (StatusCode, bool, Value) {
    let (status, headers, body) = app
        .post_with(
            "/api/live/updates/",
            Some(token),
            &[("Idempotency-Key", key)],
            body,
        )
        .await;
    (status, replayed(&headers), body)
}

/// Subscribes through the event endpoint; returns the `subscribed` frame.
pub(crate) async fn watch(app: &TestApp, event: i64, query: &str) -> (WsClient, Value) {
    let mut c = WsClient::open(app, &format!("/api/live/events/{event}/{query}")).await;
    let subscribed = c.next_durable().await;
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    (c, subscribed)
}

#[actix_rt::test]
async fn subscribe_and_receive_updates_with_seq() {
    let app = TestApp::spawn().await;
    let (admin, event, _) = live_event(&app).await;
    let (mut c, subscribed) = watch(&app, event, "").await;
    assert_eq!(subscribed["channel"], format!("event:{event}"));
    assert_eq!(subscribed["snapshot"]["status"], "live");
    assert_eq!(
        subscribed["snapshot"]["fights"].as_array().map(Vec::len),
        Some(2)
    );
    let base = subscribed["seq"].as_u64().expect("seq");

    let posted = post_update(&app, &admin, event, "Jab lands").await;
    assert_eq!(posted["is_verified"], true);
    let frame = c.next_durable().await;
    assert_eq!(frame["type"], "update");
    assert_eq!(frame["channel"], format!("event:{event}"));
    assert_eq!(frame["seq"].as_u64(), Some(base + 1));
    assert_eq!(
        frame["seq"], posted["seq"],
        "REST and WebSocket agree on seq"
    );
    assert_eq!(frame["data"]["id"], posted["id"]);
    assert_eq!(frame["data"]["title"], "Jab lands");
    assert_eq!(
        frame["data"]["data"],
        json!({ "source": "cageside", "n": [1, 2] }),
        "client data untouched"
    );

    // The same connection can follow more channels, and ping.
    c.send(json!({ "op": "subscribe", "channel": "news", "ref": 9 }))
        .await;
    let sub = c.next_durable().await;
    assert_eq!(
        (sub["type"].as_str(), sub["ref"].as_i64()),
        (Some("subscribed"), Some(9))
    );
    c.send(json!({ "op": "ping", "ref": "p" })).await;
    assert_eq!(
        c.next_durable().await,
        json!({ "type": "pong", "ref": "p" })
    );
}

#[actix_rt::test]
async fn resume_after_reconnect_has_no_gap_and_no_duplicate() {
    let app = TestApp::spawn().await;
    let (admin, event, _) = live_event(&app).await;
    let (mut c, subscribed) = watch(&app, event, "").await;
    let epoch = subscribed["epoch"].as_str().expect("epoch").to_string();
    post_update(&app, &admin, event, "one").await;
    let first = c.next_durable().await["seq"].as_u64().expect("seq");
    drop(c);

    for title in ["two", "three"] {
        post_update(&app, &admin, event, title).await;
    }
    let (mut c, subscribed) = watch(&app, event, &format!("?since={epoch}:{first}")).await;
    assert_eq!(
        subscribed["seq"].as_u64(),
        Some(first + 2),
        "subscribed carries the current seq"
    );
    for (i, title) in ["two", "three"].iter().enumerate() {
        let f = c.next_durable().await;
        assert_eq!(f["seq"].as_u64(), Some(first + 1 + i as u64));
        assert_eq!(f["data"]["title"], *title);
    }
    post_update(&app, &admin, event, "four").await;
    let live = c.next_durable().await;
    assert_eq!(
        (live["seq"].as_u64(), live["data"]["title"].as_str()),
        (Some(first + 3), Some("four"))
    );
}

#[actix_rt::test]
async fn resume_after_a_server_restart_comes_from_postgres() {
    let config = test_config(fresh_database());
    let app = TestApp::with_config(config.clone()).await;
    let (admin, event, _) = live_event(&app).await;
    let (mut c, subscribed) = watch(&app, event, "").await;
    let epoch = subscribed["epoch"].as_str().expect("epoch").to_string();
    post_update(&app, &admin, event, "before").await;
    let seen = c.next_durable().await["seq"].as_u64().expect("seq");
    for title in ["missed 1", "missed 2", "missed 3"] {
        post_update(&app, &admin, event, title).await;
    }
    drop(c);

    // A new server process over the same database: nothing in memory.
    let restarted = TestApp::with_config(config).await;
    let (mut c, _) = watch(&restarted, event, &format!("?since={epoch}:{seen}")).await;
    for (i, title) in ["missed 1", "missed 2", "missed 3"].iter().enumerate() {
        let f = c.next_durable().await;
        assert_eq!(f["seq"].as_u64(), Some(seen + 1 + i as u64), "{f}");
        assert_eq!(f["data"]["title"], *title);
    }
}

#[actix_rt::test]
async fn unknown_epoch_or_future_seq_gets_resync() {
    let app = TestApp::spawn().await;
    let (_, event, _) = live_event(&app).await;
    for since in ["nosuchepoch:1", "x:999"] {
        let (mut c, subscribed) = watch(&app, event, &format!("?since={since}")).await;
        assert!(subscribed["snapshot"].is_object());
        let resync = c.next_durable().await;
        assert_eq!(resync["type"], "resync", "{resync}");
        assert_eq!(resync["channel"], format!("event:{event}"));
    }
    // A malformed since is refused before the upgrade.
    assert_eq!(
        WsClient::connect(&app, &format!("/api/live/events/{event}/?since=garbage"))
            .await
            .err(),
        Some(400)
    );
}

#[actix_rt::test]
async fn racing_publishers_produce_one_gap_free_order() {
    let app = TestApp::spawn().await;
    let (admin, event, _) = live_event(&app).await;
    let moderator = app.user_with_role("mod@example.com", "moderator").await;
    let (mut a, sa) = watch(&app, event, "").await;
    let (mut b, _) = watch(&app, event, "").await;
    let base = sa["seq"].as_u64().expect("seq");

    let n = 24;
    let posts: Vec<_> = (0..n)
        .map(|i| {
            let token = if i % 2 == 0 {
                admin.clone()
            } else {
                moderator.clone()
            };
            let app = &app;
            async move { post_update(app, &token, event, &format!("u{i}")).await }
        })
        .collect();
    let posted = futures_util::future::join_all(posts).await;
    let mut seqs: Vec<u64> = posted
        .iter()
        .map(|p| p["seq"].as_u64().expect("seq"))
        .collect();
    seqs.sort();
    assert_eq!(
        seqs,
        (base + 1..=base + n).collect::<Vec<_>>(),
        "each publish got its own seq"
    );

    let mut orders = Vec::new();
    for c in [&mut a, &mut b] {
        let mut ids = Vec::new();
        for expected in base + 1..=base + n {
            let f = c.next_durable().await;
            assert_eq!(
                f["seq"].as_u64(),
                Some(expected),
                "in order, no gap, no duplicate"
            );
            ids.push(f["data"]["id"].clone());
        }
        orders.push(ids);
    }
    assert_eq!(orders[0], orders[1], "every subscriber sees the same order");
}

#[actix_rt::test]
async fn reporters_updates_wait_for_approval() {
    let app = TestApp::spawn().await;
    let (admin, event, _) = live_event(&app).await;
    let reporter = app.user_with_role("reporter@example.com", "reporter").await;
    let moderator = app.user_with_role("mod@example.com", "moderator").await;
    let viewer = app.register("viewer@example.com").await.0;
    let (mut c, subscribed) = watch(&app, event, "").await;
    let base = subscribed["seq"].as_u64().expect("seq");

    let pending = post_update(&app, &reporter, event, "unconfirmed knockdown").await;
    assert_eq!(pending["is_verified"], false);
    assert_eq!(pending["seq"], Value::Null);
    let rejected = post_update(&app, &reporter, event, "wrong rumour").await;

    // Nothing went out: the next frame is the admin's update, seq base+1.
    post_update(&app, &admin, event, "official").await;
    let f = c.next_durable().await;
    assert_eq!(
        (f["seq"].as_u64(), f["data"]["title"].as_str()),
        (Some(base + 1), Some("official"))
    );

    // Viewers see neither the queue nor its controls.
    assert_error(
        &app.get("/api/live/updates/?review=pending", Some(&viewer))
            .await,
        403,
        "forbidden",
    );
    let (status, queue) = app
        .get(
            &format!("/api/live/updates/?event={event}&review=pending"),
            Some(&moderator),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(queue["results"].as_array().map(Vec::len), Some(2));
    assert_error(
        &app.post(
            &format!("/api/live/updates/{}/approve/", pending["id"]),
            Some(&reporter),
            json!({}),
        )
        .await,
        403,
        "forbidden",
    );

    let (status, approved) = app
        .post(
            &format!("/api/live/updates/{}/approve/", pending["id"]),
            Some(&moderator),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["is_verified"], true);
    let f = c.next_durable().await;
    assert_eq!(
        (f["seq"].as_u64(), f["data"]["title"].as_str()),
        (Some(base + 2), Some("unconfirmed knockdown"))
    );
    assert_eq!(f["data"]["seq"].as_u64(), Some(base + 2));

    let (status, _) = app
        .post(
            &format!("/api/live/updates/{}/reject/", rejected["id"]),
            Some(&moderator),
            json!({ "reason": "unsourced" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_error(
        &app.post(
            &format!("/api/live/updates/{}/approve/", rejected["id"]),
            Some(&moderator),
            json!({}),
        )
        .await,
        409,
        "invalid_transition",
    );
    assert_error(
        &app.post(
            &format!("/api/live/updates/{}/approve/", pending["id"]),
            Some(&moderator),
            json!({}),
        )
        .await,
        409,
        "invalid_transition",
    );

    // Only verified updates are public.
    let (_, public) = app
        .get(&format!("/api/live/updates/?event={event}"), None)
        .await;
    let titles: Vec<&str> = public["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|u| u["title"].as_str())
        .collect();
    assert_eq!(titles, vec!["unconfirmed knockdown", "official"]);
    assert!(!titles.contains(&"wrong rumour"));
}

#[actix_rt::test]
async fn update_input_is_validated_and_nothing_is_published() {
    let app = TestApp::spawn().await;
    let (admin, event, fights) = live_event(&app).await;
    let viewer = app.register("viewer@example.com").await.0;
    let good = json!({ "live_event": event, "update_type": "news", "title": "t", "data": {} });
    let messages_before = app.count("channel_messages");
    assert_error(
        &app.post("/api/live/updates/", Some(&viewer), good.clone())
            .await,
        403,
        "forbidden",
    );
    assert_error(
        &app.post("/api/live/updates/", None, good.clone()).await,
        401,
        "unauthorized",
    );
    for (patch, field) in [
        (json!({ "update_type": "dance" }), "update_type"),
        (json!({ "title": "" }), "title"),
        (json!({ "data": [1] }), "data"),
        (
            json!({ "data": { "notes": "x".repeat(17 * 1024) } }),
            "data",
        ),
        (json!({ "round_number": 9 }), "round_number"),
        (json!({ "live_event": 999999 }), "live_event"),
        (json!({ "live_fight": fights[0] + 1000 }), "live_fight"),
    ] {
        let mut body = good.clone();
        for (k, v) in patch.as_object().expect("object") {
            body[k] = v.clone();
        }
        let got = app.post("/api/live/updates/", Some(&admin), body).await;
        assert_error(&got, 400, "bad_request");
        assert!(
            got.1["error"]["details"][field].is_string(),
            "{field}: {}",
            got.1
        );
    }
    assert_eq!(app.count("live_updates"), 0);
    assert_eq!(
        app.count("channel_messages"),
        messages_before,
        "nothing published"
    );

    let (status, _) = app
        .post(
            &format!("/api/live/events/{event}/end/"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_error(
        &app.post("/api/live/updates/", Some(&admin), good).await,
        409,
        "invalid_transition",
    );
}

#[actix_rt::test]
async fn bad_frames_get_errors_and_the_connection_stays() {
    let app = TestApp::spawn().await;
    let (_, event, _) = live_event(&app).await;
    let (mut c, _) = watch(&app, event, "").await;
    let cases = [
        ("{not json", "bad_request"),
        (r#"{"op":"dance","ref":1}"#, "bad_request"),
        (r#"{"op":"subscribe","channel":42}"#, "bad_request"),
        (r#"{"op":"subscribe","channel":"nowhere:1"}"#, "bad_request"),
        (r#"{"op":"subscribe","channel":"user:1"}"#, "unauthorized"),
        (r#"{"op":"unsubscribe","channel":"news"}"#, "not_found"),
        (
            r#"{"op":"subscribe","channel":"event:999999"}"#,
            "not_found",
        ),
    ];
    for (text, code) in cases {
        c.send_text(text).await;
        let e = c.next_durable().await;
        assert_eq!(
            (e["type"].as_str(), e["code"].as_str()),
            (Some("error"), Some(code)),
            "{text} → {e}"
        );
    }
    c.send(json!({ "op": "dance", "ref": 77 })).await;
    assert_eq!(c.next_durable().await["ref"], 77, "errors echo ref");
    c.send_message(awc::ws::Message::Binary("bytes".into()))
        .await;
    assert_eq!(c.next_durable().await["code"], "bad_request");
    c.send(json!({ "op": "ping", "ref": 1 })).await;
    assert_eq!(c.next_durable().await["type"], "pong", "still connected");

    // A frame over MAX_MESSAGE_SIZE closes with 1009.
    c.send_text(&"x".repeat(5000)).await;
    assert_eq!(c.ended().await, Ended::Closed(Some(1009)));
}

#[actix_rt::test]
async fn signed_in_streams_and_connection_limits() {
    let mut config = test_config(fresh_database());
    config.live.max_connections_per_user = 2;
    let app = TestApp::with_config(config).await;
    let (token, user) = app.register("fan@example.com").await;

    assert_eq!(
        WsClient::connect(&app, "/api/live/notifications/")
            .await
            .err(),
        Some(401)
    );
    assert_eq!(
        WsClient::connect(&app, "/api/live/notifications/?token=forged")
            .await
            .err(),
        Some(401)
    );
    let mut first = WsClient::connect(&app, &format!("/api/live/notifications/?token={token}"))
        .await
        .expect("ok");
    let welcome = first.next().await;
    assert_eq!(welcome["user"]["id"], user);
    let subscribed = first.next_durable().await;
    assert_eq!(subscribed["channel"], format!("user:{user}"));
    first
        .send(json!({ "op": "subscribe", "channel": format!("user:{}", user + 1) }))
        .await;
    assert_eq!(first.next_durable().await["code"], "forbidden");

    let _second = WsClient::open(&app, &format!("/api/live/notifications/?token={token}")).await;
    let mut third = WsClient::connect(&app, &format!("/api/live/notifications/?token={token}"))
        .await
        .expect("upgrade");
    assert_eq!(
        third.ended().await,
        Ended::Closed(Some(1008)),
        "past the per-user limit"
    );
}

#[actix_rt::test]
async fn a_full_room_refuses_more_viewers() {
    let mut config = test_config(fresh_database());
    config.live.max_viewers_per_event = 1;
    let app = TestApp::with_config(config).await;
    let (_, event, _) = live_event(&app).await;
    let (_first, _) = watch(&app, event, "").await;
    let mut second = WsClient::open(&app, &format!("/api/live/events/{event}/")).await;
    let refused = second.next_durable().await;
    assert_eq!(
        (refused["type"].as_str(), refused["code"].as_str()),
        (Some("error"), Some("room_full"))
    );
}

#[actix_rt::test]
async fn silent_clients_are_closed_after_the_timeout() {
    let mut config = test_config(fresh_database());
    config.live.heartbeat_interval = Duration::from_secs(1);
    config.live.connection_timeout = Duration::from_secs(2);
    let app = TestApp::with_config(config).await;
    let (_, event, _) = live_event(&app).await;
    // Before the upgrade: the server's clock starts when it accepts it.
    let started = Instant::now();
    let mut silent = WsClient::connect(&app, &format!("/api/live/events/{event}/"))
        .await
        .expect("upgrade");
    // Reading, but never answering the pings.
    let end = silent.ended().await;
    assert!(
        matches!(end, Ended::Dropped | Ended::Closed(Some(4000))),
        "{end:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "not before the timeout"
    );
}

#[actix_rt::test]
async fn a_killed_room_recovers_and_keeps_its_subscribers() {
    let app = TestApp::spawn().await;
    let (admin, event, _) = live_event(&app).await;
    let (mut c, subscribed) = watch(&app, event, "").await;
    let base = subscribed["seq"].as_u64().expect("seq");
    post_update(&app, &admin, event, "before").await;
    assert_eq!(c.next_durable().await["seq"].as_u64(), Some(base + 1));

    assert!(
        ringside_actors::hub::crash_room(app.hub(), ringside_actors::Channel::Event(event)).await
    );
    post_update(&app, &admin, event, "after one").await;
    post_update(&app, &admin, event, "after two").await;
    for (i, title) in ["after one", "after two"].iter().enumerate() {
        let f = c.next_durable().await;
        assert_eq!(
            (f["seq"].as_u64(), f["data"]["title"].as_str()),
            (Some(base + 2 + i as u64), Some(*title))
        );
    }
}

/// How a stalled client connects.
#[derive(Clone, Copy)]
pub(crate) enum Stalled {
    WebSocket,
    /// An SSE stream (the path names its channels).
    EventStream,
}

/// A client that connects with a tiny receive buffer and then never reads:
/// the server's writes to it soon block.
fn stalled_client(app: &TestApp, path: &str, how: Stalled) -> std::net::TcpStream {
    use std::io::{Read, Write};
    use std::os::fd::FromRawFd;
    let addr: std::net::SocketAddr = app
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("addr");
    let std::net::SocketAddr::V4(v4) = addr else {
        panic!("IPv4 test server")
    };
    // SAFETY: plain socket calls on a descriptor we own; checked results.
    let stream = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0, "socket");
        let small: libc::c_int = 2048;
        let size = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        assert_eq!(
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&small as *const libc::c_int).cast(),
                size
            ),
            0
        );
        let sin = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: v4.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*v4.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(
            libc::connect(fd, (&sin as *const libc::sockaddr_in).cast(), len),
            0,
            "connect"
        );
        std::net::TcpStream::from_raw_fd(fd)
    };
    let mut stream = stream;
    let (headers, answer): (&str, &[u8]) = match how {
        Stalled::WebSocket => (
            "Upgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
            b"HTTP/1.1 101",
        ),
        Stalled::EventStream => ("Accept: text/event-stream\r\n", b"HTTP/1.1 200"),
    };
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}\r\n"
    )
    .expect("request sent");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).expect("handshake answer");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(answer),
        "{}",
        String::from_utf8_lossy(&head)
    );
    stream
}

#[actix_rt::test]
async fn a_client_that_never_reads_is_dropped_when_its_queue_fills() {
    // 500 frames cannot wait in a queue of 64.
    stalled_client_is_dropped_and_delays_no_one(64, Duration::from_secs(30), Stalled::WebSocket)
        .await;
}

#[actix_rt::test]
async fn a_client_that_never_reads_is_dropped_when_frames_wait_too_long() {
    // The queue has room for everything that does not fit in the kernel's
    // buffers, but frames wait past the expiry on a socket nobody reads.
    stalled_client_is_dropped_and_delays_no_one(1500, Duration::from_secs(2), Stalled::WebSocket)
        .await;
}

/// Rooms and the WebSocket reader run on: for the room, the stalled client
/// is a subscriber like any other, whatever its transport.
pub(crate) async fn stalled_client_is_dropped_and_delays_no_one(
    capacity: usize,
    expiry: Duration,
    how: Stalled,
) {
    let mut config = test_config(fresh_database());
    config.live.channel_capacity = capacity;
    config.live.channel_expiry = expiry;
    let app = TestApp::with_config(config).await;
    let (admin, event, _) = live_event(&app).await;
    let channel = ringside_actors::Channel::Event(event);
    let (mut reader, subscribed) = watch(&app, event, "").await;
    let base = subscribed["seq"].as_u64().expect("seq");
    let metrics = crate::ops::scrape(&app).await;
    let path = match how {
        Stalled::WebSocket => format!("/api/live/events/{event}/"),
        Stalled::EventStream => format!("/api/live/stream/?channels=event:{event}"),
    };
    let _stalled = stalled_client(&app, &path, how);
    let deadline = Instant::now() + Duration::from_secs(20);
    while ringside_actors::hub::subscribers(app.hub(), channel.clone()).await < 2 {
        assert!(
            Instant::now() < deadline,
            "the stalled client never subscribed"
        );
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }

    // More than the kernel buffers can hold (up to 4 MiB on the server's
    // side), so the stalled client's writer blocks and its queue fills.
    let bulk = "x".repeat(14 * 1024);
    let total: u64 = 500;
    let publish = async {
        for chunk in 0..total / 20 {
            let posts: Vec<_> = (0..20)
                .map(|i| {
                    let (app, admin, bulk) = (&app, &admin, &bulk);
                    let title = format!("u{}", chunk * 20 + i);
                    async move {
                        let body = json!({ "live_event": event, "update_type": "news", "title": title, "data": { "bulk": bulk } });
                        app.post("/api/live/updates/", Some(admin), body).await
                    }
                })
                .collect();
            for (status, body) in futures_util::future::join_all(posts).await {
                assert_eq!(status, StatusCode::CREATED, "{body}");
            }
        }
    };
    // The reading client gets every one, in order, while the other stalls.
    let read = async {
        for i in 0..total {
            let f = reader.next_durable().await;
            assert_eq!(
                f["seq"].as_u64(),
                Some(base + 1 + i),
                "in order, nothing skipped"
            );
        }
    };
    futures_util::join!(publish, read);

    // The stalled client was dropped; the reader is still there.
    let deadline = Instant::now() + Duration::from_secs(20);
    while ringside_actors::hub::subscribers(app.hub(), channel.clone()).await != 1 {
        assert!(
            Instant::now() < deadline,
            "the stalled client was never dropped"
        );
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    reader.send(json!({ "op": "ping", "ref": 1 })).await;
    assert_eq!(reader.next_durable().await["type"], "pong");
    // Operators see the drop (per process: at least this one).
    let drops = r#"ringside_ws_closes_total{code="4001",initiator="server"}"#;
    let after = crate::ops::scrape(&app).await;
    assert!(crate::ops::moved(&metrics, &after, drops) >= 1.0, "{drops}");
}

#[actix_rt::test]
async fn viewer_counts_are_live_coalesced_and_kept() {
    let app = TestApp::spawn().await;
    let (_, event, _) = live_event(&app).await;
    let (mut first, _) = watch(&app, event, "").await;
    let (_second, subscribed) = watch(&app, event, "").await;
    assert_eq!(
        subscribed["snapshot"]["viewer_count"], 2,
        "the snapshot counts who is here"
    );
    let viewers = loop {
        let f = first.next().await;
        if f["type"] == "viewers" && f["data"]["count"] == 2 {
            break f;
        }
    };
    assert_eq!(viewers["channel"], format!("event:{event}"));
    assert!(
        viewers.get("seq").is_none(),
        "ephemeral frames carry no seq"
    );

    // Kept in Postgres too, for the REST answer and analytics.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, detail) = app.get(&format!("/api/live/events/{event}/"), None).await;
        if detail["viewer_count"] == 2 && detail["peak_viewers"] == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "viewer count never stored: {detail}"
        );
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_rt::test]
async fn idle_rooms_are_let_go_and_come_back_on_demand() {
    let mut config = test_config(fresh_database());
    config.room_idle = Duration::from_secs(1);
    let app = TestApp::with_config(config).await;
    let (admin, event, _) = live_event(&app).await;
    let (c, _) = watch(&app, event, "").await;
    let rooms = |app: &TestApp| {
        let hub = app.hub().clone();
        async move {
            hub.send(ringside_actors::hub::Stats)
                .await
                .expect("hub")
                .rooms
        }
    };
    assert_eq!(rooms(&app).await, 1);
    drop(c);
    let deadline = Instant::now() + Duration::from_secs(15);
    while rooms(&app).await != 0 {
        assert!(Instant::now() < deadline, "the idle room stayed");
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
    // A new subscriber gets a fresh room that knows the whole history.
    post_update(&app, &admin, event, "later").await;
    let (mut c, subscribed) = watch(&app, event, "").await;
    let seq = subscribed["seq"].as_u64().expect("seq");
    post_update(&app, &admin, event, "live again").await;
    let f = c.next_durable().await;
    assert_eq!(
        (f["seq"].as_u64(), f["data"]["title"].as_str()),
        (Some(seq + 1), Some("live again"))
    );
}

#[actix_rt::test]
async fn the_comment_streams_endpoint_without_an_upgrade_points_to_the_comment_list() {
    let app = TestApp::spawn().await;
    let (_, event, _) = live_event(&app).await;
    let got = app.get(&format!("/api/live/comments/{event}/"), None).await;
    assert_error(&got, 400, "bad_request");
    assert!(
        got.1["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&format!("/api/live/comments/?event={event}"))),
        "{}",
        got.1
    );
    let missing = app.get("/api/live/comments/999999/", None).await;
    assert_error(&missing, 404, "not_found");
}

#[actix_rt::test]
async fn a_write_listener_of_its_own_serves_publishes_to_the_main_listener_s_viewers() {
    let config = crate::harness::test_config_with(
        fresh_database(),
        &[("RINGSIDE_WRITE_BIND", "127.0.0.1:0".to_string())],
    );
    let app = TestApp::with_config(config).await;
    let writes = TestApp::at(
        app.write_base.clone().expect("the write listener is up"),
        app.db_url.clone(),
    );
    assert_ne!(writes.base, app.base);
    let (admin, event, _) = live_event(&app).await;
    let (mut viewer, _) = watch(&app, event, "").await;
    // Published through the write listener, heard on the main one.
    let posted = post_update(&writes, &admin, event, "From the write path").await;
    let frame = viewer.next_durable().await;
    assert_eq!(frame["data"]["id"], posted["id"], "{frame}");
    // It is the same API: reads answer there too.
    let (status, _) = writes
        .get(&format!("/api/live/events/{event}/"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}
