//! The startup scrub: once the cores serve, a background thread compares the object files on disk
//! with the file ids the rows reference, one fan-out directory at a time. It removes the orphans
//! a crash left (a file renamed into place whose commit never came, or whose row was dropped
//! before its deferred removal ran) and marks files that rows reference but the disk lacks. Its
//! memory is one directory's share of the ids, so startup time and RSS do not grow with the
//! number of objects (issue 25, item 5).
//!
//! Why it is safe beside live writes: a file counts as an orphan only if its inode last changed
//! before the scrub's start (files written since are in flight until their commit), and only
//! once one consistent snapshot of the rows confirms nothing references it; it is removed
//! `FILE_REMOVAL_GRACE_MS` after that snapshot, like any file a delete frees. A missing file is
//! marked only if a row referenced it before the directory was listed and still does after.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::limits::{
    FILE_REMOVAL_GRACE_MS, SCRUB_CANDIDATES_MAX, SCRUB_SPILL_BUFFER_BYTES, SCRUB_YIELD_POLL_MS,
    SCRUB_YIELD_REQUESTS_IN_FLIGHT_MIN, SCRUB_YIELD_WAIT_MS_MAX,
};
use crate::meta::file_references::{FileReferences, MarkMissingFiles};
use crate::meta::{MetaClient, MetaError};
use crate::obs::metrics::ScrubMetrics;
use crate::storage::layout::OBJECT_DIR_COUNT;
use crate::storage::recovery::{self, FileTime};
use crate::storage::{io_priority, FileId, Layout};

/// Bytes of one id in a spill file (a `u128`, little-endian).
const SPILL_ID_BYTES: usize = 16;

/// Requests the cores are handling now; the scrub yields while there are some.
pub type ForegroundLoad = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Waits while the cores are busy (at least `SCRUB_YIELD_REQUESTS_IN_FLIGHT_MIN` requests in
/// flight), at most `SCRUB_YIELD_WAIT_MS_MAX`. Nice 19 alone did not keep the scrub out of the
/// way: on two vCPUs, 4 KiB PUTs ran at 0.4–0.8 of their rate while it ran (BENCHMARKS.md).
fn yield_to(load: &ForegroundLoad) {
    let give_up = Instant::now() + Duration::from_millis(SCRUB_YIELD_WAIT_MS_MAX);
    while load() >= SCRUB_YIELD_REQUESTS_IN_FLIGHT_MIN && Instant::now() < give_up {
        std::thread::sleep(Duration::from_millis(SCRUB_YIELD_POLL_MS));
    }
}

/// Why the scrub stopped early (it is logged; the next start scrubs again).
#[derive(Debug, thiserror::Error)]
pub enum ScrubError {
    /// Reading a directory, a spill file or removing a file failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// Reading the rows or marking missing files failed.
    #[error("{0}")]
    Meta(#[from] MetaError),
}

/// What one scrub found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScrubReport {
    /// Rows read.
    pub rows: u64,
    /// Referenced files found on disk.
    pub files_present: usize,
    /// Orphans removed.
    pub orphan_files_removed: usize,
    /// Files rows reference that the disk lacks, marked in `missing_files`.
    pub missing_files: Vec<FileId>,
}

/// Starts the scrub on a background thread of its own (nice 19, idle I/O class, yielding to
/// `foreground_load`). `started` must be read before any core can accept a write; the thread
/// exits when the scrub ends, and its outcome is in `metrics` and the log.
pub fn spawn(
    layout: Layout,
    client: MetaClient,
    metrics: Arc<ScrubMetrics>,
    started: FileTime,
    foreground_load: ForegroundLoad,
) -> io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("ringstore-scrub".into())
        .spawn(move || {
            io_priority::make_thread_background();
            let begun = Instant::now();
            let mark = |ids: Vec<FileId>, found_ms: i64| {
                futures_lite::future::block_on(client.call_off_core(
                    MarkMissingFiles {
                        file_ids: ids,
                        found_ms,
                    },
                    || async { std::thread::sleep(Duration::from_millis(10)) },
                ))
            };
            match scrub(&layout, started, mark, || yield_to(&foreground_load)) {
                Ok(report) => {
                    metrics
                        .orphan_files_removed
                        .store(report.orphan_files_removed as u64, Ordering::Relaxed);
                    metrics
                        .missing_files
                        .store(report.missing_files.len() as u64, Ordering::Relaxed);
                    metrics.done.store(1, Ordering::Relaxed);
                    tracing::info!(
                        rows = report.rows,
                        files_present = report.files_present,
                        orphan_files_removed = report.orphan_files_removed,
                        missing_files = report.missing_files.len(),
                        duration_ms = begun.elapsed().as_millis() as u64,
                        "startup scrub done"
                    );
                }
                Err(error) => {
                    metrics.failed.store(1, Ordering::Relaxed);
                    tracing::error!(error = %error, "startup scrub failed; the next start tries again");
                }
            }
        })
}

