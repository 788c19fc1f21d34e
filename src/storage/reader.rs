//! Streams a stored object — one file, or the part files of a multipart object in order — over a
//! byte range, a few blocks ahead of the socket, so serving a 5 GiB object costs a few blocks of
//! memory. Each file is read through the page cache or with O_DIRECT, as `read_path` chooses.

use std::collections::VecDeque;
use std::io;
use std::os::fd::AsRawFd;
use std::rc::Rc;

use futures_lite::FutureExt;
use glommio::io::{BufferedFile, DmaFile, DmaStreamReader, DmaStreamReaderBuilder, ReadResult};

use super::read_path::{self, ReadPath};
use super::{io_error, FileId, Layout};
use crate::limits::{
    CACHED_READ_AHEAD_COUNT, CACHED_READ_BLOCK_BYTES, DMA_READ_AHEAD_COUNT, DMA_READ_BLOCK_BYTES,
};

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
    file: Option<BufferedFile>,
}

/// A read of `length` bytes at `position`, running on this core's executor.
struct PendingRead {
    position: u64,
    length: u64,
    task: glommio::task::JoinHandle<io::Result<ReadResult>>,
}

/// The file being read, by the path chosen for it.
enum OpenPiece {
    Direct(DirectPiece),
    Cached(CachedPiece),
}

impl OpenPiece {
    async fn next(&mut self, want: u64) -> io::Result<ReadResult> {
        let block = match self {
            OpenPiece::Direct(piece) => piece.next(want).await?,
            OpenPiece::Cached(piece) => piece.next().await?,
        };
        if block.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "object file shorter than its metadata",
            ));
        }
        Ok(block)
    }

    async fn close(self) {
        match self {
            OpenPiece::Direct(piece) => piece.close().await,
            OpenPiece::Cached(piece) => piece.close().await,
        }
    }
}

/// A file read with O_DIRECT: glommio's stream reader (reads ahead), and a way on for whatever
/// the stream leaves unread. The stream takes any short read for the end of the file, and the
/// power-cut VM (`tests/power_cut.rs`) showed the stream coming up short — even empty at offset
/// 0 — shortly after a boot, on ext4 and XFS, for files whose bytes were all there when read
/// again. So once the stream runs dry before the piece's end, the rest is read through the page
/// cache, short reads and all; only a buffered read that returns nothing means the file really
/// is shorter than its metadata. Costs one more descriptor per O_DIRECT read in progress.
struct DirectPiece {
    stream: DmaStreamReader,
    /// The same file opened through the page cache when the read started, kept open so that it
    /// reads the same bytes even if an overwrite unlinks the file meanwhile.
    buffered: BufferedFile,
    /// File offset of the next byte to return.
    position: u64,
    /// The stream came up short: the rest is read from `buffered`.
    stream_dry: bool,
}

impl DirectPiece {
    async fn next(&mut self, want: u64) -> io::Result<ReadResult> {
        let want = want.min(DMA_READ_BLOCK_BYTES as u64);
        if !self.stream_dry {
            let block = self
                .stream
                .get_buffer_aligned(want)
                .await
                .map_err(io_error)?;
            if !block.is_empty() {
                self.position += block.len() as u64;
                return Ok(block);
            }
            self.stream_dry = true;
            let file_size = self.buffered.file_size().await.map_err(io_error)?;
            tracing::warn!(
                path = ?self.buffered.path(),
                position = self.position,
                file_size,
                "an O_DIRECT read came up short; reading on through the page cache"
            );
        }
        let block = self
            .buffered
            .read_at(self.position, want as usize)
            .await
            .map_err(io_error)?;
        self.position += block.len() as u64;
        Ok(block)
    }

    async fn close(self) {
        let _ = self.buffered.close().await;
        let _ = self.stream.close().await;
    }
}

/// A file read through the page cache: its reads in flight (oldest first) and where the next
/// one starts.
struct CachedPiece {
    file: Rc<BufferedFile>,
    in_flight: VecDeque<PendingRead>,
    next_position: u64,
    end: u64,
}

impl CachedPiece {
    /// Starts reads until `CACHED_READ_AHEAD_COUNT + 1` are in flight or the piece is covered.
    fn fill(&mut self) {
        while self.in_flight.len() <= CACHED_READ_AHEAD_COUNT && self.next_position < self.end {
            let length = (self.end - self.next_position).min(CACHED_READ_BLOCK_BYTES as u64);
            self.in_flight
                .push_back(self.start_read(self.next_position, length));
            self.next_position += length;
        }
    }

