//! Live comments over real sockets: the flow end to end (REST and WebSocket
//! share one path), threads, the content filter and its evasions, rate
//! limits, and the fan-out budget that samples without losing anything.

use std::time::Duration;

use awc::http::StatusCode;
use ringside::config::{Config, FilterAction};
use serde_json::{json, Value};

use crate::harness::{assert_error, fresh_database, test_config, TestApp};
use crate::live_ws::live_event;
use crate::ws_client::WsClient;

/// Follows `comments:{event}` (signed in when a token is given).
pub(crate) async fn watch_comments(app: &TestApp, event: i64, token: Option<&str>) -> WsClient {
    let query = token.map(|t| format!("?token={t}")).unwrap_or_default();
    let mut c = WsClient::open(app, &format!("/api/live/comments/{event}/{query}")).await;
    let subscribed = c.next_durable().await;
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    assert_eq!(subscribed["channel"], format!("comments:{event}"));
    c
}

pub(crate) async fn comment(
    app: &TestApp,
    token: &str,
    event: i64,
    content: &str,
    parent: Option<i64>,
) -> (StatusCode, Value) {
    app.post(
        "/api/live/comments/",
        Some(token),
        json!({ "live_event": event, "live_fight": null, "content": content, "parent_comment": parent }),
    )
    .await
}

/// The next frame that is not presence or counts.
pub(crate) async fn next_comment_frame(c: &mut WsClient) -> Value {
    loop {
        let f = c.next_durable().await;
        if f["type"] != "presence" {
            return f;
        }
    }
}

