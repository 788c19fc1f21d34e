//! Object commands and rows: put (conditional, versioned), get, delete, batch delete and ACL
//! replacement, and
//! how an `ObjectRecord` maps to the `objects` table (its body as a file id, a parts list or the
//! row's own `bytes`) and back, plus the text encodings of parts and headers.

use rusqlite::{params, OptionalExtension, Transaction};

use super::bucket_rows::{get_bucket, require_bucket};
use super::command::{Changes, MetaCommand};
use super::object_lock::{ObjectLock, ObjectLockMode, Retention};
use super::version_id::VersionSelector;
use super::versions::{
    delete_version, put_version_acl, write_version, DeletedVersion, VersionDeleted, VersionWritten,
};
use super::{DeleteCondition, MetaError, ObjectBody, ObjectRecord, PartExtent, PutCondition};
use crate::object_bytes::{FileId, InlineBytes};

/// Write an object as the key's newest version (the bucket must exist) if the condition holds;
/// answers its version id and the files no version references any more, to delete after the
/// commit.
#[derive(Debug)]
pub struct PutObject(pub ObjectRecord, pub PutCondition);

impl MetaCommand for PutObject {
    type Reply = VersionWritten;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<VersionWritten, MetaError> {
        let PutObject(record, condition) = self;
        let Some(bucket) = get_bucket(transaction, &record.bucket)? else {
            return Err(MetaError::NoSuchBucket);
        };
        write_version(transaction, &bucket, record, condition)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Object {
            bucket: &self.0.bucket,
            key: &self.0.key,
        }
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
            "SELECT file_id, parts, etag, last_modified_ms, size FROM objects \
             WHERE bucket = ?1 AND key = ?2",
        )?
        .query_row(params![bucket, key], |row| {
            Ok((
                files_of(row.get(0)?, row.get(1)?),
                row.get::<_, String>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, i64>(4)?,
            ))
        })
        .optional()?;
    match current {
        None => Ok(None),
        Some((files, etag, last_modified_ms, size)) => {
            if condition.holds(&etag, last_modified_ms, size as u64) {
                Ok(Some(files))
            } else {
                Err(MetaError::PreconditionFailed)
            }
        }
    }
}

