//! Conditional requests (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since) with
//! S3's precedence, and `Range` parsing; pure functions over header values.

use std::time::{Duration, UNIX_EPOCH};

/// What the conditions decide for a GET or HEAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionOutcome {
    /// Serve the object.
    Proceed,
    /// 304 Not Modified.
    NotModified,
    /// 412 Precondition Failed.
    PreconditionFailed,
}

/// Whether an If-Match / If-None-Match list (`*`, `"a", W/"b"`) names `etag` (unquoted).
pub fn etag_list_matches(list: &str, etag: &str) -> bool {
    list.split(',').map(str::trim).any(|candidate| {
        let candidate = candidate.strip_prefix("W/").unwrap_or(candidate);
        candidate == "*" || candidate.trim_matches('"') == etag
    })
}

/// `etag` as its header carries it, in double quotes (built without the formatter: every GET,
/// HEAD and PUT answers one).
pub fn quoted_etag(etag: &str) -> String {
    let mut quoted = String::with_capacity(etag.len() + 2);
    write_quoted_etag(etag, &mut quoted);
    quoted
}

/// Appends `etag` in double quotes to `out` (a response head's value, written in place).
pub fn write_quoted_etag(etag: &str, out: &mut String) {
    out.push('"');
    out.push_str(etag);
    out.push('"');
}

fn parse_http_seconds(value: &str) -> Option<u64> {
    httpdate::parse_http_date(value.trim())
        .ok()
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
}

/// A read's conditional headers (`If-*` on GET/HEAD, `x-amz-copy-source-if-*` on a copy's
/// source), as sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadConditions<'r> {
    /// `If-Match`.
    pub if_match: Option<&'r str>,
    /// `If-None-Match`.
    pub if_none_match: Option<&'r str>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<&'r str>,
    /// `If-Unmodified-Since`.
    pub if_unmodified_since: Option<&'r str>,
}

impl<'r> ReadConditions<'r> {
    /// The conditions of `head` named `<prefix>if-match` and so on (`""` for GET/HEAD,
    /// `"x-amz-copy-source-"` for a copy's source).
    pub fn from_headers(head: &'r crate::http::RequestHead, prefix: &str) -> Self {
        let header = |name: &str| head.header(&format!("{prefix}{name}"));
        if prefix.is_empty() {
            // The GET path: no name to build.
            return ReadConditions {
                if_match: head.header("if-match"),
                if_none_match: head.header("if-none-match"),
                if_modified_since: head.header("if-modified-since"),
                if_unmodified_since: head.header("if-unmodified-since"),
            };
        }
        ReadConditions {
            if_match: header("if-match"),
            if_none_match: header("if-none-match"),
            if_modified_since: header("if-modified-since"),
            if_unmodified_since: header("if-unmodified-since"),
        }
    }

    /// Evaluates them against an object's ETag and Last-Modified (see
    /// `evaluate_read_conditions`).
    pub fn evaluate(&self, etag: &str, last_modified_ms: i64) -> ConditionOutcome {
        evaluate_read_conditions(
            self.if_match,
            self.if_none_match,
            self.if_modified_since,
            self.if_unmodified_since,
            etag,
            last_modified_ms,
        )
    }
}

/// A conditional delete's requirements (DeleteObject's `If-Match`, `x-amz-if-match-last-modified-time`
/// and `x-amz-if-match-size` headers, or a DeleteObjects entry's `ETag`, `LastModifiedTime` and
/// `Size`), parsed: InvalidArgument for a time or size that is not one.
pub fn delete_condition(
    etag: Option<&str>,
    last_modified: Option<(&'static str, &str)>,
    size: Option<(&'static str, &str)>,
) -> crate::s3::S3Result<crate::meta::DeleteCondition> {
    use crate::s3::{S3Error, S3ErrorCode};
    let invalid = |name: &'static str, value: &str| {
        S3Error::with_message(S3ErrorCode::InvalidArgument, format!("Invalid {name}"))
            .field("ArgumentName", name)
            .field("ArgumentValue", value.to_string())
    };
    let last_modified_seconds = match last_modified {
        None => None,
        Some((name, value)) => {
            Some(parse_any_time_seconds(value).ok_or_else(|| invalid(name, value))?)
        }
    };
    let size_bytes = match size {
        None => None,
        Some((name, value)) => Some(
            value
                .trim()
                .parse::<u64>()
                .map_err(|_| invalid(name, value))?,
        ),
    };
    Ok(crate::meta::DeleteCondition {
        // If-Match compares strongly (RFC 9110 §13.1.1): weak ETags never match.
        etags: etag.map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|candidate| !candidate.starts_with("W/"))
                .map(|candidate| candidate.trim_matches('"').to_string())
                .collect()
        }),
        last_modified_seconds,
        size_bytes,
    })
}

/// Seconds since the Unix epoch of an HTTP date or an ISO 8601 / RFC 3339 timestamp.
fn parse_any_time_seconds(value: &str) -> Option<i64> {
    if let Some(seconds) = parse_http_seconds(value) {
        return Some(seconds as i64);
    }
    time::OffsetDateTime::parse(value.trim(), &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|time| time.unix_timestamp())
}

