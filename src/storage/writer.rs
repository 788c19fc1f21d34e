//! `ObjectWriter`: streams an upload into a temp file (preallocated ahead of its writes) with DMA
//! writes of whole blocks and one buffered write of a last partial block (the file at its exact
//! size, no truncate) while hashing it, then makes it durable in S3's order: fdatasync → rename
//! → directory fsync. Guards delete the file on drop unless the caller says the metadata
//! committed. An upload that may be stored inline stays in memory until it outgrows the inline
//! limit; then it moves to a temp file. With a `PackageCipher` the bytes are hashed as
//! plaintext, then sealed in place package by package (`encryption`'s format) before they reach
//! the disk or the inline row.
use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::rc::Rc;

use glommio::io::{DmaBuffer, DmaFile, OpenOptions};
use glommio::task::JoinHandle;
use md5::{Digest, Md5};

use super::checksum::{ChecksumAlgorithm, ChecksumHasher};
use super::encryption::{
    encrypted_size, DataKey, PackageCipher, Sealing, PACKAGE_PLAINTEXT_BYTES, TAG_BYTES,
};
use super::object_dirs::DirectorySync;
use super::preallocation::Preallocation;
use super::{io_error, FileId, InlineBytes, Layout, StorageError, StoredBytes};
use crate::limits::{DMA_ALIGNMENT_BYTES, DMA_WRITE_BEHIND_COUNT, DMA_WRITE_BLOCK_BYTES};

type PendingWrite = JoinHandle<Result<usize, io::Error>>;

/// Digests of a finished upload.
#[derive(Debug, Clone)]
pub struct Digests {
    /// MD5 of the bytes (the S3 ETag of a single-part object).
    pub md5: [u8; 16],
    /// The flexible checksum, if one was requested.
    pub checksum: Option<(ChecksumAlgorithm, Vec<u8>)>,
}

/// Where an upload may end up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Always a file (multipart parts, objects known to be large).
    File,
    /// Inline in the metadata database if it has at most this many bytes, else a file.
    InlineUpTo(usize),
}

/// An upload being received: in memory while it may still be stored inline, else in a temp file.
pub struct ObjectWriter {
    layout: Rc<Layout>,
    /// The plaintext length the upload declared, if it did (a file is preallocated to it).
    expected_bytes: Option<u64>,
    sink: Sink,
    md5: Md5,
    checksum: Option<ChecksumHasher>,
    checksum_algorithm: Option<ChecksumAlgorithm>,
    /// Seals the bytes at rest, if the object is encrypted.
    sealing: Option<WriterSealing>,
    poisoned: bool,
}

/// `Sealing` as the writer holds it: the one cipher shared with its file sink.
enum WriterSealing {
    Object(Rc<PackageCipher>),
    PerFile(DataKey),
}

impl WriterSealing {
    /// The cipher for file `id`.
    fn for_file(&self, id: FileId) -> Rc<PackageCipher> {
        match self {
            WriterSealing::Object(cipher) => cipher.clone(),
            WriterSealing::PerFile(data_key) => Rc::new(data_key.file_packages(id)),
        }
    }
}

enum Sink {
    /// Bytes so far, in a buffer one byte longer than the inline limit: filling it means the
    /// upload is too large to be inline.
    Memory { buffer: Vec<u8>, filled: usize },
    /// Boxed: a file sink is far larger than the memory variant (DMA state, preallocation).
    File(Box<FileSink>),
}

