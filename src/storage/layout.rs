//! Where files live under the data dir; object paths come from internal ids, never from keys.

use std::path::{Path, PathBuf};

use crate::object_bytes::FileId;

/// Fan-out directories under `objects/` (two hex digits of the id).
pub const OBJECT_DIR_COUNT: usize = 256;

/// Paths under one data dir.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The layout rooted at `root` (not created yet; see [`Layout::create_dirs`]).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Layout { root: root.into() }
    }

    /// The data dir.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The SQLite metadata file.
    pub fn meta_path(&self) -> PathBuf {
        self.root.join("meta.sqlite")
    }

    /// Where uploads are written before they are complete.
    pub fn temp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// The temp file for an upload in progress.
    pub fn temp_path(&self, id: FileId) -> PathBuf {
        self.temp_dir().join(format!("{id}.tmp"))
    }

    /// Parent of all fan-out directories.
    pub fn objects_dir(&self) -> PathBuf {
        self.root.join("objects")
    }

    /// The lock file a running server holds (`data_dir_lock`).
    pub fn lock_path(&self) -> PathBuf {
        self.root.join("ringstore.lock")
    }

    /// The fan-out directory with `index`.
    pub fn object_dir(&self, index: usize) -> PathBuf {
        self.objects_dir().join(format!("{index:02x}"))
    }

    /// The final place of a stored file.
    pub fn object_path(&self, id: FileId) -> PathBuf {
        self.object_dir(id.dir_index()).join(id.to_string())
    }

    /// Creates the data dir and its subdirectories (startup, before any executor runs), and
    /// makes them durable: each directory it creates is fsynced (its inode and its `.`/`..`),
    /// and so, at every start, are the directories whose entries the layout needs — the data
    /// dir's parent, the data dir, `objects/` (a start that died before its syncs, or a data dir
    /// made by `mkdir` or `ringstore user`, is covered by the next start). A fan-out directory's
    /// own contents are synced with each object renamed into it. A journaling filesystem would
    /// commit all of it with the next fsync anyway; on one without a journal (ext2, ext4 without
    /// `has_journal`) a power cut soon after the first start otherwise leaves directories that
    /// fsck has to salvage. Costs four fsyncs per start, plus one per directory created.
    pub fn create_dirs(&self) -> std::io::Result<()> {
        let mut created = Vec::new();
        create_dir_all_recording(&self.temp_dir(), &mut created)?;
        for index in 0..OBJECT_DIR_COUNT {
            create_dir_all_recording(&self.object_dir(index), &mut created)?;
        }
        for directory in &created {
            sync_directory(directory)?;
        }
        for directory in [parent_of(&self.root), self.root.clone(), self.objects_dir()] {
            sync_directory(&directory)?;
        }
        Ok(())
    }
}

/// The directory holding `path`'s entry (`.` for a relative path of one component).
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if parent.as_os_str().is_empty() => PathBuf::from("."),
        Some(parent) => parent.to_path_buf(),
        // The filesystem's root has no entry anywhere.
        None => path.to_path_buf(),
    }
}

/// Creates `path` and any missing ancestors, appending each one created to `created` (outermost
/// first).
fn create_dir_all_recording(path: &Path, created: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        create_dir_all_recording(parent, created)?;
    }
    match std::fs::create_dir(path) {
        Ok(()) => {
            created.push(path.to_path_buf());
            Ok(())
        }
        // Made meanwhile by someone else: the syncs of every start cover it.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        Err(error) => Err(error),
    }
}

/// fsyncs a directory (startup only, before any executor runs: plain blocking I/O).
fn sync_directory(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_spread() {
        // Goal: an id survives its text form and picks its directory from its top byte.
        let id = FileId(0xab00_0000_0000_0000_0000_0000_0000_0001);
        assert_eq!(FileId::parse(&id.to_string()), Some(id));
        assert_eq!(id.dir_index(), 0xab);
        let layout = Layout::new("/d");
        assert_eq!(
            layout.object_path(id),
            PathBuf::from(format!("/d/objects/ab/{id}"))
        );
        assert_eq!(FileId::parse("../../etc/passwd"), None);
    }

    #[test]
    fn create_dirs_makes_the_whole_tree_and_keeps_what_exists() {
        // Goal: a data dir nested under missing parents is created whole (every fan-out
        // directory and tmp), and a second start over it changes nothing.
        let base = tempfile::tempdir().unwrap();
        let layout = Layout::new(base.path().join("a/b/data"));
        layout.create_dirs().unwrap();
        assert!(layout.temp_dir().is_dir());
        for index in 0..OBJECT_DIR_COUNT {
            assert!(layout.object_dir(index).is_dir(), "{index}");
        }
        std::fs::write(layout.object_dir(7).join("kept"), b"x").unwrap();
        layout.create_dirs().unwrap();
        assert_eq!(
            std::fs::read(layout.object_dir(7).join("kept")).unwrap(),
            b"x"
        );
    }

    #[test]
    fn parents_of_relative_and_absolute_data_dirs() {
        // Goal: the directory synced for a data dir's own entry exists for every form of path
        // (a relative data dir of one component lives in `.`, not in "").
        assert_eq!(parent_of(Path::new("data")), PathBuf::from("."));
        assert_eq!(parent_of(Path::new("a/data")), PathBuf::from("a"));
        assert_eq!(parent_of(Path::new("/srv/data")), PathBuf::from("/srv"));
        assert_eq!(parent_of(Path::new("/")), PathBuf::from("/"));
    }
}
