//! Object reads: GetObject and HeadObject (conditions, ranges and `partNumber`, `response-*`
//! overrides, SSE-C keys, the bytes streamed or decrypted), each a typed unit (`S3Operation`).

use std::io;
use std::rc::Rc;

use crate::http::{RequestHead, Response, ResponseBody, ResponseHead};
use crate::meta::{ObjectBody, ObjectRecord, VersionSelector};
use crate::s3::access::{allows, Permission, Requester};
use crate::s3::conditions::{
    parse_range, write_quoted_etag, ConditionOutcome, RangeRequest, ReadConditions,
};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::expiration::expiration_header;
use crate::s3::handler::{FromRequest, IntoResponse, S3Operation};
use crate::s3::object_body::open_stream;
use crate::s3::object_lock::{add_lock_headers, administers};
use crate::s3::object_write::STORED_HEADERS;
use crate::s3::payload::PayloadReader;
use crate::s3::request::{parse_part_number, Call, S3Request};
use crate::s3::resource::{authorized_bucket, authorized_version};
use crate::s3::sosapi::sosapi_object;
use crate::s3::sse::{self, CustomerKey};
use crate::s3::tagging::count as count_tags;
use crate::s3::version::RequestedVersion;
use crate::s3::{time, S3Context, NULL_VERSION_ID};
use crate::storage::checksum::StoredChecksum;
use crate::storage::encryption::DataKey;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

/// Every object is served as a sandboxed document: HTML or SVG someone stored runs, if at all,
/// in an opaque origin, never in the origin that serves the console and holds its signed-in
/// secret (SECURITY.md, "Console"). Scripts, forms, popups and downloads still work, so a page
/// kept in a bucket still renders. No content type is exempt: an exemption for PDFs was turned
/// into script in the origin with `application/pdf, text/html` (browsers take the last type of a
/// list). Not an S3 header: AWS serves its console from another origin.
const OBJECT_CONTENT_SECURITY_POLICY: &str =
    "sandbox allow-scripts allow-forms allow-popups allow-downloads";

/// Content-Type S3 reports for objects stored without one.
const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// Attempts to open an object's file when a concurrent overwrite replaced it between lookup and open.
const OPEN_ATTEMPT_COUNT_MAX: usize = 4;

/// A metadata value as S3 returns it: non-ASCII values RFC 2047-encoded (S3 User Guide,
/// "Working with object metadata": such values are "encoded as per RFC 2047 to make them mail
/// safe before returning").
fn mail_safe(value: &str) -> String {
    if value.is_ascii() {
        value.to_string()
    } else {
        format!("=?UTF-8?B?{}?=", BASE64.encode(value.as_bytes()))
    }
}

/// `response-*` query parameters of GetObject and the header each one overrides.
const RESPONSE_OVERRIDES: &[(&str, &str)] = &[
    ("response-content-type", "Content-Type"),
    ("response-content-language", "Content-Language"),
    ("response-expires", "Expires"),
    ("response-cache-control", "Cache-Control"),
    ("response-content-disposition", "Content-Disposition"),
    ("response-content-encoding", "Content-Encoding"),
];

/// The `response-*` overrides a GetObject or HeadObject asks for, as (header, value). A
/// `response-` name outside the six S3 overrides is 400 InvalidArgument, and any override on an
/// anonymous request 400 InvalidRequest (S3 API Reference, GetObject: "you must sign the request,
/// either using an Authorization header or a presigned URL, when using these parameters").
fn response_overrides<'r>(request: &'r S3Request<'_>) -> S3Result<Vec<(&'static str, &'r str)>> {
    let mut overrides = Vec::new();
    for (name, value) in request.query.iter() {
        if !name.starts_with("response-") {
            continue;
        }
        let Some((_, header)) = RESPONSE_OVERRIDES.iter().find(|(known, _)| *known == name) else {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                format!("{name} is not a response header that can be overridden."),
            )
            .field("ArgumentName", name)
            .field("ArgumentValue", value));
        };
        // The first of a repeated parameter counts, as for every other query parameter.
        if !overrides.iter().any(|(seen, _)| seen == header) {
            overrides.push((*header, value));
        }
    }
    if !overrides.is_empty() && matches!(request.requester, Requester::Anonymous) {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "Request specific response headers cannot be used for anonymous GET requests.",
        ));
    }
    Ok(overrides)
}