struct FileSink {
    id: FileId,
    file: Rc<DmaFile>,
    block: DmaBuffer,
    filled: usize,
    flushed_bytes: u64,
    pending: VecDeque<PendingWrite>,
    temp_guard: TempGuard,
    /// Encryption: the cipher, plaintext bytes in the open package, and its index.
    cipher: Option<Rc<PackageCipher>>,
    package_filled: usize,
    package_index: u64,
    /// Plaintext bytes accepted (the file holds more when encrypted: the tags).
    plaintext_bytes: u64,
    /// Blocks reserved ahead of the writes, and the file's size as known.
    preallocation: Preallocation,
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

impl FileSink {
    /// A new temp file for an upload declared as `expected_bytes` of plaintext, if it was.
    async fn create(
        layout: &Layout,
        sealing: Option<&WriterSealing>,
        expected_bytes: Option<u64>,
    ) -> Result<Self, StorageError> {
        let id = FileId::random();
        let cipher = sealing.map(|sealing| sealing.for_file(id));
        let stored_bytes = expected_bytes.map(|plaintext| match cipher {
            Some(_) => encrypted_size(plaintext),
            None => plaintext,
        });
        let path = layout.temp_path(id);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .dma_open(&path)
            .await
            .map_err(io_error)?;
        let file = Rc::new(file);
        let block = file.alloc_dma_buffer(DMA_WRITE_BLOCK_BYTES);
        Ok(FileSink {
            id,
            file,
            block,
            filled: 0,
            flushed_bytes: 0,
            pending: VecDeque::with_capacity(DMA_WRITE_BEHIND_COUNT + 1),
            temp_guard: TempGuard { path: Some(path) },
            cipher,
            package_filled: 0,
            package_index: 0,
            plaintext_bytes: 0,
            preallocation: Preallocation::new(stored_bytes),
        })
    }

    /// Where the next plaintext bytes go: the rest of the block, or of the open package.
    fn spare_mut(&mut self) -> &mut [u8] {
        let end = match self.cipher {
            Some(_) => self.filled + (PACKAGE_PLAINTEXT_BYTES - self.package_filled),
            None => DMA_WRITE_BLOCK_BYTES,
        };
        &mut self.block.as_bytes_mut()[self.filled..end]
    }

    /// Counts `count` bytes placed by `spare_mut`, sealing a package they complete (its tag
    /// follows it in the block); whether the block is now full.
    fn accept(&mut self, count: usize) -> bool {
        self.filled += count;
        self.plaintext_bytes += count as u64;
        if let Some(cipher) = &self.cipher {
            self.package_filled += count;
            assert!(self.package_filled <= PACKAGE_PLAINTEXT_BYTES);
            if self.package_filled == PACKAGE_PLAINTEXT_BYTES {
                // A full package is never the last: an object ends with a short (maybe empty) one.
                self.seal_package(cipher.clone(), false);
            }
        }
        assert!(self.filled <= DMA_WRITE_BLOCK_BYTES);
        self.filled == DMA_WRITE_BLOCK_BYTES
    }

    fn seal_package(&mut self, cipher: Rc<PackageCipher>, last: bool) {
        let start = self.filled - self.package_filled;
        let bytes = self.block.as_bytes_mut();
        let tag = cipher.seal(self.package_index, last, &mut bytes[start..self.filled]);
        bytes[self.filled..self.filled + TAG_BYTES].copy_from_slice(&tag);
        self.filled += TAG_BYTES;
        self.package_index += 1;
        self.package_filled = 0;
    }

    /// Writes the current block out and starts a new one.
    async fn submit_block(&mut self) -> Result<(), io::Error> {
        let next = self.file.alloc_dma_buffer(DMA_WRITE_BLOCK_BYTES);
        let full = std::mem::replace(&mut self.block, next);
        self.submit(full).await
    }

    /// Takes `bytes` (already hashed) as if they had arrived through `spare_mut`.
    async fn absorb(&mut self, mut bytes: &[u8]) -> Result<(), io::Error> {
        while !bytes.is_empty() {
            let spare = self.spare_mut();
            let count = spare.len().min(bytes.len());
            spare[..count].copy_from_slice(&bytes[..count]);
            bytes = &bytes[count..];
            if self.accept(count) {
                self.submit_block().await?;
            }
        }
        Ok(())
    }

