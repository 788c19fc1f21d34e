//! Versioned listing cost (issue 20, item 5), through the metadata layer directly: ListObjectsV2
//! pages of a versioning-enabled bucket holding 1,000,000 versions over 100,000 keys (10 per key,
//! one key in ten hidden by a delete marker) against an unversioned bucket of 100,000 keys; a
//! ListObjectVersions page; a DeleteObjects of 1,000 versions named by id. Prints medians; run
//! with `cargo bench --bench versions`.

mod common;

use std::time::{Duration, Instant};

use ringstore::meta::{
    CreateBucket, DeleteBatch, DeleteCondition, DeleteObject, ListObjectVersions, ListObjects,
    ListQuery, MetaStore, PutBucketVersioning, PutCondition, PutObject, VersionSelector,
    VersioningStatus, VersionsQuery,
};
use ringstore::storage::FileId;

const KEY_COUNT: usize = 100_000;
const VERSIONS_PER_KEY: usize = 10;
/// One key in this many gets a delete marker as its newest version.
const MARKER_EVERY: usize = 10;
const ROUNDS: usize = 21;

fn key(index: usize) -> String {
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

fn in_bucket(bucket: &str, key: String) -> ringstore::meta::ObjectRecord {
    ringstore::meta::ObjectRecord {
        bucket: bucket.into(),
        ..common::object(key, FileId::random(), 4096)
    }
}

fn create(store: &mut MetaStore, name: &str) {
    let bucket = CreateBucket(common::bucket(name));
    store.apply(&bucket).unwrap();
}

fn fill(store: &mut MetaStore, bucket: &str, rounds: usize) {
    for _ in 0..rounds {
        for chunk in (0..KEY_COUNT).collect::<Vec<_>>().chunks(20_000) {
            let puts: Vec<PutObject> = chunk
                .iter()
                .map(|index| PutObject(in_bucket(bucket, key(*index)), PutCondition::None))
                .collect();
            for reply in store.apply_all(&puts) {
                reply.unwrap();
            }
        }
    }
}

fn time(samples: usize, mut run: impl FnMut()) -> Duration {
    median(
        (0..samples)
            .map(|_| {
                let started = Instant::now();
                run();
                started.elapsed()
            })
            .collect(),
    )
}

fn page(bucket: &str, delimiter: Option<&str>, after: Option<String>) -> ListQuery {
    ListQuery {
        bucket: bucket.into(),
        prefix: String::new(),
        delimiter: delimiter.map(str::to_string),
        after,
        max_keys: 1000,
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = MetaStore::open(&dir.path().join("meta.sqlite")).unwrap();
    create(&mut store, "plain");
    create(&mut store, "versioned");
    let started = Instant::now();
    fill(&mut store, "plain", 1);
    store
        .apply(&PutBucketVersioning {
            bucket: "versioned".into(),
            status: VersioningStatus::Enabled,
        })
        .unwrap();
    fill(&mut store, "versioned", VERSIONS_PER_KEY);
    let markers: Vec<DeleteObject> = (0..KEY_COUNT)
        .step_by(MARKER_EVERY)
        .map(|index| DeleteObject {
            bucket: "versioned".into(),
            key: key(index),
            version: None,
            condition: DeleteCondition::default(),
            requester: "o".into(),
            bypass_governance: false,
        })
        .collect();
    for reply in store.apply_all(&markers) {
        assert!(reply.unwrap().deleted.delete_marker);
    }
    println!(
        "filled {KEY_COUNT} keys unversioned and {} versions + {} markers in {:.1} s",
        KEY_COUNT * VERSIONS_PER_KEY,
        KEY_COUNT / MARKER_EVERY,
        started.elapsed().as_secs_f64()
    );
    let mut keys: Vec<String> = (0..KEY_COUNT).map(key).collect();
    keys.sort();
    let middle = Some(keys[KEY_COUNT / 2].clone());
    for (label, delimiter, after) in [
        ("first page", None, None),
        ("middle page", None, middle.clone()),
        ("delimiter '/'", Some("/"), None),
    ] {
        let mut medians = Vec::new();
        for bucket in ["plain", "versioned"] {
            let query = page(bucket, delimiter, after.clone());
            medians.push(time(ROUNDS, || {
                let listing = store.apply(&ListObjects(query.clone())).unwrap();
                assert!(!listing.objects.is_empty() || !listing.common_prefixes.is_empty());
            }));
        }
        println!(
            "ListObjectsV2 {label:<14} of 1000: unversioned {:.2} ms, versioned {:.2} ms \
             (versioned/unversioned {:.2})",
            medians[0].as_secs_f64() * 1000.0,
            medians[1].as_secs_f64() * 1000.0,
            medians[1].as_secs_f64() / medians[0].as_secs_f64()
        );
    }
    let versions_query = VersionsQuery {
        bucket: "versioned".into(),
        prefix: String::new(),
        delimiter: None,
        key_marker: middle,
        version_id_marker: None,
        max_keys: 1000,
    };
    let versions_page = time(ROUNDS, || {
        let page = store
            .apply(&ListObjectVersions(versions_query.clone()))
            .unwrap();
        assert_eq!(page.entries.len(), 1000);
    });
    println!(
        "ListObjectVersions page of 1000 (middle):      median {:.2} ms",
        versions_page.as_secs_f64() * 1000.0
    );
    // DeleteObjects naming 1,000 noncurrent versions by id (100 keys x 10 versions per round).
    let mut deletes = Vec::new();
    for round in 0..ROUNDS {
        let keys_of_round = &keys[round * 100..(round + 1) * 100];
        let page = store
            .apply(&ListObjectVersions(VersionsQuery {
                bucket: "versioned".into(),
                prefix: String::new(),
                delimiter: None,
                key_marker: (round > 0).then(|| keys[round * 100 - 1].clone()),
                version_id_marker: None,
                max_keys: 1000,
            }))
            .unwrap();
        let chosen: Vec<_> = page
            .entries
            .iter()
            .filter(|entry| keys_of_round.contains(&entry.key))
            .take(1000)
            .collect();
        let delete = DeleteBatch {
            bucket: "versioned".into(),
            keys: chosen.iter().map(|entry| entry.key.clone()).collect(),
            versions: chosen
                .iter()
                .map(|entry| {
                    Some(
                        VersionSelector::parse(entry.version_id.as_deref().unwrap_or("null"))
                            .unwrap(),
                    )
                })
                .collect(),
            conditions: Vec::new(),
            requester: "o".into(),
            bypass_governance: false,
        };
        let count = delete.keys.len();
        let started = Instant::now();
        let outcome = store.apply(&delete).unwrap();
        deletes.push(started.elapsed());
        assert_eq!(outcome.deleted.len(), count);
    }
    println!(
        "DeleteObjects of 1000 versions by id:          median {:.2} ms",
        median(deletes).as_secs_f64() * 1000.0
    );
}
