//! Multipart uploads in SQLite: uploads and parts tables; completion runs the S3 layer's
//! `Assembler` over the uploaded parts inside one transaction and stores the object it returns,
//! whose bytes stay in the part files (extents), so completing even a 5 GiB upload is a metadata
//! commit, not a copy.

use rusqlite::{params, OptionalExtension, Transaction};

use super::bucket_rows::get_bucket_state;
use super::command::{Changes, MetaCommand};
use super::object_lock::ObjectLock;
use super::object_rows::{decode_headers, encode_headers, get_object};
use super::versions::write_version;
use super::{MetaError, ObjectRecord, PutCondition};
use crate::limits::REAP_ROWS_PER_COMMAND;
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

/// What ListMultipartUploads asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadsQuery {
    /// Bucket.
    pub bucket: String,
    /// Key prefix.
    pub prefix: String,
    /// Roll keys up at this.
    pub delimiter: Option<String>,
    /// Resume after this key (and upload id marker).
    pub key_marker: String,
    /// With `key_marker`: resume after this upload of that key.
    pub upload_id_marker: String,
    /// Page size.
    pub max_uploads: usize,
}

/// One page of uploads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UploadsPage {
    /// Uploads in (key, upload id) order.
    pub uploads: Vec<UploadRecord>,
    /// Common prefixes.
    pub common_prefixes: Vec<String>,
    /// More follow.
    pub is_truncated: bool,
}

fn upload_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<UploadRecord> {
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
    let files = all_parts(transaction, upload_id)?
        .iter()
        .map(|part| part.file_id)
        .collect();
    delete_upload_rows(transaction, upload_id)?;
    Ok(files)
}

/// Drops the uploads `ids` with their part rows; returns their part files.
pub(super) fn drop_uploads(
    transaction: &Transaction<'_>,
    ids: Vec<String>,
) -> Result<Vec<FileId>, MetaError> {
    let mut files = Vec::new();
    for id in ids {
        files.extend(all_parts(transaction, &id)?.iter().map(|part| part.file_id));
        delete_upload_rows(transaction, &id)?;
    }
    Ok(files)
}

/// Drops every upload of a bucket being deleted; returns their part files.
pub fn drop_bucket_uploads(
    transaction: &Transaction<'_>,
    bucket: &str,
) -> Result<Vec<FileId>, MetaError> {
    let ids: Vec<String> = transaction
        .prepare_cached("SELECT upload_id FROM uploads WHERE bucket = ?1")?
        .query_map([bucket], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    drop_uploads(transaction, ids)
}

/// What one ReapUploads step dropped.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReapedUploads {
    /// The dropped uploads' part files, to delete after the commit.
    pub files: Vec<FileId>,
    /// Unfinished uploads dropped.
    pub uploads_dropped: usize,
    /// Completed upload ids forgotten (a repeated CompleteMultipartUpload of one is NoSuchUpload).
    pub completions_forgotten: usize,
    /// Expired rows may remain: the step stopped at `REAP_ROWS_PER_COMMAND`.
    pub more: bool,
}

/// The oldest completed upload ids before a time (`?1`), at most `?2`, forgotten.
const FORGET_COMPLETED_UPLOADS_SQL: &str = "DELETE FROM completed_uploads WHERE upload_id IN \
     (SELECT upload_id FROM completed_uploads WHERE completed_ms < ?1 ORDER BY completed_ms LIMIT ?2)";

/// The oldest unfinished uploads started before a time (`?1`), at most `?2`.
const EXPIRED_UPLOADS_SQL: &str =
    "SELECT upload_id FROM uploads WHERE created_ms < ?1 ORDER BY created_ms LIMIT ?2";

