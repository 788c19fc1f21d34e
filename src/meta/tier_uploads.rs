//! The journal of multipart uploads the mover started upstream (`tier_uploads`, schema version
//! 12) and of the parts each has sent (`tier_upload_parts`): an upload's id is recorded before
//! its first part goes, each part once the store has it, and the whole forgotten once the upload
//! is completed or aborted. So a move a crash interrupted resumes with the parts already sent,
//! and an upload nobody resumes is found (object_store cannot list a store's unfinished uploads)
//! and aborted by the reconciler instead of holding its parts' storage upstream for ever.

use rusqlite::{params, Transaction};

use super::command::{Changes, MetaCommand};
use super::MetaError;
use crate::object_bytes::{FileId, RemoteObject};

/// One multipart upload started upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierUpload {
    /// The object it uploads (its tier and upstream name).
    pub remote: RemoteObject,
    /// This attempt's own id (random): what the journal keys the upload and its parts by, since
    /// the store's id need not be unique (object_store's Azure uploads all have the empty id).
    pub attempt: String,
    /// The store's upload id (S3's and GCS's UploadId; empty on Azure, whose blocks are named by
    /// their own ids).
    pub upload_id: String,
    /// Its part size, in bytes (a resumed upload must cut the same parts).
    pub part_bytes: u64,
}

/// A part the store has: its index (from 0) and the id the completion names it by (S3's ETag,
/// Azure's block id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentPart {
    /// The part's index, from 0.
    pub index: usize,
    /// object_store's `PartId::content_id`.
    pub content_id: String,
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
                "INSERT OR REPLACE INTO tier_uploads \
                 (tier, object_id, attempt, upload_id, part_bytes, started_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, \
                 CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))",
            )?
            .execute(params![
                self.upload.remote.tier,
                self.upload.remote.object_id.to_string(),
                self.upload.attempt,
                self.upload.upload_id,
                self.upload.part_bytes as i64,
            ])?;
        Ok(())
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}

/// Records that the store has `part` of `upload`, if the upload is still journaled (a part that
/// finished as its failed upload was being forgotten is not recorded after it).
#[derive(Debug)]
pub struct RecordTierPart {
    /// The upload.
    pub upload: TierUpload,
    /// The part.
    pub part: SentPart,
}

impl MetaCommand for RecordTierPart {
    type Reply = ();

    fn apply(&self, transaction: &Transaction<'_>) -> Result<(), MetaError> {
        transaction
            .prepare_cached(
                "INSERT OR REPLACE INTO tier_upload_parts \
                 (tier, object_id, attempt, part_index, content_id) \
                 SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM tier_uploads \
                 WHERE tier = ?1 AND object_id = ?2 AND attempt = ?3)",
            )?
            .execute(params![
                self.upload.remote.tier,
                self.upload.remote.object_id.to_string(),
                self.upload.attempt,
                self.part.index as i64,
                self.part.content_id,
            ])?;
        Ok(())
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}

/// Forgets `upload` and its parts (completed or aborted upstream).
#[derive(Debug)]
pub struct ForgetTierUpload {
    /// The upload.
    pub upload: TierUpload,
}

impl MetaCommand for ForgetTierUpload {
    type Reply = ();

    fn apply(&self, transaction: &Transaction<'_>) -> Result<(), MetaError> {
        let key = params![
            self.upload.remote.tier,
            self.upload.remote.object_id.to_string(),
            self.upload.attempt
        ];
        transaction
            .prepare_cached(
                "DELETE FROM tier_uploads WHERE tier = ?1 AND object_id = ?2 AND attempt = ?3",
            )?
            .execute(key)?;
        transaction
            .prepare_cached(
                "DELETE FROM tier_upload_parts \
                 WHERE tier = ?1 AND object_id = ?2 AND attempt = ?3",
            )?
            .execute(key)?;
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
            "SELECT object_id, attempt, upload_id, part_bytes FROM tier_uploads \
             WHERE tier = ?1 AND (?2 IS NULL OR object_id = ?2) \
             ORDER BY started_ms, object_id LIMIT ?3",
        )?;
        let object_id = self.object_id.map(|id| id.to_string());
        let rows =
            statement.query_map(params![self.tier, object_id, self.limit as i64], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, i64>(3)?,
                ))
            })?;
        let mut uploads = Vec::new();
        for row in rows {
            let (object_id, attempt, upload_id, part_bytes) = row?;
            // Written by `RecordTierUpload` from a `FileId`; a row that is not one names no
            // upload of ours and is skipped.
            let Some(object_id) = FileId::parse(&object_id) else {
                continue;
            };
            uploads.push(TierUpload {
                remote: RemoteObject {
                    tier: self.tier.clone(),
                    object_id,
                },
                attempt,
                upload_id,
                part_bytes: part_bytes as u64,
            });
        }
        Ok(uploads)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}

