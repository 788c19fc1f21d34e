//! Unit tests of the schema's upgrades: databases made at earlier versions, opened by this one,
//! keep their rows and read as the current version's.

use super::*;

// Goal: a version-1 database (before ACLs and users) is upgraded in place at open, keeping
// its rows, which then read as S3's default ACL.
#[test]
fn upgrades_version_one() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("meta.sqlite");
    {
        let connection = Connection::open(&path).unwrap();
        connection.execute_batch(SCHEMA_V1).unwrap();
        connection
            .execute(
                "INSERT INTO buckets (name, owner, region, created_ms) VALUES ('b', 'o', 'r', 1)",
                [],
            )
            .unwrap();
        connection.pragma_update(None, "user_version", 1).unwrap();
    }
    let mut connection = Connection::open(&path).unwrap();
    prepare(&mut connection).unwrap();
    let version: i64 = connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let acl: Option<String> = connection
        .query_row("SELECT acl FROM buckets WHERE name = 'b'", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(acl, None);
    let users: i64 = connection
        .query_row("SELECT count(*) FROM users", [], |row| row.get(0))
        .unwrap();
    assert_eq!(users, 0);
    // A second open is a no-op.
    prepare(&mut connection).unwrap();
}

// Goal: a version-4 database (the release before versioning) is upgraded in place: its
// objects become null versions in the rebuilt table, bytes and ACLs kept, buckets read as
// never versioned, and versioned writes work on top of the upgraded rows.
#[test]
fn upgrades_version_four() {
    use crate::meta::store::MetaStore;
    use crate::meta::{
        DeleteCondition, DeleteObject, GetObject, ObjectBody, PutBucketVersioning, PutCondition,
        PutObject, VersioningStatus,
    };
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("meta.sqlite");
    {
        let connection = Connection::open(&path).unwrap();
        connection
            .execute_batch(&format!(
                "{SCHEMA_V1}{MIGRATION_V2}{MIGRATION_V3}{MIGRATION_V4}"
            ))
            .unwrap();
        connection
            .execute_batch(
                "INSERT INTO buckets (name, owner, region, created_ms, acl)
                 VALUES ('b', 'o', 'us-east-1', 1, NULL);
                 INSERT INTO objects (bucket, key, file_id, size, etag, last_modified_ms,
                     headers, owner, acl, bytes)
                 VALUES ('b', 'small', '', 3, 'e1', 1000, '', 'o', 'acl-text', x'00ff10'),
                        ('b', 'large', '00000000000000000000000000000001', 9, 'e2', 2000,
                         '', 'o', NULL, NULL);",
            )
            .unwrap();
        connection.pragma_update(None, "user_version", 4).unwrap();
    }
    let mut store = MetaStore::open(&path).unwrap();
    // Version 10 counted what the bucket already held.
    let usage = store
        .apply(&crate::meta::GetBucketFigures(Some("b".into())))
        .unwrap()[0]
        .usage;
    assert_eq!(
        (usage.objects, usage.versions, usage.size_bytes),
        (2, 0, 12)
    );
    let get = |key: &str| GetObject {
        bucket: "b".into(),
        key: key.into(),
        with_bytes: true,
    };
    let small = store.apply(&get("small")).unwrap().unwrap();
    assert_eq!(
        small.body,
        ObjectBody::Inline(crate::object_bytes::InlineBytes::new(vec![0, 0xff, 0x10]))
    );
    assert_eq!(small.acl.as_deref(), Some("acl-text"));
    assert_eq!(small.version_id, None);
    let large = store.apply(&get("large")).unwrap().unwrap();
    assert_eq!(large.files(), vec![crate::object_bytes::FileId(1)]);
    store
        .apply(&PutBucketVersioning {
            bucket: "b".into(),
            status: VersioningStatus::Enabled,
        })
        .unwrap();
    let written = store
        .apply(&PutObject(
            crate::meta::ObjectRecord {
                last_modified_ms: 3000,
                body: ObjectBody::File(crate::object_bytes::FileId(2)),
                ..large.clone()
            },
            PutCondition::None,
        ))
        .unwrap();
    assert!(written.version_id.is_some() && written.freed.is_empty());
    let removed = store
        .apply(&DeleteObject {
            bucket: "b".into(),
            key: "large".into(),
            version: Some(crate::meta::VersionSelector::Null),
            condition: DeleteCondition::default(),
            requester: "o".into(),
            bypass_governance: false,
        })
        .unwrap();
    assert_eq!(removed.freed, vec![crate::object_bytes::FileId(1)]);
}

