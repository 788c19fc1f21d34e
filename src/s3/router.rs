//! A pure function from method + bucket/key + query to the S3 `Operation`, with AWS's names.

use crate::http::Method;

/// An S3 operation, named as in the AWS S3 API Reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Operation {
    ListBuckets,
    CreateBucket,
    DeleteBucket,
    HeadBucket,
    GetBucketLocation,
    PutObject,
    GetObject,
    HeadObject,
    DeleteObject,
    ListObjects,
    ListObjectsV2,
    ListObjectVersions,
    DeleteObjects,
    CopyObject,
    GetBucketVersioning,
    GetBucketAcl,
    GetObjectAcl,
    PutBucketAcl,
    PutObjectAcl,
    /// `OPTIONS` on a bucket or object: a CORS preflight (no bucket has CORS rules here).
    OptionsPreflight,
    /// `POST` of an HTML form to a bucket: a browser upload.
    PostObject,
    CreateMultipartUpload,
    UploadPart,
    UploadPartCopy,
    CompleteMultipartUpload,
    AbortMultipartUpload,
    ListParts,
    ListMultipartUploads,
    GetObjectAttributes,
    /// An operation S3 has and ringstore does not implement yet (answered `501 NotImplemented`).
    NotImplemented(&'static str),
    /// A method S3 does not accept on this resource.
    MethodNotAllowed,
}

impl Operation {
    /// The AWS name, for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Operation::ListBuckets => "ListBuckets",
            Operation::CreateBucket => "CreateBucket",
            Operation::DeleteBucket => "DeleteBucket",
            Operation::HeadBucket => "HeadBucket",
            Operation::GetBucketLocation => "GetBucketLocation",
            Operation::PutObject => "PutObject",
            Operation::GetObject => "GetObject",
            Operation::HeadObject => "HeadObject",
            Operation::DeleteObject => "DeleteObject",
            Operation::ListObjects => "ListObjects",
            Operation::ListObjectsV2 => "ListObjectsV2",
            Operation::ListObjectVersions => "ListObjectVersions",
            Operation::DeleteObjects => "DeleteObjects",
            Operation::CopyObject => "CopyObject",
            Operation::GetBucketVersioning => "GetBucketVersioning",
            Operation::GetBucketAcl => "GetBucketAcl",
            Operation::GetObjectAcl => "GetObjectAcl",
            Operation::PutBucketAcl => "PutBucketAcl",
            Operation::PutObjectAcl => "PutObjectAcl",
            Operation::OptionsPreflight => "OptionsPreflight",
            Operation::PostObject => "PostObject",
            Operation::CreateMultipartUpload => "CreateMultipartUpload",
            Operation::UploadPart => "UploadPart",
            Operation::UploadPartCopy => "UploadPartCopy",
            Operation::CompleteMultipartUpload => "CompleteMultipartUpload",
            Operation::AbortMultipartUpload => "AbortMultipartUpload",
            Operation::ListParts => "ListParts",
            Operation::ListMultipartUploads => "ListMultipartUploads",
            Operation::GetObjectAttributes => "GetObjectAttributes",
            Operation::NotImplemented(name) => name,
            Operation::MethodNotAllowed => "MethodNotAllowed",
        }
    }
}

/// What the router needs to know about a request.
#[derive(Debug, Clone, Copy)]
pub struct RouteInput<'a> {
    /// Request method.
    pub method: Method,
    /// Whether a bucket was addressed.
    pub has_bucket: bool,
    /// Whether a key was addressed.
    pub has_key: bool,
    /// Decoded query parameter names.
    pub query_names: &'a [&'a str],
    /// `x-amz-copy-source` is present.
    pub has_copy_source: bool,
}

