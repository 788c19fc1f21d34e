//! The journal of multipart uploads the mover started upstream (`tier_uploads`, schema version
//! 12): each upload's id is recorded before its first part goes, and forgotten once it was
//! completed or aborted, so an upload a crash interrupted is found (object_store cannot list a
//! store's unfinished uploads) and aborted by the reconciler instead of holding its parts'
//! storage upstream for ever.

use rusqlite::{params, Transaction};

use super::command::{Changes, MetaCommand};
use super::MetaError;
use crate::object_bytes::{FileId, RemoteObject};

/// One multipart upload started upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierUpload {
    /// The object it uploads (its tier and upstream name).
    pub remote: RemoteObject,
    /// The store's upload id (S3's UploadId; on Azure and GCS object_store's own).
    pub upload_id: String,
}

/// Records `upload` (durably, before any part is sent).
#[derive(Debug)]
pub struct RecordTierUpload {
    /// The upload.
    pub upload: TierUpload,
}

impl MetaCommand for RecordTierUpload {
    type Reply = ();

    fn apply(&self, transaction: &Transaction<'_>) -> Result<(), MetaError> {
        transaction
            .prepare_cached(
                "INSERT OR REPLACE INTO tier_uploads (tier, object_id, upload_id, started_ms) \
                 VALUES (?1, ?2, ?3, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))",
            )?
            .execute(params![
                self.upload.remote.tier,
                self.upload.remote.object_id.to_string(),
                self.upload.upload_id
            ])?;
        Ok(())
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}

/// Forgets `upload` (completed or aborted upstream).
#[derive(Debug)]
pub struct ForgetTierUpload {
    /// The upload.
    pub upload: TierUpload,
}

impl MetaCommand for ForgetTierUpload {
    type Reply = ();

    fn apply(&self, transaction: &Transaction<'_>) -> Result<(), MetaError> {
        transaction
            .prepare_cached(
                "DELETE FROM tier_uploads WHERE tier = ?1 AND object_id = ?2 AND upload_id = ?3",
            )?
            .execute(params![
                self.upload.remote.tier,
                self.upload.remote.object_id.to_string(),
                self.upload.upload_id
            ])?;
        Ok(())
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}

/// Up to `limit` recorded uploads to `tier` (of one object, or of all), oldest first.
#[derive(Debug)]
pub struct ListTierUploads {
    /// The tier.
    pub tier: String,
    /// Only this object's uploads (`None`: every object's).
    pub object_id: Option<FileId>,
    /// At most this many.
    pub limit: usize,
}

impl MetaCommand for ListTierUploads {
    type Reply = Vec<TierUpload>;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<Self::Reply, MetaError> {
        let mut statement = transaction.prepare_cached(
            "SELECT object_id, upload_id FROM tier_uploads \
             WHERE tier = ?1 AND (?2 IS NULL OR object_id = ?2) \
             ORDER BY started_ms, object_id LIMIT ?3",
        )?;
        let object_id = self.object_id.map(|id| id.to_string());
        let rows = statement
            .query_map(params![self.tier, object_id, self.limit as i64], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })?;
        let mut uploads = Vec::new();
        for row in rows {
            let (object_id, upload_id) = row?;
            // Written by `RecordTierUpload` from a `FileId`; a row that is not one names no
            // upload of ours and is skipped (it would be listed again each time: none exists).
            let Some(object_id) = FileId::parse(&object_id) else {
                continue;
            };
            uploads.push(TierUpload {
                remote: RemoteObject {
                    tier: self.tier.clone(),
                    object_id,
                },
                upload_id,
            });
        }
        Ok(uploads)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::MetaStore;

    // Goal: an upload recorded is listed for its tier only, and is gone once forgotten.
    #[test]
    fn records_lists_and_forgets_uploads() {
        let directory = tempfile::tempdir().unwrap();
        let mut store = MetaStore::open(&directory.path().join("meta.sqlite")).unwrap();
        let upload = |tier: &str, id: u128, upload_id: &str| TierUpload {
            remote: RemoteObject {
                tier: tier.to_string(),
                object_id: FileId(id),
            },
            upload_id: upload_id.to_string(),
        };
        for item in [
            upload("COLD", 1, "a"),
            upload("COLD", 2, "b"),
            upload("WARM", 3, "c"),
        ] {
            store.apply(&RecordTierUpload { upload: item }).unwrap();
        }
        let listed = store
            .apply(&ListTierUploads {
                tier: "COLD".into(),
                object_id: None,
                limit: 10,
            })
            .unwrap();
        assert_eq!(listed, vec![upload("COLD", 1, "a"), upload("COLD", 2, "b")]);
        let listed = store
            .apply(&ListTierUploads {
                tier: "COLD".into(),
                object_id: Some(FileId(2)),
                limit: 10,
            })
            .unwrap();
        assert_eq!(listed, vec![upload("COLD", 2, "b")]);
        store
            .apply(&ForgetTierUpload {
                upload: upload("COLD", 1, "a"),
            })
            .unwrap();
        let listed = store
            .apply(&ListTierUploads {
                tier: "COLD".into(),
                object_id: None,
                limit: 10,
            })
            .unwrap();
        assert_eq!(listed, vec![upload("COLD", 2, "b")]);
    }
}
