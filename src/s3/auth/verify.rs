//! Verifies a request's signature against the claimed user's secret: SigV4 here (Authorization
//! header or presigned query, deciding how the payload is checked while it streams), SigV2 in
//! `verify_v2`; what both share is in `shared`.

use std::borrow::Cow;

use super::key_cache::SigningKeyCache;
use super::shared::{
    hex_bytes, malformed, parse_http_date, parse_payload_mode, too_skewed, AuthContext,
    ChunkSigning, PayloadMode, VerifyInput,
};
use super::sigv4::{self, parse_authorization, parse_credential, AuthorizationHeader};
use crate::http::RequestHead;
use crate::limits::REQUEST_TIME_SKEW_MAX_SECONDS;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::secret::{constant_time_eq, Secret};
use sha2::{Digest, Sha256};

/// Longest validity of a presigned URL (S3 API Reference, "Authenticating Requests: Using Query
/// Parameters": X-Amz-Expires up to 604,800 seconds, 7 days).
pub const PRESIGNED_EXPIRES_SECONDS_MAX: i64 = 604_800;

/// Whether the request carries no authentication at all (no `Authorization` header, no
/// query-string signature of either version): S3 then serves only what ACLs grant to AllUsers.
pub fn is_anonymous(head: &RequestHead, query: &crate::s3::path::QueryPairs) -> bool {
    head.header("authorization").is_none()
        && !query.iter().any(|(name, _)| {
            matches!(
                name,
                "X-Amz-Algorithm" | "X-Amz-Credential" | "AWSAccessKeyId" | "Signature"
            )
        })
}

/// The access key a request claims to be signed with (unverified), so its secret can be fetched
/// before `verify_request` runs.
pub fn claimed_access_key<'a>(
    head: &'a RequestHead,
    query: &'a crate::s3::path::QueryPairs,
) -> Option<&'a str> {
    if let Some((_, credential)) = query.iter().find(|(name, _)| *name == "X-Amz-Credential") {
        return parse_credential(credential).map(|parsed| parsed.access_key);
    }
    if let Some((_, access_key)) = query.iter().find(|(name, _)| *name == "AWSAccessKeyId") {
        return Some(access_key);
    }
    let authorization = head.header("authorization")?;
    if let Some((access_key, _)) = super::verify_v2::parse_v2_authorization(authorization) {
        return Some(access_key);
    }
    sigv4::authorization_access_key(authorization)
}

/// Verifies the request's signature with the secret `lookup` returns for its access key.
// Long on purpose: one pass in AWS's order (header or query auth, time window, credential scope,
// payload mode, signature), each step's error as S3 words it.
pub fn verify_request(
    input: &VerifyInput<'_>,
    lookup: impl Fn(&str) -> Option<Secret>,
    cache: &mut SigningKeyCache,
) -> S3Result<AuthContext> {
    if input.query.contains("X-Amz-Algorithm") {
        return verify_presigned(input, lookup, cache);
    }
    if input
        .query
        .iter()
        .any(|(name, _)| name == "AWSAccessKeyId" || name == "Signature")
    {
        return super::verify_v2::verify_v2(input, lookup);
    }
    let Some(value) = input.head.header("authorization") else {
        return Err(S3Error::with_message(
            S3ErrorCode::AccessDenied,
            "Anonymous access is not allowed",
        ));
    };
    if value.starts_with("AWS ") {
        return super::verify_v2::verify_v2(input, lookup);
    }
    let authorization = parse_authorization(value)
        .ok_or_else(|| malformed("The authorization header is malformed."))?;
    check_scope(&authorization, input.region, input.region_any)?;
    let secret = lookup(authorization.access_key)
        .ok_or_else(|| S3Error::new(S3ErrorCode::InvalidAccessKeyId))?;
    let (request_seconds, amz_date) = request_time(input.head).ok_or_else(|| {
        S3Error::with_message(
            S3ErrorCode::AccessDenied,
            "AWS authentication requires a valid Date or x-amz-date header",
        )
    })?;
    let amz_date = &*amz_date;
    if !amz_date.starts_with(authorization.date) {
        return Err(malformed(
            "The authorization header is malformed; the credential date does not match x-amz-date.",
        ));
    }
    if (input.now_seconds - request_seconds).abs() > REQUEST_TIME_SKEW_MAX_SECONDS {
        return Err(too_skewed(amz_date, input.now_seconds));
    }
    let payload_hash = input.head.header("x-amz-content-sha256").ok_or_else(|| {
        S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "Missing required header for this request: x-amz-content-sha256",
        )
    })?;
    let canonical_query = sigv4::canonical_query_of(input.query.iter());
    let (payload, signing_key) = check_signature(
        input,
        &authorization,
        &secret,
        payload_hash,
        amz_date,
        &canonical_query,
        cache,
    )?;
    let chunk_signing =
        matches!(payload, PayloadMode::StreamingSigned { .. }).then(|| ChunkSigning {
            signing_key,
            amz_date: amz_date.to_string(),
            scope: authorization.scope.to_string(),
            seed_signature: authorization.signature.to_string(),
        });
    Ok(AuthContext {
        access_key: authorization.access_key.to_string(),
        payload,
        chunk_signing,
    })
}

