//! The two tables a key's versions live in, row by row: the current row in `objects`, the
//! noncurrent versions and delete markers in `versions`, and the moves between them (demote,
//! promote), sequence numbers, inline bytes in `version_bytes`, and the lock check before a
//! `null` version is replaced. The S3 rules built on them are `versions`; lookups are
//! `version_lookup`.

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, OptionalExtension, Transaction};

use super::object_lock::{check_removable, ObjectLock};
use super::object_rows::{files_of, free_version_bytes, lock_of, remote_of};
use super::version_id::{VersionId, VersionSelector, SEQUENCE_PER_MS};
use super::MetaError;
use crate::object_bytes::{FileId, RemoteObject};

/// The current row's facts a versioned write or delete needs.
pub(super) struct CurrentRow {
    pub(super) files: Vec<FileId>,
    /// Its bytes' object upstream, once moved to a tier (then `files` is empty).
    pub(super) remote: Option<RemoteObject>,
    pub(super) etag: String,
    pub(super) last_modified_ms: i64,
    pub(super) size_bytes: u64,
    pub(super) version_id: Option<String>,
    pub(super) sequence: i64,
    /// Its inline bytes' id in `version_bytes`.
    pub(super) bytes_id: Option<i64>,
    /// Its retention and legal hold.
    pub(super) lock: ObjectLock,
}

/// The key's current row, if it has one.
pub(super) fn current_row(
    transaction: &Transaction<'_>,
    bucket: &str,
    key: &str,
) -> rusqlite::Result<Option<CurrentRow>> {
    transaction
        .prepare_cached(
            "SELECT file_id, parts, etag, last_modified_ms, size, version_id, sequence, \
             bytes_id, lock_mode, retain_until_ms, legal_hold \
             FROM objects WHERE bucket = ?1 AND key = ?2",
        )?
        .query_row(params![bucket, key], |row| {
            let last_modified_ms: i64 = row.get(3)?;
            let file_id: String = row.get(0)?;
            Ok(CurrentRow {
                remote: remote_of(&file_id),
                files: files_of(file_id, row.get(1)?),
                etag: row.get(2)?,
                last_modified_ms,
                size_bytes: row.get::<_, i64>(4)? as u64,
                version_id: row.get(5)?,
                // Rows written before versioning sort by their write time.
                sequence: row
                    .get::<_, Option<i64>>(6)?
                    .unwrap_or(last_modified_ms * SEQUENCE_PER_MS),
                bytes_id: row.get(7)?,
                lock: lock_of(row.get(8)?, row.get(9)?, row.get(10)?),
            })
        })
        .optional()
}

/// Milliseconds since the Unix epoch on the metadata thread's clock.
pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

/// A sequence number newer than every version of the key (so ordering survives a clock that
/// steps back) and not older than `now_ms`.
pub(super) fn next_sequence(
    transaction: &Transaction<'_>,
    bucket: &str,
    key: &str,
    current: Option<&CurrentRow>,
    now_ms: i64,
) -> rusqlite::Result<i64> {
    // The current version is the key's newest (S3's definition of current: every write makes
    // the new version current, and a delete by id promotes the newest left), so the noncurrent
    // ones need reading only when there is none (a delete marker may be newest then).
    if let Some(current) = current {
        return Ok((current.sequence + 1).max(now_ms * SEQUENCE_PER_MS));
    }
    let newest_noncurrent: Option<i64> = transaction
        .prepare_cached(
            "SELECT sequence FROM versions WHERE bucket = ?1 AND key = ?2 \
             ORDER BY sequence DESC LIMIT 1",
        )?
        .query_row(params![bucket, key], |row| row.get(0))
        .optional()?;
    Ok(
        newest_noncurrent.map_or(now_ms * SEQUENCE_PER_MS, |newest| {
            (newest + 1).max(now_ms * SEQUENCE_PER_MS)
        }),
    )
}

/// The columns a row keeps when it moves between `objects` and `versions` (both tables name them
/// alike).
const MOVED_COLUMNS: &str = "bucket, key, file_id, size, etag, last_modified_ms, content_type, \
     headers, checksum, owner, parts, acl, version_id, bytes_id, lock_mode, retain_until_ms, \
     legal_hold, tags";

/// Every column of a `versions` row (`versions_staged` names them alike).
pub(super) const VERSION_COLUMNS: &str = "bucket, key, file_id, size, etag, last_modified_ms, \
     content_type, headers, checksum, owner, parts, acl, version_id, bytes_id, lock_mode, \
     retain_until_ms, legal_hold, tags, sequence, delete_marker, noncurrent_ms";

/// The key's current row (?1 bucket, ?2 key) as a `versions` row, in `VERSION_COLUMNS` order:
/// ?3 when it became noncurrent.
pub(super) fn current_as_version_sql() -> String {
    format!(
        "bucket, key, file_id, size, etag, last_modified_ms, content_type, headers, checksum, \
         owner, parts, acl, version_id, bytes_id, lock_mode, retain_until_ms, \
         legal_hold, tags, COALESCE(sequence, last_modified_ms * {SEQUENCE_PER_MS}), 0, ?3 \
         FROM objects WHERE bucket = ?1 AND key = ?2"
    )
}

