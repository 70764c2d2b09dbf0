//! Latency histogram, per-task counters, and readers for /proc.

use std::fs;

/// Sub-buckets per power of two: values are kept to within 1/32 (about 3%).
const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
const BUCKETS: usize = (2 * SUB + (64 - SUB_BITS as u64 - 1) * SUB) as usize;

/// A log-linear histogram of nanosecond values.
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    /// Creates an empty histogram.
    pub fn new() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            max: 0,
        }
    }

    fn index(v: u64) -> usize {
        if v < 2 * SUB {
            return v as usize;
        }
        let msb = 63 - v.leading_zeros();
        let shift = msb - SUB_BITS;
        let top = v >> shift; // in [SUB, 2 * SUB)
        (2 * SUB + (shift as u64 - 1) * SUB + (top - SUB)) as usize
    }

    /// The middle of bucket `i`.
    fn value_at(i: usize) -> u64 {
        let i = i as u64;
        if i < 2 * SUB {
            return i;
        }
        let k = i - 2 * SUB;
        let shift = k / SUB + 1;
        let top = k % SUB + SUB;
        (top << shift) + (1u64 << shift) / 2
    }

    /// Records one value.
    pub fn record(&mut self, v: u64) {
        let i = Self::index(v).min(BUCKETS - 1);
        self.counts[i] += 1;
        self.total += 1;
        if v > self.max {
            self.max = v;
        }
    }

    /// Adds another histogram's counts to this one.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += *b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// The value at quantile `q` (0..=1), or `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(Self::value_at(i).min(self.max));
            }
        }
        Some(self.max)
    }

    /// The largest value recorded.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.total
    }
}

/// What one task counted.
#[derive(Default, Clone)]
pub struct Counters {
    /// Messages (or deliveries, or handshakes) completed inside the window.
    pub done: u64,
    /// Payload bytes of those messages.
    pub bytes: u64,
    /// Messages received with RSV1 set (compressed), whole run.
    pub compressed: u64,
    /// Messages received, whole run.
    pub received: u64,
    /// Errors, whole run.
    pub errors: u64,
    /// The first few error texts.
    pub error_samples: Vec<String>,
    /// Latencies of the messages counted in `done`.
    pub hist: Histogram,
}

impl Counters {
    /// Notes an error, keeping its text if few are kept so far.
    pub fn error(&mut self, text: String) {
        self.errors += 1;
        if self.error_samples.len() < 5 {
            self.error_samples.push(text);
        }
    }

    /// Adds another task's counters to these.
    pub fn merge(&mut self, o: &Counters) {
        self.done += o.done;
        self.bytes += o.bytes;
        self.compressed += o.compressed;
        self.received += o.received;
        self.errors += o.errors;
        for s in &o.error_samples {
            if self.error_samples.len() < 5 {
                self.error_samples.push(s.clone());
            }
        }
        self.hist.merge(&o.hist);
    }
}

/// utime + stime of a process, in clock ticks, from /proc/<pid>/stat.
pub fn cpu_ticks(pid: &str) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime and stime are fields 14 and 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// VmRSS of a process in KiB, from /proc/<pid>/status.
pub fn rss_kib(pid: &str) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Clock ticks per second (`getconf CLK_TCK`), 100 if that fails.
pub fn clk_tck() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&v: &u64| v > 0)
        .unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_the_bucket_precision() {
        let mut h = Histogram::new();
        for v in 1..=100_000u64 {
            h.record(v * 1000);
        }
        let p50 = h.quantile(0.5).unwrap_or(0) as f64;
        let p99 = h.quantile(0.99).unwrap_or(0) as f64;
        assert!((p50 / 50_000_000.0 - 1.0).abs() < 0.04, "{p50}");
        assert!((p99 / 99_000_000.0 - 1.0).abs() < 0.04, "{p99}");
        assert_eq!(h.max(), 100_000_000);
    }

    #[test]
    fn index_is_monotonic_and_in_range() {
        let mut last = 0;
        let mut v = 0u64;
        while v < u64::MAX / 3 {
            let i = Histogram::index(v);
            assert!(i >= last && i < BUCKETS);
            last = i;
            v = v * 2 + 1;
        }
        assert!(Histogram::index(u64::MAX) < BUCKETS);
    }

    #[test]
    fn reads_own_stat() {
        let pid = std::process::id().to_string();
        assert!(cpu_ticks(&pid).is_some());
        assert!(rss_kib(&pid).unwrap_or(0) > 0);
    }
}
