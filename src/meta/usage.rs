//! What each bucket holds (kept exact by the schema's triggers) and its optional quota, enforced
//! inside the commit of every write that adds an object, so concurrent writes cannot overshoot it.

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
    /// Whether `usage` is beyond this quota.
    pub fn exceeded_by(&self, usage: &BucketUsage) -> bool {
        self.size_bytes_max
            .is_some_and(|limit| usage.size_bytes > limit)
            || self
                .objects_max
                .is_some_and(|limit| usage.stored_objects() > limit)
    }

    /// Whether neither limit is set.
    pub fn is_unlimited(&self) -> bool {
        self.size_bytes_max.is_none() && self.objects_max.is_none()
    }
}

/// SQLite stores integers as i64; usage and limits never reach 2^63.
fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The usage of `bucket` (zero when it holds nothing).
pub(crate) fn get_usage(
    transaction: &Transaction<'_>,
    bucket: &str,
) -> rusqlite::Result<BucketUsage> {
    Ok(transaction
        .prepare_cached("SELECT objects, versions, bytes FROM bucket_usage WHERE bucket = ?1")?
        .query_row([bucket], |row| {
            Ok(BucketUsage {
                objects: to_u64(row.get(0)?),
                versions: to_u64(row.get(1)?),
                size_bytes: to_u64(row.get(2)?),
            })
        })
        .optional()?
        .unwrap_or_default())
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

/// Runs `write` (which adds an object to `bucket`) and undoes it with `QuotaExceeded` if it left
/// the bucket beyond its quota. The check follows the write, so it counts exactly what the write
/// did (a replaced object's bytes freed, a version kept); the metadata thread runs one command at
/// a time, so concurrent writes are counted exactly too. A failed write is undone as well.
pub(crate) fn within_quota<T>(
    transaction: &Transaction<'_>,
    bucket: &str,
    write: impl FnOnce() -> Result<T, MetaError>,
) -> Result<T, MetaError> {
    let Some(quota) = get_quota(transaction, bucket)? else {
        return write();
    };
    transaction.execute_batch("SAVEPOINT quota")?;
    let outcome = write();
    let keep = match &outcome {
        Ok(_) => !quota.exceeded_by(&get_usage(transaction, bucket)?),
        Err(_) => false,
    };
    if !keep {
        transaction.execute_batch("ROLLBACK TO quota")?;
    }
    transaction.execute_batch("RELEASE quota")?;
    match outcome {
        Ok(_) if !keep => Err(MetaError::QuotaExceeded),
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

/// One user's share: the buckets they own and what those hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerUsage {
    /// Owner's access key.
    pub owner: String,
    /// Buckets owned.
    pub buckets: u64,
    /// What those buckets hold, summed.
    pub usage: BucketUsage,
}

/// Usage summed per bucket owner, by owner.
#[derive(Debug)]
pub struct GetOwnerUsage;

impl MetaCommand for GetOwnerUsage {
    type Reply = Vec<OwnerUsage>;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<Self::Reply, MetaError> {
        let mut statement = transaction.prepare_cached(
            "SELECT b.owner, count(*), coalesce(sum(u.objects), 0), \
             coalesce(sum(u.versions), 0), coalesce(sum(u.bytes), 0) \
             FROM buckets b LEFT JOIN bucket_usage u ON u.bucket = b.name \
             GROUP BY b.owner ORDER BY b.owner",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(OwnerUsage {
                owner: row.get(0)?,
                buckets: to_u64(row.get(1)?),
                usage: BucketUsage {
                    objects: to_u64(row.get(2)?),
                    versions: to_u64(row.get(3)?),
                    size_bytes: to_u64(row.get(4)?),
                },
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
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

    /// What the triggers must agree with: the rows themselves, summed.
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
}
