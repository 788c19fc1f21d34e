//! Multipart uploads in SQLite: uploads and parts tables; completion runs the S3 layer's
//! `Assembler` over the uploaded parts inside one transaction and stores the object it returns,
//! whose bytes stay in the part files (extents), so completing even a 5 GiB upload is a metadata
//! commit, not a copy. Listing uploads is `upload_listing`'s, reaping expired ones `upload_reaper`'s.

use rusqlite::{params, OptionalExtension, Transaction};

use super::bucket_rows::get_bucket_state;
use super::command::{Changes, MetaCommand};
use super::object_lock::ObjectLock;
use super::object_rows::{decode_headers, encode_headers, get_object};
use super::versions::write_version;
use super::{MetaError, ObjectRecord, PutCondition};
use crate::object_bytes::FileId;

/// An upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRecord {
    /// Upload id (opaque to clients).
    pub upload_id: String,
    /// Bucket.
    pub bucket: String,
    /// Key the object will have.
    pub key: String,
    /// Who started it.
    pub owner: String,
    /// Start time, milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// Content-Type for the finished object.
    pub content_type: Option<String>,
    /// Stored headers for the finished object.
    pub headers: Vec<(String, String)>,
    /// Checksum algorithm every part carries, as S3 names it (`x-amz-checksum-algorithm` at
    /// creation: `CRC32`, `CRC32C`, `CRC64NVME`, `SHA1`, `SHA256`).
    pub checksum_algorithm: Option<String>,
    /// Whether the object checksum is FULL_OBJECT (CRCs combined) rather than COMPOSITE.
    pub checksum_full_object: bool,
    /// Encoded access control list for the finished object (`None`: `private`).
    pub acl: Option<String>,
    /// Retention and legal hold asked for the finished object (Object Lock).
    pub lock: ObjectLock,
    /// Tags for the finished object (`x-amz-tagging`, URL-encoded).
    pub tags: Option<String>,
}

/// One uploaded part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartRecord {
    /// Upload id.
    pub upload_id: String,
    /// 1 ..= 10,000.
    pub part_number: u32,
    /// File holding the part.
    pub file_id: FileId,
    /// Size.
    pub size_bytes: u64,
    /// Hex MD5 of the part.
    pub etag: String,
    /// Upload time, milliseconds since the Unix epoch.
    pub last_modified_ms: i64,
    /// Base64 checksum of the part (the upload's algorithm).
    pub checksum: Option<String>,
}

/// How the S3 layer turns an upload and its uploaded parts into the object (which parts, in what
/// order, the ETag and checksum), or why it refuses; run inside the completion's transaction so
/// the check and the switch are atomic. The metadata stores what it returns.
pub struct Assembler(
    #[allow(clippy::type_complexity)]
    pub  Box<dyn Fn(&UploadRecord, &[PartRecord]) -> Result<ObjectRecord, MetaError> + Send>,
);

impl std::fmt::Debug for Assembler {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Assembler")
    }
}

/// A CompleteMultipartUpload request.
#[derive(Debug)]
pub struct Completion {
    /// Upload id.
    pub upload_id: String,
    /// Bucket of the request (must be the upload's).
    pub bucket: String,
    /// Key of the request (must be the upload's).
    pub key: String,
    /// Last-Modified of the new object.
    pub last_modified_ms: i64,
    /// `If-Match` / `If-None-Match` on the request, checked against the key's current object.
    pub condition: super::PutCondition,
    /// The object the upload becomes (S3's rules, from the S3 layer).
    pub assemble: Assembler,
}

/// What ListParts asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartsQuery {
    /// Upload id.
    pub upload_id: String,
    /// List parts numbered above this.
    pub after_part: u32,
    /// Page size.
    pub max_parts: usize,
}

/// One page of parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartsPage {
    /// The upload.
    pub upload: UploadRecord,
    /// Parts in order.
    pub parts: Vec<PartRecord>,
    /// More parts follow.
    pub is_truncated: bool,
}

