//! The test harness: one real PostgreSQL per test process (started by the same
//! code as the server's embedded default), a migrated template database, one
//! database per test cloned from it, and the real server on a random port.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, OnceLock};

use awc::http::StatusCode;
use diesel::{Connection, PgConnection, RunQueryDsl};
use ringside::config::Config;
use ringside::db::Db;
use ringside::embedded_postgres::{EmbeddedPostgres, Options};
use serde_json::{json, Value};

pub const ADMIN_EMAIL: &str = "admin@ringside.test";
pub const ADMIN_PASSWORD: &str = "admin-password-1";
const TEMPLATE: &str = "ringside_template";

/// The cluster's URL for a database name.
pub struct Cluster {
    url_base: Box<dyn Fn(&str) -> String + Send + Sync>,
}

impl Cluster {
    pub fn url(&self, database: &str) -> String {
        (self.url_base)(database)
    }
}

/// Starts the cluster on first use. It lives on a parked thread for the
/// whole test process and stops when the process exits (the postmaster gets
/// SIGINT when that thread dies).
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("ringside-tests-{}", std::process::id()));
        remove_stale_dirs();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let started = EmbeddedPostgres::start(&Options {
                data_dir: dir,
                durable: false,
                max_connections: 300,
            });
            match started {
                Ok(pg) => {
                    let pg = Arc::new(pg);
                    let urls = pg.clone();
                    tx.send(Ok(Box::new(move |db: &str| urls.url(db))
                        as Box<dyn Fn(&str) -> String + Send + Sync>))
                        .ok();
                    loop {
                        std::thread::park();
                    }
                }
                Err(e) => {
                    tx.send(Err(e.to_string())).ok();
                }
            }
        });
        let url_base = rx
            .recv()
            .expect("cluster thread answered")
            .unwrap_or_else(|e| panic!("starting the test PostgreSQL: {e}"));
        let cluster = Cluster { url_base };
        let mut conn =
            PgConnection::establish(&cluster.url("postgres")).expect("connect to postgres");
        diesel::sql_query(format!("CREATE DATABASE {TEMPLATE}"))
            .execute(&mut conn)
            .expect("create template");
        let mut template =
            PgConnection::establish(&cluster.url(TEMPLATE)).expect("connect to template");
        ringside::db::run_migrations(&mut template).expect("migrate template");
        cluster
    })
}

/// Clusters of test processes that are gone (killed before cleaning up).
fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("ringside-tests-"))
        else {
            continue;
        };
        let Ok(pid) = pid.parse::<i32>() else {
            continue;
        };
        // SAFETY: signal 0 only checks whether the process exists.
        if pid != std::process::id() as i32 && unsafe { libc::kill(pid, 0) } != 0 {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A fresh database cloned from the migrated template.
pub fn fresh_database() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let cluster = cluster();
    let name = format!("test_{}", COUNTER.fetch_add(1, Ordering::SeqCst));
    let mut conn = PgConnection::establish(&cluster.url("postgres")).expect("connect");
    diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
        .execute(&mut conn)
        .expect("clone template");
    cluster.url(&name)
}

/// Settings for a test server; change fields before `TestApp::with_config`.
pub fn test_config(database_url: String) -> Config {
    test_config_with(database_url, &[])
}

/// [`test_config`] with more variables (they win over the defaults here).
pub fn test_config_with(database_url: String, extra: &[(&str, String)]) -> Config {
    let vars = [
        ("DATABASE_URL", database_url),
        ("RINGSIDE_BIND", "127.0.0.1:0".to_string()),
        ("RINGSIDE_WORKERS", "2".to_string()),
        ("DATABASE_POOL_SIZE", "4".to_string()),
        // Roomy: many tests share two cores; the outage tests set their own.
        ("DATABASE_TIMEOUT_MS", "20000".to_string()),
        ("RINGSIDE_ADMIN_EMAIL", ADMIN_EMAIL.to_string()),
        ("RINGSIDE_ADMIN_PASSWORD", ADMIN_PASSWORD.to_string()),
        (
            "RINGSIDE_SECRET_KEY",
            "test-secret-key-of-at-least-32-bytes!".to_string(),
        ),
    ];
    Config::from_lookup(|k| {
        extra
            .iter()
            .chain(vars.iter())
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.clone())
    })
    .expect("test config")
}

fn http_client() -> awc::Client {
    awc::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .finish()
}

