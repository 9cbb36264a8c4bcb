//! Running fights under the Unified Rules over the API: officials, the
//! clock, fouls and deductions, every kind of result, results that must
//! agree with the cards, amendments, the timeline and the updates the
//! engine writes, as REST answers and live frames. Each finding of the
//! night that showed the old engine accepting what cannot happen has its
//! test here (`finding_…`); rankings have theirs in `rankings.rs`.

use awc::http::StatusCode;
use serde_json::{json, Value};

use ringside_actors::fight::{Bout, Transition};

use crate::harness::{assert_error, build_card, TestApp};
use crate::ws_client::WsClient;

pub const JUDGES: [&str; 3] = ["Sal D'Amato", "Derek Cleary", "Chris Lee"];

/// A live event with its card started, officials assigned to every fight.
pub struct Night {
    /// The same server, for the helpers' requests.
    pub api: TestApp,
    pub admin: String,
    pub event: i64,
    pub fights: Vec<Fight>,
}

/// One live fight of the night and its corners.
pub struct Fight {
    pub id: i64,
    pub fight: i64,
    pub division: i64,
    pub red: i64,
    pub blue: i64,
}

/// `fights` fights (the first a five-round title main event, the others
/// three rounds), the live event created with `settings` and started.
pub async fn night(app: &TestApp, fights: usize, settings: Value) -> Night {
    let admin = app.admin_token().await;
    let (event_id, fight_ids) = build_card(app, &admin, fights).await;
    let (status, live) = app
        .post(
            "/api/live/events/",
            Some(&admin),
            json!({ "event": event_id, "settings": settings }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{live}");
    let event = live["id"].as_i64().expect("id");
    let (status, _) = app
        .post(
            &format!("/api/live/events/{event}/start/"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut out = Vec::new();
    for (i, fight_id) in fight_ids.iter().enumerate() {
        let (_, fight) = app.get(&format!("/api/fights/{fight_id}/"), None).await;
        let id = live["fights"]
            .as_array()
            .expect("fights")
            .iter()
            .find(|f| f["fight"] == *fight_id)
            .and_then(|f| f["id"].as_i64())
            .expect("live fight");
        let f = Fight {
            id,
            fight: *fight_id,
            division: fight["division"].as_i64().expect("division"),
            red: fight["red_fighter"].as_i64().expect("red"),
            blue: fight["blue_fighter"].as_i64().expect("blue"),
        };
        let n = Night {
            api: TestApp::at(app.base.clone(), app.db_url.clone()),
            admin: admin.clone(),
            event,
            fights: Vec::new(),
        };
        n.ok_on(
            &f,
            "officials/",
            json!({ "referee": format!("Referee {i}"), "judges": JUDGES }),
        )
        .await;
        out.push(f);
    }
    Night {
        api: TestApp::at(app.base.clone(), app.db_url.clone()),
        admin,
        event,
        fights: out,
    }
}

impl Night {
    pub async fn act_on(&self, f: &Fight, what: &str, body: Value) -> (StatusCode, Value) {
        self.as_user(&self.admin, f, what, body).await
    }

    async fn as_user(
        &self,
        token: &str,
        f: &Fight,
        what: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        self.api
            .post(
                &format!("/api/live/fights/{}/{what}", f.id),
                Some(token),
                body,
            )
            .await
    }

    pub async fn ok_on(&self, f: &Fight, what: &str, body: Value) -> Value {
        let (status, snapshot) = self.act_on(f, what, body).await;
        assert_eq!(status, StatusCode::OK, "{what}: {snapshot}");
        snapshot
    }

    /// The first fight's moves.
    pub async fn act(&self, what: &str, body: Value) -> (StatusCode, Value) {
        self.act_on(&self.fights[0], what, body).await
    }

    pub async fn ok(&self, what: &str, body: Value) -> Value {
        self.ok_on(&self.fights[0], what, body).await
    }

    /// Runs round `round` of `f` to the horn.
    pub async fn full_round(&self, f: &Fight, round: i32) {
        self.ok_on(f, "rounds/start/", json!({ "round": round }))
            .await;
        self.ok_on(f, "rounds/end/", json!({ "round": round }))
            .await;
    }

    /// Sets the round's clock to the arena's `elapsed` (`M:SS`).
    pub async fn clock(&self, f: &Fight, elapsed: &str) {
        self.ok_on(
            f,
            "rounds/clock/",
            json!({ "elapsed": elapsed, "reason": "in step with the arena clock" }),
        )
        .await;
    }

    /// Every judge's card for `f`, rounds in order: `cards[j][r]` = (red, blue).
    pub async fn cards(&self, f: &Fight, cards: &[&[(i32, i32)]]) {
        for (judge, rounds) in JUDGES.iter().zip(cards) {
            for (i, (red, blue)) in rounds.iter().enumerate() {
                self.ok_on(
                    f,
                    "scores/",
                    json!({ "judge": judge, "round": i + 1, "red": red, "blue": blue }),
                )
                .await;
            }
        }
    }
}

/// A fighter's record: (wins, losses, draws, no contests).
pub async fn record(app: &TestApp, fighter: i64) -> (i64, i64, i64, i64) {
    let (_, f) = app.get(&format!("/api/fighters/{fighter}/"), None).await;
    let n = |k: &str| f[k].as_i64().unwrap_or(0);
    (n("wins"), n("losses"), n("draws"), n("no_contests"))
}

/// Asserts one of `user`'s notifications says `text`.
async fn hears(app: &TestApp, user: &str, text: &str) {
    let (_, inbox) = app.get("/api/notifications/", Some(user)).await;
    let messages: Vec<&str> = inbox["results"]
        .as_array()
        .expect("inbox")
        .iter()
        .filter_map(|m| m["message"].as_str())
        .collect();
    assert!(
        messages.iter().any(|m| m.contains(text)),
        "{text} in {messages:?}"
    );
}

/// Reads `fight_state` frames until one reports a transition of `kind`.
async fn until_transition(c: &mut WsClient, kind: &str) -> Value {
    loop {
        let f = c.next_durable().await;
        if f["type"] == "fight_state" && f["data"]["transition"]["kind"] == kind {
            return f;
        }
    }
}

/// The three-round fights of a card, ready: started, round 1 not yet.
async fn three_rounder(app: &TestApp) -> Night {
    let mut n = night(app, 2, json!({})).await;
    n.fights.remove(0);
    n.ok("start/", json!({})).await;
    n
}

#[actix_rt::test]
async fn a_three_fight_card_from_first_bell_to_the_last_decision() {
    let app = TestApp::spawn().await;
    let n = night(&app, 3, json!({})).await;
    let (main, co_main, opener) = (&n.fights[0], &n.fights[1], &n.fights[2]);
    // A fan follows the main event's red corner and the opener's blue.
    let (fan, _) = app.register("fan@example.com").await;
    for fighter in [main.red, opener.blue] {
        let (s, body) = app
            .post(
                "/api/follows/",
                Some(&fan),
                json!({ "target_type": "fighter", "target_id": fighter }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    let mut watch = WsClient::open(&app, &format!("/api/live/events/{}/", n.event)).await;
    assert_eq!(watch.next_durable().await["type"], "subscribed");
    let mut records = Vec::new();
    for f in [
        opener.red,
        opener.blue,
        co_main.red,
        co_main.blue,
        main.red,
        main.blue,
    ] {
        records.push(record(&app, f).await);
    }

    // The opener: a knockdown, then a KO in round 1 at 2:41.
    n.ok_on(opener, "start/", json!({})).await;
    assert_error(
        &n.act_on(co_main, "start/", json!({})).await,
        409,
        "fight_in_progress",
    );
    n.ok_on(opener, "rounds/start/", json!({ "round": 1 }))
        .await;
    n.clock(opener, "2:30").await;
    n.ok_on(
        opener,
        "stats/",
        json!({ "corner": "blue", "round": 1, "strikes_landed": 14, "strikes_attempted": 30, "significant_strikes_landed": 11, "significant_strikes_attempted": 22, "knockdowns": 1 }),
    )
    .await;
    n.clock(opener, "2:41").await;
    let ko = n
        .ok_on(
            opener,
            "result/",
            json!({ "method": "ko", "winner": "blue", "round": 1, "time": "2:41" }),
        )
        .await;
    assert_eq!(ko["status"], "completed");
    assert_eq!(ko["division"], opener.division);
    assert_eq!(
        (
            ko["result"]["method"].as_str(),
            ko["result"]["round"].as_i64(),
            ko["result"]["time"].as_str()
        ),
        (Some("ko"), Some(1), Some("2:41"))
    );
    assert!(ko["projected"].is_null());

    // The co-main: a rear-naked choke in round 2 at 3:12.
    n.ok_on(co_main, "start/", json!({})).await;
    n.full_round(co_main, 1).await;
    n.ok_on(co_main, "rounds/start/", json!({ "round": 2 }))
        .await;
    n.clock(co_main, "3:00").await;
    n.ok_on(
        co_main,
        "stats/",
        json!({ "corner": "red", "round": 2, "takedowns_landed": 2, "takedowns_attempted": 3, "submission_attempts": 1, "control_time_s": 95 }),
    )
    .await;
    n.clock(co_main, "3:12").await;
    let sub = n
        .ok_on(
            co_main,
            "result/",
            json!({ "method": "submission", "technique": "rear-naked choke", "winner": "red", "round": 2, "time": "3:12" }),
        )
        .await;
    assert_eq!(sub["result"]["technique"], "rear-naked choke");

    // The main event: five rounds, a point taken from blue in round 2, a
    // split decision the deduction decides.
    n.ok_on(main, "start/", json!({})).await;
    for round in 1..=5 {
        n.ok_on(main, "rounds/start/", json!({ "round": round }))
            .await;
        if round == 2 {
            n.ok_on(main, "rounds/pause/", json!({ "reason": "groin strike" }))
                .await;
            n.ok_on(
                main,
                "fouls/",
                json!({ "corner": "blue", "round": 2, "foul": "groin strike", "points": 1, "intentional": true }),
            )
            .await;
            n.ok_on(main, "rounds/resume/", json!({})).await;
        }
        n.ok_on(main, "rounds/end/", json!({ "round": round }))
            .await;
    }
    n.cards(
        main,
        &[
            &[(10, 9), (9, 10), (10, 9), (9, 10), (10, 9)], // 48-47, 48-46 after
            &[(9, 10), (9, 10), (9, 10), (9, 10), (10, 9)], // 46-49, 46-48 after
            &[(10, 9), (10, 10), (9, 10), (10, 9), (9, 10)], // 48-48, 48-47 after
        ],
    )
    .await;
    let (status, refused) = n
        .act_on(
            main,
            "result/",
            json!({ "method": "split_draw", "winner": null }),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("contradicts_scorecards"))
    );
    assert_eq!(
        refused["error"]["details"]["cards_give"]["method"],
        "split_decision"
    );
    let decision = n
        .ok_on(
            main,
            "result/",
            json!({ "method": "split_decision", "winner": "red" }),
        )
        .await;
    let totals: Vec<(i64, i64)> = decision["result"]["cards"]
        .as_array()
        .expect("cards")
        .iter()
        .map(|c| {
            (
                c["red"].as_i64().unwrap_or(0),
                c["blue"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(totals, vec![(48, 46), (46, 48), (48, 47)]);
    assert_eq!(
        (
            decision["result"]["round"].as_i64(),
            decision["result"]["time"].as_str()
        ),
        (Some(5), Some("5:00"))
    );
    let card = &decision["scorecards"][0]["rounds"][1];
    assert_eq!(
        (
            card["scored_blue"].as_i64(),
            card["deducted_blue"].as_i64(),
            card["blue"].as_i64()
        ),
        (Some(10), Some(1), Some(9)),
        "the deduction is on every card for its round"
    );

    // Records: each winner one win more, each loser one loss more.
    let corners = [
        opener.red,
        opener.blue,
        co_main.red,
        co_main.blue,
        main.red,
        main.blue,
    ];
    let won = [false, true, true, false, true, false];
    for ((fighter, before), won) in corners.iter().zip(&records).zip(won) {
        let (w, l, d, nc) = before;
        let expected = if won {
            (w + 1, *l, *d, *nc)
        } else {
            (*w, l + 1, *d, *nc)
        };
        assert_eq!(record(&app, *fighter).await, expected, "fighter {fighter}");
    }

    // The timeline: every transition, numbered, with its seq on the fight channel.
    let (_, timeline) = app
        .get(&format!("/api/live/fights/{}/timeline/", main.id), None)
        .await;
    let entries = timeline["results"].as_array().expect("entries");
    let kinds: Vec<&str> = entries.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(
        &kinds[..3],
        ["officials_assigned", "fight_started", "round_started"]
    );
    assert_eq!(kinds.iter().filter(|k| **k == "score").count(), 15);
    assert_eq!(kinds.iter().filter(|k| **k == "round_ended").count(), 5);
    assert!(
        kinds.contains(&"foul")
            && kinds.contains(&"round_paused")
            && kinds.contains(&"round_resumed")
    );
    assert_eq!(kinds.last(), Some(&"result"));
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["n"].as_u64(), Some(i as u64 + 1));
        assert!(e["at"].is_string());
    }
    let seqs: Vec<i64> = entries.iter().filter_map(|e| e["seq"].as_i64()).collect();
    assert_eq!(seqs.len(), entries.len(), "every entry has its seq");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        entries.last().map(|e| e["data"]["method"].clone()),
        Some(json!("split_decision"))
    );

    // The stored state is what the stored timeline folds into.
    let rows = app.rows(&format!(
        "SELECT kind, data, at FROM fight_timeline WHERE live_fight_id = {} ORDER BY n",
        main.id
    ));
    let timeline: Vec<(Transition, chrono::DateTime<chrono::Utc>)> = rows
        .iter()
        .map(|r| {
            let t = Transition::from_stored(r["kind"].as_str().unwrap_or(""), &r["data"])
                .unwrap_or_else(|| panic!("a stored transition: {r}"));
            let at = serde_json::from_value(r["at"].clone()).expect("a time");
            (t, at)
        })
        .collect();
    let folded = Bout::fold(5, timeline.iter().map(|(t, at)| (t, *at)));
    let stored = app.rows(&format!(
        "SELECT bout FROM live_fights WHERE id = {}",
        main.id
    ));
    assert_eq!(
        serde_json::to_value(&folded).expect("json"),
        stored[0]["bout"]
    );
    // Each entry's seq is its frame's on fight:{id}.
    let frames = app.rows(&format!(
        "SELECT seq, payload->'transition'->>'n' AS n FROM channel_messages \
         WHERE channel = 'fight:{}' AND frame_type = 'fight_state' ORDER BY seq",
        main.id
    ));
    assert_eq!(frames.len(), entries.len());
    for (frame, entry) in frames.iter().zip(entries) {
        assert_eq!(frame["seq"], entry["seq"]);
        assert_eq!(
            frame["n"].as_str().map(String::from),
            entry["n"].as_i64().map(|n| n.to_string())
        );
    }

    // The updates the engine wrote, verified and numbered on the event.
    let (_, updates) = app
        .get(
            &format!("/api/live/updates/?event={}&limit=100", n.event),
            None,
        )
        .await;
    let types: Vec<&str> = updates["results"]
        .as_array()
        .expect("updates")
        .iter()
        .filter_map(|u| u["update_type"].as_str())
        .collect();
    for t in [
        "fight_start",
        "round_start",
        "round_end",
        "knockdown",
        "submission_attempt",
        "result",
    ] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }
    assert_eq!(types.iter().filter(|t| **t == "result").count(), 3);
    assert_eq!(types.iter().filter(|t| **t == "fight_start").count(), 3);

    // The fan heard the two results of the fighters he follows, in words.
    hears(&app, &fan, "by KO in round 1 (2:41) at Fight Night.").await;
    hears(
        &app,
        &fan,
        "by split decision (48-46, 46-48, 48-47) at Fight Night and is the new Lightweight champion.",
    )
    .await;

    // The watchers saw it live: the KO's fight_state and the result update.
    let ko_frame = until_transition(&mut watch, "result").await;
    assert_eq!(ko_frame["data"]["id"], opener.id);
    assert!(ko_frame["seq"].is_u64());
}

#[actix_rt::test]
async fn finding_1_a_decision_the_cards_do_not_give_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let n = three_rounder(&app).await;
    let f = &n.fights[0];
    for round in 1..=3 {
        n.full_round(f, round).await;
    }
    n.cards(
        f,
        &[
            &[(10, 9), (10, 9), (9, 10)],
            &[(9, 10), (9, 10), (10, 9)],
            &[(10, 8), (8, 10), (10, 10)],
        ],
    )
    .await;
    let red_before = record(&app, f.red).await;
    let (status, body) = n
        .act(
            "result/",
            json!({"winner":"red","method":"unanimous_decision","round":3,"time":"5:00"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "contradicts_scorecards");
    let give = &body["error"]["details"]["cards_give"];
    assert_eq!(
        (give["method"].as_str(), give["winner"].as_str()),
        (Some("split_draw"), None)
    );
    let totals: Vec<Value> = give["cards"]
        .as_array()
        .expect("cards")
        .iter()
        .map(|c| json!([c["red"], c["blue"]]))
        .collect();
    assert_eq!(
        totals,
        vec![json!([29, 28]), json!([28, 29]), json!([28, 28])]
    );
    assert_eq!(record(&app, f.red).await, red_before, "no win was recorded");
    let (_, snapshot) = app.get(&format!("/api/live/fights/{}/", f.id), None).await;
    assert_eq!(snapshot["status"], "in_progress");
    let draw = n
        .ok("result/", json!({"winner": null, "method": "split_draw"}))
        .await;
    assert_eq!(draw["result"]["method"], "split_draw");
    assert_eq!(record(&app, f.red).await.2, red_before.2 + 1, "a draw");
}

#[actix_rt::test]
async fn finding_2_no_decision_before_the_last_horn_or_without_the_cards() {
    let app = TestApp::spawn().await;
    let n = three_rounder(&app).await;
    let f = &n.fights[0];
    n.full_round(f, 1).await;
    n.full_round(f, 2).await;
    n.ok("rounds/start/", json!({ "round": 3 })).await;
    for body in [
        json!({"winner":"red","method":"unanimous_decision","round":3,"time":"5:00"}),
        json!({"winner":"red","method":"majority_decision","round":3,"time":"2:13"}),
    ] {
        assert_error(&n.act("result/", body).await, 409, "invalid_transition");
    }
    n.ok("rounds/end/", json!({ "round": 3 })).await;
    let (status, body) = n
        .act(
            "result/",
            json!({"winner":"red","method":"unanimous_decision"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("cards_incomplete"))
    );
    assert_eq!(
        body["error"]["details"]["missing"].as_array().map(Vec::len),
        Some(9)
    );
    assert_eq!(
        app.count("push_notifications"),
        0,
        "nobody was told anything"
    );
}

#[actix_rt::test]
async fn finding_3_no_finish_before_the_first_bell_or_after_the_clock() {
    let app = TestApp::spawn().await;
    let n = three_rounder(&app).await;
    let ko = json!({"winner":"red","method":"ko","round":1,"time":"0:20"});
    assert_error(
        &n.act("result/", ko.clone()).await,
        409,
        "invalid_transition",
    );
    let (_, snapshot) = app
        .get(&format!("/api/live/fights/{}/", n.fights[0].id), None)
        .await;
    assert_eq!(
        (
            snapshot["current_round"].as_i64(),
            snapshot["result"].is_null()
        ),
        (Some(0), true)
    );
    n.ok("rounds/start/", json!({ "round": 1 })).await;
    let (status, body) = n.act("result/", ko.clone()).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "the clock has not reached 0:20: {body}"
    );
    assert_eq!(body["error"]["code"], "invalid_transition");
    n.clock(&n.fights[0], "0:20").await;
    let done = n.ok("result/", ko).await;
    assert_eq!(
        (
            done["current_round"].as_i64(),
            done["clock"]["elapsed_s"].as_f64()
        ),
        (Some(1), Some(20.0))
    );
}

#[actix_rt::test]
async fn finding_4_no_scores_after_the_result() {
    let app = TestApp::spawn().await;
    let n = three_rounder(&app).await;
    n.full_round(&n.fights[0], 1).await;
    n.ok("rounds/start/", json!({ "round": 2 })).await;
    n.clock(&n.fights[0], "1:00").await;
    n.ok(
        "result/",
        json!({"winner":"blue","method":"tko","stoppage":"referee","round":2,"time":"1:00"}),
    )
    .await;
    assert_error(
        &n.act(
            "scores/",
            json!({ "judge": JUDGES[0], "round": 1, "red": 10, "blue": 9 }),
        )
        .await,
        409,
        "invalid_transition",
    );
}

#[actix_rt::test]
async fn finding_5_only_the_three_assigned_judges_score() {
    let app = TestApp::spawn().await;
    let n = three_rounder(&app).await;
    n.full_round(&n.fights[0], 1).await;
    let (status, body) = n
        .act(
            "scores/",
            json!({ "judge": "Any Text", "round": 1, "red": 10, "blue": 9 }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]["details"]["judge"].is_string());
    n.ok(
        "scores/",
        json!({ "judge": "sal d'amato", "round": 1, "red": 10, "blue": 9 }),
    )
    .await;
    assert_error(
        &n.act(
            "scores/",
            json!({ "judge": "SAL D'AMATO ", "round": 1, "red": 10, "blue": 8 }),
        )
        .await,
        409,
        "already_exists",
    );
    let admin = n.admin.clone();
    let (_, cards) = app
        .get(
            &format!("/api/live/fights/{}/scorecards/", n.fights[0].id),
            Some(&admin),
        )
        .await;
    let cards = cards["cards"].as_array().expect("cards");
    assert_eq!(cards.len(), 3, "three cards, never six");
    assert_eq!(cards[0]["judge"], "Sal D'Amato");
    // Officials are set before the fight, exactly three different judges.
    assert_error(
        &n.act(
            "officials/",
            json!({ "referee": "R", "judges": ["A", "B", "C"] }),
        )
        .await,
        409,
        "invalid_transition",
    );
}

#[actix_rt::test]
async fn finding_6_one_fight_of_an_event_in_progress_and_officials_first() {
    let app = TestApp::spawn().await;
    let n = night(&app, 2, json!({})).await;
    n.ok_on(&n.fights[1], "start/", json!({})).await;
    let (status, body) = n.act_on(&n.fights[0], "start/", json!({})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("fight_in_progress"))
    );
    assert_eq!(body["error"]["details"]["live_fight"], n.fights[1].id);
    for bad in [
        json!({ "referee": "R", "judges": ["A", "B"] }),
        json!({ "referee": "R", "judges": ["A", "b", "B"] }),
        json!({ "referee": "A", "judges": ["A", "B", "C"] }),
    ] {
        assert_error(
            &n.act_on(&n.fights[0], "officials/", bad).await,
            400,
            "bad_request",
        );
    }
    // A fight without officials does not start (another night: names on a card are unique).
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (event_id, _) = build_card(&app, &admin, 1).await;
    let (_, live) = app
        .post(
            "/api/live/events/",
            Some(&admin),
            json!({ "event": event_id }),
        )
        .await;
    let live_id = live["id"].as_i64().expect("id");
    app.post(
        &format!("/api/live/events/{live_id}/start/"),
        Some(&admin),
        json!({}),
    )
    .await;
    let fight = live["fights"][0]["id"].as_i64().expect("fight");
    assert_error(
        &app.post(
            &format!("/api/live/fights/{fight}/start/"),
            Some(&admin),
            json!({}),
        )
        .await,
        409,
        "officials_missing",
    );
}

#[actix_rt::test]
async fn finding_7_stats_must_be_possible_and_corrections_say_why() {
    let app = TestApp::spawn().await;
    let n = three_rounder(&app).await;
    n.ok("rounds/start/", json!({ "round": 1 })).await;
    n.clock(&n.fights[0], "1:40").await;
    n.ok(
        "stats/",
        json!({ "corner": "red", "round": 1, "strikes_attempted": 20 }),
    )
    .await;
    for bad in [
        json!({ "corner": "red", "round": 1, "strikes_landed": 50 }),
        json!({ "corner": "red", "round": 1, "strikes_landed": 10, "strikes_attempted": 10, "significant_strikes_landed": 30, "significant_strikes_attempted": 30 }),
        json!({ "corner": "red", "round": 1, "control_time_s": 301 }),
        json!({ "corner": "red", "round": 1, "knockdowns": 21 }),
        json!({ "corner": "red", "round": 1, "elbows": 1 }),
        json!({ "corner": "red", "round": 1, "knockdowns": -1 }),
    ] {
        assert_error(&n.act("stats/", bad).await, 400, "bad_request");
    }
    n.ok(
        "stats/",
        json!({ "corner": "red", "round": 1, "control_time_s": 95 }),
    )
    .await;
    assert_error(
        &n.act(
            "stats/",
            json!({ "corner": "blue", "round": 1, "control_time_s": 10 }),
        )
        .await,
        409,
        "invalid_transition",
    );
    let (status, body) = n
        .act(
            "stats/",
            json!({ "corner": "red", "round": 1, "strikes_attempted": 25 }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a count going up is live entry: {body}"
    );
    let (status, body) = n
        .act(
            "stats/",
            json!({ "corner": "red", "round": 1, "control_time_s": 60 }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]["details"]["reason"].is_string(), "{body}");
    let fixed = n
        .ok("stats/", json!({ "corner": "red", "round": 1, "control_time_s": 60, "reason": "the clock operator counted a scramble" }))
        .await;
    assert_eq!(fixed["stats"]["rounds"]["1"]["red"]["control_time_s"], 60);
    let entry = fixed["timeline"]
        .as_array()
        .and_then(|t| t.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(entry["kind"], "stats");
    assert_eq!(
        entry["data"]["reason"],
        "the clock operator counted a scramble"
    );
    assert_eq!(entry["data"]["before"]["control_time_s"], 95);
    assert!(entry["by"].is_i64(), "who entered it");
}

#[actix_rt::test]
async fn finding_8_every_method_with_its_details_and_the_accidental_foul_rules() {
    let app = TestApp::spawn().await;
    // A TKO needs who stopped it; a submission its technique.
    let n = three_rounder(&app).await;
    n.ok("rounds/start/", json!({ "round": 1 })).await;
    n.clock(&n.fights[0], "4:10").await;
    for (bad, field) in [
        (
            json!({"winner":"red","method":"tko","round":1,"time":"4:00"}),
            "stoppage",
        ),
        (
            json!({"winner":"red","method":"technical_submission","round":1,"time":"4:00"}),
            "technique",
        ),
        (
            json!({"winner":"red","method":"ko","technique":"jab","round":1,"time":"4:00"}),
            "technique",
        ),
        (
            json!({"winner":null,"method":"draw","round":1,"time":"4:00"}),
            "method",
        ),
        (
            json!({"winner":"red","method":"dq","round":1,"time":"4:00"}),
            "foul",
        ),
    ] {
        let (status, body) = n.act("result/", bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            body["error"]["details"][field].is_string(),
            "{field}: {body}"
        );
    }
    let done = n
        .ok("result/", json!({"winner":"red","method":"technical_submission","technique":"arm-triangle choke","round":1,"time":"4:00"}))
        .await;
    assert_eq!(done["result"]["technique"], "arm-triangle choke");

    // An accidental foul stops it in round 2 of 3: a no contest, not the cards.
    let app = TestApp::spawn().await;
    let n = three_rounder(&app).await;
    let f = &n.fights[0];
    n.full_round(f, 1).await;
    n.ok("rounds/start/", json!({ "round": 2 })).await;
    n.clock(f, "2:30").await;
    n.ok(
        "fouls/",
        json!({"corner":"red","round":2,"foul":"eye poke","points":0,"intentional":false}),
    )
    .await;
    n.ok(
        "rounds/end/",
        json!({"round": 2, "time": "2:30", "reason": "blue cannot continue"}),
    )
    .await;
    assert_error(
        &n.act(
            "result/",
            json!({"winner":"red","method":"technical_decision"}),
        )
        .await,
        409,
        "invalid_transition",
    );
    let nc = n
        .ok(
            "result/",
            json!({"winner":null,"method":"no_contest","foul":"accidental eye poke"}),
        )
        .await;
    assert_eq!(
        (
            nc["result"]["round"].as_i64(),
            nc["result"]["time"].as_str()
        ),
        (Some(2), Some("2:30"))
    );

    // In round 3 it goes to the cards, the stopped round scored.
    let app = TestApp::spawn().await;
    let n = three_rounder(&app).await;
    let f = &n.fights[0];
    n.full_round(f, 1).await;
    n.full_round(f, 2).await;
    n.ok("rounds/start/", json!({ "round": 3 })).await;
    n.clock(f, "1:40").await;
    n.ok("fouls/", json!({"corner":"blue","round":3,"foul":"knee to the groin","points":0,"intentional":false})).await;
    n.ok(
        "rounds/end/",
        json!({"round": 3, "time": "1:40", "reason": "red cannot continue"}),
    )
    .await;
    assert_error(
        &n.act(
            "result/",
            json!({"winner":null,"method":"no_contest","foul":"accidental knee to the groin"}),
        )
        .await,
        409,
        "invalid_transition",
    );
    n.cards(
        f,
        &[
            &[(10, 9), (10, 9), (10, 9)],
            &[(10, 9), (9, 10), (10, 9)],
            &[(9, 10), (9, 10), (10, 9)],
        ],
    )
    .await;
    let td = n
        .ok(
            "result/",
            json!({"winner":"red","method":"technical_decision"}),
        )
        .await;
    assert_eq!(
        (
            td["result"]["round"].as_i64(),
            td["result"]["time"].as_str()
        ),
        (Some(3), Some("1:40"))
    );
    assert_eq!(td["result"]["cards"].as_array().map(Vec::len), Some(3));
}

#[actix_rt::test]
async fn finding_9_the_public_sees_no_cards_live_and_no_projection_after_a_finish() {
    let app = TestApp::spawn().await;
    let n = three_rounder(&app).await;
    let f = &n.fights[0];
    let mut fan = WsClient::open(&app, &format!("/api/live/fights/{}/", f.id)).await;
    assert_eq!(fan.next_durable().await["type"], "subscribed");
    n.full_round(f, 1).await;
    n.cards(f, &[&[(10, 9)], &[(10, 9)], &[(9, 10)]]).await;
    let frame = until_transition(&mut fan, "score").await;
    assert!(frame["data"]["scorecards"].is_null(), "{frame}");
    assert!(frame["data"]["projected"].is_null());
    assert!(
        frame["data"]["transition"]["data"]["red"].is_null(),
        "a judge's numbers stay hidden"
    );
    assert_eq!(frame["data"]["transition"]["data"]["judge"], JUDGES[0]);
    let (_, public) = app.get(&format!("/api/live/fights/{}/", f.id), None).await;
    assert!(public["scorecards"].is_null() && public["projected"].is_null());
    assert_error(
        &app.get(&format!("/api/live/fights/{}/scorecards/", f.id), None)
            .await,
        403,
        "forbidden",
    );
    let (status, staff) = app
        .get(
            &format!("/api/live/fights/{}/scorecards/", f.id),
            Some(&n.admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        staff["projected"]["method"], "split_decision",
        "staff see the cards at once"
    );
    let (_, timeline) = app
        .get(&format!("/api/live/fights/{}/timeline/", f.id), None)
        .await;
    assert!(timeline["results"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["kind"] == "score")
        .all(|e| e["data"]["red"].is_null()));

    n.ok("rounds/start/", json!({ "round": 2 })).await;
    n.clock(f, "0:30").await;
    let ko = n
        .ok(
            "result/",
            json!({"winner":"blue","method":"ko","round":2,"time":"0:30"}),
        )
        .await;
    assert!(
        ko["projected"].is_null(),
        "no projected decision after a KO: {ko}"
    );
    assert_eq!(
        ko["scorecards"].as_array().map(Vec::len),
        Some(3),
        "the cards are read with the result"
    );
    assert_error(
        &app.get("/api/live/fights/999999/scorecards/", None).await,
        404,
        "not_found",
    );

    // With open scoring the cards are everyone's, live.
    let app = TestApp::spawn().await;
    let mut n = night(&app, 2, json!({ "open_scoring": true })).await;
    n.fights.remove(0);
    n.ok("start/", json!({})).await;
    n.full_round(&n.fights[0], 1).await;
    n.cards(&n.fights[0], &[&[(10, 9)], &[(10, 9)], &[(10, 9)]])
        .await;
    let (_, open) = app
        .get(&format!("/api/live/fights/{}/", n.fights[0].id), None)
        .await;
    assert_eq!(open["projected"]["method"], "unanimous_decision");
    assert_eq!(open["scorecards"][2]["red"], 10);
}

#[actix_rt::test]
async fn the_clock_pauses_resumes_and_is_given_at_the_servers_time() {
    let app = TestApp::spawn().await;
    let n = three_rounder(&app).await;
    let f = &n.fights[0];
    let started = n.ok("rounds/start/", json!({ "round": 1 })).await;
    assert_eq!(
        (
            started["clock"]["running"].as_bool(),
            started["clock"]["round_length_s"].as_i64()
        ),
        (Some(true), Some(300))
    );
    n.clock(f, "1:30").await;
    let paused = n
        .ok("rounds/pause/", json!({ "reason": "doctor checks a cut" }))
        .await;
    let clock = &paused["clock"];
    assert_eq!(
        (clock["running"].as_bool(), clock["paused"].as_bool()),
        (Some(false), Some(true))
    );
    assert_eq!(clock["pause_reason"], "doctor checks a cut");
    let stood = clock["elapsed_s"].as_f64().expect("elapsed");
    assert!((90.0..91.0).contains(&stood), "{clock}");
    let (_, later) = app.get(&format!("/api/live/fights/{}/", f.id), None).await;
    assert_eq!(
        later["clock"]["elapsed_s"].as_f64(),
        Some(stood),
        "a paused clock stands"
    );
    assert!(later["clock"]["server_time"].is_string());
    assert_error(
        &n.act("rounds/pause/", json!({ "reason": "again" })).await,
        409,
        "invalid_transition",
    );
    n.ok("rounds/resume/", json!({})).await;
    let ended = n.ok("rounds/end/", json!({ "round": 1 })).await;
    assert_eq!(
        (
            ended["clock"]["between_rounds"].as_bool(),
            ended["clock"]["elapsed_s"].as_f64()
        ),
        (Some(true), Some(300.0))
    );
    assert_error(
        &n.act("rounds/start/", json!({ "round": 3 })).await,
        409,
        "invalid_transition",
    );
    assert_error(
        &n.act("rounds/clock/", json!({ "elapsed": "6:00", "reason": "x" }))
            .await,
        400,
        "bad_request",
    );
}

#[actix_rt::test]
async fn an_overturned_result_reverses_the_records_and_tells_those_who_were_told() {
    let app = TestApp::spawn().await;
    let n = three_rounder(&app).await;
    let f = &n.fights[0];
    let (fan, _) = app.register("fan@example.com").await;
    app.post(
        "/api/follows/",
        Some(&fan),
        json!({ "target_type": "fighter", "target_id": f.red }),
    )
    .await;
    // Blue is a proven 10-0 above the newcomers; red is one of them.
    let (status, body) = app
        .call(
            "PATCH",
            &format!("/api/fighters/{}/", f.blue),
            Some(&n.admin),
            Some(json!({ "wins": 10 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (red0, blue0) = (record(&app, f.red).await, record(&app, f.blue).await);
    n.ok("rounds/start/", json!({ "round": 1 })).await;
    n.clock(f, "2:41").await;
    n.ok(
        "result/",
        json!({"winner":"red","method":"ko","round":1,"time":"2:41"}),
    )
    .await;
    assert_eq!(record(&app, f.red).await.0, red0.0 + 1);
    let moderator = app.user_with_role("mod@example.com", "moderator").await;
    let overturn =
        json!({"method":"no_contest","winner":null,"reason":"the winner failed a drug test"});
    assert_error(
        &app.post(
            &format!("/api/live/fights/{}/result/amend/", f.id),
            Some(&moderator),
            overturn.clone(),
        )
        .await,
        403,
        "forbidden",
    );
    assert_error(
        &n.act(
            "result/amend/",
            json!({"method":"no_contest","winner":null}),
        )
        .await,
        400,
        "bad_request",
    );
    let mut watch = WsClient::open(&app, &format!("/api/live/fights/{}/", f.id)).await;
    assert_eq!(watch.next_durable().await["type"], "subscribed");
    let amended = n.ok("result/amend/", overturn.clone()).await;
    assert_eq!(amended["result"]["method"], "no_contest");
    assert_eq!(amended["result"]["reason"], "the winner failed a drug test");
    assert_error(
        &n.act("result/amend/", overturn).await,
        409,
        "invalid_transition",
    );
    let (w, l, d, nc) = record(&app, f.red).await;
    assert_eq!(
        (w, l, d, nc),
        (red0.0, red0.1, red0.2, red0.3 + 1),
        "the win became a no contest"
    );
    let (w, l, d, nc) = record(&app, f.blue).await;
    assert_eq!(
        (w, l, d, nc),
        (blue0.0, blue0.1, blue0.2, blue0.3 + 1),
        "the loss became a no contest"
    );
    let frame = until_transition(&mut watch, "result_amended").await;
    assert!(frame["seq"].is_u64(), "the correction is numbered");
    assert_eq!(
        frame["data"]["transition"]["data"]["before"]["method"],
        "ko"
    );
    let (_, fight) = app.get(&format!("/api/fights/{}/", f.fight), None).await;
    assert_eq!(
        (
            fight["result_method"].as_str(),
            fight["winner_corner"].as_str()
        ),
        (Some("no_contest"), None)
    );
    hears(
        &app,
        &fan,
        "is now a no contest (the winner failed a drug test)",
    )
    .await;
    hears(&app, &fan, "by KO in round 1 (2:41)").await;
    // The rating the KO gave is taken back, and the history says why.
    let (_, history) = app
        .get(&format!("/api/rankings/history/?fighter={}", f.red), None)
        .await;
    let rows = history["results"].as_array().expect("history");
    let (fought, amended) = (&rows[rows.len() - 2], &rows[rows.len() - 1]);
    assert_eq!(
        (fought["cause"].as_str(), amended["cause"].as_str()),
        (Some("fight"), Some("amended")),
        "{history}"
    );
    assert!(
        amended["reason"]
            .as_str()
            .is_some_and(|r| r.ends_with("was amended: the winner failed a drug test")),
        "{history}"
    );
    // His followers hear that his rank moved back, when it did.
    let (_, inbox) = app.get("/api/notifications/", Some(&fan)).await;
    let moved: Vec<&Value> = inbox["results"]
        .as_array()
        .expect("inbox")
        .iter()
        .filter(|m| m["notification_type"] == "ranking_change")
        .collect();
    assert_ne!(
        fought["rank_after"], amended["rank_after"],
        "the KO had moved him: {history}"
    );
    let back = moved
        .iter()
        .find(|m| m["data"]["cause"] == "amended")
        .unwrap_or_else(|| panic!("told of the move back: {moved:?}"));
    assert_eq!(
        (&back["data"]["rank_before"], &back["data"]["rank_after"]),
        (&fought["rank_after"], &amended["rank_after"])
    );
    assert_eq!(
        amended["rating_after"], fought["rating_before"],
        "{history}"
    );
}

#[actix_rt::test]
async fn reporters_post_news_and_the_engine_writes_the_rest() {
    let app = TestApp::spawn().await;
    let n = three_rounder(&app).await;
    let (status, body) = app
        .post(
            "/api/live/updates/",
            Some(&n.admin),
            json!({ "live_event": n.event, "live_fight": n.fights[0].id, "update_type": "knockdown", "title": "Down he goes" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"]["details"]["update_type"].is_string());
    n.ok("rounds/start/", json!({ "round": 1 })).await;
    n.clock(&n.fights[0], "1:00").await;
    n.ok(
        "stats/",
        json!({ "corner": "blue", "round": 1, "strikes_landed": 6, "strikes_attempted": 9, "knockdowns": 2 }),
    )
    .await;
    let (_, updates) = app
        .get(&format!("/api/live/updates/?event={}", n.event), None)
        .await;
    let knockdowns: Vec<&Value> = updates["results"]
        .as_array()
        .expect("updates")
        .iter()
        .filter(|u| u["update_type"] == "knockdown")
        .collect();
    assert_eq!(knockdowns.len(), 2, "one update per knockdown added");
    for k in knockdowns {
        assert_eq!(k["title"], "Knockdown: Blue Fighter 1 drops Red Fighter 1");
        assert_eq!(
            (k["is_verified"].as_bool(), k["round_number"].as_i64()),
            (Some(true), Some(1))
        );
        assert_eq!(k["data"]["generated"], true);
    }
}

#[actix_rt::test]
async fn fight_control_needs_a_live_event_and_a_moderator() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (event_id, _) = build_card(&app, &admin, 1).await;
    let (_, live) = app
        .post(
            "/api/live/events/",
            Some(&admin),
            json!({ "event": event_id }),
        )
        .await;
    let fight = live["fights"][0]["id"].as_i64().expect("fight");
    let path = |what: &str| format!("/api/live/fights/{fight}/{what}");
    app.post(
        &path("officials/"),
        Some(&admin),
        json!({ "referee": "R", "judges": JUDGES }),
    )
    .await;
    let before = app.count("channel_messages");
    assert_error(
        &app.post(&path("start/"), Some(&admin), json!({})).await,
        409,
        "invalid_transition",
    );
    let reporter = app.user_with_role("reporter@example.com", "reporter").await;
    assert_error(
        &app.post(&path("start/"), Some(&reporter), json!({})).await,
        403,
        "forbidden",
    );
    assert_error(
        &app.post("/api/live/fights/999999/start/", Some(&admin), json!({}))
            .await,
        404,
        "not_found",
    );
    assert_eq!(
        app.count("channel_messages"),
        before,
        "nothing was published"
    );
    // A fight not begun can be cancelled; a begun one ends with a result.
    let cancelled = app
        .post(
            &path("cancel/"),
            Some(&admin),
            json!({ "reason": "injury in camp" }),
        )
        .await;
    assert_eq!(cancelled.0, StatusCode::OK, "{}", cancelled.1);
    assert_eq!(cancelled.1["status"], "cancelled");
}
