//! The metadata threads: the writer drains its queue into one transaction per batch (group
//! commit), then replies; the reader runs read-only commands beside it, one at a time.

use crossbeam_channel::Receiver;

use std::time::{Duration, Instant};

use super::command::{Changes, Job};
use super::store::BatchTiming;
use super::{Generations, MetaStore};
use crate::limits::{
    META_BATCH_COUNT_MAX, META_BATCH_SLOW_LOG_INTERVAL_MS, META_BATCH_SLOW_MS, META_THREAD_NICE,
};

/// A command on its way to the metadata thread (its reply type erased; see `command::Pending`).
pub type MetaRequest = Box<dyn Job>;

/// Starts the thread; it ends when every sender is dropped. After each batch, and before any of
/// its replies, it bumps the `generations` of what the batch may have changed.
pub fn spawn(
    mut store: MetaStore,
    receiver: Receiver<MetaRequest>,
    metrics: std::sync::Arc<crate::obs::metrics::MetaMetrics>,
    generations: std::sync::Arc<Generations>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let mut slow_batches = SlowBatchWarning::default();
    spawn_named("ringstore-meta", receiver, move |batch| {
        let started = Instant::now();
        let timing = store.apply_batch(batch);
        let took = started.elapsed();
        metrics.record_batch(batch.len(), took.as_micros() as u64);
        slow_batches.note(took, batch.len(), &timing);
        // Before any reply: a client that saw the change and asks another core next finds
        // that core's cache already stale. Whether or not the batch committed: a read in
        // it may have seen its writes.
        bump_generations(batch, &generations);
        for job in batch.drain(..) {
            job.reply();
        }
    })
}

/// Starts the metadata reader: a thread of its own with a read-only connection (`MetaStore::
/// open_reader`) that runs `MetaCommand::READ_ONLY` commands beside the writer, each in a read
/// transaction of its own and answered as soon as it ran. A read the per-core caches miss then
/// never waits behind a write batch's commands or its WAL fsync. Reads change nothing, so it bumps no generation. It ends
/// when every sender is dropped.
pub fn spawn_reader(
    mut store: MetaStore,
    receiver: Receiver<MetaRequest>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    spawn_named("ringstore-meta-read", receiver, move |batch| {
        // Each answer is final once its job ran: reply at once, not after the batch.
        for mut job in batch.drain(..) {
            store.apply_read(job.as_mut());
            job.reply();
        }
    })
}

/// Starts a metadata thread named `name` at `META_THREAD_NICE` (a request a core waits for must
/// not wait for a CPU behind the cores) that hands `serve` each batch `fill_batch` takes, until
/// every sender is dropped. `serve` leaves the batch empty.
fn spawn_named(
    name: &str,
    receiver: Receiver<MetaRequest>,
    mut serve: impl FnMut(&mut Vec<MetaRequest>) + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            raise_priority();
            let mut batch: Vec<MetaRequest> = Vec::with_capacity(META_BATCH_COUNT_MAX);
            while fill_batch(&receiver, &mut batch) {
                serve(&mut batch);
            }
        })
}

/// Waits for a request, then takes whatever else is queued, up to `META_BATCH_COUNT_MAX`, into
/// `batch`; false once every sender is gone.
fn fill_batch(receiver: &Receiver<MetaRequest>, batch: &mut Vec<MetaRequest>) -> bool {
    let Ok(first) = receiver.recv() else {
        return false;
    };
    batch.push(first);
    while batch.len() < META_BATCH_COUNT_MAX {
        match receiver.try_recv() {
            Ok(request) => batch.push(request),
            Err(_) => break,
        }
    }
    true
}

/// Logs batches slower than `META_BATCH_SLOW_MS`, at most once per
/// `META_BATCH_SLOW_LOG_INTERVAL_MS`: every command queued behind one waited as long.
#[derive(Default)]
struct SlowBatchWarning {
    last_logged: Option<Instant>,
    /// Slow batches since the last warning that were not logged.
    unlogged: u64,
}

impl SlowBatchWarning {
    fn note(&mut self, took: Duration, commands: usize, timing: &BatchTiming) {
        if took < Duration::from_millis(META_BATCH_SLOW_MS) {
            return;
        }
        let Some(not_logged) = self.claim_warning(Instant::now()) else {
            return;
        };
        let milliseconds = |duration: Duration| duration.as_secs_f64() * 1e3;
        let (slowest_command, slowest_command_ms) = timing
            .slowest
            .map_or(("", 0.0), |(name, ran)| (name, milliseconds(ran)));
        tracing::warn!(
            batch_ms = milliseconds(took),
            commands,
            slowest_command,
            slowest_command_ms,
            commands_ms = milliseconds(timing.commands),
            commit_ms = milliseconds(timing.commit),
            passes = timing.passes,
            slow_batches_not_logged = not_logged,
            "slow metadata batch: every command in it waited this long"
        );
    }

    /// Takes the warning's turn for a slow batch ending at `now`: the number of slow batches not
    /// logged since the last warning, or `None` (counted) while the last is too recent.
    fn claim_warning(&mut self, now: Instant) -> Option<u64> {
        let interval = Duration::from_millis(META_BATCH_SLOW_LOG_INTERVAL_MS);
        if self
            .last_logged
            .is_some_and(|logged| now.duration_since(logged) < interval)
        {
            self.unlogged += 1;
            return None;
        }
        self.last_logged = Some(now);
        Some(std::mem::take(&mut self.unlogged))
    }
}

/// Bumps the change counters of everything `batch` may have changed.
fn bump_generations(batch: &[MetaRequest], generations: &Generations) {
    for job in batch {
        match job.changes() {
            Changes::Nothing => {}
            Changes::Buckets => generations.bump_buckets(),
            Changes::Users => generations.bump_users(),
            Changes::Object { bucket, key } => generations.bump_object(bucket, key),
            Changes::Objects { bucket, keys } => {
                for key in keys {
                    generations.bump_object(bucket, key);
                }
            }
        }
    }
}

/// Asks for `META_THREAD_NICE` for the calling thread; says once why not when refused.
fn raise_priority() {
    // SAFETY: gettid has no preconditions; setpriority on our own thread id touches nothing else.
    let outcome = unsafe {
        let thread = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, thread as libc::id_t, META_THREAD_NICE)
    };
    if outcome == 0 {
        tracing::debug!(nice = META_THREAD_NICE, "metadata thread priority raised");
    } else {
        tracing::info!(
            nice = META_THREAD_NICE,
            error = %std::io::Error::last_os_error(),
            "metadata thread keeps the default priority (needs CAP_SYS_NICE or RLIMIT_NICE; see tuning.md)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_batches_are_logged_at_most_once_an_interval_with_the_rest_counted() {
        // Goal: the first slow batch is logged; the slow ones within the next interval are
        // counted and reported by the first after it.
        let mut warning = SlowBatchWarning::default();
        let interval = Duration::from_millis(META_BATCH_SLOW_LOG_INTERVAL_MS);
        let start = Instant::now();
        assert_eq!(warning.claim_warning(start), Some(0));
        assert_eq!(warning.claim_warning(start + interval / 2), None);
        let just_before = start + interval - Duration::from_micros(1);
        assert_eq!(warning.claim_warning(just_before), None);
        assert_eq!(warning.claim_warning(start + interval), Some(2));
        assert_eq!(warning.claim_warning(start + interval * 3), Some(0));
    }
}
