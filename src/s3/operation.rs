//! Every S3 operation declared once: its AWS name, its metrics index and its handler all come from
//! the one table at the bottom of this file.
//!
//! Every handler has one shape: `async fn(&S3Context, &S3Request<'_>, PayloadReader<'_, '_>) ->
//! S3Result<Response>` (handlers without a body leave the payload unread).
//!
//! To add an operation: write its handler in `ops/`, add one line to
//! `implemented { … }` (or move it there from `not_implemented { … }`), and name it in the
//! router's sub-resource table if it has a new `?sub-resource`. Metrics slots, the log name and
//! the dispatch follow from the table; `tests` below prove every routable operation has them.

use super::error::{S3Error, S3ErrorCode, S3Result};
use super::ops::{self, acl, batch, bucket, copy, cors, list, multipart, object, post};
use super::payload::PayloadReader;
use super::request::{Call, S3Request};
use super::xml::XmlDocument;
use super::S3Context;
use crate::http::Response;

/// Declares `Operation` and its dispatch from two lists: operations with a handler, and operations
/// S3 has that ringstore answers with `501 NotImplemented`.
macro_rules! operations {
    (
        typed { $( $(#[$typed_doc:meta])* $typed:ident => $unit:ty, )* }
        implemented { $( $(#[$doc:meta])* $name:ident => $handler:path, )* }
        not_implemented { $( $missing:ident, )* }
    ) => {
        /// An S3 operation, named as in the AWS S3 API Reference.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum Operation {
            $( $(#[$typed_doc])* $typed, )*
            $( $(#[$doc])* $name, )*
            $( $missing, )*
        }

        impl Operation {
            /// Every operation, in declaration order (`ALL[op.index()] == op`).
            pub const ALL: &'static [Operation] = &[
                $( Operation::$typed, )* $( Operation::$name, )* $( Operation::$missing, )*
            ];

            /// How many operations there are (the size of per-operation arrays).
            pub const COUNT: usize = Self::ALL.len();

            /// Every operation's AWS name, indexed by `index()`.
            pub const NAMES: &'static [&'static str] = &[
                $( stringify!($typed), )* $( stringify!($name), )* $( stringify!($missing), )*
            ];

            /// The AWS name, for logs and metrics.
            pub const fn name(self) -> &'static str {
                Self::NAMES[self.index()]
            }

            /// Position in `ALL` and in every per-operation array.
            pub const fn index(self) -> usize {
                self as usize
            }

            /// Whether ringstore has a handler for it (otherwise it answers 501 NotImplemented).
            pub const fn is_implemented(self) -> bool {
                match self {
                    $( Operation::$typed => true, )*
                    $( Operation::$name => true, )*
                    $( Operation::$missing => false, )*
                }
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
                $( Operation::$typed => run::<$unit>(context, request, payload).await, )*
                $( Operation::$name => $handler(context, request, payload).await, )*
                $( Operation::$missing => Err(not_implemented(operation)), )*
            }
        }
    };
}

/// One S3 operation as a typed unit: `Input::parse` turns the request's head and query into its
/// input (refusing bad values there, before anything happens), `handle` runs it on what a handler
/// may know of the call (`Call`: never the raw head or query) and the verified payload, and its
/// `Output` renders itself (`IntoResponse`) in `run`, the one place a typed answer becomes HTTP.
pub trait S3Operation {
    /// What the operation reads from the request's head and query, validated (it may borrow from
    /// the request, so the hot paths copy nothing); a body, if any, stays in the payload for
    /// `handle`.
    type Input<'r>: FromRequest<'r>;
    /// What it answers.
    type Output: IntoResponse;

    /// Runs the operation.
    // Futures of a glommio core never cross threads, so the trait's async fn need not be Send.
    #[allow(async_fn_in_trait)]
    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        payload: PayloadReader<'_, '_>,
    ) -> S3Result<Self::Output>;
}

/// An operation's input, parsed from the request's head and query.
pub trait FromRequest<'r>: Sized {
    /// The input, or S3's error for a missing, duplicate or bad value.
    fn parse(request: &'r S3Request<'_>) -> S3Result<Self>;
}

/// Operations that read nothing but their bucket and key.
impl FromRequest<'_> for () {
    fn parse(_request: &S3Request<'_>) -> S3Result<()> {
        Ok(())
    }
}

/// An operation's answer as HTTP.
pub trait IntoResponse {
    /// The status, headers and body.
    fn into_response(self) -> Response;
}

/// Every S3 document answers 200 with its XML.
impl<T: XmlDocument> IntoResponse for T {
    fn into_response(self) -> Response {
        Response::xml(self.render())
    }
}

/// Parse, handle, render: the only path a typed operation takes.
async fn run<O: S3Operation>(
    context: &S3Context,
    request: &S3Request<'_>,
    payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    let input = O::Input::parse(request)?;
    let output = O::handle(context, request.call(), input, payload).await?;
    Ok(output.into_response())
}

fn not_implemented(operation: Operation) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::NotImplemented,
        format!("{} is not implemented by ringstore yet.", operation.name()),
    )
}

operations! {
    typed {
        ListBuckets => bucket::ListBuckets,
        CreateBucket => bucket::CreateBucket,
        DeleteBucket => bucket::DeleteBucket,
        HeadBucket => bucket::HeadBucket,
        GetBucketLocation => bucket::GetBucketLocation,
        GetBucketVersioning => bucket::GetBucketVersioning,
        GetBucketRequestPayment => bucket::GetBucketRequestPayment,
        GetBucketAcl => acl::GetBucketAcl,
        PutBucketAcl => acl::PutBucketAcl,
        GetObjectAcl => acl::GetObjectAcl,
        PutObjectAcl => acl::PutObjectAcl,
        ListObjects => list::ListObjects,
        ListObjectsV2 => list::ListObjectsV2,
        ListObjectVersions => list::ListObjectVersions,
    }
    implemented {
        PutObject => object::put_object,
        GetObject => object::get_object,
        HeadObject => object::head_object,
        DeleteObject => object::delete_object,
        GetObjectAttributes => object::get_object_attributes,
        /// `POST` of an HTML form to a bucket: a browser upload.
        PostObject => post::post_object,
        CopyObject => copy::copy_object,
        DeleteObjects => batch::delete_objects,
        CreateMultipartUpload => multipart::create_multipart_upload,
        UploadPart => multipart::upload_part,
        UploadPartCopy => multipart::upload_part_copy,
        CompleteMultipartUpload => multipart::complete_multipart_upload,
        AbortMultipartUpload => multipart::abort_multipart_upload,
        ListParts => multipart::list_parts,
        ListMultipartUploads => multipart::list_multipart_uploads,
        /// `OPTIONS` on a bucket or object: a CORS preflight, answered before authentication.
        OptionsPreflight => cors::options_preflight,
        /// A method S3 does not accept on this resource (not an AWS operation; a routing outcome).
        MethodNotAllowed => ops::method_not_allowed,
    }
    not_implemented {
        PutBucketVersioning,
        GetBucketPolicy,
        PutBucketPolicy,
        DeleteBucketPolicy,
        GetBucketPolicyStatus,
        GetBucketCors,
        PutBucketCors,
        DeleteBucketCors,
        GetBucketLifecycleConfiguration,
        PutBucketLifecycleConfiguration,
        DeleteBucketLifecycle,
        GetBucketTagging,
        PutBucketTagging,
        DeleteBucketTagging,
        GetBucketWebsite,
        PutBucketWebsite,
        DeleteBucketWebsite,
        GetBucketEncryption,
        PutBucketEncryption,
        DeleteBucketEncryption,
        GetBucketLogging,
        PutBucketLogging,
        GetBucketNotificationConfiguration,
        PutBucketNotificationConfiguration,
        GetBucketReplication,
        PutBucketReplication,
        DeleteBucketReplication,
        PutBucketRequestPayment,
        GetObjectLockConfiguration,
        PutObjectLockConfiguration,
        GetBucketOwnershipControls,
        PutBucketOwnershipControls,
        DeleteBucketOwnershipControls,
        GetPublicAccessBlock,
        PutPublicAccessBlock,
        DeletePublicAccessBlock,
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
        GetObjectTagging,
        PutObjectTagging,
        DeleteObjectTagging,
        GetObjectRetention,
        PutObjectRetention,
        GetObjectLegalHold,
        PutObjectLegalHold,
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
