//! Addressing (path-style and virtual-hosted-style), percent-decoding, and S3's bucket/key rules.

use super::error::{S3Error, S3ErrorCode, S3Result};
use crate::http::pair_spans::PairSpans;
use crate::limits::{BUCKET_NAME_BYTES_MAX, BUCKET_NAME_BYTES_MIN, KEY_BYTES_MAX};

/// Which bucket and key a request addresses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Target {
    /// Bucket name, if any.
    pub bucket: Option<String>,
    /// Object key, if any (never empty).
    pub key: Option<String>,
    /// The whole request path, percent-decoded (SigV4 re-encodes it for the canonical URI).
    pub decoded_path: String,
    /// The bucket came from the Host header (virtual-hosted style), not from the path.
    pub virtual_hosted: bool,
}

/// Decodes `%XX` escapes; the result must be UTF-8 (`InvalidArgument` otherwise, as for a `%`
/// not followed by two hex digits). A text without a `%` is copied as it is (it is already a
/// `str`); see `push_percent_decoded`.
pub fn percent_decode(text: &str) -> S3Result<String> {
    let mut decoded = String::with_capacity(text.len());
    push_percent_decoded(text, &mut decoded, &mut Vec::new())?;
    Ok(decoded)
}

fn not_utf8() -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidArgument, "URI is not valid UTF-8")
}

/// Appends `bytes` with their `%XX` escapes decoded to `out` (InvalidArgument for a `%` not
/// followed by two hex digits); the caller checks the result is UTF-8.
fn percent_decode_bytes(bytes: &[u8], out: &mut Vec<u8>) -> S3Result<()> {
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] != b'%' {
            out.push(bytes[index]);
            index += 1;
            continue;
        }
        let digit = |offset: usize| {
            bytes
                .get(index + offset)
                .and_then(|&byte| char::from(byte).to_digit(16))
        };
        let (Some(high), Some(low)) = (digit(1), digit(2)) else {
            return Err(invalid_escape());
        };
        out.push((high * 16 + low) as u8);
        index += 3;
    }
    Ok(())
}

/// Appends `text` with its `%XX` escapes decoded to `out`. Plain runs and escapes of ASCII (a
/// presigned credential's `%2F`) go straight in; from the first escape of a non-ASCII byte on,
/// the rest is decoded in `scratch` and checked as UTF-8 on its own, which suffices: what was
/// appended before it ends with a whole character.
fn push_percent_decoded(text: &str, out: &mut String, scratch: &mut Vec<u8>) -> S3Result<()> {
    let bytes = text.as_bytes();
    let mut run_start = 0;
    let mut index = 0;
    while let Some(offset) = memchr::memchr(b'%', &bytes[index..]) {
        let escape = index + offset;
        // A run ends at a `%`: an ASCII byte, so a character boundary.
        out.push_str(&text[run_start..escape]);
        let decoded = match bytes.get(escape + 1..escape + 3) {
            Some(&[high, low]) => hex_value(high).zip(hex_value(low)),
            _ => None,
        };
        match decoded {
            Some((high, low)) if high < 8 => out.push(char::from(high * 16 + low)),
            Some(_) => {
                scratch.clear();
                percent_decode_bytes(&bytes[escape..], scratch)?;
                out.push_str(std::str::from_utf8(scratch).map_err(|_| not_utf8())?);
                return Ok(());
            }
            None => return Err(invalid_escape()),
        }
        index = escape + 3;
        run_start = index;
    }
    out.push_str(&text[run_start..]);
    Ok(())
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).map(|value| value as u8)
}

fn invalid_escape() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::InvalidArgument,
        "Invalid percent-encoding in URI",
    )
}

/// A request's query, decoded: `(name, value)` pairs in order, every name and value in one text
/// buffer named by spans (two allocations, a third only to decode a non-ASCII escape, where a
/// `String` for each was twelve of a presigned GET's; `cargo bench --bench request_allocations`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryPairs {
    /// The names and values, back to back.
    text: String,
    /// Each pair's name and value in `text`.
    spans: PairSpans,
}

