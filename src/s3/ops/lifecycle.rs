//! Lifecycle configuration operations, the bucket owner's: Put/Get/DeleteBucketLifecycle-
//! Configuration. The rules are applied by the lifecycle pass (`meta::lifecycle`, driven by
//! `s3::housekeeping`). S3 API Reference: PutBucketLifecycleConfiguration,
//! GetBucketLifecycleConfiguration, DeleteBucketLifecycle.

use crate::meta::PutBucketLifecycle as SetBucketLifecycle;
use crate::s3::body_digest::BodyIntegrity;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::handler::{Done, FromRequest, NoContent, S3Operation, WithHeaders};
use crate::s3::payload::{read_small_body, PayloadReader};
use crate::s3::request::{Call, S3Request};
use crate::s3::resource::{bucket_command, owned_bucket};
use crate::s3::xml::lifecycle::{parse_lifecycle_configuration, LifecycleConfigurationDocument};
use crate::s3::S3Context;

/// The header naming the smallest object a transition moves (S3 API Reference,
/// PutBucketLifecycleConfiguration, `x-amz-transition-default-minimum-object-size`).
const TRANSITION_MINIMUM_HEADER: &str = "x-amz-transition-default-minimum-object-size";

/// The values S3 accepts for it; the first is S3's default.
const TRANSITION_MINIMUM_VALUES: [&str; 2] =
    ["all_storage_classes_128K", "varies_by_storage_class"];

/// PutBucketLifecycleConfiguration's headers: the body's digest and the transition minimum.
pub struct PutLifecycleInput<'r> {
    integrity: BodyIntegrity<'r>,
    transition_minimum: Option<&'r str>,
}

impl<'r> FromRequest<'r> for PutLifecycleInput<'r> {
    fn parse(request: &'r S3Request<'_>) -> S3Result<Self> {
        let transition_minimum = request.head.header(TRANSITION_MINIMUM_HEADER);
        if transition_minimum.is_some_and(|value| !TRANSITION_MINIMUM_VALUES.contains(&value)) {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "x-amz-transition-default-minimum-object-size must be all_storage_classes_128K or varies_by_storage_class",
            ));
        }
        Ok(PutLifecycleInput {
            integrity: BodyIntegrity::parse(request)?,
            transition_minimum,
        })
    }
}

/// The transition minimum a configuration answers with: what was sent, or S3's default.
fn transition_minimum_header(sent: Option<&str>) -> Vec<(&'static str, Option<String>)> {
    vec![(
        TRANSITION_MINIMUM_HEADER,
        Some(sent.unwrap_or(TRANSITION_MINIMUM_VALUES[0]).to_string()),
    )]
}

/// PutBucketLifecycleConfiguration (and the older PutBucketLifecycle, same request): replaces
/// the bucket's rules (Content-MD5 or a flexible checksum required); the lifecycle pass applies
/// them within a minute.
pub struct PutBucketLifecycleConfiguration;

impl S3Operation for PutBucketLifecycleConfiguration {
    type Input<'r> = PutLifecycleInput<'r>;
    type Output = WithHeaders<Done>;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        mut payload: PayloadReader<'_, '_>,
    ) -> S3Result<WithHeaders<Done>> {
        owned_bucket(context, &call).await?;
        let body = read_small_body(&mut payload).await?;
        input.integrity.verify(payload.trailers(), &body)?;
        let tiers: Vec<&str> = context
            .config
            .tiers
            .iter()
            .map(|tier| tier.name.as_str())
            .collect();
        let mut configuration = parse_lifecycle_configuration(&body, &tiers)?;
        configuration.transition_default_minimum_object_size =
            input.transition_minimum.map(str::to_string);
        let command = SetBucketLifecycle {
            bucket: call.bucket.to_string(),
            configuration: Some(configuration),
        };
        bucket_command(context, &call, command).await?;
        Ok(WithHeaders {
            answer: Done,
            headers: transition_minimum_header(input.transition_minimum),
        })
    }
}

/// GetBucketLifecycleConfiguration: the rules as stored; 404 NoSuchLifecycleConfiguration for a
/// bucket without.
pub struct GetBucketLifecycleConfiguration;

impl S3Operation for GetBucketLifecycleConfiguration {
    type Input<'r> = ();
    type Output = WithHeaders<LifecycleConfigurationDocument>;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        _input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<WithHeaders<LifecycleConfigurationDocument>> {
        let bucket = owned_bucket(context, &call).await?;
        match &bucket.lifecycle {
            Some(configuration) => Ok(WithHeaders {
                headers: transition_minimum_header(
                    configuration
                        .transition_default_minimum_object_size
                        .as_deref(),
                ),
                answer: LifecycleConfigurationDocument(configuration.clone()),
            }),
            None => Err(S3Error::new(S3ErrorCode::NoSuchLifecycleConfiguration)
                .field("BucketName", call.bucket.to_string())),
        }
    }
}

/// DeleteBucketLifecycle: removes the rules (204, with or without any).
pub struct DeleteBucketLifecycle;

impl S3Operation for DeleteBucketLifecycle {
    type Input<'r> = ();
    type Output = NoContent;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        _input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<NoContent> {
        owned_bucket(context, &call).await?;
        let command = SetBucketLifecycle {
            bucket: call.bucket.to_string(),
            configuration: None,
        };
        bucket_command(context, &call, command).await?;
        Ok(NoContent)
    }
}
