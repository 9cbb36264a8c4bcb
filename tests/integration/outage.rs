//! PostgreSQL away mid-event: a durable write is answered 503 `unavailable`
//! with `Retry-After` within `DATABASE_TIMEOUT`, is never applied later,
//! viewers stay connected, and everything resumes when the database is back.
//! Each test runs its own PostgreSQL, to freeze or stop it.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use awc::http::StatusCode;
use diesel::{Connection, PgConnection, RunQueryDsl};
use ringside::embedded_postgres::{EmbeddedPostgres, Options};
use serde_json::{json, Value};

use crate::harness::{fresh_database, test_config_with, TestApp};
use crate::live_ws::{live_event, news as update, post_keyed, post_update, watch};
use crate::ws_client::WsClient;

/// A request's bound on the database in these tests.
const TIMEOUT_MS: u64 = 1500;

/// A PostgreSQL of the test's own, with a migrated `ringside` database.
struct OwnPostgres {
    pg: EmbeddedPostgres,
    options: Options,
}

impl OwnPostgres {
    fn start(name: &str) -> (OwnPostgres, String) {
        let data_dir = std::env::temp_dir().join(format!(
            "ringside-tests-{}-outage-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&data_dir);
        let options = Options {
            data_dir: PathBuf::from(&data_dir),
            durable: false,
            max_connections: 40,
        };
        let pg = EmbeddedPostgres::start(&options).expect("own PostgreSQL starts");
        pg.ensure_database("ringside").expect("database");
        let url = pg.url("ringside");
        let mut conn = PgConnection::establish(&url).expect("connect");
        ringside::db::run_migrations(&mut conn).expect("migrate");
        (OwnPostgres { pg, options }, url)
    }

    /// SIGSTOP (or SIGCONT) the postmaster and every backend: connections
    /// stay open and nothing answers, as with a database host that hangs.
    /// (Each backend leads its own process group, so one by one; the
    /// postmaster first, so it forks no new one meanwhile.)
    fn freeze(&self, frozen: bool) {
        let postmaster = self.pg.pid().expect("started by this test") as i32;
        let signal = if frozen { libc::SIGSTOP } else { libc::SIGCONT };
        let mut pids = vec![postmaster];
        pids.extend(children_of(postmaster));
        for pid in pids {
            // SAFETY: kill(2) on our own PostgreSQL's processes.
            assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "signal {pid}");
        }
    }

    fn stop(&mut self) {
        self.pg.stop();
    }

    fn restart(&mut self) {
        self.pg = EmbeddedPostgres::start(&self.options).expect("PostgreSQL restarts");
    }
}

/// The pids whose parent is `parent` (from /proc).
fn children_of(parent: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            // The field after the parenthesised name: state, then ppid.
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let rest = stat.rsplit_once(')')?.1.to_string();
                    rest.split_whitespace().nth(1)?.parse::<i32>().ok()
                })
                == Some(parent)
        })
        .collect()
}

/// Asserts a 503 `unavailable` with a `Retry-After`, answered within the bound.
async fn refused_in_time(app: &TestApp, token: &str, path: &str, body: Value) {
    let started = Instant::now();
    let (status, headers, body) = app.post_with(path, Some(token), &[], body).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    let retry: u64 = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!(retry >= 1, "{retry}");
    // The bound, with room for a loaded machine; without one the answer
    // never came at all.
    assert!(
        started.elapsed() < Duration::from_millis(TIMEOUT_MS) + Duration::from_secs(3),
        "answered after {:?}",
        started.elapsed()
    );
}

/// Posts `title` until the database takes it again (each try is bounded).
async fn post_when_back(app: &TestApp, token: &str, event: i64, title: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, _, body) = app
            .post_with("/api/live/updates/", Some(token), &[], update(event, title))
            .await;
        match status {
            StatusCode::CREATED => return body,
            StatusCode::SERVICE_UNAVAILABLE if Instant::now() < deadline => {
                actix_rt::time::sleep(Duration::from_millis(200)).await;
            }
            other => panic!("{other}: {body}"),
        }
    }
}

/// The database is back: the next write lands, and the viewer, still
/// connected, gets it right after `before`: nothing of the outage (the
/// updates titled "during") was applied or sent.
async fn resumed_right_after(
    app: &TestApp,
    admin: &str,
    event: i64,
    viewer: &mut WsClient,
    before: &Value,
    url: &str,
) {
    post_when_back(app, admin, event, "after").await;
    let after = viewer.next_durable().await;
    assert_eq!(after["data"]["title"], "after", "{after}");
    assert_eq!(
        after["seq"].as_i64(),
        before["seq"].as_i64().map(|s| s + 1),
        "{before} then {after}"
    );
    let during = "SELECT count(*) AS n FROM live_updates WHERE title = 'during'";
    assert_eq!(count(url, during), 0);
}

