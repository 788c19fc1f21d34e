//! The metadata thread: drains its queue into one transaction per batch (group commit), then replies.

use crossbeam_channel::Receiver;
use futures_channel::oneshot;

use super::{MetaError, MetaOp, MetaReply, MetaStore};
use crate::limits::META_BATCH_COUNT_MAX;

/// A request and where its answer goes.
pub struct MetaRequest {
    /// The operation.
    pub op: MetaOp,
    /// Reply channel the requesting core awaits.
    pub reply: oneshot::Sender<Result<MetaReply, MetaError>>,
}

/// Starts the thread; it ends when every sender is dropped. `bucket_generation` is bumped after
/// every committed batch that may have changed a bucket (see `MetaClient::bucket_generation`).
pub fn spawn(
    mut store: MetaStore,
    receiver: Receiver<MetaRequest>,
    metrics: std::sync::Arc<crate::obs::metrics::MetaMetrics>,
    bucket_generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("ringstore-meta".into())
        .spawn(move || {
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
                if ops.iter().any(|op| op.changes_buckets()) {
                    // Before any reply: a client that saw the change and asks another core next
                    // finds that core's cache already stale.
                    bucket_generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                drop(ops);
                for (request, reply) in batch.drain(..).zip(replies) {
                    // The core may have given up (connection closed); nothing to do then.
                    let _ = request.reply.send(reply);
                }
            }
        })
}
