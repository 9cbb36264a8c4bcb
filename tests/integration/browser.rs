//! A real headless Chromium driven over the Chrome DevTools Protocol (a
//! WebSocket, with awc like `ws_client.rs`), for tests of the web pages:
//! open a URL, evaluate JavaScript in the page, wait for a condition on its
//! DOM. Chromium resolves no host but 127.0.0.1, so a page that fetched
//! anything from elsewhere would fail. On a failed wait the test gets a
//! screenshot (`target/test-artifacts/<name>.png`), the page's console
//! errors and exceptions, and its text. Dropping it kills Chromium (its
//! whole process group) and removes its profile.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix_codec::Framed;
use awc::ws::{Codec, Frame, Message};
use awc::BoxedSocket;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};

/// How long one DevTools command may take to be answered.
const COMMAND_PATIENCE: Duration = Duration::from_secs(30);

/// How often a wait evaluates its condition.
const POLL_EVERY: Duration = Duration::from_millis(50);

pub struct Browser {
    name: String,
    child: Child,
    profile: PathBuf,
    conn: Framed<BoxedSocket, Codec>,
    next_id: u64,
    /// The page's console errors and warnings and its uncaught exceptions.
    console: Vec<String>,
}

/// The Chromium binary: `CHROMIUM` or Debian's.
fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into())
}

/// Where failed waits leave their screenshots.
fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("test-artifacts")
}

impl Browser {
    /// Starts Chromium on `url` and attaches to its page; `name` names the
    /// screenshot of a failure (the test's name).
    pub async fn open(name: &str, url: &str) -> Browser {
        Browser::open_with(name, url, None).await
    }

    /// [`Browser::open`], with `script` run in the page before its own
    /// scripts (to give it, say, a device clock that is wrong).
    pub async fn open_with(name: &str, url: &str, script: Option<&str>) -> Browser {
        let profile = std::env::temp_dir().join(format!(
            "ringside-cdp-{}-{name}-{}",
            std::process::id(),
            super::child::free_port()
        ));
        std::fs::create_dir_all(&profile).expect("profile dir");
        let mut command = Command::new(chromium());
        command
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-port=0",
                // Any host but this one fails to resolve: nothing may come from elsewhere.
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                "--window-size=1280,1600",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            // Blank first: the page is loaded once everything is attached.
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so one signal ends the renderers too.
            .process_group(0);
        // SAFETY: prctl is async-signal-safe; it only asks for SIGKILL when
        // the spawning thread exits (a test that dies leaves no browser).
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command.spawn().unwrap_or_else(|e| {
            panic!(
                "starting {}: {e} (scripts/test.sh installs chromium)",
                chromium()
            )
        });
        let mut guard = Launch {
            child: Some(child),
            profile: profile.clone(),
        };
        let port = guard.devtools_port().await;
        let page = page_target(port).await;
        let (_, conn) = awc::Client::new()
            .ws(page)
            .max_frame_size(64 << 20)
            .connect()
            .await
            .expect("DevTools WebSocket");
        let child = guard.child.take().expect("still running");
        let mut browser = Browser {
            name: name.to_string(),
            child,
            profile,
            conn,
            next_id: 0,
            console: Vec::new(),
        };
        browser.command("Runtime.enable", json!({})).await;
        browser.command("Log.enable", json!({})).await;
        browser.command("Page.enable", json!({})).await;
        if let Some(source) = script {
            browser
                .command(
                    "Page.addScriptToEvaluateOnNewDocument",
                    json!({ "source": source }),
                )
                .await;
        }
        browser
            .command("Page.navigate", json!({ "url": url }))
            .await;
        browser
    }

