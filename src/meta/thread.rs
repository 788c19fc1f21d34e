//! The metadata thread: drains its queue into one transaction per batch (group commit), then replies.

use crossbeam_channel::Receiver;

use super::command::{Changes, Job};
use super::{Generations, MetaStore};
use crate::limits::{META_BATCH_COUNT_MAX, META_THREAD_NICE};

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
    std::thread::Builder::new()
        .name("ringstore-meta".into())
        .spawn(move || {
            raise_priority();
            let mut batch: Vec<MetaRequest> = Vec::with_capacity(META_BATCH_COUNT_MAX);
            while let Ok(first) = receiver.recv() {
                batch.push(first);
                while batch.len() < META_BATCH_COUNT_MAX {
                    match receiver.try_recv() {
                        Ok(request) => batch.push(request),
                        Err(_) => break,
                    }
                }
                let started = std::time::Instant::now();
                store.apply_batch(&mut batch);
                metrics.record_batch(batch.len(), started.elapsed().as_micros() as u64);
                // Before any reply: a client that saw the change and asks another core next finds
                // that core's cache already stale. Whether or not the batch committed: a read in
                // it may have seen its writes.
                bump_generations(&batch, &generations);
                for job in batch.drain(..) {
                    job.reply();
                }
            }
        })
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
