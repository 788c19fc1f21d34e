//! One server per data dir: an exclusive `flock` on `<data dir>/ringstore.lock`, held for the
//! process's life. A second server on the same dir would take the first one's files for an
//! earlier run's (the startup scrub removes those) and its temp files for leftovers; a restart
//! that overlaps a stopping server (draining for up to `--shutdown-timeout`) waits instead.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use super::Layout;

/// How often a waiting start tries the lock again.
const LOCK_POLL_MS: u64 = 100;

/// The held lock; released when dropped or when the process ends (however it ends).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Takes the data dir's lock, waiting up to `wait` while another process holds it (`waiting` is
/// called once if it does); `Ok(None)` if it was still held then.
pub fn lock_data_dir(
    layout: &Layout,
    wait: Duration,
    waiting: impl FnOnce(&Path),
) -> io::Result<Option<DataDirLock>> {
    let path = layout.lock_path();
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    let deadline = Instant::now() + wait;
    let mut waiting = Some(waiting);
    loop {
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(Some(DataDirLock { _file: file }));
        }
        let error = io::Error::last_os_error();
        if error.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(error);
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        if let Some(waiting) = waiting.take() {
            waiting(&path);
        }
        std::thread::sleep(Duration::from_millis(LOCK_POLL_MS));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_and_gets_the_lock_once_it_is_released() {
        // Goal: while the lock is held another taker waits (told once) and gives up at its
        // deadline; once released, the lock is taken at once.
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        layout.create_dirs().unwrap();
        let first = lock_data_dir(&layout, Duration::ZERO, |_| panic!("free"))
            .unwrap()
            .unwrap();
        let mut told = 0;
        let second = lock_data_dir(&layout, Duration::from_millis(250), |_| told += 1).unwrap();
        assert!(second.is_none());
        assert_eq!(told, 1);
        drop(first);
        assert!(lock_data_dir(&layout, Duration::ZERO, |_| panic!("free"))
            .unwrap()
            .is_some());
    }
}
