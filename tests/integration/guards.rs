//! Guards against hostile clients and for browsers (issue 11): CORS and
//! WebSocket origins, who sees presence names, `Allow` on 405, 413 for every
//! oversized body, and `/metrics` behind `METRICS_TOKEN`.

use std::time::{Duration, Instant};

use awc::http::StatusCode;
use serde_json::Value;

use crate::harness::{assert_error, fresh_database, test_config_with, TestApp};
use crate::live_ws::live_event;
use crate::ws_client::PATIENCE;

fn header(resp: &awc::ClientResponse<impl Sized>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

async fn error_body<S>(resp: &mut awc::ClientResponse<S>) -> Value
where
    S: futures_util::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>> + Unpin,
{
    let bytes = resp.body().await.expect("body");
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

#[actix_rt::test]
async fn cors_preflights_are_answered_for_allowed_origins_only() {
    let app = TestApp::with_config(test_config_with(
        fresh_database(),
        &[(
            "RINGSIDE_ALLOWED_ORIGINS",
            "https://app.example.com".to_string(),
        )],
    ))
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(awc::http::Method::OPTIONS, app.url("/api/live/comments/"))
            .insert_header(("origin", origin))
            .insert_header(("access-control-request-method", "POST"))
            .insert_header((
                "access-control-request-headers",
                "authorization, content-type",
            ))
            .send()
    };
    let allowed = preflight("https://app.example.com").await.expect("sent");
    assert_eq!(allowed.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        header(&allowed, "access-control-allow-origin").as_deref(),
        Some("https://app.example.com")
    );
    let methods = header(&allowed, "access-control-allow-methods").unwrap_or_default();
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    let headers = header(&allowed, "access-control-allow-headers").unwrap_or_default();
    assert!(
        headers.contains("authorization") && headers.contains("content-type"),
        "{headers}"
    );
    assert!(header(&allowed, "access-control-max-age").is_some());
    assert_eq!(header(&allowed, "vary").as_deref(), Some("Origin"));

    let mut refused = preflight("https://evil.example").await.expect("sent");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(header(&refused, "access-control-allow-origin").is_none());
    let body = error_body(&mut refused).await;
    assert_eq!(body["error"]["code"], "forbidden", "{body}");

    // Actual answers carry the origin for allowed pages, not for others.
    let ok = app
        .client
        .get(app.url("/api/live/events/"))
        .insert_header(("origin", "https://app.example.com"))
        .send()
        .await
        .expect("sent");
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(
        header(&ok, "access-control-allow-origin").as_deref(),
        Some("https://app.example.com")
    );
    assert!(header(&ok, "vary").unwrap_or_default().contains("Origin"));
    let other = app
        .client
        .get(app.url("/api/live/events/"))
        .insert_header(("origin", "https://evil.example"))
        .send()
        .await
        .expect("sent");
    assert!(header(&other, "access-control-allow-origin").is_none());
}

#[actix_rt::test]
async fn by_default_only_the_servers_own_origin_is_allowed() {
    let app = TestApp::spawn().await;
    let own = app.base.clone();
    let preflight = |origin: String| {
        app.client
            .request(awc::http::Method::OPTIONS, app.url("/api/auth/login/"))
            .insert_header(("origin", origin))
            .insert_header(("access-control-request-method", "POST"))
            .send()
    };
    let allowed = preflight(own.clone()).await.expect("sent");
    assert_eq!(allowed.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&allowed, "access-control-allow-origin"), Some(own));
    let refused = preflight("http://127.0.0.1:1".to_string())
        .await
        .expect("sent");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

/// The status of a WebSocket upgrade with this `Origin` (or none).
async fn upgrade_status(app: &TestApp, path: &str, origin: Option<&str>) -> u16 {
    let url = format!("{}{}", app.base.replace("http://", "ws://"), path);
    let mut ws = awc::Client::new().ws(url);
    if let Some(origin) = origin {
        ws = ws.origin(origin);
    }
    match ws.connect().await {
        Ok((resp, _)) => resp.status().as_u16(),
        Err(awc::error::WsClientError::InvalidResponseStatus(status)) => status.as_u16(),
        Err(e) => panic!("WebSocket connect failed: {e}"),
    }
}

#[actix_rt::test]
async fn websocket_upgrades_from_foreign_origins_are_refused() {
    let app = TestApp::spawn().await;
    let (_, event, _) = live_event(&app).await;
    let path = format!("/api/live/comments/{event}/");
    assert_eq!(
        upgrade_status(&app, &path, Some("https://evil.example")).await,
        403
    );
    assert_eq!(upgrade_status(&app, &path, Some(&app.base)).await, 101);
    assert_eq!(upgrade_status(&app, &path, None).await, 101);

    let listed = TestApp::with_config(test_config_with(
        fresh_database(),
        &[(
            "RINGSIDE_ALLOWED_ORIGINS",
            "https://app.example.com".to_string(),
        )],
    ))
    .await;
    let (_, event, _) = live_event(&listed).await;
    let path = format!("/api/live/events/{event}/");
    assert_eq!(
        upgrade_status(&listed, &path, Some("https://app.example.com")).await,
        101
    );
    assert_eq!(
        upgrade_status(&listed, &path, Some(&listed.base)).await,
        403
    );
}

#[actix_rt::test]
async fn presence_names_viewers_only_to_signed_in_callers() {
    let app = TestApp::spawn().await;
    let (admin, event, _) = live_event(&app).await;
    let (fan, fan_id) = app.register("fan@ringside.test").await;
    let _watching = crate::comments::watch_comments(&app, event, Some(&fan)).await;
    let path = format!("/api/live/presence/comments:{event}/");
    let deadline = Instant::now() + PATIENCE;
    let signed_in = loop {
        let (status, body) = app.get(&path, Some(&admin)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["count"] == 1 {
            break body;
        }
        assert!(Instant::now() < deadline, "presence stayed {body}");
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(signed_in["users"][0]["id"], fan_id);
    let (status, anonymous) = app.get(&path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(anonymous["count"], 1);
    assert!(anonymous["users"].is_null(), "{anonymous}");
}

#[actix_rt::test]
async fn method_not_allowed_names_the_allowed_methods() {
    let app = TestApp::spawn().await;
    for (method, path, allow) in [
        ("DELETE", "/api/auth/login/", "POST"),
        ("PUT", "/api/live/comments/", "GET, POST"),
        ("POST", "/api/notifications/preferences/", "GET, PUT"),
        ("POST", "/healthz", "GET"),
    ] {
        let mut resp = app
            .client
            .request(
                awc::http::Method::from_bytes(method.as_bytes()).expect("method"),
                app.url(path),
            )
            .send()
            .await
            .expect("sent");
        assert_eq!(
            resp.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(
            header(&resp, "allow").as_deref(),
            Some(allow),
            "{method} {path}"
        );
        let body = error_body(&mut resp).await;
        assert_eq!(body["error"]["code"], "method_not_allowed");
    }
}

/// Every POST/PUT/PATCH path in the OpenAPI document, ids filled in.
fn write_endpoints() -> Vec<(String, String)> {
    let doc: Value = ringside::http::openapi::generated();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["post", "put", "patch"] {
            if item.get(method).is_some() {
                let concrete = path
                    .replace("{channel}", "news")
                    .replace("{type}", "fighter")
                    .split('/')
                    .map(|seg| if seg.starts_with('{') { "1" } else { seg })
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((method.to_uppercase(), concrete));
            }
        }
    }
    out
}

#[actix_rt::test]
async fn oversized_bodies_get_413_everywhere() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    // Over the 64 KiB limit, and over actix's own 256 KiB default too.
    for size in [70 * 1024, 300 * 1024] {
        let body = format!("{{\"reason\":\"{}\"}}", "x".repeat(size));
        let got = app
            .raw(
                "POST",
                "/api/moderation/comments/1/hide/",
                Some(&admin),
                "application/json",
                body.clone().into_bytes(),
            )
            .await;
        assert_error(&got, 413, "too_large");
        // Signing out everywhere reads no body and may answer before the
        // upload ends, revoking the token the rest of the loop uses.
        for (method, path) in write_endpoints()
            .into_iter()
            .filter(|(_, path)| path != "/api/auth/logout-all/")
        {
            let got = app
                .raw(
                    &method,
                    &path,
                    Some(&admin),
                    "application/json",
                    body.clone().into_bytes(),
                )
                .await;
            assert_ne!(
                got.0.as_u16(),
                400,
                "{method} {path} ({size} bytes): {}",
                got.1
            );
        }
    }
}

#[actix_rt::test]
async fn metrics_need_the_metrics_token_when_set() {
    let app = TestApp::with_config(test_config_with(
        fresh_database(),
        &[("METRICS_TOKEN", "scrape-me-please".to_string())],
    ))
    .await;
    assert_error(&app.get("/metrics", None).await, 401, "unauthorized");
    assert_error(
        &app.get("/metrics", Some("not-the-token")).await,
        401,
        "unauthorized",
    );
    let (status, text) = app.get("/metrics", Some("scrape-me-please")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.as_str()
            .unwrap_or_default()
            .contains("ringside_up_seconds"),
        "{text}"
    );
    // Without the setting, /metrics stays open (a private network's scraper).
    let open = TestApp::spawn().await;
    assert_eq!(open.get("/metrics", None).await.0, StatusCode::OK);
}
