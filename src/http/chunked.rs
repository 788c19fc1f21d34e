//! A chunked-body decoder as a pure state machine, shared by HTTP `Transfer-Encoding: chunked`
//! and S3's `aws-chunked` content encoding (same framing; signatures ride in chunk extensions).

use super::body_error::BodyError;
use crate::limits::{CHUNK_LINE_BYTES_MAX, CHUNK_TRAILER_BYTES_MAX};

/// Something the caller may need to act on, reported as the decoder passes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkEvent {
    /// A chunk header was read: its data size and its `chunk-signature` extension, if any.
    ChunkStart {
        /// Bytes of data in this chunk (0 for the last chunk).
        size: u64,
        /// Value of the `chunk-signature=` extension (aws-chunked signed payloads).
        signature: Option<String>,
    },
    /// All data of the current chunk has been produced.
    ChunkEnd,
    /// The trailer section ended; the body is complete.
    Finished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    SizeLine,
    Data { remaining: u64 },
    DataEnd,
    Trailers,
    Done,
}

/// Result of one decoding step.
#[derive(Debug, Default)]
pub struct Step {
    /// Input bytes used.
    pub consumed: usize,
    /// Output bytes written.
    pub produced: usize,
    /// Event reached at the end of this step, if any.
    pub event: Option<ChunkEvent>,
}

/// Decodes a chunked body; trailer fields are kept for the caller (e.g. `x-amz-checksum-crc32`).
#[derive(Debug)]
pub struct ChunkedDecoder {
    state: State,
    trailer_bytes: usize,
    /// Trailer fields received after the last chunk, names lower-cased.
    pub trailers: Vec<(String, String)>,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    pub fn new() -> Self {
        ChunkedDecoder {
            state: State::SizeLine,
            trailer_bytes: 0,
            trailers: Vec::new(),
        }
    }

    /// The body has been decoded to its end.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from `input` into `output`. Stops at the first event, when `output` is full, or when
    /// `input` holds no complete framing line (then `consumed == 0 && produced == 0`: read more).
    // Long on purpose: the whole chunked-framing state machine (RFC 9112 §7.1) in one match, so
    // every transition is visible in one place.
    pub fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, BodyError> {
        let mut step = Step::default();
        loop {
            let rest = &input[step.consumed..];
            match self.state {
                State::Done => return Ok(step),
                State::SizeLine => {
                    let Some(line_end) = find_line_end(rest, CHUNK_LINE_BYTES_MAX)? else {
                        return Ok(step);
                    };
                    let (size, signature) = parse_size_line(&rest[..line_end])?;
                    step.consumed += line_end + 2;
                    self.state = if size == 0 {
                        State::Trailers
                    } else {
                        State::Data { remaining: size }
                    };
                    step.event = Some(ChunkEvent::ChunkStart { size, signature });
                    return Ok(step);
                }
                State::Data { remaining } => {
                    let room = output.len() - step.produced;
                    let count = (remaining.min(rest.len() as u64) as usize).min(room);
                    output[step.produced..step.produced + count].copy_from_slice(&rest[..count]);
                    step.consumed += count;
                    step.produced += count;
                    let remaining = remaining - count as u64;
                    if remaining == 0 {
                        self.state = State::DataEnd;
                        continue;
                    }
                    self.state = State::Data { remaining };
                    return Ok(step);
                }
                State::DataEnd => {
                    if rest.len() < 2 {
                        return Ok(step);
                    }
                    if &rest[..2] != b"\r\n" {
                        return Err(BodyError::Malformed("chunk data not followed by CRLF"));
                    }
                    step.consumed += 2;
                    self.state = State::SizeLine;
                    step.event = Some(ChunkEvent::ChunkEnd);
                    return Ok(step);
                }
                State::Trailers => {
                    let Some(line_end) = find_line_end(rest, CHUNK_LINE_BYTES_MAX)? else {
                        return Ok(step);
                    };
                    step.consumed += line_end + 2;
                    if line_end == 0 {
                        self.state = State::Done;
                        step.event = Some(ChunkEvent::Finished);
                        return Ok(step);
                    }
                    self.trailer_bytes += line_end;
                    if self.trailer_bytes > CHUNK_TRAILER_BYTES_MAX {
                        return Err(BodyError::Malformed("trailer section too large"));
                    }
                    let line = std::str::from_utf8(&rest[..line_end])
                        .map_err(|_| BodyError::Malformed("trailer is not UTF-8"))?;
                    let (name, value) = line
                        .split_once(':')
                        .ok_or(BodyError::Malformed("trailer without ':'"))?;
                    self.trailers
                        .push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
                }
            }
        }
    }
}

