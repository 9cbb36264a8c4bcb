//! In-app notifications: devices, the list and its unread count, read and
//! opened, preferences, and a fight result reaching followers live on
//! `user:{id}` and stored for those who were away.

use awc::http::StatusCode;
use serde_json::{json, Value};

use crate::harness::{assert_error, TestApp};
use crate::live_ws::live_event;
use crate::ws_client::WsClient;

#[actix_rt::test]
async fn a_device_token_is_registered_once_and_moves_between_users() {
    let app = TestApp::spawn().await;
    let (ana, _) = app.register("ana@ringside.test").await;
    let (ben, ben_id) = app.register("ben@ringside.test").await;
    let device =
        json!({ "platform": "ios", "token": "apns-token-1", "app_id": "com.ringside.app" });
    let (status, first) = app
        .post("/api/notifications/register/", Some(&ana), device.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, moved) = app
        .post("/api/notifications/register/", Some(&ben), device.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["id"], first["id"]);
    assert_eq!(moved["user"], ben_id);
    assert_eq!(app.count("devices"), 1, "never duplicated");

    let bad = app
        .post(
            "/api/notifications/register/",
            Some(&ana),
            json!({ "platform": "windows", "token": "x", "app_id": "a" }),
        )
        .await;
    assert_error(&bad, 400, "bad_request");
    let anonymous = app
        .post("/api/notifications/register/", None, device.clone())
        .await;
    assert_error(&anonymous, 401, "unauthorized");
    // The first owner's phone changed hands: her unregister succeeds
    // quietly and leaves the token with its new owner, still active.
    let (status, body) = app
        .post("/api/notifications/unregister/", Some(&ana), device.clone())
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let rows = app.rows("SELECT user_id, is_active FROM devices");
    assert_eq!(rows, vec![json!({ "user_id": ben_id, "is_active": true })]);
    let (status, _) = app
        .post("/api/notifications/unregister/", Some(&ben), device.clone())
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let rows = app.rows("SELECT user_id, is_active FROM devices");
    assert_eq!(rows, vec![json!({ "user_id": ben_id, "is_active": false })]);
    // Unregistering is idempotent: again, or a token never seen, is the same.
    let (status, _) = app
        .post("/api/notifications/unregister/", Some(&ben), device)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[actix_rt::test]
async fn preferences_have_defaults_and_are_checked() {
    let app = TestApp::spawn().await;
    let (ana, ana_id) = app.register("ana@ringside.test").await;
    let (_, prefs) = app.get("/api/notifications/preferences/", Some(&ana)).await;
    assert_eq!(prefs["fight_results"], true);
    assert!(prefs["quiet_start_min"].is_null());
    let mut wanted = prefs.clone();
    wanted["breaking_news"] = json!(false);
    wanted["quiet_start_min"] = json!(23 * 60);
    wanted["quiet_end_min"] = json!(7 * 60);
    let body: Value = wanted
        .as_object()
        .expect("object")
        .iter()
        .filter(|(k, _)| *k != "user")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let (status, saved) = app
        .call(
            "PUT",
            "/api/notifications/preferences/",
            Some(&ana),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["user"], ana_id);
    let (_, read_back) = app.get("/api/notifications/preferences/", Some(&ana)).await;
    assert_eq!(read_back, saved);
    assert_eq!(read_back["quiet_start_min"], 1380);

    let mut half = body.clone();
    half["quiet_end_min"] = Value::Null;
    let got = app
        .call(
            "PUT",
            "/api/notifications/preferences/",
            Some(&ana),
            Some(half),
        )
        .await;
    assert_error(&got, 400, "bad_request");
    let mut late = body.clone();
    late["quiet_start_min"] = json!(1440);
    let got = app
        .call(
            "PUT",
            "/api/notifications/preferences/",
            Some(&ana),
            Some(late),
        )
        .await;
    assert_error(&got, 400, "bad_request");
    let mut extra = body;
    extra["sms"] = json!(true);
    let got = app
        .call(
            "PUT",
            "/api/notifications/preferences/",
            Some(&ana),
            Some(extra),
        )
        .await;
    assert_error(&got, 400, "bad_request");
}

/// Reads the user's preferences, changes the given fields and saves them;
/// answers what was saved.
pub(crate) async fn change_preferences(app: &TestApp, token: &str, change: Value) -> Value {
    let (_, mut prefs) = app
        .get("/api/notifications/preferences/", Some(token))
        .await;
    prefs.as_object_mut().expect("object").remove("user");
    for (k, v) in change.as_object().expect("object") {
        prefs[k] = v.clone();
    }
    let (status, saved) = app
        .call(
            "PUT",
            "/api/notifications/preferences/",
            Some(token),
            Some(prefs),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    saved
}

#[actix_rt::test]
async fn a_fight_result_reaches_followers_live_and_waits_for_the_others() {
    let app = TestApp::spawn().await;
    let (admin, _, fights) = live_event(&app).await;
    let fight = fights[0];
    let (_, detail) = app.get(&format!("/api/live/fights/{fight}/"), None).await;
    let blue = detail["blue_fighter"]["id"].as_i64().expect("blue");
    let red = detail["red_fighter"]["id"].as_i64().expect("red");
    let (_, catalog_fight) = app
        .get(&format!("/api/fights/{}/", detail["fight"]), None)
        .await;
    let event = catalog_fight["event"].as_i64().expect("event");
    // Not for the (vacant) title: the winner passes the loser instead of
    // leaving the contenders as champion.
    let (status, _) = app
        .call(
            "PATCH",
            &format!("/api/fights/{}/", detail["fight"]),
            Some(&admin),
            Some(json!({ "is_title_fight": false })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (online, _) = app.register("online@ringside.test").await;
    let (offline, _) = app.register("offline@ringside.test").await;
    let (quiet, _) = app.register("quiet@ringside.test").await;
    let (stranger, _) = app.register("stranger@ringside.test").await;
    let (picky, _) = app.register("picky@ringside.test").await;
    for (token, kind, id) in [
        (&online, "fighter", blue),
        (&online, "event", event),
        (&offline, "fighter", red),
        (&quiet, "event", event),
    ] {
        let (status, body) = app
            .post(
                "/api/follows/",
                Some(token),
                json!({ "target_type": kind, "target_id": id }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    change_preferences(&app, &quiet, json!({ "fight_results": false })).await;
    change_preferences(&app, &picky, json!({ "followed_only": true })).await;

    let mut inbox = WsClient::open(&app, &format!("/api/live/notifications/?token={online}")).await;
    let subscribed = inbox.next_durable().await;
    assert_eq!(subscribed["snapshot"]["unread"], 0);
    for (path, body) in [
        (
            "officials/",
            json!({ "referee": "Herb Dean", "judges": ["A", "B", "C"] }),
        ),
        ("start/", json!({})),
        ("rounds/start/", json!({ "round": 1 })),
        (
            "rounds/clock/",
            json!({ "elapsed": "2:41", "reason": "the arena clock" }),
        ),
        (
            "result/",
            json!({ "winner": "blue", "method": "ko", "round": 1, "time": "2:41" }),
        ),
    ] {
        let (status, b) = app
            .post(
                &format!("/api/live/fights/{fight}/{path}"),
                Some(&admin),
                body,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{path}: {b}");
    }

    // Live, once, although Ana follows both the winner and the event.
    let live = inbox.next_durable().await;
    assert_eq!(live["type"], "notification", "{live}");
    assert_eq!(live["data"]["notification_type"], "fight_result");
    assert_eq!(live["data"]["title"], "Blue Fighter 0 wins by KO");
    assert!(
        live["data"]["message"].as_str().is_some_and(
            |m| m.starts_with("Fan, Blue Fighter 0 beat Red Fighter 0 by KO in round 1 (2:41)")
        ),
        "{live}"
    );
    // The winner moved up the division: his followers hear that too.
    let moved = inbox.next_durable().await;
    assert_eq!(
        moved["data"]["notification_type"], "ranking_change",
        "{moved}"
    );
    assert_eq!(moved["data"]["title"], "Blue Fighter 0 moves up to #1");
    let (_, mine) = app.get("/api/notifications/", Some(&online)).await;
    let ids: Vec<&Value> = mine["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|n| &n["id"])
        .collect();
    assert_eq!(
        ids,
        vec![&moved["data"]["id"], &live["data"]["id"]],
        "newest first"
    );

    // Stored for the follower who was away; nothing for the others.
    let (_, theirs) = app.get("/api/notifications/", Some(&offline)).await;
    assert_eq!(
        theirs["unread"], 2,
        "the result, and the loser's ranking move"
    );
    assert_eq!(theirs["results"][0]["notification_type"], "ranking_change");
    assert_eq!(theirs["results"][1]["notification_type"], "fight_result");
    let id = theirs["results"][1]["id"].as_i64().expect("id");
    // Results go to everyone who wants results, followers or not; ranking
    // moves only to followers; nothing to those who turned results off or
    // follow only what they follow.
    let (_, strangers) = app.get("/api/notifications/", Some(&stranger)).await;
    let types: Vec<&Value> = strangers["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|n| &n["notification_type"])
        .collect();
    assert_eq!(types, vec!["fight_result"], "{strangers}");
    for token in [&quiet, &picky] {
        let (_, none) = app.get("/api/notifications/", Some(token)).await;
        assert_eq!(none["results"], json!([]));
        assert_eq!(none["unread"], 0);
    }
    let not_yours = app
        .post(
            &format!("/api/notifications/{id}/read/"),
            Some(&stranger),
            json!({}),
        )
        .await;
    assert_error(&not_yours, 404, "not_found");
    let (status, opened) = app
        .post(
            &format!("/api/notifications/{id}/opened/"),
            Some(&offline),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{opened}");
    assert_eq!(opened["is_read"], true);
    assert!(opened["opened_at"].is_string());
    let (_, after) = app
        .get("/api/notifications/?unread=true", Some(&offline))
        .await;
    assert_eq!(
        (
            after["unread"].as_i64(),
            after["results"].as_array().map(Vec::len)
        ),
        (Some(1), Some(1))
    );
    let (_, all) = app
        .post("/api/notifications/read-all/", Some(&offline), json!({}))
        .await;
    assert_eq!(all["marked"], 1);

    // Reading on one device updates the count on the others, live.
    let (status, _) = app
        .post(
            &format!("/api/notifications/{}/read/", live["data"]["id"]),
            Some(&online),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let count = inbox.next().await;
    assert_eq!(
        (count["type"].as_str(), count["data"]["unread"].as_i64()),
        (Some("unread"), Some(1)),
        "{count}"
    );
    let (_, none_left) = app.get("/api/notifications/", Some(&offline)).await;
    assert_eq!(none_left["unread"], 0);
}

#[actix_rt::test]
async fn followers_hear_when_their_event_goes_live() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (event, _) = crate::harness::build_card(&app, &admin, 1).await;
    let (_, live) = app
        .post("/api/live/events/", Some(&admin), json!({ "event": event }))
        .await;
    let (fan, _) = app.register("fan@ringside.test").await;
    let (other, _) = app.register("other@ringside.test").await;
    let (status, _) = app
        .post(
            "/api/follows/",
            Some(&fan),
            json!({ "target_type": "event", "target_id": event }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app
        .post(
            &format!("/api/live/events/{}/start/", live["id"]),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, mine) = app.get("/api/notifications/", Some(&fan)).await;
    assert_eq!(mine["unread"], 1);
    assert_eq!(mine["results"][0]["notification_type"], "event_start");
    assert_eq!(mine["results"][0]["title"], "Fight Night is live");
    assert_eq!(mine["results"][0]["data"]["live_event"], live["id"]);
    let (_, theirs) = app.get("/api/notifications/", Some(&other)).await;
    assert_eq!(theirs["unread"], 0);
}

#[actix_rt::test]
async fn breaking_news_reaches_everyone_who_wants_it() {
    let app = TestApp::spawn().await;
    let (admin, live, _) = live_event(&app).await;
    let (_, detail) = app.get(&format!("/api/live/events/{live}/"), None).await;
    let event = detail["event_detail"]["id"].as_i64().expect("event");
    let (fan, _) = app.register("fan@ringside.test").await;
    let (follower, _) = app.register("follower@ringside.test").await;
    let (picky, _) = app.register("picky@ringside.test").await;
    let (uninterested, _) = app.register("uninterested@ringside.test").await;
    for (token, change) in [
        (&follower, json!({ "followed_only": true })),
        (&picky, json!({ "followed_only": true })),
        (&uninterested, json!({ "breaking_news": false })),
    ] {
        change_preferences(&app, token, change).await;
    }
    let (status, _) = app
        .post(
            "/api/follows/",
            Some(&follower),
            json!({ "target_type": "event", "target_id": event }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut inbox = WsClient::open(&app, &format!("/api/live/notifications/?token={fan}")).await;
    inbox.next_durable().await;

    // Not breaking: nobody is notified.
    let update = |breaking: bool, title: &str| {
        json!({ "live_event": live, "update_type": "news", "title": title,
                "description": "Confirmed by the promotion.", "is_breaking": breaking })
    };
    let (status, body) = app
        .post(
            "/api/live/updates/",
            Some(&admin),
            update(false, "Weigh-ins done"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app
        .post(
            "/api/live/updates/",
            Some(&admin),
            update(true, "Title fight off"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let live_frame = inbox.next_durable().await;
    assert_eq!(
        live_frame["data"]["notification_type"], "breaking_news",
        "{live_frame}"
    );
    assert_eq!(live_frame["data"]["title"], "Breaking: Title fight off");
    assert_eq!(
        live_frame["data"]["message"],
        "Fan, Confirmed by the promotion."
    );
    for (token, expected) in [(&fan, 1), (&follower, 1), (&picky, 0), (&uninterested, 0)] {
        let (_, list) = app.get("/api/notifications/", Some(token)).await;
        assert_eq!(list["unread"], expected, "{list}");
    }

    // A reporter's breaking update notifies once a moderator approves it.
    let reporter = app
        .user_with_role("reporter@ringside.test", "reporter")
        .await;
    let (_, pending) = app
        .post(
            "/api/live/updates/",
            Some(&reporter),
            update(true, "Judge replaced"),
        )
        .await;
    let (_, list) = app.get("/api/notifications/", Some(&fan)).await;
    assert_eq!(list["unread"], 1, "nothing before the approval");
    let (status, _) = app
        .post(
            &format!("/api/live/updates/{}/approve/", pending["id"]),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let approved = inbox.next_durable().await;
    assert_eq!(
        approved["data"]["title"], "Breaking: Judge replaced",
        "{approved}"
    );
}

#[actix_rt::test]
async fn a_reply_tells_the_comment_author() {
    let app = TestApp::spawn().await;
    let (_, live, _) = live_event(&app).await;
    let (author, _) = app.register("author@ringside.test").await;
    let (replier, _) = app.register("replier@ringside.test").await;
    let comment = |token: &str, parent: Option<i64>, content: &str| {
        let body = json!({ "live_event": live, "content": content, "parent_comment": parent });
        let token = token.to_string();
        let app = &app;
        async move {
            let (status, body) = app.post("/api/live/comments/", Some(&token), body).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            body["id"].as_i64().expect("id")
        }
    };
    let mut inbox = WsClient::open(&app, &format!("/api/live/notifications/?token={author}")).await;
    inbox.next_durable().await;
    let first = comment(&author, None, "What a jab").await;
    // Answering yourself tells nobody.
    comment(&author, Some(first), "And the hook after it").await;
    let reply = comment(&replier, Some(first), "The hook was better").await;
    let frame = inbox.next_durable().await;
    assert_eq!(
        frame["data"]["notification_type"], "user_activity",
        "{frame}"
    );
    assert_eq!(frame["data"]["title"], "Fan replied to you");
    assert_eq!(
        frame["data"]["message"],
        "Fan, Fan replied to your comment: \u{201c}The hook was better\u{201d}"
    );
    assert_eq!(frame["data"]["data"]["comment"], reply);
    assert_eq!(frame["data"]["data"]["parent_comment"], first);
    let (_, list) = app.get("/api/notifications/", Some(&author)).await;
    assert_eq!(list["unread"], 1, "{list}");

    change_preferences(&app, &author, json!({ "user_activity": false })).await;
    comment(&replier, Some(first), "Still better").await;
    let (_, list) = app.get("/api/notifications/", Some(&author)).await;
    assert_eq!(list["unread"], 1, "user activity is off: {list}");
    let (_, theirs) = app.get("/api/notifications/", Some(&replier)).await;
    assert_eq!(theirs["unread"], 0);
}

#[actix_rt::test]
async fn a_preview_fills_the_template_for_one_of_the_audience_and_sends_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (_, event, _) = live_event(&app).await;
    let (_, live) = app.get(&format!("/api/live/events/{event}/"), None).await;
    let catalog_event = live["event"].as_i64().expect("event");
    let (fan, fan_id) = app.register("ana@ringside.test").await;
    app.post(
        "/api/follows/",
        Some(&fan),
        json!({ "target_type": "event", "target_id": catalog_event }),
    )
    .await;
    let body = json!({
        "audience": { "kind": "event_followers", "event": catalog_event },
        "notification_type": "system", "title": "Doors open", "message": "{user}, doors open at 6pm.",
        "action_url": "/events/1"
    });
    let (status, preview) = app
        .post("/api/notifications/preview/", Some(&admin), body.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["audience_size"], 1);
    assert_eq!(preview["sample"]["user"]["id"], fan_id);
    let name = preview["sample"]["user"]["display_name"]
        .as_str()
        .expect("name");
    assert_eq!(
        preview["sample"]["message"],
        format!("{name}, doors open at 6pm.")
    );
    // Nothing was sent.
    let (_, inbox) = app.get("/api/notifications/", Some(&fan)).await;
    assert_eq!(inbox["results"], json!([]), "{inbox}");
    // Checked as a send is, for admins only.
    let mut bad = body.clone();
    bad["title"] = json!("");
    assert_error(
        &app.post("/api/notifications/preview/", Some(&admin), bad)
            .await,
        400,
        "bad_request",
    );
    assert_error(
        &app.post("/api/notifications/preview/", Some(&fan), body)
            .await,
        403,
        "forbidden",
    );
    let nobody = json!({
        "audience": { "kind": "users", "users": [999_999] },
        "notification_type": "system", "title": "Hi", "message": "{user}!"
    });
    let (_, empty) = app
        .post("/api/notifications/preview/", Some(&admin), nobody)
        .await;
    assert_eq!(empty["audience_size"], 0, "{empty}");
    assert!(empty["sample"]["user"].is_null(), "{empty}");
}
