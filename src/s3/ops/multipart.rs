//! Multipart upload operations: Create, UploadPart (streamed and verified exactly like PutObject),
//! UploadPartCopy, Complete (metadata-only: the parts become the object's extents), Abort,
//! ListParts and ListMultipartUploads.

use crate::http::Response;
use crate::limits::{MULTIPART_LIST_ENTRIES_MAX, PART_BYTES_MAX, PART_NUMBER_MAX};
use crate::meta::multipart::{Completion, PartRecord, PartsQuery, UploadRecord, UploadsQuery};
use crate::meta::MetaError;
use crate::s3::access::{Identity, Permission};
use crate::s3::copy_source::{copy_from_source, parse_copy_source};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::grants::acl_from_request_headers;
use crate::s3::multipart_object::{assembler, upload_algorithm, CompletionRequest};
use crate::s3::object_write::stored_headers;
use crate::s3::object_write::{receive_payload, Destination};
use crate::s3::path::url_encode_key;
use crate::s3::payload::read_small_body;
use crate::s3::payload::PayloadReader;
use crate::s3::request::S3Request;
use crate::s3::resource::authorized_bucket;
use crate::s3::xml::{parse_complete_multipart_upload, XmlBuilder};
use crate::s3::{time, S3Context};
use crate::storage::checksum::{ChecksumAlgorithm, StoredChecksum};
use crate::storage::writer::remove_object_file_later;
use crate::storage::{FileId, StoredBytes};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

fn upload_id(request: &S3Request<'_>) -> String {
    request
        .query_value("uploadId")
        .unwrap_or_default()
        .to_string()
}

fn no_such_upload(request: &S3Request<'_>) -> S3Error {
    S3Error::new(S3ErrorCode::NoSuchUpload).field("UploadId", upload_id(request))
}

fn map_meta(request: &S3Request<'_>, error: MetaError) -> S3Error {
    match error {
        MetaError::NoSuchUpload => no_such_upload(request),
        other => crate::s3::object_write::write_error(request, other),
    }
}

fn remove_later(context: &S3Context, files: Vec<FileId>) {
    for file in files {
        remove_object_file_later(&context.layout, file);
    }
}

/// The upload named by `uploadId`, which must belong to this bucket and key.
async fn current_upload(context: &S3Context, request: &S3Request<'_>) -> S3Result<UploadRecord> {
    authorized_bucket(context, &request.call(), Permission::Write).await?;
    match context
        .meta
        .get_upload(upload_id(request))
        .await
        .map_err(|e| map_meta(request, e))?
    {
        Some(upload) if upload.bucket == request.bucket() && upload.key == request.key() => {
            Ok(upload)
        }
        _ => Err(no_such_upload(request)),
    }
}

fn part_number(request: &S3Request<'_>) -> S3Result<u32> {
    let text = request.query_value("partNumber").unwrap_or_default();
    text.parse::<u32>()
        .ok()
        .filter(|number| (1..=PART_NUMBER_MAX).contains(number))
        .ok_or_else(|| {
            S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "Part number must be an integer between 1 and 10000, inclusive",
            )
            .field("ArgumentName", "partNumber")
            .field("ArgumentValue", text.to_string())
        })
}

