//! The ACL a request asks for, resolved to the stored list: a canned `x-amz-acl`, `x-amz-grant-*`
//! headers or an `AccessControlPolicy` body, with the users its grants name looked up.

use crate::meta::UserLookup;
use crate::s3::access::{
    encode_grants, AclRequest, CannedAcl, Grant, Grantee, GranteeName, Identity,
};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::request::Call;
use crate::s3::S3Context;

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

/// The stored list for `requested` (the ACL a write's headers asked for, parsed by its input),
/// written by `writer` into a bucket owned by `bucket_owner` (access keys).
pub(crate) async fn stored_acl(
    context: &S3Context,
    writer: &str,
    requested: Option<AclRequest>,
    bucket_owner: &str,
) -> S3Result<Option<String>> {
    let Some(requested) = requested else {
        return Ok(None);
    };
    let owner = context.owner_identity(writer).await?;
    let bucket_owner = context.owner_identity(bucket_owner).await?;
    resolve_acl(context, requested, &owner, &bucket_owner).await
}

/// AccessDenied when the request's bucket blocks public ACLs (PublicAccessBlock's
/// BlockPublicAcls) and `acl`, about to be stored, grants anything to AllUsers or
/// AuthenticatedUsers: nothing is stored.
pub(crate) fn refuse_public_acl(call: &Call<'_>, acl: Option<&str>) -> S3Result<()> {
    if call.authorization.block_public_acls && crate::s3::access::is_public_acl(acl) {
        return Err(S3Error::new(S3ErrorCode::AccessDenied));
    }
    Ok(())
}
