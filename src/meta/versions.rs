//! Versions of a key, as S3 Versioning defines them: a bucket's versioning status, and how a
//! write or a delete changes a key's versions in an unversioned, Enabled or Suspended bucket
//! (`objects` holds the current version unless it is a delete marker; `versions` holds every
//! noncurrent version and every marker, newest first — rows in `version_rows`, lookups in
//! `version_lookup`).
//!
//! Sources: S3 User Guide, "How S3 Versioning works", "Working with objects in a
//! versioning-suspended bucket", "Deleting object versions", "Working with delete markers".

use rusqlite::{params, Transaction};

use super::bucket_rows::get_bucket_state;
use super::command::{Changes, MetaCommand};
use super::object_lock::check_removable;
use super::object_rows::{check_put_condition, insert_object};
use super::version_id::{VersionId, VersionSelector};
use super::version_lookup::{newest_marker, VersionLookup};
use super::version_rows::{
    check_noncurrent_null_removable, copy_current_to_versions, current_row, delete_current,
    delete_noncurrent, demote_current, find_noncurrent, insert_marker,
    mark_current_marker_noncurrent, next_sequence, now_ms, promote_newest, release_bytes,
    remove_noncurrent_null, CurrentRow,
};
use super::version_staging;
use super::{BucketRecord, DeleteCondition, MetaError, ObjectRecord, PutCondition};
use crate::object_bytes::FileId;

/// A bucket's versioning status once it was first enabled (S3 `VersioningConfiguration`
/// `Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersioningStatus {
    /// Every write makes a new version; deletes write delete markers.
    Enabled,
    /// Writes replace the `null` version; older versions stay.
    Suspended,
}

impl VersioningStatus {
    /// As S3 spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            VersioningStatus::Enabled => "Enabled",
            VersioningStatus::Suspended => "Suspended",
        }
    }

    /// S3's spelling back to the status.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "Enabled" => Some(VersioningStatus::Enabled),
            "Suspended" => Some(VersioningStatus::Suspended),
            _ => None,
        }
    }
}

/// Set a bucket's versioning status (the owner check is the caller's).
#[derive(Debug)]
pub struct PutBucketVersioning {
    /// Bucket name.
    pub bucket: String,
    /// The new status.
    pub status: VersioningStatus,
}

impl MetaCommand for PutBucketVersioning {
    type Reply = ();

    fn apply(&self, transaction: &Transaction<'_>) -> Result<(), MetaError> {
        let Some(bucket) = get_bucket_state(transaction, &self.bucket)? else {
            return Err(MetaError::NoSuchBucket);
        };
        // S3 User Guide, Object Lock: "you can't disable Object Lock or suspend versioning for
        // that bucket" once Object Lock is enabled.
        if bucket.object_lock.is_some() && self.status == VersioningStatus::Suspended {
            return Err(MetaError::InvalidBucketState);
        }
        transaction
            .prepare_cached("UPDATE buckets SET versioning = ?2 WHERE name = ?1")?
            .execute(params![self.bucket, self.status.as_str()])?;
        Ok(())
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Buckets
    }
}

/// What a versioned write did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct VersionWritten {
    /// The new version's id; `None` for the null version.
    pub version_id: Option<String>,
    /// Files no version references any more, to delete after the commit.
    pub freed: Vec<FileId>,
}

