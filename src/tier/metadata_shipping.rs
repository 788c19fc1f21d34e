//! The metadata's way off the host (issue 24, whole-host loss): at an interval, when it changed,
//! a consistent snapshot of `meta.sqlite` (`MetaStore::snapshot`, SQLite's `VACUUM INTO` on a
//! reader connection) is uploaded to every tier as `<prefix>/<node id>/meta/<ms>.sqlite`, the
//! newest `METADATA_SNAPSHOTS_KEPT` kept; and `fetch_latest` brings the newest back, for
//! `ringstore restore --from-tier`. Runs on the tier threads (or the restore command's own
//! runtime), never on a core.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use futures_lite::StreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};

use super::tiers::{Tier, Tiers};
use crate::limits::{METADATA_SNAPSHOTS_KEPT, TIER_PARTS_IN_FLIGHT_MAX, TIER_PART_BYTES};
use crate::storage::Layout;

/// Why shipping or fetching the metadata failed.
#[derive(Debug, thiserror::Error)]
pub enum ShippingError {
    /// The tier failed.
    #[error("tier: {0}")]
    Tier(#[from] object_store::Error),
    /// A local file could not be made or read.
    #[error("local file: {0}")]
    Local(#[from] std::io::Error),
    /// SQLite could not take the snapshot.
    #[error("snapshot: {0}")]
    Snapshot(#[from] crate::meta::MetaError),
    /// The tier holds no snapshot for the node.
    #[error("no metadata snapshot under {0}")]
    NoSnapshot(String),
    /// Several nodes ship to the tier and none was chosen.
    #[error("several nodes ship metadata here ({0}); choose one with --node")]
    SeveralNodes(String),
}

/// Where `node`'s snapshots are in a tier whose prefix is `prefix`.
pub fn snapshots_prefix(prefix: &str, node_id: &str) -> StorePath {
    if prefix.is_empty() {
        StorePath::from(format!("{node_id}/meta"))
    } else {
        StorePath::from(format!("{prefix}/{node_id}/meta"))
    }
}

/// Ships a snapshot every `interval` while the database changes (its files' modification times
/// tell), for ever.
pub async fn run(tiers: std::sync::Arc<Tiers>, layout: Layout, interval: Duration) {
    let mut shipped_at: Option<SystemTime> = None;
    loop {
        tokio::time::sleep(interval).await;
        let changed = last_change(&layout);
        if changed.is_some() && changed == shipped_at {
            continue;
        }
        match ship_once(&tiers, &layout).await {
            Ok(()) => shipped_at = changed,
            Err(error) => {
                tracing::warn!(error = %error, "metadata not shipped to the tiers; trying again at the next interval")
            }
        }
    }
}

/// The latest modification time of the database and its WAL.
fn last_change(layout: &Layout) -> Option<SystemTime> {
    let database = layout.meta_path();
    let wal = PathBuf::from(format!("{}-wal", database.display()));
    [database, wal]
        .iter()
        .filter_map(|path| {
            std::fs::metadata(path)
                .and_then(|meta| meta.modified())
                .ok()
        })
        .max()
}

/// Takes one snapshot and uploads it to every tier, then drops the older ones.
pub async fn ship_once(tiers: &Tiers, layout: &Layout) -> Result<(), ShippingError> {
    let taken_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis())
        .unwrap_or(0);
    let snapshot = layout
        .temp_dir()
        .join(format!("meta-snapshot-{taken_ms}.sqlite"));
    let database = layout.meta_path();
    let target = snapshot.clone();
    let taken =
        tokio::task::spawn_blocking(move || crate::meta::MetaStore::snapshot(&database, &target))
            .await
            .map_err(|error| std::io::Error::other(error.to_string()))?;
    let outcome = async {
        taken?;
        // Never over the snapshots of a newer copy of this data dir (`fence`).
        for tier in tiers.all().filter(|tier| tier.ownership.owned()) {
            let prefix = snapshots_prefix(tier.spec.location.prefix(), tiers.node_id());
            let name = prefix.clone().join(format!("{taken_ms:020}.sqlite"));
            upload_file(tier.store.as_ref(), &name, &snapshot).await?;
            prune(tier, &prefix).await?;
            tracing::info!(tier = %tier.spec.name, name = %name, "metadata shipped");
        }
        Ok(())
    }
    .await;
    let _ = std::fs::remove_file(&snapshot);
    outcome
}

/// Uploads `file` to `name` in parts of `TIER_PART_BYTES` (a few in memory at once).
async fn upload_file(
    store: &dyn ObjectStore,
    name: &StorePath,
    file: &Path,
) -> Result<(), ShippingError> {
    use std::io::Read;
    let upload = store.put_multipart(name).await?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, TIER_PART_BYTES);
    let mut reader = Some(std::fs::File::open(file)?);
    loop {
        writer.wait_for_capacity(TIER_PARTS_IN_FLIGHT_MAX).await?;
        let mut taken = reader.take().expect("file returned by the last read");
        let (taken, chunk) = tokio::task::spawn_blocking(move || {
            let mut chunk = Vec::with_capacity(TIER_PART_BYTES);
            let read = (&mut taken)
                .take(TIER_PART_BYTES as u64)
                .read_to_end(&mut chunk);
            (taken, read.map(|_| chunk))
        })
        .await
        .map_err(|error| std::io::Error::other(error.to_string()))?;
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(error) => {
                let _ = writer.abort().await;
                return Err(error.into());
            }
        };
        if chunk.is_empty() {
            break;
        }
        writer.put(chunk.into());
        reader = Some(taken);
    }
    writer.finish().await?;
    Ok(())
}

