//! Tag commands: one version's tag set (Put/DeleteObjectTagging) and a bucket's
//! (Put/Get/DeleteBucketTagging), stored URL-encoded as `x-amz-tagging` carries them.

use rusqlite::{params, Transaction};

use super::bucket_rows::require_bucket;
use super::command::{Changes, MetaCommand};
use super::version_id::VersionSelector;
use super::version_lookup::{locate_version, update_tags};
use super::MetaError;

/// Replace (or with `None` remove) one version's tags; answers its version id.
#[derive(Debug)]
pub struct PutObjectTagging {
    /// Bucket name.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// `versionId` (the current version when `None`).
    pub version: Option<VersionSelector>,
    /// The tag set, URL-encoded (`None`: no tags).
    pub tags: Option<String>,
}

impl MetaCommand for PutObjectTagging {
    type Reply = Option<String>;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<Option<String>, MetaError> {
        let (place, version_id, _) =
            locate_version(transaction, &self.bucket, &self.key, self.version.as_ref())?;
        update_tags(
            transaction,
            &self.bucket,
            &self.key,
            place,
            self.tags.as_deref(),
        )?;
        Ok(version_id)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Object {
            bucket: &self.bucket,
            key: &self.key,
        }
    }
}

/// Replace (or with `None` remove) a bucket's tags.
#[derive(Debug)]
pub struct PutBucketTagging {
    /// Bucket name.
    pub bucket: String,
    /// The tag set, URL-encoded (`None`: no tags).
    pub tags: Option<String>,
}

impl MetaCommand for PutBucketTagging {
    type Reply = ();

    fn apply(&self, transaction: &Transaction<'_>) -> Result<(), MetaError> {
        let updated = transaction
            .prepare_cached("UPDATE buckets SET tags = ?2 WHERE name = ?1")?
            .execute(params![self.bucket, self.tags])?;
        if updated == 0 {
            return Err(MetaError::NoSuchBucket);
        }
        Ok(())
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}

/// A bucket's tags (`None`: it has none).
#[derive(Debug)]
pub struct GetBucketTagging {
    /// Bucket name.
    pub bucket: String,
}

impl MetaCommand for GetBucketTagging {
    type Reply = Option<String>;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<Option<String>, MetaError> {
        require_bucket(transaction, &self.bucket)?;
        Ok(transaction
            .prepare_cached("SELECT tags FROM buckets WHERE name = ?1")?
            .query_row([&self.bucket], |row| row.get(0))?)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}
