use std::collections::HashMap;
use std::time::{Duration, Instant};

use awc::http::StatusCode;
use awc::ws::{CloseCode, CloseReason, Message};
use serde_json::Value;

use crate::comments::{comment, watch_comments};
use crate::harness::{fresh_database, test_config, TestApp};
use crate::live_ws::live_event;
use crate::ws_client::{Ended, WsClient, PATIENCE};

/// `/metrics` as series → value (`name{labels}` exactly as rendered).
pub(crate) async fn scrape(app: &TestApp) -> HashMap<String, f64> {
    let mut resp = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    let text =
        String::from_utf8(resp.body().limit(1 << 22).await.expect("body").to_vec()).expect("utf-8");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

pub(crate) fn value(m: &HashMap<String, f64>, series: &str) -> f64 {
    m.get(series).copied().unwrap_or(0.0)
}

/// How much `series` moved between two scrapes.
pub(crate) fn moved(
    before: &HashMap<String, f64>,
    after: &HashMap<String, f64>,
    series: &str,
) -> f64 {
    value(after, series) - value(before, series)
}

/// Scrapes until `ok` holds (gauges that rooms report each viewer interval).
pub(crate) async fn scrape_until(
    app: &TestApp,
    ok: impl Fn(&HashMap<String, f64>) -> bool,
) -> HashMap<String, f64> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let m = scrape(app).await;
        if ok(&m) {
            return m;
        }
        assert!(Instant::now() < deadline, "never held: {m:?}");
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A live night's traffic moves the series an operator watches: sessions
/// and subscriptions by kind, frames, closes by code, fan-out latency,
/// persistence batches, comment and rate-limit refusals. The live series
/// are per process and other tests run beside this one, so it checks how
/// far they moved, at least.
#[actix_rt::test]
async fn live_traffic_moves_the_operators_series() {
    let mut config = test_config(fresh_database());
    config.live.comment_rate_limit = 2; // a burst of one
    config.live.max_connections_per_user = 1;
    let app = TestApp::with_config(config).await;
    let (_, event, _) = live_event(&app).await;
    let (fan, _) = app.register("fan@ringside.test").await;
    let before = scrape(&app).await;

    let mut watcher = watch_comments(&app, event, Some(&fan)).await;
    let during = scrape_until(&app, |m| {
        value(m, r#"ringside_ws_subscriptions{kind="comments"}"#) >= 1.0
    })
    .await;
    assert!(
        value(
            &during,
            r#"ringside_ws_sessions{kind="comments",transport="websocket"}"#
        ) >= 1.0
    );
    assert!(
        moved(&before, &during, "ringside_ws_frames_sent_total") >= 2.0,
        "welcome, subscribed"
    );

    // One comment goes through and out to the watcher; the next is refused.
    let (status, posted) = comment(&app, &fan, event, "What a jab!", None).await;
    assert_eq!(status, StatusCode::CREATED, "{posted}");
    loop {
        let f = crate::comments::next_comment_frame(&mut watcher).await;
        if f["type"] == "comment" {
            break;
        }
    }
    let (status, _) = comment(&app, &fan, event, "And another!", None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _) = comment(&app, &fan, event, "", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Past the per-user connection limit: a policy close.
    let mut second = WsClient::connect(&app, &format!("/api/live/comments/{event}/?token={fan}"))
        .await
        .expect("upgraded");
    assert_eq!(second.ended().await, Ended::Closed(Some(1008)));
    // The watcher says goodbye.
    watcher
        .send_message(Message::Close(Some(CloseReason::from(CloseCode::Normal))))
        .await;
    assert_eq!(watcher.ended().await, Ended::Closed(Some(1000)));

    let after = scrape_until(&app, |m| {
        moved(
            &before,
            m,
            r#"ringside_ws_closes_total{code="1000",initiator="client"}"#,
        ) >= 1.0
    })
    .await;
    for (series, at_least) in [
        (
            r#"ringside_ws_closes_total{code="1008",initiator="server"}"#,
            1.0,
        ),
        ("ringside_fanout_seconds_count", 1.0),
        (
            r#"ringside_persistence_batch_size_count{writer="live"}"#,
            1.0,
        ),
        (
            r#"ringside_comment_refusals_total{reason="rate_limited"}"#,
            1.0,
        ),
        (r#"ringside_rate_limited_total{kind="comment"}"#, 1.0),
    ] {
        assert!(
            moved(&before, &after, series) >= at_least,
            "{series}: {} → {}",
            value(&before, series),
            value(&after, series)
        );
    }
    let refusals: f64 = after
        .iter()
        .filter(|(k, _)| k.starts_with("ringside_comment_refusals_total"))
        .map(|(k, v)| v - value(&before, k))
        .sum();
    assert!(refusals >= 2.0, "rate limit and the empty comment");

    // The upgrades have their own latency series, not the REST one.
    let route = r#"route="/api/live/comments/{id}/""#;
    assert!(
        value(
            &after,
            &format!("ringside_ws_upgrade_duration_seconds_count{{{route}}}")
        ) >= 2.0
    );
    assert!(
        !after.contains_key(&format!(
            r#"ringside_http_request_duration_seconds_count{{method="GET",{route}}}"#
        )),
        "upgrades stay out of the REST histogram"
    );
    assert!(after.contains_key(&format!(
        r#"ringside_http_requests_total{{method="GET",{route},status="101"}}"#
    )));

    // The process and the build.
    assert!(value(&after, "process_resident_memory_bytes") > 0.0);
    assert!(value(&after, "process_open_fds") > 0.0);
    assert!(value(&after, "process_cpu_seconds_total") > 0.0);
    assert!(
        after
            .keys()
            .any(|k| k.starts_with("ringside_build_info{") && k.contains(env!("CARGO_PKG_VERSION"))),
        "build info"
    );
    assert_eq!(value(&after, r#"ringside_bus_up{mode="local"}"#), 1.0);
    assert_eq!(
        value(&after, r#"ringside_push_outbox{status="pending"}"#),
        0.0
    );
    assert!(after.contains_key(r#"ringside_persistence_queue_limit{writer="live"}"#));
}

/// Every answer names its request: the caller's sane `X-Request-Id`, or a
/// fresh one.
#[actix_rt::test]
async fn requests_carry_an_id() {
    let app = TestApp::spawn().await;
    let id_of = |resp: &awc::ClientResponse<_>| {
        resp.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let resp = app
        .client
        .get(app.url("/healthz"))
        .insert_header(("X-Request-Id", "lb-1234:abcd"))
        .send()
        .await
        .expect("sent");
    assert_eq!(id_of(&resp).as_deref(), Some("lb-1234:abcd"));
    let fresh = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("sent");
    let fresh = id_of(&fresh).expect("an id");
    assert_eq!(fresh.len(), 16);
    assert!(fresh.bytes().all(|b| b.is_ascii_hexdigit()));
    // An id nobody should log is replaced; errors carry one too.
    let resp = app
        .client
        .get(app.url("/api/live/events/12345/"))
        .insert_header(("X-Request-Id", "x".repeat(200)))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(id_of(&resp).map(|id| id.len()), Some(16));
}

/// The real binary with `LOG_FORMAT=json`: one JSON object a line, the
/// request line with its id, route pattern, status, latency, user and
/// client; and no colour codes (stderr is a file).
#[actix_rt::test]
async fn the_request_log_is_one_json_object_a_line() {
    let db = fresh_database();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let log = std::env::temp_dir().join(format!("ringside-ops-log-{port}.log"));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ringside"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db)
        .env("RINGSIDE_BIND", format!("127.0.0.1:{port}"))
        .env("RINGSIDE_WORKERS", "1")
        .env("DATABASE_POOL_SIZE", "3")
        .env("RINGSIDE_ADMIN_EMAIL", crate::harness::ADMIN_EMAIL)
        .env("RINGSIDE_ADMIN_PASSWORD", crate::harness::ADMIN_PASSWORD)
        .env(
            "RINGSIDE_SECRET_KEY",
            "test-secret-key-of-at-least-32-bytes!",
        )
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "warn,ringside::http=info")
        .current_dir(std::env::temp_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("start the server binary");
    let app = TestApp::at(format!("http://127.0.0.1:{port}"), db);
    let deadline = Instant::now() + PATIENCE;
    while !app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            Instant::now() < deadline,
            "the server never came up; see {log:?}"
        );
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, admin) = app
        .login(crate::harness::ADMIN_EMAIL, crate::harness::ADMIN_PASSWORD)
        .await;
    let token = admin["token"].as_str().expect("token").to_string();
    let admin_id = admin["user"]["id"].as_i64().expect("id");
    let resp = app
        .client
        .get(app.url("/api/auth/me/"))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("X-Request-Id", "ops-log-test-1"))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);

    let deadline = Instant::now() + PATIENCE;
    let (text, line) = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let line = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["request_id"] == "ops-log-test-1");
        if line.is_some() || Instant::now() > deadline {
            break (text, line);
        }
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    };
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
    let line = line.unwrap_or_else(|| panic!("no request line in {text}"));
    assert!(
        !text.contains('\u{1b}'),
        "no colour codes in a file: {text}"
    );
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            serde_json::from_str::<Value>(l).is_ok(),
            "not one JSON object: {l}"
        );
    }
    assert_eq!(line["target"], "ringside::http", "{line}");
    assert_eq!(line["method"], "GET", "{line}");
    assert_eq!(line["route"], "/api/auth/me/", "{line}");
    assert_eq!(line["path"], "/api/auth/me/", "{line}");
    assert_eq!(line["status"], 200, "{line}");
    assert_eq!(line["user_id"], admin_id, "{line}");
    assert_eq!(line["client"], "127.0.0.1", "{line}");
    assert!(
        line["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{line}"
    );
}

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
    assert!(text.contains("ringside_rooms 0"), "live gauges: {text}");
    assert!(
        text.contains(r#"ringside_ws_sessions{kind="event",transport="sse"}"#),
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

/// The WebSocket protocol's AsyncAPI document names every client op and
/// every frame type the server sends, with the error and close codes.
#[actix_rt::test]
async fn the_asyncapi_document_describes_the_websocket_protocol() {
    let app = TestApp::spawn().await;
    let (status, doc) = app.get("/api/asyncapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["asyncapi"], "3.0.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let channels = doc["channels"].as_object().expect("channels");
    let addresses: Vec<&str> = channels
        .values()
        .filter_map(|c| c["address"].as_str())
        .collect();
    for address in [
        "/api/live/events/{id}/",
        "/api/live/fights/{id}/",
        "/api/live/comments/{id}/",
        "/api/live/notifications/",
        "event:{id}",
        "fight:{id}",
        "comments:{id}",
        "user:{id}",
        "news",
        "rankings",
        "rankings:{division}",
    ] {
        assert!(addresses.contains(&address), "channel {address} missing");
    }
    let operations = doc["operations"].as_object().expect("operations");
    let messages = doc["components"]["messages"].as_object().expect("messages");
    // What each operation carries, by its action: the ops sent, the frame types received.
    let carried = |action: &str| -> Vec<String> {
        operations
            .values()
            .filter(|o| o["action"] == action)
            .flat_map(|o| o["messages"].as_array().cloned().unwrap_or_default())
            .filter_map(|m| {
                let pointer = m["$ref"].as_str()?.trim_start_matches('#').to_string();
                let message = doc.pointer(&pointer)?;
                let message = match message["$ref"].as_str() {
                    Some(to) => doc.pointer(to.trim_start_matches('#'))?,
                    None => message,
                };
                let payload = &message["payload"]["properties"];
                let name = payload["op"]["const"]
                    .as_str()
                    .or(payload["type"]["const"].as_str());
                name.map(str::to_string)
            })
            .collect()
    };
    let sent = carried("send");
    for op in [
        "subscribe",
        "unsubscribe",
        "ping",
        "comment",
        "react",
        "vote",
    ] {
        assert!(sent.iter().any(|s| s == op), "op {op} not a send operation");
    }
    let received = carried("receive");
    for frame in [
        "welcome",
        "subscribed",
        "unsubscribed",
        "update",
        "event_state",
        "fight_state",
        "comment",
        "comment_removed",
        "slow_mode",
        "poll",
        "ranking",
        "notification",
        "update_pending",
        "update_reviewed",
        "queue",
        "skipped",
        "viewers",
        "reactions",
        "presence",
        "unread",
        "broadcast",
        "resync",
        "pong",
        "ack",
        "error",
        "close",
    ] {
        assert!(
            received.iter().any(|r| r == frame),
            "frame {frame} not a receive operation"
        );
    }
    assert_eq!(messages.len(), 6 + 26, "a message the test does not know");
    let codes = doc["components"]["schemas"]["ErrorCode"].to_string();
    for code in [
        "bad_request",
        "unauthorized",
        "forbidden",
        "not_found",
        "rate_limited",
        "too_large",
        "muted",
        "banned",
        "slow_mode",
        "room_full",
        "unavailable",
    ] {
        assert!(codes.contains(&format!("\"{code}\"")), "error code {code}");
    }
    let closes: Vec<u64> = doc["x-close-codes"]
        .as_array()
        .expect("close codes")
        .iter()
        .filter_map(|c| c["code"].as_u64())
        .collect();
    for code in [1000, 1002, 1007, 1008, 1009, 1011, 1012, 4000, 4001] {
        assert!(closes.contains(&code), "close code {code}");
    }
    let description = doc["info"]["description"].as_str().unwrap_or_default();
    assert!(description.contains("| 4001 |"), "close codes in the prose");
}

/// The shipped dashboard and alert rules name only series the server
/// serves (so a rename cannot leave them silently empty).
#[actix_rt::test]
async fn dashboard_and_alerts_use_served_series() {
    let app = TestApp::spawn().await;
    app.get("/healthz", None).await;
    let mut resp = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("sent");
    let text =
        String::from_utf8(resp.body().limit(1 << 22).await.expect("body").to_vec()).expect("utf-8");
    let served: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let root = env!("CARGO_MANIFEST_DIR");
    for file in ["ops/grafana/ringside.json", "ops/prometheus/alerts.yml"] {
        let body = std::fs::read_to_string(format!("{root}/{file}")).expect("shipped file");
        if file.ends_with(".json") {
            serde_json::from_str::<Value>(&body).expect("the dashboard is JSON");
        }
        let mut named = 0;
        for prefix in ["ringside_", "process_"] {
            for (at, _) in body.match_indices(prefix) {
                // Only whole names: not inside another word.
                if body[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    continue;
                }
                let name: String = body[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s).filter(|f| served.contains(f)))
                    .unwrap_or(&name);
                assert!(served.contains(&family), "{file} names {name}, not served");
                named += 1;
            }
        }
        assert!(named > 5, "{file} names the series");
    }
}

/// A path pattern with its parameters' names dropped: `/a/{id}/` → `/a/{}/`.
fn shape(path: &str) -> Vec<String> {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                "{}".to_string()
            } else {
                seg.to_string()
            }
        })
        .collect()
}

/// Whether the served pattern answers the documented path (a served
/// parameter may stand for a documented literal, as `{decision}` does for
/// `hide`, `delete` and `restore`).
fn serves(served: &[String], documented: &[String]) -> bool {
    served.len() == documented.len()
        && served
            .iter()
            .zip(documented)
            .all(|(s, d)| s == d || s == "{}")
}

/// The routes the server registers and the operations its OpenAPI document
/// describes are the same: nothing served is undocumented, nothing
/// documented is missing, method by method.
#[actix_rt::test]
async fn every_served_route_is_documented_and_every_documented_route_served() {
    let app = TestApp::spawn().await;
    let (status, doc) = app.get("/api/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    // Web surfaces (HTML pages, DESIGN §11) are not part of the API.
    let served: Vec<(Vec<String>, String)> = ringside::http::registered_routes()
        .into_iter()
        .filter(|(path, _)| !ringside::http::is_web_surface(path))
        .flat_map(|(path, methods)| {
            let shaped = shape(&path);
            methods
                .into_iter()
                .map(move |m| (shaped.clone(), m.to_lowercase()))
        })
        .collect();
    assert!(served.len() > 50, "routes registered: {served:?}");
    let documented: Vec<(Vec<String>, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            let shaped = shape(path);
            item.as_object()
                .expect("path item")
                .keys()
                .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
                .map(move |m| (shaped.clone(), m.clone()))
        })
        .collect();
    let mut drift = Vec::new();
    for (path, method) in &served {
        if !documented
            .iter()
            .any(|(d, m)| m == method && serves(path, d))
        {
            drift.push(format!("served, undocumented: {method} {}", path.join("/")));
        }
    }
    for (path, method) in &documented {
        if !served.iter().any(|(s, m)| m == method && serves(s, path)) {
            drift.push(format!(
                "documented, not served: {method} {}",
                path.join("/")
            ));
        }
    }
    assert!(drift.is_empty(), "{drift:#?}");
}

/// The schema at `reference` (`#/components/schemas/X`).
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => resolve(
            doc,
            doc.pointer(r.trim_start_matches('#'))
                .expect("the $ref exists"),
        ),
        None => schema,
    }
}

