//! Object operations: PutObject (streamed, verified, durable), GetObject / HeadObject, DeleteObject.

use std::io;

use crate::http::{Response, ResponseBody};
use crate::limits::PUT_OBJECT_BYTES_MAX;
use crate::meta::{ObjectBody, ObjectRecord};
use crate::s3::access::Permission;
use crate::s3::conditions::{
    evaluate_read_conditions, parse_range, ConditionOutcome, RangeRequest,
};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::grants::acl_from_request_headers;
use crate::s3::object_write::{
    commit_object, no_such_bucket, parse_put_condition, receive_payload, stored_headers,
    Destination, ObjectAttributes, STORED_HEADERS,
};
use crate::s3::payload::PayloadReader;
use crate::s3::request::S3Request;
use crate::s3::resource::{authorized_bucket, authorized_object};
use crate::s3::{time, S3Context};
use crate::storage::checksum::StoredChecksum;
use crate::storage::writer::remove_object_file_later;
use crate::storage::{ObjectReader, Segment};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

/// Content-Type S3 reports for objects stored without one.
const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// Attempts to open an object's file when a concurrent overwrite replaced it between lookup and open.
const OPEN_ATTEMPT_COUNT_MAX: usize = 4;

/// A metadata value as S3 returns it: non-ASCII values RFC 2047-encoded (S3 User Guide,
/// "Working with object metadata": such values are "encoded as per RFC 2047 to make them mail
/// safe before returning").
fn mail_safe(value: &str) -> String {
    if value.is_ascii() {
        value.to_string()
    } else {
        format!("=?UTF-8?B?{}?=", BASE64.encode(value.as_bytes()))
    }
}

/// PutObject: stream to a temp file, verify every digest, make it durable, then commit metadata.
pub async fn put_object(
    context: &S3Context,
    request: &S3Request<'_>,
    mut payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    let head = request.head;
    if head.header_count("content-type") > 1 {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "Duplicate header: content-type",
        ));
    }
    let headers = stored_headers(head)?;
    let condition = parse_put_condition(head)?;
    // Before a byte of the body is read: a refused writer must not cost disk or bandwidth.
    let bucket = authorized_bucket(context, &request.call(), Permission::Write).await?;
    let acl = acl_from_request_headers(context, request, &bucket.owner).await?;
    let bytes_max = PUT_OBJECT_BYTES_MAX.min(context.config.max_object_size_bytes);
    let received = receive_payload(
        context,
        head,
        &mut payload,
        bytes_max,
        None,
        Destination::Object,
    )
    .await?;
    let stored = received
        .checksum
        .as_ref()
        .map(|(algorithm, value)| StoredChecksum {
            algorithm: *algorithm,
            full_object: true,
            value: BASE64.encode(value),
        });
    let attributes = ObjectAttributes {
        content_type: head.header("content-type").map(str::to_string),
        headers,
        checksum: stored.as_ref().map(StoredChecksum::encode),
        acl,
    };
    let record = commit_object(context, request, received.sealed, attributes, condition).await?;
    let mut response = Response::empty(200);
    response.head.header("ETag", format!("\"{}\"", record.etag));
    if let Some(stored) = stored {
        response
            .head
            .header(stored.algorithm.header_name(), stored.value.clone());
        response
            .head
            .header("x-amz-checksum-type", stored.type_name());
    }
    Ok(response)
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
        Some((_, version)) if version != crate::s3::NULL_VERSION_ID => {
            Err(S3Error::new(S3ErrorCode::NoSuchVersion)
                .field("Key", request.key())
                .field("VersionId", version.clone()))
        }
        _ => Ok(()),
    }
}

/// GetObject: the object's bytes (or the part `partNumber` names, or a range).
pub async fn get_object(
    context: &S3Context,
    request: &S3Request<'_>,
    _payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    read_object(context, request, false).await
}

/// HeadObject: GetObject's answer without the bytes.
pub async fn head_object(
    context: &S3Context,
    request: &S3Request<'_>,
    _payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    read_object(context, request, true).await
}

