//! Unit tests of the metadata reader's connection against a real SQLite database: it sees every
//! commit made before a read began, cannot write, needs the writer's schema, and caches more
//! pages than the writer.

use super::tests::{create_bucket, get, object};
use super::*;
use crate::meta::{PutCondition, PutObject};

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
