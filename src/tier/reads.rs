//! The cores' remote reads, served on the tier threads: from the read cache when it holds the
//! object whole (`read_cache`), else streamed from the tier. With the cache on, a miss also
//! fills it: a whole-object read is written to the cache as it is forwarded, a range read starts
//! a background download of the whole object (at most `TIER_CACHE_FILLS_MAX` fills at once).
//! Every stream reaches its core in chunks of a `ChunkPool` of its own, at most
//! `TIER_READ_CHUNKS_PER_STREAM` of `TIER_READ_CHUNK_BYTES` (of `TIER_CACHE_IO_BYTES` from the
//! cache), so memory per stream is fixed whatever the client's pace.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use futures_channel::{mpsc, oneshot};
use futures_lite::StreamExt;
use object_store::{GetOptions, GetRange};
use tokio::io::AsyncWriteExt;

use super::chunk_pool::ChunkPool;
use super::read_cache::{Fill, ReadCache};
use super::tiers::{upstream, Tiers};
use super::TierError;
use crate::limits::{
    TIER_CACHE_FILLS_MAX, TIER_CACHE_IO_BYTES, TIER_READ_CHUNKS_PER_STREAM, TIER_READ_CHUNK_BYTES,
};
use crate::object_bytes::RemoteObject;

/// What an opened read hands its core: the chunks, or why it did not open.
pub type ReadReply = oneshot::Sender<Result<mpsc::Receiver<io::Result<Bytes>>, TierError>>;

/// One core's read: bytes `start..start + length` of `object`, `size_bytes` long in all.
pub struct ReadRequest {
    /// The object.
    pub object: RemoteObject,
    /// First byte.
    pub start: u64,
    /// Bytes wanted (more than 0).
    pub length: u64,
    /// The whole object's size, in bytes (what a cache fill downloads).
    pub size_bytes: u64,
}

/// The tiers, the read cache (if on) and the fills' limit.
pub struct Reads {
    tiers: Arc<Tiers>,
    cache: Option<Arc<ReadCache>>,
    fills: Arc<tokio::sync::Semaphore>,
}

/// A fill and its place among the `TIER_CACHE_FILLS_MAX`.
struct FillSlot {
    fill: Fill,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Reads {
    /// Reads of `tiers`, cached in `cache` if given.
    pub fn new(tiers: Arc<Tiers>, cache: Option<Arc<ReadCache>>) -> Self {
        Reads {
            tiers,
            cache,
            fills: Arc::new(tokio::sync::Semaphore::new(TIER_CACHE_FILLS_MAX)),
        }
    }

    /// Serves `request`: answers `reply` once the bytes are ready to flow (the tier answered the
    /// request's head, or the cached copy opened), then forwards them until the end, a failure,
    /// or the core stops reading.
    pub async fn serve(&self, request: ReadRequest, reply: ReadReply) {
        // The pool bounds what a stream holds; the channel only hands its chunks over.
        let (sender, receiver) = mpsc::channel(TIER_READ_CHUNKS_PER_STREAM);
        if let Some(copy) = self
            .cache
            .as_ref()
            .and_then(|cache| cache.open_copy(&request.object))
        {
            if reply.send(Ok(receiver)).is_ok() {
                let mut pool = ChunkPool::new(TIER_READ_CHUNKS_PER_STREAM, TIER_CACHE_IO_BYTES);
                forward_copy(copy, request.start, request.length, sender, &mut pool).await;
                // Chunks still on their way out of the core are freed on this runtime, not there.
                tokio::spawn(pool.reclaim());
            }
            return;
        }
        let fill = self.start_fill(&request);
        let range = request.start..request.start + request.length;
        let stream = match open_upstream(&self.tiers, &request.object, range).await {
            Ok(stream) => stream,
            Err(error) => {
                let _ = reply.send(Err(error));
                return;
            }
        };
        if reply.send(Ok(receiver)).is_err() {
            return;
        }
        let whole = request.start == 0 && request.length == request.size_bytes;
        let tee = match fill {
            Some(slot) if whole => Some(CacheWriter::create(slot).await),
            Some(slot) => {
                tokio::spawn(fill_in_background(
                    self.tiers.clone(),
                    request.object.clone(),
                    slot,
                ));
                None
            }
            None => None,
        };
        let mut pool = ChunkPool::new(TIER_READ_CHUNKS_PER_STREAM, TIER_READ_CHUNK_BYTES);
        forward(stream, sender, &request.object, tee.flatten(), &mut pool).await;
        tokio::spawn(pool.reclaim());
    }

    /// A fill of the requested object, if the cache is on, has a free fill slot and takes it.
    fn start_fill(&self, request: &ReadRequest) -> Option<FillSlot> {
        let cache = self.cache.as_ref()?;
        let permit = self.fills.clone().try_acquire_owned().ok()?;
        let fill = cache.start_fill(&request.object, request.size_bytes)?;
        Some(FillSlot {
            fill,
            _permit: permit,
        })
    }
}

/// A remote object's byte stream.
type Upstream = futures_lite::stream::Boxed<Result<Bytes, object_store::Error>>;

/// Asks the tier for `range` of `object`; its answer's head has arrived when this returns.
async fn open_upstream(
    tiers: &Tiers,
    object: &RemoteObject,
    range: std::ops::Range<u64>,
) -> Result<Upstream, TierError> {
    let (tier, path) = tiers.locate(object)?;
    let options = GetOptions {
        range: Some(GetRange::Bounded(range)),
        ..GetOptions::default()
    };
    let result = tier
        .store
        .get_opts(&path, options)
        .await
        .map_err(|error| upstream(&object.tier, &error))?;
    Ok(result.into_stream().boxed())
}

/// Sends `chunk` once the core made room; false if the core stopped reading.
async fn send(sender: &mut mpsc::Sender<io::Result<Bytes>>, chunk: io::Result<Bytes>) -> bool {
    futures_lite::future::poll_fn(|context| sender.poll_ready(context))
        .await
        .is_ok()
        && sender.start_send(chunk).is_ok()
}

/// Forwards the stream's bytes (writing them to `tee` too, if given) until it ends, fails, or
/// the core stops reading. They are copied into the stream's own pooled chunks: the HTTP client
/// hands out slices of its read buffers (up to ~400 KiB each), and a slice held in the channel
/// would keep its whole buffer alive (16 parallel reads measured 86–93 MiB of peak RSS without
/// the copy, 69–79 MiB with fresh chunks: tests/tier_memory.rs).
async fn forward(
    mut stream: Upstream,
    mut sender: mpsc::Sender<io::Result<Bytes>>,
    object: &RemoteObject,
    mut tee: Option<CacheWriter>,
    pool: &mut ChunkPool,
) {
    let mut pending: Option<Vec<u8>> = None;
    while let Some(chunk) = stream.next().await {
        let bytes = match chunk {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::error!(tier = %object.tier, object_id = %object.object_id, error = %error, "remote read broke off");
                let _ = send(&mut sender, Err(io::Error::other(error.to_string()))).await;
                return;
            }
        };
        if let Some(writer) = &mut tee {
            if writer.write(&bytes).await.is_err() {
                tee = None; // the cache is not worth failing a read for
            }
        }
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let buffer = match &mut pending {
                Some(buffer) => buffer,
                None => {
                    let mut buffer = pool.take().await;
                    buffer.clear();
                    pending.insert(buffer)
                }
            };
            let take = rest.len().min(TIER_READ_CHUNK_BYTES - buffer.len());
            buffer.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if buffer.len() == TIER_READ_CHUNK_BYTES {
                let full = pool.seal(pending.take().expect("the buffer just filled"));
                if !send(&mut sender, Ok(full)).await {
                    return;
                }
            }
        }
    }
    if let Some(last) = pending.take() {
        if !send(&mut sender, Ok(pool.seal(last))).await {
            return;
        }
    }
    if let Some(writer) = tee {
        writer.complete(object).await;
    }
}

