//! Background work of the S3 layer, which the runtime runs on one core in a low-share task queue
//! beside requests: multipart uploads older than `--multipart-max-age` are dropped and their part
//! files deleted, and the lifecycle pass applies buckets' lifecycle rules step by step.

use crate::core_state::CoreState;
use crate::s3::time;

/// One run of the multipart reaper: what its steps did so far (logged when it ends).
#[derive(Debug, Default)]
pub struct ReapRun {
    /// Uploads started (and completions made) before this are expired, ms since the Unix epoch.
    created_before_ms: i64,
    uploads_dropped: usize,
    completions_forgotten: usize,
    files_freed: usize,
    steps: usize,
}

impl ReapRun {
    /// A run for uploads older than the configured age, from now.
    pub fn new(core: &CoreState) -> Self {
        let age_ms = core.config.multipart_max_age_seconds.saturating_mul(1000) as i64;
        ReapRun {
            created_before_ms: time::now_ms() - age_ms,
            ..ReapRun::default()
        }
    }

    fn log(&self) {
        if self.uploads_dropped > 0 {
            tracing::info!(
                uploads = self.uploads_dropped,
                files = self.files_freed,
                completions_forgotten = self.completions_forgotten,
                steps = self.steps,
                "reaped expired multipart uploads"
            );
        } else if self.completions_forgotten > 0 {
            tracing::debug!(
                completions_forgotten = self.completions_forgotten,
                steps = self.steps,
                "forgot old completed upload ids"
            );
        }
    }
}

/// One step of `run`: drops at most `REAP_ROWS_PER_COMMAND` rows of expired uploads (their part
/// files deleted after the commit) and completed upload ids. Answers the pause before the next
/// step (as the lifecycle pass's, so writes queued behind a step go first), or `None` when the
/// run is over (then logged).
pub async fn step_reap(core: &CoreState, run: &mut ReapRun) -> Option<std::time::Duration> {
    let started = std::time::Instant::now();
    let step = core.meta.reap_uploads(run.created_before_ms).await;
    run.steps += 1;
    match step {
        Ok(reaped) => {
            run.uploads_dropped += reaped.uploads_dropped;
            run.completions_forgotten += reaped.completions_forgotten;
            run.files_freed += reaped.files.len();
            for file in reaped.files {
                core.remove_object_file_later(file);
            }
            if reaped.more {
                return Some(pause_after_step(started));
            }
        }
        Err(error) => tracing::warn!(error = %error, "multipart reaper failed"),
    }
    run.log();
    None
}

/// How long the lifecycle worker waits between looks when no pass is due, in milliseconds: a pass
/// starts at most this late after midnight UTC or after a configuration changed (or a tenth of a
/// shortened day, so tests see their rules applied promptly).
pub const LIFECYCLE_POLL_INTERVAL_MS_MAX: u64 = 60_000;

/// The least the worker waits between two steps of a pass (and the multipart reaper between
/// two of its steps), in milliseconds: each step is one metadata transaction, and the pause lets
/// the requests queued behind it go first.
pub const LIFECYCLE_STEP_PAUSE_MS_MIN: u64 = 2;

/// The pause after a step, as a multiple of how long the step took to answer (its work plus its
/// wait in the metadata queue): the pass takes at most a third of the metadata thread, and backs
/// off further when foreground requests make the queue slow.
pub const LIFECYCLE_STEP_PAUSE_PER_STEP_TIME: u32 = 2;

/// The worker's wait when no pass is due, for a day of `day_ms` milliseconds.
fn lifecycle_poll_interval_ms(day_ms: i64) -> u64 {
    LIFECYCLE_POLL_INTERVAL_MS_MAX.min((day_ms / 10).max(100) as u64)
}

/// Runs one step of the lifecycle pass (see `meta::lifecycle`): counts what it did in
/// `/metrics`, deletes the files it freed (after commit), logs what it applied. Answers how long
/// to wait before the next step: a short pause inside a pass, the poll interval once no pass is
/// due, a pass finished, or the step failed.
pub async fn step_lifecycle(core: &CoreState, tally: &PassTally) -> std::time::Duration {
    let started = std::time::Instant::now();
    if step_lifecycle_once(core, tally).await {
        return std::time::Duration::from_millis(lifecycle_poll_interval_ms(
            core.config.lifecycle_day_ms,
        ));
    }
    pause_after_step(started)
}

