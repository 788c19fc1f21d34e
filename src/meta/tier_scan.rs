//! The mover's view of the metadata (issue 24): which versions are due to move to a tier — from
//! each bucket's placement (`TierPlacement`, stored by `tier_rows`) and lifecycle transitions, paged through in bounded scans — and, for
//! `ringstore restore`, which versions keep their bytes in local files.

use rusqlite::{params, Transaction};

use super::command::{Changes, MetaCommand};
use super::object_rows::decode_parts;
use super::{MetaError, PartExtent};
use crate::object_bytes::{FileId, RemoteObject};

/// Where a bucket's object bytes go, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierPlacement {
    /// The tier's name (`--tier NAME=URL`).
    pub tier: String,
    /// How long after its last write a version moves, in milliseconds (0: at once).
    pub after_ms: i64,
}

/// Which table a version to move is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionTable {
    /// `objects`: each key's current version.
    Current,
    /// `versions`: noncurrent versions.
    Noncurrent,
}

/// A version whose bytes are due to move to a tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveCandidate {
    /// Bucket name.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// The version's sequence in its key (the listing cursor of `Noncurrent`; 0 for current).
    pub sequence: i64,
    /// The version's `file_id` column as read (the commit checks it is unchanged).
    pub file_id: String,
    /// The version's `parts` column as read.
    pub parts_text: Option<String>,
    /// Size in bytes (of its plaintext, when encrypted).
    pub size_bytes: u64,
    /// Whether its files hold encrypted packages (each file then stores
    /// `storage::encryption::encrypted_size` of its plaintext bytes; they move as stored).
    pub encrypted: bool,
    /// The tier its bucket's placement names.
    pub tier: String,
}

impl MoveCandidate {
    /// The local files holding its bytes, in order.
    pub fn files(&self) -> Vec<PartExtent> {
        let parts = decode_parts(self.parts_text.as_deref());
        if !parts.is_empty() {
            return parts;
        }
        FileId::parse(&self.file_id)
            .map(|file_id| PartExtent {
                file_id,
                size_bytes: self.size_bytes,
                checksum: None,
            })
            .into_iter()
            .collect()
    }

    /// Its name upstream: the id of its (first) file, so a repeated move writes the same name.
    pub fn remote(&self) -> Option<RemoteObject> {
        self.files().first().map(|first| RemoteObject {
            tier: self.tier.clone(),
            object_id: first.file_id,
        })
    }
}

/// Where a version's bytes should be by `now_ms`, from its bucket's placement and lifecycle
/// transitions: the tier they are due in, if any.
struct BucketTiering {
    name: String,
    placement: Option<TierPlacement>,
    lifecycle: Option<crate::lifecycle::LifecycleConfiguration>,
}

/// The buckets with a placement or a lifecycle transition, by name, from `after` on.
fn tiered_buckets(
    transaction: &Transaction<'_>,
    after: &str,
) -> rusqlite::Result<Vec<BucketTiering>> {
    let mut statement = transaction.prepare_cached(
        "SELECT b.name, t.tier, t.after_ms, b.lifecycle FROM buckets b \
         LEFT JOIN bucket_tiers t ON t.bucket = b.name \
         WHERE b.name >= ?1 AND (t.tier IS NOT NULL OR instr(b.lifecycle, '\"class\"') > 0) \
         ORDER BY b.name",
    )?;
    let rows = statement.query_map([after], |row| {
        let tier: Option<String> = row.get(1)?;
        let after_ms: Option<i64> = row.get(2)?;
        let lifecycle: Option<String> = row.get(3)?;
        Ok(BucketTiering {
            name: row.get(0)?,
            placement: tier
                .zip(after_ms)
                .map(|(tier, after_ms)| TierPlacement { tier, after_ms }),
            lifecycle: lifecycle
                .as_deref()
                .and_then(crate::lifecycle::LifecycleConfiguration::decode)
                .filter(|configuration| configuration.transitions()),
        })
    })?;
    rows.collect()
}

