//! `loadtest`: ringstore's SigV4 S3 load generator. Thread-per-core on glommio like the server:
//! each connection is one task that signs every request itself, reuses one pre-filled body
//! buffer (no per-request body allocation) and records latency per operation in hdrhistograms.

mod client;
mod multipart;
mod report;
mod server_cpu;

use std::cell::RefCell;
use std::io::IsTerminal;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use argh::FromArgs;
use glommio::{LocalExecutorBuilder, Placement};
use ringstore::s3::auth::sigv4;

use client::{amz_date_now, error_code, Connection, Target};
use report::{OpStats, Report};

/// Load-test an S3 endpoint (ringstore or any other) with SigV4-signed requests.
#[derive(FromArgs, Clone)]
pub struct Args {
    /// endpoint, e.g. http://127.0.0.1:9000 or https://127.0.0.1:9443 (with --tls-ca)
    #[argh(option, default = "String::from(\"http://127.0.0.1:9000\")")]
    endpoint: String,
    /// access key (default ringstore)
    #[argh(option, default = "String::from(\"ringstore\")")]
    access_key: String,
    /// secret key (default ringstore-secret)
    #[argh(option, default = "String::from(\"ringstore-secret\")")]
    secret_key: String,
    /// region (default us-east-1)
    #[argh(option, default = "String::from(\"us-east-1\")")]
    region: String,
    /// bucket to use; created if missing (default loadtest)
    #[argh(option, default = "String::from(\"loadtest\")")]
    bucket: String,
    /// workload: put, get, head, delete, list, multipart, or a mix such as get=70,put=20,delete=5,list=5 (default put)
    #[argh(option, default = "String::from(\"put\")")]
    op: String,
    /// object size, fixed (4KiB) or a uniform range (1MiB-16MiB) (default 4KiB)
    #[argh(option, default = "String::from(\"4KiB\")")]
    size: String,
    /// concurrent connections (default 16)
    #[argh(option, default = "16")]
    connections: usize,
    /// measured seconds (default 10; ignored when --ops is given)
    #[argh(option, default = "10")]
    duration: u64,
    /// stop after this many measured operations instead of after --duration
    #[argh(option)]
    ops: Option<u64>,
    /// offer this many operations per second in total (open loop: each connection sends on a fixed
    /// schedule, and latency counts from the scheduled time, so a stall shows in full instead of
    /// slowing the client down); default: closed loop, each connection sends when answered
    #[argh(option)]
    rate: Option<f64>,
    /// warm-up seconds excluded from results (default 1)
    #[argh(option, default = "1")]
    warmup: u64,
    /// distinct keys; reads use keys a prepare phase writes first (default 1000)
    #[argh(option, default = "1000")]
    keys: usize,
    /// key order: random or sequential (default random)
    #[argh(option, default = "String::from(\"random\")")]
    key_order: String,
    /// client cores (glommio executors) (default 1)
    #[argh(option, default = "1")]
    cores: usize,
    /// sign the payload's SHA-256 instead of sending UNSIGNED-PAYLOAD
    #[argh(switch)]
    signed_payload: bool,
    /// check every GET body against what was PUT
    #[argh(switch)]
    verify: bool,
    /// write the results (with full latency histograms) to this JSON file
    #[argh(option)]
    json: Option<String>,
    /// pid of the server behind --endpoint (on this machine; several as 1,2,3 for a server of
    /// several processes, such as nginx's workers): report its CPU time per operation, read from
    /// /proc/<pid>/stat over the measured phase
    #[argh(option, from_str_fn(server_cpu::parse_pids))]
    server_pid: Option<Vec<u32>>,
    /// second endpoint: run the same workload against both, taking turns (see --slice-ms) so a
    /// drift of the machine favours neither, and print medians and ratios
    #[argh(option)]
    compare: Option<String>,
    /// pid(s) of the server behind --compare: report its CPU time per operation
    #[argh(option, from_str_fn(server_cpu::parse_pids))]
    compare_server_pid: Option<Vec<u32>>,
    /// seconds of pause before each run with --compare, so one run's background work (write-back,
    /// checkpoints) does not land in the next (default 1)
    #[argh(option, default = "1")]
    settle: u64,
    /// with --compare: run both endpoints in one run, taking turns in slices of this many ms
    /// (A B B A …) on connections kept open to both, so both see the same moment of a shared,
    /// noisy machine; 0 runs them one after the other in ABBA rounds instead (default 200, or 0
    /// with --rate or --ops, which need whole runs)
    #[argh(option)]
    slice_ms: Option<u64>,
    /// access key for --compare (default: --access-key)
    #[argh(option)]
    compare_access_key: Option<String>,
    /// secret key for --compare (default: --secret-key)
    #[argh(option)]
    compare_secret_key: Option<String>,
    /// with --compare: the second endpoint already serves the objects (e.g. nginx with static
    /// files BUCKET/object-NNNNNNNN), so its bucket is not created and no keys are written
    #[argh(switch)]
    compare_no_prepare: bool,
    /// PEM file of the CA that signed an https:// endpoint's certificate
    #[argh(option)]
    tls_ca: Option<String>,
    /// rounds per endpoint with --compare; even, so each side runs first equally often (default 4)
    #[argh(option, default = "4")]
    rounds: usize,
    /// draw latency percentile curves (one per endpoint and operation) into this SVG file
    #[argh(option)]
    plot: Option<String>,
    /// multipart: part size (default 8MiB)
    #[argh(option, default = "String::from(\"8MiB\")")]
    part_size: String,
    /// multipart: parts uploaded concurrently, each on its own connection (default 8)
    #[argh(option, default = "8")]
    parts_in_flight: usize,
}

