//! One request through S3: resolve the target, route, authenticate, run the operation, and render
//! the answer — the only place an error becomes S3 XML and the per-request log event is written.

use std::time::Instant;

use super::access::Requester;
use super::auth::verify::{claimed_access_key, is_anonymous, VerifyInput};
use super::auth::{verify_request, AuthContext, PayloadMode};
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::ops;
use super::path::{self, Target};
use super::payload::PayloadReader;
use super::router::{self, Operation, RouteInput};
use super::{xml, ResponseBody, S3Context, S3Response};
use crate::http::{Method, RequestBody, RequestHead};

/// A parsed, authenticated request handed to an operation.
pub struct S3Request<'a> {
    /// The head as received.
    pub head: &'a RequestHead,
    /// Bucket and key.
    pub target: Target,
    /// Decoded query pairs.
    pub query: Vec<(String, String)>,
    /// Who sent it.
    pub requester: Requester,
    /// Id of this request.
    pub request_id: &'a str,
}

impl S3Request<'_> {
    /// The bucket (the router guarantees one for bucket and object operations).
    pub fn bucket(&self) -> &str {
        self.target.bucket.as_deref().unwrap_or_default()
    }

    /// The first value of query parameter `name`.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The key (the router guarantees one for object operations).
    pub fn key(&self) -> &str {
        self.target.key.as_deref().unwrap_or_default()
    }
}

/// Handles one S3 request and returns the response to write.
pub async fn handle(
    context: &S3Context,
    head: &RequestHead,
    body: &mut RequestBody<'_>,
) -> S3Response {
    let started = Instant::now();
    let request_id = context.next_request_id();
    context.core_metrics().request_in_flight(true);
    let mut operation = Operation::MethodNotAllowed;
    let mut access_key = String::new();
    let result = run(
        context,
        head,
        body,
        &request_id,
        &mut operation,
        &mut access_key,
    )
    .await;
    let mut response = match result {
        Ok(response) => response,
        Err(error) => error_response(&error, head, &request_id),
    };
    response.head.header("x-amz-request-id", request_id.clone());
    response.head.header("x-amz-id-2", request_id.clone());
    let status = response.head.status;
    let seconds = started.elapsed().as_secs_f64();
    let metrics = context.core_metrics();
    metrics.request_in_flight(false);
    metrics.record_request(
        operation.name(),
        status,
        seconds,
        body.bytes_read(),
        response.body.content_length(),
    );
    if status >= 500 && status != 501 {
        tracing::warn!(request_id = %request_id, status, s3_op = operation.name(), "request failed on the server side");
    }
    tracing::info!(
        request_id = %request_id,
        core = context.core_index,
        s3_op = operation.name(),
        method = head.method.as_str(),
        path = %head.path,
        status,
        duration_ms = seconds * 1000.0,
        bytes_in = body.bytes_read(),
        bytes_out = response.body.content_length(),
        access_key = %access_key,
        "request"
    );
    response
}

fn error_response(error: &S3Error, head: &RequestHead, request_id: &str) -> S3Response {
    let mut response = S3Response::empty(error.status());
    if head.method == Method::Head {
        // HEAD answers carry no body, so S3 puts nothing but the status on the wire.
        return response;
    }
    response.head.header("Content-Type", "application/xml");
    response.body = ResponseBody::Bytes(xml::error_document(error, &head.path, request_id));
    response
}

/// Verifies the signature (fetching the claimed user first) or recognises an anonymous request.
async fn authenticate(
    context: &S3Context,
    head: &RequestHead,
    target: &Target,
    query: &[(String, String)],
) -> S3Result<(AuthContext, Requester)> {
    if is_anonymous(head, query) {
        let auth = AuthContext {
            access_key: String::new(),
            payload: PayloadMode::Unsigned,
            chunk_signing: None,
        };
        return Ok((auth, Requester::Anonymous));
    }
    let user = match claimed_access_key(head, query) {
        Some(access_key) => context.user(&access_key).await?,
        None => None,
    };
    let lookup = |key: &str| {
        user.as_ref()
            .filter(|user| user.identity.access_key == key)
            .map(|user| user.secret.clone())
    };
    let input = VerifyInput {
        head,
        decoded_path: &target.decoded_path,
        query,
        region: &context.config.region,
        now_seconds: super::time::now_ms() / 1000,
    };
    let auth = verify_request(&input, lookup, &mut context.key_cache.borrow_mut())?;
    // verify_request only succeeds with the secret `lookup` returned, so `user` is present.
    let identity = user
        .map(|user| user.identity.clone())
        .ok_or_else(|| S3Error::new(S3ErrorCode::InvalidAccessKeyId))?;
    Ok((auth, Requester::User(identity)))
}

