//! Listing and batch-delete cost on a 1,000,000-key bucket, through the metadata layer directly
//! (pages read on a reader's connection, as the server reads them): ListObjectsV2-sized pages
//! (1,000 keys) at the first and the last page, delimiter listings (997 common prefixes in one
//! page, also with a commit before each run; pages of 1,000 common prefixes, first and last),
//! and a 1,000-key DeleteBatch. Prints medians (of 201 runs of each listing, of 21
//! DeleteObjects); run with `cargo bench --bench listing` (`RINGSTORE_BENCH_KEYS=10000000` for
//! ten million keys).

mod common;

/// The server binary's allocator, so a page's allocations cost what they cost the server.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use ringstore::meta::{
    CreateBucket, DeleteBatch, ListObjects, ListQuery, MetaStore, PutCondition, PutObject,
};
use ringstore::storage::FileId;

/// Keys in the bucket unless `RINGSTORE_BENCH_KEYS` says otherwise.
const KEY_COUNT_DEFAULT: usize = 1_000_000;
/// One key in this many is under `users/`, ten keys per common prefix (the rest under three
/// top-level prefixes of 997 each).
const USERS_EVERY: usize = 10;
const KEYS_PER_USER: usize = 10;
const FILL_BATCH: usize = 50_000;
/// Timed runs of each listing: enough that a burst of the host's noise moves the median little.
const ROUNDS: usize = 201;
/// DeleteObjects batches (each deletes 1,000 more keys).
const DELETE_ROUNDS: usize = 21;

