//! The SQLite side of `MetaOp`: each op as SQL, and a batch applied in one transaction.

use std::collections::HashSet;
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::objects::{files_of, get_files, get_object, insert_object};
use super::schema::{self, SchemaError};
use super::{BucketRecord, MetaError, MetaOp, MetaReply, PutCondition};
use crate::limits::BUCKET_COUNT_MAX;
use crate::storage::FileId;

/// The metadata database, owned by the metadata thread.
pub struct MetaStore {
    connection: Connection,
}

impl MetaStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, SchemaError> {
        let mut connection = Connection::open(path)?;
        // The users table holds secrets in clear (SigV4 needs them): owner-only, like a key file.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        schema::prepare(&mut connection)?;
        Ok(MetaStore { connection })
    }

    /// The connection (for the user table, which `ringstore user` edits outside the thread).
    pub(crate) fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Every file id any row references (for startup recovery).
    pub fn referenced_file_ids(&self) -> Result<HashSet<FileId>, MetaError> {
        let mut ids = HashSet::new();
        let mut statement = self
            .connection
            .prepare("SELECT file_id, parts FROM objects")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            ids.extend(files_of(row.get(0)?, row.get(1)?));
        }
        let mut statement = self.connection.prepare("SELECT file_id FROM parts")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let text: String = row.get(0)?;
            ids.extend(FileId::parse(&text));
        }
        Ok(ids)
    }

    /// Marks files that rows reference but the disk lacks (found by startup recovery), so an
    /// operator can find the damaged objects: `SELECT bucket, key FROM objects JOIN missing_files …`.
    pub fn mark_missing_files(&mut self, ids: &[FileId], found_ms: i64) -> Result<(), MetaError> {
        let transaction = self.connection.transaction()?;
        for id in ids {
            transaction
                .prepare_cached(
                    "INSERT OR REPLACE INTO missing_files (file_id, found_ms) VALUES (?1, ?2)",
                )?
                .execute(params![id.to_string(), found_ms])?;
        }
        transaction.commit()?;
        Ok(())
    }

    /// Applies `ops` in one transaction (group commit). Replies are only valid once it committed:
    /// if the commit fails, every op gets the error.
    pub fn apply_batch(&mut self, ops: &[&MetaOp]) -> Vec<Result<MetaReply, MetaError>> {
        let transaction = match self.connection.transaction() {
            Ok(transaction) => transaction,
            Err(error) => {
                return ops
                    .iter()
                    .map(|_| Err(MetaError::Sqlite(error.to_string())))
                    .collect()
            }
        };
        let mut replies: Vec<Result<MetaReply, MetaError>> =
            ops.iter().map(|op| apply(&transaction, op)).collect();
        if let Err(error) = transaction.commit() {
            tracing::error!(error = %error, "metadata commit failed");
            for reply in &mut replies {
                *reply = Err(MetaError::Sqlite(error.to_string()));
            }
        }
        replies
    }
}

