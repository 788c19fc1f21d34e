//! What each bucket holds and its optional quota, enforced inside the commit of every write that
//! adds an object, so concurrent writes cannot overshoot it.
//!
//! Usage is exact: each function that writes a row of `objects` or `versions` counts what it
//! added or removed (`count`), the counts of a transaction gather here, and `flush_pending` adds
//! them to `bucket_usage` once, just before the commit — one UPDATE per bucket per batch rather
//! than one per row (row triggers did the same job for a quarter of the 4 KiB PUT rate).

use std::cell::RefCell;

use rusqlite::{params, OptionalExtension, Transaction};

use super::command::{Changes, MetaCommand};
use super::MetaError;

/// One bucket's usage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BucketUsage {
    /// Current objects (what ListObjects shows).
    pub objects: u64,
    /// Noncurrent versions stored (delete markers are not counted).
    pub versions: u64,
    /// Bytes of the current objects and noncurrent versions.
    pub size_bytes: u64,
}

impl BucketUsage {
    /// Adds `other` (usage summed over buckets).
    pub fn add(&mut self, other: &BucketUsage) {
        self.objects += other.objects;
        self.versions += other.versions;
        self.size_bytes += other.size_bytes;
    }

    /// What the object-count quota counts: every stored version, current or not.
    pub fn stored_objects(&self) -> u64 {
        self.objects + self.versions
    }
}

/// A bucket's limits (`None`: unlimited).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BucketQuota {
    /// Most bytes the bucket may hold (current objects and noncurrent versions).
    pub size_bytes_max: Option<u64>,
    /// Most objects the bucket may hold (current objects and noncurrent versions).
    pub objects_max: Option<u64>,
}

impl BucketQuota {
    /// Whether going from `before` to `after` passed this quota: a figure beyond its limit that
    /// grew (a write that adds nothing never passes it, even over a lowered quota).
    pub fn passed_by(&self, before: &BucketUsage, after: &BucketUsage) -> bool {
        let bytes = self
            .size_bytes_max
            .is_some_and(|limit| after.size_bytes > limit && after.size_bytes > before.size_bytes);
        let objects = self.objects_max.is_some_and(|limit| {
            after.stored_objects() > limit && after.stored_objects() > before.stored_objects()
        });
        bytes || objects
    }

    /// Whether neither limit is set.
    pub fn is_unlimited(&self) -> bool {
        self.size_bytes_max.is_none() && self.objects_max.is_none()
    }
}

/// Counts of one bucket not yet added to `bucket_usage`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct UsageDelta {
    objects: i64,
    versions: i64,
    bytes: i64,
}

thread_local! {
    /// This thread's transaction's counts, per bucket (a batch touches few buckets: a scan beats
    /// hashing). Only the thread running a `MetaStore` transaction writes it.
    static PENDING: RefCell<Vec<(String, UsageDelta)>> = const { RefCell::new(Vec::new()) };
}

/// What a row write did to `bucket`: current objects and noncurrent versions (not delete
/// markers) added (+) or removed (-), with their bytes. Every function writing `objects` or
/// `versions` rows calls it.
pub(crate) fn count(bucket: &str, objects: i64, versions: i64, bytes: i64) {
    PENDING.with_borrow_mut(|pending| {
        let delta = match pending.iter_mut().find(|(name, _)| name == bucket) {
            Some((_, delta)) => delta,
            None => {
                pending.push((bucket.to_string(), UsageDelta::default()));
                &mut pending.last_mut().expect("just pushed").1
            }
        };
        delta.objects += objects;
        delta.versions += versions;
        delta.bytes += bytes;
    });
}

/// Counts of `bucket` not yet flushed.
fn pending_of(bucket: &str) -> UsageDelta {
    PENDING.with_borrow(|pending| {
        pending
            .iter()
            .find(|(name, _)| name == bucket)
            .map_or_else(UsageDelta::default, |(_, delta)| *delta)
    })
}

/// The transaction's counts at a savepoint, to put back if the savepoint is rolled back.
struct PendingSnapshot(Vec<(String, UsageDelta)>);

fn snapshot_pending() -> PendingSnapshot {
    PendingSnapshot(PENDING.with_borrow(Clone::clone))
}

fn restore_pending(snapshot: PendingSnapshot) {
    PENDING.with_borrow_mut(|pending| *pending = snapshot.0);
}

