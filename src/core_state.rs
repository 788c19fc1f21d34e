//! What one core holds for every layer above it: configuration, the data dir, the metadata
//! client, its metrics and the shutdown signal. Built by `runtime`, read by `net`, `service`,
//! `admin` and `s3`; nothing in it is shared with other cores except the read-only config, the
//! metadata queue, the metrics registry (each core writes only its own entry) and the shutdown flag.

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::config::Config;
use crate::meta::MetaClient;
use crate::obs::metrics::{CoreMetrics, Registry};
use crate::storage::{FileId, FileRemover, Layout};

/// One core's state.
pub struct CoreState {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// Data dir layout.
    pub layout: Rc<Layout>,
    /// Metadata client.
    pub meta: MetaClient,
    /// The thread that unlinks object files no metadata references any more.
    removals: FileRemover,
    /// Index of this core (for logs and request ids).
    pub core_index: usize,
    /// Every core's metrics (this core writes only its own entry).
    pub metrics: Arc<Registry>,
    /// The tier threads, when `--tier` configured any (remote reads of moved versions).
    pub tiers: Option<crate::tier::TierClient>,
    /// Set once SIGTERM/SIGINT arrived: finish in-flight requests, take no new ones.
    shutdown: Arc<AtomicBool>,
    /// Notified (on this core) when `shutdown` is set, so idle connections need no timers.
    shutdown_event: event_listener::Event,
}

impl CoreState {
    /// The state of core `core_index`.
    pub fn new(
        config: Arc<Config>,
        layout: Rc<Layout>,
        meta: MetaClient,
        removals: FileRemover,
        core_index: usize,
        metrics: Arc<Registry>,
        shutdown: Arc<AtomicBool>,
    ) -> Self {
        CoreState {
            config,
            layout,
            meta,
            removals,
            core_index,
            metrics,
            tiers: None,
            shutdown,
            shutdown_event: event_listener::Event::new(),
        }
    }

    /// Unlinks object file `id`, which no metadata references any more (after an overwrite,
    /// delete, expiry or reaped upload), once `FILE_REMOVAL_GRACE_MS` has passed, on the removing
    /// thread (`storage::remover`). If the process ends first, the startup scrub removes it.
    pub fn remove_object_file_later(&self, id: FileId) {
        self.removals.remove_later(self.layout.object_path(id));
    }

    /// This core's metrics.
    pub fn core_metrics(&self) -> &CoreMetrics {
        &self.metrics.cores[self.core_index]
    }

    /// Whether shutdown has begun.
    pub fn shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::Relaxed)
    }

    /// Wakes every task of this core waiting in `wait_for_shutdown` (call once the flag is set).
    pub fn notify_shutdown(&self) {
        self.shutdown_event.notify(usize::MAX);
    }

    /// Resolves once shutdown has begun.
    pub async fn wait_for_shutdown(&self) {
        loop {
            if self.shutting_down() {
                return;
            }
            let listener = self.shutdown_event.listen();
            // Checked again after registering, so a notification in between is not missed.
            if self.shutting_down() {
                return;
            }
            listener.await;
        }
    }
}
