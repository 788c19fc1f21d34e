//! Object commands: put (conditional, versioned), get, delete, batch delete and ACL replacement.
//! How their records map to rows is `object_rows`; what versioning changes is `versions`.

use rusqlite::{params, OptionalExtension, Transaction};

use super::bucket_rows::{get_bucket_state, require_bucket};
use super::command::{Changes, MetaCommand};
use super::object_rows::{files_of, get_object, remote_of};
use super::version_id::VersionSelector;
use super::version_lookup::put_version_acl;
use super::version_rows::release_bytes;
use super::versions::{
    delete_version, write_version, DeletedVersion, VersionDeleted, VersionWritten,
};
use super::{DeleteCondition, MetaError, ObjectRecord, PutCondition};
use crate::object_bytes::FileId;

/// Write an object as the key's newest version (the bucket must exist) if the condition holds;
/// answers its version id and the files no version references any more, to delete after the
/// commit.
#[derive(Debug)]
pub struct PutObject(pub ObjectRecord, pub PutCondition);

impl MetaCommand for PutObject {
    type Reply = VersionWritten;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<VersionWritten, MetaError> {
        let PutObject(record, condition) = self;
        let Some(bucket) = get_bucket_state(transaction, &record.bucket)? else {
            return Err(MetaError::NoSuchBucket);
        };
        super::usage::within_quota(transaction, &record.bucket, || {
            write_version(transaction, &bucket, record, condition)
        })
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Object {
            bucket: &self.0.bucket,
            key: &self.0.key,
        }
    }

    /// Reads the current row, and noncurrent versions only where staged ones cannot be: the
    /// newest sequence and delete marker of a key (staged rows are older than its current row;
    /// a key without one has none staged), and a Suspended bucket's `null` version (changing
    /// the status settled them all, and a Suspended bucket's writes stage none).
    fn keeps_versions_staged(&self) -> bool {
        true
    }
}

/// Look the key's current version up (NoSuchBucket if the bucket is missing).
#[derive(Debug)]
pub struct GetObject {
    /// Bucket name.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// Read an inline object's bytes too (a GET or a copy); otherwise its body is
    /// `ObjectBody::InlineUnread`.
    pub with_bytes: bool,
}

impl MetaCommand for GetObject {
    type Reply = Option<ObjectRecord>;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<Option<ObjectRecord>, MetaError> {
        let object = get_object(transaction, &self.bucket, &self.key, self.with_bytes)?;
        if object.is_none() {
            require_bucket(transaction, &self.bucket)?;
        }
        Ok(object)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }

    /// Reads the current row only.
    fn keeps_versions_staged(&self) -> bool {
        true
    }

    const READ_ONLY: bool = true;
}

/// Delete the key or one version of it, if `condition` holds (PreconditionFailed otherwise); see
/// `versions::delete_version` for what that means in each versioning state. Answers what S3
/// reports and the files no version references any more, to delete after the commit.
#[derive(Debug)]
pub struct DeleteObject {
    /// Bucket name.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// `versionId`: remove exactly this version (or marker).
    pub version: Option<VersionSelector>,
    /// What the removed object must be (`If-Match`, `x-amz-if-match-*`).
    pub condition: DeleteCondition,
    /// Access key of the requester (a delete marker's owner).
    pub requester: String,
    /// `x-amz-bypass-governance-retention: true` from a requester allowed to bypass.
    pub bypass_governance: bool,
}

impl MetaCommand for DeleteObject {
    type Reply = VersionDeleted;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<VersionDeleted, MetaError> {
        delete_version(
            transaction,
            &self.bucket,
            &self.key,
            self.version.as_ref(),
            &self.condition,
            &self.requester,
            self.bypass_governance,
        )
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Object {
            bucket: &self.bucket,
            key: &self.key,
        }
    }
}

