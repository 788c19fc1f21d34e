//! Object Lock operations: Put/GetObjectLockConfiguration (the bucket owner's), and
//! Put/GetObjectRetention and Put/GetObjectLegalHold on one version, each a typed unit (S3 API
//! Reference of each; the rules themselves live in `meta::object_lock`).

use crate::meta::{
    ObjectLock, PutObjectLegalHold as SetLegalHold, PutObjectLockConfiguration as SetConfiguration,
    PutObjectRetention as SetRetention,
};
use crate::s3::access::Permission;
use crate::s3::body_digest::BodyIntegrity;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::handler::{Done, FromRequest, S3Operation, WithHeaders};
use crate::s3::object_lock::{
    administers, asks_bypass, bypasses_governance, missing_lock_configuration,
    require_administrator,
};
use crate::s3::payload::{read_small_body, PayloadReader};
use crate::s3::request::{Call, S3Request};
use crate::s3::resource::{authorize_object, authorized_bucket, find_version, owned_bucket};
use crate::s3::version::RequestedVersion;
use crate::s3::xml::configuration::{
    LegalHoldDocument, ObjectLockConfigurationDocument, RetentionDocument,
};
use crate::s3::xml::{parse_legal_hold, parse_object_lock_configuration, parse_retention};
use crate::s3::{time, S3Context};

/// PutObjectLockConfiguration: enables Object Lock on a versioning-enabled bucket (409
/// InvalidBucketState otherwise) and sets its default retention. Content-MD5 or a flexible
/// checksum is required, as S3 requires.
pub struct PutObjectLockConfiguration;

impl S3Operation for PutObjectLockConfiguration {
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
        input.verify(payload.trailers(), &body)?;
        let command = SetConfiguration {
            bucket: call.bucket.to_string(),
            configuration: parse_object_lock_configuration(&body)?,
        };
        context
            .meta
            .call(command)
            .await
            .map_err(|error| RequestedVersion(None).command_error(&call, error))?;
        Ok(Done)
    }
}

/// GetObjectLockConfiguration: 404 ObjectLockConfigurationNotFoundError on a bucket without it.
pub struct GetObjectLockConfiguration;

impl S3Operation for GetObjectLockConfiguration {
    type Input<'r> = ();
    type Output = ObjectLockConfigurationDocument;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        _input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<ObjectLockConfigurationDocument> {
        let bucket = owned_bucket(context, &call).await?;
        match bucket.object_lock {
            Some(configuration) => Ok(ObjectLockConfigurationDocument(configuration)),
            None => Err(
                S3Error::new(S3ErrorCode::ObjectLockConfigurationNotFoundError)
                    .field("BucketName", call.bucket.to_string()),
            ),
        }
    }
}

/// What a Put on one version's protection asks in its head.
pub struct VersionLockInput<'r> {
    version: RequestedVersion,
    integrity: BodyIntegrity<'r>,
    /// `x-amz-bypass-governance-retention: true`.
    bypass_asked: bool,
}

impl<'r> FromRequest<'r> for VersionLockInput<'r> {
    fn parse(request: &'r S3Request<'_>) -> S3Result<Self> {
        Ok(VersionLockInput {
            version: RequestedVersion::parse(request)?,
            integrity: BodyIntegrity::parse(request)?,
            bypass_asked: asks_bypass(request.head),
        })
    }
}

/// The checks every change of a version's protection passes, in S3's order: the bucket exists
/// and the requester may write it, administers it (retention and legal holds are the bucket
/// owner's), it has Object Lock, and the body's digest holds. The bucket and the body.
async fn lock_change(
    context: &S3Context,
    call: &Call<'_>,
    input: &VersionLockInput<'_>,
    payload: &mut PayloadReader<'_, '_>,
) -> S3Result<(std::rc::Rc<crate::meta::BucketRecord>, Vec<u8>)> {
    let bucket = authorized_bucket(context, call, Permission::Write).await?;
    require_administrator(context, call, &bucket)?;
    if bucket.object_lock.is_none() {
        return Err(missing_lock_configuration());
    }
    // A delete marker named by id is 405 MethodNotAllowed, as for the reads (the metadata
    // command alone would call it NoSuchVersion).
    if let Some(version) = input.version.0.as_ref() {
        find_version(context, call, Some(version), false, "PUT").await?;
    }
    let body = read_small_body(payload).await?;
    input.integrity.verify(payload.trailers(), &body)?;
    Ok((bucket, body))
}

