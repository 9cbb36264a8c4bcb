use awc::http::StatusCode;
use serde_json::json;

use crate::harness::{assert_error, fresh_database, test_config, TestApp, ADMIN_EMAIL};

#[actix_rt::test]
async fn register_login_and_me() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post(
            "/api/auth/register/",
            None,
            json!({ "email": "Fan@Example.com", "password": "password-123", "display_name": " Fan " }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let user = &body["user"];
    assert_eq!(user["email"], "fan@example.com");
    assert_eq!(user["display_name"], "Fan");
    assert_eq!(user["role"], "viewer");
    assert!(user["id"].is_i64());
    assert!(user.get("password_hash").is_none(), "hash leaked: {user}");

    let (status, login) = app.login("fan@example.com", "password-123").await;
    assert_eq!(status, StatusCode::OK, "{login}");
    assert_eq!(login["user"]["id"], user["id"]);
    let token = login["token"].as_str().expect("token");

    let (status, me) = app.get("/api/auth/me/", Some(token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "fan@example.com");

    // The email is taken, whatever its case.
    let again = app
        .post(
            "/api/auth/register/",
            None,
            json!({ "email": "FAN@example.com", "password": "password-456", "display_name": "Other" }),
        )
        .await;
    assert_error(&again, 409, "already_exists");
    assert_eq!(app.count("users"), 2, "admin and the one fan");
}

#[actix_rt::test]
async fn wrong_password_and_unknown_user_answer_alike() {
    let app = TestApp::spawn().await;
    app.register("fan@example.com").await;
    let wrong = app.login("fan@example.com", "not-the-password").await;
    let unknown = app.login("nobody@example.com", "password-123").await;
    assert_error(&wrong, 401, "unauthorized");
    assert_error(&unknown, 401, "unauthorized");
    assert_eq!(wrong.1, unknown.1, "the two answers must not differ");
}

#[actix_rt::test]
async fn registration_validates_fields() {
    let app = TestApp::spawn().await;
    for (body, field) in [
        (
            json!({ "email": "not-an-email", "password": "password-123", "display_name": "A" }),
            "email",
        ),
        (
            json!({ "email": "a@b.io", "password": "short", "display_name": "A" }),
            "password",
        ),
        (
            json!({ "email": "a@b.io", "password": "password-123", "display_name": "  " }),
            "display_name",
        ),
    ] {
        let got = app.post("/api/auth/register/", None, body).await;
        assert_error(&got, 400, "bad_request");
        assert!(got.1["error"]["details"][field].is_string(), "{}", got.1);
    }
    assert_eq!(app.count("users"), 1, "only the admin");
}

#[actix_rt::test]
async fn login_is_rate_limited_per_account() {
    let mut config = test_config(fresh_database());
    config.login_rate_per_account = 3;
    let app = TestApp::with_config(config).await;
    app.register("fan@example.com").await;
    for _ in 0..3 {
        assert_error(
            &app.login("fan@example.com", "wrong-password").await,
            401,
            "unauthorized",
        );
    }
    // The fourth attempt is refused before the password is even checked,
    // even with the right password.
    let limited = app.login("fan@example.com", "password-123").await;
    assert_error(&limited, 429, "rate_limited");
    let retry = limited.1["error"]["details"]["retry_after_ms"]
        .as_u64()
        .expect("retry_after_ms");
    assert!(retry > 0 && retry <= 60_000, "retry_after_ms {retry}");
    // Another account from the same address is not affected by this one's limit.
    let (status, _) = app.login(ADMIN_EMAIL, crate::harness::ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_rt::test]
async fn login_is_rate_limited_per_address() {
    let mut config = test_config(fresh_database());
    config.login_rate_per_ip = 4;
    let app = TestApp::with_config(config).await;
    for i in 0..4 {
        let got = app
            .login(&format!("user{i}@example.com"), "password-123")
            .await;
        assert_error(&got, 401, "unauthorized");
    }
    assert_error(
        &app.login("user9@example.com", "password-123").await,
        429,
        "rate_limited",
    );
}

#[actix_rt::test]
async fn missing_forged_and_expired_tokens_are_refused() {
    let app = TestApp::spawn().await;
    assert_error(&app.get("/api/auth/me/", None).await, 401, "unauthorized");
    assert_error(
        &app.get("/api/auth/me/", Some("garbage")).await,
        401,
        "unauthorized",
    );

    // A well-formed token signed with another key.
    let other = ringside::auth::TokenKeys::new(
        b"some-other-key-that-is-32-bytes-long",
        std::time::Duration::from_secs(60),
    );
    let admin_id = 1;
    assert_error(
        &app.get("/api/auth/me/", Some(&other.sign(admin_id))).await,
        401,
        "unauthorized",
    );

    // Signed with the server's key but already expired.
    let expired = ringside::auth::TokenKeys::new(
        b"test-secret-key-of-at-least-32-bytes!",
        std::time::Duration::from_secs(0),
    );
    let got = app
        .get("/api/auth/me/", Some(&expired.sign(admin_id)))
        .await;
    assert_error(&got, 401, "unauthorized");
    assert!(got.1["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("expired"));

    // A malformed Authorization header.
    let resp = app
        .client
        .get(app.url("/api/auth/me/"))
        .insert_header(("authorization", "Basic YWRtaW46YWRtaW4="))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
}

#[actix_rt::test]
async fn tokens_of_deleted_or_banned_accounts_stop_working() {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let app = TestApp::spawn().await;
    let (token, id) = app.register("fan@example.com").await;
    assert_eq!(
        app.get("/api/auth/me/", Some(&token)).await.0,
        StatusCode::OK
    );
    let mut conn = PgConnection::establish(&app.db_url).expect("connect");
    diesel::sql_query(format!(
        "UPDATE users SET banned_at = now() WHERE id = {id}"
    ))
    .execute(&mut conn)
    .expect("ban");
    assert_error(&app.get("/api/auth/me/", Some(&token)).await, 403, "banned");
    assert_error(
        &app.login("fan@example.com", "password-123").await,
        403,
        "banned",
    );
    diesel::sql_query(format!("DELETE FROM users WHERE id = {id}"))
        .execute(&mut conn)
        .expect("delete");
    assert_error(
        &app.get("/api/auth/me/", Some(&token)).await,
        401,
        "unauthorized",
    );
}

#[actix_rt::test]
async fn roles_are_enforced_at_each_boundary() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (viewer, viewer_id) = app.register("viewer@example.com").await;
    let reporter = app.user_with_role("reporter@example.com", "reporter").await;
    let moderator = app
        .user_with_role("moderator@example.com", "moderator")
        .await;

    let division = json!({ "name": "Flyweight", "weight_limit_lbs": 125 });
    // Admin-only writes: everyone else is refused, and nothing is written.
    for token in [&viewer, &reporter, &moderator] {
        assert_error(
            &app.post("/api/divisions/", Some(token), division.clone())
                .await,
            403,
            "forbidden",
        );
        assert_error(
            &app.call(
                "PATCH",
                &format!("/api/users/{viewer_id}/"),
                Some(token),
                Some(json!({ "role": "admin" })),
            )
            .await,
            403,
            "forbidden",
        );
        assert_error(&app.get("/api/users/", Some(token)).await, 403, "forbidden");
    }
    assert_error(
        &app.post("/api/divisions/", None, division.clone()).await,
        401,
        "unauthorized",
    );
    assert_eq!(app.count("divisions"), 0);
    let (status, _) = app.post("/api/divisions/", Some(&admin), division).await;
    assert_eq!(status, StatusCode::CREATED);

    // A role change takes effect on the very next request, same token.
    let (status, user) = app
        .call(
            "PATCH",
            &format!("/api/users/{viewer_id}/"),
            Some(&admin),
            Some(json!({ "role": "admin" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["role"], "admin");
    let (status, _) = app.get("/api/users/", Some(&viewer)).await;
    assert_eq!(status, StatusCode::OK);

    // Unknown roles and unknown users are refused.
    assert_error(
        &app.call(
            "PATCH",
            &format!("/api/users/{viewer_id}/"),
            Some(&admin),
            Some(json!({ "role": "root" })),
        )
        .await,
        400,
        "bad_request",
    );
    assert_error(
        &app.call(
            "PATCH",
            "/api/users/999999/",
            Some(&admin),
            Some(json!({ "role": "viewer" })),
        )
        .await,
        404,
        "not_found",
    );
}

#[actix_rt::test]
async fn admins_cannot_demote_themselves() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (_, me) = app.get("/api/auth/me/", Some(&admin)).await;
    let got = app
        .call(
            "PATCH",
            &format!("/api/users/{}/", me["id"]),
            Some(&admin),
            Some(json!({ "role": "viewer" })),
        )
        .await;
    assert_error(&got, 409, "last_admin");
    let (_, me) = app.get("/api/auth/me/", Some(&admin)).await;
    assert_eq!(me["role"], "admin");
}
