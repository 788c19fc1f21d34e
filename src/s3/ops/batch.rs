//! DeleteObjects: up to 1,000 keys in one metadata round trip and one `IN (…)` statement; the
//! files go after the commit.

use crate::storage::checksum::{checksum_of, CHECKSUM_ALGORITHMS};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use md5::{Digest, Md5};

use crate::http::Response;
use crate::limits::KEY_BYTES_MAX;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::payload::read_small_body;
use crate::s3::payload::PayloadReader;
use crate::s3::request::S3Request;
use crate::s3::xml::{parse_delete_objects, XmlBuilder};
use crate::s3::S3Context;
use crate::s3::NULL_VERSION_ID;
use crate::storage::writer::remove_object_file_later;

/// Checks the integrity header S3 requires on DeleteObjects: Content-MD5, or a flexible checksum
/// (header or trailer) that matches the body.
fn verify_body_integrity(
    request: &S3Request<'_>,
    trailers: &[(String, String)],
    body: &[u8],
) -> S3Result<()> {
    let head = request.head;
    let checksum = |name: &str| {
        head.header(name).map(str::to_string).or_else(|| {
            trailers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        })
    };
    let mismatch = || S3Error::new(S3ErrorCode::BadDigest);
    if let Some(md5) = head.header("content-md5") {
        let expected = BASE64
            .decode(md5.trim())
            .map_err(|_| S3Error::new(S3ErrorCode::InvalidDigest))?;
        if expected.len() != 16 {
            return Err(S3Error::new(S3ErrorCode::InvalidDigest));
        }
        if expected.as_slice() != Md5::digest(body).as_slice() {
            return Err(mismatch());
        }
        return Ok(());
    }
    for algorithm in CHECKSUM_ALGORITHMS {
        if let Some(value) = checksum(algorithm.header_name()) {
            if crate::s3::object_write::decode_checksum(algorithm, &value)?
                != checksum_of(algorithm, body)
            {
                return Err(mismatch());
            }
            return Ok(());
        }
    }
    Err(S3Error::with_message(
        S3ErrorCode::InvalidRequest,
        "Missing required header for this request: Content-MD5 or x-amz-checksum-*",
    ))
}

/// DeleteObjects.
pub async fn delete_objects(
    context: &S3Context,
    request: &S3Request<'_>,
    mut payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    crate::s3::resource::authorized_bucket(
        context,
        &request.call(),
        crate::s3::access::Permission::Write,
    )
    .await?;
    let body = read_small_body(&mut payload).await?;
    verify_body_integrity(request, payload.trailers(), &body)?;
    let parsed = parse_delete_objects(&body)?;
    let mut deletable: Vec<String> = Vec::with_capacity(parsed.objects.len());
    let mut refused: Vec<(usize, &'static str, &'static str)> = Vec::new();
    for (index, entry) in parsed.objects.iter().enumerate() {
        if entry
            .version_id
            .as_deref()
            .is_some_and(|version| version != NULL_VERSION_ID)
        {
            refused.push((
                index,
                "NoSuchVersion",
                "The specified version does not exist.",
            ));
        } else if entry.key.is_empty() || entry.key.len() > KEY_BYTES_MAX {
            refused.push((index, "InvalidArgument", "Invalid key"));
        } else {
            deletable.push(entry.key.clone());
        }
    }
    let files = context
        .meta
        .delete_batch(request.bucket().to_string(), deletable)
        .await
        .map_err(|error| match error {
            crate::meta::MetaError::NoSuchBucket => {
                crate::s3::object_write::no_such_bucket(request)
            }
            other => other.into(),
        })?;
    for file in files {
        remove_object_file_later(&context.layout, file);
    }
    let mut xml = XmlBuilder::new();
    xml.open_root("DeleteResult");
    for (index, entry) in parsed.objects.iter().enumerate() {
        match refused
            .iter()
            .find(|(refused_index, _, _)| *refused_index == index)
        {
            Some((_, code, message)) => {
                xml.open("Error").element("Key", &entry.key);
                if let Some(version) = &entry.version_id {
                    xml.element("VersionId", version);
                }
                xml.element("Code", code)
                    .element("Message", message)
                    .close("Error");
            }
            None if parsed.quiet => {}
            None => {
                xml.open("Deleted").element("Key", &entry.key);
                if let Some(version) = &entry.version_id {
                    xml.element("VersionId", version);
                }
                xml.close("Deleted");
            }
        }
    }
    xml.close("DeleteResult");
    Ok(Response::xml(xml.finish()))
}
