//! Tagging operations: Put/Get/DeleteObjectTagging on one version (the current one unless
//! `versionId` names another; its owner's) and Put/Get/DeleteBucketTagging (the bucket owner's), each a
//! typed unit (S3 API Reference of each).

use crate::meta::{GetBucketTagging as ReadBucketTags, MetaError};
use crate::meta::{PutBucketTagging as SetBucketTags, PutObjectTagging as SetObjectTags};
use crate::policy::Decision;
use crate::s3::access::Permission;
use crate::s3::authorization::{decide, set_request_tags};
use crate::s3::body_digest::BodyIntegrity;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::handler::{Done, FromRequest, NoContent, S3Operation, WithHeaders};
use crate::s3::object_lock::administers;
use crate::s3::object_write::no_such_bucket;
use crate::s3::payload::{read_small_body, PayloadReader};
use crate::s3::request::{Call, S3Request};
use crate::s3::resource::{authorize_object, bucket_command, find_version, owned_bucket};
use crate::s3::tagging::{decode, encode, BUCKET_TAG_COUNT_MAX, OBJECT_TAG_COUNT_MAX};
use crate::s3::version::RequestedVersion;
use crate::s3::xml::configuration::Tagging;
use crate::s3::xml::parse_tagging;
use crate::s3::S3Context;

/// The version the request names, if the requester may see or change its tags: the bucket's
/// owner (or admin), or whoever holds `permission` on the object (READ_ACP / WRITE_ACP, which its
/// owner holds) — tags are not every reader's (`s3:GetObjectTagging` is not an ACL grant).
async fn tagged_version(
    context: &S3Context,
    call: &Call<'_>,
    version: &RequestedVersion,
    permission: Permission,
    method: &str,
) -> S3Result<std::rc::Rc<crate::meta::ObjectRecord>> {
    let record = find_version(context, call, version.0.as_ref(), false, method).await?;
    let administrator = match context.bucket(call.bucket).await? {
        Some(bucket) => administers(context, call, &bucket),
        None => false,
    };
    if !administrator {
        authorize_object(call, &record, permission)?;
    }
    Ok(record)
}

/// Stores `tags` (URL-encoded; `None` removes them) on the version the request names, once the
/// requester may change them (`tagged_version`); its version id.
async fn set_object_tags(
    context: &S3Context,
    call: &Call<'_>,
    version: &RequestedVersion,
    tags: Option<String>,
) -> S3Result<Option<String>> {
    tagged_version(context, call, version, Permission::WriteAcp, "PUT").await?;
    let command = SetObjectTags {
        bucket: call.bucket.to_string(),
        key: call.key.to_string(),
        version: version.0.clone(),
        tags,
    };
    context
        .meta
        .call(command)
        .await
        .map_err(|error| version.command_error(call, error))
}

/// What a PutObjectTagging asks in its head: the version, and the body's digest (S3 requires
/// Content-MD5 or a flexible checksum on PutObjectTagging and PutBucketTagging).
pub struct PutObjectTaggingInput<'r> {
    version: RequestedVersion,
    integrity: BodyIntegrity<'r>,
}

impl<'r> FromRequest<'r> for PutObjectTaggingInput<'r> {
    fn parse(request: &'r S3Request<'_>) -> S3Result<Self> {
        Ok(PutObjectTaggingInput {
            version: RequestedVersion::parse(request)?,
            integrity: BodyIntegrity::parse(request)?,
        })
    }
}

/// PutObjectTagging: replaces the version's whole tag set (at most 10 tags).
pub struct PutObjectTagging;

