//! Streams a stored file (or a byte range of it) in DMA blocks with read-ahead, so serving a
//! 5 GiB object costs a few blocks of memory.

use std::io;

use futures_lite::FutureExt;
use glommio::io::{DmaFile, DmaStreamReader, DmaStreamReaderBuilder, ReadResult};

use super::{io_error, FileId, Layout};
use crate::limits::{DMA_READ_AHEAD_COUNT, DMA_READ_BLOCK_BYTES};

/// An open object file positioned on a byte range.
pub struct ObjectReader {
    stream: DmaStreamReader,
    remaining: u64,
}

impl ObjectReader {
    /// Opens file `id`; `NotFound` means it was replaced or deleted since its metadata was read.
    pub async fn open(layout: &Layout, id: FileId, start: u64, length: u64) -> io::Result<Self> {
        // glommio 0.9's open calls `statfs(path).unwrap()` after `openat`; if the file is unlinked
        // in between, that panics. Deferred unlinks make this practically impossible; catching
        // the unwind keeps the core alive even then (the request gets NotFound and retries).
        let open =
            std::panic::AssertUnwindSafe(DmaFile::open(layout.object_path(id))).catch_unwind();
        let file = match open.await {
            Ok(result) => result.map_err(io_error)?,
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    "object file vanished while opening",
                ))
            }
        };
        let stream = DmaStreamReaderBuilder::new(file)
            .with_start_pos(start)
            .with_end_pos(start + length)
            .with_buffer_size(DMA_READ_BLOCK_BYTES)
            .with_read_ahead(DMA_READ_AHEAD_COUNT)
            .build();
        Ok(ObjectReader {
            stream,
            remaining: length,
        })
    }

    /// Bytes not yet returned.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// The next piece of the range; empty at the end.
    pub async fn next_block(&mut self) -> io::Result<ReadResult> {
        let want = self.remaining.min(DMA_READ_BLOCK_BYTES as u64);
        let block = self
            .stream
            .get_buffer_aligned(want)
            .await
            .map_err(io_error)?;
        if block.is_empty() && want > 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "object file shorter than its metadata",
            ));
        }
        self.remaining -= block.len() as u64;
        Ok(block)
    }

    /// Closes the file.
    pub async fn close(self) {
        let _ = self.stream.close().await;
    }
}