/// Index of the `\r\n` ending the first line of `bytes`, `None` if not there yet.
fn find_line_end(bytes: &[u8], line_bytes_max: usize) -> Result<Option<usize>, BodyError> {
    let window = &bytes[..bytes.len().min(line_bytes_max + 2)];
    match window.windows(2).position(|pair| pair == b"\r\n") {
        Some(index) => Ok(Some(index)),
        None if bytes.len() >= line_bytes_max + 2 => {
            Err(BodyError::Malformed("chunk line too long"))
        }
        None => Ok(None),
    }
}

fn parse_size_line(line: &[u8]) -> Result<(u64, Option<String>), BodyError> {
    let line =
        std::str::from_utf8(line).map_err(|_| BodyError::Malformed("chunk line is not ASCII"))?;
    let (size_text, extensions) = match line.find(';') {
        Some(index) => (&line[..index], Some(&line[index + 1..])),
        None => (line, None),
    };
    let size_text = size_text.trim_end_matches([' ', '\t']);
    if size_text.is_empty()
        || size_text.len() > 15
        || !size_text.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(BodyError::Malformed("invalid chunk size"));
    }
    let size = u64::from_str_radix(size_text, 16)
        .map_err(|_| BodyError::Malformed("invalid chunk size"))?;
    let signature = extensions.and_then(|extensions| {
        extensions.split(';').find_map(|extension| {
            let (name, value) = extension.split_once('=')?;
            (name.trim() == "chunk-signature").then(|| value.trim().to_string())
        })
    });
    Ok((size, signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(
        mut input: &[u8],
        piece: usize,
    ) -> Result<(Vec<u8>, ChunkedDecoder, Vec<ChunkEvent>), BodyError> {
        // Feeds the input in pieces of `piece` bytes, as a socket would.
        let mut decoder = ChunkedDecoder::new();
        let mut output = Vec::new();
        let mut events = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        let mut scratch = [0u8; 7];
        while !decoder.is_done() {
            let step = decoder.step(&pending, &mut scratch)?;
            output.extend_from_slice(&scratch[..step.produced]);
            pending.drain(..step.consumed);
            if let Some(event) = step.event {
                events.push(event);
            } else if step.consumed == 0 && step.produced == 0 {
                if input.is_empty() {
                    return Err(BodyError::Incomplete);
                }
                let take = piece.min(input.len());
                pending.extend_from_slice(&input[..take]);
                input = &input[take..];
            }
        }
        Ok((output, decoder, events))
    }

    #[test]
    fn decodes_in_any_piece_size() {
        // Goal: framing split at every possible byte boundary decodes to the same body.
        let raw = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n";
        for piece in 1..raw.len() {
            let (body, _, _) = decode_all(raw, piece).unwrap();
            assert_eq!(body, b"hello world");
        }
    }

    #[test]
    fn reports_signatures_and_trailers() {
        // Goal: aws-chunked signatures and trailing checksums reach the caller.
        let raw = b"3;chunk-signature=abc\r\nxyz\r\n0;chunk-signature=def\r\nx-amz-checksum-crc32:AAAA\r\n\r\n";
        let (body, decoder, events) = decode_all(raw, 4).unwrap();
        assert_eq!(body, b"xyz");
        assert_eq!(
            events[0],
            ChunkEvent::ChunkStart {
                size: 3,
                signature: Some("abc".into())
            }
        );
        assert!(events.contains(&ChunkEvent::ChunkStart {
            size: 0,
            signature: Some("def".into())
        }));
        assert_eq!(
            decoder.trailers,
            vec![("x-amz-checksum-crc32".to_string(), "AAAA".to_string())]
        );
    }

    #[test]
    fn rejects_bad_framing() {
        // Goal: malformed sizes, missing CRLF and endless lines are errors, never panics.
        for raw in [
            &b"zz\r\n"[..],
            b"5\r\nhelloXX",
            b"-1\r\n",
            b"fffffffffffffffff\r\n",
            b"\r\n",
        ] {
            assert!(
                matches!(decode_all(raw, 3), Err(BodyError::Malformed(_))),
                "{raw:?}"
            );
        }
        let endless = vec![b'1'; CHUNK_LINE_BYTES_MAX + 10];
        assert!(matches!(
            decode_all(&endless, 64),
            Err(BodyError::Malformed(_))
        ));
        assert!(matches!(
            decode_all(b"5\r\nhel", 2),
            Err(BodyError::Incomplete)
        ));
    }
}