/// One page of the mover's scan: the versions due to move among the rows read, and where the
/// next page starts (`None`: the scan reached the end).
#[derive(Debug, Default)]
pub struct MoveCandidates {
    /// Versions due to move.
    pub due: Vec<MoveCandidate>,
    /// The last row read: the next page's `after`.
    pub next: Option<(String, String, i64)>,
}

/// Reads up to `rows_max` rows of `table` after `after` (bucket, key, sequence) in the buckets
/// with a placement or lifecycle transitions, and answers those due to move by `now_ms`: a
/// placement's age passed, or a transition of the lifecycle due (days counted in `day_ms`). Only
/// local files move (inline objects stay in the metadata, their durable home; encrypted versions
/// move as stored, packages and tags). Rows are judged in Rust, not in SQL, so a page costs at
/// most `rows_max` rows however few are due.
#[derive(Debug)]
pub struct ListMoveCandidates {
    /// Where to look.
    pub table: VersionTable,
    /// The last row of the previous page (`None`: from the start).
    pub after: Option<(String, String, i64)>,
    /// Now, milliseconds since the Unix epoch.
    pub now_ms: i64,
    /// A lifecycle day in milliseconds (`Config::lifecycle_day_ms`).
    pub day_ms: i64,
    /// Rows read at most.
    pub rows_max: usize,
}

/// A row the scan reads.
struct ScannedRow {
    key: String,
    sequence: i64,
    file_id: String,
    parts_text: Option<String>,
    size_bytes: u64,
    last_modified_ms: i64,
    encrypted: bool,
    tags: Option<String>,
    noncurrent_ms: Option<i64>,
    newer_noncurrent: i64,
}

