//! Multipart upload operations: Create, UploadPart (streamed and verified exactly like PutObject),
//! UploadPartCopy, Complete (metadata-only: the parts become the object's extents), Abort,
//! ListParts and ListMultipartUploads, each a typed unit (`S3Operation`).

use crate::http::Response;
use crate::limits::{MULTIPART_LIST_ENTRIES_MAX, PART_BYTES_MAX};
use crate::meta::multipart::{Completion, PartRecord, PartsQuery, UploadRecord};
use crate::meta::upload_listing::UploadsQuery;
use crate::meta::MetaError;
use crate::meta::ObjectLock;
use crate::s3::access::{AclRequest, Permission};
use crate::s3::conditions::write_quoted_etag;
use crate::s3::copy_source::{copy_from_source, CopySourceRequest};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::expiration::{abort_headers, expiration_after_write};
use crate::s3::grants::{refuse_public_acl, stored_acl};
use crate::s3::handler::{FromRequest, IntoResponse, NoContent, S3Operation, WithHeaders};
use crate::s3::multipart_object::{assembler, upload_algorithm, CompletionRequest};
use crate::s3::object_lock::{check_requested_lock, requested_lock};
use crate::s3::object_write::{
    parse_put_condition, receive_payload, storage_class, stored_headers, write_error, Destination,
    UploadIntegrity,
};
use crate::s3::payload::{read_small_body, PayloadReader};
use crate::s3::request::{Call, S3Request};
use crate::s3::resource::authorized_bucket;
use crate::s3::sosapi::refuse_sosapi_write;
use crate::s3::sse::{self, CustomerKey, Encryption};
use crate::s3::tagging::{encode as encode_tags, parse_tagging_header};
use crate::s3::xml::documents::{
    CompleteMultipartUploadResult, CopyPartResult, InitiateMultipartUploadResult,
    ListMultipartUploadsResult, ListPartsResult, Owner, UploadEntry,
};
use crate::s3::xml::parse_complete_multipart_upload;
use crate::s3::{time, S3Context};
use crate::storage::checksum::{ChecksumAlgorithm, StoredChecksum};
use crate::storage::encryption::{DataKey, Sealing};
use crate::storage::{FileId, SealedObject, StoredBytes};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

/// The `uploadId` an operation on one upload names.
pub struct UploadId<'r>(&'r str);

impl<'r> FromRequest<'r> for UploadId<'r> {
    fn parse(request: &'r S3Request<'_>) -> S3Result<Self> {
        Ok(UploadId(
            request.query_value("uploadId").unwrap_or_default(),
        ))
    }
}

fn no_such_upload(upload_id: &str) -> S3Error {
    S3Error::new(S3ErrorCode::NoSuchUpload).field("UploadId", upload_id.to_string())
}

fn map_meta(call: &Call<'_>, upload_id: &str, error: MetaError) -> S3Error {
    match error {
        MetaError::NoSuchUpload => no_such_upload(upload_id),
        other => write_error(call, other),
    }
}

fn remove_later(context: &S3Context, files: Vec<FileId>) {
    for file in files {
        context.remove_object_file_later(file);
    }
}

/// The upload `upload_id`, which must belong to the call's bucket and key (writable by the caller).
async fn current_upload(
    context: &S3Context,
    call: &Call<'_>,
    upload_id: &str,
) -> S3Result<UploadRecord> {
    authorized_bucket(context, call, Permission::Write).await?;
    match context
        .meta
        .get_upload(upload_id.to_string())
        .await
        .map_err(|error| map_meta(call, upload_id, error))?
    {
        Some(upload) if upload.bucket == call.bucket && upload.key == call.key => Ok(upload),
        _ => Err(no_such_upload(upload_id)),
    }
}

/// UploadPart's and UploadPartCopy's `partNumber` (required; the same rule as GetObject's).
fn parse_part_number(request: &S3Request<'_>) -> S3Result<u32> {
    crate::s3::request::parse_part_number(request.query_value("partNumber").unwrap_or_default())
}

