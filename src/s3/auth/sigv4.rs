//! SigV4 as pure functions: canonical request, string to sign, key derivation, chunk signatures
//! (AWS General Reference, "Signature Version 4 signing process"; S3 API Reference, "Signature
//! Calculations for the Authorization Header" and "Transferring Payload in Multiple Chunks").

use std::borrow::Cow;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The SigV4 algorithm name.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// SHA-256 of the empty string, hex.
pub const EMPTY_SHA256_HEX: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request")`.
pub fn derive_signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let date_key = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let region_key = hmac_sha256(&date_key, region.as_bytes());
    let service_key = hmac_sha256(&region_key, service.as_bytes());
    hmac_sha256(&service_key, b"aws4_request")
}

/// Hex signature of `string_to_sign` under `signing_key`.
pub fn sign(signing_key: &[u8; 32], string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(signing_key, string_to_sign.as_bytes()))
}

/// URI-encodes bytes the way SigV4 requires: unreserved characters kept, everything else `%XX`
/// (uppercase); `/` kept only when `keep_slash`.
pub fn uri_encode(input: &str, keep_slash: bool) -> String {
    let mut output = Vec::with_capacity(input.len() + 8);
    uri_encode_into(input, keep_slash, &mut |bytes| {
        output.extend_from_slice(bytes)
    });
    String::from_utf8(output).expect("URI encoding yields ASCII")
}

/// The bytes SigV4's URI encoding leaves as they are: `A-Z a-z 0-9 - _ . ~`, as a table (one
/// load per byte; a presigned URL's query is a few hundred of them, encoded on every request).
const UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~');
        byte += 1;
    }
    table
};

/// `uri_encode`, handing the encoded text to `out` a run at a time (no string built).
pub fn uri_encode_into(input: &str, keep_slash: bool, out: &mut impl FnMut(&[u8])) {
    let bytes = input.as_bytes();
    let mut run_start = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        if UNRESERVED[usize::from(byte)] || (keep_slash && byte == b'/') {
            continue;
        }
        out(&bytes[run_start..index]);
        const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
        out(&[
            b'%',
            HEX_UPPER[usize::from(byte >> 4)],
            HEX_UPPER[usize::from(byte & 0xf)],
        ]);
        run_start = index + 1;
    }
    out(&bytes[run_start..]);
}

/// The canonical query string from decoded pairs (signature parameter already removed): each
/// name and value URI-encoded, sorted by name then value, `name=value` joined by `&`. Encoded
/// back to back into one buffer and sorted as spans of it (a presigned URL has six pairs; a
/// `String` per name and value, and one per joined pair, were most of this function's cost).
pub fn canonical_query(pairs: &[(String, String)]) -> String {
    canonical_query_of(
        pairs
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
    )
}

/// Room a canonical query starts with: a presigned URL's pairs, encoded (its credential alone is
/// ~60 bytes), fit without growing.
const CANONICAL_QUERY_CAPACITY_BYTES: usize = 384;

/// `canonical_query` of borrowed pairs (a presigned URL's, less its signature, without copying
/// them first).
pub fn canonical_query_of<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut pairs = pairs.peekable();
    // Most requests signed in a header have no query: nothing to encode, nothing to allocate.
    if pairs.peek().is_none() {
        return String::new();
    }
    let mut encoded = Vec::with_capacity(CANONICAL_QUERY_CAPACITY_BYTES);
    let mut spans = Vec::with_capacity(8);
    for (name, value) in pairs {
        let name_start = encoded.len();
        uri_encode_into(name, false, &mut |bytes| encoded.extend_from_slice(bytes));
        let value_start = encoded.len();
        uri_encode_into(value, false, &mut |bytes| encoded.extend_from_slice(bytes));
        spans.push((name_start..value_start, value_start..encoded.len()));
    }
    spans.sort_by(|(a_name, a_value), (b_name, b_value)| {
        (&encoded[a_name.clone()], &encoded[a_value.clone()])
            .cmp(&(&encoded[b_name.clone()], &encoded[b_value.clone()]))
    });
    let mut text = Vec::with_capacity(encoded.len() + 2 * spans.len());
    for (index, (name, value)) in spans.into_iter().enumerate() {
        if index > 0 {
            text.push(b'&');
        }
        text.extend_from_slice(&encoded[name]);
        text.push(b'=');
        text.extend_from_slice(&encoded[value]);
    }
    String::from_utf8(text).expect("URI encoding yields ASCII")
}

