//! What the bucket's lifecycle rules say in answers: `x-amz-expiration`, when they expire the
//! current version of an object and by which rule (S3 API Reference, PutObject:
//! `expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="picture-deletion-rule"`), and
//! `x-amz-abort-date` / `x-amz-abort-rule-id`, when they abort an unfinished multipart upload
//! (CreateMultipartUpload, ListParts).
//! The date is S3's (days rounded to midnight UTC) even under `--lifecycle-day-seconds`, which
//! shortens only the lifecycle pass's day.

use crate::lifecycle::{decode_tags, VersionFacts, DAY_MS};
use crate::meta::{BucketRecord, ObjectRecord};
use crate::s3::time::http_date;

/// The header's value for `record` as the current version in `bucket`; `None` when no enabled
/// rule with `Days` or `Date` matches it.
pub fn expiration_header(bucket: &BucketRecord, record: &ObjectRecord) -> Option<String> {
    let rules = bucket.lifecycle.as_ref()?;
    let tags = decode_tags(record.tags.as_deref());
    let version = VersionFacts {
        key: &record.key,
        size_bytes: record.size_bytes,
        tags: &tags,
    };
    let (due_ms, rule_id) = rules.current_expiry(&version, record.last_modified_ms, DAY_MS)?;
    Some(format!(
        "expiry-date=\"{}\", rule-id=\"{}\"",
        http_date(due_ms),
        rule_id.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

/// `expiration_header` for `record` written in the bucket named `bucket` (its cached record).
pub async fn expiration_after_write(
    context: &crate::s3::S3Context,
    bucket: &str,
    record: &ObjectRecord,
) -> Option<String> {
    match context.bucket(bucket).await {
        Ok(Some(bucket)) => expiration_header(&bucket, record),
        _ => None,
    }
}

/// `x-amz-abort-date` and `x-amz-abort-rule-id` for an upload of `key` initiated at
/// `initiated_ms` in `bucket`; none when no enabled AbortIncompleteMultipartUpload rule matches.
pub fn abort_headers(
    bucket: &BucketRecord,
    key: &str,
    initiated_ms: i64,
) -> Vec<(&'static str, Option<String>)> {
    let abort = bucket
        .lifecycle
        .as_ref()
        .and_then(|rules| rules.upload_abort(key, initiated_ms, DAY_MS));
    match abort {
        Some((due_ms, rule_id)) => vec![
            ("x-amz-abort-date", Some(http_date(due_ms))),
            ("x-amz-abort-rule-id", Some(rule_id.to_string())),
        ],
        None => Vec::new(),
    }
}