    async fn submit(&mut self, buffer: DmaBuffer) -> Result<(), io::Error> {
        let position = self.flushed_bytes;
        let length = buffer.len();
        debug_assert_eq!(position % DMA_ALIGNMENT_BYTES as u64, 0);
        let end = position + length as u64;
        self.preallocation.cover(&self.file, end).await;
        self.preallocation.wrote(end);
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

    async fn await_oldest(&mut self) -> Result<(), io::Error> {
        let Some(write) = self.pending.pop_front() else {
            return Ok(());
        };
        match write.await {
            Some(Ok(_)) => Ok(()),
            Some(Err(error)) => Err(error),
            None => Err(io::Error::other("DMA write task cancelled")),
        }
    }

    /// Seals the last package (if encrypted), writes the tail, trims the padding and fdatasyncs.
    async fn flush_and_sync(&mut self) -> Result<(), io::Error> {
        let size = match self.cipher.clone() {
            Some(cipher) => {
                // Room for the tag: a block holding a full package's worth was written out.
                assert!(self.filled + TAG_BYTES <= DMA_WRITE_BLOCK_BYTES);
                self.seal_package(cipher, true);
                encrypted_size(self.plaintext_bytes)
            }
            None => self.plaintext_bytes,
        };
        debug_assert_eq!(self.flushed_bytes + self.filled as u64, size);
        let rest = self.filled % DMA_ALIGNMENT_BYTES;
        let mut tail = [0u8; DMA_ALIGNMENT_BYTES];
        tail[..rest].copy_from_slice(&self.block.as_bytes()[self.filled - rest..self.filled]);
        if self.filled > rest {
            let mut whole = std::mem::replace(
                &mut self.block,
                self.file.alloc_dma_buffer(DMA_ALIGNMENT_BYTES),
            );
            whole.trim_to_size(self.filled - rest);
            self.filled -= rest;
            self.submit(whole).await?;
        }
        if rest > 0 {
            // The last partial block goes in by a buffered write, into the block preallocated
            // for it (a declared length: the file already has its exact size) or extending the
            // file to it. A padded direct write would leave the size to a truncate, and ext4 cuts
            // a file inside a written block by reading that block back from the disk (direct
            // writes leave no cached page) to zero its end: a synchronous read behind the
            // device's queue on every PUT (BENCHMARKS.md, 2026-12-03 night). Writing into an
            // allocated but unwritten block reads nothing, nor does cutting a file at a block
            // boundary. The fdatasync below flushes this page with the direct writes.
            let end = self.flushed_bytes;
            while !self.pending.is_empty() {
                self.await_oldest().await?;
            }
            if !self.preallocation.ends_within(size) {
                // Preallocated past the end (a body of undeclared length).
                self.preallocation.cut_back(&self.file, end).await?;
            }
            write_buffered(self.temp_guard.path.clone(), tail, rest, end).await?;
            self.filled = 0;
            self.flushed_bytes += rest as u64;
            self.preallocation.wrote(end + rest as u64);
        }
        while !self.pending.is_empty() {
            self.await_oldest().await?;
        }
        // Past the end (preallocation beyond a length of whole blocks), or of unknown size.
        if self.preallocation.needs_trim(size) {
            self.file.truncate(size).await.map_err(io_error)?;
        }
        // fdatasync after the truncate so the final size is durable too.
        self.file.fdatasync().await.map_err(io_error)
    }
}

/// Writes `tail[..length]` at `offset` of the file at `path` through the page cache, on a
/// blocking thread (io_uring's buffered write would be handed to a kernel worker all the same).
async fn write_buffered(
    path: Option<PathBuf>,
    tail: [u8; DMA_ALIGNMENT_BYTES],
    length: usize,
    offset: u64,
) -> Result<(), io::Error> {
    let path = path.ok_or_else(|| io::Error::other("the temp file's guard was disarmed"))?;
    glommio::executor()
        .spawn_blocking(move || {
            use std::os::unix::fs::FileExt;
            let file = std::fs::OpenOptions::new().write(true).open(path)?;
            file.write_all_at(&tail[..length], offset)
        })
        .await
}

impl ObjectWriter {
    /// Starts receiving an upload: in memory when it may be stored inline, else in a new temp
    /// file. `expected_bytes` is the plaintext length the upload declared (Content-Length, or
    /// the decoded length of an aws-chunked body), if any; a file is preallocated up to it.
    pub async fn create(
        layout: Rc<Layout>,
        checksum: Option<ChecksumAlgorithm>,
        placement: Placement,
        sealing: Option<Sealing>,
        expected_bytes: Option<u64>,
    ) -> Result<Self, StorageError> {
        let sealing = sealing.map(|sealing| match sealing {
            Sealing::Object(data_key) => WriterSealing::Object(Rc::new(data_key.packages(0))),
            Sealing::PerFile(data_key) => WriterSealing::PerFile(data_key),
        });
        let sink = match placement {
            Placement::InlineUpTo(bytes_max) => {
                assert!(
                    bytes_max < DMA_WRITE_BLOCK_BYTES,
                    "inline limit fits one DMA block"
                );
                Sink::Memory {
                    buffer: vec![0; bytes_max + 1],
                    filled: 0,
                }
            }
            Placement::File => Sink::File(Box::new(
                FileSink::create(&layout, sealing.as_ref(), expected_bytes).await?,
            )),
        };
        Ok(ObjectWriter {
            layout,
            expected_bytes,
            sink,
            md5: Md5::new(),
            checksum: checksum.map(ChecksumHasher::new),
            checksum_algorithm: checksum,
            sealing,
            poisoned: false,
        })
    }

