//! Reactions, polls, presence and follows over real sockets: totals exact
//! after concurrent bursts, one vote per user under concurrent votes,
//! presence after clean and unclean disconnects.

use std::time::{Duration, Instant};

use awc::http::StatusCode;
use serde_json::{json, Value};

use crate::comments::{comment, watch_comments};
use crate::harness::{assert_error, fresh_database, test_config, TestApp};
use crate::live_ws::{live_event, watch};
use crate::ws_client::{WsClient, PATIENCE};

/// Reads until an ephemeral `frame_type` frame satisfies `done`.
async fn until(client: &mut WsClient, frame_type: &str, done: impl Fn(&Value) -> bool) -> Value {
    loop {
        let f = client.next().await;
        if f["type"] == frame_type && f.get("seq").is_none() && done(&f) {
            return f;
        }
    }
}

#[actix_rt::test]
async fn reaction_totals_are_exact_after_concurrent_bursts() {
    let mut config = test_config(fresh_database());
    config.engagement.reaction_rate_limit = 1000;
    let app = TestApp::with_config(config).await;
    let (_, event, fights) = live_event(&app).await;
    let mut watcher = watch(&app, event, "").await.0;
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(app.register(&format!("fan{i}@ringside.test")).await.0);
    }

    // 5 users × 20 reactions at once, over REST and WebSocket.
    let kinds = ["like", "wow", "celebrate", "like"];
    let app_ref = &app;
    let rest = users.iter().take(3).flat_map(|t| {
        (0..20).map(move |i| {
            let app = app_ref;
            async move {
                app.post(
                    "/api/live/reactions/",
                    Some(t),
                    json!({ "target_type": "event", "target_id": event, "reaction_type": kinds[i % 4] }),
                )
                .await
            }
        })
    });
    let socket = users.iter().skip(3).map(|t| {
        let app = app_ref;
        async move {
            let mut c = WsClient::open(app, &format!("/api/live/events/{event}/?token={t}")).await;
            for i in 0..20 {
                c.send(
                    json!({ "op": "react", "target_type": "event", "target_id": event,
                               "reaction_type": kinds[i % 4], "ref": i }),
                )
                .await;
            }
            let mut acks = 0;
            while acks < 20 {
                let f = c.next().await;
                assert_ne!(f["type"], "error", "{f}");
                if f["type"] == "ack" {
                    acks += 1;
                }
            }
            acks
        }
    });
    let (rest, socket) = futures_util::join!(
        futures_util::future::join_all(rest),
        futures_util::future::join_all(socket)
    );
    assert!(rest.iter().all(|(s, _)| *s == StatusCode::CREATED));
    assert_eq!(socket, vec![20, 20]);
    let expected = json!({ "like": 50, "wow": 25, "celebrate": 25, "angry": 0, "sad": 0 });
    let live = until(&mut watcher, "reactions", |f| {
        f["data"]["totals"] == expected
    })
    .await;
    assert_eq!(
        live["data"]["target"],
        json!({ "type": "event", "id": event })
    );
    let (_, stored) = app
        .get(
            &format!("/api/live/reactions/?target_type=event&target_id={event}"),
            None,
        )
        .await;
    assert_eq!(
        stored["totals"], expected,
        "what is stored is what was shown"
    );
    // A fan who joins now finds the totals in the snapshot, not those of
    // when the room last loaded it.
    let (_latecomer, subscribed) = watch(&app, event, "").await;
    assert_eq!(subscribed["snapshot"]["reactions"], expected);
    assert_eq!(app.count("reaction_events"), 100);

    // A like on a comment counts on the comment too; bad targets are refused.
    let (_, c) = comment(&app, &users[0], event, "Nice", None).await;
    let (status, _) = app
        .post(
            "/api/live/reactions/",
            Some(&users[1]),
            json!({ "target_type": "comment", "target_id": c["id"], "reaction_type": "like" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, listed) = app
        .get(&format!("/api/live/comments/?event={event}"), None)
        .await;
    assert_eq!(listed["results"][0]["like_count"], 1);
    for (body, field) in [
        (
            json!({ "target_type": "fight", "target_id": 999_999, "reaction_type": "wow" }),
            "target_id",
        ),
        (
            json!({ "target_type": "planet", "target_id": fights[0], "reaction_type": "wow" }),
            "target_type",
        ),
        (
            json!({ "target_type": "fight", "target_id": fights[0], "reaction_type": "meh" }),
            "reaction_type",
        ),
    ] {
        let got = app
            .post("/api/live/reactions/", Some(&users[1]), body)
            .await;
        assert_error(&got, 400, "bad_request");
        assert!(got.1["error"]["details"][field].is_string(), "{}", got.1);
    }
    let anonymous = app
        .post(
            "/api/live/reactions/",
            None,
            json!({ "target_type": "event", "target_id": event, "reaction_type": "wow" }),
        )
        .await;
    assert_error(&anonymous, 401, "unauthorized");
}

#[actix_rt::test]
async fn one_vote_per_user_even_when_votes_race() {
    let mut config = test_config(fresh_database());
    config.engagement.vote_rate_limit = 1000;
    let app = TestApp::with_config(config).await;
    let (admin, event, _) = live_event(&app).await;
    let mut watcher = watch(&app, event, "").await.0;
    let (status, poll) = app
        .post(
            "/api/live/polls/",
            Some(&admin),
            json!({ "live_event": event, "live_fight": null, "question": "Who wins?", "options": ["Red", "Blue"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{poll}");
    assert_eq!(poll["status"], "draft");
    let id = poll["id"].as_i64().expect("id");
    let (red, blue) = (
        poll["options"][0]["id"].clone(),
        poll["options"][1]["id"].clone(),
    );
    let (fan, _) = app.register("fan@ringside.test").await;
    // A draft is the moderators' until it opens.
    let hidden = app.get(&format!("/api/live/polls/{id}/"), Some(&fan)).await;
    assert_error(&hidden, 404, "not_found");
    let (_, listed) = app
        .get(&format!("/api/live/polls/?event={event}"), None)
        .await;
    assert_eq!(listed["results"], json!([]));
    let (status, _) = app
        .get(&format!("/api/live/polls/{id}/"), Some(&admin))
        .await;
    assert_eq!(status, StatusCode::OK);
    let early = app
        .post(
            &format!("/api/live/polls/{id}/vote/"),
            Some(&fan),
            json!({ "option": red }),
        )
        .await;
    assert_error(&early, 409, "poll_not_open");

    let (status, opened) = app
        .post(
            &format!("/api/live/polls/{id}/open/"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{opened}");
    let f = watcher.next_durable().await;
    assert_eq!(
        (f["type"].as_str(), f["data"]["status"].as_str()),
        (Some("poll"), Some("open"))
    );
    assert!(f["seq"].is_u64());
    // A fan who joins after the opening finds the poll in the snapshot.
    let (_latecomer, subscribed) = watch(&app, event, "").await;
    let listed = subscribed["snapshot"]["polls"]
        .as_array()
        .expect("polls")
        .iter()
        .any(|p| p["id"] == id && p["status"] == "open");
    assert!(listed, "{}", subscribed["snapshot"]["polls"]);

    // Ten concurrent votes from one user: exactly one counts.
    let votes = (0..10).map(|i| {
        let (app, fan) = (&app, &fan);
        let option = if i % 2 == 0 {
            red.clone()
        } else {
            blue.clone()
        };
        async move {
            app.post(
                &format!("/api/live/polls/{id}/vote/"),
                Some(fan),
                json!({ "option": option }),
            )
            .await
        }
    });
    let results = futures_util::future::join_all(votes).await;
    let won = results
        .iter()
        .filter(|r| r.0 == StatusCode::CREATED)
        .count();
    assert_eq!(won, 1, "{results:?}");
    for r in results.iter().filter(|r| r.0 != StatusCode::CREATED) {
        assert_error(r, 409, "already_voted");
    }
    let mut voters = Vec::new();
    for i in 0..3 {
        voters.push(app.register(&format!("voter{i}@ringside.test")).await.0);
    }
    for t in &voters {
        let (status, _) = app
            .post(
                &format!("/api/live/polls/{id}/vote/"),
                Some(t),
                json!({ "option": blue }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, other) = app
        .post(
            "/api/live/polls/",
            Some(&admin),
            json!({ "live_event": event, "question": "KO?", "options": ["Yes", "No"] }),
        )
        .await;
    let foreign = app
        .post(
            &format!("/api/live/polls/{id}/vote/"),
            Some(&voters[0]),
            json!({ "option": other["options"][0]["id"] }),
        )
        .await;
    assert!(
        foreign.0 == StatusCode::BAD_REQUEST || foreign.0 == StatusCode::CONFLICT,
        "{foreign:?}"
    );
    let tally = until(&mut watcher, "poll", |f| f["data"]["total_votes"] == 4).await;
    assert_eq!(tally["data"]["id"], id);

    let (status, closed) = app
        .post(
            &format!("/api/live/polls/{id}/close/"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(closed["total_votes"], 4);
    let f = loop {
        let f = watcher.next_durable().await;
        if f["type"] == "poll" && f.get("seq").is_some() {
            break f;
        }
    };
    assert_eq!(f["data"]["status"], "closed");
    assert_eq!(f["data"]["total_votes"], 4);
    let blue_votes = f["data"]["options"][1]["votes"].as_i64().expect("votes");
    assert!(blue_votes >= 3, "{f}");
    let late = app
        .post(
            &format!("/api/live/polls/{id}/vote/"),
            Some(&voters[1]),
            json!({ "option": red }),
        )
        .await;
    assert_error(&late, 409, "poll_not_open");
    let reopen = app
        .post(
            &format!("/api/live/polls/{id}/open/"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_error(&reopen, 409, "invalid_transition");
    assert_eq!(app.count("poll_votes"), 4);
}

/// Polls the presence endpoint as `caller` (signed in: anonymous callers get
/// no names) until it reports `count`.
async fn presence_until(app: &TestApp, caller: &str, channel: &str, count: u64) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (_, body) = app
            .get(&format!("/api/live/presence/{channel}/"), Some(caller))
            .await;
        if body["count"].as_u64() == Some(count) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "presence stayed {body}, not {count}"
        );
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_rt::test]
async fn presence_counts_people_and_follows_clean_and_unclean_exits() {
    let mut config = test_config(fresh_database());
    config.live.heartbeat_interval = Duration::from_millis(300);
    config.live.connection_timeout = Duration::from_secs(1);
    let app = TestApp::with_config(config).await;
    let (admin, event, _) = live_event(&app).await;
    let channel = format!("comments:{event}");
    let (alice, alice_id) = app.register("alice@ringside.test").await;
    let (bob, bob_id) = app.register("bob@ringside.test").await;

    let mut a1 = watch_comments(&app, event, Some(&alice)).await;
    let a2 = watch_comments(&app, event, Some(&alice)).await;
    let b = watch_comments(&app, event, Some(&bob)).await;
    let anonymous = watch_comments(&app, event, None).await;
    // Alice counts once for her two sessions; the anonymous viewer counts.
    let body = presence_until(&app, &admin, &channel, 3).await;
    let names: Vec<&str> = body["users"]
        .as_array()
        .expect("small channels list members")
        .iter()
        .map(|u| u["display_name"].as_str().expect("name"))
        .collect();
    assert_eq!(names.len(), 2);
    assert_eq!(body["users"][0]["id"], alice_id.min(bob_id));
    let joined = until(&mut a1, "presence", |f| f["data"]["count"] == 3).await;
    assert!(joined["data"].get("joined").is_some(), "{joined}");

    // Clean exits: one of Alice's sessions (she stays), then the anonymous one.
    drop(a2);
    drop(anonymous);
    let body = presence_until(&app, &admin, &channel, 2).await;
    assert_eq!(body["users"].as_array().map(Vec::len), Some(2));

    // Unclean: Bob's socket goes silent; he is gone after the timeout.
    // Never read again: its pings go unanswered, as with a dead network.
    let frozen = b;
    let left = until(&mut a1, "presence", |f| f["data"]["count"] == 1).await;
    assert_eq!(left["data"]["left"], json!([bob_id]));
    presence_until(&app, &admin, &channel, 1).await;
    drop(frozen);

    let private = app
        .get(&format!("/api/live/presence/user:{alice_id}/"), None)
        .await;
    assert_error(&private, 403, "forbidden");
    let unknown = app.get("/api/live/presence/lobby/", None).await;
    assert_error(&unknown, 400, "bad_request");
    let empty = presence_until(&app, &admin, "news", 0).await;
    assert_eq!(empty["users"], json!([]));
}

#[actix_rt::test]
async fn follows_are_idempotent_and_checked() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (event, _) = crate::harness::build_card(&app, &admin, 1).await;
    let (fan, _) = app.register("fan@ringside.test").await;
    let (status, first) = app
        .post(
            "/api/follows/",
            Some(&fan),
            json!({ "target_type": "event", "target_id": event }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = app
        .post(
            "/api/follows/",
            Some(&fan),
            json!({ "target_type": "event", "target_id": event }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], first["id"]);
    let (_, mine) = app.get("/api/follows/", Some(&fan)).await;
    assert_eq!(mine["results"].as_array().map(Vec::len), Some(1));
    let missing = app
        .post(
            "/api/follows/",
            Some(&fan),
            json!({ "target_type": "fighter", "target_id": 999_999 }),
        )
        .await;
    assert_error(&missing, 400, "bad_request");
    let wrong = app
        .post(
            "/api/follows/",
            Some(&fan),
            json!({ "target_type": "venue", "target_id": 1 }),
        )
        .await;
    assert_error(&wrong, 400, "bad_request");
    let (status, _) = app
        .call(
            "DELETE",
            &format!("/api/follows/event/{event}/"),
            Some(&fan),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let gone = app
        .call(
            "DELETE",
            &format!("/api/follows/event/{event}/"),
            Some(&fan),
            None,
        )
        .await;
    assert_error(&gone, 404, "not_found");

    // Views and shares are logged with their session; the rest by the writes.
    let (status, _) = app
        .post(
            "/api/activity/",
            Some(&fan),
            json!({ "activity_type": "share", "target_type": "event", "target_id": event, "session_id": "s-1" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, log) = app.get("/api/activity/", Some(&fan)).await;
    let kinds: Vec<&str> = log["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|a| a["activity_type"].as_str().expect("type"))
        .collect();
    assert_eq!(kinds, vec!["share", "follow"]);
    assert_eq!(log["results"][0]["session_id"], "s-1");
    let bad = app
        .post(
            "/api/activity/",
            Some(&fan),
            json!({ "activity_type": "comment" }),
        )
        .await;
    assert_error(&bad, 400, "bad_request");
}

/// The answer to a write op, past whatever else the channel sends.
async fn ack_or_error(ws: &mut WsClient) -> Value {
    loop {
        let f = ws.next().await;
        if matches!(f["type"].as_str(), Some("ack" | "error")) {
            return f;
        }
    }
}

#[actix_rt::test]
async fn a_vote_over_websocket_is_acked_and_an_option_of_another_poll_is_refused() {
    let app = TestApp::spawn().await;
    let (admin, event, _) = live_event(&app).await;
    let mut options = Vec::new();
    let mut polls = Vec::new();
    for question in ["Who wins?", "Which round?"] {
        let (status, poll) = app
            .post(
                "/api/live/polls/",
                Some(&admin),
                json!({ "live_event": event, "live_fight": null, "question": question, "options": ["A", "B"] }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{poll}");
        let id = poll["id"].as_i64().expect("id");
        let (status, _) = app
            .post(
                &format!("/api/live/polls/{id}/open/"),
                Some(&admin),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        polls.push(id);
        options.push(poll["options"][0]["id"].as_i64().expect("option id"));
    }
    let (fan, _) = app.register("fan@ringside.test").await;
    let mut ws = WsClient::open(&app, &format!("/api/live/events/{event}/?token={fan}")).await;
    ws.send(json!({ "op": "vote", "poll": polls[0], "option": options[1], "ref": 1 }))
        .await;
    let refused = ack_or_error(&mut ws).await;
    assert_eq!(
        (
            refused["type"].as_str(),
            refused["code"].as_str(),
            refused["ref"].as_i64()
        ),
        (Some("error"), Some("bad_request"), Some(1)),
        "{refused}"
    );
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("option")),
        "{refused}"
    );
    ws.send(json!({ "op": "vote", "poll": polls[0], "option": options[0], "ref": 2 }))
        .await;
    let acked = ack_or_error(&mut ws).await;
    assert_eq!(
        (acked["type"].as_str(), acked["ref"].as_i64()),
        (Some("ack"), Some(2)),
        "{acked}"
    );
    assert_eq!(
        acked["data"],
        json!({ "poll": polls[0], "option": options[0] })
    );
    // Over REST, the same ballot is already counted.
    let again = app
        .post(
            &format!("/api/live/polls/{}/vote/", polls[0]),
            Some(&fan),
            json!({ "option": options[0] }),
        )
        .await;
    assert_error(&again, 409, "already_voted");
}

#[actix_rt::test]
async fn a_reaction_to_something_that_does_not_exist_is_refused_naming_the_target() {
    let app = TestApp::spawn().await;
    let (_, event, _) = live_event(&app).await;
    let (fan, _) = app.register("fan@ringside.test").await;
    let missing = app
        .post(
            "/api/live/reactions/",
            Some(&fan),
            json!({ "target_type": "fight", "target_id": 999_999, "reaction_type": "wow" }),
        )
        .await;
    assert_error(&missing, 400, "bad_request");
    assert!(
        missing.1["error"]["details"]["target_id"].is_string(),
        "{}",
        missing.1
    );
    let (status, _) = app
        .post(
            "/api/live/reactions/",
            Some(&fan),
            json!({ "target_type": "event", "target_id": event, "reaction_type": "wow" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "the next one is stored");
    assert_eq!(app.count("reaction_events"), 1, "the refused one was not");
}
