//! The publisher: `POST /api/live/updates/` over a few keep-alive
//! connections, either on a schedule (`rate` per second) or as fast as the
//! server answers (`rate` 0). Each update carries
//! `"data":{"sent_ns": <CLOCK_REALTIME at send>}`; the answer's `seq` tells
//! where the channel ends.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::http::HttpClient;
use crate::stats::{realtime_ns, Histogram};

#[derive(Debug, Clone)]
pub struct PublishPlan {
    pub live_event: i64,
    pub updates: u64,
    /// Updates per second; 0 publishes as fast as the server takes them.
    pub rate: f64,
    /// Concurrent connections.
    pub publishers: usize,
    /// Publishing stops after this long whatever is left.
    pub max_duration: Duration,
    pub token: Option<String>,
}

/// What publishing did.
#[derive(Debug, Default)]
pub struct PublishOutcome {
    pub attempted: u64,
    pub published: u64,
    pub errors: BTreeMap<String, u64>,
    /// Highest `seq` the server answered.
    pub last_seq: u64,
    pub first_send_ns: u64,
    pub last_answer_ns: u64,
    /// Round trip of each POST, µs.
    pub call_latency: Histogram,
    /// Round trip of the very first POST (update index 0), µs.
    pub first_call_us: Option<u64>,
    /// Scheduled sends that went out more than one interval late.
    pub behind_schedule: u64,
}

impl PublishOutcome {
    fn merge(&mut self, o: PublishOutcome) {
        self.attempted += o.attempted;
        self.published += o.published;
        for (k, v) in o.errors {
            *self.errors.entry(k).or_default() += v;
        }
        self.last_seq = self.last_seq.max(o.last_seq);
        if self.first_send_ns == 0 || (o.first_send_ns != 0 && o.first_send_ns < self.first_send_ns)
        {
            self.first_send_ns = o.first_send_ns;
        }
        self.last_answer_ns = self.last_answer_ns.max(o.last_answer_ns);
        self.call_latency.merge(&o.call_latency);
        self.first_call_us = self.first_call_us.or(o.first_call_us);
        self.behind_schedule += o.behind_schedule;
    }

    fn error(&mut self, e: String) {
        let mut e = e;
        e.truncate(160);
        *self.errors.entry(e).or_default() += 1;
    }

    /// Seconds from the first send to the last answer.
    pub fn seconds(&self) -> f64 {
        if self.last_answer_ns > self.first_send_ns && self.first_send_ns > 0 {
            (self.last_answer_ns - self.first_send_ns) as f64 / 1e9
        } else {
            0.0
        }
    }
}

/// Publishes `plan.updates` updates and reports.
pub async fn publish(addr: SocketAddr, plan: &PublishPlan) -> PublishOutcome {
    let start = Instant::now();
    let deadline = start + plan.max_duration;
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..plan.publishers.max(1) {
        let plan = plan.clone();
        let next = next.clone();
        tasks.spawn(async move {
            let mut client = HttpClient::new(addr, Duration::from_secs(30));
            if let Some(t) = &plan.token {
                client.set_token(t.clone());
            }
            let mut out = PublishOutcome::default();
            let interval = (plan.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / plan.rate));
            // At most `updates` rounds in all tasks together, and never past the deadline.
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= plan.updates || Instant::now() >= deadline {
                    break;
                }
                if let Some(interval) = interval {
                    let due = start + interval.mul_f64(i as f64);
                    if due >= deadline {
                        break;
                    }
                    tokio::time::sleep_until(due).await;
                    if Instant::now().duration_since(due) > interval {
                        out.behind_schedule += 1;
                    }
                }
                send_one(&mut client, &plan, i, &mut out).await;
            }
            out
        });
    }
    let mut total = PublishOutcome::default();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(out) => total.merge(out),
            Err(e) => total.error(format!("publisher task: {e}")),
        }
    }
    total
}

async fn send_one(client: &mut HttpClient, plan: &PublishPlan, i: u64, out: &mut PublishOutcome) {
    out.attempted += 1;
    let sent_ns = realtime_ns();
    if out.first_send_ns == 0 {
        out.first_send_ns = sent_ns;
    }
    let body = json!({
        "live_event": plan.live_event,
        "update_type": "news",
        "title": format!("Bench update {i}"),
        "data": {"sent_ns": sent_ns},
        "is_breaking": false,
    });
    let result = client.post("/api/live/updates/", Some(&body)).await;
    let answered = realtime_ns();
    match result {
        Ok(r) if r.status == 201 => {
            let micros = answered.saturating_sub(sent_ns) / 1000;
            out.call_latency.record(micros);
            if i == 0 {
                out.first_call_us = Some(micros);
            }
            out.last_answer_ns = out.last_answer_ns.max(answered);
            match r.json().ok().and_then(|v| v["seq"].as_u64()) {
                Some(seq) => {
                    out.published += 1;
                    out.last_seq = out.last_seq.max(seq);
                }
                None => out.error("201 without seq".into()),
            }
        }
        Ok(r) => out.error(format!("status {}: {}", r.status, r.text())),
        Err(e) => out.error(e),
    }
}
