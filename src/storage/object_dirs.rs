//! This core's handles on the object fan-out directories, opened on first use and kept, and the
//! directory fsyncs of its PUTs, one at a time per directory with every PUT waiting shared.
//!
//! Why kept: every file-backed PUT opened its directory, fsynced it and closed it, three
//! operations in a row on its path where one does; under the mix the open took p50 0.1 / p99
//! 3 ms (handed to an io_uring worker) and the close p50 0.2 / p99 3–4 ms (BENCHMARKS.md,
//! 2026-12-03 night). Kept open they cost a descriptor each: at most `OBJECT_DIR_COUNT` per core,
//! counted in the runtime's RLIMIT_NOFILE budget; where the limit is below that budget the
//! runtime turns the cache off ([`keep_open`]) and each PUT opens and closes its own handle.
//!
//! Failures: Linux reports a failed writeback once per open file description, to whichever fsync
//! through it comes first, and a description opened after another has seen the error never
//! reports it. So a PUT takes its handle before its rename (the handle then reports any error
//! in the writeback of that rename), at most one fsync per kept directory runs at a time on a
//! core (an error cannot go to a neighbour's fsync running beside it), a PUT's fsync is one that
//! started after its rename (without kept handles, its own), and each directory counts its
//! failed fsyncs: if any failed since a PUT took its handle, that PUT fails, whatever its own
//! fsync returned. A failed handle, or one whose fsync was cut short by a cancelled PUT, is
//! dropped; later PUTs open the directory afresh.

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
    /// Fsyncs asked for, since start: each PUT's ticket is the count once it asked.
    asked: u64,
    /// Every ticket up to this one was covered by an fsync that started after it was asked.
    covered: u64,
    /// An fsync of this directory is running on this core.
    running: bool,
    /// Fsyncs run (shared by every PUT they covered), since start.
    fsyncs: u64,
    /// Notified when a running fsync ends.
    ended: Rc<event_listener::Event>,
}

thread_local! {
    /// This core's object directories, by executor and path: one data dir per server, but unit
    /// tests may use several, and a handle belongs to the executor that opened it.
    static KEPT: RefCell<HashMap<(usize, PathBuf), KeptDirectory>> = RefCell::new(HashMap::new());
}

/// Sets whether cores keep their object directories open (`false`: open and close per PUT).
/// Called once, before the cores start.
pub fn keep_open(keep: bool) {
    KEEP_OPEN.store(keep, Ordering::Relaxed);
}

/// Runs `change` on this core's record of the directory `key` (made on first use).
fn with_dir<T>(key: &(usize, PathBuf), change: impl FnOnce(&mut KeptDirectory) -> T) -> T {
    KEPT.with(|kept| {
        let mut kept = kept.borrow_mut();
        if !kept.contains_key(key) {
            kept.insert(key.clone(), KeptDirectory::default());
        }
        change(kept.get_mut(key).expect("inserted above"))
    })
}

/// A PUT's coming fsync of an object directory, with the handle it took before its rename.
pub struct DirectorySync {
    key: (usize, PathBuf),
    handle: Rc<Directory>,
    /// Whether `handle` is this core's kept one (else the PUT's own, closed after the fsync).
    kept: bool,
    /// The directory's failed fsyncs when the handle was taken.
    failures_before: u64,
}

impl DirectorySync {
    /// Takes a handle on the object directory at `path` (this core's kept one, opened if need
    /// be); call before the rename whose entry the fsync must make durable. Errors: the open
    /// failed.
    pub async fn watch(path: PathBuf) -> Result<Self, io::Error> {
        let key = (glommio::executor().id(), path);
        let kept = KEEP_OPEN.load(Ordering::Relaxed);
        let (held, failures_before) = with_dir(&key, |dir| (dir.handle.clone(), dir.failures));
        let handle = match held {
            Some(handle) if kept => handle,
            _ => {
                let opened = Rc::new(Directory::open(&key.1).await.map_err(io_error)?);
                if kept {
                    // Another PUT may have opened it meanwhile: keep one, the other closes on drop.
                    with_dir(&key, |dir| dir.handle.get_or_insert(opened).clone())
                } else {
                    opened
                }
            }
        };
        Ok(DirectorySync {
            key,
            handle,
            kept,
            failures_before,
        })
    }

