//! Remote tiers (issue 24): object bytes moved from local disk to AWS S3, an S3-compatible
//! cluster, Azure Blob or GCS, and read back from there. Every write still lands on local disk
//! as before; the mover (`mover`) later uploads a version's files, switches the version to its
//! remote copy in one metadata commit, and only then removes the files. The cloud protocols are
//! `object_store`'s, on a tokio runtime that runs only on the tier threads (`thread`); a core
//! reaches them through a bounded queue (`TierClient`) and receives a read as chunks over a
//! bounded channel (`RemoteRead`), so it never polls or blocks on that runtime.

pub mod chunk_pool;
pub mod connect;
pub mod fence;
pub mod local_read;
pub mod metadata_shipping;
pub mod mover;
pub mod options;
pub mod read_cache;
pub mod reads;
pub mod reconciler;
pub mod spec;
pub mod thread;
pub mod tiers;
pub mod upload;

use std::cell::RefCell;
use std::io;

use bytes::Bytes;
use futures_channel::{mpsc, oneshot};
use futures_lite::StreamExt;

use crate::object_bytes::RemoteObject;
pub use spec::{TierLocation, TierSpec};

/// Why a remote read could not start.
#[derive(Debug, thiserror::Error)]
pub enum TierError {
    /// The tier's queue is full: too many reads at once (S3's SlowDown).
    #[error("tier queue full")]
    Busy,
    /// The tier threads stopped.
    #[error("tier threads stopped")]
    Closed,
    /// The version names a tier this server was not started with.
    #[error("tier {0} is not configured (--tier)")]
    UnknownTier(String),
    /// The tier answered with an error (or could not be reached) after its retries.
    #[error("tier {tier}: {message}")]
    Upstream {
        /// The tier.
        tier: String,
        /// object_store's account of it.
        message: String,
    },
}

/// A core's request to the tier threads.
pub enum TierRequest {
    /// Stream bytes `start..start + length` (length > 0) of `object`.
    Read {
        /// The object.
        object: RemoteObject,
        /// First byte.
        start: u64,
        /// Bytes wanted.
        length: u64,
        /// The whole object's size, in bytes (a read cache fill downloads it whole).
        size_bytes: u64,
        /// Where the opened stream (or why it did not open) goes.
        reply: oneshot::Sender<Result<mpsc::Receiver<io::Result<Bytes>>, TierError>>,
    },
}

/// What a core holds to reach the tier threads.
pub struct TierClient {
    // A core's own sender (futures' `try_send` takes `&mut`); never borrowed across an await.
    sender: RefCell<mpsc::Sender<TierRequest>>,
}

impl TierClient {
    /// A client sending on `sender`.
    pub fn new(sender: mpsc::Sender<TierRequest>) -> Self {
        TierClient {
            sender: RefCell::new(sender),
        }
    }

    /// Opens bytes `start..start + length` of `object` (`size_bytes` long in all) for
    /// streaming: resolves once the tier answered the request's head (or the read cache opened
    /// its copy), so an unreachable tier or a missing object fails the request before any byte
    /// of the answer is sent.
    pub async fn open(
        &self,
        object: &RemoteObject,
        start: u64,
        length: u64,
        size_bytes: u64,
    ) -> Result<RemoteRead, TierError> {
        if length == 0 {
            let (_, receiver) = mpsc::channel(0);
            return Ok(RemoteRead::new(receiver, 0));
        }
        let (reply, answer) = oneshot::channel();
        let request = TierRequest::Read {
            object: object.clone(),
            start,
            length,
            size_bytes,
            reply,
        };
        self.sender
            .borrow_mut()
            .try_send(request)
            .map_err(|error| {
                if error.is_full() {
                    TierError::Busy
                } else {
                    TierError::Closed
                }
            })?;
        let chunks = answer.await.map_err(|_| TierError::Closed)??;
        Ok(RemoteRead::new(chunks, length))
    }
}

/// A remote object's bytes arriving from the tier threads, chunk by chunk (at most
/// `TIER_READ_CHUNKS_PER_STREAM` pooled chunks per stream: bounded memory per stream).
pub struct RemoteRead {
    chunks: mpsc::Receiver<io::Result<Bytes>>,
    remaining: u64,
    block: Bytes,
}

impl RemoteRead {
    fn new(chunks: mpsc::Receiver<io::Result<Bytes>>, length: u64) -> Self {
        RemoteRead {
            chunks,
            remaining: length,
            block: Bytes::new(),
        }
    }

    /// Bytes not yet received.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Receives the next chunk into `block`. An error, a stream that ends early or one that
    /// gives more than was asked is an error (the answer's length was announced already).
    pub async fn advance(&mut self) -> io::Result<()> {
        self.block = self.receive().await?;
        Ok(())
    }

    /// The next chunk, checked against the length asked for.
    async fn receive(&mut self) -> io::Result<Bytes> {
        let chunk = match self.chunks.next().await {
            Some(chunk) => chunk?,
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("remote object ended {} bytes early", self.remaining),
                ))
            }
        };
        if chunk.len() as u64 > self.remaining {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "remote object longer than its recorded size",
            ));
        }
        self.remaining -= chunk.len() as u64;
        Ok(chunk)
    }

    /// The chunk the last `advance` received.
    pub fn current_block(&self) -> &[u8] {
        &self.block
    }
}

/// An encrypted version's stored bytes from its tier, decrypted on the core
/// (`DecryptingReader::open_remote`).
impl crate::storage::decrypting_reader::ChunkSource for RemoteRead {
    fn remaining(&self) -> u64 {
        self.remaining
    }

    fn next_chunk(
        &mut self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = io::Result<Bytes>> + '_>> {
        Box::pin(self.receive())
    }
}
