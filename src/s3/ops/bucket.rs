//! Bucket operations: ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation.

use crate::http::Response;
use crate::limits::BUCKET_COUNT_MAX;
use crate::meta::{BucketRecord, MetaError};
use crate::s3::access::Permission;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::grants::acl_from_request_headers;
use crate::s3::payload::{read_small_body, PayloadReader};
use crate::s3::request::S3Request;
use crate::s3::resource::{authorized_bucket, owned_bucket};
use crate::s3::xml::{parse_create_bucket_configuration, XmlBuilder};
use crate::s3::{time, S3Context};

/// The region AWS treats specially: CreateBucket there re-succeeds for the owner (us-east-1 legacy).
const LEGACY_REGION: &str = "us-east-1";

/// ListBuckets: the caller's buckets by name, paged by `max-buckets` / `continuation-token`
/// and filtered by `prefix` and `bucket-region`.
pub async fn list_buckets(
    context: &S3Context,
    request: &S3Request<'_>,
    _payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as TOKEN;
    use base64::Engine;
    let identity = request.requester.signed()?;
    let query = |name: &str| request.query_value(name);
    let invalid = |name: &'static str, value: &str| {
        S3Error::with_message(S3ErrorCode::InvalidArgument, format!("Invalid {name}"))
            .field("ArgumentName", name)
            .field("ArgumentValue", value.to_string())
    };
    let max_buckets = match query("max-buckets") {
        None => BUCKET_COUNT_MAX,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|count| (1..=BUCKET_COUNT_MAX).contains(count))
            .ok_or_else(|| invalid("max-buckets", text))?,
    };
    let after = match query("continuation-token") {
        None => None,
        Some(token) => Some(
            TOKEN
                .decode(token)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| invalid("continuation-token", token))?,
        ),
    };
    let prefix = query("prefix").unwrap_or_default();
    let region = query("bucket-region");
    let buckets = context.meta.list_buckets().await?;
    let mut mine = buckets.iter().filter(|bucket| {
        bucket.owner == request.requester.access_key()
            && bucket.name.starts_with(prefix)
            && after.as_ref().is_none_or(|after| bucket.name > *after)
            && region.is_none_or(|region| bucket.region == region)
    });
    let page: Vec<&BucketRecord> = mine.by_ref().take(max_buckets).collect();
    let more = mine.next().is_some();
    let mut xml = XmlBuilder::new();
    xml.open_root("ListAllMyBucketsResult");
    xml.open("Owner")
        .element("ID", &identity.canonical_id)
        .element("DisplayName", &identity.display_name)
        .close("Owner");
    xml.open("Buckets");
    for bucket in &page {
        xml.open("Bucket")
            .element("Name", &bucket.name)
            .element("CreationDate", &time::iso8601(bucket.created_ms))
            .element("BucketRegion", &bucket.region)
            .close("Bucket");
    }
    xml.close("Buckets");
    if more {
        if let Some(last) = page.last() {
            xml.element("ContinuationToken", &TOKEN.encode(last.name.as_bytes()));
        }
    }
    if query("prefix").is_some() {
        xml.element("Prefix", prefix);
    }
    xml.close("ListAllMyBucketsResult");
    Ok(Response::xml(xml.finish()))
}

/// CreateBucket with an optional `CreateBucketConfiguration` body.
pub async fn create_bucket(
    context: &S3Context,
    request: &S3Request<'_>,
    mut payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    request.requester.signed()?;
    let body = read_small_body(&mut payload).await?;
    let constraint = parse_create_bucket_configuration(&body)?;
    let region = &context.config.region;
    if let Some(constraint) = &constraint {
        if constraint != region {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidLocationConstraint,
                format!("The {constraint} location constraint is incompatible for the region specific endpoint this request was sent to."),
            ));
        }
    }
    let record = BucketRecord {
        name: request.bucket().to_string(),
        owner: request.requester.access_key().to_string(),
        region: region.clone(),
        created_ms: time::now_ms(),
        acl: acl_from_request_headers(context, request, request.requester.access_key()).await?,
    };
    let acl = record.acl.clone();
    match context.meta.create_bucket(record).await {
        Ok(true) => {}
        // us-east-1 answers the owner's re-create with 200 and resets the bucket's ACL (S3 API
        // Reference, CreateBucket, BucketAlreadyOwnedByYou).
        Ok(false) if region == LEGACY_REGION => {
            context
                .meta
                .put_bucket_acl(request.bucket().to_string(), acl)
                .await?;
        }
        Ok(false) => {
            return Err(S3Error::new(S3ErrorCode::BucketAlreadyOwnedByYou)
                .field("BucketName", request.bucket()))
        }
        Err(MetaError::BucketExists { .. }) => {
            return Err(S3Error::new(S3ErrorCode::BucketAlreadyExists)
                .field("BucketName", request.bucket()))
        }
        Err(error) => return Err(error.into()),
    }
    let mut response = Response::empty(200);
    response
        .head
        .header("Location", format!("/{}", request.bucket()));
    Ok(response)
}

/// DeleteBucket: only when empty.
pub async fn delete_bucket(
    context: &S3Context,
    request: &S3Request<'_>,
    _payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    owned_bucket(context, request).await?;
    match context
        .meta
        .delete_bucket(request.bucket().to_string())
        .await
    {
        Ok(files) => {
            for file in files {
                crate::storage::writer::remove_object_file_later(&context.layout, file);
            }
            Ok(Response::empty(204))
        }
        Err(MetaError::BucketNotEmpty) => {
            Err(S3Error::new(S3ErrorCode::BucketNotEmpty).field("BucketName", request.bucket()))
        }
        Err(MetaError::NoSuchBucket) => {
            Err(S3Error::new(S3ErrorCode::NoSuchBucket).field("BucketName", request.bucket()))
        }
        Err(error) => Err(error.into()),
    }
}

/// HeadBucket: 200 with the bucket's region, or the error status alone.
pub async fn head_bucket(
    context: &S3Context,
    request: &S3Request<'_>,
    _payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    let bucket = authorized_bucket(context, request, Permission::Read).await?;
    let mut response = Response::empty(200);
    response
        .head
        .header("x-amz-bucket-region", bucket.region.clone());
    Ok(response)
}

/// GetBucketLocation: empty for us-east-1, as S3 answers.
pub async fn get_bucket_location(
    context: &S3Context,
    request: &S3Request<'_>,
    _payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    let bucket = owned_bucket(context, request).await?;
    let mut xml = XmlBuilder::new();
    xml.open_root("LocationConstraint");
    if bucket.region != LEGACY_REGION {
        xml.element_text(&bucket.region);
    }
    xml.close("LocationConstraint");
    Ok(Response::xml(xml.finish()))
}

/// GetBucketVersioning: an unversioned bucket answers an empty configuration (never enabled).
pub async fn get_bucket_versioning(
    context: &S3Context,
    request: &S3Request<'_>,
    _payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    owned_bucket(context, request).await?;
    let mut xml = XmlBuilder::new();
    xml.open_root("VersioningConfiguration")
        .close("VersioningConfiguration");
    Ok(Response::xml(xml.finish()))
}
