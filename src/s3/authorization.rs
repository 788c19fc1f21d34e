//! Bucket policies and PublicAccessBlock on requests: the S3 action each operation asks for (the
//! Service Authorization Reference's table), the request's condition keys, and the verdict in
//! AWS's order — an explicit Deny refuses before the operation runs; an Allow lets the operation
//! skip its ACL check on the request's own resource; otherwise the ACLs decide.

use crate::meta::BucketRecord;
use crate::policy::conditions::ConditionContext;
use crate::policy::{Decision, PolicyRequest, PrincipalIdentity, S3_ARN_PREFIX};

use super::access::Requester;
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::operation::Operation;
use super::request::S3Request;
use super::S3Context;

/// Sets `s3:RequestObjectTag/<key>` and `s3:RequestObjectTagKeys` to `tags` (replacing any).
pub fn set_request_tags(conditions: &mut ConditionContext, tags: &[(String, String)]) {
    conditions.forget_prefix("s3:RequestObjectTag/");
    conditions.set(
        "s3:RequestObjectTagKeys",
        tags.iter().map(|(key, _)| key.clone()).collect(),
    );
    for (key, value) in tags {
        conditions.set(&format!("s3:RequestObjectTag/{key}"), vec![value.clone()]);
    }
}

/// Sets the signer's keys (`aws:PrincipalType`, `aws:username`, `aws:userid`) for `requester`.
pub fn set_principal(conditions: &mut ConditionContext, requester: &Requester) {
    match requester {
        Requester::Anonymous => {
            conditions.set("aws:PrincipalType", vec!["Anonymous".to_string()]);
            conditions.forget_prefix("aws:username");
            conditions.forget_prefix("aws:userid");
        }
        Requester::User(identity) => {
            conditions.set("aws:PrincipalType", vec!["User".to_string()]);
            conditions.set("aws:username", vec![identity.display_name.clone()]);
            conditions.set("aws:userid", vec![identity.canonical_id.clone()]);
        }
    }
}

/// The condition keys of a POST upload: the request's, with the form's signer and what its
/// fields ask (`acl`, `tagging`, Object Lock fields), as a PutObject's headers would give them.
pub fn post_conditions(
    base: &ConditionContext,
    signer: &Requester,
    field: impl Fn(&str) -> Option<String>,
    tags: &[(String, String)],
) -> ConditionContext {
    let mut conditions = base.clone();
    set_principal(&mut conditions, signer);
    conditions.set("s3:authType", vec!["POST".to_string()]);
    let version = if field("x-amz-algorithm").is_some() {
        "AWS4-HMAC-SHA256"
    } else {
        "AWS"
    };
    conditions.set("s3:signatureversion", vec![version.to_string()]);
    for (key, name) in [
        ("s3:x-amz-acl", "acl"),
        ("s3:object-lock-mode", "x-amz-object-lock-mode"),
        (
            "s3:object-lock-retain-until-date",
            "x-amz-object-lock-retain-until-date",
        ),
        ("s3:object-lock-legal-hold", "x-amz-object-lock-legal-hold"),
    ] {
        conditions.forget_prefix(key);
        if let Some(value) = field(name) {
            conditions.set(key, vec![value]);
        }
    }
    set_request_tags(&mut conditions, tags);
    conditions
}

/// The S3 action (without `s3:`) a request of `operation` asks for, as bucket policies name it;
/// `None` for operations a bucket policy does not govern: ListBuckets and CreateBucket (no bucket
/// yet), Get/Put/DeleteBucketPolicy (the owner's alone and never denied, so a policy cannot lock
/// its owner out, as in S3), preflights, and DeleteObjects and POST uploads (decided per
/// key, and for POST once the form's signer is known: see `object_decision`).
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
        _ => None,
    }
}

