//! Bucket rows every command reads: a bucket by name with its decoded settings, and NoSuchBucket
//! when it is missing.

use rusqlite::{OptionalExtension, Transaction};

use super::{BucketRecord, MetaError};

/// A `buckets` row as a record.
pub(crate) fn bucket_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<BucketRecord> {
    Ok(BucketRecord {
        name: row.get(0)?,
        owner: row.get(1)?,
        region: row.get(2)?,
        created_ms: row.get(3)?,
        acl: row.get(4)?,
        versioning: row
            .get::<_, Option<String>>(5)?
            .as_deref()
            .and_then(super::VersioningStatus::parse),
        object_lock: row
            .get::<_, Option<String>>(6)?
            .as_deref()
            .and_then(super::BucketObjectLock::decode),
        cors: row
            .get::<_, Option<String>>(7)?
            .as_deref()
            .and_then(|text| {
                let decoded = super::cors::CorsConfiguration::decode(text);
                if decoded.is_none() {
                    tracing::warn!(bucket = %row.get::<_, String>(0).unwrap_or_default(), "stored CORS rules unreadable; the bucket answers as if it had none");
                }
                decoded
            }),
        policy: match row.get::<_, Option<String>>(8)? {
            Some(text) => super::bucket_policy::decode_policy(&row.get::<_, String>(0)?, &text),
            None => None,
        },
        public_access_block: row
            .get::<_, Option<String>>(9)?
            .as_deref()
            .and_then(super::bucket_policy::PublicAccessBlock::decode),
        lifecycle: row
            .get::<_, Option<String>>(10)?
            .as_deref()
            .and_then(|text| {
                let decoded = crate::lifecycle::LifecycleConfiguration::decode(text);
                if decoded.is_none() {
                    tracing::warn!(bucket = %row.get::<_, String>(0).unwrap_or_default(), "stored lifecycle rules unreadable; the bucket answers as if it had none");
                }
                decoded.map(std::sync::Arc::new)
            }),
        encryption: row
            .get::<_, Option<String>>(11)?
            .as_deref()
            .and_then(super::bucket_encryption::BucketEncryption::decode),
    })
}

/// The bucket named `name`, if it exists.
pub(crate) fn get_bucket(
    transaction: &Transaction<'_>,
    name: &str,
) -> rusqlite::Result<Option<BucketRecord>> {
    query_bucket(
        transaction,
        "SELECT name, owner, region, created_ms, acl, versioning, object_lock, cors, policy, \
         public_access_block, lifecycle, encryption FROM buckets WHERE name = ?1",
        name,
    )
}

/// The bucket named `name` without its configurations (CORS, policy, PublicAccessBlock,
/// lifecycle and default encryption read as `None`): what commands check and write against. Decoding those costs up to
/// milliseconds (a policy is compiled, a lifecycle configuration of up to 2 MB parsed), so only
/// `get_bucket` — a core's whole record, cached there — and the lifecycle pass do it.
pub(crate) fn get_bucket_state(
    transaction: &Transaction<'_>,
    name: &str,
) -> rusqlite::Result<Option<BucketRecord>> {
    query_bucket(
        transaction,
        "SELECT name, owner, region, created_ms, acl, versioning, object_lock, NULL, NULL, \
         NULL, NULL, NULL FROM buckets WHERE name = ?1",
        name,
    )
}

/// Runs `select` (the columns `bucket_from_row` reads, `?1` the name) for bucket `name`.
fn query_bucket(
    transaction: &Transaction<'_>,
    select: &str,
    name: &str,
) -> rusqlite::Result<Option<BucketRecord>> {
    transaction
        .prepare_cached(select)?
        .query_row([name], bucket_from_row)
        .optional()
}

/// NoSuchBucket unless `name` exists.
pub(crate) fn require_bucket(transaction: &Transaction<'_>, name: &str) -> Result<(), MetaError> {
    match get_bucket_state(transaction, name)? {
        Some(_) => Ok(()),
        None => Err(MetaError::NoSuchBucket),
    }
}
