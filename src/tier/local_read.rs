//! Reading a version's local files for the mover, on a blocking thread of the tier runtime: with
//! O_DIRECT into page-aligned buffers handed to the upload without a copy. A version being moved
//! was usually written long ago and is read once: through the page cache every byte would be
//! copied by the kernel (measured: two thirds of the mover's CPU, BENCHMARKS.md) and would push
//! hot objects out of the cache. Where O_DIRECT is refused (tmpfs), plain reads.
//!
//! The buffers are mapped from the kernel, not taken from the allocator, and kept in a small
//! pool while the mover works (`BUFFER_POOL_COUNT_MAX`): reused, their pages are not zeroed
//! again (a fresh page is, on its first touch); unmapped by `release_buffers` once the mover is
//! idle, they leave the server's RSS at once (the allocator kept freed parts resident: ~30 MiB
//! after a 1 GiB move, tests/tier_memory.rs).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

use bytes::Bytes;

use crate::storage::io_priority::at_idle_io_class;

/// O_DIRECT's alignment of buffers, offsets and lengths (the page size covers every device's
/// logical block size).
const DIRECT_ALIGNMENT_BYTES: usize = 4096;

/// Buffers kept for reuse at most: the mover's parts held at once
/// (`TIER_MOVES_IN_FLIGHT` × `TIER_PARTS_IN_FLIGHT_MAX`) and one being read.
const BUFFER_POOL_COUNT_MAX: usize =
    crate::limits::TIER_MOVES_IN_FLIGHT * crate::limits::TIER_PARTS_IN_FLIGHT_MAX + 1;

/// Mapped buffers free for reuse: (address, size in bytes).
struct Mapping(*mut u8, usize);

// SAFETY: a pooled mapping is owned by the pool alone; moving the address between threads is
// as safe as moving a `Vec`'s.
unsafe impl Send for Mapping {}

static BUFFER_POOL: std::sync::Mutex<Vec<Mapping>> = std::sync::Mutex::new(Vec::new());

/// Unmaps the pooled buffers (the mover is idle).
pub fn release_buffers() {
    let pooled = std::mem::take(&mut *BUFFER_POOL.lock().expect("buffer pool"));
    for Mapping(pointer, capacity) in pooled {
        if let Some(start) = std::ptr::NonNull::new(pointer) {
            // SAFETY: mapped by `AlignedBuffer::new` with this size; no buffer refers to it.
            unsafe { crate::storage::anonymous_memory::unmap(start, capacity) };
        }
    }
}

/// A page-aligned buffer mapped from the kernel.
struct AlignedBuffer {
    pointer: *mut u8,
    capacity: usize,
    length: usize,
}

// SAFETY: the buffer is owned exclusively (no aliasing pointer is kept), so moving it between
// threads or sharing `&[u8]` views is as safe as for a `Vec<u8>`.
unsafe impl Send for AlignedBuffer {}
// SAFETY: after construction the bytes are only read.
unsafe impl Sync for AlignedBuffer {}

impl AlignedBuffer {
    /// An empty buffer of `capacity` bytes (a multiple of the alignment, not zero); its bytes are
    /// written by `pread` before anything reads them (no zeroing pass: measured as a sixth of the
    /// mover's CPU).
    fn new(capacity: usize) -> io::Result<Self> {
        assert!(capacity > 0 && capacity % DIRECT_ALIGNMENT_BYTES == 0);
        let pooled = {
            let mut pool = BUFFER_POOL.lock().expect("buffer pool");
            let found = pool.iter().position(|mapping| mapping.1 == capacity);
            found.map(|index| pool.swap_remove(index))
        };
        if let Some(Mapping(pointer, capacity)) = pooled {
            return Ok(AlignedBuffer {
                pointer,
                capacity,
                length: 0,
            });
        }
        let pointer = crate::storage::anonymous_memory::map(capacity)?.as_ptr();
        Ok(AlignedBuffer {
            pointer,
            capacity,
            length: 0,
        })
    }

