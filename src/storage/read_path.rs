//! Chooses, per object file a GET reads, between the page cache and O_DIRECT.
//!
//! Measured on this project's bench machine (BENCHMARKS.md, "GET read path"): a file already in
//! the page cache is served ~1.8x faster by buffered reads (no device I/O; nginx-like rates), but
//! a cold file read through the page cache streams at about half the O_DIRECT bandwidth. So a file
//! is read through the cache when most of the range is cached (`cachestat(2)`, Linux 6.5+) or
//! when this core read it recently (a hot object: the second read loads it into the cache);
//! anything else — a cold object read once, the common backup/restore pattern — goes direct.

use std::cell::RefCell;
use std::os::fd::RawFd;

use super::FileId;
use crate::limits::RECENT_READ_FILES_MAX;
use crate::recent::RecentMap;

/// How one file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadPath {
    /// Buffered reads: served from the page cache, filling it.
    Cached,
    /// O_DIRECT reads from the device, leaving the page cache alone.
    Direct,
}

/// Files this core read lately (a `RecentMap`, so forgetting costs O(1)).
struct RecentReads(RecentMap<FileId, ()>);

impl Default for RecentReads {
    fn default() -> Self {
        RecentReads(RecentMap::new(RECENT_READ_FILES_MAX))
    }
}

impl RecentReads {
    /// Records `id`; whether it was already known.
    fn note(&mut self, id: FileId) -> bool {
        let known = self.0.get(&id).is_some();
        if !known {
            self.0.insert(id, (), 1);
        }
        known
    }
}

thread_local! {
    // Per core (one executor per thread): nothing shared, no locks.
    static RECENT: RefCell<RecentReads> = RefCell::new(RecentReads::default());
}

/// The path for reading `length` bytes at `start` of file `id`, open as `fd`.
pub fn choose(id: FileId, fd: RawFd, start: u64, length: u64) -> ReadPath {
    let recently_read = RECENT.with(|recent| recent.borrow_mut().note(id));
    if recently_read || mostly_cached(fd, start, length) {
        ReadPath::Cached
    } else {
        ReadPath::Direct
    }
}

/// `cachestat(2)`'s number: one number on every architecture (new syscalls share the table since
/// 5.1); the libc crate lacks it for x86_64 glibc.
const SYS_CACHESTAT: libc::c_long = 451;

/// `cachestat_range` and `cachestat` from <linux/mman.h> (not in the libc crate).
#[repr(C)]
struct CachestatRange {
    offset: u64,
    length: u64,
}

#[repr(C)]
#[derive(Default)]
struct Cachestat {
    cache: u64,
    dirty: u64,
    writeback: u64,
    evicted: u64,
    recently_evicted: u64,
}

/// Whether more than half of the range's pages are in the page cache (false for an empty range
/// or when `cachestat` is unavailable).
fn mostly_cached(fd: RawFd, start: u64, length: u64) -> bool {
    const PAGE_BYTES: u64 = 4096;
    length > 0
        && cachestat(fd, start, length)
            .is_some_and(|stat| stat.cache * 2 > length.div_ceil(PAGE_BYTES))
}

/// The page-cache state of a file range. `cachestat` only walks the cache's index, never waits for
/// I/O, so it is safe on an executor; kernels without it (before 6.5, ENOSYS) and seccomp
/// profiles that predate it (EPERM) give `None`, and only the recent-reads rule applies.
fn cachestat(fd: RawFd, start: u64, length: u64) -> Option<Cachestat> {
    let range = CachestatRange {
        offset: start,
        length,
    };
    let mut stat = Cachestat::default();
    // SAFETY: both pointers are to live, correctly laid out structs; flags must be 0.
    let result = unsafe {
        libc::syscall(
            SYS_CACHESTAT,
            fd,
            &range as *const CachestatRange,
            &mut stat as *mut Cachestat,
            0u32,
        )
    };
    (result == 0).then_some(stat)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;

    #[test]
    fn recent_reads_remember_what_was_read_lately() {
        // Goal: a file read again while fewer than RECENT_READ_FILES_MAX others came is known; one
        // not read while that many others came is forgotten.
        let mut recent = RecentReads::default();
        assert!(!recent.note(FileId(1)));
        assert!(recent.note(FileId(1)));
        for id in 2..(RECENT_READ_FILES_MAX as u128) {
            recent.note(FileId(id));
        }
        assert!(recent.note(FileId(1)), "read lately, so still known");
        for id in 10_000_000..(10_000_000 + RECENT_READ_FILES_MAX as u128) {
            recent.note(FileId(id));
        }
        assert!(
            !recent.note(FileId(2)),
            "RECENT_READ_FILES_MAX others later it is forgotten"
        );
    }

    #[test]
    fn cachestat_sees_a_file_read_through_the_cache() {
        // Goal: a file just written and read back through the page cache counts as cached; the
        // kernel tells us (or, before 6.5, never claims it is).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&vec![7u8; 1 << 20])
            .unwrap();
        let mut file = std::fs::File::open(&path).unwrap();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        let supported = cachestat(file.as_raw_fd(), 0, 1).is_some();
        assert_eq!(mostly_cached(file.as_raw_fd(), 0, 1 << 20), supported);
        assert!(!mostly_cached(file.as_raw_fd(), 0, 0));
        // Clean pages dropped from the cache: no longer cached.
        file.sync_all().unwrap();
        unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        assert!(!mostly_cached(file.as_raw_fd(), 0, 1 << 20));
    }
}
