//! Rankings (DESIGN §10, issue 13): champions, contenders in the order of
//! their ratings, starting ratings from records or an imported order, a
//! fight moving only its fighters in its own division, pound-for-pound,
//! the history that explains every move, the `ranking` frame, followers
//! told only of their fighter's own move, imports and reversals.

use awc::http::StatusCode;
use diesel::{Connection, PgConnection};
use serde_json::{json, Value};

use crate::harness::{assert_error, TestApp};
use crate::ws_client::WsClient;

/// Drives a live fight (its event already live) to its official result
/// under the Unified Rules: officials, the rounds, the judges' cards that
/// give a decision or draw, the clock at the finish. `method` is `ko`,
/// `submission`, `no_contest`, `unanimous_decision` or `unanimous_draw`.
async fn decide(app: &TestApp, admin: &str, live_fight: i64, winner: Option<&str>, method: &str) {
    let act = |what: &'static str, body: Value| async move {
        let (status, answer) = app
            .post(
                &format!("/api/live/fights/{live_fight}/{what}"),
                Some(admin),
                body,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{what}: {answer}");
        answer
    };
    act(
        "officials/",
        json!({ "referee": "Herb Dean", "judges": crate::fight_control::JUDGES }),
    )
    .await;
    let started = act("start/", json!({})).await;
    let rounds = started["scheduled_rounds"].as_i64().unwrap_or(3);
    match method {
        "ko" | "submission" | "no_contest" => {
            act("rounds/start/", json!({ "round": 1 })).await;
            act(
                "rounds/clock/",
                json!({ "elapsed": "2:41", "reason": "the arena clock" }),
            )
            .await;
            act(
                "result/",
                json!({ "winner": winner, "method": method, "round": 1, "time": "2:41",
                        "technique": (method == "submission").then_some("rear-naked choke"),
                        "reason": (method == "no_contest").then_some("overturned") }),
            )
            .await;
        }
        _ => {
            for round in 1..=rounds {
                act("rounds/start/", json!({ "round": round })).await;
                act("rounds/end/", json!({ "round": round })).await;
            }
            let (red, blue) = match winner {
                Some("red") => (10, 9),
                Some(_) => (9, 10),
                None => (10, 10),
            };
            for judge in crate::fight_control::JUDGES {
                for round in 1..=rounds {
                    act(
                        "scores/",
                        json!({ "judge": judge, "round": round, "red": red, "blue": blue }),
                    )
                    .await;
                }
            }
            act("result/", json!({ "winner": winner, "method": method })).await;
        }
    }
}

