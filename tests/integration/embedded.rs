//! The binary as a newcomer runs it: `ringside` with no DATABASE_URL starts
//! its own PostgreSQL, serves, and stops the database on exit.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use awc::http::StatusCode;
use futures_util::StreamExt;
use serde_json::json;

use crate::harness::{fresh_database, ADMIN_PASSWORD};

const BIN: &str = env!("CARGO_BIN_EXE_ringside");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ringside-tests-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// `ringside` with a clean environment: no DATABASE_URL, no REDIS_URL.
fn ringside(data_dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RINGSIDE_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir());
    cmd
}

fn spawn_server(data_dir: &Path, port: u16, admin_password: Option<&str>) -> Child {
    let mut cmd = ringside(data_dir);
    cmd.arg("serve")
        .env("RINGSIDE_BIND", format!("127.0.0.1:{port}"))
        .env("RINGSIDE_ADMIN_EMAIL", "boss@ringside.test")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(p) = admin_password {
        cmd.env("RINGSIDE_ADMIN_PASSWORD", p);
    }
    cmd.spawn().expect("ringside starts")
}

async fn wait_ready(client: &awc::Client, port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("ringside exited early: {status}");
        }
        if let Ok(resp) = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            if resp.status() == StatusCode::OK {
                return;
            }
        }
        assert!(Instant::now() < deadline, "ringside never became ready");
        // Polling a starting process: there is no event to wait on.
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait().expect("ringside exits")
}

async fn login(client: &awc::Client, port: u16, password: &str) -> (StatusCode, serde_json::Value) {
    let mut resp = client
        .post(format!("http://127.0.0.1:{port}/api/auth/login/"))
        .send_json(&json!({ "email": "boss@ringside.test", "password": password }))
        .await
        .expect("sent");
    let body = resp.json::<serde_json::Value>().await.unwrap_or_default();
    (resp.status(), body)
}

#[actix_rt::test]
async fn serves_on_the_embedded_default_and_stops_its_database() {
    let data_dir = scratch_dir("embedded");
    let port = free_port();
    let client = awc::Client::default();

    let mut server = spawn_server(&data_dir, port, Some(ADMIN_PASSWORD));
    wait_ready(&client, port, &mut server).await;
    let (status, session) = login(&client, port, ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["user"]["role"], "admin");
    let token = session["token"].as_str().expect("token").to_string();

    // A live client hears 1012 (restart: reconnect and resume) on shutdown.
    let (_, mut live) = client
        .ws(format!(
            "ws://127.0.0.1:{port}/api/live/notifications/?token={token}"
        ))
        .connect()
        .await
        .expect("upgrade");
    let welcome = live.next().await.expect("frame").expect("valid");
    assert!(matches!(welcome, awc::ws::Frame::Text(_)), "{welcome:?}");

    assert!(terminate(&mut server).success(), "clean exit on SIGTERM");
    let close = loop {
        match live.next().await {
            Some(Ok(awc::ws::Frame::Close(reason))) => break reason.map(|r| u16::from(r.code)),
            Some(Ok(_)) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(close, Some(1012));
    let pid_file = data_dir.join("postgres/postmaster.pid");
    assert!(
        !pid_file.exists(),
        "PostgreSQL must be stopped with the server"
    );

    // Second start: same cluster, same data, same signing key.
    let mut server = spawn_server(&data_dir, port, None);
    wait_ready(&client, port, &mut server).await;
    let mut me = client
        .get(format!("http://127.0.0.1:{port}/api/auth/me/"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    assert_eq!(me.status(), StatusCode::OK, "tokens survive a restart");
    let me: serde_json::Value = me.json().await.expect("json");
    assert_eq!(me["email"], "boss@ringside.test");
    assert!(terminate(&mut server).success());
    assert!(!pid_file.exists());
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[actix_rt::test]
async fn generates_and_prints_the_first_admin_password() {
    let data_dir = scratch_dir("generated-admin");
    let port = free_port();
    let client = awc::Client::default();
    let mut server = spawn_server(&data_dir, port, None);
    let stdout = server.stdout.take().expect("stdout");
    let line = std::thread::spawn(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find(|l| l.contains("password:"))
    });
    wait_ready(&client, port, &mut server).await;
    let line = line
        .join()
        .expect("reader")
        .expect("the password is printed");
    let password = line
        .split("password: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("password in the line");
    let (status, body) = login(&client, port, password).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(terminate(&mut server).success());
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[test]
fn bad_configuration_names_the_variable_and_exits_non_zero() {
    let out = ringside(&scratch_dir("bad-config"))
        .env("MAX_MESSAGE_SIZE", "lots")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("MAX_MESSAGE_SIZE") && stderr.contains("lots"),
        "{stderr}"
    );
}

#[test]
fn cli_creates_users_and_seeds_a_demo_card() {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let url = fresh_database();
    let dir = scratch_dir("cli");
    let run = |args: &[&str]| {
        let out = ringside(&dir)
            .env("DATABASE_URL", &url)
            .args(args)
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let printed = run(&[
        "user",
        "create",
        "--email",
        "Mod@Example.com",
        "--password",
        "password-123",
        "--role",
        "moderator",
    ]);
    assert!(printed.contains("role moderator"), "{printed}");
    run(&["seed-demo"]);
    let again = run(&["seed-demo"]);
    assert!(again.contains("already loaded"), "{again}");

    #[derive(diesel::QueryableByName)]
    struct Counts {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        fights: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        live_fights: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        ranked: i64,
        #[diesel(sql_type = diesel::sql_types::Text)]
        role: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        officiated: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        divisions: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        champions: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        full_divisions: i64,
        #[diesel(sql_type = diesel::sql_types::Text)]
        rounds: String,
    }
    let mut conn = PgConnection::establish(&url).expect("connect");
    let counts: Counts = diesel::sql_query(
        "SELECT (SELECT count(*) FROM fights) AS fights, (SELECT count(*) FROM live_fights) AS live_fights,
                (SELECT count(*) FROM rankings) AS ranked,
                (SELECT role FROM users WHERE email = 'mod@example.com') AS role,
                (SELECT count(*) FROM live_fights
                  WHERE jsonb_array_length(bout->'officials'->'judges') = 3
                    AND bout->'officials'->>'referee' IS NOT NULL) AS officiated,
                (SELECT count(*) FROM divisions) AS divisions,
                (SELECT count(*) FROM divisions WHERE champion_id IS NOT NULL) AS champions,
                (SELECT count(*) FROM (SELECT division_id FROM rankings WHERE rank BETWEEN 1 AND 15
                  GROUP BY division_id HAVING count(*) = 15) d) AS full_divisions,
                (SELECT string_agg(scheduled_rounds::text || CASE WHEN is_title_fight THEN 't' ELSE '' END,
                  ',' ORDER BY card_order) FROM fights) AS rounds",
    )
    .get_result(&mut conn)
    .expect("counts");
    assert!(counts.fights >= 5, "a card of at least five fights");
    assert_eq!(
        counts.live_fights, counts.fights,
        "covered live, fight by fight"
    );
    assert!(counts.ranked >= 10, "fighters are ranked");
    assert_eq!(
        counts.officiated, counts.live_fights,
        "every fight has its officials"
    );
    assert_eq!(
        (counts.champions, counts.full_divisions),
        (counts.divisions, counts.divisions),
        "a champion and 15 contenders in every division"
    );
    assert!(
        counts.rounds.starts_with("5t,5t,3,"),
        "a five-round title main event and co-main, three-round prelims: {}",
        counts.rounds
    );
    assert_eq!(counts.role, "moderator");
}
