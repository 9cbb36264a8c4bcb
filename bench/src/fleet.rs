//! The parent's side of the workers: spawns `ringside-bench worker` children
//! (each ≤ `per_worker` connections, each from its own source address),
//! follows their progress over the pipes, and collects their reports.
//! Dropping a [`Fleet`] kills the children that are still running.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::subscriber::Transport;
use crate::worker::{ParentMsg, Progress, WorkerMsg, WorkerReport};

/// Hands out source addresses 127.N.0.2, 127.N.0.3, … so every worker (and
/// every target of one run) connects from fresh ports: sockets the previous
/// run left in TIME_WAIT do not get in the way.
pub struct SourcePool {
    net: u8,
    next: u16,
}

impl SourcePool {
    pub fn new(net: u8) -> SourcePool {
        SourcePool {
            net: net.max(1),
            next: 2,
        }
    }

    pub fn take(&mut self) -> Ipv4Addr {
        let n = self.next;
        self.next = if n >= 0xfefe { 2 } else { n + 1 };
        Ipv4Addr::new(127, self.net, (n >> 8) as u8, (n & 0xff) as u8)
    }
}

/// Spawns a child `ringside-bench` process (`cmd`, its arguments set) that
/// the parent drives over pipes, and forwards each JSON line of its stdout
/// to `tx` tagged with `index`, then `None` once its stdout closes (it
/// exited). `name` ("worker", "hostile worker") labels the errors. Shared
/// by the honest fleet and the hostile one, whose messages differ.
pub(crate) fn spawn_child<M: DeserializeOwned + Send + 'static>(
    mut cmd: Command,
    name: &'static str,
    index: usize,
    tx: &mpsc::UnboundedSender<(usize, Option<M>)>,
) -> Result<(Child, Option<ChildStdin>), String> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        let exe = Path::new(cmd.as_std().get_program());
        format!("spawn {name} {}: {e}", exe.display())
    })?;
    let stdin = child.stdin.take();
    let Some(stdout) = child.stdout.take() else {
        return Err(format!("{name} without stdout"));
    };
    let tx = tx.clone();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        // One message a line until the child closes its stdout.
        while let Ok(Some(line)) = lines.next_line().await {
            match serde_json::from_str::<M>(&line) {
                Ok(msg) => {
                    if tx.send((index, Some(msg))).is_err() {
                        return;
                    }
                }
                Err(e) => eprintln!("{name} {index}: unreadable line ({e}): {line:.200}"),
            }
        }
        let _ = tx.send((index, None));
    });
    Ok((child, stdin))
}

/// How to spread the connections.
#[derive(Debug, Clone)]
pub struct FleetPlan {
    pub transport: Transport,
    /// What the subscribers open (`Transport::url`).
    pub url: String,
    /// Several nodes' URLs instead: worker i starts on `urls[i % len]`, and
    /// its subscribers resume on another node when they lose one.
    pub urls: Vec<String>,
    /// Start worker i on `urls[i % len]` (else every worker on `url`).
    pub spread: bool,
    pub connections: u64,
    pub per_worker: u64,
    /// Workers to use at least (each still ≤ `per_worker`).
    pub min_workers: u64,
    pub concurrency: usize,
    pub subscribe_timeout: Duration,
    pub max_secs: u64,
}

struct WorkerProc {
    child: Child,
    stdin: Option<ChildStdin>,
    connections: u64,
    progress: Progress,
    ready: bool,
    report: Option<WorkerReport>,
    exited: bool,
}

pub struct Fleet {
    workers: Vec<WorkerProc>,
    rx: mpsc::UnboundedReceiver<(usize, Option<WorkerMsg>)>,
}

impl Fleet {
    /// Starts the workers; they begin connecting at once.
    pub fn spawn(plan: &FleetPlan, sources: &mut SourcePool) -> Result<Fleet, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let per = plan.per_worker.clamp(1, 8000);
        let count = plan
            .connections
            .div_ceil(per)
            .max(plan.min_workers.min(plan.connections))
            .max(1);
        // Spread over nodes: as many workers on each, so no node holds more
        // than its share (a process may hold 20,000 files).
        let count = match plan.spread && !plan.urls.is_empty() {
            true => count.next_multiple_of(plan.urls.len() as u64),
            false => count,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let mut workers = Vec::new();
        let mut left = plan.connections;
        for i in 0..count {
            let share = left / (count - i);
            left -= share;
            let source = sources.take();
            let url = match plan.spread && !plan.urls.is_empty() {
                true => &plan.urls[i as usize % plan.urls.len()],
                false => &plan.url,
            };
            let mut cmd = Command::new(&exe);
            if !plan.urls.is_empty() {
                cmd.args(["worker", "--reconnect-urls", &plan.urls.join(",")]);
            } else {
                cmd.arg("worker");
            }
            cmd.args(["--url", url])
                .args(["--transport", plan.transport.name()])
                .args(["--connections", &share.to_string()])
                .args(["--source", &source.to_string()])
                .args(["--concurrency", &plan.concurrency.to_string()])
                .args([
                    "--subscribe-timeout-ms",
                    &plan.subscribe_timeout.as_millis().to_string(),
                ])
                .args(["--max-secs", &plan.max_secs.to_string()]);
            let (child, stdin) = spawn_child(cmd, "worker", workers.len(), &tx)?;
            workers.push(WorkerProc {
                child,
                stdin,
                connections: share,
                progress: Progress::default(),
                ready: false,
                report: None,
                exited: false,
            });
        }
        Ok(Fleet { workers, rx })
    }

