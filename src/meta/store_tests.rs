//! Unit tests of the metadata store against a real SQLite database: group commit, conditional
//! writes and deletes, listings, inline bytes, and commands that fail part-way; with the helpers
//! other modules' tests share (stores, records, counts).

use super::*;
use crate::meta::command::Pending;
use crate::meta::{
    BucketRecord, CreateBucket, DeleteBatch, DeleteBucket, DeleteCondition, DeleteObject,
    GetObject, ListBuckets, ListObjects, ObjectBody, ObjectRecord, PutCondition, PutObject,
};
use crate::object_bytes::FileId;
use crate::object_bytes::InlineBytes;

pub(crate) fn object(key: &str, id: u128) -> ObjectRecord {
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
        version_id: None,
        lock: Default::default(),
        tags: None,
    }
}

pub(crate) fn inline_object(key: &str, bytes: &[u8]) -> ObjectRecord {
    ObjectRecord {
        body: ObjectBody::Inline(InlineBytes::new(bytes.to_vec())),
        size_bytes: bytes.len() as u64,
        ..object(key, 0)
    }
}

/// Rows of inline bytes, after checking that each is named by exactly one object row.
fn inline_rows(store: &MetaStore) -> i64 {
    let (stored, named, names): (i64, i64, i64) = store
        .connection
        .query_row(
            "SELECT (SELECT count(*) FROM version_bytes), \
             (SELECT count(DISTINCT bytes_id) FROM objects WHERE bytes_id IN \
              (SELECT id FROM version_bytes)), \
             (SELECT count(bytes_id) FROM objects)",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    assert_eq!(stored, named, "inline bytes no row names");
    assert_eq!(
        names, named,
        "rows naming bytes that are gone, or one's bytes twice"
    );
    stored
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

/// Rows in `table`.
pub(crate) fn count(store: &MetaStore, table: &str) -> i64 {
    store
        .connection()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
            row.get(0)
        })
        .unwrap()
}

/// ListObjectVersions of every version of `bucket` (up to 1,000).
pub(crate) fn every_version(bucket: &str) -> crate::meta::version_listing::ListObjectVersions {
    use crate::meta::version_listing::{ListObjectVersions, VersionsQuery};
    ListObjectVersions(VersionsQuery {
        bucket: bucket.into(),
        prefix: String::new(),
        delimiter: None,
        key_marker: None,
        version_id_marker: None,
        max_keys: 1000,
    })
}

/// A store at `path` with bucket "b", versioning Enabled.
pub(crate) fn versioned_store(path: &Path) -> MetaStore {
    let mut store = MetaStore::open(path).unwrap();
    store.apply(&create_bucket("b")).unwrap();
    store
        .apply(&crate::meta::versions::PutBucketVersioning {
            bucket: "b".into(),
            status: crate::meta::versions::VersioningStatus::Enabled,
        })
        .unwrap();
    store
}

/// A store with bucket "b" holding `keys` (test helper for listing tests).
pub(crate) fn store_with_keys(keys: &[&str]) -> MetaStore {
    let dir = tempfile::tempdir().unwrap();
    let mut store = MetaStore::open(&dir.path().join("m.sqlite")).unwrap();
    std::mem::forget(dir);
    store.apply(&create_bucket("b")).unwrap();
    let puts: Vec<PutObject> = keys
        .iter()
        .enumerate()
        .map(|(index, key)| PutObject(object(key, index as u128 + 1), PutCondition::None))
        .collect();
    for reply in store.apply_all(&puts) {
        reply.unwrap();
    }
    store
}

pub(crate) fn create_bucket(name: &str) -> CreateBucket {
    CreateBucket(BucketRecord {
        name: name.into(),
        owner: "o".into(),
        region: "us-east-1".into(),
        created_ms: 0,
        acl: None,
        versioning: None,
        object_lock: None,
        cors: None,
        policy: None,
        public_access_block: None,
        lifecycle: None,
        encryption: None,
    })
}

pub(crate) fn get(key: &str, with_bytes: bool) -> GetObject {
    GetObject {
        bucket: "b".into(),
        key: key.into(),
        with_bytes,
    }
}

fn delete(key: &str) -> DeleteObject {
    DeleteObject {
        bucket: "b".into(),
        key: key.into(),
        version: None,
        condition: DeleteCondition::default(),
        requester: "o".into(),
        bypass_governance: false,
    }
}

