//! The metadata layer's cost of a 4 KiB inline overwrite (issue 20's versioned-overwrite
//! figure without HTTP, the data path or the load generator): PUTs over 1,000 keys, 64 to a
//! transaction (a group commit's worth at 64 connections), into an unversioned bucket and then
//! into an Enabled one, each in a database of its own. Prints per round µs per PUT (wall, with
//! the WAL's fsyncs, and this thread's CPU) and bytes written and read per PUT, then the medians
//! and the versioned/unversioned rate. On a shared host the µs figures swing from run to run;
//! bytes written are exact. Run with `cargo bench --bench versioned_overwrite`.

mod common;

use std::time::Instant;

use ringstore::meta::{
    CreateBucket, MetaStore, ObjectBody, PutBucketVersioning, PutCondition, PutObject,
    VersioningStatus,
};
use ringstore::object_bytes::InlineBytes;
use ringstore::storage::FileId;

const KEY_COUNT: usize = 1_000;
/// PUTs per transaction.
const BATCH: usize = 64;
const PUTS_PER_ROUND: usize = 32_768;
const ROUNDS: usize = 5;

/// What one round cost, per PUT.
struct RoundCost {
    wall_us: f64,
    cpu_us: f64,
    written_bytes: f64,
    read_bytes: f64,
}

/// This thread's CPU time so far (user + system), in µs, from `/proc/thread-self/stat`.
fn thread_cpu_us() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    // Fields after the command's closing parenthesis; utime and stime are the 14th and 15th
    // of the line, in clock ticks (100 a second on Linux).
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks * 1e6 / 100.0
}

/// Bytes this process has written and read through system calls (`/proc/self/io`).
fn io_bytes() -> (f64, f64) {
    let io = std::fs::read_to_string("/proc/self/io").unwrap();
    let field = |name: &str| -> f64 {
        io.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|value| value.trim().parse().ok())
            .unwrap()
    };
    (field("wchar:"), field("rchar:"))
}

/// A store at `path` holding bucket "bench", versioning Enabled when `versioned`.
fn store(path: &std::path::Path, versioned: bool) -> MetaStore {
    let mut store = MetaStore::open(path).unwrap();
    store.apply(&CreateBucket(common::bucket("bench"))).unwrap();
    if versioned {
        store
            .apply(&PutBucketVersioning {
                bucket: "bench".into(),
                status: VersioningStatus::Enabled,
            })
            .unwrap();
    }
    store
}

/// Runs `count` PUTs starting at PUT number `first`.
fn put_round(store: &mut MetaStore, first: usize, count: usize) -> RoundCost {
    let bytes = InlineBytes::new(vec![7u8; 4096]);
    let (started, cpu_started, io_started) = (Instant::now(), thread_cpu_us(), io_bytes());
    for batch_start in (first..first + count).step_by(BATCH) {
        let puts: Vec<PutObject> = (batch_start..batch_start + BATCH)
            .map(|index| {
                let key = format!("key-{:04}", (index * 7919) % KEY_COUNT);
                let record = ringstore::meta::ObjectRecord {
                    body: ObjectBody::Inline(bytes.clone()),
                    size_bytes: 4096,
                    etag: format!("{index:032x}"),
                    last_modified_ms: 1_800_000_000_000 + index as i64 / 16,
                    ..common::object(key, FileId::random(), 4096)
                };
                PutObject(record, PutCondition::None)
            })
            .collect();
        for reply in store.apply_all(&puts) {
            reply.unwrap();
        }
    }
    let io_ended = io_bytes();
    let per_put = count as f64;
    RoundCost {
        wall_us: started.elapsed().as_secs_f64() * 1e6 / per_put,
        cpu_us: (thread_cpu_us() - cpu_started) / per_put,
        written_bytes: (io_ended.0 - io_started.0) / per_put,
        read_bytes: (io_ended.1 - io_started.1) / per_put,
    }
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Runs `ROUNDS` rounds after a warm-up half round; prints each and returns the medians.
fn measure(label: &str, versioned: bool) -> RoundCost {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store(&dir.path().join("meta.sqlite"), versioned);
    put_round(&mut store, 0, PUTS_PER_ROUND / 2);
    let rounds: Vec<RoundCost> = (0..ROUNDS)
        .map(|round| {
            let cost = put_round(
                &mut store,
                PUTS_PER_ROUND / 2 + round * PUTS_PER_ROUND,
                PUTS_PER_ROUND,
            );
            println!(
                "{label} round {round}: {:.1} µs/PUT wall, {:.1} CPU, {:.0} B written, {:.0} B read",
                cost.wall_us, cost.cpu_us, cost.written_bytes, cost.read_bytes
            );
            cost
        })
        .collect();
    let of = |pick: fn(&RoundCost) -> f64| median(rounds.iter().map(pick).collect());
    RoundCost {
        wall_us: of(|cost| cost.wall_us),
        cpu_us: of(|cost| cost.cpu_us),
        written_bytes: of(|cost| cost.written_bytes),
        read_bytes: of(|cost| cost.read_bytes),
    }
}

fn main() {
    let plain = measure("unversioned", false);
    let versioned = measure("versioned", true);
    println!(
        "4 KiB inline overwrite over {KEY_COUNT} keys, {BATCH} per commit, medians of {ROUNDS} \
         rounds of {PUTS_PER_ROUND}: unversioned {:.1} µs/PUT ({:.1} CPU, {:.0} B written), \
         versioned {:.1} µs/PUT ({:.1} CPU, {:.0} B written); versioned/unversioned rate by \
         wall time {:.2}, by CPU {:.2}",
        plain.wall_us,
        plain.cpu_us,
        plain.written_bytes,
        versioned.wall_us,
        versioned.cpu_us,
        versioned.written_bytes,
        plain.wall_us / versioned.wall_us,
        plain.cpu_us / versioned.cpu_us,
    );
}