/// What a GetObject or HeadObject asks for.
pub struct GetObjectInput<'r> {
    /// `versionId`: that version rather than the current one.
    version: Option<VersionSelector>,
    /// `partNumber`: one part's bytes.
    part_number: Option<u32>,
    /// `If-*`.
    conditions: ReadConditions<'r>,
    /// `Range`, as sent.
    range: Option<&'r str>,
    /// `response-*` overrides: (header, value).
    overrides: Vec<(&'static str, &'r str)>,
    /// `x-amz-checksum-mode: ENABLED`.
    checksum_mode: bool,
    /// The SSE-C key sent, if any.
    customer: Option<CustomerKey>,
    /// The request came over TLS (SSE-C keys must).
    secure: bool,
}

impl<'r> FromRequest<'r> for GetObjectInput<'r> {
    fn parse(request: &'r S3Request<'_>) -> S3Result<Self> {
        let RequestedVersion(version) = RequestedVersion::parse(request)?;
        let part_number = match request.query_value("partNumber") {
            Some(text) => Some(parse_part_number(text)?),
            None => None,
        };
        let head: &'r RequestHead = request.head;
        let overrides = response_overrides(request)?;
        Ok(GetObjectInput {
            version,
            part_number,
            conditions: ReadConditions::from_headers(head, ""),
            range: head.header("range"),
            overrides,
            checksum_mode: head
                .header("x-amz-checksum-mode")
                .is_some_and(|mode| mode.eq_ignore_ascii_case("ENABLED")),
            customer: sse::customer_key(head, "")?,
            secure: head.secure,
        })
    }
}

/// GetObject's or HeadObject's answer.
pub enum ObjectRead {
    /// 304: the `If-None-Match` / `If-Modified-Since` condition held.
    NotModified {
        /// ETag without quotes.
        etag: String,
        /// Last-Modified, milliseconds since the Unix epoch.
        last_modified_ms: i64,
    },
    /// 200 or 206 with the bytes (or, for HEAD, their length).
    Object(Box<ObjectAnswer>),
}

/// The object part of a GET/HEAD answer.
pub struct ObjectAnswer {
    /// 200 or 206.
    status: u16,
    record: Rc<ObjectRecord>,
    body: ResponseBody,
    /// First byte sent.
    start: u64,
    /// Bytes sent.
    length: u64,
    part_number: Option<u32>,
    overrides: Vec<(&'static str, String)>,
    checksum_mode: bool,
    /// `versionId=null` was asked: S3 names the null version in its answer.
    null_version_named: bool,
    /// `x-amz-tagging-count`, for a requester who may read the object's tags (S3 answers it
    /// only "when you have the relevant permission to read object tags").
    tagging_count: Option<usize>,
    /// `x-amz-expiration`, when a lifecycle rule expires the current version read.
    expiration: Option<String>,
}

impl IntoResponse for ObjectRead {
    fn into_response(self) -> Response {
        match self {
            ObjectRead::NotModified {
                etag,
                last_modified_ms,
            } => {
                let mut response = Response::empty(304);
                response
                    .head
                    .header_written("ETag", |out| write_quoted_etag(&etag, out));
                response.head.header_written("Last-Modified", |out| {
                    time::write_http_date(last_modified_ms, out)
                });
                response
            }
            ObjectRead::Object(answer) => answer.into_response(),
        }
    }
}

impl ObjectAnswer {
    fn into_response(self) -> Response {
        let record = &self.record;
        let mut head = ResponseHead::new(self.status);
        if !record.parts().is_empty() && self.part_number.is_some() {
            head.header("x-amz-mp-parts-count", record.parts().len().to_string());
        }
        // An empty object's only part has no byte range to name (`bytes 0--1/0` would underflow).
        if (self.status == 206 || self.part_number.is_some()) && self.length > 0 {
            head.header(
                "Content-Range",
                format!(
                    "bytes {}-{}/{}",
                    self.start,
                    self.start + self.length - 1,
                    record.size_bytes
                ),
            );
        }
        self.object_headers(&mut head);
        add_lock_headers(&record.lock, &mut head);
        if let Some(count) = self.tagging_count {
            head.header("x-amz-tagging-count", count.to_string());
        }
        if let Some(expiration) = self.expiration {
            head.header("x-amz-expiration", expiration);
        }
        if let Some(version_id) = &record.version_id {
            head.header("x-amz-version-id", version_id);
        } else if self.null_version_named {
            head.header("x-amz-version-id", NULL_VERSION_ID);
        }
        Response {
            head,
            body: self.body,
        }
    }