impl MetaStore {
    pub(crate) fn list_for_test(
        &mut self,
        query: &super::super::ListQuery,
    ) -> super::super::Listing {
        self.apply(&ListObjects(query.clone())).unwrap()
    }

    /// The virtual-machine steps SQLite has run for the cached statement `sql` so far: what
    /// a scan read, whatever it returned.
    pub(crate) fn vm_steps_for_test(&mut self, sql: &str) -> i32 {
        self.connection
            .prepare_cached(sql)
            .unwrap()
            .get_status(rusqlite::StatementStatus::VmStep)
    }
}

/// 10 keys under `a/`, then 5,000 under `z/` (tests that a listing of `a/` stops at its end).
pub(crate) fn store_with_a_short_prefix_then_many_keys() -> MetaStore {
    let mut keys: Vec<String> = (0..10).map(|index| format!("a/{index}")).collect();
    keys.extend((0..5_000).map(|index| format!("z/{index:05}")));
    store_with_keys(&keys.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn conditional_puts_and_batch_delete() {
    // Goal: If-None-Match / If-Match are decided inside the transaction; a batch delete
    // returns the files of the rows it removed.
    let mut store = store_with_keys(&["x", "y"]);
    let absent = PutObject(object("x", 10), PutCondition::IfAbsent);
    assert!(matches!(
        store.apply(&absent),
        Err(MetaError::PreconditionFailed)
    ));
    let fresh = PutObject(object("new", 11), PutCondition::IfAbsent);
    assert_eq!(store.apply(&fresh).unwrap().freed, vec![]);
    let wrong = PutObject(object("x", 12), PutCondition::IfMatch("other".into()));
    assert!(matches!(
        store.apply(&wrong),
        Err(MetaError::PreconditionFailed)
    ));
    let right = PutObject(object("x", 13), PutCondition::IfMatch("e".into()));
    assert_eq!(store.apply(&right).unwrap().freed, vec![FileId(1)]);
    let batch = DeleteBatch {
        bucket: "b".into(),
        keys: vec!["x".into(), "y".into(), "missing".into()],
        versions: Vec::new(),
        conditions: Vec::new(),
        requester: "o".into(),
        bypass_governance: false,
    };
    let mut files = store.apply(&batch).unwrap().files;
    files.sort_by_key(|id| id.0);
    assert_eq!(files, vec![FileId(2), FileId(13)]);
}

#[test]
fn conditional_deletes_decide_inside_the_transaction() {
    // Goal: a delete under If-Match / last-modified / size removes the object only when every
    // given fact holds (PreconditionFailed otherwise, object kept); an absent object is no
    // error; a batch refuses per key and deletes the rest.
    let mut store = store_with_keys(&["x", "y", "z"]);
    let conditional = |key: &str, condition: DeleteCondition| DeleteObject {
        bucket: "b".into(),
        key: key.into(),
        version: None,
        condition,
        requester: "o".into(),
        bypass_governance: false,
    };
    let etag = |etag: &str| DeleteCondition {
        etags: Some(vec![etag.into()]),
        ..DeleteCondition::default()
    };
    assert!(matches!(
        store.apply(&conditional("x", etag("other"))),
        Err(MetaError::PreconditionFailed)
    ));
    let wrong_time = DeleteCondition {
        last_modified_seconds: Some(5),
        ..DeleteCondition::default()
    };
    assert!(matches!(
        store.apply(&conditional("x", wrong_time)),
        Err(MetaError::PreconditionFailed)
    ));
    let right = DeleteCondition {
        etags: Some(vec!["other".into(), "e".into()]),
        last_modified_seconds: Some(0),
        size_bytes: Some(3),
    };
    assert_eq!(
        store.apply(&conditional("x", right)).unwrap().freed,
        vec![FileId(1)]
    );
    assert_eq!(
        store.apply(&conditional("x", etag("e"))).unwrap().freed,
        vec![]
    );
    let batch = DeleteBatch {
        bucket: "b".into(),
        keys: vec!["y".into(), "z".into()],
        versions: Vec::new(),
        conditions: vec![etag("other"), etag("*")],
        requester: "o".into(),
        bypass_governance: false,
    };
    let outcome = store.apply(&batch).unwrap();
    assert_eq!(outcome.files, vec![FileId(3)]);
    assert_eq!(outcome.precondition_failed, vec![0]);
    assert!(store.apply(&get("y", false)).unwrap().is_some());
}

#[test]
fn a_batch_names_its_longest_command_and_adds_up_all() {
    // Goal: the slow-batch warning's figures: a longer run replaces the slowest, an equal one
    // does not, and every run counts towards the commands' total.
    use std::time::Duration;
    let mut timing = BatchTiming::default();
    timing.note_command("GetObject", Duration::from_millis(2));
    timing.note_command("PutObject", Duration::from_millis(5));
    timing.note_command("DeleteObject", Duration::from_millis(5));
    timing.note_command("ListObjects", Duration::from_millis(1));
    assert_eq!(
        timing.slowest,
        Some(("PutObject", Duration::from_millis(5)))
    );
    assert_eq!(timing.commands, Duration::from_millis(13));
}

#[test]
fn one_batch_of_mixed_commands_commits_together() {
    // Goal: the thread's path (type-erased jobs of different commands in one transaction)
    // gives each waiting core its own typed answer, and a failed command leaves the rest of
    // its batch committed.
    let dir = tempfile::tempdir().unwrap();
    let mut store = MetaStore::open(&dir.path().join("m.sqlite")).unwrap();
    let (bucket, bucket_answer) = Pending::new(create_bucket("b"));
    let (put, put_answer) = Pending::new(PutObject(object("k", 1), PutCondition::None));
    let (missing, missing_answer) = Pending::new(PutObject(object("k", 2), PutCondition::IfAbsent));
    let (list, list_answer) = Pending::new(ListBuckets);
    let mut jobs: Vec<Box<dyn Job>> = vec![
        Box::new(bucket),
        Box::new(put),
        Box::new(missing),
        Box::new(list),
    ];
    let timing = store.apply_batch(&mut jobs);
    // The slow-batch warning's figures: one of these commands ran longest, and the commit (a
    // WAL fsync) took some time.
    let (slowest, slowest_ran) = timing.slowest.expect("four commands ran");
    assert!(
        ["CreateBucket", "PutObject", "ListBuckets"].contains(&slowest),
        "{slowest}"
    );
    assert!(timing.commands >= slowest_ran && slowest_ran > std::time::Duration::ZERO);
    assert!(timing.commit > std::time::Duration::ZERO);
    assert_eq!(timing.passes, 1);
    for job in jobs {
        job.reply();
    }
    use futures_lite::future::block_on;
    assert!(block_on(bucket_answer).unwrap().unwrap());
    assert_eq!(block_on(put_answer).unwrap().unwrap().freed, vec![]);
    assert!(matches!(
        block_on(missing_answer).unwrap(),
        Err(MetaError::PreconditionFailed)
    ));
    assert_eq!(block_on(list_answer).unwrap().unwrap().len(), 1);
    assert_eq!(store.apply(&get("k", true)).unwrap(), Some(object("k", 1)));
}

#[test]
fn a_command_failing_after_writing_leaves_nothing_and_its_batch_commits() {
    // Goal: a PutObject into an Enabled bucket that stages the key's current version and
    // then fails on an SQLite error (injected: a trigger refusing the key's new current row)
    // leaves no trace, neither the staged copy nor its usage counts, while the other
    // commands of its batch, before and after it, commit; and the same alone (`apply`).
    use crate::meta::usage::GetBucketFigures;
    let dir = tempfile::tempdir().unwrap();
    let mut store = versioned_store(&dir.path().join("m.sqlite"));
    let put = |key: &str, bytes: &[u8]| PutObject(inline_object(key, bytes), PutCondition::None);
    let first = store.apply(&put("boom", b"zero")).unwrap().version_id;
    store.apply(&put("k", b"zero")).unwrap();
    store
        .connection()
        .execute_batch(
            "CREATE TEMP TRIGGER inject BEFORE INSERT ON main.objects \
             WHEN NEW.key = 'boom' BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
        )
        .unwrap();
    let staged_of = |store: &MetaStore, key: &str| -> i64 {
        store
            .connection()
            .query_row(
                "SELECT count(*) FROM versions_staged WHERE key = ?1",
                [key],
                |row| row.get(0),
            )
            .unwrap()
    };
    let (before, before_answer) = Pending::new(put("k", b"one"));
    let (failing, failing_answer) = Pending::new(put("boom", b"one"));
    let (after, after_answer) = Pending::new(put("n", b"one"));
    let mut jobs: Vec<Box<dyn Job>> = vec![Box::new(before), Box::new(failing), Box::new(after)];
    let timing = store.apply_batch(&mut jobs);
    // Rolled back once, then committed with a savepoint per command.
    assert_eq!(timing.passes, 2);
    assert!(timing.commit > std::time::Duration::ZERO);
    for job in jobs {
        job.reply();
    }
    use futures_lite::future::block_on;
    assert!(block_on(before_answer).unwrap().is_ok());
    assert!(block_on(after_answer).unwrap().is_ok());
    assert!(matches!(
        block_on(failing_answer).unwrap(),
        Err(MetaError::Sqlite(message)) if message.contains("injected failure")
    ));
    assert_eq!(staged_of(&store, "boom"), 0);
    assert_eq!(staged_of(&store, "k"), 1);
    // Alone, in a transaction of its own.
    assert!(matches!(
        store.apply(&put("boom", b"two")),
        Err(MetaError::Sqlite(_))
    ));
    assert_eq!(staged_of(&store, "boom"), 0);
    // Several of one kind (`apply_all`): the failing one's neighbours commit.
    let outcomes = store.apply_all(&[put("k", b"two"), put("boom", b"two"), put("m", b"two")]);
    let failed: Vec<bool> = outcomes.iter().map(Result::is_err).collect();
    assert_eq!(failed, vec![false, true, false]);
    assert_eq!(staged_of(&store, "boom"), 0);
    store
        .connection()
        .execute_batch("DROP TRIGGER inject")
        .unwrap();
    // No inline bytes left behind by the failed writes.
    let orphans: i64 = store
        .connection()
        .query_row(
            "SELECT count(*) FROM version_bytes WHERE rowid NOT IN (SELECT bytes_id FROM \
             objects WHERE bytes_id IS NOT NULL UNION SELECT bytes_id FROM versions WHERE \
             bytes_id IS NOT NULL UNION SELECT bytes_id FROM versions_staged WHERE \
             bytes_id IS NOT NULL)",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);
    let page = store.apply(&every_version("b")).unwrap();
    let listed: Vec<(&str, bool)> = page
        .entries
        .iter()
        .map(|entry| (entry.key.as_str(), entry.is_latest))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("boom", true),
            ("k", true),
            ("k", false),
            ("k", false),
            ("m", true),
            ("n", true)
        ]
    );
    assert_eq!(page.entries[0].version_id, first);
    let figures = store
        .apply(&GetBucketFigures(Some("b".into())))
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(
        (
            figures.usage.objects,
            figures.usage.versions,
            figures.usage.size_bytes
        ),
        (4, 2, 4 + 3 + 4 + 3 + 3 + 3)
    );
}

