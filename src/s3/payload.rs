//! The verified request payload: de-frames aws-chunked bodies while they stream, checks chunk
//! signatures, the whole-body SHA-256 and `x-amz-decoded-content-length`, and hands back trailers.

use sha2::{Digest, Sha256};

use super::auth::shared::{ChunkSigning, PayloadMode};
use super::auth::sigv4;
use super::error::{S3Error, S3ErrorCode, S3Result};
use crate::http::chunked::{ChunkEvent, ChunkedDecoder};
use crate::http::{BodyError, RequestBody};
use crate::limits::XML_BODY_BYTES_MAX;
use crate::secret::constant_time_eq;

/// Staging buffer for aws-chunked framing (one per aws-chunked upload).
const AWS_CHUNKED_STAGING_BYTES: usize = 64 * 1024;

struct AwsChunked {
    decoder: ChunkedDecoder,
    staging: Box<[u8]>,
    start: usize,
    end: usize,
    signing: Option<ChunkSigning>,
    previous_signature: String,
    expected_signature: Option<String>,
    chunk_hasher: Sha256,
    finished: bool,
}

/// A request body as the S3 layer sees it: the decoded object bytes.
pub struct PayloadReader<'b, 'c> {
    body: &'b mut RequestBody<'c>,
    mode: PayloadMode,
    /// Boxed: 352 bytes most requests (every GET) would otherwise carry through each future
    /// that holds the reader.
    aws_chunked: Option<Box<AwsChunked>>,
    whole_hasher: Option<Sha256>,
    decoded_length: Option<u64>,
    produced: u64,
    trailers: Vec<(String, String)>,
}

impl<'b, 'c> PayloadReader<'b, 'c> {
    /// Wraps `body` for `mode`; `decoded_length` is `x-amz-decoded-content-length` if sent.
    pub fn new(
        body: &'b mut RequestBody<'c>,
        mode: PayloadMode,
        signing: Option<ChunkSigning>,
        decoded_length: Option<u64>,
    ) -> Self {
        let aws_chunked = mode.is_aws_chunked().then(|| {
            Box::new(AwsChunked {
                decoder: ChunkedDecoder::new(),
                staging: vec![0u8; AWS_CHUNKED_STAGING_BYTES].into_boxed_slice(),
                start: 0,
                end: 0,
                previous_signature: signing
                    .as_ref()
                    .map(|s| s.seed_signature.clone())
                    .unwrap_or_default(),
                signing,
                expected_signature: None,
                chunk_hasher: Sha256::new(),
                finished: false,
            })
        });
        let whole_hasher = matches!(mode, PayloadMode::Sha256(_)).then(Sha256::new);
        PayloadReader {
            body,
            mode,
            aws_chunked,
            whole_hasher,
            decoded_length,
            produced: 0,
            trailers: Vec::new(),
        }
    }

    /// The object's length if it is known before reading (decoded length or Content-Length).
    pub fn object_length(&self) -> Option<u64> {
        if self.aws_chunked.is_some() {
            self.decoded_length
        } else {
            self.body.declared_length()
        }
    }

    /// Trailer fields (after the body was read to its end): aws-chunked trailers or HTTP ones.
    pub fn trailers(&self) -> &[(String, String)] {
        &self.trailers
    }

    /// Reads decoded object bytes; 0 at the end.
    pub async fn read(&mut self, output: &mut [u8]) -> S3Result<usize> {
        let count = match &mut self.aws_chunked {
            None => {
                let count = self.body.read(output).await?;
                if count == 0 {
                    self.trailers = std::mem::take(&mut self.body.trailers);
                }
                count
            }
            Some(chunked) => {
                let count = read_aws_chunked(self.body, chunked, output).await?;
                if count == 0 {
                    self.trailers = std::mem::take(&mut chunked.decoder.trailers);
                    if let Some(signing) = &chunked.signing {
                        verify_trailer_signature(
                            signing,
                            &chunked.previous_signature,
                            &mut self.trailers,
                            &self.mode,
                        )?;
                    }
                }
                count
            }
        };
        if let Some(hasher) = &mut self.whole_hasher {
            hasher.update(&output[..count]);
        }
        self.produced += count as u64;
        if count == 0 {
            self.check_end()?;
        }
        Ok(count)
    }

    fn check_end(&mut self) -> S3Result<()> {
        if self.aws_chunked.is_some() {
            if let Some(expected) = self.decoded_length {
                if expected != self.produced {
                    return Err(S3Error::new(S3ErrorCode::IncompleteBody));
                }
            }
        }
        if let (Some(hasher), PayloadMode::Sha256(expected)) =
            (self.whole_hasher.take(), &self.mode)
        {
            let actual: [u8; 32] = hasher.finalize().into();
            if !constant_time_eq(&actual, expected) {
                return Err(S3Error::new(S3ErrorCode::XAmzContentSHA256Mismatch)
                    .field("ClientComputedContentSHA256", hex::encode(expected))
                    .field("S3ComputedContentSHA256", hex::encode(actual)));
            }
        }
        Ok(())
    }
}