    /// Makes the directory's entries durable: waits for an fsync that starts after this call,
    /// running it if none is running (one covers every PUT waiting). Errors: that fsync failed,
    /// or another fsync of this directory on this core failed since [`DirectorySync::watch`]
    /// (its writeback may have held this PUT's rename).
    pub async fn sync(self) -> Result<(), io::Error> {
        if !self.kept {
            return self.sync_own().await;
        }
        let ticket = with_dir(&self.key, |dir| {
            dir.asked += 1;
            dir.asked
        });
        let mut own_error = None;
        loop {
            let (covered, running, ended) = with_dir(&self.key, |dir| {
                (dir.covered, dir.running, dir.ended.clone())
            });
            if covered >= ticket {
                break;
            }
            if running {
                ended.listen().await;
                continue;
            }
            let covers = with_dir(&self.key, |dir| {
                dir.running = true;
                dir.asked
            });
            // A PUT dropped during its fsync (its request cancelled) leaves nothing covered;
            // the fsync may still end in the kernel with its error unseen, so it counts as
            // failed and the waiting PUTs run the next one through a fresh handle.
            let running = Running {
                key: &self.key,
                handle: &self.handle,
                ended: &ended,
            };
            let synced = fsync(&self.handle).await;
            std::mem::forget(running);
            with_dir(&self.key, |dir| {
                dir.running = false;
                dir.covered = covers;
                dir.fsyncs += 1;
            });
            if synced.is_err() {
                record_failure(&self.key, &self.handle);
            }
            ended.notify(usize::MAX);
            own_error = synced.err();
        }
        self.outcome(own_error)
    }

    /// The fsync through the PUT's own handle (directories not kept), for this PUT alone: a
    /// shared one would go through another PUT's descriptor, which may have been opened after
    /// another core saw an error this PUT's rename was in.
    async fn sync_own(self) -> Result<(), io::Error> {
        let synced = fsync(&self.handle).await;
        if synced.is_err() {
            record_failure(&self.key, &self.handle);
        }
        let handle = Rc::clone(&self.handle);
        let outcome = self.outcome(synced.err());
        if let Ok(handle) = Rc::try_unwrap(handle) {
            handle.close().await.map_err(io_error)?;
        }
        outcome
    }

    /// This PUT's result: its own fsync's error, else a failure of another fsync of the
    /// directory on this core since the handle was taken.
    fn outcome(self, own_error: Option<io::Error>) -> Result<(), io::Error> {
        if let Some(error) = own_error {
            return Err(error);
        }
        let failures = with_dir(&self.key, |dir| dir.failures);
        if failures != self.failures_before {
            return Err(io::Error::other(
                "an fsync of this object directory failed since this file was renamed into it",
            ));
        }
        Ok(())
    }
}

/// Counts a failed fsync of directory `key` through `handle` (or one whose outcome is unknown),
/// and stops keeping that handle: its descriptor has reported, or may have swallowed, the error.
fn record_failure(key: &(usize, PathBuf), handle: &Rc<Directory>) {
    with_dir(key, |dir| {
        dir.failures += 1;
        if dir
            .handle
            .as_ref()
            .is_some_and(|held| Rc::ptr_eq(held, handle))
        {
            dir.handle = None;
        }
    });
}

/// Ends a directory's running fsync if its PUT is dropped while it runs (see `sync`).
struct Running<'a> {
    key: &'a (usize, PathBuf),
    handle: &'a Rc<Directory>,
    ended: &'a event_listener::Event,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        with_dir(self.key, |dir| dir.running = false);
        record_failure(self.key, self.handle);
        self.ended.notify(usize::MAX);
    }
}

