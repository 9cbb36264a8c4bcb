use awc::http::StatusCode;
use serde_json::{json, Value};

use crate::harness::{assert_error, build_card, fresh_database, test_config, TestApp};

async fn create_live(app: &TestApp, token: &str, event: i64) -> Value {
    let (status, live) = app
        .post(
            "/api/live/events/",
            Some(token),
            json!({ "event": event, "start_time": "2026-12-01T20:00:00Z", "is_featured": true, "settings": { "theme": "dark" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{live}");
    live
}

#[actix_rt::test]
async fn fight_night_path_upcoming_live_completed() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (event, fights) = build_card(&app, &admin, 3).await;

    let live = create_live(&app, &admin, event).await;
    assert_eq!(live["status"], "upcoming");
    assert_eq!(live["event"], event);
    assert_eq!(live["is_featured"], true);
    assert_eq!(live["settings"]["theme"], "dark");
    let card = live["fights"].as_array().expect("fights");
    assert_eq!(card.len(), 3, "a live fight per fight on the card");
    let card_fights: Vec<i64> = card
        .iter()
        .map(|f| f["fight"].as_i64().expect("fight"))
        .collect();
    assert_eq!(card_fights, fights, "in card order");
    for f in card {
        assert_eq!(f["status"], "upcoming");
        assert_eq!(f["current_round"], 0);
        assert!(f["id"].is_i64());
    }
    let id = live["id"].as_i64().expect("id");

    let (status, started) = app
        .post(
            &format!("/api/live/events/{id}/start/"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    assert_eq!(started["status"], "live");
    assert!(started["start_time"].is_string());

    let (status, detail) = app.get(&format!("/api/live/events/{id}/"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["status"], "live");
    assert_eq!(detail["viewer_count"], 0);
    assert_eq!(detail["fights"].as_array().map(Vec::len), Some(3));
    assert_eq!(detail["event_detail"]["name"], "Fight Night");

    let (status, live_list) = app.get("/api/live/events/?status=live", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(live_list["results"].as_array().map(Vec::len), Some(1));
    let (_, upcoming_list) = app.get("/api/live/events/?status=upcoming", None).await;
    assert_eq!(upcoming_list["results"].as_array().map(Vec::len), Some(0));

    let (status, ended) = app
        .post(
            &format!("/api/live/events/{id}/end/"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    assert_eq!(ended["status"], "completed");
    assert!(ended["end_time"].is_string());
}

#[actix_rt::test]
async fn illegal_transitions_answer_409_and_change_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (event, _) = build_card(&app, &admin, 1).await;
    let id = create_live(&app, &admin, event).await["id"]
        .as_i64()
        .expect("id");
    let act = |action: &'static str| {
        let (app, admin) = (&app, &admin);
        async move {
            app.post(
                &format!("/api/live/events/{id}/{action}/"),
                Some(admin),
                json!({}),
            )
            .await
        }
    };

    assert_error(&act("end").await, 409, "invalid_transition");
    assert_eq!(act("start").await.0, StatusCode::OK);
    assert_error(&act("start").await, 409, "invalid_transition");
    assert_eq!(act("end").await.0, StatusCode::OK);
    for action in ["start", "end", "cancel"] {
        assert_error(&act(action).await, 409, "invalid_transition");
    }
    let (_, detail) = app.get(&format!("/api/live/events/{id}/"), None).await;
    assert_eq!(detail["status"], "completed");
}

#[actix_rt::test]
async fn cancelling_cancels_the_card() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (event, _) = build_card(&app, &admin, 2).await;
    let id = create_live(&app, &admin, event).await["id"]
        .as_i64()
        .expect("id");
    let (status, cancelled) = app
        .post(
            &format!("/api/live/events/{id}/cancel/"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cancelled["status"], "cancelled");
    assert!(cancelled["fights"]
        .as_array()
        .expect("fights")
        .iter()
        .all(|f| f["status"] == "cancelled"));
    assert_error(
        &app.post(
            &format!("/api/live/events/{id}/start/"),
            Some(&admin),
            json!({}),
        )
        .await,
        409,
        "invalid_transition",
    );
}

#[actix_rt::test]
async fn concurrent_starts_admit_exactly_one() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (event, _) = build_card(&app, &admin, 1).await;
    let id = create_live(&app, &admin, event).await["id"]
        .as_i64()
        .expect("id");
    let path = format!("/api/live/events/{id}/start/");
    let attempts: Vec<_> = (0..6)
        .map(|_| app.post(&path, Some(&admin), json!({})))
        .collect();
    let results = futures_util::future::join_all(attempts).await;
    let ok = results.iter().filter(|r| r.0 == StatusCode::OK).count();
    let conflicts = results
        .iter()
        .filter(|r| r.0 == StatusCode::CONFLICT)
        .count();
    assert_eq!((ok, conflicts), (1, 5), "{results:?}");
}

#[actix_rt::test]
async fn live_events_are_capped_by_max_concurrent_events() {
    let mut config = test_config(fresh_database());
    config.live.max_concurrent_events = 1;
    let app = TestApp::with_config(config).await;
    let admin = app.admin_token().await;
    let (first_event, _) = build_card(&app, &admin, 1).await;
    let (s, second_event) = app
        .post(
            "/api/events/",
            Some(&admin),
            json!({ "name": "Second", "venue": "", "scheduled_start": "2026-12-02T20:00:00Z" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let first = create_live(&app, &admin, first_event).await["id"]
        .as_i64()
        .expect("id");
    let second = create_live(&app, &admin, second_event["id"].as_i64().expect("id")).await["id"]
        .as_i64()
        .expect("id");

    assert_eq!(
        app.post(
            &format!("/api/live/events/{first}/start/"),
            Some(&admin),
            json!({})
        )
        .await
        .0,
        StatusCode::OK
    );
    let refused = app
        .post(
            &format!("/api/live/events/{second}/start/"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_error(&refused, 409, "too_many_live_events");
    // Once the first ends, the second may go live.
    assert_eq!(
        app.post(
            &format!("/api/live/events/{first}/end/"),
            Some(&admin),
            json!({})
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        app.post(
            &format!("/api/live/events/{second}/start/"),
            Some(&admin),
            json!({})
        )
        .await
        .0,
        StatusCode::OK
    );
}

#[actix_rt::test]
async fn one_live_event_per_event_and_only_admins_run_them() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let moderator = app.user_with_role("mod@example.com", "moderator").await;
    let (event, _) = build_card(&app, &admin, 1).await;
    let body = json!({ "event": event });
    assert_error(
        &app.post("/api/live/events/", Some(&moderator), body.clone())
            .await,
        403,
        "forbidden",
    );
    let id = create_live(&app, &admin, event).await["id"]
        .as_i64()
        .expect("id");
    assert_error(
        &app.post("/api/live/events/", Some(&admin), body).await,
        409,
        "already_exists",
    );
    assert_error(
        &app.post(
            "/api/live/events/",
            Some(&admin),
            json!({ "event": event, "settings": [1] }),
        )
        .await,
        400,
        "bad_request",
    );
    assert_eq!(app.count("live_events"), 1);

    assert_error(
        &app.post(
            &format!("/api/live/events/{id}/start/"),
            Some(&moderator),
            json!({}),
        )
        .await,
        403,
        "forbidden",
    );
    assert_error(
        &app.post(&format!("/api/live/events/{id}/start/"), None, json!({}))
            .await,
        401,
        "unauthorized",
    );
    let (_, detail) = app.get(&format!("/api/live/events/{id}/"), None).await;
    assert_eq!(detail["status"], "upcoming");
}

#[actix_rt::test]
async fn a_fight_added_to_a_covered_card_gets_its_live_fight() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (event, fights) = build_card(&app, &admin, 1).await;
    let id = create_live(&app, &admin, event).await["id"]
        .as_i64()
        .expect("id");
    let (_, existing) = app.get(&format!("/api/fights/{}/", fights[0]), None).await;
    let (status, added) = app
        .post(
            "/api/fights/",
            Some(&admin),
            json!({ "event": event, "red_fighter": existing["blue_fighter"], "blue_fighter": existing["red_fighter"],
                    "division": existing["division"], "scheduled_rounds": 3, "card_order": 2, "is_title_fight": false }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let (_, detail) = app.get(&format!("/api/live/events/{id}/"), None).await;
    let card: Vec<&Value> = detail["fights"]
        .as_array()
        .expect("fights")
        .iter()
        .map(|f| &f["fight"])
        .collect();
    assert_eq!(card, vec![&json!(fights[0]), &added["id"]]);
}

#[actix_rt::test]
async fn a_late_replacement_reaches_viewers_as_a_card_change() {
    let app = TestApp::spawn().await;
    let (admin, event, fights) = crate::live_ws::live_event(&app).await;
    let (mut viewer, _) = crate::live_ws::watch(&app, event, "").await;
    let (_, live) = app.get(&format!("/api/live/events/{event}/"), None).await;
    let fight = &live["fights"][0];
    let (status, replacement) = app
        .post(
            "/api/fighters/",
            Some(&admin),
            json!({ "name": "Short Notice", "nickname": null, "division": fight["division"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{replacement}");
    let (status, body) = app
        .call(
            "PATCH",
            &format!("/api/fights/{}/", fight["fight"]),
            Some(&admin),
            Some(json!({ "blue_fighter": replacement["id"] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let frame = loop {
        let f = viewer.next_durable().await;
        if f["type"] == "event_state" {
            break f;
        }
    };
    let changed = frame["data"]["fights"]
        .as_array()
        .expect("the card rides with a card change")
        .iter()
        .find(|f| f["id"] == fights[0])
        .expect("the fight");
    assert_eq!(changed["blue_fighter"]["name"], "Short Notice", "{frame}");
    // A latecomer's snapshot has it too.
    let (_, late) = crate::live_ws::watch(&app, event, "").await;
    assert!(late.to_string().contains("Short Notice"));
}

#[actix_rt::test]
async fn the_limits_are_published_as_the_server_applies_them() {
    let mut config = test_config(fresh_database());
    config.live.max_concurrent_events = 1;
    let app = TestApp::with_config(config).await;
    let (status, limits) = app.get("/api/live/limits/", None).await;
    assert_eq!(status, StatusCode::OK, "{limits}");
    assert_eq!(limits["max_concurrent_events"], 1);
    assert_eq!(limits["comment_rate_limit"], 10);
    // The one it names is the one a start runs into.
    let admin = app.admin_token().await;
    let (first, _) = build_card(&app, &admin, 1).await;
    let (status, second) = app
        .post(
            "/api/events/",
            Some(&admin),
            json!({ "name": "Second Night", "venue": "Arena", "scheduled_start": "2026-12-02T20:00:00Z" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let mut live = Vec::new();
    for event in [first, second["id"].as_i64().expect("id")] {
        live.push(create_live(&app, &admin, event).await["id"].clone());
    }
    let start = |id: &Value| format!("/api/live/events/{id}/start/");
    let (status, _) = app.post(&start(&live[0]), Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let refused = app.post(&start(&live[1]), Some(&admin), json!({})).await;
    assert_error(&refused, 409, "too_many_live_events");
}
