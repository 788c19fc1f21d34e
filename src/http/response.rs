//! Responses: the head rendered into one buffer so a small response leaves in one write, and the
//! body (in memory, shared, or streamed through `BodyStream`).

use std::borrow::Cow;
use std::future::Future;
use std::io;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;

/// Reason phrase for a status code.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        206 => "Partial Content",
        303 => "See Other",
        304 => "Not Modified",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        416 => "Range Not Satisfiable",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// A boxed future polled on the current thread (glommio cores never move work between threads).
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// A response body produced while it is sent (an object's bytes read from disk); `net` pulls
/// blocks until `remaining()` is zero, then closes it.
pub trait BodyStream {
    /// Bytes not yet produced.
    fn remaining(&self) -> u64;
    /// Reads the next block, which `block()` then shows until the next call; errors end the
    /// response (the connection is closed, the length already announced cannot be kept).
    fn next_block(&mut self) -> LocalFuture<'_, io::Result<()>>;
    /// The block the last `next_block` read (empty before the first).
    fn block(&self) -> &[u8];
    /// Releases what the stream holds open (files).
    fn close(self: Box<Self>) -> LocalFuture<'static, ()>;
}

/// The body of a response.
pub enum ResponseBody {
    /// No body.
    Empty,
    /// A small body in memory (XML, JSON, text).
    Bytes(Vec<u8>),
    /// These bytes of a shared buffer (an inline object's bytes, sent without a copy).
    Shared(Arc<Vec<u8>>, Range<usize>),
    /// Bytes produced while they are sent.
    Stream(Box<dyn BodyStream>),
    /// A HEAD response: the length the GET would have, no bytes.
    HeadOnly(u64),
}

impl ResponseBody {
    /// The Content-Length to announce.
    pub fn content_length(&self) -> u64 {
        match self {
            ResponseBody::Empty => 0,
            ResponseBody::Bytes(bytes) => bytes.len() as u64,
            ResponseBody::Shared(_, range) => range.len() as u64,
            ResponseBody::Stream(stream) => stream.remaining(),
            ResponseBody::HeadOnly(length) => *length,
        }
    }
}

/// A response: status, headers and body.
pub struct Response {
    /// Status and headers.
    pub head: ResponseHead,
    /// Body.
    pub body: ResponseBody,
}

impl Response {
    /// A response with `status` and no body.
    pub fn empty(status: u16) -> Self {
        Response {
            head: ResponseHead::new(status),
            body: ResponseBody::Empty,
        }
    }

    /// A 200 response with an XML body.
    pub fn xml(document: Vec<u8>) -> Self {
        let mut head = ResponseHead::new(200);
        head.header("Content-Type", "application/xml");
        Response {
            head,
            body: ResponseBody::Bytes(document),
        }
    }
}

/// A response status line and header fields.
///
/// Every value is written into one text buffer and named by where it ends, so a response's
/// fields cost two allocations, not one `String` each (a GET's head had nine;
/// `cargo bench --bench request_allocations`).
#[derive(Debug, Clone, Default)]
pub struct ResponseHead {
    /// HTTP status code.
    pub status: u16,
    /// Header names in order, each with where its value ends in `values` (it starts where the
    /// previous one ends); `Content-Length`, `Date`, `Connection` are added when rendered.
    fields: Vec<(Cow<'static, str>, u32)>,
    /// The values, back to back.
    values: String,
}

/// The room a head's values start with: a GET's usual fields (type, ETag, date, request ids,
/// policy) fit without growing.
const RESPONSE_VALUES_CAPACITY_BYTES: usize = 256;

impl ResponseHead {
    /// A head with `status` and no fields yet.
    pub fn new(status: u16) -> Self {
        ResponseHead {
            status,
            fields: Vec::with_capacity(12),
            values: String::with_capacity(RESPONSE_VALUES_CAPACITY_BYTES),
        }
    }

    /// Adds a header field.
    pub fn header(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl AsRef<str>,
    ) -> &mut Self {
        self.header_written(name, |values| values.push_str(value.as_ref()))
    }