/// Forwards bytes `start..start + length` of a cached copy, `TIER_CACHE_IO_BYTES` at a time in
/// the stream's pooled chunks.
async fn forward_copy(
    copy: std::fs::File,
    start: u64,
    length: u64,
    mut sender: mpsc::Sender<io::Result<Bytes>>,
    pool: &mut ChunkPool,
) {
    let copy = Arc::new(copy);
    let mut offset = start;
    let end = start + length;
    while offset < end {
        let count = (end - offset).min(TIER_CACHE_IO_BYTES as u64) as usize;
        let mut buffer = pool.take().await;
        let file = copy.clone();
        let read_at = offset;
        let read = tokio::task::spawn_blocking(move || {
            use std::os::unix::fs::FileExt;
            // A buffer back from the pool is at its last length: only growth is zeroed.
            buffer.resize(count, 0);
            file.read_exact_at(&mut buffer, read_at).map(|()| buffer)
        })
        .await
        .unwrap_or_else(|error| Err(io::Error::other(error.to_string())));
        let failed = read.is_err();
        if !send(&mut sender, read.map(|buffer| pool.seal(buffer))).await || failed {
            return;
        }
        offset += count as u64;
    }
}

/// Downloads `object` whole into its fill, then completes it; a failure only abandons the fill.
async fn fill_in_background(tiers: Arc<Tiers>, object: RemoteObject, slot: FillSlot) {
    let size_bytes = slot.fill.size_bytes();
    let Some(mut writer) = CacheWriter::create(slot).await else {
        return;
    };
    let Ok(mut stream) = open_upstream(&tiers, &object, 0..size_bytes).await else {
        return;
    };
    while let Some(chunk) = stream.next().await {
        let Ok(bytes) = chunk else {
            return;
        };
        if writer.write(&bytes).await.is_err() {
            return;
        }
    }
    writer.complete(&object).await;
}

/// A fill's file being written.
struct CacheWriter {
    file: tokio::io::BufWriter<tokio::fs::File>,
    written_bytes: u64,
    slot: FillSlot,
}

impl CacheWriter {
    /// Creates the fill's file; `None` (the fill abandoned) if it cannot be.
    async fn create(slot: FillSlot) -> Option<Self> {
        let file = tokio::fs::File::create(slot.fill.temp_path()).await.ok()?;
        Some(CacheWriter {
            file: tokio::io::BufWriter::with_capacity(TIER_CACHE_IO_BYTES, file),
            written_bytes: 0,
            slot,
        })
    }

    async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.written_bytes += bytes.len() as u64;
        if self.written_bytes > self.slot.fill.size_bytes() {
            return Err(io::Error::other("longer than the object"));
        }
        self.file.write_all(bytes).await
    }

    /// Makes the copy an entry if every byte arrived and reached the file.
    async fn complete(mut self, object: &RemoteObject) {
        if self.written_bytes != self.slot.fill.size_bytes() || self.file.flush().await.is_err() {
            return;
        }
        let fill = self.slot.fill;
        match tokio::task::spawn_blocking(move || fill.complete()).await {
            Ok(Ok(())) => {
                tracing::debug!(tier = %object.tier, object_id = %object.object_id, "remote object cached")
            }
            Ok(Err(error)) => {
                tracing::warn!(tier = %object.tier, object_id = %object.object_id, error = %error, "remote object not cached")
            }
            Err(_) => {}
        }
    }
}