/// The pause after a background step that began at `started` (a lifecycle step, a reaper step):
/// `LIFECYCLE_STEP_PAUSE_PER_STEP_TIME` times its time, at least `LIFECYCLE_STEP_PAUSE_MS_MIN`.
fn pause_after_step(started: std::time::Instant) -> std::time::Duration {
    (started.elapsed() * LIFECYCLE_STEP_PAUSE_PER_STEP_TIME).max(std::time::Duration::from_millis(
        LIFECYCLE_STEP_PAUSE_MS_MIN,
    ))
}

/// What the running lifecycle pass did so far (logged once when it finishes).
#[derive(Default)]
pub struct PassTally {
    counts: std::cell::RefCell<crate::meta::LifecycleProgress>,
    files_freed: std::cell::Cell<u64>,
}

impl PassTally {
    fn add(&self, step: &crate::meta::LifecycleProgress) {
        self.counts.borrow_mut().add_counts(step);
        self.files_freed
            .set(self.files_freed.get() + step.freed.len() as u64);
    }

    /// Logs the finished pass when it removed anything (a pass that only met locked versions,
    /// which every pass meets again, logs at debug), and starts over.
    fn log_and_reset(&self) {
        let counts = self.counts.take();
        if counts.removed() > 0 {
            tracing::info!(
                objects_expired = counts.objects_expired,
                versions_expired = counts.versions_expired,
                delete_markers_removed = counts.delete_markers_removed,
                uploads_aborted = counts.uploads_aborted,
                locked_skipped = counts.locked_skipped,
                files_freed = self.files_freed.get(),
                "lifecycle pass finished"
            );
        } else {
            tracing::debug!(
                locked_skipped = counts.locked_skipped,
                "lifecycle pass finished"
            );
        }
        self.files_freed.set(0);
    }
}

/// One step; true when the worker should wait the poll interval.
async fn step_lifecycle_once(core: &CoreState, tally: &PassTally) -> bool {
    let metrics = &core.metrics.lifecycle;
    let add = |counter: &std::sync::atomic::AtomicU64, count: u64| {
        counter.fetch_add(count, std::sync::atomic::Ordering::Relaxed);
    };
    let step = crate::meta::LifecycleStep::new(core.config.lifecycle_day_ms);
    match core.meta.call(step).await {
        Ok(progress) => {
            add(&metrics.objects_expired, progress.objects_expired);
            add(&metrics.versions_expired, progress.versions_expired);
            add(
                &metrics.delete_markers_removed,
                progress.delete_markers_removed,
            );
            add(&metrics.uploads_aborted, progress.uploads_aborted);
            add(&metrics.locked_skipped, progress.locked_skipped);
            tally.add(&progress);
            if progress.removed() > 0 || progress.locked_skipped > 0 {
                tracing::debug!(
                    objects_expired = progress.objects_expired,
                    versions_expired = progress.versions_expired,
                    delete_markers_removed = progress.delete_markers_removed,
                    uploads_aborted = progress.uploads_aborted,
                    locked_skipped = progress.locked_skipped,
                    files_freed = progress.freed.len(),
                    "lifecycle step applied rules"
                );
            }
            for file in progress.freed {
                core.remove_object_file_later(file);
            }
            if progress.pass_finished {
                add(&metrics.passes, 1);
                metrics.last_pass_finished_seconds.store(
                    (time::now_ms() / 1000).max(0) as u64,
                    std::sync::atomic::Ordering::Relaxed,
                );
                tally.log_and_reset();
            }
            progress.idle || progress.pass_finished
        }
        Err(error) => {
            add(&metrics.step_errors, 1);
            tracing::warn!(error = %error, "lifecycle step failed; retrying at the next poll");
            true
        }
    }
}
