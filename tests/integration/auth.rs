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
        &app.get("/api/auth/me/", Some(&other.sign(admin_id, 0)))
            .await,
        401,
        "unauthorized",
    );

    // Signed with the server's key but already expired.
    let expired = ringside::auth::TokenKeys::new(
        b"test-secret-key-of-at-least-32-bytes!",
        std::time::Duration::from_secs(0),
    );
    let got = app
        .get("/api/auth/me/", Some(&expired.sign(admin_id, 0)))
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

/// One HTTP/1.1 request over a socket bound to `source` (say `127.0.0.2`), so
/// the server sees another peer address; the status and the JSON body.
pub(crate) async fn request_from(
    app: &TestApp,
    source: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let addr: std::net::SocketAddr = app
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("server address");
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(format!("{source}:0").parse().expect("source"))
        .expect("bind the source address");
    let stream = socket.connect(addr).await.expect("connect");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    let mut out = request.as_bytes();
    while !out.is_empty() {
        stream.writable().await.expect("writable");
        match stream.try_write(out) {
            Ok(n) => out = &out[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("write: {e}"),
        }
    }
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        stream.readable().await.expect("readable");
        match stream.try_read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("read: {e}"),
        }
    }
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head}"));
    let body = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    (status, body)
}

fn login_body(email: &str, password: &str) -> Option<serde_json::Value> {
    Some(json!({ "email": email, "password": password }))
}

#[actix_rt::test]
async fn wrong_passwords_from_one_address_do_not_lock_out_another() {
    let mut config = test_config(fresh_database());
    config.login_rate_per_account = 3;
    let app = TestApp::with_config(config).await;
    app.register("fan@example.com").await;
    let attacker = |password: &'static str| {
        request_from(
            &app,
            "127.0.0.2",
            "POST",
            "/api/auth/login/",
            &[],
            login_body("fan@example.com", password),
        )
    };
    for _ in 0..3 {
        assert_eq!(attacker("wrong-password").await.0, 401);
    }
    let (status, body) = attacker("password-123").await;
    assert_eq!(status, 429, "{body}");
    // The owner, from another address, still signs in.
    let (status, body) = app.login("fan@example.com", "password-123").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[actix_rt::test]
async fn behind_a_trusted_proxy_clients_have_their_own_limits() {
    let app = TestApp::with_config(crate::harness::test_config_with(
        fresh_database(),
        &[
            ("RINGSIDE_TRUSTED_PROXIES", "127.0.0.1".to_string()),
            ("LOGIN_RATE_PER_IP", "2".to_string()),
        ],
    ))
    .await;
    for _ in 0..2 {
        assert_eq!(forwarded_login(&app, "203.0.113.1").await, 401);
    }
    assert_eq!(forwarded_login(&app, "203.0.113.1").await, 429);
    // Another client behind the same proxy has its own allowance.
    assert_eq!(forwarded_login(&app, "203.0.113.2").await, 401);
}

/// A failing sign-in whose `X-Forwarded-For` names `client`: its status.
async fn forwarded_login(app: &TestApp, client: &str) -> u16 {
    app.client
        .post(app.url("/api/auth/login/"))
        .insert_header(("x-forwarded-for", client))
        .send_json(&json!({ "email": "nobody@example.com", "password": "password-123" }))
        .await
        .expect("sent")
        .status()
        .as_u16()
}

#[actix_rt::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = TestApp::with_config(crate::harness::test_config_with(
        fresh_database(),
        &[("LOGIN_RATE_PER_IP", "2".to_string())],
    ))
    .await;
    for _ in 0..2 {
        assert_eq!(forwarded_login(&app, "203.0.113.1").await, 401);
    }
    // A made-up header does not buy a fresh allowance.
    assert_eq!(forwarded_login(&app, "203.0.113.2").await, 429);
}

/// The refusals a revoked token must get on every write path, cheap or not.
async fn assert_revoked_everywhere(app: &TestApp, token: &str, event: i64, poll: i64, option: i64) {
    let t = Some(token);
    assert_error(&app.get("/api/auth/me/", t).await, 401, "unauthorized");
    let comment = app
        .post(
            "/api/live/comments/",
            t,
            json!({ "live_event": event, "live_fight": null, "content": "still me?", "parent_comment": null }),
        )
        .await;
    assert_error(&comment, 401, "unauthorized");
    let react = app
        .post(
            "/api/live/reactions/",
            t,
            json!({ "target_type": "event", "target_id": event, "reaction_type": "wow" }),
        )
        .await;
    assert_error(&react, 401, "unauthorized");
    let vote = app
        .post(
            &format!("/api/live/polls/{poll}/vote/"),
            t,
            json!({ "option": option }),
        )
        .await;
    assert_error(&vote, 401, "unauthorized");
    let follow = app
        .post(
            "/api/follows/",
            t,
            json!({ "target_type": "fighter", "target_id": 1 }),
        )
        .await;
    assert_error(&follow, 401, "unauthorized");
    let refused = crate::ws_client::WsClient::connect(
        app,
        &format!("/api/live/notifications/?token={token}"),
    )
    .await;
    assert_eq!(refused.err(), Some(401));
}

