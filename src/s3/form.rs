//! A streaming `multipart/form-data` reader over a request payload (RFC 7578): small fields are
//! read whole within a byte budget, the file part is handed out in pieces as it arrives.

use super::error::{S3Error, S3ErrorCode, S3Result};
use super::payload::PayloadReader;
use crate::limits::{POST_FORM_BUFFER_BYTES, POST_FORM_PART_HEAD_BYTES_MAX};

/// What a part's head says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartHead {
    /// `name=` of Content-Disposition, as sent.
    pub name: String,
    /// `filename=`, for file parts.
    pub filename: Option<String>,
    /// The part's Content-Type.
    pub content_type: Option<String>,
}

fn malformed(message: &str) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::MalformedPOSTRequest,
        format!("The body of your POST request is not well-formed multipart/form-data: {message}"),
    )
}

/// The boundary of a `multipart/form-data` Content-Type, if it is one.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut parameters = content_type.split(';');
    if !parameters
        .next()?
        .trim()
        .eq_ignore_ascii_case("multipart/form-data")
    {
        return None;
    }
    parameters.find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_string())
            .filter(|value| !value.is_empty() && value.len() <= 70)
    })
}

/// Reads parts one after another.
pub struct FormReader<'p, 'b, 'c> {
    payload: &'p mut PayloadReader<'b, 'c>,
    buffer: Vec<u8>,
    start: usize,
    /// `\r\n--boundary`: what ends every part.
    delimiter: Vec<u8>,
    finished: bool,
}

impl<'p, 'b, 'c> FormReader<'p, 'b, 'c> {
    /// A reader for parts separated by `boundary`.
    pub fn new(payload: &'p mut PayloadReader<'b, 'c>, boundary: &str) -> Self {
        // A CRLF in front lets the first delimiter match like the others.
        let mut buffer = Vec::with_capacity(POST_FORM_BUFFER_BYTES);
        buffer.extend_from_slice(b"\r\n");
        FormReader {
            payload,
            buffer,
            start: 0,
            delimiter: format!("\r\n--{boundary}").into_bytes(),
            finished: false,
        }
    }

    fn unread(&self) -> &[u8] {
        &self.buffer[self.start..]
    }

    fn position_of(&self, needle: &[u8]) -> Option<usize> {
        find(self.unread(), needle)
    }

    /// Reads more bytes into the buffer; false at the end of the body.
    async fn fill(&mut self) -> S3Result<bool> {
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        let length = self.buffer.len();
        let room = POST_FORM_BUFFER_BYTES.saturating_sub(length).max(4096);
        self.buffer.resize(length + room, 0);
        let count = self.payload.read(&mut self.buffer[length..]).await?;
        self.buffer.truncate(length + count);
        Ok(count > 0)
    }

    /// Skips to the next part and reads its head; `None` after the closing delimiter.
    pub async fn next_part(&mut self) -> S3Result<Option<PartHead>> {
        if self.finished {
            return Ok(None);
        }
        // Whatever is left of the previous part (or the preamble) is skipped.
        loop {
            if let Some(position) = self.position_of(&self.delimiter) {
                self.start += position + self.delimiter.len();
                break;
            }
            let keep = self.unread().len().min(self.delimiter.len());
            self.start = self.buffer.len() - keep;
            if !self.fill().await? {
                return Err(malformed("no closing boundary"));
            }
        }
        while self.unread().len() < 2 {
            if !self.fill().await? {
                return Err(malformed("cut after a boundary"));
            }
        }
        if self.unread().starts_with(b"--") {
            self.finished = true;
            return Ok(None);
        }
        let head_end = loop {
            if let Some(position) = self.position_of(b"\r\n\r\n") {
                break position;
            }
            if self.unread().len() > POST_FORM_PART_HEAD_BYTES_MAX || !self.fill().await? {
                return Err(malformed("part head too long or cut"));
            }
        };
        let head_text = String::from_utf8_lossy(&self.unread()[..head_end]).into_owned();
        self.start += head_end + 4;
        let mut head = PartHead::default();
        let mut named = false;
        for line in head_text.split("\r\n").filter(|line| !line.is_empty()) {
            let Some((name, value)) = line.split_once(':') else {
                return Err(malformed("part header without a colon"));
            };
            if name.trim().eq_ignore_ascii_case("content-disposition") {
                for parameter in value.split(';').skip(1) {
                    let Some((key, raw)) = parameter.split_once('=') else {
                        continue;
                    };
                    let text = raw.trim().trim_matches('"').to_string();
                    match key.trim().to_ascii_lowercase().as_str() {
                        "name" => {
                            head.name = text;
                            named = true;
                        }
                        "filename" => head.filename = Some(text),
                        _ => {}
                    }
                }
            } else if name.trim().eq_ignore_ascii_case("content-type") {
                head.content_type = Some(value.trim().to_string());
            }
        }
        if !named {
            return Err(malformed("a part without a name"));
        }
        Ok(Some(head))
    }

    /// The current part's bytes, up to the next delimiter; at most `limit` of them.
    pub async fn read_value(&mut self, limit: usize) -> S3Result<Vec<u8>> {
        let mut value = Vec::new();
        while let Some(piece) = self.next_piece().await? {
            value.extend_from_slice(piece);
            if value.len() > limit {
                return Err(malformed("a form field is too large"));
            }
        }
        Ok(value)
    }

    /// The current part's next bytes; `None` once the part ended (the delimiter is left for
    /// `next_part`).
    pub async fn next_piece(&mut self) -> S3Result<Option<&[u8]>> {
        loop {
            let unread = &self.buffer[self.start..];
            if let Some(position) = find(unread, &self.delimiter) {
                if position == 0 {
                    return Ok(None);
                }
                let range = self.start..self.start + position;
                self.start += position;
                return Ok(Some(&self.buffer[range]));
            }
            // Keep what could be the start of a delimiter split across reads.
            let safe = unread.len().saturating_sub(self.delimiter.len() - 1);
            if safe > 0 {
                let range = self.start..self.start + safe;
                self.start += safe;
                return Ok(Some(&self.buffer[range]));
            }
            if !self.fill().await? {
                return Err(malformed("no closing boundary"));
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}
