//! Lifecycle in the metadata: a bucket's rules as PutBucketLifecycleConfiguration stored them,
//! and the lifecycle pass, one bounded step per command: each step reads a batch of one bucket's
//! rows after the persisted cursor, applies the actions that are due through the same removal
//! path as client deletes (`versions::delete_version`, so Object Lock holds), and moves the
//! cursor, all in one transaction — a crash resumes where the last committed step ended. This
//! file schedules passes and keeps the cursor; `lifecycle_step` reads one bucket's rows and acts.
//!
//! A pass visits every bucket with rules, in name order, in three phases: current versions
//! (`Expiration` Days/Date), noncurrent versions and delete markers (`NoncurrentVersionExpiration`,
//! expired object delete markers), unfinished multipart uploads (`AbortIncompleteMultipartUpload`).
//! With S3's day a pass starts after each midnight UTC (every age is rounded to one); with a
//! shortened day, four times a day; and soon after any configuration changed.

use std::sync::Arc;

use rusqlite::{params, OptionalExtension, Transaction};

use super::bucket_column::update_bucket;
use super::command::{Changes, LastApplied, MetaCommand};
use super::lifecycle_step::{BucketStep, InKey, LifecycleProgress, VersionsCursor};
use super::version_rows::now_ms;
use super::MetaError;
use crate::lifecycle::{LifecycleConfiguration, DAY_MS};

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
        update_bucket(transaction, "lifecycle", &self.bucket, encoded.as_deref())?;
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
    changed: LastApplied<(String, Vec<String>)>,
}

impl LifecycleStep {
    /// A step counting `day_ms` milliseconds to a day.
    pub fn new(day_ms: i64) -> Self {
        LifecycleStep {
            day_ms,
            changed: LastApplied::new(),
        }
    }
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
            parts_dropped: 0,
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
        self.changed.set((bucket, touched));
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