/// The condition keys of `request` (S3 User Guide, "Bucket policy examples using condition
/// keys"; IAM's global keys), read from its head, query and signer at `now_ms`.
pub fn condition_context(request: &S3Request<'_>, now_ms: i64) -> ConditionContext {
    let head = request.head;
    let mut context = ConditionContext::default();
    let mut set = |key: &str, value: &str| context.set(key, vec![value.to_string()]);
    if let Some(peer) = head.peer {
        set("aws:SourceIp", &peer.to_string());
    }
    // No TLS listener yet: every request arrives in the clear.
    set("aws:SecureTransport", "false");
    set("aws:EpochTime", &(now_ms / 1000).to_string());
    set("aws:CurrentTime", &super::time::iso8601(now_ms));
    match &request.requester {
        Requester::Anonymous => set("aws:PrincipalType", "Anonymous"),
        Requester::User(identity) => {
            set("aws:PrincipalType", "User");
            set("aws:username", &identity.display_name);
            set("aws:userid", &identity.canonical_id);
        }
    }
    for (key, header) in [
        ("aws:Referer", "referer"),
        ("aws:UserAgent", "user-agent"),
        ("s3:x-amz-acl", "x-amz-acl"),
        ("s3:x-amz-content-sha256", "x-amz-content-sha256"),
        ("s3:x-amz-grant-full-control", "x-amz-grant-full-control"),
        ("s3:x-amz-grant-read", "x-amz-grant-read"),
        ("s3:x-amz-grant-read-acp", "x-amz-grant-read-acp"),
        ("s3:x-amz-grant-write", "x-amz-grant-write"),
        ("s3:x-amz-grant-write-acp", "x-amz-grant-write-acp"),
        ("s3:x-amz-metadata-directive", "x-amz-metadata-directive"),
        ("s3:object-lock-mode", "x-amz-object-lock-mode"),
        (
            "s3:object-lock-retain-until-date",
            "x-amz-object-lock-retain-until-date",
        ),
        ("s3:object-lock-legal-hold", "x-amz-object-lock-legal-hold"),
    ] {
        if let Some(value) = head.header(header) {
            set(key, value);
        }
    }
    // The copy source as it is resolved (`bucket/key`, percent-decoded, no version): compared
    // raw, `%2F` and friends would slip past a pattern on the decoded name.
    if let Some(source) = head.header("x-amz-copy-source") {
        let path = source.split('?').next().unwrap_or_default();
        let path = path.strip_prefix('/').unwrap_or(path);
        if let Ok(decoded) = super::path::percent_decode(path) {
            set("s3:x-amz-copy-source", &decoded);
        }
    }
    for (key, parameter) in [
        ("s3:prefix", "prefix"),
        ("s3:delimiter", "delimiter"),
        ("s3:max-keys", "max-keys"),
        ("s3:VersionId", "versionId"),
    ] {
        if let Some(value) = request.query_value(parameter) {
            set(key, value);
        }
    }
    // In the order verification looks (`auth::verify`): a presigned query first, whatever
    // Authorization header rides along, so the keys say how the request was really signed.
    let query_v4 = request.query_value("X-Amz-Algorithm").is_some();
    let query_v2 = request.query_value("AWSAccessKeyId").is_some()
        || request.query_value("Signature").is_some();
    let (signature_version, auth_type) = match head.header("authorization") {
        _ if query_v4 => (Some("AWS4-HMAC-SHA256"), "REST-QUERY-STRING"),
        _ if query_v2 => (Some("AWS"), "REST-QUERY-STRING"),
        Some(header) if header.starts_with("AWS4-") => (Some("AWS4-HMAC-SHA256"), "REST-HEADER"),
        Some(_) => (Some("AWS"), "REST-HEADER"),
        None if head.method == crate::http::Method::Post => (None, "POST"),
        None => (None, "REST-HEADER"),
    };
    if let Some(version) = signature_version {
        set("s3:signatureversion", version);
    }
    set("s3:authType", auth_type);
    if let Some(Ok(tags)) = head
        .header("x-amz-tagging")
        .map(super::tagging::parse_tagging_header)
    {
        set_request_tags(&mut context, &tags);
    }
    context
}

