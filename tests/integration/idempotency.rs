//! `Idempotency-Key`: a retry answers the first answer and writes nothing,
//! on any node; concurrent duplicates apply once; a key is one request's;
//! a request that applied nothing leaves its key free.

use awc::http::StatusCode;
use serde_json::json;

use crate::fight_control::night;
use crate::harness::{assert_error, fresh_database, test_config, TestApp};
use crate::live_ws::{live_event, news as update, post_keyed, replayed, watch};

#[actix_rt::test]
async fn a_retried_update_is_answered_once_on_any_node_and_published_once() {
    let database = fresh_database();
    let a = TestApp::with_config(test_config(database.clone())).await;
    let b = TestApp::with_config(test_config(database)).await;
    let (admin, event, _) = live_event(&a).await;
    let (mut viewer, _) = watch(&a, event, "").await;
    let key = "phone-7f3a-knockdown";

    let (status, replay, first) = post_keyed(&a, &admin, key, update(event, "Knockdown!")).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert!(!replay);
    // The phone timed out and retries, once through each node.
    for node in [&a, &b] {
        let (status, replay, again) =
            post_keyed(node, &admin, key, update(event, "Knockdown!")).await;
        assert_eq!(status, StatusCode::CREATED, "{again}");
        assert!(replay, "the stored answer");
        assert_eq!(again, first, "the first answer, byte for byte");
    }
    assert_eq!(
        a.rows("SELECT count(*) AS n FROM live_updates WHERE title = 'Knockdown!'")[0]["n"],
        1
    );
    // Viewers heard it once: the next frame is the next update.
    let frame = viewer.next_durable().await;
    assert_eq!(frame["data"]["id"], first["id"], "{frame}");
    let (status, _, next) = a
        .post_with(
            "/api/live/updates/",
            Some(&admin),
            &[("Idempotency-Key", "another")],
            update(event, "Up again"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{next}");
    let frame = viewer.next_durable().await;
    assert_eq!(frame["data"]["title"], "Up again", "{frame}");
}

#[actix_rt::test]
async fn concurrent_duplicates_apply_once() {
    let app = TestApp::spawn().await;
    let (fan, _) = app.register("fan@ringside.test").await;
    let (_, event, _) = live_event(&app).await;
    let body = json!({ "live_event": event, "live_fight": null, "content": "What a shot", "parent_comment": null });
    let key = [("Idempotency-Key", "burst-1")];
    let tries =
        (0..8).map(|_| app.post_with("/api/live/comments/", Some(&fan), &key, body.clone()));
    let answers = futures_util::future::join_all(tries).await;
    let mut created = Vec::new();
    for (status, _, body) in &answers {
        match *status {
            StatusCode::CREATED => created.push(body["id"].clone()),
            StatusCode::CONFLICT => assert_eq!(body["error"]["code"], "idempotency_in_progress"),
            other => panic!("{other}: {body}"),
        }
    }
    assert!(!created.is_empty());
    assert!(
        created.iter().all(|id| *id == created[0]),
        "every 201 is the same comment: {created:?}"
    );
    assert_eq!(
        app.rows("SELECT count(*) AS n FROM live_comments WHERE content = 'What a shot'")[0]["n"],
        1
    );
}

#[actix_rt::test]
async fn a_retried_round_start_replays_instead_of_conflicting() {
    let app = TestApp::spawn().await;
    let n = night(&app, 1, json!({})).await;
    n.ok("start/", json!({})).await;
    let path = format!("/api/live/fights/{}/rounds/start/", n.fights[0].id);
    let key = [("Idempotency-Key", "round-1-start")];
    let (status, _, first) = app
        .post_with(&path, Some(&n.admin), &key, json!({ "round": 1 }))
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, headers, again) = app
        .post_with(&path, Some(&n.admin), &key, json!({ "round": 1 }))
        .await;
    assert_eq!(
        (status, replayed(&headers)),
        (StatusCode::OK, true),
        "{again}"
    );
    assert_eq!(again, first);
    // Without the key the same request is what it is: a second start.
    assert_error(
        &app.post(&path, Some(&n.admin), json!({ "round": 1 })).await,
        409,
        "invalid_transition",
    );
}

#[actix_rt::test]
async fn a_key_is_one_request_and_a_refused_request_leaves_it_free() {
    let app = TestApp::spawn().await;
    let (admin, event, _) = live_event(&app).await;
    let posted = post_keyed(&app, &admin, "k-1", update(event, "One")).await;
    assert_eq!(posted.0, StatusCode::CREATED, "{}", posted.2);
    // The same key for another request.
    let (status, _, body) = post_keyed(&app, &admin, "k-1", update(event, "Two")).await;
    assert_error(&(status, body), 409, "idempotency_key_reused");
    // Another user's key is theirs alone.
    let reporter = app
        .user_with_role("reporter@ringside.test", "reporter")
        .await;
    let (status, replay, body) = post_keyed(&app, &reporter, "k-1", update(event, "Two")).await;
    assert_eq!((status, replay), (StatusCode::CREATED, false), "{body}");

    // Refused (a bad field): nothing applied, nothing kept; fixed, the same
    // key runs.
    let mut invalid = update(event, "Three");
    invalid["update_type"] = json!("haymaker");
    for _ in 0..2 {
        let (status, replay, body) = post_keyed(&app, &admin, "k-2", invalid.clone()).await;
        assert_eq!((status, replay), (StatusCode::BAD_REQUEST, false), "{body}");
    }
    let (status, replay, body) = post_keyed(&app, &admin, "k-2", update(event, "Three")).await;
    assert_eq!((status, replay), (StatusCode::CREATED, false), "{body}");
    assert_eq!(
        app.rows("SELECT count(*) AS n FROM idempotency_keys")[0]["n"],
        3,
        "k-1 twice (two users) and k-2"
    );

    // Malformed keys are refused before anything runs.
    for bad in ["", "has space", &"x".repeat(256)] {
        let (status, _, body) = post_keyed(&app, &admin, bad, update(event, "Four")).await;
        assert_error(&(status, body), 400, "bad_request");
    }
    assert_eq!(
        app.rows("SELECT count(*) AS n FROM live_updates WHERE title = 'Four'")[0]["n"],
        0
    );
    // Without a token the key changes nothing: the handler answers 401.
    let (status, _, body) = app
        .post_with(
            "/api/live/updates/",
            None,
            &[("Idempotency-Key", "k-1")],
            update(event, "One"),
        )
        .await;
    assert_error(&(status, body), 401, "unauthorized");
}
