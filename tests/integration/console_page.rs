//! Driving the console's pages in Chromium, shared by the console's tests
//! (`console.rs`, `console_moderation.rs`): DOM conditions as JavaScript
//! expressions, clicks and form values as a user would give them, real key
//! events, signing in, and the README's screenshots (with
//! `RINGSIDE_SCREENSHOTS=<dir>`, at 1280×800).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use crate::browser::Browser;

/// How long a page may take to show what happened.
pub const SHOWN: Duration = Duration::from_secs(20);

/// A JavaScript string literal of `s`.
pub fn js(s: &str) -> String {
    serde_json::to_string(s).expect("a string")
}

pub fn exists(selector: &str) -> String {
    format!("(document.querySelector({}) !== null)", js(selector))
}

pub fn text(selector: &str) -> String {
    format!(
        "((document.querySelector({}) || {{}}).textContent || '')",
        js(selector)
    )
}

pub fn count(selector: &str) -> String {
    format!("document.querySelectorAll({}).length", js(selector))
}

/// Clicks the element once it is there and enabled.
pub async fn click(page: &mut Browser, selector: &str) {
    page.wait_for(
        &format!("{selector} to click"),
        &format!(
            "(() => {{ const b = document.querySelector({0}); return b && !b.disabled; }})()",
            js(selector)
        ),
        SHOWN,
    )
    .await;
    page.eval(&format!(
        "document.querySelector({}).click(); true",
        js(selector)
    ))
    .await;
}

/// Sets a form control's value as a user would (input and change events).
pub async fn set(page: &mut Browser, selector: &str, value: &str) {
    page.wait_for(&format!("{selector} to fill"), &exists(selector), SHOWN)
        .await;
    page.eval(&format!(
        "(() => {{ const e = document.querySelector({}); e.value = {}; \
         e.dispatchEvent(new Event('input', {{ bubbles: true }})); \
         e.dispatchEvent(new Event('change', {{ bubbles: true }})); return e.value; }})()",
        js(selector),
        js(value)
    ))
    .await;
}

pub async fn submit(page: &mut Browser, selector: &str) {
    page.wait_for(&format!("{selector} to submit"), &exists(selector), SHOWN)
        .await;
    page.eval(&format!(
        "document.querySelector({}).requestSubmit(); true",
        js(selector)
    ))
    .await;
}

/// Answers the console's confirmation modal with its confirm button.
pub async fn confirm(page: &mut Browser) {
    click(page, "#confirm-ok").await;
    page.wait_for(
        "the modal closed",
        &format!("!{}", exists("#confirm")),
        SHOWN,
    )
    .await;
}

/// A key pressed on the page (a real key event, not a synthetic DOM one).
pub async fn key(page: &mut Browser, key: &str) {
    let code = format!("Key{}", key.to_uppercase());
    let vk = key.to_uppercase().chars().next().map_or(0, |c| c as u32);
    for kind in ["keyDown", "keyUp"] {
        page.command(
            "Input.dispatchKeyEvent",
            json!({ "type": kind, "key": key, "code": code, "text": if kind == "keyDown" { key } else { "" },
                    "windowsVirtualKeyCode": vk }),
        )
        .await;
    }
}

/// The viewport of a laptop at the cage side.
pub async fn laptop(page: &mut Browser) {
    page.command(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": false }),
    )
    .await;
}

/// With `RINGSIDE_SCREENSHOTS` set, the page as it is now (1280×800) into that folder.
pub async fn screenshot(page: &mut Browser, name: &str) {
    let Some(dir) = std::env::var_os("RINGSIDE_SCREENSHOTS") else {
        return;
    };
    use base64::Engine;
    laptop(page).await;
    // Let the last frame's repaint land (charts redraw for the width).
    page.eval(
        "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))",
    )
    .await;
    let shot = page
        .command("Page.captureScreenshot", json!({ "format": "png" }))
        .await;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().expect("screenshot data"))
        .expect("base64");
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    std::fs::write(dir.join(format!("{name}.png")), bytes).expect("screenshot written");
}

pub async fn sign_in(page: &mut Browser, email: &str, password: &str) {
    page.wait_for(
        "the sign-in form",
        "!document.querySelector('#signin').hidden",
        SHOWN,
    )
    .await;
    set(page, "#signin-email", email).await;
    set(page, "#signin-password", password).await;
    submit(page, "#signin").await;
}