/// Writes `record` as the key's newest version in `bucket_record` (its versioning and Object
/// Lock default retention apply), once `condition` holds against the current version (a delete
/// marker counts as absent): unversioned, it replaces the row; Enabled, the current version
/// becomes noncurrent; Suspended, it replaces the null version wherever that is (if its lock
/// allows).
pub(crate) fn write_version(
    transaction: &Transaction<'_>,
    bucket_record: &BucketRecord,
    record: &ObjectRecord,
    condition: &PutCondition,
) -> Result<VersionWritten, MetaError> {
    let (bucket, key) = (record.bucket.as_str(), record.key.as_str());
    let current = current_row(transaction, bucket, key)?;
    check_put_condition(condition, current.as_ref().map(|row| row.etag.as_str()))?;
    // Whatever happens to the current row below, the insert replaces it in `objects`.
    let replaced_size_bytes = current.as_ref().map(|row| row.size_bytes);
    let mut lock = record.lock;
    if lock.retention.is_none() {
        lock.retention = bucket_record
            .object_lock
            .and_then(|config| config.default_for(record.last_modified_ms));
    }
    let Some(status) = bucket_record.versioning else {
        let replaced_bytes_id = current.as_ref().and_then(|row| row.bytes_id);
        let replaced_remote = current.as_ref().and_then(|row| row.remote.as_ref());
        super::tier_rows::queue_garbage(transaction, replaced_remote)?;
        insert_object(
            transaction,
            record,
            None,
            None,
            &lock,
            replaced_size_bytes,
            replaced_bytes_id,
        )?;
        return Ok(VersionWritten {
            version_id: None,
            freed: current.map(|row| row.files).unwrap_or_default(),
        });
    };
    let sequence = next_sequence(
        transaction,
        bucket,
        key,
        current.as_ref(),
        record.last_modified_ms,
    )?;
    let mut freed = Vec::new();
    let version_id = match status {
        VersioningStatus::Enabled => {
            match &current {
                // The insert below replaces the current row; an inline one waits in the staging
                // table on its way to `versions`.
                Some(row) => {
                    let retire = if version_staging::stageable(row) {
                        version_staging::stage_current
                    } else {
                        copy_current_to_versions
                    };
                    retire(transaction, bucket, key, row, record.last_modified_ms)?
                }
                None => mark_current_marker_noncurrent(
                    transaction,
                    bucket,
                    key,
                    record.last_modified_ms,
                )?,
            }
            Some(VersionId::generate(sequence).as_str().to_string())
        }
        VersioningStatus::Suspended => {
            check_noncurrent_null_removable(transaction, bucket, key, false)?;
            match current {
                // The insert below replaces the current null version.
                Some(row) if row.version_id.is_none() => {
                    check_removable(&row.lock, now_ms(), false)?;
                    release_bytes(transaction, row.bytes_id, row.remote.as_ref())?;
                    freed.extend(row.files);
                }
                Some(row) => copy_current_to_versions(
                    transaction,
                    bucket,
                    key,
                    &row,
                    record.last_modified_ms,
                )?,
                None => mark_current_marker_noncurrent(
                    transaction,
                    bucket,
                    key,
                    record.last_modified_ms,
                )?,
            }
            freed.extend(remove_noncurrent_null(transaction, bucket, key)?);
            None
        }
    };
    insert_object(
        transaction,
        record,
        version_id.as_deref(),
        Some(sequence),
        &lock,
        replaced_size_bytes,
        None,
    )?;
    Ok(VersionWritten { version_id, freed })
}

/// What a delete did, as S3 reports it (`x-amz-version-id`, `x-amz-delete-marker`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeletedVersion {
    /// The version removed, or the delete marker written (`null` for the null version); `None`
    /// in a bucket never versioned when no version was named.
    pub version_id: Option<String>,
    /// A delete marker was written, or the version removed was one.
    pub delete_marker: bool,
}

/// A delete's outcome and the files it freed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct VersionDeleted {
    /// What S3 reports.
    pub deleted: DeletedVersion,
    /// Files no version references any more, to delete after the commit.
    pub freed: Vec<FileId>,
}