    fn start_read(&self, position: u64, length: u64) -> PendingRead {
        let file = self.file.clone();
        let task = glommio::spawn_local(async move {
            file.read_at(position, length as usize)
                .await
                .map_err(io_error)
        })
        .detach();
        PendingRead {
            position,
            length,
            task,
        }
    }

    /// The next block in order; a short read's remainder is read next.
    async fn next(&mut self) -> io::Result<ReadResult> {
        self.fill();
        let read = self
            .in_flight
            .pop_front()
            .expect("a piece with bytes left has a read in flight");
        let block = read
            .task
            .await
            .unwrap_or_else(|| Err(io::Error::new(io::ErrorKind::Interrupted, "read cancelled")))?;
        let got = block.len() as u64;
        if got > 0 && got < read.length {
            let rest = self.start_read(read.position + got, read.length - got);
            self.in_flight.push_front(rest);
        }
        Ok(block)
    }

    async fn close(self) {
        for read in self.in_flight {
            read.task.cancel();
        }
        if let Ok(file) = Rc::try_unwrap(self.file) {
            let _ = file.close().await;
        }
    }
}

/// An object positioned on a byte range.
pub struct ObjectReader {
    layout: Layout,
    /// The block `advance` read last (what `current_block` shows).
    block: Option<ReadResult>,
    pieces: VecDeque<Piece>,
    current: Option<OpenPiece>,
    current_remaining: u64,
    remaining: u64,
}

async fn open_file(layout: &Layout, id: FileId) -> io::Result<BufferedFile> {
    BufferedFile::open(layout.object_path(id))
        .await
        .map_err(io_error)
}

/// Opens `id` again for O_DIRECT reads; `None` if it vanished (unlinked by an overwrite) since
/// the buffered open, whose descriptor still reads the old bytes.
async fn open_direct(layout: &Layout, id: FileId) -> io::Result<Option<DmaFile>> {
    // glommio 0.9's open calls `statfs(path).unwrap()` after `openat`; if the file is unlinked in
    // between, that panics. Catching the unwind keeps the core alive even then.
    let open = std::panic::AssertUnwindSafe(DmaFile::open(layout.object_path(id))).catch_unwind();
    match open.await {
        Ok(Ok(file)) => Ok(Some(file)),
        Ok(Err(error)) => {
            let error = io_error(error);
            if error.kind() == io::ErrorKind::NotFound {
                Ok(None)
            } else {
                Err(error)
            }
        }
        Err(_) => Ok(None),
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
            block: None,
            pieces,
            current: None,
            current_remaining: 0,
            remaining: length,
        })
    }

    /// Bytes not yet returned.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    async fn advance_piece(&mut self) -> io::Result<()> {
        if let Some(open) = self.current.take() {
            open.close().await;
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
        let path = read_path::choose(piece.id, file.as_raw_fd(), piece.start, piece.length);
        let direct = match path {
            ReadPath::Direct => open_direct(&self.layout, piece.id).await?,
            ReadPath::Cached => None,
        };
        self.current = Some(match direct {
            Some(direct) => OpenPiece::Direct(DirectPiece {
                stream: DmaStreamReaderBuilder::new(direct)
                    .with_start_pos(piece.start)
                    .with_end_pos(piece.start + piece.length)
                    .with_buffer_size(DMA_READ_BLOCK_BYTES)
                    .with_read_ahead(DMA_READ_AHEAD_COUNT)
                    .build(),
                buffered: file,
                position: piece.start,
                stream_dry: false,
            }),
            None => OpenPiece::Cached(CachedPiece {
                file: Rc::new(file),
                in_flight: VecDeque::new(),
                next_position: piece.start,
                end: piece.start + piece.length,
            }),
        });
        self.current_remaining = piece.length;
        Ok(())
    }

    /// The next piece of the range; empty at the end.
    pub async fn next_block(&mut self) -> io::Result<ReadResult> {
        while self.current_remaining == 0 && self.remaining > 0 {
            self.advance_piece().await?;
        }
        let block = self
            .current
            .as_mut()
            .expect("a piece is open while bytes remain")
            .next(self.current_remaining)
            .await?;
        self.current_remaining -= block.len() as u64;
        self.remaining -= block.len() as u64;
        Ok(block)
    }

    /// Reads the next block into the reader (see `current_block`); the previous one is released.
    pub async fn advance(&mut self) -> io::Result<()> {
        self.block = None;
        self.block = Some(self.next_block().await?);
        Ok(())
    }

    /// The block the last `advance` read (empty before the first).
    pub fn current_block(&self) -> &[u8] {
        self.block.as_deref().unwrap_or_default()
    }

    /// Closes the open file.
    pub async fn close(mut self) {
        self.block = None;
        if let Some(open) = self.current.take() {
            open.close().await;
        }
    }
}