    pub fn len(&self) -> usize {
        self.workers.len()
    }

    /// Connections per worker.
    pub fn shares(&self) -> Vec<u64> {
        self.workers.iter().map(|w| w.connections).collect()
    }

    /// The sum of the workers' latest progress.
    pub fn progress(&self) -> Progress {
        let mut p = Progress::default();
        for w in &self.workers {
            p.add(&w.progress);
        }
        p
    }

    /// Handles one message, waiting at most until `deadline`. Returns false
    /// when nothing came in time or every worker is gone.
    async fn pump(&mut self, deadline: Instant) -> bool {
        match tokio::time::timeout_at(deadline, self.rx.recv()).await {
            Ok(Some((i, msg))) => {
                let Some(w) = self.workers.get_mut(i) else {
                    return true;
                };
                match msg {
                    Some(WorkerMsg::Progress(p)) => w.progress = p,
                    Some(WorkerMsg::Ready(p)) => {
                        w.progress = p;
                        w.ready = true;
                    }
                    Some(WorkerMsg::Report(r)) => {
                        w.progress = r.progress;
                        w.report = Some(*r);
                    }
                    None => w.exited = true,
                }
                true
            }
            Ok(None) | Err(_) => false,
        }
    }

    /// Waits until every worker is ready (each subscriber subscribed or gave
    /// up), at most `limit`, printing progress to stderr every few seconds.
    pub async fn wait_ready(&mut self, limit: Duration, quiet: bool) -> Result<Progress, String> {
        let deadline = Instant::now() + limit;
        let mut next_note = Instant::now() + Duration::from_secs(5);
        while !self.workers.iter().all(|w| w.ready || w.exited) {
            if !self.pump(deadline).await {
                break;
            }
            if !quiet && Instant::now() >= next_note {
                next_note = Instant::now() + Duration::from_secs(5);
                let p = self.progress();
                eprintln!(
                    "  … {} subscribed, {} connecting, {} failed",
                    p.subscribed, p.connecting, p.failed
                );
            }
        }
        let p = self.progress();
        if let Some(i) = self.workers.iter().position(|w| w.exited && !w.ready) {
            return Err(format!("worker {i} exited before it was ready"));
        }
        if !self.workers.iter().all(|w| w.ready) {
            return Err(format!(
                "subscribers not ready within {limit:?}: {} subscribed, {} still connecting, {} failed",
                p.subscribed, p.connecting, p.failed
            ));
        }
        Ok(p)
    }

    /// Follows progress for `hold` (idle connections stay idle), returning
    /// the latest sum.
    pub async fn watch(&mut self, hold: Duration) -> Progress {
        let deadline = Instant::now() + hold;
        while Instant::now() < deadline {
            if !self.pump(deadline).await && Instant::now() < deadline {
                // Every worker is gone.
                break;
            }
        }
        self.progress()
    }

    /// Follows progress until `done` holds of the sum (checked as each
    /// worker reports, every half second) or `limit` passes; the latest sum
    /// and whether `done` held.
    pub async fn wait_until(
        &mut self,
        limit: Duration,
        done: impl Fn(&Progress) -> bool,
    ) -> (Progress, bool) {
        let deadline = Instant::now() + limit;
        loop {
            let p = self.progress();
            if done(&p) {
                return (p, true);
            }
            if Instant::now() >= deadline || !self.pump(deadline).await {
                let p = self.progress();
                return (p, done(&p));
            }
        }
    }

    /// Tells every worker that publishing starts now.
    pub async fn mark(&mut self) {
        self.send(&ParentMsg::Mark).await;
    }

    async fn send(&mut self, msg: &ParentMsg) {
        let Ok(line) = serde_json::to_string(msg) else {
            return;
        };
        let line = line + "\n";
        for w in &mut self.workers {
            if let Some(stdin) = w.stdin.as_mut() {
                if let Err(e) = stdin.write_all(line.as_bytes()).await {
                    eprintln!("worker: cannot send {line:?}: {e}");
                }
                let _ = stdin.flush().await;
            }
        }
    }

    /// Tells every worker that publishing ended at `last_seq` and collects
    /// the reports (each worker drains for at most `drain`).
    pub async fn finish(
        &mut self,
        last_seq: u64,
        drain: Duration,
    ) -> Result<Vec<WorkerReport>, String> {
        self.send(&ParentMsg::Finish {
            last_seq,
            timeout_ms: drain.as_millis() as u64,
        })
        .await;
        let deadline = Instant::now() + drain + Duration::from_secs(30);
        while !self.workers.iter().all(|w| w.report.is_some() || w.exited) {
            if !self.pump(deadline).await {
                break;
            }
        }
        let missing = self.workers.iter().filter(|w| w.report.is_none()).count();
        if missing > 0 {
            eprintln!("warning: {missing} worker(s) sent no report");
        }
        Ok(self
            .workers
            .iter_mut()
            .filter_map(|w| w.report.take())
            .collect())
    }

    /// Closes the pipes and waits (briefly) for the workers; kills stragglers.
    pub async fn shutdown(mut self) {
        for w in &mut self.workers {
            w.stdin = None;
        }
        for w in &mut self.workers {
            match tokio::time::timeout(Duration::from_secs(5), w.child.wait()).await {
                Ok(_) => {}
                Err(_) => {
                    let _ = w.child.kill().await;
                }
            }
        }
    }
}
