//! Why a request body could not be read (shared by the body reader and the chunked decoder).

use std::io;

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The connection ended before the declared body did.
    #[error("body ended early")]
    Incomplete,
    /// The client stopped sending for longer than the stall limit.
    #[error("body read timed out")]
    Timeout,
    /// Chunk framing was invalid.
    #[error("malformed body: {0}")]
    Malformed(&'static str),
    /// An aws-chunked chunk signature did not verify.
    #[error("chunk signature mismatch")]
    ChunkSignature,
    /// The body is larger than the operation allows.
    #[error("body too large")]
    TooLarge,
    /// Socket error.
    #[error("socket: {0}")]
    Io(#[from] io::Error),
}