    /// Sends a DevTools command and reads until its answer, keeping the
    /// console events that come meanwhile.
    pub async fn command(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let text = json!({ "id": id, "method": method, "params": params }).to_string();
        self.conn
            .send(Message::Text(text.into()))
            .await
            .expect("DevTools command sent");
        let deadline = Instant::now() + COMMAND_PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let frame = actix_rt::time::timeout(left, self.conn.next())
                .await
                .unwrap_or_else(|_| panic!("no answer to {method} within {COMMAND_PATIENCE:?}"))
                .expect("DevTools connection open")
                .expect("valid DevTools frame");
            let msg: Value = match frame {
                Frame::Text(bytes) => serde_json::from_slice(&bytes).expect("DevTools JSON"),
                _ => continue,
            };
            if msg["id"] == id {
                if let Some(err) = msg.get("error") {
                    panic!("{method}: {err}");
                }
                return msg["result"].clone();
            }
            self.keep_event(&msg);
        }
    }

    /// Remembers what the page said that a failure should show.
    fn keep_event(&mut self, msg: &Value) {
        let params = &msg["params"];
        match msg["method"].as_str() {
            Some("Runtime.consoleAPICalled") => {
                let kind = params["type"].as_str().unwrap_or("");
                if kind == "error" || kind == "warning" || kind == "assert" {
                    let args: Vec<String> = params["args"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|a| match &a["value"] {
                            Value::String(s) => s.clone(),
                            Value::Null => a["description"].as_str().unwrap_or("").to_string(),
                            v => v.to_string(),
                        })
                        .collect();
                    self.console
                        .push(format!("console.{kind}: {}", args.join(" ")));
                }
            }
            Some("Runtime.exceptionThrown") => {
                let d = &params["exceptionDetails"];
                let what = d["exception"]["description"]
                    .as_str()
                    .or(d["text"].as_str())
                    .unwrap_or("exception");
                self.console.push(format!(
                    "exception: {what} at {}:{}",
                    d["url"].as_str().unwrap_or("?"),
                    d["lineNumber"]
                ));
            }
            Some("Log.entryAdded") => {
                let e = &params["entry"];
                if e["level"] == "error" || e["level"] == "warning" {
                    self.console.push(format!(
                        "log.{}: {} {}",
                        e["level"].as_str().unwrap_or(""),
                        e["text"].as_str().unwrap_or(""),
                        e["url"].as_str().unwrap_or("")
                    ));
                }
            }
            _ => {}
        }
    }

    /// Evaluates `expression` in the page (a promise is awaited); its value
    /// as JSON, or the exception it threw.
    pub async fn try_eval(&mut self, expression: &str) -> Result<Value, String> {
        let got = self
            .command(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            )
            .await;
        if let Some(e) = got.get("exceptionDetails") {
            return Err(e["exception"]["description"]
                .as_str()
                .or(e["text"].as_str())
                .unwrap_or("exception")
                .to_string());
        }
        Ok(got["result"]["value"].clone())
    }

    /// [`Browser::try_eval`] that fails the test (with the page's state) on an exception.
    pub async fn eval(&mut self, expression: &str) -> Value {
        match self.try_eval(expression).await {
            Ok(v) => v,
            Err(e) => self.fail(&format!("evaluating {expression}: {e}")).await,
        }
    }

    /// Waits until `condition` (a JavaScript expression) is true in the
    /// page, evaluating it every [`POLL_EVERY`]; after `patience` the test
    /// fails with a screenshot, the console and the page's text.
    pub async fn wait_for(&mut self, what: &str, condition: &str, patience: Duration) {
        let deadline = Instant::now() + patience;
        let expression = format!(
            "(() => {{ try {{ return !!({condition}); }} catch (e) {{ return false; }} }})()"
        );
        loop {
            if self.eval(&expression).await == Value::Bool(true) {
                return;
            }
            if Instant::now() >= deadline {
                self.fail(&format!(
                    "waited {patience:?} for {what}: `{condition}` stayed false"
                ))
                .await;
            }
            actix_rt::time::sleep(POLL_EVERY).await;
        }
    }

    /// Takes the page off the network (or puts it back): its connections
    /// fail as on a phone that lost its signal, while the server stays up.
    pub async fn offline(&mut self, offline: bool) {
        self.command("Network.enable", json!({})).await;
        self.command(
            "Network.emulateNetworkConditions",
            json!({ "offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 }),
        )
        .await;
    }

    /// Saves a PNG of the page to `target/test-artifacts/<name>.png`.
    pub async fn screenshot(&mut self) -> Result<PathBuf, String> {
        use base64::Engine;
        let shot = self
            .command(
                "Page.captureScreenshot",
                json!({ "format": "png", "captureBeyondViewport": true }),
            )
            .await;
        let data = shot["data"].as_str().ok_or("no screenshot data")?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| e.to_string())?;
        let dir = artifacts();
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let path = dir.join(format!("{}.png", self.name));
        std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
        Ok(path)
    }

    /// Fails the test with everything that helps see why.
    pub async fn fail(&mut self, why: &str) -> ! {
        let shot = match self.screenshot().await {
            Ok(path) => format!("screenshot: {}", path.display()),
            Err(e) => format!("no screenshot: {e}"),
        };
        let text = self
            .try_eval("document.body ? document.body.innerText.slice(0, 3000) : ''")
            .await
            .unwrap_or_default();
        let console = if self.console.is_empty() {
            "(nothing)".to_string()
        } else {
            self.console.join("\n  ")
        };
        eprintln!("{shot}");
        panic!(
            "{why}\n{shot}\nthe page's console:\n  {console}\nthe page's text:\n{}",
            text.as_str().unwrap_or("")
        );
    }

    /// The console errors, warnings and exceptions so far.
    pub fn console(&self) -> &[String] {
        &self.console
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_group(&mut self.child);
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// SIGKILL to Chromium's process group (the browser, its renderers and
/// helpers), then reaps the browser.
fn kill_group(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: a plain kill(2) on the group this test started.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Chromium while it starts: killed and its profile removed if the start fails.
struct Launch {
    child: Option<Child>,
    profile: PathBuf,
}

impl Launch {
    /// The port Chromium chose, from `DevToolsActivePort` in its profile.
    async fn devtools_port(&mut self) -> u16 {
        let file = self.profile.join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(port) = std::fs::read_to_string(&file)
                .ok()
                .and_then(|s| s.lines().next().and_then(|l| l.trim().parse().ok()))
            {
                return port;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("chromium exited at start: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "chromium wrote no DevToolsActivePort"
            );
            // A starting browser offers nothing to wait on but this file.
            actix_rt::time::sleep(POLL_EVERY).await;
        }
    }
}

impl Drop for Launch {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_group(&mut child);
            let _ = std::fs::remove_dir_all(&self.profile);
        }
    }
}

/// The DevTools WebSocket URL of the browser's page.
async fn page_target(port: u16) -> String {
    let client = awc::Client::default();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut resp) = client
            .get(format!("http://127.0.0.1:{port}/json/list"))
            .send()
            .await
        {
            if let Ok(targets) = resp.json::<Value>().await {
                let page = targets
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|t| t["type"] == "page");
                if let Some(url) = page.and_then(|t| t["webSocketDebuggerUrl"].as_str()) {
                    return url.to_string();
                }
            }
        }
        assert!(Instant::now() < deadline, "chromium listed no page target");
        actix_rt::time::sleep(POLL_EVERY).await;
    }
}
