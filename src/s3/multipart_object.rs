//! How S3 assembles a multipart object from its uploaded parts: the listed parts in ascending
//! order, each matching an uploaded part's ETag (and checksum, if listed), every part but the last
//! at least 5 MiB, the multipart ETag, and the combined (FULL_OBJECT) or composite checksum.
//! Given to `meta` as an `Assembler`, which runs it inside the completion's transaction.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use md5::{Digest, Md5};

use crate::limits::PART_BYTES_MIN;
use crate::meta::multipart::{Assembler, PartRecord, UploadRecord};
use crate::meta::{MetaError, ObjectBody, ObjectRecord, PartExtent};
use crate::storage::checksum::{checksum_of, combine_crc, ChecksumAlgorithm, StoredChecksum};

/// What the client's CompleteMultipartUpload asks for.
#[derive(Debug, Clone)]
pub struct CompletionRequest {
    /// (part number, ETag without quotes, checksum if listed) as the client listed them.
    pub parts: Vec<(u32, String, Option<String>)>,
    /// Last-Modified of the new object, milliseconds since the Unix epoch.
    pub last_modified_ms: i64,
    /// Largest object allowed (`--max-object-size`).
    pub size_bytes_max: u64,
    /// The object checksum the client expects (`x-amz-checksum-*` on the request), checked
    /// against the one computed from the parts when the upload uses that algorithm.
    pub expected_checksum: Option<(ChecksumAlgorithm, String)>,
}

/// The checksum algorithm an upload was created with.
pub fn upload_algorithm(upload: &UploadRecord) -> Option<ChecksumAlgorithm> {
    upload
        .checksum_algorithm
        .as_deref()
        .and_then(ChecksumAlgorithm::from_name)
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

/// `request` as the metadata's `Assembler`.
pub fn assembler(request: CompletionRequest) -> Assembler {
    Assembler(Box::new(move |upload, uploaded| {
        assemble(&request, upload, uploaded)
    }))
}

/// The object `upload` becomes with the parts `request` lists, or S3's refusal: InvalidPartOrder,
/// InvalidPart (unknown number, other ETag or checksum), EntityTooSmall, EntityTooLarge, BadDigest.
pub fn assemble(
    request: &CompletionRequest,
    upload: &UploadRecord,
    uploaded: &[PartRecord],
) -> Result<ObjectRecord, MetaError> {
    let chosen = chosen_parts(request, uploaded)?;
    let size_bytes: u64 = chosen.iter().map(|part| part.size_bytes).sum();
    if size_bytes > request.size_bytes_max {
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
        size_bytes,
        etag: multipart_etag(&etags),
        last_modified_ms: request.last_modified_ms,
        content_type: upload.content_type.clone(),
        headers: upload.headers.clone(),
        checksum: object_checksum(upload, &chosen),
        owner: upload.owner.clone(),
        acl: upload.acl.clone(),
        version_id: None,
        lock: upload.lock,
        tags: upload.tags.clone(),
    };
    check_expected_checksum(request, upload, &record)?;
    Ok(record)
}

/// The uploaded parts the request lists, in its (strictly ascending) order.
fn chosen_parts<'a>(
    request: &CompletionRequest,
    uploaded: &'a [PartRecord],
) -> Result<Vec<&'a PartRecord>, MetaError> {
    let mut previous = 0u32;
    let mut chosen: Vec<&PartRecord> = Vec::with_capacity(request.parts.len());
    for (number, etag, checksum) in &request.parts {
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
    Ok(chosen)
}

/// BadDigest when the client named the object's checksum in the upload's algorithm and it is not
/// the one the parts give (with or without the composite `-N`).
fn check_expected_checksum(
    request: &CompletionRequest,
    upload: &UploadRecord,
    record: &ObjectRecord,
) -> Result<(), MetaError> {
    let Some((algorithm, expected)) = &request.expected_checksum else {
        return Ok(());
    };
    if upload_algorithm(upload) != Some(*algorithm) {
        return Ok(());
    }
    let computed = record.checksum.as_deref().and_then(StoredChecksum::decode);
    let matches = computed.is_some_and(|computed| {
        computed.value == *expected
            || computed.value.split_once('-').map(|(value, _)| value) == Some(expected)
    });
    if matches {
        Ok(())
    } else {
        Err(MetaError::BadDigest)
    }
}

/// The completed object's checksum: part CRCs combined (FULL_OBJECT) or a checksum of the part
/// checksums with `-N` (COMPOSITE). `None` if the upload has no algorithm or a part lacks one.
fn object_checksum(upload: &UploadRecord, parts: &[&PartRecord]) -> Option<String> {
    let algorithm = upload_algorithm(upload)?;
    let mut raw = Vec::with_capacity(parts.len());
    for part in parts {
        raw.push((
            BASE64.decode(part.checksum.as_deref()?).ok()?,
            part.size_bytes,
        ));
    }
    let value = if upload.checksum_full_object {
        let mut combined = checksum_of(algorithm, b"");
        for (checksum, size) in &raw {
            combined = combine_crc(algorithm, &combined, checksum, *size)?;
        }
        BASE64.encode(combined)
    } else {
        let concatenated: Vec<u8> = raw
            .iter()
            .flat_map(|(checksum, _)| checksum.iter().copied())
            .collect();
        format!(
            "{}-{}",
            BASE64.encode(checksum_of(algorithm, &concatenated)),
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
