//! Object operations: PutObject (streamed, verified, durable), GetObject / HeadObject, DeleteObject.

use std::io;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::limits::{PUT_OBJECT_BYTES_MAX, USER_METADATA_BYTES_MAX};
use crate::meta::ObjectRecord;
use crate::meta::PutCondition;
use crate::s3::conditions::{
    evaluate_read_conditions, parse_range, ConditionOutcome, RangeRequest,
};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::payload::PayloadReader;
use crate::s3::pipeline::S3Request;
use crate::s3::{time, ResponseBody, S3Context, S3Response};
use crate::storage::writer::{remove_object_file_later, ChecksumSet};
use crate::storage::{ObjectReader, ObjectWriter, SealedObject};

/// Headers stored with an object and returned on GET/HEAD (besides Content-Type and `x-amz-meta-*`).
const STORED_HEADERS: &[(&str, &str)] = &[
    ("cache-control", "Cache-Control"),
    ("content-disposition", "Content-Disposition"),
    ("content-encoding", "Content-Encoding"),
    ("content-language", "Content-Language"),
    ("expires", "Expires"),
];

/// Content-Type S3 reports for objects stored without one.
const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// Attempts to open an object's file when a concurrent overwrite replaced it between lookup and open.
const OPEN_ATTEMPT_COUNT_MAX: usize = 4;

/// What PutObject parsed from its headers before reading the body.
struct PutObjectInput {
    content_md5: Option<[u8; 16]>,
    crc32_header: Option<u32>,
    crc32_trailer: bool,
    content_type: Option<String>,
    headers: Vec<(String, String)>,
    condition: PutCondition,
}

fn parse_put_object_input(request: &S3Request<'_>) -> S3Result<PutObjectInput> {
    let head = request.head;
    for name in [
        "content-md5",
        "x-amz-checksum-crc32",
        "content-type",
        "x-amz-trailer",
    ] {
        if head.header_count(name) > 1 {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                format!("Duplicate header: {name}"),
            ));
        }
    }
    let content_md5 = match head.header("content-md5") {
        Some(text) => {
            let bytes = BASE64
                .decode(text)
                .map_err(|_| S3Error::new(S3ErrorCode::InvalidDigest))?;
            Some(
                <[u8; 16]>::try_from(bytes.as_slice())
                    .map_err(|_| S3Error::new(S3ErrorCode::InvalidDigest))?,
            )
        }
        None => None,
    };
    let crc32_header = match head.header("x-amz-checksum-crc32") {
        Some(text) => Some(decode_crc32(text)?),
        None => None,
    };
    for (name, _) in &head.headers {
        if let Some(algorithm) = name.strip_prefix("x-amz-checksum-") {
            if algorithm != "crc32" && algorithm != "type" && algorithm != "mode" {
                return Err(S3Error::with_message(
                    S3ErrorCode::NotImplemented,
                    format!("The {name} checksum is not implemented by ringstore yet; CRC32 is."),
                ));
            }
        }
    }
    let crc32_trailer = match head.header("x-amz-trailer") {
        None => false,
        Some(trailer) if trailer.eq_ignore_ascii_case("x-amz-checksum-crc32") => true,
        Some(trailer) => {
            return Err(S3Error::with_message(
                S3ErrorCode::NotImplemented,
                format!("The trailer {trailer} is not implemented by ringstore yet; x-amz-checksum-crc32 is."),
            ))
        }
    };
    let headers = stored_headers(head)?;
    let condition = match (head.header("if-none-match"), head.header("if-match")) {
        (Some(_), Some(_)) => {
            return Err(S3Error::with_message(
                S3ErrorCode::NotImplemented,
                "If-Match and If-None-Match together are not supported.",
            ))
        }
        (Some("*"), None) => PutCondition::IfAbsent,
        (Some(_), None) => {
            return Err(S3Error::with_message(
                S3ErrorCode::NotImplemented,
                "If-None-Match on PutObject supports only '*'.",
            ))
        }
        (None, Some(etag)) => PutCondition::IfMatch(etag.trim().trim_matches('"').to_string()),
        (None, None) => PutCondition::None,
    };
    Ok(PutObjectInput {
        condition,
        content_md5,
        crc32_header,
        crc32_trailer,
        content_type: head.header("content-type").map(str::to_string),
        headers,
    })
}