impl MetaCommand for ListMoveCandidates {
    type Reply = MoveCandidates;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<MoveCandidates, MetaError> {
        let first_bucket = self.after.as_ref().map_or("", |(bucket, _, _)| bucket);
        let buckets = tiered_buckets(transaction, first_bucket)?;
        let scanned = buckets.iter().map(|bucket| {
            // Counting newer versions costs a look at each: only for NewerNoncurrentVersions.
            let count_newer = bucket.lifecycle.as_ref().is_some_and(|lifecycle| {
                lifecycle.rules.iter().any(|rule| {
                    rule.noncurrent_transitions
                        .iter()
                        .any(|action| action.newer_noncurrent_versions.is_some())
                })
            });
            (bucket.name.as_str(), count_newer)
        });
        scan_page(
            transaction,
            self.table,
            self.after.as_ref(),
            self.rows_max,
            scanned,
            |index, row| self.due_tier(&buckets[index], row),
        )
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}

impl ListMoveCandidates {
    /// The tier `row` of `bucket` is due in now, if it is local and may move.
    fn due_tier(&self, bucket: &BucketTiering, row: &ScannedRow) -> Option<String> {
        if !local_file(row) {
            return None;
        }
        if let Some(placement) = &bucket.placement {
            if row.last_modified_ms <= self.now_ms - placement.after_ms {
                return Some(placement.tier.clone());
            }
        }
        let lifecycle = bucket.lifecycle.as_ref()?;
        let tags = crate::lifecycle::decode_tags(row.tags.as_deref());
        let facts = crate::lifecycle::VersionFacts {
            key: &row.key,
            size_bytes: row.size_bytes,
            tags: &tags,
        };
        let tier = match self.table {
            VersionTable::Current => lifecycle.current_transition_due(
                &facts,
                row.last_modified_ms,
                self.now_ms,
                self.day_ms,
            ),
            VersionTable::Noncurrent => lifecycle.noncurrent_transition_due(
                &facts,
                row.noncurrent_ms.unwrap_or(row.last_modified_ms),
                row.newer_noncurrent as usize,
                self.now_ms,
                self.day_ms,
            ),
        };
        tier.map(str::to_string)
    }
}

/// One page of every version whose bytes are in local files (not moved, not inline), in every
/// bucket: what `ringstore restore` checks against the tier, since a version
/// moved after the last metadata snapshot is local in the snapshot but upstream in fact. The
/// candidates' `tier` is empty.
#[derive(Debug)]
pub struct ListLocalVersions {
    /// Where to look.
    pub table: VersionTable,
    /// The last row of the previous page (`None`: from the start).
    pub after: Option<(String, String, i64)>,
    /// Rows read at most.
    pub rows_max: usize,
}

impl MetaCommand for ListLocalVersions {
    type Reply = MoveCandidates;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<MoveCandidates, MetaError> {
        let first_bucket = self.after.as_ref().map_or("", |(bucket, _, _)| bucket);
        let buckets: Vec<String> = transaction
            .prepare_cached("SELECT name FROM buckets WHERE name >= ?1 ORDER BY name")?
            .query_map([first_bucket], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        scan_page(
            transaction,
            self.table,
            self.after.as_ref(),
            self.rows_max,
            buckets.iter().map(|name| (name.as_str(), false)),
            |_, row| local_file(row).then(String::new),
        )
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}

/// Whether a row's bytes are in local files (not inline, not moved).
fn local_file(row: &ScannedRow) -> bool {
    (!row.file_id.is_empty() || row.parts_text.is_some())
        && RemoteObject::parse(&row.file_id).is_none()
}

/// One page of a scan of `table` over `buckets` (name, whether to count newer noncurrent
/// versions), in name order, from after `after`: at most `rows_max` rows read, those `judge`
/// gives a tier for (by the bucket's index in `buckets`) answered as candidates.
fn scan_page<'b>(
    transaction: &Transaction<'_>,
    table: VersionTable,
    after: Option<&(String, String, i64)>,
    rows_max: usize,
    buckets: impl Iterator<Item = (&'b str, bool)>,
    judge: impl Fn(usize, &ScannedRow) -> Option<String>,
) -> Result<MoveCandidates, MetaError> {
    let mut page = MoveCandidates::default();
    let mut budget = rows_max;
    for (index, (bucket, count_newer)) in buckets.enumerate() {
        let start = match after {
            Some((first, key, sequence)) if first == bucket => (key.as_str(), *sequence),
            _ => ("", i64::MAX),
        };
        let rows = scan_rows(transaction, table, bucket, start, budget, count_newer)?;
        budget -= rows.len();
        for row in &rows {
            if let Some(tier) = judge(index, row) {
                page.due.push(MoveCandidate {
                    bucket: bucket.to_string(),
                    key: row.key.clone(),
                    sequence: row.sequence,
                    file_id: row.file_id.clone(),
                    parts_text: row.parts_text.clone(),
                    size_bytes: row.size_bytes,
                    encrypted: row.encrypted,
                    tier,
                });
            }
        }
        if let Some(last) = rows.last() {
            page.next = Some((bucket.to_string(), last.key.clone(), last.sequence));
        }
        if budget == 0 {
            return Ok(page);
        }
    }
    page.next = None;
    Ok(page)
}

/// Up to `limit` rows of `bucket` in `table` after (`key`, `sequence`); with `count_newer`, each
/// noncurrent row with the number of newer noncurrent versions of its key (else 0), counted as
/// the rows are read (the page's rows of a key are consecutive and newest first) from one count
/// of those above where the page resumes. A count per row made a page inside a key of N versions
/// read up to N rows per row (4.5–9.9 s a page at 100,000 versions, measured in review).
fn scan_rows(
    transaction: &Transaction<'_>,
    table: VersionTable,
    bucket: &str,
    (key, sequence): (&str, i64),
    limit: usize,
    count_newer: bool,
) -> rusqlite::Result<Vec<ScannedRow>> {
    let sql = match table {
        VersionTable::Current => {
            "SELECT key, 0, file_id, parts, size, last_modified_ms, \
             instr(headers, 'x-ringstore-sealed-key:') > 0, tags, NULL \
             FROM objects WHERE bucket = ?1 AND key > ?2 ORDER BY key LIMIT ?4"
        }
        VersionTable::Noncurrent => {
            "SELECT key, sequence, file_id, parts, size, last_modified_ms, \
             instr(headers, 'x-ringstore-sealed-key:') > 0, tags, noncurrent_ms \
             FROM versions v WHERE bucket = ?1 AND delete_marker = 0 \
             AND (key > ?2 OR (key = ?2 AND sequence < ?3)) \
             ORDER BY key, sequence DESC LIMIT ?4"
        }
    };
    let mut statement = transaction.prepare_cached(sql)?;
    let rows = statement.query_map(params![bucket, key, sequence, limit as i64], |row| {
        Ok(ScannedRow {
            key: row.get(0)?,
            sequence: row.get(1)?,
            file_id: row.get(2)?,
            parts_text: row.get(3)?,
            size_bytes: row.get::<_, i64>(4)? as u64,
            last_modified_ms: row.get(5)?,
            encrypted: row.get(6)?,
            tags: row.get(7)?,
            noncurrent_ms: row.get(8)?,
            newer_noncurrent: 0,
        })
    })?;
    let mut rows: Vec<ScannedRow> = rows.collect::<rusqlite::Result<_>>()?;
    if count_newer && table == VersionTable::Noncurrent {
        // The resumed key's noncurrent versions at or above the cursor: those newer than its
        // first row here (none lies between).
        let mut newer: i64 = transaction
            .prepare_cached(
                "SELECT count(*) FROM versions WHERE bucket = ?1 AND key = ?2 \
                 AND sequence >= ?3 AND delete_marker = 0",
            )?
            .query_row(params![bucket, key, sequence], |row| row.get(0))?;
        let mut previous_key = key.to_string();
        for row in &mut rows {
            if row.key != previous_key {
                previous_key.clone_from(&row.key);
                newer = 0;
            }
            row.newer_noncurrent = newer;
            newer += 1;
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::store::tests::{object, versioned_store};
    use crate::meta::{DeleteCondition, DeleteObject, PutCondition, PutObject};

    #[test]
    fn newer_noncurrent_versions_are_counted_across_pages() {
        // Goal: each noncurrent row scanned carries the number of newer noncurrent versions of
        // its key (delete markers not counted), also when a page resumes inside the key: the
        // count made as the rows are read equals the count of each row's newer versions.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.sqlite");
        let mut store = versioned_store(&path);
        let mut file = 0u128;
        let mut put = |store: &mut crate::meta::MetaStore, key: &str| {
            file += 1;
            store
                .apply(&PutObject(object(key, file), PutCondition::None))
                .unwrap();
        };
        for index in 0..12 {
            put(&mut store, "k");
            if index == 5 {
                store
                    .apply(&DeleteObject {
                        bucket: "b".into(),
                        key: "k".into(),
                        version: None,
                        condition: DeleteCondition::default(),
                        requester: "o".into(),
                        bypass_governance: false,
                    })
                    .unwrap();
            }
        }
        for _ in 0..4 {
            put(&mut store, "m");
        }
        drop(store);
        let mut connection = rusqlite::Connection::open(&path).unwrap();
        let transaction = connection.transaction().unwrap();
        let mut scanned = Vec::new();
        let mut after = (String::new(), i64::MAX);
        loop {
            let rows = scan_rows(
                &transaction,
                VersionTable::Noncurrent,
                "b",
                (after.0.as_str(), after.1),
                3,
                true,
            )
            .unwrap();
            let Some(last) = rows.last() else { break };
            after = (last.key.clone(), last.sequence);
            scanned.extend(
                rows.into_iter()
                    .map(|row| (row.key, row.sequence, row.newer_noncurrent)),
            );
        }
        // 11 noncurrent versions of k and 3 of m (the newest of each is current).
        assert_eq!(scanned.len(), 14);
        for (key, sequence, newer) in &scanned {
            let expected: i64 = transaction
                .query_row(
                    "SELECT count(*) FROM versions WHERE bucket = 'b' AND key = ?1 \
                     AND sequence > ?2 AND delete_marker = 0",
                    rusqlite::params![key, sequence],
                    |row| row.get(0),
                )
                .unwrap();
            assert_eq!(*newer, expected, "{key} {sequence}");
        }
        let newest_first: Vec<i64> = scanned.iter().map(|(_, _, newer)| *newer).collect();
        assert_eq!(newest_first, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 1, 2]);
    }
}
