//! A SQLite VFS for the metadata reader's connection: SQLite's own unix VFS, with the database
//! file mapped into memory for good, so that reads after another connection's commit copy pages
//! from the mapping instead of calling `pread`.
//!
//! Why: in WAL mode, a read transaction that begins after another connection committed drops
//! the connection's whole page cache (`pagerBeginReadTransaction` calls `pager_reset`), so under
//! writes every listing and lookup reads each page it visits again: a `pread` each, ~2,000 for a
//! 1,000-prefix page of a 10,000,000-key bucket. SQLite's own `PRAGMA mmap_size` does not help:
//! it unmaps the file at the same reset, and its pages bypass the page cache, so a page visited
//! again within one transaction is fetched and prepared again (both measured, BENCHMARKS.md).
//!
//! How: the pager is not told of the mapping (the methods are version 2, without `xFetch`), so
//! pages still go through its cache. This VFS asks the unix VFS to map the file and leaves it
//! mapped, and the unix VFS's `xRead` copies from the mapping whatever it covers (`pread` for
//! the rest). A `MAP_SHARED` mapping is the OS page cache, so it never holds stale contents;
//! only the file's size matters. A read past the end of what is known of the file checks the
//! size, and a file that has outgrown its mapping by more than an eighth (at least
//! `METADATA_READER_MAP_GROWTH_BYTES_MIN`) is mapped again.
//!
//! Safety: copying a mapped page past the file's end would raise SIGBUS, and the mapping may
//! outlast a shrink of the file. SQLite never reads past its snapshot's size, and every page of
//! a snapshot not in the WAL (another file) lies inside the database file: in WAL mode the file
//! shrinks only at a checkpoint's truncate, which happens only when no reader holds an older
//! snapshot (`walCheckpoint`). What is left is what SQLite's own mapping also has: a truncation from
//! outside SQLite while the server runs, and a disk error while copying a mapped page, which is
//! a SIGBUS rather than an `SQLITE_IOERR`. (https://sqlite.org/mmap.html,
//! https://sqlite.org/vfs.html)

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::OnceLock;

use rusqlite::ffi;

use crate::limits::{METADATA_READER_MAP_BYTES_MAX, METADATA_READER_MAP_GROWTH_BYTES_MIN};

/// The VFS's registered name (`Connection::open_with_flags_and_vfs`).
pub const KEPT_MAP_VFS: &CStr = c"ringstore-kept-map";

/// A database file opened through this VFS: SQLite's `sqlite3_file` header (our methods),
/// then the unix VFS's own file structure, which every call is forwarded to.
#[repr(C)]
struct KeptMapFile {
    base: ffi::sqlite3_file,
    /// The unix VFS's file, just past this structure in the same allocation.
    inner: *mut ffi::sqlite3_file,
    /// The bytes the unix VFS last mapped (the file's size then, up to
    /// `METADATA_READER_MAP_BYTES_MAX`), or -1 when nothing is mapped.
    mapped_bytes: i64,
    /// The file's size when last read, or -1.
    known_file_bytes: i64,
    /// How many times the file was mapped afresh (tests read it: `mappings_made`).
    mappings_made: u64,
}

/// The unix VFS this one wraps, found once.
struct Inner(*mut ffi::sqlite3_vfs);
// SAFETY: a registered sqlite3_vfs is immutable and process-wide; SQLite calls it from any thread.
unsafe impl Send for Inner {}
unsafe impl Sync for Inner {}

/// The registration's outcome: the wrapped VFS, or SQLite's result code.
static INNER: OnceLock<Result<Inner, c_int>> = OnceLock::new();

/// Registers the VFS (once per process; later calls answer the first one's outcome).
///
/// Errors: SQLite's result code when there is no default VFS or registration fails.
pub fn register() -> Result<(), c_int> {
    let registered = INNER.get_or_init(|| {
        // SAFETY: sqlite3_vfs_find with NULL returns the default VFS (or NULL); the copy we
        // register is leaked so it lives as long as the process, as SQLite requires.
        unsafe {
            let inner = ffi::sqlite3_vfs_find(std::ptr::null());
            if inner.is_null() {
                return Err(ffi::SQLITE_ERROR);
            }
            let mut vfs: ffi::sqlite3_vfs = *inner;
            vfs.szOsFile = (std::mem::size_of::<KeptMapFile>() as c_int) + (*inner).szOsFile;
            vfs.zName = KEPT_MAP_VFS.as_ptr();
            vfs.pNext = std::ptr::null_mut();
            vfs.xOpen = Some(open);
            // The other methods stay the unix VFS's: they read only fields copied here.
            let code = ffi::sqlite3_vfs_register(Box::into_raw(Box::new(vfs)), 0);
            if code == ffi::SQLITE_OK {
                Ok(Inner(inner))
            } else {
                Err(code)
            }
        }
    });
    registered.as_ref().map(|_| ()).map_err(|code| *code)
}