/// Runs `action` in the SAVEPOINT `name` and keeps what it wrote if it succeeded and `keep`
/// (asked after it ran) agrees; otherwise rolls back to the savepoint — the rows, and the usage
/// counts of those rows with them. Every savepoint of a command goes through here, so no
/// rollback can leave counts of rows it undid, nor rows it undid counted as written
/// (`rows_rolled_back`). Answers the action's outcome and whether it was kept.
pub(crate) fn in_savepoint<T>(
    transaction: &Transaction<'_>,
    name: &str,
    action: impl FnOnce() -> Result<T, MetaError>,
    keep: impl FnOnce(&T) -> Result<bool, MetaError>,
) -> Result<(Result<T, MetaError>, bool), MetaError> {
    transaction.execute_batch(&format!("SAVEPOINT {name}"))?;
    let counted = snapshot_pending();
    let written_from = transaction.total_changes();
    let outcome = action();
    let kept = match &outcome {
        Ok(value) => keep(value)?,
        Err(_) => false,
    };
    if !kept {
        let undone = transaction.total_changes() - written_from;
        transaction.execute_batch(&format!("ROLLBACK TO {name}"))?;
        restore_pending(counted);
        ROWS_ROLLED_BACK.set(ROWS_ROLLED_BACK.get() + undone);
    }
    transaction.execute_batch(&format!("RELEASE {name}"))?;
    Ok((outcome, kept))
}

thread_local! {
    /// Rows this thread's savepoints rolled back, ever: SQLite's count of rows written
    /// (`total_changes`) keeps them, and a command refused after its savepoint undid its writes
    /// (QuotaExceeded) left nothing (`MetaStore::in_batch`).
    static ROWS_ROLLED_BACK: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Rows this thread's savepoints rolled back so far (only differences matter).
pub(crate) fn rows_rolled_back() -> u64 {
    ROWS_ROLLED_BACK.get()
}

/// Forgets the counts of a bucket deleted in this transaction (its usage row went with it).
pub(crate) fn forget_pending(bucket: &str) {
    PENDING.with_borrow_mut(|pending| pending.retain(|(name, _)| name != bucket));
}

/// Forgets every count (a transaction starts, or failed before its commit).
pub(crate) fn discard_pending() {
    PENDING.with_borrow_mut(Vec::clear);
}

/// Adds the transaction's counts to `bucket_usage` (just before the commit) and forgets them.
pub(crate) fn flush_pending(transaction: &Transaction<'_>) -> rusqlite::Result<()> {
    let pending = PENDING.with_borrow_mut(std::mem::take);
    for (bucket, delta) in pending {
        if delta == UsageDelta::default() {
            continue;
        }
        transaction
            .prepare_cached(
                "INSERT INTO bucket_usage (bucket, objects, versions, bytes) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (bucket) DO UPDATE SET \
                 objects = objects + excluded.objects, versions = versions + excluded.versions, \
                 bytes = bytes + excluded.bytes",
            )?
            .execute(params![bucket, delta.objects, delta.versions, delta.bytes])?;
    }
    Ok(())
}

/// SQLite stores integers as i64; usage and limits never reach 2^63.
fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The usage of `bucket` (zero when it holds nothing), counts of this transaction included.
pub(crate) fn get_usage(
    transaction: &Transaction<'_>,
    bucket: &str,
) -> rusqlite::Result<BucketUsage> {
    let stored = transaction
        .prepare_cached("SELECT objects, versions, bytes FROM bucket_usage WHERE bucket = ?1")?
        .query_row([bucket], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
            ))
        })
        .optional()?
        .unwrap_or_default();
    let pending = pending_of(bucket);
    Ok(BucketUsage {
        objects: to_u64(stored.0 + pending.objects),
        versions: to_u64(stored.1 + pending.versions),
        size_bytes: to_u64(stored.2 + pending.bytes),
    })
}

/// The quota of `bucket`, if it has one.
pub(crate) fn get_quota(
    transaction: &Transaction<'_>,
    bucket: &str,
) -> rusqlite::Result<Option<BucketQuota>> {
    transaction
        .prepare_cached("SELECT bytes_max, objects_max FROM bucket_quotas WHERE bucket = ?1")?
        .query_row([bucket], |row| {
            Ok(BucketQuota {
                size_bytes_max: row.get::<_, Option<i64>>(0)?.map(to_u64),
                objects_max: row.get::<_, Option<i64>>(1)?.map(to_u64),
            })
        })
        .optional()
}