async fn read_aws_chunked(
    body: &mut RequestBody<'_>,
    chunked: &mut AwsChunked,
    output: &mut [u8],
) -> S3Result<usize> {
    if chunked.finished {
        return Ok(0);
    }
    loop {
        let step = chunked
            .decoder
            .step(&chunked.staging[chunked.start..chunked.end], output)?;
        chunked.start += step.consumed;
        if step.produced > 0 && chunked.signing.is_some() {
            chunked.chunk_hasher.update(&output[..step.produced]);
        }
        let had_event = step.event.is_some();
        match step.event {
            Some(ChunkEvent::ChunkStart { size, signature }) if chunked.signing.is_some() => {
                let signature = signature.ok_or_else(|| {
                    S3Error::with_message(
                        S3ErrorCode::SignatureDoesNotMatch,
                        "aws-chunked chunk without a chunk-signature",
                    )
                })?;
                chunked.expected_signature = Some(signature);
                chunked.chunk_hasher = Sha256::new();
                if size == 0 {
                    verify_chunk(chunked)?;
                }
            }
            Some(ChunkEvent::ChunkEnd) if chunked.signing.is_some() => verify_chunk(chunked)?,
            Some(ChunkEvent::Finished) => {
                chunked.finished = true;
                if step.produced == 0 {
                    return Ok(0);
                }
            }
            _ => {}
        }
        if step.produced > 0 {
            return Ok(step.produced);
        }
        if step.consumed == 0 && !had_event {
            if chunked.start > 0 {
                chunked.staging.copy_within(chunked.start..chunked.end, 0);
                chunked.end -= chunked.start;
                chunked.start = 0;
            }
            if chunked.end == chunked.staging.len() {
                return Err(BodyError::Malformed("aws-chunked framing line too long").into());
            }
            let count = body.read(&mut chunked.staging[chunked.end..]).await?;
            if count == 0 {
                return Err(S3Error::new(S3ErrorCode::IncompleteBody));
            }
            chunked.end += count;
        }
    }
}

fn verify_chunk(chunked: &mut AwsChunked) -> S3Result<()> {
    let signing = chunked
        .signing
        .as_ref()
        .expect("only called for signed bodies");
    let expected = chunked
        .expected_signature
        .take()
        .ok_or_else(|| S3Error::new(S3ErrorCode::SignatureDoesNotMatch))?;
    let hasher = std::mem::replace(&mut chunked.chunk_hasher, Sha256::new());
    let chunk_hash = hex::encode(hasher.finalize());
    let to_sign = sigv4::chunk_string_to_sign(
        &signing.amz_date,
        &signing.scope,
        &chunked.previous_signature,
        &chunk_hash,
    );
    let computed = sigv4::sign(&signing.signing_key, &to_sign);
    if !constant_time_eq(
        computed.as_bytes(),
        expected.to_ascii_lowercase().as_bytes(),
    ) {
        return Err(BodyError::ChunkSignature.into());
    }
    chunked.previous_signature = computed;
    Ok(())
}

fn verify_trailer_signature(
    signing: &ChunkSigning,
    previous_signature: &str,
    trailers: &mut Vec<(String, String)>,
    mode: &PayloadMode,
) -> S3Result<()> {
    if *mode != (PayloadMode::StreamingSigned { trailer: true }) {
        return Ok(());
    }
    let position = trailers
        .iter()
        .position(|(name, _)| name == "x-amz-trailer-signature");
    let Some(position) = position else {
        return Err(S3Error::with_message(
            S3ErrorCode::SignatureDoesNotMatch,
            "missing x-amz-trailer-signature",
        ));
    };
    let (_, expected) = trailers.remove(position);
    let mut canonical = String::new();
    for (name, value) in trailers.iter() {
        canonical.push_str(name);
        canonical.push(':');
        canonical.push_str(value);
        canonical.push('\n');
    }
    let to_sign = sigv4::trailer_string_to_sign(
        &signing.amz_date,
        &signing.scope,
        previous_signature,
        &sigv4::sha256_hex(canonical.as_bytes()),
    );
    let computed = sigv4::sign(&signing.signing_key, &to_sign);
    if !constant_time_eq(
        computed.as_bytes(),
        expected.to_ascii_lowercase().as_bytes(),
    ) {
        return Err(BodyError::ChunkSignature.into());
    }
    Ok(())
}

/// Reads an XML request body of bounded size.
pub async fn read_small_body(payload: &mut PayloadReader<'_, '_>) -> S3Result<Vec<u8>> {
    read_body_up_to(payload, XML_BODY_BYTES_MAX)
        .await?
        .ok_or_else(|| {
            S3Error::with_message(S3ErrorCode::MalformedXML, "The XML body is too large.")
        })
}

/// The whole body if it is at most `bytes_max` long (`None`: longer; refused before reading
/// when its announced length says so, else once the read passes the bound).
pub async fn read_body_up_to(
    payload: &mut PayloadReader<'_, '_>,
    bytes_max: usize,
) -> S3Result<Option<Vec<u8>>> {
    if payload
        .object_length()
        .is_some_and(|length| length > bytes_max as u64)
    {
        return Ok(None);
    }
    let mut body = Vec::new();
    let mut scratch = [0u8; 4096];
    loop {
        let count = payload.read(&mut scratch).await?;
        if count == 0 {
            return Ok(Some(body));
        }
        if body.len() + count > bytes_max {
            return Ok(None);
        }
        body.extend_from_slice(&scratch[..count]);
    }
}