#[test]
fn a_refusal_that_leaves_nothing_of_its_own_ends_its_job_cleanly() {
    // Goal: two refusals after rows were written end their job as `Finished`, so their batch
    // does not run again: a PutObject past the quota (its savepoint rolled its rows back),
    // and a ListObjectVersions of a missing bucket after settling staged versions (the
    // batch's rows, kept).
    use crate::meta::usage::{BucketQuota, PutBucketQuota};
    let dir = tempfile::tempdir().unwrap();
    let mut store = versioned_store(&dir.path().join("m.sqlite"));
    let put = |key: &str| PutObject(inline_object(key, b"bytes"), PutCondition::None);
    store
        .apply(&PutBucketQuota {
            bucket: "b".into(),
            quota: BucketQuota {
                size_bytes_max: None,
                objects_max: Some(2),
            },
        })
        .unwrap();
    store.apply(&put("a")).unwrap();
    store.apply(&put("a")).unwrap();
    assert_eq!(count(&store, "versions_staged"), 1);
    let transaction = store.begin().unwrap();
    let mut refused = None;
    let end = run_job(&transaction, true, |settled| {
        refused = Some(settled.and_then(|transaction| put("c").apply(transaction)));
        true
    });
    assert_eq!(end, JobEnd::Finished);
    assert!(matches!(refused, Some(Err(MetaError::QuotaExceeded))));
    let mut missing = None;
    let listing = every_version("missing");
    let end = run_job(&transaction, false, |settled| {
        missing = Some(settled.and_then(|transaction| listing.apply(transaction)));
        true
    });
    assert_eq!(end, JobEnd::Finished);
    assert!(matches!(missing, Some(Err(MetaError::NoSuchBucket))));
    transaction.commit().unwrap();
    assert_eq!(count(&store, "versions_staged"), 0);
    assert_eq!(count(&store, "versions"), 1);
    assert_eq!(count(&store, "objects"), 1);
}