/// How many times the connection's main database file was mapped afresh (0 if the connection
/// does not use this VFS or never mapped it).
pub fn mappings_made(connection: &rusqlite::Connection) -> u64 {
    let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
    // SAFETY: SQLITE_FCNTL_FILE_POINTER writes the main database's sqlite3_file pointer.
    let code = unsafe {
        ffi::sqlite3_file_control(
            connection.handle(),
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_FILE_POINTER,
            (&mut file as *mut *mut ffi::sqlite3_file).cast(),
        )
    };
    // SAFETY: only a file whose methods are ours is a KeptMapFile.
    unsafe {
        if code != ffi::SQLITE_OK || file.is_null() || (*file).pMethods != &METHODS {
            return 0;
        }
        (*file.cast::<KeptMapFile>()).mappings_made
    }
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let Some(Ok(Inner(inner_vfs))) = INNER.get() else {
        unreachable!("SQLite opens files through a VFS only once it is registered");
    };
    let inner_vfs = *inner_vfs;
    let open_inner = (*inner_vfs).xOpen.expect("a VFS has xOpen");
    if flags & ffi::SQLITE_OPEN_MAIN_DB == 0 {
        // The WAL, its index and journals are the unix VFS's files as they are.
        return open_inner(inner_vfs, name, file, flags, out_flags);
    }
    let kept = file.cast::<KeptMapFile>();
    let inner = file
        .cast::<u8>()
        .add(std::mem::size_of::<KeptMapFile>())
        .cast::<ffi::sqlite3_file>();
    (*kept).base.pMethods = std::ptr::null();
    let code = open_inner(inner_vfs, name, inner, flags, out_flags);
    if code != ffi::SQLITE_OK {
        // A NULL pMethods tells SQLite there is nothing to close.
        return code;
    }
    (*kept).inner = inner;
    (*kept).mapped_bytes = -1;
    (*kept).known_file_bytes = -1;
    (*kept).mappings_made = 0;
    (*kept).base.pMethods = &METHODS;
    ffi::SQLITE_OK
}

/// The forwarded file and its methods.
unsafe fn inner(
    file: *mut ffi::sqlite3_file,
) -> (*mut ffi::sqlite3_file, &'static ffi::sqlite3_io_methods) {
    let inner = (*file.cast::<KeptMapFile>()).inner;
    (inner, &*(*inner).pMethods)
}

/// The file's size, or None if it cannot be read.
unsafe fn file_bytes(file: *mut ffi::sqlite3_file) -> Option<i64> {
    let mut bytes: ffi::sqlite3_int64 = 0;
    (file_size(file, &mut bytes) == ffi::SQLITE_OK).then_some(bytes)
}

/// The bytes the unix VFS maps of a file of `file_bytes` (SQLite's `unixMapfile`).
fn mappable_bytes(file_bytes: i64) -> i64 {
    file_bytes.min(METADATA_READER_MAP_BYTES_MAX as i64)
}

/// Whether a mapping of `mapped_bytes` still serves a file of `file_bytes`: one that a file has
/// outgrown by more than an eighth (at least `METADATA_READER_MAP_GROWTH_BYTES_MIN`) is made
/// again, so that new pages stop costing a `pread` each.
fn mapping_serves(mapped_bytes: i64, file_bytes: i64) -> bool {
    let growth_allowed = (mapped_bytes / 8).max(METADATA_READER_MAP_GROWTH_BYTES_MIN as i64);
    mappable_bytes(file_bytes) - mapped_bytes <= growth_allowed
}

