//! CopyObject: COPY/REPLACE metadata over the source `copy_source` streams, committed with the
//! same durability as PutObject; a typed unit (`S3Operation`).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::meta::{ObjectLock, PutCondition};
use crate::s3::access::{AclRequest, Permission};
use crate::s3::copy_source::{copy_from_source, CopySourceRequest};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::expiration::expiration_header;
use crate::s3::grants::{refuse_public_acl, stored_acl};
use crate::s3::handler::{FromRequest, S3Operation, WithHeaders};
use crate::s3::object_lock::{check_requested_lock, requested_lock};
use crate::s3::object_write::{
    commit_object, storage_class_header, stored_headers, Destination, ObjectAttributes,
    STORAGE_CLASS_HEADER,
};
use crate::s3::payload::PayloadReader;
use crate::s3::request::{Call, S3Request};
use crate::s3::resource::authorized_bucket;
use crate::s3::sosapi::refuse_sosapi_write;
use crate::s3::sse::{self, Encryption};
use crate::s3::tagging::{encode as encode_tags, parse_tagging_header};
use crate::s3::xml::documents::CopyObjectResult;
use crate::s3::S3Context;
use crate::storage::checksum::StoredChecksum;
use crate::storage::encryption::Sealing;

/// The metadata a copy gets (`x-amz-metadata-directive`): the source's, or the request's.
pub enum Directive {
    /// COPY (the default): the source's Content-Type and stored headers.
    Copy,
    /// REPLACE: the request's.
    Replace {
        /// Content-Type.
        content_type: Option<String>,
        /// Stored headers and user metadata.
        headers: Vec<(String, String)>,
    },
}

/// What a CopyObject asks for.
pub struct CopyObjectInput<'r> {
    source: CopySourceRequest<'r>,
    directive: Directive,
    acl: Option<AclRequest>,
    /// Retention and legal hold for the copy (a source's own are not copied, as in S3).
    lock: ObjectLock,
    /// `x-amz-tagging-directive: REPLACE`: these tags (from `x-amz-tagging`) instead of the
    /// source's; `None` for COPY (the default).
    replaced_tags: Option<Option<String>>,
    /// The copy's storage class header as stored (`None`: STANDARD). A class is never copied
    /// from the source (S3 API Reference, CopyObject `x-amz-storage-class`).
    storage_class: Option<(String, String)>,
    /// The copy's encryption (never the source's: S3 encrypts a copy as its own request, or
    /// the destination bucket's default, says).
    encryption: Option<Encryption>,
    /// The request came over TLS (SSE-C keys must).
    secure: bool,
}

impl<'r> FromRequest<'r> for CopyObjectInput<'r> {
    fn parse(request: &'r S3Request<'_>) -> S3Result<Self> {
        let head = request.head;
        let source = CopySourceRequest::parse(head, false)?;
        let directive = match head.header("x-amz-metadata-directive") {
            None => Directive::Copy,
            Some(value) if value.eq_ignore_ascii_case("COPY") => Directive::Copy,
            Some(value) if value.eq_ignore_ascii_case("REPLACE") => Directive::Replace {
                content_type: head.header("content-type").map(str::to_string),
                headers: stored_headers(head)?,
            },
            Some(_) => {
                return Err(S3Error::with_message(
                    S3ErrorCode::InvalidArgument,
                    "Unknown metadata directive.",
                ))
            }
        };
        let storage_class = head
            .header(STORAGE_CLASS_HEADER)
            .and_then(storage_class_header);
        let encryption = sse::requested_encryption(head)?;
        // A copy onto itself must change something; a storage class or an encryption asked for
        // is a change (a copy in place rotates an SSE-C key, as in S3).
        if source.source.bucket == request.bucket()
            && source.source.key == request.key()
            && source.source.version.is_none()
            && matches!(directive, Directive::Copy)
            && head.header(STORAGE_CLASS_HEADER).is_none()
            && encryption.is_none()
        {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
            ));
        }
        let replace_tags = head
            .header("x-amz-tagging-directive")
            .is_some_and(|value| value.trim().eq_ignore_ascii_case("REPLACE"));
        let replaced_tags = match (replace_tags, head.header("x-amz-tagging")) {
            (false, _) => None,
            (true, None) => Some(None),
            (true, Some(text)) => Some(encode_tags(&parse_tagging_header(text)?)),
        };
        Ok(CopyObjectInput {
            encryption,
            secure: head.secure,
            storage_class,
            replaced_tags,
            lock: requested_lock(|name| head.header(name))?,
            source,
            directive,
            acl: crate::s3::access::acl_from_headers(head)?,
        })
    }
}

/// CopyObject.
pub struct CopyObject;

impl S3Operation for CopyObject {
    type Input<'r> = CopyObjectInput<'r>;
    type Output = WithHeaders<CopyObjectResult>;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<WithHeaders<CopyObjectResult>> {
        let bucket = authorized_bucket(context, &call, Permission::Write).await?;
        let writer = call.requester.access_key();
        refuse_sosapi_write(call.key)?;
        check_requested_lock(context, &call, &bucket, &input.lock, false)?;
        let acl = stored_acl(context, writer, input.acl, &bucket.owner).await?;
        refuse_public_acl(&call, acl.as_deref())?;
        let encryption = sse::encryption_for_write(
            &context.config,
            input.encryption,
            input.secure,
            &bucket,
            call.key,
        )?;
        let sealing = encryption
            .as_ref()
            .map(|encryption| Sealing::Object(encryption.data_key.clone()));
        let (record, sealed) = copy_from_source(
            context,
            &call,
            &input.source,
            None,
            Destination::Object,
            sealing,
        )
        .await?;
        let checksum = sealed
            .digests()
            .checksum
            .as_ref()
            .map(|(algorithm, value)| {
                StoredChecksum {
                    algorithm: *algorithm,
                    full_object: true,
                    value: BASE64.encode(value),
                }
                .encode()
            });
        let (content_type, headers) = match input.directive {
            Directive::Copy => {
                // Neither the source's class nor its encryption (its sealed key least of all).
                let mut headers: Vec<(String, String)> = record
                    .headers
                    .iter()
                    .filter(|(name, _)| {
                        name != STORAGE_CLASS_HEADER && !sse::is_encryption_header(name)
                    })
                    .cloned()
                    .collect();
                headers.extend(input.storage_class.clone());
                (record.content_type.clone(), headers)
            }
            Directive::Replace {
                content_type,
                headers,
            } => (content_type, headers),
        };
        let attributes = ObjectAttributes {
            content_type,
            headers,
            checksum,
            acl,
            lock: input.lock,
            tags: input.replaced_tags.unwrap_or_else(|| record.tags.clone()),
            encryption,
        };
        let committed =
            commit_object(context, &call, sealed, attributes, PutCondition::None).await?;
        let expiration = expiration_header(&bucket, &committed);
        let mut headers = vec![
            ("x-amz-expiration", expiration),
            ("x-amz-version-id", committed.version_id.clone()),
            (
                "x-amz-copy-source-version-id",
                input.source.version_header(&record),
            ),
        ];
        headers.extend(sse::answer_header_pairs(&committed.headers));
        Ok(WithHeaders {
            headers,
            answer: CopyObjectResult {
                last_modified_ms: committed.last_modified_ms,
                etag: committed.etag,
            },
        })
    }
}
