//! Object bytes on local disk: layout by internal id, the durable `ObjectWriter`, the streaming
//! reader, small objects kept in memory for an inline row, and startup recovery. Knows nothing of S3 or HTTP.

pub mod anonymous_memory;
pub mod capacity;
pub mod checksum;
pub mod data_dir_lock;
pub mod decrypting_reader;
pub mod encryption;
pub mod io_priority;
pub mod layout;
pub mod object_dirs;
pub mod preallocation;
pub mod read_path;
pub mod reader;
pub mod recovery;
pub mod remover;
pub mod writer;

use std::io;

pub use crate::object_bytes::{FileId, InlineBytes, StoredBytes};
pub use layout::Layout;
pub use reader::{ObjectReader, Segment};
pub use remover::FileRemover;
pub use writer::{ObjectWriter, Placement, PublishedObject, SealedObject};

/// Why storing or reading object bytes failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The filesystem is full (ENOSPC) or over quota (EDQUOT).
    #[error("disk full")]
    DiskFull,
    /// A write or fsync failed earlier; this writer will not be retried.
    #[error("writer poisoned by an earlier failure")]
    Poisoned,
    /// Any other I/O failure.
    #[error("io: {0}")]
    Io(io::Error),
}

impl From<io::Error> for StorageError {
    fn from(error: io::Error) -> Self {
        match error.raw_os_error() {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) => StorageError::DiskFull,
            _ if matches!(
                error.kind(),
                io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
            ) =>
            {
                StorageError::DiskFull
            }
            _ => StorageError::Io(error),
        }
    }
}

/// Converts a glommio error into the `io::Error` it carries, keeping the OS error kind.
pub fn io_error<T>(error: glommio::GlommioError<T>) -> io::Error {
    match error {
        glommio::GlommioError::IoError(error) => error,
        glommio::GlommioError::EnhancedIoError { source, .. } => source,
        other => io::Error::from(other),
    }
}

impl From<glommio::GlommioError<()>> for StorageError {
    fn from(error: glommio::GlommioError<()>) -> Self {
        StorageError::from(io_error(error))
    }
}

/// Checks the data dir takes a durable write: creates, fsyncs and removes a probe file in `tmp/`.
pub async fn probe_writable(layout: &Layout) -> std::io::Result<()> {
    let path = layout
        .temp_dir()
        .join(format!("probe-{}.tmp", FileId::random()));
    let file = glommio::io::OpenOptions::new()
        .write(true)
        .create_new(true)
        .dma_open(&path)
        .await
        .map_err(io_error)?;
    let synced = file.fdatasync().await.map_err(io_error);
    let _ = file.close().await;
    let removed = glommio::io::remove(&path).await.map_err(io_error);
    synced.and(removed)
}