fn check_scope(authorization: &AuthorizationHeader, region: &str, any: bool) -> S3Result<()> {
    if authorization.service != "s3" {
        return Err(malformed(format!("The authorization header is malformed; incorrect service \"{}\". This endpoint belongs to \"s3\".", authorization.service)));
    }
    // Under --region-any the scope's own region is used to verify (the signing key is derived
    // from it), so only its form is checked.
    let accepted = if any {
        crate::config::is_well_formed_region(authorization.region)
    } else {
        authorization.region == region
    };
    if !accepted {
        return Err(malformed(format!(
            "The authorization header is malformed; the region '{}' is wrong; expecting '{region}'",
            authorization.region
        ))
        .field("Region", region));
    }
    Ok(())
}

/// Recomputes the request's signature and compares it in constant time; returns the payload mode
/// and the signing key (aws-chunked bodies keep using it).
fn check_signature(
    input: &VerifyInput<'_>,
    authorization: &AuthorizationHeader,
    secret: &Secret,
    payload_hash: &str,
    amz_date: &str,
    canonical_query: &str,
    cache: &mut SigningKeyCache,
) -> S3Result<(PayloadMode, [u8; 32])> {
    let payload = parse_payload_mode(payload_hash)?;
    let signing_key = cache.get(
        authorization.access_key,
        secret,
        authorization.date,
        authorization.region,
        authorization.service,
    );
    let scope = authorization.scope;
    let canonical = CanonicalInput {
        input,
        signed_headers: authorization.signed_headers,
        canonical_query,
        payload_hash,
    };
    let mut hasher = Sha256::new();
    canonical.write(&mut |bytes| hasher.update(bytes))?;
    let signature =
        sigv4::sign_canonical_hash(&signing_key, amz_date, scope, &hasher.finalize().into());
    if !constant_time_eq(&signature, authorization.signature.as_bytes()) {
        // Only now the strings, for the error's fields.
        let canonical_request = canonical.text()?;
        let string_to_sign = sigv4::string_to_sign(amz_date, scope, &canonical_request);
        return Err(signature_mismatch(
            authorization.access_key,
            &authorization.signature,
            &canonical_request,
            &string_to_sign,
        ));
    }
    Ok((payload, signing_key))
}

/// SignatureDoesNotMatch as S3 words it, with what the server signed (clients print these fields
/// in debug mode to find their mistake): the strings and their bytes in hex.
fn signature_mismatch(
    access_key: &str,
    provided: &str,
    canonical_request: &str,
    string_to_sign: &str,
) -> S3Error {
    S3Error::new(S3ErrorCode::SignatureDoesNotMatch)
        .field("AWSAccessKeyId", access_key.to_string())
        .field("StringToSign", string_to_sign.to_string())
        .field("SignatureProvided", provided.to_string())
        .field("StringToSignBytes", hex_bytes(string_to_sign))
        .field("CanonicalRequest", canonical_request.to_string())
        .field("CanonicalRequestBytes", hex_bytes(canonical_request))
}

