//! One settings column of a bucket row set by its command (CORS, policy, PublicAccessBlock,
//! lifecycle, default encryption). Apart from `bucket_rows`, which decodes those columns, so the
//! settings modules and the row reader do not depend on each other.

use rusqlite::Transaction;

use super::MetaError;

/// Sets one settings column of a bucket (CORS, policy, PublicAccessBlock, lifecycle, default
/// encryption); NoSuchBucket if it is gone.
pub(crate) fn update_bucket(
    transaction: &Transaction<'_>,
    column: &'static str,
    bucket: &str,
    value: Option<&str>,
) -> Result<(), MetaError> {
    // `column` is a caller's constant, never input.
    let updated = transaction
        .prepare_cached(&format!("UPDATE buckets SET {column} = ?2 WHERE name = ?1"))?
        .execute(rusqlite::params![bucket, value])?;
    if updated == 0 {
        return Err(MetaError::NoSuchBucket);
    }
    Ok(())
}
