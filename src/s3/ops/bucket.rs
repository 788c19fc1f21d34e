//! Bucket operations: ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation,
//! and GetBucketRequestPayment, each a typed unit (`S3Operation`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as TOKEN;
use base64::Engine;

use crate::http::Response;
use crate::limits::BUCKET_COUNT_MAX;
use crate::meta::{BucketRecord, MetaError};
use crate::s3::access::{AclRequest, Permission};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::grants::refuse_public_acl;
use crate::s3::grants::stored_acl;
use crate::s3::handler::{FromRequest, IntoResponse, NoContent, S3Operation};
use crate::s3::object_write::no_such_bucket;
use crate::s3::payload::{read_small_body, PayloadReader};
use crate::s3::request::{Call, S3Request};
use crate::s3::resource::{authorized_bucket, owned_bucket};
use crate::s3::xml::documents::{
    BucketEntry, ListAllMyBucketsResult, LocationConstraint, Owner, RequestPaymentConfiguration,
};
use crate::s3::xml::parse_create_bucket_configuration;
use crate::s3::{time, S3Context};

/// The region AWS treats specially: CreateBucket there re-succeeds for the owner (us-east-1 legacy).
const LEGACY_REGION: &str = "us-east-1";

fn invalid_argument(name: &'static str, value: &str) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidArgument, format!("Invalid {name}"))
        .field("ArgumentName", name)
        .field("ArgumentValue", value.to_string())
}

/// ListBuckets: the caller's buckets by name, paged by `max-buckets` / `continuation-token`
/// and filtered by `prefix` and `bucket-region`.
pub struct ListBuckets;

/// What ListBuckets asks for.
pub struct ListBucketsInput {
    /// Page size, 1 ..= 10,000 (`max-buckets`; default: all).
    max_buckets: usize,
    /// List buckets named after this one (the decoded `continuation-token`).
    after: Option<String>,
    /// Only names starting with this (`prefix`, echoed in the answer when given).
    prefix: Option<String>,
    /// Only buckets in this region (`bucket-region`).
    region: Option<String>,
}

impl FromRequest<'_> for ListBucketsInput {
    fn parse(request: &S3Request<'_>) -> S3Result<ListBucketsInput> {
        let max_buckets = match request.query_value("max-buckets") {
            None => BUCKET_COUNT_MAX,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|count| (1..=BUCKET_COUNT_MAX).contains(count))
                .ok_or_else(|| invalid_argument("max-buckets", text))?,
        };
        let after = match request.query_value("continuation-token") {
            None => None,
            Some(token) => Some(
                TOKEN
                    .decode(token)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .ok_or_else(|| invalid_argument("continuation-token", token))?,
            ),
        };
        Ok(ListBucketsInput {
            max_buckets,
            after,
            prefix: request.query_value("prefix").map(str::to_string),
            region: request.query_value("bucket-region").map(str::to_string),
        })
    }
}

impl S3Operation for ListBuckets {
    type Input<'r> = ListBucketsInput;
    type Output = ListAllMyBucketsResult;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<ListAllMyBucketsResult> {
        let identity = call.requester.signed()?;
        let prefix = input.prefix.as_deref().unwrap_or_default();
        let buckets = context.meta.list_buckets().await?;
        let mut mine = buckets.into_iter().filter(|bucket| {
            bucket.owner == identity.access_key
                && bucket.name.starts_with(prefix)
                && input
                    .after
                    .as_ref()
                    .is_none_or(|after| bucket.name > *after)
                && input
                    .region
                    .as_ref()
                    .is_none_or(|region| bucket.region == *region)
        });
        let page: Vec<BucketRecord> = mine.by_ref().take(input.max_buckets).collect();
        let more = mine.next().is_some();
        let continuation_token = match page.last() {
            Some(last) if more => Some(TOKEN.encode(last.name.as_bytes())),
            _ => None,
        };
        Ok(ListAllMyBucketsResult {
            owner: Owner::of(identity),
            buckets: page
                .into_iter()
                .map(|bucket| BucketEntry {
                    name: bucket.name,
                    created_ms: bucket.created_ms,
                    region: bucket.region,
                })
                .collect(),
            continuation_token,
            prefix: input.prefix,
        })
    }
}

/// CreateBucket with an optional `CreateBucketConfiguration` body.
pub struct CreateBucket;

/// What CreateBucket asks for besides its body.
pub struct CreateBucketInput {
    /// The ACL its `x-amz-acl` / `x-amz-grant-*` headers ask for.
    acl: Option<AclRequest>,
    /// `x-amz-bucket-object-lock-enabled: true`: Object Lock (and so versioning) from the start.
    object_lock: bool,
}

/// CreateBucket's answer: 200 with the bucket's path in `Location`.
pub struct CreateBucketOutput {
    location: String,
}

impl IntoResponse for CreateBucketOutput {
    fn into_response(self) -> Response {
        let mut response = Response::empty(200);
        response.head.header("Location", self.location);
        response
    }
}

