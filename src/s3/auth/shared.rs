//! What both signature versions share: the outcome of authentication (`AuthContext`, the
//! payload mode and chunk-signing state), the request facts verification reads, and the error and
//! date helpers both answer with.

use crate::http::RequestHead;
use crate::limits::REQUEST_TIME_SKEW_MAX_SECONDS;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};

/// How the body must be verified, from `x-amz-content-sha256`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadMode {
    /// `UNSIGNED-PAYLOAD`: nothing to check (checksums still are, if sent).
    Unsigned,
    /// The hex SHA-256 of the whole body, checked before the object becomes visible.
    Sha256([u8; 32]),
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`: aws-chunked with chunk signatures.
    StreamingSigned {
        /// Whether trailing headers (and a trailer signature) follow the last chunk.
        trailer: bool,
    },
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: aws-chunked, unsigned chunks, trailing checksum.
    StreamingUnsignedTrailer,
}

impl PayloadMode {
    /// Whether the body is aws-chunked.
    pub fn is_aws_chunked(&self) -> bool {
        matches!(
            self,
            PayloadMode::StreamingSigned { .. } | PayloadMode::StreamingUnsignedTrailer
        )
    }
}

/// What a streaming-signed body needs to verify its chunks.
#[derive(Debug, Clone)]
pub struct ChunkSigning {
    /// The derived signing key.
    pub signing_key: [u8; 32],
    /// `x-amz-date` of the request.
    pub amz_date: String,
    /// Credential scope.
    pub scope: String,
    /// The request's own signature, which the first chunk chains from.
    pub seed_signature: String,
}

/// The result of authentication.
#[derive(Debug, Clone)]
pub struct AuthContext {
    /// Who signed.
    pub access_key: String,
    /// How to check the body.
    pub payload: PayloadMode,
    /// Chunk-signature state for streaming-signed bodies.
    pub chunk_signing: Option<ChunkSigning>,
}

impl AuthContext {
    /// An unsigned request: nobody signed it, and its body is taken as sent.
    pub fn anonymous() -> Self {
        AuthContext {
            access_key: String::new(),
            payload: PayloadMode::Unsigned,
            chunk_signing: None,
        }
    }
}

/// Request facts verification needs besides the head.
pub struct VerifyInput<'a> {
    /// The request head.
    pub head: &'a RequestHead,
    /// Decoded path (`/bucket/key`), re-encoded here for the canonical URI.
    pub decoded_path: &'a str,
    /// Decoded query pairs.
    pub query: &'a crate::s3::path::QueryPairs,
    /// The bucket named by the Host header (virtual-hosted style), which SigV2's canonicalized
    /// resource puts in front of the path.
    pub virtual_host_bucket: Option<&'a str>,
    /// The request addresses a bucket and no key (SigV2 signers write its resource as
    /// `/bucket/` whatever the path: botocore sends `/bucket` and signs `/bucket/`).
    pub bucket_only: bool,
    /// The server's region.
    pub region: &'a str,
    /// Accept any well-formed scope region (`--region-any`).
    pub region_any: bool,
    /// Current time, seconds since the Unix epoch.
    pub now_seconds: i64,
}

pub(super) fn malformed(message: impl Into<String>) -> S3Error {
    S3Error::with_message(S3ErrorCode::AuthorizationHeaderMalformed, message.into())
}

/// RequestTimeTooSkewed with S3's fields: the request's time as sent, the server's, and the
/// window.
pub(super) fn too_skewed(request_time: &str, now_seconds: i64) -> S3Error {
    S3Error::new(S3ErrorCode::RequestTimeTooSkewed)
        .field("RequestTime", request_time.to_string())
        .field("ServerTime", crate::s3::time::iso8601(now_seconds * 1000))
        .field(
            "MaxAllowedSkewMilliseconds",
            (REQUEST_TIME_SKEW_MAX_SECONDS * 1000).to_string(),
        )
}

/// `x-amz-content-sha256` as a payload mode; InvalidArgument for anything else.
pub(super) fn parse_payload_mode(value: &str) -> S3Result<PayloadMode> {
    Ok(match value {
        "UNSIGNED-PAYLOAD" => PayloadMode::Unsigned,
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" => PayloadMode::StreamingSigned { trailer: false },
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" => {
            PayloadMode::StreamingSigned { trailer: true }
        }
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER" => PayloadMode::StreamingUnsignedTrailer,
        hash => {
            let mut digest = [0u8; 32];
            if hash.len() != 64 || hex::decode_to_slice(hash, &mut digest).is_err() {
                return Err(S3Error::with_message(
                    S3ErrorCode::InvalidArgument,
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.",
                ));
            }
            PayloadMode::Sha256(digest)
        }
    })
}

/// A string's bytes as S3's `*Bytes` error fields write them: two hex digits each, space-separated.
pub(super) fn hex_bytes(text: &str) -> String {
    text.bytes()
        .map(|byte| format!("{byte:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses an HTTP date (RFC 7231), also with the numeric `-0000`/`+0000` zone Python's
/// `email.utils.formatdate` writes.
pub(super) fn parse_http_date(text: &str) -> Option<i64> {
    let text = text.trim();
    let normalized = text
        .strip_suffix("-0000")
        .or_else(|| text.strip_suffix("+0000"))
        .map(|prefix| format!("{prefix}GMT"));
    let time = httpdate::parse_http_date(normalized.as_deref().unwrap_or(text)).ok()?;
    let seconds = time.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(seconds).ok()
}
