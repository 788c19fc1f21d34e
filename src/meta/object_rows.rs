//! How an `ObjectRecord` maps to a row of `objects` or `versions` and back: the columns read,
//! the body as a file id, a parts list or a `version_bytes` id (inline bytes), the lock
//! columns, the text encodings of parts and headers, and the put-condition check every write
//! makes against the current row.

use rusqlite::{params, OptionalExtension, Transaction};

use super::object_lock::{ObjectLock, ObjectLockMode, Retention};
use super::{MetaError, ObjectBody, ObjectRecord, PartExtent, PutCondition};
use crate::object_bytes::{FileId, InlineBytes, RemoteObject};

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

/// Inserts or replaces the key's current row as version `version_id` (`None`: the null version)
/// with `sequence` (`None` in a bucket never versioned). Inline bytes go to `version_bytes`, named
/// by the row's `bytes_id` (schema version 14), so the row stays small and a version can become
/// noncurrent without copying them. `replaced_size_bytes`: the size of the current row this
/// replaces, if there is one (counted out of the bucket's usage). `replaced_bytes_id`: the inline
/// bytes of the row this replaces when no other version names them (`None` where they live on,
/// or are the caller's to free): rewritten in place when this record is inline too, freed
/// otherwise.
pub(crate) fn insert_object(
    transaction: &Transaction<'_>,
    record: &ObjectRecord,
    version_id: Option<&str>,
    sequence: Option<i64>,
    lock: &ObjectLock,
    replaced_size_bytes: Option<u64>,
    replaced_bytes_id: Option<i64>,
) -> rusqlite::Result<()> {
    let (file_id, parts, bytes) = match &record.body {
        ObjectBody::File(id) => (id.to_string(), None, None),
        ObjectBody::Inline(bytes) => (String::new(), None, Some(bytes.as_slice())),
        ObjectBody::Parts(parts) => (String::new(), Some(encode_parts(parts)), None),
        ObjectBody::Remote { object, parts } => (
            object.encode(),
            (!parts.is_empty()).then(|| encode_parts(parts)),
            None,
        ),
        ObjectBody::InlineUnread => {
            unreachable!("records written come from uploads, never from a metadata-only lookup")
        }
    };
    if record
        .headers
        .iter()
        .any(|(name, _)| name == STORAGE_CLASS_HEADER)
    {
        // Listings read classes only in buckets that have had one (`listing`).
        transaction
            .prepare_cached(
                "UPDATE buckets SET storage_classes = 1 WHERE name = ?1 AND storage_classes IS NULL",
            )?
            .execute([&record.bucket])?;
    }
    // Never in the row itself: see schema version 14.
    let bytes_id = match bytes {
        Some(bytes) => Some(store_version_bytes(transaction, bytes, replaced_bytes_id)?),
        None => {
            free_version_bytes(transaction, replaced_bytes_id)?;
            None
        }
    };
    transaction
        .prepare_cached(
            "INSERT OR REPLACE INTO objects (bucket, key, file_id, size, etag, last_modified_ms, \
             content_type, headers, checksum, owner, parts, acl, version_id, sequence, bytes_id, \
             lock_mode, retain_until_ms, legal_hold, tags) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
             ?18, ?19)",
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
            lock.retention.map(|retention| retention.mode.as_str()),
            lock.retention.map(|retention| retention.retain_until_ms),
            lock.legal_hold,
            record.tags,
        ])?;
    super::usage::count(&record.bucket, 1, 0, record.size_bytes as i64);
    if let Some(size_bytes) = replaced_size_bytes {
        super::usage::count(&record.bucket, -1, 0, -(size_bytes as i64));
    }
    Ok(())
}