/// What a CreateMultipartUpload asks for the finished object.
pub struct CreateMultipartUploadInput {
    content_type: Option<String>,
    headers: Vec<(String, String)>,
    acl: Option<AclRequest>,
    checksum_algorithm: Option<ChecksumAlgorithm>,
    /// FULL_OBJECT (CRCs combined) rather than COMPOSITE.
    checksum_full_object: bool,
    /// Retention and legal hold for the finished object.
    lock: ObjectLock,
    /// `x-amz-tagging` for the finished object.
    tags: Option<String>,
    /// SSE-S3 or SSE-C, if asked for.
    encryption: Option<Encryption>,
    /// The request came over TLS (SSE-C keys must).
    secure: bool,
}

impl FromRequest<'_> for CreateMultipartUploadInput {
    fn parse(request: &S3Request<'_>) -> S3Result<Self> {
        let head = request.head;
        let checksum_algorithm = match head.header("x-amz-checksum-algorithm") {
            Some(name) => Some(ChecksumAlgorithm::from_name(name).ok_or_else(|| {
                S3Error::with_message(S3ErrorCode::InvalidRequest, "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
            })?),
            None => None,
        };
        // CRC64NVME is only full-object; CRC32/CRC32C may be either; SHA ones only composite.
        let checksum_full_object = match (head.header("x-amz-checksum-type"), checksum_algorithm) {
            (None, Some(ChecksumAlgorithm::Crc64Nvme)) => true,
            (None, _) => false,
            (Some(kind), Some(algorithm))
                if kind.eq_ignore_ascii_case("FULL_OBJECT") && algorithm.is_crc() =>
            {
                true
            }
            (Some(kind), Some(algorithm))
                if kind.eq_ignore_ascii_case("COMPOSITE")
                    && algorithm != ChecksumAlgorithm::Crc64Nvme =>
            {
                false
            }
            (Some(kind), _) => {
                return Err(S3Error::with_message(
                    S3ErrorCode::InvalidRequest,
                    format!("The checksum type {kind} is not valid for this checksum algorithm."),
                ))
            }
        };
        Ok(CreateMultipartUploadInput {
            lock: requested_lock(|name| head.header(name))?,
            tags: match head.header("x-amz-tagging") {
                Some(text) => encode_tags(&parse_tagging_header(text)?),
                None => None,
            },
            content_type: head.header("content-type").map(str::to_string),
            headers: stored_headers(head)?,
            acl: crate::s3::access::acl_from_headers(head)?,
            checksum_algorithm,
            checksum_full_object,
            encryption: sse::requested_encryption(head)?,
            secure: head.secure,
        })
    }
}

/// CreateMultipartUpload's answer: the document, and the checksum algorithm and type as headers.
pub struct UploadCreated {
    document: InitiateMultipartUploadResult,
    checksum: Option<(ChecksumAlgorithm, bool)>,
}

impl IntoResponse for UploadCreated {
    fn into_response(self) -> Response {
        let mut response = self.document.into_response();
        if let Some((algorithm, full_object)) = self.checksum {
            response
                .head
                .header("x-amz-checksum-algorithm", algorithm.name());
            response.head.header(
                "x-amz-checksum-type",
                if full_object {
                    "FULL_OBJECT"
                } else {
                    "COMPOSITE"
                },
            );
        }
        response
    }
}

/// CreateMultipartUpload: Content-Type and stored headers are kept for the finished object.
pub struct CreateMultipartUpload;

