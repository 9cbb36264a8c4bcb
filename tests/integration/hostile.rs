//! What a hostile or careless client can do to the live core, tried over
//! real sockets: oversized and malformed frames (RFC 6455 to the letter),
//! sockets that never read, floods of sockets and of subscriptions to
//! channels that do not exist, crowding out signed-in fans, and resumes
//! from far back.

use std::time::Duration;

use awc::http::StatusCode;
use serde_json::json;

use crate::harness::{fresh_database, test_config_with, TestApp};
use crate::live_ws::{live_event, post_update, watch};
use crate::raw_ws::{
    eventually, frame, header_only, server_addr, tcp_socket_exists, RawWs, CLOSE, CONTINUATION,
    PING, PONG, TEXT,
};
use crate::ws_client::WsClient;

/// A live event whose endpoint a raw client opens; (app, admin, event id).
async fn live(app: &TestApp) -> (String, i64) {
    let (admin, event, _) = live_event(app).await;
    (admin, event)
}

/// The frames up to and including `subscribed`.
async fn subscribed(ws: &mut RawWs) -> serde_json::Value {
    loop {
        let v = ws.next_json().await;
        if v["type"] == "subscribed" {
            return v;
        }
    }
}

#[actix_rt::test]
async fn an_oversized_frame_is_refused_by_its_header_before_its_payload() {
    let app = TestApp::spawn().await;
    let (_, event) = live(&app).await;
    let mut ws = RawWs::open(&app, &format!("/api/live/events/{event}/")).await;
    subscribed(&mut ws).await;
    // Declares 64 MiB and sends none of it: the server must not wait for it.
    ws.write(&header_only(64 << 20)).await;
    assert_eq!(ws.close_code().await, Some(1009));
    assert!(
        ws.hung_up().await,
        "the connection is closed after the 1009"
    );
}

#[actix_rt::test]
async fn fragmented_messages_are_reassembled_up_to_the_limit() {
    let app = TestApp::spawn().await;
    let (_, event) = live(&app).await;
    let mut ws = RawWs::open(&app, &format!("/api/live/events/{event}/")).await;
    subscribed(&mut ws).await;
    let op = br#"{"op":"ping","ref":41}"#;
    let mut bytes = frame(false, TEXT, &op[..5]);
    bytes.extend(frame(true, PING, b"hi")); // control frames may come between
    bytes.extend(frame(false, CONTINUATION, &op[5..12]));
    bytes.extend(frame(true, CONTINUATION, &op[12..]));
    ws.write(&bytes).await;
    let pong = ws.next().await.expect("the pong to the ping frame");
    assert_eq!((pong.opcode, pong.payload.as_slice()), (PONG, &b"hi"[..]));
    let answer = ws.next_json().await;
    assert_eq!(
        (answer["type"].as_str(), answer["ref"].as_i64()),
        (Some("pong"), Some(41))
    );

    // Fragments are judged by their running total (MAX_MESSAGE_SIZE 4096).
    let chunk = vec![b' '; 3000];
    let mut bytes = frame(false, TEXT, &chunk);
    bytes.extend(frame(false, CONTINUATION, &chunk));
    ws.write(&bytes).await;
    assert_eq!(ws.close_code().await, Some(1009));
}

#[actix_rt::test]
async fn invalid_utf8_closes_with_1007_and_protocol_breaches_with_1002() {
    let app = TestApp::spawn().await;
    let (_, event) = live(&app).await;
    let path = format!("/api/live/events/{event}/");
    let mut ws = RawWs::open(&app, &path).await;
    subscribed(&mut ws).await;
    ws.write(&frame(true, TEXT, &[b'{', 0xC3, 0x28, b'}']))
        .await;
    assert_eq!(ws.close_code().await, Some(1007));

    let mut ws = RawWs::open(&app, &path).await;
    subscribed(&mut ws).await;
    let mut unmasked = frame(true, TEXT, b"{}");
    unmasked[1] &= 0x7F;
    ws.write(&unmasked[..2]).await;
    assert_eq!(ws.close_code().await, Some(1002));
}

