//! Get/PutBucketAcl and Get/PutObjectAcl, each a typed unit (`S3Operation`).

use crate::meta::VersionSelector;
use crate::s3::access::{effective_grants, parse_access_control_policy, AclRequest, Permission};
use crate::s3::body_digest::BodyIntegrity;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::grants::{refuse_public_acl, resolve_acl};
use crate::s3::handler::{Done, FromRequest, S3Operation};
use crate::s3::payload::{read_small_body, PayloadReader};
use crate::s3::request::{Call, S3Request};
use crate::s3::resource::{authorized_bucket, authorized_version};
use crate::s3::version::{no_such_version, RequestedVersion};
use crate::s3::xml::documents::{AccessControlPolicy, Owner};
use crate::s3::S3Context;

/// What a Put*Acl's headers ask for (`x-amz-acl` or `x-amz-grant-*`); the body may ask instead.
pub struct PutAclInput<'r> {
    from_headers: Option<AclRequest>,
    /// Content-MD5 or a checksum, checked when sent.
    integrity: BodyIntegrity<'r>,
}

impl<'r> FromRequest<'r> for PutAclInput<'r> {
    fn parse(request: &'r S3Request<'_>) -> S3Result<PutAclInput<'r>> {
        Ok(PutAclInput {
            from_headers: crate::s3::access::acl_from_headers(request.head)?,
            integrity: BodyIntegrity::parse(request)?,
        })
    }
}

/// The ACL a Put*Acl asks for: headers or an XML body, not both (S3 refuses the mix).
async fn requested_acl(
    input: PutAclInput<'_>,
    payload: &mut PayloadReader<'_, '_>,
) -> S3Result<AclRequest> {
    let body = read_small_body(payload).await?;
    input.integrity.verify_if_sent(payload.trailers(), &body)?;
    match (input.from_headers, body.iter().all(u8::is_ascii_whitespace)) {
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
async fn policy(
    context: &S3Context,
    owner: &str,
    acl: Option<&str>,
) -> S3Result<AccessControlPolicy> {
    let owner = context.owner_identity(owner).await?;
    let grants = effective_grants(acl, &owner);
    Ok(AccessControlPolicy {
        owner: Owner::of(&owner),
        grants,
    })
}

/// GetBucketAcl.
pub struct GetBucketAcl;

impl S3Operation for GetBucketAcl {
    type Input<'r> = ();
    type Output = AccessControlPolicy;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        _input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<AccessControlPolicy> {
        let bucket = authorized_bucket(context, &call, Permission::ReadAcp).await?;
        policy(context, &bucket.owner, bucket.acl.as_deref()).await
    }
}

/// PutBucketAcl.
pub struct PutBucketAcl;

impl S3Operation for PutBucketAcl {
    type Input<'r> = PutAclInput<'r>;
    type Output = Done;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        mut payload: PayloadReader<'_, '_>,
    ) -> S3Result<Done> {
        let bucket = authorized_bucket(context, &call, Permission::WriteAcp).await?;
        let acl_request = requested_acl(input, &mut payload).await?;
        let owner = context.owner_identity(&bucket.owner).await?;
        let acl = resolve_acl(context, acl_request, &owner, &owner).await?;
        refuse_public_acl(&call, acl.as_deref())?;
        context
            .meta
            .put_bucket_acl(call.bucket.to_string(), acl)
            .await?;
        Ok(Done)
    }
}

/// GetObjectAcl (of the current version, or of the one `versionId` names).
pub struct GetObjectAcl;

impl S3Operation for GetObjectAcl {
    type Input<'r> = RequestedVersion;
    type Output = AccessControlPolicy;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        RequestedVersion(version): Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<AccessControlPolicy> {
        let record = authorized_version(
            context,
            &call,
            version.as_ref(),
            Permission::ReadAcp,
            false,
            "GET",
        )
        .await?;
        policy(context, &record.owner, record.acl.as_deref()).await
    }
}

/// What a PutObjectAcl asks: the list (headers or body) and the version it is for.
pub struct PutObjectAclInput<'r> {
    acl: PutAclInput<'r>,
    version: Option<VersionSelector>,
}

impl<'r> FromRequest<'r> for PutObjectAclInput<'r> {
    fn parse(request: &'r S3Request<'_>) -> S3Result<PutObjectAclInput<'r>> {
        Ok(PutObjectAclInput {
            acl: PutAclInput::parse(request)?,
            version: RequestedVersion::parse(request)?.0,
        })
    }
}

/// PutObjectAcl (of the current version, or of the one `versionId` names).
pub struct PutObjectAcl;

impl S3Operation for PutObjectAcl {
    type Input<'r> = PutObjectAclInput<'r>;
    type Output = Done;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        mut payload: PayloadReader<'_, '_>,
    ) -> S3Result<Done> {
        let record = authorized_version(
            context,
            &call,
            input.version.as_ref(),
            Permission::WriteAcp,
            false,
            "PUT",
        )
        .await?;
        let acl_request = requested_acl(input.acl, &mut payload).await?;
        let owner = context.owner_identity(&record.owner).await?;
        let bucket_owner = match context.bucket(call.bucket).await? {
            Some(bucket) => context.owner_identity(&bucket.owner).await?,
            None => owner.clone(),
        };
        let acl = resolve_acl(context, acl_request, &owner, &bucket_owner).await?;
        refuse_public_acl(&call, acl.as_deref())?;
        let command = crate::meta::PutObjectAcl {
            bucket: call.bucket.to_string(),
            key: call.key.to_string(),
            version: input.version.clone(),
            acl,
        };
        match (context.meta.call(command).await, &input.version) {
            // Deleted between the lookup and the update.
            (Err(crate::meta::MetaError::NoSuchVersion), Some(version)) => {
                Err(no_such_version(call.key, version))
            }
            (outcome, _) => Ok(outcome?),
        }?;
        Ok(Done)
    }
}
