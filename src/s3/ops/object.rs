//! Object writes and deletes: PutObject (streamed, verified, durable) and DeleteObject, each a
//! typed unit (`S3Operation`). Reads (GetObject / HeadObject) are `object_read`.

use crate::http::Response;
use crate::limits::PUT_OBJECT_BYTES_MAX;
use crate::meta::{DeleteCondition, DeletedVersion, ObjectLock, PutCondition, VersionSelector};
use crate::s3::access::{AclRequest, Permission};
use crate::s3::conditions::{delete_condition, write_quoted_etag};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::expiration::expiration_header;
use crate::s3::grants::{refuse_public_acl, stored_acl};
use crate::s3::handler::{FromRequest, IntoResponse, S3Operation};
use crate::s3::object_lock::{
    asks_bypass, bypasses_governance, check_requested_lock, has_body_digest, requested_lock,
    require_administrator,
};
use crate::s3::object_write::{
    commit_object, no_such_bucket, parse_put_condition, receive_payload, stored_headers,
    Destination, ObjectAttributes, UploadIntegrity,
};
use crate::s3::payload::PayloadReader;
use crate::s3::request::{Call, S3Request};
use crate::s3::resource::authorized_bucket;
use crate::s3::sosapi::refuse_sosapi_write;
use crate::s3::sse::{self, Encryption};
use crate::s3::tagging::{encode as encode_tags, parse_tagging_header};
use crate::s3::version::RequestedVersion;
use crate::s3::S3Context;
use crate::storage::checksum::StoredChecksum;
use crate::storage::encryption::Sealing;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

/// PutObject: stream to a temp file, verify every digest, make it durable, then commit metadata.
pub struct PutObject;

/// What a PutObject's head asks for.
pub struct PutObjectInput<'r> {
    content_type: Option<&'r str>,
    /// Stored headers and user metadata.
    headers: Vec<(String, String)>,
    condition: PutCondition,
    acl: Option<AclRequest>,
    integrity: UploadIntegrity,
    /// Retention and legal hold asked for.
    lock: ObjectLock,
    /// Neither Content-MD5 nor a flexible checksum was sent.
    digest_missing: bool,
    /// `x-amz-tagging`, validated and URL-encoded.
    tags: Option<String>,
    /// SSE-S3 or SSE-C, if asked for.
    encryption: Option<Encryption>,
    /// The request came over TLS (SSE-C keys must).
    secure: bool,
}

impl<'r> FromRequest<'r> for PutObjectInput<'r> {
    fn parse(request: &'r S3Request<'_>) -> S3Result<Self> {
        let head = request.head;
        if head.header_count("content-type") > 1 {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "Duplicate header: content-type",
            ));
        }
        Ok(PutObjectInput {
            content_type: head.header("content-type"),
            headers: stored_headers(head)?,
            condition: parse_put_condition(head)?,
            acl: crate::s3::access::acl_from_headers(head)?,
            integrity: UploadIntegrity::parse(head)?,
            lock: requested_lock(|name| head.header(name))?,
            digest_missing: !has_body_digest(head),
            tags: match head.header("x-amz-tagging") {
                Some(text) => encode_tags(&parse_tagging_header(text)?),
                None => None,
            },
            encryption: sse::requested_encryption(head)?,
            secure: head.secure,
        })
    }
}

