//! Request-head parsing on httparse: an incomplete head is a state, a malformed one an error.

use super::pair_spans::PairSpans;
use crate::limits::{HEADER_BYTES_MAX, HEADER_COUNT_MAX};

/// The request methods S3 uses; anything else is kept so the router can answer `MethodNotAllowed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Method {
    Get,
    Head,
    Put,
    Post,
    Delete,
    Options,
    /// Only the admin API uses it (S3 answers it 405 like any method it does not know).
    Patch,
    Other,
}

impl Method {
    fn parse(name: &str) -> Method {
        match name {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "PUT" => Method::Put,
            "POST" => Method::Post,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            "PATCH" => Method::Patch,
            _ => Method::Other,
        }
    }

    /// The method as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Patch => "PATCH",
            Method::Other => "OTHER",
        }
    }
}

/// How the request body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body (no Content-Length, no Transfer-Encoding).
    Empty,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head. Header names are lower-cased; values are kept as sent (trimmed).
///
/// The method, path, query and every field live in one text buffer, named by spans: two
/// allocations per request, where a `String` for each was 3 + 2 × fields (19 of a boto3 GET's
/// 52 server-side allocations, `cargo bench --bench request_allocations`).
#[derive(Debug, Clone)]
pub struct RequestHead {
    /// Request method.
    pub method: Method,
    /// The method, the path, the query, then each field's name and value, back to back.
    text: String,
    /// Where the method ends and the path starts in `text`.
    method_end: usize,
    /// Where the path ends and the query starts in `text`.
    path_end: usize,
    /// Where the query ends and the first field starts in `text`.
    query_end: usize,
    /// Each field's name and value in `text`, in arrival order.
    fields: PairSpans,
    /// Body framing derived from Content-Length / Transfer-Encoding.
    pub framing: BodyFraming,
    /// The client sent `Expect: 100-continue`.
    pub expect_continue: bool,
    /// The connection may be reused after this request.
    pub keep_alive: bool,
    /// An HTTP/1.0 request: its connection persists only if each answer says
    /// `Connection: keep-alive` (RFC 9112 §9.3 and Appendix C.2.2).
    pub http_1_0: bool,
    /// The client's address (`aws:SourceIp`), set by the connection; `None` when parsed alone.
    pub peer: Option<std::net::IpAddr>,
    /// The request arrived over TLS (`aws:SecureTransport`), set by the connection.
    pub secure: bool,
}

impl RequestHead {
    /// The method exactly as sent (for SigV4 canonical requests and logs).
    pub fn method_text(&self) -> &str {
        &self.text[..self.method_end]
    }

    /// The path part of the request target, still percent-encoded.
    pub fn path(&self) -> &str {
        &self.text[self.method_end..self.path_end]
    }

    /// The query part of the request target without `?`, still percent-encoded.
    pub fn query(&self) -> &str {
        &self.text[self.path_end..self.query_end]
    }

    /// The header fields in arrival order as (lower-case name, value).
    pub fn headers(
        &self,
    ) -> impl DoubleEndedIterator<Item = (&str, &str)> + ExactSizeIterator + Clone + '_ {
        self.fields.iter(&self.text)
    }

    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .find(|(field, _)| *field == name)
            .map(|(_, value)| value)
    }

    /// How many times header `name` (lower-case) appears.
    pub fn header_count(&self, name: &str) -> usize {
        self.headers().filter(|(field, _)| *field == name).count()
    }
}

/// Outcome of trying to parse a head from the bytes received so far.
#[derive(Debug)]
pub enum HeadParse {
    /// More bytes are needed.
    Partial,
    /// A complete head, and how many bytes of the buffer it used.
    Complete(RequestHead, usize),
}

/// Why a request head was rejected; each answers 400 (or 431/501/505) and closes the connection.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HeadError {
    /// The head is larger than `HEADER_BYTES_MAX` or has more than `HEADER_COUNT_MAX` fields.
    #[error("request head too large")]
    TooLarge,
    /// httparse rejected the bytes.
    #[error("malformed request head: {0}")]
    Malformed(&'static str),
    /// Only HTTP/1.0 and HTTP/1.1 are spoken.
    #[error("unsupported HTTP version")]
    Version,
    /// A transfer coding other than `chunked`.
    #[error("unsupported transfer encoding")]
    TransferEncoding,
}

