//! Lifecycle in the metadata: a bucket's rules as PutBucketLifecycleConfiguration stored them,
//! and the lifecycle pass, one bounded step per command: each step reads a batch of one bucket's
//! rows after the persisted cursor, applies the actions that are due through the same removal
//! path as client deletes (`versions::delete_version`, so Object Lock holds), and moves the
//! cursor, all in one transaction — a crash resumes where the last committed step ended.
//!
//! A pass visits every bucket with rules, in name order, in three phases: current versions
//! (`Expiration` Days/Date), noncurrent versions and delete markers (`NoncurrentVersionExpiration`,
//! expired object delete markers), unfinished multipart uploads (`AbortIncompleteMultipartUpload`).
//! With S3's day a pass starts after each midnight UTC (every age is rounded to one); with a
//! shortened day, four times a day; and soon after any configuration changed.

use std::sync::{Arc, OnceLock};

use rusqlite::{params, OptionalExtension, Transaction};

use super::command::{Changes, MetaCommand};
use super::multipart::drop_uploads;
use super::version_rows::now_ms;
use super::versions::delete_version;
use super::{DeleteCondition, MetaError, VersionSelector};
use crate::lifecycle::{decode_tags, LifecycleConfiguration, VersionFacts, DAY_MS};
use crate::object_bytes::FileId;

/// Replaces (or with `None` removes) a bucket's lifecycle rules, and asks for a pass soon.
#[derive(Debug)]
pub struct PutBucketLifecycle {
    /// Bucket name.
    pub bucket: String,
    /// The new rules; `None` deletes the configuration.
    pub configuration: Option<LifecycleConfiguration>,
}

impl MetaCommand for PutBucketLifecycle {
    type Reply = ();

    fn apply(&self, transaction: &Transaction<'_>) -> Result<(), MetaError> {
        let encoded = self
            .configuration
            .as_ref()
            .map(LifecycleConfiguration::encode);
        let updated = transaction
            .prepare_cached("UPDATE buckets SET lifecycle = ?2 WHERE name = ?1")?
            .execute(params![self.bucket, encoded])?;
        if updated == 0 {
            return Err(MetaError::NoSuchBucket);
        }
        if self.configuration.is_some() {
            transaction
                .prepare_cached("UPDATE lifecycle_progress SET changed = 1 WHERE id = 1")?
                .execute([])?;
        }
        Ok(())
    }

    fn changes(&self) -> Changes<'_> {
        // The rules live in the bucket record the cores cache.
        Changes::Buckets
    }
}

/// Rows (current versions, versions of keys, or uploads) one step reads at most: a step that
/// finds nothing due costs about a millisecond of the metadata thread.
pub const LIFECYCLE_STEP_ROWS_MAX: usize = 1024;

/// Removals, aborts and lock refusals one step makes at most: a step that removes costs a few
/// milliseconds of the metadata thread (`cargo bench --bench lifecycle`).
pub const LIFECYCLE_STEP_ACTIONS_MAX: u64 = 256;

/// Keys whose versions one step reads at most.
pub const LIFECYCLE_STEP_KEYS_MAX: usize = 64;

/// Rule checks (rows read × enabled rules) one step makes at most: with many rules a step reads
/// fewer rows, so a configuration of 1,000 tag rules costs no more per step than one rule.
pub const LIFECYCLE_STEP_RULE_CHECKS_MAX: usize = 16 * 1024;

/// The phases of a bucket's part of a pass, in order.
const PHASE_CURRENT: i64 = 0;
const PHASE_VERSIONS: i64 = 1;
const PHASE_UPLOADS: i64 = 2;
const PHASE_DONE: i64 = 3;

/// One step of the lifecycle pass (the worker sends it until a step answers `idle`).
#[derive(Debug)]
pub struct LifecycleStep {
    /// A lifecycle day, in milliseconds (`lifecycle::DAY_MS` unless shortened for tests).
    pub day_ms: i64,
    /// The bucket and keys this step changed (for the cores' object caches).
    changed: OnceLock<(String, Vec<String>)>,
}

impl LifecycleStep {
    /// A step counting `day_ms` milliseconds to a day.
    pub fn new(day_ms: i64) -> Self {
        LifecycleStep {
            day_ms,
            changed: OnceLock::new(),
        }
    }
}

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

/// Where the versions phase goes on: inside `key` (`in_key`), or with the keys after `key`.
struct VersionsCursor {
    key: String,
    in_key: Option<InKey>,
}

/// Where a step stopped inside a key's versions: below `before_sequence`, with `newer_count`
/// noncurrent versions above it and the last one read written at `successor_ms` (kept in the
/// cursor, so a resumed step never re-reads the rows above it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct InKey {
    before_sequence: i64,
    newer_count: usize,
    successor_ms: i64,
}

/// The persisted cursor (`lifecycle_progress`).
struct Cursor {
    pass_started_ms: Option<i64>,
    running: bool,
    bucket: String,
    phase: i64,
    after_key: String,
    in_key: Option<InKey>,
    after_upload: String,
    changed: bool,
}

