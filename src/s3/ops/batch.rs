//! DeleteObjects: up to 1,000 keys in one metadata round trip and one `IN (…)` statement (each
//! conditional entry — `ETag`, `LastModifiedTime`, `Size` — checked in the same transaction); the
//! files go after the commit. A typed unit (`S3Operation`).

use crate::storage::checksum::{checksum_of, CHECKSUM_ALGORITHMS};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use md5::{Digest, Md5};

use crate::limits::KEY_BYTES_MAX;
use crate::meta::{DeleteBatch, DeleteCondition, DeletedVersion, VersionSelector};
use crate::s3::access::Permission;
use crate::s3::conditions::delete_condition;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::handler::{FromRequest, S3Operation};
use crate::s3::object_write::{decode_checksum, no_such_bucket};
use crate::s3::payload::{read_small_body, PayloadReader};
use crate::s3::request::{Call, S3Request};
use crate::s3::resource::authorized_bucket;
use crate::s3::xml::documents::{DeleteOutcome, DeleteResult};
use crate::s3::xml::{parse_delete_objects, DeleteEntry};
use crate::s3::S3Context;
use crate::storage::writer::remove_object_file_later;

/// The integrity headers S3 requires on DeleteObjects: Content-MD5, or a flexible checksum
/// (which may also come as a trailer).
pub struct BodyIntegrity<'r> {
    content_md5: Option<&'r str>,
    /// Each algorithm's `x-amz-checksum-*` header, if sent, in `CHECKSUM_ALGORITHMS` order.
    checksums: [Option<&'r str>; CHECKSUM_ALGORITHMS.len()],
}

impl<'r> FromRequest<'r> for BodyIntegrity<'r> {
    fn parse(request: &'r S3Request<'_>) -> S3Result<Self> {
        let head = request.head;
        Ok(BodyIntegrity {
            content_md5: head.header("content-md5"),
            checksums: CHECKSUM_ALGORITHMS.map(|algorithm| head.header(algorithm.header_name())),
        })
    }
}

impl BodyIntegrity<'_> {
    /// Checks `body` against the header (or the trailer of the same checksum in `trailers`).
    fn verify(&self, trailers: &[(String, String)], body: &[u8]) -> S3Result<()> {
        let mismatch = || S3Error::new(S3ErrorCode::BadDigest);
        if let Some(md5) = self.content_md5 {
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
        // The first algorithm (in `CHECKSUM_ALGORITHMS` order) sent as a header or a trailer.
        let checksum = CHECKSUM_ALGORITHMS
            .into_iter()
            .zip(self.checksums)
            .find_map(|(algorithm, header)| {
                let trailer = || {
                    trailers
                        .iter()
                        .find(|(name, _)| name == algorithm.header_name())
                        .map(|(_, value)| value.as_str())
                };
                header.or_else(trailer).map(|value| (algorithm, value))
            });
        match checksum {
            Some((algorithm, value)) => {
                if decode_checksum(algorithm, value)? != checksum_of(algorithm, body) {
                    return Err(mismatch());
                }
                Ok(())
            }
            None => Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "Missing required header for this request: Content-MD5 or x-amz-checksum-*",
            )),
        }
    }
}

/// Which version of `entry` goes and under what condition, or why it is refused (Code, Message).
fn entry_target(
    entry: &DeleteEntry,
) -> Result<(Option<VersionSelector>, DeleteCondition), (&'static str, &'static str)> {
    let version = match entry.version_id.as_deref() {
        None => None,
        Some(text) => Some(
            VersionSelector::parse(text)
                .ok_or(("NoSuchVersion", "The specified version does not exist."))?,
        ),
    };
    if entry.key.is_empty() || entry.key.len() > KEY_BYTES_MAX {
        return Err(("InvalidArgument", "Invalid key"));
    }
    let condition = delete_condition(
        entry.etag.as_deref(),
        entry
            .last_modified_time
            .as_deref()
            .map(|value| ("LastModifiedTime", value)),
        entry.size.as_deref().map(|value| ("Size", value)),
    )
    .map_err(|_| ("InvalidArgument", "Invalid condition"))?;
    Ok((version, condition))
}

/// DeleteObjects.
pub struct DeleteObjects;

impl S3Operation for DeleteObjects {
    type Input<'r> = BodyIntegrity<'r>;
    type Output = DeleteResult;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        mut payload: PayloadReader<'_, '_>,
    ) -> S3Result<DeleteResult> {
        authorized_bucket(context, &call, Permission::Write).await?;
        let body = read_small_body(&mut payload).await?;
        input.verify(payload.trailers(), &body)?;
        let parsed = parse_delete_objects(&body)?;
        let count = parsed.objects.len();
        let mut keys: Vec<String> = Vec::with_capacity(count);
        let mut versions: Vec<Option<VersionSelector>> = Vec::with_capacity(count);
        let mut conditions: Vec<DeleteCondition> = Vec::with_capacity(count);
        // For each deletable entry, its position in `outcomes`.
        let mut positions: Vec<usize> = Vec::with_capacity(count);
        let mut outcomes: Vec<DeleteOutcome> = Vec::with_capacity(count);
        for entry in parsed.objects {
            let refusal = match entry_target(&entry) {
                Err(refusal) => Some(refusal),
                Ok((version, condition)) => {
                    keys.push(entry.key.clone());
                    versions.push(version);
                    conditions.push(condition);
                    positions.push(outcomes.len());
                    None
                }
            };
            outcomes.push(DeleteOutcome {
                entry,
                refusal,
                deleted: DeletedVersion::default(),
            });
        }
        if conditions.iter().all(DeleteCondition::is_empty) {
            conditions.clear();
        }
        if versions.iter().all(Option::is_none) {
            versions.clear();
        }
        let batch = DeleteBatch {
            bucket: call.bucket.to_string(),
            keys,
            versions,
            conditions,
            requester: call.requester.access_key().to_string(),
        };
        let deleted = context
            .meta
            .call(batch)
            .await
            .map_err(|error| match error {
                crate::meta::MetaError::NoSuchBucket => no_such_bucket(&call),
                other => other.into(),
            })?;
        for file in deleted.files {
            remove_object_file_later(&context.layout, file);
        }
        for (index, reported) in deleted.deleted.into_iter().enumerate() {
            outcomes[positions[index]].deleted = reported;
        }
        for index in deleted.precondition_failed {
            outcomes[positions[index]].refusal = Some((
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
            ));
        }
        Ok(DeleteResult {
            quiet: parsed.quiet,
            outcomes,
        })
    }
}