    /// Bytes accepted so far (plaintext).
    pub fn size_bytes(&self) -> u64 {
        match &self.sink {
            Sink::Memory { filled, .. } => *filled as u64,
            Sink::File(sink) => sink.plaintext_bytes,
        }
    }

    /// The free part of the current buffer; fill it, then call [`ObjectWriter::advance`].
    pub fn spare_mut(&mut self) -> &mut [u8] {
        match &mut self.sink {
            Sink::Memory { buffer, filled } => &mut buffer[*filled..],
            Sink::File(sink) => sink.spare_mut(),
        }
    }

    /// Accepts `count` bytes just placed in [`ObjectWriter::spare_mut`]; writes a full block out,
    /// or moves an upload that outgrew the inline limit to a temp file.
    pub async fn advance(&mut self, count: usize) -> Result<(), StorageError> {
        if self.poisoned {
            return Err(StorageError::Poisoned);
        }
        let (new, full) = match &mut self.sink {
            Sink::Memory { buffer, filled } => {
                assert!(*filled + count <= buffer.len());
                let new = &buffer[*filled..*filled + count];
                *filled += count;
                (new, *filled == buffer.len())
            }
            Sink::File(sink) => {
                assert!(sink.filled + count <= DMA_WRITE_BLOCK_BYTES);
                let new = &sink.block.as_bytes()[sink.filled..sink.filled + count];
                // Hashed as plaintext before `accept` may seal them in place.
                self.md5.update(new);
                if let Some(checksum) = &mut self.checksum {
                    checksum.update(new);
                }
                if !sink.accept(count) {
                    return Ok(());
                }
                let result = sink.submit_block().await;
                return result.map_err(|error| self.fail(error));
            }
        };
        self.md5.update(new);
        if let Some(checksum) = &mut self.checksum {
            checksum.update(new);
        }
        if !full {
            return Ok(());
        }
        // The upload outgrew the inline limit: move what is buffered to a temp file.
        let Sink::Memory { buffer, filled } = &mut self.sink else {
            unreachable!("a file sink returned above");
        };
        let (buffer, filled) = (std::mem::take(buffer), *filled);
        let mut sink = match FileSink::create(
            &self.layout,
            self.sealing.as_ref(),
            self.expected_bytes,
        )
        .await
        {
            Ok(sink) => sink,
            Err(error) => {
                self.poisoned = true;
                return Err(error);
            }
        };
        let absorbed = sink.absorb(&buffer[..filled]).await;
        self.sink = Sink::File(Box::new(sink));
        absorbed.map_err(|error| self.fail(error))
    }

    /// Accepts `bytes` (copied in, a buffer at a time).
    pub async fn write_all(&mut self, mut bytes: &[u8]) -> Result<(), StorageError> {
        while !bytes.is_empty() {
            let spare = self.spare_mut();
            let count = spare.len().min(bytes.len());
            spare[..count].copy_from_slice(&bytes[..count]);
            bytes = &bytes[count..];
            self.advance(count).await?;
        }
        Ok(())
    }

    fn fail(&mut self, error: io::Error) -> StorageError {
        self.poisoned = true;
        let error = StorageError::from(error);
        if let (StorageError::DiskFull, Sink::File(sink)) = (&error, &self.sink) {
            let path = self.layout.temp_path(sink.id);
            tracing::error!(path = %path.display(), free_bytes = free_bytes(self.layout.root()), "disk full: upload refused");
        }
        error
    }

