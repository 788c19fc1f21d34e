//! Multipart uploads in SQLite: uploads and parts tables; completion checks every listed part
//! inside one transaction and turns the upload into an object whose bytes stay in the part files
//! (extents), so completing even a 5 GiB upload is a metadata commit, not a copy.

use md5::{Digest, Md5};
use rusqlite::{params, OptionalExtension, Transaction};

use super::objects::{decode_headers, encode_headers, get_files, get_object, insert_object};
use super::{MetaError, MetaReply, ObjectBody, ObjectRecord, PartExtent};
use crate::limits::PART_BYTES_MIN;
use crate::storage::checksum::{checksum_of, combine_crc, ChecksumAlgorithm, StoredChecksum};
use crate::storage::FileId;

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
    /// Checksum algorithm every part carries (`x-amz-checksum-algorithm` at creation).
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// Whether the object checksum is FULL_OBJECT (CRCs combined) rather than COMPOSITE.
    pub checksum_full_object: bool,
    /// Encoded access control list for the finished object (`None`: `private`).
    pub acl: Option<String>,
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

/// A CompleteMultipartUpload request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// Upload id.
    pub upload_id: String,
    /// Bucket of the request (must be the upload's).
    pub bucket: String,
    /// Key of the request (must be the upload's).
    pub key: String,
    /// (part number, ETag without quotes, checksum if listed) as the client listed them.
    pub parts: Vec<(u32, String, Option<String>)>,
    /// Last-Modified of the new object.
    pub last_modified_ms: i64,
    /// Largest object allowed (`--max-object-size`).
    pub size_bytes_max: u64,
    /// `If-Match` / `If-None-Match` on the request, checked against the key's current object.
    pub condition: super::PutCondition,
    /// The object checksum the client expects (`x-amz-checksum-*` on the request), checked
    /// against the one computed from the parts when the upload uses that algorithm.
    pub expected_checksum: Option<(ChecksumAlgorithm, String)>,
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
        checksum_algorithm: algorithm.as_deref().and_then(ChecksumAlgorithm::from_name),
        checksum_full_object: row.get::<_, i64>(8)? != 0,
        acl: row.get(9)?,
    })
}

const UPLOAD_COLUMNS: &str =
    "upload_id, bucket, key, owner, created_ms, content_type, headers, checksum_algorithm, \
     checksum_full_object, acl";

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
pub fn create_upload(
    transaction: &Transaction<'_>,
    upload: &UploadRecord,
) -> Result<MetaReply, MetaError> {
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
            "INSERT INTO uploads ({UPLOAD_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ))?
        .execute(params![
            upload.upload_id,
            upload.bucket,
            upload.key,
            upload.owner,
            upload.created_ms,
            upload.content_type,
            encode_headers(&upload.headers),
            upload.checksum_algorithm.map(ChecksumAlgorithm::name),
            upload.checksum_full_object as i64,
            upload.acl
        ])?;
    Ok(MetaReply::UploadCreated)
}

/// GetUpload.
pub fn get_upload(transaction: &Transaction<'_>, upload_id: &str) -> Result<MetaReply, MetaError> {
    Ok(MetaReply::Upload(find_upload(transaction, upload_id)?))
}

/// PutPart: the upload must still exist (an abort may have raced the part's upload).
pub fn put_part(transaction: &Transaction<'_>, part: &PartRecord) -> Result<MetaReply, MetaError> {
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
    Ok(MetaReply::PartPut(
        replaced
            .as_deref()
            .and_then(FileId::parse)
            .into_iter()
            .collect(),
    ))
}

/// The S3 ETag of a multipart object: MD5 of the parts' binary MD5s, then `-<count>`.
pub fn multipart_etag(part_etags: &[&str]) -> String {
    let mut hasher = Md5::new();
    for etag in part_etags {
        let mut digest = [0u8; 16];
        if hex::decode_to_slice(etag, &mut digest).is_ok() {
            hasher.update(digest);
        }
    }
    format!("{}-{}", hex::encode(hasher.finalize()), part_etags.len())
}

