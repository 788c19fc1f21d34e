//! Memory mapped straight from the kernel (private, anonymous), for big transient buffers: the
//! allocator keeps a freed large block resident, while an unmapped one is returned at once.

use std::io;
use std::ptr::NonNull;

/// Maps `bytes` (> 0) of zeroed, page-aligned memory. Errors: the kernel's (`ENOMEM`).
pub fn map(bytes: usize) -> io::Result<NonNull<u8>> {
    // SAFETY: a fresh private anonymous mapping; no existing memory is touched.
    let address = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if address == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    NonNull::new(address.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned null"))
}

/// Returns a mapping to the kernel.
///
/// # Safety
/// `start` and `bytes` are exactly what one `map` returned and was given, and nothing refers to
/// that memory any more.
pub unsafe fn unmap(start: NonNull<u8>, bytes: usize) {
    // SAFETY: the caller's promise above.
    unsafe { libc::munmap(start.as_ptr().cast(), bytes) };
}
