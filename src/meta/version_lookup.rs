//! Finding one version of a key: by `versionId` or the current one (reporting a delete marker
//! where S3 does), where its row is, and the per-version changes that do not move it (ACL,
//! retention and legal hold, tags).

use rusqlite::{params, OptionalExtension, Transaction};

use super::bucket_rows::require_bucket;
use super::command::{Changes, MetaCommand};
use super::object_lock::ObjectLock;
use super::object_rows::{get_object, record_columns, record_from_row};
use super::version_id::VersionSelector;
use super::version_rows::{current_row, find_noncurrent};
use super::{MetaError, ObjectRecord};

/// What a lookup by version found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionLookup {
    /// An object version.
    Object(Box<ObjectRecord>),
    /// A delete marker: S3 answers 404 (current) or 405 (named) with `x-amz-delete-marker`.
    DeleteMarker {
        /// Its id (`None`: the null marker).
        version_id: Option<String>,
        /// When it was written, milliseconds since the Unix epoch.
        last_modified_ms: i64,
    },
    /// Nothing (or not that version).
    Missing,
}

/// Look up one version of a key (`version` `None`: the current one, reporting a delete marker
/// when that is what the key's newest version is); NoSuchBucket if the bucket is missing.
#[derive(Debug)]
pub struct GetObjectVersion {
    /// Bucket name.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// Which version.
    pub version: Option<VersionSelector>,
    /// Read an inline object's bytes too.
    pub with_bytes: bool,
}

impl MetaCommand for GetObjectVersion {
    type Reply = VersionLookup;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<VersionLookup, MetaError> {
        let (bucket, key) = (self.bucket.as_str(), self.key.as_str());
        let current_id: Option<Option<String>> = transaction
            .prepare_cached("SELECT version_id FROM objects WHERE bucket = ?1 AND key = ?2")?
            .query_row(params![bucket, key], |row| row.get(0))
            .optional()?;
        let current_matches = current_id.as_ref().is_some_and(|id| {
            self.version
                .as_ref()
                .is_none_or(|selector| selector.names(id.as_deref()))
        });
        if current_matches {
            if let Some(record) = get_object(transaction, bucket, key, self.with_bytes)? {
                return Ok(VersionLookup::Object(Box::new(record)));
            }
        }
        let found = match &self.version {
            Some(selector) => lookup_noncurrent(transaction, bucket, key, selector, self)?,
            // No current object: the newest version, if any, is a delete marker.
            None if current_id.is_none() => newest_marker(transaction, bucket, key)?,
            None => VersionLookup::Missing,
        };
        if found == VersionLookup::Missing {
            require_bucket(transaction, bucket)?;
        }
        Ok(found)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }

    /// Without a version named it reads the current row, or else the key's newest marker (a key
    /// without a current row has no staged versions).
    fn keeps_versions_staged(&self) -> bool {
        self.version.is_none()
    }
}

/// The key's newest version if it is a delete marker.
pub(super) fn newest_marker(
    transaction: &Transaction<'_>,
    bucket: &str,
    key: &str,
) -> rusqlite::Result<VersionLookup> {
    let newest: Option<(Option<String>, bool, i64)> = transaction
        .prepare_cached(
            "SELECT version_id, delete_marker, last_modified_ms FROM versions \
             WHERE bucket = ?1 AND key = ?2 ORDER BY sequence DESC LIMIT 1",
        )?
        .query_row(params![bucket, key], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    Ok(match newest {
        Some((version_id, true, last_modified_ms)) => VersionLookup::DeleteMarker {
            version_id,
            last_modified_ms,
        },
        _ => VersionLookup::Missing,
    })
}

/// The noncurrent version or marker `selector` names, read whole.
fn lookup_noncurrent(
    transaction: &Transaction<'_>,
    bucket: &str,
    key: &str,
    selector: &VersionSelector,
    lookup: &GetObjectVersion,
) -> rusqlite::Result<VersionLookup> {
    let Some(row) = find_noncurrent(transaction, bucket, key, selector)? else {
        return Ok(VersionLookup::Missing);
    };
    if row.delete_marker {
        return Ok(VersionLookup::DeleteMarker {
            version_id: match selector {
                VersionSelector::Null => None,
                VersionSelector::Id(id) => Some(id.to_string()),
            },
            last_modified_ms: row.last_modified_ms,
        });
    }
    let sql = if lookup.with_bytes {
        concat!(
            "SELECT ",
            record_columns!(),
            ", (SELECT stored.bytes FROM version_bytes stored WHERE stored.id = versions.bytes_id) \
             FROM versions WHERE bucket = ?1 AND key = ?2 AND sequence = ?3"
        )
    } else {
        concat!(
            "SELECT ",
            record_columns!(),
            ", NULL FROM versions WHERE bucket = ?1 AND key = ?2 AND sequence = ?3"
        )
    };
    transaction
        .prepare_cached(sql)?
        .query_row(params![bucket, key, row.sequence], |row| {
            record_from_row(bucket, key, row)
        })
        .map(|record| VersionLookup::Object(Box::new(record)))
}

/// Where a version's row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VersionPlace {
    /// The key's current row in `objects`.
    Current,
    /// A row of `versions`, by its sequence number.
    Noncurrent(i64),
}

