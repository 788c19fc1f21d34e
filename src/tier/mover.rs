//! The mover and the garbage collector, on the tier threads. The mover pages through the
//! versions whose bucket placement says they are due (`ListMoveCandidates`), uploads each
//! version's local files to one upstream object (`upload`: a single PUT or a journaled multipart
//! upload, never more than a few parts in memory), switches the
//! version to it in one metadata commit (`CommitMove`), and only then removes the files. A crash
//! anywhere leaves the version local (not committed: the upload is overwritten by the next
//! attempt, whose name is the same) or remote (committed: startup recovery removes the files
//! left behind). The collector deletes upstream what `tier_garbage` holds once its grace period
//! passed.

use std::sync::Arc;
use std::time::Duration;

use object_store::ObjectStoreExt;

use super::reconciler::InFlight;
use super::tiers::{call, upstream, Tiers};
use super::upload::{stored_files, MoveError, Pace, Upload};
use crate::limits::{
    TIER_GARBAGE_BATCH_COUNT_MAX, TIER_IDLE_WAIT_MS, TIER_MOVES_IN_FLIGHT, TIER_PART_BYTES,
    TIER_PART_BYTES_MAX, TIER_RETRY_BACKOFF_MS_MAX, TIER_SCAN_ROWS_MAX, TIER_SCAN_WAIT_FACTOR,
    TIER_SCAN_WAIT_MS_MAX,
};
use crate::meta::{
    CommitMove, ListMoveCandidates, ListTierGarbage, MetaClient, MoveCandidate, RemoveTierGarbage,
    VersionTable,
};
use crate::storage::Layout;

/// What the mover needs besides the tiers.
pub struct MoverSettings {
    /// Upstream garbage waits this long before its deletion, in milliseconds.
    pub garbage_grace_ms: i64,
    /// A lifecycle day, in milliseconds (`Config::lifecycle_day_ms`).
    pub day_ms: i64,
    /// How often the metadata is shipped to the tiers (`None`: never).
    pub metadata_interval: Option<Duration>,
    /// The mover's upload rate limit, bytes per second (0: none).
    pub bandwidth_bytes_per_second: u64,
    /// Requests the cores are handling now (their metrics, read-only): the mover yields to them.
    pub foreground_load: super::upload::ForegroundLoad,
}

/// Local files of moved versions, removed once the grace period passed: a GET that looked the
/// version up just before its move opens its files as it goes (a multipart object's beyond the
/// first ones later), so they must outlive the switch a while. Not durable: after a crash,
/// startup recovery removes them as files no row references.
#[derive(Default)]
struct Removals(Vec<(std::time::Instant, Vec<std::path::PathBuf>)>);

impl Removals {
    fn remove_due(&mut self) {
        let now = std::time::Instant::now();
        self.0.retain(|(due, paths)| {
            if *due > now {
                return true;
            }
            for path in paths {
                // Gone already is fine; anything else is left to startup recovery.
                let _ = std::fs::remove_file(path);
            }
            false
        });
    }
}

/// Moves and collects for ever (until the runtime is dropped at shutdown).
pub async fn run(
    tiers: Arc<Tiers>,
    meta: MetaClient,
    layout: Layout,
    in_flight: InFlight,
    settings: MoverSettings,
) {
    let mut backoff_ms = TIER_IDLE_WAIT_MS;
    let grace = Duration::from_millis(settings.garbage_grace_ms.max(0) as u64);
    let mut removals = Removals::default();
    let pace = Pace::new(
        settings.bandwidth_bytes_per_second,
        settings.foreground_load.clone(),
    );
    let warned = std::sync::Mutex::default();
    loop {
        let mover = Mover {
            tiers: &tiers,
            meta: &meta,
            layout: &layout,
            in_flight: &in_flight,
            pace: &pace,
            warned: &warned,
        };
        let started = std::time::Instant::now();
        let owned_at_start: Vec<&super::tiers::Tier> =
            tiers.all().filter(|tier| tier.ownership.owned()).collect();
        let moved = mover.move_due(settings.day_ms, grace, &mut removals).await;
        // Interrupted uploads of versions still due there were resumed (or are being sent):
        // the reconciler may abort the others now. A pass a failure cut short counts too, so a
        // failing tier never holds reconciliation back (what it did not resume is aborted, and
        // moved afresh later).
        for tier in owned_at_start {
            tier.passed_over
                .store(true, std::sync::atomic::Ordering::Release);
        }
        let pass_ms = started.elapsed().as_millis() as u64;
        if !matches!(moved, Ok(moved) if moved > 0) {
            // Idle (or failing): the part buffers are not needed until the next move.
            super::local_read::release_buffers();
        }
        removals.remove_due();
        collect_garbage(&tiers, &meta, settings.garbage_grace_ms).await;
        let wait_ms = match moved {
            // A pass that moved something goes again at once; one that found nothing waits in
            // proportion to what the scan cost (a pass over a large bucket takes the metadata
            // thread's time), at least TIER_IDLE_WAIT_MS.
            Ok(0) => {
                backoff_ms = TIER_IDLE_WAIT_MS;
                (pass_ms * TIER_SCAN_WAIT_FACTOR).clamp(TIER_IDLE_WAIT_MS, TIER_SCAN_WAIT_MS_MAX)
            }
            Ok(_) => continue,
            Err(error) => {
                tracing::warn!(error = %error, retry_in_ms = backoff_ms, "moving to a tier failed; retrying later");
                let wait_ms = backoff_ms;
                backoff_ms = (backoff_ms * 2).min(TIER_RETRY_BACKOFF_MS_MAX);
                wait_ms
            }
        };
        let wait = Duration::from_millis(wait_ms);
        // Wake for due removals too.
        let next_removal = removals.0.iter().map(|(due, _)| *due).min();
        match next_removal {
            Some(due) => {
                tokio::time::sleep(
                    wait.min(due.saturating_duration_since(std::time::Instant::now())),
                )
                .await
            }
            None => tokio::time::sleep(wait).await,
        }
    }
}