impl S3Operation for PutObjectTagging {
    type Input<'r> = PutObjectTaggingInput<'r>;
    type Output = WithHeaders<Done>;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        mut payload: PayloadReader<'_, '_>,
    ) -> S3Result<WithHeaders<Done>> {
        let body = read_small_body(&mut payload).await?;
        input.integrity.verify(payload.trailers(), &body)?;
        let parsed = parse_tagging(&body, OBJECT_TAG_COUNT_MAX)?;
        // The tags the body carries are the request's `s3:RequestObjectTag` keys: the policy is
        // asked again with them (the pipeline decided before the body was read).
        let mut call = call;
        if let (Some(bucket), Some(base)) = (context.bucket(call.bucket).await?, call.conditions) {
            if bucket.policy.is_some() {
                let mut conditions = base.clone();
                set_request_tags(&mut conditions, &parsed);
                let action = if input.version.0.is_some() {
                    "PutObjectVersionTagging"
                } else {
                    "PutObjectTagging"
                };
                match decide(&bucket, call.requester, action, Some(call.key), &conditions) {
                    Decision::Deny => return Err(S3Error::new(S3ErrorCode::AccessDenied)),
                    Decision::Allow => {}
                    Decision::NoOpinion => call.authorization.policy_allows = false,
                }
            }
        }
        let tags = encode(&parsed);
        let version_id = set_object_tags(context, &call, &input.version, tags).await?;
        Ok(WithHeaders {
            answer: Done,
            headers: vec![("x-amz-version-id", version_id)],
        })
    }
}

/// DeleteObjectTagging: removes the version's tags (204).
pub struct DeleteObjectTagging;

impl S3Operation for DeleteObjectTagging {
    type Input<'r> = RequestedVersion;
    type Output = WithHeaders<NoContent>;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<WithHeaders<NoContent>> {
        let version_id = set_object_tags(context, &call, &input, None).await?;
        Ok(WithHeaders {
            answer: NoContent,
            headers: vec![("x-amz-version-id", version_id)],
        })
    }
}

/// GetObjectTagging: the version's tag set (empty when it has none), for the object's owner and
/// the bucket's.
pub struct GetObjectTagging;

impl S3Operation for GetObjectTagging {
    type Input<'r> = RequestedVersion;
    type Output = WithHeaders<Tagging>;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<WithHeaders<Tagging>> {
        let record = tagged_version(context, &call, &input, Permission::ReadAcp, "GET").await?;
        Ok(WithHeaders {
            headers: vec![("x-amz-version-id", record.version_id.clone())],
            answer: Tagging(decode(record.tags.as_deref())),
        })
    }
}

/// PutBucketTagging: replaces the bucket's tag set (at most 50 tags).
pub struct PutBucketTagging;

impl S3Operation for PutBucketTagging {
    type Input<'r> = BodyIntegrity<'r>;
    type Output = NoContent;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        mut payload: PayloadReader<'_, '_>,
    ) -> S3Result<NoContent> {
        owned_bucket(context, &call).await?;
        let body = read_small_body(&mut payload).await?;
        input.verify(payload.trailers(), &body)?;
        let tags = encode(&parse_tagging(&body, BUCKET_TAG_COUNT_MAX)?);
        set_bucket_tags(context, &call, tags).await?;
        Ok(NoContent)
    }
}

async fn set_bucket_tags(
    context: &S3Context,
    call: &Call<'_>,
    tags: Option<String>,
) -> S3Result<()> {
    let command = SetBucketTags {
        bucket: call.bucket.to_string(),
        tags,
    };
    bucket_command(context, call, command).await
}

/// DeleteBucketTagging: removes the bucket's tags (204).
pub struct DeleteBucketTagging;

impl S3Operation for DeleteBucketTagging {
    type Input<'r> = ();
    type Output = NoContent;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        _input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<NoContent> {
        owned_bucket(context, &call).await?;
        set_bucket_tags(context, &call, None).await?;
        Ok(NoContent)
    }
}

/// GetBucketTagging: 404 NoSuchTagSet for a bucket without tags.
pub struct GetBucketTagging;

impl S3Operation for GetBucketTagging {
    type Input<'r> = ();
    type Output = Tagging;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        _input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<Tagging> {
        owned_bucket(context, &call).await?;
        let command = ReadBucketTags {
            bucket: call.bucket.to_string(),
        };
        match context.meta.call(command).await {
            Ok(Some(tags)) => Ok(Tagging(decode(Some(&tags)))),
            Ok(None) => Err(S3Error::new(S3ErrorCode::NoSuchTagSet)
                .field("BucketName", call.bucket.to_string())),
            Err(MetaError::NoSuchBucket) => Err(no_such_bucket(&call)),
            Err(error) => Err(error.into()),
        }
    }
}
