//! Noncurrent versions staged on their way into `versions`: a PutObject into an Enabled bucket
//! appends the version it makes noncurrent to `versions_staged` (a rowid table, so consecutive
//! PUTs share its last page) instead of inserting it at its key's place in `versions` (a page
//! of its own per PUT over many keys). Staged rows move into `versions` several versions of a
//! key at a time, so that they share that key's page write: every row, before any command that
//! may read noncurrent versions runs; and, while only PUTs come, one slot of keys (a hash of
//! bucket and key, `VERSIONS_STAGED_SLOTS` of them) each `VERSIONS_STAGED_ROWS_MAX /
//! VERSIONS_STAGED_SLOTS` staged rows, so each slot waits at most one round of
//! `VERSIONS_STAGED_ROWS_MAX` rows and no single batch moves them all (a slot holding twice its
//! share, a few hot keys, moves out of turn).
//!
//! Why this is safe without every reader knowing the table: a staged row is always older than
//! its key's current row (only a demotion by a newer current row stages one, and only commands
//! that settle first remove a current row), so the commands that skip settling (PutObject and
//! the current-version GetObject, `MetaCommand::keeps_versions_staged`) never need one. Only a
//! version whose bytes are inline (in `version_bytes`) is staged: no file-reference scan (the
//! startup scrub reads rows on its own connection) or tier reconciler ever looks for it.

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::LazyLock;

use rusqlite::{params, Transaction};

use super::version_rows::{current_as_version_sql, CurrentRow, VERSION_COLUMNS};
use crate::limits::{VERSIONS_STAGED_ROWS_MAX, VERSIONS_STAGED_SLOTS};

/// Staged rows between two slots' moves.
const ROWS_PER_SLOT: i64 = (VERSIONS_STAGED_ROWS_MAX / VERSIONS_STAGED_SLOTS) as i64;

/// Whether the key's current row may be staged rather than inserted into `versions`: its bytes
/// are inline in `version_bytes` (see the module's note).
pub(super) fn stageable(current: &CurrentRow) -> bool {
    current.bytes_id.is_some() && current.remote.is_none()
}

/// The slot of a key: every version of it waits in the same one.
fn slot_of(bucket: &str, key: &str) -> i64 {
    // Fixed keys, so one slot per key for the process's life; no row is staged across
    // processes (opening the database settles them all).
    let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one((bucket, key));
    (hash % VERSIONS_STAGED_SLOTS as u64) as i64
}

/// A staged row's rowid is its slot shifted by this, plus a count: each slot's rows are one
/// range of the table, appended to at its end and moved as whole pages.
const SLOT_SHIFT: u32 = 40;

/// Rows one slot may hold before it moves out of turn. Keys spread over the slots fill each
/// with ~`ROWS_PER_SLOT` a round; a few hot keys hashing to one slot would otherwise fill it
/// with the whole round and move it all in one batch (~150 ms at 32,768 rows).
const SLOT_ROWS_MAX: i64 = 2 * ROWS_PER_SLOT;

thread_local! {
    /// Rows staged into each slot since it last moved, on this thread (the one metadata
    /// thread). Only paces moves: a rolled-back insert or move leaves it off until the slot's
    /// next move, which comes within a round all the same.
    static SLOT_ROWS: std::cell::Cell<[i64; VERSIONS_STAGED_SLOTS]> =
        const { std::cell::Cell::new([0; VERSIONS_STAGED_SLOTS]) };
}

/// Sets `slot`'s count in `SLOT_ROWS` to what `count` makes of it; answers the new count.
fn update_slot_rows(slot: i64, count: impl FnOnce(i64) -> i64) -> i64 {
    SLOT_ROWS.with(|rows| {
        let mut counts = rows.get();
        counts[slot as usize] = count(counts[slot as usize]);
        rows.set(counts);
        counts[slot as usize]
    })
}