/// A header value as SigV4 canonicalizes it: trimmed, inner runs of spaces collapsed.
pub fn canonical_header_value(value: &str) -> String {
    let mut output = Vec::with_capacity(value.len());
    canonical_header_value_into(value, &mut |bytes| output.extend_from_slice(bytes));
    String::from_utf8(output).expect("words of a str, joined by spaces")
}

/// `canonical_header_value`, handed to `out` a word at a time (no string built).
pub fn canonical_header_value_into(value: &str, out: &mut impl FnMut(&[u8])) {
    for (index, word) in value.split_whitespace().enumerate() {
        if index > 0 {
            out(b" ");
        }
        out(word.as_bytes());
    }
}

/// The canonical request.
pub fn canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    canonical_headers: &[(String, String)],
    signed_headers: &str,
    payload_hash: &str,
) -> String {
    let mut text = String::with_capacity(256);
    text.push_str(method);
    text.push('\n');
    text.push_str(canonical_uri);
    text.push('\n');
    text.push_str(canonical_query);
    text.push('\n');
    for (name, value) in canonical_headers {
        text.push_str(name);
        text.push(':');
        text.push_str(value);
        text.push('\n');
    }
    text.push('\n');
    text.push_str(signed_headers);
    text.push('\n');
    text.push_str(payload_hash);
    text
}

/// The string to sign for a request.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// The request's signature, lower-case hex, from the SHA-256 of its canonical request: what
/// `sign(key, string_to_sign(…))` answers, with the string to sign fed to the HMAC in pieces
/// and the hex written into arrays (every request is verified: no strings built on the way).
pub fn sign_canonical_hash(
    signing_key: &[u8; 32],
    amz_date: &str,
    scope: &str,
    canonical_request_sha256: &[u8; 32],
) -> [u8; 64] {
    let mut hash_hex = [0u8; 64];
    hex::encode_to_slice(canonical_request_sha256, &mut hash_hex)
        .expect("64 hex digits for 32 bytes");
    let mut mac = HmacSha256::new_from_slice(signing_key).expect("HMAC takes any key length");
    for piece in [
        ALGORITHM.as_bytes(),
        b"\n",
        amz_date.as_bytes(),
        b"\n",
        scope.as_bytes(),
        b"\n",
        &hash_hex,
    ] {
        mac.update(piece);
    }
    let mut signature = [0u8; 64];
    hex::encode_to_slice(mac.finalize().into_bytes(), &mut signature)
        .expect("64 hex digits for 32 bytes");
    signature
}

/// The string to sign for one aws-chunked chunk, chained from the previous signature.
pub fn chunk_string_to_sign(
    amz_date: &str,
    scope: &str,
    previous_signature: &str,
    chunk_sha256_hex: &str,
) -> String {
    format!("{ALGORITHM}-PAYLOAD\n{amz_date}\n{scope}\n{previous_signature}\n{EMPTY_SHA256_HEX}\n{chunk_sha256_hex}")
}

/// The string to sign for the trailer of a signed aws-chunked body.
pub fn trailer_string_to_sign(
    amz_date: &str,
    scope: &str,
    previous_signature: &str,
    trailer_sha256_hex: &str,
) -> String {
    format!("{ALGORITHM}-TRAILER\n{amz_date}\n{scope}\n{previous_signature}\n{trailer_sha256_hex}")
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header (or of a presigned URL's query),
/// borrowed from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationHeader<'a> {
    /// Access key id.
    pub access_key: &'a str,
    /// `YYYYMMDD` of the scope.
    pub date: &'a str,
    /// Region of the scope.
    pub region: &'a str,
    /// Service of the scope (`s3`).
    pub service: &'a str,
    /// `date/region/service/aws4_request`: the Credential after its access key.
    pub scope: &'a str,
    /// Signed header names, lower-case, `;`-joined as sent.
    pub signed_headers: &'a str,
    /// Hex signature, lower-case (copied only when it was sent in upper case).
    pub signature: Cow<'a, str>,
}

/// `hex` in lower case, copied only if it has upper-case letters.
pub fn lowercase_hex(hex: &str) -> Cow<'_, str> {
    if hex.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(hex.to_ascii_lowercase())
    } else {
        Cow::Borrowed(hex)
    }
}

