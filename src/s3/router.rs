//! A pure function from method + bucket/key + query to the S3 `Operation`; the sub-resource tables
//! hold operations, never names.

use super::operation::Operation;
use super::operation::Operation::*;
use crate::http::Method;

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

/// A `?sub-resource` and the operation each method means on it (`None`: S3 refuses the method).
struct Subresource {
    query_name: &'static str,
    get: Option<Operation>,
    put: Option<Operation>,
    delete: Option<Operation>,
    post: Option<Operation>,
}

/// A sub-resource row: `[GET, PUT, DELETE, POST]`.
const fn subresource(query_name: &'static str, ops: [Option<Operation>; 4]) -> Subresource {
    let [get, put, delete, post] = ops;
    Subresource {
        query_name,
        get,
        put,
        delete,
        post,
    }
}

impl Subresource {
    fn operation(&self, method: Method) -> Option<Operation> {
        match method {
            Method::Get => self.get,
            Method::Put => self.put,
            Method::Delete => self.delete,
            Method::Post => self.post,
            _ => None,
        }
    }
}

#[rustfmt::skip]
/// Bucket sub-resources in the order they are checked: `[GET, PUT, DELETE, POST]`.
const BUCKET_SUBRESOURCES: &[Subresource] = &[
    subresource("location", [Some(GetBucketLocation), None, None, None]),
    subresource("acl", [Some(GetBucketAcl), Some(PutBucketAcl), None, None]),
    subresource("versioning", [Some(GetBucketVersioning), Some(PutBucketVersioning), None, None]),
    subresource("versions", [Some(ListObjectVersions), None, None, None]),
    subresource("uploads", [Some(ListMultipartUploads), None, None, None]),
    subresource("delete", [None, None, None, Some(DeleteObjects)]),
    subresource("policy", [Some(GetBucketPolicy), Some(PutBucketPolicy), Some(DeleteBucketPolicy), None]),
    subresource("policyStatus", [Some(GetBucketPolicyStatus), None, None, None]),
    subresource("cors", [Some(GetBucketCors), Some(PutBucketCors), Some(DeleteBucketCors), None]),
    subresource("lifecycle", [Some(GetBucketLifecycleConfiguration), Some(PutBucketLifecycleConfiguration), Some(DeleteBucketLifecycle), None]),
    subresource("tagging", [Some(GetBucketTagging), Some(PutBucketTagging), Some(DeleteBucketTagging), None]),
    subresource("website", [Some(GetBucketWebsite), Some(PutBucketWebsite), Some(DeleteBucketWebsite), None]),
    subresource("encryption", [Some(GetBucketEncryption), Some(PutBucketEncryption), Some(DeleteBucketEncryption), None]),
    subresource("logging", [Some(GetBucketLogging), Some(PutBucketLogging), None, None]),
    subresource("notification", [Some(GetBucketNotificationConfiguration), Some(PutBucketNotificationConfiguration), None, None]),
    subresource("replication", [Some(GetBucketReplication), Some(PutBucketReplication), Some(DeleteBucketReplication), None]),
    subresource("requestPayment", [Some(GetBucketRequestPayment), Some(PutBucketRequestPayment), None, None]),
    subresource("object-lock", [Some(GetObjectLockConfiguration), Some(PutObjectLockConfiguration), None, None]),
    subresource("ownershipControls", [Some(GetBucketOwnershipControls), Some(PutBucketOwnershipControls), Some(DeleteBucketOwnershipControls), None]),
    subresource("publicAccessBlock", [Some(GetPublicAccessBlock), Some(PutPublicAccessBlock), Some(DeletePublicAccessBlock), None]),
    subresource("accelerate", [Some(GetBucketAccelerateConfiguration), Some(PutBucketAccelerateConfiguration), None, None]),
    subresource("analytics", [Some(GetBucketAnalyticsConfiguration), Some(PutBucketAnalyticsConfiguration), Some(DeleteBucketAnalyticsConfiguration), None]),
    subresource("inventory", [Some(GetBucketInventoryConfiguration), Some(PutBucketInventoryConfiguration), Some(DeleteBucketInventoryConfiguration), None]),
    subresource("metrics", [Some(GetBucketMetricsConfiguration), Some(PutBucketMetricsConfiguration), Some(DeleteBucketMetricsConfiguration), None]),
    subresource("intelligent-tiering", [Some(GetBucketIntelligentTieringConfiguration), Some(PutBucketIntelligentTieringConfiguration), Some(DeleteBucketIntelligentTieringConfiguration), None]),
];