async fn run(
    context: &S3Context,
    head: &RequestHead,
    body: &mut RequestBody<'_>,
    request_id: &str,
    operation: &mut Operation,
    access_key: &mut String,
) -> S3Result<S3Response> {
    let target = path::resolve(head.header("host"), &head.path, &context.config.domains)?;
    let query = path::parse_query(&head.query)?;
    let query_names: Vec<&str> = query.iter().map(|(name, _)| name.as_str()).collect();
    *operation = router::route(RouteInput {
        method: head.method,
        has_bucket: target.bucket.is_some(),
        has_key: target.key.is_some(),
        query_names: &query_names,
        has_copy_source: head.header("x-amz-copy-source").is_some(),
    });
    if *operation == Operation::OptionsPreflight {
        // Preflights are never signed; without CORS rules S3 refuses them at once.
        return Err(match head.header("origin") {
            None => S3Error::with_message(
                S3ErrorCode::BadRequest,
                "Insufficient information. Origin request header needed.",
            ),
            Some(_) => S3Error::with_message(
                S3ErrorCode::AccessForbidden,
                "CORSResponse: CORS is not enabled for this bucket.",
            ),
        });
    }
    let (auth, requester) = authenticate(context, head, &target, &query).await?;
    access_key.clone_from(&auth.access_key);
    if let Some(bucket) = &target.bucket {
        if *operation != Operation::ListBuckets {
            path::validate_bucket_name(bucket)?;
        }
    }
    let request = S3Request {
        head,
        target,
        query,
        requester,
        request_id,
    };
    let decoded_length = match head.header("x-amz-decoded-content-length") {
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "x-amz-decoded-content-length is not a number",
            )
        })?),
        None => None,
    };
    let payload = PayloadReader::new(
        body,
        auth.payload.clone(),
        auth.chunk_signing.clone(),
        decoded_length,
    );
    match *operation {
        Operation::ListBuckets => ops::bucket::list_buckets(context, &request).await,
        Operation::CreateBucket => ops::bucket::create_bucket(context, &request, payload).await,
        Operation::DeleteBucket => ops::bucket::delete_bucket(context, &request).await,
        Operation::HeadBucket => ops::bucket::head_bucket(context, &request).await,
        Operation::GetBucketLocation => ops::bucket::get_bucket_location(context, &request).await,
        Operation::PutObject => ops::object::put_object(context, &request, payload).await,
        Operation::GetObject => ops::object::get_object(context, &request, false).await,
        Operation::HeadObject => ops::object::get_object(context, &request, true).await,
        Operation::DeleteObject => ops::object::delete_object(context, &request).await,
        Operation::ListObjects => ops::list::list_objects_v1(context, &request).await,
        Operation::ListObjectsV2 => ops::list::list_objects_v2(context, &request).await,
        Operation::ListObjectVersions => ops::list::list_object_versions(context, &request).await,
        Operation::DeleteObjects => ops::batch::delete_objects(context, &request, payload).await,
        Operation::CopyObject => ops::copy::copy_object(context, &request).await,
        Operation::GetBucketVersioning => {
            ops::bucket::get_bucket_versioning(context, &request).await
        }
        Operation::GetBucketAcl => ops::acl::get_bucket_acl(context, &request).await,
        Operation::GetObjectAcl => ops::acl::get_object_acl(context, &request).await,
        Operation::PutBucketAcl => ops::acl::put_bucket_acl(context, &request, payload).await,
        Operation::PutObjectAcl => ops::acl::put_object_acl(context, &request, payload).await,
        Operation::PostObject => ops::post::post_object(context, &request, payload).await,
        Operation::CreateMultipartUpload => {
            ops::multipart::create_multipart_upload(context, &request).await
        }
        Operation::UploadPart => ops::multipart::upload_part(context, &request, payload).await,
        Operation::UploadPartCopy => ops::multipart::upload_part_copy(context, &request).await,
        Operation::CompleteMultipartUpload => {
            ops::multipart::complete_multipart_upload(context, &request, payload).await
        }
        Operation::AbortMultipartUpload => {
            ops::multipart::abort_multipart_upload(context, &request).await
        }
        Operation::ListParts => ops::multipart::list_parts(context, &request).await,
        Operation::GetObjectAttributes => {
            ops::object::get_object_attributes(context, &request).await
        }
        Operation::ListMultipartUploads => {
            ops::multipart::list_multipart_uploads(context, &request).await
        }
        Operation::NotImplemented(name) => Err(S3Error::with_message(
            S3ErrorCode::NotImplemented,
            format!("{name} is not implemented by ringstore yet."),
        )),
        Operation::MethodNotAllowed | Operation::OptionsPreflight => {
            Err(S3Error::new(S3ErrorCode::MethodNotAllowed))
        }
    }
}