/// CreateMultipartUpload: Content-Type and stored headers are kept for the finished object.
pub async fn create_multipart_upload(
    context: &S3Context,
    request: &S3Request<'_>,
    _payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    let bucket = authorized_bucket(context, &request.call(), Permission::Write).await?;
    let acl = acl_from_request_headers(context, request, &bucket.owner).await?;
    let head = request.head;
    let checksum_algorithm = match head.header("x-amz-checksum-algorithm") {
        Some(name) => Some(ChecksumAlgorithm::from_name(name).ok_or_else(|| {
            S3Error::with_message(S3ErrorCode::InvalidRequest, "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
        })?),
        None => None,
    };
    // CRC64NVME is only full-object; CRC32/CRC32C may be either; SHA ones only composite.
    let checksum_full_object = match (head.header("x-amz-checksum-type"), checksum_algorithm) {
        (None, Some(ChecksumAlgorithm::Crc64Nvme)) => true,
        (None, _) => false,
        (Some(kind), Some(algorithm))
            if kind.eq_ignore_ascii_case("FULL_OBJECT") && algorithm.is_crc() =>
        {
            true
        }
        (Some(kind), Some(algorithm))
            if kind.eq_ignore_ascii_case("COMPOSITE")
                && algorithm != ChecksumAlgorithm::Crc64Nvme =>
        {
            false
        }
        (Some(kind), _) => {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                format!("The checksum type {kind} is not valid for this checksum algorithm."),
            ))
        }
    };
    let upload = UploadRecord {
        checksum_algorithm: checksum_algorithm.map(|algorithm| algorithm.name().to_string()),
        checksum_full_object,
        upload_id: format!("{:032x}", fastrand::u128(..)),
        bucket: request.bucket().to_string(),
        key: request.key().to_string(),
        owner: request.requester.access_key().to_string(),
        created_ms: time::now_ms(),
        content_type: request.head.header("content-type").map(str::to_string),
        headers: stored_headers(request.head)?,
        acl,
    };
    let id = upload.upload_id.clone();
    context
        .meta
        .create_upload(upload)
        .await
        .map_err(|e| map_meta(request, e))?;
    let mut xml = XmlBuilder::new();
    xml.open_root("InitiateMultipartUploadResult")
        .element("Bucket", request.bucket())
        .element("Key", request.key())
        .element("UploadId", &id)
        .close("InitiateMultipartUploadResult");
    let mut response = Response::xml(xml.finish());
    if let Some(algorithm) = checksum_algorithm {
        response
            .head
            .header("x-amz-checksum-algorithm", algorithm.name());
        response.head.header(
            "x-amz-checksum-type",
            if checksum_full_object {
                "FULL_OBJECT"
            } else {
                "COMPOSITE"
            },
        );
    }
    Ok(response)
}

async fn record_part(
    context: &S3Context,
    request: &S3Request<'_>,
    number: u32,
    sealed: crate::storage::SealedObject,
) -> S3Result<String> {
    let published = sealed.publish().await?;
    let StoredBytes::File(file_id) = published.stored else {
        unreachable!("parts are received with Placement::File")
    };
    let etag = hex::encode(published.digests.md5);
    let checksum = published
        .digests
        .checksum
        .as_ref()
        .map(|(_, value)| BASE64.encode(value));
    let part = PartRecord {
        checksum,
        upload_id: upload_id(request),
        part_number: number,
        file_id,
        size_bytes: published.size_bytes,
        etag: etag.clone(),
        last_modified_ms: time::now_ms(),
    };
    // An abort that raced this part makes the commit fail; the guard then deletes the file.
    let replaced = context
        .meta
        .put_part(part)
        .await
        .map_err(|e| map_meta(request, e))?;
    published.keep();
    remove_later(context, replaced);
    Ok(etag)
}

/// UploadPart.
pub async fn upload_part(
    context: &S3Context,
    request: &S3Request<'_>,
    mut payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    let number = part_number(request)?;
    let upload = current_upload(context, request).await?;
    let bytes_max = PART_BYTES_MAX.min(context.config.max_object_size_bytes);
    let received = receive_payload(
        context,
        request.head,
        &mut payload,
        bytes_max,
        upload_algorithm(&upload),
        Destination::Part,
    )
    .await?;
    let checksum = received.checksum.clone();
    let etag = record_part(context, request, number, received.sealed).await?;
    let mut response = Response::empty(200);
    response.head.header("ETag", format!("\"{etag}\""));
    if let Some((algorithm, value)) = checksum {
        response
            .head
            .header(algorithm.header_name(), BASE64.encode(value));
    }
    Ok(response)
}

/// UploadPartCopy: a range (or all) of another object becomes a part.
pub async fn upload_part_copy(
    context: &S3Context,
    request: &S3Request<'_>,
    _payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    let number = part_number(request)?;
    let upload = current_upload(context, request).await?;
    let source = parse_copy_source(request.head.header("x-amz-copy-source").unwrap_or_default())?;
    let range = request.head.header("x-amz-copy-source-range");
    let (_, sealed) = copy_from_source(
        context,
        request,
        &source,
        range,
        upload_algorithm(&upload),
        Destination::Part,
    )
    .await?;
    if sealed.size_bytes() > PART_BYTES_MAX {
        return Err(S3Error::new(S3ErrorCode::EntityTooLarge));
    }
    let etag = record_part(context, request, number, sealed).await?;
    let mut xml = XmlBuilder::new();
    xml.open_root("CopyPartResult")
        .element("LastModified", &time::iso8601(time::now_ms()))
        .element("ETag", &format!("\"{etag}\""))
        .close("CopyPartResult");
    Ok(Response::xml(xml.finish()))
}