/// What a request's canonical request is made of (`sigv4::canonical_request` shows its layout).
struct CanonicalInput<'a> {
    input: &'a VerifyInput<'a>,
    signed_headers: &'a str,
    canonical_query: &'a str,
    payload_hash: &'a str,
}

impl CanonicalInput<'_> {
    /// Hands the canonical request to `out` piece by piece (every request is verified: it is
    /// hashed as it is written, never built as a string), checking the signed header list on
    /// the way: a name that is empty or not lower-case, or no `host`, is malformed; a signed
    /// header the request lacks cannot match.
    fn write(&self, out: &mut impl FnMut(&[u8])) -> S3Result<()> {
        out(self.input.head.method_text().as_bytes());
        out(b"\n");
        sigv4::uri_encode_into(self.input.decoded_path, true, out);
        out(b"\n");
        out(self.canonical_query.as_bytes());
        out(b"\n");
        let mut saw_host = false;
        for name in self.signed_headers.split(';') {
            if name.is_empty() || name.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(malformed(
                    "The authorization header is malformed; SignedHeaders is invalid.",
                ));
            }
            saw_host |= name == "host";
            let mut values = self
                .input
                .head
                .headers()
                .filter(|(header, _)| *header == name)
                .peekable();
            if values.peek().is_none() {
                return Err(S3Error::new(S3ErrorCode::SignatureDoesNotMatch));
            }
            out(name.as_bytes());
            out(b":");
            for (index, (_, value)) in values.enumerate() {
                if index > 0 {
                    out(b",");
                }
                sigv4::canonical_header_value_into(value, out);
            }
            out(b"\n");
        }
        if !saw_host {
            return Err(malformed(
                "The authorization header is malformed; host must be a signed header.",
            ));
        }
        out(b"\n");
        out(self.signed_headers.as_bytes());
        out(b"\n");
        out(self.payload_hash.as_bytes());
        Ok(())
    }

    /// The canonical request as text (for SignatureDoesNotMatch's fields).
    fn text(&self) -> S3Result<String> {
        let mut text = Vec::with_capacity(256);
        self.write(&mut |bytes| text.extend_from_slice(bytes))?;
        Ok(String::from_utf8_lossy(&text).into_owned())
    }
}