impl QueryPairs {
    /// The pairs in order, as (name, value).
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = (&str, &str)> + ExactSizeIterator + Clone + '_ {
        self.spans.iter(&self.text)
    }

    /// The first value of `name`, if the query has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(field, _)| *field == name)
            .map(|(_, value)| value)
    }

    /// Whether `name` appears at all (with or without a value).
    pub fn contains(&self, name: &str) -> bool {
        self.iter().any(|(field, _)| field == name)
    }

    /// How many pairs there are.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Pairs already decoded (tests, tools).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut query = QueryPairs::default();
        for (name, value) in pairs {
            let name_start = query.text.len();
            query.text.push_str(name);
            let value_start = query.text.len();
            query.text.push_str(value);
            query.spans.push(name_start, value_start, query.text.len());
        }
        query
    }
}

/// Query pairs `parse_query` makes room for at first: a presigned URL's six or seven fit.
const QUERY_PAIRS_PRESIZED: usize = 8;

/// Parses a raw query string into decoded `(name, value)` pairs in order.
pub fn parse_query(query: &str) -> S3Result<QueryPairs> {
    if query.is_empty() {
        return Ok(QueryPairs::default());
    }
    // Sized once: a presigned URL's six pairs would otherwise grow the vector twice.
    let mut spans = PairSpans::with_capacity(QUERY_PAIRS_PRESIZED);
    // Decoding never lengthens text.
    let mut text = String::with_capacity(query.len());
    let mut scratch = Vec::new();
    // memchr's vector search, not `str::split`'s: a presigned query is some 400 bytes.
    for part in memchr::memchr_iter(b'&', query.as_bytes())
        .chain([query.len()])
        .scan(0, |start, end| {
            let part = &query[*start..end];
            *start = end + 1;
            Some(part)
        })
        .filter(|part| !part.is_empty())
    {
        let (name, value) = match memchr::memchr(b'=', part.as_bytes()) {
            Some(equals) => (&part[..equals], &part[equals + 1..]),
            None => (part, ""),
        };
        let name_start = text.len();
        push_percent_decoded(name, &mut text, &mut scratch)?;
        let value_start = text.len();
        push_percent_decoded(value, &mut text, &mut scratch)?;
        spans.push(name_start, value_start, text.len());
    }
    Ok(QueryPairs { text, spans })
}

