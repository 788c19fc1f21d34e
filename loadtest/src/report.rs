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
    /// The server's CPU time (user + system) over the measured phase, when its pid was given.
    pub server_cpu_seconds: Option<f64>,
}

impl Report {
    /// The server's CPU time per successful operation, in µs, when its pid was given.
    pub fn server_cpu_micros_per_op(&self) -> Option<f64> {
        let operations: u64 = self.ops.iter().map(|op| op.count).sum();
        self.server_cpu_seconds
            .map(|seconds| seconds * 1e6 / operations.max(1) as f64)
    }

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
        if let (Some(seconds), Some(micros)) =
            (self.server_cpu_seconds, self.server_cpu_micros_per_op())
        {
            let _ = writeln!(
                text,
                "server CPU: {micros:.1} µs per operation ({seconds:.2} CPU-seconds measured)"
            );
        }
        text
    }

    /// One line: total ops/s and errors.
    pub fn summary_line(&self) -> String {
        let parts: Vec<String> = self
            .ops
            .iter()
            .filter(|op| op.count > 0)
            .map(|op| {
                format!(
                    "{} {:.0} ops/s p50 {:.3} ms p99 {:.3} ms",
                    op.name,
                    op.count as f64 / self.seconds,
                    op.millis(0.5),
                    op.millis(0.99)
                )
            })
            .collect();
        let mut line = parts.join(", ");
        if let Some(micros) = self.server_cpu_micros_per_op() {
            let _ = write!(line, ", server CPU {micros:.1} µs/op");
        }
        line
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
        text.push(']');
        if let Some(micros) = self.server_cpu_micros_per_op() {
            let _ = write!(text, ",\"server_cpu_us_per_op\":{micros:.2}");
        }
        text.push_str("}\n");
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

/// All rounds of one side as one report (counts and histograms summed, time added up).
pub fn merge(rounds: &[Report]) -> Report {
    let mut merged = Report {
        endpoint: rounds[0].endpoint.clone(),
        workload: rounds[0].workload.clone(),
        size: rounds[0].size.clone(),
        connections: rounds[0].connections,
        seconds: 0.0,
        ops: rounds[0]
            .ops
            .iter()
            .map(|op| OpStats::new(op.name))
            .collect(),
        server_cpu_seconds: None,
    };
    for round in rounds {
        merged.seconds += round.seconds;
        if let Some(seconds) = round.server_cpu_seconds {
            *merged.server_cpu_seconds.get_or_insert(0.0) += seconds;
        }
        for (total, op) in merged.ops.iter_mut().zip(&round.ops) {
            total.merge(op.clone());
        }
    }
    merged
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

/// Per-operation medians over rounds for two endpoints, and their ratios. `first[r]` and
/// `second[r]` ran back to back (round r), so each ratio is the median of the rounds' own ratios:
/// a machine whose speed drifts or swings over seconds (a shared host) moves both runs of a round
/// alike, and their ratio keeps still where a ratio of separate medians would not.
pub fn compare(first: &[Report], second: &[Report]) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "A = {}\nB = {}\n{} rounds each, in ABBA order; medians of rounds, ratios are medians of each round's own ratio",
        first[0].endpoint,
        second[0].endpoint,
        first.len()
    );
    let _ = writeln!(
        text,
        "{:<7} {:>11} {:>11} {:>7} {:>10} {:>10} {:>7} {:>10} {:>10} {:>7}",
        "op",
        "A ops/s",
        "B ops/s",
        "A/B",
        "A p50 ms",
        "B p50 ms",
        "B/A",
        "A p99 ms",
        "B p99 ms",
        "B/A"
    );
    for index in 0..first[0].ops.len() {
        if first
            .iter()
            .chain(second)
            .all(|report| report.ops[index].count == 0)
        {
            continue;
        }
        let rate = |report: &Report| report.ops[index].count as f64 / report.seconds;
        let median_of = |side: &[Report], figure: &dyn Fn(&Report) -> f64| {
            median(side.iter().map(figure).collect())
        };
        let ratio_of = |top: &[Report], bottom: &[Report], figure: &dyn Fn(&Report) -> f64| {
            median(
                top.iter()
                    .zip(bottom)
                    .map(|(top, bottom)| figure(top) / figure(bottom).max(1e-9))
                    .collect(),
            )
        };
        let p50 = |report: &Report| report.ops[index].millis(0.5);
        let p99 = |report: &Report| report.ops[index].millis(0.99);
        let _ = writeln!(
            text,
            "{:<7} {:>11.0} {:>11.0} {:>7.2} {:>10.3} {:>10.3} {:>7.2} {:>10.3} {:>10.3} {:>7.2}",
            first[0].ops[index].name,
            median_of(first, &rate),
            median_of(second, &rate),
            ratio_of(first, second, &rate),
            median_of(first, &p50),
            median_of(second, &p50),
            ratio_of(second, first, &p50),
            median_of(first, &p99),
            median_of(second, &p99),
            ratio_of(second, first, &p99),
        );
    }
    let cpu = |side: &[Report]| -> Option<f64> {
        let values: Vec<f64> = side
            .iter()
            .filter_map(Report::server_cpu_micros_per_op)
            .collect();
        (!values.is_empty()).then(|| median(values))
    };
    let show = |value: Option<f64>| value.map_or_else(|| "-".to_string(), |v| format!("{v:.1}"));
    match (cpu(first), cpu(second)) {
        (None, None) => {}
        (a, b) => {
            let paired: Vec<f64> = first
                .iter()
                .zip(second)
                .filter_map(|(a, b)| {
                    Some(b.server_cpu_micros_per_op()? / a.server_cpu_micros_per_op()?.max(1e-9))
                })
                .collect();
            let ratio = if paired.is_empty() {
                "-".to_string()
            } else {
                format!("{:.2}", median(paired))
            };
            let _ = writeln!(
                text,
                "server CPU µs/op: A {}  B {}  B/A {ratio}",
                show(a),
                show(b)
            );
        }
    }
    text
}