/// CompleteUpload: every check and the switch from upload to object in one transaction.
pub fn complete_upload(
    transaction: &Transaction<'_>,
    completion: &Completion,
) -> Result<MetaReply, MetaError> {
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
    super::store::check_put_condition(&completion.condition, current_etag.as_deref())?;
    let uploaded = all_parts(transaction, &completion.upload_id)?;
    let mut previous = 0u32;
    let mut chosen: Vec<&PartRecord> = Vec::with_capacity(completion.parts.len());
    for (number, etag, checksum) in &completion.parts {
        if *number <= previous {
            return Err(MetaError::InvalidPartOrder);
        }
        previous = *number;
        let part = uploaded
            .iter()
            .find(|part| part.part_number == *number && part.etag == *etag)
            .ok_or(MetaError::InvalidPart(*number))?;
        if checksum.is_some() && checksum != &part.checksum {
            return Err(MetaError::InvalidPart(*number));
        }
        chosen.push(part);
    }
    for part in &chosen[..chosen.len().saturating_sub(1)] {
        if part.size_bytes < PART_BYTES_MIN {
            return Err(MetaError::EntityTooSmall(part.part_number));
        }
    }
    if chosen.iter().map(|part| part.size_bytes).sum::<u64>() > completion.size_bytes_max {
        return Err(MetaError::EntityTooLarge);
    }
    let etags: Vec<&str> = chosen.iter().map(|part| part.etag.as_str()).collect();
    let record = ObjectRecord {
        bucket: upload.bucket.clone(),
        key: upload.key.clone(),
        body: ObjectBody::Parts(
            chosen
                .iter()
                .map(|part| PartExtent {
                    file_id: part.file_id,
                    size_bytes: part.size_bytes,
                    checksum: part.checksum.clone(),
                })
                .collect(),
        ),
        size_bytes: chosen.iter().map(|part| part.size_bytes).sum(),
        etag: multipart_etag(&etags),
        last_modified_ms: completion.last_modified_ms,
        content_type: upload.content_type.clone(),
        headers: upload.headers.clone(),
        checksum: object_checksum(&upload, &chosen),
        owner: upload.owner.clone(),
        acl: upload.acl.clone(),
    };
    if let Some((algorithm, expected)) = &completion.expected_checksum {
        if upload.checksum_algorithm == Some(*algorithm) {
            let computed = record.checksum.as_deref().and_then(StoredChecksum::decode);
            let matches = computed.is_some_and(|computed| {
                computed.value == *expected
                    || computed.value.split_once('-').map(|(value, _)| value) == Some(expected)
            });
            if !matches {
                return Err(MetaError::BadDigest);
            }
        }
    }
    let mut obsolete: Vec<FileId> = uploaded
        .iter()
        .filter(|part| !chosen.iter().any(|kept| kept.file_id == part.file_id))
        .map(|part| part.file_id)
        .collect();
    let replaced = get_files(transaction, &record.bucket, &record.key)?;
    obsolete.extend(replaced.into_iter().flatten());
    insert_object(transaction, &record)?;
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
    Ok(MetaReply::UploadCompleted {
        record: Box::new(record),
        obsolete,
    })
}

/// A CompleteMultipartUpload of an upload that already completed: S3 answers 200 with the same
/// object while that object is still the key's current one; anything else is NoSuchUpload.
fn repeated_completion(
    transaction: &Transaction<'_>,
    completion: &Completion,
) -> Result<MetaReply, MetaError> {
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
        Some(record) if record.etag == etag => Ok(MetaReply::UploadCompleted {
            record: Box::new(record),
            obsolete: Vec::new(),
        }),
        _ => Err(MetaError::NoSuchUpload),
    }
}

/// The completed object's checksum: part CRCs combined (FULL_OBJECT) or a checksum of the part
/// checksums with `-N` (COMPOSITE). `None` if the upload has no algorithm or a part lacks one.
fn object_checksum(upload: &UploadRecord, parts: &[&PartRecord]) -> Option<String> {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let algorithm = upload.checksum_algorithm?;
    let mut raw = Vec::with_capacity(parts.len());
    for part in parts {
        raw.push((
            engine.decode(part.checksum.as_deref()?).ok()?,
            part.size_bytes,
        ));
    }
    let value = if upload.checksum_full_object {
        let mut combined = checksum_of(algorithm, b"");
        for (checksum, size) in &raw {
            combined = combine_crc(algorithm, &combined, checksum, *size)?;
        }
        engine.encode(combined)
    } else {
        let concatenated: Vec<u8> = raw
            .iter()
            .flat_map(|(checksum, _)| checksum.iter().copied())
            .collect();
        format!(
            "{}-{}",
            engine.encode(checksum_of(algorithm, &concatenated)),
            parts.len()
        )
    };
    Some(
        StoredChecksum {
            algorithm,
            full_object: upload.checksum_full_object,
            value,
        }
        .encode(),
    )
}