/// Deletes all but the newest `METADATA_SNAPSHOTS_KEPT` snapshots under `prefix`.
async fn prune(tier: &Tier, prefix: &StorePath) -> Result<(), ShippingError> {
    let mut names = snapshot_names(tier.store.as_ref(), prefix).await?;
    names.sort();
    let excess = names.len().saturating_sub(METADATA_SNAPSHOTS_KEPT);
    for name in names.into_iter().take(excess) {
        tier.store.delete(&name).await?;
    }
    Ok(())
}

async fn snapshot_names(
    store: &dyn ObjectStore,
    prefix: &StorePath,
) -> Result<Vec<StorePath>, ShippingError> {
    let mut names = Vec::new();
    let mut listing = store.list(Some(prefix));
    while let Some(entry) = listing.next().await {
        let entry = entry?;
        if entry.location.as_ref().ends_with(".sqlite") {
            names.push(entry.location);
        }
    }
    Ok(names)
}

/// Downloads the newest snapshot of node `node` (or of the only node shipping to this tier) to
/// `target`, for the restore command (it writes the file with blocking calls: not for the tier
/// threads); the node's id.
pub async fn fetch_latest(
    store: &dyn ObjectStore,
    prefix: &str,
    node: Option<&str>,
    target: &Path,
) -> Result<String, ShippingError> {
    let node_id = match node {
        Some(node) => node.to_string(),
        None => {
            let root = (!prefix.is_empty()).then(|| StorePath::from(prefix));
            let listed = store.list_with_delimiter(root.as_ref()).await?;
            let mut nodes = Vec::new();
            for directory in listed.common_prefixes {
                let id = directory.filename().unwrap_or_default().to_string();
                let snapshots = snapshot_names(store, &snapshots_prefix(prefix, &id)).await?;
                if !snapshots.is_empty() {
                    nodes.push(id);
                }
            }
            match nodes.as_slice() {
                [] => return Err(ShippingError::NoSnapshot(prefix.to_string())),
                [only] => only.clone(),
                several => return Err(ShippingError::SeveralNodes(several.join(", "))),
            }
        }
    };
    let snapshots_at = snapshots_prefix(prefix, &node_id);
    let mut names = snapshot_names(store, &snapshots_at).await?;
    names.sort();
    let newest = names
        .pop()
        .ok_or_else(|| ShippingError::NoSnapshot(snapshots_at.to_string()))?;
    use std::io::Write;
    let mut body = store.get(&newest).await?.into_stream();
    // The restore command's own thread: plain writes are fine here.
    let mut file = std::fs::File::create(target)?;
    while let Some(chunk) = body.next().await {
        file.write_all(&chunk?)?;
    }
    file.sync_all()?;
    Ok(node_id)
}

/// What `restore` brought back.
#[derive(Debug)]
pub struct RestoreReport {
    /// The node whose metadata it is.
    pub node_id: String,
    /// Versions local in the snapshot but found upstream (moved after it was taken): switched
    /// to their remote copies.
    pub relinked: u64,
    /// Versions whose bytes were in local files at the loss: they answer 500 (and are listed in
    /// `missing_files` by the first start's recovery), never wrong bytes.
    pub local_versions_lost: u64,
}

