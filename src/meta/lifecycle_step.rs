//! One bucket's part of a lifecycle step (`meta::lifecycle`): reads a bounded batch of its rows
//! — current versions, a key's versions (resuming inside a key), or unfinished uploads — and
//! applies the actions due, each through `versions::delete_version` (Object Lock holds) in a
//! savepoint, within the step's bounds on rows read, removals and rule checks; and what a step
//! did (`LifecycleProgress`, the step's reply).

use rusqlite::{params, OptionalExtension, Transaction};

use super::multipart::drop_upload;
use super::versions::delete_version;
use super::{DeleteCondition, MetaError, VersionSelector};
use crate::lifecycle::{decode_tags, LifecycleConfiguration, VersionFacts};
use crate::object_bytes::FileId;

/// What one step did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LifecycleProgress {
    /// No pass was due: nothing was read.
    pub idle: bool,
    /// This step finished a pass.
    pub pass_finished: bool,
    /// Current versions expired (removed, or hidden behind a delete marker).
    pub objects_expired: u64,
    /// Noncurrent versions removed.
    pub versions_expired: u64,
    /// Delete markers removed.
    pub delete_markers_removed: u64,
    /// Unfinished multipart uploads aborted.
    pub uploads_aborted: u64,
    /// Due versions left because Object Lock protects them.
    pub locked_skipped: u64,
    /// Files no version references any more, to delete after the commit.
    pub freed: Vec<FileId>,
}

impl LifecycleProgress {
    /// Versions, markers and uploads removed (lock refusals not counted).
    pub fn removed(&self) -> u64 {
        self.objects_expired
            + self.versions_expired
            + self.delete_markers_removed
            + self.uploads_aborted
    }

    /// Adds `step`'s counts to these (a pass's total; flags and files are not summed).
    pub fn add_counts(&mut self, step: &LifecycleProgress) {
        self.objects_expired += step.objects_expired;
        self.versions_expired += step.versions_expired;
        self.delete_markers_removed += step.delete_markers_removed;
        self.uploads_aborted += step.uploads_aborted;
        self.locked_skipped += step.locked_skipped;
    }
}

/// Rows (current versions, versions of keys, or uploads) one step reads at most: a step that
/// finds nothing due costs about a millisecond of the metadata thread.
pub const LIFECYCLE_STEP_ROWS_MAX: usize = 1024;

/// Removals, aborts and lock refusals one step makes at most: a step that removes costs a few
/// milliseconds of the metadata thread (`cargo bench --bench lifecycle`).
pub const LIFECYCLE_STEP_ACTIONS_MAX: u64 = 256;

/// Part rows one step's upload aborts drop at most (past it, the step ends after the upload it
/// is aborting, which may have up to S3's 10,000 parts): each abort drops its upload's every
/// part, so `LIFECYCLE_STEP_ACTIONS_MAX` aborts alone could drop 2.56M rows in one transaction
/// while every write waits. Ringstore's own bound, a few milliseconds of the metadata thread.
pub const LIFECYCLE_STEP_PARTS_MAX: usize = 1024;

/// Keys whose versions one step reads at most.
pub const LIFECYCLE_STEP_KEYS_MAX: usize = 64;

/// Rule checks (rows read × enabled rules) one step makes at most: with many rules a step reads
/// fewer rows, so a configuration of 1,000 tag rules costs no more per step than one rule.
pub const LIFECYCLE_STEP_RULE_CHECKS_MAX: usize = 16 * 1024;

/// Where the versions phase goes on: inside `key` (`in_key`), or with the keys after `key`.
pub(super) struct VersionsCursor {
    pub(super) key: String,
    pub(super) in_key: Option<InKey>,
}

/// Where a step stopped inside a key's versions: below `before_sequence`, with `newer_count`
/// noncurrent versions above it and the last one read written at `successor_ms` (kept in the
/// cursor, so a resumed step never re-reads the rows above it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct InKey {
    pub(super) before_sequence: i64,
    pub(super) newer_count: usize,
    pub(super) successor_ms: i64,
}

/// Runs `action` in a savepoint: kept if it succeeded, undone if Object Lock refused it
/// (`Ok(None)`), undone and returned if it failed otherwise.
fn unless_locked<T>(
    transaction: &Transaction<'_>,
    action: impl FnOnce() -> Result<T, MetaError>,
) -> Result<Option<T>, MetaError> {
    let (outcome, _) =
        super::usage::in_savepoint(transaction, "lifecycle_action", action, |_| Ok(true))?;
    match outcome {
        Ok(value) => Ok(Some(value)),
        Err(MetaError::ObjectLocked) => Ok(None),
        Err(other) => Err(other),
    }
}

