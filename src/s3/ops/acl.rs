//! GetBucketAcl and GetObjectAcl: the owner with FULL_CONTROL, the same Owner ID and DisplayName
//! that ListBuckets and listings show (grants beyond that come with users and ACLs).

use super::owner_id;
use crate::meta::MetaError;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::pipeline::S3Request;
use crate::s3::xml::XmlBuilder;
use crate::s3::{S3Context, S3Response};

/// Namespace of `xsi:type` on grantees.
const XSI_NAMESPACE: &str = "http://www.w3.org/2001/XMLSchema-instance";

fn owner_only_policy(owner: &str) -> Vec<u8> {
    let id = owner_id(owner);
    let mut xml = XmlBuilder::new();
    xml.open_root("AccessControlPolicy");
    xml.open("Owner")
        .element("ID", &id)
        .element("DisplayName", owner)
        .close("Owner");
    xml.open("AccessControlList").open("Grant");
    xml.open_with(
        "Grantee",
        &[("xmlns:xsi", XSI_NAMESPACE), ("xsi:type", "CanonicalUser")],
    );
    xml.element("ID", &id)
        .element("DisplayName", owner)
        .close("Grantee");
    xml.element("Permission", "FULL_CONTROL")
        .close("Grant")
        .close("AccessControlList");
    xml.close("AccessControlPolicy");
    xml.finish()
}

/// GetBucketAcl.
pub async fn get_bucket_acl(context: &S3Context, request: &S3Request<'_>) -> S3Result<S3Response> {
    let bucket = super::bucket::owned_bucket(context, request).await?;
    Ok(S3Response::xml(owner_only_policy(&bucket.owner)))
}

/// GetObjectAcl.
pub async fn get_object_acl(context: &S3Context, request: &S3Request<'_>) -> S3Result<S3Response> {
    super::bucket::owned_bucket(context, request).await?;
    match context
        .meta
        .get_object(request.bucket().to_string(), request.key().to_string())
        .await
    {
        Ok(Some(record)) => Ok(S3Response::xml(owner_only_policy(&record.owner))),
        Ok(None) => Err(S3Error::new(S3ErrorCode::NoSuchKey).field("Key", request.key())),
        Err(MetaError::NoSuchBucket) => Err(S3Error::new(S3ErrorCode::NoSuchBucket)),
        Err(error) => Err(error.into()),
    }
}