fn delete_row(transaction: &Transaction<'_>, bucket: &str, key: &str) -> Result<(), MetaError> {
    transaction
        .prepare_cached("DELETE FROM objects WHERE bucket = ?1 AND key = ?2")?
        .execute(params![bucket, key])?;
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
        let Some(bucket) = get_bucket(transaction, &self.bucket)? else {
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
        "SELECT file_id, parts FROM objects WHERE bucket = ? AND key IN ({placeholders})"
    ))?;
    let files = select
        .query_map(values.as_slice(), |row| {
            Ok(files_of(row.get(0)?, row.get(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    transaction
        .prepare(&format!(
            "DELETE FROM objects WHERE bucket = ? AND key IN ({placeholders})"
        ))?
        .execute(values.as_slice())?;
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

/// Whether a conditional write may replace the row whose ETag is `current` (`None`: no row):
/// PreconditionFailed, or NoSuchKey for an If-Match on a missing key, as S3 answers.
pub(crate) fn check_put_condition(
    condition: &PutCondition,
    current: Option<&str>,
) -> Result<(), MetaError> {
    let holds = match (condition, current) {
        (PutCondition::None, _) => true,
        (PutCondition::IfAbsent, current) => current.is_none(),
        (PutCondition::IfNoneMatch(etag), current) => current != Some(etag.as_str()),
        (PutCondition::IfExists | PutCondition::IfMatch(_), None) => {
            return Err(MetaError::NoSuchKey)
        }
        (PutCondition::IfExists, Some(_)) => true,
        (PutCondition::IfMatch(etag), Some(current)) => etag == current,
    };
    if holds {
        Ok(())
    } else {
        Err(MetaError::PreconditionFailed)
    }
}

/// Inserts or replaces the key's current row, inline bytes included, as version `version_id`
/// (`None`: the null version) with `sequence` (`None` in a bucket never versioned). With a
/// sequence, inline bytes go to `version_bytes` (see schema version 5) so the version can later
/// become noncurrent without copying them.
pub(crate) fn insert_object(
    transaction: &Transaction<'_>,
    record: &ObjectRecord,
    version_id: Option<&str>,
    sequence: Option<i64>,
    lock: &ObjectLock,
) -> rusqlite::Result<()> {
    let (file_id, parts, bytes) = match &record.body {
        ObjectBody::File(id) => (id.to_string(), None, None),
        ObjectBody::Inline(bytes) => (String::new(), None, Some(bytes.as_slice())),
        ObjectBody::Parts(parts) => (String::new(), Some(encode_parts(parts)), None),
        ObjectBody::InlineUnread => {
            unreachable!("records written come from uploads, never from a metadata-only lookup")
        }
    };
    let (bytes, bytes_id) = match (sequence, bytes) {
        (Some(_), Some(bytes)) => (None, Some(store_version_bytes(transaction, bytes)?)),
        (_, bytes) => (bytes, None),
    };
    transaction
        .prepare_cached(
            "INSERT OR REPLACE INTO objects (bucket, key, file_id, size, etag, last_modified_ms, \
             content_type, headers, checksum, owner, parts, acl, version_id, sequence, bytes_id, \
             bytes, lock_mode, retain_until_ms, legal_hold, tags) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
             ?18, ?19, ?20)",
        )?
        .execute(params![
            record.bucket,
            record.key,
            file_id,
            record.size_bytes as i64,
            record.etag,
            record.last_modified_ms,
            record.content_type,
            encode_headers(&record.headers),
            record.checksum,
            record.owner,
            parts,
            record.acl,
            version_id,
            sequence,
            bytes_id,
            bytes,
            lock.retention.map(|retention| retention.mode.as_str()),
            lock.retention.map(|retention| retention.retain_until_ms),
            lock.legal_hold,
            record.tags,
        ])?;
    Ok(())
}

/// Stores a version's inline bytes in `version_bytes`; their id.
pub(crate) fn store_version_bytes(
    transaction: &Transaction<'_>,
    bytes: &[u8],
) -> rusqlite::Result<i64> {
    transaction
        .prepare_cached("INSERT INTO version_bytes (bytes) VALUES (?1)")?
        .execute([bytes])?;
    Ok(transaction.last_insert_rowid())
}

/// The columns `record_from_row` reads, in its order; the inline bytes (or NULL) follow them.
macro_rules! record_columns {
    () => {
        "file_id, size, etag, last_modified_ms, content_type, headers, checksum, owner, parts, \
         acl, version_id, lock_mode, retain_until_ms, legal_hold, tags"
    };
}
pub(crate) use record_columns;

/// Column index of the bytes (or NULL) after `record_columns!()`.
pub(crate) const BYTES_COLUMN: usize = 15;

/// A row selected as `record_columns!(), bytes` as the record of `bucket`/`key`.
pub(crate) fn record_from_row(
    bucket: &str,
    key: &str,
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<ObjectRecord> {
    let file_id: String = row.get(0)?;
    let headers: String = row.get(5)?;
    let parts: Option<String> = row.get(8)?;
    Ok(ObjectRecord {
        bucket: bucket.to_string(),
        key: key.to_string(),
        body: body_of(&file_id, parts.as_deref(), row.get(BYTES_COLUMN)?),
        size_bytes: row.get::<_, i64>(1)? as u64,
        etag: row.get(2)?,
        last_modified_ms: row.get(3)?,
        content_type: row.get(4)?,
        headers: decode_headers(&headers),
        checksum: row.get(6)?,
        owner: row.get(7)?,
        acl: row.get(9)?,
        version_id: row.get(10)?,
        lock: lock_of(row.get(11)?, row.get(12)?, row.get(13)?),
        tags: row.get(14)?,
    })
}

/// A version's protection from its `lock_mode`, `retain_until_ms` and `legal_hold` columns.
pub(crate) fn lock_of(mode: Option<String>, until_ms: Option<i64>, legal_hold: bool) -> ObjectLock {
    let retention = match (mode.as_deref().and_then(ObjectLockMode::parse), until_ms) {
        (Some(mode), Some(retain_until_ms)) => Some(Retention {
            mode,
            retain_until_ms,
        }),
        _ => None,
    };
    ObjectLock {
        retention,
        legal_hold,
    }
}

/// The key's current version (never a delete marker: those live in `versions`).
pub(crate) fn get_object(
    transaction: &Transaction<'_>,
    bucket: &str,
    key: &str,
    with_bytes: bool,
) -> rusqlite::Result<Option<ObjectRecord>> {
    // Without the bytes, a constant stands in for the column so both statements read alike and
    // SQLite never loads the blob's overflow pages.
    let sql = if with_bytes {
        concat!(
            "SELECT ",
            record_columns!(),
            ", CASE WHEN bytes_id IS NULL THEN bytes ELSE \
             (SELECT stored.bytes FROM version_bytes stored WHERE stored.id = objects.bytes_id) \
             END FROM objects WHERE bucket = ?1 AND key = ?2"
        )
    } else {
        concat!(
            "SELECT ",
            record_columns!(),
            ", NULL FROM objects WHERE bucket = ?1 AND key = ?2"
        )
    };
    transaction
        .prepare_cached(sql)?
        .query_row(params![bucket, key], |row| {
            record_from_row(bucket, key, row)
        })
        .optional()
}

/// An object row's body from its `file_id` and `parts` columns and its inline bytes, if they were
/// read: a row with neither a file nor parts is an inline object.
fn body_of(file_id: &str, parts: Option<&str>, bytes: Option<Vec<u8>>) -> ObjectBody {
    let parts = decode_parts(parts);
    if !parts.is_empty() {
        return ObjectBody::Parts(parts);
    }
    match (file_id.is_empty(), bytes) {
        (true, Some(bytes)) => ObjectBody::Inline(InlineBytes::new(bytes)),
        (true, None) => ObjectBody::InlineUnread,
        (false, _) => ObjectBody::File(FileId::parse(file_id).unwrap_or(FileId(0))),
    }
}

/// Every file of a row: its `file_id`, or its parts for a multipart object.
pub(crate) fn files_of(file_id: String, parts: Option<String>) -> Vec<FileId> {
    let parts = decode_parts(parts.as_deref());
    if parts.is_empty() {
        FileId::parse(&file_id).into_iter().collect()
    } else {
        parts.iter().map(|part| part.file_id).collect()
    }
}

/// Parts as `id:size,id:size`.
fn encode_parts(parts: &[PartExtent]) -> String {
    let mut text = String::with_capacity(parts.len() * 44);
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            text.push(',');
        }
        text.push_str(&format!("{}:{}", part.file_id, part.size_bytes));
        // Base64 has no ':' or ',', so the checksum is a safe third field.
        if let Some(checksum) = &part.checksum {
            text.push(':');
            text.push_str(checksum);
        }
    }
    text
}

/// Parses the `parts` column.
pub(crate) fn decode_parts(text: Option<&str>) -> Vec<PartExtent> {
    let Some(text) = text.filter(|text| !text.is_empty()) else {
        return Vec::new();
    };
    text.split(',')
        .filter_map(|part| {
            let mut fields = part.split(':');
            let (id, size) = (fields.next()?, fields.next()?);
            Some(PartExtent {
                file_id: FileId::parse(id)?,
                size_bytes: size.parse().ok()?,
                checksum: fields.next().map(str::to_string),
            })
        })
        .collect()
}

/// Stored headers as `name:value` lines; names cannot hold ':' and values cannot hold '\n'.
pub(crate) fn encode_headers(headers: &[(String, String)]) -> String {
    let mut text = String::new();
    for (name, value) in headers {
        text.push_str(name);
        text.push(':');
        text.push_str(value);
        text.push('\n');
    }
    text
}

pub(crate) fn decode_headers(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}
