//! Every kind of bad input gets a clear error with a stable code and the
//! right status, and changes nothing.

use awc::http::StatusCode;
use serde_json::json;

use crate::harness::{assert_error, TestApp};

#[actix_rt::test]
async fn malformed_json_wrong_types_and_missing_fields() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let t = Some(admin.as_str());

    let malformed = app
        .raw(
            "POST",
            "/api/divisions/",
            t,
            "application/json",
            b"{\"name\": ".to_vec(),
        )
        .await;
    assert_error(&malformed, 400, "bad_request");
    assert!(malformed.1["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("malformed JSON"));

    let wrong_type = app
        .post(
            "/api/divisions/",
            t,
            json!({ "name": "LW", "weight_limit_lbs": "heavy" }),
        )
        .await;
    assert_error(&wrong_type, 400, "bad_request");
    assert!(wrong_type.1["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("wrong type"));

    let missing = app
        .post("/api/divisions/", t, json!({ "name": "LW" }))
        .await;
    assert_error(&missing, 400, "bad_request");
    assert_eq!(
        missing.1["error"]["details"]["weight_limit_lbs"],
        "is required"
    );

    let out_of_range = app
        .post(
            "/api/divisions/",
            t,
            json!({ "name": "LW", "weight_limit_lbs": -5 }),
        )
        .await;
    assert_error(&out_of_range, 400, "bad_request");

    let not_json = app
        .raw(
            "POST",
            "/api/divisions/",
            t,
            "text/plain",
            b"name=LW".to_vec(),
        )
        .await;
    assert_error(&not_json, 415, "unsupported_media_type");

    let not_an_object = app.post("/api/divisions/", t, json!([1, 2, 3])).await;
    assert_error(&not_an_object, 400, "bad_request");

    assert_eq!(app.count("divisions"), 0, "nothing may be written");
}

#[actix_rt::test]
async fn oversized_bodies_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let huge =
        json!({ "name": "x".repeat(ringside::http::MAX_BODY_BYTES + 1), "weight_limit_lbs": 155 });
    let got = app.post("/api/divisions/", Some(&admin), huge).await;
    assert_error(&got, 413, "too_large");
    // Registration is public: the limit holds before any authentication too.
    let got = app
        .raw(
            "POST",
            "/api/auth/register/",
            None,
            "application/json",
            vec![b' '; ringside::http::MAX_BODY_BYTES + 10],
        )
        .await;
    assert_error(&got, 413, "too_large");
    assert_eq!(app.count("divisions"), 0);
    assert_eq!(app.count("users"), 1);
}

#[actix_rt::test]
async fn unknown_ids_in_paths_and_bodies() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let t = Some(admin.as_str());
    for path in [
        "/api/divisions/999999/",
        "/api/fighters/999999/",
        "/api/events/999999/",
        "/api/fights/999999/",
        "/api/live/events/999999/",
    ] {
        assert_error(&app.get(path, t).await, 404, "not_found");
    }
    // A non-numeric id is no resource at all.
    assert_error(&app.get("/api/live/events/abc/", t).await, 404, "not_found");
    assert_error(
        &app.post("/api/live/events/999999/start/", t, json!({}))
            .await,
        404,
        "not_found",
    );

    // A body naming something that does not exist names the field.
    let got = app
        .post(
            "/api/fighters/",
            t,
            json!({ "name": "Nobody", "division": 424242 }),
        )
        .await;
    assert_error(&got, 400, "bad_request");
    assert!(
        got.1["error"]["details"]["division"].is_string(),
        "{}",
        got.1
    );
    let got = app
        .post(
            "/api/live/events/",
            t,
            json!({ "event": 424242, "is_featured": false }),
        )
        .await;
    assert_error(&got, 400, "bad_request");
    assert_eq!(app.count("fighters"), 0);
    assert_eq!(app.count("live_events"), 0);
}

#[actix_rt::test]
async fn unknown_routes_methods_and_query_strings() {
    let app = TestApp::spawn().await;
    assert_error(&app.get("/api/nothing-here/", None).await, 404, "not_found");
    assert_error(
        &app.call("DELETE", "/api/live/events/", None, None).await,
        405,
        "method_not_allowed",
    );
    assert_error(
        &app.get("/api/live/events/?status=paused", None).await,
        400,
        "bad_request",
    );
    assert_error(
        &app.get("/api/live/events/?limit=0", None).await,
        400,
        "bad_request",
    );
    assert_error(
        &app.get("/api/live/events/?limit=abc", None).await,
        400,
        "bad_request",
    );
    assert_error(
        &app.get("/api/live/events/?cursor=abc", None).await,
        400,
        "bad_request",
    );

    // A path missing only its trailing slash is redirected, method kept.
    let no_redirects = awc::Client::builder().disable_redirects().finish();
    let resp = no_redirects
        .get(app.url("/api/live/events?status=live"))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        resp.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/api/live/events/?status=live")
    );
}
