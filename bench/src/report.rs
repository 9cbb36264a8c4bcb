//! The figures of one run against one server, their human table and their
//! JSON line, and the ratios of Ringside's figures to the reference's.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::server_control::LogFindings;

/// Everything measured against one server in one scenario. Times in
/// milliseconds, memory in KiB.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Figures {
    pub scenario: String,
    pub target: String,
    /// How the subscribers followed the event (`fanout`, `hold`).
    pub transport: Option<String>,
    pub workers: usize,
    pub subscribers_requested: u64,
    pub subscribed: u64,
    pub subscribe_failed: u64,
    /// From spawning the workers to the last `subscribed` frame.
    pub subscribe_seconds: f64,

    pub updates_requested: u64,
    pub updates_published: u64,
    pub publish_errors: u64,
    /// Requested rate; 0 = saturation.
    pub publish_rate: f64,
    pub publish_rate_achieved: f64,
    pub publish_call_p50_ms: f64,
    pub publish_call_p99_ms: f64,
    pub publish_first_call_ms: Option<f64>,
    pub publish_behind_schedule: u64,

    pub latency_p50_ms: f64,
    pub latency_p90_ms: f64,
    pub latency_p99_ms: f64,
    pub latency_p999_ms: f64,
    pub latency_max_ms: f64,
    pub latency_mean_ms: f64,
    /// Deliveries that were timed (all of them, unless stamps were missing).
    pub latency_samples: u64,

    pub deliveries: u64,
    /// subscribed × published.
    pub deliveries_expected: u64,
    pub deliveries_per_second: f64,
    /// Missing seqs on connections that stayed up (gaps + never-arrived tail).
    pub losses: u64,
    pub order_violations: u64,
    /// Connections closed by the server (or failed) after subscribing.
    pub dropped_connections: u64,
    /// Frames the dropped connections did not get.
    pub missed_by_dropped: u64,
    pub parse_errors: u64,
    pub updates_without_timestamp: u64,

    pub rss_before_kib: Option<f64>,
    pub rss_with_connections_kib: Option<f64>,
    pub rss_after_kib: Option<f64>,
    pub rss_per_connection_kib: Option<f64>,
    /// Server CPU seconds while publishing and draining.
    pub server_cpu_seconds: Option<f64>,
    /// Server CPU per delivered frame, µs.
    pub server_cpu_us_per_delivery: Option<f64>,
    /// Frames per TCP data segment the subscribers received while
    /// publishing: above 1 when the server packs frames into one write.
    pub frames_per_tcp_segment: Option<f64>,
    /// The subscriber processes' CPU seconds over the same phase (they
    /// share the machine's cores with the server).
    pub subscribers_cpu_seconds: Option<f64>,
    /// For `hold`: connections still up after the hold.
    pub held_after_seconds: Option<u64>,
    pub hold_seconds: Option<f64>,

    /// For `hostile`: server RSS (MB) with the honest fleet before the
    /// hostile client, its peak while it was connected, and after it left;
    /// the growths are from the first.
    pub rss_before_hostile_mb: Option<f64>,
    pub rss_peak_mb: Option<f64>,
    pub rss_after_mb: Option<f64>,
    pub rss_growth_peak_mb: Option<f64>,
    pub rss_growth_after_mb: Option<f64>,
    /// Every honest subscriber got every update, in order, and none was dropped.
    pub deliveries_complete: Option<bool>,
    /// Hostile sockets requested, and what became of them: upgraded,
    /// refused (connect or upgrade), closed by the server (and how long
    /// after the hostile act), still open when the hostile client left.
    pub hostile_oversized: Option<u64>,
    pub hostile_oversized_upgraded: Option<u64>,
    pub hostile_oversized_refused: Option<u64>,
    pub hostile_oversized_closed: Option<u64>,
    pub hostile_oversized_open_at_end: Option<u64>,
    pub hostile_oversized_closed_p50_ms: Option<f64>,
    pub hostile_oversized_closed_max_ms: Option<f64>,
    pub hostile_never_read: Option<u64>,
    pub hostile_never_read_upgraded: Option<u64>,
    pub hostile_never_read_refused: Option<u64>,
    pub hostile_never_read_closed: Option<u64>,
    pub hostile_never_read_open_at_end: Option<u64>,
    pub hostile_never_read_closed_p50_ms: Option<f64>,
    pub hostile_never_read_closed_max_ms: Option<f64>,
    /// `oversized 1009`, `never_read fin`, `oversized refused 429`, … → count.
    pub hostile_close_codes: BTreeMap<String, u64>,

    pub close_codes: BTreeMap<String, u64>,
    /// Frames without seq received after subscribing (viewer counts, …), by type.
    pub unsequenced_frames: BTreeMap<String, u64>,
    pub errors: BTreeMap<String, u64>,
    pub publish_error_kinds: BTreeMap<String, u64>,
    pub server_log: Option<LogFindings>,
    pub notes: Vec<String>,
}

/// Figures whose ratio to the reference the table shows (the JSON line
/// has the ratio of every numeric figure).
const RATIO_FIELDS: [&str; 13] = [
    "server_cpu_seconds",
    "server_cpu_us_per_delivery",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p99_ms",
    "latency_p999_ms",
    "latency_max_ms",
    "latency_mean_ms",
    "deliveries_per_second",
    "rss_per_connection_kib",
    "publish_call_p50_ms",
    "publish_call_p99_ms",
    "subscribe_seconds",
];

