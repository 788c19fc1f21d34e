//! Startup is recovery: temp files are removed and object files no metadata references are
//! deleted, so a crash at any moment leaves nothing half-visible. Runs before the cores start.

use std::collections::HashSet;
use std::io;

use super::layout::OBJECT_DIR_COUNT;
use super::{FileId, Layout};

/// What recovery found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Temp files of uploads that never completed, removed.
    pub temp_files_removed: usize,
    /// Object files with no metadata row (crash between rename and commit), removed.
    pub orphan_files_removed: usize,
    /// Metadata rows whose file is missing.
    pub missing_files: Vec<FileId>,
}

/// Cleans the data dir against the set of file ids the metadata references.
pub fn recover(layout: &Layout, referenced: &HashSet<FileId>) -> io::Result<RecoveryReport> {
    let mut report = RecoveryReport::default();
    for entry in std::fs::read_dir(layout.temp_dir())? {
        let entry = entry?;
        std::fs::remove_file(entry.path())?;
        report.temp_files_removed += 1;
    }
    // The object directories are independent: scan them on every CPU (startup on a million
    // files is mostly this scan), counting referenced files instead of collecting them.
    let threads = std::thread::available_parallelism()
        .map_or(1, |count| count.get())
        .min(OBJECT_DIR_COUNT);
    let scans: Vec<io::Result<DirectoryScan>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|worker| {
                scope.spawn(move || {
                    let mut total = DirectoryScan::default();
                    for index in (worker..OBJECT_DIR_COUNT).step_by(threads) {
                        total.add(scan_object_dir(layout, index, referenced)?);
                    }
                    Ok(total)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("recovery scan thread panicked"))
            .collect()
    });
    let mut total = DirectoryScan::default();
    for scan in scans {
        total.add(scan?);
    }
    report.orphan_files_removed = total.orphans_removed;
    // Each file is one id, so every referenced file was found iff the counts match; only
    // otherwise (rare: a file lost outside ringstore) is a second pass needed to name them.
    if total.referenced_found < referenced.len() {
        let present = present_ids(layout)?;
        report.missing_files = referenced
            .iter()
            .filter(|id| !present.contains(id))
            .copied()
            .collect();
    }
    Ok(report)
}

/// What one object directory held.
#[derive(Debug, Default)]
struct DirectoryScan {
    referenced_found: usize,
    orphans_removed: usize,
}

impl DirectoryScan {
    fn add(&mut self, other: DirectoryScan) {
        self.referenced_found += other.referenced_found;
        self.orphans_removed += other.orphans_removed;
    }
}

/// Removes the files of directory `index` that no row references; counts the others.
fn scan_object_dir(
    layout: &Layout,
    index: usize,
    referenced: &HashSet<FileId>,
) -> io::Result<DirectoryScan> {
    let mut scan = DirectoryScan::default();
    for entry in std::fs::read_dir(layout.object_dir(index))? {
        let entry = entry?;
        let name = entry.file_name();
        match name.to_str().and_then(FileId::parse) {
            Some(id) if referenced.contains(&id) => scan.referenced_found += 1,
            _ => {
                std::fs::remove_file(entry.path())?;
                scan.orphans_removed += 1;
            }
        }
    }
    Ok(scan)
}

/// Every object file id on disk.
fn present_ids(layout: &Layout) -> io::Result<HashSet<FileId>> {
    let mut present = HashSet::new();
    for index in 0..OBJECT_DIR_COUNT {
        for entry in std::fs::read_dir(layout.object_dir(index))? {
            present.extend(entry?.file_name().to_str().and_then(FileId::parse));
        }
    }
    Ok(present)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_temp_and_orphans_keeps_referenced() {
        // Goal: recovery deletes exactly the unreferenced files and reports missing ones.
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        layout.create_dirs().unwrap();
        let kept = FileId::random();
        let orphan = FileId::random();
        let missing = FileId::random();
        std::fs::write(layout.object_path(kept), b"k").unwrap();
        std::fs::write(layout.object_path(orphan), b"o").unwrap();
        std::fs::write(layout.temp_path(FileId::random()), b"t").unwrap();
        let referenced: HashSet<FileId> = [kept, missing].into_iter().collect();
        let report = recover(&layout, &referenced).unwrap();
        assert_eq!(report.temp_files_removed, 1);
        assert_eq!(report.orphan_files_removed, 1);
        assert_eq!(report.missing_files, vec![missing]);
        assert!(layout.object_path(kept).exists());
        assert!(!layout.object_path(orphan).exists());
    }
}
