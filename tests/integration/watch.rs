//! The viewer page (`/watch/{id}/`) in a real headless Chromium against the
//! real binary: a night followed from the page (the card, live updates
//! with breaking news, comments and their removal, the round clock, stats,
//! hidden cards, signing in, commenting, reacting, voting), then the server
//! killed and restarted under it: the page says it is reconnecting, resumes,
//! and shows every update exactly once. And the page on a server that
//! refuses WebSocket upgrades, over the client's fallback.

use std::time::Duration;

use awc::http::StatusCode;
use serde_json::{json, Value};

use crate::browser::Browser;
use crate::child::ChildServer;
use crate::fight_control::{night, Night};
use crate::harness::TestApp;

/// How long the page may take to show what the server sent.
const SHOWN: Duration = Duration::from_secs(20);

/// How long the page may take to come back after the server does (the
/// client backs off up to 15 s between rounds of tries).
const BACK: Duration = Duration::from_secs(60);

/// A JavaScript string literal of `s`.
fn js(s: &str) -> String {
    serde_json::to_string(s).expect("a string")
}

fn count(selector: &str) -> String {
    format!("document.querySelectorAll({}).length", js(selector))
}

fn text(selector: &str) -> String {
    format!(
        "((document.querySelector({}) || {{}}).textContent || '')",
        js(selector)
    )
}

fn exists(selector: &str) -> String {
    format!("(document.querySelector({}) !== null)", js(selector))
}

/// A fan's phone whose clock is an hour fast: the page's round clock must
/// not move by it (it counts from the server's time).
const DEVICE_CLOCK_AN_HOUR_FAST: &str = r#"(() => {
  const skew = 3600 * 1000;
  const Real = Date;
  const now = () => Real.now() + skew;
  class Fast extends Real {
    constructor(...args) { if (args.length === 0) super(now()); else super(...args); }
    static now() { return now(); }
  }
  globalThis.Date = Fast;
})();"#;

/// The seqs of the updates on the page, in page order.
const PAGE_SEQS: &str =
    "[...document.querySelectorAll('#updates li[data-seq]')].map(li => Number(li.dataset.seq))";