// Goal: a version-3 database (inline bytes in their own table) is upgraded in place: each
// inline object's row names its bytes (version 4 moved them into the row, version 14 out
// again into `version_bytes`), file-backed rows name none, and the old table and trigger are
// gone, so later deletes cannot trip over them.
#[test]
fn upgrades_version_three() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("meta.sqlite");
    {
        let connection = Connection::open(&path).unwrap();
        connection
            .execute_batch(&format!("{SCHEMA_V1}{MIGRATION_V2}{MIGRATION_V3}"))
            .unwrap();
        connection
            .execute_batch(
                "INSERT INTO inline_data (id, bytes) VALUES (7, x'00ff10');
                 INSERT INTO objects (bucket, key, file_id, size, etag, last_modified_ms,
                     headers, owner, inline_id)
                 VALUES ('b', 'small', '', 3, 'e', 1, '', 'o', 7),
                        ('b', 'large', '00000000000000000000000000000001', 9, 'e', 1, '',
                         'o', NULL);",
            )
            .unwrap();
        connection.pragma_update(None, "user_version", 3).unwrap();
    }
    let mut connection = Connection::open(&path).unwrap();
    prepare(&mut connection).unwrap();
    let bytes = |key: &str| -> Option<Vec<u8>> {
        connection
            .query_row(
                "SELECT stored.bytes FROM objects \
                 LEFT JOIN version_bytes stored ON stored.id = objects.bytes_id \
                 WHERE key = ?1",
                [key],
                |row| row.get(0),
            )
            .unwrap()
    };
    assert_eq!(bytes("small"), Some(vec![0x00, 0xff, 0x10]));
    assert_eq!(bytes("large"), None);
    let leftovers: i64 = connection
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name IN ('inline_data', \
             'objects_free_inline_data')",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(leftovers, 0);
    connection
        .execute("DELETE FROM objects WHERE key = 'small'", [])
        .unwrap();
    let version: i64 = connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

/// A database at `path` with the schema of version 13 (the caller sets `user_version`).
fn version_thirteen_database(path: &std::path::Path) -> Connection {
    let connection = Connection::open(path).unwrap();
    connection
        .execute_batch(&format!(
            "{SCHEMA_V1}{MIGRATION_V2}{MIGRATION_V3}{MIGRATION_V4}{MIGRATION_V5}\
             {MIGRATION_V6}{MIGRATION_V7}{MIGRATION_V8}{MIGRATION_V9}{MIGRATION_V10}\
             {MIGRATION_V11}{MIGRATION_V12}{MIGRATION_V13}"
        ))
        .unwrap();
    connection
}

// Goal: a version-13 database, whose current inline objects keep their bytes in their rows,
// is upgraded in place: the bytes move into `version_bytes` under new ids (after the ids a
// versioned bucket already uses, which stay as they were), every row reads back its own
// bytes, `objects` has no `bytes` column left, and the moved bytes are freed like any
// others when their object goes.
#[test]
fn upgrades_version_thirteen() {
    use crate::meta::store::MetaStore;
    use crate::meta::{DeleteCondition, DeleteObject, GetObject, ObjectBody};
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("meta.sqlite");
    {
        let connection = version_thirteen_database(&path);
        connection
            .execute_batch(
                "INSERT INTO buckets (name, owner, region, created_ms) VALUES
                     ('b', 'o', 'us-east-1', 1), ('v', 'o', 'us-east-1', 1);
                 UPDATE buckets SET versioning = 'Enabled' WHERE name = 'v';
                 INSERT INTO version_bytes (id, bytes) VALUES (5, x'aa');
                 INSERT INTO objects (bucket, key, file_id, size, etag, last_modified_ms,
                     headers, owner, bytes, bytes_id, sequence)
                 VALUES ('b', 'two', '', 2, 'e2', 1, '', 'o', x'0202', NULL, NULL),
                        ('b', 'one', '', 1, 'e1', 1, '', 'o', x'01', NULL, NULL),
                        ('b', 'file', '00000000000000000000000000000001', 9, 'e', 1, '',
                         'o', NULL, NULL, NULL),
                        ('v', 'kept', '', 1, 'e', 1, '', 'o', NULL, 5, 65536);",
            )
            .unwrap();
        connection.pragma_update(None, "user_version", 13).unwrap();
    }
    let mut store = MetaStore::open(&path).unwrap();
    let stored: Vec<(String, i64)> = store
        .connection()
        .prepare("SELECT key, bytes_id FROM objects WHERE bytes_id IS NOT NULL ORDER BY key")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let expected = [("kept", 5), ("one", 6), ("two", 7)];
    let expected: Vec<(String, i64)> = expected
        .iter()
        .map(|(key, id)| (key.to_string(), *id))
        .collect();
    assert_eq!(stored, expected);
    let columns: i64 = store
        .connection()
        .query_row(
            "SELECT count(*) FROM pragma_table_info('objects') WHERE name = 'bytes'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(columns, 0);
    let body = |store: &mut MetaStore, bucket: &str, key: &str| {
        store
            .apply(&GetObject {
                bucket: bucket.into(),
                key: key.into(),
                with_bytes: true,
            })
            .unwrap()
            .map(|record| record.body)
    };
    let inline = |bytes: &[u8]| {
        Some(ObjectBody::Inline(crate::object_bytes::InlineBytes::new(
            bytes.to_vec(),
        )))
    };
    assert_eq!(body(&mut store, "b", "one"), inline(&[1]));
    assert_eq!(body(&mut store, "b", "two"), inline(&[2, 2]));
    assert_eq!(body(&mut store, "v", "kept"), inline(&[0xaa]));
    assert_eq!(
        body(&mut store, "b", "file"),
        Some(ObjectBody::File(crate::object_bytes::FileId(1)))
    );
    store
        .apply(&DeleteObject {
            bucket: "b".into(),
            key: "two".into(),
            version: None,
            condition: DeleteCondition::default(),
            requester: "o".into(),
            bypass_governance: false,
        })
        .unwrap();
    let ids: Vec<i64> = store
        .connection()
        .prepare("SELECT id FROM version_bytes ORDER BY id")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(ids, vec![5, 6]);
}

// Goal: the version-14 upgrade takes steps in proportion to the inline objects it moves. A
// correlated lookup into an unkeyed table once made it quadratic (40,000 rows took 47 s, a
// million would have taken hours before the server started). Counted in SQLite's
// virtual-machine steps, never in time: past the bound the upgrade is interrupted and fails.
#[test]
fn upgrades_version_thirteen_in_linear_steps() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    const ROWS: u64 = 20_000;
    // About 140 steps per row were measured; the quadratic upgrade takes thousands per row
    // at this size.
    const STEPS_PER_ROW_MAX: u64 = 1_000;
    const STEPS_PER_CALL: u64 = 1_000;
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("meta.sqlite");
    {
        let connection = version_thirteen_database(&path);
        connection
            .execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
                 INSERT INTO objects (bucket, key, file_id, size, etag, last_modified_ms,
                     headers, owner, bytes)
                 SELECT 'b', printf('k%08d', i), '', 100, 'e', 1, '', 'o', randomblob(100)
                 FROM n",
                [ROWS as i64],
            )
            .unwrap();
        connection.pragma_update(None, "user_version", 13).unwrap();
    }
    let mut connection = Connection::open(&path).unwrap();
    let steps = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&steps);
    connection.progress_handler(
        STEPS_PER_CALL as i32,
        Some(move || {
            counted.fetch_add(STEPS_PER_CALL, Ordering::Relaxed) > ROWS * STEPS_PER_ROW_MAX
        }),
    );
    let upgraded = prepare(&mut connection);
    connection.progress_handler(0, None::<fn() -> bool>);
    let steps = steps.load(Ordering::Relaxed);
    assert!(
        upgraded.is_ok(),
        "interrupted after {steps} steps ({ROWS} rows): {upgraded:?}"
    );
    eprintln!("{steps} steps for {ROWS} rows");
    let (named, distinct, stored): (u64, u64, u64) = connection
        .query_row(
            "SELECT count(bytes_id), count(DISTINCT bytes_id), \
             (SELECT count(*) FROM version_bytes) FROM objects",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    assert_eq!((named, distinct, stored), (ROWS, ROWS, ROWS));
}

