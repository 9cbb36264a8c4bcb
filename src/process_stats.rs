//! The process's own figures for `/metrics`, read from `/proc/self` when
//! scraped (Linux; elsewhere they stay at zero): the standard `process_*`
//! series Prometheus client libraries export.

use prometheus::{Counter, Gauge, IntGauge, Registry};

pub struct ProcessGauges {
    cpu_seconds: Counter,
    resident_bytes: IntGauge,
    virtual_bytes: IntGauge,
    open_fds: IntGauge,
    max_fds: IntGauge,
    threads: IntGauge,
    start_time: Gauge,
}

fn int_gauge(name: &str, help: &str) -> IntGauge {
    IntGauge::new(name, help).expect("valid metric")
}

impl Default for ProcessGauges {
    fn default() -> Self {
        ProcessGauges::new()
    }
}

impl ProcessGauges {
    pub fn new() -> ProcessGauges {
        ProcessGauges {
            cpu_seconds: Counter::new(
                "process_cpu_seconds_total",
                "User and system CPU time spent, in seconds.",
            )
            .expect("valid metric"),
            resident_bytes: int_gauge("process_resident_memory_bytes", "Resident memory size."),
            virtual_bytes: int_gauge("process_virtual_memory_bytes", "Virtual memory size."),
            open_fds: int_gauge("process_open_fds", "Open file descriptors."),
            max_fds: int_gauge("process_max_fds", "The limit on open file descriptors."),
            threads: int_gauge("process_threads", "OS threads."),
            start_time: Gauge::new(
                "process_start_time_seconds",
                "Start time of the process since the Unix epoch, in seconds.",
            )
            .expect("valid metric"),
        }
    }

    pub fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        registry.register(Box::new(self.cpu_seconds.clone()))?;
        registry.register(Box::new(self.resident_bytes.clone()))?;
        registry.register(Box::new(self.virtual_bytes.clone()))?;
        registry.register(Box::new(self.open_fds.clone()))?;
        registry.register(Box::new(self.max_fds.clone()))?;
        registry.register(Box::new(self.threads.clone()))?;
        registry.register(Box::new(self.start_time.clone()))?;
        Ok(())
    }

    /// Reads `/proc/self` now.
    pub fn update(&self) {
        if let Some(stat) = read_stat() {
            // The counter only moves forward by what was spent since last time.
            let spent = stat.cpu_seconds - self.cpu_seconds.get();
            if spent > 0.0 {
                self.cpu_seconds.inc_by(spent);
            }
            self.resident_bytes.set(stat.resident_bytes);
            self.virtual_bytes.set(stat.virtual_bytes);
            self.threads.set(stat.threads);
            if let Some(start) = stat.start_time {
                self.start_time.set(start);
            }
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            self.open_fds.set(fds.count() as i64);
        }
        if let Some(max) = max_fds() {
            self.max_fds.set(max);
        }
    }
}

struct Stat {
    cpu_seconds: f64,
    resident_bytes: i64,
    virtual_bytes: i64,
    threads: i64,
    start_time: Option<f64>,
}

/// `/proc/self/stat` (proc(5)): fields after the command name, which is in
/// parentheses and may hold spaces.
fn read_stat() -> Option<Stat> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_stat(&text, ticks_per_second(), page_size(), boot_time())
}

fn parse_stat(text: &str, ticks: f64, page: i64, boot: Option<f64>) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    // `rest` starts at field 3 (state): field n is at index n - 3.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<f64>().ok());
    let utime = field(14)?;
    let stime = field(15)?;
    Some(Stat {
        cpu_seconds: (utime + stime) / ticks,
        threads: field(20)? as i64,
        start_time: boot.map(|b| b + field(22).unwrap_or(0.0) / ticks),
        virtual_bytes: field(23)? as i64,
        resident_bytes: field(24)? as i64 * page,
    })
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf reads a configuration value; no memory is passed.
    let n = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if n > 0 {
        n as f64
    } else {
        100.0
    }
}

fn page_size() -> i64 {
    // SAFETY: as above.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as i64
    } else {
        4096
    }
}

/// Seconds since the epoch at boot (`btime` in `/proc/stat`), read once.
fn boot_time() -> Option<f64> {
    static BOOT: std::sync::OnceLock<Option<f64>> = std::sync::OnceLock::new();
    *BOOT.get_or_init(|| {
        std::fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse().ok())
    })
}

fn max_fds() -> Option<i64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    (ok && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_read_after_the_command_name() {
        // A command name with spaces and parentheses of its own.
        let line = "4242 (ring side) (x)) S 1 4242 4242 0 -1 4194560 500 0 0 0 \
                    150 50 0 0 20 0 7 0 1000 123456789 300 18446744073709551615";
        let stat = parse_stat(line, 100.0, 4096, Some(1_700_000_000.0)).expect("parsed");
        assert!((stat.cpu_seconds - 2.0).abs() < 1e-9);
        assert_eq!(stat.threads, 7);
        assert_eq!(stat.virtual_bytes, 123_456_789);
        assert_eq!(stat.resident_bytes, 300 * 4096);
        assert_eq!(stat.start_time, Some(1_700_000_010.0));
    }

    #[test]
    fn this_process_has_figures() {
        let gauges = ProcessGauges::new();
        gauges.update();
        assert!(gauges.resident_bytes.get() > 0);
        assert!(gauges.open_fds.get() > 0);
        assert!(gauges.threads.get() >= 1);
    }
}