    /// Adds a header field whose value `write` appends to the given text (an ETag in quotes, a
    /// date), so no `String` is built for it.
    pub fn header_written(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        write: impl FnOnce(&mut String),
    ) -> &mut Self {
        let start = self.values.len();
        write(&mut self.values);
        // Writers only append; one that shrank the text would leave earlier fields' ends past it.
        assert!(
            self.values.len() >= start,
            "a header value's writer removed earlier values"
        );
        let end = u32::try_from(self.values.len()).expect("a response head's values fit in u32");
        self.fields.push((name.into(), end));
        self
    }

    /// The fields in order as (name, value).
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let mut start = 0;
        self.fields.iter().map(move |(name, end)| {
            let value = &self.values[start..*end as usize];
            start = *end as usize;
            (name.as_ref(), value)
        })
    }

    /// The first value of the field `name` (ASCII case ignored).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// Removes every field named `name` (ASCII case ignored); a rare path (a GET's response
    /// overrides), so the rest are rewritten.
    pub fn remove(&mut self, name: &str) {
        if self.get(name).is_none() {
            return;
        }
        let old = std::mem::replace(self, ResponseHead::new(self.status));
        let mut start = 0;
        for (field, end) in old.fields {
            let value = &old.values[start..end as usize];
            start = end as usize;
            if !field.eq_ignore_ascii_case(name) {
                self.header(field, value);
            }
        }
    }

    /// Appends the rendered head to `output`, written straight into it (every response renders
    /// one: no intermediate string, no formatter).
    pub fn render(
        &self,
        content_length: u64,
        connection: Persistence,
        date: &str,
        output: &mut Vec<u8>,
    ) {
        let mut number = itoa::Buffer::new();
        output.extend_from_slice(b"HTTP/1.1 ");
        output.extend_from_slice(number.format(self.status).as_bytes());
        output.push(b' ');
        output.extend_from_slice(reason(self.status).as_bytes());
        output.extend_from_slice(b"\r\n");
        for (name, value) in self.headers() {
            output.extend_from_slice(name.as_bytes());
            output.extend_from_slice(b": ");
            // No value may end the field early: a control character in a stored or echoed value
            // (metadata, an override, a CORS rule) is sent as a space, so a response can never
            // be split or given extra fields. (Bytewise: no byte of a multi-byte UTF-8 character
            // is an ASCII control.)
            let is_control = |byte: u8| byte.is_ascii_control() && byte != b'\t';
            // Folded without an early exit, so the check runs on whole vectors; a control byte
            // is the rare case.
            if value
                .bytes()
                .fold(false, |found, byte| found | is_control(byte))
            {
                output.extend(
                    value
                        .bytes()
                        .map(|byte| if is_control(byte) { b' ' } else { byte }),
                );
            } else {
                output.extend_from_slice(value.as_bytes());
            }
            output.extend_from_slice(b"\r\n");
        }
        output.extend_from_slice(b"Content-Length: ");
        output.extend_from_slice(number.format(content_length).as_bytes());
        output.extend_from_slice(b"\r\nDate: ");
        output.extend_from_slice(date.as_bytes());
        output.extend_from_slice(b"\r\nServer: ringstore\r\n");
        match connection {
            Persistence::KeepAlive => {}
            Persistence::KeepAliveAnnounced => {
                output.extend_from_slice(b"Connection: keep-alive\r\n")
            }
            Persistence::Close => output.extend_from_slice(b"Connection: close\r\n"),
        }
        output.extend_from_slice(b"\r\n");
    }
}

/// Whether the connection stays open after a response, and what its `Connection` field says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// Kept open; HTTP/1.1's default, so no field.
    KeepAlive,
    /// Kept open for an HTTP/1.0 client, which closes unless told `Connection: keep-alive`
    /// (RFC 9112 Appendix C.2.2; ab waits for a close that never comes without it).
    KeepAliveAnnounced,
    /// Closed after this response: `Connection: close`.
    Close,
}

