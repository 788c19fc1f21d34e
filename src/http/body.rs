//! Streaming request bodies: a bounded read buffer and a reader that de-frames Content-Length and
//! chunked bodies straight into the caller's buffer, sending `100 Continue` on first read.

use std::io;

use futures_lite::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::http::body_error::BodyError;
use crate::http::chunked::{ChunkEvent, ChunkedDecoder};
use crate::http::head::BodyFraming;

/// A byte stream a request arrives on and its response leaves by.
pub trait Transport: futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin {}
impl<T: futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin> Transport for T {}

/// A connection's receive buffer: bytes in `start..end` are received and not yet used. It stays
/// small while the connection idles and grows to its full size for large heads and bodies.
#[derive(Debug)]
pub struct ReadBuffer {
    bytes: Vec<u8>,
    start: usize,
    end: usize,
    capacity_max: usize,
    capacity_idle: usize,
}

impl ReadBuffer {
    /// A buffer of `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        Self::with_idle_capacity(capacity, capacity)
    }

    /// A buffer that holds `capacity_idle` bytes while idle and grows to `capacity_max`.
    pub fn with_idle_capacity(capacity_max: usize, capacity_idle: usize) -> Self {
        assert!(capacity_idle > 0 && capacity_idle <= capacity_max);
        ReadBuffer {
            bytes: vec![0; capacity_idle],
            start: 0,
            end: 0,
            capacity_max,
            capacity_idle,
        }
    }

    /// Received, unused bytes.
    pub fn data(&self) -> &[u8] {
        &self.bytes[self.start..self.end]
    }

    /// Marks `count` bytes as used.
    pub fn consume(&mut self, count: usize) {
        assert!(count <= self.end - self.start);
        self.start += count;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Whether no unused bytes are held.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Reads more bytes from `source` into the full-size buffer, compacting first; returns 0 at
    /// end of stream. The buffer must not be full.
    pub async fn fill(
        &mut self,
        source: &mut (impl AsyncRead + Unpin + ?Sized),
    ) -> io::Result<usize> {
        if self.bytes.len() < self.capacity_max {
            self.bytes.resize(self.capacity_max, 0);
        }
        self.read_into_spare(source).await
    }

    /// Waits for the next request of an idle connection with the small buffer (giving back a
    /// grown one first, since it holds nothing), so idle connections cost little memory.
    pub async fn fill_idle(
        &mut self,
        source: &mut (impl AsyncRead + Unpin + ?Sized),
    ) -> io::Result<usize> {
        if self.is_empty() && self.bytes.len() > self.capacity_idle {
            self.bytes = vec![0; self.capacity_idle];
        }
        self.read_into_spare(source).await
    }

    async fn read_into_spare(
        &mut self,
        source: &mut (impl AsyncRead + Unpin + ?Sized),
    ) -> io::Result<usize> {
        if self.end == self.bytes.len() && self.start > 0 {
            self.bytes.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.bytes.len() && self.bytes.len() < self.capacity_max {
            self.bytes.resize(self.capacity_max, 0);
        }
        assert!(self.end < self.bytes.len(), "fill on a full buffer");
        let count = source.read(&mut self.bytes[self.end..]).await?;
        self.end += count;
        Ok(count)
    }

    /// Whether the unused bytes fill the whole (full-size) buffer.
    pub fn is_full(&self) -> bool {
        self.start == 0 && self.end == self.capacity_max
    }
}

#[derive(Debug)]
enum Framing {
    Length { remaining: u64 },
    Chunked(ChunkedDecoder),
    Done,
}

/// The body of one request, read on demand from the connection.
pub struct RequestBody<'c> {
    transport: &'c mut dyn Transport,
    buffer: &'c mut ReadBuffer,
    framing: Framing,
    declared_length: Option<u64>,
    continue_pending: bool,
    bytes_read: u64,
    /// Trailer fields of a chunked body, once it is complete.
    pub trailers: Vec<(String, String)>,
}

impl<'c> RequestBody<'c> {
    /// A body with `framing`, read through `buffer` from `transport`.
    pub fn new(
        transport: &'c mut dyn Transport,
        buffer: &'c mut ReadBuffer,
        framing: BodyFraming,
        expect_continue: bool,
    ) -> Self {
        let (framing, declared_length) = match framing {
            BodyFraming::Empty => (Framing::Done, Some(0)),
            BodyFraming::Length(length) => (Framing::Length { remaining: length }, Some(length)),
            BodyFraming::Chunked => (Framing::Chunked(ChunkedDecoder::new()), None),
        };
        let continue_pending = expect_continue && !matches!(framing, Framing::Done);
        RequestBody {
            transport,
            buffer,
            framing,
            declared_length,
            continue_pending,
            bytes_read: 0,
            trailers: Vec::new(),
        }
    }