/// The files of the key's object if it may be deleted under `condition`; `None` if there is no
/// such object; PreconditionFailed if there is one the condition refuses.
fn conditional_files(
    transaction: &Transaction<'_>,
    bucket: &str,
    key: &str,
    condition: &DeleteCondition,
) -> Result<Option<Vec<FileId>>, MetaError> {
    let current = transaction
        .prepare_cached(
            "SELECT file_id, parts, etag, last_modified_ms, size, bytes_id FROM objects \
             WHERE bucket = ?1 AND key = ?2",
        )?
        .query_row(params![bucket, key], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, i64>(4)?,
                row.get::<_, Option<i64>>(5)?,
            ))
        })
        .optional()?;
    match current {
        None => Ok(None),
        Some((file_id, parts, etag, last_modified_ms, size, bytes_id)) => {
            if condition.holds(&etag, last_modified_ms, size as u64) {
                release_bytes(transaction, bytes_id, remote_of(&file_id).as_ref())?;
                Ok(Some(files_of(file_id, parts)))
            } else {
                Err(MetaError::PreconditionFailed)
            }
        }
    }
}

fn delete_row(transaction: &Transaction<'_>, bucket: &str, key: &str) -> Result<(), MetaError> {
    super::version_rows::delete_current(transaction, bucket, key)?;
    Ok(())
}

/// What a DeleteBatch did: the files no version references any more, which entries' conditions
/// did not hold (left in place), and what each entry removed or wrote.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BatchDeleted {
    /// Files to delete after the commit.
    pub files: Vec<FileId>,
    /// Positions (in `keys`) refused with PreconditionFailed.
    pub precondition_failed: Vec<usize>,
    /// Positions (in `keys`) refused because the version is locked (Object Lock).
    pub locked: Vec<usize>,
    /// For each position of `keys`, what S3 reports (`VersionId`, `DeleteMarker`,
    /// `DeleteMarkerVersionId`); all default in a bucket never versioned when no entry names a
    /// version.
    pub deleted: Vec<DeletedVersion>,
}

/// Delete many keys or versions (absent ones are ignored). In a bucket never versioned, with no
/// entry naming a version, the unconditional keys go in one statement, each conditional one
/// after its check; otherwise each entry goes as DeleteObject would take it.
#[derive(Debug)]
pub struct DeleteBatch {
    /// Bucket name.
    pub bucket: String,
    /// Keys to delete.
    pub keys: Vec<String>,
    /// Each key's `VersionId` (same order as `keys`, or the whole list empty when none has one).
    pub versions: Vec<Option<VersionSelector>>,
    /// Each key's condition (same order as `keys`; empty when unconditional, or the whole list
    /// empty when none is conditional).
    pub conditions: Vec<DeleteCondition>,
    /// Access key of the requester (the delete markers' owner).
    pub requester: String,
    /// `x-amz-bypass-governance-retention: true` from a requester allowed to bypass.
    pub bypass_governance: bool,
}

impl MetaCommand for DeleteBatch {
    type Reply = BatchDeleted;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<BatchDeleted, MetaError> {
        let Some(bucket) = get_bucket_state(transaction, &self.bucket)? else {
            return Err(MetaError::NoSuchBucket);
        };
        if bucket.versioning.is_none() && self.versions.iter().all(Option::is_none) {
            return delete_unversioned(transaction, self);
        }
        let mut outcome = BatchDeleted::default();
        let unconditional = DeleteCondition::default();
        for (index, key) in self.keys.iter().enumerate() {
            let version = self.versions.get(index).and_then(Option::as_ref);
            let condition = self.conditions.get(index).unwrap_or(&unconditional);
            match delete_version(
                transaction,
                &self.bucket,
                key,
                version,
                condition,
                &self.requester,
                self.bypass_governance,
            ) {
                Ok(deleted) => {
                    outcome.files.extend(deleted.freed);
                    outcome.deleted.push(deleted.deleted);
                }
                Err(MetaError::PreconditionFailed) => {
                    outcome.precondition_failed.push(index);
                    outcome.deleted.push(DeletedVersion::default());
                }
                Err(MetaError::ObjectLocked) => {
                    outcome.locked.push(index);
                    outcome.deleted.push(DeletedVersion::default());
                }
                Err(error) => return Err(error),
            }
        }
        Ok(outcome)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Objects {
            bucket: &self.bucket,
            keys: &self.keys,
        }
    }
}