fn count(url: &str, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = PgConnection::establish(url).expect("connect");
    diesel::sql_query(sql)
        .get_result::<N>(&mut conn)
        .expect("count")
        .n
}

#[actix_rt::test]
async fn a_frozen_database_answers_writes_in_time_and_applies_none_of_them_later() {
    let (own, url) = OwnPostgres::start("frozen");
    let app = TestApp::with_config(test_config_with(
        url.clone(),
        &[("DATABASE_TIMEOUT_MS", TIMEOUT_MS.to_string())],
    ))
    .await;
    let (admin, event, _) = live_event(&app).await;
    let (fan, _) = app.register("fan@ringside.test").await;
    let (mut viewer, _) = watch(&app, event, "").await;
    post_update(&app, &admin, event, "before").await;
    let before = viewer.next_durable().await;
    assert_eq!(before["data"]["title"], "before", "{before}");

    own.freeze(true);
    refused_in_time(&app, &admin, "/api/live/updates/", update(event, "during")).await;
    // The reporter's app sends its key; the 503 keeps nothing against it.
    let key = [("Idempotency-Key", "reporter-retry-1")];
    let (status, _, body) = post_keyed(&app, &admin, key[0].1, update(event, "keyed")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    refused_in_time(
        &app,
        &fan,
        "/api/live/comments/",
        json!({ "live_event": event, "live_fight": null, "content": "during", "parent_comment": null }),
    )
    .await;
    own.freeze(false);

    resumed_right_after(&app, &admin, event, &mut viewer, &before, &url).await;
    assert_eq!(
        count(
            &url,
            "SELECT count(*) AS n FROM live_comments WHERE content = 'during'"
        ),
        0
    );
    // The retry with the same key runs anew, once.
    let (status, headers, body) = app
        .post_with(
            "/api/live/updates/",
            Some(&admin),
            &key,
            update(event, "keyed"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(headers.get("idempotent-replayed").is_none());
    assert_eq!(
        count(
            &url,
            "SELECT count(*) AS n FROM live_updates WHERE title = 'keyed'"
        ),
        1
    );
}

#[actix_rt::test]
async fn a_stopped_database_refuses_writes_in_time_and_viewers_resume_when_it_returns() {
    let (mut own, url) = OwnPostgres::start("stopped");
    let app = TestApp::with_config(test_config_with(
        url.clone(),
        &[("DATABASE_TIMEOUT_MS", TIMEOUT_MS.to_string())],
    ))
    .await;
    let (admin, event, _) = live_event(&app).await;
    let (mut viewer, _) = watch(&app, event, "").await;
    post_update(&app, &admin, event, "before").await;
    let before = viewer.next_durable().await;

    own.stop();
    refused_in_time(&app, &admin, "/api/live/updates/", update(event, "during")).await;
    refused_in_time(&app, &admin, "/api/live/updates/", update(event, "during")).await;
    own.restart();

    resumed_right_after(&app, &admin, event, &mut viewer, &before, &url).await;
}

#[test]
fn the_commit_fence_refuses_a_commit_reached_after_its_moment() {
    let url = fresh_database();
    let mut conn = PgConnection::establish(&url).expect("connect");
    let insert = "INSERT INTO divisions (name, weight_limit_lbs) VALUES ('Fenced', 125)";
    let late = conn.transaction::<_, diesel::result::Error, _>(|c| {
        ringside::db::fence::arm(c, SystemTime::now() + Duration::from_millis(200))?;
        diesel::sql_query(insert).execute(c)?;
        // The moment passes while the transaction is open, as when the
        // database froze before COMMIT.
        std::thread::sleep(Duration::from_millis(400));
        Ok(())
    });
    let message = late.expect_err("refused at COMMIT").to_string();
    assert!(
        message.starts_with(ringside::db::fence::REFUSAL),
        "{message}"
    );
    let fenced = "SELECT count(*) AS n FROM divisions WHERE name = 'Fenced'";
    assert_eq!(count(&url, fenced), 0, "nothing of it applied");

    conn.transaction::<_, diesel::result::Error, _>(|c| {
        ringside::db::fence::arm(c, SystemTime::now() + Duration::from_secs(5))?;
        diesel::sql_query(insert).execute(c)?;
        Ok(())
    })
    .expect("in time");
    assert_eq!(count(&url, fenced), 1);
    assert_eq!(
        count(&url, "SELECT count(*) AS n FROM commit_fences"),
        0,
        "the fence leaves no row behind"
    );
}
