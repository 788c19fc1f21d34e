//! Every S3 operation declared once: its AWS name, its metrics index and its typed unit all come
//! from the one table at the bottom of this file, and every operation runs the same way:
//! `Input::parse` → `handle` → `Output` rendered (`run`).
//!
//! To add an operation: write its unit in `ops/` (a type implementing `S3Operation`, its input a
//! `FromRequest`, its output an `IntoResponse` — an `xml::XmlDocument` for S3's documents), add
//! one line to `implemented { … }` (or move it there from `not_implemented { … }`), and name it in
//! the router's sub-resource table if it has a new `?sub-resource`. Metrics slots, the log name
//! and the dispatch follow from the table; the router's tests prove every routable operation has
//! them. CONTRIBUTING.md walks through a real example.

use super::error::{S3Error, S3ErrorCode, S3Result};
use super::handler::run;
use super::ops::{
    self, acl, attributes, batch, bucket, copy, cors, encryption, lifecycle, list, multipart,
    object, object_lock, object_read, policy, post, tagging, versioning,
};
use super::payload::PayloadReader;
use super::request::S3Request;
use super::S3Context;
use crate::http::Response;

/// Declares `Operation` and its dispatch from two lists: operations with a typed unit, and
/// operations S3 has that ringstore answers with `501 NotImplemented`.
///
/// A unit marked `[inline]` runs inside the request's own future; every other unit's future is
/// boxed. The request's future is as large as the largest future inlined in it, and it is moved
/// whole (into its box, and between the levels that build it) for every request: inlining only
/// the small, hot reads keeps it under half of what the largest handler (PutObjectAcl, 7,248
/// bytes) made it, for one allocation more on the other operations.
macro_rules! operations {
    (@run [inline] $unit:ty, $($argument:ident),*) => {
        run::<$unit>($($argument),*).await
    };
    (@run [] $unit:ty, $($argument:ident),*) => {
        Box::pin(run::<$unit>($($argument),*)).await
    };
    (
        implemented { $( $(#[$doc:meta])* $name:ident => $unit:ty $([$placement:ident])?, )* }
        not_implemented { $( $missing:ident, )* }
    ) => {
        /// An S3 operation, named as in the AWS S3 API Reference.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum Operation {
            $( $(#[$doc])* $name, )*
            $( $missing, )*
        }

        impl Operation {
            /// Every operation, in declaration order (`ALL[op.index()] == op`).
            pub const ALL: &'static [Operation] = &[
                $( Operation::$name, )* $( Operation::$missing, )*
            ];

            /// How many operations there are (the size of per-operation arrays).
            pub const COUNT: usize = Self::ALL.len();

            /// Every operation's AWS name, indexed by `index()`.
            pub const NAMES: &'static [&'static str] = &[
                $( stringify!($name), )* $( stringify!($missing), )*
            ];

            /// The AWS name, for logs and metrics.
            pub const fn name(self) -> &'static str {
                Self::NAMES[self.index()]
            }

            /// Position in `ALL` and in every per-operation array.
            pub const fn index(self) -> usize {
                self as usize
            }
        }

        /// Runs the handler of `operation`.
        pub(crate) async fn dispatch(
            operation: Operation,
            context: &S3Context,
            request: &S3Request<'_>,
            payload: PayloadReader<'_, '_>,
        ) -> S3Result<Response> {
            match operation {
                $( Operation::$name => operations!(
                    @run [$($placement)?] $unit, context, request, payload
                ), )*
                $( Operation::$missing => Err(not_implemented(operation)), )*
            }
        }
    };
}

fn not_implemented(operation: Operation) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::NotImplemented,
        format!("{} is not implemented by ringstore yet.", operation.name()),
    )
}

