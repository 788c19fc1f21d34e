//! Unit tests of the lifecycle pass against a real SQLite store: resuming after a reopen,
//! versions behind markers, Object Lock, and a key with many versions.

use super::*;
use crate::lifecycle::{
    Expiration, FilterForm, LifecycleRule, NoncurrentVersionExpiration, RuleFilter,
};
use crate::meta::lifecycle_step::{
    LifecycleProgress, LIFECYCLE_STEP_ACTIONS_MAX, LIFECYCLE_STEP_PARTS_MAX,
    LIFECYCLE_STEP_ROWS_MAX,
};
use crate::meta::store::tests::{count, create_bucket, object, versioned_store};
use crate::meta::store::MetaStore;
use crate::meta::{ObjectLock, PutBucketVersioning, PutCondition, PutObject, VersioningStatus};
use crate::object_bytes::FileId;

/// A shortened day, so that test objects (written at 1 ms past the epoch) are long due.
const DAY_MS_SHORT: i64 = 1000;

fn rule(expiration_days: Option<u32>, noncurrent_days: Option<u32>) -> LifecycleConfiguration {
    LifecycleConfiguration {
        rules: vec![LifecycleRule {
            id: "r".into(),
            enabled: true,
            filter: RuleFilter {
                form: FilterForm::Empty,
                ..RuleFilter::default()
            },
            expiration: expiration_days.map(|days| Expiration {
                days: Some(days),
                ..Expiration::default()
            }),
            noncurrent_version_expiration: noncurrent_days.map(|days| {
                NoncurrentVersionExpiration {
                    noncurrent_days: days,
                    newer_noncurrent_versions: None,
                }
            }),
            abort_incomplete_upload_days: None,
            transitions: Vec::new(),
            noncurrent_transitions: Vec::new(),
        }],
        transition_default_minimum_object_size: None,
    }
}

fn set_rules(store: &mut MetaStore, configuration: LifecycleConfiguration) {
    store
        .apply(&PutBucketLifecycle {
            bucket: "b".into(),
            configuration: Some(configuration),
        })
        .unwrap();
}

/// Steps until the pass finishes; what they did, summed.
fn finish_pass(store: &mut MetaStore) -> LifecycleProgress {
    let mut total = LifecycleProgress::default();
    for _ in 0..1000 {
        let step = store.apply(&LifecycleStep::new(DAY_MS_SHORT)).unwrap();
        assert!(!step.idle, "a pass was running");
        total.add_counts(&step);
        total.freed.extend(step.freed);
        if step.pass_finished {
            return total;
        }
    }
    panic!("the pass did not finish in 1000 steps");
}

#[test]
fn a_pass_resumes_from_its_persisted_cursor_after_a_reopen() {
    // Goal: a pass interrupted after a committed step (the store dropped and reopened, as a
    // kill -9 would leave it) goes on from its cursor: every due object expires exactly
    // once, each file is freed once, and no pass is due right after.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.sqlite");
    let mut store = MetaStore::open(&path).unwrap();
    store.apply(&create_bucket("b")).unwrap();
    let total = LIFECYCLE_STEP_ACTIONS_MAX as usize + 100;
    let puts: Vec<PutObject> = (0..total)
        .map(|index| {
            PutObject(
                object(&format!("k{index:04}"), index as u128 + 1),
                PutCondition::None,
            )
        })
        .collect();
    store.apply_all(&puts).into_iter().for_each(|reply| {
        reply.unwrap();
    });
    set_rules(&mut store, rule(Some(1), None));
    let started = store.apply(&LifecycleStep::new(DAY_MS_SHORT)).unwrap();
    assert_eq!(
        started,
        LifecycleProgress::default(),
        "the first step picks the bucket"
    );
    let first = store.apply(&LifecycleStep::new(DAY_MS_SHORT)).unwrap();
    assert_eq!(first.objects_expired, LIFECYCLE_STEP_ACTIONS_MAX);
    drop(store);
    let mut store = MetaStore::open(&path).unwrap();
    let rest = finish_pass(&mut store);
    assert_eq!(rest.objects_expired, 100);
    let mut freed: Vec<FileId> = first.freed.into_iter().chain(rest.freed).collect();
    freed.sort_by_key(|file| file.0);
    freed.dedup();
    assert_eq!(freed.len(), total);
    assert_eq!(count(&store, "objects"), 0);
    assert!(store.apply(&LifecycleStep::new(DAY_MS_SHORT)).unwrap().idle);
}