/// AbortUpload.
pub fn abort_upload(
    transaction: &Transaction<'_>,
    upload_id: &str,
) -> Result<MetaReply, MetaError> {
    if find_upload(transaction, upload_id)?.is_none() {
        return Err(MetaError::NoSuchUpload);
    }
    let files = all_parts(transaction, upload_id)?
        .iter()
        .map(|part| part.file_id)
        .collect();
    delete_upload_rows(transaction, upload_id)?;
    Ok(MetaReply::UploadsDropped(files))
}

/// Drops the uploads `ids` with their part rows; returns their part files.
fn drop_uploads(transaction: &Transaction<'_>, ids: Vec<String>) -> Result<Vec<FileId>, MetaError> {
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

/// ReapUploads: drops uploads older than the cut-off.
pub fn reap_uploads(
    transaction: &Transaction<'_>,
    created_before_ms: i64,
) -> Result<MetaReply, MetaError> {
    let ids: Vec<String> = transaction
        .prepare_cached("SELECT upload_id FROM uploads WHERE created_ms < ?1")?
        .query_map([created_before_ms], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    // Completed upload ids are remembered as long as an unfinished upload would live.
    transaction
        .prepare_cached("DELETE FROM completed_uploads WHERE completed_ms < ?1")?
        .execute([created_before_ms])?;
    Ok(MetaReply::UploadsDropped(drop_uploads(transaction, ids)?))
}

/// ListParts.
pub fn list_parts(
    transaction: &Transaction<'_>,
    query: &PartsQuery,
) -> Result<MetaReply, MetaError> {
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
    Ok(MetaReply::Parts(PartsPage {
        upload,
        parts,
        is_truncated,
    }))
}

/// ListUploads: uploads are few and short-lived, so one ordered scan with roll-up suffices.
pub fn list_uploads(
    transaction: &Transaction<'_>,
    query: &UploadsQuery,
) -> Result<MetaReply, MetaError> {
    let mut statement = transaction.prepare_cached(&format!(
        "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE bucket = ?1 AND substr(key, 1, length(?2)) = ?2 \
         AND (key > ?3 OR (key = ?3 AND upload_id > ?4)) ORDER BY key, upload_id"
    ))?;
    let marker_upload = if query.upload_id_marker.is_empty() {
        "\u{10FFFF}"
    } else {
        query.upload_id_marker.as_str()
    };
    let mut rows = statement.query(params![
        query.bucket,
        query.prefix,
        query.key_marker,
        marker_upload
    ])?;
    let mut page = UploadsPage::default();
    while let Some(row) = rows.next()? {
        let upload = upload_from_row(row)?;
        let entry_count = page.uploads.len() + page.common_prefixes.len();
        if let Some(delimiter) = query.delimiter.as_deref().filter(|d| !d.is_empty()) {
            let rest = &upload.key[query.prefix.len()..];
            if let Some(index) = rest.find(delimiter) {
                let common = upload.key[..query.prefix.len() + index + delimiter.len()].to_string();
                if page.common_prefixes.last() != Some(&common)
                    && common.as_str() > query.key_marker.as_str()
                {
                    if entry_count == query.max_uploads {
                        page.is_truncated = true;
                        break;
                    }
                    page.common_prefixes.push(common);
                }
                continue;
            }
        }
        if entry_count == query.max_uploads {
            page.is_truncated = true;
            break;
        }
        page.uploads.push(upload);
    }
    Ok(MetaReply::Uploads(page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_of_parts() {
        // Goal: the multipart ETag is MD5 over the binary part MD5s with the part count.
        let a = hex::encode(Md5::digest(b"a"));
        let b = hex::encode(Md5::digest(b"b"));
        let mut both = Vec::new();
        both.extend(Md5::digest(b"a"));
        both.extend(Md5::digest(b"b"));
        assert_eq!(
            multipart_etag(&[&a, &b]),
            format!("{}-2", hex::encode(Md5::digest(&both)))
        );
    }
}