/// GetObject and HeadObject: metadata, conditions, range, then the file streamed (GET) or only
/// its length (HEAD).
async fn read_object(
    context: &S3Context,
    request: &S3Request<'_>,
    head_only: bool,
) -> S3Result<Response> {
    check_version_id(request)?;
    let part_number = match request.query.iter().find(|(name, _)| name == "partNumber") {
        Some((_, text)) => Some(
            text.parse::<u32>()
                .ok()
                .filter(|number| (1..=crate::limits::PART_NUMBER_MAX).contains(number))
                .ok_or_else(|| {
                    S3Error::with_message(
                        S3ErrorCode::InvalidArgument,
                        "Part number must be an integer between 1 and 10000, inclusive",
                    )
                    .field("ArgumentName", "partNumber")
                    .field("ArgumentValue", text.clone())
                })?,
        ),
        None => None,
    };
    let head = request.head;
    for _ in 0..OPEN_ATTEMPT_COUNT_MAX {
        let record =
            authorized_object(context, &request.call(), Permission::Read, !head_only).await?;
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
                let mut response = Response::empty(304);
                response.head.header("ETag", format!("\"{}\"", record.etag));
                response
                    .head
                    .header("Last-Modified", time::http_date(record.last_modified_ms));
                return Ok(response);
            }
            ConditionOutcome::Proceed => {}
        }
        let part_sizes = record.part_sizes();
        let range = match part_number {
            // partNumber selects one part's bytes (the whole object is part 1 of a single-part upload).
            Some(number) => {
                let index = number as usize - 1;
                // AWS answers 400 InvalidPart here (ceph/s3-tests' get_part tests, moto's
                // AWS-verified tests), not the 416 InvalidPartNumber its error table lists.
                if index >= part_sizes.len() {
                    return Err(S3Error::new(S3ErrorCode::InvalidPart)
                        .field("PartNumberRequested", number.to_string())
                        .field("ActualPartCount", part_sizes.len().to_string()));
                }
                let start: u64 = part_sizes[..index].iter().sum();
                let size = part_sizes[index];
                if size == 0 {
                    RangeRequest::Whole
                } else {
                    RangeRequest::Partial {
                        start,
                        end: start + size - 1,
                    }
                }
            }
            None => parse_range(head.header("range"), record.size_bytes),
        };
        let (status, start, length) = match range {
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
        } else if let ObjectBody::Inline(bytes) = &record.body {
            ResponseBody::Shared(bytes.shared(), start as usize..(start + length) as usize)
        } else if record.body == ObjectBody::InlineUnread {
            unreachable!("a GET looks objects up with their bytes")
        } else {
            let segments: Vec<Segment> = record
                .extents()
                .iter()
                .map(|extent| Segment {
                    id: extent.file_id,
                    size_bytes: extent.size_bytes,
                })
                .collect();
            match ObjectReader::open_segments(&context.layout, &segments, start, length).await {
                Ok(reader) => ResponseBody::Stream(Box::new(reader)),
                // Replaced by a concurrent PUT after our lookup: look again and serve the new one.
                Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                Err(error) => {
                    tracing::error!(error = %error, bucket = request.bucket(), key = request.key(), "object file unreadable");
                    return Err(S3Error::new(S3ErrorCode::InternalError));
                }
            }
        };
        let mut response = Response {
            head: crate::http::ResponseHead::new(status),
            body,
        };
        if !record.parts().is_empty() && part_number.is_some() {
            response
                .head
                .header("x-amz-mp-parts-count", record.parts().len().to_string());
        }
        if status == 206 || part_number.is_some() {
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
        object_headers(&record, request, part_number, &mut response);
        return Ok(response);
    }
    // The file stayed missing across fresh lookups: it is gone (startup recovery marks such rows).
    tracing::error!(
        bucket = request.bucket(),
        key = request.key(),
        "object data is missing"
    );
    Err(S3Error::new(S3ErrorCode::InternalError))
}

fn object_headers(
    record: &ObjectRecord,
    request: &S3Request<'_>,
    part_number: Option<u32>,
    response: &mut Response,
) {
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
            None => head.header(name.clone(), mail_safe(value)),
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
    let stored = record.checksum.as_deref().and_then(StoredChecksum::decode);
    let part = part_number.and_then(|number| record.parts().get(number as usize - 1));
    match (checksum_mode, stored, part) {
        // One part of a multipart object: that part's checksum, with the object's type.
        (true, Some(stored), Some(part)) => {
            if let Some(value) = &part.checksum {
                head.header(stored.algorithm.header_name(), value.clone());
                head.header("x-amz-checksum-type", stored.type_name());
            }
        }
        // A full-object checksum does not describe a range, so S3 omits it on 206 answers.
        (true, Some(stored), None) if head.status == 200 || part_number.is_some() => {
            head.header(stored.algorithm.header_name(), stored.value.clone());
            head.header("x-amz-checksum-type", stored.type_name());
        }
        _ => {}
    }
}