#[test]
fn versions_expire_behind_markers_and_locks_hold() {
    // Goal: in an Enabled bucket Expiration writes a delete marker over the current version;
    // NoncurrentVersionExpiration then removes the noncurrent version unless a legal hold
    // protects it (counted as skipped, left in place).
    let dir = tempfile::tempdir().unwrap();
    let mut store = versioned_store(&dir.path().join("m.sqlite"));
    store
        .apply(&PutObject(object("free", 1), PutCondition::None))
        .unwrap();
    let mut held = object("held", 2);
    held.lock = ObjectLock {
        retention: None,
        legal_hold: true,
    };
    store.apply(&PutObject(held, PutCondition::None)).unwrap();
    set_rules(&mut store, rule(Some(1), Some(1)));
    let done = finish_pass(&mut store);
    assert_eq!(done.objects_expired, 2, "both keys get a delete marker");
    // The markers are new: their versions became noncurrent now, a day is not over yet.
    assert_eq!(done.versions_expired, 0);
    std::thread::sleep(std::time::Duration::from_millis(DAY_MS_SHORT as u64 + 10));
    let later = finish_pass(&mut store);
    assert_eq!(later.versions_expired, 1);
    assert_eq!(later.locked_skipped, 1);
    assert_eq!(later.freed, vec![FileId(1)]);
    // With no version left behind it, the free key's marker is an expired object delete
    // marker, and the rule's Days removes it; the held version and its marker remain.
    assert_eq!(later.delete_markers_removed, 1);
    assert_eq!(count(&store, "versions"), 2);
}

#[test]
fn upload_aborts_stop_a_step_once_their_parts_pass_the_bound() {
    // Goal: an abort drops its upload's every part, so a step stops aborting once the parts it
    // dropped reach LIFECYCLE_STEP_PARTS_MAX (the upload that passes it is dropped whole):
    // three due uploads of 614 parts (3/5 of the bound) take two steps, two aborts then one, and every part's file
    // is freed. (Bounded by aborts alone, 256 uploads of 10,000 parts were one transaction.)
    use crate::meta::multipart::PartRecord;
    use crate::meta::PutPart;
    let dir = tempfile::tempdir().unwrap();
    let mut store = MetaStore::open(&dir.path().join("m.sqlite")).unwrap();
    store.apply(&create_bucket("b")).unwrap();
    let parts_each = LIFECYCLE_STEP_PARTS_MAX * 3 / 5;
    for upload in 0..3 {
        let upload_id = format!("u{upload}");
        store
            .apply(&crate::meta::multipart::tests::upload(
                &format!("k{upload}"),
                &upload_id,
            ))
            .unwrap();
        let parts: Vec<PutPart> = (1..=parts_each)
            .map(|part_number| PutPart {
                part: PartRecord {
                    upload_id: upload_id.clone(),
                    part_number: part_number as u32,
                    file_id: FileId((upload * 10_000 + part_number) as u128),
                    size_bytes: 1,
                    etag: "e".into(),
                    last_modified_ms: 1,
                    checksum: None,
                },
            })
            .collect();
        for reply in store.apply_all(&parts) {
            reply.unwrap();
        }
    }
    let mut configuration = rule(None, None);
    configuration.rules[0].abort_incomplete_upload_days = Some(1);
    set_rules(&mut store, configuration);
    let mut aborts_per_step = Vec::new();
    let mut freed = 0;
    for _ in 0..100 {
        let step = store.apply(&LifecycleStep::new(DAY_MS_SHORT)).unwrap();
        if step.uploads_aborted > 0 {
            aborts_per_step.push(step.uploads_aborted);
        }
        freed += step.freed.len();
        if step.pass_finished {
            break;
        }
    }
    assert_eq!(aborts_per_step, [2, 1]);
    assert_eq!(freed, 3 * parts_each);
    assert_eq!(count(&store, "parts"), 0);
    assert_eq!(count(&store, "uploads"), 0);
}

