//! The tier threads: a tokio runtime of `TIER_THREADS` workers, started after the server blocked
//! its signals, that serves the cores' remote reads and runs the mover and the garbage
//! collector (`mover`). Nothing here runs on a glommio core.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;

use futures_channel::mpsc;
use futures_lite::StreamExt;

use super::read_cache::ReadCache;
use super::reads::{ReadRequest, Reads};
use super::spec::TierSpec;
use super::tiers::{call, Tier, Tiers};
use super::TierRequest;
use crate::limits::{
    TIER_CACHE_DIRECTORY, TIER_QUEUE_CAPACITY, TIER_READS_IN_FLIGHT_MAX, TIER_THREADS,
    TIER_THREAD_NICE,
};
use crate::meta::MetaClient;
use crate::storage::Layout;

/// Why the tier threads did not start.
#[derive(Debug, thiserror::Error)]
pub enum TierStartError {
    /// A tier's client could not be built (its URL or credentials settings).
    #[error("tier {name}: {source}")]
    Connect {
        /// The tier.
        name: String,
        /// object_store's reason.
        source: object_store::Error,
    },
    /// The runtime or its threads could not be made.
    #[error("tier threads: {0}")]
    Runtime(io::Error),
    /// The read cache's directory could not be emptied or made.
    #[error("tier read cache: {0}")]
    ReadCache(io::Error),
    /// The metadata thread did not answer.
    #[error("tier threads: metadata: {0}")]
    Meta(String),
}

/// Starts the tier threads for `specs` (none: nothing is started and `None` returned), the mover
/// run with `settings`, remote reads cached in up to `read_cache_bytes` (0: no cache) under
/// `<data dir>/tier-cache`. The returned sender is what each core's `TierClient` clones. A tier that cannot be reached does
/// not stop the start: writes land locally whatever a tier's state, so the server starts, says
/// so in one line per tier, and the mover retries.
pub fn spawn(
    specs: &[TierSpec],
    meta: MetaClient,
    layout: Layout,
    settings: super::mover::MoverSettings,
    read_cache_bytes: u64,
) -> Result<Option<mpsc::Sender<TierRequest>>, TierStartError> {
    if specs.is_empty() {
        return Ok(None);
    }
    let read_cache = match read_cache_bytes {
        0 => None,
        bytes => Some(
            ReadCache::open(layout.root().join(TIER_CACHE_DIRECTORY), bytes)
                .map_err(TierStartError::ReadCache)?,
        ),
    };
    let mut tiers = HashMap::new();
    for spec in specs {
        let connected =
            super::connect::connect(spec).map_err(|source| TierStartError::Connect {
                name: spec.name.clone(),
                source,
            })?;
        tiers.insert(
            spec.name.clone(),
            Tier {
                spec: spec.clone(),
                store: connected.store,
                multipart: connected.multipart,
                ownership: super::fence::Ownership::default(),
                passed_over: std::sync::atomic::AtomicBool::new(false),
            },
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(TIER_THREADS)
        .thread_name("ringstore-tier")
        .on_thread_start(lower_priority)
        .enable_all()
        .build()
        .map_err(TierStartError::Runtime)?;
    let identity = runtime
        .block_on(call(&meta, crate::meta::GetNodeId))
        .map_err(|error| TierStartError::Meta(error.to_string()))?;
    let tiers = Arc::new(Tiers::new(tiers, identity, read_cache.clone()));
    let reads = Arc::new(Reads::new(tiers.clone(), read_cache));
    let (sender, receiver) = mpsc::channel(TIER_QUEUE_CAPACITY);
    std::thread::Builder::new()
        .name("ringstore-tiers".into())
        .spawn(move || {
            runtime.spawn(probe(tiers.clone()));
            if let Some(interval) = settings.metadata_interval {
                runtime.spawn(super::metadata_shipping::run(
                    tiers.clone(),
                    layout.clone(),
                    interval,
                ));
            }
            let in_flight = super::reconciler::InFlight::default();
            runtime.spawn(super::reconciler::run(
                tiers.clone(),
                meta.clone(),
                in_flight.clone(),
                settings.garbage_grace_ms,
            ));
            runtime.spawn(super::mover::run(
                tiers.clone(),
                meta,
                layout,
                in_flight,
                settings,
            ));
            runtime.block_on(serve(reads, receiver));
            // Every core's sender is gone: the server is stopping. Moves in flight are
            // abandoned; a restart finds their versions still local and moves them again.
            runtime.shutdown_background();
        })
        .map_err(TierStartError::Runtime)?;
    Ok(Some(sender))
}

/// Gives the calling tier thread `TIER_THREAD_NICE`: background work yields the CPU to the cores
/// and the metadata thread (an unprivileged process may always lower its own priority). The
/// mover's disk reads also take the idle I/O class, for each read only (`local_read`): the
/// read cache's reads, on the same threads, serve clients.
fn lower_priority() {
    // SAFETY: gettid has no preconditions; setpriority on our own thread id touches nothing else.
    unsafe {
        let thread = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, thread as libc::id_t, TIER_THREAD_NICE);
    }
}

/// Checks each tier's ownership (`fence`) until every tier has answered, saying once per tier
/// whether it is reachable; a tier that does not answer is asked again with backoff.
async fn probe(tiers: Arc<Tiers>) {
    let mut wait_ms = crate::limits::TIER_IDLE_WAIT_MS;
    let mut said_unreachable = std::collections::HashSet::new();
    loop {
        for tier in tiers.all().filter(|tier| tier.ownership.unchecked()) {
            let prefix = tiers.node_prefix(tier);
            match super::fence::check(
                tier.store.as_ref(),
                &prefix,
                tiers.incarnation(),
                &tier.ownership,
                &tier.spec.name,
            )
            .await
            {
                Ok(()) => {
                    tracing::info!(tier = %tier.spec.name, location = ?tier.spec.location, owned = tier.ownership.owned(), "tier reachable")
                }
                Err(error) if said_unreachable.insert(tier.spec.name.clone()) => tracing::warn!(
                    tier = %tier.spec.name,
                    location = ?tier.spec.location,
                    error = %error,
                    "tier unreachable; moves wait and remote reads fail until it answers"
                ),
                Err(_) => {}
            }
        }
        if !tiers.all().any(|tier| tier.ownership.unchecked()) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(wait_ms)).await;
        wait_ms = (wait_ms * 2).min(crate::limits::TIER_RETRY_BACKOFF_MS_MAX);
    }
}

/// Serves the cores' requests until every sender is gone, each in a task of its own, at most
/// `TIER_READS_IN_FLIGHT_MAX` at once: past that, requests wait in the bounded queue and the
/// cores answer SlowDown once it is full.
async fn serve(reads: Arc<Reads>, mut receiver: mpsc::Receiver<TierRequest>) {
    let permits = Arc::new(tokio::sync::Semaphore::new(TIER_READS_IN_FLIGHT_MAX));
    while let Some(request) = receiver.next().await {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        match request {
            TierRequest::Read {
                object,
                start,
                length,
                size_bytes,
                reply,
            } => {
                let reads = reads.clone();
                let request = ReadRequest {
                    object,
                    start,
                    length,
                    size_bytes,
                };
                tokio::spawn(async move {
                    let _permit = permit;
                    reads.serve(request, reply).await;
                });
            }
        }
    }
}