/// A written object's answer: its ETag, its version id in a versioning-enabled bucket, and its
/// checksum when it has one.
pub struct ObjectWritten {
    etag: String,
    version_id: Option<String>,
    checksum: Option<StoredChecksum>,
    /// `x-amz-expiration`, when a lifecycle rule expires the object.
    expiration: Option<String>,
    /// The encryption headers S3 answers with (`x-amz-server-side-encryption`, SSE-C's).
    encryption: Vec<(&'static str, String)>,
}

impl IntoResponse for ObjectWritten {
    fn into_response(self) -> Response {
        let mut response = Response::empty(200);
        response
            .head
            .header_written("ETag", |out| write_quoted_etag(&self.etag, out));
        for (name, value) in self.encryption {
            response.head.header(name, value);
        }
        if let Some(version_id) = self.version_id {
            response.head.header("x-amz-version-id", version_id);
        }
        if let Some(expiration) = self.expiration {
            response.head.header("x-amz-expiration", expiration);
        }
        if let Some(stored) = self.checksum {
            response
                .head
                .header(stored.algorithm.header_name(), &stored.value);
            response
                .head
                .header("x-amz-checksum-type", stored.type_name());
        }
        response
    }
}

impl S3Operation for PutObject {
    type Input<'r> = PutObjectInput<'r>;
    type Output = ObjectWritten;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        mut payload: PayloadReader<'_, '_>,
    ) -> S3Result<ObjectWritten> {
        // Before a byte of the body is read: a refused writer must not cost disk or bandwidth.
        refuse_sosapi_write(call.key)?;
        let bucket = authorized_bucket(context, &call, Permission::Write).await?;
        check_requested_lock(context, &call, &bucket, &input.lock, input.digest_missing)?;
        let writer = call.requester.access_key();
        let acl = stored_acl(context, writer, input.acl, &bucket.owner).await?;
        refuse_public_acl(&call, acl.as_deref())?;
        let encryption = sse::encryption_for_write(
            &context.config,
            input.encryption,
            input.secure,
            &bucket,
            call.key,
        )?;
        let bytes_max = PUT_OBJECT_BYTES_MAX.min(context.config.max_object_size_bytes);
        let received = receive_payload(
            context,
            &input.integrity,
            &mut payload,
            bytes_max,
            None,
            Destination::Object,
            encryption
                .as_ref()
                .map(|encryption| Sealing::Object(encryption.data_key.clone())),
        )
        .await?;
        let stored = received
            .checksum
            .as_ref()
            .map(|(algorithm, value)| StoredChecksum {
                algorithm: *algorithm,
                full_object: true,
                value: BASE64.encode(value),
            });
        let attributes = ObjectAttributes {
            content_type: input.content_type.map(str::to_string),
            headers: input.headers,
            checksum: stored.as_ref().map(StoredChecksum::encode),
            acl,
            lock: input.lock,
            tags: input.tags,
            encryption,
        };
        let record =
            commit_object(context, &call, received.sealed, attributes, input.condition).await?;
        Ok(ObjectWritten {
            encryption: sse::answer_headers(&record.headers),
            expiration: expiration_header(&bucket, &record),
            etag: record.etag,
            version_id: record.version_id,
            checksum: stored,
        })
    }
}

/// DeleteObject: idempotent 204; in a versioned bucket a delete marker, or with `versionId` that
/// version removed; files are removed after the metadata commit.
pub struct DeleteObject;

/// What a DeleteObject asks: the key or one version (`versionId`), and what the object must be
/// to go (S3's conditional deletes: `If-Match`, `x-amz-if-match-last-modified-time`,
/// `x-amz-if-match-size`).
pub struct DeleteObjectInput {
    version: Option<VersionSelector>,
    condition: DeleteCondition,
    /// `x-amz-bypass-governance-retention: true`.
    bypass_asked: bool,
}

impl FromRequest<'_> for DeleteObjectInput {
    fn parse(request: &S3Request<'_>) -> S3Result<Self> {
        let RequestedVersion(version) = RequestedVersion::parse(request)?;
        let head = request.head;
        let named = |name: &'static str| head.header(name).map(|value| (name, value));
        Ok(DeleteObjectInput {
            bypass_asked: asks_bypass(head),
            version,
            condition: delete_condition(
                head.header("if-match"),
                named("x-amz-if-match-last-modified-time"),
                named("x-amz-if-match-size"),
            )?,
        })
    }
}

/// DeleteObject's answer: 204, naming the version removed or the delete marker written.
pub struct ObjectDeleted(DeletedVersion);

impl IntoResponse for ObjectDeleted {
    fn into_response(self) -> Response {
        let mut response = Response::empty(204);
        if let Some(version_id) = self.0.version_id {
            response.head.header("x-amz-version-id", version_id);
        }
        if self.0.delete_marker {
            response.head.header("x-amz-delete-marker", "true");
        }
        response
    }
}

impl S3Operation for DeleteObject {
    type Input<'r> = DeleteObjectInput;
    type Output = ObjectDeleted;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<ObjectDeleted> {
        let bucket = authorized_bucket(context, &call, Permission::Write).await?;
        // Removing a specific version is the bucket owner's (`s3:DeleteObjectVersion`), or whoever
        // the bucket's policy allows it (as in DeleteObjects); WRITE lets others add delete
        // markers only.
        if input.version.is_some() && !call.authorization.policy_allows {
            require_administrator(context, &call, &bucket)?;
        }
        let command = crate::meta::DeleteObject {
            bypass_governance: bypasses_governance(
                context,
                &call,
                input.bypass_asked,
                &bucket,
                &[call.key],
            ),
            bucket: call.bucket.to_string(),
            key: call.key.to_string(),
            version: input.version,
            condition: input.condition,
            requester: call.requester.access_key().to_string(),
        };
        match context.meta.call(command).await {
            Ok(removed) => {
                for file in removed.freed {
                    context.remove_object_file_later(file);
                }
                Ok(ObjectDeleted(removed.deleted))
            }
            Err(crate::meta::MetaError::NoSuchBucket) => Err(no_such_bucket(&call)),
            Err(crate::meta::MetaError::PreconditionFailed) => {
                Err(S3Error::new(S3ErrorCode::PreconditionFailed).field("Condition", "If-Match"))
            }
            Err(error) => Err(error.into()),
        }
    }
}