/// Stores a version's inline bytes in `version_bytes`, over those of `replaced` (bytes no other
/// version names) when given: an overwrite of the same size then dirties only their pages. Their
/// id.
fn store_version_bytes(
    transaction: &Transaction<'_>,
    bytes: &[u8],
    replaced: Option<i64>,
) -> rusqlite::Result<i64> {
    if let Some(id) = replaced {
        let rewritten = transaction
            .prepare_cached("UPDATE version_bytes SET bytes = ?2 WHERE id = ?1")?
            .execute(params![id, bytes])?;
        // No row to rewrite (bytes lost to damage): store them anew rather than name nothing.
        if rewritten == 1 {
            return Ok(id);
        }
    }
    transaction
        .prepare_cached("INSERT INTO version_bytes (bytes) VALUES (?1)")?
        .execute([bytes])?;
    Ok(transaction.last_insert_rowid())
}

/// Frees inline bytes no version names any more (`None`: there are none).
pub(super) fn free_version_bytes(
    transaction: &Transaction<'_>,
    bytes_id: Option<i64>,
) -> rusqlite::Result<()> {
    if let Some(id) = bytes_id {
        transaction
            .prepare_cached("DELETE FROM version_bytes WHERE id = ?1")?
            .execute([id])?;
    }
    Ok(())
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
    // Without the bytes, a constant stands in for them so both statements read alike.
    let sql = if with_bytes {
        concat!(
            "SELECT ",
            record_columns!(),
            ", (SELECT stored.bytes FROM version_bytes stored WHERE stored.id = objects.bytes_id) \
             FROM objects WHERE bucket = ?1 AND key = ?2"
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
/// read: a row with neither a file nor parts is an inline object; a `file_id` naming a remote
/// object (`RemoteObject::encode`) is a moved one.
fn body_of(file_id: &str, parts: Option<&str>, bytes: Option<Vec<u8>>) -> ObjectBody {
    let parts = decode_parts(parts);
    if let Some(object) = RemoteObject::parse(file_id) {
        return ObjectBody::Remote { object, parts };
    }
    if !parts.is_empty() {
        return ObjectBody::Parts(parts);
    }
    match (file_id.is_empty(), bytes) {
        (true, Some(bytes)) => ObjectBody::Inline(InlineBytes::new(bytes)),
        (true, None) => ObjectBody::InlineUnread,
        (false, _) => ObjectBody::File(FileId::parse(file_id).unwrap_or(FileId(0))),
    }
}

/// Every local file of a row: its `file_id`, or its parts for a multipart object; none for a
/// moved object (its bytes are upstream: `remote_of`).
pub(crate) fn files_of(file_id: String, parts: Option<String>) -> Vec<FileId> {
    if RemoteObject::parse(&file_id).is_some() {
        return Vec::new();
    }
    let parts = decode_parts(parts.as_deref());
    if parts.is_empty() {
        FileId::parse(&file_id).into_iter().collect()
    } else {
        parts.iter().map(|part| part.file_id).collect()
    }
}

/// The remote object of a row moved to a tier (its `file_id` column), if it was moved.
pub(crate) fn remote_of(file_id: &str) -> Option<RemoteObject> {
    RemoteObject::parse(file_id)
}

/// Parts as `id:size,id:size`.
pub(crate) fn encode_parts(parts: &[PartExtent]) -> String {
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

/// The stored header holding an object's storage class when it is not STANDARD.
pub const STORAGE_CLASS_HEADER: &str = "x-amz-storage-class";

/// Whether bucket `bucket` ever held an object with a storage class other than STANDARD.
pub(crate) fn has_storage_classes(
    transaction: &Transaction<'_>,
    bucket: &str,
) -> rusqlite::Result<bool> {
    use rusqlite::OptionalExtension;
    Ok(transaction
        .prepare_cached("SELECT storage_classes FROM buckets WHERE name = ?1")?
        .query_row([bucket], |row| row.get::<_, Option<i64>>(0))
        .optional()?
        .flatten()
        .is_some())
}

/// The storage class in a stored header text (`encode_headers`), without decoding the rest;
/// `None` for STANDARD (stored as nothing).
pub(crate) fn stored_storage_class(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        line.strip_prefix(STORAGE_CLASS_HEADER)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(str::to_string)
    })
}

pub(crate) fn decode_headers(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}