/// Parses `4KiB`, `1MiB`, `512`.
pub fn parse_size(text: &str) -> Result<usize> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: usize = number.parse().with_context(|| format!("size {text:?}"))?;
    let multiplier = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => bail!("unknown size unit {other:?}"),
    };
    Ok(number * multiplier)
}

/// One request kind.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Op {
    Put,
    Get,
    Head,
    Delete,
    List,
}

impl Op {
    pub const ALL: [Op; 5] = [Op::Put, Op::Get, Op::Head, Op::Delete, Op::List];

    pub fn name(self) -> &'static str {
        match self {
            Op::Put => "put",
            Op::Get => "get",
            Op::Head => "head",
            Op::Delete => "delete",
            Op::List => "list",
        }
    }

    fn parse(name: &str) -> Result<Op> {
        Op::ALL
            .into_iter()
            .find(|op| op.name() == name)
            .with_context(|| format!("unknown operation {name:?}"))
    }
}

/// The operation mix as cumulative weights.
#[derive(Clone)]
struct Mix {
    weights: Vec<(Op, u32)>,
    total: u32,
}

impl Mix {
    fn parse(text: &str) -> Result<Mix> {
        let mut weights = Vec::new();
        for part in text.split(',') {
            let (name, weight) = part.split_once('=').unwrap_or((part, "1"));
            let weight: u32 = weight
                .trim()
                .parse()
                .with_context(|| format!("weight in {part:?}"))?;
            if weight > 0 {
                weights.push((Op::parse(name.trim())?, weight));
            }
        }
        let total = weights.iter().map(|(_, w)| w).sum();
        if total == 0 {
            bail!("--op {text:?} selects no operation");
        }
        Ok(Mix { weights, total })
    }

    fn pick(&self) -> Op {
        let mut roll = fastrand::u32(..self.total);
        for (op, weight) in &self.weights {
            if roll < *weight {
                return *op;
            }
            roll -= weight;
        }
        self.weights[0].0
    }

    fn reads(&self) -> bool {
        self.weights
            .iter()
            .any(|(op, _)| matches!(op, Op::Get | Op::Head))
    }

    /// Whether keys can vanish during the run (the mix deletes), so a read may miss one.
    fn deletes(&self) -> bool {
        self.weights.iter().any(|(op, _)| *op == Op::Delete)
    }
}

/// Object sizes: fixed or uniform in a range; each key's size is a function of the key, so a
/// verifying GET knows what length to expect.
#[derive(Clone, Copy)]
struct Sizes {
    min: usize,
    max: usize,
}

impl Sizes {
    fn parse(text: &str) -> Result<Sizes> {
        match text.split_once('-') {
            Some((low, high)) => {
                let (min, max) = (parse_size(low)?, parse_size(high)?);
                if min > max {
                    bail!("size range {text:?} is reversed");
                }
                Ok(Sizes { min, max })
            }
            None => {
                let size = parse_size(text)?;
                Ok(Sizes {
                    min: size,
                    max: size,
                })
            }
        }
    }

