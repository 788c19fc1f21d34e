//! Unit tests of the metadata reader's connection against a real SQLite database: it sees every
//! commit made before a read began, cannot write, needs the writer's schema, caches more pages
//! than the writer, and keeps its mapping of the file across the writer's commits.

use super::tests::{create_bucket, get, object};
use super::*;
use crate::meta::kept_map;
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
    put_objects(&mut writer, "k", rows);
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

/// Puts `count` objects of ~1 KiB of metadata each, keys `{prefix}{index:06}`.
fn put_objects(writer: &mut MetaStore, prefix: &str, count: u64) {
    let puts: Vec<PutObject> = (0..count)
        .map(|index| {
            let mut record = object(&format!("{prefix}{index:06}"), u128::from(index));
            record.headers = vec![("x-amz-meta-a".into(), "v".repeat(800))];
            PutObject(record, PutCondition::None)
        })
        .collect();
    for outcome in writer.apply_all(&puts) {
        outcome.unwrap();
    }
}

/// Copies the writer's WAL into the database file, as its automatic checkpoints do.
fn checkpoint(writer: &MetaStore) {
    writer
        .connection()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
}

/// The lengths in bytes of this process's memory mappings of the file at `path`.
fn mapped_lengths(path: &std::path::Path) -> Vec<u64> {
    // The kernel names a mapping by its resolved path.
    let path = std::fs::canonicalize(path).unwrap();
    let path = path.to_str().unwrap();
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .filter(|line| line.ends_with(path))
        .map(|line| {
            let range = line.split_whitespace().next().unwrap();
            let (start, end) = range.split_once('-').unwrap();
            u64::from_str_radix(end, 16).unwrap() - u64::from_str_radix(start, 16).unwrap()
        })
        .collect()
}

/// Every key the reader lists in bucket `b`, page by page.
fn all_keys(reader: &mut MetaStore) -> Vec<String> {
    let mut keys = Vec::new();
    let mut after = None;
    loop {
        let page = reader
            .read(ListObjects(ListQuery {
                bucket: "b".into(),
                prefix: String::new(),
                delimiter: None,
                after,
                max_keys: 1000,
            }))
            .unwrap();
        keys.extend(page.objects.iter().map(|object| object.key.clone()));
        if !page.is_truncated {
            return keys;
        }
        after = page.last;
    }
}

#[test]
fn the_reader_can_map_the_whole_file() {
    // Goal: the reader's mapping covers up to METADATA_READER_MAP_BYTES_MAX, which needs the
    // SQLITE_MAX_MMAP_SIZE that .cargo/config.toml sets: SQLite caps every mapping at it (2 GiB
    // by default on Linux), so a bigger metadata file would be read past 2 GiB with pread.
    let option = format!(
        "MAX_MMAP_SIZE={}",
        crate::limits::METADATA_READER_MAP_BYTES_MAX
    );
    let option = std::ffi::CString::new(option).unwrap();
    // SAFETY: sqlite3_compileoption_used reads a NUL-terminated string and nothing else.
    let used = unsafe { rusqlite::ffi::sqlite3_compileoption_used(option.as_ptr()) };
    assert_eq!(
        used, 1,
        "this build's SQLite caps mappings below the reader's"
    );
}

#[test]
fn the_reader_keeps_its_mapping_across_the_writers_commits() {
    // Goal: a commit by the writer makes SQLite drop the reader's page cache (and, were the
    // pager mapping the file itself, unmap it); `kept_map`'s mapping stays, so a read after each
    // commit maps nothing again, and still sees every commit, including rows the writer's
    // checkpoints copied into the mapped file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.sqlite");
    let mut writer = MetaStore::open(&path).unwrap();
    assert!(writer.apply(&create_bucket("b")).unwrap());
    put_objects(&mut writer, "a", 200);
    checkpoint(&writer);
    let mut reader = MetaStore::open_reader(&path).unwrap();
    assert_eq!(all_keys(&mut reader).len(), 200);
    assert_eq!(kept_map::mappings_made(reader.connection()), 1);
    // The unix VFS's mapping, which its xRead copies from.
    assert_eq!(mapped_lengths(&path).len(), 1);
    for round in 0..5u64 {
        let key = format!("a{:06}", round * 7);
        writer
            .apply(&PutObject(
                object(&key, 1000 + u128::from(round)),
                PutCondition::None,
            ))
            .unwrap();
        if round % 2 == 1 {
            checkpoint(&writer);
        }
        assert_eq!(
            reader.read(get(&key, true)).unwrap(),
            Some(object(&key, 1000 + u128::from(round))),
            "round {round}"
        );
    }
    assert_eq!(all_keys(&mut reader).len(), 200);
    assert_eq!(kept_map::mappings_made(reader.connection()), 1);
    assert_eq!(mapped_lengths(&path).len(), 1);
    // A `PRAGMA mmap_size` on the reader leaves the mapping alone: the pager passes a limit on
    // only to files whose methods have `xFetch` (version 3).
    reader
        .connection()
        .pragma_update(None, "mmap_size", 0)
        .unwrap();
    assert_eq!(all_keys(&mut reader).len(), 200);
    assert_eq!(mapped_lengths(&path).len(), 1);
    drop(reader);
    assert_eq!(mapped_lengths(&path).len(), 0);
}

