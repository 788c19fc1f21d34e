//! The file ids the rows reference, read beside the running server for the startup scrub: in
//! short pages (so checkpoints keep resetting the WAL while a big database is read), and, for the
//! few candidates the pages single out, once more in one consistent snapshot.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, Transaction};

use super::command::{Changes, MetaCommand};
use super::object_rows::files_of;
use super::MetaError;
use crate::limits::{DATABASE_BUSY_WAIT_MS, SCRUB_PAGE_ROWS};
use crate::object_bytes::FileId;

/// A read-only connection of its own to the metadata database (WAL lets it read while the
/// metadata thread commits).
pub struct FileReferences {
    connection: Connection,
}

impl FileReferences {
    /// Opens the database at `path` read-only.
    pub fn open(path: &Path) -> Result<Self, MetaError> {
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(Duration::from_millis(DATABASE_BUSY_WAIT_MS))?;
        Ok(FileReferences { connection })
    }

    /// Calls `visit` with every file id a row references (objects, versions, parts of unfinished
    /// uploads), reading `SCRUB_PAGE_ROWS` rows per statement. Pages are separate reads: a row
    /// that moves between them (a current version becoming noncurrent) can be seen twice or
    /// missed, so what this finds must be confirmed with `referenced_among`. `before_page` runs
    /// before each statement (the scrub yields to requests there). Returns the rows read.
    pub fn for_each_page(
        &self,
        mut visit: impl FnMut(FileId),
        mut before_page: impl FnMut(),
    ) -> Result<u64, MetaError> {
        let mut rows = 0u64;
        // objects, by (bucket, key).
        let mut after = (String::new(), String::new());
        loop {
            before_page();
            let mut statement = self.connection.prepare_cached(
                "SELECT bucket, key, file_id, parts FROM objects WHERE (bucket, key) > (?1, ?2) \
                 ORDER BY bucket, key LIMIT ?3",
            )?;
            let mut query = statement.query(params![after.0, after.1, SCRUB_PAGE_ROWS])?;
            let mut read = 0;
            while let Some(row) = query.next()? {
                after = (row.get(0)?, row.get(1)?);
                files_of(row.get(2)?, row.get(3)?)
                    .into_iter()
                    .for_each(&mut visit);
                read += 1;
            }
            rows += read;
            if read < SCRUB_PAGE_ROWS {
                break;
            }
        }
        // versions, by (bucket, key, sequence DESC): the rest of the last key's versions first,
        // then the keys after it, so a key with more versions than a page still moves on.
        let mut after: Option<(String, String, i64)> = None;
        loop {
            let mut read = 0;
            if let Some((bucket, key, sequence)) = after.clone() {
                before_page();
                let mut statement = self.connection.prepare_cached(
                    "SELECT bucket, key, sequence, file_id, parts FROM versions \
                     WHERE bucket = ?1 AND key = ?2 AND sequence < ?3 \
                     ORDER BY bucket, key, sequence DESC LIMIT ?4",
                )?;
                let mut query = statement.query(params![bucket, key, sequence, SCRUB_PAGE_ROWS])?;
                while let Some(row) = query.next()? {
                    after = Some((row.get(0)?, row.get(1)?, row.get(2)?));
                    files_of(row.get(3)?, row.get(4)?)
                        .into_iter()
                        .for_each(&mut visit);
                    read += 1;
                }
            }
            rows += read;
            if read == SCRUB_PAGE_ROWS {
                continue;
            }
            let wanted = SCRUB_PAGE_ROWS - read;
            let (bucket, key) = after
                .as_ref()
                .map_or((String::new(), String::new()), |(bucket, key, _)| {
                    (bucket.clone(), key.clone())
                });
            before_page();
            let mut statement = self.connection.prepare_cached(
                "SELECT bucket, key, sequence, file_id, parts FROM versions \
                 WHERE (bucket, key) > (?1, ?2) ORDER BY bucket, key, sequence DESC LIMIT ?3",
            )?;
            let mut query = statement.query(params![bucket, key, wanted])?;
            let mut more = 0;
            while let Some(row) = query.next()? {
                after = Some((row.get(0)?, row.get(1)?, row.get(2)?));
                files_of(row.get(3)?, row.get(4)?)
                    .into_iter()
                    .for_each(&mut visit);
                more += 1;
            }
            rows += more;
            if more < wanted {
                break;
            }
        }
        // parts of unfinished uploads, by (upload_id, part_number).
        let mut after = (String::new(), -1i64);
        loop {
            before_page();
            let mut statement = self.connection.prepare_cached(
                "SELECT upload_id, part_number, file_id FROM parts \
                 WHERE (upload_id, part_number) > (?1, ?2) \
                 ORDER BY upload_id, part_number LIMIT ?3",
            )?;
            let mut query = statement.query(params![after.0, after.1, SCRUB_PAGE_ROWS])?;
            let mut read = 0;
            while let Some(row) = query.next()? {
                after = (row.get(0)?, row.get(1)?);
                let text: String = row.get(2)?;
                FileId::parse(&text).into_iter().for_each(&mut visit);
                read += 1;
            }
            rows += read;
            if read < SCRUB_PAGE_ROWS {
                break;
            }
        }
        Ok(rows)
    }