/// The object version `version` names (the current one when `None`): where it is, its id and
/// its protection. NoSuchKey / NoSuchVersion when missing; a delete marker counts as missing
/// (S3 answers MethodNotAllowed for it, which the caller decides).
pub(crate) fn locate_version(
    transaction: &Transaction<'_>,
    bucket: &str,
    key: &str,
    version: Option<&VersionSelector>,
) -> Result<(VersionPlace, Option<String>, ObjectLock), MetaError> {
    let current = current_row(transaction, bucket, key)?;
    if let Some(row) = current
        .filter(|row| version.is_none_or(|selector| selector.names(row.version_id.as_deref())))
    {
        return Ok((VersionPlace::Current, row.version_id, row.lock));
    }
    let missing = || {
        require_bucket(transaction, bucket)?;
        Err(match version {
            None => MetaError::NoSuchKey,
            Some(_) => MetaError::NoSuchVersion,
        })
    };
    let Some(selector) = version else {
        return missing();
    };
    match find_noncurrent(transaction, bucket, key, selector)? {
        Some(row) if !row.delete_marker => Ok((
            VersionPlace::Noncurrent(row.sequence),
            match selector {
                VersionSelector::Null => None,
                VersionSelector::Id(id) => Some(id.to_string()),
            },
            row.lock,
        )),
        _ => missing(),
    }
}

/// Stores `lock` as the protection of the version at `place`.
pub(crate) fn update_lock(
    transaction: &Transaction<'_>,
    bucket: &str,
    key: &str,
    place: VersionPlace,
    lock: &ObjectLock,
) -> rusqlite::Result<()> {
    let mode = lock.retention.map(|retention| retention.mode.as_str());
    let until = lock.retention.map(|retention| retention.retain_until_ms);
    match place {
        VersionPlace::Current => transaction
            .prepare_cached(
                "UPDATE objects SET lock_mode = ?3, retain_until_ms = ?4, legal_hold = ?5 \
                 WHERE bucket = ?1 AND key = ?2",
            )?
            .execute(params![bucket, key, mode, until, lock.legal_hold])?,
        VersionPlace::Noncurrent(sequence) => transaction
            .prepare_cached(
                "UPDATE versions SET lock_mode = ?4, retain_until_ms = ?5, legal_hold = ?6 \
                 WHERE bucket = ?1 AND key = ?2 AND sequence = ?3",
            )?
            .execute(params![bucket, key, sequence, mode, until, lock.legal_hold])?,
    };
    Ok(())
}

/// Stores `tags` (URL-encoded; `None`: none) as the tag set of the version at `place`.
pub(crate) fn update_tags(
    transaction: &Transaction<'_>,
    bucket: &str,
    key: &str,
    place: VersionPlace,
    tags: Option<&str>,
) -> rusqlite::Result<()> {
    match place {
        VersionPlace::Current => transaction
            .prepare_cached("UPDATE objects SET tags = ?3 WHERE bucket = ?1 AND key = ?2")?
            .execute(params![bucket, key, tags])?,
        VersionPlace::Noncurrent(sequence) => transaction
            .prepare_cached(
                "UPDATE versions SET tags = ?4 WHERE bucket = ?1 AND key = ?2 AND sequence = ?3",
            )?
            .execute(params![bucket, key, sequence, tags])?,
    };
    Ok(())
}

/// Replaces the access control list of the version `selector` names (NoSuchVersion if it is
/// missing or a delete marker).
pub(crate) fn put_version_acl(
    transaction: &Transaction<'_>,
    bucket: &str,
    key: &str,
    selector: &VersionSelector,
    acl: Option<&str>,
) -> Result<(), MetaError> {
    let current = current_row(transaction, bucket, key)?;
    if current.is_some_and(|row| selector.names(row.version_id.as_deref())) {
        transaction
            .prepare_cached("UPDATE objects SET acl = ?3 WHERE bucket = ?1 AND key = ?2")?
            .execute(params![bucket, key, acl])?;
        return Ok(());
    }
    match find_noncurrent(transaction, bucket, key, selector)? {
        Some(row) if !row.delete_marker => {
            transaction
                .prepare_cached(
                    "UPDATE versions SET acl = ?4 WHERE bucket = ?1 AND key = ?2 AND sequence = ?3",
                )?
                .execute(params![bucket, key, row.sequence, acl])?;
            Ok(())
        }
        _ => {
            require_bucket(transaction, bucket)?;
            Err(MetaError::NoSuchVersion)
        }
    }
}
