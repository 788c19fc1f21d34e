//! The SQLite schema and its version (a database at the current version skips the DDL), and how
//! each metadata connection is configured.

use rusqlite::config::DbConfig;
use rusqlite::Connection;

use crate::limits::{DATABASE_BUSY_WAIT_MS, METADATA_READER_PAGE_CACHE_KIB};

/// Schema version stored in `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 15;

const SCHEMA_V1: &str = "
CREATE TABLE buckets (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    region TEXT NOT NULL,
    created_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE objects (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    file_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified_ms INTEGER NOT NULL,
    content_type TEXT,
    headers TEXT NOT NULL,
    checksum TEXT,
    owner TEXT NOT NULL,
    parts TEXT,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE TABLE uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    owner TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    content_type TEXT,
    headers TEXT NOT NULL,
    checksum_algorithm TEXT,
    checksum_full_object INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX uploads_by_key ON uploads (bucket, key, upload_id);
CREATE TABLE missing_files (
    file_id TEXT PRIMARY KEY,
    found_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE parts (
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    file_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified_ms INTEGER NOT NULL,
    checksum TEXT,
    PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;
";

/// Version 2: access control lists (NULL = the owner's FULL_CONTROL only, S3's `private`), users
/// beyond the bootstrap admin, and completed upload ids (a repeated CompleteMultipartUpload of
/// the same upload answers 200 again, as S3 does).
const MIGRATION_V2: &str = "
ALTER TABLE buckets ADD COLUMN acl TEXT;
ALTER TABLE objects ADD COLUMN acl TEXT;
ALTER TABLE uploads ADD COLUMN acl TEXT;
CREATE TABLE users (
    access_key TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    display_name TEXT NOT NULL UNIQUE,
    email TEXT UNIQUE,
    canonical_id TEXT NOT NULL UNIQUE,
    created_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE completed_uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    etag TEXT NOT NULL,
    completed_ms INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Version 3: small objects stored inline. Their bytes live in a rowid table of their own so that
/// object rows (scanned by listings) stay small; an inline object's `file_id` is ''. The trigger
/// frees the bytes whichever way a row goes (DELETE, batch DELETE, or INSERT OR REPLACE, whose
/// implicit delete fires triggers because `prepare` turned `recursive_triggers` on). Version 4
/// moves the bytes back into the row.
const MIGRATION_V3: &str = "
CREATE TABLE inline_data (
    id INTEGER PRIMARY KEY,
    bytes BLOB NOT NULL
);
ALTER TABLE objects ADD COLUMN inline_id INTEGER;
CREATE TRIGGER objects_free_inline_data AFTER DELETE ON objects
WHEN old.inline_id IS NOT NULL
BEGIN
    DELETE FROM inline_data WHERE id = old.inline_id;
END;
";

/// Version 4: an inline object's bytes move into its own row, as its last column. Overwriting a
/// small object then rewrites two pages per key (the row's leaf and the blob's overflow page)
/// instead of three (plus the old `inline_data` row's leaf), and the metadata thread's commits are
/// bound by those page writes. Listings and HEADs read only the columns before `bytes`, which sit
/// in the leaf, so they never load the overflow pages.
const MIGRATION_V4: &str = "
ALTER TABLE objects ADD COLUMN bytes BLOB;
UPDATE objects SET bytes = (SELECT bytes FROM inline_data WHERE id = objects.inline_id)
WHERE inline_id IS NOT NULL;
DROP TRIGGER objects_free_inline_data;
DROP TABLE inline_data;
ALTER TABLE objects DROP COLUMN inline_id;
";

/// Version 5: versioning and Object Lock (issue 20), and tags (issue 21). Buckets gain their
/// versioning status (NULL: never enabled), Object Lock configuration and tags; versions gain
/// their retention, legal hold and tags (uploads keep those asked for at CreateMultipartUpload
/// until completion).
/// `objects` keeps exactly one row per key, the current version when it is not a delete marker,
/// so ListObjects never reads noncurrent versions or markers; it gains the version's id (NULL:
/// the `null` version) and sequence number (orders a key's versions; NULL for rows written before
/// versioning, which sort by their write time). It is rebuilt rather than altered so both sit
/// before `bytes`: a HEAD reads them without loading the blob's overflow pages. `versions` holds
/// every noncurrent version and every delete marker, newest first per key. In a bucket that was
/// ever versioned, inline bytes live in `version_bytes` (a rowid table, appended to) and rows
/// name them by `bytes_id`: a version then becomes noncurrent by copying its small row, never its
/// bytes, and both tables keep rows small (SQLite reads an overflowing cell of a WITHOUT ROWID
/// table whole each time a seek compares against it). Only a row written before versioning keeps
/// its bytes in the row until it first becomes noncurrent (until version 14 moved them all out).
const MIGRATION_V5: &str = "
ALTER TABLE buckets ADD COLUMN versioning TEXT;
ALTER TABLE buckets ADD COLUMN object_lock TEXT;
ALTER TABLE buckets ADD COLUMN tags TEXT;
ALTER TABLE uploads ADD COLUMN object_lock TEXT;
ALTER TABLE uploads ADD COLUMN tags TEXT;
CREATE TABLE objects_v5 (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    file_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified_ms INTEGER NOT NULL,
    content_type TEXT,
    headers TEXT NOT NULL,
    checksum TEXT,
    owner TEXT NOT NULL,
    parts TEXT,
    acl TEXT,
    version_id TEXT,
    sequence INTEGER,
    lock_mode TEXT,
    retain_until_ms INTEGER,
    legal_hold INTEGER NOT NULL DEFAULT 0,
    tags TEXT,
    bytes_id INTEGER,
    bytes BLOB,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
INSERT INTO objects_v5 (bucket, key, file_id, size, etag, last_modified_ms, content_type,
    headers, checksum, owner, parts, acl, bytes)
SELECT bucket, key, file_id, size, etag, last_modified_ms, content_type, headers, checksum,
    owner, parts, acl, bytes FROM objects;
DROP TABLE objects;
ALTER TABLE objects_v5 RENAME TO objects;
CREATE TABLE versions (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    version_id TEXT,
    delete_marker INTEGER NOT NULL,
    file_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified_ms INTEGER NOT NULL,
    content_type TEXT,
    headers TEXT NOT NULL,
    checksum TEXT,
    owner TEXT NOT NULL,
    parts TEXT,
    acl TEXT,
    lock_mode TEXT,
    retain_until_ms INTEGER,
    legal_hold INTEGER NOT NULL DEFAULT 0,
    tags TEXT,
    bytes_id INTEGER,
    PRIMARY KEY (bucket, key, sequence DESC)
) WITHOUT ROWID;
CREATE TABLE version_bytes (
    id INTEGER PRIMARY KEY,
    bytes BLOB NOT NULL
);
";

/// Version 6: a bucket's CORS rules (PutBucketCors, JSON), policy (the document as sent) and
/// PublicAccessBlock flags.
const MIGRATION_V6: &str = "
ALTER TABLE buckets ADD COLUMN cors TEXT;
ALTER TABLE buckets ADD COLUMN policy TEXT;
ALTER TABLE buckets ADD COLUMN public_access_block TEXT;
";

/// Version 7: whether any object of a bucket was ever written with a storage class other than
/// STANDARD (listings of the others never read the stored headers for one), set for the
/// buckets that already hold one.
const MIGRATION_V7: &str = "
ALTER TABLE buckets ADD COLUMN storage_classes INTEGER;
UPDATE buckets SET storage_classes = 1 WHERE name IN (
    SELECT bucket FROM objects WHERE headers LIKE '%x-amz-storage-class:%'
    UNION SELECT bucket FROM versions WHERE headers LIKE '%x-amz-storage-class:%');
";

/// Version 8: a bucket's lifecycle rules (PutBucketLifecycleConfiguration, JSON), when each
/// version became noncurrent (NULL for rows demoted before version 8: lifecycle then ages them
/// from their successor's write), and the
/// lifecycle pass's progress (one row): when the last pass started, where the running one is
/// (bucket, phase, last key done — or the key part-done and the last version sequence read —
/// and last upload id done), and whether a configuration changed since.
const MIGRATION_V8: &str = "
ALTER TABLE buckets ADD COLUMN lifecycle TEXT;
ALTER TABLE versions ADD COLUMN noncurrent_ms INTEGER;
CREATE TABLE lifecycle_progress (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    pass_started_ms INTEGER,
    running INTEGER NOT NULL DEFAULT 0,
    bucket TEXT NOT NULL DEFAULT '',
    phase INTEGER NOT NULL DEFAULT 0,
    after_key TEXT NOT NULL DEFAULT '',
    after_sequence INTEGER,
    after_rank INTEGER,
    after_successor_ms INTEGER,
    after_upload TEXT NOT NULL DEFAULT '',
    changed INTEGER NOT NULL DEFAULT 0
);
INSERT INTO lifecycle_progress (id) VALUES (1);
";

/// Version 9: a bucket's default encryption (PutBucketEncryption; `BucketEncryption::encode`).
const MIGRATION_V9: &str = "
ALTER TABLE buckets ADD COLUMN encryption TEXT;
";

/// Version 10: the admin API (issue 27). Users gain the admin role and a disabled flag; buckets
/// gain exact usage (`bucket_usage`: current objects, stored noncurrent versions — not delete
/// markers — and the bytes of both), counted by the row functions as they write
/// (`usage::count`) and added once per batch, in the same transaction; and optional quotas
/// (`bucket_quotas`). Both go with their bucket (a trigger: buckets are deleted rarely). Row
/// triggers kept usage first and cost a quarter of the 4 KiB PUT rate (BENCHMARKS.md).
const MIGRATION_V10: &str = "
ALTER TABLE users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
CREATE TABLE bucket_usage (
    bucket TEXT PRIMARY KEY,
    objects INTEGER NOT NULL,
    versions INTEGER NOT NULL,
    bytes INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE bucket_quotas (
    bucket TEXT PRIMARY KEY,
    bytes_max INTEGER,
    objects_max INTEGER
) WITHOUT ROWID;
INSERT INTO bucket_usage (bucket, objects, versions, bytes)
SELECT name,
    (SELECT count(*) FROM objects WHERE objects.bucket = buckets.name),
    (SELECT count(*) FROM versions WHERE versions.bucket = buckets.name AND delete_marker = 0),
    (SELECT coalesce(sum(size), 0) FROM objects WHERE objects.bucket = buckets.name)
    + (SELECT coalesce(sum(size), 0) FROM versions
       WHERE versions.bucket = buckets.name AND delete_marker = 0)
FROM buckets;
CREATE TRIGGER bucket_usage_bucket_removed AFTER DELETE ON buckets
BEGIN
    DELETE FROM bucket_usage WHERE bucket = old.name;
    DELETE FROM bucket_quotas WHERE bucket = old.name;
END;
";

/// Version 11: remote tiers (issue 24). A moved version's `file_id` names its remote object
/// (`<id>@<tier>`, `RemoteObject::encode`), so no column is added after the inline `bytes` (a HEAD
/// would then read the blob's overflow pages to reach it; version 14 dropped that column). Buckets gain a placement; upstream
/// objects no version references wait in `tier_garbage` for their deletion; the node's id, made
/// once, is part of every upstream name; its incarnation, made anew by each `ringstore restore`,
/// fences a superseded copy of the data dir off the tier (`tier::fence`). Partial indexes over moved rows only (local rows never
/// enter them, so writes of local objects do not maintain them) let the reconciler ask whether
/// an upstream object is referenced.
const MIGRATION_V11: &str = "
CREATE TABLE bucket_tiers (
    bucket TEXT PRIMARY KEY,
    tier TEXT NOT NULL,
    after_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE tier_garbage (
    id INTEGER PRIMARY KEY,
    tier TEXT NOT NULL,
    object_id TEXT NOT NULL,
    queued_ms INTEGER NOT NULL
);
CREATE INDEX tier_garbage_by_object ON tier_garbage (object_id);
CREATE TABLE node (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    node_id TEXT NOT NULL,
    incarnation TEXT NOT NULL
);
INSERT INTO node (id, node_id, incarnation)
VALUES (1, lower(hex(randomblob(16))), lower(hex(randomblob(16))));
CREATE TRIGGER bucket_tiers_bucket_removed AFTER DELETE ON buckets
BEGIN
    DELETE FROM bucket_tiers WHERE bucket = old.name;
END;
CREATE INDEX objects_moved ON objects (file_id) WHERE instr(file_id, '@') > 0;
CREATE INDEX versions_moved ON versions (file_id) WHERE instr(file_id, '@') > 0;
";

/// Version 12: the journal of multipart uploads the mover started upstream (`tier_uploads`) and
/// of their parts sent (`tier_upload_parts`), so a move a crash interrupted resumes where it
/// stopped and an upload nobody resumes is aborted by the reconciler.
const MIGRATION_V12: &str = "
CREATE TABLE tier_uploads (
    tier TEXT NOT NULL,
    object_id TEXT NOT NULL,
    attempt TEXT NOT NULL,
    upload_id TEXT NOT NULL,
    part_bytes INTEGER NOT NULL,
    started_ms INTEGER NOT NULL,
    PRIMARY KEY (tier, object_id, attempt)
) WITHOUT ROWID;
CREATE TABLE tier_upload_parts (
    tier TEXT NOT NULL,
    object_id TEXT NOT NULL,
    attempt TEXT NOT NULL,
    part_index INTEGER NOT NULL,
    content_id TEXT NOT NULL,
    PRIMARY KEY (tier, object_id, attempt, part_index)
) WITHOUT ROWID;
";

/// Version 13: noncurrent versions staged on their way into `versions` (`meta::version_staging`):
/// a rowid table, appended to by PutObjects into Enabled buckets and emptied into `versions`
/// before anything reads noncurrent versions, so that overwriting many keys does not write a
/// `versions` page per PUT. The columns of `versions`, without constraints (rows come from
/// `objects`; an insert that cannot fail needs no statement journal); the rowid carries the slot
/// of keys a row waits in.
const MIGRATION_V13: &str = "
CREATE TABLE versions_staged (
    bucket TEXT,
    key TEXT,
    sequence INTEGER,
    version_id TEXT,
    delete_marker INTEGER,
    file_id TEXT,
    size INTEGER,
    etag TEXT,
    last_modified_ms INTEGER,
    content_type TEXT,
    headers TEXT,
    checksum TEXT,
    owner TEXT,
    parts TEXT,
    acl TEXT,
    lock_mode TEXT,
    retain_until_ms INTEGER,
    legal_hold INTEGER,
    tags TEXT,
    bytes_id INTEGER,
    noncurrent_ms INTEGER
);
";

/// Why the schema could not be brought to the current version.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The database was written by a newer ringstore.
    #[error("database schema version {found} is newer than this ringstore understands ({SCHEMA_VERSION})")]
    TooNew {
        /// Version found in the file.
        found: i64,
    },
    /// The metadata reader opened a database whose schema the writer has not brought to this
    /// build's version (it must open first).
    #[error("the metadata reader found schema version {found}, not {SCHEMA_VERSION}")]
    ReaderFoundVersion {
        /// Version found in the file.
        found: i64,
    },
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Version 14: every inline object's bytes live in `version_bytes`, the current version's too,
/// and `objects` loses its `bytes` column. A WITHOUT ROWID table keeps whole rows in its b-tree,
/// interior pages included, and SQLite reads an overflowing cell whole, overflow pages and all,
/// each time a seek compares against it: with a 4 KiB object's bytes in its row, every PUT's
/// lookup and insert read blobs (a third of the metadata thread's time, BENCHMARKS.md
/// 2026-12-02, evening). The moved bytes take ids after those already there.
///
/// The ids are given in a keyed temporary table, so that naming them in `objects` is one lookup
/// per row (`upgrades_version_thirteen_in_linear_steps`). The upgrade copies every inline blob
/// once and rewrites `objects` (DROP COLUMN): the WAL grows by up to about the database's size
/// plus the inline bytes, and the pages the blobs leave stay in the file's freelist for later
/// writes.
const MIGRATION_V14: &str = "
CREATE TEMP TABLE moved_bytes (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    id INTEGER NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
INSERT INTO moved_bytes (bucket, key, id)
SELECT bucket, key, (SELECT coalesce(max(id), 0) FROM version_bytes)
    + row_number() OVER (ORDER BY bucket, key)
FROM objects WHERE bytes IS NOT NULL;
INSERT INTO version_bytes (id, bytes)
SELECT moved.id, objects.bytes FROM moved_bytes moved JOIN objects USING (bucket, key);
UPDATE objects SET bytes_id = moved.id FROM moved_bytes moved
WHERE moved.bucket = objects.bucket AND moved.key = objects.key;
DROP TABLE moved_bytes;
ALTER TABLE objects DROP COLUMN bytes;
";

/// Version 15: indexes for lookups that read in proportion to the data on the metadata writer,
/// where every write waits for them.
/// - The multipart reaper finds expired uploads and completed upload ids by their times, in steps
///   of `REAP_ROWS_PER_COMMAND`; before, each run read both tables whole (a week of
///   CompleteMultipartUploads) in one command.
/// - A key's null version is found without reading its other versions (`versions_null`, a
///   partial index holding only null versions' keys).
/// - Tier garbage is listed tier by tier (`tier_garbage_by_tier`), so rows of a tier that is not
///   configured or not this node's are not read every mover round.
const MIGRATION_V15: &str = "
CREATE INDEX uploads_by_created ON uploads (created_ms);
CREATE INDEX completed_uploads_by_completed ON completed_uploads (completed_ms);
CREATE INDEX versions_null ON versions (bucket, key) WHERE version_id IS NULL;
CREATE INDEX tier_garbage_by_tier ON tier_garbage (tier, queued_ms);
";

/// Configures the metadata reader's read-only connection as `prepare` configures the writer's
/// for reading (the same stable plans, the same wait for a lock), and checks that the writer left
/// the schema this build reads.
pub fn prepare_reader(connection: &Connection) -> Result<(), SchemaError> {
    connection.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    size_page_cache(connection)?;
    connection.busy_timeout(std::time::Duration::from_millis(DATABASE_BUSY_WAIT_MS))?;
    let found: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found != SCHEMA_VERSION {
        return Err(SchemaError::ReaderFoundVersion { found });
    }
    Ok(())
}

/// Gives the reader's connection a page cache of `METADATA_READER_PAGE_CACHE_KIB`. SQLite's
/// default (2,000 KiB) is smaller than the pages one delimiter listing of a big bucket visits
/// again on every run: a seek per common prefix, each to a leaf and an interior page of its own
/// (~2,000 pages for 997 prefixes far apart in 10,000,000 keys), so an LRU cache that holds fewer
/// than the page's pages misses on every one of them and each miss is a `pread`. The writer keeps
/// the default: nothing measured gains from more there, and its pages would cost the memory.
fn size_page_cache(connection: &Connection) -> Result<(), SchemaError> {
    // A negative cache_size is in KiB (https://sqlite.org/pragma.html#pragma_cache_size).
    connection.pragma_update(None, "cache_size", -(METADATA_READER_PAGE_CACHE_KIB as i64))?;
    Ok(())
}

/// Whether this build's SQLite keeps every connection's page cache in one pool
/// (`SQLITE_ENABLE_MEMORY_MANAGEMENT`, which rusqlite's bundled build defines and this
/// workspace's `.cargo/config.toml` undefines). In one pool the metadata writer, past its own
/// cache size, takes the reader's pages, and the reader's cache stops holding anything.
pub fn page_caches_share_one_pool() -> bool {
    // SAFETY: sqlite3_compileoption_used reads a NUL-terminated string and nothing else.
    unsafe { rusqlite::ffi::sqlite3_compileoption_used(c"ENABLE_MEMORY_MANAGEMENT".as_ptr()) != 0 }
}

/// Configures the connection and creates or checks the schema.
pub fn prepare(connection: &mut Connection) -> Result<(), SchemaError> {
    // WAL so readers never block the writer; FULL so each commit is durable before we acknowledge.
    connection.pragma_update(None, "journal_mode", "WAL")?;
    // The power-cut harness's second deliberate regression commits without syncing (SECURITY.md).
    let synchronous = if cfg!(feature = "test-skip-metadata-sync") {
        "OFF"
    } else {
        "FULL"
    };
    connection.pragma_update(None, "synchronous", synchronous)?;
    connection.pragma_update(None, "foreign_keys", "OFF")?;
    // Plans must not depend on bound values: otherwise SQLite re-prepares a statement whenever a
    // value it planned with changes (a LIMIT, a range start), and a delimiter listing re-runs its
    // statement once per common prefix with a new start each time.
    connection.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    // `ringstore user add` writes while the server runs; either side waits out the other's commit.
    connection.busy_timeout(std::time::Duration::from_millis(DATABASE_BUSY_WAIT_MS))?;
    let found: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(SchemaError::TooNew { found });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    // Each step runs in the same transaction as the version bump, so a crash mid-upgrade leaves the
    // old version intact and the next start repeats the whole upgrade.
    let transaction = connection.transaction()?;
    if found < 1 {
        transaction.execute_batch(SCHEMA_V1)?;
    }
    if found < 2 {
        transaction.execute_batch(MIGRATION_V2)?;
    }
    if found < 3 {
        transaction.execute_batch(MIGRATION_V3)?;
    }
    if found < 4 {
        transaction.execute_batch(MIGRATION_V4)?;
    }
    if found < 5 {
        transaction.execute_batch(MIGRATION_V5)?;
    }
    if found < 6 {
        transaction.execute_batch(MIGRATION_V6)?;
    }
    if found < 7 {
        transaction.execute_batch(MIGRATION_V7)?;
    }
    if found < 8 {
        transaction.execute_batch(MIGRATION_V8)?;
    }
    if found < 9 {
        transaction.execute_batch(MIGRATION_V9)?;
    }
    if found < 10 {
        transaction.execute_batch(MIGRATION_V10)?;
    }
    if found < 11 {
        transaction.execute_batch(MIGRATION_V11)?;
    }
    if found < 12 {
        transaction.execute_batch(MIGRATION_V12)?;
    }
    if found < 13 {
        transaction.execute_batch(MIGRATION_V13)?;
    }
    if found < 14 {
        transaction.execute_batch(MIGRATION_V14)?;
    }
    if found < 15 {
        transaction.execute_batch(MIGRATION_V15)?;
    }
    transaction.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    transaction.commit()?;
    Ok(())
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