/// Latency percentile curves (x: percentile on a "nines" scale, y: latency on a log scale), one
/// polyline per endpoint and operation.
pub fn svg(reports: &[&Report]) -> String {
    const WIDTH: f64 = 900.0;
    const HEIGHT: f64 = 520.0;
    const LEFT: f64 = 70.0;
    const BOTTOM: f64 = 60.0;
    const TOP: f64 = 30.0;
    const RIGHT: f64 = 220.0;
    const NINES_MAX: f64 = 4.0;
    let colors = [
        "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
        "#7f7f7f", "#bcbd22",
    ];
    let mut series = Vec::new();
    for report in reports {
        for op in report.ops.iter().filter(|op| op.count > 0) {
            let points: Vec<(f64, f64)> = (0..=80)
                .map(|step| {
                    let nines = NINES_MAX * step as f64 / 80.0;
                    let quantile = 1.0 - 10f64.powf(-nines);
                    (nines, op.millis(quantile.min(0.99999)).max(0.001))
                })
                .collect();
            series.push((format!("{} {}", report.endpoint, op.name), points));
        }
    }
    let all: Vec<f64> = series
        .iter()
        .flat_map(|(_, points)| points.iter().map(|p| p.1))
        .collect();
    let low = all
        .iter()
        .cloned()
        .fold(f64::MAX, f64::min)
        .max(0.001)
        .log10()
        .floor();
    let high = all
        .iter()
        .cloned()
        .fold(0.0, f64::max)
        .max(0.01)
        .log10()
        .ceil()
        .max(low + 1.0);
    let x = |nines: f64| LEFT + nines / NINES_MAX * (WIDTH - LEFT - RIGHT);
    let y = |millis: f64| {
        HEIGHT - BOTTOM - (millis.log10() - low) / (high - low) * (HEIGHT - BOTTOM - TOP)
    };
    let mut text = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    let _ = writeln!(
        text,
        "<text x=\"{LEFT}\" y=\"18\" font-size=\"14\">Latency by percentile (log scale)</text>"
    );
    for (nines, label) in [
        (0.0, "0%"),
        (std::f64::consts::LOG10_2, "50%"),
        (1.0, "90%"),
        (2.0, "99%"),
        (3.0, "99.9%"),
        (4.0, "99.99%"),
    ] {
        let _ = writeln!(text, "<line x1=\"{0:.1}\" y1=\"{TOP}\" x2=\"{0:.1}\" y2=\"{1:.1}\" stroke=\"#ddd\"/><text x=\"{0:.1}\" y=\"{2:.1}\" text-anchor=\"middle\">{label}</text>", x(nines), HEIGHT - BOTTOM, HEIGHT - BOTTOM + 18.0);
    }
    let mut decade = low;
    while decade <= high {
        let millis = 10f64.powf(decade);
        let _ = writeln!(text, "<line x1=\"{LEFT}\" y1=\"{0:.1}\" x2=\"{1:.1}\" y2=\"{0:.1}\" stroke=\"#ddd\"/><text x=\"{2:.1}\" y=\"{3:.1}\" text-anchor=\"end\">{millis} ms</text>", y(millis), WIDTH - RIGHT, LEFT - 6.0, y(millis) + 4.0);
        decade += 1.0;
    }
    for (index, (label, points)) in series.iter().enumerate() {
        let color = colors[index % colors.len()];
        let path: Vec<String> = points
            .iter()
            .map(|(nines, millis)| format!("{:.1},{:.1}", x(*nines), y(*millis)))
            .collect();
        let _ = writeln!(
            text,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
            path.join(" ")
        );
        let legend_y = TOP + 18.0 * index as f64;
        let _ = writeln!(
            text,
            "<line x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{2:.1}\" y2=\"{1:.1}\" stroke=\"{color}\" stroke-width=\"3\"/><text x=\"{3:.1}\" y=\"{4:.1}\">{5}</text>",
            WIDTH - RIGHT + 10.0,
            legend_y,
            WIDTH - RIGHT + 30.0,
            WIDTH - RIGHT + 35.0,
            legend_y + 4.0,
            label.replace('&', "&amp;").replace('<', "&lt;")
        );
    }
    text.push_str("</svg>\n");
    text
}
