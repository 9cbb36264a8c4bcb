//! The body deadline (`BODY_TIMEOUT`), over a raw socket with hand-written
//! HTTP/1.1: a body that stops or trickles is answered 408 `request_timeout`
//! and its connection closed; a normal request, a slow start that still makes
//! it, and a WebSocket kept open longer than the deadline are unaffected.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{fresh_database, test_config_with, TestApp, ADMIN_EMAIL};
use crate::ws_client::WsClient;

/// Longer than the 1 s deadline plus scheduling slack, far below a hang.
const BOUND: Duration = Duration::from_secs(6);

async fn app() -> TestApp {
    TestApp::with_config(test_config_with(
        fresh_database(),
        &[("BODY_TIMEOUT", "1".into())],
    ))
    .await
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .expect("connect")
}

fn login_head(content_length: usize) -> String {
    format!(
        "POST /api/auth/login/ HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: application/json\r\nContent-Length: {content_length}\r\n\r\n"
    )
}

/// Reads until the server closes the connection (read returns 0), within
/// [`BOUND`]: the status and the JSON body of the one answer.
async fn answer_then_close(read: &mut (impl AsyncReadExt + Unpin)) -> (u16, Value) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        match tokio::time::timeout_at(deadline, read.read(&mut buf)).await {
            Err(_) => panic!(
                "the connection stayed open; received so far: {:?}",
                String::from_utf8_lossy(&got)
            ),
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            // A reset after the answer is a close too.
            Ok(Err(_)) if !got.is_empty() => break,
            Ok(Err(e)) => panic!("read failed before any answer: {e}"),
        }
    }
    parse(&got)
}

fn parse(raw: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete answer: {text:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head:?}"));
    let body = serde_json::from_str(body).unwrap_or(Value::String(body.to_string()));
    (status, body)
}

#[actix_rt::test]
async fn a_stalled_body_is_answered_408_and_the_connection_closed() {
    let app = app().await;
    let mut s = connect(&app).await;
    let started = Instant::now();
    s.write_all(login_head(100).as_bytes()).await.expect("head");
    s.write_all(b"{\"email\":\"").await.expect("10 bytes");
    let (status, body) = answer_then_close(&mut s).await;
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["error"]["code"], "request_timeout", "{body}");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "answered before the deadline: {:?}",
        started.elapsed()
    );
}

#[actix_rt::test]
async fn a_trickling_body_is_cut_at_the_deadline() {
    let app = app().await;
    let (mut read, mut write) = connect(&app).await.into_split();
    let started = Instant::now();
    write
        .write_all(login_head(100).as_bytes())
        .await
        .expect("head");
    // A byte every 300 ms: always something new before any per-read timer
    // would fire, and the whole body would take 30 s.
    let trickle = actix_rt::spawn(async move {
        for _ in 0..100 {
            if write.write_all(b" ").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let (status, body) = answer_then_close(&mut read).await;
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["error"]["code"], "request_timeout", "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "not cut at the deadline: {:?}",
        started.elapsed()
    );
    trickle.abort();
}

#[actix_rt::test]
async fn a_stalled_chunked_body_is_answered_408_and_the_connection_closed() {
    let app = app().await;
    let mut s = connect(&app).await;
    s.write_all(
        b"POST /api/auth/login/ HTTP/1.1\r\nHost: localhost\r\n\
          Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
          a\r\n{\"email\":\"\r\n",
    )
    .await
    .expect("head and a chunk");
    let (status, body) = answer_then_close(&mut s).await;
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["error"]["code"], "request_timeout", "{body}");
}

#[actix_rt::test]
async fn normal_and_slow_but_timely_requests_are_unaffected() {
    let app = app().await;
    let body = json!({ "email": ADMIN_EMAIL, "password": "wrong-password" }).to_string();
    let mut s = connect(&app).await;
    // Two requests on one keep-alive connection; the second's body comes
    // 400 ms after its headers, well within the deadline.
    s.write_all(format!("{}{body}", login_head(body.len())).as_bytes())
        .await
        .expect("first request");
    let first = read_one(&mut s).await;
    assert_eq!(first.0, 401, "{}", first.1);
    s.write_all(login_head(body.len()).as_bytes())
        .await
        .expect("second head");
    tokio::time::sleep(Duration::from_millis(400)).await;
    s.write_all(body.as_bytes()).await.expect("second body");
    let second = read_one(&mut s).await;
    assert_eq!(second.0, 401, "{}", second.1);

    // A WebSocket is not timed: its "body" is the socket.
    let token = app.admin_token().await;
    let mut ws = WsClient::open(&app, &format!("/api/live/notifications/?token={token}")).await;
    let _subscribed = ws.next_durable().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ws.send(json!({ "op": "ping", "ref": 1 })).await;
    assert_eq!(ws.next_durable().await["type"], "pong", "still connected");
}

/// One answer on a keep-alive connection (its body sized by Content-Length).
async fn read_one(s: &mut TcpStream) -> (u16, Value) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(BOUND, s.read(&mut buf))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(n > 0, "closed before a whole answer: {got:?}");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if body.len() >= length {
                return parse(&got);
            }
        }
    }
}