/// Bucket sub-resources, in the order they are checked, with the operation each GET/PUT/DELETE/POST means.
const BUCKET_SUBRESOURCES: &[(&str, &str, &str, &str, &str)] = &[
    // (query name, GET, PUT, DELETE, POST)
    ("location", "GetBucketLocation", "", "", ""),
    ("acl", "GetBucketAcl", "PutBucketAcl", "", ""),
    (
        "versioning",
        "GetBucketVersioning",
        "PutBucketVersioning",
        "",
        "",
    ),
    ("versions", "ListObjectVersions", "", "", ""),
    ("uploads", "ListMultipartUploads", "", "", ""),
    ("delete", "", "", "", "DeleteObjects"),
    (
        "policy",
        "GetBucketPolicy",
        "PutBucketPolicy",
        "DeleteBucketPolicy",
        "",
    ),
    ("policyStatus", "GetBucketPolicyStatus", "", "", ""),
    (
        "cors",
        "GetBucketCors",
        "PutBucketCors",
        "DeleteBucketCors",
        "",
    ),
    (
        "lifecycle",
        "GetBucketLifecycleConfiguration",
        "PutBucketLifecycleConfiguration",
        "DeleteBucketLifecycle",
        "",
    ),
    (
        "tagging",
        "GetBucketTagging",
        "PutBucketTagging",
        "DeleteBucketTagging",
        "",
    ),
    (
        "website",
        "GetBucketWebsite",
        "PutBucketWebsite",
        "DeleteBucketWebsite",
        "",
    ),
    (
        "encryption",
        "GetBucketEncryption",
        "PutBucketEncryption",
        "DeleteBucketEncryption",
        "",
    ),
    ("logging", "GetBucketLogging", "PutBucketLogging", "", ""),
    (
        "notification",
        "GetBucketNotificationConfiguration",
        "PutBucketNotificationConfiguration",
        "",
        "",
    ),
    (
        "replication",
        "GetBucketReplication",
        "PutBucketReplication",
        "DeleteBucketReplication",
        "",
    ),
    (
        "requestPayment",
        "GetBucketRequestPayment",
        "PutBucketRequestPayment",
        "",
        "",
    ),
    (
        "object-lock",
        "GetObjectLockConfiguration",
        "PutObjectLockConfiguration",
        "",
        "",
    ),
    (
        "ownershipControls",
        "GetBucketOwnershipControls",
        "PutBucketOwnershipControls",
        "DeleteBucketOwnershipControls",
        "",
    ),
    (
        "publicAccessBlock",
        "GetPublicAccessBlock",
        "PutPublicAccessBlock",
        "DeletePublicAccessBlock",
        "",
    ),
    (
        "accelerate",
        "GetBucketAccelerateConfiguration",
        "PutBucketAccelerateConfiguration",
        "",
        "",
    ),
    (
        "analytics",
        "GetBucketAnalyticsConfiguration",
        "PutBucketAnalyticsConfiguration",
        "DeleteBucketAnalyticsConfiguration",
        "",
    ),
    (
        "inventory",
        "GetBucketInventoryConfiguration",
        "PutBucketInventoryConfiguration",
        "DeleteBucketInventoryConfiguration",
        "",
    ),
    (
        "metrics",
        "GetBucketMetricsConfiguration",
        "PutBucketMetricsConfiguration",
        "DeleteBucketMetricsConfiguration",
        "",
    ),
    (
        "intelligent-tiering",
        "GetBucketIntelligentTieringConfiguration",
        "PutBucketIntelligentTieringConfiguration",
        "DeleteBucketIntelligentTieringConfiguration",
        "",
    ),
];

/// Object sub-resources: (query name, GET, PUT, DELETE, POST, HEAD).
const OBJECT_SUBRESOURCES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "uploadId",
        "ListParts",
        "UploadPart",
        "AbortMultipartUpload",
        "CompleteMultipartUpload",
    ),
    ("uploads", "", "", "", "CreateMultipartUpload"),
    ("acl", "GetObjectAcl", "PutObjectAcl", "", ""),
    (
        "tagging",
        "GetObjectTagging",
        "PutObjectTagging",
        "DeleteObjectTagging",
        "",
    ),
    ("attributes", "GetObjectAttributes", "", "", ""),
    (
        "retention",
        "GetObjectRetention",
        "PutObjectRetention",
        "",
        "",
    ),
    (
        "legal-hold",
        "GetObjectLegalHold",
        "PutObjectLegalHold",
        "",
        "",
    ),
    ("restore", "", "", "", "RestoreObject"),
    ("select", "", "", "", "SelectObjectContent"),
    ("torrent", "GetObjectTorrent", "", "", ""),
];

fn pick(
    method: Method,
    entry: &(&str, &'static str, &'static str, &'static str, &'static str),
) -> Option<&'static str> {
    let name = match method {
        Method::Get => entry.1,
        Method::Put => entry.2,
        Method::Delete => entry.3,
        Method::Post => entry.4,
        _ => "",
    };
    (!name.is_empty()).then_some(name)
}

