//! Cost of the lifecycle pass (issue 21, item 7), through the metadata layer directly: each step
//! is one transaction the metadata thread runs between foreground commands, so its duration is
//! what a request queued behind it waits at most. Passes over 100,000 keys: one where nothing is
//! due (the daily cost of a rule that matches and expires nothing yet), the same under 1,000 tag
//! rules, one expiring every current version of an unversioned bucket, one removing two
//! noncurrent versions of each key of a versioned bucket; and one over a single key with 200,000
//! versions (a pass resumes inside the key without re-reading it). Prints the median and largest
//! step and the whole pass; run with `cargo bench --bench lifecycle`.

mod common;

use std::time::{Duration, Instant};

use ringstore::lifecycle::{
    Expiration, FilterForm, LifecycleConfiguration, LifecycleRule, NoncurrentVersionExpiration,
    RuleFilter,
};
use ringstore::meta::{
    CreateBucket, LifecycleStep, MetaStore, PutBucketLifecycle, PutBucketVersioning, PutCondition,
    PutObject, VersioningStatus,
};
use ringstore::storage::FileId;

const KEY_COUNT: usize = 100_000;
/// A shortened day, so that rows written at the epoch are long due.
const DAY_MS: i64 = 1000;

fn create(store: &mut MetaStore, name: &str) {
    let bucket = CreateBucket(common::bucket(name));
    store.apply(&bucket).unwrap();
}

fn create_versioned(store: &mut MetaStore, name: &str) {
    create(store, name);
    store
        .apply(&PutBucketVersioning {
            bucket: name.into(),
            status: VersioningStatus::Enabled,
        })
        .unwrap();
}

/// A rule expiring `bucket`'s noncurrent versions `days` after they stop being current.
fn expire_noncurrent(store: &mut MetaStore, bucket: &str, days: u32) {
    let noncurrent = NoncurrentVersionExpiration {
        noncurrent_days: days,
        newer_noncurrent_versions: None,
    };
    store.apply(&rules(bucket, None, Some(noncurrent))).unwrap();
}

fn fill(store: &mut MetaStore, bucket: &str, last_modified_ms: i64) {
    for chunk in (0..KEY_COUNT).collect::<Vec<_>>().chunks(20_000) {
        let puts: Vec<PutObject> = chunk
            .iter()
            .map(|index| {
                let mut record = common::object(format!("data/{index:08}"), FileId::random(), 4096);
                record.bucket = bucket.into();
                record.last_modified_ms = last_modified_ms;
                PutObject(record, PutCondition::None)
            })
            .collect();
        for reply in store.apply_all(&puts) {
            reply.unwrap();
        }
    }
}

fn rules(
    bucket: &str,
    expiration: Option<Expiration>,
    noncurrent: Option<NoncurrentVersionExpiration>,
) -> PutBucketLifecycle {
    PutBucketLifecycle {
        bucket: bucket.into(),
        configuration: Some(LifecycleConfiguration {
            rules: vec![LifecycleRule {
                id: "bench".into(),
                enabled: true,
                filter: RuleFilter {
                    form: FilterForm::Prefix,
                    prefix: "data/".into(),
                    ..RuleFilter::default()
                },
                expiration,
                noncurrent_version_expiration: noncurrent,
                abort_incomplete_upload_days: None,
                transitions: Vec::new(),
                noncurrent_transitions: Vec::new(),
            }],
            transition_default_minimum_object_size: None,
        }),
    }
}

/// Runs one whole pass; prints its steps' median and largest duration and the total.
fn pass(store: &mut MetaStore, label: &str) {
    let mut steps = Vec::new();
    let mut acted = 0u64;
    let started = Instant::now();
    loop {
        let step_started = Instant::now();
        let progress = store.apply(&LifecycleStep::new(DAY_MS)).unwrap();
        steps.push(step_started.elapsed());
        assert!(!progress.idle, "a pass is due after a configuration change");
        acted += progress.objects_expired + progress.versions_expired;
        if progress.pass_finished {
            break;
        }
    }
    let total = started.elapsed();
    steps.sort();
    let median: Duration = steps[steps.len() / 2];
    println!(
        "{label}: {} steps, step median {:.2} ms, largest {:.2} ms, pass {:.0} ms ({acted} removed, {:.0} keys/s)",
        steps.len(),
        median.as_secs_f64() * 1e3,
        steps.last().unwrap().as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3,
        KEY_COUNT as f64 / total.as_secs_f64()
    );
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = MetaStore::open(&dir.path().join("meta.sqlite")).unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;

    create(&mut store, "fresh");
    fill(&mut store, "fresh", now_ms);
    let thirty_days = Expiration {
        days: Some(30),
        ..Expiration::default()
    };
    store
        .apply(&rules("fresh", Some(thirty_days), None))
        .unwrap();
    pass(&mut store, "100,000 keys, nothing due (scan only)");
    let tag_rules: Vec<LifecycleRule> = (0..1000)
        .map(|index| LifecycleRule {
            id: format!("tag-{index}"),
            enabled: true,
            filter: RuleFilter {
                form: FilterForm::And,
                prefix: String::new(),
                tags: vec![
                    (format!("team-{index}"), "a".repeat(200)),
                    ("class".into(), format!("c-{index}")),
                ],
                ..RuleFilter::default()
            },
            expiration: Some(thirty_days),
            noncurrent_version_expiration: None,
            abort_incomplete_upload_days: None,
            transitions: Vec::new(),
            noncurrent_transitions: Vec::new(),
        })
        .collect();
    store
        .apply(&PutBucketLifecycle {
            bucket: "fresh".into(),
            configuration: Some(LifecycleConfiguration {
                rules: tag_rules,
                transition_default_minimum_object_size: None,
            }),
        })
        .unwrap();
    pass(&mut store, "100,000 keys, 1,000 tag rules, nothing due");
    store
        .apply(&PutBucketLifecycle {
            bucket: "fresh".into(),
            configuration: None,
        })
        .unwrap();

    create(&mut store, "expiring");
    fill(&mut store, "expiring", 0);
    let one_day = Expiration {
        days: Some(1),
        ..Expiration::default()
    };
    store
        .apply(&rules("expiring", Some(one_day), None))
        .unwrap();
    pass(
        &mut store,
        "100,000 keys, every current version expires (unversioned)",
    );

    create_versioned(&mut store, "versioned");
    for _ in 0..3 {
        fill(&mut store, "versioned", 0);
    }
    expire_noncurrent(&mut store, "versioned", 1);
    pass(
        &mut store,
        "100,000 keys x 3 versions, both noncurrent ones expire",
    );

    create_versioned(&mut store, "one-key");
    for _ in 0..10 {
        let puts: Vec<PutObject> = (0..20_000)
            .map(|_| {
                let mut record = common::object("data/one".into(), FileId::random(), 4096);
                record.bucket = "one-key".into();
                record.last_modified_ms = now_ms;
                PutObject(record, PutCondition::None)
            })
            .collect();
        for reply in store.apply_all(&puts) {
            reply.unwrap();
        }
    }
    expire_noncurrent(&mut store, "one-key", 1_000_000);
    pass(&mut store, "one key, 200,000 versions, nothing due");
}