impl S3Operation for CreateMultipartUpload {
    type Input<'r> = CreateMultipartUploadInput;
    type Output = WithHeaders<UploadCreated>;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<WithHeaders<UploadCreated>> {
        let bucket = authorized_bucket(context, &call, Permission::Write).await?;
        let owner = call.requester.access_key();
        refuse_sosapi_write(call.key)?;
        check_requested_lock(context, &call, &bucket, &input.lock, false)?;
        let acl = stored_acl(context, owner, input.acl, &bucket.owner).await?;
        refuse_public_acl(&call, acl.as_deref())?;
        // The upload's data key, sealed, rides in its headers to the finished object; each part
        // is sealed under a key derived from it and the part's file.
        let mut headers = input.headers;
        if let Some(encryption) = sse::encryption_for_write(
            &context.config,
            input.encryption,
            input.secure,
            &bucket,
            call.key,
        )? {
            headers.extend(encryption.headers);
        }
        let created_ms = time::now_ms();
        let mut answer_headers = abort_headers(&bucket, call.key, created_ms);
        answer_headers.extend(sse::answer_header_pairs(&headers));
        let upload = UploadRecord {
            lock: input.lock,
            tags: input.tags,
            checksum_algorithm: input
                .checksum_algorithm
                .map(|algorithm| algorithm.name().to_string()),
            checksum_full_object: input.checksum_full_object,
            upload_id: format!("{:032x}", fastrand::u128(..)),
            bucket: call.bucket.to_string(),
            key: call.key.to_string(),
            owner: owner.to_string(),
            created_ms,
            content_type: input.content_type,
            headers,
            acl,
        };
        let upload_id = upload.upload_id.clone();
        let abort = answer_headers;
        context
            .meta
            .create_upload(upload)
            .await
            .map_err(|error| map_meta(&call, &upload_id, error))?;
        Ok(WithHeaders {
            answer: UploadCreated {
                document: InitiateMultipartUploadResult {
                    bucket: call.bucket.to_string(),
                    key: call.key.to_string(),
                    upload_id,
                },
                checksum: input
                    .checksum_algorithm
                    .map(|algorithm| (algorithm, input.checksum_full_object)),
            },
            headers: abort,
        })
    }
}

/// Publishes a received part and records it; returns its ETag.
async fn record_part(
    context: &S3Context,
    call: &Call<'_>,
    upload_id: &str,
    number: u32,
    sealed: SealedObject,
    opaque_etag: Option<&DataKey>,
) -> S3Result<String> {
    let published = sealed.publish().await?;
    let StoredBytes::File(file_id) = published.stored else {
        unreachable!("parts are received with Placement::File")
    };
    // SSE-C parts, like SSE-C objects, get an ETag that is not their plaintext's MD5.
    let etag = match opaque_etag {
        Some(data_key) => data_key.opaque_etag(&published.digests.md5),
        None => hex::encode(published.digests.md5),
    };
    let checksum = published
        .digests
        .checksum
        .as_ref()
        .map(|(_, value)| BASE64.encode(value));
    let part = PartRecord {
        checksum,
        upload_id: upload_id.to_string(),
        part_number: number,
        file_id,
        size_bytes: published.size_bytes,
        etag: etag.clone(),
        last_modified_ms: time::now_ms(),
    };
    // An abort that raced this part makes the commit fail; the guard then deletes the file.
    let replaced = context
        .meta
        .put_part(part)
        .await
        .map_err(|error| map_meta(call, upload_id, error))?;
    published.keep();
    remove_later(context, replaced);
    Ok(etag)
}

/// What an UploadPart asks.
pub struct UploadPartInput<'r> {
    upload_id: &'r str,
    part_number: u32,
    integrity: UploadIntegrity,
    /// The SSE-C key sent (an SSE-C upload needs it on every part).
    customer: Option<CustomerKey>,
    /// The request came over TLS.
    secure: bool,
}

impl<'r> FromRequest<'r> for UploadPartInput<'r> {
    fn parse(request: &'r S3Request<'_>) -> S3Result<Self> {
        Ok(UploadPartInput {
            part_number: parse_part_number(request)?,
            upload_id: UploadId::parse(request)?.0,
            integrity: UploadIntegrity::parse(request.head)?,
            customer: sse::customer_key(request.head, "")?,
            secure: request.head.secure,
        })
    }
}

/// How a part is sealed (the upload's data key, a key per part file) and whether its ETag is
/// opaque (SSE-C): from the upload's headers and the part request's SSE-C key.
fn part_sealing(
    context: &S3Context,
    upload: &UploadRecord,
    customer: Option<&CustomerKey>,
    secure: bool,
) -> S3Result<(Option<Sealing>, Option<DataKey>)> {
    let data_key = sse::upload_data_key(&context.config, upload, customer, secure)?;
    let opaque = data_key.clone().filter(|_| customer.is_some());
    Ok((data_key.map(Sealing::PerFile), opaque))
}