/// One bucket's part of a step: its rules, owner (the owner of delete markers lifecycle
/// writes) and what the step did.
pub(super) struct BucketStep<'a> {
    pub(super) transaction: &'a Transaction<'a>,
    pub(super) bucket: &'a str,
    pub(super) owner: &'a str,
    pub(super) rules: &'a LifecycleConfiguration,
    pub(super) now_ms: i64,
    pub(super) day_ms: i64,
    pub(super) progress: LifecycleProgress,
    pub(super) touched: Vec<String>,
    /// Part rows the step's aborts dropped (`LIFECYCLE_STEP_PARTS_MAX`).
    pub(super) parts_dropped: usize,
}

impl BucketStep<'_> {
    /// Whether the step made `LIFECYCLE_STEP_ACTIONS_MAX` removals, aborts or lock refusals.
    fn actions_spent(&self) -> bool {
        self.progress.removed() + self.progress.locked_skipped >= LIFECYCLE_STEP_ACTIONS_MAX
    }

    /// Removes `key` (no selector: as an unversioned DeleteObject, writing a delete marker in a
    /// versioned bucket) or one version of it; false if Object Lock kept it.
    fn remove(&mut self, key: &str, version_id: Option<&str>) -> Result<bool, MetaError> {
        let selector = match version_id {
            Some(text) => Some(VersionSelector::parse(text).ok_or_else(|| {
                MetaError::Sqlite(format!("stored version id {text:?} does not parse"))
            })?),
            None => None,
        };
        let removed = unless_locked(self.transaction, || {
            delete_version(
                self.transaction,
                self.bucket,
                key,
                selector.as_ref(),
                &DeleteCondition::default(),
                self.owner,
                false,
            )
        })?;
        match removed {
            Some(outcome) => {
                self.progress.freed.extend(outcome.freed);
                if self.touched.last().is_none_or(|last| last != key) {
                    self.touched.push(key.to_string());
                }
                Ok(true)
            }
            None => {
                self.progress.locked_skipped += 1;
                Ok(false)
            }
        }
    }

    /// Expires current versions due after `after_key`; the last key read, `None` when the phase
    /// is done.
    pub(super) fn current_versions(
        &mut self,
        after_key: &str,
    ) -> Result<Option<String>, MetaError> {
        if !self.rules.expires_current() {
            return Ok(None);
        }
        let rows: Vec<(String, i64, i64, Option<String>)> = self
            .transaction
            .prepare_cached(
                "SELECT key, size, last_modified_ms, tags FROM objects \
                 WHERE bucket = ?1 AND key > ?2 ORDER BY key LIMIT ?3",
            )?
            .query_map(
                params![self.bucket, after_key, self.rows_limit() as i64],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )?
            .collect::<Result<_, _>>()?;
        for (key, size, last_modified_ms, tags) in &rows {
            let tags = decode_tags(tags.as_deref());
            let version = VersionFacts {
                key,
                size_bytes: *size as u64,
                tags: &tags,
            };
            let due = self
                .rules
                .current_expiry(&version, *last_modified_ms, self.day_ms)
                .is_some_and(|(due_ms, _)| due_ms <= self.now_ms);
            if due && self.remove(key, None)? {
                self.progress.objects_expired += 1;
            }
            if self.actions_spent() {
                return Ok(Some(key.clone()));
            }
        }
        Ok(cursor_after(
            rows.len(),
            self.rows_limit(),
            rows.last().map(|row| &row.0),
        ))
    }

    /// Rows one step reads: `LIFECYCLE_STEP_ROWS_MAX`, fewer when many rules check each one.
    fn rows_limit(&self) -> usize {
        let rules = self.rules.rules.iter().filter(|rule| rule.enabled).count();
        (LIFECYCLE_STEP_RULE_CHECKS_MAX / rules.max(1)).clamp(1, LIFECYCLE_STEP_ROWS_MAX)
    }

    /// Removes the due noncurrent versions and expired delete markers from `cursor` on (a key
    /// part-done, or the keys after one), `rows_limit` rows at most; where the next step goes
    /// on, `None` when the phase is done.
    pub(super) fn noncurrent_versions(
        &mut self,
        cursor: VersionsCursor,
    ) -> Result<Option<VersionsCursor>, MetaError> {
        if !self.rules.expires_versions() {
            return Ok(None);
        }
        let limit = self.rows_limit();
        let mut rows_read = 0;
        if let Some(in_key) = cursor.in_key {
            let (read, more) = self.versions_of(&cursor.key, Some(in_key), limit)?;
            if more.is_some() {
                return Ok(Some(VersionsCursor {
                    key: cursor.key,
                    in_key: more,
                }));
            }
            rows_read += read;
        }
        let mut key = cursor.key;
        for _ in 0..LIFECYCLE_STEP_KEYS_MAX {
            // One index seek per key: DISTINCT would walk every version of the keys it passes.
            let next: Option<String> = self
                .transaction
                .prepare_cached(
                    "SELECT key FROM versions WHERE bucket = ?1 AND key > ?2 ORDER BY key LIMIT 1",
                )?
                .query_row(params![self.bucket, key], |row| row.get(0))
                .optional()?;
            let Some(next) = next else {
                return Ok(None);
            };
            key = next;
            let (read, more) =
                self.versions_of(&key, None, limit.saturating_sub(rows_read).max(1))?;
            rows_read += read;
            if more.is_some() || rows_read >= limit || self.actions_spent() {
                return Ok(Some(VersionsCursor { key, in_key: more }));
            }
        }
        Ok(Some(VersionsCursor { key, in_key: None }))
    }

    /// One key's versions from `resume` on (from the newest when `None`), at most `limit` of
    /// them: noncurrent ones newest first, each aged from when it became noncurrent and ranked
    /// by the noncurrent versions newer than it; once the key is done, its current delete marker
    /// if nothing is left behind it. Answers the rows read and, when the key has more, where to
    /// resume.
    fn versions_of(
        &mut self,
        key: &str,
        resume: Option<InKey>,
        limit: usize,
    ) -> Result<(usize, Option<InKey>), MetaError> {
        let current_ms: Option<i64> = self
            .transaction
            .prepare_cached("SELECT last_modified_ms FROM objects WHERE bucket = ?1 AND key = ?2")?
            .query_row(params![self.bucket, key], |row| row.get(0))
            .optional()?;
        // Without a current row, the newest version is the delete marker that is current.
        let current_marker: Option<VersionRow> = match current_ms {
            Some(_) => None,
            None => self
                .versions_below(key, i64::MAX, 1)?
                .into_iter()
                .next()
                .filter(|row| row.delete_marker),
        };
        let (mut successor_ms, mut newer_count) = match resume {
            None => (
                current_ms
                    .or(current_marker
                        .as_ref()
                        .map(|marker| marker.last_modified_ms))
                    .unwrap_or(self.now_ms),
                0,
            ),
            Some(in_key) => (in_key.successor_ms, in_key.newer_count),
        };
        let start = resume.map_or(i64::MAX, |in_key| in_key.before_sequence);
        let mut rows = self.versions_below(key, start, limit + 1)?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let read = rows.len();
        let last_sequence = rows.last().map(|row| row.sequence);
        let resume_at = |sequence: i64, newer_count: usize, successor_ms: i64| InKey {
            before_sequence: sequence,
            newer_count,
            successor_ms,
        };
        for row in &rows {
            if current_marker
                .as_ref()
                .is_some_and(|marker| marker.sequence == row.sequence)
            {
                continue;
            }
            // S3 counts NoncurrentDays from when the version became noncurrent; rows demoted
            // before that was recorded count from their successor's write.
            let since_ms = row.noncurrent_ms.unwrap_or(successor_ms);
            successor_ms = row.last_modified_ms;
            let rank = newer_count;
            newer_count += 1;
            let tags = decode_tags(row.tags.as_deref());
            let version = VersionFacts {
                key,
                size_bytes: row.size_bytes,
                tags: &tags,
            };
            if !self
                .rules
                .noncurrent_expired(&version, since_ms, rank, self.now_ms, self.day_ms)
            {
                continue;
            }
            if self.remove(key, Some(row.version_id()))? {
                if row.delete_marker {
                    self.progress.delete_markers_removed += 1;
                } else {
                    self.progress.versions_expired += 1;
                }
            }
            if self.actions_spent() && (more || Some(row.sequence) != last_sequence) {
                // The rest of the key waits for the next step.
                return Ok((
                    read,
                    Some(resume_at(row.sequence, newer_count, successor_ms)),
                ));
            }
        }
        if let (true, Some(sequence)) = (more, last_sequence) {
            return Ok((read, Some(resume_at(sequence, newer_count, successor_ms))));
        }
        if let Some(marker) = current_marker {
            let left: i64 = self
                .transaction
                .prepare_cached(
                    "SELECT count(*) FROM (SELECT 1 FROM versions WHERE bucket = ?1 AND key = ?2 \
                     LIMIT 2)",
                )?
                .query_row(params![self.bucket, key], |row| row.get(0))?;
            if left == 1
                && self.rules.expired_marker_removable(
                    key,
                    marker.last_modified_ms,
                    self.now_ms,
                    self.day_ms,
                )
                && self.remove(key, Some(marker.version_id()))?
            {
                self.progress.delete_markers_removed += 1;
            }
        }
        Ok((read, None))
    }

    /// Up to `limit` of the key's versions below `before_sequence`, newest first.
    fn versions_below(
        &self,
        key: &str,
        before_sequence: i64,
        limit: usize,
    ) -> Result<Vec<VersionRow>, MetaError> {
        Ok(self
            .transaction
            .prepare_cached(
                "SELECT sequence, version_id, delete_marker, size, last_modified_ms, tags, \
                 noncurrent_ms FROM versions WHERE bucket = ?1 AND key = ?2 AND sequence < ?3 \
                 ORDER BY sequence DESC LIMIT ?4",
            )?
            .query_map(
                params![self.bucket, key, before_sequence, limit as i64],
                |row| {
                    Ok(VersionRow {
                        sequence: row.get(0)?,
                        version_id: row.get(1)?,
                        delete_marker: row.get(2)?,
                        size_bytes: row.get::<_, i64>(3)? as u64,
                        last_modified_ms: row.get(4)?,
                        tags: row.get(5)?,
                        noncurrent_ms: row.get(6)?,
                    })
                },
            )?
            .collect::<Result<_, _>>()?)
    }

    /// Aborts the due uploads after (`after_key`, `after_upload`); the last one read, `None`
    /// when the phase is done.
    pub(super) fn uploads(
        &mut self,
        after_key: &str,
        after_upload: &str,
    ) -> Result<Option<(String, String)>, MetaError> {
        if !self.rules.aborts_uploads() {
            return Ok(None);
        }
        let rows: Vec<(String, String, i64)> = self
            .transaction
            .prepare_cached(
                // A row value, so the scan starts at the cursor in `uploads_by_key`.
                "SELECT key, upload_id, created_ms FROM uploads WHERE bucket = ?1 \
                 AND (key, upload_id) > (?2, ?3) ORDER BY key, upload_id LIMIT ?4",
            )?
            .query_map(
                params![
                    self.bucket,
                    after_key,
                    after_upload,
                    self.rows_limit() as i64
                ],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )?
            .collect::<Result<_, _>>()?;
        for (key, upload_id, created_ms) in &rows {
            if self
                .rules
                .upload_abort_due(key, *created_ms, self.now_ms, self.day_ms)
            {
                let files = drop_upload(self.transaction, upload_id)?;
                // One file per part.
                self.parts_dropped += files.len();
                self.progress.freed.extend(files);
                self.progress.uploads_aborted += 1;
                if self.actions_spent() || self.parts_dropped >= LIFECYCLE_STEP_PARTS_MAX {
                    return Ok(Some((key.clone(), upload_id.clone())));
                }
            }
        }
        if rows.len() < self.rows_limit() {
            return Ok(None);
        }
        Ok(rows.last().map(|(key, id, _)| (key.clone(), id.clone())))
    }
}

/// A row of `versions`: a noncurrent version, or a delete marker.
struct VersionRow {
    sequence: i64,
    version_id: Option<String>,
    delete_marker: bool,
    size_bytes: u64,
    last_modified_ms: i64,
    tags: Option<String>,
    /// When it stopped being current (`None`: demoted before schema version 8, or a marker
    /// that is current).
    noncurrent_ms: Option<i64>,
}

impl VersionRow {
    fn version_id(&self) -> &str {
        self.version_id.as_deref().unwrap_or(super::NULL_VERSION_ID)
    }
}

/// The cursor after a batch of `read` rows (of at most `limit`) ending at `last`; `None` when the
/// batch was the last.
fn cursor_after(read: usize, limit: usize, last: Option<&String>) -> Option<String> {
    if read < limit {
        None
    } else {
        last.cloned()
    }
}