/// Routes a request to its operation.
pub fn route(input: RouteInput<'_>) -> Operation {
    let has = |name: &str| input.query_names.contains(&name);
    if !input.has_bucket {
        return match input.method {
            Method::Get => Operation::ListBuckets,
            _ => Operation::MethodNotAllowed,
        };
    }
    if input.method == Method::Options {
        return Operation::OptionsPreflight;
    }
    if !input.has_key {
        for entry in BUCKET_SUBRESOURCES {
            if has(entry.0) {
                return match pick(input.method, entry) {
                    Some("GetBucketLocation") => Operation::GetBucketLocation,
                    Some("ListObjectVersions") => Operation::ListObjectVersions,
                    Some("DeleteObjects") => Operation::DeleteObjects,
                    Some("GetBucketVersioning") => Operation::GetBucketVersioning,
                    Some("GetBucketAcl") => Operation::GetBucketAcl,
                    Some("PutBucketAcl") => Operation::PutBucketAcl,
                    Some("ListMultipartUploads") => Operation::ListMultipartUploads,
                    Some(name) => Operation::NotImplemented(name),
                    None => Operation::MethodNotAllowed,
                };
            }
        }
        return match input.method {
            Method::Put => Operation::CreateBucket,
            Method::Post => Operation::PostObject,
            Method::Delete => Operation::DeleteBucket,
            Method::Head => Operation::HeadBucket,
            Method::Get if has("list-type") => Operation::ListObjectsV2,
            Method::Get => Operation::ListObjects,
            _ => Operation::MethodNotAllowed,
        };
    }
    for entry in OBJECT_SUBRESOURCES {
        if has(entry.0) {
            if entry.0 == "uploadId" && input.method == Method::Put && input.has_copy_source {
                return Operation::UploadPartCopy;
            }
            return match pick(input.method, entry) {
                Some("GetObjectAcl") => Operation::GetObjectAcl,
                Some("PutObjectAcl") => Operation::PutObjectAcl,
                Some("CreateMultipartUpload") => Operation::CreateMultipartUpload,
                Some("UploadPart") => Operation::UploadPart,
                Some("CompleteMultipartUpload") => Operation::CompleteMultipartUpload,
                Some("AbortMultipartUpload") => Operation::AbortMultipartUpload,
                Some("ListParts") => Operation::ListParts,
                Some("GetObjectAttributes") => Operation::GetObjectAttributes,
                Some(name) => Operation::NotImplemented(name),
                None => Operation::MethodNotAllowed,
            };
        }
    }
    match input.method {
        Method::Put if input.has_copy_source => Operation::CopyObject,
        Method::Put => Operation::PutObject,
        Method::Get => Operation::GetObject,
        Method::Head => Operation::HeadObject,
        Method::Delete => Operation::DeleteObject,
        _ => Operation::MethodNotAllowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_documentation_examples() {
        // Goal: request shapes from the AWS S3 API Reference route to the operation AWS names.
        type Case<'a> = (Method, bool, bool, &'a [&'a str], bool, Operation);
        let cases: &[Case] = &[
            (
                Method::Get,
                false,
                false,
                &[],
                false,
                Operation::ListBuckets,
            ),
            (
                Method::Put,
                true,
                false,
                &[],
                false,
                Operation::CreateBucket,
            ),
            (
                Method::Delete,
                true,
                false,
                &[],
                false,
                Operation::DeleteBucket,
            ),
            (Method::Head, true, false, &[], false, Operation::HeadBucket),
            (
                Method::Get,
                true,
                false,
                &["location"],
                false,
                Operation::GetBucketLocation,
            ),
            (
                Method::Get,
                true,
                false,
                &["list-type", "prefix"],
                false,
                Operation::ListObjectsV2,
            ),
            (Method::Get, true, false, &[], false, Operation::ListObjects),
            (
                Method::Post,
                true,
                false,
                &["delete"],
                false,
                Operation::DeleteObjects,
            ),
            (Method::Put, true, true, &[], false, Operation::PutObject),
            (
                Method::Get,
                true,
                false,
                &["versions"],
                false,
                Operation::ListObjectVersions,
            ),
            (
                Method::Get,
                true,
                false,
                &["versioning"],
                false,
                Operation::GetBucketVersioning,
            ),
            (
                Method::Put,
                true,
                false,
                &["versioning"],
                false,
                Operation::NotImplemented("PutBucketVersioning"),
            ),
            (
                Method::Get,
                true,
                false,
                &["acl"],
                false,
                Operation::GetBucketAcl,
            ),
            (
                Method::Get,
                true,
                true,
                &["acl"],
                false,
                Operation::GetObjectAcl,
            ),
            (
                Method::Put,
                true,
                false,
                &["acl"],
                false,
                Operation::PutBucketAcl,
            ),
            (
                Method::Put,
                true,
                true,
                &["acl"],
                false,
                Operation::PutObjectAcl,
            ),
            (Method::Put, true, true, &[], true, Operation::CopyObject),
            (Method::Get, true, true, &[], false, Operation::GetObject),
            (
                Method::Get,
                true,
                true,
                &["response-content-type"],
                false,
                Operation::GetObject,
            ),
            (Method::Head, true, true, &[], false, Operation::HeadObject),
            (
                Method::Delete,
                true,
                true,
                &[],
                false,
                Operation::DeleteObject,
            ),
            (
                Method::Post,
                true,
                true,
                &["uploads"],
                false,
                Operation::CreateMultipartUpload,
            ),
            (
                Method::Put,
                true,
                true,
                &["partNumber", "uploadId"],
                false,
                Operation::UploadPart,
            ),
            (
                Method::Put,
                true,
                true,
                &["partNumber", "uploadId"],
                true,
                Operation::UploadPartCopy,
            ),
            (
                Method::Post,
                true,
                true,
                &["uploadId"],
                false,
                Operation::CompleteMultipartUpload,
            ),
            (
                Method::Post,
                true,
                true,
                &[],
                false,
                Operation::MethodNotAllowed,
            ),
            (
                Method::Other,
                true,
                true,
                &[],
                false,
                Operation::MethodNotAllowed,
            ),
            (
                Method::Put,
                false,
                false,
                &[],
                false,
                Operation::MethodNotAllowed,
            ),
        ];
        for (method, has_bucket, has_key, query_names, has_copy_source, expected) in cases {
            let input = RouteInput {
                method: *method,
                has_bucket: *has_bucket,
                has_key: *has_key,
                query_names,
                has_copy_source: *has_copy_source,
            };
            assert_eq!(route(input), *expected, "{input:?}");
        }
    }
}
