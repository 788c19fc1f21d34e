//! Writing an object or part: receiving the body (size limit, streaming into an `ObjectWriter`,
//! then Content-MD5 and the flexible checksum — header, trailer, or computed when only
//! `x-amz-sdk-checksum-algorithm` names it — checked before anything is published), the headers
//! and write condition it stores, and the commit that makes it visible (PutObject, POST object,
//! CopyObject, UploadPart).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::http::RequestHead;
use crate::limits::USER_METADATA_BYTES_MAX;
use crate::meta::{MetaError, ObjectRecord, PutCondition};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::payload::PayloadReader;
use crate::s3::request::Call;
use crate::s3::sse::NewEncryption;
use crate::s3::{time, S3Context};
use crate::storage::checksum::ChecksumAlgorithm;
use crate::storage::{ObjectWriter, Placement, SealedObject};

/// Headers stored with an object and returned on GET/HEAD (besides Content-Type and `x-amz-meta-*`).
pub(crate) const STORED_HEADERS: &[(&str, &str)] = &[
    ("cache-control", "Cache-Control"),
    ("content-disposition", "Content-Disposition"),
    ("content-encoding", "Content-Encoding"),
    ("content-language", "Content-Language"),
    ("expires", "Expires"),
];

/// The stored header that carries an object's storage class when it is not STANDARD (returned
/// as is on GET and HEAD, as S3 does).
pub(crate) use crate::meta::object_rows::STORAGE_CLASS_HEADER;

/// The stored header for an asked storage class: a class other than STANDARD is kept as a label
/// (`unsupported` has refused the ones ringstore cannot serve); STANDARD is the default and
/// stored as nothing.
pub(crate) fn storage_class_header(value: &str) -> Option<(String, String)> {
    let class = value.trim().to_ascii_uppercase();
    (class != "STANDARD").then(|| (STORAGE_CLASS_HEADER.to_string(), class))
}

/// An object's storage class from its stored headers (STANDARD when none is stored).
pub(crate) fn storage_class(headers: &[(String, String)]) -> &str {
    headers
        .iter()
        .find(|(name, _)| name == STORAGE_CLASS_HEADER)
        .map_or("STANDARD", |(_, class)| class.as_str())
}

/// The write condition of a PutObject (`If-None-Match: *` or `If-Match: <etag>`).
pub(crate) fn parse_put_condition(head: &RequestHead) -> S3Result<PutCondition> {
    Ok(
        match (head.header("if-none-match"), head.header("if-match")) {
            (Some(_), Some(_)) => {
                return Err(S3Error::with_message(
                    S3ErrorCode::NotImplemented,
                    "If-Match and If-None-Match together are not supported.",
                ))
            }
            (Some(value), None) if value.trim() == "*" => PutCondition::IfAbsent,
            (Some(etag), None) => {
                PutCondition::IfNoneMatch(etag.trim().trim_matches('"').to_string())
            }
            (None, Some(value)) if value.trim() == "*" => PutCondition::IfExists,
            (None, Some(etag)) => PutCondition::IfMatch(etag.trim().trim_matches('"').to_string()),
            (None, None) => PutCondition::None,
        },
    )
}

/// The headers an upload stores with its object: `x-amz-meta-*` (at most 2 KiB) and the
/// standard ones S3 returns on GET; `aws-chunked` is dropped from Content-Encoding.
pub(crate) fn stored_headers(head: &RequestHead) -> S3Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    let mut metadata_bytes = 0usize;
    for (name, value) in head.headers() {
        if let Some(suffix) = name.strip_prefix("x-amz-meta-") {
            metadata_bytes += suffix.len() + value.len();
            headers.push((name.to_string(), value.to_string()));
        } else if name == STORAGE_CLASS_HEADER {
            headers.extend(storage_class_header(value));
        } else if let Some((_, _)) = STORED_HEADERS.iter().find(|(stored, _)| *stored == name) {
            let mentions_aws_chunked = value
                .split(',')
                .any(|coding| coding.trim().eq_ignore_ascii_case("aws-chunked"));
            if name == "content-encoding" && mentions_aws_chunked {
                // aws-chunked describes the transfer, not the object; S3 drops it.
                let kept: Vec<&str> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|coding| {
                        !coding.eq_ignore_ascii_case("aws-chunked") && !coding.is_empty()
                    })
                    .collect();
                if !kept.is_empty() {
                    headers.push((name.to_string(), kept.join(", ")));
                }
            } else {
                headers.push((name.to_string(), value.to_string()));
            }
        }
    }
    if metadata_bytes > USER_METADATA_BYTES_MAX {
        return Err(S3Error::new(S3ErrorCode::MetadataTooLarge));
    }
    Ok(headers)
}

