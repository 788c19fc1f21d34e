//! Default encryption, each operation a typed unit: Put/Get/DeleteBucketEncryption (the bucket
//! owner's). S3 API Reference: PutBucketEncryption, GetBucketEncryption, DeleteBucketEncryption.

use crate::meta::PutBucketEncryption as SetBucketEncryption;
use crate::s3::body_digest::BodyIntegrity;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::handler::{Done, NoContent, S3Operation};
use crate::s3::payload::{read_small_body, PayloadReader};
use crate::s3::request::Call;
use crate::s3::resource::{bucket_command, owned_bucket};
use crate::s3::xml::configuration::EncryptionConfigurationDocument;
use crate::s3::xml::parse_encryption_configuration;
use crate::s3::S3Context;

/// PutBucketEncryption: new objects without their own SSE headers are stored with SSE-S3
/// (Content-MD5 or a flexible checksum required, as S3 requires). Refused (501) without a
/// master key, so a bucket never claims a default it cannot give.
pub struct PutBucketEncryption;

impl S3Operation for PutBucketEncryption {
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
        input.verify(payload.trailers(), &body)?;
        let configuration = parse_encryption_configuration(&body)?;
        if context.config.sse_master_key.is_none() {
            return Err(S3Error::with_message(
                S3ErrorCode::NotImplemented,
                "Server side encryption specified but no master key is configured (start ringstore with --sse-master-key-file).",
            ));
        }
        set_bucket_encryption(context, &call, Some(configuration)).await?;
        Ok(Done)
    }
}

async fn set_bucket_encryption(
    context: &S3Context,
    call: &Call<'_>,
    configuration: Option<crate::meta::BucketEncryption>,
) -> S3Result<()> {
    let command = SetBucketEncryption {
        bucket: call.bucket.to_string(),
        configuration,
    };
    bucket_command(context, call, command).await
}

/// GetBucketEncryption: the default as stored; 404
/// ServerSideEncryptionConfigurationNotFoundError for a bucket without.
pub struct GetBucketEncryption;

impl S3Operation for GetBucketEncryption {
    type Input<'r> = ();
    type Output = EncryptionConfigurationDocument;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        _input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<EncryptionConfigurationDocument> {
        let bucket = owned_bucket(context, &call).await?;
        match bucket.encryption {
            Some(configuration) => Ok(EncryptionConfigurationDocument(configuration)),
            None => Err(
                S3Error::new(S3ErrorCode::ServerSideEncryptionConfigurationNotFoundError)
                    .field("BucketName", call.bucket.to_string()),
            ),
        }
    }
}

/// DeleteBucketEncryption: removes the default (204, with or without one); objects already
/// stored stay encrypted.
pub struct DeleteBucketEncryption;

impl S3Operation for DeleteBucketEncryption {
    type Input<'r> = ();
    type Output = NoContent;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        _input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<NoContent> {
        owned_bucket(context, &call).await?;
        set_bucket_encryption(context, &call, None).await?;
        Ok(NoContent)
    }
}