/// The parts the store has of `upload`, by index.
#[derive(Debug)]
pub struct ListTierParts {
    /// The upload.
    pub upload: TierUpload,
}

impl MetaCommand for ListTierParts {
    type Reply = Vec<SentPart>;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<Self::Reply, MetaError> {
        let mut statement = transaction.prepare_cached(
            "SELECT part_index, content_id FROM tier_upload_parts \
             WHERE tier = ?1 AND object_id = ?2 AND attempt = ?3 ORDER BY part_index",
        )?;
        let rows = statement.query_map(
            params![
                self.upload.remote.tier,
                self.upload.remote.object_id.to_string(),
                self.upload.attempt
            ],
            |row| {
                Ok(SentPart {
                    index: row.get::<_, i64>(0)? as usize,
                    content_id: row.get(1)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::MetaStore;

    fn upload(tier: &str, id: u128, upload_id: &str) -> TierUpload {
        TierUpload {
            remote: RemoteObject {
                tier: tier.to_string(),
                object_id: FileId(id),
            },
            attempt: format!("attempt-{upload_id}"),
            upload_id: upload_id.to_string(),
            part_bytes: 8 << 20,
        }
    }

    fn list(store: &mut MetaStore, object_id: Option<u128>) -> Vec<TierUpload> {
        store
            .apply(&ListTierUploads {
                tier: "COLD".into(),
                object_id: object_id.map(FileId),
                limit: 10,
            })
            .unwrap()
    }

    // Goal: an upload recorded is listed for its tier (and object) only, with the parts recorded
    // for it; forgetting it drops both.
    #[test]
    fn records_lists_and_forgets_uploads_and_their_parts() {
        let directory = tempfile::tempdir().unwrap();
        let mut store = MetaStore::open(&directory.path().join("meta.sqlite")).unwrap();
        for item in [
            upload("COLD", 1, "a"),
            upload("COLD", 2, "b"),
            upload("WARM", 3, "c"),
        ] {
            store.apply(&RecordTierUpload { upload: item }).unwrap();
        }
        assert_eq!(
            list(&mut store, None),
            vec![upload("COLD", 1, "a"), upload("COLD", 2, "b")]
        );
        assert_eq!(list(&mut store, Some(2)), vec![upload("COLD", 2, "b")]);
        let part = |index: usize, content_id: &str| SentPart {
            index,
            content_id: content_id.into(),
        };
        for (item, sent) in [
            (upload("COLD", 1, "a"), part(1, "e1")),
            (upload("COLD", 1, "a"), part(0, "e0")),
            (upload("COLD", 2, "b"), part(0, "f0")),
        ] {
            store
                .apply(&RecordTierPart {
                    upload: item,
                    part: sent,
                })
                .unwrap();
        }
        let parts = |store: &mut MetaStore, item: TierUpload| {
            store.apply(&ListTierParts { upload: item }).unwrap()
        };
        assert_eq!(
            parts(&mut store, upload("COLD", 1, "a")),
            vec![part(0, "e0"), part(1, "e1")]
        );
        store
            .apply(&ForgetTierUpload {
                upload: upload("COLD", 1, "a"),
            })
            .unwrap();
        assert_eq!(list(&mut store, None), vec![upload("COLD", 2, "b")]);
        assert!(parts(&mut store, upload("COLD", 1, "a")).is_empty());
        assert_eq!(
            parts(&mut store, upload("COLD", 2, "b")),
            vec![part(0, "f0")]
        );
    }
}