    /// Reads from `file` at `offset` into the bytes after `length`; how many it read.
    fn read_more(&mut self, file: &File, offset: u64) -> io::Result<usize> {
        let spare = self.capacity - self.length;
        // SAFETY: the destination lies inside the allocation; pread writes at most `spare` bytes
        // there, and only the bytes it reports written become readable (`length`).
        let count = unsafe {
            libc::pread(
                file.as_raw_fd(),
                self.pointer.add(self.length).cast(),
                spare,
                offset as libc::off_t,
            )
        };
        if count < 0 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                return self.read_more(file, offset);
            }
            return Err(error);
        }
        self.length += count as usize;
        Ok(count as usize)
    }
}

impl AsRef<[u8]> for AlignedBuffer {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: the first `length` bytes were written by reads.
        unsafe { std::slice::from_raw_parts(self.pointer, self.length) }
    }
}

impl Drop for AlignedBuffer {
    fn drop(&mut self) {
        let mut pool = BUFFER_POOL.lock().expect("buffer pool");
        // Only part-sized buffers are kept: a small object's (sized to it) would rarely fit
        // another and would take a part's place.
        if self.capacity >= crate::limits::TIER_PART_BYTES && pool.len() < BUFFER_POOL_COUNT_MAX {
            pool.push(Mapping(self.pointer, self.capacity));
            return;
        }
        drop(pool);
        if let Some(start) = std::ptr::NonNull::new(self.pointer) {
            // SAFETY: mapped in `new` with this size; the last view of it is gone.
            unsafe { crate::storage::anonymous_memory::unmap(start, self.capacity) };
        }
    }
}

/// A local file opened for the mover: O_DIRECT when the filesystem allows it.
pub struct LocalFile {
    file: File,
    direct: bool,
}

impl LocalFile {
    /// Opens `path` for reading.
    pub fn open(path: &Path) -> io::Result<Self> {
        match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECT)
            .open(path)
        {
            Ok(file) => Ok(LocalFile { file, direct: true }),
            Err(error) if error.raw_os_error() == Some(libc::EINVAL) => Ok(LocalFile {
                file: File::open(path)?,
                direct: false,
            }),
            Err(error) => Err(error),
        }
    }

    /// Reads `length` bytes at `offset` (a multiple of the alignment; `length` may end at the
    /// file's end); fewer only at the end of the file. At the idle I/O class: BFQ and
    /// mq-deadline queue the read behind the commits' writes (mq-deadline still serves it within
    /// its aging time, so moves are slowed, never stopped).
    pub fn read(&self, offset: u64, length: usize) -> io::Result<Bytes> {
        at_idle_io_class(|| self.read_now(offset, length))
    }

    fn read_now(&self, offset: u64, length: usize) -> io::Result<Bytes> {
        if length == 0 {
            return Ok(Bytes::new());
        }
        if !self.direct {
            let mut bytes = vec![0u8; length];
            let mut filled = 0;
            while filled < length {
                match self
                    .file
                    .read_at(&mut bytes[filled..], offset + filled as u64)?
                {
                    0 => break,
                    count => filled += count,
                }
            }
            bytes.truncate(filled);
            return Ok(Bytes::from(bytes));
        }
        assert!(offset % DIRECT_ALIGNMENT_BYTES as u64 == 0);
        let mut buffer = AlignedBuffer::new(length.next_multiple_of(DIRECT_ALIGNMENT_BYTES))?;
        while buffer.length < length {
            let position = offset + buffer.length as u64;
            if buffer.read_more(&self.file, position)? == 0 {
                break;
            }
            if buffer.length % DIRECT_ALIGNMENT_BYTES != 0 {
                break; // a short, unaligned read: the end of the file
            }
        }
        buffer.length = buffer.length.min(length);
        Ok(Bytes::from_owner(buffer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_range_of_a_file_whole() {
        // Goal: aligned chunks and the unaligned tail read back exactly, O_DIRECT or not.
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("f");
        let content: Vec<u8> = (0..(3 * 4096 + 123))
            .map(|index| (index % 251) as u8)
            .collect();
        std::fs::write(&path, &content).unwrap();
        let file = LocalFile::open(&path).unwrap();
        let mut read = Vec::new();
        let mut offset = 0;
        while offset < content.len() {
            let chunk = file
                .read(offset as u64, 8192.min(content.len() - offset))
                .unwrap();
            assert!(!chunk.is_empty());
            offset += chunk.len();
            read.extend_from_slice(&chunk);
        }
        assert_eq!(read, content);
        assert_eq!(
            file.read(0, content.len() + 5000).unwrap().len(),
            content.len()
        );
    }
}