    fn of_key(&self, index: usize) -> usize {
        if self.min == self.max {
            return self.min;
        }
        let spread = (self.max - self.min + 1) as u64;
        self.min
            + ((index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20) as usize % spread as usize
    }
}

/// Counters every core adds to, for the live progress line.
#[derive(Default)]
struct Progress {
    ops: AtomicU64,
    bytes: AtomicU64,
    errors: AtomicU64,
}

/// What every connection task of one core shares.
struct Workload {
    target: Rc<Target>,
    bucket: String,
    mix: Mix,
    sizes: Sizes,
    body: Rc<Vec<u8>>,
    signed_payload: bool,
    verify: bool,
    keys: usize,
    sequential: bool,
    started: Instant,
    warmup_end: Instant,
    end: Instant,
    turn: Option<Turn>,
    /// With `--rate`: the time between one connection's requests.
    interval: Option<Duration>,
    ops_left: Option<std::cell::Cell<u64>>,
    stats: RefCell<Vec<OpStats>>,
    progress: Arc<Progress>,
    next_key: std::cell::Cell<usize>,
}

impl Workload {
    fn key(&self) -> usize {
        if self.sequential {
            let key = self.next_key.get();
            self.next_key.set((key + 1) % self.keys.max(1));
            key
        } else {
            fastrand::usize(..self.keys.max(1))
        }
    }

    fn take_op(&self) -> bool {
        match &self.ops_left {
            Some(left) => {
                let value = left.get();
                if value == 0 {
                    return false;
                }
                left.set(value - 1);
                true
            }
            None => Instant::now() < self.end,
        }
    }
}

/// One side's turns when two endpoints share one run: slices go A B B A, A B B A … from the run's
/// start, so each side goes first in every other pair and a drift within a group cancels.
#[derive(Clone, Copy)]
struct Turn {
    slice: Duration,
    /// 0 for the slices at positions 0 and 3 of each group of four, 1 for those at 1 and 2.
    side: usize,
}

impl Turn {
    const GROUP_SLICES: u32 = 4;

    fn side_of(slice_index: u64) -> usize {
        match slice_index % u64::from(Self::GROUP_SLICES) {
            0 | 3 => 0,
            _ => 1,
        }
    }

