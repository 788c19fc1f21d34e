//! The request an operation receives: parsed, routed and authenticated by `pipeline`.

use super::access::Requester;
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::path::Target;
use crate::http::RequestHead;
use crate::limits::PART_NUMBER_MAX;
use crate::policy::conditions::ConditionContext;

/// A parsed, authenticated request handed to an operation.
pub struct S3Request<'a> {
    /// The head as received.
    pub head: &'a RequestHead,
    /// Bucket and key.
    pub target: Target,
    /// Decoded query pairs.
    pub query: crate::s3::path::QueryPairs,
    /// Who sent it.
    pub requester: Requester,
    /// Id of this request.
    pub request_id: &'a str,
    /// What the bucket's policy and PublicAccessBlock say of it (`gate::authorize`).
    pub authorization: Authorization,
    /// Its condition keys, when a bucket policy may be asked about it.
    pub conditions: Option<ConditionContext>,
}

impl S3Request<'_> {
    /// The bucket (the router guarantees one for bucket and object operations).
    pub fn bucket(&self) -> &str {
        self.target.bucket.as_deref().unwrap_or_default()
    }

    /// The first value of query parameter `name`.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query.get(name)
    }

    /// The key (the router guarantees one for object operations).
    pub fn key(&self) -> &str {
        self.target.key.as_deref().unwrap_or_default()
    }
}

impl<'a> S3Request<'a> {
    /// What a handler may know of this request: who asks, about which bucket and key.
    pub fn call(&'a self) -> Call<'a> {
        Call {
            bucket: self.bucket(),
            key: self.key(),
            requester: &self.requester,
            request_id: self.request_id,
            expected_bucket_owner: self.head.header("x-amz-expected-bucket-owner"),
            authorization: self.authorization,
            conditions: self.conditions.as_ref(),
        }
    }
}

/// One call of an operation as its handler sees it: who made it, on which bucket and key — never
/// the raw head or query, which the operation's `parse` turned into its typed input.
#[derive(Clone, Copy)]
pub struct Call<'a> {
    /// The bucket (empty for ListBuckets).
    pub bucket: &'a str,
    /// The key (empty for bucket operations).
    pub key: &'a str,
    /// Who sent it.
    pub requester: &'a Requester,
    /// Id of this request.
    pub request_id: &'a str,
    /// `x-amz-expected-bucket-owner`: the canonical id the caller expects the bucket to have.
    pub expected_bucket_owner: Option<&'a str>,
    /// The bucket policy's Allow for this call's own resource, and the PublicAccessBlock flags.
    pub authorization: Authorization,
    /// The request's condition keys, for policies on other objects it touches (a copy's source,
    /// DeleteObjects entries, a POST's key); `None` when nothing will ask.
    pub conditions: Option<&'a ConditionContext>,
}

/// What the bucket's settings say of a request before its operation runs: whether a policy
/// Allow stands in for the ACL check on the request's own resource, and whether public ACL grants
/// are to be ignored or refused (PublicAccessBlock). AccessDenied for an explicit Deny.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Authorization {
    /// A bucket policy allows the request's action on its resource.
    pub policy_allows: bool,
    /// IgnorePublicAcls: grants to AllUsers / AuthenticatedUsers count for nothing.
    pub ignore_public_acls: bool,
    /// BlockPublicAcls: a request setting such a grant is refused.
    pub block_public_acls: bool,
}

/// A `partNumber` query value: 1–10,000 (GetObject, HeadObject, UploadPart, UploadPartCopy), else
/// InvalidArgument naming it.
pub fn parse_part_number(text: &str) -> S3Result<u32> {
    text.parse::<u32>()
        .ok()
        .filter(|number| (1..=PART_NUMBER_MAX).contains(number))
        .ok_or_else(|| {
            S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "Part number must be an integer between 1 and 10000, inclusive",
            )
            .field("ArgumentName", "partNumber")
            .field("ArgumentValue", text.to_string())
        })
}
