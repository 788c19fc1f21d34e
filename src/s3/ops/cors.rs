//! CORS operations, each a typed unit: the `OPTIONS` preflight (answered before authentication
//! from the bucket's rules alone) and Put/Get/DeleteBucketCors (the bucket owner's). S3 API
//! Reference: PutBucketCors, GetBucketCors, DeleteBucketCors; Developer Guide, "OPTIONS object".

use crate::meta::PutBucketCors as SetBucketCors;
use crate::s3::body_digest::BodyIntegrity;
use crate::s3::cors::{
    matching_rule, response_headers, validate, CorsRequest, CORS_CONFIGURATION_BYTES_MAX,
};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::handler::{Done, FromRequest, NoContent, S3Operation, WithHeaders};
use crate::s3::payload::{read_small_body, PayloadReader};
use crate::s3::request::{Call, S3Request};
use crate::s3::resource::{bucket_command, owned_bucket};
use crate::s3::xml::configuration::CorsConfigurationDocument;
use crate::s3::xml::parse_cors_configuration;
use crate::s3::S3Context;

/// What a preflight names: its `Origin`, `Access-Control-Request-Method` and
/// `Access-Control-Request-Headers`.
pub struct PreflightInput<'r> {
    origin: Option<&'r str>,
    method: Option<&'r str>,
    requested_headers: Option<&'r str>,
}

impl<'r> FromRequest<'r> for PreflightInput<'r> {
    fn parse(request: &'r S3Request<'_>) -> S3Result<Self> {
        Ok(PreflightInput {
            origin: request.head.header("origin"),
            method: request.head.header("access-control-request-method"),
            requested_headers: request.head.header("access-control-request-headers"),
        })
    }
}

/// A 403 `AccessForbidden` of a preflight: `Method` is the method asked for (`OPTIONS` when none
/// was), `ResourceType` BUCKET or OBJECT, as S3 answers.
fn forbidden(message: &'static str, method: Option<&str>, resource_type: &str) -> S3Error {
    S3Error::with_message(S3ErrorCode::AccessForbidden, message)
        .field("Method", method.unwrap_or("OPTIONS").to_string())
        .field("ResourceType", resource_type.to_string())
}

/// `OPTIONS` (a CORS preflight, unsigned): 200 with the `Access-Control-*` headers of the first
/// rule allowing the origin, method and requested headers; 403 AccessForbidden when none does, the
/// bucket has no rules, or no such bucket; 400 without an `Origin` or a requested method.
pub struct OptionsPreflight;

impl S3Operation for OptionsPreflight {
    type Input<'r> = PreflightInput<'r>;
    type Output = WithHeaders<Done>;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<WithHeaders<Done>> {
        let Some(origin) = input.origin else {
            return Err(S3Error::with_message(
                S3ErrorCode::BadRequest,
                "Insufficient information. Origin request header needed.",
            ));
        };
        let bucket = match call.bucket {
            "" => None,
            name => context.bucket(name).await?,
        };
        let Some(bucket) = bucket else {
            return Err(forbidden(
                "CORSResponse: Bucket not found",
                input.method,
                "BUCKET",
            ));
        };
        let Some(configuration) = &bucket.cors else {
            return Err(forbidden(
                "CORSResponse: CORS is not enabled for this bucket.",
                input.method,
                "BUCKET",
            ));
        };
        let Some(method) = input.method else {
            return Err(S3Error::with_message(
                S3ErrorCode::BadRequest,
                "Invalid Access-Control-Request-Method: null",
            ));
        };
        let request = CorsRequest {
            origin,
            method,
            requested_headers: input.requested_headers,
        };
        match matching_rule(configuration, &request) {
            Some((rule, any_origin)) => Ok(WithHeaders {
                answer: Done,
                headers: response_headers(rule, any_origin, &request)
                    .into_iter()
                    .map(|(name, value)| (name, Some(value)))
                    .collect(),
            }),
            None => Err(forbidden(
                "CORSResponse: This CORS request is not allowed. This is usually because the \
                 evalution of Origin, request method / Access-Control-Request-Method or \
                 Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
                Some(method),
                if call.key.is_empty() {
                    "BUCKET"
                } else {
                    "OBJECT"
                },
            )),
        }
    }
}

/// PutBucketCors: replaces the bucket's rules (Content-MD5 or a flexible checksum required).
pub struct PutBucketCors;

impl S3Operation for PutBucketCors {
    type Input<'r> = BodyIntegrity<'r>;
    type Output = Done;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        mut payload: PayloadReader<'_, '_>,
    ) -> S3Result<Done> {
        owned_bucket(context, &call).await?;
        let body = read_small_body(&mut payload).await?;
        if body.len() > CORS_CONFIGURATION_BYTES_MAX {
            return Err(S3Error::with_message(
                S3ErrorCode::MalformedXML,
                "The CORS configuration can be at most 64 KB.",
            ));
        }
        input.verify(payload.trailers(), &body)?;
        let configuration = parse_cors_configuration(&body)?;
        validate(&configuration)?;
        set_bucket_cors(context, &call, Some(configuration)).await?;
        Ok(Done)
    }
}

async fn set_bucket_cors(
    context: &S3Context,
    call: &Call<'_>,
    configuration: Option<crate::meta::CorsConfiguration>,
) -> S3Result<()> {
    let command = SetBucketCors {
        bucket: call.bucket.to_string(),
        configuration,
    };
    bucket_command(context, call, command).await
}

/// GetBucketCors: the rules as stored; 404 NoSuchCORSConfiguration for a bucket without.
pub struct GetBucketCors;

impl S3Operation for GetBucketCors {
    type Input<'r> = ();
    type Output = CorsConfigurationDocument;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        _input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<CorsConfigurationDocument> {
        let bucket = owned_bucket(context, &call).await?;
        match &bucket.cors {
            Some(configuration) => Ok(CorsConfigurationDocument(configuration.clone())),
            None => Err(S3Error::new(S3ErrorCode::NoSuchCORSConfiguration)
                .field("BucketName", call.bucket.to_string())),
        }
    }
}

/// DeleteBucketCors: removes the rules (204, with or without any).
pub struct DeleteBucketCors;

impl S3Operation for DeleteBucketCors {
    type Input<'r> = ();
    type Output = NoContent;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        _input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<NoContent> {
        owned_bucket(context, &call).await?;
        set_bucket_cors(context, &call, None).await?;
        Ok(NoContent)
    }
}