/// UploadPart's answer: the part's ETag, and its checksum when it has one.
pub struct PartWritten {
    etag: String,
    checksum: Option<(ChecksumAlgorithm, Vec<u8>)>,
    /// The upload's encryption headers, as S3 answers them.
    encryption: Vec<(&'static str, String)>,
}

impl IntoResponse for PartWritten {
    fn into_response(self) -> Response {
        let mut response = Response::empty(200);
        response
            .head
            .header_written("ETag", |out| write_quoted_etag(&self.etag, out));
        for (name, value) in self.encryption {
            response.head.header(name, value);
        }
        if let Some((algorithm, value)) = self.checksum {
            response
                .head
                .header(algorithm.header_name(), BASE64.encode(value));
        }
        response
    }
}

/// UploadPart.
pub struct UploadPart;

impl S3Operation for UploadPart {
    type Input<'r> = UploadPartInput<'r>;
    type Output = PartWritten;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        mut payload: PayloadReader<'_, '_>,
    ) -> S3Result<PartWritten> {
        let upload = current_upload(context, &call, input.upload_id).await?;
        let (sealing, opaque) =
            part_sealing(context, &upload, input.customer.as_ref(), input.secure)?;
        let bytes_max = PART_BYTES_MAX.min(context.config.max_object_size_bytes);
        let received = receive_payload(
            context,
            &input.integrity,
            &mut payload,
            bytes_max,
            upload_algorithm(&upload),
            Destination::Part,
            sealing,
        )
        .await?;
        let checksum = received.checksum.clone();
        let etag = record_part(
            context,
            &call,
            input.upload_id,
            input.part_number,
            received.sealed,
            opaque.as_ref(),
        )
        .await?;
        Ok(PartWritten {
            etag,
            checksum,
            encryption: sse::answer_headers(&upload.headers),
        })
    }
}

/// What an UploadPartCopy asks.
pub struct UploadPartCopyInput<'r> {
    upload_id: &'r str,
    part_number: u32,
    source: CopySourceRequest<'r>,
    /// The SSE-C key of the upload (an SSE-C upload needs it on every part).
    customer: Option<CustomerKey>,
    /// The request came over TLS.
    secure: bool,
}

impl<'r> FromRequest<'r> for UploadPartCopyInput<'r> {
    fn parse(request: &'r S3Request<'_>) -> S3Result<Self> {
        Ok(UploadPartCopyInput {
            part_number: parse_part_number(request)?,
            upload_id: UploadId::parse(request)?.0,
            source: CopySourceRequest::parse(request.head, true)?,
            customer: sse::customer_key(request.head, "")?,
            secure: request.head.secure,
        })
    }
}

/// UploadPartCopy: a range (or all) of another object becomes a part.
pub struct UploadPartCopy;

impl S3Operation for UploadPartCopy {
    type Input<'r> = UploadPartCopyInput<'r>;
    type Output = WithHeaders<CopyPartResult>;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<WithHeaders<CopyPartResult>> {
        let upload = current_upload(context, &call, input.upload_id).await?;
        let (sealing, opaque) =
            part_sealing(context, &upload, input.customer.as_ref(), input.secure)?;
        let (source, sealed) = copy_from_source(
            context,
            &call,
            &input.source,
            upload_algorithm(&upload),
            Destination::Part,
            sealing,
        )
        .await?;
        if sealed.size_bytes() > PART_BYTES_MAX {
            return Err(S3Error::new(S3ErrorCode::EntityTooLarge));
        }
        let etag = record_part(
            context,
            &call,
            input.upload_id,
            input.part_number,
            sealed,
            opaque.as_ref(),
        )
        .await?;
        let mut headers = vec![(
            "x-amz-copy-source-version-id",
            input.source.version_header(&source),
        )];
        headers.extend(sse::answer_header_pairs(&upload.headers));
        Ok(WithHeaders {
            headers,
            answer: CopyPartResult {
                last_modified_ms: time::now_ms(),
                etag,
            },
        })
    }
}

/// What a CompleteMultipartUpload's head asks (the parts come in the body).
pub struct CompleteMultipartUploadInput<'r> {
    upload_id: &'r str,
    condition: crate::meta::PutCondition,
    /// The object checksum the client expects (`x-amz-checksum-*`).
    expected_checksum: Option<(ChecksumAlgorithm, String)>,
    /// The SSE-C key sent (an SSE-C upload needs it to complete, as on every part).
    customer: Option<CustomerKey>,
    /// The request came over TLS.
    secure: bool,
}