/// One fsync of a directory (none in the power-cut harness's deliberate regression,
/// SECURITY.md).
async fn fsync(directory: &Directory) -> Result<(), io::Error> {
    if cfg!(feature = "test-skip-directory-fsync") {
        return Ok(());
    }
    directory.sync().await.map_err(io_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Object directories this core holds open.
    fn open_count() -> usize {
        KEPT.with(|kept| {
            kept.borrow()
                .values()
                .filter(|dir| dir.handle.is_some())
                .count()
        })
    }

    /// Descriptors of this process open on `dir`.
    fn descriptors_on(dir: &std::path::Path) -> usize {
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
            .filter(|target| target == dir)
            .count()
    }

    /// Held by each test here: one of them turns the process-wide `keep_open` off for a moment.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// Runs `body` on a glommio executor with a fresh directory (canonical path).
    fn on_executor<F>(body: impl FnOnce(PathBuf) -> F + Send + 'static)
    where
        F: std::future::Future<Output = ()> + 'static,
    {
        let _alone = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
            .spawn(move || body(root))
            .unwrap()
            .join()
            .unwrap();
    }

    async fn sync(path: &std::path::Path) -> Result<(), io::Error> {
        DirectorySync::watch(path.to_path_buf()).await?.sync().await
    }

    #[test]
    fn a_directory_is_opened_once_per_core_and_a_failed_open_keeps_nothing() {
        on_executor(|root| async move {
            let (first, second) = (root.join("00"), root.join("01"));
            std::fs::create_dir(&first).unwrap();
            std::fs::create_dir(&second).unwrap();
            assert_eq!(open_count(), 0);
            sync(&first).await.unwrap();
            sync(&first).await.unwrap();
            assert_eq!(open_count(), 1);
            assert_eq!(descriptors_on(&first), 1);
            let (a, b) = futures_lite::future::zip(sync(&second), sync(&second)).await;
            a.unwrap();
            b.unwrap();
            assert_eq!(open_count(), 2);
            // The loser of the open race is closed (glommio closes a dropped file on its next
            // pass of the ring).
            glommio::timer::sleep(std::time::Duration::from_millis(50)).await;
            assert_eq!(
                descriptors_on(&second),
                1,
                "two PUTs opening one directory keep one"
            );
            let missing = DirectorySync::watch(root.join("02")).await.err().unwrap();
            assert_eq!(missing.kind(), io::ErrorKind::NotFound);
            assert_eq!(open_count(), 2);
        });
    }

    // Without the fsync (the power-cut harness's regression build) nothing yields to share.
    #[cfg(not(feature = "test-skip-directory-fsync"))]
    #[test]
    fn puts_waiting_together_share_one_fsync_that_starts_after_them() {
        on_executor(|root| async move {
            let key = (glommio::executor().id(), root.clone());
            sync(&root).await.unwrap();
            assert_eq!(with_dir(&key, |dir| dir.fsyncs), 1);
            // Eight PUTs at once: the first runs an fsync, the seven asking meanwhile share
            // the next one (theirs may have renamed after the first started).
            let puts: Vec<_> = (0..8)
                .map(|_| {
                    let root = root.clone();
                    glommio::spawn_local(async move { sync(&root).await })
                })
                .collect();
            for put in puts {
                put.await.unwrap();
            }
            let fsyncs = with_dir(&key, |dir| dir.fsyncs);
            assert_eq!(fsyncs, 3, "fsyncs for 1 + 8 PUTs");
        });
    }

    #[test]
    fn a_failed_fsync_fails_every_put_watching_since_before_it() {
        on_executor(|path| async move {
            let key = (glommio::executor().id(), path.clone());
            sync(&path).await.unwrap();
            let before = DirectorySync::watch(path.clone()).await.unwrap();
            // An fsync of another PUT fails (an I/O error reported to it alone): what its
            // task records when it ends.
            with_dir(&key, |dir| {
                dir.failures += 1;
                dir.handle = None;
            });
            assert_eq!(open_count(), 0);
            assert!(
                before.sync().await.is_err(),
                "a rename before the failure passed"
            );
            sync(&path).await.unwrap();
            assert_eq!(open_count(), 1, "opened afresh");
        });
    }

    #[test]
    fn without_kept_handles_each_put_closes_its_own() {
        on_executor(|path| async move {
            // This executor's own setting: the flag is global, so restore it at once.
            keep_open(false);
            let watched = DirectorySync::watch(path.clone()).await;
            keep_open(true);
            let watched = watched.unwrap();
            assert!(!watched.kept);
            assert_eq!(descriptors_on(&path), 1);
            watched.sync().await.unwrap();
            assert_eq!(descriptors_on(&path), 0);
            assert_eq!(open_count(), 0);
        });
    }
}
