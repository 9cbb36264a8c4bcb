//! The operator console (`/admin/`) in a real headless Chromium against the
//! real binary: an operator signs in, gives an event live coverage, starts
//! it, assigns the officials and runs a three-fight card to completed from
//! the console alone (a KO, a decision on three judges' cards, a
//! submission, the first then amended), with a late replacement, stats
//! typed from the keyboard, a pause and a foul, while a viewer page open in
//! a second browser shows every step; a reporter's update arrives in the
//! approval queue live and, approved, shows on the viewer page. The roles: a
//! viewer account has no access, a reporter sees the composer only. The
//! board's cap, and how the files are served.
//!
//! With `RINGSIDE_SCREENSHOTS=<dir>` the test also saves PNGs of each view
//! at 1280×800 for the README (`docs/console/`).

use awc::http::StatusCode;
use serde_json::{json, Value};

use crate::browser::Browser;
use crate::child::ChildServer;
use crate::console_page::{
    click, confirm, count, exists, js, key, laptop, screenshot, set, sign_in, submit, text, SHOWN,
};
use crate::harness::{build_card, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};

const JUDGES: [&str; 3] = ["Ana Pires", "Ben Oduya", "Cleo Marsh"];
const REFEREES: [&str; 3] = ["Rita Ortega", "Sam Kwan", "Ivo Brandt"];

/// The corners' names, main event first (the card's fighters get them, so
/// the page and its screenshots read like a fight night).
const CORNERS: [(&str, &str); 3] = [
    ("Kai Okafor", "Leo Varga"),
    ("Ana Ruiz", "Mia Costa"),
    ("Tom Rautio", "Nico Bell"),
];

/// The navigation's view ids, in order.
async fn nav(page: &mut Browser) -> Vec<String> {
    serde_json::from_value(
        page.eval("[...document.querySelectorAll('#nav a[data-view]')].map(a => a.dataset.view)")
            .await,
    )
    .expect("view ids")
}

/// The console's fight console on `fight`, mounted.
async fn open_fight(page: &mut Browser, fight: i64) {
    page.eval(&format!("location.hash = '#/fight/{fight}'; true"))
        .await;
    page.wait_for(
        "the fight console on the fight",
        &format!(
            "document.querySelector('#view .view[data-view=fight]') !== null \
             && document.querySelector('#view .view').dataset.fight === '{fight}'"
        ),
        SHOWN,
    )
    .await;
}

/// Sets the clock (time gone in the round) from the console's form.
async fn set_clock(page: &mut Browser, elapsed: &str) {
    set(page, "#clock-elapsed", elapsed).await;
    set(page, "#clock-reason", "the arena clock").await;
    submit(page, "#clock-form").await;
    page.wait_for(
        "the clock set",
        &format!(
            "{}.startsWith('Clock set to {elapsed}')",
            text("[data-testid=control-status]")
        ),
        SHOWN,
    )
    .await;
}

async fn start_round(console: &mut Browser, viewer: &mut Browser, round: u32) {
    click(console, "[data-control=start-round]").await;
    console
        .wait_for(
            &format!("round {round} running on the console"),
            &format!(
                "document.querySelector('[data-testid=clock]').dataset.mode === 'running' \
                 && document.querySelector('[data-testid=clock]').dataset.round === '{round}'"
            ),
            SHOWN,
        )
        .await;
    viewer
        .wait_for(
            &format!("round {round} running on the viewer page"),
            &format!(
                "document.querySelector('#clock').dataset.running === 'true' \
                 && document.querySelector('#clock').dataset.round === '{round}'"
            ),
            SHOWN,
        )
        .await;
}

async fn end_round(console: &mut Browser, viewer: &mut Browser, round: u32) {
    click(console, "[data-control=end-round]").await;
    console
        .wait_for(
            &format!("round {round} ended"),
            &format!(
                "{} === 'End round {round}: done.'",
                text("[data-testid=control-status]")
            ),
            SHOWN,
        )
        .await;
    viewer
        .wait_for(
            &format!("round {round} over on the viewer page"),
            "document.querySelector('#clock').dataset.running === 'false'",
            SHOWN,
        )
        .await;
}

