//! `ObjectWriter`: streams an upload into a temp file with DMA writes while hashing it, then
//! makes it durable in S3's order: fdatasync → rename → directory fsync. Guards delete the file
//! on drop unless the caller says the metadata committed.

use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::rc::Rc;

use glommio::io::{Directory, DmaBuffer, DmaFile, OpenOptions};
use glommio::task::JoinHandle;
use md5::{Digest, Md5};

use super::checksum::{ChecksumAlgorithm, ChecksumHasher};
use super::{io_error, FileId, Layout, StorageError};
use crate::limits::{DMA_WRITE_BEHIND_COUNT, DMA_WRITE_BLOCK_BYTES, FILE_REMOVAL_GRACE_MS};

/// Alignment of DMA writes (logical block size; 4 KiB covers every common device).
const DMA_ALIGNMENT_BYTES: usize = 4096;

type PendingWrite = JoinHandle<Result<usize, io::Error>>;

/// Digests of a finished upload.
#[derive(Debug, Clone)]
pub struct Digests {
    /// MD5 of the bytes (the S3 ETag of a single-part object).
    pub md5: [u8; 16],
    /// The flexible checksum, if one was requested.
    pub checksum: Option<(ChecksumAlgorithm, Vec<u8>)>,
}

/// An upload being written to its temp file.
pub struct ObjectWriter {
    layout: Rc<Layout>,
    id: FileId,
    file: Rc<DmaFile>,
    block: DmaBuffer,
    filled: usize,
    flushed_bytes: u64,
    pending: VecDeque<PendingWrite>,
    md5: Md5,
    checksum: Option<ChecksumHasher>,
    checksum_algorithm: Option<ChecksumAlgorithm>,
    poisoned: bool,
    temp_guard: TempGuard,
}

/// Deletes a file on drop unless disarmed; keeps crashes and errors from leaving debris visible.
struct TempGuard {
    path: Option<PathBuf>,
}

impl TempGuard {
    fn disarm(&mut self) -> Option<PathBuf> {
        self.path.take()
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            // Unlink off the executor's critical path; startup recovery catches it if we die first.
            glommio::spawn_local(async move {
                if let Err(error) = glommio::io::remove(&path).await {
                    tracing::warn!(path = %path.display(), error = %error, "temp file not removed");
                }
            })
            .detach();
        }
    }
}

impl ObjectWriter {
    /// Creates a temp file for a new upload.
    pub async fn create(
        layout: Rc<Layout>,
        checksum: Option<ChecksumAlgorithm>,
    ) -> Result<Self, StorageError> {
        let id = FileId::random();
        let path = layout.temp_path(id);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .dma_open(&path)
            .await
            .map_err(io_error)?;
        let file = Rc::new(file);
        let block = file.alloc_dma_buffer(DMA_WRITE_BLOCK_BYTES);
        Ok(ObjectWriter {
            layout,
            id,
            file,
            block,
            filled: 0,
            flushed_bytes: 0,
            pending: VecDeque::with_capacity(DMA_WRITE_BEHIND_COUNT + 1),
            md5: Md5::new(),
            checksum: checksum.map(ChecksumHasher::new),
            checksum_algorithm: checksum,
            poisoned: false,
            temp_guard: TempGuard { path: Some(path) },
        })
    }

    /// Bytes accepted so far.
    pub fn size_bytes(&self) -> u64 {
        self.flushed_bytes + self.filled as u64
    }

    /// The free part of the current block; fill it, then call [`ObjectWriter::advance`].
    pub fn spare_mut(&mut self) -> &mut [u8] {
        &mut self.block.as_bytes_mut()[self.filled..]
    }

    /// Accepts `count` bytes just placed in [`ObjectWriter::spare_mut`]; writes a full block out.
    pub async fn advance(&mut self, count: usize) -> Result<(), StorageError> {
        if self.poisoned {
            return Err(StorageError::Poisoned);
        }
        assert!(self.filled + count <= DMA_WRITE_BLOCK_BYTES);
        let new = &self.block.as_bytes()[self.filled..self.filled + count];
        self.md5.update(new);
        if let Some(checksum) = &mut self.checksum {
            checksum.update(new);
        }
        self.filled += count;
        if self.filled == DMA_WRITE_BLOCK_BYTES {
            let next = self.file.alloc_dma_buffer(DMA_WRITE_BLOCK_BYTES);
            let full = std::mem::replace(&mut self.block, next);
            self.submit(full).await?;
        }
        Ok(())
    }

    async fn submit(&mut self, buffer: DmaBuffer) -> Result<(), StorageError> {
        let position = self.flushed_bytes;
        let length = buffer.len();
        debug_assert_eq!(position % DMA_ALIGNMENT_BYTES as u64, 0);
        let file = self.file.clone();
        let write = glommio::spawn_local(async move {
            let written = file.write_at(buffer, position).await.map_err(io_error)?;
            if written != length {
                return Err(io::Error::new(io::ErrorKind::WriteZero, "short DMA write"));
            }
            Ok(written)
        })
        .detach();
        self.flushed_bytes += self.filled as u64;
        self.filled = 0;
        self.pending.push_back(write);
        while self.pending.len() > DMA_WRITE_BEHIND_COUNT {
            self.await_oldest().await?;
        }
        Ok(())
    }