/// A second live event (no card) next to the one `live_event` made.
pub(crate) async fn another_live_event(app: &TestApp, admin: &str) -> i64 {
    let (status, event) = app
        .post(
            "/api/events/",
            Some(admin),
            json!({ "name": "Second Night", "venue": "Hall", "scheduled_start": "2026-12-02T20:00:00Z" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{event}");
    let (status, live) = app
        .post(
            "/api/live/events/",
            Some(admin),
            json!({ "event": event["id"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{live}");
    live["id"].as_i64().expect("id")
}

fn config_with(f: impl FnOnce(&mut Config)) -> Config {
    let mut config = test_config(fresh_database());
    f(&mut config);
    config
}

#[actix_rt::test]
async fn comments_flow_from_rest_and_websocket_to_every_watcher() {
    let app = TestApp::spawn().await;
    let (_, event, _) = live_event(&app).await;
    let mut watcher = watch_comments(&app, event, None).await;
    let (fan, fan_id) = app.register("fan@ringside.test").await;
    let moderator = app.user_with_role("mod@ringside.test", "moderator").await;

    // REST: 201 after the commit, with the seq the watchers see.
    let (status, posted) = comment(&app, &fan, event, "What a jab!", None).await;
    assert_eq!(status, StatusCode::CREATED, "{posted}");
    assert_eq!(posted["status"], "active");
    assert_eq!(posted["user"], fan_id);
    assert_eq!(posted["is_moderator"], false);
    let frame = next_comment_frame(&mut watcher).await;
    assert_eq!(frame["type"], "comment");
    assert_eq!(frame["channel"], format!("comments:{event}"));
    assert_eq!(frame["seq"], posted["seq"]);
    assert_eq!(frame["data"]["content"], "What a jab!");
    assert_eq!(frame["data"]["user_display_name"], "Fan");

    // WebSocket: the same path; the ack comes once the row is stored.
    let mut writer = watch_comments(&app, event, Some(&moderator)).await;
    writer
        .send(json!({ "op": "comment", "live_event": event, "content": "Keep it clean, folks", "ref": "c1" }))
        .await;
    let mut ack = Value::Null;
    let mut echoed = Value::Null;
    while ack.is_null() || echoed.is_null() {
        let f = next_comment_frame(&mut writer).await;
        match f["type"].as_str() {
            Some("ack") => ack = f,
            Some("comment") if f["seq"].as_u64() > posted["seq"].as_u64() => echoed = f,
            _ => {}
        }
    }
    assert_eq!(ack["ref"], "c1");
    assert_eq!(ack["data"]["is_moderator"], true);
    assert_eq!(echoed["data"]["id"], ack["data"]["id"]);
    let id = ack["data"]["id"].as_i64().expect("id");
    let stored = app
        .get(&format!("/api/live/comments/?event={event}"), None)
        .await
        .1;
    let ids: Vec<i64> = stored["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|c| c["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, vec![posted["id"].as_i64().expect("id"), id]);
    let frame = next_comment_frame(&mut watcher).await;
    assert_eq!(frame["data"]["id"], id);
    assert_eq!(frame["seq"].as_u64(), posted["seq"].as_u64().map(|s| s + 1));

    // Anonymous sockets may watch but not write; bad ops are refused.
    watcher
        .send(json!({ "op": "comment", "live_event": event, "content": "hi", "ref": 2 }))
        .await;
    let refused = next_comment_frame(&mut watcher).await;
    assert_eq!(
        (refused["type"].as_str(), refused["code"].as_str()),
        (Some("error"), Some("unauthorized")),
        "{refused}"
    );
    writer
        .send(json!({ "op": "comment", "live_event": "seven", "content": "hi" }))
        .await;
    assert_eq!(next_comment_frame(&mut writer).await["code"], "bad_request");
    writer
        .send(json!({ "op": "comment", "live_event": 999_999, "content": "hi", "ref": 3 }))
        .await;
    let missing = next_comment_frame(&mut writer).await;
    assert_eq!(missing["code"], "bad_request", "{missing}");
    assert_eq!(missing["ref"], 3);
    assert_eq!(app.count("live_comments"), 2, "refusals store nothing");
}

#[actix_rt::test]
async fn replies_stay_in_their_thread() {
    let app = TestApp::spawn().await;
    let (admin, event, _) = live_event(&app).await;
    let other = another_live_event(&app, &admin).await;
    let (fan, _) = app.register("fan@ringside.test").await;
    let (status, parent) = comment(&app, &fan, event, "Red wins this", None).await;
    assert_eq!(status, StatusCode::CREATED);
    let parent_id = parent["id"].as_i64().expect("id");
    for text in ["No way", "Blue by decision"] {
        let (status, reply) = comment(&app, &fan, event, text, Some(parent_id)).await;
        assert_eq!(status, StatusCode::CREATED, "{reply}");
        assert_eq!(reply["parent_comment"], parent_id);
    }
    let (_, listed) = app
        .get(
            &format!("/api/live/comments/?event={event}&parent={parent_id}"),
            None,
        )
        .await;
    assert_eq!(listed["results"].as_array().map(Vec::len), Some(2));
    let (_, all) = app
        .get(&format!("/api/live/comments/?event={event}"), None)
        .await;
    assert_eq!(all["results"][0]["reply_count"], 2);
    let (_, after) = app
        .get(
            &format!("/api/live/comments/?event={event}&since={parent_id}"),
            None,
        )
        .await;
    assert_eq!(after["results"].as_array().map(Vec::len), Some(2));

    // A reply in another event, or to nothing, is refused.
    let wrong = comment(&app, &fan, other, "Cross-post", Some(parent_id)).await;
    assert_error(&wrong, 400, "bad_request");
    assert!(wrong.1["error"]["details"]["parent_comment"].is_string());
    let missing = comment(&app, &fan, event, "To nobody", Some(123_456)).await;
    assert_error(&missing, 400, "bad_request");
    assert_eq!(app.count("live_comments"), 3);
}

#[actix_rt::test]
async fn the_filter_catches_evasions_and_stores_nothing() {
    let app = TestApp::with_config(config_with(|c| {
        c.moderation_blocked_terms = vec!["cheater".into()];
        c.live.comment_rate_limit = 1000;
    }))
    .await;
    let (_, event, _) = live_event(&app).await;
    let (fan, _) = app.register("fan@ringside.test").await;
    for (i, bad) in [
        "you scum",
        "you SCUM",
        "you s c u m",
        "you s.c-u_m",
        "you scuuuuum",
        "you $cum",
        "you 5cum",
        "what a ch3at3r",
        "spam http://a.example http://b.example",
    ]
    .iter()
    .enumerate()
    {
        let got = comment(&app, &fan, event, bad, None).await;
        assert_error(&got, 422, "content_rejected");
        assert_eq!(app.count("live_comments"), 0, "case {i}: {bad}");
    }
    let (status, _) = comment(&app, &fan, event, "Skim milk, um, no", None).await;
    assert_eq!(status, StatusCode::CREATED, "innocent neighbours pass");
    // The same message again is spam.
    let again = comment(&app, &fan, event, "SKIM milk um NO!!", None).await;
    assert_error(&again, 422, "content_rejected");
    assert_eq!(app.count("live_comments"), 1);
}

/// "skyspun" holds "kys", which is not a word there: the filter must still
/// look at every other term, and refuse "moron".
#[actix_rt::test]
async fn a_blocked_term_after_a_harmless_near_match_is_refused() {
    let app = TestApp::spawn().await;
    let (_, event, _) = live_event(&app).await;
    let (fan, _) = app.register("fan@ringside.test").await;
    let got = comment(&app, &fan, event, "the sky spun, what a moron", None).await;
    assert_error(&got, 422, "content_rejected");
    assert_eq!(app.count("live_comments"), 0, "nothing stored");
    let (status, body) = comment(&app, &fan, event, "the sky spun", None).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the near match alone passes: {body}"
    );
    assert_eq!(app.count("live_comments"), 1);
}

#[actix_rt::test]
async fn held_comments_wait_for_a_moderator() {
    let app = TestApp::with_config(config_with(|c| {
        c.moderation_filter_action = FilterAction::Hold;
    }))
    .await;
    let (_, event, _) = live_event(&app).await;
    let mut watcher = watch_comments(&app, event, None).await;
    let (fan, _) = app.register("fan@ringside.test").await;
    let moderator = app.user_with_role("mod@ringside.test", "moderator").await;
    let (status, held) = comment(&app, &fan, event, "you scum", None).await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    assert_eq!(held["status"], "held");
    assert!(held["seq"].is_null(), "not shown, so not numbered");
    let (_, public) = app
        .get(&format!("/api/live/comments/?event={event}"), None)
        .await;
    assert_eq!(public["results"], json!([]));
    let (_, queue) = app.get("/api/moderation/queue/", Some(&moderator)).await;
    assert_eq!(queue["results"][0]["id"], held["id"]);

    // Released by a moderator: now everyone sees it, numbered.
    let (status, restored) = app
        .post(
            &format!("/api/moderation/comments/{}/restore/", held["id"]),
            Some(&moderator),
            json!({ "reason": "banter" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{restored}");
    let frame = next_comment_frame(&mut watcher).await;
    assert_eq!(frame["type"], "comment", "{frame}");
    assert_eq!(frame["data"]["id"], held["id"]);
    assert_eq!(frame["data"]["status"], "active");
}

#[actix_rt::test]
async fn comment_rate_limits_refuse_then_recover() {
    let app = TestApp::with_config(config_with(|c| c.live.comment_rate_limit = 60)).await;
    let (_, event, _) = live_event(&app).await;
    let (fan, _) = app.register("fan@ringside.test").await;
    // 60 a minute: a burst of 30, then one a second.
    let mut refused = None;
    let started = std::time::Instant::now();
    for i in 0..40 {
        let got = comment(&app, &fan, event, &format!("comment number {i}"), None).await;
        if got.0 != StatusCode::CREATED {
            refused = Some((i, got));
            break;
        }
    }
    let (accepted, got) = refused.expect("the limit refuses");
    // A slow machine earns the one-a-second refill while it posts.
    let refilled = started.elapsed().as_secs() as usize;
    assert!(
        (30..=30 + refilled).contains(&accepted),
        "the burst is half the per-minute rate: {accepted} in {refilled} s"
    );
    assert_error(&got, 429, "rate_limited");
    let wait = got.1["error"]["details"]["retry_after_ms"]
        .as_u64()
        .expect("retry_after_ms");
    assert!((1..=1000).contains(&wait), "{wait}");

    // Over WebSocket the refusal says the same.
    let mut ws = watch_comments(&app, event, Some(&fan)).await;
    ws.send(json!({ "op": "comment", "live_event": event, "content": "one more", "ref": 1 }))
        .await;
    let frame = next_comment_frame(&mut ws).await;
    assert_eq!(frame["code"], "rate_limited", "{frame}");
    assert!(frame["retry_after_ms"]
        .as_u64()
        .is_some_and(|ms| ms <= 1000));

    // Waiting as told is enough.
    actix_rt::time::sleep(Duration::from_millis(wait)).await;
    let (status, body) = comment(&app, &fan, event, "back again", None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[actix_rt::test]
async fn the_fan_out_budget_samples_but_loses_nothing() {
    let app = TestApp::with_config(config_with(|c| {
        c.engagement.comment_fanout_per_second = 4;
        c.live.comment_rate_limit = 10_000;
    }))
    .await;
    let (_, event, _) = live_event(&app).await;
    let (reader, reader_id) = app.register("reader@ringside.test").await;
    let (chatty, _) = app.register("chatty@ringside.test").await;
    let moderator = app.user_with_role("mod@ringside.test", "moderator").await;
    let (_, mine) = comment(&app, &reader, event, "Who wins?", None).await;
    let mut watcher = watch_comments(&app, event, Some(&reader)).await;
    let base = mine["seq"].as_u64().expect("seq");

    // A burst far over 4 a second, with a moderator's note and a reply to
    // the reader in the middle.
    let total = 40;
    let mut must_see = Vec::new();
    for i in 0..total {
        let (status, c) = match i {
            20 => {
                comment(
                    &app,
                    &moderator,
                    event,
                    "Moderator here: keep it civil",
                    None,
                )
                .await
            }
            25 => comment(&app, &chatty, event, "Red, easily", mine["id"].as_i64()).await,
            _ => comment(&app, &chatty, event, &format!("burst message {i}"), None).await,
        };
        assert_eq!(status, StatusCode::CREATED, "{c}");
        if i == 20 || i == 25 {
            must_see.push(c["id"].clone());
        }
    }
    let last = base + total;

    // The reader's sequence has no gap: each seq is a comment or inside a
    // `skipped` range, and what was skipped is counted.
    let mut next = base + 1;
    let mut delivered = Vec::new();
    let mut skipped = 0;
    while next <= last {
        let f = next_comment_frame(&mut watcher).await;
        match f["type"].as_str() {
            Some("comment") => {
                assert_eq!(f["seq"].as_u64(), Some(next), "{f}");
                delivered.push(f["data"]["id"].clone());
                next += 1;
            }
            Some("skipped") => {
                assert_eq!(f["data"]["from_seq"].as_u64(), Some(next), "{f}");
                let to = f["data"]["to_seq"].as_u64().expect("to");
                assert_eq!(f["seq"].as_u64(), Some(to));
                skipped += f["data"]["count"].as_u64().expect("count");
                next = to + 1;
            }
            other => panic!("unexpected frame {other:?}: {f}"),
        }
    }
    assert_eq!(delivered.len() as u64 + skipped, total);
    assert!(skipped > 0, "over the budget, some are left out");
    assert!(delivered.len() < total as usize / 2, "{}", delivered.len());
    for id in &must_see {
        assert!(delivered.contains(id), "{id} must never be skipped");
    }
    let (_, stored) = app
        .get(
            &format!("/api/live/comments/?event={event}&limit=100"),
            None,
        )
        .await;
    assert_eq!(
        stored["results"].as_array().map(Vec::len),
        Some(total as usize + 1),
        "every comment is stored and listable"
    );
    assert_eq!(reader_id, mine["user"].as_i64().expect("user"));
}

#[actix_rt::test]
async fn a_comment_refers_only_to_its_events_fights_and_shown_comments_and_stops_when_it_ends() {
    let app = TestApp::spawn().await;
    let (admin, event, fights) = live_event(&app).await;
    let other = another_live_event(&app, &admin).await;
    let (fan, _) = app.register("fan@ringside.test").await;
    let (replier, _) = app.register("replier@ringside.test").await;
    let moderator = app.user_with_role("mod@ringside.test", "moderator").await;
    let on_fight = |live_event: i64, content: &str| json!({ "live_event": live_event, "live_fight": fights[0], "content": content, "parent_comment": null });
    let (status, ok) = app
        .post(
            "/api/live/comments/",
            Some(&fan),
            on_fight(event, "Red looks sharp"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ok}");
    let wrong = app
        .post(
            "/api/live/comments/",
            Some(&fan),
            on_fight(other, "Blue is tiring"),
        )
        .await;
    assert_error(&wrong, 400, "bad_request");
    assert!(
        wrong.1["error"]["details"]["live_fight"].is_string(),
        "{}",
        wrong.1
    );

    // A reply needs its parent shown.
    let (_, parent) = comment(&app, &fan, event, "Borderline remark", None).await;
    let parent = parent["id"].as_i64().expect("id");
    let (status, _) = app
        .post(
            &format!("/api/moderation/comments/{parent}/hide/"),
            Some(&moderator),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let reply = comment(&app, &replier, event, "Agreed", Some(parent)).await;
    assert_error(&reply, 400, "bad_request");
    assert!(
        reply.1["error"]["details"]["parent_comment"].is_string(),
        "{}",
        reply.1
    );

    // An event that has ended takes no more comments.
    let (status, _) = app
        .post(
            &format!("/api/live/events/{event}/end/"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let late = comment(&app, &replier, event, "Great night", None).await;
    assert_error(&late, 409, "invalid_transition");
    assert_eq!(app.count("live_comments"), 2, "nothing refused was stored");
}