/// PutObjectRetention: extend freely; shorten, remove or change mode only as S3 allows
/// (GOVERNANCE with bypass by the bucket owner; COMPLIANCE never before its date).
pub struct PutObjectRetention;

impl S3Operation for PutObjectRetention {
    type Input<'r> = VersionLockInput<'r>;
    type Output = WithHeaders<Done>;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        mut payload: PayloadReader<'_, '_>,
    ) -> S3Result<WithHeaders<Done>> {
        let (bucket, body) = lock_change(context, &call, &input, &mut payload).await?;
        let retention = parse_retention(&body)?;
        // S3 API Reference, PutObjectRetention: the date must be in the future.
        if retention.is_some_and(|retention| retention.retain_until_ms <= time::now_ms()) {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "The retain until date must be in the future!",
            ));
        }
        let command = SetRetention {
            bucket: call.bucket.to_string(),
            key: call.key.to_string(),
            version: input.version.0.clone(),
            retention,
            bypass_governance: bypasses_governance(
                context,
                &call,
                input.bypass_asked,
                &bucket,
                &[call.key],
            ),
        };
        let version_id = context
            .meta
            .call(command)
            .await
            .map_err(|error| input.version.command_error(&call, error))?;
        Ok(WithHeaders {
            answer: Done,
            headers: vec![("x-amz-version-id", version_id)],
        })
    }
}

/// PutObjectLegalHold: ON or OFF on one version, whatever its retention.
pub struct PutObjectLegalHold;

impl S3Operation for PutObjectLegalHold {
    type Input<'r> = VersionLockInput<'r>;
    type Output = WithHeaders<Done>;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        mut payload: PayloadReader<'_, '_>,
    ) -> S3Result<WithHeaders<Done>> {
        let (_, body) = lock_change(context, &call, &input, &mut payload).await?;
        let command = SetLegalHold {
            bucket: call.bucket.to_string(),
            key: call.key.to_string(),
            version: input.version.0.clone(),
            on: parse_legal_hold(&body)?,
        };
        let version_id = context
            .meta
            .call(command)
            .await
            .map_err(|error| input.version.command_error(&call, error))?;
        Ok(WithHeaders {
            answer: Done,
            headers: vec![("x-amz-version-id", version_id)],
        })
    }
}

/// The protection of the version a Get*Retention / Get*LegalHold names (InvalidRequest on a
/// bucket without Object Lock): for the bucket's owner or admin, who set locks on any version,
/// or for whoever may read that version's ACL (its owner).
async fn version_lock(
    context: &S3Context,
    call: &Call<'_>,
    version: &RequestedVersion,
) -> S3Result<ObjectLock> {
    let bucket = authorized_bucket(context, call, Permission::Read).await?;
    if bucket.object_lock.is_none() {
        return Err(missing_lock_configuration());
    }
    let record = find_version(context, call, version.0.as_ref(), false, "GET").await?;
    if !administers(context, call, &bucket) {
        authorize_object(call, &record, Permission::ReadAcp)?;
    }
    Ok(record.lock)
}

/// GetObjectRetention: 404 NoSuchObjectLockConfiguration for a version without one.
pub struct GetObjectRetention;

impl S3Operation for GetObjectRetention {
    type Input<'r> = RequestedVersion;
    type Output = RetentionDocument;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<RetentionDocument> {
        match version_lock(context, &call, &input).await?.retention {
            Some(retention) => Ok(RetentionDocument(retention)),
            None => Err(S3Error::new(S3ErrorCode::NoSuchObjectLockConfiguration)),
        }
    }
}

/// GetObjectLegalHold: ON or OFF.
pub struct GetObjectLegalHold;

impl S3Operation for GetObjectLegalHold {
    type Input<'r> = RequestedVersion;
    type Output = LegalHoldDocument;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<LegalHoldDocument> {
        let lock = version_lock(context, &call, &input).await?;
        Ok(LegalHoldDocument(lock.legal_hold))
    }
}