/// Called before a read that reaches past what is known of the file: learns its size, and maps
/// it (again) when nothing is mapped or the file has outgrown the mapping. A file that cannot
/// be mapped is read as the unix VFS reads it.
unsafe fn refresh_mapping(file: *mut ffi::sqlite3_file) {
    let kept = file.cast::<KeptMapFile>();
    let Some(size) = file_bytes(file) else {
        return;
    };
    (*kept).known_file_bytes = size;
    if (*kept).mapped_bytes >= 0 && mapping_serves((*kept).mapped_bytes, size) {
        return;
    }
    let (inner, methods) = inner(file);
    let unfetch = methods.xUnfetch.expect("unix files have xUnfetch");
    // Drops any old mapping, counted or not (a file too small for unixFetch to hand back a page
    // is still mapped): the unix VFS maps only when nothing is mapped.
    unfetch(inner, 0, std::ptr::null_mut());
    (*kept).mapped_bytes = -1;
    let mut limit = METADATA_READER_MAP_BYTES_MAX as i64;
    let code = methods.xFileControl.expect("unix files have xFileControl")(
        inner,
        ffi::SQLITE_FCNTL_MMAP_SIZE,
        (&mut limit as *mut i64).cast(),
    );
    if code != ffi::SQLITE_OK {
        // A SQLite built without mappings (SQLITE_MAX_MMAP_SIZE=0): read as the unix VFS reads.
        return;
    }
    // unixFetch maps the whole file (up to the limit) when nothing is mapped, and hands back a
    // page of it only if the mapping was made (a failed mmap leaves it unmapped and answers OK).
    // The reference is released at once: nothing here keeps pointers into the mapping.
    let mut page: *mut c_void = std::ptr::null_mut();
    let code = methods.xFetch.expect("unix files have xFetch")(inner, 0, 1, &mut page);
    if code != ffi::SQLITE_OK || page.is_null() {
        return;
    }
    unfetch(inner, 0, page);
    (*kept).mapped_bytes = mappable_bytes(size);
    (*kept).mappings_made += 1;
}

unsafe extern "C" fn read(
    file: *mut ffi::sqlite3_file,
    buffer: *mut c_void,
    bytes: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    let kept = file.cast::<KeptMapFile>();
    let end = offset + i64::from(bytes);
    if end > (*kept).mapped_bytes && end > (*kept).known_file_bytes {
        refresh_mapping(file);
    }
    // The unix VFS copies what the mapping covers and reads the rest with pread.
    let (inner, methods) = inner(file);
    methods.xRead.expect("unix files have xRead")(inner, buffer, bytes, offset)
}

/// Defines a method that forwards its call to the unix VFS's file.
macro_rules! forward {
    ($name:ident, $method:ident, ($($argument:ident: $type:ty),*) -> $out:ty) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file, $($argument: $type),*) -> $out {
            let (inner, methods) = inner(file);
            methods.$method.expect(stringify!($method))(inner, $($argument),*)
        }
    };
}

forward!(close, xClose, () -> c_int);
forward!(write, xWrite, (buffer: *const c_void, bytes: c_int, offset: i64) -> c_int);
forward!(truncate, xTruncate, (size: i64) -> c_int);
forward!(sync, xSync, (flags: c_int) -> c_int);
forward!(file_size, xFileSize, (size: *mut i64) -> c_int);
forward!(lock, xLock, (level: c_int) -> c_int);
forward!(unlock, xUnlock, (level: c_int) -> c_int);
forward!(check_reserved_lock, xCheckReservedLock, (out: *mut c_int) -> c_int);
forward!(file_control, xFileControl, (op: c_int, argument: *mut c_void) -> c_int);
forward!(sector_size, xSectorSize, () -> c_int);
forward!(device_characteristics, xDeviceCharacteristics, () -> c_int);
forward!(shm_map, xShmMap, (region: c_int, bytes: c_int, extend: c_int, out: *mut *mut c_void) -> c_int);
forward!(shm_lock, xShmLock, (offset: c_int, count: c_int, flags: c_int) -> c_int);
forward!(shm_barrier, xShmBarrier, () -> ());
forward!(shm_unmap, xShmUnmap, (delete: c_int) -> c_int);

/// Every method forwards to the unix VFS's file; `xRead` first keeps the mapping up to date.
/// Version 2, without `xFetch`: the pager neither maps the file itself nor unmaps it at a reset.
static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 2,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: Some(shm_map),
    xShmLock: Some(shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: None,
    xUnfetch: None,
};
