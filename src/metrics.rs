//! Prometheus metrics: request counts and latency histograms per route,
//! rendered in the text exposition format at `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Series {
    /// (method, route, status) → requests.
    requests: BTreeMap<(String, String, u16), u64>,
    /// (method, route) → latency.
    latency: BTreeMap<(String, String), Histogram>,
}

pub struct Metrics {
    series: Mutex<Series>,
    started: Instant,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            series: Mutex::new(Series::default()),
            started: Instant::now(),
        }
    }
}

impl Metrics {
    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let Ok(mut s) = self.series.lock() else {
            return;
        };
        *s.requests
            .entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
        let h = s
            .latency
            .entry((method.to_string(), route.to_string()))
            .or_default();
        let secs = elapsed.as_secs_f64();
        h.count += 1;
        h.sum += secs;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
    }

    /// The text exposition format; `pool` is (open, idle) database connections.
    pub fn render(&self, pool: (u32, u32)) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP ringside_up_seconds Seconds since the server started."
        );
        let _ = writeln!(out, "# TYPE ringside_up_seconds gauge");
        let _ = writeln!(
            out,
            "ringside_up_seconds {:.3}",
            self.started.elapsed().as_secs_f64()
        );
        let _ = writeln!(
            out,
            "# HELP ringside_db_connections Database pool connections."
        );
        let _ = writeln!(out, "# TYPE ringside_db_connections gauge");
        let _ = writeln!(out, "ringside_db_connections{{state=\"open\"}} {}", pool.0);
        let _ = writeln!(out, "ringside_db_connections{{state=\"idle\"}} {}", pool.1);
        let Ok(s) = self.series.lock() else {
            return out;
        };
        let _ = writeln!(
            out,
            "# HELP ringside_http_requests_total HTTP requests by route and status."
        );
        let _ = writeln!(out, "# TYPE ringside_http_requests_total counter");
        for ((method, route, status), n) in &s.requests {
            let _ = writeln!(
                out,
                "ringside_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        let _ = writeln!(
            out,
            "# HELP ringside_http_request_duration_seconds HTTP request latency."
        );
        let _ = writeln!(
            out,
            "# TYPE ringside_http_request_duration_seconds histogram"
        );
        for ((method, route), h) in &s.latency {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "ringside_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "ringside_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "ringside_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "ringside_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        out
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Middleware: times each request and records it under its route pattern
/// (not the raw path, so ids do not explode the series).
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().to_string();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let res = next.call(req).await?;
    if let Some(m) = metrics {
        m.record(&method, &route, res.status().as_u16(), started.elapsed());
    }
    Ok(res)
}
