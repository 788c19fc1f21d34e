//! The multipart reaper's step: forgets completed upload ids and drops unfinished uploads older
//! than `--multipart-max-age`, oldest first, a bounded number of rows per command (the writer
//! runs one command at a time, and every write queued behind a step waits for it).

use rusqlite::{params, Transaction};

use super::command::{Changes, MetaCommand};
use super::multipart::drop_upload;
use super::MetaError;
use crate::limits::REAP_ROWS_PER_COMMAND;
use crate::object_bytes::FileId;

/// What one ReapUploads step dropped.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReapedUploads {
    /// The dropped uploads' part files, to delete after the commit.
    pub files: Vec<FileId>,
    /// Unfinished uploads dropped.
    pub uploads_dropped: usize,
    /// Completed upload ids forgotten (a repeated CompleteMultipartUpload of one is NoSuchUpload).
    pub completions_forgotten: usize,
    /// Expired rows may remain: the step stopped at `REAP_ROWS_PER_COMMAND`.
    pub more: bool,
}

/// The oldest completed upload ids before a time (`?1`), at most `?2`, forgotten.
const FORGET_COMPLETED_UPLOADS_SQL: &str = "DELETE FROM completed_uploads WHERE upload_id IN \
     (SELECT upload_id FROM completed_uploads WHERE completed_ms < ?1 ORDER BY completed_ms LIMIT ?2)";

/// The oldest unfinished uploads started before a time (`?1`), at most `?2`.
const EXPIRED_UPLOADS_SQL: &str =
    "SELECT upload_id FROM uploads WHERE created_ms < ?1 ORDER BY created_ms LIMIT ?2";

/// ReapUploads: forgets completed upload ids and drops unfinished uploads older than the
/// cut-off, oldest first, at most `REAP_ROWS_PER_COMMAND` rows a step (past that, only the
/// parts of the upload being dropped). Both searches are index ranges (schema version 15): the
/// expired rows are found without reading the others.
fn reap_uploads(
    transaction: &Transaction<'_>,
    created_before_ms: i64,
) -> Result<ReapedUploads, MetaError> {
    // Completed upload ids are remembered as long as an unfinished upload would live.
    let forgotten = transaction
        .prepare_cached(FORGET_COMPLETED_UPLOADS_SQL)?
        .execute(params![created_before_ms, REAP_ROWS_PER_COMMAND as i64])?;
    let budget = REAP_ROWS_PER_COMMAND - forgotten;
    let mut reaped = ReapedUploads {
        completions_forgotten: forgotten,
        more: budget == 0,
        ..ReapedUploads::default()
    };
    if budget == 0 {
        return Ok(reaped);
    }
    let ids: Vec<String> = transaction
        .prepare_cached(EXPIRED_UPLOADS_SQL)?
        .query_map(params![created_before_ms, budget as i64], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    reaped.more = ids.len() == budget;
    let mut rows = 0;
    for id in ids {
        if rows >= budget {
            reaped.more = true;
            break;
        }
        let files = drop_upload(transaction, &id)?;
        rows += 1 + files.len();
        reaped.uploads_dropped += 1;
        reaped.files.extend(files);
    }
    Ok(reaped)
}

/// One step of dropping uploads started (and forgetting uploads completed) before a time
/// (milliseconds since the Unix epoch): the files to delete, and whether to step again.
#[derive(Debug)]
pub struct ReapUploads {
    /// The cut-off, ms since the Unix epoch.
    pub created_before_ms: i64,
}

impl MetaCommand for ReapUploads {
    type Reply = ReapedUploads;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<ReapedUploads, MetaError> {
        reap_uploads(transaction, self.created_before_ms)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::multipart::tests::upload;
    use crate::meta::multipart::{CreateUpload, PartRecord, PutPart};
    use crate::meta::store::tests::{count, create_bucket};
    use crate::meta::MetaStore;

    // Goal: the reaper forgets old completions and drops expired uploads (with their parts'
    // files) oldest first, at most REAP_ROWS_PER_COMMAND rows a step, keeps what is young, and
    // finds the expired rows by index: with only young rows left a step reads next to nothing
    // (read whole, the 7,000 young rows were thousands of SQLite steps per reap).
    #[test]
    fn the_reaper_steps_through_expired_rows_by_their_index() {
        let directory = tempfile::tempdir().unwrap();
        let mut store = MetaStore::open(&directory.path().join("meta.sqlite")).unwrap();
        store.apply(&create_bucket("b")).unwrap();
        let old_completions = REAP_ROWS_PER_COMMAND + 476;
        store
            .connection()
            .execute_batch(&format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) \
             INSERT INTO completed_uploads (upload_id, bucket, key, etag, completed_ms) \
             SELECT 'young' || i, 'b', 'k', 'e', 1000000 FROM n; \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \
             {old_completions}) INSERT INTO completed_uploads (upload_id, bucket, key, etag, \
             completed_ms) SELECT 'old' || i, 'b', 'k', 'e', 5 FROM n;"
            ))
            .unwrap();
        let mut creates: Vec<CreateUpload> = (0..2_000)
            .map(|index| {
                let mut young = upload("y", &format!("young{index}"));
                young.upload.created_ms = 2_000_000;
                young
            })
            .collect();
        creates.extend((0..3).map(|index| upload("x", &format!("old{index}"))));
        for reply in store.apply_all(&creates) {
            reply.unwrap();
        }
        let mut parts = Vec::new();
        for (index, upload_id) in ["old0", "old1", "old2", "young0"].iter().enumerate() {
            for part_number in 1..=2 {
                let file_id = FileId((index * 2 + part_number) as u128);
                parts.push(file_id);
                store
                    .apply(&PutPart {
                        part: PartRecord {
                            upload_id: upload_id.to_string(),
                            part_number: part_number as u32,
                            file_id,
                            size_bytes: 1,
                            etag: "e".into(),
                            last_modified_ms: 1,
                            checksum: None,
                        },
                    })
                    .unwrap();
            }
        }
        let reap = |store: &mut MetaStore| {
            store
                .apply(&ReapUploads {
                    created_before_ms: 100,
                })
                .unwrap()
        };
        // The first step forgets as many completions as a step may delete; the second the rest,
        // and the expired uploads with their parts.
        assert_eq!(
            reap(&mut store),
            ReapedUploads {
                completions_forgotten: REAP_ROWS_PER_COMMAND,
                more: true,
                ..ReapedUploads::default()
            }
        );
        let mut second = reap(&mut store);
        second.files.sort_by_key(|file| file.0);
        assert_eq!(
            second,
            ReapedUploads {
                files: parts[..6].to_vec(),
                uploads_dropped: 3,
                completions_forgotten: 476,
                more: false
            }
        );
        assert_eq!(count(&store, "completed_uploads"), 5_000);
        assert_eq!(count(&store, "uploads"), 2_000);
        assert_eq!(count(&store, "parts"), 2);
        let before = store.vm_steps_for_test(FORGET_COMPLETED_UPLOADS_SQL)
            + store.vm_steps_for_test(EXPIRED_UPLOADS_SQL);
        assert_eq!(reap(&mut store), ReapedUploads::default());
        let steps = store.vm_steps_for_test(FORGET_COMPLETED_UPLOADS_SQL)
            + store.vm_steps_for_test(EXPIRED_UPLOADS_SQL)
            - before;
        assert!(steps < 200, "{steps} SQLite steps to find nothing expired");
    }
}