/// Fields of `value` that `schema` does not describe, as JSON paths.
fn undocumented(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    let mut properties = serde_json::Map::new();
    let mut items = schema.get("items");
    for part in std::iter::once(schema).chain(
        schema["allOf"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| resolve(doc, s)),
    ) {
        if let Some(p) = part["properties"].as_object() {
            properties.extend(p.clone());
        }
        items = items.or(part.get("items"));
    }
    match value {
        Value::Object(fields) if !properties.is_empty() => {
            for (key, field) in fields {
                match properties.get(key) {
                    Some(s) => undocumented(doc, s, field, &format!("{at}.{key}"), out),
                    None => out.push(format!("{at}.{key}")),
                }
            }
        }
        Value::Array(elements) => {
            if let Some(items) = items {
                for e in elements {
                    undocumented(doc, items, e, &format!("{at}[]"), out);
                }
            }
        }
        _ => {}
    }
}

/// The live answers clients read most carry only documented fields.
#[actix_rt::test]
async fn live_snapshots_carry_only_documented_fields() {
    let app = TestApp::spawn().await;
    let (admin, event, fights) = live_event(&app).await;
    // An open poll, so the snapshot's `polls` has an element to check.
    let (status, poll) = app
        .post(
            "/api/live/polls/",
            Some(&admin),
            serde_json::json!({ "live_event": event, "question": "Who wins?", "options": ["Red", "Blue"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{poll}");
    let (status, _) = app
        .post(
            &format!("/api/live/polls/{}/open/", poll["id"]),
            Some(&admin),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, doc) = app.get("/api/openapi.json", None).await;
    let mut out = Vec::new();
    for (template, concrete) in [
        (
            "/api/live/events/".to_string(),
            "/api/live/events/".to_string(),
        ),
        (
            "/api/live/events/{id}/".into(),
            format!("/api/live/events/{event}/"),
        ),
        (
            "/api/live/fights/{id}/".into(),
            format!("/api/live/fights/{}/", fights[0]),
        ),
    ] {
        let (status, body) = app.get(&concrete, None).await;
        assert_eq!(status, StatusCode::OK, "{concrete}: {body}");
        let schema = &doc["paths"][&template]["get"]["responses"]["200"]["content"]
            ["application/json"]["schema"];
        assert!(schema.is_object(), "{template} documents its answer");
        undocumented(&doc, schema, &body, &template, &mut out);
    }
    assert!(out.is_empty(), "undocumented fields: {out:#?}");
}

/// `/docs/` is the API reference over `/api/openapi.json`, served whole by
/// the server: every script and stylesheet it loads comes from the server
/// itself, and each is served.
#[actix_rt::test]
async fn the_docs_page_loads_only_from_the_server() {
    let app = TestApp::spawn().await;
    let fetch = |path: String| {
        let app = &app;
        async move {
            let mut resp = app.client.get(app.url(&path)).send().await.expect("sent");
            let status = resp.status();
            let content_type = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let body = resp.body().limit(1 << 23).await.expect("body").to_vec();
            (status, content_type, body)
        }
    };
    let (status, content_type, page) = fetch("/docs/".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = String::from_utf8(page).expect("utf-8");
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "{page}"
    );
    // Every src= and href= is a path on this server.
    let mut loaded = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for (at, _) in page.match_indices(attr) {
            let rest = &page[at + attr.len()..];
            let url = &rest[..rest.find('"').expect("closed")];
            assert!(url.starts_with('/') && !url.starts_with("//"), "{url}");
            loaded.push(url.to_string());
        }
    }
    assert!(loaded.iter().any(|u| u.ends_with(".js")), "{loaded:?}");
    assert!(loaded.iter().any(|u| u.ends_with(".css")), "{loaded:?}");
    for url in loaded {
        let (status, content_type, body) = fetch(url.clone()).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        assert!(!body.is_empty(), "{url}");
        let wanted = if url.ends_with(".css") {
            "text/css"
        } else {
            "text/javascript"
        };
        assert!(content_type.starts_with(wanted), "{url}: {content_type}");
    }
    // The page's own script points Swagger UI at the served document, with
    // no validator (which would call out to another host).
    let (_, _, init) = fetch("/docs/init.js".into()).await;
    let init = String::from_utf8(init).expect("utf-8");
    assert!(init.contains("\"/api/openapi.json\""), "{init}");
    assert!(init.contains("validatorUrl: null"), "{init}");
    // Without the slash, a redirect to the page.
    assert_eq!(
        app.permanent_redirect("/docs").await.as_deref(),
        Some("/docs/")
    );
}

/// `/docs/` renders in a real headless Chromium that can reach no host but
/// this server: the title, and every documented path, are on the page.
#[actix_rt::test]
async fn the_docs_page_renders_in_a_browser_without_the_network() {
    let app = TestApp::spawn().await;
    let (_, doc) = app.get("/api/openapi.json", None).await;
    let documented: std::collections::BTreeSet<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .cloned()
        .collect();
    let url = app.url("/docs/");
    let profile = std::env::temp_dir().join(format!("ringside-chromium-{}", std::process::id()));
    let dom = tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new("timeout")
            .arg("90")
            .arg(chromium())
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                // Any host but this one fails to resolve: nothing may come from elsewhere.
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                // Run the page's scripts (and its fetch of the document) to rest.
                "--virtual-time-budget=20000",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(&url)
            .output()
            .expect("chromium runs (scripts/test.sh installs it)");
        let _ = std::fs::remove_dir_all(&profile);
        assert!(
            out.status.success(),
            "chromium: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 DOM")
    })
    .await
    .expect("joined");
    assert!(dom.contains(">Ringside API<"), "the title is rendered");
    assert!(
        !dom.contains("Failed to load API definition"),
        "the document loaded"
    );
    let rendered: std::collections::BTreeSet<String> = dom
        .match_indices("data-path=\"")
        .map(|(at, m)| {
            let rest = &dom[at + m.len()..];
            rest[..rest.find('"').expect("closed")].to_string()
        })
        .collect();
    assert_eq!(rendered, documented, "every documented path is on the page");
}

/// The Chromium binary: `CHROMIUM` or Debian's.
fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into())
}

/// What `/api/openapi.json` serves is the document generated from the code.
#[actix_rt::test]
async fn the_served_document_is_the_generated_one() {
    let app = TestApp::spawn().await;
    let (status, served) = app.get("/api/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(served, ringside::http::openapi::generated());
    assert!(served["info"]["description"]
        .as_str()
        .is_some_and(|d| d.contains("Conventions")));
}