pub(super) fn upload_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<UploadRecord> {
    let headers: String = row.get(6)?;
    let algorithm: Option<String> = row.get(7)?;
    Ok(UploadRecord {
        upload_id: row.get(0)?,
        bucket: row.get(1)?,
        key: row.get(2)?,
        owner: row.get(3)?,
        created_ms: row.get(4)?,
        content_type: row.get(5)?,
        headers: decode_headers(&headers),
        checksum_algorithm: algorithm,
        checksum_full_object: row.get::<_, i64>(8)? != 0,
        acl: row.get(9)?,
        lock: row
            .get::<_, Option<String>>(10)?
            .as_deref()
            .and_then(ObjectLock::decode)
            .unwrap_or_default(),
        tags: row.get(11)?,
    })
}

const UPLOAD_COLUMNS: &str =
    "upload_id, bucket, key, owner, created_ms, content_type, headers, checksum_algorithm, \
     checksum_full_object, acl, object_lock, tags";

fn find_upload(
    transaction: &Transaction<'_>,
    upload_id: &str,
) -> rusqlite::Result<Option<UploadRecord>> {
    transaction
        .prepare_cached(&format!(
            "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE upload_id = ?1"
        ))?
        .query_row([upload_id], upload_from_row)
        .optional()
}

fn part_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<PartRecord> {
    let file_id: String = row.get(2)?;
    Ok(PartRecord {
        upload_id: row.get(0)?,
        part_number: row.get(1)?,
        file_id: FileId::parse(&file_id).unwrap_or(FileId(0)),
        size_bytes: row.get::<_, i64>(3)? as u64,
        etag: row.get(4)?,
        last_modified_ms: row.get(5)?,
        checksum: row.get(6)?,
    })
}

fn all_parts(transaction: &Transaction<'_>, upload_id: &str) -> rusqlite::Result<Vec<PartRecord>> {
    transaction
        .prepare_cached(
            "SELECT upload_id, part_number, file_id, size, etag, last_modified_ms, checksum FROM parts \
             WHERE upload_id = ?1 ORDER BY part_number",
        )?
        .query_map([upload_id], part_from_row)?
        .collect()
}

fn delete_upload_rows(transaction: &Transaction<'_>, upload_id: &str) -> rusqlite::Result<()> {
    transaction
        .prepare_cached("DELETE FROM parts WHERE upload_id = ?1")?
        .execute([upload_id])?;
    transaction
        .prepare_cached("DELETE FROM uploads WHERE upload_id = ?1")?
        .execute([upload_id])?;
    Ok(())
}

