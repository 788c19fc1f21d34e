//! The reconciler: finds upstream objects under this node's prefix that no version references
//! and the garbage queue does not hold — uploads a crash left uncommitted whose version was then
//! deleted — and deletes them once older than the grace period (and not being moved right now).
//! Runs on the tier threads at start and every `TIER_RECONCILE_INTERVAL_SECONDS`. It also aborts
//! the multipart uploads the mover journaled (`tier_uploads`) and a crash left unfinished
//! (object_store cannot list a store's uploads, so only those the journal holds are found: one
//! started in the instant between its creation and its journaling is the store's to expire, by an
//! S3 bucket's AbortIncompleteMultipartUpload rule; Azure drops uncommitted blocks after 7 days).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_lite::StreamExt;
use object_store::ObjectStoreExt;

use super::tiers::{call, Tier, Tiers};
use crate::limits::{
    TIER_RECONCILE_BATCH_COUNT_MAX, TIER_RECONCILE_INTERVAL_SECONDS, TIER_RECONCILE_POLL_SECONDS,
};
use crate::meta::{FindRemoteReferences, ForgetTierUpload, ListTierUploads, MetaClient};
use crate::object_bytes::FileId;

/// Upstream object ids claimed by the mover (uploading and committing one) or by the reconciler
/// (checking and deleting one): neither touches an id the other holds, so the reconciler never
/// deletes an upload the mover is about to commit.
#[derive(Default, Clone)]
pub struct InFlight(Arc<Mutex<HashSet<FileId>>>);

impl InFlight {
    /// Claims `id` until the guard drops; `None` if someone holds it.
    pub fn claim(&self, id: FileId) -> Option<InFlightGuard> {
        self.0
            .lock()
            .expect("in-flight set")
            .insert(id)
            .then(|| InFlightGuard {
                set: self.clone(),
                id,
            })
    }
}

/// Keeps an id claimed while it lives.
pub struct InFlightGuard {
    set: InFlight,
    id: FileId,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.set.0.lock().expect("in-flight set").remove(&self.id);
    }
}

/// Reconciles each tier once the mover has made a pass over it (`Tier::mover_passed`: an upload a
/// crash interrupted is then resumed by the mover, not aborted here while its version is still
/// due) and this data dir owns it (`fence`), then every `TIER_RECONCILE_INTERVAL_SECONDS`, for
/// ever. A tier that does not answer holds back only itself.
pub async fn run(tiers: Arc<Tiers>, meta: MetaClient, in_flight: InFlight, grace_ms: i64) {
    let mut next_due: HashMap<String, std::time::Instant> = HashMap::new();
    loop {
        for tier in tiers.all() {
            let due = next_due
                .get(&tier.spec.name)
                .is_none_or(|due| *due <= std::time::Instant::now());
            if !due || !tier.ownership.owned() || !tier.mover_passed() {
                continue;
            }
            next_due.insert(
                tier.spec.name.clone(),
                std::time::Instant::now() + Duration::from_secs(TIER_RECONCILE_INTERVAL_SECONDS),
            );
            match abort_unfinished(tiers.as_ref(), tier, &meta, &in_flight).await {
                Ok(0) => {}
                Ok(aborted) => {
                    tracing::info!(tier = %tier.spec.name, aborted, "unfinished upstream uploads aborted")
                }
                Err(error) => {
                    tracing::warn!(tier = %tier.spec.name, error = %error, "unfinished uploads not aborted; trying again at the next interval")
                }
            }
            match reconcile(&tiers, tier, &meta, &in_flight, grace_ms).await {
                Ok(0) => {}
                Ok(deleted) => {
                    tracing::info!(tier = %tier.spec.name, deleted, "orphaned upstream objects deleted")
                }
                Err(error) => {
                    tracing::warn!(tier = %tier.spec.name, error = %error, "tier not reconciled; trying again at the next interval")
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(TIER_RECONCILE_POLL_SECONDS)).await;
    }
}

/// Aborts the journaled uploads to `tier` that no move is sending now (a crash interrupted
/// them); how many. At most `TIER_RECONCILE_BATCH_COUNT_MAX` a round.
async fn abort_unfinished(
    tiers: &Tiers,
    tier: &Tier,
    meta: &MetaClient,
    in_flight: &InFlight,
) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    let uploads = call(
        meta,
        ListTierUploads {
            tier: tier.spec.name.clone(),
            object_id: None,
            limit: TIER_RECONCILE_BATCH_COUNT_MAX,
        },
    )
    .await?;
    let mut aborted = 0;
    for upload in uploads {
        // The mover holds the id while it sends: that upload is alive.
        let Some(_claim) = in_flight.claim(upload.remote.object_id) else {
            continue;
        };
        let path = tiers.path(tier, upload.remote.object_id);
        match tier
            .multipart
            .abort_multipart(&path, &upload.upload_id)
            .await
        {
            // Not found: completed (or expired) before the crash; nothing to abort.
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(error) => return Err(error.into()),
        }
        tracing::info!(tier = %tier.spec.name, object_id = %upload.remote.object_id, upload_id = %upload.upload_id, "unfinished upstream upload aborted");
        call(meta, ForgetTierUpload { upload }).await?;
        aborted += 1;
    }
    Ok(aborted)
}

/// One pass over `tier`: how many orphans it deleted.
async fn reconcile(
    tiers: &Tiers,
    tier: &Tier,
    meta: &MetaClient,
    in_flight: &InFlight,
    grace_ms: i64,
) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    let prefix = tiers.node_prefix(tier);
    let cutoff = now_ms() - grace_ms;
    let mut listing = tier.store.list(Some(&prefix));
    let mut batch: Vec<(FileId, object_store::path::Path, InFlightGuard)> = Vec::new();
    let mut deleted = 0;
    loop {
        let entry = listing.next().await.transpose()?;
        if let Some(entry) = &entry {
            // Only `<node prefix>/<object id>`: snapshots (`meta/…`) and anything else stay.
            let relative: Vec<_> = entry
                .location
                .prefix_match(&prefix)
                .into_iter()
                .flatten()
                .collect();
            let object_id = match relative.as_slice() {
                [name] => FileId::parse(name.as_ref()),
                _ => None,
            };
            if let Some(object_id) =
                object_id.filter(|_| entry.last_modified.timestamp_millis() < cutoff)
            {
                // Claimed before the metadata is asked: a move of the same id cannot commit
                // between the answer and the delete.
                if let Some(guard) = in_flight.claim(object_id) {
                    batch.push((object_id, entry.location.clone(), guard));
                }
            }
        }
        if batch.len() >= TIER_RECONCILE_BATCH_COUNT_MAX || (entry.is_none() && !batch.is_empty()) {
            let referenced = call(
                meta,
                FindRemoteReferences {
                    object_ids: batch.iter().map(|(id, _, _)| *id).collect(),
                },
            )
            .await?;
            for ((object_id, location, _guard), referenced) in batch.drain(..).zip(referenced) {
                if referenced {
                    continue;
                }
                match tier.store.delete(&location).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => deleted += 1,
                    Err(error) => return Err(error.into()),
                }
                tracing::info!(tier = %tier.spec.name, object_id = %object_id, "orphaned upstream object deleted");
            }
        }
        if entry.is_none() {
            return Ok(deleted);
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or(0)
}
