//! The gate before every operation: the S3 action each operation asks for (the Service
//! Authorization Reference's table) and the bucket's policy and PublicAccessBlock applied in
//! AWS's order — an explicit Deny refuses before the operation runs; an Allow lets the operation
//! skip its ACL check on the request's own resource; otherwise the ACLs decide.

use crate::meta::BucketRecord;
use crate::policy::conditions::ConditionContext;
use crate::policy::Decision;

use super::authorization::{condition_context, decide, existing_object_tags, EXISTING_OBJECT_TAG};
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::operation::Operation;
use super::request::{Authorization, S3Request};
use super::S3Context;

/// The S3 action (without `s3:`) a request of `operation` asks for, as bucket policies name it;
/// `None` for operations a bucket policy does not govern: ListBuckets and CreateBucket (no bucket
/// yet), Get/Put/DeleteBucketPolicy (the owner's alone and never denied, so a policy cannot lock
/// its owner out, as in S3), preflights, and DeleteObjects and POST uploads (decided per
/// key, and for POST once the form's signer is known: see `authorization::object_conditions`).
pub fn policy_action(operation: Operation, versioned: bool) -> Option<&'static str> {
    use Operation::*;
    let pick =
        |plain: &'static str, version: &'static str| Some(if versioned { version } else { plain });
    match operation {
        ListObjects | ListObjectsV2 | HeadBucket => Some("ListBucket"),
        ListObjectVersions => Some("ListBucketVersions"),
        ListMultipartUploads => Some("ListBucketMultipartUploads"),
        GetObject | HeadObject => pick("GetObject", "GetObjectVersion"),
        PutObject
        | CopyObject
        | CreateMultipartUpload
        | UploadPart
        | UploadPartCopy
        | CompleteMultipartUpload => Some("PutObject"),
        DeleteObject => pick("DeleteObject", "DeleteObjectVersion"),
        AbortMultipartUpload => Some("AbortMultipartUpload"),
        ListParts => Some("ListMultipartUploadParts"),
        GetObjectAcl => pick("GetObjectAcl", "GetObjectVersionAcl"),
        PutObjectAcl => pick("PutObjectAcl", "PutObjectVersionAcl"),
        GetObjectAttributes => pick("GetObjectAttributes", "GetObjectVersionAttributes"),
        GetObjectTagging => pick("GetObjectTagging", "GetObjectVersionTagging"),
        PutObjectTagging => pick("PutObjectTagging", "PutObjectVersionTagging"),
        DeleteObjectTagging => pick("DeleteObjectTagging", "DeleteObjectVersionTagging"),
        GetObjectRetention => Some("GetObjectRetention"),
        PutObjectRetention => Some("PutObjectRetention"),
        GetObjectLegalHold => Some("GetObjectLegalHold"),
        PutObjectLegalHold => Some("PutObjectLegalHold"),
        DeleteBucket => Some("DeleteBucket"),
        GetBucketAcl => Some("GetBucketAcl"),
        PutBucketAcl => Some("PutBucketAcl"),
        GetBucketLocation => Some("GetBucketLocation"),
        GetBucketRequestPayment => Some("GetBucketRequestPayment"),
        GetBucketVersioning => Some("GetBucketVersioning"),
        PutBucketVersioning => Some("PutBucketVersioning"),
        GetObjectLockConfiguration => Some("GetBucketObjectLockConfiguration"),
        PutObjectLockConfiguration => Some("PutBucketObjectLockConfiguration"),
        GetBucketTagging => Some("GetBucketTagging"),
        PutBucketTagging | DeleteBucketTagging => Some("PutBucketTagging"),
        GetBucketPolicyStatus => Some("GetBucketPolicyStatus"),
        GetPublicAccessBlock => Some("GetBucketPublicAccessBlock"),
        PutPublicAccessBlock | DeletePublicAccessBlock => Some("PutBucketPublicAccessBlock"),
        GetBucketCors => Some("GetBucketCORS"),
        PutBucketCors | DeleteBucketCors => Some("PutBucketCORS"),
        GetBucketEncryption => Some("GetEncryptionConfiguration"),
        PutBucketEncryption | DeleteBucketEncryption => Some("PutEncryptionConfiguration"),
        GetBucketLifecycleConfiguration => Some("GetLifecycleConfiguration"),
        PutBucketLifecycleConfiguration | DeleteBucketLifecycle => {
            Some("PutLifecycleConfiguration")
        }
        _ => None,
    }
}

/// Actions on an existing object that its own ACL governs: a bucket policy can grant them only on
/// objects the bucket owner owns (S3 User Guide, "Controlling ownership of objects": with
/// ObjectWriter ownership another account's object is granted by its ACL alone; a policy can
/// still deny it).
fn governed_by_object_acl(action: &str) -> bool {
    matches!(
        action,
        "GetObject"
            | "GetObjectVersion"
            | "GetObjectAcl"
            | "GetObjectVersionAcl"
            | "PutObjectAcl"
            | "PutObjectVersionAcl"
            | "GetObjectTagging"
            | "GetObjectVersionTagging"
            | "PutObjectTagging"
            | "PutObjectVersionTagging"
            | "DeleteObjectTagging"
            | "DeleteObjectVersionTagging"
            | "GetObjectAttributes"
            | "GetObjectVersionAttributes"
            | "GetObjectRetention"
            | "GetObjectLegalHold"
    )
}

