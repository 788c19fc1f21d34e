//! DeleteObjects: up to 1,000 keys in one metadata round trip and one `IN (…)` statement; the
//! files go after the commit. A typed unit (`S3Operation`).

use crate::storage::checksum::{checksum_of, ChecksumAlgorithm, CHECKSUM_ALGORITHMS};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use md5::{Digest, Md5};

use crate::limits::KEY_BYTES_MAX;
use crate::s3::access::Permission;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::handler::{FromRequest, S3Operation};
use crate::s3::object_write::{decode_checksum, no_such_bucket};
use crate::s3::payload::{read_small_body, PayloadReader};
use crate::s3::request::{Call, S3Request};
use crate::s3::resource::authorized_bucket;
use crate::s3::xml::documents::{DeleteOutcome, DeleteResult};
use crate::s3::xml::parse_delete_objects;
use crate::s3::S3Context;
use crate::s3::NULL_VERSION_ID;
use crate::storage::writer::remove_object_file_later;

/// The integrity headers S3 requires on DeleteObjects: Content-MD5, or a flexible checksum
/// (which may also come as a trailer).
pub struct BodyIntegrity<'r> {
    content_md5: Option<&'r str>,
    /// The first `x-amz-checksum-*` header present, in `CHECKSUM_ALGORITHMS` order.
    checksum: Option<(ChecksumAlgorithm, &'r str)>,
}

impl<'r> FromRequest<'r> for BodyIntegrity<'r> {
    fn parse(request: &'r S3Request<'_>) -> S3Result<Self> {
        let head = request.head;
        Ok(BodyIntegrity {
            content_md5: head.header("content-md5"),
            checksum: CHECKSUM_ALGORITHMS.into_iter().find_map(|algorithm| {
                head.header(algorithm.header_name())
                    .map(|value| (algorithm, value))
            }),
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
        let from_trailer = || {
            CHECKSUM_ALGORITHMS.into_iter().find_map(|algorithm| {
                trailers
                    .iter()
                    .find(|(name, _)| name == algorithm.header_name())
                    .map(|(_, value)| (algorithm, value.as_str()))
            })
        };
        match self.checksum.or_else(from_trailer) {
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
        let mut deletable: Vec<String> = Vec::with_capacity(parsed.objects.len());
        let mut outcomes: Vec<DeleteOutcome> = Vec::with_capacity(parsed.objects.len());
        for entry in parsed.objects {
            let refusal = if entry
                .version_id
                .as_deref()
                .is_some_and(|version| version != NULL_VERSION_ID)
            {
                Some(("NoSuchVersion", "The specified version does not exist."))
            } else if entry.key.is_empty() || entry.key.len() > KEY_BYTES_MAX {
                Some(("InvalidArgument", "Invalid key"))
            } else {
                deletable.push(entry.key.clone());
                None
            };
            outcomes.push(DeleteOutcome { entry, refusal });
        }
        let files = context
            .meta
            .delete_batch(call.bucket.to_string(), deletable)
            .await
            .map_err(|error| match error {
                crate::meta::MetaError::NoSuchBucket => no_such_bucket(&call),
                other => other.into(),
            })?;
        for file in files {
            remove_object_file_later(&context.layout, file);
        }
        Ok(DeleteResult {
            quiet: parsed.quiet,
            outcomes,
        })
    }
}
