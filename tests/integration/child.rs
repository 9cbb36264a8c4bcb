//! The real binary as a child process on a fixed address over a test
//! database, for tests that kill the server (SIGKILL: no goodbye to anyone)
//! and start it again where its clients left it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{fresh_database, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};

const BIN: &str = env!("CARGO_BIN_EXE_ringside");

pub struct ChildServer {
    pub port: u16,
    pub db_url: String,
    process: Option<Child>,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl ChildServer {
    /// Starts `ringside serve` over a fresh database, with `env` on top of
    /// the test settings; returns once it is ready.
    pub async fn start(env: &[(&str, &str)]) -> ChildServer {
        let mut server = ChildServer {
            port: free_port(),
            db_url: fresh_database(),
            process: None,
        };
        server.spawn(env).await;
        server
    }

    /// Starts `ringside serve` over `db_url` (another node's database).
    pub async fn start_on(db_url: String, env: &[(&str, &str)]) -> ChildServer {
        let mut server = ChildServer {
            port: free_port(),
            db_url,
            process: None,
        };
        server.spawn(env).await;
        server
    }

    /// SIGTERM, then waits until it has exited without blocking the
    /// runtime (its clients must be able to answer its goodbyes).
    pub async fn stop_gracefully(&mut self) {
        let Some(mut child) = self.process.take() else {
            return;
        };
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().ok().flatten().is_none() {
            assert!(Instant::now() < deadline, "ringside did not stop in 30 s");
            actix_rt::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts it again (after a stop or a kill), same address and database.
    pub async fn start_again(&mut self, env: &[(&str, &str)]) {
        self.spawn(env).await;
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A client of this server.
    pub fn app(&self) -> TestApp {
        TestApp::at(self.base(), self.db_url.clone())
    }

    /// Kills the server at once (SIGKILL) and waits for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server gracefully (SIGTERM) and waits until it has exited.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.process.take() {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let _ = child.wait();
        }
    }

    /// Kills the server and starts it again on the same address and database.
    pub async fn restart(&mut self, env: &[(&str, &str)]) {
        self.kill();
        self.spawn(env).await;
    }

    async fn spawn(&mut self, env: &[(&str, &str)]) {
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", &self.db_url)
            .env("RINGSIDE_BIND", format!("127.0.0.1:{}", self.port))
            .env("RINGSIDE_WORKERS", "2")
            .env("DATABASE_POOL_SIZE", "4")
            .env("RINGSIDE_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("RINGSIDE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env(
                "RINGSIDE_SECRET_KEY",
                "test-secret-key-of-at-least-32-bytes!",
            )
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .arg("serve")
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let child = cmd.spawn().expect("ringside starts");
        self.process = Some(child);
        self.wait_ready().await;
    }

    async fn wait_ready(&mut self) {
        let client = awc::Client::default();
        let url = format!("{}/readyz", self.base());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(Ok(Some(status))) = self.process.as_mut().map(|c| c.try_wait()) {
                panic!("ringside exited early: {status}");
            }
            if let Ok(resp) = client.get(&url).send().await {
                if resp.status().is_success() {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "ringside never became ready");
            // A starting process offers nothing to wait on but its port.
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        self.kill();
    }
}