/// Copies the key's current row (`stageable`) into `versions_staged`, noncurrent from
/// `noncurrent_ms`; every `ROWS_PER_SLOT` rows, settles the next slot, and a slot that reached
/// `SLOT_ROWS_MAX` rows at once.
pub(super) fn stage_current(
    transaction: &Transaction<'_>,
    bucket: &str,
    key: &str,
    current: &CurrentRow,
    noncurrent_ms: i64,
) -> rusqlite::Result<()> {
    debug_assert!(stageable(current));
    // Counted per thread (one metadata thread): a rolled-back PUT or batch still counts, which
    // only shifts the pace (a slot then waits up to one more round). The count orders rows
    // within a slot and never repeats in a process (none are staged across processes).
    thread_local! {
        static STAGED: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
    }
    let staged = STAGED.with(|staged| {
        staged.set(staged.get() + 1);
        staged.get()
    });
    let slot = slot_of(bucket, key);
    let rowid = (slot << SLOT_SHIFT) | (staged & ((1 << SLOT_SHIFT) - 1));
    // Built once: it runs on every overwrite of an inline version (formatting it per PUT showed
    // in the metadata thread's profile).
    static STAGE_SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "INSERT OR REPLACE INTO versions_staged (rowid, {VERSION_COLUMNS}) SELECT ?4, {}",
            current_as_version_sql()
        )
    });
    transaction
        .prepare_cached(&STAGE_SQL)?
        .execute(params![bucket, key, noncurrent_ms, rowid])?;
    super::usage::count(bucket, 0, 1, current.size_bytes as i64);
    if update_slot_rows(slot, |rows| rows + 1) >= SLOT_ROWS_MAX {
        settle_slot(transaction, slot)?;
    }
    if staged % ROWS_PER_SLOT == 0 {
        settle_slot(
            transaction,
            (staged / ROWS_PER_SLOT) % VERSIONS_STAGED_SLOTS as i64,
        )?;
    }
    Ok(())
}

/// Moves one slot's staged rows into `versions`, in the order of its primary key. A row already
/// there (the same version: a move stopped between its two statements, which the rest of its
/// batch commits; a data dir from before `MetaStore::in_batch` undid failed commands) is
/// replaced: one such row must not refuse every later move, and with it every command.
fn settle_slot(transaction: &Transaction<'_>, slot: i64) -> rusqlite::Result<()> {
    let started = std::time::Instant::now();
    update_slot_rows(slot, |_| 0);
    let (first, last) = (slot << SLOT_SHIFT, ((slot + 1) << SLOT_SHIFT) - 1);
    let moved = transaction
        .prepare_cached(&format!(
            "INSERT OR REPLACE INTO versions ({VERSION_COLUMNS}) SELECT {VERSION_COLUMNS} \
             FROM versions_staged WHERE rowid BETWEEN ?1 AND ?2 \
             ORDER BY bucket, key, sequence DESC"
        ))?
        .execute([first, last])?;
    transaction
        .prepare_cached("DELETE FROM versions_staged WHERE rowid BETWEEN ?1 AND ?2")?
        .execute([first, last])?;
    tracing::debug!(
        slot,
        versions = moved,
        elapsed_us = started.elapsed().as_micros() as u64,
        "a slot of staged noncurrent versions settled"
    );
    Ok(())
}