// Long on purpose: the query-string checks in the order AWS documents them ("Authenticating
// Requests: Using Query Parameters"), each mapped to its own S3 error; split, the order is lost.
fn verify_presigned(
    input: &VerifyInput<'_>,
    lookup: impl Fn(&str) -> Option<Secret>,
    cache: &mut SigningKeyCache,
) -> S3Result<AuthContext> {
    let get = |name: &str| input.query.get(name);
    let denied = |message: &'static str| S3Error::with_message(S3ErrorCode::AccessDenied, message);
    let query_malformed = |message: &'static str| {
        S3Error::with_message(S3ErrorCode::AuthorizationQueryParametersError, message)
    };
    if get("X-Amz-Algorithm") != Some(sigv4::ALGORITHM) {
        return Err(query_malformed(
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
        ));
    }
    let (Some(credential), Some(amz_date), Some(expires), Some(signed_headers), Some(signature)) = (
        get("X-Amz-Credential"),
        get("X-Amz-Date"),
        get("X-Amz-Expires"),
        get("X-Amz-SignedHeaders"),
        get("X-Amz-Signature"),
    ) else {
        return Err(query_malformed(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
        ));
    };
    let sigv4::Credential {
        access_key,
        date,
        region,
        service,
        scope,
    } = parse_credential(credential)
        .ok_or_else(|| query_malformed("Error parsing the X-Amz-Credential parameter"))?;
    let authorization = AuthorizationHeader {
        access_key,
        date,
        region,
        service,
        scope,
        signed_headers,
        signature: sigv4::lowercase_hex(signature),
    };
    check_scope(&authorization, input.region, input.region_any)?;
    // Out-of-range lifetimes are malformed queries on S3 (400, as ceph/s3-tests#462 records
    // against the suite's 403); a zero lifetime is well-formed and simply expired (403 below).
    let expires: i64 = expires
        .parse()
        .map_err(|_| query_malformed("X-Amz-Expires should be a number"))?;
    if expires > PRESIGNED_EXPIRES_SECONDS_MAX {
        return Err(query_malformed(
            "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds",
        ));
    }
    if expires < 0 {
        return Err(query_malformed("X-Amz-Expires must be non-negative"));
    }
    let request_seconds = parse_amz_date(amz_date).ok_or_else(|| {
        query_malformed("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    })?;
    if input.now_seconds >= request_seconds + expires {
        return Err(denied("Request has expired"));
    }
    if request_seconds - input.now_seconds > REQUEST_TIME_SKEW_MAX_SECONDS {
        return Err(denied("Request is not valid yet"));
    }
    let secret = lookup(authorization.access_key)
        .ok_or_else(|| S3Error::new(S3ErrorCode::InvalidAccessKeyId))?;
    let payload_hash = input
        .head
        .header("x-amz-content-sha256")
        .filter(|_| {
            signed_headers
                .split(';')
                .any(|h| h == "x-amz-content-sha256")
        })
        .unwrap_or("UNSIGNED-PAYLOAD");
    let canonical_query = sigv4::canonical_query_of(
        input
            .query
            .iter()
            .filter(|(name, _)| *name != "X-Amz-Signature"),
    );
    let (payload, _) = check_signature(
        input,
        &authorization,
        &secret,
        payload_hash,
        amz_date,
        &canonical_query,
        cache,
    )?;
    // The URL signs only the headers it lists: any other `x-amz-*` header would change what the
    // request does (an ACL, a copy source, tags, …) without its signer's consent. S3 refuses it
    // (403 AccessDenied, "There were headers present in the request which were not signed");
    // `x-amz-content-sha256` alone may ride unsigned, as in S3.
    let unsigned: Vec<&str> = input
        .head
        .headers()
        .map(|(name, _)| name)
        .filter(|name| name.starts_with("x-amz-") && *name != "x-amz-content-sha256")
        .filter(|name| !signed_headers.split(';').any(|signed| signed == *name))
        .collect();
    if !unsigned.is_empty() {
        return Err(S3Error::with_message(
            S3ErrorCode::AccessDenied,
            "There were headers present in the request which were not signed",
        )
        .field("HeadersNotSigned", unsigned.join(", ")));
    }
    // A presigned URL has no seed signature for chunk signatures to chain from: a streaming
    // signed body under one could not be verified, so it is refused rather than taken unchecked.
    if matches!(payload, PayloadMode::StreamingSigned { .. }) {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "Presigned requests cannot carry a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body.",
        ));
    }
    Ok(AuthContext {
        access_key: authorization.access_key.to_string(),
        payload,
        chunk_signing: None,
    })
}

/// The request time SigV4 signed: `x-amz-date` in ISO 8601 basic format, else the `Date` header
/// (SigV4 allows either; botocore signs with `Date` when a caller set one), else an `x-amz-date`
/// written as an HTTP date. Returns the seconds and the ISO 8601 basic form the string to sign
/// carries.
fn request_time(head: &RequestHead) -> Option<(i64, Cow<'_, str>)> {
    let amz_date = head.header("x-amz-date");
    if let Some(seconds) = amz_date.and_then(parse_amz_date) {
        return Some((seconds, Cow::Borrowed(amz_date?)));
    }
    let seconds = head
        .header("date")
        .and_then(parse_http_date)
        .or_else(|| amz_date.and_then(parse_http_date))?;
    Some((seconds, Cow::Owned(format_amz_date(seconds)?)))
}