/// CompleteMultipartUpload: all checks and the switch to a visible object happen in one metadata
/// transaction; no object byte is copied.
pub async fn complete_multipart_upload(
    context: &S3Context,
    request: &S3Request<'_>,
    mut payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    let body = read_small_body(&mut payload).await?;
    let parts = parse_complete_multipart_upload(&body)?;
    let last_modified_ms = time::now_ms();
    let rules = CompletionRequest {
        parts,
        last_modified_ms,
        size_bytes_max: context.config.max_object_size_bytes,
        expected_checksum: ChecksumAlgorithm::ALL.iter().find_map(|algorithm| {
            request
                .head
                .header(algorithm.header_name())
                .map(|value| (*algorithm, value.trim().to_string()))
        }),
    };
    let completion = Completion {
        upload_id: upload_id(request),
        bucket: request.bucket().to_string(),
        key: request.key().to_string(),
        last_modified_ms,
        condition: crate::s3::object_write::parse_put_condition(request.head)?,
        assemble: assembler(rules),
    };
    let (record, obsolete) = context
        .meta
        .complete_upload(completion)
        .await
        .map_err(|e| map_meta(request, e))?;
    remove_later(context, obsolete);
    let mut xml = XmlBuilder::new();
    xml.open_root("CompleteMultipartUploadResult")
        .element(
            "Location",
            &format!("/{}/{}", request.bucket(), request.key()),
        )
        .element("Bucket", request.bucket())
        .element("Key", request.key())
        .element("ETag", &format!("\"{}\"", record.etag));
    if let Some(stored) = record.checksum.as_deref().and_then(StoredChecksum::decode) {
        xml.element(stored.algorithm.element_name(), &stored.value)
            .element("ChecksumType", stored.type_name());
    }
    xml.close("CompleteMultipartUploadResult");
    Ok(Response::xml(xml.finish()))
}

/// AbortMultipartUpload.
pub async fn abort_multipart_upload(
    context: &S3Context,
    request: &S3Request<'_>,
    _payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    current_upload(context, request).await?;
    let files = context
        .meta
        .abort_upload(upload_id(request))
        .await
        .map_err(|e| map_meta(request, e))?;
    remove_later(context, files);
    Ok(Response::empty(204))
}

fn bounded_count(request: &S3Request<'_>, name: &'static str) -> S3Result<usize> {
    match request.query_value(name) {
        None => Ok(MULTIPART_LIST_ENTRIES_MAX),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|value| *value >= 0)
            .map(|value| (value as usize).min(MULTIPART_LIST_ENTRIES_MAX))
            .ok_or_else(|| {
                S3Error::with_message(
                    S3ErrorCode::InvalidArgument,
                    format!("Argument {name} must be a non-negative integer"),
                )
                .field("ArgumentName", name)
                .field("ArgumentValue", text.to_string())
            }),
    }
}