impl<'r> FromRequest<'r> for CompleteMultipartUploadInput<'r> {
    fn parse(request: &'r S3Request<'_>) -> S3Result<Self> {
        let head = request.head;
        Ok(CompleteMultipartUploadInput {
            upload_id: UploadId::parse(request)?.0,
            condition: parse_put_condition(head)?,
            expected_checksum: ChecksumAlgorithm::ALL.iter().find_map(|algorithm| {
                head.header(algorithm.header_name())
                    .map(|value| (*algorithm, value.trim().to_string()))
            }),
            customer: sse::customer_key(head, "")?,
            secure: head.secure,
        })
    }
}

/// CompleteMultipartUpload: all checks and the switch to a visible object happen in one metadata
/// transaction; no object byte is copied.
pub struct CompleteMultipartUpload;

impl S3Operation for CompleteMultipartUpload {
    type Input<'r> = CompleteMultipartUploadInput<'r>;
    type Output = WithHeaders<CompleteMultipartUploadResult>;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        mut payload: PayloadReader<'_, '_>,
    ) -> S3Result<WithHeaders<CompleteMultipartUploadResult>> {
        // An SSE-C upload completes only with its key, as S3 requires (the key itself is not
        // needed: the parts are sealed already).
        // An upload completed already is answered by the completion itself (S3 repeats its
        // answer), without a key: the object exists.
        match current_upload(context, &call, input.upload_id).await {
            Ok(upload) => {
                sse::upload_data_key(
                    &context.config,
                    &upload,
                    input.customer.as_ref(),
                    input.secure,
                )?;
            }
            Err(error) if error.code == S3ErrorCode::NoSuchUpload => {}
            Err(error) => return Err(error),
        }
        let body = read_small_body(&mut payload).await?;
        let parts = parse_complete_multipart_upload(&body)?;
        let last_modified_ms = time::now_ms();
        let rules = CompletionRequest {
            parts,
            last_modified_ms,
            size_bytes_max: context.config.max_object_size_bytes,
            expected_checksum: input.expected_checksum,
        };
        let completion = Completion {
            upload_id: input.upload_id.to_string(),
            bucket: call.bucket.to_string(),
            key: call.key.to_string(),
            last_modified_ms,
            condition: input.condition,
            assemble: assembler(rules),
        };
        let (record, obsolete) = context
            .meta
            .complete_upload(completion)
            .await
            .map_err(|error| map_meta(&call, input.upload_id, error))?;
        remove_later(context, obsolete);
        let expiration = expiration_after_write(context, call.bucket, &record).await;
        let mut headers = vec![
            ("x-amz-version-id", record.version_id.clone()),
            ("x-amz-expiration", expiration),
        ];
        headers.extend(sse::answer_header_pairs(&record.headers));
        Ok(WithHeaders {
            headers,
            answer: CompleteMultipartUploadResult {
                bucket: call.bucket.to_string(),
                key: call.key.to_string(),
                etag: record.etag,
                checksum: record.checksum.as_deref().and_then(StoredChecksum::decode),
            },
        })
    }
}

/// AbortMultipartUpload.
pub struct AbortMultipartUpload;

impl S3Operation for AbortMultipartUpload {
    type Input<'r> = UploadId<'r>;
    type Output = NoContent;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<NoContent> {
        let UploadId(upload_id) = input;
        current_upload(context, &call, upload_id).await?;
        let files = context
            .meta
            .abort_upload(upload_id.to_string())
            .await
            .map_err(|error| map_meta(&call, upload_id, error))?;
        remove_later(context, files);
        Ok(NoContent)
    }
}

fn bounded_count(request: &S3Request<'_>, name: &'static str) -> S3Result<usize> {
    match request.query_value(name) {
        None => Ok(MULTIPART_LIST_ENTRIES_MAX),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|value| *value >= 0)
            .map(|value| (value as usize).min(MULTIPART_LIST_ENTRIES_MAX))
            .ok_or_else(|| {
                S3Error::with_message(
                    S3ErrorCode::InvalidArgument,
                    format!("Argument {name} must be a non-negative integer"),
                )
                .field("ArgumentName", name)
                .field("ArgumentValue", text.to_string())
            }),
    }
}