/// The headers an upload stores with its object: `x-amz-meta-*` (at most 2 KiB) and the
/// standard ones S3 returns on GET; `aws-chunked` is dropped from Content-Encoding.
pub(crate) fn stored_headers(head: &crate::http::RequestHead) -> S3Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    let mut metadata_bytes = 0usize;
    for (name, value) in &head.headers {
        if let Some(suffix) = name.strip_prefix("x-amz-meta-") {
            metadata_bytes += suffix.len() + value.len();
            headers.push((name.clone(), value.clone()));
        } else if let Some((_, _)) = STORED_HEADERS.iter().find(|(stored, _)| stored == name) {
            if name == "content-encoding" {
                // aws-chunked describes the transfer, not the object; S3 drops it.
                let kept: Vec<&str> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|coding| {
                        !coding.eq_ignore_ascii_case("aws-chunked") && !coding.is_empty()
                    })
                    .collect();
                if !kept.is_empty() {
                    headers.push((name.clone(), kept.join(",")));
                }
            } else {
                headers.push((name.clone(), value.clone()));
            }
        }
    }
    if metadata_bytes > USER_METADATA_BYTES_MAX {
        return Err(S3Error::new(S3ErrorCode::MetadataTooLarge));
    }
    Ok(headers)
}

fn decode_crc32(text: &str) -> S3Result<u32> {
    let invalid = || {
        S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "Value for x-amz-checksum-crc32 header is invalid.",
        )
    };
    let bytes = BASE64.decode(text.trim()).map_err(|_| invalid())?;
    let bytes = <[u8; 4]>::try_from(bytes.as_slice()).map_err(|_| invalid())?;
    Ok(u32::from_be_bytes(bytes))
}

/// PutObject: stream to a temp file, verify every digest, make it durable, then commit metadata.
pub async fn put_object(
    context: &S3Context,
    request: &S3Request<'_>,
    mut payload: PayloadReader<'_, '_>,
) -> S3Result<S3Response> {
    let input = parse_put_object_input(request)?;
    if let Some(length) = payload.object_length() {
        if length > PUT_OBJECT_BYTES_MAX {
            return Err(S3Error::new(S3ErrorCode::EntityTooLarge)
                .field("ProposedSize", length.to_string())
                .field("MaxSizeAllowed", PUT_OBJECT_BYTES_MAX.to_string()));
        }
    }
    let checksums = ChecksumSet {
        crc32: input.crc32_header.is_some() || input.crc32_trailer,
    };
    let mut writer = ObjectWriter::create(context.layout.clone(), checksums).await?;
    loop {
        let count = payload.read(writer.spare_mut()).await?;
        if count == 0 {
            break;
        }
        writer.advance(count).await?;
        if writer.size_bytes() > PUT_OBJECT_BYTES_MAX {
            return Err(S3Error::new(S3ErrorCode::EntityTooLarge));
        }
    }
    let sealed = writer.seal().await?;
    let digests = sealed.digests();
    if let Some(expected) = input.content_md5 {
        if expected != digests.md5 {
            return Err(S3Error::new(S3ErrorCode::BadDigest)
                .field("ExpectedDigest", BASE64.encode(expected))
                .field("CalculatedDigest", BASE64.encode(digests.md5)));
        }
    }
    let expected_crc32 = match (input.crc32_header, input.crc32_trailer) {
        (Some(value), _) => Some(value),
        (None, true) => {
            let trailer = payload
                .trailers()
                .iter()
                .find(|(name, _)| name == "x-amz-checksum-crc32")
                .map(|(_, v)| v.clone());
            let trailer = trailer.ok_or_else(|| {
                S3Error::with_message(
                    S3ErrorCode::InvalidRequest,
                    "The x-amz-checksum-crc32 trailer was declared but not sent.",
                )
            })?;
            Some(decode_crc32(&trailer)?)
        }
        (None, false) => None,
    };
    if let (Some(expected), Some(actual)) = (expected_crc32, digests.crc32) {
        if expected != actual {
            return Err(S3Error::with_message(
                S3ErrorCode::BadDigest,
                "The CRC32 you specified did not match the calculated checksum.",
            ));
        }
    }
    let crc32_text = expected_crc32.map(|value| BASE64.encode(value.to_be_bytes()));
    let attributes = ObjectAttributes {
        content_type: input.content_type,
        headers: input.headers,
        checksum_crc32: crc32_text.clone(),
    };
    let record = commit_object(context, request, sealed, attributes, input.condition).await?;
    let mut response = S3Response::empty(200);
    response.head.header("ETag", format!("\"{}\"", record.etag));
    if let Some(crc32) = crc32_text {
        response.head.header("x-amz-checksum-crc32", crc32);
    }
    Ok(response)
}