#[actix_rt::test]
async fn a_clients_close_is_answered_and_the_connection_closed() {
    let app = TestApp::spawn().await;
    let (_, event) = live(&app).await;
    let mut ws = RawWs::open(&app, &format!("/api/live/events/{event}/")).await;
    subscribed(&mut ws).await;
    let mut body = 1000u16.to_be_bytes().to_vec();
    body.extend_from_slice(b"good night");
    ws.write(&frame(true, CLOSE, &body)).await;
    let echo = loop {
        let f = ws.next().await.expect("an answer to the close");
        if f.opcode == CLOSE {
            break f;
        }
    };
    assert_eq!(echo.close_code(), Some(1000), "the code is echoed");
    assert!(
        ws.hung_up().await,
        "then the server closes the TCP connection"
    );

    // A close without a code is answered with 1000, as awc sees it too.
    let mut c = WsClient::open(&app, &format!("/api/live/events/{event}/")).await;
    c.send_message(awc::ws::Message::Close(Some(
        awc::ws::CloseCode::Away.into(),
    )))
    .await;
    assert_eq!(c.ended().await, crate::ws_client::Ended::Closed(Some(1001)));
}

#[actix_rt::test]
async fn pings_count_toward_the_frame_rate_limit() {
    let app = TestApp::spawn().await;
    let (_, event) = live(&app).await;
    let mut ws = RawWs::open(&app, &format!("/api/live/events/{event}/")).await;
    subscribed(&mut ws).await;
    let flood: Vec<u8> = (0..200).flat_map(|_| frame(true, PING, b"")).collect();
    ws.write(&flood).await;
    let (mut pongs, mut limited) = (0, 0);
    let code = loop {
        let Some(f) = ws.next().await else { break None };
        match f.opcode {
            PONG => pongs += 1,
            TEXT if f.json()["code"] == "rate_limited" => limited += 1,
            CLOSE => break f.close_code(),
            _ => {}
        }
    };
    assert!(
        pongs < 200 && limited > 0,
        "pongs {pongs}, refusals {limited}"
    );
    assert_eq!(code, Some(1008), "a client that keeps flooding is closed");
}

#[actix_rt::test]
async fn a_dropped_client_that_never_reads_loses_its_connection() {
    let config = test_config_with(
        fresh_database(),
        &[
            ("CHANNEL_CAPACITY", "16".into()),
            ("CLOSE_GRACE_MS", "300".into()),
        ],
    );
    let app = TestApp::with_config(config).await;
    let (admin, event) = live(&app).await;
    let channel = ringside_actors::Channel::Event(event);
    let mut stalled = RawWs::open(&app, &format!("/api/live/events/{event}/")).await;
    subscribed(&mut stalled).await;
    let server = server_addr(&app);
    assert!(tcp_socket_exists(server, stalled.local));
    // Never read again; updates pile up until the queue bound drops it.
    let bulk = "x".repeat(14 * 1024);
    for i in 0..400 {
        let body = json!({ "live_event": event, "update_type": "news", "title": format!("u{i}"),
                           "data": { "bulk": bulk } });
        let (status, body) = app.post("/api/live/updates/", Some(&admin), body).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        if ringside_actors::hub::subscribers(app.hub(), channel.clone()).await == 0 {
            break;
        }
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while ringside_actors::hub::subscribers(app.hub(), channel.clone()).await != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the stalled client was never dropped from the room"
        );
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    // The server's end of its connection, with its buffers, is gone too.
    assert!(
        eventually(Duration::from_secs(10), || !tcp_socket_exists(
            server,
            stalled.local
        ))
        .await,
        "the server still holds the connection of a dropped client"
    );
}