/// What an object carries besides its bytes.
pub struct ObjectAttributes {
    /// Content-Type.
    pub content_type: Option<String>,
    /// Stored headers and user metadata.
    pub headers: Vec<(String, String)>,
    /// Base64 CRC32, if known.
    pub checksum: Option<String>,
    /// Encoded access control list (`None`: `private`).
    pub acl: Option<String>,
    /// Retention and legal hold asked for (checked against the bucket by the caller).
    pub lock: crate::meta::ObjectLock,
    /// Tags, URL-encoded (`None`: none).
    pub tags: Option<String>,
    /// The data key the bytes were sealed with and the headers that say so (`None`: plain).
    pub encryption: Option<NewEncryption>,
}

/// Publishes a sealed file under the request's bucket and key and commits its metadata if
/// `condition` holds; the superseded file is removed afterwards. On any error the new file is
/// deleted by its guard: nothing becomes visible.
pub async fn commit_object(
    context: &S3Context,
    call: &Call<'_>,
    sealed: SealedObject,
    attributes: ObjectAttributes,
    condition: PutCondition,
) -> S3Result<ObjectRecord> {
    let published = sealed.publish().await?;
    let mut headers = attributes.headers;
    let etag = match attributes.encryption {
        Some(encryption) => {
            headers.extend(encryption.headers);
            if encryption.opaque_etag {
                encryption.data_key.opaque_etag(&published.digests.md5)
            } else {
                hex::encode(published.digests.md5)
            }
        }
        None => hex::encode(published.digests.md5),
    };
    let mut record = ObjectRecord {
        bucket: call.bucket.to_string(),
        key: call.key.to_string(),
        body: published.stored.clone().into(),
        size_bytes: published.size_bytes,
        etag,
        last_modified_ms: time::now_ms(),
        content_type: attributes.content_type,
        headers,
        checksum: attributes.checksum,
        owner: call.requester.access_key().to_string(),
        acl: attributes.acl,
        version_id: None,
        lock: attributes.lock,
        tags: attributes.tags,
    };
    let written = context
        .meta
        .put_object(record.clone(), condition)
        .await
        .map_err(|error| write_error(call, error))?;
    published.keep();
    for old in written.freed {
        context.remove_object_file_later(old);
    }
    record.version_id = written.version_id;
    Ok(record)
}

/// A failed write of the request's key as S3 words it: the bucket or key it names, or the
/// conditional headers that did not hold.
pub(crate) fn write_error(call: &Call<'_>, error: MetaError) -> S3Error {
    match error {
        MetaError::NoSuchBucket => no_such_bucket(call),
        MetaError::NoSuchKey => S3Error::new(S3ErrorCode::NoSuchKey).field("Key", call.key),
        MetaError::PreconditionFailed => S3Error::new(S3ErrorCode::PreconditionFailed)
            .field("Condition", "If-Match / If-None-Match"),
        other => other.into(),
    }
}

/// NoSuchBucket naming the request's bucket.
pub(crate) fn no_such_bucket(call: &Call<'_>) -> S3Error {
    S3Error::new(S3ErrorCode::NoSuchBucket).field("BucketName", call.bucket)
}

/// Where the client's value of the checksum comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ExpectedChecksum {
    /// In the `x-amz-checksum-*` header (decoded).
    Header(Vec<u8>),
    /// In the aws-chunked trailer named by `x-amz-trailer`.
    Trailer,
    /// Not sent: S3 computes and stores it (`x-amz-sdk-checksum-algorithm` alone).
    Computed,
}

/// The flexible checksum a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecksumRequest {
    /// Algorithm.
    pub algorithm: ChecksumAlgorithm,
    expected: ExpectedChecksum,
}

/// A checksum value that cannot be the digest of any body (wrong length, not base64): it cannot
/// match, so it is BadDigest, as ceph/s3-tests expects of S3.
fn invalid_value(algorithm: ChecksumAlgorithm) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::BadDigest,
        format!("Value for {} header is invalid.", algorithm.header_name()),
    )
}