/// Deletes the key (`version` `None`) or one version of it, once `condition` holds against what
/// is removed. Without a version: unversioned, the row goes; Enabled, a delete marker becomes
/// the current version; Suspended, a `null` delete marker replaces the null version. With one:
/// exactly that version or marker goes, and the newest remaining version becomes current if it
/// is an object. A version that does not exist is no error (S3 answers 204).
pub(crate) fn delete_version(
    transaction: &Transaction<'_>,
    bucket: &str,
    key: &str,
    version: Option<&VersionSelector>,
    condition: &DeleteCondition,
    requester: &str,
    bypass_governance: bool,
) -> Result<VersionDeleted, MetaError> {
    let Some(record) = get_bucket_state(transaction, bucket)? else {
        return Err(MetaError::NoSuchBucket);
    };
    let current = current_row(transaction, bucket, key)?;
    let holds = |row: &CurrentRow| condition.holds(&row.etag, row.last_modified_ms, row.size_bytes);
    if let Some(selector) = version {
        return delete_named_version(
            transaction,
            bucket,
            key,
            selector,
            current,
            condition,
            bypass_governance,
        );
    }
    if current.as_ref().is_some_and(|row| !holds(row)) {
        return Err(MetaError::PreconditionFailed);
    }
    // A conditional delete of a key with no version writes nothing. A key whose current version
    // is a delete marker still exists for a condition, with no ETag and no bytes: only `*` and
    // the marker's own time and size (0) match it.
    if current.is_none() && !condition.is_empty() && record.versioning.is_some() {
        match newest_marker(transaction, bucket, key)? {
            VersionLookup::DeleteMarker {
                last_modified_ms, ..
            } => {
                if !condition.holds("", last_modified_ms, 0) {
                    return Err(MetaError::PreconditionFailed);
                }
            }
            _ => return Ok(VersionDeleted::default()),
        }
    }
    let Some(status) = record.versioning else {
        let freed = match current {
            Some(row) => {
                check_removable(&row.lock, now_ms(), bypass_governance)?;
                delete_current(transaction, bucket, key)?;
                release_bytes(transaction, row.bytes_id, row.remote.as_ref())?;
                row.files
            }
            None => Vec::new(),
        };
        return Ok(VersionDeleted {
            deleted: DeletedVersion::default(),
            freed,
        });
    };
    let sequence = next_sequence(transaction, bucket, key, current.as_ref(), now_ms())?;
    let mut freed = Vec::new();
    let marker_id = match status {
        VersioningStatus::Enabled => {
            match &current {
                Some(row) => demote_current(transaction, bucket, key, row, now_ms())?,
                None => mark_current_marker_noncurrent(transaction, bucket, key, now_ms())?,
            }
            Some(VersionId::generate(sequence))
        }
        VersioningStatus::Suspended => {
            check_noncurrent_null_removable(transaction, bucket, key, bypass_governance)?;
            match current {
                Some(row) if row.version_id.is_none() => {
                    check_removable(&row.lock, now_ms(), bypass_governance)?;
                    delete_current(transaction, bucket, key)?;
                    release_bytes(transaction, row.bytes_id, row.remote.as_ref())?;
                    freed.extend(row.files);
                }
                Some(row) => demote_current(transaction, bucket, key, &row, now_ms())?,
                None => mark_current_marker_noncurrent(transaction, bucket, key, now_ms())?,
            }
            freed.extend(remove_noncurrent_null(transaction, bucket, key)?);
            None
        }
    };
    insert_marker(
        transaction,
        bucket,
        key,
        sequence,
        marker_id.as_ref(),
        requester,
    )?;
    Ok(VersionDeleted {
        deleted: DeletedVersion {
            version_id: Some(
                marker_id.map_or(super::NULL_VERSION_ID.to_string(), |id| id.to_string()),
            ),
            delete_marker: true,
        },
        freed,
    })
}