#[actix_rt::test]
async fn one_address_gets_at_most_max_connections_per_ip() {
    let config = test_config_with(fresh_database(), &[("MAX_CONNECTIONS_PER_IP", "3".into())]);
    let app = TestApp::with_config(config).await;
    let (_, event) = live(&app).await;
    let path = format!("/api/live/events/{event}/");
    let mut open = Vec::new();
    for _ in 0..3 {
        let (mut ws, head) = RawWs::connect_from(&app, "127.0.0.2", &path, &[]).await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        subscribed(&mut ws).await;
        open.push(ws);
    }
    let (mut fourth, head) = RawWs::connect_from(&app, "127.0.0.2", &path, &[]).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert_eq!(
        fourth.close_code().await,
        Some(1008),
        "past the per-address limit"
    );
    assert!(fourth.hung_up().await);
    // Another address is counted apart.
    let (mut other, _) = RawWs::connect_from(&app, "127.0.0.3", &path, &[]).await;
    subscribed(&mut other).await;
    // A closed connection gives its slot back.
    let mut first = open.remove(0);
    first
        .write(&frame(true, CLOSE, &1000u16.to_be_bytes()))
        .await;
    assert!(first.hung_up().await);
    drop(first);
    let mut again = None;
    for _ in 0..50 {
        let (mut ws, _) = RawWs::connect_from(&app, "127.0.0.2", &path, &[]).await;
        let f = ws.next().await.expect("a frame");
        if f.opcode == TEXT {
            again = Some(ws);
            break;
        }
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(again.is_some(), "the freed slot was never given back");
}

#[actix_rt::test]
async fn anonymous_viewers_cannot_fill_the_places_kept_for_signed_in_fans() {
    let config = test_config_with(
        fresh_database(),
        &[
            ("MAX_VIEWERS_PER_EVENT", "10".into()),
            ("SIGNED_IN_RESERVE", "20".into()),
            ("MAX_CONNECTIONS_PER_IP", "0".into()),
        ],
    );
    let app = TestApp::with_config(config).await;
    let (_, event) = live(&app).await;
    let mut anonymous = Vec::new();
    for _ in 0..8 {
        anonymous.push(watch(&app, event, "").await.0);
    }
    let mut ninth = WsClient::open(&app, &format!("/api/live/events/{event}/")).await;
    assert_eq!(ninth.next_durable().await["code"], "room_full");
    let (token, _) = app.register("fan@example.com").await;
    let (_fan, subscribed) = watch(&app, event, &format!("?token={token}")).await;
    assert_eq!(subscribed["channel"], format!("event:{event}"));
}

#[actix_rt::test]
async fn subscriptions_to_missing_channels_make_no_rooms_and_free_their_slot() {
    let app = TestApp::spawn().await;
    let (_, event) = live(&app).await;
    let (mut c, _) = watch(&app, event, "").await;
    let before = app
        .hub()
        .send(ringside_actors::hub::Stats)
        .await
        .expect("stats");
    // More than the 50 subscriptions a connection may hold, paced under the
    // frame rate limit (20 a second).
    for i in 0..60 {
        actix_rt::time::sleep(Duration::from_millis(60)).await;
        c.send(json!({ "op": "subscribe", "channel": format!("fight:{}", 900_000 + i), "ref": i }))
            .await;
        let e = c.next_durable().await;
        assert_eq!(
            (e["code"].as_str(), e["ref"].as_i64()),
            (Some("not_found"), Some(i)),
            "{e}"
        );
    }
    let after = app
        .hub()
        .send(ringside_actors::hub::Stats)
        .await
        .expect("stats");
    assert_eq!(after.rooms, before.rooms, "no room for a missing channel");
    c.send(json!({ "op": "subscribe", "channel": "news", "ref": "n" }))
        .await;
    let ok = c.next_durable().await;
    assert_eq!(
        (ok["type"].as_str(), ok["channel"].as_str()),
        (Some("subscribed"), Some("news")),
        "{ok}"
    );
}

#[actix_rt::test]
async fn a_resume_from_far_back_gets_resync_and_a_near_one_comes_in_pages() {
    let mut config = test_config_with(fresh_database(), &[("RESUME_MAX_MESSAGES", "50".into())]);
    config.live.channel_capacity = 16;
    let app = TestApp::with_config(config).await;
    let (admin, event) = live(&app).await;
    let (_, first) = watch(&app, event, "").await;
    let epoch = first["epoch"].as_str().expect("epoch").to_string();
    let start = first["seq"].as_u64().expect("seq");
    for i in 0..60 {
        post_update(&app, &admin, event, &format!("u{i}")).await;
    }
    let last = start + 60;
    // 60 behind: beyond RESUME_MAX_MESSAGES.
    let (mut far, _) = watch(&app, event, &format!("?since={epoch}:{start}")).await;
    let resync = far.next_durable().await;
    assert_eq!(
        (resync["type"].as_str(), resync["reason"].as_str()),
        (Some("resync"), Some("too_far_behind")),
        "{resync}"
    );
    // 40 behind with a queue of 16: every frame, in order, no 4001.
    let from = last - 40;
    let (mut near, _) = watch(&app, event, &format!("?since={epoch}:{from}")).await;
    for seq in from + 1..=last {
        let f = near.next_durable().await;
        assert_eq!(f["seq"].as_u64(), Some(seq), "{f}");
    }
    near.send(json!({ "op": "ping", "ref": 1 })).await;
    assert_eq!(near.next_durable().await["type"], "pong", "still connected");
}
