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
    let mut present = HashSet::with_capacity(referenced.len());
    for index in 0..OBJECT_DIR_COUNT {
        for entry in std::fs::read_dir(layout.object_dir(index))? {
            let entry = entry?;
            let name = entry.file_name();
            let id = name.to_str().and_then(FileId::parse);
            match id {
                Some(id) if referenced.contains(&id) => {
                    present.insert(id);
                }
                _ => {
                    std::fs::remove_file(entry.path())?;
                    report.orphan_files_removed += 1;
                }
            }
        }
    }
    report.missing_files = referenced
        .iter()
        .filter(|id| !present.contains(id))
        .copied()
        .collect();
    Ok(report)
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