/// Evaluates the read conditions in S3's order (RFC 9110 §13.2.2): If-Match, else
/// If-Unmodified-Since; then If-None-Match, else If-Modified-Since. Unparseable dates are ignored.
pub fn evaluate_read_conditions(
    if_match: Option<&str>,
    if_none_match: Option<&str>,
    if_modified_since: Option<&str>,
    if_unmodified_since: Option<&str>,
    etag: &str,
    last_modified_ms: i64,
) -> ConditionOutcome {
    let modified_seconds = Duration::from_millis(last_modified_ms.max(0) as u64).as_secs();
    match if_match {
        Some(list) if !etag_list_matches(list, etag) => {
            return ConditionOutcome::PreconditionFailed
        }
        Some(_) => {}
        None => {
            if let Some(since) = if_unmodified_since.and_then(parse_http_seconds) {
                if modified_seconds > since {
                    return ConditionOutcome::PreconditionFailed;
                }
            }
        }
    }
    match if_none_match {
        Some(list) if etag_list_matches(list, etag) => ConditionOutcome::NotModified,
        Some(_) => ConditionOutcome::Proceed,
        None => match if_modified_since.and_then(parse_http_seconds) {
            Some(since) if modified_seconds <= since => ConditionOutcome::NotModified,
            _ => ConditionOutcome::Proceed,
        },
    }
}

/// A `Range` header resolved against an object size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable range: serve the whole object (absent, malformed, or several ranges).
    Whole,
    /// Serve bytes `start..=end`.
    Partial {
        /// First byte.
        start: u64,
        /// Last byte (inclusive).
        end: u64,
    },
    /// The range starts past the end: 416.
    Unsatisfiable,
}

/// Parses `bytes=a-b`, `bytes=a-`, `bytes=-n` against `size` as S3 does: syntax it does not
/// understand and multiple ranges are ignored (whole object, 200).
pub fn parse_range(header: Option<&str>, size: u64) -> RangeRequest {
    let Some(spec) = header.map(str::trim).and_then(|h| h.strip_prefix("bytes=")) else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let number = |text: &str| -> Option<u64> {
        let text = text.trim();
        (!text.is_empty() && text.len() <= 20 && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse().ok())
            .flatten()
    };
    match (first.trim().is_empty(), number(first), number(last)) {
        (true, _, Some(suffix)) => {
            if suffix == 0 || size == 0 {
                return RangeRequest::Unsatisfiable;
            }
            RangeRequest::Partial {
                start: size.saturating_sub(suffix),
                end: size - 1,
            }
        }
        (false, Some(start), None) if last.trim().is_empty() => {
            if start >= size {
                return RangeRequest::Unsatisfiable;
            }
            RangeRequest::Partial {
                start,
                end: size - 1,
            }
        }
        (false, Some(start), Some(end)) => {
            if end < start {
                return RangeRequest::Whole;
            }
            if start >= size {
                return RangeRequest::Unsatisfiable;
            }
            RangeRequest::Partial {
                start,
                end: end.min(size - 1),
            }
        }
        _ => RangeRequest::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODIFIED_MS: i64 = 1_255_369_830_000; // Mon, 12 Oct 2009 17:50:30 GMT

    #[test]
    fn s3_precedence() {
        // Goal: the four headers combine as the S3 GetObject documentation describes.
        use ConditionOutcome::*;
        let before = Some("Sun, 11 Oct 2009 00:00:00 GMT");
        let after = Some("Tue, 13 Oct 2009 00:00:00 GMT");
        let eval = |m, n, ms, us| evaluate_read_conditions(m, n, ms, us, "abc", MODIFIED_MS);
        assert_eq!(eval(None, None, None, None), Proceed);
        assert_eq!(eval(Some("\"abc\""), None, None, None), Proceed);
        assert_eq!(eval(Some("\"xyz\""), None, None, None), PreconditionFailed);
        assert_eq!(eval(Some("*"), None, None, None), Proceed);
        // If-Match true and If-Unmodified-Since false: 200.
        assert_eq!(eval(Some("\"abc\""), None, None, before), Proceed);
        assert_eq!(eval(None, None, None, before), PreconditionFailed);
        assert_eq!(eval(None, None, None, after), Proceed);
        assert_eq!(eval(None, Some("\"abc\""), None, None), NotModified);
        assert_eq!(
            eval(None, Some("\"xyz\", W/\"abc\""), None, None),
            NotModified
        );
        // If-None-Match false and If-Modified-Since true: 304 only from the ETag rule; here 200.
        assert_eq!(eval(None, Some("\"xyz\""), after, None), Proceed);
        assert_eq!(eval(None, None, after, None), NotModified);
        assert_eq!(eval(None, None, before, None), Proceed);
        assert_eq!(eval(None, None, Some("garbage"), None), Proceed);
    }

    #[test]
    fn ranges() {
        // Goal: every documented range form, S3's treatment of bad and multiple ranges.
        use RangeRequest::*;
        assert_eq!(
            parse_range(Some("bytes=0-9"), 100),
            Partial { start: 0, end: 9 }
        );
        assert_eq!(
            parse_range(Some("bytes=90-"), 100),
            Partial { start: 90, end: 99 }
        );
        assert_eq!(
            parse_range(Some("bytes=-10"), 100),
            Partial { start: 90, end: 99 }
        );
        assert_eq!(
            parse_range(Some("bytes=-1000"), 100),
            Partial { start: 0, end: 99 }
        );
        assert_eq!(
            parse_range(Some("bytes=50-1000"), 100),
            Partial { start: 50, end: 99 }
        );
        assert_eq!(parse_range(Some("bytes=100-"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=100-200"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), Whole);
        assert_eq!(parse_range(Some("bytes=9-0"), 100), Whole);
        assert_eq!(parse_range(Some("items=0-1"), 100), Whole);
        assert_eq!(
            parse_range(Some("bytes=99999999999999999999999-"), 100),
            Whole
        );
        assert_eq!(parse_range(Some("bytes=0-0"), 0), Unsatisfiable);
        assert_eq!(parse_range(None, 100), Whole);
    }
}