/// `ringstore restore --from-tier`: rebuilds `layout`'s metadata from the newest snapshot of
/// node `node` (or the only node) in the tier `spec`. Refuses a data dir that has metadata. Runs
/// a tokio runtime of its own on the calling thread (the command's, never a core).
pub fn restore(
    spec: &super::TierSpec,
    node: Option<&str>,
    layout: &Layout,
) -> Result<RestoreReport, RestoreError> {
    let database = layout.meta_path();
    if database.exists() {
        return Err(RestoreError::DataDirInUse(database));
    }
    layout.create_dirs()?;
    let store_client = super::connect::connect(spec)
        .map_err(ShippingError::Tier)?
        .store;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let partial = layout.temp_dir().join("meta-restore.sqlite");
    let node_id = runtime.block_on(fetch_latest(
        store_client.as_ref(),
        spec.location.prefix(),
        node,
        &partial,
    ))?;
    std::fs::rename(&partial, &database)?;
    std::fs::File::open(layout.root())?.sync_all()?;
    let mut store = crate::meta::MetaStore::open(&database)?;
    let relinked = runtime.block_on(relink_moved(
        &mut store,
        store_client.as_ref(),
        spec,
        &node_id,
    ))?;
    // Taking over: a new incarnation here and on the tier fences the lost host's copy off it,
    // should it ever start again (`fence`).
    let incarnation = store.apply(&crate::meta::RenewIncarnation)?;
    let node_prefix = if spec.location.prefix().is_empty() {
        StorePath::from(node_id.as_str())
    } else {
        StorePath::from(format!("{}/{node_id}", spec.location.prefix()))
    };
    runtime
        .block_on(super::fence::claim(
            store_client.as_ref(),
            &node_prefix,
            &incarnation,
        ))
        .map_err(ShippingError::Tier)?;
    Ok(RestoreReport {
        node_id,
        relinked,
        local_versions_lost: store.local_file_versions()?,
    })
}

/// Switches every version the snapshot has as local whose object is upstream with its size (it
/// moved after the snapshot was taken; its upstream name follows from its file id) to that
/// object, as the mover's commit would have; how many.
async fn relink_moved(
    store: &mut crate::meta::MetaStore,
    tier: &dyn ObjectStore,
    spec: &super::TierSpec,
    node_id: &str,
) -> Result<u64, RestoreError> {
    use crate::meta::{CommitMove, ListLocalVersions, VersionTable};
    let node_prefix = if spec.location.prefix().is_empty() {
        StorePath::from(node_id)
    } else {
        StorePath::from(format!("{}/{node_id}", spec.location.prefix()))
    };
    let mut relinked = 0;
    for table in [VersionTable::Current, VersionTable::Noncurrent] {
        let mut after = None;
        loop {
            let page = store.apply(&ListLocalVersions {
                table,
                after: after.clone(),
                rows_max: crate::limits::TIER_SCAN_ROWS_MAX,
            })?;
            for mut candidate in page.due {
                candidate.tier = spec.name.clone();
                let Some(remote) = candidate.remote() else {
                    continue;
                };
                let name = node_prefix.clone().join(remote.object_id.to_string());
                let stored_bytes: u64 = super::upload::stored_files(&candidate)
                    .iter()
                    .map(|(_, size)| size)
                    .sum();
                match tier.head(&name).await {
                    Ok(found) if found.size == stored_bytes => {
                        if store.apply(&CommitMove { candidate, remote })? {
                            relinked += 1;
                        }
                    }
                    Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(error) => return Err(ShippingError::Tier(error).into()),
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }
    Ok(relinked)
}

/// Why a restore failed.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The data dir already has metadata (a restore never overwrites it).
    #[error("{0} exists: restore into an empty data dir")]
    DataDirInUse(PathBuf),
    /// Fetching failed.
    #[error("{0}")]
    Shipping(#[from] ShippingError),
    /// The data dir could not be written.
    #[error("data dir: {0}")]
    Local(#[from] std::io::Error),
    /// The snapshot is not a metadata database this build can open.
    #[error("restored metadata: {0}")]
    Schema(#[from] crate::meta::schema::SchemaError),
    /// Reading the restored metadata failed.
    #[error("restored metadata: {0}")]
    Meta(#[from] crate::meta::MetaError),
}