    /// Content-Length, if the body has one.
    pub fn declared_length(&self) -> Option<u64> {
        self.declared_length
    }

    /// Body bytes produced so far (after de-framing).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Whether the whole body has been read.
    pub fn is_complete(&self) -> bool {
        matches!(self.framing, Framing::Done)
    }

    /// Whether the client is still waiting for `100 Continue` (no body byte requested yet).
    pub fn continue_pending(&self) -> bool {
        self.continue_pending
    }

    async fn send_continue(&mut self) -> Result<(), BodyError> {
        if self.continue_pending {
            self.continue_pending = false;
            self.transport
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await?;
            self.transport.flush().await?;
        }
        Ok(())
    }

    /// Reads body bytes into `output`; returns 0 only at the end of the body.
    pub async fn read(&mut self, output: &mut [u8]) -> Result<usize, BodyError> {
        if output.is_empty() || matches!(self.framing, Framing::Done) {
            return Ok(0);
        }
        self.send_continue().await?;
        let count = match &mut self.framing {
            Framing::Done => 0,
            Framing::Length { remaining } => {
                let want = (*remaining).min(output.len() as u64) as usize;
                let count = if !self.buffer.is_empty() {
                    let count = want.min(self.buffer.data().len());
                    output[..count].copy_from_slice(&self.buffer.data()[..count]);
                    self.buffer.consume(count);
                    count
                } else {
                    // Nothing buffered: read from the socket straight into the caller's buffer.
                    let count = self
                        .transport
                        .read(&mut output[..want])
                        .await
                        .map_err(map_read_error)?;
                    if count == 0 {
                        return Err(BodyError::Incomplete);
                    }
                    count
                };
                *remaining -= count as u64;
                if *remaining == 0 {
                    self.framing = Framing::Done;
                }
                count
            }
            Framing::Chunked(decoder) => loop {
                let step = decoder.step(self.buffer.data(), output)?;
                self.buffer.consume(step.consumed);
                if step.event == Some(ChunkEvent::Finished) {
                    self.trailers = std::mem::take(&mut decoder.trailers);
                    self.framing = Framing::Done;
                    break step.produced;
                }
                if step.produced > 0 {
                    break step.produced;
                }
                if step.consumed == 0 {
                    let count = self
                        .buffer
                        .fill(&mut *self.transport)
                        .await
                        .map_err(map_read_error)?;
                    if count == 0 {
                        return Err(BodyError::Incomplete);
                    }
                }
            },
        };
        self.bytes_read += count as u64;
        Ok(count)
    }

    /// Bytes of a Content-Length body not read yet (0 when complete or chunked).
    pub fn unread_length(&self) -> u64 {
        match &self.framing {
            Framing::Length { remaining } => *remaining,
            _ => 0,
        }
    }

    /// Whether the unread rest of the body is known to be at most `bytes_max` and the client is
    /// already sending it (so draining it keeps the connection usable).
    pub fn drainable(&self, bytes_max: u64) -> bool {
        match &self.framing {
            Framing::Done => true,
            Framing::Length { remaining } => !self.continue_pending && *remaining <= bytes_max,
            Framing::Chunked(_) => false,
        }
    }

    /// Reads and discards the rest of the body if it is small; returns whether the connection
    /// can be reused (the body was fully consumed).
    pub async fn drain(&mut self, bytes_max: u64) -> bool {
        if self.is_complete() {
            return true;
        }
        if self.continue_pending {
            // The client has not sent the body and will not until told to; we cannot reuse.
            return false;
        }
        let mut scratch = [0u8; 4096];
        let mut drained = 0u64;
        while !self.is_complete() {
            match self.read(&mut scratch).await {
                Ok(count) => drained += count as u64,
                Err(_) => return false,
            }
            if drained > bytes_max {
                return false;
            }
        }
        true
    }
}

fn map_read_error(error: io::Error) -> BodyError {
    match error.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => BodyError::Timeout,
        _ => BodyError::Io(error),
    }
}
