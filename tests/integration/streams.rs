//! SSE and long-poll over real sockets: the WebSocket's frames and `seq`,
//! one cursor resuming every channel, the same limits and endings.

use std::time::{Duration, Instant};

use awc::http::StatusCode;
use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::harness::{assert_error, fresh_database, test_config_with, TestApp};
use crate::live_ws::{live_event, post_update, watch};
use crate::ws_client::{WsClient, PATIENCE};

type Body = std::pin::Pin<
    Box<dyn futures_util::Stream<Item = Result<bytes::Bytes, awc::error::PayloadError>>>,
>;

/// One server-sent event: its id (if any), name and data.
#[derive(Debug)]
struct Event {
    id: Option<String>,
    name: String,
    data: Value,
}

/// An SSE stream read as a browser would, event by event.
struct Sse {
    body: Body,
    buf: Vec<u8>,
}

impl Sse {
    /// Opens `path` with the given headers; Err is the refusal (status, body).
    async fn open(
        app: &TestApp,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<Sse, (StatusCode, Value)> {
        // No overall timeout: the body is open for as long as the test reads.
        let client = awc::Client::builder().disable_timeout().finish();
        let mut req = client
            .get(app.url(path))
            .insert_header(("accept", "text/event-stream"));
        for h in headers {
            req = req.insert_header(*h);
        }
        let mut resp = req.send().await.expect("the request is answered");
        if resp.status() != StatusCode::OK {
            let body = resp.json::<Value>().await.unwrap_or_default();
            return Err((resp.status(), body));
        }
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert_eq!(content_type, "text/event-stream");
        Ok(Sse {
            body: Box::pin(resp),
            buf: Vec::new(),
        })
    }

    /// The next event (keep-alive comments skipped); `None` once the stream ends.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let raw: Vec<u8> = self.buf.drain(..end + 2).collect();
                let text = String::from_utf8(raw).expect("utf-8 events");
                let (mut id, mut name, mut data) = (None, None, String::new());
                for line in text.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = Some(v.to_string());
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        name = Some(v.to_string());
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                let Some(name) = name else { continue };
                let data: Value = serde_json::from_str(&data).expect("JSON data");
                assert_eq!(
                    data["type"],
                    name.as_str(),
                    "the event is named by its type"
                );
                return Some(Event { id, name, data });
            }
            let chunk = actix_rt::time::timeout(PATIENCE, self.body.next())
                .await
                .expect("an event within the patience");
            match chunk {
                Some(Ok(bytes)) => self.buf.extend_from_slice(&bytes),
                _ => return None,
            }
        }
    }

    /// The next event that is not ephemeral.
    async fn next_durable(&mut self) -> Event {
        loop {
            let e = self.next().await.expect("the stream is open");
            if !matches!(e.name.as_str(), "viewers" | "presence" | "reactions") {
                return e;
            }
        }
    }
}

fn stream_path(channels: &str) -> String {
    format!("/api/live/stream/?channels={channels}")
}

fn encode(s: &str) -> String {
    s.replace('@', "%40")
        .replace(':', "%3A")
        .replace(',', "%2C")
        .replace('~', "%7E")
}

