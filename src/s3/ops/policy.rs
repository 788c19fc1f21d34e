//! Bucket policy and PublicAccessBlock operations, each a typed unit and the bucket owner's:
//! Put/Get/DeleteBucketPolicy, GetBucketPolicyStatus, Put/Get/DeletePublicAccessBlock (S3 API
//! Reference of each). The policy is validated and compiled at PUT by `policy::BucketPolicy`.

use crate::http::{Response, ResponseBody};
use crate::meta::PutPublicAccessBlock as SetPublicAccessBlock;
use crate::meta::{PublicAccessBlock, PutBucketPolicy as SetPolicy};
use crate::policy::{BucketPolicy, POLICY_BYTES_MAX};
use crate::s3::body_digest::BodyIntegrity;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::handler::{Done, IntoResponse, NoContent, S3Operation};
use crate::s3::payload::{read_small_body, PayloadReader};
use crate::s3::request::Call;
use crate::s3::resource::{bucket_command, owned_bucket};
use crate::s3::xml::configuration::{PolicyStatus, PublicAccessBlockDocument};
use crate::s3::xml::parse_public_access_block;
use crate::s3::S3Context;

/// PutBucketPolicy: validates and stores the document (at most 20 KB; MalformedPolicy with S3's
/// messages; 403 AccessDenied for a public policy under BlockPublicPolicy). 204.
pub struct PutBucketPolicy;

impl S3Operation for PutBucketPolicy {
    type Input<'r> = BodyIntegrity<'r>;
    type Output = NoContent;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        mut payload: PayloadReader<'_, '_>,
    ) -> S3Result<NoContent> {
        let bucket = owned_bucket(context, &call).await?;
        let body = read_small_body(&mut payload).await?;
        input.verify_if_sent(payload.trailers(), &body)?;
        if body.len() > POLICY_BYTES_MAX {
            return Err(S3Error::with_message(
                S3ErrorCode::MalformedPolicy,
                "Policies must be no larger than 20 KB.",
            ));
        }
        let text = std::str::from_utf8(&body).map_err(|_| {
            S3Error::with_message(
                S3ErrorCode::MalformedPolicy,
                "Policies must be valid JSON and the first byte must be '{'",
            )
        })?;
        let policy = BucketPolicy::parse(text, call.bucket)
            .map_err(|error| S3Error::with_message(S3ErrorCode::MalformedPolicy, error.0))?;
        let blocked = bucket
            .public_access_block
            .is_some_and(|block| block.block_public_policy);
        if blocked && policy.is_public() {
            return Err(S3Error::new(S3ErrorCode::AccessDenied));
        }
        let command = SetPolicy {
            bucket: call.bucket.to_string(),
            policy: Some(policy.text),
        };
        bucket_command(context, &call, command).await?;
        Ok(NoContent)
    }
}

/// A bucket policy as GetBucketPolicy answers it: the JSON document as stored.
pub struct PolicyDocument(String);

impl IntoResponse for PolicyDocument {
    fn into_response(self) -> Response {
        let mut response = Response::empty(200);
        response.head.header("Content-Type", "application/json");
        response.body = ResponseBody::Bytes(self.0.into_bytes());
        response
    }
}

fn no_such_policy(call: &Call<'_>) -> S3Error {
    S3Error::new(S3ErrorCode::NoSuchBucketPolicy).field("BucketName", call.bucket.to_string())
}

/// GetBucketPolicy: the document as sent; 404 NoSuchBucketPolicy without one.
pub struct GetBucketPolicy;

impl S3Operation for GetBucketPolicy {
    type Input<'r> = ();
    type Output = PolicyDocument;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        _input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<PolicyDocument> {
        let bucket = owned_bucket(context, &call).await?;
        match &bucket.policy {
            Some(policy) => Ok(PolicyDocument(policy.text.clone())),
            None => Err(no_such_policy(&call)),
        }
    }
}

/// DeleteBucketPolicy: 204, with or without a policy.
pub struct DeleteBucketPolicy;

impl S3Operation for DeleteBucketPolicy {
    type Input<'r> = ();
    type Output = NoContent;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        _input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<NoContent> {
        owned_bucket(context, &call).await?;
        let command = SetPolicy {
            bucket: call.bucket.to_string(),
            policy: None,
        };
        bucket_command(context, &call, command).await?;
        Ok(NoContent)
    }
}

/// GetBucketPolicyStatus: whether the policy makes the bucket public; 404 NoSuchBucketPolicy
/// without one.
pub struct GetBucketPolicyStatus;

impl S3Operation for GetBucketPolicyStatus {
    type Input<'r> = ();
    type Output = PolicyStatus;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        _input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<PolicyStatus> {
        let bucket = owned_bucket(context, &call).await?;
        match &bucket.policy {
            Some(policy) => Ok(PolicyStatus {
                is_public: policy.is_public(),
            }),
            None => Err(no_such_policy(&call)),
        }
    }
}

/// PutPublicAccessBlock: stores the four flags (absent ones false). 200.
pub struct PutPublicAccessBlock;

impl S3Operation for PutPublicAccessBlock {
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
        input.verify_if_sent(payload.trailers(), &body)?;
        let block: PublicAccessBlock = parse_public_access_block(&body)?;
        let command = SetPublicAccessBlock {
            bucket: call.bucket.to_string(),
            block: Some(block),
        };
        bucket_command(context, &call, command).await?;
        Ok(Done)
    }
}

/// GetPublicAccessBlock: the flags; 404 NoSuchPublicAccessBlockConfiguration without any.
pub struct GetPublicAccessBlock;

impl S3Operation for GetPublicAccessBlock {
    type Input<'r> = ();
    type Output = PublicAccessBlockDocument;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        _input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<PublicAccessBlockDocument> {
        let bucket = owned_bucket(context, &call).await?;
        match bucket.public_access_block {
            Some(block) => Ok(PublicAccessBlockDocument(block)),
            None => Err(
                S3Error::new(S3ErrorCode::NoSuchPublicAccessBlockConfiguration)
                    .field("BucketName", call.bucket.to_string()),
            ),
        }
    }
}

/// DeletePublicAccessBlock: 204, with or without a configuration.
pub struct DeletePublicAccessBlock;

impl S3Operation for DeletePublicAccessBlock {
    type Input<'r> = ();
    type Output = NoContent;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        _input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<NoContent> {
        owned_bucket(context, &call).await?;
        let command = SetPublicAccessBlock {
            bucket: call.bucket.to_string(),
            block: None,
        };
        bucket_command(context, &call, command).await?;
        Ok(NoContent)
    }
}