    /// Waits until a slice of this side has begun (at once if one is running).
    async fn wait(&self, start: Instant) {
        loop {
            let now = Instant::now();
            let index =
                (now.saturating_duration_since(start).as_nanos() / self.slice.as_nanos()) as u64;
            if Self::side_of(index) == self.side {
                return;
            }
            let next = (index + 1..)
                .find(|candidate| Self::side_of(*candidate) == self.side)
                .expect("every group of four has slices of both sides");
            let at = start + self.slice * u32::try_from(next).unwrap_or(u32::MAX);
            glommio::timer::sleep(at.saturating_duration_since(now)).await;
        }
    }
}

fn object_path(bucket: &str, index: usize) -> String {
    format!("/{bucket}/object-{index:08}")
}

/// One connection's requests until the run ends. `offset` staggers the connections' schedules
/// under `--rate` (this connection's share of one interval).
async fn worker(workload: Rc<Workload>, offset: Duration) -> Result<()> {
    let target = workload.target.clone();
    let mut connection = Connection::open(&target).await?;
    let mut scheduled = workload.started + offset;
    while workload.take_op() {
        if let Some(turn) = &workload.turn {
            turn.wait(workload.started).await;
            if Instant::now() >= workload.end {
                break;
            }
        }
        // Open loop: wait for this request's slot; a late one goes at once, and its latency
        // still counts from the slot.
        let started = match workload.interval {
            Some(interval) => {
                let now = Instant::now();
                if scheduled > now {
                    glommio::timer::sleep(scheduled - now).await;
                }
                let slot = scheduled;
                scheduled += interval;
                if slot >= workload.end {
                    break;
                }
                slot
            }
            None => Instant::now(),
        };
        let op = workload.mix.pick();
        let index = workload.key();
        let path = object_path(&workload.bucket, index);
        let size = workload.sizes.of_key(index);
        let result = match op {
            Op::Put => {
                let body = &workload.body[..size];
                let hash = if workload.signed_payload {
                    sigv4::sha256_hex(body)
                } else {
                    "UNSIGNED-PAYLOAD".to_string()
                };
                connection
                    .exchange(&target.head("PUT", &path, &hash, Some(size)), body, false)
                    .await
            }
            Op::Get if workload.verify => {
                connection
                    .exchange_checked(
                        &target.head("GET", &path, sigv4::EMPTY_SHA256_HEX, None),
                        &workload.body[..size],
                    )
                    .await
            }
            Op::Get => {
                connection
                    .exchange(
                        &target.head("GET", &path, sigv4::EMPTY_SHA256_HEX, None),
                        &[],
                        false,
                    )
                    .await
            }
            Op::Head => {
                connection
                    .exchange(
                        &target.head("HEAD", &path, sigv4::EMPTY_SHA256_HEX, None),
                        &[],
                        true,
                    )
                    .await
            }
            Op::Delete => {
                connection
                    .exchange(
                        &target.head("DELETE", &path, sigv4::EMPTY_SHA256_HEX, None),
                        &[],
                        false,
                    )
                    .await
            }
            Op::List => {
                let bucket_path = format!("/{}", workload.bucket);
                let head = target.head_with_query(
                    "GET",
                    &bucket_path,
                    "list-type=2&max-keys=100",
                    sigv4::EMPTY_SHA256_HEX,
                    None,
                );
                connection.exchange(&head, &[], false).await
            }
        };
        let elapsed = started.elapsed();
        let reconnect = result.is_err();
        if started >= workload.warmup_end {
            let mut stats = workload.stats.borrow_mut();
            let entry = &mut stats[Op::ALL.iter().position(|o| *o == op).unwrap()];
            match &result {
                Ok((status, length, _)) if *status < 300 => {
                    let bytes = if op == Op::Put { size as u64 } else { *length };
                    entry.record(elapsed, bytes);
                    workload.progress.ops.fetch_add(1, Ordering::Relaxed);
                    workload.progress.bytes.fetch_add(bytes, Ordering::Relaxed);
                }
                // Only a mix that deletes can make a prepared key vanish; then a read that
                // misses it is the workload's doing, not the server's. Anything else (a missing
                // bucket, keys never written) is an error.
                Ok((404, _, body))
                    if workload.mix.deletes()
                        && matches!(op, Op::Get | Op::Head)
                        && !body.contains("NoSuchBucket") =>
                {
                    let bytes = 0;
                    entry.record(elapsed, bytes);
                    workload.progress.ops.fetch_add(1, Ordering::Relaxed);
                    workload.progress.bytes.fetch_add(bytes, Ordering::Relaxed);
                }
                Ok((status, _, body)) => {
                    entry.error(format!("HTTP {status} {}", error_code(body)));
                    workload.progress.errors.fetch_add(1, Ordering::Relaxed);
                }
                Err(error) => {
                    let kind = if error.to_string().contains("body differs") {
                        "verify-mismatch"
                    } else {
                        "connection"
                    };
                    entry.error(kind.to_string());
                    workload.progress.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if reconnect {
            connection = Connection::open(&target).await?;
        }
    }
    Ok(())
}

/// Creates the bucket and, for reads, writes every key once; stops early with a clear message on
/// a wrong endpoint or wrong credentials.
fn prepare(
    args: &Args,
    target_parts: TargetParts,
    sizes: Sizes,
    body: Vec<u8>,
    write_keys: bool,
) -> Result<()> {
    let bucket = args.bucket.clone();
    let keys = args.keys;
    let handle = LocalExecutorBuilder::new(Placement::Unbound)
        .io_memory(64 << 10)
        .spawn(move || async move {
            let target = target_parts.build();
            let mut connection = Connection::open(&target)
                .await
                .with_context(|| format!("cannot connect to {}: is the endpoint right and the server up?", target.address))?;
            let (status, _, text) = connection.exchange(&target.head("PUT", &format!("/{bucket}"), sigv4::EMPTY_SHA256_HEX, None), &[], false).await?;
            if status >= 300 && !text.contains("BucketAlreadyOwnedByYou") && !text.contains("BucketAlreadyExists") {
                bail!("cannot create bucket {bucket}: HTTP {status} {} (wrong credentials or region?)", error_code(&text));
            }
            if write_keys {
                for index in 0..keys {
                    let size = sizes.of_key(index);
                    let head = target.head("PUT", &object_path(&bucket, index), "UNSIGNED-PAYLOAD", Some(size));
                    let (status, _, text) = connection.exchange(&head, &body[..size], false).await?;
                    if status >= 300 {
                        bail!("prepare PUT failed: HTTP {status} {}", error_code(&text));
                    }
                }
            }
            Ok(())
        })
        .map_err(|error| anyhow::anyhow!("start executor: {error}"))?;
    handle
        .join()
        .map_err(|error| anyhow::anyhow!("prepare: {error}"))?
}

/// Target fields that can cross to an executor thread.
#[derive(Clone)]
struct TargetParts {
    address: String,
    tls: Option<Arc<rustls::ClientConfig>>,
    access_key: String,
    region: String,
    signing_key: [u8; 32],
    date: String,
}

impl TargetParts {
    fn build(self) -> Target {
        Target {
            host: self.address.clone(),
            address: self.address,
            tls: self.tls.map(futures_rustls::TlsConnector::from),
            access_key: self.access_key,
            region: self.region,
            signing_key: self.signing_key,
            date: self.date,
        }
    }
}

/// Where one run goes.
#[derive(Clone)]
struct Endpoint {
    url: String,
    access_key: String,
    secret_key: String,
    /// Create the bucket and write the keys reads need before each run.
    prepare: bool,
    /// The server's processes, for its CPU time per operation.
    server_pid: Option<Vec<u32>>,
}

/// `--compare`'s slice when none is given. Whole runs in ABBA rounds put two identical servers
/// 0.92–1.09 apart on a shared VM, turns of 200 ms 0.96–1.04, and the median of five such
/// comparisons within 0.98–1.03 (BENCHMARKS.md, 2026-11-30 (night)); so a comparison takes turns
/// unless it cannot (`--rate`, `--ops`) or is told otherwise.
const SLICE_MS_DEFAULT: u64 = 200;

impl Args {
    /// The slice `--compare` takes turns in, in ms; 0 for whole runs one after the other.
    fn slice_ms(&self) -> u64 {
        self.slice_ms
            .unwrap_or(if self.rate.is_some() || self.ops.is_some() {
                0
            } else {
                SLICE_MS_DEFAULT
            })
    }
}

fn main() -> Result<()> {
    let args: Args = argh::from_env();
    if let Some(rate) = args.rate {
        if !(rate.is_finite() && rate > 0.0) {
            bail!("--rate must be a positive number of operations per second");
        }
        if args.slice_ms() > 0 {
            bail!("--rate and --slice-ms cannot be combined: a side's schedule would stop for the other's turns");
        }
    }
    if args.op == "multipart" {
        return multipart::run_multipart(&args);
    }
    let primary = Endpoint {
        url: args.endpoint.clone(),
        access_key: args.access_key.clone(),
        secret_key: args.secret_key.clone(),
        prepare: true,
        server_pid: args.server_pid.clone(),
    };
    let Some(other) = args.compare.clone() else {
        let report = run_workload(&args, &primary)?;
        print!("{}", report.table());
        if let Some(path) = &args.json {
            std::fs::write(path, report.json()).with_context(|| format!("write {path}"))?;
        }
        if let Some(path) = &args.plot {
            std::fs::write(path, report::svg(&[&report]))
                .with_context(|| format!("write {path}"))?;
        }
        return Ok(());
    };
    let secondary = Endpoint {
        url: other,
        access_key: args
            .compare_access_key
            .clone()
            .unwrap_or_else(|| args.access_key.clone()),
        secret_key: args
            .compare_secret_key
            .clone()
            .unwrap_or_else(|| args.secret_key.clone()),
        prepare: !args.compare_no_prepare,
        server_pid: args.compare_server_pid.clone(),
    };
    let mut first = Vec::new();
    let mut second = Vec::new();
    if args.slice_ms() > 0 {
        if args.ops.is_some() {
            bail!("--slice-ms runs for --duration; it cannot be combined with --ops");
        }
        for round in 0..args.rounds.max(1) {
            let [a, b] = run_interleaved(&args, [&primary, &secondary], round % 2)?;
            for report in [&a, &b] {
                eprintln!(
                    "round {} {}: {}",
                    round + 1,
                    report.endpoint,
                    report.summary_line()
                );
            }
            first.push(a);
            second.push(b);
        }
    }
    for round in 0..args.rounds.max(1) * usize::from(args.slice_ms() == 0) {
        // ABBA: a run that follows the other side's run inherits its leftovers (and any drift of
        // the machine over the whole series), so each side goes first in every other round.
        let order = if round % 2 == 0 {
            [(&primary, &mut first), (&secondary, &mut second)]
        } else {
            [(&secondary, &mut second), (&primary, &mut first)]
        };
        for (endpoint, results) in order {
            let prepared = prepare_endpoint(&args, endpoint)?;
            // After the prepare phase, so its writes settle before the measured run.
            std::thread::sleep(Duration::from_secs(args.settle));
            let timing = Timing::alone(&args);
            let report = finish_run(start_run(&args, endpoint, prepared, timing, None)?)?;
            eprintln!(
                "round {} {}: {}",
                round + 1,
                endpoint.url,
                report.summary_line()
            );
            results.push(report);
        }
    }
    let comparison = report::compare(&first, &second);
    print!("{comparison}");
    if args.slice_ms() > 0 {
        warn_if_slices_too_short(&first, &second, args.slice_ms());
    }
    if let Some(path) = &args.json {
        let merged = [report::merge(&first), report::merge(&second)];
        let text = format!(
            "[{},{}]\n",
            merged[0].json().trim_end(),
            merged[1].json().trim_end()
        );
        std::fs::write(path, text).with_context(|| format!("write {path}"))?;
    }
    if let Some(path) = &args.plot {
        let merged = [report::merge(&first), report::merge(&second)];
        std::fs::write(path, report::svg(&[&merged[0], &merged[1]]))
            .with_context(|| format!("write {path}"))?;
    }
    Ok(())
}

/// Prepares and runs the workload once against `endpoint`.
fn run_workload(args: &Args, endpoint: &Endpoint) -> Result<Report> {
    let prepared = prepare_endpoint(args, endpoint)?;
    let timing = Timing::alone(args);
    finish_run(start_run(args, endpoint, prepared, timing, None)?)
}

/// A request that outlasts its slice ends in the other side's turn, and a side whose requests
/// take about a slice starts as many per slice whatever its speed; both blur the comparison. Says
/// so when a median latency exceeds a tenth of a slice.
fn warn_if_slices_too_short(first: &[Report], second: &[Report], slice_ms: u64) {
    let slowest_p50_ms = first
        .iter()
        .chain(second)
        .flat_map(|report| report.ops.iter().filter(|op| op.count > 0))
        .map(|op| op.latency_micros.value_at_quantile(0.5) as f64 / 1000.0)
        .fold(0.0, f64::max);
    if slowest_p50_ms * 10.0 > slice_ms as f64 {
        println!(
            "warning: a median latency of {slowest_p50_ms:.1} ms is over a tenth of --slice-ms {slice_ms}: \
             use slices of at least {} ms for this workload",
            (slowest_p50_ms * 20.0).ceil() as u64
        );
    }
}

/// Prepares both endpoints, then runs them in one run taking turns (`--slice-ms`); `first_side`
/// is the side (0 or 1) whose slices open each group, so rounds can alternate it.
fn run_interleaved(
    args: &Args,
    endpoints: [&Endpoint; 2],
    first_side: usize,
) -> Result<[Report; 2]> {
    let order = if first_side == 0 { [0, 1] } else { [1, 0] };
    let mut prepared = [None, None];
    for index in order {
        prepared[index] = Some(prepare_endpoint(args, endpoints[index])?);
    }
    std::thread::sleep(Duration::from_secs(args.settle));
    let timing = Timing::interleaved(args);
    let slice = Duration::from_millis(args.slice_ms());
    let [first, second] = prepared.map(|prepared| prepared.expect("both endpoints prepared"));
    let running = [
        start_run(
            args,
            endpoints[0],
            first,
            timing,
            Some(Turn {
                slice,
                side: first_side,
            }),
        )?,
        start_run(
            args,
            endpoints[1],
            second,
            timing,
            Some(Turn {
                slice,
                side: 1 - first_side,
            }),
        )?,
    ];
    let [a, b] = running;
    let (a, b) = (finish_run(a), finish_run(b));
    let (mut a, mut b) = (a?, b?);
    // Each side had half the measured phase.
    let half = (timing.end - timing.warmup_end).as_secs_f64() / 2.0;
    a.seconds = half;
    b.seconds = half;
    Ok([a, b])
}

/// What a run needs once its endpoint is prepared.
struct Prepared {
    parts: TargetParts,
    body: Vec<u8>,
    mix: Mix,
    sizes: Sizes,
}

/// Creates the bucket and writes the keys a read workload needs.
fn prepare_endpoint(args: &Args, endpoint: &Endpoint) -> Result<Prepared> {
    let mix = Mix::parse(&args.op)?;
    let sizes = Sizes::parse(&args.size)?;
    let (address, tls) = client::endpoint_address(&endpoint.url, args.tls_ca.as_deref())?;
    let date = amz_date_now()[..8].to_string();
    let parts = TargetParts {
        address,
        tls,
        access_key: endpoint.access_key.clone(),
        region: args.region.clone(),
        signing_key: sigv4::derive_signing_key(&endpoint.secret_key, &date, &args.region, "s3"),
        date,
    };
    // One pre-filled buffer, as large as the largest object; every request sends a prefix of it.
    let body: Vec<u8> = (0..sizes.max)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761) as u8)
        .collect();
    if endpoint.prepare {
        prepare(
            args,
            parts.clone(),
            sizes,
            body.clone(),
            mix.reads() || args.verify,
        )?;
    }
    Ok(Prepared {
        parts,
        body,
        mix,
        sizes,
    })
}

/// When a run starts, when its measured phase starts, and when it ends.
#[derive(Clone, Copy)]
struct Timing {
    started: Instant,
    warmup_end: Instant,
    end: Instant,
}

impl Timing {
    /// One endpoint alone: `--warmup`, then `--duration` (or until `--ops` are done).
    fn alone(args: &Args) -> Timing {
        let started = Instant::now();
        let warmup_end =
            started + Duration::from_secs(if args.ops.is_some() { 0 } else { args.warmup });
        Timing {
            started,
            warmup_end,
            end: warmup_end + Duration::from_secs(args.duration),
        }
    }

    /// Two endpoints taking turns: warm-up and measured phase are whole groups of slices, and the
    /// measured phase is twice `--duration`, so each side gets `--duration`.
    fn interleaved(args: &Args) -> Timing {
        let group = Duration::from_millis(args.slice_ms()) * Turn::GROUP_SLICES;
        let groups = |seconds: u64| {
            let wanted = Duration::from_secs(seconds);
            let count = wanted.as_nanos().div_ceil(group.as_nanos());
            group * u32::try_from(count).unwrap_or(u32::MAX)
        };
        let started = Instant::now();
        let warmup_end = started + groups(args.warmup);
        Timing {
            started,
            warmup_end,
            end: warmup_end + groups(args.duration * 2),
        }
    }
}

/// A run in progress: its executors, progress line and server CPU reading.
struct Running {
    url: String,
    args: Args,
    timing: Timing,
    handles: Vec<glommio::ExecutorJoinHandle<Result<Vec<OpStats>>>>,
    done: Arc<AtomicBool>,
    reporter: std::thread::JoinHandle<()>,
    server_pid: Option<Vec<u32>>,
    cpu_at_start: Option<std::thread::JoinHandle<Result<f64>>>,
}

/// Starts the workload's executors against a prepared endpoint.
fn start_run(
    args: &Args,
    endpoint: &Endpoint,
    prepared: Prepared,
    timing: Timing,
    turn: Option<Turn>,
) -> Result<Running> {
    let Prepared {
        parts,
        body,
        mix,
        sizes,
    } = prepared;
    let Timing {
        started,
        warmup_end,
        end,
    } = timing;
    let progress = Arc::new(Progress::default());
    let done = Arc::new(AtomicBool::new(false));
    let cores = args.cores.max(1);
    // The server's CPU clock is read when the measured phase starts and after it ends.
    let cpu_at_start = endpoint.server_pid.clone().map(|pids| {
        std::thread::spawn(move || {
            std::thread::sleep(warmup_end.saturating_duration_since(Instant::now()));
            server_cpu::cpu_seconds(&pids)
        })
    });
    let mut handles = Vec::new();
    for core in 0..cores {
        let connections = args.connections / cores + usize::from(core < args.connections % cores);
        // Connections before this core's, so each connection's --rate slot is its own.
        let first_connection =
            core * (args.connections / cores) + core.min(args.connections % cores);
        let interval = args
            .rate
            .map(|rate| Duration::from_secs_f64(args.connections as f64 / rate));
        let ops_share = args
            .ops
            .map(|ops| ops / cores as u64 + u64::from((core as u64) < ops % cores as u64));
        let (parts, body, mix, progress, bucket) = (
            parts.clone(),
            body.clone(),
            mix.clone(),
            progress.clone(),
            args.bucket.clone(),
        );
        let connections_total = args.connections.max(1);
        let (signed_payload, verify, keys, sequential) = (
            args.signed_payload,
            args.verify,
            args.keys,
            args.key_order == "sequential",
        );
        handles.push(
            LocalExecutorBuilder::new(Placement::Unbound)
                .io_memory(64 << 10)
                .spawn(move || async move {
                    let workload = Rc::new(Workload {
                        target: Rc::new(parts.build()),
                        bucket,
                        mix,
                        sizes,
                        body: Rc::new(body),
                        signed_payload,
                        verify,
                        keys,
                        sequential,
                        started,
                        warmup_end,
                        end,
                        turn,
                        interval,
                        ops_left: ops_share.map(std::cell::Cell::new),
                        stats: RefCell::new(
                            Op::ALL.iter().map(|op| OpStats::new(op.name())).collect(),
                        ),
                        progress,
                        next_key: std::cell::Cell::new(core * 7919),
                    });
                    let tasks: Vec<_> = (0..connections)
                        .map(|index| {
                            let offset = interval.map_or(Duration::ZERO, |interval| {
                                interval.mul_f64(
                                    (first_connection + index) as f64 / connections_total as f64,
                                )
                            });
                            glommio::spawn_local(worker(workload.clone(), offset))
                        })
                        .collect();
                    for task in tasks {
                        task.await?;
                    }
                    let stats = workload.stats.borrow().clone();
                    Ok::<_, anyhow::Error>(stats)
                })
                .map_err(|error| anyhow::anyhow!("start executor: {error}"))?,
        );
    }
    let reporter = {
        let (progress, done) = (progress.clone(), done.clone());
        std::thread::spawn(move || {
            report::live_progress(
                &progress.ops,
                &progress.bytes,
                &progress.errors,
                &done,
                started,
                std::io::stderr().is_terminal(),
            )
        })
    };
    Ok(Running {
        url: endpoint.url.clone(),
        args: args.clone(),
        timing,
        handles,
        done,
        reporter,
        server_pid: endpoint.server_pid.clone(),
        cpu_at_start,
    })
}

/// Waits for a run's executors and sums what they measured.
fn finish_run(running: Running) -> Result<Report> {
    let Running {
        url,
        args,
        timing,
        handles,
        done,
        reporter,
        server_pid,
        cpu_at_start,
    } = running;
    let mut merged: Vec<OpStats> = Op::ALL.iter().map(|op| OpStats::new(op.name())).collect();
    let mut failure = None;
    for handle in handles {
        match handle
            .join()
            .map_err(|error| anyhow::anyhow!("executor: {error}"))
            .and_then(|result| result)
        {
            Ok(stats) => {
                for (total, part) in merged.iter_mut().zip(stats) {
                    total.merge(part);
                }
            }
            Err(error) => failure = Some(error),
        }
    }
    done.store(true, Ordering::SeqCst);
    let _ = reporter.join();
    if let Some(error) = failure {
        return Err(error);
    }
    let server_cpu_seconds = match (cpu_at_start, &server_pid) {
        (Some(start), Some(pids)) => {
            let start = start
                .join()
                .map_err(|_| anyhow::anyhow!("server CPU reader panicked"))??;
            Some(server_cpu::cpu_seconds(pids)? - start)
        }
        _ => None,
    };
    let seconds = (Instant::now() - timing.warmup_end.max(timing.started))
        .as_secs_f64()
        .max(1e-9);
    let report = Report {
        endpoint: url.clone(),
        workload: args.op.clone(),
        size: args.size.clone(),
        connections: args.connections,
        seconds,
        ops: merged,
        server_cpu_seconds,
    };
    if report.ops.iter().all(|op| op.count == 0) {
        bail!("no request succeeded against {url}");
    }
    Ok(report)
}