fn read_cursor(transaction: &Transaction<'_>) -> rusqlite::Result<Cursor> {
    transaction
        .prepare_cached(
            "SELECT pass_started_ms, running, bucket, phase, after_key, after_sequence, \
             after_rank, after_successor_ms, after_upload, changed FROM lifecycle_progress \
             WHERE id = 1",
        )?
        .query_row([], |row| {
            Ok(Cursor {
                pass_started_ms: row.get(0)?,
                running: row.get(1)?,
                bucket: row.get(2)?,
                phase: row.get(3)?,
                after_key: row.get(4)?,
                in_key: match (
                    row.get::<_, Option<i64>>(5)?,
                    row.get::<_, Option<i64>>(6)?,
                    row.get::<_, Option<i64>>(7)?,
                ) {
                    (Some(before_sequence), Some(rank), Some(successor_ms)) => Some(InKey {
                        before_sequence,
                        newer_count: usize::try_from(rank).unwrap_or(0),
                        successor_ms,
                    }),
                    _ => None,
                },
                after_upload: row.get(8)?,
                changed: row.get(9)?,
            })
        })
}

fn write_cursor(transaction: &Transaction<'_>, cursor: &Cursor) -> rusqlite::Result<()> {
    transaction
        .prepare_cached(
            "UPDATE lifecycle_progress SET pass_started_ms = ?1, running = ?2, bucket = ?3, \
             phase = ?4, after_key = ?5, after_sequence = ?6, after_rank = ?7, \
             after_successor_ms = ?8, after_upload = ?9, changed = ?10 WHERE id = 1",
        )?
        .execute(params![
            cursor.pass_started_ms,
            cursor.running,
            cursor.bucket,
            cursor.phase,
            cursor.after_key,
            cursor.in_key.map(|in_key| in_key.before_sequence),
            cursor.in_key.map(|in_key| in_key.newer_count as i64),
            cursor.in_key.map(|in_key| in_key.successor_ms),
            cursor.after_upload,
            cursor.changed
        ])?;
    Ok(())
}

/// When the pass after one started at `started_ms` is due: the next midnight UTC with S3's day,
/// a quarter of a shortened day later otherwise.
fn next_pass_ms(started_ms: i64, day_ms: i64) -> i64 {
    if day_ms == DAY_MS {
        (started_ms.div_euclid(DAY_MS) + 1) * DAY_MS
    } else {
        started_ms + (day_ms / 4).max(1)
    }
}

thread_local! {
    /// The last lifecycle configuration a step decoded, with its stored text: a pass decodes a
    /// bucket's rules (up to the 2 MB a configuration may take) once, not once per step.
    static DECODED_RULES: std::cell::RefCell<Option<(String, Arc<LifecycleConfiguration>)>> =
        const { std::cell::RefCell::new(None) };
}

/// The owner and decoded rules of bucket `name`; `None` if it is gone or has no rules.
fn bucket_rules(
    transaction: &Transaction<'_>,
    name: &str,
) -> Result<Option<(String, Arc<LifecycleConfiguration>)>, MetaError> {
    let row: Option<(String, Option<String>)> = transaction
        .prepare_cached("SELECT owner, lifecycle FROM buckets WHERE name = ?1")?
        .query_row([name], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let Some((owner, Some(text))) = row else {
        return Ok(None);
    };
    let cached = DECODED_RULES.with_borrow(|cached| {
        cached
            .as_ref()
            .filter(|(stored, _)| *stored == text)
            .map(|(_, rules)| rules.clone())
    });
    let rules = match cached {
        Some(rules) => rules,
        None => {
            let Some(decoded) = LifecycleConfiguration::decode(&text) else {
                tracing::warn!(
                    bucket = name,
                    "stored lifecycle rules unreadable; the pass skips the bucket"
                );
                return Ok(None);
            };
            let decoded = Arc::new(decoded);
            DECODED_RULES.set(Some((text, decoded.clone())));
            decoded
        }
    };
    Ok(Some((owner, rules)))
}

/// The first bucket with rules after `after` (by name).
fn next_bucket(transaction: &Transaction<'_>, after: &str) -> rusqlite::Result<Option<String>> {
    transaction
        .prepare_cached(
            "SELECT name FROM buckets WHERE name > ?1 AND lifecycle IS NOT NULL \
             ORDER BY name LIMIT 1",
        )?
        .query_row([after], |row| row.get(0))
        .optional()
}

/// Runs `action` in a savepoint: kept if it succeeded, undone if Object Lock refused it
/// (`Ok(None)`), undone and returned if it failed otherwise.
fn unless_locked<T>(
    transaction: &Transaction<'_>,
    action: impl FnOnce() -> Result<T, MetaError>,
) -> Result<Option<T>, MetaError> {
    transaction.execute_batch("SAVEPOINT lifecycle_action")?;
    match action() {
        Ok(value) => {
            transaction.execute_batch("RELEASE lifecycle_action")?;
            Ok(Some(value))
        }
        Err(error) => {
            transaction.execute_batch("ROLLBACK TO lifecycle_action; RELEASE lifecycle_action")?;
            match error {
                MetaError::ObjectLocked => Ok(None),
                other => Err(other),
            }
        }
    }
}

/// One bucket's part of a step: its rules, owner (the owner of delete markers lifecycle
/// writes) and what the step did.
struct BucketStep<'a> {
    transaction: &'a Transaction<'a>,
    bucket: &'a str,
    owner: &'a str,
    rules: &'a LifecycleConfiguration,
    now_ms: i64,
    day_ms: i64,
    progress: LifecycleProgress,
    touched: Vec<String>,
}