/// DeleteBatch in a bucket never versioned: the unconditional keys in `IN (…)` statements, each
/// conditional one after its check, in request order.
fn delete_unversioned(
    transaction: &Transaction<'_>,
    batch: &DeleteBatch,
) -> Result<BatchDeleted, MetaError> {
    let mut outcome = BatchDeleted {
        deleted: vec![DeletedVersion::default(); batch.keys.len()],
        ..BatchDeleted::default()
    };
    let mut unconditional: Vec<&String> = Vec::with_capacity(batch.keys.len());
    for (index, key) in batch.keys.iter().enumerate() {
        match batch
            .conditions
            .get(index)
            .filter(|condition| !condition.is_empty())
        {
            None => unconditional.push(key),
            Some(condition) => {
                // In request order: the unconditional entries before this one go first.
                outcome
                    .files
                    .extend(delete_keys(transaction, &batch.bucket, &unconditional)?);
                unconditional.clear();
                match conditional_files(transaction, &batch.bucket, key, condition) {
                    Ok(Some(files)) => {
                        delete_row(transaction, &batch.bucket, key)?;
                        outcome.files.extend(files);
                    }
                    Ok(None) => {}
                    Err(MetaError::PreconditionFailed) => outcome.precondition_failed.push(index),
                    Err(error) => return Err(error),
                }
            }
        }
    }
    outcome
        .files
        .extend(delete_keys(transaction, &batch.bucket, &unconditional)?);
    Ok(outcome)
}

/// Deletes `keys` of `bucket` in one `IN (…)` statement; the files their rows referenced.
fn delete_keys(
    transaction: &Transaction<'_>,
    bucket: &str,
    keys: &[&String],
) -> Result<Vec<FileId>, MetaError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    // One IN (...) list for the whole batch (at most 1000 keys, far below SQLite's variable
    // limit).
    let placeholders = vec!["?"; keys.len()].join(",");
    let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(keys.len() + 1);
    values.push(&bucket);
    for key in keys {
        values.push(*key);
    }
    let mut select = transaction.prepare(&format!(
        "SELECT file_id, parts, bytes_id FROM objects WHERE bucket = ? AND key IN ({placeholders})"
    ))?;
    let rows = select
        .query_map(values.as_slice(), |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, Option<i64>>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut files = Vec::with_capacity(rows.len());
    for (file_id, parts, bytes_id) in rows {
        release_bytes(transaction, bytes_id, remote_of(&file_id).as_ref())?;
        files.extend(files_of(file_id, parts));
    }
    let mut delete = transaction.prepare(&format!(
        "DELETE FROM objects WHERE bucket = ? AND key IN ({placeholders}) RETURNING size"
    ))?;
    let sizes = delete.query_map(values.as_slice(), |row| row.get::<_, i64>(0))?;
    let (mut count, mut size_bytes) = (0i64, 0i64);
    for size in sizes {
        count += 1;
        size_bytes += size?;
    }
    super::usage::count(bucket, -count, 0, -size_bytes);
    Ok(files)
}

/// Replace the access control list of an object's current version, or of the version named.
#[derive(Debug)]
pub struct PutObjectAcl {
    /// Bucket name.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// `versionId`: that version's list (NoSuchVersion if it is missing).
    pub version: Option<VersionSelector>,
    /// Encoded list (`None`: the default, `private`).
    pub acl: Option<String>,
}

impl MetaCommand for PutObjectAcl {
    type Reply = ();

    fn apply(&self, transaction: &Transaction<'_>) -> Result<(), MetaError> {
        if let Some(selector) = &self.version {
            return put_version_acl(
                transaction,
                &self.bucket,
                &self.key,
                selector,
                self.acl.as_deref(),
            );
        }
        let updated = transaction
            .prepare_cached("UPDATE objects SET acl = ?3 WHERE bucket = ?1 AND key = ?2")?
            .execute(params![self.bucket, self.key, self.acl])?;
        if updated == 0 {
            require_bucket(transaction, &self.bucket)?;
            return Err(MetaError::NoSuchKey);
        }
        Ok(())
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Object {
            bucket: &self.bucket,
            key: &self.key,
        }
    }
}