/// Whether the object (or version) the request names is the bucket owner's; a missing one counts
/// as the owner's (the operation then answers its own 404).
async fn owned_by_bucket_owner(
    context: &S3Context,
    bucket: &BucketRecord,
    request: &S3Request<'_>,
) -> bool {
    let Some(key) = request.target.key.as_deref() else {
        return true;
    };
    let owner = match request
        .query_value("versionId")
        .and_then(crate::meta::VersionSelector::parse)
    {
        None => match context.object(&bucket.name, key, false).await {
            Ok(Some(record)) => Some(record.owner.clone()),
            _ => None,
        },
        Some(version) => {
            let lookup = crate::meta::GetObjectVersion {
                bucket: bucket.name.clone(),
                key: key.to_string(),
                version: Some(version),
                with_bytes: false,
            };
            match context.meta.call(lookup).await {
                Ok(crate::meta::VersionLookup::Object(record)) => Some(record.owner),
                _ => None,
            }
        }
    };
    owner.is_none_or(|owner| owner == bucket.owner)
}

/// The actions a request needs besides its operation's own: GetObjectAttributes reads the object
/// (`s3:GetObject`); a write that sets tags (`x-amz-tagging`) needs `s3:PutObjectTagging`
/// (PutObject reference, Permissions; the User Guide's `s3:RequestObjectTag` examples grant
/// both). A write's ACL headers are decided on `s3:PutObject` alone, with the `s3:x-amz-acl` and
/// `s3:x-amz-grant-*` condition keys, as the User Guide's "bucket owner full control" example
/// does.
fn dependent_actions(
    operation: Operation,
    request: &S3Request<'_>,
    versioned: bool,
) -> Vec<&'static str> {
    use Operation::*;
    let head = request.head;
    match operation {
        GetObjectAttributes if versioned => vec!["GetObjectVersion"],
        GetObjectAttributes => vec!["GetObject"],
        PutObject | CopyObject | CreateMultipartUpload
            if head.header("x-amz-tagging").is_some() =>
        {
            vec!["PutObjectTagging"]
        }
        _ => Vec::new(),
    }
}

/// Applies the bucket's policy and PublicAccessBlock to `request` (routed to `operation`); also
/// returns the request's condition keys when a policy may need them later (a policy on the
/// bucket, or an operation that touches other objects: copies, DeleteObjects, POST uploads).
pub async fn authorize(
    context: &S3Context,
    request: &S3Request<'_>,
    operation: Operation,
) -> S3Result<(Authorization, Option<ConditionContext>)> {
    use Operation::*;
    let Some(name) = request.target.bucket.as_deref() else {
        return Ok((Authorization::default(), None));
    };
    if matches!(operation, OptionsPreflight) {
        return Ok((Authorization::default(), None));
    }
    let bucket = context.bucket(name).await?;
    // CreateBucket of a bucket that exists: the owner's re-create resets its ACL (us-east-1), so
    // it is decided as PutBucketAcl; anything else about CreateBucket is not a bucket's policy's.
    let recreate = matches!(operation, CreateBucket)
        && bucket
            .as_ref()
            .is_some_and(|bucket| request.requester.access_key() == bucket.owner);
    if matches!(operation, CreateBucket) && !recreate {
        return Ok((Authorization::default(), None));
    }
    let needs_conditions = bucket
        .as_ref()
        .is_some_and(|bucket| bucket.policy.is_some())
        || matches!(
            operation,
            CopyObject | UploadPartCopy | DeleteObjects | PostObject
        );
    let conditions = needs_conditions.then(|| condition_context(request, super::time::now_ms()));
    let Some(bucket) = bucket else {
        return Ok((Authorization::default(), conditions));
    };
    let block = bucket.public_access_block.unwrap_or_default();
    let mut authorization = Authorization {
        policy_allows: false,
        ignore_public_acls: block.ignore_public_acls,
        block_public_acls: block.block_public_acls,
    };
    let versioned = request.query_value("versionId").is_some();
    let mut conditions = conditions;
    if let (Some(policy), Some(key), Some(conditions)) = (
        &bucket.policy,
        request.target.key.as_deref(),
        conditions.as_mut(),
    ) {
        if policy.reads_keys_under(EXISTING_OBJECT_TAG) {
            let version = request
                .query_value("versionId")
                .and_then(crate::meta::VersionSelector::parse);
            existing_object_tags(context, &bucket, key, version, conditions).await;
        }
    }
    let action = if recreate {
        Some("PutBucketAcl")
    } else {
        policy_action(operation, versioned)
    };
    if let (Some(action), Some(conditions)) = (action, &conditions) {
        let key = request.target.key.as_deref();
        let mut decision = decide(&bucket, &request.requester, action, key, conditions);
        // Actions a request needs besides its operation's own (Service Authorization
        // Reference, "dependent actions"): each must be allowed as well.
        for also in dependent_actions(operation, request, versioned) {
            if decision == Decision::Deny {
                break;
            }
            decision = match decide(&bucket, &request.requester, also, key, conditions) {
                Decision::Deny => Decision::Deny,
                Decision::Allow => decision,
                Decision::NoOpinion => Decision::NoOpinion,
            };
        }
        match decision {
            Decision::Deny => return Err(S3Error::new(S3ErrorCode::AccessDenied)),
            Decision::Allow => {
                authorization.policy_allows = !governed_by_object_acl(action)
                    || owned_by_bucket_owner(context, &bucket, request).await;
            }
            Decision::NoOpinion => {}
        }
    }
    Ok((authorization, conditions))
}