/// ListParts.
pub async fn list_parts(
    context: &S3Context,
    request: &S3Request<'_>,
    _payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    current_upload(context, request).await?;
    let max_parts = bounded_count(request, "max-parts")?;
    let marker_text = request.query_value("part-number-marker").unwrap_or("0");
    let after_part: u32 = marker_text.parse().map_err(|_| {
        S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "part-number-marker must be an integer",
        )
        .field("ArgumentName", "part-number-marker")
    })?;
    let query = PartsQuery {
        upload_id: upload_id(request),
        after_part,
        max_parts,
    };
    let page = context
        .meta
        .list_parts(query)
        .await
        .map_err(|e| map_meta(request, e))?;
    let mut xml = XmlBuilder::new();
    xml.open_root("ListPartsResult")
        .element("Bucket", request.bucket())
        .element("Key", request.key())
        .element("UploadId", &page.upload.upload_id)
        .element("PartNumberMarker", &after_part.to_string());
    if let Some(last) = page.parts.last() {
        xml.element("NextPartNumberMarker", &last.part_number.to_string());
    }
    xml.element("MaxParts", &max_parts.to_string()).element(
        "IsTruncated",
        if page.is_truncated { "true" } else { "false" },
    );
    for part in &page.parts {
        xml.open("Part")
            .element("PartNumber", &part.part_number.to_string())
            .element("LastModified", &time::iso8601(part.last_modified_ms))
            .element("ETag", &format!("\"{}\"", part.etag))
            .element("Size", &part.size_bytes.to_string());
        if let (Some(algorithm), Some(checksum)) = (upload_algorithm(&page.upload), &part.checksum)
        {
            xml.element(algorithm.element_name(), checksum);
        }
        xml.close("Part");
    }
    let owner = context.owner_identity(&page.upload.owner).await?;
    initiator_and_owner(&mut xml, &owner);
    xml.element("StorageClass", "STANDARD")
        .close("ListPartsResult");
    Ok(Response::xml(xml.finish()))
}

/// `<Initiator>` and `<Owner>`: the same user here (no IAM principals initiate for an account).
fn initiator_and_owner(xml: &mut XmlBuilder, owner: &Identity) {
    for element in ["Initiator", "Owner"] {
        xml.open(element)
            .element("ID", &owner.canonical_id)
            .element("DisplayName", &owner.display_name)
            .close(element);
    }
}

/// ListMultipartUploads.
pub async fn list_multipart_uploads(
    context: &S3Context,
    request: &S3Request<'_>,
    _payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    authorized_bucket(context, &request.call(), Permission::Read).await?;
    let max_uploads = bounded_count(request, "max-uploads")?;
    let url_encoding = request
        .query_value("encoding-type")
        .is_some_and(|value| value.eq_ignore_ascii_case("url"));
    let encode = |value: &str| {
        if url_encoding {
            url_encode_key(value)
        } else {
            value.to_string()
        }
    };
    let query = UploadsQuery {
        bucket: request.bucket().to_string(),
        prefix: request
            .query_value("prefix")
            .unwrap_or_default()
            .to_string(),
        delimiter: request
            .query_value("delimiter")
            .filter(|d| !d.is_empty())
            .map(str::to_string),
        key_marker: request
            .query_value("key-marker")
            .unwrap_or_default()
            .to_string(),
        upload_id_marker: request
            .query_value("upload-id-marker")
            .unwrap_or_default()
            .to_string(),
        max_uploads,
    };
    let page = context
        .meta
        .list_uploads(query.clone())
        .await
        .map_err(|e| map_meta(request, e))?;
    let mut xml = XmlBuilder::new();
    xml.open_root("ListMultipartUploadsResult")
        .element("Bucket", request.bucket())
        .element("KeyMarker", &encode(&query.key_marker))
        .element("UploadIdMarker", &query.upload_id_marker);
    if page.is_truncated {
        if let Some(last) = page.uploads.last() {
            xml.element("NextKeyMarker", &encode(&last.key))
                .element("NextUploadIdMarker", &last.upload_id);
        }
    }
    xml.element("Prefix", &encode(&query.prefix));
    if let Some(delimiter) = &query.delimiter {
        xml.element("Delimiter", &encode(delimiter));
    }
    xml.element("MaxUploads", &max_uploads.to_string()).element(
        "IsTruncated",
        if page.is_truncated { "true" } else { "false" },
    );
    if url_encoding {
        xml.element("EncodingType", "url");
    }
    for upload in &page.uploads {
        xml.open("Upload")
            .element("Key", &encode(&upload.key))
            .element("UploadId", &upload.upload_id);
        initiator_and_owner(&mut xml, &context.owner_identity(&upload.owner).await?);
        xml.element("StorageClass", "STANDARD")
            .element("Initiated", &time::iso8601(upload.created_ms))
            .close("Upload");
    }
    for prefix in &page.common_prefixes {
        xml.open("CommonPrefixes")
            .element("Prefix", &encode(prefix))
            .close("CommonPrefixes");
    }
    xml.close("ListMultipartUploadsResult");
    Ok(Response::xml(xml.finish()))
}