#[rustfmt::skip]
/// Object sub-resources in the order they are checked: `[GET, PUT, DELETE, POST]` (a PUT with
/// `?uploadId` and `x-amz-copy-source` is UploadPartCopy, decided in `route`).
const OBJECT_SUBRESOURCES: &[Subresource] = &[
    subresource("uploadId", [Some(ListParts), Some(UploadPart), Some(AbortMultipartUpload), Some(CompleteMultipartUpload)]),
    subresource("uploads", [None, None, None, Some(CreateMultipartUpload)]),
    subresource("acl", [Some(GetObjectAcl), Some(PutObjectAcl), None, None]),
    subresource("tagging", [Some(GetObjectTagging), Some(PutObjectTagging), Some(DeleteObjectTagging), None]),
    subresource("attributes", [Some(GetObjectAttributes), None, None, None]),
    subresource("retention", [Some(GetObjectRetention), Some(PutObjectRetention), None, None]),
    subresource("legal-hold", [Some(GetObjectLegalHold), Some(PutObjectLegalHold), None, None]),
    subresource("restore", [None, None, None, Some(RestoreObject)]),
    subresource("select", [None, None, None, Some(SelectObjectContent)]),
    subresource("torrent", [Some(GetObjectTorrent), None, None, None]),
];

/// Every operation a request can be routed to (for the tests that check each has a handler and a
/// metrics slot).
pub fn routable_operations() -> Vec<Operation> {
    let mut operations = vec![
        ListBuckets,
        CreateBucket,
        DeleteBucket,
        HeadBucket,
        ListObjects,
        ListObjectsV2,
        PostObject,
        PutObject,
        CopyObject,
        GetObject,
        HeadObject,
        DeleteObject,
        UploadPartCopy,
        OptionsPreflight,
        MethodNotAllowed,
    ];
    for row in BUCKET_SUBRESOURCES.iter().chain(OBJECT_SUBRESOURCES) {
        operations.extend(
            [row.get, row.put, row.delete, row.post]
                .into_iter()
                .flatten(),
        );
    }
    operations
}
/// Routes a request to its operation.
pub fn route(input: RouteInput<'_>) -> Operation {
    let has = |name: &str| input.query_names.contains(&name);
    // A preflight anywhere, the service root included, is answered from CORS rules (and, with no
    // bucket, refused as one with no rules would be).
    if input.method == Method::Options {
        return Operation::OptionsPreflight;
    }
    if !input.has_bucket {
        return match input.method {
            Method::Get => Operation::ListBuckets,
            _ => Operation::MethodNotAllowed,
        };
    }
    if !input.has_key {
        for row in BUCKET_SUBRESOURCES {
            if has(row.query_name) {
                return row.operation(input.method).unwrap_or(MethodNotAllowed);
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
    for row in OBJECT_SUBRESOURCES {
        if has(row.query_name) {
            if row.query_name == "uploadId" && input.method == Method::Put && input.has_copy_source
            {
                return UploadPartCopy;
            }
            return row.operation(input.method).unwrap_or(MethodNotAllowed);
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
    fn every_subresource_is_signed_or_refused_under_sigv2() {
        // Goal: a SigV2 signature covers every sub-resource that chooses an operation, or the
        // sub-resource is refused under SigV2, so no signature can be pointed at another
        // operation; `list-type` and `attributes` only choose between reads of one resource.
        use crate::s3::auth::sigv2::{SIGNED_SUBRESOURCES, UNSIGNABLE_SUBRESOURCES};
        for row in BUCKET_SUBRESOURCES.iter().chain(OBJECT_SUBRESOURCES) {
            let name = row.query_name;
            assert!(
                SIGNED_SUBRESOURCES.contains(&name)
                    || UNSIGNABLE_SUBRESOURCES.contains(&name)
                    || name == "attributes",
                "?{name} is neither signed nor refused under SigV2"
            );
        }
    }

    #[test]
    fn every_declared_operation_is_routable_and_every_route_is_declared() {
        // Goal: the router reaches each operation of `Operation::ALL` (no declared operation is
        // dead), and each routed operation has a metrics slot and a dispatch arm (the table in
        // `operation.rs` gives both to every variant, so a slot in ALL proves it).
        let routable = routable_operations();
        for operation in Operation::ALL {
            assert!(
                routable.contains(operation),
                "{operation:?} is never routed"
            );
        }
        for operation in &routable {
            assert_eq!(Operation::ALL[operation.index()], *operation);
            assert!(operation.index() < Operation::COUNT);
        }
        // Each sub-resource row answers its method with an operation whose AWS name says which
        // method it is for (GetX on GET, PutX on PUT, …), so a row cannot mix up its columns.
        for row in BUCKET_SUBRESOURCES.iter().chain(OBJECT_SUBRESOURCES) {
            if let Some(operation) = row.get {
                let name = operation.name();
                assert!(
                    name.starts_with("Get") || name.starts_with("List"),
                    "{name}"
                );
            }
            if let Some(operation) = row.put {
                let name = operation.name();
                assert!(name.starts_with("Put") || name == "UploadPart", "{name}");
            }
            if let Some(operation) = row.delete {
                let name = operation.name();
                assert!(
                    name.starts_with("Delete") || name.starts_with("Abort"),
                    "{name}"
                );
            }
        }
    }

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
                Operation::PutBucketVersioning,
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