#[test]
fn a_transaction_sqlite_rolled_back_fails_its_whole_batch() {
    // Goal: when an error makes SQLite roll the whole transaction back itself (disk full,
    // here a page limit), every command of the batch fails and none of it stays: neither the
    // writes before the failing command (rolled back) nor those after it (which would
    // otherwise each commit alone); the store then works again.
    use crate::meta::usage::GetBucketFigures;
    let dir = tempfile::tempdir().unwrap();
    let mut store = versioned_store(&dir.path().join("m.sqlite"));
    let put = |key: &str, size: usize| {
        PutObject(inline_object(key, &vec![7u8; size]), PutCondition::None)
    };
    store.apply(&put("a", 100)).unwrap();
    let pages: i64 = store
        .connection()
        .query_row("PRAGMA page_count", [], |row| row.get(0))
        .unwrap();
    store
        .connection()
        .execute_batch(&format!("PRAGMA max_page_count = {}", pages + 2))
        .unwrap();
    let batch = |store: &mut MetaStore| {
        let mut jobs: Vec<Box<dyn Job>> = Vec::new();
        let mut answers = Vec::new();
        for (key, size) in [("a", 100), ("b", 100), ("c", 60_000), ("d", 100)] {
            let (job, answer) = Pending::new(put(key, size));
            jobs.push(Box::new(job));
            answers.push(answer);
        }
        let timing = store.apply_batch(&mut jobs);
        for job in jobs {
            job.reply();
        }
        let outcomes = answers
            .into_iter()
            .map(|answer| futures_lite::future::block_on(answer).unwrap().map(|_| ()))
            .collect::<Vec<_>>();
        (outcomes, timing)
    };
    let (outcomes, timing) = batch(&mut store);
    // SQLite gave the transaction up before the commit: one pass, no commit timed.
    assert_eq!(
        (timing.passes, timing.commit),
        (1, std::time::Duration::ZERO)
    );
    for outcome in outcomes {
        assert!(
            matches!(&outcome, Err(MetaError::Sqlite(message)) if message == TRANSACTION_LOST),
            "{outcome:?}"
        );
    }
    assert_eq!(count(&store, "objects"), 1);
    assert_eq!(count(&store, "versions_staged"), 0);
    let usage = |store: &mut MetaStore| {
        let figures = store.apply(&GetBucketFigures(Some("b".into()))).unwrap();
        let usage = &figures[0].usage;
        (usage.objects, usage.versions, usage.size_bytes)
    };
    assert_eq!(usage(&mut store), (1, 0, 100));
    store
        .connection()
        .execute_batch("PRAGMA max_page_count = 1073741823")
        .unwrap();
    let (outcomes, timing) = batch(&mut store);
    assert!(outcomes.iter().all(Result::is_ok));
    assert!(timing.commit > std::time::Duration::ZERO);
    assert_eq!(count(&store, "objects"), 4);
    assert_eq!(usage(&mut store), (4, 1, 100 + 100 + 100 + 60_000 + 100));
}