    fn object_headers(&self, head: &mut ResponseHead) {
        let record = &self.record;
        head.header(
            "Content-Type",
            record
                .content_type
                .as_deref()
                .unwrap_or(DEFAULT_CONTENT_TYPE),
        );
        head.header_written("ETag", |out| write_quoted_etag(&record.etag, out));
        head.header_written("Last-Modified", |out| {
            time::write_http_date(record.last_modified_ms, out)
        });
        head.header("Accept-Ranges", "bytes");
        for (name, value) in sse::answer_headers(&record.headers) {
            head.header(name, value);
        }
        for (name, value) in &record.headers {
            if sse::is_encryption_header(name) {
                continue;
            }
            match STORED_HEADERS.iter().find(|(stored, _)| stored == name) {
                Some((_, canonical)) => head.header(*canonical, value),
                None => head.header(name.clone(), mail_safe(value)),
            };
        }
        for (header, value) in &self.overrides {
            head.remove(header);
            head.header(*header, value);
        }
        head.header("Content-Security-Policy", OBJECT_CONTENT_SECURITY_POLICY);
        let stored = record.checksum.as_deref().and_then(StoredChecksum::decode);
        let part = self
            .part_number
            .and_then(|number| record.parts().get(number as usize - 1));
        match (self.checksum_mode, stored, part) {
            // One part of a multipart object: that part's checksum, with the object's type.
            (true, Some(stored), Some(part)) => {
                if let Some(value) = &part.checksum {
                    head.header(stored.algorithm.header_name(), value);
                    head.header("x-amz-checksum-type", stored.type_name());
                }
            }
            // A full-object checksum does not describe a range, so S3 omits it on 206 answers.
            (true, Some(stored), None) if head.status == 200 || self.part_number.is_some() => {
                head.header(stored.algorithm.header_name(), &stored.value);
                head.header("x-amz-checksum-type", stored.type_name());
            }
            _ => {}
        }
    }
}

/// The bytes `partNumber` or `Range` select of `record`: (status, start, length).
fn selected_bytes(input: &GetObjectInput<'_>, record: &ObjectRecord) -> S3Result<(u16, u64, u64)> {
    let part_sizes = record.part_sizes();
    let range = match input.part_number {
        // partNumber selects one part's bytes (the whole object is part 1 of a single-part upload).
        Some(number) => {
            let index = number as usize - 1;
            // AWS answers 400 InvalidPart here (ceph/s3-tests' get_part tests, moto's
            // AWS-verified tests), not the 416 InvalidPartNumber its error table lists.
            if index >= part_sizes.len() {
                return Err(S3Error::new(S3ErrorCode::InvalidPart)
                    .field("PartNumberRequested", number.to_string())
                    .field("ActualPartCount", part_sizes.len().to_string()));
            }
            let start: u64 = part_sizes[..index].iter().sum();
            let size = part_sizes[index];
            if size == 0 {
                // An empty part is no bytes (not the whole object, unless it is the object).
                return Ok((200, start, 0));
            } else {
                RangeRequest::Partial {
                    start,
                    end: start + size - 1,
                }
            }
        }
        None => parse_range(input.range, record.size_bytes),
    };
    match range {
        RangeRequest::Whole => Ok((200, 0, record.size_bytes)),
        RangeRequest::Partial { start, end } => Ok((206, start, end - start + 1)),
        RangeRequest::Unsatisfiable => {
            // RFC 9110 §15.5.17: a 416 names the representation's length.
            let mut error = S3Error::new(S3ErrorCode::InvalidRange)
                .field("ActualObjectSize", record.size_bytes.to_string())
                .header("Content-Range", format!("bytes */{}", record.size_bytes));
            error.fields.push((
                "RangeRequested",
                input.range.unwrap_or_default().to_string(),
            ));
            Err(error)
        }
    }
}

/// The body answering bytes `start..start + length` of `record`: only the length for HEAD, the
/// inline bytes, or the files streamed (decrypted with `data_key` when the object is
/// encrypted); `None` when a file vanished since the lookup (a concurrent overwrite), so the
/// caller looks again.
async fn open_body(
    context: &S3Context,
    call: &Call<'_>,
    record: &ObjectRecord,
    (start, length): (u64, u64),
    head_only: bool,
    data_key: Option<&DataKey>,
) -> S3Result<Option<ResponseBody>> {
    if head_only {
        return Ok(Some(ResponseBody::HeadOnly(length)));
    }
    let unreadable = |error: &dyn std::fmt::Display| {
        tracing::error!(error = %error, bucket = call.bucket, key = call.key, "object bytes unreadable");
        S3Error::new(S3ErrorCode::InternalError)
    };
    let range = start as usize..(start + length) as usize;
    match (&record.body, data_key) {
        (ObjectBody::Inline(bytes), None) => Ok(Some(ResponseBody::Shared(bytes.shared(), range))),
        // Encrypted inline bytes (at most 64 KiB) are opened whole.
        (ObjectBody::Inline(bytes), Some(data_key)) => {
            let plaintext = data_key
                .packages(0)
                .open_all(bytes.as_slice(), record.size_bytes)
                .map_err(|error| unreadable(&error))?;
            Ok(Some(ResponseBody::Bytes(plaintext[range].to_vec())))
        }
        (ObjectBody::InlineUnread, _) => unreachable!("a GET looks objects up with their bytes"),
        (ObjectBody::File(_) | ObjectBody::Parts(_) | ObjectBody::Remote { .. }, _) => {
            match open_stream(context, record, data_key, start, length).await {
                Ok(stream) => Ok(Some(ResponseBody::Stream(stream))),
                Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
                // A remote tier's queue is full: too many reads at once.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    Err(S3Error::new(S3ErrorCode::SlowDown))
                }
                Err(error) => Err(unreadable(&error)),
            }
        }
    }
}

