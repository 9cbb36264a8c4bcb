//! The TypeScript client (`clients/js/`) under its own suite (Node's test
//! runner, `clients/js/test/`) against the real server, which this harness
//! starts, seeds and, when the suite asks (a small control server), kills
//! and restarts with some transports switched off, or kicks a user's
//! sessions with a close code. Also: the committed build (which the server
//! embeds and serves) is the source compiled.

use std::path::{Path, PathBuf};
use std::process::Command;

use actix_web::{web, App, HttpResponse, HttpServer};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::child::ChildServer;
use crate::fight_control::night;
use crate::harness::TestApp;

fn client_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/js")
}

/// What the suite is told of the server: tokens, a started live event and
/// a fight in progress on it.
async fn fixture(app: &TestApp) -> Value {
    let n = night(app, 2, json!({})).await;
    n.ok("start/", json!({})).await;
    let (viewer_token, viewer_id) = app.register("js-client@ringside.test").await;
    json!({
        "admin_token": n.admin,
        "viewer_token": viewer_token,
        "viewer_id": viewer_id,
        "event_id": n.event,
        "fight_id": n.fights[0].id,
    })
}

/// The server as the suite may change it.
enum Backend {
    /// In this process: its hub can kick sessions.
    InProcess(actix::Addr<ringside_actors::hub::Hub>),
    /// A child process: it can be killed and started again.
    Child(tokio::sync::Mutex<ChildServer>),
}

#[derive(Deserialize)]
struct Restart {
    transports: Option<String>,
}

#[derive(Deserialize)]
struct Kick {
    user: i64,
    code: u16,
}

async fn restart(backend: web::Data<Backend>, body: web::Json<Restart>) -> HttpResponse {
    let Backend::Child(server) = backend.get_ref() else {
        return HttpResponse::NotImplemented().body("this server cannot be restarted");
    };
    let env: Vec<(&str, &str)> = match body.transports.as_deref() {
        Some(t) if !t.is_empty() => vec![("RINGSIDE_TRANSPORTS", t)],
        _ => Vec::new(),
    };
    server.lock().await.restart(&env).await;
    HttpResponse::Ok().json(json!({ "restarted": true }))
}

async fn kick(backend: web::Data<Backend>, body: web::Json<Kick>) -> HttpResponse {
    use ringside_actors::protocol::close;
    let Backend::InProcess(hub) = backend.get_ref() else {
        return HttpResponse::NotImplemented().body("this server cannot be reached to kick");
    };
    let reason = match body.code {
        close::TOO_SLOW => "too slow: reconnect with since",
        close::RESTART => "restart: reconnect and resume",
        _ => "kicked by the test harness",
    };
    hub.do_send(ringside_actors::hub::KickUser {
        user: body.user,
        code: body.code,
        reason,
    });
    HttpResponse::Ok().json(json!({ "kicked": body.user }))
}

/// Serves the control endpoints; returns their base URL.
fn control(backend: Backend) -> String {
    let backend = web::Data::new(backend);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(backend.clone())
            .route("/restart", web::post().to(restart))
            .route("/kick", web::post().to(kick))
    })
    .workers(1)
    .disable_signals()
    .bind("127.0.0.1:0")
    .expect("the control server binds");
    let addr = server.addrs()[0];
    actix_rt::spawn(server.run());
    format!("http://{addr}")
}

/// Runs these suite files against `base`; fails with their output.
async fn run_node(base: String, fixture: Value, control: String, files: &'static [&'static str]) {
    let out = tokio::task::spawn_blocking(move || {
        Command::new("timeout")
            .arg("600")
            .arg("node")
            .args(["--experimental-websocket", "--test", "--test-reporter=spec"])
            .args(files)
            .current_dir(client_dir())
            .env("RINGSIDE_URL", base)
            .env("RINGSIDE_FIXTURE", fixture.to_string())
            .env("RINGSIDE_CONTROL", control)
            .output()
            .expect("node runs (Node 20 or later)")
    })
    .await
    .expect("joined");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the client's suite failed:\n{report}");
    // A suite that found no test files would pass too.
    assert!(
        report.contains("ℹ pass ") && report.contains("ℹ fail 0"),
        "{report}"
    );
}

#[actix_rt::test]
async fn the_client_over_each_transport_and_after_a_forced_4001() {
    let app = TestApp::spawn().await;
    let fixture = fixture(&app).await;
    let control = control(Backend::InProcess(app.hub().clone()));
    run_node(
        app.base.clone(),
        fixture,
        control,
        &["test/api.test.mjs", "test/resume.test.mjs"],
    )
    .await;
}

#[actix_rt::test]
async fn the_client_through_a_kill_and_with_websocket_then_sse_blocked() {
    let server = ChildServer::start(&[]).await;
    let app = server.app();
    let fixture = fixture(&app).await;
    let base = server.base();
    let control = control(Backend::Child(tokio::sync::Mutex::new(server)));
    run_node(
        base,
        fixture,
        control,
        &["test/restart.test.mjs", "test/fallback.test.mjs"],
    )
    .await;
}

/// `dist/` is what the server serves at `/static/ringside-client.js`: it
/// must be `src/` compiled, never stale.
#[actix_rt::test]
async fn the_committed_build_is_the_source_compiled() {
    let dir = client_dir();
    let out = std::env::temp_dir().join(format!("ringside-client-build-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let tsc = dir.join("node_modules/.bin/tsc");
    assert!(
        tsc.exists(),
        "{} is missing: run `npm ci` in clients/js (scripts/test.sh does)",
        tsc.display()
    );
    let status = Command::new(&tsc)
        .args(["-p", "."])
        .arg("--outDir")
        .arg(&out)
        .current_dir(&dir)
        .status()
        .expect("tsc runs");
    assert!(status.success(), "the client compiles");
    for file in ["ringside-client.js", "ringside-client.d.ts"] {
        let built = std::fs::read_to_string(out.join(file)).expect("built");
        let committed = std::fs::read_to_string(dir.join("dist").join(file)).expect("committed");
        assert!(
            built == committed,
            "clients/js/dist/{file} is stale: run `npm run build` in clients/js and commit it"
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}