/// DeleteObject with a `versionId`: removes exactly that version or marker.
fn delete_named_version(
    transaction: &Transaction<'_>,
    bucket: &str,
    key: &str,
    selector: &VersionSelector,
    current: Option<CurrentRow>,
    condition: &DeleteCondition,
    bypass_governance: bool,
) -> Result<VersionDeleted, MetaError> {
    let mut deleted = DeletedVersion {
        version_id: Some(selector.as_str().to_string()),
        delete_marker: false,
    };
    if let Some(row) = current.filter(|row| selector.names(row.version_id.as_deref())) {
        if !condition.holds(&row.etag, row.last_modified_ms, row.size_bytes) {
            return Err(MetaError::PreconditionFailed);
        }
        check_removable(&row.lock, now_ms(), bypass_governance)?;
        delete_current(transaction, bucket, key)?;
        release_bytes(transaction, row.bytes_id, row.remote.as_ref())?;
        promote_newest(transaction, bucket, key)?;
        return Ok(VersionDeleted {
            deleted,
            freed: row.files,
        });
    }
    let Some(row) = find_noncurrent(transaction, bucket, key, selector)? else {
        return Ok(VersionDeleted {
            deleted,
            freed: Vec::new(),
        });
    };
    if !condition.holds(&row.etag, row.last_modified_ms, row.size_bytes) {
        return Err(MetaError::PreconditionFailed);
    }
    check_removable(&row.lock, now_ms(), bypass_governance)?;
    delete_noncurrent(transaction, bucket, key, row.sequence)?;
    release_bytes(transaction, row.bytes_id, row.remote.as_ref())?;
    promote_newest(transaction, bucket, key)?;
    deleted.delete_marker = row.delete_marker;
    Ok(VersionDeleted {
        deleted,
        freed: row.files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::store::tests::{inline_object, object, store_with_keys};
    use crate::meta::store::MetaStore;
    use crate::meta::GetObjectVersion;
    use crate::meta::{DeleteObject, PutObject};

    fn set_versioning(store: &mut MetaStore, status: VersioningStatus) {
        store
            .apply(&PutBucketVersioning {
                bucket: "b".into(),
                status,
            })
            .unwrap();
    }

    fn put(store: &mut MetaStore, key: &str, id: u128) -> VersionWritten {
        store
            .apply(&PutObject(object(key, id), PutCondition::None))
            .unwrap()
    }

    fn delete(store: &mut MetaStore, key: &str, version: Option<&str>) -> VersionDeleted {
        store
            .apply(&DeleteObject {
                bucket: "b".into(),
                key: key.into(),
                version: version.map(|text| VersionSelector::parse(text).unwrap()),
                condition: DeleteCondition::default(),
                requester: "o".into(),
                bypass_governance: false,
            })
            .unwrap()
    }

    fn lookup(store: &mut MetaStore, key: &str, version: Option<&str>) -> VersionLookup {
        store
            .apply(&GetObjectVersion {
                bucket: "b".into(),
                key: key.into(),
                version: version.map(|text| VersionSelector::parse(text).unwrap()),
                with_bytes: false,
            })
            .unwrap()
    }

    fn file_of(found: VersionLookup) -> Option<FileId> {
        match found {
            VersionLookup::Object(record) => record.files().first().copied(),
            _ => None,
        }
    }

    #[test]
    fn a_keys_null_version_is_found_without_reading_its_other_versions() {
        // Goal: the null version under 3,000 newer versions of its key is found through the
        // partial index of null versions, not by reading the key's versions (each PUT and
        // DELETE in a Suspended bucket looks it up twice; read by the primary key, that was
        // thousands of SQLite steps here).
        let mut store = store_with_keys(&["k"]);
        set_versioning(&mut store, VersioningStatus::Enabled);
        let puts: Vec<PutObject> = (0..3_000)
            .map(|index| PutObject(object("k", 100 + index), PutCondition::None))
            .collect();
        for reply in store.apply_all(&puts) {
            reply.unwrap();
        }
        assert_eq!(
            file_of(lookup(&mut store, "k", Some("null"))),
            Some(FileId(1))
        );
        let steps = store.vm_steps_for_test(crate::meta::version_rows::NONCURRENT_NULL_SQL);
        assert!(
            (1..100).contains(&steps),
            "{steps} SQLite steps to find one null version"
        );
    }

    #[test]
    fn enabled_keeps_every_version_and_markers_hide_the_key() {
        // Goal: in an Enabled bucket an overwrite frees nothing and keeps the old version by its
        // id; a delete writes a marker that hides the key; removing the marker by id brings the
        // newest object back; removing a version by id frees exactly its file.
        let mut store = store_with_keys(&["k"]);
        set_versioning(&mut store, VersioningStatus::Enabled);
        let second = put(&mut store, "k", 20);
        assert!(second.freed.is_empty());
        let second_id = second.version_id.clone().unwrap();
        let third = put(&mut store, "k", 30);
        assert_eq!(
            file_of(lookup(&mut store, "k", Some("null"))),
            Some(FileId(1))
        );
        assert_eq!(
            file_of(lookup(&mut store, "k", Some(&second_id))),
            Some(FileId(20))
        );
        assert_eq!(file_of(lookup(&mut store, "k", None)), Some(FileId(30)));
        let marker = delete(&mut store, "k", None);
        assert!(marker.deleted.delete_marker && marker.freed.is_empty());
        let marker_id = marker.deleted.version_id.unwrap();
        assert!(matches!(
            lookup(&mut store, "k", None),
            VersionLookup::DeleteMarker { version_id: Some(id), .. } if id == marker_id
        ));
        let removed = delete(&mut store, "k", Some(&marker_id));
        assert!(removed.deleted.delete_marker);
        assert_eq!(file_of(lookup(&mut store, "k", None)), Some(FileId(30)));
        let removed = delete(&mut store, "k", Some(third.version_id.as_deref().unwrap()));
        assert_eq!(removed.freed, vec![FileId(30)]);
        assert_eq!(file_of(lookup(&mut store, "k", None)), Some(FileId(20)));
        assert_eq!(delete(&mut store, "k", Some("null")).freed, vec![FileId(1)]);
        let mut referenced: Vec<FileId> =
            store.referenced_file_ids().unwrap().into_iter().collect();
        referenced.sort_by_key(|id| id.0);
        assert_eq!(referenced, vec![FileId(20)]);
    }

    #[test]
    fn suspended_replaces_only_the_null_version() {
        // Goal: in a Suspended bucket a write replaces the null version wherever it is (current
        // or noncurrent) and keeps versions with ids; a delete writes a null marker that
        // replaces the null version too.
        let mut store = store_with_keys(&[]);
        set_versioning(&mut store, VersioningStatus::Enabled);
        let kept = put(&mut store, "k", 1).version_id.unwrap();
        set_versioning(&mut store, VersioningStatus::Suspended);
        let first_null = put(&mut store, "k", 2);
        assert_eq!(first_null, VersionWritten::default());
        assert_eq!(put(&mut store, "k", 3).freed, vec![FileId(2)]);
        let marker = delete(&mut store, "k", None);
        assert_eq!(marker.freed, vec![FileId(3)]);
        assert_eq!(marker.deleted.version_id.as_deref(), Some("null"));
        assert!(matches!(
            lookup(&mut store, "k", None),
            VersionLookup::DeleteMarker {
                version_id: None,
                ..
            }
        ));
        // The null marker is replaced by the next null write.
        assert!(put(&mut store, "k", 4).freed.is_empty());
        assert_eq!(
            file_of(lookup(&mut store, "k", Some(&kept))),
            Some(FileId(1))
        );
        assert_eq!(file_of(lookup(&mut store, "k", None)), Some(FileId(4)));
    }

    #[test]
    fn inline_versions_keep_their_bytes_until_removed() {
        // Goal: small objects stored inline keep each version's bytes through overwrites (a row
        // written before versioning included), read back by id, and every byte row is freed
        // once its version is deleted, so neither table keeps orphans.
        let mut store = store_with_keys(&[]);
        let put_inline = |store: &mut MetaStore, bytes: &[u8]| {
            store
                .apply(&PutObject(inline_object("k", bytes), PutCondition::None))
                .unwrap()
                .version_id
        };
        assert_eq!(put_inline(&mut store, b"legacy"), None);
        set_versioning(&mut store, VersioningStatus::Enabled);
        let second = put_inline(&mut store, b"second").unwrap();
        let third = put_inline(&mut store, b"third").unwrap();
        let bytes_of = |store: &mut MetaStore, version: Option<&str>| match store
            .apply(&GetObjectVersion {
                bucket: "b".into(),
                key: "k".into(),
                version: version.map(|text| VersionSelector::parse(text).unwrap()),
                with_bytes: true,
            })
            .unwrap()
        {
            VersionLookup::Object(record) => match record.body {
                crate::meta::ObjectBody::Inline(bytes) => bytes.as_slice().to_vec(),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        };
        assert_eq!(bytes_of(&mut store, Some("null")), b"legacy");
        assert_eq!(bytes_of(&mut store, Some(&second)), b"second");
        assert_eq!(bytes_of(&mut store, None), b"third");
        let count = |store: &MetaStore, sql: &str| -> i64 {
            store
                .connection()
                .query_row(sql, [], |row| row.get(0))
                .unwrap()
        };
        assert_eq!(count(&store, "SELECT count(*) FROM version_bytes"), 3);
        for version in ["null", &second, &third] {
            delete(&mut store, "k", Some(version));
        }
        assert_eq!(count(&store, "SELECT count(*) FROM version_bytes"), 0);
        assert_eq!(count(&store, "SELECT count(*) FROM objects"), 0);
        assert_eq!(count(&store, "SELECT count(*) FROM versions"), 0);
    }

    #[test]
    fn every_removal_path_asks_check_removable() {
        // Goal: a version under a legal hold is refused by every path that would remove it:
        // DeleteObject by id, DeleteBatch (per key, the rest deleted), a write or a delete in a
        // Suspended bucket that would replace the null version, and DeleteBucket; the multipart
        // reaper removes only unfinished uploads, never a version. The Suspended case cannot
        // arise through S3 (a bucket with Object Lock cannot be suspended), so the rows are set
        // up directly.
        let mut store = store_with_keys(&["held", "free"]);
        store
            .connection()
            .execute_batch(
                "UPDATE objects SET legal_hold = 1 WHERE key = 'held';
                 UPDATE buckets SET versioning = 'Suspended', object_lock = 'Enabled';",
            )
            .unwrap();
        let locked =
            |outcome: Result<_, MetaError>| matches!(outcome, Err(MetaError::ObjectLocked));
        assert!(locked(
            store
                .apply(&PutObject(object("held", 9), PutCondition::None))
                .map(|_| ())
        ));
        for version in [None, Some(VersionSelector::Null)] {
            assert!(locked(
                store
                    .apply(&DeleteObject {
                        bucket: "b".into(),
                        key: "held".into(),
                        version,
                        condition: DeleteCondition::default(),
                        requester: "o".into(),
                        bypass_governance: true,
                    })
                    .map(|_| ())
            ));
        }
        let batch = store
            .apply(&crate::meta::DeleteBatch {
                bucket: "b".into(),
                keys: vec!["held".into(), "free".into()],
                versions: vec![Some(VersionSelector::Null), Some(VersionSelector::Null)],
                conditions: Vec::new(),
                requester: "o".into(),
                bypass_governance: true,
            })
            .unwrap();
        assert_eq!(batch.locked, vec![0]);
        assert_eq!(batch.files, vec![FileId(2)]);
        assert!(matches!(
            store.apply(&crate::meta::DeleteBucket { name: "b".into() }),
            Err(MetaError::BucketNotEmpty)
        ));
        store
            .apply(&crate::meta::ReapUploads {
                created_before_ms: i64::MAX,
            })
            .unwrap();
        assert_eq!(file_of(lookup(&mut store, "held", None)), Some(FileId(1)));
    }
}