/// Records the result from the console's form and confirms it.
async fn record_result(page: &mut Browser, method: &str, winner: &str, technique: Option<&str>) {
    set(page, "#result-method", method).await;
    set(page, "#result-winner", winner).await;
    if let Some(t) = technique {
        set(page, "#result-technique", t).await;
    }
    if !method.ends_with("decision") {
        click(page, "#result-time-now").await;
    }
    submit(page, "#result").await;
    confirm(page).await;
    page.wait_for(
        "the result recorded",
        "document.querySelector('#view .view').dataset.status === 'completed'",
        SHOWN,
    )
    .await;
}

/// The viewer page shows `fight` in focus with `status`.
async fn viewer_sees_fight(viewer: &mut Browser, fight: i64, status: &str) {
    viewer
        .wait_for(
            &format!("the viewer page on fight {fight}, {status}"),
            &format!(
                "document.querySelector('#now').dataset.fightId === '{fight}' \
                 && document.querySelector('#now').dataset.status === '{status}'"
            ),
            SHOWN,
        )
        .await;
}

/// The live fight (id) covering `fight` (a catalog fight id).
fn live_fight_of(live: &Value, fight: i64) -> i64 {
    live["fights"]
        .as_array()
        .expect("fights")
        .iter()
        .find(|f| f["fight"] == fight)
        .and_then(|f| f["id"].as_i64())
        .expect("a live fight for each fight")
}

