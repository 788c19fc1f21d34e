//! The filesystem's size and free space under the data directory (`statvfs`), for the disk-full
//! log line and for capacity reports (Veeam SOSAPI's capacity.xml).

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Sizes of the filesystem holding a path, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskCapacity {
    /// Total size.
    pub total_bytes: u64,
    /// Free to unprivileged writers (what ringstore can still use).
    pub available_bytes: u64,
    /// Free in all (including the root reserve): `total - free` is what is used.
    pub free_bytes: u64,
}

/// The capacity of the filesystem holding `path`; `None` if it cannot be read. One `statvfs`
/// call: a metadata read of the mounted filesystem's superblock counters, which does not wait on
/// the disk.
pub fn disk_capacity(path: &Path) -> Option<DiskCapacity> {
    let text = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs fills the struct we pass for a NUL-terminated path.
    let stat = unsafe {
        let mut stat: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(text.as_ptr(), &mut stat) != 0 {
            return None;
        }
        stat
    };
    let block = stat.f_frsize as u64;
    Some(DiskCapacity {
        total_bytes: stat.f_blocks as u64 * block,
        available_bytes: stat.f_bavail as u64 * block,
        free_bytes: stat.f_bfree as u64 * block,
    })
}