impl FromRequest<'_> for CreateBucketInput {
    fn parse(request: &S3Request<'_>) -> S3Result<CreateBucketInput> {
        let object_lock = match request.head.header("x-amz-bucket-object-lock-enabled") {
            None => false,
            Some(value) if value.trim().eq_ignore_ascii_case("true") => true,
            Some(value) if value.trim().eq_ignore_ascii_case("false") => false,
            Some(value) => return Err(invalid_argument("x-amz-bucket-object-lock-enabled", value)),
        };
        Ok(CreateBucketInput {
            acl: crate::s3::access::acl_from_headers(request.head)?,
            object_lock,
        })
    }
}

impl S3Operation for CreateBucket {
    type Input<'r> = CreateBucketInput;
    type Output = CreateBucketOutput;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        mut payload: PayloadReader<'_, '_>,
    ) -> S3Result<CreateBucketOutput> {
        let owner = call.requester.signed()?.access_key.clone();
        let body = read_small_body(&mut payload).await?;
        let constraint = parse_create_bucket_configuration(&body)?;
        let region = &context.config.region;
        if let Some(constraint) = &constraint {
            // Under --region-any a client names the region it derived (often from the host
            // name); the bucket is this endpoint's all the same.
            if constraint != region && !context.config.region_any {
                return Err(S3Error::with_message(
                    S3ErrorCode::InvalidLocationConstraint,
                    format!("The {constraint} location constraint is incompatible for the region specific endpoint this request was sent to."),
                ));
            }
        }
        let acl = stored_acl(context, &owner, input.acl, &owner).await?;
        let record = BucketRecord::created(
            call.bucket.to_string(),
            owner,
            region.clone(),
            time::now_ms(),
            acl.clone(),
            input.object_lock,
        );
        match context.meta.create_bucket(record).await {
            Ok(true) => {}
            // us-east-1 answers the owner's re-create with 200 and resets the bucket's ACL (S3
            // API Reference, CreateBucket, BucketAlreadyOwnedByYou).
            Ok(false) if region == LEGACY_REGION => {
                // The reset is a PutBucketAcl: the bucket's BlockPublicAcls applies (its policy
                // was applied as PutBucketAcl by the pipeline).
                refuse_public_acl(&call, acl.as_deref())?;
                context
                    .meta
                    .put_bucket_acl(call.bucket.to_string(), acl)
                    .await?;
            }
            Ok(false) => {
                return Err(S3Error::new(S3ErrorCode::BucketAlreadyOwnedByYou)
                    .field("BucketName", call.bucket))
            }
            Err(MetaError::BucketExists { .. }) => {
                return Err(
                    S3Error::new(S3ErrorCode::BucketAlreadyExists).field("BucketName", call.bucket)
                )
            }
            Err(error) => return Err(error.into()),
        }
        Ok(CreateBucketOutput {
            location: format!("/{}", call.bucket),
        })
    }
}

/// DeleteBucket: only when empty (its unfinished multipart uploads go with it).
pub struct DeleteBucket;

impl S3Operation for DeleteBucket {
    type Input<'r> = ();
    type Output = NoContent;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        _input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<NoContent> {
        owned_bucket(context, &call).await?;
        match context.meta.delete_bucket(call.bucket.to_string()).await {
            Ok(files) => {
                for file in files {
                    context.remove_object_file_later(file);
                }
                Ok(NoContent)
            }
            Err(MetaError::BucketNotEmpty) => {
                Err(S3Error::new(S3ErrorCode::BucketNotEmpty).field("BucketName", call.bucket))
            }
            Err(MetaError::NoSuchBucket) => Err(no_such_bucket(&call)),
            Err(error) => Err(error.into()),
        }
    }
}

/// HeadBucket: 200 with the bucket's region, or the error status alone.
pub struct HeadBucket;

/// HeadBucket's answer: the region in `x-amz-bucket-region`.
pub struct HeadBucketOutput {
    region: String,
}

impl IntoResponse for HeadBucketOutput {
    fn into_response(self) -> Response {
        let mut response = Response::empty(200);
        response.head.header("x-amz-bucket-region", self.region);
        response
    }
}

impl S3Operation for HeadBucket {
    type Input<'r> = ();
    type Output = HeadBucketOutput;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        _input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<HeadBucketOutput> {
        let bucket = authorized_bucket(context, &call, Permission::Read).await?;
        Ok(HeadBucketOutput {
            region: bucket.region.clone(),
        })
    }
}

/// GetBucketLocation: empty for us-east-1, as S3 answers.
pub struct GetBucketLocation;

impl S3Operation for GetBucketLocation {
    type Input<'r> = ();
    type Output = LocationConstraint;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        _input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<LocationConstraint> {
        let bucket = owned_bucket(context, &call).await?;
        Ok(LocationConstraint {
            region: (bucket.region != LEGACY_REGION).then(|| bucket.region.clone()),
        })
    }
}

/// GetBucketRequestPayment: the bucket owner pays, always (ringstore has no Requester Pays; S3
/// API Reference, GetBucketRequestPayment: "Payer: BucketOwner | Requester"). The bucket
/// owner's alone, like every configuration read.
pub struct GetBucketRequestPayment;

impl S3Operation for GetBucketRequestPayment {
    type Input<'r> = ();
    type Output = RequestPaymentConfiguration;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        _input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<RequestPaymentConfiguration> {
        owned_bucket(context, &call).await?;
        Ok(RequestPaymentConfiguration {
            payer: "BucketOwner",
        })
    }
}
