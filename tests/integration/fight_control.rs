//! Running a fight end to end: rounds, stats, judges' scores, the result,
//! and the ranking moves it causes, as REST answers and as live frames.

use awc::http::StatusCode;
use serde_json::{json, Value};

use crate::harness::{assert_error, build_card, TestApp};
use crate::ws_client::WsClient;

struct Night {
    admin: String,
    event: i64,
    fight: i64,
    division: i64,
    red: i64,
    blue: i64,
}

async fn night(app: &TestApp, start_event: bool) -> Night {
    let admin = app.admin_token().await;
    let (event_id, fights) = build_card(app, &admin, 1).await;
    let (_, fight) = app.get(&format!("/api/fights/{}/", fights[0]), None).await;
    let (status, live) = app
        .post(
            "/api/live/events/",
            Some(&admin),
            json!({ "event": event_id }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let event = live["id"].as_i64().expect("id");
    if start_event {
        let (status, _) = app
            .post(
                &format!("/api/live/events/{event}/start/"),
                Some(&admin),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    Night {
        admin,
        event,
        fight: live["fights"][0]["id"].as_i64().expect("live fight"),
        division: fight["division"].as_i64().expect("division"),
        red: fight["red_fighter"].as_i64().expect("red"),
        blue: fight["blue_fighter"].as_i64().expect("blue"),
    }
}

impl Night {
    async fn act(&self, app: &TestApp, what: &str, body: Value) -> (StatusCode, Value) {
        app.post(
            &format!("/api/live/fights/{}/{what}", self.fight),
            Some(&self.admin),
            body,
        )
        .await
    }

    async fn ok(&self, app: &TestApp, what: &str, body: Value) -> Value {
        let (status, snapshot) = self.act(app, what, body).await;
        assert_eq!(status, StatusCode::OK, "{what}: {snapshot}");
        snapshot
    }
}

/// The next `fight_state` frame on a fight channel.
async fn next_state(c: &mut WsClient) -> Value {
    let f = c.next_durable().await;
    assert_eq!(f["type"], "fight_state", "{f}");
    f["data"].clone()
}

#[actix_rt::test]
async fn a_fight_from_first_bell_to_decision() {
    let app = TestApp::spawn().await;
    let n = night(&app, true).await;
    let mut fight_watch = WsClient::open(&app, &format!("/api/live/fights/{}/", n.fight)).await;
    let subscribed = fight_watch.next_durable().await;
    assert_eq!(subscribed["snapshot"]["status"], "upcoming");
    let mut event_watch = WsClient::open(&app, &format!("/api/live/events/{}/", n.event)).await;
    assert_eq!(event_watch.next_durable().await["type"], "subscribed");

    let started = n.ok(&app, "start/", json!({})).await;
    assert_eq!(started["status"], "live");
    assert_eq!(next_state(&mut fight_watch).await["status"], "live");
    let event_state = event_watch.next_durable().await;
    assert_eq!(
        (
            event_state["type"].as_str(),
            event_state["data"]["current_fight"].as_i64()
        ),
        (Some("event_state"), Some(n.fight))
    );
    assert_eq!(
        event_watch.next_durable().await["type"],
        "fight_state",
        "the event channel sees its fights"
    );

    assert_error(
        &n.act(&app, "rounds/start/", json!({ "round": 2 })).await,
        409,
        "invalid_transition",
    );
    let round = n.ok(&app, "rounds/start/", json!({ "round": 1 })).await;
    assert_eq!(round["current_round"], 1);
    assert!(
        round["round_start_time"].is_string(),
        "clients count the clock from it"
    );
    let state = next_state(&mut fight_watch).await;
    assert_eq!(state["current_round"], 1);

    // Judges score only finished rounds.
    assert_error(
        &n.act(
            &app,
            "scores/",
            json!({ "judge": "A", "round": 1, "red": 10, "blue": 9 }),
        )
        .await,
        409,
        "invalid_transition",
    );

    let stats = n
        .ok(&app, "stats/", json!({ "corner": "red", "round": 1, "strikes_landed": 12, "strikes_attempted": 30, "knockdowns": 1 }))
        .await;
    assert_eq!(stats["live_stats"]["totals"]["red"]["strikes_landed"], 12);
    assert_error(
        &n.act(
            &app,
            "stats/",
            json!({ "corner": "red", "round": 1, "strikes_landed": 40, "strikes_attempted": 30 }),
        )
        .await,
        400,
        "bad_request",
    );
    assert_error(
        &n.act(
            &app,
            "stats/",
            json!({ "corner": "green", "round": 1, "knockdowns": 1 }),
        )
        .await,
        400,
        "bad_request",
    );
    n.ok(&app, "rounds/end/", json!({ "round": 1 })).await;

    for judge in ["Adalaide", "Bruno", "Chen"] {
        n.ok(
            &app,
            "scores/",
            json!({ "judge": judge, "round": 1, "red": 10, "blue": 9 }),
        )
        .await;
    }
    assert_error(
        &n.act(
            &app,
            "scores/",
            json!({ "judge": "Bruno", "round": 1, "red": 10, "blue": 8 }),
        )
        .await,
        409,
        "already_exists",
    );
    assert_error(
        &n.act(
            &app,
            "scores/",
            json!({ "judge": "Dee", "round": 1, "red": 9, "blue": 9 }),
        )
        .await,
        400,
        "bad_request",
    );
    let scored = n
        .ok(
            &app,
            "scores/",
            json!({ "judge": "Dee", "round": 1, "red": 10, "blue": 10 }),
        )
        .await;
    let cards = &scored["judge_scores"];
    assert_eq!(cards["judges"].as_array().map(Vec::len), Some(4));
    assert_eq!(cards["projected"]["winner"], "red");
    assert_eq!(cards["projected"]["method"], "majority_decision");

    for round in 2..=3 {
        n.ok(&app, "rounds/start/", json!({ "round": round })).await;
        n.ok(&app, "rounds/end/", json!({ "round": round })).await;
    }
    assert_error(
        &n.act(&app, "rounds/start/", json!({ "round": 4 })).await,
        409,
        "invalid_transition",
    );
    assert_error(
        &n.act(
            &app,
            "result/",
            json!({ "winner": null, "method": "unanimous_decision", "round": 3, "time": "5:00" }),
        )
        .await,
        400,
        "bad_request",
    );
    let done = n
        .ok(
            &app,
            "result/",
            json!({ "winner": "red", "method": "unanimous_decision", "round": 3, "time": "5:00" }),
        )
        .await;
    assert_eq!(done["status"], "completed");
    assert_eq!(
        done["result"],
        json!({ "winner": "red", "method": "unanimous_decision", "round": 3, "time": "5:00" })
    );
    assert_error(
        &n.act(&app, "rounds/start/", json!({ "round": 1 })).await,
        409,
        "invalid_transition",
    );

    let (_, red) = app.get(&format!("/api/fighters/{}/", n.red), None).await;
    let (_, blue) = app.get(&format!("/api/fighters/{}/", n.blue), None).await;
    assert_eq!(
        (red["wins"].as_i64(), blue["losses"].as_i64()),
        (Some(1), Some(1))
    );

    // Every step reached the fight's subscribers, in order.
    let last = loop {
        let state = next_state(&mut fight_watch).await;
        if state["status"] == "completed" {
            break state;
        }
    };
    assert_eq!(last["result"]["method"], "unanimous_decision");
}

#[actix_rt::test]
async fn a_result_moves_the_rankings_live() {
    let app = TestApp::spawn().await;
    let n = night(&app, true).await;
    let (_, before) = app
        .get(&format!("/api/rankings/?division={}", n.division), None)
        .await;
    let order = |body: &Value| -> Vec<i64> {
        body["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| r["fighter"].as_i64().expect("fighter"))
            .collect()
    };
    assert_eq!(order(&before), vec![n.red, n.blue], "red was ranked first");

    let mut rankings = WsClient::open(&app, &format!("/api/live/events/{}/", n.event)).await;
    rankings.next_durable().await;
    rankings
        .send(json!({ "op": "subscribe", "channel": format!("rankings:{}", n.division), "ref": 1 }))
        .await;
    loop {
        let f = rankings.next_durable().await;
        if f["type"] == "subscribed" && f["ref"] == 1 {
            break;
        }
    }

    n.ok(&app, "start/", json!({})).await;
    n.ok(&app, "rounds/start/", json!({ "round": 1 })).await;
    n.ok(
        &app,
        "result/",
        json!({ "winner": "blue", "method": "ko_tko", "round": 1, "time": "2:41" }),
    )
    .await;

    let (_, after) = app
        .get(&format!("/api/rankings/?division={}", n.division), None)
        .await;
    // The card's first fight is for the vacant title: the winner takes it
    // (the champion is not a contender), the loser stays the top contender.
    assert_eq!(after["champion"]["fighter"], n.blue, "{after}");
    assert_eq!(order(&after), vec![n.red]);
    // One `ranking` frame per fighter who moved.
    let ranking = loop {
        let f = rankings.next_durable().await;
        if f["type"] == "ranking" && f["data"]["fighter"] == n.blue {
            break f;
        }
    };
    assert_eq!(ranking["channel"], format!("rankings:{}", n.division));
    assert_eq!(
        (
            ranking["data"]["rank_before"].as_i64(),
            ranking["data"]["rank_after"].as_i64()
        ),
        (Some(2), None)
    );
}

#[actix_rt::test]
async fn fight_control_needs_a_live_event_and_a_moderator() {
    let app = TestApp::spawn().await;
    let n = night(&app, false).await;
    assert_error(
        &n.act(&app, "start/", json!({})).await,
        409,
        "invalid_transition",
    );
    let reporter = app.user_with_role("reporter@example.com", "reporter").await;
    assert_error(
        &app.post(
            &format!("/api/live/fights/{}/start/", n.fight),
            Some(&reporter),
            json!({}),
        )
        .await,
        403,
        "forbidden",
    );
    assert_error(
        &app.post("/api/live/fights/999999/start/", Some(&n.admin), json!({}))
            .await,
        404,
        "not_found",
    );
    // (Building the card placed its fighters in the rankings: those moves
    // are on the rankings channels.)
    let published =
        app.rows("SELECT channel FROM channel_messages WHERE channel NOT LIKE 'rankings%'");
    assert_eq!(published, Vec::<Value>::new(), "nothing was published");
}

/// A division's rankings as the API lists them.
async fn rankings(app: &TestApp, division: i64) -> Value {
    let path = format!("/api/rankings/?division={division}");
    app.get(&path, None).await.1["results"].clone()
}

/// A fighter's record as the catalog shows it: (wins, losses, draws, no contests).
async fn record(app: &TestApp, fighter: i64) -> (i64, i64, i64, i64) {
    let (_, f) = app.get(&format!("/api/fighters/{fighter}/"), None).await;
    let n = |k: &str| f[k].as_i64().unwrap_or(0);
    (n("wins"), n("losses"), n("draws"), n("no_contests"))
}

#[actix_rt::test]
async fn a_draw_counts_for_both_and_a_no_contest_leaves_the_ratings_alone() {
    let app = TestApp::spawn().await;
    let draw = night(&app, true).await;
    let before = (record(&app, draw.red).await, record(&app, draw.blue).await);
    draw.ok(&app, "start/", json!({})).await;
    for round in 1..=3 {
        draw.ok(&app, "rounds/start/", json!({ "round": round }))
            .await;
        draw.ok(&app, "rounds/end/", json!({ "round": round }))
            .await;
    }
    draw.ok(
        &app,
        "result/",
        json!({ "winner": null, "method": "draw", "round": 3, "time": "5:00" }),
    )
    .await;
    let plus_draw = |(w, l, d, nc): (i64, i64, i64, i64)| (w, l, d + 1, nc);
    assert_eq!(record(&app, draw.red).await, plus_draw(before.0));
    assert_eq!(record(&app, draw.blue).await, plus_draw(before.1));

    // Another night (its own database: a card's names are unique).
    let app = TestApp::spawn().await;
    let nc = night(&app, true).await;
    let before = (record(&app, nc.red).await, record(&app, nc.blue).await);
    let ranked = rankings(&app, nc.division).await;
    nc.ok(&app, "start/", json!({})).await;
    nc.ok(&app, "rounds/start/", json!({ "round": 1 })).await;
    nc.ok(
        &app,
        "result/",
        json!({ "winner": null, "method": "no_contest", "round": 1, "time": "0:30" }),
    )
    .await;
    let plus_nc = |(w, l, d, nc): (i64, i64, i64, i64)| (w, l, d, nc + 1);
    assert_eq!(record(&app, nc.red).await, plus_nc(before.0));
    assert_eq!(record(&app, nc.blue).await, plus_nc(before.1));
    assert_eq!(
        rankings(&app, nc.division).await,
        ranked,
        "no ratings or ranks moved"
    );
}
