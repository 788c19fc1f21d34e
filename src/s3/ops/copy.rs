//! CopyObject: COPY/REPLACE metadata over the source `copy_source` streams, committed with the
//! same durability as PutObject.

use crate::http::Response;
use crate::meta::PutCondition;
use crate::s3::access::Permission;
use crate::s3::copy_source::{copy_from_source, parse_copy_source};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::grants::acl_from_request_headers;
use crate::s3::object_write::{commit_object, stored_headers, Destination, ObjectAttributes};
use crate::s3::payload::PayloadReader;
use crate::s3::request::S3Request;
use crate::s3::resource::authorized_bucket;
use crate::s3::xml::XmlBuilder;
use crate::s3::{time, S3Context};
use crate::storage::checksum::StoredChecksum;

/// The `x-amz-metadata-directive` of a CopyObject.
#[derive(PartialEq)]
enum Directive {
    Copy,
    Replace,
}

/// CopyObject.
pub async fn copy_object(
    context: &S3Context,
    request: &S3Request<'_>,
    _payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    let head = request.head;
    let source = parse_copy_source(head.header("x-amz-copy-source").unwrap_or_default())?;
    let directive = match head.header("x-amz-metadata-directive") {
        None => Directive::Copy,
        Some(value) if value.eq_ignore_ascii_case("COPY") => Directive::Copy,
        Some(value) if value.eq_ignore_ascii_case("REPLACE") => Directive::Replace,
        Some(_) => {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "Unknown metadata directive.",
            ))
        }
    };
    if source.bucket == request.bucket()
        && source.key == request.key()
        && directive == Directive::Copy
    {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        ));
    }
    let bucket = authorized_bucket(context, &request.call(), Permission::Write).await?;
    let acl = acl_from_request_headers(context, request, &bucket.owner).await?;
    let (record, sealed) =
        copy_from_source(context, request, &source, None, None, Destination::Object).await?;
    let checksum = sealed
        .digests()
        .checksum
        .as_ref()
        .map(|(algorithm, value)| {
            use base64::Engine;
            StoredChecksum {
                algorithm: *algorithm,
                full_object: true,
                value: base64::engine::general_purpose::STANDARD.encode(value),
            }
            .encode()
        });
    let attributes = match directive {
        Directive::Copy => ObjectAttributes {
            content_type: record.content_type.clone(),
            headers: record.headers.clone(),
            checksum,
            acl,
        },
        Directive::Replace => ObjectAttributes {
            content_type: head.header("content-type").map(str::to_string),
            headers: stored_headers(head)?,
            checksum,
            acl,
        },
    };
    let committed = commit_object(context, request, sealed, attributes, PutCondition::None).await?;
    let mut xml = XmlBuilder::new();
    xml.open_root("CopyObjectResult")
        .element("LastModified", &time::iso8601(committed.last_modified_ms))
        .element("ETag", &format!("\"{}\"", committed.etag))
        .close("CopyObjectResult");
    Ok(Response::xml(xml.finish()))
}
