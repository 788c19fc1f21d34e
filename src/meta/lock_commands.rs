//! Object Lock commands: a bucket's configuration, and one version's retention or legal hold,
//! each checked and changed inside the metadata transaction (so a change races no delete).

use rusqlite::{params, Transaction};

use super::bucket_rows::get_bucket_state;
use super::command::{Changes, MetaCommand};
use super::object_lock::{check_retention_change, BucketObjectLock, Retention};
use super::version_id::VersionSelector;
use super::version_lookup::{locate_version, update_lock};
use super::version_rows::now_ms;
use super::versions::VersioningStatus;
use super::MetaError;

/// PutObjectLockConfiguration: enable Object Lock (allowed on a versioning-enabled bucket; S3's
/// 409 InvalidBucketState otherwise) and set its default retention.
#[derive(Debug)]
pub struct PutObjectLockConfiguration {
    /// Bucket name.
    pub bucket: String,
    /// The configuration.
    pub configuration: BucketObjectLock,
}

impl MetaCommand for PutObjectLockConfiguration {
    type Reply = ();

    fn apply(&self, transaction: &Transaction<'_>) -> Result<(), MetaError> {
        let Some(bucket) = get_bucket_state(transaction, &self.bucket)? else {
            return Err(MetaError::NoSuchBucket);
        };
        if bucket.object_lock.is_none() && bucket.versioning != Some(VersioningStatus::Enabled) {
            return Err(MetaError::InvalidBucketState);
        }
        transaction
            .prepare_cached("UPDATE buckets SET object_lock = ?2 WHERE name = ?1")?
            .execute(params![self.bucket, self.configuration.encode()])?;
        Ok(())
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Buckets
    }
}

/// PutObjectRetention on one version (the current one when `version` is `None`); answers its
/// version id. Extending is always allowed; anything else only as `check_retention_change` says.
#[derive(Debug)]
pub struct PutObjectRetention {
    /// Bucket name.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// `versionId`.
    pub version: Option<VersionSelector>,
    /// The new retention (`None`: remove it).
    pub retention: Option<Retention>,
    /// `x-amz-bypass-governance-retention: true` from a requester allowed to bypass.
    pub bypass_governance: bool,
}

impl MetaCommand for PutObjectRetention {
    type Reply = Option<String>;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<Option<String>, MetaError> {
        require_lock(transaction, &self.bucket)?;
        let (place, version_id, mut lock) =
            locate_version(transaction, &self.bucket, &self.key, self.version.as_ref())?;
        check_retention_change(
            lock.retention,
            self.retention,
            now_ms(),
            self.bypass_governance,
        )?;
        lock.retention = self.retention;
        update_lock(transaction, &self.bucket, &self.key, place, &lock)?;
        Ok(version_id)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Object {
            bucket: &self.bucket,
            key: &self.key,
        }
    }
}

/// PutObjectLegalHold on one version; answers its version id.
#[derive(Debug)]
pub struct PutObjectLegalHold {
    /// Bucket name.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// `versionId`.
    pub version: Option<VersionSelector>,
    /// ON (true) or OFF.
    pub on: bool,
}

impl MetaCommand for PutObjectLegalHold {
    type Reply = Option<String>;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<Option<String>, MetaError> {
        require_lock(transaction, &self.bucket)?;
        let (place, version_id, mut lock) =
            locate_version(transaction, &self.bucket, &self.key, self.version.as_ref())?;
        lock.legal_hold = self.on;
        update_lock(transaction, &self.bucket, &self.key, place, &lock)?;
        Ok(version_id)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Object {
            bucket: &self.bucket,
            key: &self.key,
        }
    }
}

/// NoSuchBucket, or NoObjectLockConfiguration for a bucket without Object Lock.
fn require_lock(transaction: &Transaction<'_>, bucket: &str) -> Result<(), MetaError> {
    match get_bucket_state(transaction, bucket)? {
        None => Err(MetaError::NoSuchBucket),
        Some(record) if record.object_lock.is_none() => Err(MetaError::NoObjectLockConfiguration),
        Some(_) => Ok(()),
    }
}
