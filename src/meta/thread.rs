//! The metadata thread: drains its queue into one transaction per batch (group commit), then replies.

use crossbeam_channel::Receiver;
use futures_channel::oneshot;

use super::{Generations, MetaError, MetaOp, MetaReply, MetaStore};
use crate::limits::{META_BATCH_COUNT_MAX, META_THREAD_NICE};

/// A request and where its answer goes.
pub struct MetaRequest {
    /// The operation.
    pub op: MetaOp,
    /// Reply channel the requesting core awaits.
    pub reply: oneshot::Sender<Result<MetaReply, MetaError>>,
}

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
                let ops: Vec<&MetaOp> = batch.iter().map(|request| &request.op).collect();
                let started = std::time::Instant::now();
                let replies = store.apply_batch(&ops);
                metrics.record_batch(ops.len(), started.elapsed().as_micros() as u64);
                // Before any reply: a client that saw the change and asks another core next finds
                // that core's cache already stale. Whether or not the batch committed: a read in
                // it may have seen its writes.
                if ops.iter().any(|op| op.changes_buckets()) {
                    generations.bump_buckets();
                }
                for op in &ops {
                    op.for_each_changed_object(|bucket, key| generations.bump_object(bucket, key));
                }
                drop(ops);
                for (request, reply) in batch.drain(..).zip(replies) {
                    // The core may have given up (connection closed); nothing to do then.
                    let _ = request.reply.send(reply);
                }
            }
        })
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
