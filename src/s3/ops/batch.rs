//! DeleteObjects: up to 1,000 keys in one metadata round trip and one `IN (…)` statement (each
//! conditional entry — `ETag`, `LastModifiedTime`, `Size` — checked in the same transaction); the
//! files go after the commit. A typed unit (`S3Operation`).

use crate::limits::KEY_BYTES_MAX;
use crate::meta::{DeleteBatch, DeleteCondition, DeletedVersion, VersionSelector};
use crate::policy::Decision;
use crate::s3::access::Permission;
use crate::s3::authorization::{decide, object_conditions};
use crate::s3::body_digest::BodyIntegrity;
use crate::s3::conditions::delete_condition;
use crate::s3::error::{S3ErrorCode, S3Result};
use crate::s3::handler::{FromRequest, S3Operation};
use crate::s3::object_lock::{administers, asks_bypass, bypasses_governance};
use crate::s3::object_write::no_such_bucket;
use crate::s3::payload::{read_small_body, PayloadReader};
use crate::s3::request::{Call, S3Request};
use crate::s3::resource::authorized_bucket;
use crate::s3::xml::documents::{DeleteOutcome, DeleteResult};
use crate::s3::xml::{parse_delete_objects, DeleteEntry};
use crate::s3::S3Context;

/// Which version of `entry` goes and under what condition, or why it is refused (Code, Message).
fn entry_target(
    entry: &DeleteEntry,
) -> Result<(Option<VersionSelector>, DeleteCondition), (&'static str, &'static str)> {
    let version = match entry.version_id.as_deref() {
        None => None,
        Some(text) => Some(
            VersionSelector::parse(text)
                .ok_or(("NoSuchVersion", "The specified version does not exist."))?,
        ),
    };
    if entry.key.is_empty() || entry.key.len() > KEY_BYTES_MAX {
        return Err(("InvalidArgument", "Invalid key"));
    }
    let condition = delete_condition(
        entry.etag.as_deref(),
        entry
            .last_modified_time
            .as_deref()
            .map(|value| ("LastModifiedTime", value)),
        entry.size.as_deref().map(|value| ("Size", value)),
    )
    .map_err(|_| ("InvalidArgument", "Invalid condition"))?;
    Ok((version, condition))
}

/// DeleteObjects.
pub struct DeleteObjects;

/// What a DeleteObjects' head asks: the body's digest, and whether governance retention is to be
/// bypassed.
pub struct DeleteObjectsInput<'r> {
    integrity: BodyIntegrity<'r>,
    /// `x-amz-bypass-governance-retention: true`.
    bypass_asked: bool,
}

impl<'r> FromRequest<'r> for DeleteObjectsInput<'r> {
    fn parse(request: &'r S3Request<'_>) -> S3Result<Self> {
        Ok(DeleteObjectsInput {
            integrity: BodyIntegrity::parse(request)?,
            bypass_asked: asks_bypass(request.head),
        })
    }
}

impl S3Operation for DeleteObjects {
    type Input<'r> = DeleteObjectsInput<'r>;
    type Output = DeleteResult;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        mut payload: PayloadReader<'_, '_>,
    ) -> S3Result<DeleteResult> {
        // The ACL's WRITE covers every entry; without it, a bucket policy may still allow
        // entries one by one (`s3:DeleteObject` is decided per key, as S3 does).
        let (bucket, acl_writable) =
            match authorized_bucket(context, &call, Permission::Write).await {
                Ok(bucket) => (bucket, true),
                Err(error) if error.code == S3ErrorCode::AccessDenied => {
                    match context.bucket(call.bucket).await? {
                        Some(bucket) if bucket.policy.is_some() => (bucket, false),
                        _ => return Err(error),
                    }
                }
                Err(error) => return Err(error),
            };
        let may_remove_versions = administers(context, &call, &bucket);
        let body = read_small_body(&mut payload).await?;
        input.integrity.verify(payload.trailers(), &body)?;
        let parsed = parse_delete_objects(&body)?;
        let count = parsed.objects.len();
        let mut keys: Vec<String> = Vec::with_capacity(count);
        let mut versions: Vec<Option<VersionSelector>> = Vec::with_capacity(count);
        let mut conditions: Vec<DeleteCondition> = Vec::with_capacity(count);
        // For each deletable entry, its position in `outcomes`.
        let mut positions: Vec<usize> = Vec::with_capacity(count);
        let mut outcomes: Vec<DeleteOutcome> = Vec::with_capacity(count);
        for entry in parsed.objects {
            let target = entry_target(&entry);
            // Each entry is decided on its own, with its own object's tags when the policy
            // reads them.
            let decision = match (&target, call.conditions) {
                (Ok(_), _) if bucket.policy.is_none() => Decision::NoOpinion,
                (Ok((version, _)), Some(base)) => {
                    let action = if version.is_some() {
                        "DeleteObjectVersion"
                    } else {
                        "DeleteObject"
                    };
                    let conditions =
                        object_conditions(context, &bucket, &entry.key, version.as_ref(), base)
                            .await;
                    decide(
                        &bucket,
                        call.requester,
                        action,
                        Some(&entry.key),
                        &conditions,
                    )
                }
                // Only reached if the pipeline built no condition keys: refuse rather than guess.
                (Ok(_), None) => Decision::Deny,
                (Err(_), _) => Decision::NoOpinion,
            };
            let denied = Some(("AccessDenied", "Access Denied"));
            let refusal = match target {
                Err(refusal) => Some(refusal),
                Ok(_) if decision == Decision::Deny => denied,
                Ok(_) if decision != Decision::Allow && !acl_writable => denied,
                // Removing a specific version is the bucket owner's (`s3:DeleteObjectVersion`),
                // or whoever the bucket's policy allows it.
                Ok((Some(_), _)) if !may_remove_versions && decision != Decision::Allow => denied,
                Ok((version, condition)) => {
                    keys.push(entry.key.clone());
                    versions.push(version);
                    conditions.push(condition);
                    positions.push(outcomes.len());
                    None
                }
            };
            outcomes.push(DeleteOutcome {
                entry,
                refusal,
                deleted: DeletedVersion::default(),
            });
        }
        if conditions.iter().all(DeleteCondition::is_empty) {
            conditions.clear();
        }
        if versions.iter().all(Option::is_none) {
            versions.clear();
        }
        let named: Vec<&str> = keys.iter().map(String::as_str).collect();
        let bypass_governance =
            bypasses_governance(context, &call, input.bypass_asked, &bucket, &named);
        let batch = DeleteBatch {
            bucket: call.bucket.to_string(),
            keys,
            versions,
            conditions,
            requester: call.requester.access_key().to_string(),
            bypass_governance,
        };
        let deleted = context
            .meta
            .call(batch)
            .await
            .map_err(|error| match error {
                crate::meta::MetaError::NoSuchBucket => no_such_bucket(&call),
                other => other.into(),
            })?;
        for file in deleted.files {
            context.remove_object_file_later(file);
        }
        for (index, reported) in deleted.deleted.into_iter().enumerate() {
            outcomes[positions[index]].deleted = reported;
        }
        for index in deleted.locked {
            outcomes[positions[index]].refusal = Some((
                "AccessDenied",
                "Access Denied because object protected by object lock.",
            ));
        }
        for index in deleted.precondition_failed {
            outcomes[positions[index]].refusal = Some((
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
            ));
        }
        Ok(DeleteResult {
            quiet: parsed.quiet,
            outcomes,
        })
    }
}
