//! Startup recovery and the startup scrub's disk side. Before the cores start, temp files (uploads
//! a stop cut short) are removed. After they start, the scrub checks the object directories one
//! at a time against the file ids the rows reference there: files no row references are orphans
//! of a crash between rename and commit, rows whose file is absent are marked missing.

use std::ffi::OsString;
use std::io;
use std::os::unix::fs::MetadataExt;
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

/// A wall-clock instant as the kernel stamps files: seconds and nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileTime {
    /// Seconds since the Unix epoch.
    pub seconds: i64,
    /// Nanoseconds within the second.
    pub nanoseconds: i64,
}

impl FileTime {
    /// Now, from the precise wall clock. The kernel stamps an inode from a clock updated once per
    /// tick, so a file changed after this call may carry a time up to a tick earlier: a caller
    /// that needs "changed after now" to mean "stamped after now" waits `FILE_TIME_LAG_MS_MAX`
    /// before anything may change a file.
    pub fn now() -> FileTime {
        let mut time = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes only the timespec it is given.
        unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut time) };
        FileTime {
            seconds: time.tv_sec,
            nanoseconds: time.tv_nsec,
        }
    }
}

/// What one object directory holds against the ids the rows reference there.
#[derive(Debug, Default)]
pub struct DirectoryCheck {
    /// Files whose name no referenced id matches and whose inode last changed before the
    /// scrub's start: candidates for removal, to be confirmed against one snapshot of the rows.
    pub unreferenced: Vec<(OsString, Option<FileId>)>,
    /// Referenced ids with no file here: candidates for `missing_files`, to be confirmed alike.
    pub missing: Vec<FileId>,
    /// Referenced ids whose file is here.
    pub present: usize,
}

/// Lists directory `index` and compares it with `referenced` (the ids the rows reference in it,
/// sorted and without repeats). Only unreferenced names are stat'ed: files written since
/// `started` (a write between its rename and its commit looks unreferenced) are left alone.
pub fn check_object_dir(
    layout: &Layout,
    index: usize,
    referenced: &[u128],
    started: FileTime,
) -> io::Result<DirectoryCheck> {
    let mut check = DirectoryCheck::default();
    let mut found = vec![false; referenced.len()];
    let directory = layout.object_dir(index);
    for entry in std::fs::read_dir(&directory)? {
        let entry = entry?;
        let name = entry.file_name();
        let id = name.to_str().and_then(FileId::parse);
        if let Some(position) = id.and_then(|id| referenced.binary_search(&id.0).ok()) {
            found[position] = true;
            check.present += 1;
            continue;
        }
        let metadata = match entry.metadata() {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        let changed = FileTime {
            seconds: metadata.ctime(),
            nanoseconds: metadata.ctime_nsec(),
        };
        if changed < started {
            check.unreferenced.push((name, id));
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
            Err(error) => return Err(error),
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
    fn a_directory_check_names_unreferenced_old_files_and_missing_ids() {
        // Goal: referenced files are counted, unreferenced ones older than the start are named
        // (stray names too), files changed since the start are left out, and referenced ids with
        // no file are missing.
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        layout.create_dirs().unwrap();
        let in_dir = |low: u128| FileId((7u128 << 120) | low);
        let (kept, orphan, missing, fresh) = (in_dir(1), in_dir(2), in_dir(3), in_dir(4));
        std::fs::write(layout.object_path(kept), b"k").unwrap();
        std::fs::write(layout.object_path(orphan), b"o").unwrap();
        std::fs::write(layout.object_dir(7).join("stray"), b"s").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(30));
        let started = FileTime::now();
        std::thread::sleep(std::time::Duration::from_millis(30));
        std::fs::write(layout.object_path(fresh), b"f").unwrap();
        let mut referenced = vec![missing.0, kept.0];
        referenced.sort_unstable();
        let check = check_object_dir(&layout, 7, &referenced, started).unwrap();
        assert_eq!(check.present, 1);
        assert_eq!(check.missing, vec![missing]);
        let mut unreferenced = check.unreferenced.clone();
        unreferenced.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            unreferenced,
            vec![
                (OsString::from(orphan.to_string()), Some(orphan)),
                (OsString::from("stray"), None),
            ]
        );
        let names = unreferenced.into_iter().map(|(name, _)| name);
        assert_eq!(remove_from_object_dir(&layout, 7, names).unwrap(), 2);
        assert!(layout.object_path(kept).exists());
        assert!(layout.object_path(fresh).exists());
        assert!(!layout.object_path(orphan).exists());
    }
}