fn multiple_checksums() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::InvalidRequest,
        "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
    )
}

/// Decodes a base64 checksum of `algorithm`'s length.
pub fn decode_checksum(algorithm: ChecksumAlgorithm, text: &str) -> S3Result<Vec<u8>> {
    let bytes = BASE64
        .decode(text.trim())
        .map_err(|_| invalid_value(algorithm))?;
    if bytes.len() != algorithm.digest_bytes() {
        return Err(invalid_value(algorithm));
    }
    Ok(bytes)
}

/// Reads the checksum headers: at most one `x-amz-checksum-<algorithm>` value, or a trailer
/// declared in `x-amz-trailer`, or only `x-amz-sdk-checksum-algorithm`.
pub fn parse_checksum_request(head: &RequestHead) -> S3Result<Option<ChecksumRequest>> {
    let mut found: Option<ChecksumRequest> = None;
    for (name, value) in head.headers() {
        let Some(suffix) = name.strip_prefix("x-amz-checksum-") else {
            continue;
        };
        if matches!(suffix, "type" | "mode" | "algorithm") {
            continue;
        }
        let algorithm = ChecksumAlgorithm::from_header(name).ok_or_else(|| {
            S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                format!("The checksum header {name} is not supported."),
            )
        })?;
        if found.is_some() {
            return Err(multiple_checksums());
        }
        found = Some(ChecksumRequest {
            algorithm,
            expected: ExpectedChecksum::Header(decode_checksum(algorithm, value)?),
        });
    }
    if let Some(trailer) = head.header("x-amz-trailer") {
        let algorithm = ChecksumAlgorithm::from_header(trailer).ok_or_else(|| {
            S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                format!("The trailer {trailer} is not supported."),
            )
        })?;
        if found.is_some() {
            return Err(multiple_checksums());
        }
        found = Some(ChecksumRequest {
            algorithm,
            expected: ExpectedChecksum::Trailer,
        });
    }
    if let Some(name) = head.header("x-amz-sdk-checksum-algorithm") {
        let algorithm = ChecksumAlgorithm::from_name(name).ok_or_else(|| {
            S3Error::with_message(S3ErrorCode::InvalidRequest, "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
        })?;
        match &found {
            Some(request) if request.algorithm != algorithm => {
                return Err(S3Error::with_message(
                    S3ErrorCode::InvalidRequest,
                    "Value for x-amz-sdk-checksum-algorithm header is invalid.",
                ))
            }
            Some(_) => {}
            None => {
                found = Some(ChecksumRequest {
                    algorithm,
                    expected: ExpectedChecksum::Computed,
                })
            }
        }
    }
    Ok(found)
}

/// A body received, made durable as a temp file, and verified.
pub struct ReceivedBody {
    /// The durable temp file.
    pub sealed: SealedObject,
    /// The flexible checksum computed (and matched, when the client sent one).
    pub checksum: Option<(ChecksumAlgorithm, Vec<u8>)>,
}

/// What an upload becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// An object (small ones are stored inline).
    Object,
    /// A multipart part (always a file: completion stitches part files together).
    Part,
}

impl Destination {
    /// Where an upload of `length` bytes (`None`: not known yet) is received: a part always in a
    /// file; an object inline when the configuration allows and it may fit (a buffer as large as
    /// the declared length, or the limit), else in a file.
    pub fn placement(self, context: &S3Context, length: Option<u64>) -> Placement {
        let bytes_max = context.config.inline_object_bytes_max;
        match (self, length) {
            (Destination::Part, _) => Placement::File,
            _ if bytes_max == 0 => Placement::File,
            (Destination::Object, Some(length)) if length > bytes_max as u64 => Placement::File,
            (Destination::Object, Some(length)) => Placement::InlineUpTo(length as usize),
            (Destination::Object, None) => Placement::InlineUpTo(bytes_max),
        }
    }
}

/// The digests an upload's headers promise: `Content-MD5` and one flexible checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadIntegrity {
    /// The decoded `Content-MD5`.
    content_md5: Option<[u8; 16]>,
    /// The flexible checksum asked for.
    checksum: Option<ChecksumRequest>,
}

