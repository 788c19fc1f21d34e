//! Per-core metrics without contention: each core owns its counters (atomics only it writes, so no
//! cache line is shared while serving) and a scrape sums every core into Prometheus text.
//! Hand-written because the common metrics crates funnel all threads into shared registries.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

/// Latency histogram bucket bounds, in seconds (Prometheus `le` labels).
pub const LATENCY_BUCKETS_SECONDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The series of requests refused before they were routed (bad host, bad query string).
const OTHER_SERIES: &str = "Other";

/// Status classes counted: 2xx, 3xx, 4xx, 5xx.
const STATUS_CLASSES: &[&str] = &["2xx", "3xx", "4xx", "5xx"];

const BUCKET_COUNT: usize = 13;
const _: () = assert!(LATENCY_BUCKETS_SECONDS.len() == BUCKET_COUNT);

/// One (operation, status class) series.
#[derive(Default)]
struct Series {
    count: AtomicU64,
    latency_micros_sum: AtomicU64,
    buckets: [AtomicU64; BUCKET_COUNT],
}

/// One core's figures. Only that core writes them; relaxed atomics make scraping safe.
pub struct CoreMetrics {
    /// One row per operation (`s3::Operation::index()`), one column per status class.
    series: Vec<[Series; 4]>,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    connections_open: AtomicI64,
    connections_accepted: AtomicU64,
    tls_handshake_failures: AtomicU64,
    requests_in_flight: AtomicI64,
    /// The core's last failed requests (admin API).
    pub recent_errors: super::recent_errors::RecentErrors,
    object_cache_hits: AtomicU64,
    object_cache_misses: AtomicU64,
}

impl CoreMetrics {
    /// Figures for `operation_count` operations and "Other", all zero.
    pub fn new(operation_count: usize) -> Self {
        CoreMetrics {
            series: (0..=operation_count).map(|_| Default::default()).collect(),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            connections_open: AtomicI64::new(0),
            connections_accepted: AtomicU64::new(0),
            tls_handshake_failures: AtomicU64::new(0),
            requests_in_flight: AtomicI64::new(0),
            recent_errors: Default::default(),
            object_cache_hits: AtomicU64::new(0),
            object_cache_misses: AtomicU64::new(0),
        }
    }
}

