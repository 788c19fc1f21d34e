//! The request's bucket and object, looked up through the core's caches and authorized against
//! their ACLs: NoSuchBucket before AccessDenied, and no key revealed to those who may not list;
//! versions by `versionId`, and S3's answers for delete markers.

use std::rc::Rc;

use crate::meta::users::canonical_id;
use crate::meta::{BucketRecord, GetObjectVersion, ObjectRecord, VersionLookup, VersionSelector};
use crate::policy::Decision;
use crate::s3::access::{allows_acl, Permission};
use crate::s3::authorization::decide;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::request::Call;
use crate::s3::version::{delete_marker_named, key_deleted, no_such_version};
use crate::s3::S3Context;

/// The bucket of the request if the requester holds `permission` on it: NoSuchBucket before
/// AccessDenied, as S3 answers.
pub(crate) async fn authorized_bucket(
    context: &S3Context,
    call: &Call<'_>,
    permission: Permission,
) -> S3Result<Rc<BucketRecord>> {
    let bucket = existing_bucket(context, call).await?;
    // A bucket policy's Allow of the request's action stands in for the ACL (on the request's
    // own bucket: this is the call's bucket).
    if call.authorization.policy_allows {
        return Ok(bucket);
    }
    if !allows_acl(
        &bucket.owner,
        bucket.acl.as_deref(),
        call.requester,
        permission,
        call.authorization.ignore_public_acls,
    ) {
        return Err(S3Error::new(S3ErrorCode::AccessDenied));
    }
    Ok(bucket)
}

/// The bucket of the request if the requester owns it (configuration reads and DeleteBucket are
/// the owner's alone, whatever the ACL says).
pub(crate) async fn owned_bucket(
    context: &S3Context,
    call: &Call<'_>,
) -> S3Result<Rc<BucketRecord>> {
    let bucket = existing_bucket(context, call).await?;
    if call.authorization.policy_allows {
        return Ok(bucket);
    }
    if call.requester.signed()?.access_key != bucket.owner {
        return Err(S3Error::new(S3ErrorCode::AccessDenied));
    }
    Ok(bucket)
}

/// The request's bucket; AccessDenied when `x-amz-expected-bucket-owner` names someone else
/// (S3's guard against writing into a bucket that changed hands).
async fn existing_bucket(context: &S3Context, call: &Call<'_>) -> S3Result<Rc<BucketRecord>> {
    let bucket = context
        .bucket(call.bucket)
        .await?
        .ok_or_else(|| S3Error::new(S3ErrorCode::NoSuchBucket).field("BucketName", call.bucket))?;
    if let Some(expected) = call.expected_bucket_owner {
        if expected.trim() != canonical_id(&bucket.owner) {
            return Err(S3Error::new(S3ErrorCode::AccessDenied));
        }
    }
    Ok(bucket)
}

/// AccessDenied unless the requester holds `permission` on the object.
pub(crate) fn authorize_object(
    call: &Call<'_>,
    object: &ObjectRecord,
    permission: Permission,
) -> S3Result<()> {
    let own_object = object.bucket == call.bucket && object.key == call.key;
    if (own_object && call.authorization.policy_allows)
        || allows_acl(
            &object.owner,
            object.acl.as_deref(),
            call.requester,
            permission,
            call.authorization.ignore_public_acls,
        )
    {
        Ok(())
    } else {
        Err(S3Error::new(S3ErrorCode::AccessDenied))
    }
}