#[test]
fn put_replace_get_delete() {
    // Goal: a put into a new bucket; a replace returns the old file; delete returns it; a
    // bucket is deleted only once empty.
    let dir = tempfile::tempdir().unwrap();
    let mut store = MetaStore::open(&dir.path().join("m.sqlite")).unwrap();
    assert!(store.apply(&create_bucket("b")).unwrap());
    assert!(
        !store.apply(&create_bucket("b")).unwrap(),
        "same owner again"
    );
    let put = PutObject(object("k", 1), PutCondition::None);
    assert_eq!(store.apply(&put).unwrap().freed, vec![]);
    let replace = PutObject(object("k", 2), PutCondition::None);
    assert_eq!(store.apply(&replace).unwrap().freed, vec![FileId(1)]);
    assert_eq!(store.apply(&get("k", true)).unwrap(), Some(object("k", 2)));
    let not_empty = DeleteBucket { name: "b".into() };
    assert!(matches!(
        store.apply(&not_empty),
        Err(MetaError::BucketNotEmpty)
    ));
    assert_eq!(store.apply(&delete("k")).unwrap().freed, vec![FileId(2)]);
    assert_eq!(store.apply(&delete("k")).unwrap().freed, vec![]);
    store.apply(&not_empty).unwrap();
    assert!(matches!(
        store.apply(&get("k", true)),
        Err(MetaError::NoSuchBucket)
    ));
}