/// What an object carries besides its bytes.
pub struct ObjectAttributes {
    /// Content-Type.
    pub content_type: Option<String>,
    /// Stored headers and user metadata.
    pub headers: Vec<(String, String)>,
    /// Base64 CRC32, if known.
    pub checksum_crc32: Option<String>,
}

/// Publishes a sealed file under the request's bucket and key and commits its metadata if
/// `condition` holds; the superseded file is removed afterwards. On any error the new file is
/// deleted by its guard: nothing becomes visible.
pub async fn commit_object(
    context: &S3Context,
    request: &S3Request<'_>,
    sealed: SealedObject,
    attributes: ObjectAttributes,
    condition: PutCondition,
) -> S3Result<ObjectRecord> {
    let published = sealed.publish().await?;
    let record = ObjectRecord {
        bucket: request.bucket().to_string(),
        key: request.key().to_string(),
        file_id: published.id,
        size_bytes: published.size_bytes,
        etag: hex::encode(published.digests.md5),
        last_modified_ms: time::now_ms(),
        content_type: attributes.content_type,
        headers: attributes.headers,
        checksum_crc32: attributes.checksum_crc32,
        owner: request.access_key.clone(),
        parts: Vec::new(),
    };
    let replaced = context
        .meta
        .put_object(record.clone(), condition)
        .await
        .map_err(|error| match error {
            crate::meta::MetaError::NoSuchBucket => no_such_bucket(request),
            crate::meta::MetaError::PreconditionFailed => {
                S3Error::new(S3ErrorCode::PreconditionFailed)
                    .field("Condition", "If-Match / If-None-Match")
            }
            other => other.into(),
        })?;
    published.keep();
    for old in replaced {
        remove_object_file_later(&context.layout, old);
    }
    Ok(record)
}

pub(crate) fn no_such_key(request: &S3Request<'_>) -> S3Error {
    S3Error::new(S3ErrorCode::NoSuchKey).field("Key", request.key())
}

pub(crate) fn no_such_bucket(request: &S3Request<'_>) -> S3Error {
    S3Error::new(S3ErrorCode::NoSuchBucket).field("BucketName", request.bucket())
}

/// `response-*` query parameters of GetObject and the header each one overrides.
const RESPONSE_OVERRIDES: &[(&str, &str)] = &[
    ("response-content-type", "Content-Type"),
    ("response-content-language", "Content-Language"),
    ("response-expires", "Expires"),
    ("response-cache-control", "Cache-Control"),
    ("response-content-disposition", "Content-Disposition"),
    ("response-content-encoding", "Content-Encoding"),
];

/// Rejects a `versionId` other than `null`: an unversioned bucket has only the null version.
fn check_version_id(request: &S3Request<'_>) -> S3Result<()> {
    match request.query.iter().find(|(name, _)| name == "versionId") {
        Some((_, version)) if version != super::list::NULL_VERSION_ID => {
            Err(S3Error::new(S3ErrorCode::NoSuchVersion)
                .field("Key", request.key())
                .field("VersionId", version.clone()))
        }
        _ => Ok(()),
    }
}

