//! Remote tiers in the metadata (issue 24): each bucket's placement (which tier, after how
//! long), this node's id (part of every upstream name), the objects due to move, the one commit
//! that switches an object from its local files to its remote copy, and the durable queue of
//! upstream objects no version references any more (garbage, deleted upstream later).

use rusqlite::{params, OptionalExtension, Transaction};

use super::command::{Changes, MetaCommand};
use super::object_rows::{decode_headers, decode_parts, encode_headers, STORAGE_CLASS_HEADER};
use super::{MetaError, PartExtent};
use crate::object_bytes::{FileId, RemoteObject};

/// Queues `remote` (if the removed row had been moved) for deletion upstream, in the same
/// transaction that removed the last reference to it: the upstream delete happens later, after
/// a grace period that lets reads already streaming it finish.
pub(crate) fn queue_garbage(
    transaction: &Transaction<'_>,
    remote: Option<&RemoteObject>,
) -> rusqlite::Result<()> {
    let Some(remote) = remote else {
        return Ok(());
    };
    transaction
        .prepare_cached(
            "INSERT INTO tier_garbage (tier, object_id, queued_ms) \
             VALUES (?1, ?2, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))",
        )?
        .execute(params![remote.tier, remote.object_id.to_string()])?;
    Ok(())
}

/// Where a bucket's object bytes go, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierPlacement {
    /// The tier's name (`--tier NAME=URL`).
    pub tier: String,
    /// How long after its last write a version moves, in milliseconds (0: at once).
    pub after_ms: i64,
}

/// Sets (`Some`) or removes (`None`) a bucket's placement (`ringstore bucket tier`). Versions
/// already moved stay where they are.
#[derive(Debug)]
pub struct PutBucketTier {
    /// Bucket name.
    pub bucket: String,
    /// The placement.
    pub placement: Option<TierPlacement>,
}

impl MetaCommand for PutBucketTier {
    type Reply = ();

