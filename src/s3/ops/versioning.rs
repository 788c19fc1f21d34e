//! PutBucketVersioning and GetBucketVersioning: a bucket's versioning status, the bucket owner's
//! alone (S3 API Reference, PutBucketVersioning / GetBucketVersioning).

use crate::meta::{MetaError, PutBucketVersioning as SetVersioning, VersioningStatus};
use crate::s3::body_digest::BodyIntegrity;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::handler::{Done, S3Operation};
use crate::s3::object_write::no_such_bucket;
use crate::s3::payload::{read_small_body, PayloadReader};
use crate::s3::request::Call;
use crate::s3::resource::owned_bucket;
use crate::s3::xml::documents::VersioningConfiguration;
use crate::s3::xml::parse_versioning_configuration;
use crate::s3::S3Context;

/// GetBucketVersioning: the status, or an empty configuration for a bucket never versioned.
pub struct GetBucketVersioning;

impl S3Operation for GetBucketVersioning {
    type Input<'r> = ();
    type Output = VersioningConfiguration;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        _input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<VersioningConfiguration> {
        let bucket = owned_bucket(context, &call).await?;
        Ok(VersioningConfiguration {
            status: bucket.versioning.map(VersioningStatus::as_str),
        })
    }
}

/// PutBucketVersioning: Enabled or Suspended (a bucket never returns to unversioned). MFA Delete
/// is refused: ringstore has no MFA devices, and S3 requires one to enable it.
pub struct PutBucketVersioning;

impl S3Operation for PutBucketVersioning {
    type Input<'r> = BodyIntegrity<'r>;
    type Output = Done;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        mut payload: PayloadReader<'_, '_>,
    ) -> S3Result<Done> {
        owned_bucket(context, &call).await?;
        let body = read_small_body(&mut payload).await?;
        // A digest sent is checked (BadDigest on a mismatch); S3's SDKs send one.
        input.verify_if_sent(payload.trailers(), &body)?;
        let request = parse_versioning_configuration(&body)?;
        match request.mfa_delete.as_deref() {
            None | Some("Disabled") => {}
            Some("Enabled") => {
                return Err(S3Error::with_message(
                    S3ErrorCode::NotImplemented,
                    "MFA Delete is not implemented by ringstore.",
                ))
            }
            Some(_) => {
                return Err(S3Error::new(
                    S3ErrorCode::IllegalVersioningConfigurationException,
                ))
            }
        }
        let status = request
            .status
            .as_deref()
            .and_then(VersioningStatus::parse)
            .ok_or_else(|| S3Error::new(S3ErrorCode::IllegalVersioningConfigurationException))?;
        let command = SetVersioning {
            bucket: call.bucket.to_string(),
            status,
        };
        match context.meta.call(command).await {
            Ok(()) => Ok(Done),
            Err(MetaError::NoSuchBucket) => Err(no_such_bucket(&call)),
            Err(error) => Err(error.into()),
        }
    }
}
