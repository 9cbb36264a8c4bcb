//! Moderation seen from the outside: reports hide a comment, moderator
//! decisions reach live clients in order, mutes, slow mode, bans that close
//! sockets and kill tokens, and the log of who did what.

use awc::http::StatusCode;
use serde_json::json;

use crate::comments::{another_live_event, comment, next_comment_frame, watch_comments};
use crate::harness::{assert_error, TestApp};
use crate::live_ws::live_event;
use crate::ws_client::{Ended, WsClient};

#[actix_rt::test]
async fn reports_hide_a_comment_pending_review() {
    let app = TestApp::spawn().await;
    let (_, event, _) = live_event(&app).await;
    let mut watcher = watch_comments(&app, event, None).await;
    let (author, _) = app.register("author@ringside.test").await;
    let (_, c) = comment(&app, &author, event, "Hot take: red is overrated", None).await;
    let shown = next_comment_frame(&mut watcher).await;
    assert_eq!(shown["type"], "comment");
    let path = format!("/api/live/comments/{}/report/", c["id"]);

    let own = app
        .post(&path, Some(&author), json!({ "reason": "mine" }))
        .await;
    assert_error(&own, 400, "bad_request");
    // The default threshold is three reports.
    for i in 0..3 {
        let (reporter, _) = app.register(&format!("reporter{i}@ringside.test")).await;
        let (status, body) = app
            .post(&path, Some(&reporter), json!({ "reason": "rude" }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["report_count"], i + 1);
        assert_eq!(body["status"], if i < 2 { "active" } else { "hidden" });
        if i == 0 {
            let twice = app
                .post(&path, Some(&reporter), json!({ "reason": "again" }))
                .await;
            assert_error(&twice, 409, "already_exists");
        }
    }
    let removed = next_comment_frame(&mut watcher).await;
    assert_eq!(removed["type"], "comment_removed", "{removed}");
    assert_eq!(removed["data"]["id"], c["id"]);
    assert_eq!(
        removed["seq"].as_u64(),
        shown["seq"].as_u64().map(|s| s + 1)
    );
    let (_, public) = app
        .get(&format!("/api/live/comments/?event={event}"), None)
        .await;
    assert_eq!(public["results"], json!([]));
    let moderator = app.user_with_role("mod@ringside.test", "moderator").await;
    let (_, queue) = app.get("/api/moderation/queue/", Some(&moderator)).await;
    assert_eq!(queue["results"][0]["id"], c["id"]);
    let (_, log) = app.get("/api/moderation/actions/", Some(&moderator)).await;
    assert_eq!(log["results"][0]["action"], "auto_hide_comment");
    assert!(log["results"][0]["moderator"].is_null());
}

#[actix_rt::test]
async fn hide_delete_and_restore_reach_live_clients_and_are_logged() {
    let app = TestApp::spawn().await;
    let (_, event, _) = live_event(&app).await;
    let mut watcher = watch_comments(&app, event, None).await;
    let (fan, _) = app.register("fan@ringside.test").await;
    let moderator = app.user_with_role("mod@ringside.test", "moderator").await;
    let (_, c) = comment(&app, &fan, event, "Borderline remark", None).await;
    let id = c["id"].as_i64().expect("id");
    let mut seq = next_comment_frame(&mut watcher).await["seq"]
        .as_u64()
        .expect("seq");

    let viewer_try = app
        .post(
            &format!("/api/moderation/comments/{id}/hide/"),
            Some(&fan),
            json!({}),
        )
        .await;
    assert_error(&viewer_try, 403, "forbidden");
    // The reason is optional, but a body that is sent must be valid JSON.
    let garbled = app
        .raw(
            "POST",
            &format!("/api/moderation/comments/{id}/hide/"),
            Some(&moderator),
            "application/json",
            b"{reason: oops".to_vec(),
        )
        .await;
    assert_error(&garbled, 400, "bad_request");
    for (action, frame_type, status) in [
        ("hide", "comment_removed", "hidden"),
        ("restore", "comment", "active"),
        ("delete", "comment_removed", "deleted"),
    ] {
        let (code, body) = app
            .post(
                &format!("/api/moderation/comments/{id}/{action}/"),
                Some(&moderator),
                json!({ "reason": format!("{action} it") }),
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{body}");
        assert_eq!(body["status"], status);
        let f = next_comment_frame(&mut watcher).await;
        assert_eq!(f["type"], frame_type, "{f}");
        assert_eq!(f["seq"].as_u64(), Some(seq + 1), "numbered, in order");
        seq += 1;
        if frame_type == "comment_removed" {
            assert_eq!(
                f["data"],
                json!({ "id": id, "status": status, "reason": format!("{action} it") })
            );
        }
    }
    let again = app
        .post(
            &format!("/api/moderation/comments/{id}/delete/"),
            Some(&moderator),
            json!({}),
        )
        .await;
    assert_error(&again, 409, "invalid_transition");
    let missing = app
        .post(
            "/api/moderation/comments/999999/hide/",
            Some(&moderator),
            json!({}),
        )
        .await;
    assert_error(&missing, 404, "not_found");

    let (_, log) = app.get("/api/moderation/actions/", Some(&moderator)).await;
    let actions: Vec<&str> = log["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|a| a["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        vec!["delete_comment", "restore_comment", "hide_comment"],
        "newest first"
    );
    assert_eq!(log["results"][0]["reason"], "delete it");
    assert!(log["results"][0]["moderator"].is_i64());
    assert!(log["results"][0]["created_at"].is_string());
}

#[actix_rt::test]
async fn mutes_and_slow_mode_hold_back_comments() {
    let mut config = crate::harness::test_config(crate::harness::fresh_database());
    config.live.comment_rate_limit = 1000;
    let app = TestApp::with_config(config).await;
    let (admin, event, _) = live_event(&app).await;
    let other = another_live_event(&app, &admin).await;
    let (fan, fan_id) = app.register("fan@ringside.test").await;
    let moderator = app.user_with_role("mod@ringside.test", "moderator").await;

    let (status, muted) = app
        .post(
            &format!("/api/moderation/users/{fan_id}/mute/"),
            Some(&moderator),
            json!({ "minutes": 10, "live_event": event, "reason": "cool off" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{muted}");
    let refused = comment(&app, &fan, event, "let me talk", None).await;
    assert_error(&refused, 403, "muted");
    assert_eq!(refused.1["error"]["details"]["until"], muted["until"]);
    let mut ws = watch_comments(&app, event, Some(&fan)).await;
    ws.send(
        json!({ "op": "comment", "live_event": event, "content": "over the socket", "ref": 1 }),
    )
    .await;
    assert_eq!(next_comment_frame(&mut ws).await["code"], "muted");
    let (status, _) = comment(&app, &fan, other, "fine elsewhere", None).await;
    assert_eq!(status, StatusCode::CREATED, "a per-event mute");
    let (status, lifted) = app
        .post(
            &format!("/api/moderation/users/{fan_id}/unmute/"),
            Some(&moderator),
            json!({ "live_event": event }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{lifted}");
    assert_eq!(lifted["lifted"], 1);
    let (status, _) = comment(&app, &fan, event, "thanks, I will behave", None).await;
    assert_eq!(status, StatusCode::CREATED);
    let again = app
        .post(
            &format!("/api/moderation/users/{fan_id}/unmute/"),
            Some(&moderator),
            json!({}),
        )
        .await;
    assert_error(&again, 409, "invalid_transition");
    let bad = app
        .post(
            &format!("/api/moderation/users/{fan_id}/mute/"),
            Some(&moderator),
            json!({ "minutes": 0 }),
        )
        .await;
    assert_error(&bad, 400, "bad_request");

    // Slow mode on the other event: one comment per 30 s, moderators exempt.
    let (status, body) = app
        .post(
            &format!("/api/moderation/events/{other}/slow-mode/"),
            Some(&moderator),
            json!({ "seconds": 30 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let slow = comment(&app, &fan, other, "second so soon", None).await;
    assert_error(&slow, 429, "slow_mode");
    let wait = slow.1["error"]["details"]["retry_after_ms"]
        .as_u64()
        .expect("retry_after_ms");
    assert!((1..=30_000).contains(&wait), "{wait}");
    for text in ["mod one", "mod two"] {
        let (status, _) = comment(&app, &moderator, other, text, None).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, _) = app
        .post(
            &format!("/api/moderation/events/{other}/slow-mode/"),
            Some(&moderator),
            json!({ "seconds": 0 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = comment(&app, &fan, other, "free again", None).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[actix_rt::test]
async fn a_ban_closes_live_connections_and_refuses_the_token() {
    let app = TestApp::spawn().await;
    let (_, event, _) = live_event(&app).await;
    let (fan, fan_id) = app.register("fan@ringside.test").await;
    let moderator = app.user_with_role("mod@ringside.test", "moderator").await;
    let admin = app.admin_token().await;
    let mut first = watch_comments(&app, event, Some(&fan)).await;
    let mut second = WsClient::open(&app, &format!("/api/live/notifications/?token={fan}")).await;

    let cannot = app
        .post(
            "/api/moderation/users/1/ban/",
            Some(&moderator),
            json!({ "reason": "nope" }),
        )
        .await;
    assert_error(&cannot, 403, "forbidden");
    let (status, body) = app
        .post(
            &format!("/api/moderation/users/{fan_id}/ban/"),
            Some(&moderator),
            json!({ "reason": "abuse" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(first.ended().await, Ended::Closed(Some(1008)));
    assert_eq!(second.ended().await, Ended::Closed(Some(1008)));

    assert_error(&app.get("/api/auth/me/", Some(&fan)).await, 403, "banned");
    assert_error(
        &comment(&app, &fan, event, "still here?", None).await,
        403,
        "banned",
    );
    let refused =
        WsClient::connect(&app, &format!("/api/live/comments/{event}/?token={fan}")).await;
    assert_eq!(refused.err(), Some(403));
    let twice = app
        .post(
            &format!("/api/moderation/users/{fan_id}/ban/"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_error(&twice, 409, "invalid_transition");

    // Lifted: the same token works again.
    let (status, body) = app
        .post(
            &format!("/api/moderation/users/{fan_id}/unban/"),
            Some(&moderator),
            json!({ "reason": "appeal" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app.get("/api/auth/me/", Some(&fan)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, log) = app.get("/api/moderation/actions/", Some(&admin)).await;
    assert_eq!(log["results"][0]["action"], "unban_user");
    assert_eq!(log["results"][0]["reason"], "appeal");
}

/// Reads frames until one of `frame_type` arrives.
async fn next_of(c: &mut WsClient, frame_type: &str) -> serde_json::Value {
    loop {
        let v = c.next_durable().await;
        if v["type"] == frame_type {
            return v;
        }
    }
}

#[actix_rt::test]
async fn the_staff_channel_carries_waiting_updates_and_the_queue_to_moderators_only() {
    let app = TestApp::spawn().await;
    let (_, event, _) = live_event(&app).await;
    let moderator = app.user_with_role("mod@ringside.test", "moderator").await;
    let reporter = app.user_with_role("rep@ringside.test", "reporter").await;
    let (fan, _) = app.register("fan@ringside.test").await;
    let channel = format!("moderation:{event}");

    // Neither a fan nor a reporter may follow it.
    for token in [&fan, &reporter] {
        let mut c = WsClient::open(&app, &format!("/api/live/notifications/?token={token}")).await;
        c.send(json!({ "op": "subscribe", "channel": channel, "ref": 1 }))
            .await;
        let refused = next_of(&mut c, "error").await;
        assert_eq!(refused["code"], "forbidden", "{refused}");
        assert_eq!(refused["channel"], channel.as_str(), "{refused}");
    }

    // A reporter's first update waits: it is in the moderator's snapshot.
    let first = crate::live_ws::post_update(&app, &reporter, event, "Waiting one").await;
    let mut staff =
        WsClient::open(&app, &format!("/api/live/notifications/?token={moderator}")).await;
    staff
        .send(json!({ "op": "subscribe", "channel": channel, "ref": "m" }))
        .await;
    let subscribed = loop {
        let v = next_of(&mut staff, "subscribed").await;
        if v["channel"] == channel.as_str() {
            break v;
        }
    };
    let pending = subscribed["snapshot"]["pending_updates"]
        .as_array()
        .expect("pending updates");
    assert_eq!(pending.len(), 1, "{subscribed}");
    assert_eq!(pending[0]["id"], first["id"]);
    assert_eq!(subscribed["snapshot"]["queue_size"], 0);

    // The next one arrives live, and so does its approval.
    let second = crate::live_ws::post_update(&app, &reporter, event, "Waiting two").await;
    let arrived = next_of(&mut staff, "update_pending").await;
    assert_eq!(arrived["data"]["id"], second["id"]);
    assert_eq!(arrived["data"]["title"], "Waiting two");
    let (status, body) = app
        .post(
            &format!("/api/live/updates/{}/approve/", second["id"]),
            Some(&moderator),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let reviewed = next_of(&mut staff, "update_reviewed").await;
    assert_eq!(reviewed["data"]["id"], second["id"]);
    assert_eq!(reviewed["data"]["review"], "approved");

    // A reported comment enters the queue live, with its report count.
    let (author, _) = app.register("author@ringside.test").await;
    let (_, c) = comment(&app, &author, event, "Questionable take", None).await;
    let (status, _) = app
        .post(
            &format!("/api/live/comments/{}/report/", c["id"]),
            Some(&fan),
            json!({ "reason": "rude" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let queued = next_of(&mut staff, "queue").await;
    assert_eq!(queued["data"]["reason"], "reported");
    assert_eq!(queued["data"]["comment"]["id"], c["id"]);
    assert_eq!(queued["data"]["reports"], 1);
    assert!(queued["seq"].as_u64().is_some(), "numbered: {queued}");
}

#[actix_rt::test]
async fn the_user_panel_shows_standing_comments_and_what_was_done() {
    let app = TestApp::spawn().await;
    let (_, event, _) = live_event(&app).await;
    let moderator = app.user_with_role("mod@ringside.test", "moderator").await;
    let (fan, fan_id) = app.register("fan@ringside.test").await;
    let (_, c) = comment(&app, &fan, event, "First!", None).await;
    let (status, _) = app
        .post(
            &format!("/api/moderation/comments/{}/hide/", c["id"]),
            Some(&moderator),
            json!({ "reason": "spam" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .post(
            &format!("/api/moderation/users/{fan_id}/mute/"),
            Some(&moderator),
            json!({ "minutes": 10, "live_event": event, "reason": "cool off" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let path = format!("/api/moderation/users/{fan_id}/");
    assert_error(&app.get(&path, Some(&fan)).await, 403, "forbidden");
    assert_error(
        &app.get("/api/moderation/users/999999/", Some(&moderator))
            .await,
        404,
        "not_found",
    );
    let (status, panel) = app.get(&path, Some(&moderator)).await;
    assert_eq!(status, StatusCode::OK, "{panel}");
    assert_eq!(panel["user"]["id"], fan_id);
    assert_eq!(panel["user"]["email"], "fan@ringside.test");
    assert_eq!(panel["banned"], false);
    let mutes = panel["mutes"].as_array().expect("mutes");
    assert_eq!(mutes.len(), 1, "{panel}");
    assert_eq!(mutes[0]["live_event"], event);
    assert_eq!(mutes[0]["reason"], "cool off");
    let comments = panel["comments"].as_array().expect("comments");
    assert_eq!(comments.len(), 1, "{panel}");
    assert_eq!(
        (&comments[0]["id"], &comments[0]["status"]),
        (&c["id"], &json!("hidden"))
    );
    let actions: Vec<&str> = panel["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(|a| a["action"].as_str())
        .collect();
    assert_eq!(actions, vec!["mute_user"], "{panel}");
}
