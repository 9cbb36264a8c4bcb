//! The console's moderation side (`/admin/`: the moderation, polls,
//! notifications, monitor, analytics and automation views, and what each
//! role sees) in a real headless Chromium against the real server, driven
//! through its DOM, with the fans' viewer page open in a second browser
//! where what the console does must show: a comment hidden from the console
//! vanishes there and comes back on restore; the emergency broadcast
//! reaches it only after both confirmations. With `RINGSIDE_SCREENSHOTS=<dir>`
//! the tests save the README's pictures of these views there (1280×800).

use std::time::Duration;

use awc::http::StatusCode;
use serde_json::{json, Value};

use crate::browser::Browser;
use crate::console_page::{click, exists, js, screenshot, set, text, SHOWN};
use crate::fight_control::night;
use crate::harness::{
    assert_error, fresh_database, test_config, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD,
};

/// The password `TestApp::register` gives every account.
const PASSWORD: &str = "password-123";

/// The console, signed in as `email`, showing its navigation.
async fn console(name: &str, app: &TestApp, email: &str, password: &str) -> Browser {
    let mut page = Browser::open(name, &app.url("/admin/")).await;
    page.wait_for("the sign-in form", &exists("#signin:not([hidden])"), SHOWN)
        .await;
    set(&mut page, "#signin-email", email).await;
    set(&mut page, "#signin-password", password).await;
    click(&mut page, "#signin-submit").await;
    page.wait_for(
        "signed in, with the navigation",
        "!document.querySelector('#app').hidden && document.querySelectorAll('#nav a[data-view]').length > 0",
        SHOWN,
    )
    .await;
    page
}

/// Opens a view by its address and waits for it to be drawn.
async fn open_view(page: &mut Browser, view: &str) {
    page.eval(&format!("location.hash = {}", js(&format!("#/{view}"))))
        .await;
    page.wait_for(
        &format!("the {view} view"),
        &exists(&format!("[data-testid=\"view-{view}\"]")),
        SHOWN,
    )
    .await;
}

/// Picks `event` in the header's live event picker (once the shell has listed it).
async fn pick_event(page: &mut Browser, event: i64) {
    page.wait_for(
        "the live event in the picker",
        &exists(&format!("#event-picker option[value=\"{event}\"]")),
        SHOWN,
    )
    .await;
    set(page, "#event-picker", &event.to_string()).await;
}

/// The viewer page of `event`, connected.
async fn viewer(name: &str, app: &TestApp, event: i64) -> Browser {
    let mut page = Browser::open(name, &app.url(&format!("/watch/{event}/"))).await;
    page.wait_for(
        "the viewer page connected",
        &format!("{} === 'connected'", text("#state")),
        SHOWN,
    )
    .await;
    page
}

async fn comment(app: &TestApp, token: &str, event: i64, content: &str) -> (StatusCode, Value) {
    app.post(
        "/api/live/comments/",
        Some(token),
        json!({ "live_event": event, "live_fight": null, "content": content, "parent_comment": null }),
    )
    .await
}

async fn posted(app: &TestApp, token: &str, event: i64, content: &str) -> i64 {
    let (status, body) = comment(app, token, event, content).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_i64().expect("id")
}

