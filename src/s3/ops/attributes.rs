//! GetObjectAttributes: ETag, checksum, parts, storage class and size of one version without
//! its bytes, a typed unit (`S3Operation`).

use crate::http::Response;
use crate::meta::VersionSelector;
use crate::s3::access::Permission;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::handler::{FromRequest, IntoResponse, S3Operation};
use crate::s3::object_write::storage_class;
use crate::s3::payload::PayloadReader;
use crate::s3::request::{Call, S3Request};
use crate::s3::resource::authorized_version;
use crate::s3::version::RequestedVersion;
use crate::s3::xml::documents::{GetObjectAttributesResponse, ObjectPartsPage};
use crate::s3::{time, S3Context};
use crate::storage::checksum::StoredChecksum;

/// Parts one GetObjectAttributes answer lists (S3 API Reference, GetObjectAttributes
/// `x-amz-max-parts`: "default 1,000").
const ATTRIBUTE_PARTS_MAX: usize = 1000;

/// Attribute names `x-amz-object-attributes` may list (S3 API Reference, GetObjectAttributes).
const OBJECT_ATTRIBUTES: &[&str] = &[
    "ETag",
    "Checksum",
    "ObjectParts",
    "StorageClass",
    "ObjectSize",
];

/// What a GetObjectAttributes asks for.
pub struct GetObjectAttributesInput {
    /// `versionId`: that version rather than the current one.
    version: Option<VersionSelector>,
    /// The attributes named in `x-amz-object-attributes` (every header of that name).
    wanted: Vec<String>,
    /// `x-amz-part-number-marker` (0 when absent or not a number).
    part_number_marker: usize,
    /// `x-amz-max-parts`, at most `ATTRIBUTE_PARTS_MAX`.
    max_parts: usize,
    /// The SSE-C key sent, if any (an SSE-C object's attributes need it, as its bytes do).
    customer: Option<crate::s3::sse::CustomerKey>,
    /// The request came over TLS.
    secure: bool,
}

impl FromRequest<'_> for GetObjectAttributesInput {
    fn parse(request: &S3Request<'_>) -> S3Result<Self> {
        let RequestedVersion(version) = RequestedVersion::parse(request)?;
        let head = request.head;
        let wanted: Vec<String> = head
            .headers()
            .filter(|(name, _)| *name == "x-amz-object-attributes")
            .flat_map(|(_, value)| value.split(',').map(|item| item.trim().to_string()))
            .filter(|item| !item.is_empty())
            .collect();
        if wanted.is_empty()
            || wanted
                .iter()
                .any(|item| !OBJECT_ATTRIBUTES.contains(&item.as_str()))
        {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "Invalid attribute name specified.",
            )
            .field("ArgumentName", "x-amz-object-attributes"));
        }
        Ok(GetObjectAttributesInput {
            version,
            wanted,
            part_number_marker: head
                .header("x-amz-part-number-marker")
                .and_then(|value| value.parse().ok())
                .unwrap_or(0),
            max_parts: head
                .header("x-amz-max-parts")
                .and_then(|value| value.parse().ok())
                .unwrap_or(ATTRIBUTE_PARTS_MAX)
                .min(ATTRIBUTE_PARTS_MAX),
            customer: crate::s3::sse::customer_key(head, "")?,
            secure: head.secure,
        })
    }
}

/// GetObjectAttributes' answer: the document, and the object's Last-Modified and version id as
/// headers.
pub struct ObjectAttributesAnswer {
    document: GetObjectAttributesResponse,
    last_modified_ms: i64,
    version_id: Option<String>,
}

impl IntoResponse for ObjectAttributesAnswer {
    fn into_response(self) -> Response {
        let mut response = self.document.into_response();
        response
            .head
            .header("Last-Modified", time::http_date(self.last_modified_ms));
        if let Some(version_id) = self.version_id {
            response.head.header("x-amz-version-id", version_id);
        }
        response
    }
}

/// GetObjectAttributes: ETag, checksum, parts, storage class and size without the bytes.
pub struct GetObjectAttributes;

impl S3Operation for GetObjectAttributes {
    type Input<'r> = GetObjectAttributesInput;
    type Output = ObjectAttributesAnswer;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<ObjectAttributesAnswer> {
        let record = authorized_version(
            context,
            &call,
            input.version.as_ref(),
            Permission::Read,
            false,
            "GET",
        )
        .await?;
        if input.customer.is_some() {
            crate::s3::sse::require_secure_transport(
                input.secure,
                context.config.allow_sse_c_over_http,
            )?;
        }
        crate::s3::sse::data_key_for_read(
            &record.headers,
            input.customer.as_ref(),
            context.config.sse_master_key.as_ref(),
            (&record.bucket, &record.key),
        )?;
        let has = |name: &str| input.wanted.iter().any(|item| item == name);
        let checksum = record.checksum.as_deref().and_then(StoredChecksum::decode);
        let parts = (has("ObjectParts") && !record.parts().is_empty()).then(|| ObjectPartsPage {
            parts: record.parts().to_vec(),
            marker: input.part_number_marker,
            max_parts: input.max_parts,
            algorithm: checksum.as_ref().map(|stored| stored.algorithm),
        });
        Ok(ObjectAttributesAnswer {
            document: GetObjectAttributesResponse {
                etag: has("ETag").then(|| record.etag.clone()),
                checksum: checksum.filter(|_| has("Checksum")),
                parts,
                storage_class: has("StorageClass")
                    .then(|| storage_class(&record.headers).to_string()),
                object_size: has("ObjectSize").then_some(record.size_bytes),
            },
            last_modified_ms: record.last_modified_ms,
            version_id: record.version_id.clone(),
        })
    }
}
