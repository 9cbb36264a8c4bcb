use awc::http::StatusCode;
use serde_json::json;

use crate::harness::{assert_error, build_card, TestApp};

#[actix_rt::test]
async fn admin_builds_a_card_and_anyone_reads_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (event, fights) = build_card(&app, &admin, 3).await;

    let (status, list) = app.get(&format!("/api/fights/?event={event}"), None).await;
    assert_eq!(status, StatusCode::OK);
    let results = list["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["event"], event);
    assert_eq!(results[0]["is_title_fight"], true);
    assert_eq!(results[0]["scheduled_rounds"], 5, "a title main event");
    assert_eq!(list["next_cursor"], serde_json::Value::Null);

    let (status, fight) = app.get(&format!("/api/fights/{}/", fights[1]), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fight["card_order"], 2);

    // Two fights cannot share a slot on one card.
    let clash = app
        .call(
            "PATCH",
            &format!("/api/fights/{}/", fights[1]),
            Some(&admin),
            Some(json!({ "card_order": 1, "scheduled_rounds": 5 })),
        )
        .await;
    assert_error(&clash, 409, "already_exists");
    // Three rounds, five for a title fight or a main event: the fight as it
    // would be after the change.
    for change in [
        json!({ "card_order": 1 }),
        json!({ "is_title_fight": true }),
        json!({ "scheduled_rounds": 4 }),
    ] {
        let got = app
            .call(
                "PATCH",
                &format!("/api/fights/{}/", fights[1]),
                Some(&admin),
                Some(change),
            )
            .await;
        assert_error(&got, 400, "bad_request");
        assert!(
            got.1["error"]["details"]["scheduled_rounds"].is_string(),
            "{}",
            got.1
        );
    }
    let main = app
        .call(
            "PATCH",
            &format!("/api/fights/{}/", fights[0]),
            Some(&admin),
            Some(json!({ "scheduled_rounds": 3 })),
        )
        .await;
    assert_error(&main, 400, "bad_request");
    // The same fighter cannot be in both corners.
    let same = app
        .call(
            "PATCH",
            &format!("/api/fights/{}/", fights[1]),
            Some(&admin),
            Some(json!({ "blue_fighter": fight["red_fighter"] })),
        )
        .await;
    assert_error(&same, 400, "bad_request");
}

#[actix_rt::test]
async fn lists_page_with_a_cursor() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for i in 0..5 {
        let (status, _) = app
            .post(
                "/api/divisions/",
                Some(&admin),
                json!({ "name": format!("Division {i}"), "weight_limit_lbs": 100 + i * 10 }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let mut seen = Vec::new();
    let mut path = "/api/divisions/?limit=2".to_string();
    loop {
        let (status, page) = app.get(&path, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let results = page["results"].as_array().expect("results");
        assert!(results.len() <= 2);
        seen.extend(
            results
                .iter()
                .map(|d| d["name"].as_str().expect("name").to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/divisions/?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let expected: Vec<String> = (0..5).map(|i| format!("Division {i}")).collect();
    assert_eq!(seen, expected, "every row once, in order");
}

#[actix_rt::test]
async fn fighters_enter_rankings_and_deletes_respect_references() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let t = Some(admin.as_str());
    let (_, division) = app
        .post(
            "/api/divisions/",
            t,
            json!({ "name": "Welterweight", "weight_limit_lbs": 170 }),
        )
        .await;
    let mut ids = Vec::new();
    for name in ["A", "B", "C"] {
        let (status, f) = app
            .post(
                "/api/fighters/",
                t,
                json!({ "name": name, "nickname": "N", "division": division["id"] }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{f}");
        assert_eq!(f["division"], division["id"]);
        ids.push(f["id"].as_i64().expect("id"));
    }
    let ranks = |body: &serde_json::Value| -> Vec<(i64, i64)> {
        body["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| {
                (
                    r["fighter"].as_i64().expect("fighter"),
                    r["rank"].as_i64().expect("rank"),
                )
            })
            .collect()
    };
    let (status, table) = app
        .get(&format!("/api/rankings/?division={}", division["id"]), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ranks(&table), vec![(ids[0], 1), (ids[1], 2), (ids[2], 3)]);

    // A division with fighters cannot go.
    let got = app
        .call(
            "DELETE",
            &format!("/api/divisions/{}/", division["id"]),
            t,
            None,
        )
        .await;
    assert_error(&got, 409, "in_use");

    // Removing the middle fighter closes the gap.
    let (status, _) = app
        .call("DELETE", &format!("/api/fighters/{}/", ids[1]), t, None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, table) = app
        .get(&format!("/api/rankings/?division={}", division["id"]), None)
        .await;
    assert_eq!(ranks(&table), vec![(ids[0], 1), (ids[2], 2)]);

    assert_error(&app.get("/api/rankings/", None).await, 400, "bad_request");
    assert_error(
        &app.get("/api/rankings/?division=999999", None).await,
        404,
        "not_found",
    );
}