    fn fail(&mut self, error: io::Error) -> StorageError {
        self.poisoned = true;
        let error = StorageError::from(error);
        if matches!(error, StorageError::DiskFull) {
            let path = self.layout.temp_path(self.id);
            tracing::error!(path = %path.display(), free_bytes = free_bytes(self.layout.root()), "disk full: upload refused");
        }
        error
    }

    async fn await_oldest(&mut self) -> Result<(), StorageError> {
        let Some(write) = self.pending.pop_front() else {
            return Ok(());
        };
        match write.await {
            Some(Ok(_)) => Ok(()),
            Some(Err(error)) => Err(self.fail(error)),
            None => {
                self.poisoned = true;
                Err(StorageError::Io(io::Error::other(
                    "DMA write task cancelled",
                )))
            }
        }
    }

    /// Writes the tail, trims padding and fdatasyncs; the file is durable but still a temp file.
    pub async fn seal(mut self) -> Result<SealedObject, StorageError> {
        if self.poisoned {
            return Err(StorageError::Poisoned);
        }
        let size = self.size_bytes();
        if self.filled > 0 {
            let padded = self.filled.div_ceil(DMA_ALIGNMENT_BYTES) * DMA_ALIGNMENT_BYTES;
            let mut tail = std::mem::replace(
                &mut self.block,
                self.file.alloc_dma_buffer(DMA_ALIGNMENT_BYTES),
            );
            tail.as_bytes_mut()[self.filled..padded].fill(0);
            tail.trim_to_size(padded);
            // submit() advances by the data bytes, not the padding, so size_bytes stays exact.
            self.submit(tail).await?;
        }
        while !self.pending.is_empty() {
            self.await_oldest().await?;
        }
        if size % DMA_ALIGNMENT_BYTES as u64 != 0 {
            if let Err(error) = self.file.truncate(size).await {
                return Err(self.fail(io_error(error)));
            }
        }
        // fdatasync after the truncate so the final size is durable too; a failure poisons (no retry).
        if let Err(error) = self.file.fdatasync().await {
            return Err(self.fail(io_error(error)));
        }
        let digests = Digests {
            md5: self.md5.clone().finalize().into(),
            checksum: self
                .checksum
                .take()
                .map(|hasher| hasher.finalize())
                .and_then(|value| self.checksum_algorithm.map(|algorithm| (algorithm, value))),
        };
        let path = self
            .temp_guard
            .disarm()
            .expect("temp guard armed until sealed");
        Ok(SealedObject {
            layout: self.layout.clone(),
            id: self.id,
            size_bytes: size,
            digests,
            temp_guard: TempGuard { path: Some(path) },
        })
    }
}

/// A durable temp file whose digests the caller checks before publishing it.
pub struct SealedObject {
    layout: Rc<Layout>,
    id: FileId,
    size_bytes: u64,
    digests: Digests,
    temp_guard: TempGuard,
}

impl SealedObject {
    /// Size of the object in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// Digests computed while streaming.
    pub fn digests(&self) -> &Digests {
        &self.digests
    }

    /// Renames the file into place and fsyncs its directory. The returned guard still deletes the
    /// file on drop unless [`PublishedObject::keep`] is called once metadata has committed.
    pub async fn publish(mut self) -> Result<PublishedObject, StorageError> {
        let temp_path = self.temp_guard.disarm().expect("armed until published");
        let final_path = self.layout.object_path(self.id);
        if let Err(error) = glommio::io::rename(&temp_path, &final_path).await {
            self.temp_guard.path = Some(temp_path);
            return Err(io_error(error).into());
        }
        let guard = TempGuard {
            path: Some(final_path),
        };
        let directory = Directory::open(self.layout.object_dir(self.id.dir_index()))
            .await
            .map_err(io_error)?;
        directory.sync().await.map_err(io_error)?;
        directory.close().await.map_err(io_error)?;
        Ok(PublishedObject {
            id: self.id,
            size_bytes: self.size_bytes,
            digests: self.digests,
            guard,
        })
    }
}

/// A durable object file in its final place, owned by this guard until metadata commits.
pub struct PublishedObject {
    /// Internal id of the file.
    pub id: FileId,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Digests computed while streaming.
    pub digests: Digests,
    guard: TempGuard,
}

impl PublishedObject {
    /// The metadata now references this file: keep it.
    pub fn keep(mut self) {
        self.guard.disarm();
    }
}

/// Free bytes on the filesystem holding `path` (for the disk-full log line); 0 if unknown.
fn free_bytes(path: &std::path::Path) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    let Ok(text) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return 0;
    };
    // SAFETY: statvfs fills the struct we pass for a NUL-terminated path. Only on the error path.
    unsafe {
        let mut stat: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(text.as_ptr(), &mut stat) != 0 {
            return 0;
        }
        stat.f_bavail as u64 * stat.f_frsize as u64
    }
}

/// Deletes, after `FILE_REMOVAL_GRACE_MS`, a file no metadata references any more (after an
/// overwrite or delete). If the process dies first, startup recovery removes it as an orphan.
pub fn remove_object_file_later(layout: &Layout, id: FileId) {
    let path = layout.object_path(id);
    glommio::spawn_local(async move {
        glommio::timer::sleep(std::time::Duration::from_millis(FILE_REMOVAL_GRACE_MS)).await;
        if let Err(error) = glommio::io::remove(&path).await {
            let error = io_error(error);
            if error.kind() != io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %error, "object file not removed");
            }
        }
    })
    .detach();
}