#[test]
fn the_reader_maps_the_file_again_once_it_outgrows_the_mapping() {
    // Goal: rows checkpointed past the end of the reader's mapping are read (with pread) at
    // once, and a file grown by more than METADATA_READER_MAP_GROWTH_BYTES_MIN is mapped again
    // at the next read after a commit, never before; a file that grows less keeps its mapping.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.sqlite");
    let mut writer = MetaStore::open(&path).unwrap();
    assert!(writer.apply(&create_bucket("b")).unwrap());
    put_objects(&mut writer, "a", 100);
    checkpoint(&writer);
    let mut reader = MetaStore::open_reader(&path).unwrap();
    assert_eq!(all_keys(&mut reader).len(), 100);
    assert_eq!(kept_map::mappings_made(reader.connection()), 1);
    // Less than the growth allowed: ~1 MiB more.
    put_objects(&mut writer, "b", 1_000);
    checkpoint(&writer);
    assert_eq!(all_keys(&mut reader).len(), 1_100);
    assert_eq!(kept_map::mappings_made(reader.connection()), 1);
    // More: ~1.2 KiB a row on 4 KiB pages, past the minimum growth.
    let rows = crate::limits::METADATA_READER_MAP_GROWTH_BYTES_MIN / 1024;
    put_objects(&mut writer, "c", rows);
    checkpoint(&writer);
    let keys = all_keys(&mut reader);
    assert_eq!(keys.len() as u64, 1_100 + rows);
    assert_eq!(
        keys.last().map(String::as_str),
        Some(format!("c{:06}", rows - 1).as_str())
    );
    assert_eq!(kept_map::mappings_made(reader.connection()), 2);
    let file_bytes = std::fs::metadata(&path).unwrap().len();
    let lengths = mapped_lengths(&path);
    assert_eq!(lengths.len(), 1, "{lengths:?}");
    assert!(lengths[0] >= file_bytes, "{lengths:?} against {file_bytes}");
}

#[test]
fn a_file_that_shrinks_under_the_mapping_is_read_within_its_end() {
    // Goal: the mapping may outlast a shrink of the file (auto-vacuum gives pages back at
    // commit, and the checkpoint truncates the file), and the reader still reads only what the
    // file holds: a copy from the mapping past the file's end would kill the test with SIGBUS.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.sqlite");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA auto_vacuum = FULL")
        .unwrap();
    let mut writer = MetaStore::open(&path).unwrap();
    assert!(writer.apply(&create_bucket("b")).unwrap());
    put_objects(&mut writer, "a", 2_000);
    checkpoint(&writer);
    let mut reader = MetaStore::open_reader(&path).unwrap();
    assert_eq!(all_keys(&mut reader).len(), 2_000);
    let mapped = mapped_lengths(&path);
    assert_eq!(mapped.len(), 1, "{mapped:?}");
    writer
        .connection()
        .execute("DELETE FROM objects WHERE key >= 'a000100'", [])
        .unwrap();
    checkpoint(&writer);
    let file_bytes = std::fs::metadata(&path).unwrap().len();
    assert!(
        mapped.iter().all(|&length| length > 2 * file_bytes),
        "the file did not shrink under the mapping: {mapped:?} against {file_bytes}"
    );
    assert_eq!(all_keys(&mut reader).len(), 100);
    assert_eq!(reader.read(get("a001999", false)).unwrap(), None);
    assert_eq!(mapped_lengths(&path), mapped);
}