#[actix_rt::test]
async fn a_moderator_hides_restores_and_mutes_from_the_console_while_a_viewer_watches() {
    let app = TestApp::spawn().await;
    let night = night(&app, 1, json!({})).await;
    let event = night.event;
    app.user_with_role("mod@console-b.test", "moderator").await;
    let (fan, fan_id) = app.register("fan@console-b.test").await;
    let (reporter, _) = app.register("reporter-fan@console-b.test").await;

    let mut page = console(
        "a_moderator_hides_restores_and_mutes_from_the_console",
        &app,
        "mod@console-b.test",
        PASSWORD,
    )
    .await;
    // A moderator sees moderation, not the admin's views.
    for (view, shown) in [
        ("moderation", true),
        ("polls", true),
        ("notifications", false),
        ("monitor", false),
    ] {
        assert_eq!(
            page.eval(&exists(&format!("#nav a[data-view=\"{view}\"]")))
                .await,
            Value::Bool(shown),
            "{view} in a moderator's navigation"
        );
    }
    open_view(&mut page, "moderation").await;
    // The shell picks the live event; the view follows its comments live.
    page.wait_for(
        "the comment stream live",
        &exists("#stream[data-live=\"true\"]"),
        SHOWN,
    )
    .await;
    let mut watch = viewer("a_moderator_hides_restores_and_mutes_viewer", &app, event).await;

    // A fan's comment over REST arrives in the console and on the viewer page.
    let first = posted(&app, &fan, event, "Body shot <b>city</b>").await;
    let row = format!("#stream li[data-comment-id=\"{first}\"]");
    page.wait_for("the fan's comment in the console", &exists(&row), SHOWN)
        .await;
    assert!(
        page.eval(&text(&row))
            .await
            .as_str()
            .is_some_and(|t| t.contains("Body shot <b>city</b>")),
        "shown as text"
    );
    assert_eq!(page.eval(&exists(&format!("{row} b"))).await, false);
    let theirs = format!("#comments li[data-id=\"{first}\"]");
    watch
        .wait_for("the comment on the viewer page", &exists(&theirs), SHOWN)
        .await;

    // Hidden from the console: gone from the viewer page, logged with the reason.
    set(&mut page, "#mod-reason", "low blow").await;
    click(&mut page, &format!("{row} button[data-action=\"hide\"]")).await;
    page.wait_for(
        "the comment marked hidden",
        &exists(&format!("{row}[data-status=\"hidden\"]")),
        SHOWN,
    )
    .await;
    watch
        .wait_for(
            "the comment gone from the viewer page",
            &format!("!{}", exists(&theirs)),
            SHOWN,
        )
        .await;
    page.wait_for(
        "the hide in the audit log",
        &exists("#audit-section tr[data-action=\"hide_comment\"]"),
        SHOWN,
    )
    .await;
    let (_, stored) = app
        .get(&format!("/api/live/comments/?event={event}"), None)
        .await;
    assert!(
        stored["results"]
            .as_array()
            .expect("results")
            .iter()
            .all(|c| c["id"] != first),
        "hidden for everyone: {stored}"
    );

    // Restored: back on the viewer page.
    click(&mut page, &format!("{row} button[data-action=\"restore\"]")).await;
    page.wait_for(
        "the comment active again",
        &exists(&format!("{row}[data-status=\"active\"]")),
        SHOWN,
    )
    .await;
    watch
        .wait_for(
            "the comment back on the viewer page",
            &exists(&theirs),
            SHOWN,
        )
        .await;

    // Reported by another fan: in the queue, from the staff channel.
    page.wait_for(
        "the staff channel followed",
        &exists("#queue[data-live=\"true\"]"),
        SHOWN,
    )
    .await;
    let (status, report) = app
        .post(
            &format!("/api/live/comments/{first}/report/"),
            Some(&reporter),
            json!({ "reason": "spam" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{report}");
    page.wait_for(
        "the reported comment in the queue, live",
        &exists(&format!(
            "#queue li[data-comment-id=\"{first}\"][data-via=\"frame\"]"
        )),
        SHOWN,
    )
    .await;

    // Slow mode from the console.
    set(&mut page, "#slow-seconds", "30").await;
    click(
        &mut page,
        "[data-testid=\"slow-form\"] button[type=\"submit\"]",
    )
    .await;
    page.wait_for(
        "slow mode on",
        "document.querySelector('[data-testid=\"slow-now\"]').dataset.seconds === '30'",
        SHOWN,
    )
    .await;
    let (_, detail) = app.get(&format!("/api/live/events/{event}/"), None).await;
    assert_eq!(detail["slow_mode_seconds"], 30, "{detail}");
    set(&mut page, "#slow-seconds", "0").await;
    click(
        &mut page,
        "[data-testid=\"slow-form\"] button[type=\"submit\"]",
    )
    .await;
    page.wait_for(
        "slow mode off",
        "document.querySelector('[data-testid=\"slow-now\"]').dataset.seconds === '0'",
        SHOWN,
    )
    .await;

    // The user panel: the fan's history, then a mute on this event.
    click(&mut page, &format!("{row} button[data-action=\"user\"]")).await;
    page.wait_for(
        "the fan's panel",
        &format!(
            "{} && {}",
            exists("[data-testid=\"user-name\"]"),
            exists(&format!(
                "[data-testid=\"user-comments\"] li[data-comment-id=\"{first}\"]"
            ))
        ),
        SHOWN,
    )
    .await;
    set(&mut page, "#mute-minutes", "15").await;
    set(&mut page, "#mute-scope", "event").await;
    click(&mut page, "button[data-action=\"mute\"]").await;
    page.wait_for(
        "the mute in the panel",
        &exists("[data-testid=\"user-mutes\"] li"),
        SHOWN,
    )
    .await;
    let refused = comment(&app, &fan, event, "Can I still talk?").await;
    assert_error(&refused, 403, "muted");
    let (_, actions) = app
        .get("/api/moderation/actions/", Some(&night.admin))
        .await;
    assert!(
        actions["results"]
            .as_array()
            .expect("results")
            .iter()
            .any(|a| a["action"] == "mute_user" && a["target_id"] == fan_id),
        "{actions}"
    );
    // More of the night's chatter, for the picture.
    for line in ["What a jab!", "Ref, stop it"] {
        let id = posted(&app, &reporter, event, line).await;
        page.wait_for(
            "another comment",
            &exists(&format!("#stream li[data-comment-id=\"{id}\"]")),
            SHOWN,
        )
        .await;
    }
    screenshot(&mut page, "moderation").await;
    let errors: Vec<&String> = page
        .console()
        .iter()
        .filter(|l| l.starts_with("exception"))
        .collect();
    assert!(errors.is_empty(), "the console threw: {errors:?}");
}

#[actix_rt::test]
async fn a_send_is_previewed_and_the_emergency_broadcast_goes_out_only_after_both_confirmations() {
    let app = TestApp::spawn().await;
    let night = night(&app, 1, json!({})).await;
    let event = night.event;
    let mut page = console(
        "a_send_is_previewed_and_the_broadcast_needs_both_confirmations",
        &app,
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
    )
    .await;
    let mut watch = viewer("the_emergency_broadcast_viewer", &app, event).await;
    open_view(&mut page, "notifications").await;

    // A bulk send previewed: the audience's size and the template as one of them reads it.
    set(&mut page, "#send-title", "Doors open, {user}").await;
    set(&mut page, "#send-message", "Main card at 8").await;
    click(&mut page, "button[data-action=\"preview\"]").await;
    page.wait_for(
        "the preview",
        &exists("[data-testid=\"audience-size\"]"),
        SHOWN,
    )
    .await;
    let (status, expected) = app
        .post(
            "/api/notifications/preview/",
            Some(&night.admin),
            json!({ "audience": { "kind": "all" }, "notification_type": "system",
                    "title": "Doors open, {user}", "message": "Main card at 8" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{expected}");
    let size = expected["audience_size"].as_i64().expect("size");
    assert!(size >= 1, "the admin at least: {expected}");
    assert_eq!(
        page.eval(&text("[data-testid=\"audience-size\"]")).await,
        json!(size.to_string()),
    );
    let title = expected["sample"]["title"].as_str().expect("a sample");
    assert!(!title.contains("{user}"), "filled in: {title}");
    assert_eq!(
        page.eval(&text("[data-testid=\"sample-title\"]")).await,
        json!(title),
    );
    screenshot(&mut page, "notifications").await;

    set(&mut page, "#broadcast-title", "Evacuate hall B").await;
    set(&mut page, "#broadcast-message", "Use the north exits").await;

    // Confirmed once, then the typed step cancelled: nothing is sent.
    click(&mut page, "button[data-action=\"broadcast\"]").await;
    page.wait_for("the first confirmation", &exists("#confirm-ok"), SHOWN)
        .await;
    assert_eq!(page.eval(&exists("#confirm-typed")).await, false);
    click(&mut page, "#confirm-ok").await;
    page.wait_for("the typed confirmation", &exists("#confirm-typed"), SHOWN)
        .await;
    assert_eq!(
        page.eval("document.querySelector('#confirm-ok').disabled")
            .await,
        true,
        "the word must be typed first"
    );
    click(&mut page, "#confirm-cancel").await;
    page.wait_for(
        "not sent",
        &format!(
            "{} === 'Not sent.'",
            text("[data-testid=\"broadcast-status\"]")
        ),
        SHOWN,
    )
    .await;
    let broadcasts = |page: Value| {
        page["results"]
            .as_array()
            .expect("results")
            .iter()
            .filter(|c| c["source"] == "broadcast")
            .count()
    };
    let (_, campaigns) = app
        .get("/api/notifications/analytics/", Some(&night.admin))
        .await;
    assert_eq!(
        broadcasts(campaigns),
        0,
        "cancelling the second step sends nothing"
    );
    assert_eq!(watch.eval(&exists("#broadcast[hidden]")).await, true);

    // Both steps: it reaches the viewer page.
    click(&mut page, "button[data-action=\"broadcast\"]").await;
    page.wait_for("the first confirmation", &exists("#confirm-ok"), SHOWN)
        .await;
    click(&mut page, "#confirm-ok").await;
    page.wait_for("the typed confirmation", &exists("#confirm-typed"), SHOWN)
        .await;
    set(&mut page, "#confirm-typed", "BROADCAST").await;
    click(&mut page, "#confirm-ok").await;
    page.wait_for(
        "sent",
        &exists("[data-testid=\"broadcast-status\"][data-sent]"),
        SHOWN,
    )
    .await;
    watch
        .wait_for(
            "the broadcast on the viewer page",
            &format!(
                "{} && {}.includes('Evacuate hall B')",
                exists("#broadcast:not([hidden])"),
                text("#broadcast-title")
            ),
            SHOWN,
        )
        .await;
    let (_, campaigns) = app
        .get("/api/notifications/analytics/", Some(&night.admin))
        .await;
    assert_eq!(broadcasts(campaigns), 1);
    page.wait_for(
        "the broadcast among the campaigns",
        &exists("[data-testid=\"campaigns\"] tr[data-source=\"broadcast\"]"),
        SHOWN,
    )
    .await;
}

#[actix_rt::test]
async fn a_reporter_sees_no_moderation_and_is_refused_it_by_address() {
    let app = TestApp::spawn().await;
    app.user_with_role("reporter@console-b.test", "reporter")
        .await;
    let mut page = console(
        "a_reporter_sees_no_moderation_and_is_refused_it_by_address",
        &app,
        "reporter@console-b.test",
        PASSWORD,
    )
    .await;
    for view in [
        "moderation",
        "polls",
        "notifications",
        "monitor",
        "analytics",
        "automation",
    ] {
        assert_eq!(
            page.eval(&exists(&format!("#nav a[data-view=\"{view}\"]")))
                .await,
            Value::Bool(false),
            "{view} in a reporter's navigation"
        );
    }
    page.eval("location.hash = '#/moderation'").await;
    page.wait_for("the refusal", &exists("[data-testid=\"refused\"]"), SHOWN)
        .await;
    assert_eq!(
        page.eval(&exists("[data-testid=\"view-moderation\"]"))
            .await,
        false,
        "the view is not mounted"
    );
}

#[actix_rt::test]
async fn the_automation_view_lists_a_pending_start_and_cancels_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    // An event covered live from an hour from now, starting by itself: one pending job.
    let start = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let (status, event) = app
        .post(
            "/api/events/",
            Some(&admin),
            json!({ "name": "Next Night", "venue": "Arena", "scheduled_start": start }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{event}");
    let (status, live) = app
        .post(
            "/api/live/events/",
            Some(&admin),
            json!({ "event": event["id"], "start_time": start, "settings": { "auto_start": true } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{live}");
    let live = live["id"].as_i64().expect("id");

    let mut page = console(
        "the_automation_view_lists_a_pending_start_and_cancels_it",
        &app,
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
    )
    .await;
    pick_event(&mut page, live).await;
    open_view(&mut page, "automation").await;
    page.wait_for(
        "the switch as set",
        "document.querySelector('#sw-auto_start') && document.querySelector('#sw-auto_start').checked",
        SHOWN,
    )
    .await;
    let job = "[data-testid=\"jobs-pending\"] tr[data-kind=\"auto_start\"]";
    page.wait_for("the pending start", &exists(job), SHOWN)
        .await;
    screenshot(&mut page, "automation").await;
    let id = page
        .eval(&format!(
            "Number(document.querySelector({}).dataset.jobId)",
            js(job)
        ))
        .await
        .as_i64()
        .expect("a job id");

    // Cancelled after the confirmation: in the history as cancelled, and so stored.
    click(&mut page, &format!("{job} button[data-action=\"cancel\"]")).await;
    page.wait_for("the confirmation", &exists("#confirm-ok"), SHOWN)
        .await;
    click(&mut page, "#confirm-ok").await;
    page.wait_for(
        "the job cancelled in the history",
        &exists(&format!(
            "[data-testid=\"jobs-history\"] tr[data-job-id=\"{id}\"][data-status=\"cancelled\"]"
        )),
        SHOWN,
    )
    .await;
    assert_eq!(page.eval(&exists(job)).await, false, "no longer pending");
    let (_, overview) = app
        .get(
            &format!("/api/live/events/{live}/automation/"),
            Some(&admin),
        )
        .await;
    let stored = overview["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .find(|j| j["id"] == id)
        .cloned()
        .expect("the job");
    assert_eq!(stored["status"], "cancelled", "{overview}");

    // A switch turned off from the console is stored.
    click(&mut page, "#sw-auto_complete").await;
    page.wait_for(
        "the switch saved",
        &format!(
            "{}.startsWith('Saved')",
            text("[data-testid=\"settings-status\"]")
        ),
        SHOWN,
    )
    .await;
    let (_, overview) = app
        .get(
            &format!("/api/live/events/{live}/automation/"),
            Some(&admin),
        )
        .await;
    assert_eq!(overview["settings"]["auto_complete"], true, "{overview}");
}

#[actix_rt::test]
async fn a_poll_made_in_the_console_opens_counts_votes_live_and_closes() {
    let app = TestApp::spawn().await;
    // The shell picks the one live event by itself.
    let night = night(&app, 1, json!({})).await;
    app.user_with_role("polls@console-b.test", "moderator")
        .await;
    let (fan, _) = app.register("voter@console-b.test").await;
    let mut page = console(
        "a_poll_made_in_the_console_opens_counts_votes_live_and_closes",
        &app,
        "polls@console-b.test",
        PASSWORD,
    )
    .await;
    open_view(&mut page, "polls").await;
    page.wait_for(
        "the event's polls followed",
        &exists("#polls[data-live=\"true\"]"),
        SHOWN,
    )
    .await;
    set(&mut page, "#poll-question", "Who takes it?").await;
    set(&mut page, "#poll-options", "Red\nBlue\nDraw").await;
    // Closing in ten minutes, in the browser's own zone (a datetime-local field).
    page.eval(
        "(() => { const d = new Date(Date.now() + 10 * 60 * 1000); const p = (n) => String(n).padStart(2, '0'); \
         document.querySelector('#poll-closes').value = \
         `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`; return true; })()",
    )
    .await;
    click(
        &mut page,
        "[data-testid=\"poll-form\"] button[type=\"submit\"]",
    )
    .await;
    let draft = "[data-testid=\"poll\"][data-status=\"draft\"]";
    page.wait_for("the draft", &exists(draft), SHOWN).await;
    let id = page
        .eval(&format!(
            "Number(document.querySelector({}).dataset.pollId)",
            js(draft)
        ))
        .await
        .as_i64()
        .expect("a poll id");
    let (_, stored) = app
        .get(&format!("/api/live/polls/{id}/"), Some(&night.admin))
        .await;
    assert_eq!(stored["question"], "Who takes it?", "{stored}");
    assert_eq!(stored["options"].as_array().map(Vec::len), Some(3));
    assert!(stored["closes_at"].is_string(), "{stored}");

    let card = format!("[data-testid=\"poll\"][data-poll-id=\"{id}\"]");
    click(&mut page, &format!("{card} button[data-action=\"open\"]")).await;
    page.wait_for(
        "the poll open",
        &exists(&format!("{card}[data-status=\"open\"]")),
        SHOWN,
    )
    .await;
    let option = stored["options"][1]["id"].as_i64().expect("option");
    let (status, vote) = app
        .post(
            &format!("/api/live/polls/{id}/vote/"),
            Some(&fan),
            json!({ "option": option }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{vote}");
    page.wait_for(
        "the vote counted live",
        &exists(&format!(
            "{card} li[data-option-id=\"{option}\"][data-votes=\"1\"]"
        )),
        SHOWN,
    )
    .await;
    click(&mut page, &format!("{card} button[data-action=\"close\"]")).await;
    page.wait_for(
        "the poll closed",
        &exists(&format!("{card}[data-status=\"closed\"]")),
        SHOWN,
    )
    .await;
    let (_, stored) = app.get(&format!("/api/live/polls/{id}/"), None).await;
    assert_eq!(stored["status"], "closed", "{stored}");
}

#[actix_rt::test]
async fn the_analytics_view_counts_the_nights_comments_and_the_monitor_shows_this_node() {
    // A short flush, so the figures reach PostgreSQL in a moment.
    let mut config = test_config(fresh_database());
    config.analytics_flush_interval = Duration::from_millis(200);
    let app = TestApp::with_config(config).await;
    let night = night(&app, 1, json!({})).await;
    let event = night.event;
    let (fan, _) = app.register("fan@analytics-b.test").await;
    // A fan watching, to be counted among the viewers.
    let _watch = viewer("the_analytics_view_viewer", &app, event).await;
    for line in ["Jab", "Cross", "Hook"] {
        posted(&app, &fan, event, line).await;
    }
    let mut page = console(
        "the_analytics_view_counts_the_nights_comments_and_the_monitor_shows_this_node",
        &app,
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
    )
    .await;
    pick_event(&mut page, event).await;
    open_view(&mut page, "analytics").await;
    // The view reads the figures every 5 s.
    page.wait_for(
        "the night's three comments",
        &format!("{} === '3'", text("[data-testid=\"a-comments-total\"]")),
        Duration::from_secs(30),
    )
    .await;
    page.wait_for(
        "the watching fan counted",
        &format!("Number({}) >= 1", text("[data-testid=\"a-viewers-peak\"]")),
        Duration::from_secs(30),
    )
    .await;
    let (status, stored) = app
        .get(
            &format!("/api/live/analytics/?event={event}"),
            Some(&night.admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(stored["comments"]["total"], 3, "{stored}");
    page.wait_for(
        "the charts drawn",
        &format!(
            "{} && {}",
            exists("[data-testid=\"chart-rates\"] canvas"),
            exists("[data-testid=\"chart-viewers\"] canvas")
        ),
        SHOWN,
    )
    .await;
    screenshot(&mut page, "analytics").await;

    // The CSV comes with the operator's token.
    click(&mut page, "[data-testid=\"csv\"]").await;
    page.wait_for(
        "the CSV fetched",
        "document.querySelector('[data-testid=\"csv-status\"]').dataset.kind === 'ok'",
        SHOWN,
    )
    .await;

    // The monitor lists this node, alive.
    open_view(&mut page, "monitor").await;
    page.wait_for(
        "this node, alive",
        &exists("[data-testid=\"nodes\"] article[data-alive=\"true\"]"),
        SHOWN,
    )
    .await;
    screenshot(&mut page, "monitor").await;
}