// Goal: a version-14 database gains version 15's indexes at open, and the statements that use
// them run on it: a null version found after versioning is enabled (its statement names
// `versions_null` with INDEXED BY, which fails with "no such index" on a database without it),
// expired uploads reaped, tier garbage listed.
#[test]
fn upgrades_version_fourteen() {
    use crate::meta::store::tests::{create_bucket, object};
    use crate::meta::store::MetaStore;
    use crate::meta::{
        GetObjectVersion, ListTierGarbage, PutBucketVersioning, PutCondition, PutObject,
        ReapUploads, VersionLookup, VersionSelector, VersioningStatus,
    };
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("meta.sqlite");
    {
        let connection = version_thirteen_database(&path);
        connection.execute_batch(MIGRATION_V14).unwrap();
        connection.pragma_update(None, "user_version", 14).unwrap();
    }
    let mut store = MetaStore::open(&path).unwrap();
    let indexes: Vec<String> = store
        .connection()
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'index' AND name IN \
                  ('uploads_by_created', 'completed_uploads_by_completed', 'versions_null', \
                  'tier_garbage_by_tier') ORDER BY name",
        )
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        indexes,
        [
            "completed_uploads_by_completed",
            "tier_garbage_by_tier",
            "uploads_by_created",
            "versions_null"
        ]
    );
    store.apply(&create_bucket("b")).unwrap();
    store
        .apply(&PutObject(object("k", 1), PutCondition::None))
        .unwrap();
    store
        .apply(&PutBucketVersioning {
            bucket: "b".into(),
            status: VersioningStatus::Enabled,
        })
        .unwrap();
    store
        .apply(&PutObject(object("k", 2), PutCondition::None))
        .unwrap();
    let found = store
        .apply(&GetObjectVersion {
            bucket: "b".into(),
            key: "k".into(),
            version: VersionSelector::parse("null"),
            with_bytes: false,
        })
        .unwrap();
    assert!(
        matches!(&found, VersionLookup::Object(record) if record.files().first() == Some(&crate::object_bytes::FileId(1))),
        "{found:?}"
    );
    store
        .apply(&ReapUploads {
            created_before_ms: i64::MAX,
        })
        .unwrap();
    store
        .apply(&ListTierGarbage {
            tiers: vec!["COLD".into()],
            queued_before_ms: i64::MAX,
            limit: 1,
        })
        .unwrap();
}