    /// Which of `candidates` some row references, read in one snapshot (one read transaction
    /// over every row, so no row can move out of sight between tables). Costs a full read of the
    /// referencing rows; meant for the few ids the pages singled out.
    pub fn referenced_among(
        &mut self,
        candidates: &HashSet<FileId>,
    ) -> Result<HashSet<FileId>, MetaError> {
        let mut found = HashSet::new();
        if candidates.is_empty() {
            return Ok(found);
        }
        let transaction = self.connection.transaction()?;
        {
            let mut statement = transaction.prepare(
                "SELECT file_id, parts FROM objects UNION ALL SELECT file_id, parts FROM versions",
            )?;
            let mut rows = statement.query([])?;
            while let Some(row) = rows.next()? {
                found.extend(
                    files_of(row.get(0)?, row.get(1)?)
                        .into_iter()
                        .filter(|id| candidates.contains(id)),
                );
            }
            let mut statement = transaction.prepare("SELECT file_id FROM parts")?;
            let mut rows = statement.query([])?;
            while let Some(row) = rows.next()? {
                let text: String = row.get(0)?;
                found.extend(FileId::parse(&text).filter(|id| candidates.contains(id)));
            }
        }
        transaction.commit()?;
        Ok(found)
    }
}

/// Marks files that rows reference but the disk lacks (found by the startup scrub), so an
/// operator can find the damaged objects: `SELECT bucket, key FROM objects JOIN missing_files …`.
#[derive(Debug)]
pub struct MarkMissingFiles {
    /// The missing files.
    pub file_ids: Vec<FileId>,
    /// When they were found, ms since the Unix epoch.
    pub found_ms: i64,
}

impl MetaCommand for MarkMissingFiles {
    type Reply = ();