/// What a pass works with.
struct Mover<'a> {
    tiers: &'a Tiers,
    meta: &'a MetaClient,
    layout: &'a Layout,
    in_flight: &'a InFlight,
    pace: &'a Pace,
    /// Buckets already said to be placed on a tier not configured (said once per start).
    warned: &'a std::sync::Mutex<std::collections::HashSet<String>>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or(0)
}

impl Mover<'_> {
    /// One pass over both tables; the number of versions moved. A version that cannot be read
    /// locally (or is too large to move) is logged and skipped; a tier or metadata failure ends
    /// the pass (the mover backs off).
    async fn move_due(
        &self,
        day_ms: i64,
        grace: Duration,
        removals: &mut Removals,
    ) -> Result<usize, MoveError> {
        let mut moved = 0;
        for table in [VersionTable::Current, VersionTable::Noncurrent] {
            let mut after = None;
            loop {
                let page = call(
                    self.meta,
                    ListMoveCandidates {
                        table,
                        after: after.clone(),
                        now_ms: now_ms(),
                        day_ms,
                        rows_max: TIER_SCAN_ROWS_MAX,
                    },
                )
                .await?;
                let mut due = page.due.into_iter().filter(|candidate| {
                    let known = self.tiers.get(&candidate.tier).is_some();
                    // A tier not yet answered, or held by a newer copy of this data dir
                    // (`fence`): nothing moves there.
                    if known && self.tiers.owned(&candidate.tier).is_none() {
                        return false;
                    }
                    let first_time = !known
                        && self
                            .warned
                            .lock()
                            .expect("warned buckets")
                            .insert(candidate.bucket.clone());
                    if first_time {
                        // Placement names a tier this server was not started with: its objects
                        // stay local until it is.
                        tracing::warn!(bucket = %candidate.bucket, tier = %candidate.tier, "bucket placed on a tier that is not configured (--tier); its objects stay local");
                    }
                    known
                });
                // `TIER_MOVES_IN_FLIGHT` (two) versions at once: one version's reads, checksums
                // and uploads overlap the other's waits.
                const _: () = assert!(TIER_MOVES_IN_FLIGHT == 2, "the loop below pairs versions");
                while let Some(first) = due.next() {
                    let (first_outcome, second_outcome) = match due.next() {
                        Some(second) => {
                            let (a, b) = futures_lite::future::zip(
                                self.move_logged(first),
                                self.move_logged(second),
                            )
                            .await;
                            (a, Some(b))
                        }
                        None => (self.move_logged(first).await, None),
                    };
                    let mut failure = None;
                    for outcome in std::iter::once(first_outcome).chain(second_outcome) {
                        match outcome {
                            Ok(Some(files)) => {
                                moved += 1;
                                removals.0.push((std::time::Instant::now() + grace, files));
                            }
                            Ok(None) => {}
                            Err(error) => failure = Some(error),
                        }
                    }
                    if let Some(error) = failure {
                        return Err(error);
                    }
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        Ok(moved)
    }

    /// `move_one`, with the failures that concern only this version logged and passed over.
    async fn move_logged(
        &self,
        candidate: MoveCandidate,
    ) -> Result<Option<Vec<std::path::PathBuf>>, MoveError> {
        let (bucket, key) = (candidate.bucket.clone(), candidate.key.clone());
        match self.move_one(candidate).await {
            Err(MoveError::Local(error)) => {
                tracing::error!(bucket = %bucket, key = %key, error = %error, "version not moved: its local copy cannot be read; it stays local");
                Ok(None)
            }
            Err(MoveError::TooLarge(size_bytes)) => {
                tracing::warn!(bucket = %bucket, key = %key, size_bytes, "version too large to move (over 10,000 parts of the largest part size); it stays local");
                Ok(None)
            }
            outcome => outcome,
        }
    }

    /// Uploads one version and commits the switch; the local files to remove once it switched
    /// (`None`: it did not, having changed meanwhile).
    async fn move_one(
        &self,
        candidate: MoveCandidate,
    ) -> Result<Option<Vec<std::path::PathBuf>>, MoveError> {
        let (tiers, meta, layout) = (self.tiers, self.meta, self.layout);
        let Some(remote) = candidate.remote() else {
            return Ok(None);
        };
        // Held until the commit: the reconciler leaves the name alone meanwhile (and if it holds the
        // name now, this version moves at the next pass).
        let Some(_claim) = self.in_flight.claim(remote.object_id) else {
            return Ok(None);
        };
        let (tier, path) = tiers.locate(&remote)?;
        let files = candidate.files();
        let paths: Vec<_> = stored_files(&candidate)
            .into_iter()
            .map(|(file_id, stored_bytes)| (layout.object_path(file_id), stored_bytes))
            .collect();
        let stored_bytes: u64 = paths.iter().map(|(_, size)| size).sum();
        let part_bytes = part_bytes_for(stored_bytes).ok_or(MoveError::TooLarge(stored_bytes))?;
        let started = std::time::Instant::now();
        let upload = Upload {
            tier,
            path,
            remote: &remote,
            files: paths,
            size_bytes: stored_bytes,
            part_bytes,
        };
        match upload.send(meta, self.pace).await {
            Ok(()) => {}
            // Overwritten or deleted since it was listed: nothing to move.
            Err(MoveError::Local(error)) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(None)
            }
            Err(error) => return Err(error),
        }
        let committed = call(
            meta,
            CommitMove {
                candidate: candidate.clone(),
                remote: remote.clone(),
            },
        )
        .await?;
        if !committed {
            return Ok(None);
        }
        tracing::info!(
            bucket = %candidate.bucket,
            key = %candidate.key,
            tier = %remote.tier,
            object_id = %remote.object_id,
            size_bytes = candidate.size_bytes,
            duration_ms = started.elapsed().as_millis() as u64,
            "moved to tier"
        );
        Ok(Some(
            files
                .iter()
                .map(|file| layout.object_path(file.file_id))
                .collect(),
        ))
    }
}

/// The part size for moving `size_bytes`: `TIER_PART_BYTES`, or larger so the object fits S3's
/// 10,000 parts (UploadPart), in whole MiB; `None` past `TIER_PART_BYTES_MAX` parts (memory).
fn part_bytes_for(size_bytes: u64) -> Option<usize> {
    const MIB: u64 = 1024 * 1024;
    let needed = size_bytes.div_ceil(u64::from(crate::limits::PART_NUMBER_MAX));
    let part_bytes = (needed.div_ceil(MIB) * MIB).max(TIER_PART_BYTES as u64);
    (part_bytes <= TIER_PART_BYTES_MAX as u64).then_some(part_bytes as usize)
}

/// Deletes upstream what waited its grace period in `tier_garbage`, then drops those rows.
async fn collect_garbage(tiers: &Tiers, meta: &MetaClient, grace_ms: i64) {
    let garbage = match call(
        meta,
        ListTierGarbage {
            tiers: tiers
                .all()
                .filter(|tier| tier.ownership.owned())
                .map(|tier| tier.spec.name.clone())
                .collect(),
            queued_before_ms: now_ms() - grace_ms,
            limit: TIER_GARBAGE_BATCH_COUNT_MAX,
        },
    )
    .await
    {
        Ok(garbage) => garbage,
        Err(error) => {
            tracing::warn!(error = %error, "tier garbage not listed");
            return;
        }
    };
    let mut done = Vec::with_capacity(garbage.len());
    // A tier that failed a delete is left for the next round; the others go on.
    let mut failed: Vec<&str> = Vec::new();
    for item in &garbage {
        if failed.contains(&item.remote.tier.as_str()) {
            continue;
        }
        let Ok((tier, path)) = tiers.locate(&item.remote) else {
            continue; // listed only for configured tiers
        };
        if !tier.ownership.owned() {
            continue; // not ours to delete from any more (`fence`) since the listing
        }
        match tier.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {
                tiers.uncache(&item.remote);
                done.push(item.id)
            }
            Err(error) => {
                upstream(&item.remote.tier, &error);
                failed.push(&item.remote.tier);
            }
        }
    }
    if !done.is_empty() {
        if let Err(error) = call(meta, RemoveTierGarbage { ids: done }).await {
            tracing::warn!(error = %error, "tier garbage rows not removed; deleted again later");
        }
    }
}