/// ReapUploads: forgets completed upload ids and drops unfinished uploads older than the
/// cut-off, oldest first, at most `REAP_ROWS_PER_COMMAND` rows a step (past that, only the
/// parts of the upload being dropped). Both searches are index ranges (schema version 15): the
/// expired rows are found without reading the others.
fn reap_uploads(
    transaction: &Transaction<'_>,
    created_before_ms: i64,
) -> Result<ReapedUploads, MetaError> {
    // Completed upload ids are remembered as long as an unfinished upload would live.
    let forgotten = transaction
        .prepare_cached(FORGET_COMPLETED_UPLOADS_SQL)?
        .execute(params![created_before_ms, REAP_ROWS_PER_COMMAND as i64])?;
    let budget = REAP_ROWS_PER_COMMAND - forgotten;
    let mut reaped = ReapedUploads {
        completions_forgotten: forgotten,
        more: budget == 0,
        ..ReapedUploads::default()
    };
    if budget == 0 {
        return Ok(reaped);
    }
    let ids: Vec<String> = transaction
        .prepare_cached(EXPIRED_UPLOADS_SQL)?
        .query_map(params![created_before_ms, budget as i64], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    reaped.more = ids.len() == budget;
    let mut rows = 0;
    for id in ids {
        if rows >= budget {
            reaped.more = true;
            break;
        }
        let parts = all_parts(transaction, &id)?;
        rows += 1 + parts.len();
        reaped.uploads_dropped += 1;
        reaped.files.extend(parts.iter().map(|part| part.file_id));
        delete_upload_rows(transaction, &id)?;
    }
    Ok(reaped)
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

/// A page of uploads from `(key, upload_id)` after `?2, ?3` to the prefix's end `?4`: a range of
/// the `uploads_by_key` index, read from its start and no further than the page needs (an OR of
/// key comparisons, or a prefix tested by `substr`, made SQLite read the bucket's every upload).
pub(crate) const UPLOADS_PAGE_SQL: &str = concat!(
    "SELECT upload_id, bucket, key, owner, created_ms, content_type, headers, ",
    "checksum_algorithm, checksum_full_object, acl, object_lock, tags FROM uploads ",
    "WHERE bucket = ?1 AND (key, upload_id) > (?2, ?3) AND key < ?4 ORDER BY key, upload_id"
);

/// ListUploads, with roll-up of common prefixes.
fn list_uploads(
    transaction: &Transaction<'_>,
    query: &UploadsQuery,
) -> Result<UploadsPage, MetaError> {
    let mut statement = transaction.prepare_cached(UPLOADS_PAGE_SQL)?;
    // After the marker's key — and only its uploads after `upload-id-marker`, when one is given
    // (S3 API Reference, ListMultipartUploads) — but never before the prefix.
    let marker_upload = if query.upload_id_marker.is_empty() {
        "\u{10FFFF}"
    } else {
        query.upload_id_marker.as_str()
    };
    let (after_key, mut after_upload) = if query.key_marker.as_str() >= query.prefix.as_str() {
        (query.key_marker.as_str(), marker_upload)
    } else {
        // Upload ids are never empty: (prefix, "") is before every upload under the prefix.
        (query.prefix.as_str(), "")
    };
    let end = super::listing::prefix_end(query.prefix.as_bytes());
    let delimiter = query.delimiter.as_deref().filter(|d| !d.is_empty());
    let mut from: Vec<u8> = after_key.as_bytes().to_vec();
    let mut page = UploadsPage::default();
    'scan: loop {
        let mut rows = statement.query(params![
            query.bucket,
            super::listing::TextBytes(&from),
            after_upload,
            super::listing::TextBytes(&end)
        ])?;
        while let Some(row) = rows.next()? {
            let upload = upload_from_row(row)?;
            let entry_count = page.uploads.len() + page.common_prefixes.len();
            if let Some(delimiter) = delimiter {
                let rest = &upload.key[query.prefix.len()..];
                if let Some(index) = rest.find(delimiter) {
                    let common =
                        upload.key[..query.prefix.len() + index + delimiter.len()].to_string();
                    if common.as_str() > query.key_marker.as_str() {
                        if entry_count == query.max_uploads {
                            page.is_truncated = true;
                            break 'scan;
                        }
                        page.common_prefixes.push(common.clone());
                    }
                    // Every other upload under the prefix with one seek, instead of reading each.
                    match super::listing::upper_bound(common.as_bytes()) {
                        Some(next) => {
                            from = next;
                            // Upload ids are never empty: (next, "") is before all of `next`'s.
                            after_upload = "";
                            continue 'scan;
                        }
                        None => break 'scan,
                    }
                }
            }
            if entry_count == query.max_uploads {
                page.is_truncated = true;
                break 'scan;
            }
            page.uploads.push(upload);
        }
        break;
    }
    Ok(page)
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
    /// One step of dropping uploads started (and forgetting uploads completed) before a time
    /// (milliseconds since the Unix epoch): the files to delete, and whether to step again.
    ReapUploads { created_before_ms: i64 } -> ReapedUploads =
        |this, transaction| reap_uploads(transaction, this.created_before_ms)
);
upload_command!(
    /// One page of an upload's parts.
    ListParts { query: PartsQuery } -> PartsPage = |this, transaction| list_parts(transaction, &this.query)
);
upload_command!(
    /// One page of a bucket's uploads.
    ListUploads { query: UploadsQuery } -> UploadsPage =
        |this, transaction| list_uploads(transaction, &this.query)
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
    use crate::meta::store::tests::{count, create_bucket};
    use crate::meta::MetaStore;

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

    fn list(
        store: &mut MetaStore,
        prefix: &str,
        key_marker: &str,
        upload_id_marker: &str,
    ) -> UploadsPage {
        store
            .apply(&ListUploads {
                query: UploadsQuery {
                    bucket: "b".into(),
                    prefix: prefix.into(),
                    delimiter: None,
                    key_marker: key_marker.into(),
                    upload_id_marker: upload_id_marker.into(),
                    max_uploads: 3,
                },
            })
            .unwrap()
    }

    // Goal: a page of ListMultipartUploads reads the uploads it returns, not the bucket's every
    // upload before its marker or after its prefix; markers and prefixes keep S3's meaning.
    #[test]
    fn an_uploads_page_reads_only_its_range() {
        let directory = tempfile::tempdir().unwrap();
        let mut store = MetaStore::open(&directory.path().join("meta.sqlite")).unwrap();
        store.apply(&create_bucket("b")).unwrap();
        let mut creates = vec![
            upload("a/1", "u1"),
            upload("a/1", "u2"),
            upload("a/2", "u3"),
        ];
        creates
            .extend((0..5_000).map(|index| upload(&format!("z/{index:05}"), &format!("v{index}"))));
        for reply in store.apply_all(&creates) {
            reply.unwrap();
        }
        let keys = |page: &UploadsPage| -> Vec<(String, String)> {
            page.uploads
                .iter()
                .map(|u| (u.key.clone(), u.upload_id.clone()))
                .collect()
        };
        let page = list(&mut store, "a/", "", "");
        assert_eq!(
            keys(&page),
            [
                ("a/1".into(), "u1".into()),
                ("a/1".into(), "u2".into()),
                ("a/2".into(), "u3".into())
            ]
        );
        assert!(!page.is_truncated);
        // After key a/1's upload u1 only; after key a/1 (no upload marker) its every upload.
        assert_eq!(keys(&list(&mut store, "a/", "a/1", "u1")).len(), 2);
        assert_eq!(
            keys(&list(&mut store, "a/", "a/1", "")),
            [("a/2".into(), "u3".into())]
        );
        // A marker before the prefix starts at the prefix.
        assert_eq!(
            keys(&list(&mut store, "z/", "a/", "")).first().unwrap().0,
            "z/00000"
        );
        let late = list(&mut store, "", "z/04990", "");
        assert_eq!(late.uploads[0].key, "z/04991");
        assert!(late.is_truncated);
        // Five pages, each a few rows: a scan of the bucket's uploads would be 50,000+ steps.
        let steps = store.vm_steps_for_test(UPLOADS_PAGE_SQL);
        assert!(
            (10..2_000).contains(&steps),
            "{steps} SQLite steps for five small pages"
        );
    }

    // Goal: with a delimiter, each common prefix costs one seek past its uploads, whether it is
    // listed or lies before the key marker; the uploads beside the prefixes are listed as before.
    // (Read one by one, the 5,000 uploads under z/ were 5,000 rows for one entry of the page.)
    #[test]
    fn a_common_prefix_of_uploads_is_passed_with_one_seek() {
        let directory = tempfile::tempdir().unwrap();
        let mut store = MetaStore::open(&directory.path().join("meta.sqlite")).unwrap();
        store.apply(&create_bucket("b")).unwrap();
        let mut creates = vec![upload("a/1", "u1"), upload("a/2", "u2"), upload("m", "u3")];
        creates
            .extend((0..5_000).map(|index| upload(&format!("z/{index:05}"), &format!("v{index}"))));
        for reply in store.apply_all(&creates) {
            reply.unwrap();
        }
        let list = |store: &mut MetaStore, key_marker: &str| {
            let page = store
                .apply(&ListUploads {
                    query: UploadsQuery {
                        bucket: "b".into(),
                        prefix: String::new(),
                        delimiter: Some("/".into()),
                        key_marker: key_marker.into(),
                        upload_id_marker: String::new(),
                        max_uploads: 1_000,
                    },
                })
                .unwrap();
            let uploads: Vec<String> = page.uploads.iter().map(|u| u.key.clone()).collect();
            (page.common_prefixes, uploads, page.is_truncated)
        };
        let before = store.vm_steps_for_test(UPLOADS_PAGE_SQL);
        assert_eq!(
            list(&mut store, ""),
            (vec!["a/".into(), "z/".into()], vec!["m".into()], false)
        );
        // A marker inside z/: the prefix was listed on an earlier page and is passed.
        assert_eq!(
            list(&mut store, "z/00010"),
            (Vec::<String>::new(), Vec::<String>::new(), false)
        );
        let steps = store.vm_steps_for_test(UPLOADS_PAGE_SQL) - before;
        assert!(
            steps < 500,
            "{steps} SQLite steps for two pages of three entries"
        );
    }

    // Goal: the reaper forgets old completions and drops expired uploads (with their parts'
    // files) oldest first, at most REAP_ROWS_PER_COMMAND rows a step, keeps what is young, and
    // finds the expired rows by index: with only young rows left a step reads next to nothing
    // (read whole, the 7,000 young rows were thousands of SQLite steps per reap).
    #[test]
    fn the_reaper_steps_through_expired_rows_by_their_index() {
        let directory = tempfile::tempdir().unwrap();
        let mut store = MetaStore::open(&directory.path().join("meta.sqlite")).unwrap();
        store.apply(&create_bucket("b")).unwrap();
        let old_completions = REAP_ROWS_PER_COMMAND + 476;
        store
            .connection()
            .execute_batch(&format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) \
             INSERT INTO completed_uploads (upload_id, bucket, key, etag, completed_ms) \
             SELECT 'young' || i, 'b', 'k', 'e', 1000000 FROM n; \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \
             {old_completions}) INSERT INTO completed_uploads (upload_id, bucket, key, etag, \
             completed_ms) SELECT 'old' || i, 'b', 'k', 'e', 5 FROM n;"
            ))
            .unwrap();
        let mut creates: Vec<CreateUpload> = (0..2_000)
            .map(|index| {
                let mut young = upload("y", &format!("young{index}"));
                young.upload.created_ms = 2_000_000;
                young
            })
            .collect();
        creates.extend((0..3).map(|index| upload("x", &format!("old{index}"))));
        for reply in store.apply_all(&creates) {
            reply.unwrap();
        }
        let mut parts = Vec::new();
        for (index, upload_id) in ["old0", "old1", "old2", "young0"].iter().enumerate() {
            for part_number in 1..=2 {
                let file_id = FileId((index * 2 + part_number) as u128);
                parts.push(file_id);
                store
                    .apply(&PutPart {
                        part: PartRecord {
                            upload_id: upload_id.to_string(),
                            part_number: part_number as u32,
                            file_id,
                            size_bytes: 1,
                            etag: "e".into(),
                            last_modified_ms: 1,
                            checksum: None,
                        },
                    })
                    .unwrap();
            }
        }
        let reap = |store: &mut MetaStore| {
            store
                .apply(&ReapUploads {
                    created_before_ms: 100,
                })
                .unwrap()
        };
        // The first step forgets as many completions as a step may delete; the second the rest,
        // and the expired uploads with their parts.
        assert_eq!(
            reap(&mut store),
            ReapedUploads {
                completions_forgotten: REAP_ROWS_PER_COMMAND,
                more: true,
                ..ReapedUploads::default()
            }
        );
        let mut second = reap(&mut store);
        second.files.sort_by_key(|file| file.0);
        assert_eq!(
            second,
            ReapedUploads {
                files: parts[..6].to_vec(),
                uploads_dropped: 3,
                completions_forgotten: 476,
                more: false
            }
        );
        assert_eq!(count(&store, "completed_uploads"), 5_000);
        assert_eq!(count(&store, "uploads"), 2_000);
        assert_eq!(count(&store, "parts"), 2);
        let before = store.vm_steps_for_test(FORGET_COMPLETED_UPLOADS_SQL)
            + store.vm_steps_for_test(EXPIRED_UPLOADS_SQL);
        assert_eq!(reap(&mut store), ReapedUploads::default());
        let steps = store.vm_steps_for_test(FORGET_COMPLETED_UPLOADS_SQL)
            + store.vm_steps_for_test(EXPIRED_UPLOADS_SQL)
            - before;
        assert!(steps < 200, "{steps} SQLite steps to find nothing expired");
    }
}