fn apply(transaction: &Transaction<'_>, op: &MetaOp) -> Result<MetaReply, MetaError> {
    match op {
        MetaOp::CreateBucket(record) => {
            if let Some(existing) = get_bucket(transaction, &record.name)? {
                if existing.owner == record.owner {
                    return Ok(MetaReply::BucketCreated(false));
                }
                return Err(MetaError::BucketExists {
                    owner: existing.owner,
                });
            }
            let count: i64 = transaction
                .prepare_cached("SELECT count(*) FROM buckets")?
                .query_row([], |row| row.get(0))?;
            if count as usize >= BUCKET_COUNT_MAX {
                return Err(MetaError::TooManyBuckets);
            }
            transaction
                .prepare_cached(
                    "INSERT INTO buckets (name, owner, region, created_ms, acl) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    record.name,
                    record.owner,
                    record.region,
                    record.created_ms,
                    record.acl
                ])?;
            Ok(MetaReply::BucketCreated(true))
        }
        MetaOp::DeleteBucket { name } => {
            if get_bucket(transaction, name)?.is_none() {
                return Err(MetaError::NoSuchBucket);
            }
            let has_objects = transaction
                .prepare_cached("SELECT 1 FROM objects WHERE bucket = ?1 LIMIT 1")?
                .query_row([name], |_| Ok(()))
                .optional()?
                .is_some();
            if has_objects {
                return Err(MetaError::BucketNotEmpty);
            }
            // S3 lets a bucket with only unfinished multipart uploads be deleted; they go with it.
            let files = super::multipart::drop_bucket_uploads(transaction, name)?;
            transaction
                .prepare_cached("DELETE FROM buckets WHERE name = ?1")?
                .execute([name])?;
            Ok(MetaReply::BucketDeleted(files))
        }
        MetaOp::GetBucket { name } => Ok(MetaReply::Bucket(get_bucket(transaction, name)?)),
        MetaOp::ListBuckets => {
            let mut statement = transaction.prepare_cached(
                "SELECT name, owner, region, created_ms, acl FROM buckets ORDER BY name",
            )?;
            let buckets = statement
                .query_map([], bucket_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(MetaReply::Buckets(buckets))
        }
        MetaOp::PutObject(record, condition) => {
            if get_bucket(transaction, &record.bucket)?.is_none() {
                return Err(MetaError::NoSuchBucket);
            }
            let current: Option<(Vec<FileId>, String)> = transaction
                .prepare_cached(
                    "SELECT file_id, parts, etag FROM objects WHERE bucket = ?1 AND key = ?2",
                )?
                .query_row(params![record.bucket, record.key], |row| {
                    Ok((files_of(row.get(0)?, row.get(1)?), row.get(2)?))
                })
                .optional()?;
            check_put_condition(condition, current.as_ref().map(|(_, etag)| etag.as_str()))?;
            let replaced = current.map(|(files, _)| files).unwrap_or_default();
            insert_object(transaction, record)?;
            Ok(MetaReply::ObjectPut(replaced))
        }
        MetaOp::GetObject {
            bucket,
            key,
            with_bytes,
        } => {
            let object = get_object(transaction, bucket, key, *with_bytes)?;
            if object.is_none() && get_bucket(transaction, bucket)?.is_none() {
                return Err(MetaError::NoSuchBucket);
            }
            Ok(MetaReply::Object(object))
        }
        MetaOp::ListObjects(query) => {
            if get_bucket(transaction, &query.bucket)?.is_none() {
                return Err(MetaError::NoSuchBucket);
            }
            Ok(MetaReply::Listing(super::listing::list(
                transaction,
                query,
            )?))
        }
        MetaOp::DeleteBatch { bucket, keys } => delete_batch(transaction, bucket, keys),
        MetaOp::DeleteObject { bucket, key } => {
            let Some(removed) = get_files(transaction, bucket, key)? else {
                if get_bucket(transaction, bucket)?.is_none() {
                    return Err(MetaError::NoSuchBucket);
                }
                return Ok(MetaReply::ObjectDeleted(Vec::new()));
            };
            transaction
                .prepare_cached("DELETE FROM objects WHERE bucket = ?1 AND key = ?2")?
                .execute(params![bucket, key])?;
            Ok(MetaReply::ObjectDeleted(removed))
        }
        MetaOp::CreateUpload(upload) => super::multipart::create_upload(transaction, upload),
        MetaOp::GetUpload { upload_id } => super::multipart::get_upload(transaction, upload_id),
        MetaOp::PutPart(part) => super::multipart::put_part(transaction, part),
        MetaOp::CompleteUpload(completion) => {
            super::multipart::complete_upload(transaction, completion)
        }
        MetaOp::AbortUpload { upload_id } => super::multipart::abort_upload(transaction, upload_id),
        MetaOp::ListParts(query) => super::multipart::list_parts(transaction, query),
        MetaOp::ListUploads(query) => super::multipart::list_uploads(transaction, query),
        MetaOp::ReapUploads { created_before_ms } => {
            super::multipart::reap_uploads(transaction, *created_before_ms)
        }
        MetaOp::PutBucketAcl { name, acl } => {
            let updated = transaction
                .prepare_cached("UPDATE buckets SET acl = ?2 WHERE name = ?1")?
                .execute(params![name, acl])?;
            if updated == 0 {
                return Err(MetaError::NoSuchBucket);
            }
            Ok(MetaReply::AclSet)
        }
        MetaOp::PutObjectAcl { bucket, key, acl } => {
            let updated = transaction
                .prepare_cached("UPDATE objects SET acl = ?3 WHERE bucket = ?1 AND key = ?2")?
                .execute(params![bucket, key, acl])?;
            if updated == 0 {
                if get_bucket(transaction, bucket)?.is_none() {
                    return Err(MetaError::NoSuchBucket);
                }
                return Err(MetaError::NoSuchKey);
            }
            Ok(MetaReply::AclSet)
        }
        MetaOp::GetUser(lookup) => Ok(MetaReply::User(super::users::get_user(
            transaction,
            lookup,
        )?)),
    }
}