/// Parses a request head from `buffer` with the default size cap.
pub fn parse_head(buffer: &[u8]) -> Result<HeadParse, HeadError> {
    parse_head_within(buffer, HEADER_BYTES_MAX)
}

/// Appends a header field's value to `text`, trimmed: bytes that are not UTF-8 become U+FFFD
/// (validating first, the common case, is cheaper than the lossy decoder's scan).
fn push_header_value(text: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(value) => text.push_str(value.trim()),
        Err(_) => text.push_str(String::from_utf8_lossy(bytes).trim()),
    }
}

/// Parses a request head from `buffer`, refusing heads over `bytes_max`.
// Long on purpose: one pass over httparse's headers applying every framing rule (RFC 9112
// §6.3: Content-Length vs Transfer-Encoding, duplicates, Expect, Connection) where it is seen.
pub fn parse_head_within(buffer: &[u8], bytes_max: usize) -> Result<HeadParse, HeadError> {
    let mut fields = [httparse::EMPTY_HEADER; HEADER_COUNT_MAX];
    let mut request = httparse::Request::new(&mut fields);
    let status = match request.parse(buffer) {
        Ok(status) => status,
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        Err(httparse::Error::Version) => return Err(HeadError::Version),
        Err(_) => return Err(HeadError::Malformed("request line or header field")),
    };
    let consumed = match status {
        httparse::Status::Partial => {
            if buffer.len() >= bytes_max {
                return Err(HeadError::TooLarge);
            }
            return Ok(HeadParse::Partial);
        }
        httparse::Status::Complete(consumed) => consumed,
    };
    if consumed > bytes_max {
        return Err(HeadError::TooLarge);
    }
    let method_text = request.method.unwrap_or_default();
    let target = request.path.unwrap_or_default();
    let version_minor = request.version.unwrap_or(1);
    if version_minor > 1 {
        return Err(HeadError::Version);
    }
    let (path, query) = match target.find('?') {
        Some(index) => (&target[..index], &target[index + 1..]),
        None => (target, ""),
    };
    if !path.starts_with('/') {
        return Err(HeadError::Malformed(
            "request target must be in origin form",
        ));
    }
    // Names, trimmed values, method and target are never longer than the head itself (a value
    // not UTF-8 may grow as its bytes become U+FFFD).
    let mut text = String::with_capacity(consumed);
    text.push_str(method_text);
    let method_end = text.len();
    text.push_str(path);
    let path_end = text.len();
    text.push_str(query);
    let query_end = text.len();
    let mut fields = PairSpans::with_capacity(request.headers.len());
    let mut content_length: Option<u64> = None;
    let mut chunked = false;
    let mut expect_continue = false;
    let http_1_0 = version_minor == 0;
    // `close` anywhere wins; 1.0 persists only if it asks (RFC 9112 §9.3, Appendix C.2.2).
    let mut close_asked = false;
    let mut keep_alive_asked = false;
    for field in request.headers.iter() {
        let name_start = text.len();
        text.push_str(field.name);
        text[name_start..].make_ascii_lowercase();
        let value_start = text.len();
        push_header_value(&mut text, field.value);
        fields.push(name_start, value_start, text.len());
        let (name, value) = text[name_start..].split_at(value_start - name_start);
        match name {
            "content-length" => {
                let length = parse_content_length(value)?;
                if content_length.is_some_and(|previous| previous != length) {
                    return Err(HeadError::Malformed("conflicting Content-Length"));
                }
                content_length = Some(length);
            }
            "transfer-encoding" => {
                if !value.eq_ignore_ascii_case("chunked") || chunked {
                    return Err(HeadError::TransferEncoding);
                }
                chunked = true;
            }
            // RFC 9110 §10.1.1: an HTTP/1.0 request's 100-continue expectation is ignored (1.0
            // has no 1xx answers).
            "expect" if value.eq_ignore_ascii_case("100-continue") && !http_1_0 => {
                expect_continue = true
            }
            "connection" => {
                for token in value.split(',') {
                    let token = token.trim();
                    close_asked |= token.eq_ignore_ascii_case("close");
                    keep_alive_asked |= token.eq_ignore_ascii_case("keep-alive");
                }
            }
            _ => {}
        }
    }
    // RFC 9112 §6.1: a message with both is a smuggling vector; S3 rejects it.
    if chunked && content_length.is_some() {
        return Err(HeadError::Malformed(
            "both Content-Length and Transfer-Encoding",
        ));
    }
    let framing = match (chunked, content_length) {
        (true, _) => BodyFraming::Chunked,
        (false, Some(0)) | (false, None) => BodyFraming::Empty,
        (false, Some(length)) => BodyFraming::Length(length),
    };
    let head = RequestHead {
        method: Method::parse(method_text),
        text,
        method_end,
        path_end,
        query_end,
        fields,
        framing,
        expect_continue,
        // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding is read, then the connection
        // is closed (its framing cannot be trusted by 1.0 intermediaries).
        keep_alive: !close_asked && (!http_1_0 || (keep_alive_asked && !chunked)),
        http_1_0,
        peer: None,
        secure: false,
    };
    Ok(HeadParse::Complete(head, consumed))
}

