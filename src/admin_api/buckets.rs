//! Admin operations on buckets: list with usage, show (usage, quota and configuration), create
//! for any user, delete when empty, set or remove the quota.

use serde_json::{json, Value};

use super::error::AdminError;
use super::json_body::JsonBody;
use super::Answer;
use crate::meta::{
    BucketFigures, BucketQuota, BucketRecord, GetBucketFigures, GetBucketTier, MetaError,
    PutBucketQuota, RetentionPeriod, TierPlacement, UserLookup, VersioningStatus,
};
use crate::s3::S3Context;

fn quota_json(quota: &BucketQuota) -> Value {
    json!({ "bytes": quota.size_bytes_max, "objects": quota.objects_max })
}

/// A bucket's name, owner, usage and quota.
fn figures_json(figures: &BucketFigures) -> Value {
    json!({
        "name": figures.name,
        "owner": figures.owner,
        "createdMs": figures.created_ms,
        "objects": figures.usage.objects,
        "versions": figures.usage.versions,
        "bytes": figures.usage.size_bytes,
        "quota": quota_json(&figures.quota),
    })
}

/// What is configured on a bucket (S3's own names and spellings), with its tier placement.
fn configuration_json(record: &BucketRecord, placement: Option<&TierPlacement>) -> Value {
    let object_lock = record.object_lock.as_ref().map(|lock| {
        let retention = lock.default_retention.map(|(mode, period)| {
            let (days, years) = match period {
                RetentionPeriod::Days(days) => (Some(days), None),
                RetentionPeriod::Years(years) => (None, Some(years)),
            };
            json!({ "mode": mode.as_str(), "days": days, "years": years })
        });
        json!({ "enabled": true, "defaultRetention": retention })
    });
    json!({
        "region": record.region,
        "versioning": record.versioning.map(VersioningStatus::as_str),
        "objectLock": object_lock,
        "policy": record.policy.as_ref().map(|policy| policy.text.clone()),
        "lifecycleRules": record.lifecycle.as_ref().map_or(0, |lifecycle| lifecycle.rules.len()),
        "corsRules": record.cors.as_ref().map_or(0, |cors| cors.rules.len()),
        "encryption": record.encryption.as_ref().map(|_| "AES256"),
        "publicAccessBlock": record.public_access_block.is_some(),
        "tier": placement.map(|placement| json!({
            "name": placement.tier,
            "afterSeconds": placement.after_ms / 1000,
        })),
    })
}

/// `GET buckets`: every bucket with its usage and quota, by name.
pub async fn list(context: &S3Context) -> Result<Answer, AdminError> {
    let buckets = context.meta.call(GetBucketFigures(None)).await?;
    let listed: Vec<Value> = buckets.iter().map(figures_json).collect();
    Ok(Answer::ok(json!({ "buckets": listed })))
}

/// `GET buckets/{name}`: usage, quota and configuration.
pub async fn get(context: &S3Context, name: &str) -> Result<Answer, AdminError> {
    let figures = context
        .meta
        .call(GetBucketFigures(Some(name.to_string())))
        .await?;
    let (Some(figures), Some(record)) = (figures.first(), context.bucket(name).await?) else {
        return Err(AdminError::NoSuchBucket(name.to_string()));
    };
    let placement = context
        .meta
        .call(GetBucketTier {
            bucket: name.to_string(),
        })
        .await?;
    let mut value = figures_json(figures);
    value["configuration"] = configuration_json(&record, placement.as_ref());
    Ok(Answer::ok(value))
}

/// `POST buckets` with `{"name", "owner"?, "objectLock"?}`: 201. The owner (default: the
/// requester) must be a user.
pub async fn create(
    context: &S3Context,
    requester: &str,
    body: &[u8],
) -> Result<Answer, AdminError> {
    let mut body = JsonBody::parse(body)?;
    let name = body
        .string("name")?
        .ok_or_else(|| AdminError::InvalidRequest("name is required".into()))?;
    let owner = body
        .string("owner")?
        .unwrap_or_else(|| requester.to_string());
    let object_lock = body.boolean("objectLock")?.unwrap_or(false);
    body.finish()?;
    crate::s3::path::validate_bucket_name(&name)?;
    let known = owner == context.admin.identity.access_key
        || context
            .meta
            .get_user(UserLookup::AccessKey(owner.clone()))
            .await?
            .is_some();
    if !known {
        return Err(AdminError::NoSuchUser(owner));
    }
    let record = BucketRecord::created(
        name.clone(),
        owner,
        context.config.region.clone(),
        crate::s3::time::now_ms(),
        None,
        object_lock,
    );
    match context.meta.create_bucket(record).await {
        Ok(true) => {}
        Ok(false) | Err(MetaError::BucketExists { .. }) => {
            return Err(AdminError::BucketAlreadyExists(name))
        }
        Err(error) => return Err(error.into()),
    }
    tracing::info!(bucket = %name, "bucket created");
    get(context, &name).await.map(|answer| Answer {
        status: 201,
        ..answer
    })
}

/// `DELETE buckets/{name}`: 204 when it held no objects (its unfinished uploads go with it).
pub async fn remove(context: &S3Context, name: &str) -> Result<Answer, AdminError> {
    match context.meta.delete_bucket(name.to_string()).await {
        Ok(files) => {
            for file in files {
                context.remove_object_file_later(file);
            }
            tracing::info!(bucket = %name, "bucket deleted");
            Ok(Answer::no_content())
        }
        Err(MetaError::NoSuchBucket) => Err(AdminError::NoSuchBucket(name.to_string())),
        Err(error) => Err(error.into()),
    }
}

/// `PUT buckets/{name}/quota` with `{"bytes"?, "objects"?}` (absent or null: no limit), or
/// `DELETE` (`body` `None`): the quota as it now stands.
pub async fn put_quota(
    context: &S3Context,
    name: &str,
    body: Option<&[u8]>,
) -> Result<Answer, AdminError> {
    let quota = match body {
        None => BucketQuota::default(),
        Some(body) => {
            let mut body = JsonBody::parse(body)?;
            let quota = BucketQuota {
                size_bytes_max: body.count("bytes")?,
                objects_max: body.count("objects")?,
            };
            body.finish()?;
            // SQLite keeps integers as i64: a larger limit would be stored as another number.
            if [quota.size_bytes_max, quota.objects_max]
                .iter()
                .flatten()
                .any(|limit| *limit > i64::MAX as u64)
            {
                return Err(AdminError::InvalidRequest(format!(
                    "a quota is at most {}",
                    i64::MAX
                )));
            }
            quota
        }
    };
    match context
        .meta
        .call(PutBucketQuota {
            bucket: name.to_string(),
            quota,
        })
        .await
    {
        Ok(()) => {}
        Err(MetaError::NoSuchBucket) => return Err(AdminError::NoSuchBucket(name.to_string())),
        Err(error) => return Err(error.into()),
    }
    tracing::info!(bucket = %name, bytes_max = ?quota.size_bytes_max, objects_max = ?quota.objects_max, "bucket quota set");
    Ok(Answer::ok(json!({ "quota": quota_json(&quota) })))
}
