//! Startup recovery and the startup scrub's disk side. Before the cores start, temp files (uploads
//! a stop cut short) are removed. After they start, the scrub checks the object directories one
//! at a time against the file ids the rows reference there: files an earlier run made that no
//! row references are orphans (a crash between rename and commit, or before a deferred removal),
//! rows whose file is absent are marked missing.

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;

use super::{FileId, Layout};

/// Removes every file of the temp dir; how many there were.
pub fn remove_temp_files(layout: &Layout) -> io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(layout.temp_dir())? {
        std::fs::remove_file(entry?.path())?;
        removed += 1;
    }
    Ok(removed)
}

/// What one object directory holds against the ids the rows reference there.
#[derive(Debug, Default)]
pub struct DirectoryCheck {
    /// Files no referenced id names, made by an earlier run (a name that is no file id at all
    /// included): candidates for removal, to be confirmed against one snapshot of the rows.
    /// Files this run made are never candidates: one may be a write waiting for its commit.
    pub unreferenced: Vec<(OsString, Option<FileId>)>,
    /// Referenced ids with no file here: candidates for `missing_files`, to be confirmed alike.
    pub missing: Vec<FileId>,
    /// Referenced ids whose file is here.
    pub present: usize,
    /// Entries that are not regular files (left alone, and logged by the caller).
    pub foreign: Vec<PathBuf>,
}

/// Lists directory `index` and compares it with `referenced` (the ids the rows reference in it,
/// sorted and without repeats). Errors name the directory.
pub fn check_object_dir(
    layout: &Layout,
    index: usize,
    referenced: &[u128],
) -> io::Result<DirectoryCheck> {
    let directory = layout.object_dir(index);
    let in_directory = |error: io::Error| {
        io::Error::new(error.kind(), format!("{}: {error}", directory.display()))
    };
    let mut check = DirectoryCheck::default();
    let mut found = vec![false; referenced.len()];
    for entry in std::fs::read_dir(&directory).map_err(in_directory)? {
        let entry = entry.map_err(in_directory)?;
        let name = entry.file_name();
        let id = name.to_str().and_then(FileId::parse);
        if let Some(position) = id.and_then(|id| referenced.binary_search(&id.0).ok()) {
            found[position] = true;
            check.present += 1;
            continue;
        }
        if id.is_some_and(FileId::is_from_this_run) {
            continue;
        }
        match entry.file_type() {
            Ok(kind) if kind.is_file() => check.unreferenced.push((name, id)),
            Ok(_) => check.foreign.push(entry.path()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(in_directory(error)),
        }
    }
    check.missing = referenced
        .iter()
        .zip(found)
        .filter(|(_, found)| !found)
        .map(|(id, _)| FileId(*id))
        .collect();
    Ok(check)
}

/// Removes `names` from object directory `index`; how many were still there.
pub fn remove_from_object_dir(
    layout: &Layout,
    index: usize,
    names: impl IntoIterator<Item = OsString>,
) -> io::Result<usize> {
    let directory = layout.object_dir(index);
    let mut removed = 0;
    for name in names {
        let path: PathBuf = directory.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => removed += 1,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(io::Error::new(
                    error.kind(),
                    format!("{}: {error}", path.display()),
                ))
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_files_are_removed() {
        // Goal: every temp file goes, and the count says how many.
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        layout.create_dirs().unwrap();
        std::fs::write(layout.temp_path(FileId::random()), b"t").unwrap();
        std::fs::write(layout.temp_path(FileId::random()), b"t").unwrap();
        assert_eq!(remove_temp_files(&layout).unwrap(), 2);
        assert_eq!(std::fs::read_dir(layout.temp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn a_directory_check_names_an_earlier_runs_unreferenced_files_and_missing_ids() {
        // Goal: referenced files are counted; unreferenced files of an earlier run are named
        // (stray names too); this run's unreferenced files (writes awaiting their commit) and
        // directories are left out; referenced ids with no file are missing.
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        layout.create_dirs().unwrap();
        let in_dir = |id: FileId| FileId((id.0 & !(0xff << 120)) | (7u128 << 120));
        let kept = in_dir(FileId::random_from_earlier_run());
        let orphan = in_dir(FileId::random_from_earlier_run());
        let missing = in_dir(FileId::random_from_earlier_run());
        let in_flight = in_dir(FileId::random());
        std::fs::write(layout.object_path(kept), b"k").unwrap();
        std::fs::write(layout.object_path(orphan), b"o").unwrap();
        std::fs::write(layout.object_path(in_flight), b"f").unwrap();
        std::fs::write(layout.object_dir(7).join("stray"), b"s").unwrap();
        std::fs::create_dir(layout.object_dir(7).join("a-directory")).unwrap();
        let mut referenced = vec![missing.0, kept.0];
        referenced.sort_unstable();
        let check = check_object_dir(&layout, 7, &referenced).unwrap();
        assert_eq!(check.present, 1);
        assert_eq!(check.missing, vec![missing]);
        assert_eq!(
            check.foreign,
            vec![layout.object_dir(7).join("a-directory")]
        );
        let mut unreferenced = check.unreferenced.clone();
        unreferenced.sort_by(|a, b| a.0.cmp(&b.0));
        let mut expected = vec![
            (OsString::from(orphan.to_string()), Some(orphan)),
            (OsString::from("stray"), None),
        ];
        expected.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(unreferenced, expected);
        let names = unreferenced.into_iter().map(|(name, _)| name);
        assert_eq!(remove_from_object_dir(&layout, 7, names).unwrap(), 2);
        assert!(layout.object_path(kept).exists());
        assert!(layout.object_path(in_flight).exists());
        assert!(!layout.object_path(orphan).exists());
    }
}