/// The real server on a random port, over its own database.
pub struct TestApp {
    pub base: String,
    pub db_url: String,
    pub client: awc::Client,
    /// The in-process server's hub (`None` for a server in a child process).
    hub: Option<actix::Addr<ringside_actors::hub::Hub>>,
    /// The write listener's base URL (`RINGSIDE_WRITE_BIND`), when set.
    pub write_base: Option<String>,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::with_config(test_config(fresh_database())).await
    }

    pub async fn with_config(config: Config) -> TestApp {
        let db_url = config.database_url.clone().expect("tests use DATABASE_URL");
        let db = Db::connect(&db_url, 4, config.database_timeout).expect("pool");
        ringside::bootstrap::ensure_admin(&db, &config).expect("admin");
        let key = config.secret_key.clone().expect("key").into_bytes();
        let running =
            ringside::server::start(Arc::new(config), db.clone(), &key).expect("server starts");
        actix_rt::spawn(running.server);
        if let Some(write) = running.write_server {
            actix_rt::spawn(write);
        }
        let base = format!("http://{}", running.addr);
        TestApp {
            base,
            db_url,
            client: http_client(),
            hub: Some(running.hub),
            write_base: running.write_addr.map(|a| format!("http://{a}")),
        }
    }

    /// A client for a server already listening at `base` (a child process).
    pub fn at(base: String, db_url: String) -> TestApp {
        TestApp {
            base,
            db_url,
            client: http_client(),
            hub: None,
            write_base: None,
        }
    }

    pub fn hub(&self) -> &actix::Addr<ringside_actors::hub::Hub> {
        self.hub.as_ref().expect("an in-process server")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends `body` (JSON, or nothing) with an optional bearer token.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let method = awc::http::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = match body {
            Some(b) => req.send_json(&b).await,
            None => req.send().await,
        };
        read(resp).await
    }

    /// A JSON POST with extra headers; answers the response's headers too.
    pub async fn post_with(
        &self,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Value,
    ) -> (StatusCode, awc::http::header::HeaderMap, Value) {
        let mut req = self.client.post(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        let resp = req.send_json(&body).await.expect("request sent");
        let headers = resp.headers().clone();
        let (status, value) = read(Ok(resp)).await;
        (status, headers, value)
    }

    /// Sends raw bytes as the body, with the given content type.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let method = awc::http::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .client
            .request(method, self.url(path))
            .insert_header(("content-type", content_type));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        read(req.send_body(body).await).await
    }

    /// Where `path` sends the client, asserting it is a permanent (308) redirect.
    pub async fn permanent_redirect(&self, path: &str) -> Option<String> {
        let resp = awc::Client::builder()
            .disable_redirects()
            .finish()
            .get(self.url(path))
            .send()
            .await
            .expect("sent");
        assert_eq!(resp.status(), StatusCode::PERMANENT_REDIRECT, "{path}");
        resp.headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call("GET", path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call("POST", path, token, Some(body)).await
    }

    pub async fn login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        self.post(
            "/api/auth/login/",
            None,
            json!({ "email": email, "password": password }),
        )
        .await
    }

    pub async fn admin_token(&self) -> String {
        let (status, body) = self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().expect("token").to_string()
    }

    /// Registers a viewer; returns (token, user id).
    pub async fn register(&self, email: &str) -> (String, i64) {
        let (status, body) = self
            .post(
                "/api/auth/register/",
                None,
                json!({ "email": email, "password": "password-123", "display_name": "Fan" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (
            body["token"].as_str().expect("token").to_string(),
            body["user"]["id"].as_i64().expect("id"),
        )
    }

    /// A user with `role`, made by the admin; returns their token.
    pub async fn user_with_role(&self, email: &str, role: &str) -> String {
        let admin = self.admin_token().await;
        let (token, id) = self.register(email).await;
        let (status, body) = self
            .call(
                "PATCH",
                &format!("/api/users/{id}/"),
                Some(&admin),
                Some(json!({ "role": role })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        token
    }

    /// Runs a statement in this test's database; the rows it touched.
    pub fn execute(&self, sql: &str) -> usize {
        let mut conn = PgConnection::establish(&self.db_url).expect("connect");
        diesel::sql_query(sql)
            .execute(&mut conn)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Runs `sql` in this test's database; its rows as JSON objects.
    pub fn rows(&self, sql: &str) -> Vec<Value> {
        #[derive(diesel::QueryableByName)]
        struct Rows {
            #[diesel(sql_type = diesel::sql_types::Jsonb)]
            rows: Value,
        }
        let mut conn = PgConnection::establish(&self.db_url).expect("connect");
        let got: Rows = diesel::sql_query(format!(
            "SELECT COALESCE(jsonb_agg(to_jsonb(t)), '[]'::jsonb) AS rows FROM ({sql}) t"
        ))
        .get_result(&mut conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
        got.rows.as_array().cloned().unwrap_or_default()
    }

    /// Counts rows of a table in this test's database.
    pub fn count(&self, table: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = PgConnection::establish(&self.db_url).expect("connect");
        diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
            .get_result::<Count>(&mut conn)
            .expect("count")
            .n
    }
}

async fn read(
    resp: Result<awc::ClientResponse, awc::error::SendRequestError>,
) -> (StatusCode, Value) {
    let mut resp = resp.expect("request sent");
    let status = resp.status();
    let bytes = resp
        .body()
        .limit(10 * 1024 * 1024)
        .await
        .expect("body read");
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    (status, value)
}

/// Asserts an error answer: status and stable code.
#[track_caller]
pub fn assert_error(got: &(StatusCode, Value), status: u16, code: &str) {
    assert_eq!(got.0.as_u16(), status, "unexpected status; body: {}", got.1);
    assert_eq!(
        got.1["error"]["code"], code,
        "unexpected code; body: {}",
        got.1
    );
    assert!(
        got.1["error"]["message"].is_string(),
        "no message: {}",
        got.1
    );
}

/// Builds a small card through the API as admin: returns (event id, fight ids).
pub async fn build_card(app: &TestApp, token: &str, fights: usize) -> (i64, Vec<i64>) {
    let t = Some(token);
    let (s, division) = app
        .post(
            "/api/divisions/",
            t,
            json!({ "name": "Lightweight", "weight_limit_lbs": 155 }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{division}");
    let (s, event) = app
        .post(
            "/api/events/",
            t,
            json!({ "name": "Fight Night", "venue": "Arena", "scheduled_start": "2026-12-01T20:00:00Z" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{event}");
    let mut fight_ids = Vec::new();
    for i in 0..fights {
        let mut corners = Vec::new();
        for corner in ["Red", "Blue"] {
            let (s, f) = app
                .post(
                    "/api/fighters/",
                    t,
                    json!({ "name": format!("{corner} Fighter {i}"), "nickname": null, "division": division["id"] }),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{f}");
            corners.push(f["id"].clone());
        }
        let (s, fight) = app
            .post(
                "/api/fights/",
                t,
                json!({
                    "event": event["id"], "red_fighter": corners[0], "blue_fighter": corners[1],
                    "division": division["id"], "scheduled_rounds": if i == 0 { 5 } else { 3 }, "card_order": i + 1,
                    "is_title_fight": i == 0
                }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{fight}");
        fight_ids.push(fight["id"].as_i64().expect("fight id"));
    }
    (event["id"].as_i64().expect("event id"), fight_ids)
}

/// A real Redis server on a Unix socket of its own, for one test: killed when
/// dropped, and by the kernel if the test's thread dies first.
pub struct RedisServer {
    dir: std::path::PathBuf,
    child: Option<std::process::Child>,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ringside-tests-{}-redis-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("redis dir");
        let mut server = RedisServer { dir, child: None };
        server.restart();
        server
    }

    fn socket(&self) -> std::path::PathBuf {
        self.dir.join("redis.sock")
    }

    pub fn url(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// Starts (again) on the same socket and waits until it answers PING.
    pub fn restart(&mut self) {
        use std::os::unix::process::CommandExt;
        let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let mut command = std::process::Command::new(&binary);
        command
            .args(["--port", "0", "--save", "", "--appendonly", "no"])
            .arg("--unixsocket")
            .arg(self.socket())
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(self.dir.join("redis.log"))
            .stdout(std::process::Stdio::null());
        // SAFETY: prctl is async-signal-safe; it only asks for SIGKILL when
        // the spawning thread exits.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command.spawn().unwrap_or_else(|e| {
            panic!("starting {binary}: {e} (install redis-server; ./scripts/test.sh does)")
        });
        self.child = Some(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !self.answers_ping() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not come up"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    fn answers_ping(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::os::unix::net::UnixStream::connect(self.socket()) else {
            return false;
        };
        let mut buf = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }

    /// SIGKILL: the connections drop at once.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(self.socket());
    }

    /// SIGSTOP / SIGCONT: connections stay open but nothing answers.
    pub fn freeze(&self, frozen: bool) {
        let pid = self.child.as_ref().expect("redis running").id() as i32;
        let signal = if frozen { libc::SIGSTOP } else { libc::SIGCONT };
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(pid, signal) };
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            // A frozen server must be woken to die cleanly.
            // SAFETY: signalling our own child process.
            unsafe { libc::kill(child.id() as i32, libc::SIGCONT) };
        }
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl TestApp {
    /// Waits until `/readyz` says `ready` (true) or refuses (false).
    pub async fn wait_ready(&self, ready: bool) -> Value {
        let deadline = std::time::Instant::now() + crate::ws_client::PATIENCE;
        loop {
            let (status, body) = self.get("/readyz", None).await;
            if status.is_success() == ready {
                return body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "readyz stayed {status}: {body}"
            );
            actix_rt::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}