impl UploadIntegrity {
    /// Reads them from `head`: InvalidDigest for a malformed Content-MD5, InvalidArgument for two,
    /// and the checksum errors of `parse_checksum_request`.
    pub fn parse(head: &RequestHead) -> S3Result<Self> {
        if head.header_count("content-md5") > 1 {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "Duplicate header: content-md5",
            ));
        }
        let content_md5 = match head.header("content-md5") {
            Some(text) => {
                let bytes = BASE64
                    .decode(text.trim())
                    .map_err(|_| S3Error::new(S3ErrorCode::InvalidDigest))?;
                Some(
                    <[u8; 16]>::try_from(bytes.as_slice())
                        .map_err(|_| S3Error::new(S3ErrorCode::InvalidDigest))?,
                )
            }
            None => None,
        };
        Ok(UploadIntegrity {
            content_md5,
            checksum: parse_checksum_request(head)?,
        })
    }
}

/// BadDigest unless the body's digests match what the client promised: `Content-MD5`, and the
/// flexible checksum from its header or (aws-chunked) trailer.
fn verify_digests(
    content_md5: Option<[u8; 16]>,
    request: Option<&ChecksumRequest>,
    digests: &crate::storage::writer::Digests,
    trailers: &[(String, String)],
) -> S3Result<()> {
    if let Some(expected) = content_md5 {
        if expected != digests.md5 {
            return Err(S3Error::new(S3ErrorCode::BadDigest)
                .field("ExpectedDigest", BASE64.encode(expected))
                .field("CalculatedDigest", BASE64.encode(digests.md5)));
        }
    }
    if let (Some(request), Some((_, actual))) = (request, &digests.checksum) {
        let expected = match &request.expected {
            ExpectedChecksum::Header(value) => Some(value.clone()),
            ExpectedChecksum::Trailer => {
                let name = request.algorithm.header_name();
                let trailer = trailers
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| {
                        S3Error::with_message(
                            S3ErrorCode::InvalidRequest,
                            format!("The {name} trailer was declared but not sent."),
                        )
                    })?;
                Some(decode_checksum(request.algorithm, &trailer)?)
            }
            ExpectedChecksum::Computed => None,
        };
        if expected.is_some_and(|expected| &expected != actual) {
            return Err(S3Error::with_message(
                S3ErrorCode::BadDigest,
                format!(
                    "The {} you specified did not match the calculated checksum.",
                    request.algorithm.name()
                ),
            ));
        }
    }
    Ok(())
}

/// Receives the payload (in memory for a small object, else into a new temp file) and verifies
/// every digest `integrity` promises.
pub async fn receive_payload(
    context: &S3Context,
    integrity: &UploadIntegrity,
    payload: &mut PayloadReader<'_, '_>,
    bytes_max: u64,
    forced: Option<ChecksumAlgorithm>,
    destination: Destination,
    sealing: Option<crate::storage::encryption::Sealing>,
) -> S3Result<ReceivedBody> {
    let content_md5 = integrity.content_md5;
    let request = integrity.checksum.clone();
    if let (Some(request), Some(forced)) = (&request, forced) {
        if request.algorithm != forced {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                format!("Checksum Type mismatch occurred, expected checksum Type: {}, actual checksum Type: {}", forced.name(), request.algorithm.name()),
            ));
        }
    }
    if let Some(length) = payload.object_length() {
        if length > bytes_max {
            return Err(S3Error::new(S3ErrorCode::EntityTooLarge)
                .field("ProposedSize", length.to_string())
                .field("MaxSizeAllowed", bytes_max.to_string()));
        }
    }
    let algorithm = request.as_ref().map(|request| request.algorithm).or(forced);
    let placement = destination.placement(context, payload.object_length());
    let mut writer = ObjectWriter::create(
        context.layout.clone(),
        algorithm,
        placement,
        sealing,
        payload.object_length(),
    )
    .await?;
    loop {
        let count = payload.read(writer.spare_mut()).await?;
        if count == 0 {
            break;
        }
        writer.advance(count).await?;
        if writer.size_bytes() > bytes_max {
            return Err(S3Error::new(S3ErrorCode::EntityTooLarge));
        }
    }
    let sealed = writer.seal().await?;
    let digests = sealed.digests().clone();
    verify_digests(content_md5, request.as_ref(), &digests, payload.trailers())?;
    Ok(ReceivedBody {
        sealed,
        checksum: digests.checksum,
    })
}
