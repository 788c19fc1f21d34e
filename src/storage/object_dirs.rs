//! This core's handles on the object fan-out directories, opened on first use and kept, so a
//! PUT's directory fsync needs no open and close of its own.
//!
//! Why: every file-backed PUT opened its directory, fsynced it and closed it, three operations
//! in a row on its path where one does; under the mix the open took p50 0.1 / p99 3 ms (handed to
//! an io_uring worker) and the close p50 0.2 / p99 3–4 ms (BENCHMARKS.md, 2026-12-03 night). Kept
//! open they cost a descriptor each: at most `OBJECT_DIR_COUNT` per core, counted in the
//! runtime's RLIMIT_NOFILE budget.
//!
//! A directory whose fsync failed is dropped from the cache and opened afresh by the next PUT,
//! as before: its later fsyncs on the same descriptor could report success for a writeback that
//! failed (the error is reported once), so no handle outlives a failure.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::rc::Rc;

use glommio::io::Directory;

use super::io_error;

thread_local! {
    /// This core's open object directories, by path (one data dir per server; unit tests may
    /// use several on one thread).
    static OPEN: RefCell<HashMap<PathBuf, Rc<Directory>>> = RefCell::new(HashMap::new());
}

/// Makes the entries of the object directory at `path` durable (fsync), through this core's kept
/// handle on it. Errors: the open or the fsync failed (the handle is then not kept).
pub async fn sync_object_dir(path: PathBuf) -> Result<(), io::Error> {
    let directory = match OPEN.with(|open| open.borrow().get(&path).cloned()) {
        Some(directory) => directory,
        None => {
            let directory = Rc::new(Directory::open(&path).await.map_err(io_error)?);
            // Another PUT may have opened it meanwhile: keep one, the other closes when dropped.
            OPEN.with(|open| {
                open.borrow_mut()
                    .entry(path.clone())
                    .or_insert(directory)
                    .clone()
            })
        }
    };
    // The power-cut harness's deliberate regression leaves this out (SECURITY.md).
    if cfg!(feature = "test-skip-directory-fsync") {
        return Ok(());
    }
    let synced = directory.sync().await.map_err(io_error);
    if synced.is_err() {
        OPEN.with(|open| {
            let mut open = open.borrow_mut();
            if open
                .get(&path)
                .is_some_and(|kept| Rc::ptr_eq(kept, &directory))
            {
                open.remove(&path);
            }
        });
    }
    synced
}

/// Object directories this core holds open (for tests).
pub fn open_count() -> usize {
    OPEN.with(|open| open.borrow().len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_is_opened_once_per_core_and_a_failed_open_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
            .spawn(move || async move {
                let (first, second) = (root.join("00"), root.join("01"));
                std::fs::create_dir(&first).unwrap();
                std::fs::create_dir(&second).unwrap();
                assert_eq!(open_count(), 0);
                sync_object_dir(first.clone()).await.unwrap();
                sync_object_dir(first.clone()).await.unwrap();
                assert_eq!(open_count(), 1);
                let (a, b) = futures_lite::future::zip(
                    sync_object_dir(second.clone()),
                    sync_object_dir(second.clone()),
                )
                .await;
                a.unwrap();
                b.unwrap();
                assert_eq!(open_count(), 2, "two PUTs opening one directory keep one");
                let missing = sync_object_dir(root.join("02")).await.unwrap_err();
                assert_eq!(missing.kind(), io::ErrorKind::NotFound);
                assert_eq!(open_count(), 2);
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
