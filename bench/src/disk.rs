//! The `disk` scenario: how long this machine's disk takes to make a small
//! write durable, the floor under every durable commit (a PostgreSQL COMMIT
//! waits for one flush of its WAL). It appends 8 KiB and `fdatasync`s, as
//! PostgreSQL does by default on Linux (`wal_sync_method = fdatasync`), at
//! a steady interval, and prints the flush times' distribution.
//!
//! Run it beside a `fanout` to see what the durable publishes stand on;
//! `fanout --server-env EMBEDDED_POSTGRES_FSYNC=off` takes the disk out of
//! the path, to measure the server alone.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::stats::Histogram;

#[derive(Debug, Clone, clap::Args)]
pub struct DiskArgs {
    /// How long to probe, seconds.
    #[arg(long, default_value_t = 30)]
    pub secs: u64,
    /// Between flushes, milliseconds (a 2/s event commits about this often
    /// with its viewers' other writes).
    #[arg(long, default_value_t = 50)]
    pub interval_ms: u64,
    /// Folder on the disk to probe (default: the system's temporary folder,
    /// where the bench's servers keep their databases).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Bytes appended before each flush: about one commit's WAL.
const WRITE: usize = 8 * 1024;

pub async fn run(args: DiskArgs) -> Result<(), String> {
    let dir = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let path = dir.join(format!("ringside-bench-disk-{}", std::process::id()));
    let result = probe(&args, &path).await;
    let _ = std::fs::remove_file(&path);
    let flushes = result?;
    let ms = |micros: u64| micros as f64 / 1000.0;
    let over = |limit_ms: u64| flushes.iter().filter(|&&us| us > limit_ms * 1000).count();
    let mut histogram = Histogram::default();
    for &us in &flushes {
        histogram.record(us);
    }
    let figures = json!({
        "file": path.display().to_string(),
        "flushes": histogram.count(),
        "flush_p50_ms": ms(histogram.quantile(0.50)),
        "flush_p90_ms": ms(histogram.quantile(0.90)),
        "flush_p99_ms": ms(histogram.quantile(0.99)),
        "flush_max_ms": ms(histogram.max()),
        "flush_mean_ms": histogram.mean() / 1000.0,
        "over_50ms": over(50),
        "over_100ms": over(100),
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&figures).unwrap_or_default()
    );
    Ok(())
}

/// Each flush's time, microseconds.
async fn probe(args: &DiskArgs, path: &Path) -> Result<Vec<u64>, String> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("open {}: {e}", path.display()))?;
    let block = vec![b'x'; WRITE];
    let end = Instant::now() + Duration::from_secs(args.secs);
    let mut flushes = Vec::new();
    while Instant::now() < end {
        file.write_all(&block)
            .map_err(|e| format!("write {}: {e}", path.display()))?;
        let started = Instant::now();
        file.sync_data()
            .map_err(|e| format!("fdatasync {}: {e}", path.display()))?;
        flushes.push(started.elapsed().as_micros() as u64);
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
    }
    Ok(flushes)
}
