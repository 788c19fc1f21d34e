//! This core's handles on the object fan-out directories, opened on first use and kept, so a
//! PUT's directory fsync needs no open and close of its own.
//!
//! Why: every file-backed PUT opened its directory, fsynced it and closed it, three operations
//! in a row on its path where one does; under the mix the open took p50 0.1 / p99 3 ms (handed to
//! an io_uring worker) and the close p50 0.2 / p99 3–4 ms (BENCHMARKS.md, 2026-12-03 night). Kept
//! open they cost a descriptor each: at most `OBJECT_DIR_COUNT` per core, counted in the
//! runtime's RLIMIT_NOFILE budget; where the limit is below that budget the runtime turns the
//! cache off ([`keep_open`]) and each PUT opens and closes its directory as before.
//!
//! Failures: Linux reports a failed writeback once per open file description, so on a shared
//! handle only the first fsync after the failure returns the error. Each directory therefore
//! counts its failed fsyncs on this core, and a PUT reads the count before its rename
//! ([`DirectorySync::watch`]): if any fsync of that directory failed after that, the PUT's own
//! fsync fails too, whatever it returned. The failed handle is also dropped, so later PUTs open
//! the directory afresh.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

use glommio::io::Directory;

use super::io_error;

/// Whether cores keep directory handles; the runtime clears it before the cores start when
/// RLIMIT_NOFILE cannot hold them.
static KEEP_OPEN: AtomicBool = AtomicBool::new(true);

/// One directory as this core knows it.
#[derive(Default)]
struct KeptDirectory {
    /// The open handle, once a PUT opened it (and until an fsync through it fails).
    handle: Option<Rc<Directory>>,
    /// Failed fsyncs of this directory on this core, since start.
    failures: u64,
}

thread_local! {
    /// This core's object directories, by executor and path: one data dir per server, but unit
    /// tests may use several, and a handle belongs to the executor that opened it.
    static KEPT: RefCell<HashMap<(usize, PathBuf), KeptDirectory>> = RefCell::new(HashMap::new());
}

/// Sets whether cores keep their object directories open (`false`: open and close per fsync).
/// Called once, before the cores start.
pub fn keep_open(keep: bool) {
    KEEP_OPEN.store(keep, Ordering::Relaxed);
}

/// A PUT's coming fsync of the object directory at `path`, watched from before its rename.
pub struct DirectorySync {
    key: (usize, PathBuf),
    /// The directory's failed fsyncs when the watch began.
    failures_before: u64,
}

impl DirectorySync {
    /// Starts watching the directory at `path` for failed fsyncs; call before the rename
    /// whose entry the fsync must make durable.
    pub fn watch(path: PathBuf) -> Self {
        let key = (glommio::executor().id(), path);
        let failures_before =
            KEPT.with(|kept| kept.borrow().get(&key).map_or(0, |dir| dir.failures));
        DirectorySync {
            key,
            failures_before,
        }
    }

    /// Makes the directory's entries durable (fsync) through this core's kept handle. Errors:
    /// the open or the fsync failed, or another fsync of this directory on this core failed
    /// since [`DirectorySync::watch`] (its writeback may have held this PUT's rename).
    pub async fn sync(self) -> Result<(), io::Error> {
        if !KEEP_OPEN.load(Ordering::Relaxed) {
            return self.sync_once().await;
        }
        let kept = KEPT.with(|kept| kept.borrow().get(&self.key)?.handle.clone());
        let directory = match kept {
            Some(directory) => directory,
            None => {
                let directory = Rc::new(Directory::open(&self.key.1).await.map_err(io_error)?);
                // Another PUT may have opened it meanwhile: keep one, the other closes on drop.
                KEPT.with(|kept| {
                    kept.borrow_mut()
                        .entry(self.key.clone())
                        .or_default()
                        .handle
                        .get_or_insert(directory)
                        .clone()
                })
            }
        };
        // The power-cut harness's deliberate regression leaves this out (SECURITY.md).
        if cfg!(feature = "test-skip-directory-fsync") {
            return Ok(());
        }
        let synced = directory.sync().await.map_err(io_error);
        self.settle(synced, Some(&directory))
    }

