//! The SQLite schema and its version; a database at the current version skips the DDL.

use rusqlite::Connection;

/// Schema version stored in `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 1;

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

/// Why the schema could not be brought to the current version.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The database was written by a newer ringstore.
    #[error("database schema version {found} is newer than this ringstore understands ({SCHEMA_VERSION})")]
    TooNew {
        /// Version found in the file.
        found: i64,
    },
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Configures the connection and creates or checks the schema.
pub fn prepare(connection: &mut Connection) -> Result<(), SchemaError> {
    // WAL so readers never block the writer; FULL so each commit is durable before we acknowledge.
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", "OFF")?;
    let found: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    match found {
        SCHEMA_VERSION => Ok(()),
        0 => {
            let transaction = connection.transaction()?;
            transaction.execute_batch(SCHEMA_V1)?;
            transaction.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            transaction.commit()?;
            Ok(())
        }
        found => Err(SchemaError::TooNew { found }),
    }
}
