//! Results: per-operation counts, throughput, errors by kind and latency percentiles, as a
//! table, as JSON (with the full histogram), and a live progress line while running.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// One operation's figures.
#[derive(Clone)]
pub struct OpStats {
    pub name: &'static str,
    pub count: u64,
    pub bytes: u64,
    pub errors: BTreeMap<String, u64>,
    pub latency_micros: Histogram<u64>,
}

impl OpStats {
    pub fn new(name: &'static str) -> Self {
        OpStats {
            name,
            count: 0,
            bytes: 0,
            errors: BTreeMap::new(),
            latency_micros: Histogram::new_with_bounds(1, 600_000_000, 3).unwrap(),
        }
    }

    pub fn record(&mut self, elapsed: Duration, bytes: u64) {
        self.count += 1;
        self.bytes += bytes;
        let _ = self
            .latency_micros
            .record(elapsed.as_micros().max(1) as u64);
    }

    pub fn error(&mut self, kind: String) {
        *self.errors.entry(kind).or_default() += 1;
    }

    pub fn merge(&mut self, other: OpStats) {
        self.count += other.count;
        self.bytes += other.bytes;
        for (kind, count) in other.errors {
            *self.errors.entry(kind).or_default() += count;
        }
        let _ = self.latency_micros.add(&other.latency_micros);
    }

    fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    fn millis(&self, quantile: f64) -> f64 {
        self.latency_micros.value_at_quantile(quantile) as f64 / 1000.0
    }
}

/// A finished run.
pub struct Report {
    pub endpoint: String,
    pub workload: String,
    pub size: String,
    pub connections: usize,
    pub seconds: f64,
    pub ops: Vec<OpStats>,
}

impl Report {
    /// The human table.
    pub fn table(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "{} — {} of {} over {} connections, {:.1} s measured",
            self.endpoint, self.workload, self.size, self.connections, self.seconds
        );
        let _ = writeln!(
            text,
            "{:<7} {:>9} {:>10} {:>9} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "op", "count", "ops/s", "MB/s", "errors", "min ms", "p50", "p90", "p99", "p99.9", "max"
        );
        for op in self
            .ops
            .iter()
            .filter(|op| op.count > 0 || op.error_count() > 0)
        {
            let _ = writeln!(
                text,
                "{:<7} {:>9} {:>10.0} {:>9.1} {:>7} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>8.3}",
                op.name,
                op.count,
                op.count as f64 / self.seconds,
                op.bytes as f64 / self.seconds / 1e6,
                op.error_count(),
                op.latency_micros.min() as f64 / 1000.0,
                op.millis(0.5),
                op.millis(0.9),
                op.millis(0.99),
                op.millis(0.999),
                op.latency_micros.max() as f64 / 1000.0
            );
            for (kind, count) in &op.errors {
                let _ = writeln!(text, "        error {kind}: {count}");
            }
        }
        text
    }

    /// JSON with every figure and the full histogram as [latency_us, count] pairs.
    pub fn json(&self) -> String {
        let escape = |text: &str| text.replace('\\', "\\\\").replace('"', "\\\"");
        let mut text = format!(
            "{{\"endpoint\":\"{}\",\"workload\":\"{}\",\"size\":\"{}\",\"connections\":{},\"seconds\":{:.3},\"operations\":[",
            escape(&self.endpoint),
            escape(&self.workload),
            escape(&self.size),
            self.connections,
            self.seconds
        );
        let mut first = true;
        for op in self
            .ops
            .iter()
            .filter(|op| op.count > 0 || op.error_count() > 0)
        {
            if !first {
                text.push(',');
            }
            first = false;
            let errors: Vec<String> = op
                .errors
                .iter()
                .map(|(kind, count)| format!("\"{}\":{count}", escape(kind)))
                .collect();
            let histogram: Vec<String> = op
                .latency_micros
                .iter_recorded()
                .map(|value| format!("[{},{}]", value.value_iterated_to(), value.count_at_value()))
                .collect();
            let _ = write!(
                text,
                "{{\"op\":\"{}\",\"count\":{},\"ops_per_second\":{:.1},\"megabytes_per_second\":{:.3},\"errors\":{{{}}},\"latency_ms\":{{\"min\":{:.3},\"p50\":{:.3},\"p90\":{:.3},\"p99\":{:.3},\"p99_9\":{:.3},\"max\":{:.3}}},\"histogram_us\":[{}]}}",
                op.name,
                op.count,
                op.count as f64 / self.seconds,
                op.bytes as f64 / self.seconds / 1e6,
                errors.join(","),
                op.latency_micros.min() as f64 / 1000.0,
                op.millis(0.5),
                op.millis(0.9),
                op.millis(0.99),
                op.millis(0.999),
                op.latency_micros.max() as f64 / 1000.0,
                histogram.join(",")
            );
        }
        text.push_str("]}\n");
        text
    }
}

/// Prints ops/s, MB/s, errors and elapsed once a second: one rewritten line on a terminal,
/// plain lines otherwise.
pub fn live_progress(
    ops: &AtomicU64,
    bytes: &AtomicU64,
    errors: &AtomicU64,
    done: &AtomicBool,
    started: Instant,
    terminal: bool,
) {
    let (mut last_ops, mut last_bytes) = (0u64, 0u64);
    while !done.load(Ordering::SeqCst) {
        for _ in 0..10 {
            if done.load(Ordering::SeqCst) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let (now_ops, now_bytes) = (ops.load(Ordering::Relaxed), bytes.load(Ordering::Relaxed));
        let line = format!(
            "{:>6.1}s  {:>9} ops/s  {:>9.1} MB/s  errors {}",
            started.elapsed().as_secs_f64(),
            now_ops - last_ops,
            (now_bytes - last_bytes) as f64 / 1e6,
            errors.load(Ordering::Relaxed)
        );
        (last_ops, last_bytes) = (now_ops, now_bytes);
        if terminal {
            eprint!("\r{line}   ");
        } else {
            eprintln!("{line}");
        }
    }
    if terminal {
        eprintln!();
    }
}