/// Whether a conditional write may replace the row whose ETag is `current` (`None`: no row):
/// PreconditionFailed, or NoSuchKey for an If-Match on a missing key, as S3 answers.
pub(crate) fn check_put_condition(
    condition: &PutCondition,
    current: Option<&str>,
) -> Result<(), MetaError> {
    let holds = match (condition, current) {
        (PutCondition::None, _) => true,
        (PutCondition::IfAbsent, current) => current.is_none(),
        (PutCondition::IfNoneMatch(etag), current) => current != Some(etag.as_str()),
        (PutCondition::IfExists | PutCondition::IfMatch(_), None) => {
            return Err(MetaError::NoSuchKey)
        }
        (PutCondition::IfExists, Some(_)) => true,
        (PutCondition::IfMatch(etag), Some(current)) => etag == current,
    };
    if holds {
        Ok(())
    } else {
        Err(MetaError::PreconditionFailed)
    }
}

fn delete_batch(
    transaction: &Transaction<'_>,
    bucket: &str,
    keys: &[String],
) -> Result<MetaReply, MetaError> {
    if get_bucket(transaction, bucket)?.is_none() {
        return Err(MetaError::NoSuchBucket);
    }
    if keys.is_empty() {
        return Ok(MetaReply::BatchDeleted(Vec::new()));
    }
    // One IN (...) list for the whole batch (at most 1000 keys, far below SQLite's variable limit).
    let placeholders = vec!["?"; keys.len()].join(",");
    let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(keys.len() + 1);
    values.push(&bucket);
    for key in keys {
        values.push(key);
    }
    let mut select = transaction.prepare(&format!(
        "SELECT file_id, parts FROM objects WHERE bucket = ? AND key IN ({placeholders})"
    ))?;
    let files = select
        .query_map(values.as_slice(), |row| {
            Ok(files_of(row.get(0)?, row.get(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    transaction
        .prepare(&format!(
            "DELETE FROM objects WHERE bucket = ? AND key IN ({placeholders})"
        ))?
        .execute(values.as_slice())?;
    Ok(MetaReply::BatchDeleted(files))
}

fn bucket_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<BucketRecord> {
    Ok(BucketRecord {
        name: row.get(0)?,
        owner: row.get(1)?,
        region: row.get(2)?,
        created_ms: row.get(3)?,
        acl: row.get(4)?,
    })
}

fn get_bucket(transaction: &Transaction<'_>, name: &str) -> rusqlite::Result<Option<BucketRecord>> {
    transaction
        .prepare_cached("SELECT name, owner, region, created_ms, acl FROM buckets WHERE name = ?1")?
        .query_row([name], bucket_from_row)
        .optional()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::meta::{ObjectBody, ObjectRecord};
    use crate::storage::InlineBytes;

    fn object(key: &str, id: u128) -> ObjectRecord {
        ObjectRecord {
            bucket: "b".into(),
            key: key.into(),
            body: ObjectBody::File(FileId(id)),
            size_bytes: 3,
            etag: "e".into(),
            last_modified_ms: 1,
            content_type: Some("text/plain".into()),
            headers: vec![("x-amz-meta-a".into(), "1: two".into())],
            checksum: None,
            owner: "o".into(),
            acl: None,
        }
    }

    fn inline_object(key: &str, bytes: &[u8]) -> ObjectRecord {
        ObjectRecord {
            body: ObjectBody::Inline(InlineBytes::new(bytes.to_vec())),
            size_bytes: bytes.len() as u64,
            ..object(key, 0)
        }
    }

    fn inline_rows(store: &MetaStore) -> i64 {
        store
            .connection
            .query_row(
                "SELECT count(*) FROM objects WHERE bytes IS NOT NULL",
                [],
                |row| row.get(0),
            )
            .unwrap()
    }

    // Goal: a delimiter listing re-runs its statement once per common prefix, each time with a
    // new start and a smaller LIMIT; SQLite must run the prepared statement as is rather than
    // re-prepare it for each new value (it did, which made small delimiter pages 5x slower).
    #[test]
    fn listing_statements_are_never_reprepared() {
        let keys: Vec<String> = (0..50).map(|index| format!("p{index:02}/k")).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let mut store = store_with_keys(&keys);
        let listing = store.list_for_test(&super::super::ListQuery {
            bucket: "b".into(),
            prefix: String::new(),
            delimiter: Some("/".into()),
            after: None,
            max_keys: 1000,
        });
        assert_eq!(listing.common_prefixes.len(), 50);
        let statement = store
            .connection
            .prepare_cached(super::super::listing::PAGE_FROM_SQL)
            .unwrap();
        assert!(statement.get_status(rusqlite::StatementStatus::Run) >= 50);
        assert_eq!(
            statement.get_status(rusqlite::StatementStatus::RePrepare),
            0
        );
    }

    /// A store with bucket "b" holding `keys` (test helper for listing tests).
    pub(crate) fn store_with_keys(keys: &[&str]) -> MetaStore {
        let dir = tempfile::tempdir().unwrap();
        let mut store = MetaStore::open(&dir.path().join("m.sqlite")).unwrap();
        std::mem::forget(dir);
        let bucket = MetaOp::CreateBucket(BucketRecord {
            name: "b".into(),
            owner: "o".into(),
            region: "r".into(),
            created_ms: 0,
            acl: None,
        });
        let mut ops = vec![bucket];
        for (index, key) in keys.iter().enumerate() {
            ops.push(MetaOp::PutObject(
                object(key, index as u128 + 1),
                PutCondition::None,
            ));
        }
        let refs: Vec<&MetaOp> = ops.iter().collect();
        for reply in store.apply_batch(&refs) {
            reply.unwrap();
        }
        store
    }

    impl MetaStore {
        pub(crate) fn list_for_test(
            &mut self,
            query: &super::super::ListQuery,
        ) -> super::super::Listing {
            let op = MetaOp::ListObjects(query.clone());
            match store_reply(self.apply_batch(&[&op])) {
                MetaReply::Listing(listing) => listing,
                other => panic!("{other:?}"),
            }
        }
    }

    fn store_reply(mut replies: Vec<Result<MetaReply, MetaError>>) -> MetaReply {
        replies.remove(0).unwrap()
    }

    #[test]
    fn conditional_puts_and_batch_delete() {
        // Goal: If-None-Match / If-Match are decided inside the transaction; a batch delete
        // returns the files of the rows it removed.
        let mut store = store_with_keys(&["x", "y"]);
        let absent = MetaOp::PutObject(object("x", 10), PutCondition::IfAbsent);
        assert!(matches!(
            store.apply_batch(&[&absent])[0],
            Err(MetaError::PreconditionFailed)
        ));
        let fresh = MetaOp::PutObject(object("new", 11), PutCondition::IfAbsent);
        assert!(matches!(
            store.apply_batch(&[&fresh])[0],
            Ok(MetaReply::ObjectPut(ref files)) if files.is_empty()
        ));
        let wrong = MetaOp::PutObject(object("x", 12), PutCondition::IfMatch("other".into()));
        assert!(matches!(
            store.apply_batch(&[&wrong])[0],
            Err(MetaError::PreconditionFailed)
        ));
        let right = MetaOp::PutObject(object("x", 13), PutCondition::IfMatch("e".into()));
        assert!(matches!(
            store.apply_batch(&[&right])[0],
            Ok(MetaReply::ObjectPut(ref files)) if files == &vec![FileId(1)]
        ));
        let batch = MetaOp::DeleteBatch {
            bucket: "b".into(),
            keys: vec!["x".into(), "y".into(), "missing".into()],
        };
        let Ok(MetaReply::BatchDeleted(mut files)) = store.apply_batch(&[&batch]).remove(0) else {
            panic!()
        };
        files.sort_by_key(|id| id.0);
        assert_eq!(files, vec![FileId(2), FileId(13)]);
    }

    #[test]
    fn batch_put_replace_get_delete() {
        // Goal: one batch creates a bucket and puts; a replace returns the old file; delete returns it.
        let dir = tempfile::tempdir().unwrap();
        let mut store = MetaStore::open(&dir.path().join("m.sqlite")).unwrap();
        let bucket = MetaOp::CreateBucket(BucketRecord {
            name: "b".into(),
            owner: "o".into(),
            region: "us-east-1".into(),
            created_ms: 0,
            acl: None,
        });
        let put = MetaOp::PutObject(object("k", 1), PutCondition::None);
        let replies = store.apply_batch(&[&bucket, &put]);
        assert!(matches!(replies[0], Ok(MetaReply::BucketCreated(true))));
        assert!(matches!(replies[1], Ok(MetaReply::ObjectPut(ref files)) if files.is_empty()));
        let replace = MetaOp::PutObject(object("k", 2), PutCondition::None);
        let replies = store.apply_batch(&[&replace]);
        assert!(matches!(
            replies[0],
            Ok(MetaReply::ObjectPut(ref files)) if files == &vec![FileId(1)]
        ));
        let get = MetaOp::GetObject {
            bucket: "b".into(),
            key: "k".into(),
            with_bytes: true,
        };
        let replies = store.apply_batch(&[&get]);
        let Ok(MetaReply::Object(Some(found))) = &replies[0] else {
            panic!("{replies:?}")
        };
        assert_eq!(found, &object("k", 2));
        let not_empty = MetaOp::DeleteBucket { name: "b".into() };
        assert!(matches!(
            store.apply_batch(&[&not_empty])[0],
            Err(MetaError::BucketNotEmpty)
        ));
        let delete = MetaOp::DeleteObject {
            bucket: "b".into(),
            key: "k".into(),
        };
        assert!(matches!(
            store.apply_batch(&[&delete])[0],
            Ok(MetaReply::ObjectDeleted(ref files)) if files == &vec![FileId(2)]
        ));
        assert!(matches!(
            store.apply_batch(&[&delete])[0],
            Ok(MetaReply::ObjectDeleted(ref files)) if files.is_empty()
        ));
        assert!(matches!(
            store.apply_batch(&[&not_empty])[0],
            Ok(MetaReply::BucketDeleted(_))
        ));
    }

    #[test]
    fn inline_bytes_follow_their_row() {
        // Goal: inline bytes are read back with the row and freed by every way a row goes away
        // (replace by inline or file, delete, batch delete), so the table never holds orphans.
        let mut store = store_with_keys(&[]);
        let put = |key: &str, bytes: &[u8]| {
            MetaOp::PutObject(inline_object(key, bytes), PutCondition::None)
        };
        let replies = store.apply_batch(&[&put("a", b"one"), &put("b", b"two"), &put("c", b"")]);
        assert!(replies
            .iter()
            .all(|reply| matches!(reply, Ok(MetaReply::ObjectPut(files)) if files.is_empty())));
        assert_eq!(inline_rows(&store), 3);
        let get = MetaOp::GetObject {
            bucket: "b".into(),
            key: "a".into(),
            with_bytes: true,
        };
        let Ok(MetaReply::Object(Some(found))) = store.apply_batch(&[&get]).remove(0) else {
            panic!()
        };
        assert_eq!(found, inline_object("a", b"one"));
        let metadata_only = MetaOp::GetObject {
            bucket: "b".into(),
            key: "a".into(),
            with_bytes: false,
        };
        let Ok(MetaReply::Object(Some(unread))) = store.apply_batch(&[&metadata_only]).remove(0)
        else {
            panic!()
        };
        assert_eq!(unread.body, ObjectBody::InlineUnread);
        assert_eq!(unread.size_bytes, 3);
        store.apply_batch(&[&put("a", b"uno")])[0].as_ref().unwrap();
        assert_eq!(inline_rows(&store), 3, "replaced bytes freed");
        let to_file = MetaOp::PutObject(object("a", 7), PutCondition::None);
        store.apply_batch(&[&to_file])[0].as_ref().unwrap();
        assert_eq!(inline_rows(&store), 2);
        let delete = MetaOp::DeleteObject {
            bucket: "b".into(),
            key: "b".into(),
        };
        assert!(matches!(
            store.apply_batch(&[&delete])[0],
            Ok(MetaReply::ObjectDeleted(ref files)) if files.is_empty()
        ));
        let get_deleted = MetaOp::GetObject {
            bucket: "b".into(),
            key: "b".into(),
            with_bytes: true,
        };
        assert!(matches!(
            store.apply_batch(&[&get_deleted])[0],
            Ok(MetaReply::Object(None))
        ));
        assert_eq!(inline_rows(&store), 1);
        let batch = MetaOp::DeleteBatch {
            bucket: "b".into(),
            keys: vec!["a".into(), "c".into()],
        };
        let Ok(MetaReply::BatchDeleted(files)) = store.apply_batch(&[&batch]).remove(0) else {
            panic!()
        };
        assert_eq!(files, vec![FileId(7)]);
        assert_eq!(inline_rows(&store), 0);
    }

    #[test]
    fn reopen_skips_ddl() {
        // Goal: a second open of a current-version database succeeds and keeps its data.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.sqlite");
        {
            let mut store = MetaStore::open(&path).unwrap();
            let bucket = MetaOp::CreateBucket(BucketRecord {
                name: "b".into(),
                owner: "o".into(),
                region: "r".into(),
                created_ms: 0,
                acl: None,
            });
            store.apply_batch(&[&bucket]);
        }
        let mut store = MetaStore::open(&path).unwrap();
        let list = MetaOp::ListBuckets;
        let Ok(MetaReply::Buckets(buckets)) = &store.apply_batch(&[&list])[0] else {
            panic!()
        };
        assert_eq!(buckets.len(), 1);
    }
}