/// DeleteObject: idempotent 204; the file is removed after the metadata commit.
pub async fn delete_object(
    context: &S3Context,
    request: &S3Request<'_>,
    _payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    check_version_id(request)?;
    authorized_bucket(context, &request.call(), Permission::Write).await?;
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
    Ok(Response::empty(204))
}

/// Attribute names `x-amz-object-attributes` may list (S3 API Reference, GetObjectAttributes).
const OBJECT_ATTRIBUTES: &[&str] = &[
    "ETag",
    "Checksum",
    "ObjectParts",
    "StorageClass",
    "ObjectSize",
];

/// GetObjectAttributes: ETag, checksum, parts, storage class and size without the bytes.
pub async fn get_object_attributes(
    context: &S3Context,
    request: &S3Request<'_>,
    _payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    check_version_id(request)?;
    let head = request.head;
    let wanted: Vec<String> = head
        .headers
        .iter()
        .filter(|(name, _)| name == "x-amz-object-attributes")
        .flat_map(|(_, value)| value.split(',').map(|item| item.trim().to_string()))
        .filter(|item| !item.is_empty())
        .collect();
    if wanted.is_empty()
        || wanted
            .iter()
            .any(|item| !OBJECT_ATTRIBUTES.contains(&item.as_str()))
    {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "Invalid attribute name specified.",
        )
        .field("ArgumentName", "x-amz-object-attributes"));
    }
    let record = authorized_object(context, &request.call(), Permission::Read, false).await?;
    let has = |name: &str| wanted.iter().any(|item| item == name);
    let mut xml = crate::s3::xml::XmlBuilder::new();
    xml.open_root("GetObjectAttributesResponse");
    if has("ETag") {
        xml.element("ETag", &record.etag);
    }
    if has("Checksum") {
        if let Some(stored) = record.checksum.as_deref().and_then(StoredChecksum::decode) {
            xml.open("Checksum")
                .element(stored.algorithm.element_name(), &stored.value)
                .element("ChecksumType", stored.type_name())
                .close("Checksum");
        }
    }
    if has("ObjectParts") && !record.parts().is_empty() {
        let marker: usize = head
            .header("x-amz-part-number-marker")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let max_parts: usize = head
            .header("x-amz-max-parts")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000)
            .min(1000);
        let shown: Vec<(usize, &crate::meta::PartExtent)> = record
            .parts()
            .iter()
            .enumerate()
            .skip(marker)
            .take(max_parts)
            .collect();
        let truncated = marker + shown.len() < record.parts().len();
        xml.open("ObjectParts")
            .element("PartsCount", &record.parts().len().to_string())
            .element("PartNumberMarker", &marker.to_string());
        if let Some((index, _)) = shown.last() {
            xml.element("NextPartNumberMarker", &(index + 1).to_string());
        }
        xml.element("MaxParts", &max_parts.to_string())
            .element("IsTruncated", if truncated { "true" } else { "false" });
        let algorithm = record
            .checksum
            .as_deref()
            .and_then(StoredChecksum::decode)
            .map(|stored| stored.algorithm);
        for (index, part) in shown {
            xml.open("Part")
                .element("PartNumber", &(index + 1).to_string())
                .element("Size", &part.size_bytes.to_string());
            if let (Some(algorithm), Some(checksum)) = (algorithm, &part.checksum) {
                xml.element(algorithm.element_name(), checksum);
            }
            xml.close("Part");
        }
        xml.close("ObjectParts");
    }
    if has("StorageClass") {
        xml.element("StorageClass", "STANDARD");
    }
    if has("ObjectSize") {
        xml.element("ObjectSize", &record.size_bytes.to_string());
    }
    xml.close("GetObjectAttributesResponse");
    let mut response = Response::xml(xml.finish());
    response
        .head
        .header("Last-Modified", time::http_date(record.last_modified_ms));
    Ok(response)
}