/// CreateUpload.
fn create_upload(transaction: &Transaction<'_>, upload: &UploadRecord) -> Result<(), MetaError> {
    let bucket_exists = transaction
        .prepare_cached("SELECT 1 FROM buckets WHERE name = ?1")?
        .query_row([&upload.bucket], |_| Ok(()))
        .optional()?
        .is_some();
    if !bucket_exists {
        return Err(MetaError::NoSuchBucket);
    }
    transaction
        .prepare_cached(&format!(
            "INSERT INTO uploads ({UPLOAD_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        ))?
        .execute(params![
            upload.upload_id,
            upload.bucket,
            upload.key,
            upload.owner,
            upload.created_ms,
            upload.content_type,
            encode_headers(&upload.headers),
            upload.checksum_algorithm,
            upload.checksum_full_object as i64,
            upload.acl,
            (upload.lock != ObjectLock::default()).then(|| upload.lock.encode()),
            upload.tags
        ])?;
    Ok(())
}

/// PutPart: the upload must still exist (an abort may have raced the part's upload).
fn put_part(transaction: &Transaction<'_>, part: &PartRecord) -> Result<Vec<FileId>, MetaError> {
    if find_upload(transaction, &part.upload_id)?.is_none() {
        return Err(MetaError::NoSuchUpload);
    }
    let replaced: Option<String> = transaction
        .prepare_cached("SELECT file_id FROM parts WHERE upload_id = ?1 AND part_number = ?2")?
        .query_row(params![part.upload_id, part.part_number], |row| row.get(0))
        .optional()?;
    transaction
        .prepare_cached(
            "INSERT OR REPLACE INTO parts (upload_id, part_number, file_id, size, etag, last_modified_ms, checksum) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            part.upload_id,
            part.part_number,
            part.file_id.to_string(),
            part.size_bytes as i64,
            part.etag,
            part.last_modified_ms,
            part.checksum
        ])?;
    Ok(replaced
        .as_deref()
        .and_then(FileId::parse)
        .into_iter()
        .collect())
}

/// CompleteUpload: every check and the switch from upload to object in one transaction.
fn complete_upload(
    transaction: &Transaction<'_>,
    completion: &Completion,
) -> Result<(ObjectRecord, Vec<FileId>), MetaError> {
    let Some(upload) = find_upload(transaction, &completion.upload_id)? else {
        return repeated_completion(transaction, completion);
    };
    if upload.bucket != completion.bucket || upload.key != completion.key {
        return Err(MetaError::NoSuchUpload);
    }
    let current_etag: Option<String> = transaction
        .prepare_cached("SELECT etag FROM objects WHERE bucket = ?1 AND key = ?2")?
        .query_row(params![completion.bucket, completion.key], |row| row.get(0))
        .optional()?;
    super::object_rows::check_put_condition(&completion.condition, current_etag.as_deref())?;
    let uploaded = all_parts(transaction, &completion.upload_id)?;
    let mut record = (completion.assemble.0)(&upload, &uploaded)?;
    let kept = record.files();
    let mut obsolete: Vec<FileId> = uploaded
        .iter()
        .filter(|part| !kept.contains(&part.file_id))
        .map(|part| part.file_id)
        .collect();
    let bucket = get_bucket_state(transaction, &record.bucket)?.ok_or(MetaError::NoSuchBucket)?;
    // The condition was checked above, before the parts were assembled.
    let written = write_version(transaction, &bucket, &record, &PutCondition::None)?;
    obsolete.extend(written.freed);
    record.version_id = written.version_id;
    delete_upload_rows(transaction, &completion.upload_id)?;
    transaction
        .prepare_cached(
            "INSERT OR REPLACE INTO completed_uploads (upload_id, bucket, key, etag, completed_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            completion.upload_id,
            record.bucket,
            record.key,
            record.etag,
            completion.last_modified_ms
        ])?;
    Ok((record, obsolete))
}

