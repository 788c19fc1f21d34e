//! Object Lock as requests carry it: the `x-amz-object-lock-*` headers of a write (checked, then
//! refused on a bucket without Object Lock), the protection answered on GET and HEAD, and who may
//! bypass governance retention (S3 User Guide, "Locking objects with Object Lock").

use crate::http::{RequestHead, ResponseHead};
use crate::meta::{BucketRecord, ObjectLock, ObjectLockMode, Retention};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::request::Call;
use crate::s3::{time, S3Context};

fn invalid_argument(message: &'static str) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidArgument, message)
}

/// The protection a write asks for in its headers (`x-amz-object-lock-mode` with
/// `-retain-until-date`, `x-amz-object-lock-legal-hold`), or in a POST form's fields of the same
/// names (`field` looks one up), with S3's errors: mode and date only together, a known mode, a
/// date in the future, ON or OFF.
pub fn requested_lock<'a>(field: impl Fn(&str) -> Option<&'a str>) -> S3Result<ObjectLock> {
    let mode = field("x-amz-object-lock-mode");
    let until = field("x-amz-object-lock-retain-until-date");
    let retention = match (mode, until) {
        (None, None) => None,
        (Some(mode), Some(until)) => {
            let mode = ObjectLockMode::parse(mode.trim())
                .ok_or_else(|| invalid_argument("Unknown wormMode directive."))?;
            let retain_until_ms = time::parse_iso8601_ms(until).ok_or_else(|| {
                invalid_argument("The retain until date must be provided in ISO 8601 format")
            })?;
            if retain_until_ms <= time::now_ms() {
                return Err(invalid_argument(
                    "The retain until date must be in the future!",
                ));
            }
            Some(Retention {
                mode,
                retain_until_ms,
            })
        }
        _ => return Err(invalid_argument(
            "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied",
        )),
    };
    let legal_hold = match field("x-amz-object-lock-legal-hold").map(str::trim) {
        None | Some("OFF") => false,
        Some("ON") => true,
        Some(_) => {
            return Err(invalid_argument(
                "Legal Hold must be either of 'ON' or 'OFF'",
            ))
        }
    };
    Ok(ObjectLock {
        retention,
        legal_hold,
    })
}

/// S3's 400 InvalidRequest for Object Lock asked of a bucket without it.
pub fn missing_lock_configuration() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::InvalidRequest,
        "Bucket is missing Object Lock Configuration",
    )
}

/// Whether a request carries a digest of its body: Content-MD5 or a flexible checksum (header,
/// trailer or SDK algorithm).
pub fn has_body_digest(head: &RequestHead) -> bool {
    head.header("content-md5").is_some()
        || head.header("x-amz-sdk-checksum-algorithm").is_some()
        || head.header("x-amz-trailer").is_some()
        || head
            .headers()
            .any(|(name, _)| name.starts_with("x-amz-checksum-") && name != "x-amz-checksum-type")
}

/// Refuses a protection on a bucket without Object Lock, or asked by someone who does not
/// administer the bucket (`s3:PutObjectRetention` / `s3:PutObjectLegalHold`, which no ACL grant
/// gives: otherwise anyone with WRITE could pin objects beyond the owner's reach for years); S3
/// also requires a Content-MD5 or a flexible checksum on a PutObject that asks for a retention
/// (`digest_missing`; S3 API Reference, PutObject: "The Content-MD5 or
/// x-amz-sdk-checksum-algorithm header is required for any request to upload an object with a
/// retention period configured using Amazon S3 Object Lock"). The bucket's default retention
/// needs none of this: it is the owner's own setting.
pub fn check_requested_lock(
    context: &S3Context,
    call: &Call<'_>,
    bucket: &BucketRecord,
    lock: &ObjectLock,
    digest_missing: bool,
) -> S3Result<()> {
    if *lock == ObjectLock::default() {
        return Ok(());
    }
    if bucket.object_lock.is_none() {
        return Err(missing_lock_configuration());
    }
    require_administrator(context, call, bucket)?;
    if digest_missing && lock.retention.is_some() {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters",
        ));
    }
    Ok(())
}

/// Whether a request says `x-amz-bypass-governance-retention: true`.
pub fn asks_bypass(head: &RequestHead) -> bool {
    head.header("x-amz-bypass-governance-retention")
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
}

/// Adds a version's protection to a GET or HEAD answer.
pub fn add_lock_headers(lock: &ObjectLock, head: &mut ResponseHead) {
    if let Some(retention) = lock.retention {
        head.header("x-amz-object-lock-mode", retention.mode.as_str());
        head.header(
            "x-amz-object-lock-retain-until-date",
            time::iso8601(retention.retain_until_ms),
        );
    }
    if lock.legal_hold {
        head.header("x-amz-object-lock-legal-hold", "ON");
    }
}

/// Whether the request bypasses governance retention on `keys`: it says
/// `x-amz-bypass-governance-retention: true` and the requester holds
/// `s3:BypassGovernanceRetention` on every key — from the bucket policy, or, where the policy
/// says nothing, as the bucket owner or the bootstrap admin (a user granted WRITE by an ACL does
/// not). An explicit Deny on any key refuses the bypass, whoever asks (IAM evaluation logic).
pub fn bypasses_governance(
    context: &S3Context,
    call: &Call<'_>,
    asked: bool,
    bucket: &BucketRecord,
    keys: &[&str],
) -> bool {
    if !asked {
        return false;
    }
    let decisions: Vec<crate::policy::Decision> = match call.conditions {
        Some(conditions) if bucket.policy.is_some() => keys
            .iter()
            .map(|key| {
                crate::s3::authorization::decide(
                    bucket,
                    call.requester,
                    "BypassGovernanceRetention",
                    Some(key),
                    conditions,
                )
            })
            .collect(),
        _ => Vec::new(),
    };
    if decisions.contains(&crate::policy::Decision::Deny) {
        return false;
    }
    let policy_allows_all = !decisions.is_empty()
        && decisions
            .iter()
            .all(|decision| *decision == crate::policy::Decision::Allow);
    policy_allows_all || administers(context, call, bucket)
}

/// Whether the requester is the bucket's owner or the bootstrap admin: who may remove a
/// specific version (`s3:DeleteObjectVersion`) and change a version's retention or legal hold
/// (`s3:PutObjectRetention`, `s3:PutObjectLegalHold`). ACL grants do not give these: the S3 User
/// Guide's ACL mapping gives WRITE `s3:PutObject` and `s3:DeleteObjectVersion` only "when the
/// grantee is the bucket owner".
pub fn administers(context: &S3Context, call: &Call<'_>, bucket: &BucketRecord) -> bool {
    let requester = call.requester.access_key();
    !requester.is_empty()
        && (requester == bucket.owner || requester == context.admin.identity.access_key)
}

/// AccessDenied unless the requester administers the bucket (see `administers`).
pub fn require_administrator(
    context: &S3Context,
    call: &Call<'_>,
    bucket: &BucketRecord,
) -> S3Result<()> {
    if administers(context, call, bucket) {
        Ok(())
    } else {
        Err(S3Error::new(S3ErrorCode::AccessDenied))
    }
}
