//! The object version a request names (`?versionId=`), parsed once, and the errors S3 gives for
//! a version that is missing or is a delete marker.

use crate::meta::{MetaError, VersionSelector};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::handler::FromRequest;
use crate::s3::object_write::no_such_bucket;
use crate::s3::request::{Call, S3Request};
use crate::s3::time;

/// `?versionId=`: `None` when absent. An empty or malformed id is S3's 400 InvalidArgument.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestedVersion(pub Option<VersionSelector>);

impl FromRequest<'_> for RequestedVersion {
    fn parse(request: &S3Request<'_>) -> S3Result<Self> {
        let Some(text) = request.query_value("versionId") else {
            return Ok(RequestedVersion(None));
        };
        let message = if text.is_empty() {
            "Version id cannot be the empty string"
        } else {
            "Invalid version id specified"
        };
        VersionSelector::parse(text)
            .map(|selector| RequestedVersion(Some(selector)))
            .ok_or_else(|| {
                S3Error::with_message(S3ErrorCode::InvalidArgument, message)
                    .field("ArgumentName", "versionId")
                    .field("ArgumentValue", text.to_string())
            })
    }
}

impl RequestedVersion {
    /// A metadata error of a command on this version of the request's key, as S3 words it:
    /// NoSuchBucket, NoSuchKey or NoSuchVersion naming what was asked; anything else as mapped.
    pub fn command_error(&self, call: &Call<'_>, error: MetaError) -> S3Error {
        match (error, &self.0) {
            (MetaError::NoSuchBucket, _) => no_such_bucket(call),
            (MetaError::NoSuchVersion, Some(version)) => no_such_version(call.key, version),
            (MetaError::NoSuchKey, _) => {
                S3Error::new(S3ErrorCode::NoSuchKey).field("Key", call.key.to_string())
            }
            (other, _) => other.into(),
        }
    }
}

/// NoSuchVersion for `key` at `version` (404).
pub fn no_such_version(key: &str, version: &VersionSelector) -> S3Error {
    S3Error::new(S3ErrorCode::NoSuchVersion)
        .field("Key", key.to_string())
        .field("VersionId", version.as_str().to_string())
}

/// A request for a delete marker by its id: 405 MethodNotAllowed with `x-amz-delete-marker`
/// and the marker's `Last-Modified` (S3 API Reference, GetObject: "If the specified version is a
/// delete marker, the response returns a 405 Method Not Allowed error and the Last-Modified
/// response header").
pub fn delete_marker_named(
    method: &str,
    version_id: Option<&str>,
    last_modified_ms: i64,
) -> S3Error {
    S3Error::new(S3ErrorCode::MethodNotAllowed)
        .field("Method", method.to_string())
        .field("ResourceType", "DeleteMarker")
        .header("x-amz-delete-marker", "true")
        .header(
            "x-amz-version-id",
            version_id.unwrap_or(crate::meta::NULL_VERSION_ID),
        )
        .header("Last-Modified", time::http_date(last_modified_ms))
}

/// A key whose current version is a delete marker: 404 NoSuchKey with `x-amz-delete-marker`
/// and the marker's id (S3 API Reference, GetObject / HeadObject).
pub fn key_deleted(key: &str, version_id: Option<&str>) -> S3Error {
    S3Error::new(S3ErrorCode::NoSuchKey)
        .field("Key", key.to_string())
        .header("x-amz-delete-marker", "true")
        .header(
            "x-amz-version-id",
            version_id.unwrap_or(crate::meta::NULL_VERSION_ID),
        )
}
