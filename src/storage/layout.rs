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

    /// The fan-out directory with `index`.
    pub fn object_dir(&self, index: usize) -> PathBuf {
        self.objects_dir().join(format!("{index:02x}"))
    }

    /// The final place of a stored file.
    pub fn object_path(&self, id: FileId) -> PathBuf {
        self.object_dir(id.dir_index()).join(id.to_string())
    }

    /// Creates the data dir and its subdirectories (startup, before any executor runs).
    pub fn create_dirs(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(self.temp_dir())?;
        for index in 0..OBJECT_DIR_COUNT {
            std::fs::create_dir_all(self.object_dir(index))?;
        }
        Ok(())
    }
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
}