    /// Ends the upload. A file is written out, trimmed and fdatasynced: durable but still a temp
    /// file. An upload still in memory becomes inline bytes.
    pub async fn seal(mut self) -> Result<SealedObject, StorageError> {
        if self.poisoned {
            return Err(StorageError::Poisoned);
        }
        let size_bytes = self.size_bytes();
        if let Sink::File(sink) = &mut self.sink {
            // A failure poisons the writer: an fsync is never retried.
            if let Err(error) = sink.flush_and_sync().await {
                return Err(self.fail(error));
            }
        }
        let digests = Digests {
            md5: std::mem::take(&mut self.md5).finalize().into(),
            checksum: self
                .checksum
                .take()
                .map(|hasher| hasher.finalize())
                .and_then(|value| self.checksum_algorithm.map(|algorithm| (algorithm, value))),
        };
        let body = match &mut self.sink {
            Sink::Memory { buffer, filled } => {
                let mut bytes = std::mem::take(buffer);
                bytes.truncate(*filled);
                match &self.sealing {
                    Some(WriterSealing::Object(cipher)) => bytes = cipher.seal_all(&bytes),
                    Some(WriterSealing::PerFile(_)) => {
                        unreachable!("per-file sealing is for parts, always files")
                    }
                    None => {}
                }
                SealedBody::Inline(InlineBytes::new(bytes))
            }
            // The guard moves to the sealed object, still armed.
            Sink::File(sink) => SealedBody::File {
                id: sink.id,
                temp_guard: std::mem::replace(&mut sink.temp_guard, TempGuard { path: None }),
            },
        };
        Ok(SealedObject {
            layout: self.layout.clone(),
            size_bytes,
            digests,
            body,
        })
    }
}

/// A received upload whose digests the caller checks before publishing it.
pub struct SealedObject {
    layout: Rc<Layout>,
    size_bytes: u64,
    digests: Digests,
    body: SealedBody,
}

enum SealedBody {
    /// A durable temp file.
    File { id: FileId, temp_guard: TempGuard },
    /// Bytes to store inline with the metadata.
    Inline(InlineBytes),
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

    /// Renames a file into place and fsyncs its directory (inline bytes need nothing). The
    /// returned guard still deletes the file on drop unless [`PublishedObject::keep`] is called
    /// once metadata has committed.
    pub async fn publish(self) -> Result<PublishedObject, StorageError> {
        let (id, mut temp_guard) = match self.body {
            SealedBody::Inline(bytes) => {
                return Ok(PublishedObject {
                    stored: StoredBytes::Inline(bytes),
                    size_bytes: self.size_bytes,
                    digests: self.digests,
                    guard: TempGuard { path: None },
                })
            }
            SealedBody::File { id, temp_guard } => (id, temp_guard),
        };
        let temp_path = temp_guard.disarm().expect("armed until published");
        let final_path = self.layout.object_path(id);
        // Held from before the rename, so the handle's descriptor reports any writeback error
        // after it, and a failed fsync of the directory from now on fails this PUT too.
        let directory = match DirectorySync::watch(self.layout.object_dir(id.dir_index())).await {
            Ok(directory) => directory,
            Err(error) => {
                temp_guard.path = Some(temp_path);
                return Err(error.into());
            }
        };
        if let Err(error) = glommio::io::rename(&temp_path, &final_path).await {
            temp_guard.path = Some(temp_path);
            return Err(io_error(error).into());
        }
        let guard = TempGuard {
            path: Some(final_path),
        };
        directory.sync().await?;
        Ok(PublishedObject {
            stored: StoredBytes::File(id),
            size_bytes: self.size_bytes,
            digests: self.digests,
            guard,
        })
    }
}

/// A durable object (file in its final place, or inline bytes), owned by this guard until
/// metadata commits.
pub struct PublishedObject {
    /// Where its bytes are.
    pub stored: StoredBytes,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Digests computed while streaming.
    pub digests: Digests,
    guard: TempGuard,
}

impl PublishedObject {
    /// The metadata now references this object: keep its file.
    pub fn keep(mut self) {
        self.guard.disarm();
    }
}

/// Free bytes on the filesystem holding `path` (for the disk-full log line); 0 if unknown.
fn free_bytes(path: &std::path::Path) -> u64 {
    super::capacity::disk_capacity(path).map_or(0, |capacity| capacity.available_bytes)
}