impl Persistence {
    /// The persistence of an answer to a request of `http_1_0` that may be `kept_alive`.
    pub fn of(kept_alive: bool, http_1_0: bool) -> Self {
        match (kept_alive, http_1_0) {
            (false, _) => Persistence::Close,
            (true, false) => Persistence::KeepAlive,
            (true, true) => Persistence::KeepAliveAnnounced,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_reach_the_wire() {
        // Goal: a header value holding CR/LF (a stored value, an echoed parameter) cannot split
        // the response or add a field: control characters go out as spaces.
        let mut head = ResponseHead::new(200);
        head.header("X-A", "ok\r\nSet-Cookie: x=1\u{0}");
        let mut output = Vec::new();
        head.render(0, Persistence::KeepAlive, "d", &mut output);
        let text = String::from_utf8(output).unwrap();
        assert!(text.contains("X-A: ok  Set-Cookie: x=1 \r\n"), "{text}");
        assert_eq!(text.matches("\r\n").count(), 6, "{text}");
        // Multi-byte characters pass whole beside a replaced control; a tab stays.
        let mut head = ResponseHead::new(404);
        head.header("X-B", "ünï\u{7f}cødé\tключ\n");
        let mut output = Vec::new();
        head.render(0, Persistence::KeepAlive, "d", &mut output);
        let text = String::from_utf8(output).unwrap();
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"), "{text}");
        assert!(text.contains("X-B: ünï cødé\tключ \r\n"), "{text}");
    }

    #[test]
    fn values_share_one_buffer_and_keep_their_fields() {
        // Goal: values written in place or given whole come back with their own names, in
        // order, empty ones included; removing a field (a response override) keeps the rest,
        // their order and their values.
        let mut head = ResponseHead::new(200);
        head.header("Content-Type", "text/plain")
            .header_written("ETag", |out| out.push_str("\"e\""))
            .header("X-Empty", "")
            .header(String::from("x-amz-meta-a"), String::from("1"))
            .header("content-type", "again");
        let fields: Vec<(&str, &str)> = head.headers().collect();
        assert_eq!(
            fields,
            [
                ("Content-Type", "text/plain"),
                ("ETag", "\"e\""),
                ("X-Empty", ""),
                ("x-amz-meta-a", "1"),
                ("content-type", "again"),
            ]
        );
        assert_eq!(head.get("CONTENT-TYPE"), Some("text/plain"));
        head.remove("Content-Type");
        head.header("Content-Type", "image/png");
        let fields: Vec<(&str, &str)> = head.headers().collect();
        assert_eq!(
            fields,
            [
                ("ETag", "\"e\""),
                ("X-Empty", ""),
                ("x-amz-meta-a", "1"),
                ("Content-Type", "image/png"),
            ]
        );
        head.remove("X-Missing");
        assert_eq!(head.headers().count(), 4);
        let mut output = Vec::new();
        head.render(0, Persistence::KeepAlive, "d", &mut output);
        let text = String::from_utf8(output).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 200 OK\r\nETag: \"e\"\r\nX-Empty: \r\nx-amz-meta-a: 1\r\nContent-Type: image/png\r\n"),
            "{text}"
        );
    }

    #[test]
    fn renders_status_fields_and_length() {
        // Goal: the head is byte-exact HTTP/1.1 with the fields in order.
        let mut head = ResponseHead::new(200);
        head.header("ETag", "\"abc\"");
        let mut output = Vec::new();
        head.render(
            5,
            Persistence::Close,
            "Sun, 29 Nov 2026 00:00:00 GMT",
            &mut output,
        );
        assert_eq!(
            String::from_utf8(output).unwrap(),
            "HTTP/1.1 200 OK\r\nETag: \"abc\"\r\nContent-Length: 5\r\nDate: Sun, 29 Nov 2026 00:00:00 GMT\r\nServer: ringstore\r\nConnection: close\r\n\r\n"
        );
    }
}
