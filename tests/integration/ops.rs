use awc::http::StatusCode;

use crate::harness::TestApp;

#[actix_rt::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get("/healthz", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    let (status, body) = app.get("/readyz", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["database"], "ok");

    // Traffic shows up under its route pattern, not its raw path.
    for _ in 0..3 {
        app.get("/api/live/events/12345/", None).await;
    }
    let mut resp = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    let text = String::from_utf8(resp.body().await.expect("body").to_vec()).expect("utf-8");
    assert!(
        text.contains(r#"ringside_http_requests_total{method="GET",route="/api/live/events/{id}/",status="404"} 3"#),
        "{text}"
    );
    assert!(
        text.contains("ringside_http_request_duration_seconds_bucket{"),
        "{text}"
    );
    assert!(
        text.contains("ringside_db_connections{state=\"open\"}"),
        "{text}"
    );
    assert!(
        text.contains("ringside_ws_sessions 0"),
        "live gauges: {text}"
    );
}

#[actix_rt::test]
async fn readiness_fails_when_the_database_is_gone() {
    let mut config = crate::harness::test_config(crate::harness::fresh_database());
    let db_name = config.database_url.clone().expect("url");
    let db_name = db_name
        .split('/')
        .nth(3)
        .and_then(|s| s.split('?').next())
        .expect("db name")
        .to_string();
    config.database_pool_size = 1;
    let app = TestApp::with_config(config).await;
    assert_eq!(app.get("/readyz", None).await.0, StatusCode::OK);
    // Drop the database under the server's feet (terminating its sessions).
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let mut conn =
        PgConnection::establish(&crate::harness::cluster().url("postgres")).expect("connect");
    diesel::sql_query(format!("DROP DATABASE {db_name} WITH (FORCE)"))
        .execute(&mut conn)
        .expect("drop");
    let got = app.get("/readyz", None).await;
    crate::harness::assert_error(&got, 503, "unavailable");
}

#[actix_rt::test]
async fn the_openapi_document_describes_every_route() {
    let app = TestApp::spawn().await;
    let (status, doc) = app.get("/api/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"]
        .as_str()
        .unwrap_or_default()
        .starts_with("3."));
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 20, "only {} paths documented", paths.len());
    // Every documented operation exists on the server: calling it never
    // lands on "no route" (a documented path the server lacks).
    for (path, ops) in paths {
        let concrete = path.replace("{id}", "999999");
        let methods = ops
            .as_object()
            .expect("path item")
            .keys()
            .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()));
        for method in methods {
            let (_, body) = app
                .call(&method.to_uppercase(), &concrete, None, None)
                .await;
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(
                !message.starts_with("no route"),
                "{method} {path} is documented but not served"
            );
            assert_ne!(
                body["error"]["code"], "method_not_allowed",
                "{method} {path}"
            );
        }
    }
}