/// One long-poll; returns the frames and the next cursor.
async fn poll(app: &TestApp, channels: &str, cursor: &str, query: &str) -> (Vec<Value>, String) {
    let (status, body) = app
        .get(
            &format!(
                "/api/live/poll/?channels={channels}&cursor={}{query}",
                encode(cursor)
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let frames = body["frames"].as_array().expect("frames").clone();
    (frames, body["cursor"].as_str().expect("cursor").to_string())
}

/// Polls until `done` says the frames so far are enough.
async fn poll_until(
    app: &TestApp,
    channels: &str,
    mut cursor: String,
    done: impl Fn(&[Value]) -> bool,
) -> (Vec<Value>, String) {
    let deadline = Instant::now() + PATIENCE;
    let mut all = Vec::new();
    while !done(&all) {
        assert!(Instant::now() < deadline, "polled in vain: {all:?}");
        let (frames, next) = poll(app, channels, &cursor, "&timeout_s=5").await;
        all.extend(frames);
        cursor = next;
    }
    (all, cursor)
}

fn durable_seqs(frames: &[Value], kind: &str) -> Vec<u64> {
    frames
        .iter()
        .filter(|f| f["type"] == kind)
        .filter_map(|f| f["seq"].as_u64())
        .collect()
}

#[actix_rt::test]
async fn sse_carries_the_websocket_frames_and_last_event_id_resumes_every_channel() {
    let app = TestApp::spawn().await;
    let (admin, event, _) = live_event(&app).await;
    let channels = format!("event:{event},comments:{event}");
    let (mut ws, _) = watch(&app, event, "").await;
    let mut sse = Sse::open(&app, &stream_path(&channels), &[])
        .await
        .expect("the stream opens");
    let welcome = sse.next().await.expect("welcome");
    assert_eq!((welcome.name.as_str(), welcome.id), ("welcome", None));
    let mut subscribed = Vec::new();
    for _ in 0..2 {
        let s = sse.next_durable().await;
        assert_eq!(s.name, "subscribed");
        assert!(s.id.is_some(), "subscribed moves the cursor");
        subscribed.push(s.data["channel"].as_str().expect("channel").to_string());
    }
    subscribed.sort();
    assert_eq!(
        subscribed,
        vec![format!("comments:{event}"), format!("event:{event}")]
    );

    let mut ids = Vec::new();
    for i in 0..3 {
        post_update(&app, &admin, event, &format!("update {i}")).await;
        let e = sse.next_durable().await;
        assert_eq!(e.name, "update");
        // The same frame as the WebSocket's, byte for byte in meaning.
        assert_eq!(e.data, ws.next_durable().await);
        ids.push((e.id.expect("an id"), e.data["seq"].as_u64().expect("seq")));
    }
    drop(sse);
    // Two more while the reader is away; it last saw the second update.
    for i in 3..5 {
        post_update(&app, &admin, event, &format!("update {i}")).await;
    }
    let (last_id, last_seq) = ids[1].clone();
    let mut sse = Sse::open(
        &app,
        &stream_path(&channels),
        &[("last-event-id", last_id.as_str())],
    )
    .await
    .expect("the stream reopens");
    assert_eq!(sse.next().await.expect("welcome").name, "welcome");
    let mut seqs = Vec::new();
    while seqs.len() < 3 {
        let e = sse.next_durable().await;
        if e.name == "update" {
            seqs.push(e.data["seq"].as_u64().expect("seq"));
        } else {
            assert_eq!(e.name, "subscribed", "{:?}", e.data);
        }
    }
    assert_eq!(
        seqs,
        vec![last_seq + 1, last_seq + 2, last_seq + 3],
        "the rest, in order, once"
    );
}

#[actix_rt::test]
async fn long_poll_answers_at_once_or_after_its_timeout_and_a_lost_answer_loses_nothing() {
    let app = TestApp::spawn().await;
    let (admin, event, _) = live_event(&app).await;
    let channels = format!("event:{event}");
    // The first answer is the welcome (the subscription may come with it).
    let (frames, cursor) = poll_until(&app, &channels, String::new(), |f| {
        f.iter().any(|f| f["type"] == "subscribed")
    })
    .await;
    assert_eq!(frames[0]["type"], "welcome");
    let subscribed = frames
        .iter()
        .find(|f| f["type"] == "subscribed")
        .expect("subscribed");
    let base = subscribed["seq"].as_u64().expect("seq");
    assert!(
        cursor.contains('~'),
        "the cursor names the session: {cursor}"
    );

    // Nothing waiting: the answer comes after the timeout, empty. (A
    // viewer count may still be on its way from the subscription: an
    // answer with frames came at once, and carried nothing durable.)
    let mut same = cursor;
    loop {
        let started = Instant::now();
        let (quiet, next) = poll(&app, &channels, &same, "&timeout_s=1").await;
        assert!(
            quiet.iter().all(|f| f["seq"].is_null()),
            "nothing durable: {quiet:?}"
        );
        same = next;
        if quiet.is_empty() {
            assert!(started.elapsed() >= Duration::from_millis(900));
            break;
        }
    }
    // Something waiting: at once.
    post_update(&app, &admin, event, "first").await;
    let (got, kept) = poll_until(&app, &channels, same, |f| {
        durable_seqs(f, "update") == vec![base + 1]
    })
    .await;
    assert_eq!(durable_seqs(&got, "update"), vec![base + 1]);

    // The answer carrying the second update is lost on the way…
    post_update(&app, &admin, event, "second").await;
    let (lost, _) = poll_until(&app, &channels, kept.clone(), |f| {
        durable_seqs(f, "update").contains(&(base + 2))
    })
    .await;
    assert!(!lost.is_empty());
    post_update(&app, &admin, event, "third").await;
    // …so the client polls again with the cursor it has: nothing is missing.
    let (again, _) = poll_until(&app, &channels, kept, |f| {
        durable_seqs(f, "update").contains(&(base + 3))
    })
    .await;
    assert_eq!(durable_seqs(&again, "update"), vec![base + 2, base + 3]);
    assert_eq!(again[0]["type"], "welcome", "a new session resumed it");
}

#[actix_rt::test]
async fn an_sse_id_resumes_a_long_poll_and_a_stream_without_cursor_starts_fresh() {
    let app = TestApp::spawn().await;
    let (admin, event, _) = live_event(&app).await;
    let channels = format!("event:{event}");
    let mut sse = Sse::open(&app, &stream_path(&channels), &[])
        .await
        .expect("opens");
    sse.next().await.expect("welcome");
    let subscribed = sse.next_durable().await;
    let base = subscribed.data["seq"].as_u64().expect("seq");
    post_update(&app, &admin, event, "on sse").await;
    let id = sse.next_durable().await.id.expect("id");
    drop(sse);
    post_update(&app, &admin, event, "while switching").await;
    // The fallback from SSE to long-poll carries the position over.
    let (frames, _) = poll_until(&app, &channels, id, |f| {
        durable_seqs(f, "update").contains(&(base + 2))
    })
    .await;
    assert_eq!(durable_seqs(&frames, "update"), vec![base + 2]);
}

#[actix_rt::test]
async fn streams_refuse_what_is_malformed_and_what_is_not_served() {
    let config = test_config_with(
        fresh_database(),
        &[("RINGSIDE_TRANSPORTS", "poll".to_string())],
    );
    let app = TestApp::with_config(config).await;
    let (_, event, _) = live_event(&app).await;
    let refused = Sse::open(&app, &stream_path(&format!("event:{event}")), &[])
        .await
        .err()
        .expect("SSE is off");
    assert_error(&refused, 403, "forbidden");
    assert_eq!(
        WsClient::connect(&app, &format!("/api/live/events/{event}/"))
            .await
            .err(),
        Some(403),
        "so is WebSocket"
    );
    let (frames, _) = poll(&app, &format!("event:{event}"), "", "").await;
    assert_eq!(frames[0]["type"], "welcome", "long-poll is served");

    let bad = |path: String| {
        let app = &app;
        async move { app.get(&path, None).await }
    };
    for (path, field) in [
        ("/api/live/poll/".to_string(), "channels"),
        ("/api/live/poll/?channels=".to_string(), "channels"),
        (
            "/api/live/poll/?channels=event:1,nope:2".to_string(),
            "channels",
        ),
        (
            "/api/live/poll/?channels=event:1&cursor=event:1".to_string(),
            "cursor",
        ),
        (
            "/api/live/poll/?channels=event:1&timeout_s=61".to_string(),
            "timeout_s",
        ),
    ] {
        let got = bad(path.clone()).await;
        assert_error(&got, 400, "bad_request");
        assert!(
            got.1["error"]["details"][field].is_string(),
            "{path}: {}",
            got.1
        );
    }
    let too_many: Vec<String> = (1..=51).map(|i| format!("event:{i}")).collect();
    let got = bad(format!("/api/live/poll/?channels={}", too_many.join(","))).await;
    assert_error(&got, 400, "bad_request");
    assert_error(
        &bad("/api/live/poll/?channels=news&token=garbage".to_string()).await,
        401,
        "unauthorized",
    );
    // A channel that does not exist, or is someone else's, is the
    // subscription's error, as for a `subscribe` op; the stream goes on.
    let (frames, _) = poll_until(&app, "event:999999,user:5,news", String::new(), |f| {
        f.iter().filter(|f| f["type"] == "error").count() == 2
            && f.iter().any(|f| f["type"] == "subscribed")
    })
    .await;
    let mut codes: Vec<&str> = frames
        .iter()
        .filter(|f| f["type"] == "error")
        .filter_map(|f| f["code"].as_str())
        .collect();
    codes.sort();
    assert_eq!(codes, vec!["not_found", "unauthorized"]);
}

#[actix_rt::test]
async fn streams_answer_to_the_origin_check_and_the_per_address_cap() {
    let config = test_config_with(
        fresh_database(),
        &[("MAX_CONNECTIONS_PER_IP", "1".to_string())],
    );
    let app = TestApp::with_config(config).await;
    let refused = Sse::open(
        &app,
        &stream_path("news"),
        &[("origin", "https://elsewhere.example")],
    )
    .await
    .err()
    .expect("a foreign origin is refused");
    assert_error(&refused, 403, "forbidden");

    let mut first = Sse::open(&app, &stream_path("news"), &[])
        .await
        .expect("the first stream");
    assert_eq!(first.next().await.expect("welcome").name, "welcome");
    // The address's one slot is taken: the next stream is told why and ends.
    let mut second = Sse::open(&app, &stream_path("news"), &[])
        .await
        .expect("answered as a stream");
    let close = second.next().await.expect("a close event");
    assert_eq!(
        (close.name.as_str(), close.data["code"].clone()),
        ("close", json!(1008))
    );
    assert!(second.next().await.is_none(), "and the stream ends");
    let (frames, cursor) = poll(&app, "news", "", "").await;
    assert_eq!(
        frames,
        vec![
            json!({ "type": "close", "code": 1008, "reason": "too many connections from this address" })
        ]
    );
    assert!(!cursor.contains('~'), "no session was kept");
    drop(first);
}

#[actix_rt::test]
async fn a_kicked_stream_gets_its_close_code_and_resumes_from_its_cursor() {
    let app = TestApp::spawn().await;
    let (admin, event, _) = live_event(&app).await;
    let (token, user) = app.register("streamer@ringside.test").await;
    let channels = format!("event:{event}");
    let auth = format!("Bearer {token}");
    let mut sse = Sse::open(
        &app,
        &stream_path(&channels),
        &[("authorization", auth.as_str())],
    )
    .await
    .expect("opens");
    let welcome = sse.next().await.expect("welcome");
    assert_eq!(welcome.data["user"]["id"], user);
    sse.next_durable().await;
    let (frames, cursor) = poll_until(
        &app,
        &format!("{channels}&token={token}"),
        String::new(),
        |f| f.iter().any(|f| f["type"] == "subscribed"),
    )
    .await;
    assert_eq!(frames[0]["user"]["id"], user);

    // Operators see them by transport.
    let m = crate::ops::scrape(&app).await;
    for transport in ["sse", "poll"] {
        let series = format!(r#"ringside_ws_sessions{{kind="event",transport="{transport}"}}"#);
        assert!(crate::ops::value(&m, &series) >= 1.0, "{series}");
    }

    app.hub().do_send(ringside_actors::hub::KickUser {
        user,
        code: ringside_actors::protocol::close::TOO_SLOW,
        reason: "too slow: reconnect with since",
    });
    let close = sse.next_durable().await;
    assert_eq!(
        (close.name.as_str(), close.data["code"].clone()),
        ("close", json!(4001))
    );
    assert!(
        sse.next().await.is_none(),
        "the stream ends after its close"
    );
    let (frames, after) = poll_until(&app, &format!("{channels}&token={token}"), cursor, |f| {
        f.iter().any(|f| f["type"] == "close")
    })
    .await;
    assert_eq!(frames.last().map(|f| f["code"].clone()), Some(json!(4001)));
    assert!(
        !after.contains('~'),
        "the ended session is no longer named: {after}"
    );

    // The cursor it ended with resumes it: what came meanwhile, once.
    let update = post_update(&app, &admin, event, "after the kick").await;
    let seq = update["seq"].as_u64().expect("seq");
    let (frames, _) = poll_until(&app, &format!("{channels}&token={token}"), after, |f| {
        durable_seqs(f, "update").contains(&seq)
    })
    .await;
    assert_eq!(durable_seqs(&frames, "update"), vec![seq]);
}

#[actix_rt::test]
async fn an_sse_reader_that_stops_reading_is_dropped_by_queue_bound_and_delays_no_one() {
    crate::live_ws::stalled_client_is_dropped_and_delays_no_one(
        64,
        Duration::from_secs(30),
        crate::live_ws::Stalled::EventStream,
    )
    .await;
}

#[actix_rt::test]
async fn an_sse_reader_whose_frames_wait_too_long_is_dropped_and_delays_no_one() {
    crate::live_ws::stalled_client_is_dropped_and_delays_no_one(
        1500,
        Duration::from_secs(2),
        crate::live_ws::Stalled::EventStream,
    )
    .await;
}

#[actix_rt::test]
async fn a_long_poll_whose_client_leaves_ends_its_session_before_its_timeout() {
    use std::io::Write;
    let app = TestApp::spawn().await;
    let (_, event, _) = live_event(&app).await;
    let channel = ringside_actors::Channel::Event(event);
    let (_watcher, _) = watch(&app, event, "").await;
    let channels = format!("event:{event}");
    let (_, cursor) = poll_until(&app, &channels, String::new(), |f| {
        f.iter().any(|f| f["type"] == "subscribed")
    })
    .await;
    assert_eq!(
        ringside_actors::hub::subscribers(app.hub(), channel.clone()).await,
        2
    );
    // Until nothing waits, so the next poll has to wait.
    let mut cursor = cursor;
    loop {
        let (frames, next) = poll(&app, &channels, &cursor, "&timeout_s=1").await;
        cursor = next;
        if frames.is_empty() {
            break;
        }
    }
    // A client asks for a minute's wait, then leaves (a closed tab).
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut raw = std::net::TcpStream::connect(&addr).expect("connect");
    write!(
        raw,
        "GET /api/live/poll/?channels={channels}&cursor={}&timeout_s=60 HTTP/1.1\r\nHost: {addr}\r\n\r\n",
        encode(&cursor)
    )
    .expect("request sent");
    drop(raw);
    // The session leaves its room long before the minute is out.
    let deadline = Instant::now() + PATIENCE;
    while ringside_actors::hub::subscribers(app.hub(), channel.clone()).await > 1 {
        assert!(
            Instant::now() < deadline,
            "the abandoned poll kept its session"
        );
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
}
