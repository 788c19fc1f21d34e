//! Bucket policies on requests: the condition keys of a request (and of the other objects it
//! touches), and a bucket policy's verdict on one action and resource. `gate` applies it to the
//! request's own operation; copies, DeleteObjects and POST uploads ask it per object.

use crate::meta::BucketRecord;
use crate::policy::conditions::ConditionContext;
use crate::policy::{Decision, PolicyRequest, PrincipalIdentity, S3_ARN_PREFIX};

use super::access::Requester;
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
/// fields ask (`acl`, `tagging`, Object Lock and encryption fields), as a PutObject's headers
/// would give them.
pub fn post_conditions(
    base: &ConditionContext,
    signer: &Requester,
    field: impl Fn(&str) -> Option<String>,
    tags: &[(String, String)],
) -> ConditionContext {
    let mut conditions = base.clone();
    set_principal(&mut conditions, signer);
    conditions.set("s3:authType", vec!["POST".to_string()]);
    // The signature that was verified (the form's V4 signature first, as `auth::form` checks):
    // none for an anonymous form.
    conditions.forget_prefix("s3:signatureversion");
    if matches!(signer, Requester::User(_)) {
        let version = if field("x-amz-signature").is_some() {
            "AWS4-HMAC-SHA256"
        } else {
            "AWS"
        };
        conditions.set("s3:signatureversion", vec![version.to_string()]);
    }
    // A form carries no copy source, grant headers or metadata directive: the unsigned HTTP
    // request's must not speak for it.
    for key in [
        "s3:x-amz-copy-source",
        "s3:x-amz-metadata-directive",
        "s3:x-amz-grant-full-control",
        "s3:x-amz-grant-read",
        "s3:x-amz-grant-read-acp",
        "s3:x-amz-grant-write",
        "s3:x-amz-grant-write-acp",
    ] {
        conditions.forget_prefix(key);
    }
    for (key, name) in [
        ("s3:x-amz-acl", "acl"),
        ("s3:object-lock-mode", "x-amz-object-lock-mode"),
        (
            "s3:object-lock-retain-until-date",
            "x-amz-object-lock-retain-until-date",
        ),
        ("s3:object-lock-legal-hold", "x-amz-object-lock-legal-hold"),
        (
            "s3:x-amz-server-side-encryption",
            "x-amz-server-side-encryption",
        ),
        (
            "s3:x-amz-server-side-encryption-customer-algorithm",
            "x-amz-server-side-encryption-customer-algorithm",
        ),
    ] {
        conditions.forget_prefix(key);
        if let Some(value) = field(name) {
            // As the upload applies it (`form_acl` trims the field).
            conditions.set(key, vec![value.trim().to_string()]);
        }
    }
    set_request_tags(&mut conditions, tags);
    conditions
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
    set(
        "aws:SecureTransport",
        if head.secure { "true" } else { "false" },
    );
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
        (
            "s3:x-amz-server-side-encryption",
            "x-amz-server-side-encryption",
        ),
        (
            "s3:x-amz-server-side-encryption-customer-algorithm",
            "x-amz-server-side-encryption-customer-algorithm",
        ),
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
        // Decoded first, then the leading slash dropped, as the copy itself resolves it
        // (`copy_source::parse_copy_source`): `%2Fbucket/key` names `bucket/key`.
        let path = source.split('?').next().unwrap_or_default();
        if let Ok(decoded) = super::path::percent_decode(path) {
            set(
                "s3:x-amz-copy-source",
                decoded.strip_prefix('/').unwrap_or(&decoded),
            );
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

/// `decide` with the request's condition keys when the pipeline built them; without them (never
/// expected) a bucket with a policy refuses rather than guesses.
pub fn decide_with(
    bucket: &BucketRecord,
    requester: &Requester,
    action: &str,
    key: Option<&str>,
    conditions: Option<&ConditionContext>,
) -> Decision {
    match conditions {
        Some(conditions) => decide(bucket, requester, action, key, conditions),
        None if bucket.policy.is_some() => Decision::Deny,
        None => Decision::NoOpinion,
    }
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

/// The condition keys of an object's tags (S3 User Guide, "Tagging and access control
/// policies"), normalized.
pub(crate) const EXISTING_OBJECT_TAG: &str = "s3:existingobjecttag/";

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
pub(crate) async fn existing_object_tags(
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