/// Moves the key's current row into `versions`: it becomes noncurrent at `noncurrent_ms`.
pub(super) fn demote_current(
    transaction: &Transaction<'_>,
    bucket: &str,
    key: &str,
    current: &CurrentRow,
    noncurrent_ms: i64,
) -> rusqlite::Result<()> {
    copy_current_to_versions(transaction, bucket, key, current, noncurrent_ms)?;
    delete_current(transaction, bucket, key)
}

/// A key without a current row whose newest version is a delete marker: that marker stops
/// being current at `noncurrent_ms` (a write or another delete goes over it). Lifecycle's
/// NoncurrentDays count from then.
pub(super) fn mark_current_marker_noncurrent(
    transaction: &Transaction<'_>,
    bucket: &str,
    key: &str,
    noncurrent_ms: i64,
) -> rusqlite::Result<()> {
    transaction
        .prepare_cached(
            "UPDATE versions SET noncurrent_ms = ?3 WHERE bucket = ?1 AND key = ?2 \
             AND delete_marker = 1 AND sequence = (SELECT max(sequence) FROM versions \
             WHERE bucket = ?1 AND key = ?2)",
        )?
        .execute(params![bucket, key, noncurrent_ms])?;
    Ok(())
}

/// Copies the key's current row into `versions`, noncurrent from `noncurrent_ms` (a write that
/// replaces the current row next needs no delete). Inline bytes stay where they are, named by
/// the row's `bytes_id`.
pub(super) fn copy_current_to_versions(
    transaction: &Transaction<'_>,
    bucket: &str,
    key: &str,
    current: &CurrentRow,
    noncurrent_ms: i64,
) -> rusqlite::Result<()> {
    // Built once: it runs on every overwrite of a file-backed version in an Enabled bucket.
    static COPY_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "INSERT INTO versions ({VERSION_COLUMNS}) SELECT {}",
            current_as_version_sql()
        )
    });
    transaction
        .prepare_cached(&COPY_SQL)?
        .execute(params![bucket, key, noncurrent_ms])?;
    super::usage::count(bucket, 0, 1, current.size_bytes as i64);
    Ok(())
}

/// Frees a removed version's inline bytes (`None`: it had none in `version_bytes`) and queues its
/// remote object, if it was moved to a tier, for garbage collection in the same transaction.
pub(super) fn release_bytes(
    transaction: &Transaction<'_>,
    bytes_id: Option<i64>,
    remote: Option<&RemoteObject>,
) -> rusqlite::Result<()> {
    super::tier_rows::queue_garbage(transaction, remote)?;
    free_version_bytes(transaction, bytes_id)
}

pub(super) fn delete_current(
    transaction: &Transaction<'_>,
    bucket: &str,
    key: &str,
) -> rusqlite::Result<()> {
    let removed: Option<i64> = transaction
        .prepare_cached("DELETE FROM objects WHERE bucket = ?1 AND key = ?2 RETURNING size")?
        .query_row(params![bucket, key], |row| row.get(0))
        .optional()?;
    if let Some(size_bytes) = removed {
        super::usage::count(bucket, -1, 0, -size_bytes);
    }
    Ok(())
}