/// Moves every staged row into `versions`, in the order of its primary key (a row already there
/// replaced, as in `settle_slot`).
pub(crate) fn settle(transaction: &Transaction<'_>) -> rusqlite::Result<()> {
    let waiting: bool = transaction
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM versions_staged)")?
        .query_row([], |row| row.get(0))?;
    if !waiting {
        return Ok(());
    }
    let started = std::time::Instant::now();
    SLOT_ROWS.with(|rows| rows.set([0; VERSIONS_STAGED_SLOTS]));
    let moved = transaction
        .prepare_cached(&format!(
            "INSERT OR REPLACE INTO versions ({VERSION_COLUMNS}) SELECT {VERSION_COLUMNS} \
             FROM versions_staged ORDER BY bucket, key, sequence DESC"
        ))?
        .execute([])?;
    transaction
        .prepare_cached("DELETE FROM versions_staged")?
        .execute([])?;
    tracing::debug!(
        versions = moved,
        elapsed_us = started.elapsed().as_micros() as u64,
        "staged noncurrent versions settled"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::limits::VERSIONS_STAGED_ROWS_MAX;
    use crate::meta::store::tests::{count, every_version, inline_object, versioned_store};
    use crate::meta::store::MetaStore;
    use crate::meta::version_id::VersionSelector;
    use crate::meta::version_lookup::VersionLookup;
    use crate::meta::{GetObject, GetObjectVersion, ObjectBody, PutCondition, PutObject};

    fn put(store: &mut MetaStore, key: &str, bytes: &[u8]) -> String {
        store
            .apply(&PutObject(inline_object(key, bytes), PutCondition::None))
            .unwrap()
            .version_id
            .unwrap()
    }

    fn bytes_of(store: &mut MetaStore, version: &str) -> Vec<u8> {
        match store
            .apply(&GetObjectVersion {
                bucket: "b".into(),
                key: "k".into(),
                version: Some(VersionSelector::parse(version).unwrap()),
                with_bytes: true,
            })
            .unwrap()
        {
            VersionLookup::Object(record) => match record.body {
                ObjectBody::Inline(bytes) => bytes.as_slice().to_vec(),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn overwrites_stay_staged_until_something_reads_versions() {
        // Goal: overwrites in an Enabled bucket stage the versions they make noncurrent; reading
        // the current version (GetObject, or GetObjectVersion naming none) leaves them staged; a listing settles them first and sees every
        // version, newest first, and a GET by versionId reads a formerly staged one's bytes.
        let dir = tempfile::tempdir().unwrap();
        let mut store = versioned_store(&dir.path().join("m.sqlite"));
        let ids: Vec<String> = (0..4)
            .map(|round| put(&mut store, "k", format!("v{round}").as_bytes()))
            .collect();
        assert_eq!(count(&store, "versions_staged"), 3);
        assert_eq!(count(&store, "versions"), 0);
        let current = store
            .apply(&GetObject {
                bucket: "b".into(),
                key: "k".into(),
                with_bytes: true,
            })
            .unwrap()
            .unwrap();
        assert_eq!(current.version_id.as_deref(), Some(ids[3].as_str()));
        let latest = store
            .apply(&GetObjectVersion {
                bucket: "b".into(),
                key: "k".into(),
                version: None,
                with_bytes: false,
            })
            .unwrap();
        assert!(
            matches!(latest, VersionLookup::Object(record) if record.version_id == current.version_id)
        );
        assert_eq!(count(&store, "versions_staged"), 3);
        let page = store.apply(&every_version("b")).unwrap();
        let listed: Vec<&str> = page
            .entries
            .iter()
            .map(|entry| entry.version_id.as_deref().unwrap())
            .collect();
        let newest_first: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
        assert_eq!(listed, newest_first);
        assert!(page.entries[0].is_latest && !page.entries[1].is_latest);
        assert_eq!(count(&store, "versions_staged"), 0);
        assert_eq!(count(&store, "versions"), 3);
        put(&mut store, "k", b"v4");
        assert_eq!(count(&store, "versions_staged"), 1);
        assert_eq!(bytes_of(&mut store, &ids[1]), b"v1");
        assert_eq!(bytes_of(&mut store, &ids[3]), b"v3");
        assert_eq!(count(&store, "versions_staged"), 0);
    }

    #[test]
    fn a_version_staged_twice_settles_once() {
        // Goal: a staged row whose version already reached `versions` (a move that failed
        // between its two statements) does not refuse the next move, and the version is listed
        // once.
        let dir = tempfile::tempdir().unwrap();
        let mut store = versioned_store(&dir.path().join("m.sqlite"));
        let first = put(&mut store, "k", b"one");
        put(&mut store, "k", b"two");
        store
            .connection()
            .execute_batch(
                "INSERT INTO versions_staged SELECT * FROM versions_staged; \
                 INSERT INTO versions SELECT bucket, key, sequence, version_id, delete_marker, \
                 file_id, size, etag, last_modified_ms, content_type, headers, checksum, owner, \
                 parts, acl, lock_mode, retain_until_ms, legal_hold, tags, bytes_id, \
                 noncurrent_ms FROM versions_staged LIMIT 1",
            )
            .unwrap();
        assert_eq!(count(&store, "versions_staged"), 2);
        assert_eq!(bytes_of(&mut store, &first), b"one");
        assert_eq!(count(&store, "versions_staged"), 0);
        assert_eq!(count(&store, "versions"), 1);
    }

    #[test]
    fn slots_settle_within_a_round_and_reopening_settles_the_rest() {
        // Goal: PUTs alone move staged versions a slot at a time, none waiting more than
        // VERSIONS_STAGED_ROWS_MAX PUTs, and a database opened with staged rows has them in
        // `versions` before anything reads it. Over 1,000 keys no slot reaches SLOT_ROWS_MAX
        // in a round, so only the regular pace moves them here.
        const KEYS: usize = 1_000;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.sqlite");
        let mut store = versioned_store(&path);
        let puts: Vec<PutObject> = (0..VERSIONS_STAGED_ROWS_MAX + 11)
            .map(|round| {
                PutObject(
                    inline_object(&format!("k{}", round % KEYS), b"x"),
                    PutCondition::None,
                )
            })
            .collect();
        for reply in store.apply_all(&puts) {
            reply.unwrap();
        }
        let noncurrent = (VERSIONS_STAGED_ROWS_MAX + 11 - KEYS) as i64;
        assert_eq!(
            count(&store, "versions_staged") + count(&store, "versions"),
            noncurrent
        );
        // Slots moved on the way, a slot at a time (some rows still wait), and none waited
        // longer than a round.
        assert!(count(&store, "versions") > 0);
        assert!(count(&store, "versions_staged") > 0);
        let waited: i64 = store
            .connection()
            .query_row(
                "SELECT max(rowid & ?1) - min(rowid & ?1) FROM versions_staged",
                [(1i64 << super::SLOT_SHIFT) - 1],
                |row| row.get(0),
            )
            .unwrap();
        assert!(waited < VERSIONS_STAGED_ROWS_MAX as i64, "{waited}");
        drop(store);
        let store = MetaStore::open(&path).unwrap();
        assert_eq!(count(&store, "versions_staged"), 0);
        assert_eq!(count(&store, "versions"), noncurrent);
    }

    #[test]
    fn a_hot_slot_moves_before_it_holds_a_round() {
        // Goal: overwrites of one key (one slot) do not pile up a whole round in that slot and
        // move it in one batch: the slot moves out of turn at SLOT_ROWS_MAX rows.
        let dir = tempfile::tempdir().unwrap();
        let mut store = versioned_store(&dir.path().join("m.sqlite"));
        let rounds = 2 * super::SLOT_ROWS_MAX as usize + 5;
        // A key whose slot the regular pace does not reach in `rounds` PUTs (it moves slots
        // 1, 2, 3 and 4 by then), so only the out-of-turn move can keep it short.
        let key = (0..)
            .map(|n| format!("hot{n}"))
            .find(|key| super::slot_of("b", key) > 4)
            .unwrap();
        let puts: Vec<PutObject> = (0..rounds)
            .map(|_| PutObject(inline_object(&key, b"x"), PutCondition::None))
            .collect();
        for reply in store.apply_all(&puts) {
            reply.unwrap();
        }
        // Two moves of SLOT_ROWS_MAX rows each, the rest still staged.
        assert_eq!(count(&store, "versions"), 2 * super::SLOT_ROWS_MAX);
        assert_eq!(
            count(&store, "versions_staged"),
            rounds as i64 - 1 - 2 * super::SLOT_ROWS_MAX
        );
    }
}