/// The table's rows, in reading order.
const ROWS: &[&str] = &[
    "scenario",
    "transport",
    "workers",
    "subscribers_requested",
    "subscribed",
    "subscribe_failed",
    "subscribe_seconds",
    "updates_requested",
    "updates_published",
    "publish_errors",
    "publish_rate",
    "publish_rate_achieved",
    "publish_behind_schedule",
    "publish_call_p50_ms",
    "publish_call_p99_ms",
    "publish_first_call_ms",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p99_ms",
    "latency_p999_ms",
    "latency_max_ms",
    "latency_mean_ms",
    "latency_samples",
    "deliveries",
    "deliveries_expected",
    "deliveries_per_second",
    "losses",
    "order_violations",
    "dropped_connections",
    "missed_by_dropped",
    "parse_errors",
    "updates_without_timestamp",
    "rss_before_kib",
    "rss_with_connections_kib",
    "rss_after_kib",
    "rss_per_connection_kib",
    "server_cpu_seconds",
    "server_cpu_us_per_delivery",
    "subscribers_cpu_seconds",
    "frames_per_tcp_segment",
    "hold_seconds",
    "held_after_seconds",
    "rss_before_hostile_mb",
    "rss_peak_mb",
    "rss_after_mb",
    "rss_growth_peak_mb",
    "rss_growth_after_mb",
    "deliveries_complete",
    "hostile_oversized",
    "hostile_oversized_upgraded",
    "hostile_oversized_refused",
    "hostile_oversized_closed",
    "hostile_oversized_open_at_end",
    "hostile_oversized_closed_p50_ms",
    "hostile_oversized_closed_max_ms",
    "hostile_never_read",
    "hostile_never_read_upgraded",
    "hostile_never_read_refused",
    "hostile_never_read_closed",
    "hostile_never_read_open_at_end",
    "hostile_never_read_closed_p50_ms",
    "hostile_never_read_closed_max_ms",
];

/// Ringside ÷ reference for every numeric figure both have.
pub fn ratios(ringside: &Figures, reference: &Figures) -> Map<String, Value> {
    let (Value::Object(a), Value::Object(b)) = (json!(ringside), json!(reference)) else {
        return Map::new();
    };
    let mut out = Map::new();
    for (k, va) in &a {
        let (Some(x), Some(y)) = (va.as_f64(), b.get(k).and_then(Value::as_f64)) else {
            continue;
        };
        if y != 0.0 {
            out.insert(k.clone(), json!(round3(x / y)));
        }
    }
    out
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn fmt_value(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => {
                if f.abs() >= 100.0 {
                    format!("{f:.0}")
                } else if f.abs() >= 10.0 {
                    format!("{f:.1}")
                } else {
                    format!("{f:.2}")
                }
            }
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The human table: one column per server, plus the ratio column when both
/// ran. Maps (close codes, errors, log findings) follow as lists.
pub fn print_table(runs: &[Figures], ratio: Option<&Map<String, Value>>) {
    let columns: Vec<Map<String, Value>> = runs
        .iter()
        .filter_map(|f| match json!(f) {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .collect();
    if columns.is_empty() {
        println!("(no figures)");
        return;
    }
    let mut header = format!("{:<28}", "figure");
    for c in &columns {
        header.push_str(&format!(" {:>14}", fmt_value(&c["target"])));
    }
    if ratio.is_some() {
        header.push_str(&format!(" {:>14}", "ringside/ref"));
    }
    println!("{header}");
    println!("{}", "-".repeat(header.len()));
    for &key in ROWS {
        if columns
            .iter()
            .all(|c| c.get(key).is_none_or(Value::is_null))
        {
            continue;
        }
        let mut line = format!("{key:<28}");
        for c in &columns {
            line.push_str(&format!(
                " {:>14}",
                c.get(key).map(fmt_value).unwrap_or_default()
            ));
        }
        if let Some(r) = ratio {
            let mark = if RATIO_FIELDS.contains(&key) {
                r.get(key).map(fmt_value).unwrap_or_else(|| "-".into())
            } else {
                String::new()
            };
            line.push_str(&format!(" {mark:>14}"));
        }
        println!("{line}");
    }
    for c in &columns {
        let target = fmt_value(&c["target"]);
        for key in [
            "close_codes",
            "unsequenced_frames",
            "errors",
            "publish_error_kinds",
            "hostile_close_codes",
        ] {
            if let Some(Value::Object(m)) = c.get(key) {
                for (k, v) in m {
                    println!("{target} {key}: {k} ×{v}");
                }
            }
        }
        if let Some(Value::Object(log)) = c.get("server_log") {
            println!(
                "{target} server log: {} WARN, {} ERROR",
                fmt_value(&log["warn"]),
                fmt_value(&log["error"])
            );
            if let Some(Value::Object(kinds)) = log.get("kinds") {
                for (k, v) in kinds {
                    println!("  ×{v} {k}");
                }
            }
        }
        if let Some(Value::Array(notes)) = c.get("notes") {
            for n in notes {
                println!("{target} note: {}", fmt_value(n));
            }
        }
    }
}

/// The JSON line: every run's figures and, when both ran, the ratios.
pub fn json_line(scenario: &str, runs: &[Figures], ratio: Option<&Map<String, Value>>) -> String {
    let mut v = json!({"scenario": scenario, "runs": runs});
    if let Some(r) = ratio {
        v["ratio_to_reference"] = Value::Object(r.clone());
    }
    v.to_string()
}