    fn apply(&self, transaction: &Transaction<'_>) -> Result<(), MetaError> {
        super::bucket_rows::require_bucket(transaction, &self.bucket)?;
        match &self.placement {
            None => transaction
                .prepare_cached("DELETE FROM bucket_tiers WHERE bucket = ?1")?
                .execute([&self.bucket])?,
            Some(placement) => transaction
                .prepare_cached(
                    "INSERT OR REPLACE INTO bucket_tiers (bucket, tier, after_ms) \
                     VALUES (?1, ?2, ?3)",
                )?
                .execute(params![self.bucket, placement.tier, placement.after_ms])?,
        };
        Ok(())
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}

/// One bucket's placement, if it has one.
#[derive(Debug)]
pub struct GetBucketTier {
    /// Bucket name.
    pub bucket: String,
}

impl MetaCommand for GetBucketTier {
    type Reply = Option<TierPlacement>;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<Self::Reply, MetaError> {
        Ok(transaction
            .prepare_cached("SELECT tier, after_ms FROM bucket_tiers WHERE bucket = ?1")?
            .query_row([&self.bucket], |row| {
                Ok(TierPlacement {
                    tier: row.get(0)?,
                    after_ms: row.get(1)?,
                })
            })
            .optional()?)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}

/// Every bucket's placement, by bucket name.
#[derive(Debug)]
pub struct ListBucketTiers;

impl MetaCommand for ListBucketTiers {
    type Reply = Vec<(String, TierPlacement)>;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<Self::Reply, MetaError> {
        let mut statement = transaction
            .prepare_cached("SELECT bucket, tier, after_ms FROM bucket_tiers ORDER BY bucket")?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get(0)?,
                TierPlacement {
                    tier: row.get(1)?,
                    after_ms: row.get(2)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}

/// This node's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeIdentity {
    /// 32 hex digits made once with the data dir, so two nodes writing to one remote bucket
    /// never share a name (and a node restored from its metadata keeps its names).
    pub node_id: String,
    /// 32 hex digits made with the data dir and anew by each `ringstore restore`: the tier
    /// holds the newest, and a data dir whose incarnation is not it was superseded.
    pub incarnation: String,
}

/// This node's identity.
#[derive(Debug)]
pub struct GetNodeId;

impl MetaCommand for GetNodeId {
    type Reply = NodeIdentity;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<NodeIdentity, MetaError> {
        Ok(transaction
            .prepare_cached("SELECT node_id, incarnation FROM node WHERE id = 1")?
            .query_row([], |row| {
                Ok(NodeIdentity {
                    node_id: row.get(0)?,
                    incarnation: row.get(1)?,
                })
            })?)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}

/// Gives the node a new incarnation (`ringstore restore`); the new one.
#[derive(Debug)]
pub struct RenewIncarnation;

impl MetaCommand for RenewIncarnation {
    type Reply = String;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<String, MetaError> {
        Ok(transaction
            .prepare_cached(
                "UPDATE node SET incarnation = lower(hex(randomblob(16))) WHERE id = 1 \
                 RETURNING incarnation",
            )?
            .query_row([], |row| row.get(0))?)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
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
    /// Size in bytes.
    pub size_bytes: u64,
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
/// local files move (inline objects stay in the metadata, their durable home), never encrypted
/// versions (their reads decrypt local files; README, Tiers). Rows are judged in Rust, not in
/// SQL, so a page costs at most `rows_max` rows however few are due.
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
        if !local_file(row) || row.encrypted {
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

/// One page of every version whose bytes are in local files (not moved, not inline, not
/// encrypted), in every bucket: what `ringstore restore` checks against the tier, since a version
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
            |_, row| (local_file(row) && !row.encrypted).then(String::new),
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
/// noncurrent row with the number of newer noncurrent versions of its key (else 0).
fn scan_rows(
    transaction: &Transaction<'_>,
    table: VersionTable,
    bucket: &str,
    (key, sequence): (&str, i64),
    limit: usize,
    count_newer: bool,
) -> rusqlite::Result<Vec<ScannedRow>> {
    let sql = match (table, count_newer) {
        (VersionTable::Current, _) => {
            "SELECT key, 0, file_id, parts, size, last_modified_ms, \
             instr(headers, 'x-ringstore-sealed-key:') > 0, tags, NULL, 0 \
             FROM objects WHERE bucket = ?1 AND key > ?2 ORDER BY key LIMIT ?4"
        }
        (VersionTable::Noncurrent, false) => {
            "SELECT key, sequence, file_id, parts, size, last_modified_ms, \
             instr(headers, 'x-ringstore-sealed-key:') > 0, tags, noncurrent_ms, 0 \
             FROM versions v WHERE bucket = ?1 AND delete_marker = 0 \
             AND (key > ?2 OR (key = ?2 AND sequence < ?3)) \
             ORDER BY key, sequence DESC LIMIT ?4"
        }
        (VersionTable::Noncurrent, true) => {
            "SELECT key, sequence, file_id, parts, size, last_modified_ms, \
             instr(headers, 'x-ringstore-sealed-key:') > 0, tags, noncurrent_ms, \
             (SELECT count(*) FROM versions newer WHERE newer.bucket = v.bucket \
              AND newer.key = v.key AND newer.sequence > v.sequence AND newer.delete_marker = 0) \
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
            newer_noncurrent: row.get(9)?,
        })
    })?;
    rows.collect()
}

/// The switch of one version from its local files to its remote copy, after the upload
/// completed: its `file_id` becomes the remote name and its storage class the tier's name. If
/// the version is gone or changed meanwhile (deleted, overwritten), the upload is queued as
/// garbage instead. Replies whether the version switched (only then may its files be removed).
#[derive(Debug)]
pub struct CommitMove {
    /// The version as it was listed.
    pub candidate: MoveCandidate,
    /// Where its bytes now are.
    pub remote: RemoteObject,
}

impl MetaCommand for CommitMove {
    type Reply = bool;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<bool, MetaError> {
        let candidate = &self.candidate;
        // The row may have become noncurrent (or current again) while its bytes moved: look in
        // both tables, by its file id, which no other version shares.
        for (table, sequence) in [("objects", "0"), ("versions", "sequence")] {
            let found: Option<(String, i64)> = transaction
                .prepare_cached(&format!(
                    "SELECT headers, {sequence} FROM {table} WHERE bucket = ?1 AND key = ?2 \
                     AND file_id = ?3 AND coalesce(parts, '') = coalesce(?4, '') LIMIT 1"
                ))?
                .query_row(
                    params![
                        candidate.bucket,
                        candidate.key,
                        candidate.file_id,
                        candidate.parts_text
                    ],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            let Some((headers, sequence)) = found else {
                continue;
            };
            let mut headers = decode_headers(&headers);
            headers.retain(|(name, _)| name != STORAGE_CLASS_HEADER);
            headers.push((STORAGE_CLASS_HEADER.to_string(), self.remote.tier.clone()));
            transaction
                .prepare_cached(&format!(
                    "UPDATE {table} SET file_id = ?3, headers = ?4 \
                     WHERE bucket = ?1 AND key = ?2 AND {sequence} = ?5 AND file_id = ?6"
                ))?
                .execute(params![
                    candidate.bucket,
                    candidate.key,
                    self.remote.encode(),
                    encode_headers(&headers),
                    sequence,
                    candidate.file_id,
                ])?;
            transaction
                .prepare_cached("UPDATE buckets SET storage_classes = 1 WHERE name = ?1")?
                .execute([&candidate.bucket])?;
            return Ok(true);
        }
        queue_garbage(transaction, Some(&self.remote))?;
        Ok(false)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Object {
            bucket: &self.candidate.bucket,
            key: &self.candidate.key,
        }
    }
}

/// An upstream object queued for deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierGarbage {
    /// Its row in the queue.
    pub id: i64,
    /// The object.
    pub remote: RemoteObject,
}

/// Up to `limit` queued upstream objects of `tiers` whose grace period ended by
/// `queued_before_ms` (objects of a tier not configured now wait for it, without holding the
/// others back).
#[derive(Debug)]
pub struct ListTierGarbage {
    /// The configured tiers.
    pub tiers: Vec<String>,
    /// Only objects queued before this time, milliseconds since the Unix epoch.
    pub queued_before_ms: i64,
    /// At most this many.
    pub limit: usize,
}

impl MetaCommand for ListTierGarbage {
    type Reply = Vec<TierGarbage>;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<Self::Reply, MetaError> {
        let mut statement = transaction.prepare_cached(
            "SELECT id, tier, object_id FROM tier_garbage WHERE queued_ms < ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows =
            statement.query_map(params![self.queued_before_ms, self.limit as i64], |row| {
                let object_id: String = row.get(2)?;
                Ok((row.get(0)?, row.get(1)?, object_id))
            })?;
        let mut garbage = Vec::new();
        for row in rows {
            let (id, tier, object_id): (i64, String, String) = row?;
            // Ids are written by `queue_garbage` from a `FileId`; anything else is dropped below.
            let object_id = FileId::parse(&object_id).unwrap_or(FileId(0));
            garbage.push(TierGarbage {
                id,
                remote: RemoteObject { tier, object_id },
            });
        }
        Ok(garbage)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}

/// Removes garbage rows whose upstream objects are deleted.
#[derive(Debug)]
pub struct RemoveTierGarbage {
    /// Their ids.
    pub ids: Vec<i64>,
}

impl MetaCommand for RemoveTierGarbage {
    type Reply = ();

    fn apply(&self, transaction: &Transaction<'_>) -> Result<(), MetaError> {
        let mut statement = transaction.prepare_cached("DELETE FROM tier_garbage WHERE id = ?1")?;
        for id in &self.ids {
            statement.execute([id])?;
        }
        Ok(())
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}

/// Which of `object_ids` a version references (under any tier name: upstream names carry no tier
/// name, so a tier renamed or two names for one place must not make referenced objects look
/// orphaned) or the garbage queue holds; the reconciler deletes the others upstream. Each is a
/// range lookup in the partial indexes over moved rows (schema version 11).
#[derive(Debug)]
pub struct FindRemoteReferences {
    /// Upstream object ids.
    pub object_ids: Vec<FileId>,
}

impl MetaCommand for FindRemoteReferences {
    type Reply = Vec<bool>;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<Vec<bool>, MetaError> {
        // `<id>@` up to (not including) `<id>A`: every tier name, as '@' sorts right before 'A'.
        let mut in_objects = transaction.prepare_cached(
            "SELECT 1 FROM objects WHERE file_id >= ?1 AND file_id < ?2 \
             AND instr(file_id, '@') > 0 LIMIT 1",
        )?;
        let mut in_versions = transaction.prepare_cached(
            "SELECT 1 FROM versions WHERE file_id >= ?1 AND file_id < ?2 \
             AND instr(file_id, '@') > 0 LIMIT 1",
        )?;
        let mut queued = transaction
            .prepare_cached("SELECT 1 FROM tier_garbage WHERE object_id = ?1 LIMIT 1")?;
        let mut referenced = Vec::with_capacity(self.object_ids.len());
        for object_id in &self.object_ids {
            let id = object_id.to_string();
            let (low, high) = (format!("{id}@"), format!("{id}A"));
            referenced.push(
                in_objects.exists(params![low, high])?
                    || in_versions.exists(params![low, high])?
                    || queued.exists([&id])?,
            );
        }
        Ok(referenced)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::store::tests::{inline_object, object, store_with_keys};
    use crate::meta::{PutCondition, PutObject};

    fn page_through(store: &mut crate::meta::MetaStore, rows_max: usize) -> Vec<MoveCandidate> {
        let mut found = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .apply(&ListMoveCandidates {
                    table: VersionTable::Current,
                    after: after.clone(),
                    now_ms: i64::MAX / 2,
                    day_ms: crate::lifecycle::DAY_MS,
                    rows_max,
                })
                .unwrap();
            assert!(page.due.len() <= rows_max);
            found.extend(page.due);
            match page.next {
                Some(next) => after = Some(next),
                None => return found,
            }
        }
    }

    #[test]
    fn the_scan_pages_through_every_due_version_once_and_commits_switch_them() {
        // Goal: pages of a bounded number of rows list each file-backed version of a placed
        // bucket exactly once (inline ones never); a committed move leaves the scan and names
        // its remote object; a commit for a version overwritten meanwhile queues the upload as
        // garbage and reports it.
        let keys: Vec<String> = (0..250).map(|index| format!("k{index:04}")).collect();
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let mut store = store_with_keys(&key_refs);
        store
            .apply(&PutObject(
                inline_object("small", b"abc"),
                PutCondition::None,
            ))
            .unwrap();
        assert!(page_through(&mut store, 100).is_empty(), "no placement yet");
        store
            .apply(&PutBucketTier {
                bucket: "b".into(),
                placement: Some(TierPlacement {
                    tier: "COLD".into(),
                    after_ms: 0,
                }),
            })
            .unwrap();
        let found = page_through(&mut store, 64);
        let mut listed: Vec<&str> = found
            .iter()
            .map(|candidate| candidate.key.as_str())
            .collect();
        listed.dedup();
        assert_eq!(listed, key_refs);

        let first = found[0].clone();
        let remote = first.remote().unwrap();
        assert!(store
            .apply(&CommitMove {
                candidate: first.clone(),
                remote: remote.clone(),
            })
            .unwrap());
        let left = page_through(&mut store, 64);
        assert_eq!(left.len(), 249);
        let moved: String = store
            .connection()
            .query_row(
                "SELECT file_id FROM objects WHERE key = 'k0000'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(moved, remote.encode());
        assert_eq!(
            store
                .apply(&FindRemoteReferences {
                    object_ids: vec![remote.object_id, FileId(999_999)],
                })
                .unwrap(),
            vec![true, false]
        );

        let second = left[0].clone();
        store
            .apply(&PutObject(object(&second.key, 5_000), PutCondition::None))
            .unwrap();
        assert!(!store
            .apply(&CommitMove {
                remote: second.remote().unwrap(),
                candidate: second,
            })
            .unwrap());
        let queued: i64 = store
            .connection()
            .query_row("SELECT count(*) FROM tier_garbage", [], |row| row.get(0))
            .unwrap();
        assert_eq!(queued, 1);
    }
}
