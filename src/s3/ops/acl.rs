//! Get/PutBucketAcl and Get/PutObjectAcl.

use crate::http::Response;
use crate::s3::access::{
    effective_grants, parse_access_control_policy, render_policy, AclRequest, Permission,
};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::grants::resolve_acl;
use crate::s3::payload::{read_small_body, PayloadReader};
use crate::s3::request::S3Request;
use crate::s3::resource::{authorized_bucket, authorized_object};
use crate::s3::S3Context;

/// The ACL a Put*Acl asks for: headers or an XML body, not both (S3 refuses the mix).
async fn requested_acl(
    request: &S3Request<'_>,
    payload: &mut PayloadReader<'_, '_>,
) -> S3Result<AclRequest> {
    let from_headers = crate::s3::access::acl_from_headers(request.head)?;
    let body = read_small_body(payload).await?;
    match (from_headers, body.iter().all(u8::is_ascii_whitespace)) {
        (Some(_), false) => Err(S3Error::with_message(
            S3ErrorCode::UnexpectedContent,
            "This request does not support content when an ACL header is given.",
        )),
        (Some(acl), true) => Ok(acl),
        (None, false) => Ok(AclRequest::Grants(parse_access_control_policy(&body)?)),
        (None, true) => Err(S3Error::with_message(
            S3ErrorCode::MissingSecurityHeader,
            "Your request was missing a required header.",
        )
        .field("MissingHeaderName", "x-amz-acl")),
    }
}

/// The `AccessControlPolicy` of something owned by the access key `owner` with stored list `acl`.
async fn policy_response(
    context: &S3Context,
    owner: &str,
    acl: Option<&str>,
) -> S3Result<Response> {
    let owner = context.owner_identity(owner).await?;
    let grants = effective_grants(acl, &owner);
    Ok(Response::xml(render_policy(&owner, &grants)))
}

/// GetBucketAcl.
pub async fn get_bucket_acl(
    context: &S3Context,
    request: &S3Request<'_>,
    _payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    let bucket = authorized_bucket(context, &request.call(), Permission::ReadAcp).await?;
    policy_response(context, &bucket.owner, bucket.acl.as_deref()).await
}

/// PutBucketAcl.
pub async fn put_bucket_acl(
    context: &S3Context,
    request: &S3Request<'_>,
    mut payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    let bucket = authorized_bucket(context, &request.call(), Permission::WriteAcp).await?;
    let acl_request = requested_acl(request, &mut payload).await?;
    let owner = context.owner_identity(&bucket.owner).await?;
    let acl = resolve_acl(context, acl_request, &owner, &owner).await?;
    context
        .meta
        .put_bucket_acl(request.bucket().to_string(), acl)
        .await?;
    Ok(Response::empty(200))
}

/// GetObjectAcl.
pub async fn get_object_acl(
    context: &S3Context,
    request: &S3Request<'_>,
    _payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    let record = authorized_object(context, &request.call(), Permission::ReadAcp, false).await?;
    policy_response(context, &record.owner, record.acl.as_deref()).await
}

/// PutObjectAcl.
pub async fn put_object_acl(
    context: &S3Context,
    request: &S3Request<'_>,
    mut payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    let record = authorized_object(context, &request.call(), Permission::WriteAcp, false).await?;
    let acl_request = requested_acl(request, &mut payload).await?;
    let owner = context.owner_identity(&record.owner).await?;
    let bucket_owner = match context.bucket(request.bucket()).await? {
        Some(bucket) => context.owner_identity(&bucket.owner).await?,
        None => owner.clone(),
    };
    let acl = resolve_acl(context, acl_request, &owner, &bucket_owner).await?;
    context
        .meta
        .put_object_acl(request.bucket().to_string(), request.key().to_string(), acl)
        .await?;
    Ok(Response::empty(200))
}