async fn post_update(app: &TestApp, night: &Night, title: &str, breaking: bool) -> Value {
    let (status, update) = app
        .post(
            "/api/live/updates/",
            Some(&night.admin),
            json!({
                "live_event": night.event, "live_fight": null, "update_type": "news",
                "title": title, "description": "From the arena", "round_number": null,
                "data": {}, "is_breaking": breaking
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{update}");
    update
}

/// Every verified update of the event over REST: their seqs, in order.
async fn stored_update_seqs(app: &TestApp, event: i64) -> Vec<i64> {
    let (status, page) = app
        .get(&format!("/api/live/updates/?event={event}&limit=200"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page["next_cursor"].is_null(), "one page holds them all");
    page["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|u| u["seq"].as_i64().expect("seq"))
        .collect()
}

/// Asserts the page shows each stored update once, newest first, and no other.
async fn every_update_once(page: &mut Browser, app: &TestApp, event: i64) {
    let mut stored = stored_update_seqs(app, event).await;
    let shown: Vec<i64> = serde_json::from_value(page.eval(PAGE_SEQS).await).expect("seqs");
    let mut sorted = shown.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(shown, sorted, "each update once, newest first");
    stored.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(shown, stored, "the page shows exactly the stored updates");
}

#[actix_rt::test]
async fn the_watch_page_follows_a_night_and_resumes_after_the_server_is_killed() {
    let mut server = ChildServer::start(&[]).await;
    let app = server.app();
    let night = night(&app, 2, json!({})).await;
    let event = night.event;
    let fight = &night.fights[0];
    night.ok_on(fight, "start/", json!({})).await;
    let (fan, _) = app.register("fan@watch.test").await;
    let moderator = app.user_with_role("mod@watch.test", "moderator").await;

    let mut page = Browser::open_with(
        "the_watch_page_follows_a_night_and_resumes_after_the_server_is_killed",
        &app.url(&format!("/watch/{event}/")),
        Some(DEVICE_CLOCK_AN_HOUR_FAST),
    )
    .await;

    assert_eq!(
        page.eval("Date.now() - (performance.timeOrigin + performance.now()) > 3500 * 1000")
            .await,
        true,
        "the device clock is an hour fast"
    );

    // The card, the fight on highlighted, and a live connection.
    page.wait_for(
        "the card",
        &format!("{} === 2", count("#card li[data-fight-id]")),
        SHOWN,
    )
    .await;
    page.wait_for(
        "connected",
        &format!("{} === 'connected'", text("#state")),
        SHOWN,
    )
    .await;
    assert_eq!(
        page.eval(&exists("#banner[hidden]")).await,
        true,
        "no banner"
    );
    let on = format!("#card li[data-fight-id=\"{}\"]", fight.id);
    page.wait_for(
        "the fight on highlighted",
        &exists(&format!("{on}.in-progress[aria-current=\"true\"]")),
        SHOWN,
    )
    .await;
    assert!(page
        .eval(&text(&on))
        .await
        .as_str()
        .is_some_and(|t| t.contains("Red Fighter 0") && t.contains("Blue Fighter 0")));
    assert_eq!(page.eval(&text("#red-name")).await, "Red Fighter 0");
    page.wait_for(
        "the transport",
        &format!("{} === 'websocket'", text("#transport")),
        SHOWN,
    )
    .await;
    page.wait_for(
        "a viewer counted",
        "Number(document.querySelector('#viewers').dataset.count) >= 1",
        SHOWN,
    )
    .await;

    // Breaking news and a comment posted over REST, shown as text.
    let update = post_update(&app, &night, "Weigh-in <b>drama</b>", true).await;
    let li = format!("#updates li[data-seq=\"{}\"]", update["seq"]);
    page.wait_for(
        "the breaking update",
        &exists(&format!("{li}.breaking")),
        SHOWN,
    )
    .await;
    assert!(page
        .eval(&text(&li))
        .await
        .as_str()
        .is_some_and(|t| t.contains("Weigh-in <b>drama</b>") && t.contains("Breaking")));
    assert_eq!(
        page.eval(&exists(&format!("{li} b"))).await,
        false,
        "never parsed as HTML"
    );
    let (status, comment) = app
        .post(
            "/api/live/comments/",
            Some(&fan),
            json!({ "live_event": event, "live_fight": null, "content": "What a jab <i>!</i>", "parent_comment": null }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{comment}");
    let their = format!("#comments li[data-id=\"{}\"]", comment["id"]);
    page.wait_for("the fan's comment", &exists(&their), SHOWN)
        .await;
    assert!(page
        .eval(&text(&their))
        .await
        .as_str()
        .is_some_and(|t| t.contains("What a jab <i>!</i>")));

    // The round clock runs from the server's clock, and ticks.
    page.wait_for(
        "cards hidden",
        &exists("#scorecards [data-testid=cards-hidden]"),
        SHOWN,
    )
    .await;
    night
        .ok_on(fight, "rounds/start/", json!({ "round": 1 }))
        .await;
    page.wait_for(
        "the clock running in round 1",
        "document.querySelector('#clock').dataset.running === 'true' \
         && document.querySelector('#clock').dataset.round === '1'",
        SHOWN,
    )
    .await;
    let elapsed: f64 = page
        .eval("Number(document.querySelector('#clock').dataset.elapsed)")
        .await
        .as_f64()
        .expect("elapsed");
    // The page's reading agrees with the server's own, not with the device
    // clock an hour fast: the round began moments ago (generous bounds for
    // a busy machine).
    assert!((0.0..60.0).contains(&elapsed), "just started: {elapsed}");
    let first = page.eval(&text("#clock")).await;
    page.wait_for(
        "the clock ticking",
        &format!("{} !== {first}", text("#clock")),
        Duration::from_secs(5),
    )
    .await;
    let shown = page.eval(&text("#clock")).await;
    assert!(
        shown.as_str().is_some_and(|t| t.starts_with("4:")),
        "counting down the first minute: {shown}"
    );

    // Stats per round and corner.
    night
        .ok_on(
            fight,
            "stats/",
            json!({ "corner": "red", "round": 1, "significant_strikes_landed": 3,
                    "significant_strikes_attempted": 5, "strikes_landed": 4, "strikes_attempted": 7 }),
        )
        .await;
    page.wait_for(
        "red's round-1 stats",
        "document.querySelector('#stats').dataset.round === '1' \
         && document.querySelector('#stats tbody tr td.red-v').textContent === '3 / 5'",
        SHOWN,
    )
    .await;

    // A paused clock stands still (checked again after the steps below).
    night
        .ok_on(fight, "rounds/pause/", json!({ "reason": "eye poke" }))
        .await;
    page.wait_for(
        "the clock paused",
        &format!(
            "document.querySelector('#clock').dataset.mode === 'paused' && {}.includes('eye poke')",
            text("#clock-note")
        ),
        SHOWN,
    )
    .await;
    let paused_at = page.eval(&text("#clock")).await;

    // A moderator hides the comment: it goes.
    let (status, hidden) = app
        .post(
            &format!("/api/moderation/comments/{}/hide/", comment["id"]),
            Some(&moderator),
            json!({ "reason": "testing the page" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{hidden}");
    page.wait_for(
        "the hidden comment gone",
        &format!("!{}", exists(&their)),
        SHOWN,
    )
    .await;

    // Signing in on the page, then commenting, reacting and voting from it.
    page.eval(
        "document.querySelector('#signin-email').value = 'fan@watch.test';\
         document.querySelector('#signin-password').value = 'password-123';\
         document.querySelector('#signin').requestSubmit(); true",
    )
    .await;
    page.wait_for(
        "signed in",
        "!document.querySelector('#comment-form').hidden",
        SHOWN,
    )
    .await;
    page.wait_for(
        "connected as the fan",
        &format!("{} === 'connected'", text("#state")),
        SHOWN,
    )
    .await;
    page.eval(
        "document.querySelector('#comment-input').value = 'Posted from the page';\
         document.querySelector('#comment-form').requestSubmit(); true",
    )
    .await;
    page.wait_for(
        "the page's own comment",
        "[...document.querySelectorAll('#comments li[data-id]')]\
         .filter(li => li.textContent.includes('Posted from the page')).length === 1",
        SHOWN,
    )
    .await;
    page.eval("document.querySelector('#reactions button[data-reaction=wow]').click(); true")
        .await;
    page.wait_for(
        "the wow total",
        "document.querySelector('#reactions button[data-reaction=wow] .count').dataset.count === '1'",
        SHOWN,
    )
    .await;
    let (status, poll) = app
        .post(
            "/api/live/polls/",
            Some(&night.admin),
            json!({ "live_event": event, "live_fight": fight.id, "question": "Who wins?",
                    "options": ["Red Fighter 0", "Blue Fighter 0"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{poll}");
    let (status, _) = app
        .post(
            &format!("/api/live/polls/{}/open/", poll["id"]),
            Some(&night.admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let option = format!(
        "#polls [data-poll-id=\"{}\"] li[data-option-id=\"{}\"]",
        poll["id"], poll["options"][1]["id"]
    );
    page.wait_for(
        "the open poll",
        &exists(&format!("{option} button:not([disabled])")),
        SHOWN,
    )
    .await;
    page.eval(&format!(
        "document.querySelector({}).click(); true",
        js(&format!("{option} button"))
    ))
    .await;
    page.wait_for(
        "the vote tallied",
        &format!(
            "document.querySelector({}).dataset.votes === '1'",
            js(&option)
        ),
        SHOWN,
    )
    .await;
    assert_eq!(
        page.eval(&text("#clock")).await,
        paused_at,
        "a paused clock stands still"
    );
    night.ok_on(fight, "rounds/resume/", json!({})).await;
    page.wait_for(
        "the clock running again",
        "document.querySelector('#clock').dataset.running === 'true'",
        SHOWN,
    )
    .await;
    let before = post_update(&app, &night, "Before the outage", false).await;
    page.wait_for(
        "the last update before the outage",
        &exists(&format!("#updates li[data-seq=\"{}\"]", before["seq"])),
        SHOWN,
    )
    .await;
    every_update_once(&mut page, &app, event).await;

    // SIGKILL: the page says so and keeps what it had.
    server.kill();
    page.wait_for(
        "the reconnecting banner",
        &format!(
            "{} === 'reconnecting' && !document.querySelector('#banner').hidden \
             && {}.includes('Reconnecting')",
            text("#state"),
            text("#banner")
        ),
        SHOWN,
    )
    .await;
    // Back on the same address, with the page kept off the network for a
    // moment: an update posted then is one it can only get by resuming.
    page.offline(true).await;
    server.restart(&[]).await;
    let during = post_update(&app, &night, "While it came back", true).await;
    assert_ne!(page.eval(&text("#state")).await, "connected", "still away");
    let socket = page
        .eval(&format!(
            "new Promise(done => {{ const w = new WebSocket({});              w.onopen = () => {{ w.close(); done('open'); }}; w.onerror = () => done('refused'); }})",
            js(&format!("ws://127.0.0.1:{}/api/live/events/{event}/", server.port))
        ))
        .await;
    assert_eq!(socket, "refused", "the page is off the network");
    page.offline(false).await;
    page.wait_for(
        "connected again",
        &format!("{} === 'connected'", text("#state")),
        BACK,
    )
    .await;
    page.wait_for(
        "the update posted while it came back",
        &exists(&format!("#updates li[data-seq=\"{}\"]", during["seq"])),
        SHOWN,
    )
    .await;
    assert_eq!(
        page.eval("document.querySelector('#state').dataset.resumed")
            .await,
        "true",
        "the event channel resumed where it was (the missed update replayed)"
    );
    let after = post_update(&app, &night, "After the outage", false).await;
    page.wait_for(
        "a live update after the outage",
        &exists(&format!("#updates li[data-seq=\"{}\"]", after["seq"])),
        SHOWN,
    )
    .await;
    every_update_once(&mut page, &app, event).await;
    assert_eq!(
        page.eval(&exists("#banner[hidden]")).await,
        true,
        "banner gone"
    );
    assert_eq!(
        page.eval(&format!("!{}", exists(&their))).await,
        true,
        "hidden stays hidden"
    );
    assert_eq!(
        page.eval(
            "[...document.querySelectorAll('#comments li[data-id]')]\
             .filter(li => li.textContent.includes('Posted from the page')).length"
        )
        .await,
        1
    );
    page.wait_for(
        "the clock still running",
        "document.querySelector('#clock').dataset.running === 'true'",
        SHOWN,
    )
    .await;
    // Nothing thrown, nothing the page's policy refused (the outage's failed
    // connections are logged by the browser and are expected).
    let wrong: Vec<&String> = page
        .console()
        .iter()
        .filter(|l| l.starts_with("exception") || l.contains("Content Security Policy"))
        .collect();
    assert!(wrong.is_empty(), "the page went wrong: {wrong:?}");
}

/// The page and its files as HTTP resources: the same page for every event,
/// the client's build as it is in the tree, tags that answer 304, and the
/// page's policy.
#[actix_rt::test]
async fn the_page_and_its_files_are_served_from_the_binary() {
    let app = TestApp::spawn().await;
    let files = [
        ("/watch/7/", "web/watch/index.html", "text/html"),
        ("/watch/12345/", "web/watch/index.html", "text/html"),
        ("/watch/watch.js", "web/watch/watch.js", "text/javascript"),
        ("/watch/watch.css", "web/watch/watch.css", "text/css"),
        (
            "/static/fight-clock.js",
            "web/shared/fight-clock.js",
            "text/javascript",
        ),
        (
            "/static/ringside-client.js",
            "clients/js/dist/ringside-client.js",
            "text/javascript",
        ),
    ];
    for (path, file, content_type) in files {
        let mut resp = app.client.get(app.url(path)).send().await.expect("sent");
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        assert!(header("content-type").starts_with(content_type), "{path}");
        let etag = header("etag");
        assert!(etag.starts_with('"') && etag.len() == 18, "{path}: {etag}");
        let policy = header("content-security-policy");
        assert_eq!(
            policy.contains("default-src 'self'"),
            content_type == "text/html",
            "{path}"
        );
        let body = resp.body().limit(1 << 22).await.expect("body");
        let on_disk = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file))
            .expect("the file");
        assert_eq!(body.as_ref(), on_disk.as_slice(), "{path} is {file}");
        let again = app
            .client
            .get(app.url(path))
            .insert_header(("if-none-match", etag.as_str()))
            .send()
            .await
            .expect("sent");
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
    }
    let (status, _) = app.get("/watch/seven/", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "only a live event's id");
    assert_eq!(
        app.permanent_redirect("/watch/7").await.as_deref(),
        Some("/watch/7/")
    );
}

/// With WebSocket refused (as by a proxy), the page falls back by itself:
/// to SSE, and to long-poll when SSE is refused too; updates and comments
/// still arrive, and it says which transport it is on.
#[actix_rt::test]
async fn the_watch_page_falls_back_when_websocket_is_blocked() {
    for (served, expected) in [("sse,poll", "sse"), ("poll", "poll")] {
        let server = ChildServer::start(&[("RINGSIDE_TRANSPORTS", served)]).await;
        let app = server.app();
        let night = night(&app, 1, json!({})).await;
        // The server really refuses the upgrade.
        let path = format!("/api/live/events/{}/", night.event);
        let refused = crate::ws_client::WsClient::connect(&app, &path).await.err();
        assert_eq!(refused, Some(403), "WebSocket upgrades are refused");

        let mut page = Browser::open(
            &format!("the_watch_page_falls_back_to_{expected}"),
            &app.url(&format!("/watch/{}/", night.event)),
        )
        .await;
        page.wait_for(
            "the card",
            &format!("{} === 1", count("#card li[data-fight-id]")),
            BACK,
        )
        .await;
        page.wait_for(
            "connected",
            &format!("{} === 'connected'", text("#state")),
            BACK,
        )
        .await;
        let update = post_update(&app, &night, "Over the fallback", true).await;
        page.wait_for(
            "the update",
            &exists(&format!(
                "#updates li[data-seq=\"{}\"].breaking",
                update["seq"]
            )),
            SHOWN,
        )
        .await;
        let (fan, _) = app.register(&format!("fan-{expected}@watch.test")).await;
        let (status, comment) = app
            .post(
                "/api/live/comments/",
                Some(&fan),
                json!({ "live_event": night.event, "live_fight": null, "content": "Still here", "parent_comment": null }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{comment}");
        page.wait_for(
            "the comment",
            &exists(&format!("#comments li[data-id=\"{}\"]", comment["id"])),
            SHOWN,
        )
        .await;
        assert_eq!(
            page.eval(&text("#transport")).await,
            expected,
            "served: {served}"
        );
        every_update_once(&mut page, &app, night.event).await;
    }
}