#[actix_rt::test]
async fn an_operator_runs_a_three_fight_card_from_the_console_while_a_viewer_watches() {
    let name = "an_operator_runs_a_three_fight_card_from_the_console_while_a_viewer_watches";
    let server = ChildServer::start(&[]).await;
    let app: TestApp = server.app();
    let admin = app.admin_token().await;
    // Three fights: the five-round main event (slot 1) and two of three rounds.
    let (event, fights) = build_card(&app, &admin, 3).await;
    for (fight, (red, blue)) in fights.iter().zip(CORNERS) {
        let (_, f) = app.get(&format!("/api/fights/{fight}/"), None).await;
        for (corner, name) in [("red_fighter", red), ("blue_fighter", blue)] {
            let (status, body) = app
                .call(
                    "PATCH",
                    &format!("/api/fighters/{}/", f[corner]),
                    Some(&admin),
                    Some(json!({ "name": name })),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }
    let reporter = app
        .user_with_role("reporter@console.test", "reporter")
        .await;
    let (status, body) = app
        .call(
            "PATCH",
            &format!("/api/events/{event}/"),
            Some(&admin),
            Some(json!({ "name": "Ringside 12: Harbour Nights", "venue": "Harbour Arena" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A stand-in, for a late replacement.
    let (_, opener_fight) = app.get(&format!("/api/fights/{}/", fights[2]), None).await;
    let (status, stand_in) = app
        .post(
            "/api/fighters/",
            Some(&admin),
            json!({ "name": "Pau Serra", "nickname": null, "division": opener_fight["division"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{stand_in}");

    let mut console = Browser::open(name, &app.url("/admin/")).await;
    laptop(&mut console).await;
    sign_in(&mut console, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    console
        .wait_for(
            "the events board",
            &exists("#view .view[data-view=events]"),
            SHOWN,
        )
        .await;
    let views = nav(&mut console).await;
    for v in ["events", "card", "fight", "updates"] {
        assert!(views.iter().any(|x| x == v), "an admin sees {v}: {views:?}");
    }

    // Live coverage for the event, from the board's form.
    console
        .wait_for(
            "the event offered for coverage",
            &exists(&format!("#create-event option[value=\"{event}\"]")),
            SHOWN,
        )
        .await;
    set(&mut console, "#create-event", &event.to_string()).await;
    click(&mut console, "#create-featured").await;
    submit(&mut console, "#create-live").await;
    console
        .wait_for(
            "the live event created",
            "document.querySelector('[data-testid=create-status]').dataset.kind === 'ok'",
            SHOWN,
        )
        .await;
    let (status, page) = app.get("/api/live/events/?status=upcoming", None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let live_id = page["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["event"] == event)
        .and_then(|r| r["id"].as_i64())
        .expect("the console created the live event");
    let row = format!("li[data-live-event=\"{live_id}\"]");
    console
        .wait_for(
            "the live event upcoming on the board",
            &exists(&format!("{row}[data-status=upcoming]")),
            SHOWN,
        )
        .await;

    // The viewer page, in a second browser.
    let mut viewer = Browser::open(
        &format!("{name}-viewer"),
        &app.url(&format!("/watch/{live_id}/")),
    )
    .await;
    viewer
        .wait_for(
            "the viewer page connected, the event upcoming",
            &format!(
                "{} === 'connected' && document.querySelector('#event-status').dataset.status === 'upcoming' \
                 && {} === 3",
                text("#state"),
                count("#card li[data-fight-id]")
            ),
            SHOWN,
        )
        .await;
    screenshot(&mut console, "events-board").await;

    // Start it, behind the confirmation.
    click(&mut console, &format!("{row} button[data-action=start]")).await;
    confirm(&mut console).await;
    console
        .wait_for(
            "the event live on the board",
            &format!(
                "{} && {}.startsWith('1 live now')",
                exists(&format!("{row}[data-status=live]")),
                text("[data-testid=live-count]")
            ),
            SHOWN,
        )
        .await;
    viewer
        .wait_for(
            "the event live on the viewer page",
            "document.querySelector('#event-status').dataset.status === 'live'",
            SHOWN,
        )
        .await;

    let (status, live) = app.get(&format!("/api/live/events/{live_id}/"), None).await;
    assert_eq!(status, StatusCode::OK, "{live}");
    let main = live_fight_of(&live, fights[0]);
    let second = live_fight_of(&live, fights[1]);
    let opener = live_fight_of(&live, fights[2]);

    // The officials of each fight, from the card editor.
    click(&mut console, &format!("{row} button[data-action=card]")).await;
    console
        .wait_for(
            "the card editor with three fights",
            &format!("{} === 3", count("#view li[data-live-fight]")),
            SHOWN,
        )
        .await;
    for (i, fight) in [main, second, opener].into_iter().enumerate() {
        let form = format!("li[data-live-fight=\"{fight}\"] form[data-form=officials]");
        set(&mut console, &format!("{form} [name=referee]"), REFEREES[i]).await;
        for (j, judge) in JUDGES.iter().enumerate() {
            set(
                &mut console,
                &format!("{form} [name=judge{}]", j + 1),
                judge,
            )
            .await;
        }
        submit(&mut console, &form).await;
        console
            .wait_for(
                "the officials assigned",
                &exists(&format!(
                    "li[data-live-fight=\"{fight}\"] [data-officials=set]"
                )),
                SHOWN,
            )
            .await;
    }
    // A late replacement in the opener's blue corner, from the card editor.
    let form = format!("li[data-live-fight=\"{opener}\"] form[data-form=replacement]");
    console
        .wait_for(
            "the stand-in offered",
            &exists(&format!("{form} option[value=\"{}\"]", stand_in["id"])),
            SHOWN,
        )
        .await;
    set(&mut console, &format!("{form} [name=corner]"), "blue").await;
    set(
        &mut console,
        &format!("{form} [name=fighter]"),
        &stand_in["id"].to_string(),
    )
    .await;
    submit(&mut console, &form).await;
    confirm(&mut console).await;
    console
        .wait_for(
            "the stand-in on the card",
            &format!(
                "{}.includes('Tom Rautio vs Pau Serra')",
                text(&format!("li[data-live-fight=\"{opener}\"] .names"))
            ),
            SHOWN,
        )
        .await;
    let (_, replaced) = app.get(&format!("/api/fights/{}/", fights[2]), None).await;
    assert_eq!(replaced["blue_fighter"], stand_in["id"]);
    viewer
        .wait_for(
            "the card change on the viewer page",
            &format!(
                "{}.includes('Pau Serra')",
                text(&format!("#card li[data-fight-id=\"{opener}\"]"))
            ),
            SHOWN,
        )
        .await;
    screenshot(&mut console, "card-editor").await;

    // The opener (the card runs from its last slot): a KO in round 1, with
    // stats typed from the keyboard.
    open_fight(&mut console, opener).await;
    click(&mut console, "[data-control=start-fight]").await;
    viewer_sees_fight(&mut viewer, opener, "in_progress").await;
    start_round(&mut console, &mut viewer, 1).await;
    console
        .eval("document.activeElement && document.activeElement.blur(); true")
        .await;
    for k in ["q", "q", "q", "w", "u"] {
        key(&mut console, k).await;
    }
    viewer
        .wait_for(
            "the typed stats on the viewer page",
            "(() => { const rows = document.querySelectorAll('#stats tbody tr'); \
             return rows.length > 2 && rows[0].querySelector('.red-v').textContent === '3 / 3' \
             && rows[0].querySelector('.blue-v').textContent === '1 / 1' \
             && rows[2].querySelector('.red-v').textContent === '1 / 1'; })()",
            SHOWN,
        )
        .await;
    // The arena clock says 2:13 gone: the console's and the viewer's clocks follow.
    set_clock(&mut console, "2:13").await;
    viewer
        .wait_for(
            "the clock set on the viewer page",
            "Number(document.querySelector('#clock').dataset.elapsed) >= 133",
            SHOWN,
        )
        .await;
    screenshot(&mut console, "fight-console").await;
    record_result(&mut console, "ko", "red", None).await;
    viewer
        .wait_for(
            "the KO on the viewer page",
            &format!(
                "{}.includes('Tom Rautio wins by KO') && \
                 document.querySelector('#card li[data-fight-id=\"{opener}\"]').dataset.status === 'completed'",
                text("#result")
            ),
            SHOWN,
        )
        .await;

    // A reporter's update: waiting in the queue live, approved, on the viewer page.
    console.eval("location.hash = '#/updates'; true").await;
    console
        .wait_for(
            "the approval queue following the staff channel",
            "(document.querySelector('[data-testid=queue-note]') || {dataset: {}}).dataset.live === 'true'",
            SHOWN,
        )
        .await;
    let (status, update) = app
        .post(
            "/api/live/updates/",
            Some(&reporter),
            json!({
                "live_event": live_id, "live_fight": null, "update_type": "news",
                "title": "Cageside: the co-main is next <b>!</b>", "description": "From our reporter",
                "round_number": null, "data": {}, "is_breaking": false
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{update}");
    assert_eq!(update["is_verified"], false, "a reporter's waits");
    let pending = format!(
        "[data-testid=approval-queue] li[data-update-id=\"{}\"]",
        update["id"]
    );
    console
        .wait_for(
            "the reporter's update in the queue",
            &exists(&pending),
            SHOWN,
        )
        .await;
    assert_eq!(
        viewer
            .eval(&exists(&format!(
                "#updates li[data-id=\"{}\"]",
                update["id"]
            )))
            .await,
        false,
        "not on the viewer page before approval"
    );
    screenshot(&mut console, "updates").await;
    click(
        &mut console,
        &format!("{pending} button[data-action=approve]"),
    )
    .await;
    console
        .wait_for(
            "the queue emptied",
            &format!("!{}", exists(&pending)),
            SHOWN,
        )
        .await;
    viewer
        .wait_for(
            "the approved update on the viewer page",
            &format!(
                "{}.includes('Cageside: the co-main is next <b>!</b>')",
                text(&format!("#updates li[data-id=\"{}\"]", update["id"]))
            ),
            SHOWN,
        )
        .await;

    // The co-main: three full rounds, every round on three judges' cards,
    // then the decision.
    open_fight(&mut console, second).await;
    click(&mut console, "[data-control=start-fight]").await;
    viewer_sees_fight(&mut viewer, second, "in_progress").await;
    for round in 1..=3u32 {
        start_round(&mut console, &mut viewer, round).await;
        if round == 1 {
            // The doctor looks at a cut: the clocks stand still, then run on.
            set(&mut console, "#clock-reason", "doctor checks the cut").await;
            click(&mut console, "[data-control=pause]").await;
            viewer
                .wait_for(
                    "the clock paused on the viewer page",
                    &format!(
                        "document.querySelector('#clock').dataset.mode === 'paused' && {}.includes('doctor checks the cut')",
                        text("#clock-note")
                    ),
                    SHOWN,
                )
                .await;
            click(&mut console, "[data-control=resume]").await;
            viewer
                .wait_for(
                    "the clock running again on the viewer page",
                    "document.querySelector('#clock').dataset.mode === 'running'",
                    SHOWN,
                )
                .await;
        }
        if round == 2 {
            // A point taken from blue for an eye poke.
            set(&mut console, "#foul-corner", "blue").await;
            set(&mut console, "#foul-name", "eye poke").await;
            set(&mut console, "#foul-points", "1").await;
            submit(&mut console, "#foul-form").await;
            console
                .wait_for(
                    "the deduction listed",
                    &format!(
                        "{}.includes('R2 · blue · eye poke · −1')",
                        text("[data-testid=foul-list]")
                    ),
                    SHOWN,
                )
                .await;
        }
        set_clock(&mut console, "5:00").await;
        end_round(&mut console, &mut viewer, round).await;
        for judge in JUDGES {
            let cell = format!(
                "[data-testid=scores] select[data-judge={}][data-round=\"{round}\"]",
                js(judge)
            );
            console
                .wait_for(
                    "the score cell open",
                    &format!(
                        "(() => {{ const s = document.querySelector({}); return s && !s.disabled; }})()",
                        js(&cell)
                    ),
                    SHOWN,
                )
                .await;
            set(&mut console, &cell, "10-9").await;
            console
                .wait_for(
                    "the score stored",
                    &exists(&format!("{cell}[data-scored=true]")),
                    SHOWN,
                )
                .await;
        }
    }
    console
        .wait_for(
            "every round on every card",
            &format!(
                "{} === '9 of 9 judges\\' rounds in.'",
                text("[data-testid=scores-in]")
            ),
            SHOWN,
        )
        .await;
    record_result(&mut console, "unanimous_decision", "red", None).await;
    viewer
        .wait_for(
            "the decision and the cards on the viewer page",
            &format!(
                "{}.includes('Ana Ruiz wins by unanimous decision (30-26, 30-26, 30-26)') \
                 && document.querySelector('#scorecards').dataset.visible === 'true'",
                text("#result")
            ),
            SHOWN,
        )
        .await;

    // The main event: a submission in round 2.
    open_fight(&mut console, main).await;
    click(&mut console, "[data-control=start-fight]").await;
    viewer_sees_fight(&mut viewer, main, "in_progress").await;
    start_round(&mut console, &mut viewer, 1).await;
    set_clock(&mut console, "5:00").await;
    end_round(&mut console, &mut viewer, 1).await;
    start_round(&mut console, &mut viewer, 2).await;
    // A decision in round 2 of 5: the engine refuses, and the console says
    // so plainly (status, code, message) where it was asked.
    set(&mut console, "#result-method", "unanimous_decision").await;
    set(&mut console, "#result-winner", "red").await;
    submit(&mut console, "#result").await;
    confirm(&mut console).await;
    console
        .wait_for(
            "the engine's refusal shown",
            "(() => { const s = document.querySelector('[data-testid=result-status]'); \
             return s.dataset.kind === 'error' && s.dataset.status.startsWith('4') && s.dataset.code !== '' \
             && s.textContent.startsWith(`${s.dataset.status} ${s.dataset.code}: `); })()",
            SHOWN,
        )
        .await;
    assert_eq!(
        viewer.eval(&format!("{} === ''", text("#result"))).await,
        true,
        "no result on the viewer page"
    );
    record_result(&mut console, "submission", "blue", Some("rear-naked choke")).await;
    viewer
        .wait_for(
            "the submission on the viewer page",
            &format!(
                "{0}.includes('Leo Varga wins by submission') && {0}.includes('rear-naked choke')",
                text("#result")
            ),
            SHOWN,
        )
        .await;

    // The opener's result amended after a failed test: a no contest.
    open_fight(&mut console, opener).await;
    set(&mut console, "#amend-method", "no_contest").await;
    set(&mut console, "#amend-winner", "").await;
    set(&mut console, "#amend-reason", "failed a drug test").await;
    submit(&mut console, "#amend").await;
    confirm(&mut console).await;
    viewer
        .wait_for(
            "the amended result on the viewer page's card",
            &format!(
                "{}.includes('No contest')",
                text(&format!("#card li[data-fight-id=\"{opener}\"]"))
            ),
            SHOWN,
        )
        .await;

    // The night ends from the board.
    console.eval("location.hash = '#/events'; true").await;
    click(&mut console, &format!("{row} button[data-action=end]")).await;
    confirm(&mut console).await;
    console
        .wait_for(
            "the event completed on the board",
            &exists(&format!("{row}[data-status=completed]")),
            SHOWN,
        )
        .await;
    viewer
        .wait_for(
            "the event completed on the viewer page",
            "document.querySelector('#event-status').dataset.status === 'completed'",
            SHOWN,
        )
        .await;

    // What the console did is what the server holds.
    let (_, live) = app.get(&format!("/api/live/events/{live_id}/"), None).await;
    assert_eq!(live["status"], "completed");
    let result_of = |id: i64| {
        live["fights"]
            .as_array()
            .expect("fights")
            .iter()
            .find(|f| f["id"] == id)
            .map(|f| f["result"].clone())
            .expect("the fight")
    };
    assert_eq!(result_of(opener)["method"], "no_contest", "amended");
    assert!(result_of(opener)["winner"].is_null());
    assert_eq!(result_of(second)["method"], "unanimous_decision");
    assert_eq!(result_of(main)["method"], "submission");
    assert_eq!(result_of(main)["winner"], "blue");
    assert_eq!(result_of(main)["round"], 2);
    let (_, opener_stats) = app.get(&format!("/api/live/fights/{opener}/"), None).await;
    let red = &opener_stats["stats"]["rounds"]["1"]["red"];
    assert_eq!(red["significant_strikes_landed"], 3, "{opener_stats}");
    assert_eq!(red["takedowns_landed"], 1, "{opener_stats}");
    assert_eq!(
        opener_stats["stats"]["rounds"]["1"]["blue"]["significant_strikes_landed"],
        1
    );
}

#[actix_rt::test]
async fn a_viewer_account_has_no_access_and_a_reporter_sees_only_the_composer() {
    let name = "a_viewer_account_has_no_access_and_a_reporter_sees_only_the_composer";
    let server = ChildServer::start(&[]).await;
    let app = server.app();
    app.register("fan@console.test").await;
    app.user_with_role("reporter@console.test", "reporter")
        .await;
    app.user_with_role("mod@console.test", "moderator").await;

    let mut page = Browser::open(name, &app.url("/admin/updates")).await;
    laptop(&mut page).await;
    sign_in(&mut page, "fan@console.test", "password-123").await;
    page.wait_for(
        "a viewer told there is no access",
        "document.querySelector('#signin-error').dataset.code === 'no_access'",
        SHOWN,
    )
    .await;
    assert_eq!(
        page.eval("document.querySelector('#app').hidden").await,
        true
    );
    assert_eq!(
        page.eval("sessionStorage.length").await,
        0,
        "no token kept for a viewer"
    );

    // A reporter: the updates view with the composer, nothing else.
    sign_in(&mut page, "reporter@console.test", "password-123").await;
    page.wait_for(
        "the reporter's console",
        &exists("#view .view[data-view=updates]"),
        SHOWN,
    )
    .await;
    assert_eq!(nav(&mut page).await, ["updates"]);
    assert_eq!(page.eval(&exists("[data-testid=queue-panel]")).await, false);
    // A view the role does not have, by its address: refused, plainly.
    page.eval("location.hash = '#/card'; true").await;
    page.wait_for("the card refused", &exists("[data-testid=refused]"), SHOWN)
        .await;
    page.eval("location.hash = '#/fight'; true").await;
    page.wait_for(
        "the fight console refused",
        &exists("[data-testid=refused]"),
        SHOWN,
    )
    .await;

    // A moderator: fight control and the board, no card editor.
    click(&mut page, "#signout").await;
    sign_in(&mut page, "mod@console.test", "password-123").await;
    page.wait_for(
        "the moderator's console",
        &exists("#nav a[data-view=fight]"),
        SHOWN,
    )
    .await;
    let views = nav(&mut page).await;
    for v in ["events", "fight", "updates"] {
        assert!(
            views.iter().any(|x| x == v),
            "a moderator sees {v}: {views:?}"
        );
    }
    assert!(!views.iter().any(|x| x == "card"), "{views:?}");
}

#[actix_rt::test]
async fn the_board_shows_the_servers_cap_when_a_start_is_refused() {
    let name = "the_board_shows_the_servers_cap_when_a_start_is_refused";
    let server = ChildServer::start(&[("MAX_CONCURRENT_EVENTS", "1")]).await;
    let app = server.app();
    let admin = app.admin_token().await;
    let (first, _) = build_card(&app, &admin, 1).await;
    let (status, second) = app
        .post(
            "/api/events/",
            Some(&admin),
            json!({ "name": "Second Night", "venue": "Arena", "scheduled_start": "2026-12-02T20:00:00Z" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let mut live = Vec::new();
    for event in [first, second["id"].as_i64().expect("id")] {
        let (status, body) = app
            .post(
                "/api/live/events/",
                Some(&admin),
                json!({ "event": event, "settings": {} }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        live.push(body["id"].as_i64().expect("id"));
    }
    let (status, body) = app
        .post(
            &format!("/api/live/events/{}/start/", live[0]),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let mut page = Browser::open(name, &app.url("/admin/#/events")).await;
    laptop(&mut page).await;
    sign_in(&mut page, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let row = format!("li[data-live-event=\"{}\"]", live[1]);
    // The cap is on the board before anyone runs into it.
    page.wait_for(
        "one live, one upcoming, and the cap",
        &format!(
            "{} && {} === '1 live now, of at most 1 (MAX_CONCURRENT_EVENTS)'",
            exists(&format!("{row}[data-status=upcoming]")),
            text("[data-testid=live-count]")
        ),
        SHOWN,
    )
    .await;
    // Cancelling the confirmation starts nothing.
    click(&mut page, &format!("{row} button[data-action=start]")).await;
    click(&mut page, "#confirm-cancel").await;
    let (_, still) = app
        .get(&format!("/api/live/events/{}/", live[1]), None)
        .await;
    assert_eq!(still["status"], "upcoming");
    // Confirmed, the server refuses: the refusal by the row.
    click(&mut page, &format!("{row} button[data-action=start]")).await;
    confirm(&mut page).await;
    page.wait_for(
        "the refusal by the row",
        &exists(&format!(
            "{row} .status-line[data-code=too_many_live_events]"
        )),
        SHOWN,
    )
    .await;
    let refusal = page.eval(&text(&format!("{row} .status-line"))).await;
    assert!(
        refusal
            .as_str()
            .is_some_and(|t| t.starts_with("409 too_many_live_events: ")),
        "{refusal}"
    );
}

/// A response's status, a header and the body.
async fn fetch(app: &TestApp, path: &str, header: &str) -> (StatusCode, String, Vec<u8>) {
    let mut resp = app.client.get(app.url(path)).send().await.expect("sent");
    let value = resp
        .headers()
        .get(header)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = resp.body().limit(1 << 22).await.expect("body");
    (resp.status(), value, body.to_vec())
}

#[actix_rt::test]
async fn the_console_is_served_from_the_binary_or_from_a_development_folder() {
    let app = TestApp::spawn().await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web/admin");
    let shell = std::fs::read(root.join("index.html")).expect("the shell");
    // The shell at the root and at any view's address; its policy is the page's.
    for path in ["/admin/", "/admin/fight/12", "/admin/events"] {
        let (status, policy, body) = fetch(&app, path, "content-security-policy").await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(policy.contains("script-src 'self'"), "{path}: {policy}");
        assert_eq!(body, shell, "{path} is the shell");
    }
    // Every file under web/admin/ as it is on disk, with its type.
    for (path, file, content_type) in [
        ("/admin/app.js", "app.js", "text/javascript"),
        ("/admin/lib.js", "lib.js", "text/javascript"),
        ("/admin/admin.css", "admin.css", "text/css"),
        ("/admin/views/fight.js", "views/fight.js", "text/javascript"),
    ] {
        let (status, kind, body) = fetch(&app, path, "content-type").await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(kind.starts_with(content_type), "{path}: {kind}");
        assert_eq!(
            body,
            std::fs::read(root.join(file)).expect("file"),
            "{path}"
        );
    }
    let (status, _, _) = fetch(&app, "/admin/views/nothing.js", "content-type").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.permanent_redirect("/admin").await.as_deref(),
        Some("/admin/")
    );

    // RINGSIDE_WEB_DIR: read from that folder on every request instead.
    let dir = std::env::temp_dir().join(format!("ringside-web-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("admin/views")).expect("folder");
    std::fs::write(dir.join("admin/index.html"), "<p>first</p>").expect("write");
    std::fs::write(dir.join("admin/views/new.js"), "export default {};").expect("write");
    std::fs::write(dir.join("secret.txt"), "not served").expect("write");
    let dev = TestApp::with_config(crate::harness::test_config_with(
        crate::harness::fresh_database(),
        &[("RINGSIDE_WEB_DIR", dir.display().to_string())],
    ))
    .await;
    let (_, _, body) = fetch(&dev, "/admin/fight/3", "content-type").await;
    assert_eq!(body, b"<p>first</p>");
    std::fs::write(dir.join("admin/index.html"), "<p>edited</p>").expect("write");
    let (_, _, body) = fetch(&dev, "/admin/", "content-type").await;
    assert_eq!(body, b"<p>edited</p>", "an edit shows without a rebuild");
    let (status, kind, _) = fetch(&dev, "/admin/views/new.js", "content-type").await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/javascript"), "{kind}");
    for path in [
        "/admin/..%2fsecret.txt",
        "/admin/views/..%2f..%2fsecret.txt",
    ] {
        let (status, _, _) = fetch(&dev, path, "content-type").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path} stays in the folder");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