/// The parts of a SigV4 Credential `AKID/YYYYMMDD/region/service/aws4_request`, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credential<'a> {
    /// Access key id (everything before the last four `/`-separated parts).
    pub access_key: &'a str,
    /// `YYYYMMDD`.
    pub date: &'a str,
    /// Region.
    pub region: &'a str,
    /// Service (`s3`).
    pub service: &'a str,
    /// `date/region/service/aws4_request`: the Credential after its access key and `/`.
    pub scope: &'a str,
}

/// Parses a Credential `AKID/YYYYMMDD/region/service/aws4_request`; `None` unless it ends in
/// `aws4_request`, has an eight-digit date and names an access key.
pub fn parse_credential(credential: &str) -> Option<Credential<'_>> {
    // The last four parts, from the end (an access key with a '/' stays whole, as `rsplitn(5)`
    // would leave it), each found by memchr's reverse search rather than a `str` pattern's.
    let mut end = credential.len();
    let mut previous = || {
        let slash = memchr::memrchr(b'/', &credential.as_bytes()[..end])?;
        let part = &credential[slash + 1..end];
        end = slash;
        Some(part)
    };
    let terminator = previous()?;
    let service = previous()?;
    let region = previous()?;
    let date = previous()?;
    let access_key = &credential[..end];
    if terminator != "aws4_request"
        || date.len() != 8
        || !date.bytes().all(|b| b.is_ascii_digit())
        || access_key.is_empty()
    {
        return None;
    }
    Some(Credential {
        access_key,
        date,
        region,
        service,
        // rsplitn leaves the access key as the Credential's prefix.
        scope: &credential[access_key.len() + 1..],
    })
}

/// The access key a SigV4 `Authorization` header's Credential names, read without parsing the
/// rest (the verifier parses it whole; this is the key whose secret it needs first, and the one
/// the access log names for a refused request).
pub fn authorization_access_key(value: &str) -> Option<&str> {
    let rest = value.strip_prefix(ALGORITHM)?;
    // The last Credential, as `parse_authorization` keeps it (a header naming two must not
    // fetch one user's secret and verify against the other's key).
    let credential = rest.rsplit(',').find_map(|part| {
        let (name, field) = part.trim().split_once('=')?;
        (name.trim() == "Credential").then(|| field.trim())
    })?;
    // As `parse_credential` reads it: the four scope parts are the last four.
    credential
        .rsplitn(5, '/')
        .nth(4)
        .filter(|key| !key.is_empty())
}