/// A CompleteMultipartUpload of an upload that already completed: S3 answers 200 with the same
/// object while that object is still the key's current one; anything else is NoSuchUpload.
fn repeated_completion(
    transaction: &Transaction<'_>,
    completion: &Completion,
) -> Result<(ObjectRecord, Vec<FileId>), MetaError> {
    let completed: Option<(String, String, String)> = transaction
        .prepare_cached("SELECT bucket, key, etag FROM completed_uploads WHERE upload_id = ?1")?
        .query_row([&completion.upload_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    let Some((bucket, key, etag)) = completed else {
        return Err(MetaError::NoSuchUpload);
    };
    if bucket != completion.bucket || key != completion.key {
        return Err(MetaError::NoSuchUpload);
    }
    match get_object(transaction, &bucket, &key, false)? {
        Some(record) if record.etag == etag => Ok((record, Vec::new())),
        _ => Err(MetaError::NoSuchUpload),
    }
}

/// AbortUpload.
fn abort_upload(transaction: &Transaction<'_>, upload_id: &str) -> Result<Vec<FileId>, MetaError> {
    if find_upload(transaction, upload_id)?.is_none() {
        return Err(MetaError::NoSuchUpload);
    }
    drop_upload(transaction, upload_id)
}

/// Drops the upload `upload_id` with its part rows; returns its part files (one per part).
pub(super) fn drop_upload(
    transaction: &Transaction<'_>,
    upload_id: &str,
) -> Result<Vec<FileId>, MetaError> {
    let files = all_parts(transaction, upload_id)?
        .iter()
        .map(|part| part.file_id)
        .collect();
    delete_upload_rows(transaction, upload_id)?;
    Ok(files)
}

/// Drops every upload of a bucket being deleted; returns their part files.
pub fn drop_bucket_uploads(
    transaction: &Transaction<'_>,
    bucket: &str,
) -> Result<Vec<FileId>, MetaError> {
    let ids = transaction
        .prepare_cached("SELECT upload_id FROM uploads WHERE bucket = ?1")?
        .query_map([bucket], |row| row.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    let mut files = Vec::new();
    for id in ids {
        files.extend(drop_upload(transaction, &id)?);
    }
    Ok(files)
}

/// ListParts.
fn list_parts(transaction: &Transaction<'_>, query: &PartsQuery) -> Result<PartsPage, MetaError> {
    let upload = find_upload(transaction, &query.upload_id)?.ok_or(MetaError::NoSuchUpload)?;
    let mut parts: Vec<PartRecord> = transaction
        .prepare_cached(
            "SELECT upload_id, part_number, file_id, size, etag, last_modified_ms, checksum FROM parts \
             WHERE upload_id = ?1 AND part_number > ?2 ORDER BY part_number LIMIT ?3",
        )?
        .query_map(
            params![
                query.upload_id,
                query.after_part,
                query.max_parts as i64 + 1
            ],
            part_from_row,
        )?
        .collect::<Result<_, _>>()?;
    let is_truncated = parts.len() > query.max_parts;
    parts.truncate(query.max_parts);
    Ok(PartsPage {
        upload,
        parts,
        is_truncated,
    })
}

/// Generates a `MetaCommand` whose `apply` is a function of this file and which changes nothing
/// cores cache (uploads and parts are not objects).
macro_rules! upload_command {
    ($(#[$doc:meta])* $name:ident { $($field:ident: $type:ty),* } -> $reply:ty = |$this:ident, $transaction:ident| $body:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name { $( #[allow(missing_docs)] pub $field: $type ),* }

        impl MetaCommand for $name {
            type Reply = $reply;

            fn apply(&self, $transaction: &Transaction<'_>) -> Result<$reply, MetaError> {
                let $this = self;
                $body
            }

            fn changes(&self) -> Changes<'_> {
                Changes::Nothing
            }
        }
    };
}

upload_command!(
    /// Start a multipart upload (the bucket must exist).
    CreateUpload { upload: UploadRecord } -> () = |this, transaction| create_upload(transaction, &this.upload)
);
upload_command!(
    /// Look an upload up.
    GetUpload { upload_id: String } -> Option<UploadRecord> =
        |this, transaction| Ok(find_upload(transaction, &this.upload_id)?)
);
upload_command!(
    /// Record (or replace) a part; answers the file of the part it replaced.
    PutPart { part: PartRecord } -> Vec<FileId> = |this, transaction| put_part(transaction, &this.part)
);
upload_command!(
    /// Drop an upload and its parts; answers their files.
    AbortUpload { upload_id: String } -> Vec<FileId> =
        |this, transaction| abort_upload(transaction, &this.upload_id)
);
upload_command!(
    /// One page of an upload's parts.
    ListParts { query: PartsQuery } -> PartsPage = |this, transaction| list_parts(transaction, &this.query)
);
/// Turn an upload into an object; answers the object and the files no longer referenced (the
/// replaced object's, and parts the completion did not name).
#[derive(Debug)]
pub struct CompleteUpload(pub Completion);

impl MetaCommand for CompleteUpload {
    type Reply = (ObjectRecord, Vec<FileId>);

    fn apply(&self, transaction: &Transaction<'_>) -> Result<Self::Reply, MetaError> {
        super::usage::within_quota(transaction, &self.0.bucket, || {
            complete_upload(transaction, &self.0)
        })
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Object {
            bucket: &self.0.bucket,
            key: &self.0.key,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// CreateUpload of `id` for `key` in bucket `b`, started at 1 ms past the epoch.
    pub(crate) fn upload(key: &str, id: &str) -> CreateUpload {
        CreateUpload {
            upload: UploadRecord {
                upload_id: id.into(),
                bucket: "b".into(),
                key: key.into(),
                owner: "o".into(),
                created_ms: 1,
                content_type: None,
                headers: Vec::new(),
                checksum_algorithm: None,
                checksum_full_object: false,
                acl: None,
                lock: Default::default(),
                tags: None,
            },
        }
    }
}