/// Scrubs the data dir of `layout` against its metadata; `mark` records missing files (through
/// the metadata thread in the server); `pause` runs before each page of rows and each directory.
pub fn scrub(
    layout: &Layout,
    started: FileTime,
    mut mark: impl FnMut(Vec<FileId>, i64) -> Result<(), MetaError>,
    mut pause: impl FnMut(),
) -> Result<ScrubReport, ScrubError> {
    let mut references = FileReferences::open(&layout.meta_path())?;
    let spill = layout.scrub_dir();
    let mut report = ScrubReport {
        rows: spill_references(&spill, &references, &mut pause)?,
        ..ScrubReport::default()
    };
    let mut candidates = Candidates::default();
    for index in 0..OBJECT_DIR_COUNT {
        pause();
        let referenced = read_spill(&spill_path(&spill, index))?;
        let check = recovery::check_object_dir(layout, index, &referenced, started)?;
        report.files_present += check.present;
        candidates.orphans.extend(
            check
                .unreferenced
                .into_iter()
                .map(|(name, id)| (index, name, id)),
        );
        candidates.missing.extend(check.missing);
        if candidates.len() >= SCRUB_CANDIDATES_MAX {
            settle(
                layout,
                &mut references,
                &mut candidates,
                &mut report,
                &mut mark,
            )?;
        }
    }
    settle(
        layout,
        &mut references,
        &mut candidates,
        &mut report,
        &mut mark,
    )?;
    std::fs::remove_dir_all(&spill)?;
    Ok(report)
}

/// What the directory checks singled out, not yet confirmed.
#[derive(Default)]
struct Candidates {
    /// (directory index, file name, its id if the name is one).
    orphans: Vec<(usize, OsString, Option<FileId>)>,
    missing: Vec<FileId>,
}

impl Candidates {
    fn len(&self) -> usize {
        self.orphans.len() + self.missing.len()
    }
}

/// Confirms `candidates` against one snapshot of the rows, removes the orphans (after the grace
/// a reader that looked a row up just before its delete gets) and marks the missing; empties it.
fn settle(
    layout: &Layout,
    references: &mut FileReferences,
    candidates: &mut Candidates,
    report: &mut ScrubReport,
    mark: &mut impl FnMut(Vec<FileId>, i64) -> Result<(), MetaError>,
) -> Result<(), ScrubError> {
    if candidates.len() == 0 {
        return Ok(());
    }
    let Candidates {
        mut orphans,
        mut missing,
    } = std::mem::take(candidates);
    // Stat'ed before the snapshot: a row that referenced the id before the listing and still
    // does after this stat had no file throughout.
    missing.retain(|id| !layout.object_path(*id).exists());
    let ids: HashSet<FileId> = orphans
        .iter()
        .filter_map(|(_, _, id)| *id)
        .chain(missing.iter().copied())
        .collect();
    let referenced = references.referenced_among(&ids)?;
    orphans.retain(|(_, _, id)| id.is_none_or(|id| !referenced.contains(&id)));
    missing.retain(|id| referenced.contains(id));
    if !orphans.is_empty() {
        std::thread::sleep(Duration::from_millis(FILE_REMOVAL_GRACE_MS));
        orphans.sort_by_key(|(index, _, _)| *index);
        for (index, name, _) in orphans {
            report.orphan_files_removed += recovery::remove_from_object_dir(layout, index, [name])?;
        }
    }
    if !missing.is_empty() {
        for id in &missing {
            tracing::error!(file_id = %id, "metadata references a file that is missing; marked in missing_files");
        }
        mark(missing.clone(), now_ms())?;
        report.missing_files.extend(missing);
    }
    Ok(())
}

