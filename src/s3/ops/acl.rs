//! Get/PutBucketAcl and Get/PutObjectAcl, and turning a request's ACL (canned header, grant
//! headers or XML body) into the stored list, resolving the users its grants name.

use super::bucket::read_small_body;
use super::{authorized_bucket, authorized_object};
use crate::meta::UserLookup;
use crate::s3::access::{
    effective_grants, encode_grants, parse_access_control_policy, render_policy, AclRequest,
    CannedAcl, Grant, Grantee, GranteeName, Identity, Permission,
};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::payload::PayloadReader;
use crate::s3::pipeline::S3Request;
use crate::s3::{S3Context, S3Response};

/// The stored list for `request` (`None`: the default, `private`), the users its grants name
/// looked up now so a later GetAcl shows their names.
pub(crate) async fn resolve_acl(
    context: &S3Context,
    request: AclRequest,
    owner: &Identity,
    bucket_owner: &Identity,
) -> S3Result<Option<String>> {
    let mut grants = match request {
        AclRequest::Canned(CannedAcl::Private) => return Ok(None),
        AclRequest::Canned(canned) => canned.grants(owner, bucket_owner),
        AclRequest::Grants(named) => {
            let mut grants = Vec::with_capacity(named.len());
            for Grant {
                grantee,
                permission,
            } in named
            {
                let grantee = match grantee {
                    GranteeName::Group(uri) => Grantee::Group(uri),
                    GranteeName::Id(id) => {
                        let user = context
                            .grantee_user(UserLookup::CanonicalId(id.clone()))
                            .await?
                            .ok_or_else(|| {
                                S3Error::with_message(S3ErrorCode::InvalidArgument, "Invalid id")
                                    .field("ArgumentName", "CanonicalUser/ID")
                                    .field("ArgumentValue", id)
                            })?;
                        Grantee::User {
                            id: user.canonical_id,
                            display_name: user.display_name,
                        }
                    }
                    GranteeName::Email(email) => {
                        let user = context
                            .grantee_user(UserLookup::Email(email))
                            .await?
                            .ok_or_else(|| {
                                S3Error::new(S3ErrorCode::UnresolvableGrantByEmailAddress)
                            })?;
                        Grantee::User {
                            id: user.canonical_id,
                            display_name: user.display_name,
                        }
                    }
                };
                grants.push(Grant {
                    grantee,
                    permission,
                });
            }
            grants
        }
    };
    group_grants_first(&mut grants);
    Ok(Some(encode_grants(&grants)))
}

/// Group grants before user grants, each in the order given: the order Ceph RGW answers in, which
/// s3-tests relies on (AWS documents none).
fn group_grants_first(grants: &mut [Grant<Grantee>]) {
    grants.sort_by_key(|grant| matches!(grant.grantee, Grantee::User { .. }));
}

/// The stored list a write (CreateBucket, PutObject, CopyObject, CreateMultipartUpload) asks
/// for in its headers, owned by the requester, in a bucket owned by `bucket_owner`.
pub(crate) async fn acl_from_request_headers(
    context: &S3Context,
    request: &S3Request<'_>,
    bucket_owner: &str,
) -> S3Result<Option<String>> {
    let Some(acl_request) = crate::s3::access::acl_from_headers(request.head)? else {
        return Ok(None);
    };
    let owner = context
        .owner_identity(request.requester.access_key())
        .await?;
    let bucket_owner = context.owner_identity(bucket_owner).await?;
    resolve_acl(context, acl_request, &owner, &bucket_owner).await
}

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
) -> S3Result<S3Response> {
    let owner = context.owner_identity(owner).await?;
    let grants = effective_grants(acl, &owner);
    Ok(S3Response::xml(render_policy(&owner, &grants)))
}

/// GetBucketAcl.
pub async fn get_bucket_acl(context: &S3Context, request: &S3Request<'_>) -> S3Result<S3Response> {
    let bucket = authorized_bucket(context, request, Permission::ReadAcp).await?;
    policy_response(context, &bucket.owner, bucket.acl.as_deref()).await
}

/// PutBucketAcl.
pub async fn put_bucket_acl(
    context: &S3Context,
    request: &S3Request<'_>,
    mut payload: PayloadReader<'_, '_>,
) -> S3Result<S3Response> {
    let bucket = authorized_bucket(context, request, Permission::WriteAcp).await?;
    let acl_request = requested_acl(request, &mut payload).await?;
    let owner = context.owner_identity(&bucket.owner).await?;
    let acl = resolve_acl(context, acl_request, &owner, &owner).await?;
    context
        .meta
        .put_bucket_acl(request.bucket().to_string(), acl)
        .await?;
    Ok(S3Response::empty(200))
}

/// GetObjectAcl.
pub async fn get_object_acl(context: &S3Context, request: &S3Request<'_>) -> S3Result<S3Response> {
    let record = authorized_object(context, request, Permission::ReadAcp, false).await?;
    policy_response(context, &record.owner, record.acl.as_deref()).await
}

/// PutObjectAcl.
pub async fn put_object_acl(
    context: &S3Context,
    request: &S3Request<'_>,
    mut payload: PayloadReader<'_, '_>,
) -> S3Result<S3Response> {
    let record = authorized_object(context, request, Permission::WriteAcp, false).await?;
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
    Ok(S3Response::empty(200))
}