operations! {
    implemented {
        ListBuckets => bucket::ListBuckets,
        CreateBucket => bucket::CreateBucket,
        DeleteBucket => bucket::DeleteBucket,
        HeadBucket => bucket::HeadBucket,
        GetBucketLocation => bucket::GetBucketLocation,
        GetBucketVersioning => versioning::GetBucketVersioning,
        PutBucketVersioning => versioning::PutBucketVersioning,
        GetObjectLockConfiguration => object_lock::GetObjectLockConfiguration,
        PutObjectLockConfiguration => object_lock::PutObjectLockConfiguration,
        GetObjectRetention => object_lock::GetObjectRetention,
        PutObjectRetention => object_lock::PutObjectRetention,
        GetObjectLegalHold => object_lock::GetObjectLegalHold,
        PutObjectLegalHold => object_lock::PutObjectLegalHold,
        GetObjectTagging => tagging::GetObjectTagging,
        PutObjectTagging => tagging::PutObjectTagging,
        DeleteObjectTagging => tagging::DeleteObjectTagging,
        GetBucketTagging => tagging::GetBucketTagging,
        PutBucketTagging => tagging::PutBucketTagging,
        DeleteBucketTagging => tagging::DeleteBucketTagging,
        GetBucketRequestPayment => bucket::GetBucketRequestPayment,
        GetBucketAcl => acl::GetBucketAcl,
        PutBucketAcl => acl::PutBucketAcl,
        GetObjectAcl => acl::GetObjectAcl,
        PutObjectAcl => acl::PutObjectAcl,
        ListObjects => list::ListObjects,
        ListObjectsV2 => list::ListObjectsV2,
        ListObjectVersions => list::ListObjectVersions,
        PutObject => object::PutObject,
        GetObject => object_read::GetObject [inline],
        HeadObject => object_read::HeadObject [inline],
        DeleteObject => object::DeleteObject,
        GetObjectAttributes => attributes::GetObjectAttributes,
        CopyObject => copy::CopyObject,
        DeleteObjects => batch::DeleteObjects,
        CreateMultipartUpload => multipart::CreateMultipartUpload,
        UploadPart => multipart::UploadPart,
        UploadPartCopy => multipart::UploadPartCopy,
        CompleteMultipartUpload => multipart::CompleteMultipartUpload,
        AbortMultipartUpload => multipart::AbortMultipartUpload,
        ListParts => multipart::ListParts,
        ListMultipartUploads => multipart::ListMultipartUploads,
        /// `POST` of an HTML form to a bucket: a browser upload.
        PostObject => post::PostObject,
        /// `OPTIONS` on a bucket or object: a CORS preflight, answered before authentication.
        OptionsPreflight => cors::OptionsPreflight,
        GetBucketPolicy => policy::GetBucketPolicy,
        PutBucketPolicy => policy::PutBucketPolicy,
        DeleteBucketPolicy => policy::DeleteBucketPolicy,
        GetBucketPolicyStatus => policy::GetBucketPolicyStatus,
        GetPublicAccessBlock => policy::GetPublicAccessBlock,
        PutPublicAccessBlock => policy::PutPublicAccessBlock,
        DeletePublicAccessBlock => policy::DeletePublicAccessBlock,
        GetBucketCors => cors::GetBucketCors,
        PutBucketCors => cors::PutBucketCors,
        DeleteBucketCors => cors::DeleteBucketCors,
        GetBucketEncryption => encryption::GetBucketEncryption,
        PutBucketEncryption => encryption::PutBucketEncryption,
        DeleteBucketEncryption => encryption::DeleteBucketEncryption,
        GetBucketLifecycleConfiguration => lifecycle::GetBucketLifecycleConfiguration,
        PutBucketLifecycleConfiguration => lifecycle::PutBucketLifecycleConfiguration,
        DeleteBucketLifecycle => lifecycle::DeleteBucketLifecycle,
        /// A method S3 does not accept on this resource (not an AWS operation; a routing outcome).
        MethodNotAllowed => ops::MethodNotAllowed,
    }
    not_implemented {
        GetBucketWebsite,
        PutBucketWebsite,
        DeleteBucketWebsite,
        GetBucketLogging,
        PutBucketLogging,
        GetBucketNotificationConfiguration,
        PutBucketNotificationConfiguration,
        GetBucketReplication,
        PutBucketReplication,
        DeleteBucketReplication,
        PutBucketRequestPayment,
        GetBucketOwnershipControls,
        PutBucketOwnershipControls,
        DeleteBucketOwnershipControls,
        GetBucketAccelerateConfiguration,
        PutBucketAccelerateConfiguration,
        GetBucketAnalyticsConfiguration,
        PutBucketAnalyticsConfiguration,
        DeleteBucketAnalyticsConfiguration,
        GetBucketInventoryConfiguration,
        PutBucketInventoryConfiguration,
        DeleteBucketInventoryConfiguration,
        GetBucketMetricsConfiguration,
        PutBucketMetricsConfiguration,
        DeleteBucketMetricsConfiguration,
        GetBucketIntelligentTieringConfiguration,
        PutBucketIntelligentTieringConfiguration,
        DeleteBucketIntelligentTieringConfiguration,
        RestoreObject,
        SelectObjectContent,
        GetObjectTorrent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_one_slot_and_one_name() {
        // Goal: indexes are dense and match ALL, and names are unique AWS spellings, so a metrics
        // array of COUNT slots holds every operation exactly once.
        assert_eq!(Operation::ALL.len(), Operation::COUNT);
        assert_eq!(Operation::NAMES.len(), Operation::COUNT);
        let mut names = std::collections::HashSet::new();
        for (index, operation) in Operation::ALL.iter().enumerate() {
            assert_eq!(operation.index(), index);
            assert!(names.insert(operation.name()), "{} twice", operation.name());
            assert!(operation.name().chars().all(|c| c.is_ascii_alphanumeric()));
            assert!(operation
                .name()
                .starts_with(|c: char| c.is_ascii_uppercase()));
        }
    }
}