/// Writes every referenced id to the spill file of its directory (`OBJECT_DIR_COUNT` files under
/// `spill`, made afresh); the rows read.
fn spill_references(
    spill: &Path,
    references: &FileReferences,
    pause: &mut impl FnMut(),
) -> Result<u64, ScrubError> {
    match std::fs::remove_dir_all(spill) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error.into()),
        _ => {}
    }
    std::fs::create_dir(spill)?;
    let mut writers = (0..OBJECT_DIR_COUNT)
        .map(|index| {
            File::create(spill_path(spill, index))
                .map(|file| BufWriter::with_capacity(SCRUB_SPILL_BUFFER_BYTES, file))
        })
        .collect::<io::Result<Vec<_>>>()?;
    let mut failure = None;
    let rows = references.for_each_page(
        |id| {
            if failure.is_none() {
                if let Err(error) = writers[id.dir_index()].write_all(&id.0.to_le_bytes()) {
                    failure = Some(error);
                }
            }
        },
        pause,
    )?;
    if let Some(error) = failure {
        return Err(error.into());
    }
    for writer in writers {
        writer.into_inner().map_err(|error| error.into_error())?;
    }
    Ok(rows)
}

/// The ids of one spill file, sorted, without repeats (a row seen on two pages); removes it.
fn read_spill(path: &Path) -> io::Result<Vec<u128>> {
    let bytes = std::fs::read(path)?;
    std::fs::remove_file(path)?;
    let mut ids: Vec<u128> = bytes
        .chunks_exact(SPILL_ID_BYTES)
        .map(|chunk| u128::from_le_bytes(chunk.try_into().expect("16-byte chunk")))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

fn spill_path(spill: &Path, index: usize) -> PathBuf {
    spill.join(format!("{index:02x}"))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::MetaStore;

    #[test]
    fn a_scrub_removes_old_orphans_marks_missing_files_and_spares_new_files() {
        // Goal: referenced files stay, orphans from before the start go, a file written after
        // the start (a write not yet committed) stays though no row references it, a row whose
        // file is gone is marked, and the scratch files are gone at the end.
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        layout.create_dirs().unwrap();
        drop(MetaStore::open(&layout.meta_path()).unwrap());
        let connection = rusqlite::Connection::open(layout.meta_path()).unwrap();
        let (kept, missing) = (FileId::random(), FileId::random());
        for (key, id) in [("kept", kept), ("missing", missing)] {
            connection
                .execute(
                    "INSERT INTO objects (bucket, key, file_id, size, etag, last_modified_ms, \
                     headers, owner) VALUES ('b', ?1, ?2, 1, 'e', 0, '', 'o')",
                    rusqlite::params![key, id.to_string()],
                )
                .unwrap();
        }
        std::fs::write(layout.object_path(kept), b"k").unwrap();
        let orphans: Vec<FileId> = (0..3).map(|_| FileId::random()).collect();
        for orphan in &orphans {
            std::fs::write(layout.object_path(*orphan), b"o").unwrap();
        }
        std::thread::sleep(Duration::from_millis(30));
        let started = FileTime::now();
        std::thread::sleep(Duration::from_millis(30));
        let in_flight = FileId::random();
        std::fs::write(layout.object_path(in_flight), b"n").unwrap();
        let mut marked = Vec::new();
        let mut pauses = 0;
        let report = scrub(
            &layout,
            started,
            |ids, _| {
                marked.extend(ids);
                Ok(())
            },
            || pauses += 1,
        )
        .unwrap();
        assert!(pauses > OBJECT_DIR_COUNT, "{pauses} pauses");
        assert_eq!(report.rows, 2);
        assert_eq!(report.files_present, 1);
        assert_eq!(report.orphan_files_removed, 3);
        assert_eq!(report.missing_files, vec![missing]);
        assert_eq!(marked, vec![missing]);
        assert!(layout.object_path(kept).exists());
        assert!(layout.object_path(in_flight).exists());
        assert!(orphans.iter().all(|id| !layout.object_path(*id).exists()));
        assert!(!layout.scrub_dir().exists());
    }
}
