//! Bucket commands in SQLite: create (within the bucket quota), delete (empty, dropping its
//! unfinished uploads), look up, list, and replace the ACL.

use rusqlite::{params, OptionalExtension, Transaction};

use super::bucket_rows::{bucket_from_row, get_bucket, get_bucket_state};
use super::command::{Changes, MetaCommand};
use super::{BucketRecord, MetaError};
use crate::limits::BUCKET_COUNT_MAX;
use crate::object_bytes::FileId;

/// Create a bucket; answers whether it was created (false: the same owner already has it).
#[derive(Debug)]
pub struct CreateBucket(pub BucketRecord);

impl MetaCommand for CreateBucket {
    type Reply = bool;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<bool, MetaError> {
        let record = &self.0;
        if let Some(existing) = get_bucket_state(transaction, &record.name)? {
            if existing.owner == record.owner {
                return Ok(false);
            }
            return Err(MetaError::BucketExists {
                owner: existing.owner,
            });
        }
        let count: i64 = transaction
            .prepare_cached("SELECT count(*) FROM buckets")?
            .query_row([], |row| row.get(0))?;
        if count as usize >= BUCKET_COUNT_MAX {
            return Err(MetaError::TooManyBuckets);
        }
        transaction
            .prepare_cached(
                "INSERT INTO buckets (name, owner, region, created_ms, acl, versioning, object_lock) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                record.name,
                record.owner,
                record.region,
                record.created_ms,
                record.acl,
                record.versioning.map(super::VersioningStatus::as_str),
                record.object_lock.as_ref().map(super::BucketObjectLock::encode)
            ])?;
        Ok(true)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Buckets
    }
}

/// Delete an empty bucket; answers the files of the multipart uploads it dropped, to delete after
/// the commit.
#[derive(Debug)]
pub struct DeleteBucket {
    /// Bucket name.
    pub name: String,
}

impl MetaCommand for DeleteBucket {
    type Reply = Vec<FileId>;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<Vec<FileId>, MetaError> {
        let name = &self.name;
        if get_bucket_state(transaction, name)?.is_none() {
            return Err(MetaError::NoSuchBucket);
        }
        // Noncurrent versions and delete markers count: S3 deletes only a bucket with none left.
        let has_objects = transaction
            .prepare_cached(
                "SELECT 1 FROM objects WHERE bucket = ?1 \
                 UNION ALL SELECT 1 FROM versions WHERE bucket = ?1 LIMIT 1",
            )?
            .query_row([name], |_| Ok(()))
            .optional()?
            .is_some();
        if has_objects {
            return Err(MetaError::BucketNotEmpty);
        }
        // S3 lets a bucket with only unfinished multipart uploads be deleted; they go with it.
        let files = super::multipart::drop_bucket_uploads(transaction, name)?;
        transaction
            .prepare_cached("DELETE FROM buckets WHERE name = ?1")?
            .execute([name])?;
        // Its usage row went with it (a trigger); counts of this batch must not bring it back.
        super::usage::forget_pending(name);
        Ok(files)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Buckets
    }
}

/// Look a bucket up.
#[derive(Debug)]
pub struct GetBucket {
    /// Bucket name.
    pub name: String,
}

impl MetaCommand for GetBucket {
    type Reply = Option<BucketRecord>;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<Option<BucketRecord>, MetaError> {
        Ok(get_bucket(transaction, &self.name)?)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }

    /// Reads the bucket row only.
    fn keeps_versions_staged(&self) -> bool {
        true
    }

    const READ_ONLY: bool = true;
}

/// All buckets, by name.
#[derive(Debug)]
pub struct ListBuckets;

impl MetaCommand for ListBuckets {
    type Reply = Vec<BucketRecord>;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<Vec<BucketRecord>, MetaError> {
        let mut statement = transaction.prepare_cached(
            "SELECT name, owner, region, created_ms, acl, versioning, object_lock, cors, policy, \
             public_access_block, lifecycle, encryption FROM buckets \
             ORDER BY name",
        )?;
        let buckets = statement
            .query_map([], bucket_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(buckets)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }

    /// Reads bucket rows only.
    fn keeps_versions_staged(&self) -> bool {
        true
    }

    const READ_ONLY: bool = true;
}

/// Replace a bucket's access control list.
#[derive(Debug)]
pub struct PutBucketAcl {
    /// Bucket name.
    pub name: String,
    /// Encoded list (`None`: the default, `private`).
    pub acl: Option<String>,
}

impl MetaCommand for PutBucketAcl {
    type Reply = ();

    fn apply(&self, transaction: &Transaction<'_>) -> Result<(), MetaError> {
        let updated = transaction
            .prepare_cached("UPDATE buckets SET acl = ?2 WHERE name = ?1")?
            .execute(params![self.name, self.acl])?;
        if updated == 0 {
            return Err(MetaError::NoSuchBucket);
        }
        Ok(())
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Buckets
    }
}