/// GetObject and HeadObject: metadata, conditions, range, then the file streamed (GET) or only
/// its length (HEAD).
pub async fn get_object(
    context: &S3Context,
    request: &S3Request<'_>,
    head_only: bool,
) -> S3Result<S3Response> {
    check_version_id(request)?;
    if request.query.iter().any(|(name, _)| name == "partNumber") {
        return Err(S3Error::with_message(
            S3ErrorCode::NotImplemented,
            "partNumber is not implemented by ringstore yet.",
        ));
    }
    let head = request.head;
    for _ in 0..OPEN_ATTEMPT_COUNT_MAX {
        let record = match context
            .meta
            .get_object(request.bucket().to_string(), request.key().to_string())
            .await
        {
            Ok(Some(record)) => record,
            Ok(None) => return Err(no_such_key(request)),
            Err(crate::meta::MetaError::NoSuchBucket) => return Err(no_such_bucket(request)),
            Err(error) => return Err(error.into()),
        };
        let outcome = evaluate_read_conditions(
            head.header("if-match"),
            head.header("if-none-match"),
            head.header("if-modified-since"),
            head.header("if-unmodified-since"),
            &record.etag,
            record.last_modified_ms,
        );
        match outcome {
            ConditionOutcome::PreconditionFailed => {
                return Err(
                    S3Error::new(S3ErrorCode::PreconditionFailed).field("Condition", "If-Match")
                )
            }
            ConditionOutcome::NotModified => {
                let mut response = S3Response::empty(304);
                response.head.header("ETag", format!("\"{}\"", record.etag));
                response
                    .head
                    .header("Last-Modified", time::http_date(record.last_modified_ms));
                return Ok(response);
            }
            ConditionOutcome::Proceed => {}
        }
        let (status, start, length) = match parse_range(head.header("range"), record.size_bytes) {
            RangeRequest::Whole => (200, 0, record.size_bytes),
            RangeRequest::Partial { start, end } => (206, start, end - start + 1),
            RangeRequest::Unsatisfiable => {
                let mut error = S3Error::new(S3ErrorCode::InvalidRange)
                    .field("ActualObjectSize", record.size_bytes.to_string());
                error.fields.push((
                    "RangeRequested",
                    head.header("range").unwrap_or_default().to_string(),
                ));
                return Err(error);
            }
        };
        let body = if head_only {
            ResponseBody::HeadOnly(length)
        } else {
            match ObjectReader::open(&context.layout, record.file_id, start, length).await {
                Ok(reader) => ResponseBody::Object(reader),
                // Replaced by a concurrent PUT after our lookup: look again and serve the new one.
                Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                Err(error) => {
                    tracing::error!(error = %error, file_id = %record.file_id, "object file unreadable");
                    return Err(S3Error::new(S3ErrorCode::InternalError));
                }
            }
        };
        let mut response = S3Response {
            head: crate::http::ResponseHead::new(status),
            body,
        };
        if status == 206 {
            response.head.header(
                "Content-Range",
                format!(
                    "bytes {}-{}/{}",
                    start,
                    start + length - 1,
                    record.size_bytes
                ),
            );
        }
        object_headers(&record, request, &mut response);
        return Ok(response);
    }
    Err(S3Error::new(S3ErrorCode::SlowDown))
}

fn object_headers(record: &ObjectRecord, request: &S3Request<'_>, response: &mut S3Response) {
    let head = &mut response.head;
    head.header(
        "Content-Type",
        record
            .content_type
            .clone()
            .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_string()),
    );
    head.header("ETag", format!("\"{}\"", record.etag));
    head.header("Last-Modified", time::http_date(record.last_modified_ms));
    head.header("Accept-Ranges", "bytes");
    for (name, value) in &record.headers {
        match STORED_HEADERS.iter().find(|(stored, _)| stored == name) {
            Some((_, canonical)) => head.header(*canonical, value.clone()),
            None => head.header(name.clone(), value.clone()),
        };
    }
    for (parameter, header) in RESPONSE_OVERRIDES {
        if let Some((_, value)) = request.query.iter().find(|(name, _)| name == parameter) {
            head.headers
                .retain(|(name, _)| !name.eq_ignore_ascii_case(header));
            head.header(*header, value.clone());
        }
    }
    let checksum_mode = request
        .head
        .header("x-amz-checksum-mode")
        .is_some_and(|mode| mode.eq_ignore_ascii_case("ENABLED"));
    // A full-object checksum does not describe a range, so S3 omits it on 206 answers.
    if checksum_mode && head.status == 200 {
        if let Some(crc32) = &record.checksum_crc32 {
            head.header("x-amz-checksum-crc32", crc32.clone());
        }
    }
}

/// DeleteObject: idempotent 204; the file is removed after the metadata commit.
pub async fn delete_object(context: &S3Context, request: &S3Request<'_>) -> S3Result<S3Response> {
    check_version_id(request)?;
    match context
        .meta
        .delete_object(request.bucket().to_string(), request.key().to_string())
        .await
    {
        Ok(removed) => {
            for file in removed {
                remove_object_file_later(&context.layout, file);
            }
        }
        Err(crate::meta::MetaError::NoSuchBucket) => return Err(no_such_bucket(request)),
        Err(error) => return Err(error.into()),
    }
    Ok(S3Response::empty(204))
}