/// The bucket policy's verdict on `requester` doing `action` to `key` (the bucket itself when
/// `None`) of `bucket`. Under RestrictPublicBuckets a public policy allows nothing to anyone but
/// the bucket's owner.
pub fn decide(
    bucket: &BucketRecord,
    requester: &Requester,
    action: &str,
    key: Option<&str>,
    conditions: &ConditionContext,
) -> Decision {
    let Some(policy) = &bucket.policy else {
        return Decision::NoOpinion;
    };
    let principal = match requester {
        Requester::Anonymous => None,
        Requester::User(identity) => Some(PrincipalIdentity {
            access_key: &identity.access_key,
            canonical_id: &identity.canonical_id,
            name: &identity.display_name,
        }),
    };
    let resource = match key {
        Some(key) => format!("{S3_ARN_PREFIX}{}/{key}", bucket.name),
        None => format!("{S3_ARN_PREFIX}{}", bucket.name),
    };
    let decision = policy.evaluate(&PolicyRequest {
        principal,
        action,
        resource: &resource,
        context: conditions,
    });
    let restricted = bucket
        .public_access_block
        .is_some_and(|block| block.restrict_public_buckets)
        && policy.is_public()
        && requester.access_key() != bucket.owner;
    match decision {
        Decision::Allow if restricted => Decision::NoOpinion,
        other => other,
    }
}

/// What the bucket's settings say of a request before its operation runs: whether a policy
/// Allow stands in for the ACL check on the request's own resource, and whether public ACL grants
/// are to be ignored or refused (PublicAccessBlock). AccessDenied for an explicit Deny.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Authorization {
    /// A bucket policy allows the request's action on its resource.
    pub policy_allows: bool,
    /// IgnorePublicAcls: grants to AllUsers / AuthenticatedUsers count for nothing.
    pub ignore_public_acls: bool,
    /// BlockPublicAcls: a request setting such a grant is refused.
    pub block_public_acls: bool,
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

/// The condition keys of an object's tags (S3 User Guide, "Tagging and access control
/// policies"), normalized.
const EXISTING_OBJECT_TAG: &str = "s3:existingobjecttag/";

/// The condition keys for an object other than the request's own (a copy's source, a
/// DeleteObjects entry): the request's keys with no object's tags, then this object's tags when
/// `bucket`'s policy reads them — never another object's.
pub async fn object_conditions(
    context: &S3Context,
    bucket: &BucketRecord,
    key: &str,
    version: Option<&crate::meta::VersionSelector>,
    base: &ConditionContext,
) -> ConditionContext {
    let mut conditions = base.clone();
    conditions.forget_prefix(EXISTING_OBJECT_TAG);
    if bucket
        .policy
        .as_ref()
        .is_some_and(|policy| policy.reads_keys_under(EXISTING_OBJECT_TAG))
    {
        existing_object_tags(context, bucket, key, version.cloned(), &mut conditions).await;
    }
    conditions
}

/// Adds `s3:ExistingObjectTag/<key>` for every tag of `key` (`version` of it when given; none
/// for a missing object or a delete marker), and marks those keys known.
async fn existing_object_tags(
    context: &S3Context,
    bucket: &BucketRecord,
    key: &str,
    version: Option<crate::meta::VersionSelector>,
    conditions: &mut ConditionContext,
) {
    let tags = match version {
        None => context
            .object(&bucket.name, key, false)
            .await
            .ok()
            .flatten()
            .and_then(|record| record.tags.clone()),
        Some(version) => {
            let lookup = crate::meta::GetObjectVersion {
                bucket: bucket.name.clone(),
                key: key.to_string(),
                version: Some(version),
                with_bytes: false,
            };
            match context.meta.call(lookup).await {
                Ok(crate::meta::VersionLookup::Object(record)) => record.tags,
                _ => None,
            }
        }
    };
    for (name, value) in super::tagging::decode(tags.as_deref()) {
        conditions.set(&format!("s3:ExistingObjectTag/{name}"), vec![value]);
    }
    conditions.know_prefix(EXISTING_OBJECT_TAG);
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
        // GetObjectAttributes also needs the read itself (S3 API Reference: s3:GetObject too).
        if matches!(operation, GetObjectAttributes) && decision != Decision::Deny {
            let read = if versioned {
                "GetObjectVersion"
            } else {
                "GetObject"
            };
            decision = match decide(&bucket, &request.requester, read, key, conditions) {
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