    /// The fsync through a handle of its own, opened and closed around it.
    async fn sync_once(self) -> Result<(), io::Error> {
        let directory = Directory::open(&self.key.1).await.map_err(io_error)?;
        let synced = if cfg!(feature = "test-skip-directory-fsync") {
            Ok(())
        } else {
            directory.sync().await.map_err(io_error)
        };
        let closed = directory.close().await.map_err(io_error);
        self.settle(synced.and(closed), None)
    }

    /// Counts a failed fsync (dropping the handle it went through), and fails a successful one
    /// if another failed since the watch began.
    fn settle(
        self,
        synced: Result<(), io::Error>,
        through: Option<&Rc<Directory>>,
    ) -> Result<(), io::Error> {
        KEPT.with(|kept| {
            let mut kept = kept.borrow_mut();
            let dir = kept.entry(self.key).or_default();
            if synced.is_err() {
                dir.failures += 1;
                if let (Some(held), Some(through)) = (&dir.handle, through) {
                    if Rc::ptr_eq(held, through) {
                        dir.handle = None;
                    }
                }
                return synced;
            }
            if dir.failures != self.failures_before {
                return Err(io::Error::other(
                    "an fsync of this object directory failed since this file was renamed into it",
                ));
            }
            Ok(())
        })
    }
}

/// Object directories this core holds open (for tests).
pub fn open_count() -> usize {
    KEPT.with(|kept| {
        kept.borrow()
            .values()
            .filter(|dir| dir.handle.is_some())
            .count()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Descriptors of this process open on `dir`.
    fn descriptors_on(dir: &std::path::Path) -> usize {
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
            .filter(|target| target == dir)
            .count()
    }

    #[test]
    fn a_directory_is_opened_once_per_core_and_a_failed_open_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
            .spawn(move || async move {
                let (first, second) = (root.join("00"), root.join("01"));
                std::fs::create_dir(&first).unwrap();
                std::fs::create_dir(&second).unwrap();
                assert_eq!(open_count(), 0);
                DirectorySync::watch(first.clone()).sync().await.unwrap();
                DirectorySync::watch(first.clone()).sync().await.unwrap();
                assert_eq!(open_count(), 1);
                assert_eq!(descriptors_on(&first), 1);
                let (a, b) = futures_lite::future::zip(
                    DirectorySync::watch(second.clone()).sync(),
                    DirectorySync::watch(second.clone()).sync(),
                )
                .await;
                a.unwrap();
                b.unwrap();
                assert_eq!(open_count(), 2);
                // The loser of the open race is closed (glommio closes a dropped file on its
                // next pass of the ring).
                glommio::timer::sleep(std::time::Duration::from_millis(50)).await;
                assert_eq!(
                    descriptors_on(&second),
                    1,
                    "two PUTs opening one directory keep one"
                );
                let missing = DirectorySync::watch(root.join("02"))
                    .sync()
                    .await
                    .unwrap_err();
                assert_eq!(missing.kind(), io::ErrorKind::NotFound);
                assert_eq!(open_count(), 2);
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn a_failed_fsync_fails_every_put_watching_since_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().canonicalize().unwrap();
        glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
            .spawn(move || async move {
                DirectorySync::watch(path.clone()).sync().await.unwrap();
                let before = DirectorySync::watch(path.clone());
                // Another PUT's fsync fails (an I/O error reported to it alone).
                let failing = DirectorySync::watch(path.clone());
                let handle = KEPT.with(|kept| kept.borrow()[&failing.key].handle.clone());
                let failed = failing.settle(Err(io::Error::other("EIO")), handle.as_ref());
                assert!(failed.is_err());
                assert_eq!(open_count(), 0, "the failed handle is not kept");
                assert!(
                    before.sync().await.is_err(),
                    "a rename before the failure passed"
                );
                DirectorySync::watch(path.clone()).sync().await.unwrap();
                assert_eq!(open_count(), 1, "opened afresh");
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
