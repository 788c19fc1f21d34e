//! `loadtest`: ringstore's SigV4 S3 load generator. Thread-per-core on glommio like the server:
//! each connection is one task that signs every request itself, reuses one pre-filled body
//! buffer (no per-request body allocation) and records latency per operation in hdrhistograms.

mod client;
mod multipart;
mod report;

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
    /// second endpoint: run the same workload against both, alternating rounds (A B A B …), and print ratios
    #[argh(option)]
    compare: Option<String>,
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
    /// rounds per endpoint with --compare (default 3)
    #[argh(option, default = "3")]
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
    warmup_end: Instant,
    end: Instant,
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

fn object_path(bucket: &str, index: usize) -> String {
    format!("/{bucket}/object-{index:08}")
}

async fn worker(workload: Rc<Workload>) -> Result<()> {
    let target = workload.target.clone();
    let mut connection = Connection::open(&target).await?;
    while workload.take_op() {
        let op = workload.mix.pick();
        let index = workload.key();
        let path = object_path(&workload.bucket, index);
        let size = workload.sizes.of_key(index);
        let started = Instant::now();
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
}

fn main() -> Result<()> {
    let args: Args = argh::from_env();
    if args.op == "multipart" {
        return multipart::run_multipart(&args);
    }
    let primary = Endpoint {
        url: args.endpoint.clone(),
        access_key: args.access_key.clone(),
        secret_key: args.secret_key.clone(),
        prepare: true,
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
    };
    let mut first = Vec::new();
    let mut second = Vec::new();
    for round in 0..args.rounds.max(1) {
        for (endpoint, results) in [(&primary, &mut first), (&secondary, &mut second)] {
            let report = run_workload(&args, endpoint)?;
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

    let progress = Arc::new(Progress::default());
    let done = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let warmup_end =
        started + Duration::from_secs(if args.ops.is_some() { 0 } else { args.warmup });
    let end = warmup_end + Duration::from_secs(args.duration);
    let cores = args.cores.max(1);
    let mut handles = Vec::new();
    for core in 0..cores {
        let connections = args.connections / cores + usize::from(core < args.connections % cores);
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
                        warmup_end,
                        end,
                        ops_left: ops_share.map(std::cell::Cell::new),
                        stats: RefCell::new(
                            Op::ALL.iter().map(|op| OpStats::new(op.name())).collect(),
                        ),
                        progress,
                        next_key: std::cell::Cell::new(core * 7919),
                    });
                    let tasks: Vec<_> = (0..connections)
                        .map(|_| glommio::spawn_local(worker(workload.clone())))
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
    let seconds = (Instant::now() - warmup_end.max(started))
        .as_secs_f64()
        .max(1e-9);
    let report = Report {
        endpoint: endpoint.url.clone(),
        workload: args.op.clone(),
        size: args.size.clone(),
        connections: args.connections,
        seconds,
        ops: merged,
    };
    if report.ops.iter().all(|op| op.count == 0) {
        bail!("no request succeeded against {}", endpoint.url);
    }
    Ok(report)
}