/// Runs `write` (which adds an object to `bucket`) and undoes it with `QuotaExceeded` if it took
/// the bucket beyond its quota: a limit is passed after the write, and the write grew that
/// figure. The check follows the write, so it counts exactly what the write did (a replaced
/// object's bytes freed, a version kept), and a write that adds nothing — a repeated
/// CompleteMultipartUpload, an overwrite that shrinks — passes even over a lowered quota. The
/// metadata thread runs one command at a time, so concurrent writes are counted exactly too. A
/// failed write is undone as well.
pub(crate) fn within_quota<T>(
    transaction: &Transaction<'_>,
    bucket: &str,
    write: impl FnOnce() -> Result<T, MetaError>,
) -> Result<T, MetaError> {
    let Some(quota) = get_quota(transaction, bucket)? else {
        return write();
    };
    let before = get_usage(transaction, bucket)?;
    let (outcome, kept) = in_savepoint(transaction, "quota", write, |_| {
        Ok(!quota.passed_by(&before, &get_usage(transaction, bucket)?))
    })?;
    match outcome {
        Ok(_) if !kept => Err(MetaError::QuotaExceeded),
        other => other,
    }
}

/// A bucket with what it holds and its quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketFigures {
    /// Bucket name.
    pub name: String,
    /// Owner's access key.
    pub owner: String,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// What it holds.
    pub usage: BucketUsage,
    /// Its limits.
    pub quota: BucketQuota,
}

/// Every bucket (or the one named) with its usage and quota, by name.
#[derive(Debug)]
pub struct GetBucketFigures(pub Option<String>);