/// The error for a key that is not there: NoSuchKey for whoever may list the bucket (with
/// `x-amz-delete-marker` when its current version is a delete marker), AccessDenied for everyone
/// else (S3 does not reveal which keys exist to those who cannot list them).
async fn missing_object(context: &S3Context, call: &Call<'_>) -> S3Error {
    // The call's policy Allow is for its own action (GetObject, …); revealing that a key is
    // missing needs ListBucket, from the ACL or the policy — and an explicit Deny of it hides
    // the difference. The key is decided as a listing of itself: `s3:prefix` is the key (ceph's
    // s3-tests test_head_object_404_with_policy_prefix).
    let denied = || S3Error::new(S3ErrorCode::AccessDenied);
    let listing_decision = match (context.bucket(call.bucket).await, call.conditions) {
        (Ok(Some(bucket)), Some(conditions)) => {
            let mut listing_conditions = conditions.clone();
            listing_conditions.set("s3:prefix", vec![call.key.to_string()]);
            decide(
                &bucket,
                call.requester,
                "ListBucket",
                None,
                &listing_conditions,
            )
        }
        _ => Decision::NoOpinion,
    };
    if listing_decision == Decision::Deny {
        return denied();
    }
    let mut listing = *call;
    listing.authorization.policy_allows = listing_decision == Decision::Allow;
    let bucket = match authorized_bucket(context, &listing, Permission::Read).await {
        Ok(bucket) => bucket,
        Err(error) => return error,
    };
    if bucket.versioning.is_some() {
        let lookup = GetObjectVersion {
            bucket: call.bucket.to_string(),
            key: call.key.to_string(),
            version: None,
            with_bytes: false,
        };
        if let Ok(VersionLookup::DeleteMarker { version_id, .. }) = context.meta.call(lookup).await
        {
            return key_deleted(call.key, version_id.as_deref());
        }
    }
    S3Error::new(S3ErrorCode::NoSuchKey).field("Key", call.key)
}

/// The version `version` names of the request's object (the current one when `None`) if the
/// requester holds `permission` on it. A named version that is a delete marker is 405
/// MethodNotAllowed for `method`; a missing one is NoSuchVersion (AccessDenied for those who may
/// not list the bucket).
pub(crate) async fn authorized_version(
    context: &S3Context,
    call: &Call<'_>,
    version: Option<&VersionSelector>,
    permission: Permission,
    with_bytes: bool,
    method: &str,
) -> S3Result<Rc<ObjectRecord>> {
    let record = find_version(context, call, version, with_bytes, method).await?;
    authorize_object(call, &record, permission)?;
    Ok(record)
}

/// The version `version` names (the current one when `None`), with no check of the object's
/// own ACL (the caller decides who may see it, e.g. the bucket's owner for its Object Lock
/// state). Missing versions and delete markers answer as in `authorized_version`.
pub(crate) async fn find_version(
    context: &S3Context,
    call: &Call<'_>,
    version: Option<&VersionSelector>,
    with_bytes: bool,
    method: &str,
) -> S3Result<Rc<ObjectRecord>> {
    let Some(selector) = version else {
        return match context.object(call.bucket, call.key, with_bytes).await {
            Ok(Some(record)) => Ok(record),
            Ok(None) => Err(missing_object(context, call).await),
            Err(crate::meta::MetaError::NoSuchBucket) => {
                Err(S3Error::new(S3ErrorCode::NoSuchBucket).field("BucketName", call.bucket))
            }
            Err(error) => Err(error.into()),
        };
    };
    let lookup = GetObjectVersion {
        bucket: call.bucket.to_string(),
        key: call.key.to_string(),
        version: Some(selector.clone()),
        with_bytes,
    };
    match context.meta.call(lookup).await {
        Ok(VersionLookup::Object(record)) => Ok(Rc::new(*record)),
        Ok(VersionLookup::DeleteMarker {
            version_id,
            last_modified_ms,
        }) => {
            authorized_bucket(context, call, Permission::Read).await?;
            Err(delete_marker_named(
                method,
                version_id.as_deref(),
                last_modified_ms,
            ))
        }
        Ok(VersionLookup::Missing) => {
            authorized_bucket(context, call, Permission::Read).await?;
            Err(no_such_version(call.key, selector))
        }
        Err(crate::meta::MetaError::NoSuchBucket) => {
            Err(S3Error::new(S3ErrorCode::NoSuchBucket).field("BucketName", call.bucket))
        }
        Err(error) => Err(error.into()),
    }
}

/// Sends a command on the request's bucket (a settings change: tags, CORS, policy, …) to the
/// metadata thread; a bucket gone meanwhile is NoSuchBucket.
pub(crate) async fn bucket_command<C: crate::meta::MetaCommand>(
    context: &S3Context,
    call: &Call<'_>,
    command: C,
) -> S3Result<C::Reply> {
    context
        .meta
        .call(command)
        .await
        .map_err(|error| match error {
            crate::meta::MetaError::NoSuchBucket => {
                S3Error::new(S3ErrorCode::NoSuchBucket).field("BucketName", call.bucket)
            }
            other => other.into(),
        })
}