/// After a removal: if the key has no current row and its newest noncurrent version is an
/// object (not a delete marker), that version becomes current again.
pub(super) fn promote_newest(
    transaction: &Transaction<'_>,
    bucket: &str,
    key: &str,
) -> rusqlite::Result<()> {
    let has_current = transaction
        .prepare_cached("SELECT 1 FROM objects WHERE bucket = ?1 AND key = ?2")?
        .query_row(params![bucket, key], |_| Ok(()))
        .optional()?
        .is_some();
    if has_current {
        return Ok(());
    }
    let newest: Option<(i64, bool)> = transaction
        .prepare_cached(
            "SELECT sequence, delete_marker FROM versions WHERE bucket = ?1 AND key = ?2 \
             ORDER BY sequence DESC LIMIT 1",
        )?
        .query_row(params![bucket, key], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let Some((sequence, false)) = newest else {
        return Ok(());
    };
    let promoted: Option<i64> = transaction
        .prepare_cached(&format!(
            "INSERT INTO objects ({MOVED_COLUMNS}, sequence) SELECT {MOVED_COLUMNS}, sequence \
             FROM versions WHERE bucket = ?1 AND key = ?2 AND sequence = ?3 RETURNING size"
        ))?
        .query_row(params![bucket, key, sequence], |row| row.get(0))
        .optional()?;
    if let Some(size_bytes) = promoted {
        super::usage::count(bucket, 1, 0, size_bytes);
    }
    delete_noncurrent(transaction, bucket, key, sequence)
}

pub(super) fn delete_noncurrent(
    transaction: &Transaction<'_>,
    bucket: &str,
    key: &str,
    sequence: i64,
) -> rusqlite::Result<()> {
    let removed: Option<(i64, bool)> = transaction
        .prepare_cached(
            "DELETE FROM versions WHERE bucket = ?1 AND key = ?2 AND sequence = ?3 \
             RETURNING size, delete_marker",
        )?
        .query_row(params![bucket, key, sequence], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    if let Some((size_bytes, false)) = removed {
        super::usage::count(bucket, 0, -1, -size_bytes);
    }
    Ok(())
}

/// A noncurrent version (or delete marker) found by its selector.
pub(super) struct NoncurrentRow {
    pub(super) sequence: i64,
    pub(super) delete_marker: bool,
    pub(super) files: Vec<FileId>,
    /// Its bytes' object upstream, once moved to a tier (then `files` is empty).
    pub(super) remote: Option<RemoteObject>,
    pub(super) etag: String,
    pub(super) last_modified_ms: i64,
    pub(super) size_bytes: u64,
    pub(super) bytes_id: Option<i64>,
    pub(super) lock: ObjectLock,
}

/// The columns `find_noncurrent` reads, as a literal for `concat!`.
macro_rules! noncurrent_columns {
    () => {
        "sequence, delete_marker, file_id, parts, etag, last_modified_ms, size, bytes_id, \
         lock_mode, retain_until_ms, legal_hold"
    };
}

/// A key's noncurrent null version (at most one). Through the partial index of null versions
/// (schema version 15), named because SQLite would rather scan the key's versions by the primary
/// key: a PUT or DELETE in a Suspended bucket looks its key's null version up twice, and a key
/// with a million versions made each of those a scan of them all.
pub(super) const NONCURRENT_NULL_SQL: &str = concat!(
    "SELECT ",
    noncurrent_columns!(),
    " FROM versions INDEXED BY versions_null WHERE bucket = ?1 AND key = ?2 AND version_id IS NULL"
);

/// The noncurrent version or marker `selector` names, if there is one.
pub(super) fn find_noncurrent(
    transaction: &Transaction<'_>,
    bucket: &str,
    key: &str,
    selector: &VersionSelector,
) -> rusqlite::Result<Option<NoncurrentRow>> {
    let map = |row: &rusqlite::Row<'_>| {
        let file_id: String = row.get(2)?;
        Ok(NoncurrentRow {
            sequence: row.get(0)?,
            delete_marker: row.get(1)?,
            remote: remote_of(&file_id),
            files: files_of(file_id, row.get(3)?),
            etag: row.get(4)?,
            last_modified_ms: row.get(5)?,
            size_bytes: row.get::<_, i64>(6)? as u64,
            bytes_id: row.get(7)?,
            lock: lock_of(row.get(8)?, row.get(9)?, row.get(10)?),
        })
    };
    match selector {
        VersionSelector::Null => transaction
            .prepare_cached(NONCURRENT_NULL_SQL)?
            .query_row(params![bucket, key], map)
            .optional(),
        VersionSelector::Id(id) => transaction
            .prepare_cached(concat!(
                "SELECT ",
                noncurrent_columns!(),
                " FROM versions \
                 WHERE bucket = ?1 AND key = ?2 AND sequence = ?3 AND version_id = ?4"
            ))?
            .query_row(params![bucket, key, id.sequence(), id.as_str()], map)
            .optional(),
    }
}

/// Refuses (before anything is changed) when the key's noncurrent null version, which a
/// Suspended bucket's write or delete is about to replace, may not be removed.
pub(super) fn check_noncurrent_null_removable(
    transaction: &Transaction<'_>,
    bucket: &str,
    key: &str,
    bypass_governance: bool,
) -> Result<(), MetaError> {
    match find_noncurrent(transaction, bucket, key, &VersionSelector::Null)? {
        Some(row) => check_removable(&row.lock, now_ms(), bypass_governance),
        None => Ok(()),
    }
}

/// Removes the key's noncurrent null version (a Suspended bucket's write or delete replaces it);
/// the files it held.
pub(super) fn remove_noncurrent_null(
    transaction: &Transaction<'_>,
    bucket: &str,
    key: &str,
) -> Result<Vec<FileId>, MetaError> {
    match find_noncurrent(transaction, bucket, key, &VersionSelector::Null)? {
        Some(row) => {
            check_removable(&row.lock, now_ms(), false)?;
            delete_noncurrent(transaction, bucket, key, row.sequence)?;
            release_bytes(transaction, row.bytes_id, row.remote.as_ref())?;
            Ok(row.files)
        }
        None => Ok(Vec::new()),
    }
}

/// Writes a delete marker as the key's newest version (`version_id` `None`: the null marker).
pub(super) fn insert_marker(
    transaction: &Transaction<'_>,
    bucket: &str,
    key: &str,
    sequence: i64,
    version_id: Option<&VersionId>,
    owner: &str,
) -> rusqlite::Result<()> {
    transaction
        .prepare_cached(
            "INSERT INTO versions (bucket, key, sequence, version_id, delete_marker, file_id, \
             size, etag, last_modified_ms, headers, owner) \
             VALUES (?1, ?2, ?3, ?4, 1, '', 0, '', ?5, '', ?6)",
        )?
        .execute(params![
            bucket,
            key,
            sequence,
            version_id.map(VersionId::as_str),
            sequence / SEQUENCE_PER_MS,
            owner
        ])?;
    Ok(())
}
