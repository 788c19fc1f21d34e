//! Streams a stored object — one file, or the part files of a multipart object in order — over a
//! byte range, in DMA blocks with read-ahead, so serving a 5 GiB object costs a few blocks of memory.

use std::collections::VecDeque;
use std::io;

use futures_lite::FutureExt;
use glommio::io::{DmaFile, DmaStreamReader, DmaStreamReaderBuilder, ReadResult};

use super::{io_error, FileId, Layout};
use crate::limits::{DMA_READ_AHEAD_COUNT, DMA_READ_BLOCK_BYTES};

/// Part files opened when a read starts; a GET that began before an overwrite keeps reading the
/// old parts even after they are unlinked. Objects with more parts open the rest as they go.
const SEGMENTS_OPENED_EAGERLY_MAX: usize = 128;

/// One file of an object and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// The file.
    pub id: FileId,
    /// Its size in bytes.
    pub size_bytes: u64,
}

/// The piece of one file a read covers.
struct Piece {
    id: FileId,
    start: u64,
    length: u64,
    file: Option<DmaFile>,
}

/// An object positioned on a byte range.
pub struct ObjectReader {
    layout: Layout,
    pieces: VecDeque<Piece>,
    stream: Option<DmaStreamReader>,
    current_remaining: u64,
    remaining: u64,
}

async fn open_file(layout: &Layout, id: FileId) -> io::Result<DmaFile> {
    // glommio 0.9's open calls `statfs(path).unwrap()` after `openat`; if the file is unlinked in
    // between, that panics. Deferred unlinks make this practically impossible; catching the unwind
    // keeps the core alive even then (the request gets NotFound and retries).
    let open = std::panic::AssertUnwindSafe(DmaFile::open(layout.object_path(id))).catch_unwind();
    match open.await {
        Ok(result) => result.map_err(io_error),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::NotFound,
            "object file vanished while opening",
        )),
    }
}

impl ObjectReader {
    /// Opens a single-file object for bytes `start..start + length`.
    pub async fn open(layout: &Layout, id: FileId, start: u64, length: u64) -> io::Result<Self> {
        Self::open_segments(
            layout,
            &[Segment {
                id,
                size_bytes: start + length,
            }],
            start,
            length,
        )
        .await
    }

    /// Opens the object made of `segments` (in order) for bytes `start..start + length`.
    /// `NotFound` means a file was replaced or deleted since the metadata was read.
    pub async fn open_segments(
        layout: &Layout,
        segments: &[Segment],
        start: u64,
        length: u64,
    ) -> io::Result<Self> {
        let mut pieces = VecDeque::new();
        let mut offset = 0u64;
        let end = start + length;
        for segment in segments {
            let segment_end = offset + segment.size_bytes;
            if segment_end > start && offset < end {
                let piece_start = start.max(offset) - offset;
                let piece_end = end.min(segment_end) - offset;
                pieces.push_back(Piece {
                    id: segment.id,
                    start: piece_start,
                    length: piece_end - piece_start,
                    file: None,
                });
            }
            offset = segment_end;
        }
        for piece in pieces.iter_mut().take(SEGMENTS_OPENED_EAGERLY_MAX) {
            piece.file = Some(open_file(layout, piece.id).await?);
        }
        Ok(ObjectReader {
            layout: layout.clone(),
            pieces,
            stream: None,
            current_remaining: 0,
            remaining: length,
        })
    }

    /// Bytes not yet returned.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    async fn advance_piece(&mut self) -> io::Result<()> {
        if let Some(stream) = self.stream.take() {
            let _ = stream.close().await;
        }
        let piece = self.pieces.pop_front().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "object shorter than its metadata",
            )
        })?;
        let file = match piece.file {
            Some(file) => file,
            None => open_file(&self.layout, piece.id).await?,
        };
        self.stream = Some(
            DmaStreamReaderBuilder::new(file)
                .with_start_pos(piece.start)
                .with_end_pos(piece.start + piece.length)
                .with_buffer_size(DMA_READ_BLOCK_BYTES)
                .with_read_ahead(DMA_READ_AHEAD_COUNT)
                .build(),
        );
        self.current_remaining = piece.length;
        Ok(())
    }

    /// The next piece of the range; empty at the end.
    pub async fn next_block(&mut self) -> io::Result<ReadResult> {
        while self.current_remaining == 0 && self.remaining > 0 {
            self.advance_piece().await?;
        }
        let want = self.current_remaining.min(DMA_READ_BLOCK_BYTES as u64);
        let stream = self
            .stream
            .as_mut()
            .expect("a piece is open while bytes remain");
        let block = stream.get_buffer_aligned(want).await.map_err(io_error)?;
        if block.is_empty() && want > 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "object file shorter than its metadata",
            ));
        }
        self.current_remaining -= block.len() as u64;
        self.remaining -= block.len() as u64;
        Ok(block)
    }

    /// Closes the open file.
    pub async fn close(mut self) {
        if let Some(stream) = self.stream.take() {
            let _ = stream.close().await;
        }
    }
}