/// What a ListParts asks.
pub struct ListPartsInput<'r> {
    upload_id: &'r str,
    max_parts: usize,
    /// List parts numbered above this (`part-number-marker`).
    after_part: u32,
}

impl<'r> FromRequest<'r> for ListPartsInput<'r> {
    fn parse(request: &'r S3Request<'_>) -> S3Result<Self> {
        let marker_text = request.query_value("part-number-marker").unwrap_or("0");
        let after_part: u32 = marker_text.parse().map_err(|_| {
            S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "part-number-marker must be an integer",
            )
            .field("ArgumentName", "part-number-marker")
        })?;
        Ok(ListPartsInput {
            upload_id: UploadId::parse(request)?.0,
            max_parts: bounded_count(request, "max-parts")?,
            after_part,
        })
    }
}

/// ListParts.
pub struct ListParts;

impl S3Operation for ListParts {
    type Input<'r> = ListPartsInput<'r>;
    type Output = WithHeaders<ListPartsResult>;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<WithHeaders<ListPartsResult>> {
        current_upload(context, &call, input.upload_id).await?;
        let query = PartsQuery {
            upload_id: input.upload_id.to_string(),
            after_part: input.after_part,
            max_parts: input.max_parts,
        };
        let page = context
            .meta
            .list_parts(query)
            .await
            .map_err(|error| map_meta(&call, input.upload_id, error))?;
        let owner = context.owner_identity(&page.upload.owner).await?;
        let abort = match context.bucket(call.bucket).await? {
            Some(bucket) => abort_headers(&bucket, call.key, page.upload.created_ms),
            None => Vec::new(),
        };
        let document = ListPartsResult {
            bucket: call.bucket.to_string(),
            key: call.key.to_string(),
            upload_id: page.upload.upload_id.clone(),
            part_number_marker: input.after_part,
            max_parts: input.max_parts,
            is_truncated: page.is_truncated,
            algorithm: upload_algorithm(&page.upload),
            storage_class: storage_class(&page.upload.headers).to_string(),
            parts: page.parts,
            owner: Owner::of(&owner),
        };
        Ok(WithHeaders {
            answer: document,
            headers: abort,
        })
    }
}

/// What a ListMultipartUploads asks.
pub struct ListMultipartUploadsInput {
    query: UploadsQuery,
    url_encoding: bool,
}

impl FromRequest<'_> for ListMultipartUploadsInput {
    fn parse(request: &S3Request<'_>) -> S3Result<Self> {
        let text = |name: &str| request.query_value(name).unwrap_or_default().to_string();
        Ok(ListMultipartUploadsInput {
            query: UploadsQuery {
                bucket: request.bucket().to_string(),
                prefix: text("prefix"),
                delimiter: request
                    .query_value("delimiter")
                    .filter(|d| !d.is_empty())
                    .map(str::to_string),
                key_marker: text("key-marker"),
                upload_id_marker: text("upload-id-marker"),
                max_uploads: bounded_count(request, "max-uploads")?,
            },
            url_encoding: request
                .query_value("encoding-type")
                .is_some_and(|value| value.eq_ignore_ascii_case("url")),
        })
    }
}

/// ListMultipartUploads.
pub struct ListMultipartUploads;

impl S3Operation for ListMultipartUploads {
    type Input<'r> = ListMultipartUploadsInput;
    type Output = ListMultipartUploadsResult;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<ListMultipartUploadsResult> {
        authorized_bucket(context, &call, Permission::Read).await?;
        let page = context
            .meta
            .list_uploads(input.query.clone())
            .await
            .map_err(|error| write_error(&call, error))?;
        let mut uploads = Vec::with_capacity(page.uploads.len());
        for upload in page.uploads {
            let owner = context.owner_identity(&upload.owner).await?;
            uploads.push(UploadEntry {
                storage_class: storage_class(&upload.headers).to_string(),
                key: upload.key,
                upload_id: upload.upload_id,
                owner: Owner::of(&owner),
                initiated_ms: upload.created_ms,
            });
        }
        Ok(ListMultipartUploadsResult {
            query: input.query,
            url_encoding: input.url_encoding,
            is_truncated: page.is_truncated,
            uploads,
            common_prefixes: page.common_prefixes,
        })
    }
}