/// Whether the requester may read `record`'s tags: its owner (READ_ACP) or the bucket's owner
/// or admin, as for GetObjectTagging.
async fn tags_readable(context: &S3Context, call: &Call<'_>, record: &ObjectRecord) -> bool {
    if allows(
        &record.owner,
        record.acl.as_deref(),
        call.requester,
        Permission::ReadAcp,
    ) {
        return true;
    }
    matches!(context.bucket(call.bucket).await, Ok(Some(bucket)) if administers(context, call, &bucket))
}

/// GetObject and HeadObject: metadata, conditions, range, then the file streamed (GET) or only
/// its length (HEAD).
async fn read_object(
    context: &S3Context,
    call: Call<'_>,
    input: GetObjectInput<'_>,
    head_only: bool,
) -> S3Result<ObjectRead> {
    for _ in 0..OPEN_ATTEMPT_COUNT_MAX {
        let method = if head_only { "HEAD" } else { "GET" };
        // Veeam's SOSAPI objects, for whoever may read the bucket.
        let generated = if input.version.is_none() {
            match sosapi_object(context, &call) {
                Some(record) => {
                    authorized_bucket(context, &call, Permission::Read).await?;
                    Some(record)
                }
                None => None,
            }
        } else {
            None
        };
        let record = match generated {
            Some(record) => record,
            None => {
                authorized_version(
                    context,
                    &call,
                    input.version.as_ref(),
                    Permission::Read,
                    !head_only,
                    method,
                )
                .await?
            }
        };
        // A part number the object does not have is 400 InvalidPart even without the key (as
        // S3 answers; ceph/s3-tests' test_multipart_sse_c_get_part).
        if input.part_number.is_some() {
            selected_bytes(&input, &record)?;
        }
        // The key before conditions: without it, not even the ETag a condition compares is
        // revealed.
        if input.customer.is_some() {
            sse::require_secure_transport(input.secure, context.config.allow_sse_c_over_http)?;
        }
        let data_key = sse::data_key_for_read(
            &record.headers,
            input.customer.as_ref(),
            context.config.sse_master_key.as_ref(),
            (&record.bucket, &record.key),
        )?;
        match input
            .conditions
            .evaluate(&record.etag, record.last_modified_ms)
        {
            ConditionOutcome::PreconditionFailed => {
                return Err(
                    S3Error::new(S3ErrorCode::PreconditionFailed).field("Condition", "If-Match")
                )
            }
            ConditionOutcome::NotModified => {
                return Ok(ObjectRead::NotModified {
                    etag: record.etag.clone(),
                    last_modified_ms: record.last_modified_ms,
                })
            }
            ConditionOutcome::Proceed => {}
        }
        let (status, start, length) = selected_bytes(&input, &record)?;
        let Some(body) = open_body(
            context,
            &call,
            &record,
            (start, length),
            head_only,
            data_key.as_ref(),
        )
        .await?
        else {
            // Replaced by a concurrent PUT after our lookup: look again and serve the new one.
            continue;
        };
        let tagging_count = match record.tags {
            None => None,
            Some(_) if tags_readable(context, &call, &record).await => {
                Some(count_tags(record.tags.as_deref()))
            }
            Some(_) => None,
        };
        let expiration = match input.version {
            None => match context.bucket(call.bucket).await {
                Ok(Some(bucket)) => expiration_header(&bucket, &record),
                _ => None,
            },
            Some(_) => None,
        };
        return Ok(ObjectRead::Object(Box::new(ObjectAnswer {
            expiration,
            status,
            record,
            body,
            start,
            length,
            part_number: input.part_number,
            overrides: input
                .overrides
                .iter()
                .map(|(header, value)| (*header, value.to_string()))
                .collect(),
            checksum_mode: input.checksum_mode,
            null_version_named: input.version == Some(VersionSelector::Null),
            tagging_count,
        })));
    }
    // The file stayed missing across fresh lookups: it is gone (startup recovery marks such rows).
    tracing::error!(
        bucket = call.bucket,
        key = call.key,
        "object data is missing"
    );
    Err(S3Error::new(S3ErrorCode::InternalError))
}

/// GetObject: the object's bytes (or the part `partNumber` names, or a range).
pub struct GetObject;

impl S3Operation for GetObject {
    type Input<'r> = GetObjectInput<'r>;
    type Output = ObjectRead;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<ObjectRead> {
        read_object(context, call, input, false).await
    }
}

/// HeadObject: GetObject's answer without the bytes.
pub struct HeadObject;

impl S3Operation for HeadObject {
    type Input<'r> = GetObjectInput<'r>;
    type Output = ObjectRead;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<ObjectRead> {
        read_object(context, call, input, true).await
    }
}