fn parse_content_length(value: &str) -> Result<u64, HeadError> {
    if value.is_empty() || value.len() > 19 || !value.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(HeadError::Malformed("invalid Content-Length"));
    }
    value
        .parse()
        .map_err(|_| HeadError::Malformed("invalid Content-Length"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_are_trimmed_text_and_bytes_not_utf8_are_replaced() {
        // Goal: the UTF-8 fast path and the lossy fallback give what `from_utf8_lossy` gave.
        let (head, _) = complete(
            b"GET / HTTP/1.1\r\nx-amz-meta-a:  caf\xc3\xa9 \r\nx-amz-meta-b: caf\xe9\r\n\r\n",
        );
        assert_eq!(head.header("x-amz-meta-a"), Some("caf\u{e9}"));
        assert_eq!(head.header("x-amz-meta-b"), Some("caf\u{fffd}"));
        for value in [&b" plain "[..], b"\xff\xfe x ", b"\tok\xe2\x82\xac", b""] {
            let mut text = String::from("before");
            push_header_value(&mut text, value);
            assert_eq!(
                text,
                format!("before{}", String::from_utf8_lossy(value).trim()),
                "{value:?}"
            );
        }
    }

    #[test]
    fn every_field_is_kept_in_order_beside_the_request_line() {
        // Goal: the spans into the one text buffer give back the method, path, query and each
        // field (name lower-cased, value trimmed, empty and repeated ones included) in arrival
        // order, also after a value that grew when its bytes were not UTF-8.
        let raw = b"DELETE /b/k%2F HTTP/1.1\r\nHost: h:9\r\nX-Amz-Meta-Empty:\r\n\
                    X-Bad: \xff\xfe\r\nX-Amz-Meta-Twice: one \r\nx-amz-meta-twice:two\r\n\r\n";
        let (head, used) = complete(raw);
        assert_eq!(used, raw.len());
        assert_eq!(
            (head.method, head.method_text(), head.path(), head.query()),
            (Method::Delete, "DELETE", "/b/k%2F", "")
        );
        let fields: Vec<(&str, &str)> = head.headers().collect();
        assert_eq!(
            fields,
            [
                ("host", "h:9"),
                ("x-amz-meta-empty", ""),
                ("x-bad", "\u{fffd}\u{fffd}"),
                ("x-amz-meta-twice", "one"),
                ("x-amz-meta-twice", "two"),
            ]
        );
        assert_eq!(head.headers().len(), 5);
        assert_eq!(head.header("x-amz-meta-twice"), Some("one"));
        assert_eq!(head.header_count("x-amz-meta-twice"), 2);
        assert_eq!(head.header("x-amz-meta-missing"), None);
        let (head, _) = complete(b"GET /?list-type=2&prefix= HTTP/1.1\r\n\r\n");
        assert_eq!((head.path(), head.query()), ("/", "list-type=2&prefix="));
        assert_eq!(head.headers().next(), None);
    }

    fn complete(bytes: &[u8]) -> (RequestHead, usize) {
        match parse_head(bytes).unwrap() {
            HeadParse::Complete(head, used) => (head, used),
            HeadParse::Partial => panic!("expected a complete head"),
        }
    }

    #[test]
    fn parses_a_put_with_length() {
        // Goal: method, path, query, lower-cased headers and framing come out of a typical PUT.
        let raw = b"PUT /bucket/key%20x?partNumber=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
        let (head, used) = complete(raw);
        assert_eq!(head.method, Method::Put);
        assert_eq!(head.method_text(), "PUT");
        assert_eq!(head.path(), "/bucket/key%20x");
        assert_eq!(head.query(), "partNumber=1");
        assert_eq!(head.header("host"), Some("a"));
        assert_eq!(head.framing, BodyFraming::Length(5));
        assert_eq!(&raw[used..], b"hello");
        assert!(head.keep_alive);
    }

    #[test]
    fn partial_until_blank_line() {
        // Goal: an incomplete head is a state, not an error.
        assert!(matches!(
            parse_head(b"GET / HTTP/1.1\r\nHost: a\r\n").unwrap(),
            HeadParse::Partial
        ));
    }

    #[test]
    fn rejects_smuggling_and_bad_lengths() {
        // Goal: the framing ambiguities used for request smuggling are refused.
        let both = b"PUT /b/k HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(parse_head(both).is_err());
        let conflicting = b"PUT /b/k HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n";
        assert!(parse_head(conflicting).is_err());
        let negative = b"PUT /b/k HTTP/1.1\r\nContent-Length: -3\r\n\r\n";
        assert!(parse_head(negative).is_err());
        let overflow = b"PUT /b/k HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n";
        assert!(parse_head(overflow).is_err());
        let gzip = b"PUT /b/k HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n";
        assert_eq!(parse_head(gzip).unwrap_err(), HeadError::TransferEncoding);
    }

    #[test]
    fn caps_head_size() {
        // Goal: a head that never ends is cut off at HEADER_BYTES_MAX.
        let mut raw = b"GET / HTTP/1.1\r\nX-Long: ".to_vec();
        raw.resize(HEADER_BYTES_MAX + 10, b'a');
        assert_eq!(parse_head(&raw).unwrap_err(), HeadError::TooLarge);
    }

    #[test]
    fn http10_closes_by_default() {
        // Goal: HTTP/1.0 without keep-alive closes; Connection: close on 1.1 closes.
        let (head, _) = complete(b"GET / HTTP/1.0\r\n\r\n");
        assert!(!head.keep_alive);
        let (head, _) = complete(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
        assert!(!head.keep_alive);
        let (head, _) = complete(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        assert!(head.keep_alive && head.http_1_0);
        // `close` wins over keep-alive in either order and either version.
        for raw in [
            &b"GET / HTTP/1.0\r\nConnection: close, keep-alive\r\n\r\n"[..],
            b"GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
            b"GET / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n",
        ] {
            assert!(
                !complete(raw).0.keep_alive,
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
        // A 1.0 request framed by Transfer-Encoding is read, then its connection closed
        // (RFC 9112 §6.1); on 1.1 it persists.
        let chunked =
            b"PUT /b/k HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n";
        let (head, _) = complete(chunked);
        assert_eq!(
            (head.framing, head.keep_alive),
            (BodyFraming::Chunked, false)
        );
        let (head, _) = complete(b"PUT /b/k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert!(head.keep_alive);
    }

    #[test]
    fn http10_ignores_expect_continue() {
        // Goal: 1.0 has no 1xx answers, so its 100-continue expectation is ignored (RFC 9110
        // §10.1.1); 1.1's is honoured.
        let raw = b"PUT /b/k HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n";
        assert!(!complete(raw).0.expect_continue);
        let raw = b"PUT /b/k HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n";
        assert!(complete(raw).0.expect_continue);
    }
}
