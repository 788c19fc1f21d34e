//! Unit tests of the metadata reader's connection against a real SQLite database: it sees every
//! commit made before a read began, cannot write, needs the writer's schema, and caches more
//! pages than the writer.

use super::tests::{create_bucket, get, object};
use super::*;
use crate::meta::{ListObjects, ListQuery, PutCondition, PutObject};

#[test]
fn the_reader_sees_every_commit_and_cannot_write() {
    // Goal: the metadata reader's read-only connection answers read-only commands with what the
    // writer committed before each read began (not a stale snapshot), and a write sent to it
    // fails instead of writing.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.sqlite");
    let mut writer = MetaStore::open(&path).unwrap();
    let mut reader = MetaStore::open_reader(&path).unwrap();
    let read = |reader: &mut MetaStore, key: &str| reader.read(get(key, true));
    assert!(matches!(
        read(&mut reader, "k"),
        Err(MetaError::NoSuchBucket)
    ));
    assert!(writer.apply(&create_bucket("b")).unwrap());
    assert_eq!(read(&mut reader, "k").unwrap(), None);
    writer
        .apply(&PutObject(object("k", 1), PutCondition::None))
        .unwrap();
    assert_eq!(read(&mut reader, "k").unwrap(), Some(object("k", 1)));
    writer
        .apply(&PutObject(object("k", 2), PutCondition::None))
        .unwrap();
    assert_eq!(read(&mut reader, "k").unwrap(), Some(object("k", 2)));
    let refused = reader.read(PutObject(object("w", 3), PutCondition::None));
    assert!(
        matches!(&refused, Err(MetaError::Sqlite(message)) if message.contains("readonly")),
        "{refused:?}"
    );
    assert_eq!(writer.apply(&get("w", false)).unwrap(), None);
}

#[test]
fn the_reader_needs_the_writers_schema() {
    // Goal: a reader opened on a database the writer has not created (or upgraded) refuses to
    // start instead of reading rows it does not understand.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.sqlite");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA user_version = 3")
        .unwrap();
    assert!(matches!(
        MetaStore::open_reader(&path),
        Err(SchemaError::ReaderFoundVersion { found: 3 })
    ));
}

#[test]
fn the_reader_keeps_a_bigger_page_cache_than_the_writer() {
    // Goal: the reader's connection caches METADATA_READER_PAGE_CACHE_KIB of pages, not SQLite's
    // 2,000 KiB default, which a delimiter listing of a big bucket overruns on every run
    // (BENCHMARKS.md 2026-12-04, evening); the writer keeps the default.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.sqlite");
    let writer = MetaStore::open(&path).unwrap();
    let reader = MetaStore::open_reader(&path).unwrap();
    let cache_size = |store: &MetaStore| -> i64 {
        store
            .connection()
            .pragma_query_value(None, "cache_size", |row| row.get(0))
            .unwrap()
    };
    assert_eq!(
        cache_size(&reader),
        -(crate::limits::METADATA_READER_PAGE_CACHE_KIB as i64)
    );
    assert_eq!(cache_size(&writer), -2000);
}

/// Pages the connection's reads since the last call did not find in its page cache
/// (`SQLITE_DBSTATUS_CACHE_MISS`, reset by the call).
fn cache_misses(store: &MetaStore) -> i64 {
    let (mut current, mut highest) = (0, 0);
    // SAFETY: the handle is the open connection's own; sqlite3_db_status only reads its counters.
    let code = unsafe {
        rusqlite::ffi::sqlite3_db_status(
            store.connection().handle(),
            rusqlite::ffi::SQLITE_DBSTATUS_CACHE_MISS,
            &mut current,
            &mut highest,
            1,
        )
    };
    assert_eq!(code, rusqlite::ffi::SQLITE_OK);
    i64::from(current)
}

#[test]
fn the_writer_cannot_take_the_readers_page_cache() {
    // Goal: the reader keeps the pages it read while the writer reads more pages than its own
    // cache holds: a listing page read again afterwards misses nothing. With SQLite's caches in
    // one pool shared by every connection (SQLITE_ENABLE_MEMORY_MANAGEMENT, which rusqlite's
    // bundled build defines and .cargo/config.toml undefines), a connection past its own cache
    // size takes the pool's least recently used page whoever holds it: the writer ended up
    // holding the whole pool, and each page the reader read was freed again as soon as it was
    // used (every lookup re-read every level of the tree from the file).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.sqlite");
    assert!(!schema::page_caches_share_one_pool());
    let mut writer = MetaStore::open(&path).unwrap();
    let mut reader = MetaStore::open_reader(&path).unwrap();
    assert!(writer.apply(&create_bucket("b")).unwrap());
    // Rows of ~1 KiB, four to a 4 KiB leaf: a quarter more leaves than both caches (the
    // reader's and SQLite's default 2,000 KiB) hold together.
    let cached_pages = (crate::limits::METADATA_READER_PAGE_CACHE_KIB + 2_000) / 4;
    let rows = cached_pages * 4 * 5 / 4;
    let puts: Vec<PutObject> = (0..rows)
        .map(|index| {
            let mut record = object(&format!("k{index:06}"), u128::from(index));
            record.headers = vec![("x-amz-meta-a".into(), "v".repeat(800))];
            PutObject(record, PutCondition::None)
        })
        .collect();
    for outcome in writer.apply_all(&puts) {
        outcome.unwrap();
    }
    let page = |after: Option<String>| ListQuery {
        bucket: "b".into(),
        prefix: String::new(),
        delimiter: None,
        after,
        max_keys: 1000,
    };
    // Every page, on the reader (which fills its cache and goes idle), then on the writer.
    let list_all = |store: &mut MetaStore, through_reader: bool| {
        let mut after = None;
        for _ in 0..rows.div_ceil(1000) {
            let listing = if through_reader {
                store.read(ListObjects(page(after)))
            } else {
                store.apply(&ListObjects(page(after)))
            };
            after = listing.unwrap().last;
        }
    };
    list_all(&mut reader, true);
    list_all(&mut writer, false);
    cache_misses(&reader);
    let count =
        |reader: &mut MetaStore| reader.read(ListObjects(page(None))).unwrap().objects.len();
    assert_eq!(count(&mut reader), 1000);
    let first = cache_misses(&reader);
    assert_eq!(count(&mut reader), 1000);
    let again = cache_misses(&reader);
    assert!(
        first > 10,
        "the first read found only {first} pages missing"
    );
    assert_eq!(again, 0, "the same page read again missed {again} pages");
}
