//! Object files no metadata references any more (after an overwrite, a delete, an expiry or a
//! reaped upload), unlinked by one thread of their own once `FILE_REMOVAL_GRACE_MS` has passed.
//!
//! Why a thread and not the core: glommio runs `remove` on its blocking thread, one per core,
//! the same thread that runs every PUT's rename and buffered last write. An unlink frees the
//! file's blocks, and on a filesystem mounted with `discard` it also waits for the device to
//! take the discard (0.6 ms idle on this host, more behind writes), so the PUTs queued behind it
//! waited too. Here nothing a request waits for shares the thread.
//!
//! One thread unlinks one file at a time: at the 1.26 ms an unlink took under the mix that is
//! about 800 files a second, beyond which the queue fills and the cores remove the rest
//! themselves, as before. If the process ends before a file's turn, the startup scrub removes
//! it as an orphan, as it did for the core's timers this replaces.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::limits::{FILE_REMOVAL_GRACE_MS, FILE_REMOVAL_QUEUE_COUNT_MAX};
use crate::obs::metrics::RemovalMetrics;

/// One file waiting for its unlink.
struct Removal {
    path: PathBuf,
    /// Not unlinked before this instant (a GET that read the old metadata may still open it).
    due: Instant,
}

/// The cores' end of the removing thread (cheap to clone; one per core).
#[derive(Clone)]
pub struct FileRemover {
    removals: Sender<Removal>,
    grace: Duration,
    metrics: Arc<RemovalMetrics>,
}

impl FileRemover {
    /// Starts the removing thread, which unlinks each file `FILE_REMOVAL_GRACE_MS` after it
    /// was handed over and counts what it did in `metrics`. Errors: the thread could not be
    /// started.
    pub fn start(metrics: Arc<RemovalMetrics>) -> io::Result<FileRemover> {
        FileRemover::start_with_grace(Duration::from_millis(FILE_REMOVAL_GRACE_MS), metrics)
    }

    /// [`FileRemover::start`] with a grace of `grace` (tests).
    pub fn start_with_grace(
        grace: Duration,
        metrics: Arc<RemovalMetrics>,
    ) -> io::Result<FileRemover> {
        let (removals, queue) = crossbeam_channel::bounded(FILE_REMOVAL_QUEUE_COUNT_MAX);
        let counts = metrics.clone();
        std::thread::Builder::new()
            .name("ringstore-remove".into())
            .spawn(move || remove_when_due(queue, &counts))?;
        Ok(FileRemover {
            removals,
            grace,
            metrics,
        })
    }

    /// Unlinks `path` once the grace has passed, never blocking the caller. A full queue (the
    /// thread far behind a slow disk) hands the file to the calling core's own timer and
    /// blocking thread instead, as before this thread existed; must then run on a glommio core.
    pub fn remove_later(&self, path: PathBuf) {
        let removal = Removal {
            path,
            due: Instant::now() + self.grace,
        };
        // Counted before the send, so the thread never takes it below zero.
        self.metrics.waiting.fetch_add(1, Ordering::Relaxed);
        match self.removals.try_send(removal) {
            Ok(()) => {}
            Err(TrySendError::Full(removal) | TrySendError::Disconnected(removal)) => {
                self.metrics.waiting.fetch_sub(1, Ordering::Relaxed);
                self.metrics
                    .removed_on_cores
                    .fetch_add(1, Ordering::Relaxed);
                remove_on_this_core(removal);
            }
        }
    }
}

/// The removing thread: files leave in the order they were handed over, and every one waits
/// the same grace, so each is due no earlier than the one before it (to within the cores'
/// clock reads). Ends when every sender is gone.
fn remove_when_due(queue: Receiver<Removal>, metrics: &RemovalMetrics) {
    for removal in queue {
        let wait = removal.due.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        let removed = match std::fs::remove_file(&removal.path) {
            Ok(()) => true,
            Err(error) if error.kind() == io::ErrorKind::NotFound => true,
            Err(error) => {
                tracing::warn!(path = %removal.path.display(), error = %error, "object file not removed");
                false
            }
        };
        let outcome = if removed {
            &metrics.removed
        } else {
            &metrics.failed
        };
        outcome.fetch_add(1, Ordering::Relaxed);
        metrics.waiting.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The fallback: a timer on the calling core, then glommio's `remove` on its blocking thread.
fn remove_on_this_core(removal: Removal) {
    glommio::spawn_local(async move {
        glommio::timer::sleep(removal.due.saturating_duration_since(Instant::now())).await;
        if let Err(error) = glommio::io::remove(&removal.path).await {
            let error = super::io_error(error);
            if error.kind() != io::ErrorKind::NotFound {
                tracing::warn!(path = %removal.path.display(), error = %error, "object file not removed");
            }
        }
    })
    .detach();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_unlinked_after_its_grace_and_not_before() {
        let dir = tempfile::tempdir().unwrap();
        let grace = Duration::from_millis(300);
        let metrics = Arc::new(RemovalMetrics::default());
        let remover = FileRemover::start_with_grace(grace, metrics.clone()).unwrap();
        let paths: Vec<PathBuf> = (0..3).map(|n| dir.path().join(format!("f{n}"))).collect();
        for path in &paths {
            std::fs::write(path, b"x").unwrap();
        }
        let handed = Instant::now();
        for path in &paths {
            remover.remove_later(path.clone());
        }
        // A file already gone (removed by someone else) is no error for the ones after it.
        remover.remove_later(dir.path().join("never-there"));
        std::thread::sleep(grace / 3);
        let all_there = paths.iter().all(|path| path.exists());
        // Checked only while the grace surely holds (a stalled test thread proves nothing).
        if handed.elapsed() < grace * 2 / 3 {
            assert!(all_there, "removed within the grace");
        }
        while paths.iter().any(|path| path.exists()) {
            assert!(handed.elapsed() < grace * 20, "not removed after the grace");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(handed.elapsed() >= grace);
        while metrics.waiting.load(Ordering::Relaxed) > 0 {
            assert!(
                handed.elapsed() < grace * 20,
                "the missing file is still waiting"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(metrics.removed.load(Ordering::Relaxed), 4);
        assert_eq!(metrics.failed.load(Ordering::Relaxed), 0);
        assert_eq!(metrics.removed_on_cores.load(Ordering::Relaxed), 0);
    }
}