/// Finds bucket and key from the Host header and the raw path. A host `<bucket>.<domain>[:port]`
/// for one of `domains` is virtual-hosted-style; anything else is path-style.
pub fn resolve(host: Option<&str>, raw_path: &str, domains: &[String]) -> S3Result<Target> {
    let decoded_path = percent_decode(raw_path)?;
    let path = decoded_path.strip_prefix('/').unwrap_or(&decoded_path);
    let host_name = host.map(strip_port).unwrap_or("");
    let virtual_bucket = domains.iter().find_map(|domain| {
        let prefix = host_name.strip_suffix(domain.as_str())?.strip_suffix('.')?;
        (!prefix.is_empty()).then(|| prefix.to_string())
    });
    let virtual_hosted = virtual_bucket.is_some();
    let (bucket, key) = match virtual_bucket {
        Some(bucket) => (Some(bucket), path),
        None => match path.split_once('/') {
            Some((bucket, key)) => (Some(bucket.to_string()), key),
            None if path.is_empty() => (None, ""),
            None => (Some(path.to_string()), ""),
        },
    };
    let key = (!key.is_empty()).then(|| key.to_string());
    if let Some(key) = &key {
        if key.len() > KEY_BYTES_MAX {
            return Err(S3Error::new(S3ErrorCode::KeyTooLongError));
        }
    }
    Ok(Target {
        bucket,
        key,
        decoded_path,
        virtual_hosted,
    })
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split(']').next().map(|h| &h[1..]).unwrap_or(host);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

/// Checks S3's bucket naming rules (AWS S3 User Guide, "General purpose bucket naming rules").
pub fn validate_bucket_name(name: &str) -> S3Result<()> {
    let invalid = || Err(S3Error::new(S3ErrorCode::InvalidBucketName).field("BucketName", name));
    let bytes = name.as_bytes();
    if bytes.len() < BUCKET_NAME_BYTES_MIN || bytes.len() > BUCKET_NAME_BYTES_MAX {
        return invalid();
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
    {
        return invalid();
    }
    let edge_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !edge_ok(bytes[0]) || !edge_ok(bytes[bytes.len() - 1]) {
        return invalid();
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return invalid();
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return invalid();
    }
    if name.starts_with("xn--")
        || name.starts_with("sthree-")
        || name.ends_with("-s3alias")
        || name.ends_with("--ol-s3")
    {
        return invalid();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_decode_into_one_buffer_in_order() {
        // Goal: each name and value comes back decoded, in order, with empty values, repeated
        // names and empty parts as sent; a bad escape or a piece that is not UTF-8 is refused
        // wherever it sits (the pieces share one buffer, so each is checked on its own).
        let query = parse_query(
            "X-Amz-Credential=AK%2F20261203%2Fus-east-1&&uploads&prefix=a%20b&prefix=&x=%E2%82%AC",
        )
        .unwrap();
        let pairs: Vec<(&str, &str)> = query.iter().collect();
        assert_eq!(
            pairs,
            [
                ("X-Amz-Credential", "AK/20261203/us-east-1"),
                ("uploads", ""),
                ("prefix", "a b"),
                ("prefix", ""),
                ("x", "\u{20ac}"),
            ]
        );
        assert_eq!((query.len(), query.get("prefix")), (5, Some("a b")));
        assert!(query.contains("uploads") && !query.contains("upload"));
        assert_eq!(query.get("missing"), None);
        assert_eq!(query, QueryPairs::from_pairs(pairs.iter().copied()));
        assert!(parse_query("").unwrap().is_empty());
        // The last: two halves of "é" in two pieces, whole only if the buffer were checked at once.
        for bad in ["a=%zz", "a=%4", "%ff=1", "a=1&b=%c3", "a=%c3&%a9=1"] {
            let error = parse_query(bad).unwrap_err();
            assert_eq!(error.code, S3ErrorCode::InvalidArgument, "{bad}");
        }
    }

    /// The decoding `push_percent_decoded` replaced (f04e472's `percent_decode_into`): the whole
    /// piece decoded byte by byte, then checked as UTF-8.
    fn reference_decode(text: &str) -> S3Result<String> {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut index = 0;
        while index < bytes.len() {
            if bytes[index] != b'%' {
                out.push(bytes[index]);
                index += 1;
                continue;
            }
            let digit = |offset: usize| {
                bytes
                    .get(index + offset)
                    .and_then(|&byte| char::from(byte).to_digit(16))
            };
            let (Some(high), Some(low)) = (digit(1), digit(2)) else {
                return Err(S3Error::with_message(
                    S3ErrorCode::InvalidArgument,
                    "Invalid percent-encoding in URI",
                ));
            };
            out.push((high * 16 + low) as u8);
            index += 3;
        }
        String::from_utf8(out).map_err(|_| {
            S3Error::with_message(S3ErrorCode::InvalidArgument, "URI is not valid UTF-8")
        })
    }

    #[test]
    fn query_pieces_decode_as_the_whole_text_would() {
        // Goal: the query's piecewise decoding (plain runs and ASCII escapes appended as they
        // are, the rest checked from the first non-ASCII escape on) accepts and yields exactly
        // what decoding the whole piece and checking it as UTF-8 does, for every pair of these
        // fragments: plain, raw UTF-8, ASCII and non-ASCII escapes, split characters, bad escapes.
        let fragments = [
            "",
            "plain",
            "a%2Fb",
            "%41",
            "%7f",
            "%e2%82%ac",
            "\u{e9}",
            "x%C3%A9y%2F",
            "%2F%e2%82%ac%2F",
            "%",
            "%4",
            "%zz",
            "%g1",
            "a%c3",
            "%a9",
            "%c3",
            "%80",
            "%ff",
            "\u{20ac}%2f",
            "%2",
            "%%41",
        ];
        let mut scratch = Vec::new();
        for first in fragments {
            for second in fragments {
                let piece = format!("{first}{second}");
                let mut out = String::from("kept");
                let piecewise = push_percent_decoded(&piece, &mut out, &mut scratch)
                    .map(|()| out[4..].to_string());
                let whole = reference_decode(&piece);
                match (&piecewise, &whole) {
                    (Ok(a), Ok(b)) => assert_eq!(a, b, "{piece}"),
                    (Err(a), Err(b)) => {
                        assert_eq!((&a.code, &a.message), (&b.code, &b.message), "{piece}")
                    }
                    _ => panic!("{piece}: {piecewise:?} against {whole:?}"),
                }
            }
        }
    }

    fn domains() -> Vec<String> {
        vec!["localhost".to_string(), "s3.example.com".to_string()]
    }

    #[test]
    fn path_and_virtual_host_style() {
        // Goal: the AWS documentation's addressing forms resolve to the same bucket and key.
        type Case<'a> = (Option<&'a str>, &'a str, Option<&'a str>, Option<&'a str>);
        let cases: &[Case] = &[
            (Some("127.0.0.1:9000"), "/", None, None),
            (Some("127.0.0.1:9000"), "/bucket", Some("bucket"), None),
            (Some("127.0.0.1:9000"), "/bucket/", Some("bucket"), None),
            (
                Some("127.0.0.1:9000"),
                "/bucket/photos/2006/February/sample.jpg",
                Some("bucket"),
                Some("photos/2006/February/sample.jpg"),
            ),
            (
                Some("bucket.s3.example.com"),
                "/photos/puppy.jpg",
                Some("bucket"),
                Some("photos/puppy.jpg"),
            ),
            (
                Some("my.dotted.bucket.localhost:9000"),
                "/a//b/../c",
                Some("my.dotted.bucket"),
                Some("a//b/../c"),
            ),
            (
                Some("localhost:9000"),
                "/bucket/key",
                Some("bucket"),
                Some("key"),
            ),
            (Some("bucket.localhost:9000"), "/", Some("bucket"), None),
            (
                None,
                "/b/k%20with%20space%2B%25",
                Some("b"),
                Some("k with space+%"),
            ),
            (Some("x"), "/b/%E2%82%AC", Some("b"), Some("€")),
        ];
        for (host, path, bucket, key) in cases {
            let target = resolve(*host, path, &domains()).unwrap();
            assert_eq!(target.bucket.as_deref(), *bucket, "{host:?} {path}");
            assert_eq!(target.key.as_deref(), *key, "{host:?} {path}");
        }
    }

    #[test]
    fn bad_encoding_and_long_keys_are_errors() {
        // Goal: malformed escapes, non-UTF-8 and keys over 1024 bytes are refused with S3 codes.
        assert_eq!(
            resolve(None, "/b/%zz", &domains()).unwrap_err().code,
            S3ErrorCode::InvalidArgument
        );
        assert_eq!(
            resolve(None, "/b/%", &domains()).unwrap_err().code,
            S3ErrorCode::InvalidArgument
        );
        for bad in ["/b/%ff", "/b/k%4", "/b/k%4g", "/b/%C3%28", "/b/ok%2"] {
            assert_eq!(
                resolve(None, bad, &domains()).unwrap_err().code,
                S3ErrorCode::InvalidArgument,
                "{bad}"
            );
        }
        // Escapes decode in either case of hex, between plain runs, and a lone `+` stays a `+`.
        assert_eq!(percent_decode("a%e2%82%ACb+%2fc").unwrap(), "a€b+/c");
        assert_eq!(percent_decode("%41%42").unwrap(), "AB");
        assert_eq!(percent_decode("plain").unwrap(), "plain");
        let long = format!("/b/{}", "k".repeat(KEY_BYTES_MAX + 1));
        assert_eq!(
            resolve(None, &long, &domains()).unwrap_err().code,
            S3ErrorCode::KeyTooLongError
        );
        let exact = format!("/b/{}", "k".repeat(KEY_BYTES_MAX));
        assert!(resolve(None, &exact, &domains()).is_ok());
    }

    #[test]
    fn bucket_name_rules() {
        // Goal: names valid and invalid per the AWS naming rules.
        for good in ["abc", "my-bucket", "my.bucket.1", "a".repeat(63).as_str()] {
            assert!(validate_bucket_name(good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "ABC",
            "-abc",
            "abc-",
            "a..b",
            "192.168.1.1",
            "xn--abc",
            "a_b",
            "a".repeat(64).as_str(),
            "abc-s3alias",
        ] {
            assert!(validate_bucket_name(bad).is_err(), "{bad}");
        }
    }
}

/// Encodes a key the way S3 does for `encoding-type=url` (form encoding: unreserved characters
/// and '/' kept, space as '+', every other byte `%XX`); clients decode with `unquote_plus`.
pub fn url_encode_key(key: &str) -> String {
    let mut output = String::with_capacity(key.len() + 8);
    for &byte in key.as_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                output.push(byte as char)
            }
            b' ' => output.push('+'),
            _ => output.push_str(&format!("%{byte:02X}")),
        }
    }
    output
}

#[cfg(test)]
mod encoding_tests {
    use super::*;

    #[test]
    fn url_encoding_of_keys() {
        // Goal: spaces, '+', '%', control characters and unicode encode as S3 does.
        assert_eq!(url_encode_key("a b+c%d/é\u{1}"), "a+b%2Bc%25d/%C3%A9%01");
    }
}