/// Parses the `Authorization` header value; `None` if it is not a well-formed SigV4 header.
pub fn parse_authorization(value: &str) -> Option<AuthorizationHeader<'_>> {
    let rest = value.strip_prefix(ALGORITHM)?.trim_start();
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (name, field) = part.trim().split_once('=')?;
        match name.trim() {
            "Credential" => credential = Some(field.trim()),
            "SignedHeaders" => signed_headers = Some(field.trim()),
            "Signature" => signature = Some(field.trim()),
            _ => return None,
        }
    }
    let Credential {
        access_key,
        date,
        region,
        service,
        scope,
    } = parse_credential(credential?)?;
    let signature = signature?;
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let signed_headers = signed_headers?;
    if signed_headers.is_empty() {
        return None;
    }
    Some(AuthorizationHeader {
        access_key,
        date,
        region,
        service,
        scope,
        signed_headers,
        signature: lowercase_hex(signature),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn credentials_split_from_the_end() {
        // Goal: the scope is the last four parts; an access key keeps any '/' of its own; a
        // missing part, an empty key, a bad date or terminator is refused.
        let parsed = parse_credential("A/K/20261203/us-east-1/s3/aws4_request").unwrap();
        assert_eq!(
            (
                parsed.access_key,
                parsed.date,
                parsed.region,
                parsed.service,
                parsed.scope
            ),
            (
                "A/K",
                "20261203",
                "us-east-1",
                "s3",
                "20261203/us-east-1/s3/aws4_request"
            )
        );
        let parsed = parse_credential("AK/20261203//s3/aws4_request").unwrap();
        assert_eq!((parsed.access_key, parsed.region), ("AK", ""));
        for refused in [
            "20261203/us-east-1/s3/aws4_request",
            "/20261203/us-east-1/s3/aws4_request",
            "AK/2026120/us-east-1/s3/aws4_request",
            "AK/2026120x/us-east-1/s3/aws4_request",
            "AK/20261203/us-east-1/s3/aws4_requests",
            "AK/20261203/us-east-1/s3/",
            "",
        ] {
            assert!(parse_credential(refused).is_none(), "{refused}");
        }
    }

    #[test]
    fn aws_get_object_example() {
        // Goal: the S3 API Reference "GET Object" header-auth example signs to AWS's published value.
        let headers = vec![
            (
                "host".to_string(),
                "examplebucket.s3.amazonaws.com".to_string(),
            ),
            ("range".to_string(), "bytes=0-9".to_string()),
            (
                "x-amz-content-sha256".to_string(),
                EMPTY_SHA256_HEX.to_string(),
            ),
            ("x-amz-date".to_string(), "20130524T000000Z".to_string()),
        ];
        let request = canonical_request(
            "GET",
            "/test.txt",
            "",
            &headers,
            "host;range;x-amz-content-sha256;x-amz-date",
            EMPTY_SHA256_HEX,
        );
        let to_sign = string_to_sign(
            "20130524T000000Z",
            "20130524/us-east-1/s3/aws4_request",
            &request,
        );
        let key = derive_signing_key(SECRET, "20130524", "us-east-1", "s3");
        assert_eq!(
            sign(&key, &to_sign),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
        // The path every request takes: the canonical request hashed, signed in pieces.
        let streamed = sign_canonical_hash(
            &key,
            "20130524T000000Z",
            "20130524/us-east-1/s3/aws4_request",
            &Sha256::digest(request.as_bytes()).into(),
        );
        assert_eq!(
            &streamed,
            b"f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn encodings_handed_out_in_pieces_match_the_strings() {
        // Goal: the piecewise URI encoding and header canonicalization the verifier hashes give
        // the same bytes as the string forms (reserved, multi-byte and space characters; runs of
        // whitespace; empty values).
        for (text, keep_slash) in [
            ("", true),
            ("plain/key.txt", true),
            ("a b/c+d%e~f", true),
            ("a b/c+d%e~f", false),
            ("ünïcødé/ключ", true),
            ("/leading/", false),
        ] {
            let mut pieces = Vec::new();
            uri_encode_into(text, keep_slash, &mut |bytes| {
                pieces.extend_from_slice(bytes)
            });
            assert_eq!(pieces, uri_encode(text, keep_slash).as_bytes(), "{text}");
        }
        assert_eq!(uri_encode("a b/ü", true), "a%20b/%C3%BC");
        // Against an independent per-byte encoder, over every character up to U+07FF.
        let oracle = |text: &str, keep_slash: bool| -> String {
            text.bytes()
                .map(|byte| {
                    let kept = byte.is_ascii_alphanumeric()
                        || b"-_.~".contains(&byte)
                        || (keep_slash && byte == b'/');
                    if kept {
                        (byte as char).to_string()
                    } else {
                        format!("%{byte:02X}")
                    }
                })
                .collect()
        };
        let every: String = (0u32..=0x7ff).filter_map(char::from_u32).collect();
        for keep_slash in [true, false] {
            assert_eq!(uri_encode(&every, keep_slash), oracle(&every, keep_slash));
        }
        for (value, canonical) in [
            ("  spaced   out\tvalue ", "spaced out value"),
            ("", ""),
            ("one", "one"),
        ] {
            assert_eq!(canonical_header_value(value), canonical);
        }
    }

    #[test]
    fn aws_chunked_upload_example() {
        // Goal: the S3 "Transferring Payload in Multiple Chunks" example's seed and chunk signatures.
        let headers = vec![
            ("content-encoding".to_string(), "aws-chunked".to_string()),
            ("content-length".to_string(), "66824".to_string()),
            ("host".to_string(), "s3.amazonaws.com".to_string()),
            (
                "x-amz-content-sha256".to_string(),
                "STREAMING-AWS4-HMAC-SHA256-PAYLOAD".to_string(),
            ),
            ("x-amz-date".to_string(), "20130524T000000Z".to_string()),
            (
                "x-amz-decoded-content-length".to_string(),
                "66560".to_string(),
            ),
            (
                "x-amz-storage-class".to_string(),
                "REDUCED_REDUNDANCY".to_string(),
            ),
        ];
        let signed = "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class";
        let request = canonical_request(
            "PUT",
            "/examplebucket/chunkObject.txt",
            "",
            &headers,
            signed,
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        );
        let scope = "20130524/us-east-1/s3/aws4_request";
        let key = derive_signing_key(SECRET, "20130524", "us-east-1", "s3");
        let seed = sign(&key, &string_to_sign("20130524T000000Z", scope, &request));
        assert_eq!(
            seed,
            "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
        );
        let first = sign(
            &key,
            &chunk_string_to_sign(
                "20130524T000000Z",
                scope,
                &seed,
                &sha256_hex(&[b'a'; 65536]),
            ),
        );
        assert_eq!(
            first,
            "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
        );
        let second = sign(
            &key,
            &chunk_string_to_sign(
                "20130524T000000Z",
                scope,
                &first,
                &sha256_hex(&[b'a'; 1024]),
            ),
        );
        assert_eq!(
            second,
            "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
        );
        let last = sign(
            &key,
            &chunk_string_to_sign("20130524T000000Z", scope, &second, EMPTY_SHA256_HEX),
        );
        assert_eq!(
            last,
            "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
        );
    }

    #[test]
    fn parses_authorization_header() {
        // Goal: the documented header form parses; malformed variants do not.
        let value = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-date,Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024";
        let parsed = parse_authorization(value).unwrap();
        assert_eq!(parsed.access_key, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(parsed.scope, "20130524/us-east-1/s3/aws4_request");
        assert_eq!(parsed.signed_headers, "host;range;x-amz-date");
        for bad in [
            "AWS AKIA:sig",
            "AWS4-HMAC-SHA256 Credential=AK/2013/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=00",
            "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request,Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
            "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/wrong,SignedHeaders=host,Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
        ] {
            assert!(parse_authorization(bad).is_none(), "{bad}");
        }
        // The claimed key is read from the Credential alone: the key the full parse reads, for
        // every header that parses (two Credentials: the last, as the full parse keeps it).
        let signature = "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024";
        for parsed in [
            value.to_string(),
            format!("AWS4-HMAC-SHA256 Credential=alice/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature={signature}, Credential=bob/20130524/us-east-1/s3/aws4_request"),
            format!("AWS4-HMAC-SHA256 Credential=a/b/20130524/r/s3/aws4_request,SignedHeaders=host,Signature={signature}"),
            format!("AWS4-HMAC-SHA256   SignedHeaders=host , Credential = k/20130524/r/s3/aws4_request , Signature={signature}"),
        ] {
            let full = parse_authorization(&parsed).map(|header| header.access_key);
            assert!(full.is_some(), "{parsed}");
            assert_eq!(authorization_access_key(&parsed), full, "{parsed}");
        }
        // A header the full parse refuses may still name its key (the log shows who claimed
        // it); verification then refuses it as malformed before any secret is used.
        let spaced =
            "AWS4-HMAC-SHA256 SignedHeaders=host, Credential = a/b/20130524/r/s3/aws4_request";
        assert_eq!(authorization_access_key(spaced), Some("a/b"));
        for unnamed in [
            "AWS AKIA:sig",
            "AWS4-HMAC-SHA256 SignedHeaders=host",
            "AWS4-HMAC-SHA256 Credential=20130524/us-east-1/s3/aws4_request",
            "AWS4-HMAC-SHA256 Credential=/20130524/us-east-1/s3/aws4_request",
        ] {
            assert_eq!(authorization_access_key(unnamed), None, "{unnamed}");
        }
    }

    #[test]
    fn uri_encoding() {
        // Goal: SigV4 encoding keeps only unreserved characters (and '/' in paths).
        assert_eq!(uri_encode("a b+c/€~", true), "a%20b%2Bc/%E2%82%AC~");
        assert_eq!(uri_encode("a/b", false), "a%2Fb");
        assert_eq!(
            canonical_query(&[("b".into(), "2".into()), ("a".into(), "".into())]),
            "a=&b=2"
        );
        // Sorted by encoded name, then by encoded value: a name that is a prefix of another goes
        // first whatever its value (not as the joined `name=value` strings would sort), and
        // repeated names sort by value.
        let pairs = [("ab", "1"), ("a", "z"), ("a b", "/"), ("a", "y"), ("A", "")];
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        assert_eq!(canonical_query(&pairs), "A=&a=y&a=z&a%20b=%2F&ab=1");
        assert_eq!(canonical_query(&[]), "");
    }
}