/// A live event with an open poll: (admin token, event, poll, an option).
async fn event_with_open_poll(app: &TestApp) -> (String, i64, i64, i64) {
    let (admin, event, _) = crate::live_ws::live_event(app).await;
    let (status, poll) = app
        .post(
            "/api/live/polls/",
            Some(&admin),
            json!({ "live_event": event, "live_fight": null, "question": "Who?", "options": ["Red", "Blue"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{poll}");
    let id = poll["id"].as_i64().expect("poll id");
    let (status, _) = app
        .post(
            &format!("/api/live/polls/{id}/open/"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let option = poll["options"][0]["id"].as_i64().expect("option");
    (admin, event, id, option)
}

#[actix_rt::test]
async fn a_password_change_revokes_tokens_and_closes_sockets() {
    use crate::ws_client::{Ended, WsClient};
    let app = TestApp::spawn().await;
    let (_, event, poll, option) = event_with_open_poll(&app).await;
    let (old, _) = app.register("fan@example.com").await;
    let mut socket = WsClient::open(&app, &format!("/api/live/notifications/?token={old}")).await;
    let change = |token: String, old_password: &'static str, new_password: &'static str| {
        let app = &app;
        async move {
            app.post(
                "/api/auth/password/",
                Some(&token),
                json!({ "old_password": old_password, "new_password": new_password }),
            )
            .await
        }
    };
    assert_error(
        &change(old.clone(), "not-it", "new-password-1").await,
        401,
        "unauthorized",
    );
    let weak = change(old.clone(), "password-123", "short").await;
    assert_error(&weak, 400, "bad_request");
    assert!(
        weak.1["error"]["details"]["new_password"].is_string(),
        "{}",
        weak.1
    );
    assert_error(
        &app.post(
            "/api/auth/password/",
            None,
            json!({ "old_password": "password-123", "new_password": "new-password-1" }),
        )
        .await,
        401,
        "unauthorized",
    );

    let (status, body) = change(old.clone(), "password-123", "new-password-1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["email"], "fan@example.com");
    let new = body["token"].as_str().expect("token").to_string();
    assert_eq!(socket.ended().await, Ended::Closed(Some(1008)));

    assert_revoked_everywhere(&app, &old, event, poll, option).await;
    let (status, _) = app.get("/api/auth/me/", Some(&new)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .post(
            &format!("/api/live/polls/{poll}/vote/"),
            Some(&new),
            json!({ "option": option }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_error(
        &app.login("fan@example.com", "password-123").await,
        401,
        "unauthorized",
    );
    let (status, _) = app.login("fan@example.com", "new-password-1").await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_rt::test]
async fn logout_all_revokes_every_token_and_closes_sockets() {
    use crate::ws_client::{Ended, WsClient};
    let app = TestApp::spawn().await;
    let (_, event, poll, option) = event_with_open_poll(&app).await;
    let (first, _) = app.register("fan@example.com").await;
    let (_, second) = app.login("fan@example.com", "password-123").await;
    let second = second["token"].as_str().expect("token").to_string();
    let mut socket =
        WsClient::open(&app, &format!("/api/live/comments/{event}/?token={second}")).await;

    let (status, _) = app
        .post("/api/auth/logout-all/", Some(&first), json!({}))
        .await;
    assert_eq!(status.as_u16(), 204);
    assert_eq!(socket.ended().await, Ended::Closed(Some(1008)));
    assert_revoked_everywhere(&app, &first, event, poll, option).await;
    assert_revoked_everywhere(&app, &second, event, poll, option).await;
    // Signing in again gives a token that works.
    let (status, body) = app.login("fan@example.com", "password-123").await;
    assert_eq!(status, StatusCode::OK);
    let fresh = body["token"].as_str().expect("token");
    let (status, _) = app.get("/api/auth/me/", Some(fresh)).await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_rt::test]
async fn the_cli_sets_a_password_from_stdin_and_revokes_tokens() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let app = TestApp::spawn().await;
    let (old, _) = app.register("fan@example.com").await;
    let dir = std::env::temp_dir().join(format!("ringside-tests-{}-setpw", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_ringside"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RINGSIDE_DATA_DIR", &dir)
        .env("RUST_LOG", "warn")
        .env("DATABASE_URL", &app.db_url)
        .args(["user", "set-password", "--email", "Fan@Example.com"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ringside runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"cli-password-9\n")
        .expect("password written");
    let out = actix_rt::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("joined")
        .expect("finished");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_error(
        &app.get("/api/auth/me/", Some(&old)).await,
        401,
        "unauthorized",
    );
    assert_error(
        &app.login("fan@example.com", "password-123").await,
        401,
        "unauthorized",
    );
    let (status, body) = app.login("fan@example.com", "cli-password-9").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