impl MetaCommand for GetBucketFigures {
    type Reply = Vec<BucketFigures>;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<Self::Reply, MetaError> {
        // Counts of this batch's earlier commands are in the table first.
        flush_pending(transaction)?;
        let mut statement = transaction.prepare_cached(
            "SELECT b.name, b.owner, b.created_ms, coalesce(u.objects, 0), \
             coalesce(u.versions, 0), coalesce(u.bytes, 0), q.bytes_max, q.objects_max \
             FROM buckets b LEFT JOIN bucket_usage u ON u.bucket = b.name \
             LEFT JOIN bucket_quotas q ON q.bucket = b.name \
             WHERE ?1 IS NULL OR b.name = ?1 ORDER BY b.name",
        )?;
        let rows = statement.query_map([&self.0], |row| {
            Ok(BucketFigures {
                name: row.get(0)?,
                owner: row.get(1)?,
                created_ms: row.get(2)?,
                usage: BucketUsage {
                    objects: to_u64(row.get(3)?),
                    versions: to_u64(row.get(4)?),
                    size_bytes: to_u64(row.get(5)?),
                },
                quota: BucketQuota {
                    size_bytes_max: row.get::<_, Option<i64>>(6)?.map(to_u64),
                    objects_max: row.get::<_, Option<i64>>(7)?.map(to_u64),
                },
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}

/// Sets (or, when unlimited, removes) a bucket's quota. A quota below what the bucket holds is
/// accepted: writes that add are refused until it is back within.
#[derive(Debug)]
pub struct PutBucketQuota {
    /// Bucket name.
    pub bucket: String,
    /// The limits.
    pub quota: BucketQuota,
}

impl MetaCommand for PutBucketQuota {
    type Reply = ();

    fn apply(&self, transaction: &Transaction<'_>) -> Result<(), MetaError> {
        super::bucket_rows::require_bucket(transaction, &self.bucket)?;
        if self.quota.is_unlimited() {
            transaction
                .prepare_cached("DELETE FROM bucket_quotas WHERE bucket = ?1")?
                .execute([&self.bucket])?;
        } else {
            transaction
                .prepare_cached(
                    "INSERT OR REPLACE INTO bucket_quotas (bucket, bytes_max, objects_max) \
                     VALUES (?1, ?2, ?3)",
                )?
                .execute(params![
                    self.bucket,
                    self.quota.size_bytes_max.map(to_i64),
                    self.quota.objects_max.map(to_i64)
                ])?;
        }
        Ok(())
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::store::tests::{create_bucket, inline_object, object};
    use crate::meta::{
        DeleteCondition, DeleteObject, MetaStore, PutBucketVersioning, PutCondition, PutObject,
        VersionSelector, VersioningStatus,
    };

    fn figures(store: &mut MetaStore) -> BucketUsage {
        store.apply(&GetBucketFigures(Some("b".into()))).unwrap()[0].usage
    }

    /// What the counts must agree with: the rows themselves, summed.
    fn recount(store: &MetaStore) -> BucketUsage {
        store
            .connection()
            .query_row(
                "SELECT (SELECT count(*) FROM objects WHERE bucket = 'b'), \
                 (SELECT count(*) FROM versions WHERE bucket = 'b' AND delete_marker = 0), \
                 (SELECT coalesce(sum(size), 0) FROM objects WHERE bucket = 'b') + \
                 (SELECT coalesce(sum(size), 0) FROM versions WHERE bucket = 'b' \
                  AND delete_marker = 0)",
                [],
                |row| {
                    Ok(BucketUsage {
                        objects: row.get::<_, i64>(0)? as u64,
                        versions: row.get::<_, i64>(1)? as u64,
                        size_bytes: row.get::<_, i64>(2)? as u64,
                    })
                },
            )
            .unwrap()
    }

    fn delete(key: &str, version: Option<VersionSelector>) -> DeleteObject {
        DeleteObject {
            bucket: "b".into(),
            key: key.into(),
            version,
            condition: DeleteCondition::default(),
            requester: "o".into(),
            bypass_governance: false,
        }
    }

    // Goal: every kind of row change (put, overwrite, versions kept, delete markers, removal of a
    // version, unversioned delete) keeps the bucket's usage equal to its rows summed.
    #[test]
    fn usage_follows_every_row_change() {
        let directory = tempfile::tempdir().unwrap();
        let mut store = MetaStore::open(&directory.path().join("meta.sqlite")).unwrap();
        store.apply(&create_bucket("b")).unwrap();
        let put = |record| PutObject(record, PutCondition::None);
        store.apply(&put(object("a", 1))).unwrap();
        store.apply(&put(inline_object("a", b"12345"))).unwrap();
        store.apply(&put(object("c", 2))).unwrap();
        assert_eq!(
            figures(&mut store),
            BucketUsage {
                objects: 2,
                versions: 0,
                size_bytes: 8
            }
        );
        store
            .apply(&PutBucketVersioning {
                bucket: "b".into(),
                status: VersioningStatus::Enabled,
            })
            .unwrap();
        store.apply(&put(object("a", 3))).unwrap();
        store.apply(&delete("c", None)).unwrap();
        assert_eq!(
            figures(&mut store),
            BucketUsage {
                objects: 1,
                versions: 2,
                size_bytes: 11
            }
        );
        assert_eq!(figures(&mut store), recount(&store));
        let versions = store
            .connection()
            .query_row(
                "SELECT version_id FROM versions WHERE key = 'a' AND delete_marker = 0",
                [],
                |row| row.get::<_, Option<String>>(0),
            )
            .unwrap();
        let selector = versions
            .map(|id| VersionSelector::parse(&id).unwrap())
            .unwrap_or(VersionSelector::Null);
        store.apply(&delete("a", Some(selector))).unwrap();
        assert_eq!(figures(&mut store), recount(&store));
        assert_eq!(figures(&mut store).versions, 1);
    }

    // Goal: a write that would pass the quota is refused and leaves nothing; one within it, or an
    // overwrite that frees as much as it adds, is kept; lifting the quota lets writes through.
    #[test]
    fn quota_refuses_exactly_the_write_that_would_pass_it() {
        let directory = tempfile::tempdir().unwrap();
        let mut store = MetaStore::open(&directory.path().join("meta.sqlite")).unwrap();
        store.apply(&create_bucket("b")).unwrap();
        store
            .apply(&PutBucketQuota {
                bucket: "b".into(),
                quota: BucketQuota {
                    size_bytes_max: Some(7),
                    objects_max: Some(2),
                },
            })
            .unwrap();
        let put = |record| PutObject(record, PutCondition::None);
        store.apply(&put(object("a", 1))).unwrap();
        store.apply(&put(object("b", 2))).unwrap();
        // Third object: the count would pass 2.
        assert!(matches!(
            store.apply(&put(object("c", 3))),
            Err(MetaError::QuotaExceeded)
        ));
        // An overwrite: still 2 objects, 3 + 3 bytes.
        store.apply(&put(object("b", 4))).unwrap();
        // Bytes would reach 3 + 5 > 7.
        assert!(matches!(
            store.apply(&put(inline_object("b", b"12345"))),
            Err(MetaError::QuotaExceeded)
        ));
        assert_eq!(figures(&mut store), recount(&store));
        assert_eq!(
            figures(&mut store),
            BucketUsage {
                objects: 2,
                versions: 0,
                size_bytes: 6
            }
        );
        store
            .apply(&PutBucketQuota {
                bucket: "b".into(),
                quota: BucketQuota::default(),
            })
            .unwrap();
        store.apply(&put(object("c", 3))).unwrap();
        assert_eq!(figures(&mut store).objects, 3);
        assert!(matches!(
            store.apply(&PutBucketQuota {
                bucket: "missing".into(),
                quota: BucketQuota::default(),
            }),
            Err(MetaError::NoSuchBucket)
        ));
    }

    // Goal: whatever mix of writes a batch holds — puts, overwrites, deletes, batch deletes,
    // version removals, in a bucket unversioned, then versioned, then suspended, and from round
    // 10 under a quota that refuses (and rolls back) some puts in the middle of batches — the
    // usage after each batch equals the rows summed (the counts of every row function, flushed
    // once per batch, miss nothing and keep nothing a rollback undid).
    #[test]
    fn usage_stays_exact_through_random_batches() {
        use crate::meta::{DeleteBatch, MetaCommand};
        let directory = tempfile::tempdir().unwrap();
        let mut store = MetaStore::open(&directory.path().join("meta.sqlite")).unwrap();
        store.apply(&create_bucket("b")).unwrap();
        let mut random = fastrand::Rng::with_seed(27);
        let mut id = 100u128;
        let mut refused = 0;
        for round in 0..60 {
            if round == 10 {
                store
                    .apply(&PutBucketQuota {
                        bucket: "b".into(),
                        quota: BucketQuota {
                            size_bytes_max: Some(4000),
                            objects_max: Some(10),
                        },
                    })
                    .unwrap();
            }
            if round == 20 || round == 40 {
                let status = if round == 20 {
                    VersioningStatus::Enabled
                } else {
                    VersioningStatus::Suspended
                };
                store
                    .apply(&PutBucketVersioning {
                        bucket: "b".into(),
                        status,
                    })
                    .unwrap();
            }
            let versions: Vec<(String, Option<String>)> = {
                let connection = store.connection();
                let mut statement = connection
                    .prepare("SELECT key, version_id FROM versions WHERE bucket = 'b'")
                    .unwrap();
                let rows = statement
                    .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                    .unwrap();
                rows.map(Result::unwrap).collect()
            };
            let mut jobs: Vec<Box<dyn crate::meta::command::Job>> = Vec::new();
            let mut put_answers = Vec::new();
            fn boxed<C: MetaCommand>(command: C) -> Box<dyn crate::meta::command::Job> {
                Box::new(crate::meta::command::Pending::new(command).0)
            }
            for _ in 0..random.usize(1..12) {
                let key = format!("k{}", random.usize(0..8));
                id += 1;
                jobs.push(match random.usize(0..10) {
                    0..=4 => {
                        let mut record = if random.bool() {
                            object(&key, id)
                        } else {
                            inline_object(&key, &vec![b'x'; random.usize(0..50)])
                        };
                        record.size_bytes = match record.body {
                            crate::meta::ObjectBody::File(_) => random.u64(1..1000),
                            _ => record.size_bytes,
                        };
                        let (job, answer) = crate::meta::command::Pending::new(PutObject(
                            record,
                            PutCondition::None,
                        ));
                        put_answers.push(answer);
                        Box::new(job) as Box<dyn crate::meta::command::Job>
                    }
                    5..=6 => boxed(delete(&key, None)),
                    7 => boxed(DeleteBatch {
                        bucket: "b".into(),
                        keys: vec![key, format!("k{}", random.usize(0..8))],
                        versions: Vec::new(),
                        conditions: Vec::new(),
                        requester: "o".into(),
                        bypass_governance: false,
                    }),
                    _ => match versions.get(random.usize(0..versions.len().max(1))) {
                        Some((key, version)) => {
                            let selector = version
                                .as_deref()
                                .map(|text| VersionSelector::parse(text).unwrap())
                                .unwrap_or(VersionSelector::Null);
                            boxed(delete(key, Some(selector)))
                        }
                        None => boxed(delete(&key, None)),
                    },
                });
            }
            store.apply_batch(&mut jobs);
            for job in jobs {
                job.reply();
            }
            for mut answer in put_answers {
                if let Ok(Some(Err(MetaError::QuotaExceeded))) = answer.try_recv() {
                    refused += 1;
                }
            }
            assert_eq!(figures(&mut store), recount(&store), "after round {round}");
        }
        let usage = figures(&mut store);
        assert!(usage.objects > 0 && usage.versions > 0, "{usage:?}");
        assert!(
            refused > 0,
            "the quota refused no write: the rollback path went untested"
        );
    }
}