impl BucketStep<'_> {
    /// Whether the step made `LIFECYCLE_STEP_ACTIONS_MAX` removals, aborts or lock refusals.
    fn actions_spent(&self) -> bool {
        let progress = &self.progress;
        progress.objects_expired
            + progress.versions_expired
            + progress.delete_markers_removed
            + progress.uploads_aborted
            + progress.locked_skipped
            >= LIFECYCLE_STEP_ACTIONS_MAX
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
    fn current_versions(&mut self, after_key: &str) -> Result<Option<String>, MetaError> {
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
    fn noncurrent_versions(
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
    fn uploads(
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
                "SELECT key, upload_id, created_ms FROM uploads WHERE bucket = ?1 \
                 AND (key > ?2 OR (key = ?2 AND upload_id > ?3)) ORDER BY key, upload_id LIMIT ?4",
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
                let files = drop_uploads(self.transaction, vec![upload_id.clone()])?;
                self.progress.freed.extend(files);
                self.progress.uploads_aborted += 1;
                if self.actions_spent() {
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

impl MetaCommand for LifecycleStep {
    type Reply = LifecycleProgress;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<LifecycleProgress, MetaError> {
        let now_ms = now_ms();
        let mut cursor = read_cursor(transaction)?;
        if !cursor.running {
            let due = cursor.changed
                || cursor
                    .pass_started_ms
                    .is_none_or(|started| now_ms >= next_pass_ms(started, self.day_ms));
            if !due {
                return Ok(LifecycleProgress {
                    idle: true,
                    ..LifecycleProgress::default()
                });
            }
            cursor = Cursor {
                pass_started_ms: Some(now_ms),
                running: true,
                bucket: String::new(),
                phase: PHASE_DONE,
                after_key: String::new(),
                in_key: None,
                after_upload: String::new(),
                changed: false,
            };
            tracing::debug!(day_ms = self.day_ms, "lifecycle pass started");
        }
        let found = match cursor.bucket.as_str() {
            "" => None,
            name => bucket_rules(transaction, name)?,
        };
        let (Some((owner, rules)), true) = (found, cursor.phase < PHASE_DONE) else {
            // The bucket is done (or gone, or lost its rules): on to the next one.
            match next_bucket(transaction, &cursor.bucket)? {
                Some(name) => {
                    cursor.bucket = name;
                    cursor.phase = PHASE_CURRENT;
                    cursor.after_key.clear();
                    cursor.in_key = None;
                    cursor.after_upload.clear();
                    write_cursor(transaction, &cursor)?;
                    return Ok(LifecycleProgress::default());
                }
                None => {
                    cursor.running = false;
                    cursor.bucket.clear();
                    write_cursor(transaction, &cursor)?;
                    return Ok(LifecycleProgress {
                        pass_finished: true,
                        ..LifecycleProgress::default()
                    });
                }
            }
        };
        let bucket = cursor.bucket.clone();
        let mut step = BucketStep {
            transaction,
            bucket: &bucket,
            owner: &owner,
            rules: &rules,
            now_ms,
            day_ms: self.day_ms,
            progress: LifecycleProgress::default(),
            touched: Vec::new(),
        };
        let next = match cursor.phase {
            PHASE_CURRENT => step
                .current_versions(&cursor.after_key)?
                .map(|key| (key, None, String::new())),
            PHASE_VERSIONS => step
                .noncurrent_versions(VersionsCursor {
                    key: std::mem::take(&mut cursor.after_key),
                    in_key: cursor.in_key,
                })?
                .map(|next| (next.key, next.in_key, String::new())),
            _ => step
                .uploads(&cursor.after_key, &cursor.after_upload)?
                .map(|(key, upload)| (key, None, upload)),
        };
        match next {
            Some((key, in_key, upload)) => {
                cursor.after_key = key;
                cursor.in_key = in_key;
                cursor.after_upload = upload;
            }
            None => {
                cursor.phase += 1;
                cursor.after_key.clear();
                cursor.in_key = None;
                cursor.after_upload.clear();
            }
        }
        debug_assert!(cursor.phase <= PHASE_DONE && PHASE_UPLOADS < PHASE_DONE);
        write_cursor(transaction, &cursor)?;
        let BucketStep {
            progress, touched, ..
        } = step;
        let _ = self.changed.set((bucket, touched));
        Ok(progress)
    }

    fn changes(&self) -> Changes<'_> {
        match self.changed.get() {
            Some((bucket, keys)) if !keys.is_empty() => Changes::Objects { bucket, keys },
            _ => Changes::Nothing,
        }
    }
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
