//! Measurement primitives: a log-linear latency histogram that workers fill
//! and send to the parent, wall-clock helpers, and `/proc` memory readings.
//!
//! The histogram keeps 7 significant bits per power of two (< 0.8 % error),
//! in microseconds, so it is small enough to ship over a pipe as JSON and
//! to merge across worker processes.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Significant bits kept per power of two.
const PRECISION: u32 = 7;
const HALF: u64 = 1 << (PRECISION - 1);
/// Values are clamped to 2^40 µs (about 12.7 days).
const MAX_VALUE: u64 = 1 << 40;
const BUCKETS: usize = ((40 - PRECISION as usize + 2) * HALF as usize) + HALF as usize;

/// Latencies in microseconds.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }
}

fn bucket_of(v: u64) -> usize {
    if v < (1 << PRECISION) {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros();
    let shift = exp + 1 - PRECISION;
    (shift as u64 * HALF + (v >> shift)) as usize
}

/// The lowest and highest value of a bucket.
fn bounds_of(index: usize) -> (u64, u64) {
    let index = index as u64;
    if index < (1 << PRECISION) {
        return (index, index);
    }
    let shift = index / HALF - 1;
    let mantissa = index - shift * HALF;
    let low = mantissa << shift;
    (low, low + (1 << shift) - 1)
}

impl Histogram {
    pub fn record(&mut self, micros: u64) {
        let v = micros.min(MAX_VALUE);
        self.counts[bucket_of(v)] += 1;
        self.count += 1;
        self.sum += u128::from(v);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn max(&self) -> u64 {
        if self.count == 0 {
            0
        } else {
            self.max
        }
    }

    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// The value at quantile `q` (0..=1): the middle of its bucket, clamped
    /// to the exact minimum and maximum.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (low, high) = bounds_of(i);
                return (low + (high - low) / 2).clamp(self.min, self.max);
            }
        }
        self.max
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// The non-empty buckets, for the pipe between worker and parent.
    pub fn to_wire(&self) -> WireHistogram {
        WireHistogram {
            buckets: self
                .counts
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(i, c)| (i as u32, *c))
                .collect(),
            sum: self.sum as f64,
            min: self.min,
            max: self.max,
        }
    }

    pub fn from_wire(w: &WireHistogram) -> Histogram {
        let mut h = Histogram::default();
        for &(i, c) in &w.buckets {
            if let Some(slot) = h.counts.get_mut(i as usize) {
                *slot += c;
                h.count += c;
            }
        }
        h.sum = w.sum as u128;
        h.min = w.min;
        h.max = w.max;
        h
    }
}

/// A histogram as it crosses the worker pipe.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WireHistogram {
    pub buckets: Vec<(u32, u64)>,
    pub sum: f64,
    pub min: u64,
    pub max: u64,
}

/// CLOCK_REALTIME in nanoseconds since the Unix epoch: the clock the
/// publisher stamps into `sent_ns` and subscribers compare against.
pub fn realtime_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// `VmRSS` of a process, in bytes, from `/proc/<pid>/status`.
pub fn vm_rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Total CPU time (user + system) a process has used so far, in seconds,
/// from `/proc/<pid>/stat`.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the full line (11, 12 here).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = if ticks > 0 { ticks as f64 } else { 100.0 };
    Some((utime + stime) / ticks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_continuous_and_bounded() {
        let mut previous = 0;
        for v in (0..1_000_000u64).step_by(7) {
            let b = bucket_of(v);
            assert!(b >= previous, "bucket order at {v}");
            previous = b;
            let (low, high) = bounds_of(b);
            assert!(low <= v && v <= high, "{v} outside {low}..={high}");
            assert!((high - low) as f64 <= v as f64 / 60.0 + 1.0);
        }
        assert!(bucket_of(MAX_VALUE) < BUCKETS);
    }

    #[test]
    fn quantiles_and_merge() {
        let mut a = Histogram::default();
        let mut b = Histogram::default();
        for v in 1..=1000 {
            a.record(v);
            b.record(v + 1000);
        }
        a.merge(&b);
        assert_eq!(a.count(), 2000);
        let p50 = a.quantile(0.5) as f64;
        assert!((p50 - 1000.0).abs() < 10.0, "p50 {p50}");
        let p99 = a.quantile(0.99) as f64;
        assert!((p99 - 1980.0).abs() < 20.0, "p99 {p99}");
        assert_eq!(a.max(), 2000);
        let round = Histogram::from_wire(&a.to_wire());
        assert_eq!(round.count(), 2000);
        assert_eq!(round.quantile(0.99), a.quantile(0.99));
    }
}