    fn apply(&self, transaction: &Transaction<'_>) -> Result<(), MetaError> {
        for id in &self.file_ids {
            transaction
                .prepare_cached(
                    "INSERT OR REPLACE INTO missing_files (file_id, found_ms) VALUES (?1, ?2)",
                )?
                .execute(params![id.to_string(), self.found_ms])?;
        }
        Ok(())
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::MetaStore;

    /// A database with `objects` current rows (one of them a two-part object), a key with more
    /// versions than a page plus a few small keys, and parts of an unfinished upload; every id.
    fn database(path: &Path, objects: usize) -> Vec<FileId> {
        drop(MetaStore::open(path).unwrap());
        let mut connection = Connection::open(path).unwrap();
        let transaction = connection.transaction().unwrap();
        let mut ids = Vec::new();
        let mut next = 0u128;
        let mut fresh = || {
            next += 1;
            FileId((next % 256) << 120 | next)
        };
        for index in 0..objects {
            let id = fresh();
            ids.push(id);
            transaction
                .execute(
                    "INSERT INTO objects (bucket, key, file_id, size, etag, last_modified_ms, \
                     headers, owner) VALUES ('b', ?1, ?2, 1, 'e', 0, '', 'o')",
                    params![format!("k{index:06}"), id.to_string()],
                )
                .unwrap();
        }
        let (first, second) = (fresh(), fresh());
        ids.extend([first, second]);
        transaction
            .execute(
                "INSERT INTO objects (bucket, key, file_id, size, etag, last_modified_ms, headers, \
                 owner, parts) VALUES ('c', 'multipart', '', 2, 'e', 0, '', 'o', ?1)",
                params![format!("{first}:1,{second}:1")],
            )
            .unwrap();
        let versions = [
            ("many", 2 * SCRUB_PAGE_ROWS as usize + 2_000),
            ("a", 3),
            ("z", 5),
        ];
        for (key, count) in versions {
            for sequence in 0..count {
                let id = fresh();
                ids.push(id);
                transaction
                    .execute(
                        "INSERT INTO versions (bucket, key, sequence, delete_marker, file_id, \
                         size, etag, last_modified_ms, headers, owner) \
                         VALUES ('v', ?1, ?2, 0, ?3, 1, 'e', 0, '', 'o')",
                        params![key, sequence as i64, id.to_string()],
                    )
                    .unwrap();
            }
        }
        // A delete marker and an inline version reference no file.
        transaction
            .execute(
                "INSERT INTO versions (bucket, key, sequence, delete_marker, file_id, size, etag, \
                 last_modified_ms, headers, owner) VALUES ('v', 'a', 99, 1, '', 0, '', 0, '', 'o')",
                [],
            )
            .unwrap();
        for part_number in 1..=15 {
            let id = fresh();
            ids.push(id);
            transaction
                .execute(
                    "INSERT INTO parts (upload_id, part_number, file_id, size, etag, \
                     last_modified_ms) VALUES ('u', ?1, ?2, 1, 'e', 0)",
                    params![part_number, id.to_string()],
                )
                .unwrap();
        }
        transaction.commit().unwrap();
        ids
    }

    #[test]
    fn pages_visit_every_referenced_file_once() {
        // Goal: paging over objects, versions (a key with more versions than a page, then the keys
        // after it) and parts sees every file id exactly once and counts every row.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.sqlite");
        let objects = 2 * SCRUB_PAGE_ROWS as usize + 500;
        let mut expected = database(&path, objects);
        let references = FileReferences::open(&path).unwrap();
        let mut seen = Vec::new();
        let mut pages = 0;
        let rows = references
            .for_each_page(|id| seen.push(id), || pages += 1)
            .unwrap();
        let version_rows = 2 * SCRUB_PAGE_ROWS as usize + 2_000 + 3 + 5 + 1;
        assert_eq!(rows as usize, objects + 1 + version_rows + 15);
        let key = |id: &FileId| id.0;
        seen.sort_by_key(key);
        expected.sort_by_key(key);
        assert_eq!(seen.len(), expected.len());
        assert!(seen == expected, "a file id was missed or seen twice");
        assert!(
            pages as u64 >= rows / SCRUB_PAGE_ROWS,
            "{pages} pages for {rows} rows"
        );
    }

    #[test]
    fn a_snapshot_names_the_referenced_candidates() {
        // Goal: of a set of candidates, exactly those some row references come back.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.sqlite");
        let ids = database(&path, 10);
        let stranger = FileId(u128::MAX);
        let candidates: HashSet<FileId> = [ids[0], ids[11], ids[ids.len() - 1], stranger]
            .into_iter()
            .collect();
        let mut references = FileReferences::open(&path).unwrap();
        let found = references.referenced_among(&candidates).unwrap();
        let expected: HashSet<FileId> = [ids[0], ids[11], ids[ids.len() - 1]].into_iter().collect();
        assert_eq!(found, expected);
    }
}