#[test]
fn inline_bytes_follow_their_row() {
    // Goal: inline bytes are read back with the row and freed by every way a row goes away
    // (replace by inline or file, delete, batch delete), so the table never holds orphans.
    let mut store = store_with_keys(&[]);
    let put = |key: &str, bytes: &[u8]| PutObject(inline_object(key, bytes), PutCondition::None);
    let replies = store.apply_all(&[put("a", b"one"), put("b", b"two"), put("c", b"")]);
    assert!(replies
        .iter()
        .all(|reply| matches!(reply, Ok(written) if written.freed.is_empty())));
    assert_eq!(inline_rows(&store), 3);
    let found = store.apply(&get("a", true)).unwrap().unwrap();
    assert_eq!(found, inline_object("a", b"one"));
    let unread = store.apply(&get("a", false)).unwrap().unwrap();
    assert_eq!(unread.body, ObjectBody::InlineUnread);
    assert_eq!(unread.size_bytes, 3);
    let bytes_id_of = |store: &MetaStore, key: &str| -> i64 {
        store
            .connection
            .query_row(
                "SELECT bytes_id FROM objects WHERE key = ?1",
                [key],
                |row| row.get(0),
            )
            .unwrap()
    };
    let first_id = bytes_id_of(&store, "a");
    store.apply(&put("a", b"uno")).unwrap();
    assert_eq!(inline_rows(&store), 3, "replaced bytes freed");
    // An unversioned overwrite rewrites the bytes where they are, whatever their new size.
    assert_eq!(bytes_id_of(&store, "a"), first_id);
    let found = store.apply(&get("a", true)).unwrap().unwrap();
    assert_eq!(found.body, inline_object("a", b"uno").body);
    store.apply(&put("a", &[7; 5000])).unwrap();
    assert_eq!(bytes_id_of(&store, "a"), first_id);
    let found = store.apply(&get("a", true)).unwrap().unwrap();
    assert_eq!(found.body, inline_object("a", &[7; 5000]).body);
    store.apply(&put("a", b"uno")).unwrap();
    assert_eq!(inline_rows(&store), 3);
    // Bytes lost to damage are stored anew by the next overwrite, never left unnamed.
    store
        .connection
        .execute("DELETE FROM version_bytes WHERE id = ?1", [first_id])
        .unwrap();
    store.apply(&put("a", b"uno")).unwrap();
    assert_ne!(bytes_id_of(&store, "a"), first_id);
    let found = store.apply(&get("a", true)).unwrap().unwrap();
    assert_eq!(found.body, inline_object("a", b"uno").body);
    assert_eq!(inline_rows(&store), 3);
    store
        .apply(&PutObject(object("a", 7), PutCondition::None))
        .unwrap();
    assert_eq!(inline_rows(&store), 2);
    assert_eq!(store.apply(&delete("b")).unwrap().freed, vec![]);
    assert_eq!(store.apply(&get("b", true)).unwrap(), None);
    assert_eq!(inline_rows(&store), 1);
    let batch = DeleteBatch {
        bucket: "b".into(),
        keys: vec!["a".into(), "c".into()],
        versions: Vec::new(),
        conditions: Vec::new(),
        requester: "o".into(),
        bypass_governance: false,
    };
    assert_eq!(store.apply(&batch).unwrap().files, vec![FileId(7)]);
    assert_eq!(inline_rows(&store), 0);
    // A batch entry with a condition goes its own way (checked, then deleted alone).
    store.apply_all(&[put("d", b"four"), put("e", b"five")]);
    assert_eq!(inline_rows(&store), 2);
    let any = DeleteCondition {
        etags: Some(vec!["*".into()]),
        ..DeleteCondition::default()
    };
    let batch = DeleteBatch {
        bucket: "b".into(),
        keys: vec!["d".into(), "e".into()],
        versions: Vec::new(),
        conditions: vec![any, DeleteCondition::default()],
        requester: "o".into(),
        bypass_governance: false,
    };
    let outcome = store.apply(&batch).unwrap();
    assert!(outcome.precondition_failed.is_empty());
    assert_eq!(inline_rows(&store), 0);
}

#[test]
fn reopen_skips_ddl() {
    // Goal: a second open of a current-version database succeeds and keeps its data.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.sqlite");
    {
        let mut store = MetaStore::open(&path).unwrap();
        store.apply(&create_bucket("b")).unwrap();
    }
    let mut store = MetaStore::open(&path).unwrap();
    assert_eq!(store.apply(&ListBuckets).unwrap().len(), 1);
}