async fn division(app: &TestApp, admin: &str, name: &str) -> i64 {
    let (status, d) = app
        .post(
            "/api/divisions/",
            Some(admin),
            json!({ "name": name, "weight_limit_lbs": 155 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    d["id"].as_i64().expect("id")
}

/// A fighter with a record (wins, losses, draws).
async fn fighter(app: &TestApp, admin: &str, name: &str, division: i64, r: (i32, i32, i32)) -> i64 {
    let (status, f) = app
        .post(
            "/api/fighters/",
            Some(admin),
            json!({ "name": name, "nickname": null, "division": division,
                    "wins": r.0, "losses": r.1, "draws": r.2 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{f}");
    f["id"].as_i64().expect("id")
}

/// An event with these fights (red, blue, division, title fight), covered
/// live and started; the live fights' ids, in card order.
async fn night(app: &TestApp, admin: &str, fights: &[(i64, i64, i64, bool)]) -> Vec<i64> {
    let (status, event) = app
        .post(
            "/api/events/",
            Some(admin),
            json!({ "name": "Fight Night", "venue": "Arena", "scheduled_start": "2026-12-01T20:00:00Z" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{event}");
    for (i, (red, blue, division, title)) in fights.iter().enumerate() {
        let (status, f) = app
            .post(
                "/api/fights/",
                Some(admin),
                json!({ "event": event["id"], "red_fighter": red, "blue_fighter": blue,
                        "division": division, "scheduled_rounds": if *title || i == 0 { 5 } else { 3 },
                        "card_order": i + 1, "is_title_fight": title }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{f}");
    }
    let (status, live) = app
        .post(
            "/api/live/events/",
            Some(admin),
            json!({ "event": event["id"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{live}");
    let id = live["id"].as_i64().expect("live id");
    let (status, started) = app
        .post(
            &format!("/api/live/events/{id}/start/"),
            Some(admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let mut card: Vec<(i64, i64)> = live["fights"]
        .as_array()
        .expect("fights")
        .iter()
        .map(|f| {
            (
                f["card_order"].as_i64().expect("order"),
                f["id"].as_i64().expect("id"),
            )
        })
        .collect();
    card.sort();
    card.into_iter().map(|(_, id)| id).collect()
}

async fn table(app: &TestApp, division: i64) -> Value {
    let (status, body) = app
        .get(&format!("/api/rankings/?division={division}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The contenders in rank order.
async fn order(app: &TestApp, division: i64) -> Vec<i64> {
    let body = table(app, division).await;
    let results = body["results"].as_array().expect("results");
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["rank"].as_i64(), Some(i as i64 + 1), "{body}");
    }
    results
        .iter()
        .map(|r| r["fighter"].as_i64().expect("fighter"))
        .collect()
}

fn entry(body: &Value, fighter: i64) -> &Value {
    body["results"]
        .as_array()
        .and_then(|r| r.iter().find(|e| e["fighter"] == fighter))
        .unwrap_or_else(|| panic!("{fighter} is not a contender: {body}"))
}

async fn history(app: &TestApp, fighter: i64) -> Vec<Value> {
    let (status, body) = app
        .get(&format!("/api/rankings/history/?fighter={fighter}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["results"].as_array().cloned().expect("results")
}

async fn follow(app: &TestApp, email: &str, fighter: i64) -> String {
    let (token, _) = app.register(email).await;
    let (status, body) = app
        .post(
            "/api/follows/",
            Some(&token),
            json!({ "target_type": "fighter", "target_id": fighter }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    token
}

async fn ranking_notices(app: &TestApp, token: &str) -> Vec<Value> {
    let (_, mine) = app.get("/api/notifications/", Some(token)).await;
    mine["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|n| n["notification_type"] == "ranking_change")
        .cloned()
        .collect()
}

fn connect(app: &TestApp) -> PgConnection {
    PgConnection::establish(&app.db_url).expect("connect")
}

fn rating(body: &Value, fighter: i64) -> f64 {
    entry(body, fighter)["rating"].as_f64().expect("rating")
}

#[actix_rt::test]
async fn a_beaten_number_one_stays_ahead_of_those_who_did_not_fight() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let lw = division(&app, &admin, "Lightweight").await;
    // The idle fighter is created first: before, creation order was rank.
    let idle = fighter(&app, &admin, "Idle Contender", lw, (12, 4, 0)).await;
    let veteran = fighter(&app, &admin, "Veteran", lw, (25, 1, 0)).await;
    let challenger = fighter(&app, &admin, "Challenger", lw, (20, 3, 0)).await;
    assert_eq!(order(&app, lw).await, vec![veteran, challenger, idle]);
    assert_eq!(table(&app, lw).await["champion"], Value::Null, "vacant");

    let fights = night(&app, &admin, &[(veteran, challenger, lw, true)]).await;
    decide(&app, &admin, fights[0], Some("blue"), "submission").await;

    let after = table(&app, lw).await;
    assert_eq!(after["champion"]["fighter"], challenger, "{after}");
    assert!(after["champion"]["since"].is_string());
    assert_eq!(
        order(&app, lw).await,
        vec![veteran, idle],
        "the 25-1 former #1 stays ahead of a fighter who did not fight"
    );
    assert_eq!(entry(&after, idle)["rank"], 2);
    let won = history(&app, challenger).await;
    let last = won.last().expect("a move");
    assert_eq!(last["cause"], "fight");
    assert_eq!(
        (last["rank_before"].as_i64(), last["rank_after"].as_i64()),
        (Some(2), None)
    );
    assert!(
        last["reason"]
            .as_str()
            .is_some_and(|r| r.contains("won the vacant title")),
        "{last}"
    );
}

#[actix_rt::test]
async fn newcomers_start_from_their_record_and_are_placed_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let ww = division(&app, &admin, "Welterweight").await;
    let rookie = fighter(&app, &admin, "Rookie", ww, (0, 0, 0)).await;
    let journeyman = fighter(&app, &admin, "Journeyman", ww, (9, 9, 0)).await;
    let proven = fighter(&app, &admin, "Proven", ww, (12, 2, 0)).await;
    let body = table(&app, ww).await;
    // Not a flat 1500: the record sets the rating, and the rating the place.
    assert!((rating(&body, rookie) - 1500.0).abs() < 1e-9);
    assert_eq!(entry(&body, rookie)["rating_deviation"], 350.0);
    assert!(rating(&body, proven) > 1700.0, "{body}");
    assert_eq!(
        order(&app, ww).await,
        vec![proven, journeyman, rookie],
        "created last, placed by rating; 0-0 never jumps a proven fighter"
    );
    let entered = history(&app, proven).await;
    assert_eq!(entered.len(), 1, "{entered:?}");
    assert_eq!(entered[0]["cause"], "entered");
    assert_eq!(entered[0]["rank_after"], 1);
    assert_eq!(entered[0]["rating_before"], Value::Null);
    // Those he passed on entering were shifted, and say by whom.
    let shifted = history(&app, rookie).await;
    let passed = shifted.last().expect("moves");
    assert_eq!(passed["cause"], "passed");
    assert!(
        passed["reason"]
            .as_str()
            .is_some_and(|r| r.contains("Proven")),
        "{passed}"
    );

    // A corrected record places him at once, not at the next result.
    let (status, _) = app
        .call(
            "PATCH",
            &format!("/api/fighters/{rookie}/"),
            Some(&admin),
            Some(json!({ "wins": 30 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(order(&app, ww).await, vec![rookie, proven, journeyman]);

    // Moving division places him in the new one and closes the gap behind.
    let mw = division(&app, &admin, "Middleweight").await;
    let local = fighter(&app, &admin, "Local", mw, (20, 0, 0)).await;
    let (status, _) = app
        .call(
            "PATCH",
            &format!("/api/fighters/{journeyman}/"),
            Some(&admin),
            Some(json!({ "division": mw })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(order(&app, mw).await, vec![local, journeyman]);
    assert_eq!(order(&app, ww).await, vec![rookie, proven]);
}

#[actix_rt::test]
async fn ranks_always_agree_with_ratings() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let fw = division(&app, &admin, "Featherweight").await;
    for (i, record) in [
        (3, 1, 0),
        (15, 2, 1),
        (0, 0, 0),
        (8, 8, 0),
        (22, 4, 0),
        (1, 6, 0),
    ]
    .into_iter()
    .enumerate()
    {
        fighter(&app, &admin, &format!("Fighter {i}"), fw, record).await;
    }
    let body = table(&app, fw).await;
    let ratings: Vec<f64> = body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["rating"].as_f64().expect("rating"))
        .collect();
    assert_eq!(ratings.len(), 6);
    assert!(
        ratings.windows(2).all(|w| w[0] >= w[1]),
        "listed ranks follow ratings: {body}"
    );
    let names: Vec<&str> = body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["fighter_name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        [
            "Fighter 4",
            "Fighter 1",
            "Fighter 0",
            "Fighter 3",
            "Fighter 2",
            "Fighter 5"
        ],
        "by rating from the record (22-4, 15-2-1, 3-1, 8-8, 0-0, 1-6), not by creation"
    );
}

#[actix_rt::test]
async fn a_draw_between_newcomers_moves_no_one_else_and_tells_no_one_else() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let lw = division(&app, &admin, "Lightweight").await;
    // The newcomers first: before, they took the top by being created first.
    let new_a = fighter(&app, &admin, "Newcomer A", lw, (0, 0, 0)).await;
    let new_b = fighter(&app, &admin, "Newcomer B", lw, (0, 0, 0)).await;
    let first = fighter(&app, &admin, "First", lw, (20, 2, 0)).await;
    let second = fighter(&app, &admin, "Second", lw, (15, 3, 0)).await;
    let third = fighter(&app, &admin, "Third", lw, (10, 3, 0)).await;
    let proven = vec![first, second, third];
    let before = order(&app, lw).await;
    assert_eq!(before[..3], proven[..], "proven fighters ahead of the 0-0s");
    let fan = follow(&app, "fan@ringside.test", third).await;

    let fights = night(&app, &admin, &[(new_a, new_b, lw, false)]).await;
    decide(&app, &admin, fights[0], None, "unanimous_draw").await;

    let after = order(&app, lw).await;
    assert_eq!(after[..3], proven[..], "#3 did not fight and stays #3");
    assert_eq!(after.len(), 5);
    let body = table(&app, lw).await;
    for id in &proven {
        assert!(
            entry(&body, *id)["previous_rank"].is_null(),
            "never moved: {body}"
        );
    }
    assert_eq!(ranking_notices(&app, &fan).await, Vec::<Value>::new());
    let third_moves = history(&app, third).await;
    assert!(
        third_moves.iter().all(|m| m["cause"] != "fight"),
        "{third_moves:?}"
    );
}

#[actix_rt::test]
async fn a_fight_moves_the_ratings_of_the_fights_division_only() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let bw = division(&app, &admin, "Bantamweight").await;
    let lw = division(&app, &admin, "Lightweight").await;
    let bantam_top = fighter(&app, &admin, "Bantam Top", bw, (18, 1, 0)).await;
    let visitor = fighter(&app, &admin, "Visitor", bw, (10, 2, 0)).await;
    let local = fighter(&app, &admin, "Local", lw, (14, 2, 0)).await;
    let bantam_before = table(&app, bw).await;

    let fights = night(&app, &admin, &[(visitor, local, lw, false)]).await;
    decide(&app, &admin, fights[0], Some("red"), "ko").await;

    let bantam_after = table(&app, bw).await;
    assert_eq!(
        rating(&bantam_after, visitor),
        rating(&bantam_before, visitor),
        "his bantamweight rating did not move"
    );
    assert_eq!(order(&app, bw).await, vec![bantam_top, visitor]);
    let light = table(&app, lw).await;
    assert!(rating(&light, visitor) > rating(&light, local), "{light}");
    assert_eq!(order(&app, lw).await, vec![visitor, local]);
    let moves = history(&app, visitor).await;
    let causes: Vec<(&str, i64)> = moves
        .iter()
        .map(|m| {
            (
                m["cause"].as_str().unwrap_or(""),
                m["division"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        causes,
        vec![("entered", bw), ("entered", lw), ("fight", lw)],
        "he entered the lightweight list from his record, then fought there"
    );
    let (_, record) = app.get(&format!("/api/fighters/{visitor}/"), None).await;
    assert_eq!(record["wins"], 11);
}

#[actix_rt::test]
async fn a_move_is_explained_live_and_only_the_mover_s_followers_hear_of_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let hw = division(&app, &admin, "Heavyweight").await;
    let top = fighter(&app, &admin, "Top Dog", hw, (25, 1, 0)).await;
    let second = fighter(&app, &admin, "Second", hw, (12, 2, 0)).await;
    let third = fighter(&app, &admin, "Third", hw, (3, 2, 0)).await;
    let upset = fighter(&app, &admin, "Upset", hw, (4, 4, 0)).await;
    assert_eq!(order(&app, hw).await, vec![top, second, third, upset]);
    let upset_fan = follow(&app, "upset@ringside.test", upset).await;
    let third_fan = follow(&app, "third@ringside.test", third).await;
    let top_fan = follow(&app, "top@ringside.test", top).await;

    let fights = night(&app, &admin, &[(upset, top, hw, false)]).await;
    let (_, detail) = app
        .get(&format!("/api/live/fights/{}/", fights[0]), None)
        .await;
    let fight_id = detail["fight"].as_i64().expect("fight");
    let mut watch = WsClient::open(&app, &format!("/api/live/fights/{}/", fights[0])).await;
    watch.next_durable().await;
    watch
        .send(json!({ "op": "subscribe", "channel": format!("rankings:{hw}"), "ref": 1 }))
        .await;
    loop {
        let f = watch.next_durable().await;
        if f["type"] == "subscribed" && f["ref"] == 1 {
            // The room adds its presence to every snapshot.
            let mut snapshot = f["snapshot"].clone();
            snapshot.as_object_mut().map(|s| s.remove("presence"));
            assert_eq!(
                snapshot,
                table(&app, hw).await,
                "the snapshot is the REST table"
            );
            break;
        }
    }

    decide(&app, &admin, fights[0], Some("red"), "ko").await;

    assert_eq!(order(&app, hw).await, vec![top, second, upset, third]);
    let mut frames = Vec::new();
    while frames.len() < 3 {
        let f = watch.next_durable().await;
        if f["type"] == "ranking" {
            assert_eq!(f["channel"], format!("rankings:{hw}"));
            frames.push(f["data"].clone());
        }
    }
    let passed = frames
        .iter()
        .find(|f| f["fighter"] == third)
        .unwrap_or_else(|| panic!("#3 was passed: {frames:?}"));
    for field in [
        "at",
        "fight",
        "rank_before",
        "rank_after",
        "rating_before",
        "rating_after",
        "reason",
        "division",
        "cause",
    ] {
        assert!(passed.get(field).is_some(), "{field} in {passed}");
    }
    assert_eq!(passed["cause"], "passed");
    assert_eq!(
        (
            passed["rank_before"].as_i64(),
            passed["rank_after"].as_i64()
        ),
        (Some(3), Some(4))
    );
    assert_eq!(passed["rating_before"], passed["rating_after"]);
    assert_eq!(passed["fight"], fight_id);
    assert!(
        passed["reason"]
            .as_str()
            .is_some_and(|r| r.contains("passed by Upset after Upset beat Top Dog")),
        "{passed}"
    );
    let mover = frames
        .iter()
        .find(|f| f["fighter"] == upset)
        .expect("the winner's move");
    assert_eq!(mover["cause"], "fight");
    assert!(mover["rating_after"].as_f64() > mover["rating_before"].as_f64());

    // History: the same row, with the fight and both sides of the move.
    let moves = history(&app, upset).await;
    let fought = moves.last().expect("moves");
    assert_eq!(fought["fight"], fight_id);
    assert_eq!(
        (
            fought["rank_before"].as_i64(),
            fought["rank_after"].as_i64()
        ),
        (Some(4), Some(3))
    );
    assert_eq!(fought["reason"], "after beating Top Dog");

    // Only the followers of the fighter who fought and moved are told.
    let told = ranking_notices(&app, &upset_fan).await;
    assert_eq!(told.len(), 1, "{told:?}");
    let message = told[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("Upset moved from #4 to #3 in the Heavyweight rankings after beating Top Dog (rating 1500 → "),
        "{message}"
    );
    assert_eq!(
        ranking_notices(&app, &third_fan).await,
        Vec::<Value>::new(),
        "passed: not pushed"
    );
    assert_eq!(
        ranking_notices(&app, &top_fan).await,
        Vec::<Value>::new(),
        "fought, still #1"
    );

    assert_error(
        &app.get("/api/rankings/history/", None).await,
        400,
        "bad_request",
    );
    assert_error(
        &app.get("/api/rankings/history/?fighter=999999", None).await,
        404,
        "not_found",
    );
}

const CSV: &str = "division,rank,fighter,nickname,wins,losses,draws
Lightweight,C,Champ,\"The Boss, Himself\",15,4,0
Lightweight,1,Number One,,9,5,0
Lightweight,2,Number Two,Two,30,0,0
Lightweight,3,Existing,,,,
";

#[actix_rt::test]
async fn an_import_sets_champion_and_order_and_a_bad_line_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let lw = division(&app, &admin, "Lightweight").await;
    let existing = fighter(&app, &admin, "Existing", lw, (2, 2, 0)).await;
    let unlisted = fighter(&app, &admin, "Unlisted Star", lw, (40, 0, 0)).await;

    let mut conn = connect(&app);
    let applied = ringside::features::rankings::import_csv(&mut conn, CSV).expect("imports");
    assert!(applied.to_notify().is_empty(), "an import pushes nothing");
    let body = table(&app, lw).await;
    let champ = body["champion"]["fighter"].as_i64().expect("a champion");
    let (_, champ_row) = app.get(&format!("/api/fighters/{champ}/"), None).await;
    assert_eq!(champ_row["name"], "Champ");
    assert_eq!(champ_row["nickname"], "The Boss, Himself");
    assert_eq!(
        (champ_row["wins"].as_i64(), champ_row["losses"].as_i64()),
        (Some(15), Some(4))
    );
    let names: Vec<String> = body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["fighter_name"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        names,
        ["Number One", "Number Two", "Existing", "Unlisted Star"],
        "the imported order, whatever the records; the unlisted below"
    );
    assert_eq!(
        entry(&body, existing)["rank"],
        3,
        "found by name, not created"
    );
    assert!(rating(&body, unlisted) < rating(&body, existing));
    assert!(body["champion"]["rating"].as_f64() > Some(rating(&body, existing)));
    let imported = history(&app, existing).await;
    assert_eq!(imported.last().expect("moves")["cause"], "imported");

    let moves_before = app.count("ranking_history");
    let fighters_before = app.count("fighters");
    for (bad, line, says) in [
        (
            "division,rank,fighter\nFlyweight,1,Nobody\n",
            2,
            "does not exist",
        ),
        (
            "division,rank,fighter\nLightweight,1,A\nLightweight,x,B\n",
            3,
            "rank",
        ),
        (
            "division,rank,fighter\nLightweight,1,A\nLightweight,1,B\n",
            3,
            "twice",
        ),
        (
            "division,rank,fighter\nLightweight,1,A\nLightweight,3,B\n",
            3,
            "gap",
        ),
        (
            "division,rank,fighter\nLightweight,C,A\nLightweight,0,B\n",
            3,
            "champion",
        ),
        ("division,fighter\nLightweight,A\n", 1, "rank"),
        (
            "division,rank,fighter,height\nLightweight,1,A,180\n",
            1,
            "unknown column",
        ),
        (
            "division,rank,fighter\nLightweight,1,A\nLightweight,2,\"B\n",
            3,
            "quoted",
        ),
        (
            "division,rank,fighter,wins\nLightweight,1,A,-3\n",
            2,
            "wins",
        ),
        ("division,rank,fighter\nLightweight,1\n", 2, "fields"),
        (
            "division,rank,fighter\nLightweight,1,A\nLightweight,2,A\n",
            3,
            "twice",
        ),
    ] {
        let err = ringside::features::rankings::import_csv(&mut conn, bad)
            .err()
            .unwrap_or_else(|| panic!("refused: {bad}"));
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("line {line}:")),
            "{bad}: {message}"
        );
        assert!(message.contains(says), "{bad}: {message}");
    }
    // An unknown division after a good one: the whole file changes nothing.
    let err = ringside::features::rankings::import_csv(
        &mut conn,
        "division,rank,fighter\nLightweight,C,Brand New\nFlyweight,1,Nobody\n",
    )
    .expect_err("refused");
    assert!(err.to_string().starts_with("line 3:"), "{err}");
    assert_eq!(table(&app, lw).await, body, "nothing changed");
    assert_eq!(app.count("ranking_history"), moves_before);
    assert_eq!(app.count("fighters"), fighters_before);
}

#[actix_rt::test]
async fn pound_for_pound_lists_the_best_fifteen_across_divisions() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let lw = division(&app, &admin, "Lightweight").await;
    let ww = division(&app, &admin, "Welterweight").await;
    let mut csv = String::from("division,rank,fighter,wins,losses\n");
    for (name, wins) in [("Lightweight", 20), ("Welterweight", 10)] {
        csv.push_str(&format!("{name},C,{name} Champ,{wins},0\n"));
        for rank in 1..=9 {
            csv.push_str(&format!("{name},{rank},{name} {rank},{},3\n", wins - rank));
        }
    }
    let mut conn = connect(&app);
    ringside::features::rankings::import_csv(&mut conn, &csv).expect("imports");
    let (status, body) = app.get("/api/rankings/p4p/", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let results = body["results"].as_array().expect("results");
    assert_eq!(results.len(), 15);
    let lw_champ = table(&app, lw).await["champion"]["fighter"].clone();
    let ww_champ = table(&app, ww).await["champion"]["fighter"].clone();
    assert_eq!(results[0]["fighter"], lw_champ, "{body}");
    assert_eq!(results[0]["rank"], 1);
    assert_eq!(results[0]["division"], lw);
    assert!(
        results.iter().any(|r| r["fighter"] == ww_champ),
        "champions included"
    );
    let ratings: Vec<f64> = results
        .iter()
        .map(|r| r["rating"].as_f64().expect("rating"))
        .collect();
    assert!(ratings.windows(2).all(|w| w[0] >= w[1]));
    let mut ids: Vec<i64> = results
        .iter()
        .map(|r| r["fighter"].as_i64().expect("id"))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 15, "each fighter once");
}

#[actix_rt::test]
async fn the_title_changes_hands_only_through_a_title_fight() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let mw = division(&app, &admin, "Middleweight").await;
    let mut conn = connect(&app);
    ringside::features::rankings::import_csv(
        &mut conn,
        "division,rank,fighter,wins,losses\nMiddleweight,C,Holder,20,1\nMiddleweight,1,Contender,18,2\nMiddleweight,2,Other,15,3\n",
    )
    .expect("imports");
    let body = table(&app, mw).await;
    let holder = body["champion"]["fighter"].as_i64().expect("champion");
    let since = body["champion"]["since"].clone();
    let contender = body["results"][0]["fighter"].as_i64().expect("#1");
    let other = body["results"][1]["fighter"].as_i64().expect("#2");

    let fights = night(
        &app,
        &admin,
        &[
            (contender, holder, mw, false),
            (other, holder, mw, true),
            (contender, holder, mw, true),
        ],
    )
    .await;
    // A champion who loses a non-title fight keeps the title.
    decide(&app, &admin, fights[0], Some("red"), "unanimous_decision").await;
    let body = table(&app, mw).await;
    assert_eq!(body["champion"]["fighter"], holder);
    assert_eq!(body["champion"]["since"], since);
    let kept = history(&app, holder).await;
    assert!(
        kept.last()
            .and_then(|m| m["reason"].as_str())
            .is_some_and(|r| r.contains("keeps the title")),
        "{kept:?}"
    );
    // A draw in a title fight leaves him champion.
    decide(&app, &admin, fights[1], None, "unanimous_draw").await;
    assert_eq!(table(&app, mw).await["champion"]["fighter"], holder);
    // Beaten in a title fight, he loses it; he becomes a contender by rating.
    decide(&app, &admin, fights[2], Some("red"), "ko").await;
    let body = table(&app, mw).await;
    assert_eq!(body["champion"]["fighter"], contender, "{body}");
    assert_ne!(body["champion"]["since"], since);
    let ranks: Vec<i64> = body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["fighter"].as_i64().unwrap_or(0))
        .collect();
    assert!(ranks.contains(&holder) && ranks.contains(&other), "{body}");
    let won = history(&app, contender).await;
    let last = won.last().expect("moves");
    assert!(
        last["reason"]
            .as_str()
            .is_some_and(|r| r.contains("won the title from Holder")),
        "{last}"
    );
    assert_eq!(last["rank_after"], Value::Null);
}

#[actix_rt::test]
async fn reversing_a_result_restores_records_ratings_ranks_and_champion() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let lw = division(&app, &admin, "Lightweight").await;
    let mut conn = connect(&app);
    ringside::features::rankings::import_csv(
        &mut conn,
        "division,rank,fighter,wins,losses\nLightweight,C,Holder,20,1\nLightweight,1,Challenger,18,2\nLightweight,2,Idle,15,3\n",
    )
    .expect("imports");
    let before = table(&app, lw).await;
    let holder = before["champion"]["fighter"].as_i64().expect("champion");
    let challenger = before["results"][0]["fighter"].as_i64().expect("#1");
    let records = |app: &TestApp| {
        app.rows("SELECT id, wins, losses, draws, no_contests FROM fighters ORDER BY id")
    };
    let records_before = records(&app);

    let fights = night(&app, &admin, &[(challenger, holder, lw, true)]).await;
    decide(&app, &admin, fights[0], Some("red"), "ko").await;
    assert_eq!(table(&app, lw).await["champion"]["fighter"], challenger);

    let (_, detail) = app
        .get(&format!("/api/live/fights/{}/", fights[0]), None)
        .await;
    let fight =
        ringside::db::catalog::find_fight(&mut conn, detail["fight"].as_i64().expect("fight"))
            .expect("fight");
    let applied = conn
        .transaction(|c| {
            ringside::features::rankings::reverse_result(
                c,
                &fight,
                ringside::features::rankings::Outcome::RedWins,
                "overturned: the knockout came after the bell",
            )
        })
        .expect("reversed");
    assert_eq!(
        applied.title.map(|t| (t.champion, t.previous)),
        Some((Some(holder), Some(challenger)))
    );
    assert_eq!(records(&app), records_before, "records restored");
    let after = table(&app, lw).await;
    let strip = |t: &Value| {
        let mut t = t.clone();
        for r in t["results"].as_array_mut().expect("results") {
            r["updated_at"] = Value::Null;
            r["previous_rank"] = Value::Null;
        }
        t["division"]["updated_at"] = Value::Null;
        t
    };
    assert_eq!(
        strip(&after),
        strip(&before),
        "ratings, ranks and champion restored"
    );
    let moves = history(&app, challenger).await;
    let amended = moves.last().expect("moves");
    assert_eq!(amended["cause"], "amended");
    assert!(
        amended["reason"]
            .as_str()
            .is_some_and(|r| r.contains("overturned: the knockout came after the bell")),
        "{amended}"
    );
    assert_eq!(amended["rank_after"], 1);
    let to_notify: Vec<i64> = applied.to_notify().iter().map(|m| m.fighter).collect();
    assert!(
        to_notify.contains(&challenger) && to_notify.contains(&holder),
        "{to_notify:?}"
    );
}
