//! Signature Version 2 verification (header `AWS key:signature`, or a presigned query with
//! `AWSAccessKeyId`, `Signature`, `Expires`): the time window or expiry, the payload mode, and the
//! HMAC-SHA1 over `sigv2`'s string to sign.

use super::shared::{
    hex_bytes, malformed, parse_http_date, parse_payload_mode, too_skewed, AuthContext,
    PayloadMode, VerifyInput,
};
use super::sigv2;
use crate::http::RequestHead;
use crate::limits::REQUEST_TIME_SKEW_MAX_SECONDS;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::secret::{constant_time_eq, Secret};

/// `AWS <access key>:<signature>` (SigV2's Authorization header).
pub(super) fn parse_v2_authorization(value: &str) -> Option<(&str, &str)> {
    let credentials = value.strip_prefix("AWS ")?;
    let (access_key, signature) = credentials.trim().split_once(':')?;
    (!access_key.is_empty() && !signature.is_empty()).then_some((access_key, signature))
}

/// How a SigV2 request's body is checked: SigV2 signs none, but a hex `x-amz-content-sha256` is
/// still verified and an unsigned aws-chunked body still de-framed; chunk signatures need SigV4.
fn v2_payload_mode(head: &RequestHead) -> S3Result<PayloadMode> {
    match head.header("x-amz-content-sha256") {
        None => Ok(PayloadMode::Unsigned),
        Some(value) => match parse_payload_mode(value)? {
            PayloadMode::StreamingSigned { .. } => Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "Chunk signatures need AWS4-HMAC-SHA256; this request is signed with Signature Version 2.",
            )),
            mode => Ok(mode),
        },
    }
}

/// What a SigV2 request claims, once its time is acceptable: (access key, signature, the Date
/// line of its string to sign). Header auth: the ±15 min window (weekday-tolerant dates);
/// presigned: `Expires` not passed.
fn v2_claim<'a>(input: &VerifyInput<'a>) -> S3Result<(&'a str, &'a str, String)> {
    let head = input.head;
    let query_value = |name: &str| input.query.get(name);
    let presigned = query_value("Signature").is_some() || query_value("AWSAccessKeyId").is_some();
    if presigned {
        let missing = || {
            S3Error::with_message(
                S3ErrorCode::AccessDenied,
                "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
            )
        };
        let access_key = query_value("AWSAccessKeyId").ok_or_else(missing)?;
        let signature = query_value("Signature").ok_or_else(missing)?;
        let expires = query_value("Expires").ok_or_else(missing)?;
        let expires_seconds: i64 = expires.trim().parse().map_err(|_| missing())?;
        if input.now_seconds > expires_seconds {
            return Err(
                S3Error::with_message(S3ErrorCode::AccessDenied, "Request has expired")
                    .field("Expires", expires.to_string()),
            );
        }
        Ok((access_key, signature, expires.to_string()))
    } else {
        let value = head.header("authorization").unwrap_or_default();
        let (access_key, signature) = parse_v2_authorization(value)
            .ok_or_else(|| malformed("The authorization header is malformed."))?;
        let request_seconds = head
            .header("x-amz-date")
            .or_else(|| head.header("date"))
            .and_then(parse_date_ignoring_weekday)
            .ok_or_else(|| {
                S3Error::with_message(
                    S3ErrorCode::AccessDenied,
                    "AWS authentication requires a valid Date or x-amz-date header",
                )
            })?;
        if (input.now_seconds - request_seconds).abs() > REQUEST_TIME_SKEW_MAX_SECONDS {
            let sent = head.header("x-amz-date").or_else(|| head.header("date"));
            return Err(too_skewed(sent.unwrap_or_default(), input.now_seconds));
        }
        // With x-amz-date the Date line is empty (x-amz-date is signed among the amz headers).
        let date = if head.header("x-amz-date").is_some() {
            String::new()
        } else {
            head.header("date").unwrap_or_default().to_string()
        };
        Ok((access_key, signature, date))
    }
}

/// SigV2 (header or query-string): checks the time (the `Date` / `x-amz-date` window, or the
/// presigned `Expires`) and the HMAC-SHA1 signature over S3's string to sign. The body is not
/// signed in SigV2 (Content-MD5 and checksums are still checked if sent).
pub(super) fn verify_v2(
    input: &VerifyInput<'_>,
    lookup: impl Fn(&str) -> Option<Secret>,
) -> S3Result<AuthContext> {
    let head = input.head;
    let (access_key, signature, date) = v2_claim(input)?;
    if let Some((name, _)) = input
        .query
        .iter()
        .find(|(name, _)| sigv2::UNSIGNABLE_SUBRESOURCES.contains(name))
    {
        // SigV2 does not sign it, so a captured signature could be pointed at it.
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            format!("The ?{name} sub-resource cannot be signed with Signature Version 2; use AWS4-HMAC-SHA256."),
        ));
    }
    let payload = v2_payload_mode(head)?;
    let secret = lookup(access_key).ok_or_else(|| S3Error::new(S3ErrorCode::InvalidAccessKeyId))?;
    let resource_path = match input.virtual_host_bucket {
        Some(bucket) => format!("/{bucket}{}", head.path()),
        None => head.path().to_string(),
    };
    let string_to_sign = |resource_path: &str| {
        sigv2::string_to_sign(
            head.method_text(),
            head.header("content-md5").unwrap_or_default(),
            head.header("content-type").unwrap_or_default(),
            &date,
            &sigv2::canonicalized_amz_headers(head.headers()),
            &sigv2::canonicalized_resource(resource_path, head.query()),
        )
    };
    let signs = |text: &str| {
        let expected = sigv2::sign(secret.expose(), text);
        constant_time_eq(expected.as_bytes(), signature.trim().as_bytes())
    };
    let signed = string_to_sign(&resource_path);
    // A bucket's resource is `/bucket/` to S3 (and botocore signs it so), `/bucket` to a signer
    // that follows the path literally: either is accepted.
    let alternative = input
        .bucket_only
        .then(|| match resource_path.strip_suffix('/') {
            Some(trimmed) => trimmed.to_string(),
            None => format!("{resource_path}/"),
        });
    let matched = signs(&signed)
        || alternative
            .as_deref()
            .is_some_and(|path| signs(&string_to_sign(path)));
    if !matched {
        let bytes = hex_bytes(&signed);
        return Err(S3Error::new(S3ErrorCode::SignatureDoesNotMatch)
            .field("AWSAccessKeyId", access_key.to_string())
            .field("StringToSign", signed)
            .field("SignatureProvided", signature.trim().to_string())
            .field("StringToSignBytes", bytes));
    }
    Ok(AuthContext {
        access_key: access_key.to_string(),
        payload,
        chunk_signing: None,
    })
}

/// An HTTP date whose weekday may be wrong (S3 checks the date, not the name of its day: a
/// SigV2 request dated `Tue, 07 Jul 2010` is RequestTimeTooSkewed, not malformed).
fn parse_date_ignoring_weekday(text: &str) -> Option<i64> {
    if let Some(seconds) = parse_http_date(text) {
        return Some(seconds);
    }
    let (_, rest) = text.trim().split_once(", ")?;
    let format = ::time::macros::format_description!(
        "[day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let time = ::time::PrimitiveDateTime::parse(rest.trim(), &format).ok()?;
    // Before the epoch is no valid request time (S3: AccessDenied, not RequestTimeTooSkewed).
    Some(time.assume_utc().unix_timestamp()).filter(|seconds| *seconds >= 0)
}