/// Seconds since the epoch as `YYYYMMDDTHHMMSSZ`.
fn format_amz_date(seconds: i64) -> Option<String> {
    let time = ::time::OffsetDateTime::from_unix_timestamp(seconds).ok()?;
    Some(format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    ))
}

/// Parses `YYYYMMDDTHHMMSSZ`.
pub fn parse_amz_date(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 16 || bytes[8] != b'T' || bytes[15] != b'Z' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (number(0..4)?, number(4..6)?, number(6..8)?);
    let (hour, minute, second) = (number(9..11)?, number(11..13)?, number(13..15)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::head::{parse_head, HeadParse};

    /// AWS's "GET Object" header-auth example (S3 API Reference, "Signature Calculations for the
    /// Authorization Header"), its Range value written as `range`.
    fn aws_example(range: &str, signature: &str) -> RequestHead {
        let bytes = format!(
            "GET /test.txt HTTP/1.1\r\nHost: examplebucket.s3.amazonaws.com\r\nRange: {range}\r\n\
             x-amz-content-sha256: {}\r\nx-amz-date: 20130524T000000Z\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/\
             s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,\
             Signature={signature}\r\n\r\n",
            sigv4::EMPTY_SHA256_HEX
        );
        match parse_head(bytes.as_bytes()).unwrap() {
            HeadParse::Complete(head, _) => head,
            HeadParse::Partial => panic!("partial"),
        }
    }

    fn verify_aws_example(head: &RequestHead) -> S3Result<AuthContext> {
        let input = VerifyInput {
            head,
            decoded_path: "/test.txt",
            query: &crate::s3::path::QueryPairs::default(),
            virtual_host_bucket: Some("examplebucket"),
            bucket_only: false,
            region: "us-east-1",
            region_any: false,
            now_seconds: 1_369_353_600,
        };
        let lookup = |key: &str| {
            (key == "AKIAIOSFODNN7EXAMPLE")
                .then(|| Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"))
        };
        verify_request(&input, lookup, &mut SigningKeyCache::new())
    }

    #[test]
    fn the_verifier_signs_what_aws_publishes() {
        // Goal: the canonical request the verifier hashes as it writes is AWS's, byte for byte:
        // AWS's example verifies with AWS's signature, also with its Range value padded by runs
        // of spaces and tabs (SigV4 collapses them); with a wrong signature, the
        // SignatureDoesNotMatch fields are AWS's published canonical request and string to sign.
        let published = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
        for range in ["bytes=0-9", "bytes=0-9\t ", "bytes=0-9   "] {
            let verified = verify_aws_example(&aws_example(range, published));
            assert_eq!(
                verified.map(|auth| auth.access_key).ok().as_deref(),
                Some("AKIAIOSFODNN7EXAMPLE"),
                "{range:?}"
            );
        }
        let wrong = "0".repeat(64);
        let error = verify_aws_example(&aws_example("bytes=0-9", &wrong)).unwrap_err();
        assert_eq!(error.code, S3ErrorCode::SignatureDoesNotMatch);
        let field = |name: &str| {
            error
                .fields
                .iter()
                .find(|(field, _)| *field == name)
                .map(|(_, value)| value.as_str())
        };
        assert_eq!(
            field("CanonicalRequest"),
            Some(
                "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n\
                 x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
                 x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n\
                 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            )
        );
        assert_eq!(
            field("StringToSign"),
            Some(
                "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n\
                 7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"
            )
        );
        assert_eq!(field("SignatureProvided"), Some(wrong.as_str()));
    }

    #[test]
    fn amz_dates() {
        // Goal: x-amz-date parses to the right epoch second; junk does not parse.
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("20130524T000000Z"), Some(1_369_353_600));
        assert_eq!(parse_amz_date("20240229T235959Z"), Some(1_709_251_199));
        for bad in [
            "2013-05-24T00:00:00Z",
            "20131324T000000Z",
            "20130524T000000",
            "2013052AT000000Z",
            "",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }
}