impl CoreMetrics {
    /// Records a finished request of the operation at `operation_index` (`Operation::index()`);
    /// `None` for one refused before it was routed (counted as "Other").
    pub fn record_request(
        &self,
        operation_index: Option<usize>,
        status: u16,
        seconds: f64,
        bytes_in: u64,
        bytes_out: u64,
    ) {
        let class = match status {
            0..=299 => 0,
            300..=399 => 1,
            400..=499 => 2,
            _ => 3,
        };
        // The last row is "Other".
        let row = operation_index.unwrap_or(self.series.len() - 1);
        let series = &self.series[row][class];
        series.count.fetch_add(1, Ordering::Relaxed);
        series
            .latency_micros_sum
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
        if let Some(bucket) = LATENCY_BUCKETS_SECONDS
            .iter()
            .position(|bound| seconds <= *bound)
        {
            series.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        self.bytes_in.fetch_add(bytes_in, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes_out, Ordering::Relaxed);
    }

    /// A connection was accepted (+1) or closed (-1).
    pub fn connection_opened(&self, opened: bool) {
        if opened {
            self.connections_accepted.fetch_add(1, Ordering::Relaxed);
            self.connections_open.fetch_add(1, Ordering::Relaxed);
        } else {
            self.connections_open.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// A TLS handshake failed or timed out (the connection was then closed).
    pub fn tls_handshake_failed(&self) {
        self.tls_handshake_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// An object lookup was answered by this core's cache (`hit`) or by the metadata thread.
    pub fn object_cache_lookup(&self, hit: bool) {
        let counter = if hit {
            &self.object_cache_hits
        } else {
            &self.object_cache_misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A request started (+1) or finished (-1).
    pub fn request_in_flight(&self, started: bool) {
        self.requests_in_flight
            .fetch_add(if started { 1 } else { -1 }, Ordering::Relaxed);
    }
}

/// Figures the metadata thread keeps.
#[derive(Default)]
pub struct MetaMetrics {
    /// Transactions committed.
    pub batches: AtomicU64,
    /// Operations committed (sum of batch sizes).
    pub operations: AtomicU64,
    /// Largest batch seen.
    pub batch_size_max: AtomicU64,
    /// Total commit time, microseconds.
    pub commit_micros_sum: AtomicU64,
    /// Slowest commit, microseconds.
    pub commit_micros_max: AtomicU64,
}

impl MetaMetrics {
    /// Records one committed batch.
    pub fn record_batch(&self, size: usize, micros: u64) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.operations.fetch_add(size as u64, Ordering::Relaxed);
        self.batch_size_max
            .fetch_max(size as u64, Ordering::Relaxed);
        self.commit_micros_sum.fetch_add(micros, Ordering::Relaxed);
        self.commit_micros_max.fetch_max(micros, Ordering::Relaxed);
    }
}

/// What the lifecycle pass did (written by the one core that drives it).
#[derive(Default)]
pub struct LifecycleMetrics {
    /// Current versions expired (removed, or hidden behind a delete marker).
    pub objects_expired: AtomicU64,
    /// Noncurrent versions removed.
    pub versions_expired: AtomicU64,
    /// Delete markers removed.
    pub delete_markers_removed: AtomicU64,
    /// Unfinished multipart uploads aborted.
    pub uploads_aborted: AtomicU64,
    /// Due versions left because Object Lock protects them.
    pub locked_skipped: AtomicU64,
    /// Steps that failed (logged).
    pub step_errors: AtomicU64,
    /// Passes finished.
    pub passes: AtomicU64,
    /// When the last pass finished, seconds since the Unix epoch (0: none yet).
    pub last_pass_finished_seconds: AtomicU64,
}

/// The startup scrub's figures (`scrub`), set once when it ends.
#[derive(Debug, Default)]
pub struct ScrubMetrics {
    /// 1 once the scrub finished.
    pub done: AtomicU64,
    /// 1 if it stopped on an error (logged).
    pub failed: AtomicU64,
    /// Orphan files it removed.
    pub orphan_files_removed: AtomicU64,
    /// Files rows reference that the disk lacks, marked in `missing_files`.
    pub missing_files: AtomicU64,
}

/// What the removing thread (`storage::remover`) did with the files no metadata references.
#[derive(Debug, Default)]
pub struct RemovalMetrics {
    /// Files handed over and not yet unlinked (waiting out their grace, or behind the disk).
    pub waiting: AtomicU64,
    /// Files unlinked (or found already gone).
    pub removed: AtomicU64,
    /// Unlinks that failed (logged; the next start's scrub removes the file as an orphan).
    pub failed: AtomicU64,
    /// Files handed back to their core's own removal because the thread's queue was full.
    pub removed_on_cores: AtomicU64,
}

/// Every core's metrics plus the metadata thread's; built before the cores start, read-only after.
pub struct Registry {
    /// Operation names, indexed like each core's series (`s3::Operation::NAMES`); the series after
    /// the last is "Other" (requests refused before they were routed).
    operation_names: &'static [&'static str],
    /// One entry per core, in core order.
    pub cores: Vec<Arc<CoreMetrics>>,
    /// The metadata thread's figures.
    pub meta: Arc<MetaMetrics>,
    /// The lifecycle pass's figures.
    pub lifecycle: Arc<LifecycleMetrics>,
    /// The startup scrub's figures.
    pub scrub: Arc<ScrubMetrics>,
    /// The removing thread's figures.
    pub removals: Arc<RemovalMetrics>,
    /// When the server started (uptime).
    pub started: std::time::Instant,
}

impl Registry {
    /// A registry for `cores` cores counting the operations `operation_names` (one series each,
    /// in that order; `Operation::NAMES` in the server).
    pub fn new(cores: usize, operation_names: &'static [&'static str]) -> Self {
        Registry {
            operation_names,
            cores: (0..cores)
                .map(|_| Arc::new(CoreMetrics::new(operation_names.len())))
                .collect(),
            meta: Arc::new(MetaMetrics::default()),
            lifecycle: Arc::new(LifecycleMetrics::default()),
            scrub: Arc::new(ScrubMetrics::default()),
            removals: Arc::new(RemovalMetrics::default()),
            started: std::time::Instant::now(),
        }
    }

    /// Requests being handled now, all cores (the tier mover yields while there are some).
    pub fn requests_in_flight(&self) -> i64 {
        self.cores
            .iter()
            .map(|core| core.requests_in_flight.load(Ordering::Relaxed))
            .sum()
    }

    /// Connections open now, all cores.
    pub fn connections_open(&self) -> i64 {
        self.cores
            .iter()
            .map(|core| core.connections_open.load(Ordering::Relaxed))
            .sum()
    }

    /// Every series' name in row order: the operations, then "Other".
    fn series_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.operation_names
            .iter()
            .copied()
            .chain(std::iter::once(OTHER_SERIES))
    }

    /// Prometheus text exposition (version 0.0.4) of everything, cores summed and per core.
    pub fn render(&self, meta_queue_depth: usize) -> String {
        let mut text = String::with_capacity(16 * 1024);
        self.render_requests(&mut text);
        self.render_cores(&mut text);
        self.render_meta(&mut text, meta_queue_depth);
        self.render_lifecycle(&mut text);
        self.render_scrub(&mut text);
        self.render_removals(&mut text);
        let _ = writeln!(text, "# HELP ringstore_log_events_dropped_total Log events dropped because stderr was not drained as fast as they came.\n# TYPE ringstore_log_events_dropped_total counter\nringstore_log_events_dropped_total {}", super::log_ring::dropped_events());
        text
    }

    /// What the removing thread did.
    fn render_removals(&self, text: &mut String) {
        let removals = &self.removals;
        write_series(text, &[
            ("ringstore_file_removals_waiting", "gauge", "Object files no metadata references, waiting for the removing thread (their 1 s grace, or the disk).", &removals.waiting),
            ("ringstore_file_removals_total", "counter", "Object files the removing thread unlinked (or found already gone).", &removals.removed),
            ("ringstore_file_removals_failed_total", "counter", "Object file unlinks that failed (logged; the next start's scrub removes them as orphans).", &removals.failed),
            ("ringstore_file_removals_on_cores_total", "counter", "Freed object files handed to their core's own timer and blocking thread because the removing thread's queue was full.", &removals.removed_on_cores),
        ]);
    }

    /// The startup scrub's outcome.
    fn render_scrub(&self, text: &mut String) {
        let scrub = &self.scrub;
        write_series(text, &[
            ("ringstore_startup_scrub_done", "gauge", "1 once the startup scrub (orphan files removed, missing files marked) finished.", &scrub.done),
            ("ringstore_startup_scrub_failed", "gauge", "1 if the startup scrub stopped on an error (logged; the next start tries again).", &scrub.failed),
            ("ringstore_startup_scrub_orphan_files_removed", "gauge", "Object files no row referenced that the startup scrub removed.", &scrub.orphan_files_removed),
            ("ringstore_startup_scrub_missing_files", "gauge", "Files rows reference that the disk lacks, found by the startup scrub and marked in missing_files.", &scrub.missing_files),
        ]);
    }

    /// The lifecycle pass's counters and when it last finished.
    fn render_lifecycle(&self, text: &mut String) {
        let lifecycle = &self.lifecycle;
        write_series(text, &[
            ("ringstore_lifecycle_objects_expired_total", "counter", "Current object versions the lifecycle pass expired (removed, or hidden behind a delete marker).", &lifecycle.objects_expired),
            ("ringstore_lifecycle_noncurrent_versions_expired_total", "counter", "Noncurrent versions the lifecycle pass removed.", &lifecycle.versions_expired),
            ("ringstore_lifecycle_delete_markers_removed_total", "counter", "Delete markers the lifecycle pass removed.", &lifecycle.delete_markers_removed),
            ("ringstore_lifecycle_uploads_aborted_total", "counter", "Unfinished multipart uploads the lifecycle pass aborted.", &lifecycle.uploads_aborted),
            ("ringstore_lifecycle_locked_skipped_total", "counter", "Due versions the lifecycle pass left because Object Lock protects them.", &lifecycle.locked_skipped),
            ("ringstore_lifecycle_step_errors_total", "counter", "Lifecycle steps that failed (each is logged).", &lifecycle.step_errors),
            ("ringstore_lifecycle_passes_total", "counter", "Lifecycle passes finished.", &lifecycle.passes),
            ("ringstore_lifecycle_last_pass_finished_seconds", "gauge", "When the last lifecycle pass finished, seconds since the Unix epoch (0: none since start).", &lifecycle.last_pass_finished_seconds),
        ]);
    }

    /// Request counts and latency histograms by operation and status class, cores summed.
    fn render_requests(&self, text: &mut String) {
        let load = |value: &AtomicU64| value.load(Ordering::Relaxed);
        text.push_str("# HELP ringstore_requests_total S3 requests by operation and status class.\n# TYPE ringstore_requests_total counter\n");
        for (op, name) in self.series_names().enumerate() {
            for (class, label) in STATUS_CLASSES.iter().enumerate() {
                let count: u64 = self
                    .cores
                    .iter()
                    .map(|core| load(&core.series[op][class].count))
                    .sum();
                if count > 0 {
                    let _ = writeln!(text, "ringstore_requests_total{{s3_op=\"{name}\",status_class=\"{label}\"}} {count}");
                }
            }
        }
        text.push_str("# HELP ringstore_request_duration_seconds Request latency by operation and status class.\n# TYPE ringstore_request_duration_seconds histogram\n");
        for (op, name) in self.series_names().enumerate() {
            for (class, label) in STATUS_CLASSES.iter().enumerate() {
                let count: u64 = self
                    .cores
                    .iter()
                    .map(|core| load(&core.series[op][class].count))
                    .sum();
                if count == 0 {
                    continue;
                }
                let mut cumulative = 0u64;
                for (bucket, bound) in LATENCY_BUCKETS_SECONDS.iter().enumerate() {
                    cumulative += self
                        .cores
                        .iter()
                        .map(|core| load(&core.series[op][class].buckets[bucket]))
                        .sum::<u64>();
                    let _ = writeln!(text, "ringstore_request_duration_seconds_bucket{{s3_op=\"{name}\",status_class=\"{label}\",le=\"{bound}\"}} {cumulative}");
                }
                let _ = writeln!(text, "ringstore_request_duration_seconds_bucket{{s3_op=\"{name}\",status_class=\"{label}\",le=\"+Inf\"}} {count}");
                let sum: u64 = self
                    .cores
                    .iter()
                    .map(|core| load(&core.series[op][class].latency_micros_sum))
                    .sum();
                let _ = writeln!(text, "ringstore_request_duration_seconds_sum{{s3_op=\"{name}\",status_class=\"{label}\"}} {}", sum as f64 / 1e6);
                let _ = writeln!(text, "ringstore_request_duration_seconds_count{{s3_op=\"{name}\",status_class=\"{label}\"}} {count}");
            }
        }
    }

    /// Per-core counters and gauges (bytes, connections, requests in flight, object cache).
    fn render_cores(&self, text: &mut String) {
        let load = |value: &AtomicU64| value.load(Ordering::Relaxed);
        let per_core = |text: &mut String,
                        metric: &str,
                        kind: &str,
                        help: &str,
                        value: &dyn Fn(&CoreMetrics) -> i64| {
            let _ = writeln!(text, "# HELP {metric} {help}\n# TYPE {metric} {kind}");
            for (index, core) in self.cores.iter().enumerate() {
                let _ = writeln!(text, "{metric}{{core=\"{index}\"}} {}", value(core));
            }
        };
        per_core(
            text,
            "ringstore_bytes_received_total",
            "counter",
            "Request body bytes received.",
            &|c| load(&c.bytes_in) as i64,
        );
        per_core(
            text,
            "ringstore_bytes_sent_total",
            "counter",
            "Response body bytes sent.",
            &|c| load(&c.bytes_out) as i64,
        );
        per_core(
            text,
            "ringstore_connections_accepted_total",
            "counter",
            "Connections accepted.",
            &|c| load(&c.connections_accepted) as i64,
        );
        per_core(
            text,
            "ringstore_tls_handshake_failures_total",
            "counter",
            "TLS handshakes that failed or timed out.",
            &|c| load(&c.tls_handshake_failures) as i64,
        );
        per_core(
            text,
            "ringstore_connections_open",
            "gauge",
            "Connections open now.",
            &|c| c.connections_open.load(Ordering::Relaxed),
        );
        per_core(
            text,
            "ringstore_requests_in_flight",
            "gauge",
            "Requests being served now.",
            &|c| c.requests_in_flight.load(Ordering::Relaxed),
        );
        per_core(
            text,
            "ringstore_object_cache_hits_total",
            "counter",
            "Object lookups (GET, HEAD, ACL and attribute reads, copy sources) answered from the core's cache.",
            &|c| load(&c.object_cache_hits) as i64,
        );
        per_core(
            text,
            "ringstore_object_cache_misses_total",
            "counter",
            "Object lookups sent to the metadata thread.",
            &|c| load(&c.object_cache_misses) as i64,
        );
    }

    /// The metadata thread's figures and queue depth.
    fn render_meta(&self, text: &mut String, meta_queue_depth: usize) {
        let load = |value: &AtomicU64| value.load(Ordering::Relaxed);
        let meta = &self.meta;
        let _ = writeln!(text, "# HELP ringstore_meta_queue_depth Requests waiting for the metadata thread.\n# TYPE ringstore_meta_queue_depth gauge\nringstore_meta_queue_depth {meta_queue_depth}");
        let _ = writeln!(text, "# HELP ringstore_meta_batches_total Metadata transactions committed.\n# TYPE ringstore_meta_batches_total counter\nringstore_meta_batches_total {}", load(&meta.batches));
        let _ = writeln!(text, "# HELP ringstore_meta_operations_total Metadata operations committed.\n# TYPE ringstore_meta_operations_total counter\nringstore_meta_operations_total {}", load(&meta.operations));
        let _ = writeln!(text, "# HELP ringstore_meta_batch_size_max Largest group commit so far.\n# TYPE ringstore_meta_batch_size_max gauge\nringstore_meta_batch_size_max {}", load(&meta.batch_size_max));
        let _ = writeln!(text, "# HELP ringstore_meta_commit_seconds_total Time spent in metadata transactions.\n# TYPE ringstore_meta_commit_seconds_total counter\nringstore_meta_commit_seconds_total {}", load(&meta.commit_micros_sum) as f64 / 1e6);
        let _ = writeln!(text, "# HELP ringstore_meta_commit_seconds_max Slowest metadata transaction so far.\n# TYPE ringstore_meta_commit_seconds_max gauge\nringstore_meta_commit_seconds_max {}", load(&meta.commit_micros_max) as f64 / 1e6);
    }
}

/// Writes one unlabelled series per row: (name, type, help, value), in Prometheus text format.
fn write_series(text: &mut String, rows: &[(&str, &str, &str, &AtomicU64)]) {
    for (metric, kind, help, value) in rows {
        let _ = writeln!(
            text,
            "# HELP {metric} {help}\n# TYPE {metric} {kind}\n{metric} {}",
            value.load(Ordering::Relaxed)
        );
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_cores_and_renders_cumulative_buckets() {
        // Goal: a scrape adds up every core and histogram buckets are cumulative.
        let registry = Registry::new(2, &["GetObject", "PutObject"]);
        registry.cores[0].record_request(Some(1), 200, 0.002, 10, 0);
        registry.cores[1].record_request(Some(1), 200, 0.2, 5, 0);
        registry.cores[1].record_request(Some(0), 503, 0.2, 0, 0);
        registry.cores[0].record_request(None, 400, 0.001, 0, 0);
        let text = registry.render(3);
        assert!(
            text.contains("ringstore_requests_total{s3_op=\"PutObject\",status_class=\"2xx\"} 2")
        );
        assert!(
            text.contains("ringstore_requests_total{s3_op=\"GetObject\",status_class=\"5xx\"} 1")
        );
        assert!(text.contains("ringstore_requests_total{s3_op=\"Other\",status_class=\"4xx\"} 1"));
        assert!(text.contains("ringstore_request_duration_seconds_bucket{s3_op=\"PutObject\",status_class=\"2xx\",le=\"0.0025\"} 1"));
        assert!(text.contains("ringstore_request_duration_seconds_bucket{s3_op=\"PutObject\",status_class=\"2xx\",le=\"0.25\"} 2"));
        assert!(text.contains("ringstore_bytes_received_total{core=\"1\"} 5"));
        assert!(text.contains("ringstore_meta_queue_depth 3"));
    }
}