fn key(index: usize) -> String {
    if index % USERS_EVERY == USERS_EVERY - 1 {
        // Many small "directories": pages of 1,000 common prefixes.
        return format!(
            "users/{:07}/object-{index:08}",
            index / (USERS_EVERY * KEYS_PER_USER)
        );
    }
    // Three top-level prefixes, as a real bucket would have.
    format!(
        "{}/{:03}/object-{index:08}",
        ["logs", "photos", "tmp"][index % 3],
        index % 997
    )
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// One page, read as the server reads it: on the metadata reader's connection.
fn list(reader: &mut MetaStore, query: &ListQuery) -> usize {
    let listing = reader.read(ListObjects(query.clone())).unwrap();
    listing.objects.len() + listing.common_prefixes.len()
}

fn main() {
    let key_count: usize = std::env::var("RINGSTORE_BENCH_KEYS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(KEY_COUNT_DEFAULT);
    let dir = tempfile::tempdir().unwrap();
    let mut store = MetaStore::open(&dir.path().join("meta.sqlite")).unwrap();
    let bucket = CreateBucket(common::bucket("bench"));
    store.apply(&bucket).unwrap();
    let started = Instant::now();
    let mut keys: Vec<String> = (0..key_count).map(key).collect();
    for chunk in keys.chunks(FILL_BATCH) {
        let puts: Vec<PutObject> = chunk
            .iter()
            .map(|key| {
                PutObject(
                    common::object(key.clone(), FileId::random(), 4096),
                    PutCondition::None,
                )
            })
            .collect();
        for reply in store.apply_all(&puts) {
            reply.unwrap();
        }
    }
    // The database and its WAL: what a row costs on disk (a file-backed object with an ETag, a
    // 32-hex file id and ~27-byte key; real rows add content types and user metadata).
    let bytes_on_disk: u64 = ["meta.sqlite", "meta.sqlite-wal"]
        .iter()
        .filter_map(|name| std::fs::metadata(dir.path().join(name)).ok())
        .map(|file| file.len())
        .sum();
    println!(
        "filled {key_count} keys in {:.1} s; metadata on disk {:.0} MB, {} bytes per object",
        started.elapsed().as_secs_f64(),
        bytes_on_disk as f64 / 1e6,
        bytes_on_disk / key_count as u64
    );
    keys.sort();
    let page = |after: Option<String>| ListQuery {
        bucket: "bench".into(),
        prefix: String::new(),
        delimiter: None,
        after,
        max_keys: 1000,
    };
    // Listings go through a reader's connection, as the server's do (its page cache is the
    // reader's); the DeleteObjects batches through the writer's.
    let mut reader = MetaStore::open_reader(&dir.path().join("meta.sqlite")).unwrap();
    let time = |reader: &mut MetaStore, query: &ListQuery| {
        let samples: Vec<Duration> = (0..ROUNDS)
            .map(|_| {
                let started = Instant::now();
                assert!(list(reader, query) > 0);
                started.elapsed()
            })
            .collect();
        median(samples)
    };
    let first = time(&mut reader, &page(None));
    let last = time(
        &mut reader,
        &page(Some(keys[key_count.saturating_sub(1001)].clone())),
    );
    let delimiter = time(
        &mut reader,
        &ListQuery {
            bucket: "bench".into(),
            prefix: String::new(),
            delimiter: Some("/".into()),
            after: None,
            max_keys: 1000,
        },
    );
    let photos = ListQuery {
        bucket: "bench".into(),
        prefix: "photos/".into(),
        delimiter: Some("/".into()),
        after: None,
        max_keys: 1000,
    };
    let nested = time(&mut reader, &photos);
    // The same page with one PutObject committed before each run: in WAL mode a commit by
    // another connection empties a reader's whole page cache at its next read, so under writes
    // every listing starts from the file (through the OS page cache).
    let nested_after_commit = median(
        (0..ROUNDS)
            .map(|round| {
                let put = PutObject(
                    common::object(format!("zzz/{round}"), FileId::random(), 1),
                    PutCondition::None,
                );
                store.apply(&put).unwrap();
                let started = Instant::now();
                assert!(list(&mut reader, &photos) > 0);
                started.elapsed()
            })
            .collect(),
    );
    let users = |after: Option<String>| ListQuery {
        bucket: "bench".into(),
        prefix: "users/".into(),
        delimiter: Some("/".into()),
        after,
        max_keys: 1000,
    };
    let user_prefixes = key_count / (USERS_EVERY * KEYS_PER_USER);
    let users_first = time(&mut reader, &users(None));
    let users_last = time(
        &mut reader,
        &users(Some(format!(
            "users/{:07}/",
            user_prefixes.saturating_sub(1001)
        ))),
    );
    println!(
        "ListObjectsV2 page of 1000, first page:        median {:.2} ms",
        first.as_secs_f64() * 1000.0
    );
    println!(
        "ListObjectsV2 page of 1000, last page:         median {:.2} ms (last/first {:.2})",
        last.as_secs_f64() * 1000.0,
        last.as_secs_f64() / first.as_secs_f64()
    );
    println!(
        "delimiter '/' at the top (4 prefixes):          median {:.2} ms",
        delimiter.as_secs_f64() * 1000.0
    );
    println!(
        "prefix photos/ delimiter '/' (997 prefixes):   median {:.2} ms",
        nested.as_secs_f64() * 1000.0
    );
    println!(
        "the same, a commit before each run:            median {:.2} ms",
        nested_after_commit.as_secs_f64() * 1000.0
    );
    println!(
        "prefix users/ delimiter '/' ({user_prefixes} prefixes), page of 1000 prefixes, first: \
         median {:.2} ms, last: median {:.2} ms",
        users_first.as_secs_f64() * 1000.0,
        users_last.as_secs_f64() * 1000.0
    );
    let mut deletes = Vec::new();
    for round in 0..DELETE_ROUNDS {
        let batch: Vec<String> = keys[round * 1000..(round + 1) * 1000].to_vec();
        let delete = DeleteBatch {
            bucket: "bench".into(),
            keys: batch,
            versions: Vec::new(),
            conditions: Vec::new(),
            requester: "o".into(),
            bypass_governance: false,
        };
        let started = Instant::now();
        assert_eq!(store.apply(&delete).unwrap().files.len(), 1000);
        deletes.push(started.elapsed());
    }
    println!(
        "DeleteObjects of 1000 keys (one transaction):  median {:.2} ms",
        median(deletes).as_secs_f64() * 1000.0
    );
}
