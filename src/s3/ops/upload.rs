//! Receiving an upload body (PutObject, UploadPart): size limit, streaming into an
//! `ObjectWriter`, then Content-MD5 and CRC32 (header or trailer) checked before anything is published.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::http::RequestHead;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::payload::PayloadReader;
use crate::s3::S3Context;
use crate::storage::writer::ChecksumSet;
use crate::storage::{ObjectWriter, SealedObject};

/// The integrity checks a request asked for.
struct DigestInput {
    content_md5: Option<[u8; 16]>,
    crc32_header: Option<u32>,
    crc32_trailer: bool,
}

/// Decodes a base64 big-endian CRC32 as S3 sends it.
pub fn decode_crc32(text: &str) -> S3Result<u32> {
    let invalid = || {
        S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "Value for x-amz-checksum-crc32 header is invalid.",
        )
    };
    let bytes = BASE64.decode(text.trim()).map_err(|_| invalid())?;
    let bytes = <[u8; 4]>::try_from(bytes.as_slice()).map_err(|_| invalid())?;
    Ok(u32::from_be_bytes(bytes))
}

fn parse_digest_input(head: &RequestHead) -> S3Result<DigestInput> {
    for name in ["content-md5", "x-amz-checksum-crc32", "x-amz-trailer"] {
        if head.header_count(name) > 1 {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                format!("Duplicate header: {name}"),
            ));
        }
    }
    let content_md5 = match head.header("content-md5") {
        Some(text) => {
            let bytes = BASE64
                .decode(text.trim())
                .map_err(|_| S3Error::new(S3ErrorCode::InvalidDigest))?;
            Some(
                <[u8; 16]>::try_from(bytes.as_slice())
                    .map_err(|_| S3Error::new(S3ErrorCode::InvalidDigest))?,
            )
        }
        None => None,
    };
    let crc32_header = head
        .header("x-amz-checksum-crc32")
        .map(decode_crc32)
        .transpose()?;
    for (name, _) in &head.headers {
        if let Some(algorithm) = name.strip_prefix("x-amz-checksum-") {
            if algorithm != "crc32" && algorithm != "type" && algorithm != "mode" {
                return Err(S3Error::with_message(
                    S3ErrorCode::NotImplemented,
                    format!("The {name} checksum is not implemented by ringstore yet; CRC32 is."),
                ));
            }
        }
    }
    let crc32_trailer = match head.header("x-amz-trailer") {
        None => false,
        Some(trailer) if trailer.eq_ignore_ascii_case("x-amz-checksum-crc32") => true,
        Some(trailer) => {
            return Err(S3Error::with_message(
                S3ErrorCode::NotImplemented,
                format!("The trailer {trailer} is not implemented by ringstore yet; x-amz-checksum-crc32 is."),
            ))
        }
    };
    Ok(DigestInput {
        content_md5,
        crc32_header,
        crc32_trailer,
    })
}

/// A body received, made durable as a temp file, and verified.
pub struct ReceivedBody {
    /// The durable temp file.
    pub sealed: SealedObject,
    /// Base64 CRC32 the client sent (and that matched), to store and echo.
    pub crc32: Option<String>,
}

/// Streams the payload into a new temp file and verifies every digest the client sent.
pub async fn receive_payload(
    context: &S3Context,
    head: &RequestHead,
    payload: &mut PayloadReader<'_, '_>,
    bytes_max: u64,
) -> S3Result<ReceivedBody> {
    let input = parse_digest_input(head)?;
    if let Some(length) = payload.object_length() {
        if length > bytes_max {
            return Err(S3Error::new(S3ErrorCode::EntityTooLarge)
                .field("ProposedSize", length.to_string())
                .field("MaxSizeAllowed", bytes_max.to_string()));
        }
    }
    let checksums = ChecksumSet {
        crc32: input.crc32_header.is_some() || input.crc32_trailer,
    };
    let mut writer = ObjectWriter::create(context.layout.clone(), checksums).await?;
    loop {
        let count = payload.read(writer.spare_mut()).await?;
        if count == 0 {
            break;
        }
        writer.advance(count).await?;
        if writer.size_bytes() > bytes_max {
            return Err(S3Error::new(S3ErrorCode::EntityTooLarge));
        }
    }
    let sealed = writer.seal().await?;
    let digests = sealed.digests();
    if let Some(expected) = input.content_md5 {
        if expected != digests.md5 {
            return Err(S3Error::new(S3ErrorCode::BadDigest)
                .field("ExpectedDigest", BASE64.encode(expected))
                .field("CalculatedDigest", BASE64.encode(digests.md5)));
        }
    }
    let expected_crc32 = match (input.crc32_header, input.crc32_trailer) {
        (Some(value), _) => Some(value),
        (None, true) => {
            let trailer = payload
                .trailers()
                .iter()
                .find(|(name, _)| name == "x-amz-checksum-crc32")
                .map(|(_, v)| v.clone());
            let trailer = trailer.ok_or_else(|| {
                S3Error::with_message(
                    S3ErrorCode::InvalidRequest,
                    "The x-amz-checksum-crc32 trailer was declared but not sent.",
                )
            })?;
            Some(decode_crc32(&trailer)?)
        }
        (None, false) => None,
    };
    if let (Some(expected), Some(actual)) = (expected_crc32, digests.crc32) {
        if expected != actual {
            return Err(S3Error::with_message(
                S3ErrorCode::BadDigest,
                "The CRC32 you specified did not match the calculated checksum.",
            ));
        }
    }
    Ok(ReceivedBody {
        sealed,
        crc32: expected_crc32.map(|value| BASE64.encode(value.to_be_bytes())),
    })
}