#[test]
fn a_key_with_many_versions_is_worked_in_bounded_steps() {
    // Goal: one key with more versions than a step reads is worked over several steps that
    // resume inside the key, and NewerNoncurrentVersions still counts across them: the
    // current version and the five newest noncurrent ones remain.
    let dir = tempfile::tempdir().unwrap();
    let mut store = versioned_store(&dir.path().join("m.sqlite"));
    let total = 2 * LIFECYCLE_STEP_ROWS_MAX + 50;
    let puts: Vec<PutObject> = (0..total)
        .map(|index| PutObject(object("k", index as u128 + 1), PutCondition::None))
        .collect();
    store.apply_all(&puts).into_iter().for_each(|reply| {
        reply.unwrap();
    });
    let mut configuration = rule(None, Some(1));
    configuration.rules[0].noncurrent_version_expiration = Some(NoncurrentVersionExpiration {
        noncurrent_days: 1,
        newer_noncurrent_versions: Some(5),
    });
    set_rules(&mut store, configuration);
    let mut steps = 0;
    let mut removed = 0;
    loop {
        let step = store.apply(&LifecycleStep::new(DAY_MS_SHORT)).unwrap();
        steps += 1;
        removed += step.versions_expired;
        if step.pass_finished {
            break;
        }
    }
    assert_eq!(removed as usize, total - 1 - 5);
    assert!(steps >= 4, "{steps} steps: the key was not split");
    assert_eq!(count(&store, "versions"), 5);
    assert_eq!(count(&store, "objects"), 1);
    // The newest five noncurrent versions are the ones kept.
    let kept: Vec<String> = store
        .connection()
        .prepare("SELECT file_id FROM versions ORDER BY sequence DESC")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let expected: Vec<String> = (total - 5..total)
        .rev()
        .map(|index| FileId(index as u128).to_string())
        .collect();
    assert_eq!(kept, expected);
}

#[test]
fn noncurrent_age_counts_from_demotion_not_from_later_overwrites() {
    // Goal: in a Suspended bucket whose null version is overwritten again and again, a version
    // that became noncurrent more than a day ago expires, however new the current row is (S3
    // counts NoncurrentDays from when the version became noncurrent).
    let dir = tempfile::tempdir().unwrap();
    let mut store = MetaStore::open(&dir.path().join("m.sqlite")).unwrap();
    store.apply(&create_bucket("b")).unwrap();
    let set_versioning = |store: &mut MetaStore, status| {
        store
            .apply(&PutBucketVersioning {
                bucket: "b".into(),
                status,
            })
            .unwrap();
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let put_at = |store: &mut MetaStore, id: u128, written_ms: i64| {
        let mut record = object("k", id);
        record.last_modified_ms = written_ms;
        store.apply(&PutObject(record, PutCondition::None)).unwrap();
    };
    set_versioning(&mut store, VersioningStatus::Enabled);
    put_at(&mut store, 1, now_ms - 5 * DAY_MS_SHORT);
    set_versioning(&mut store, VersioningStatus::Suspended);
    put_at(&mut store, 2, now_ms - 3 * DAY_MS_SHORT);
    put_at(&mut store, 3, now_ms);
    set_rules(&mut store, rule(None, Some(1)));
    let done = finish_pass(&mut store);
    assert_eq!(done.versions_expired, 1);
    assert_eq!(done.freed, vec![FileId(1)]);
    assert_eq!(count(&store, "versions"), 0);
}
