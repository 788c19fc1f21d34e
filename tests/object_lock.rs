//! Object Lock with aws-sdk-s3 against the real server: locks that hold. COMPLIANCE against
//! everyone (owner, admin, bypass header), GOVERNANCE bypassed only by who holds the permission
//! (a second user with WRITE on the bucket does not), legal holds whatever the mode, retention
//! that extends but never shortens, default retention, multipart, DeleteObjects per key, bucket
//! deletion, and a retention that is durable before its 200 (kill -9 right after).

mod common;

use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    BucketCannedAcl, BucketVersioningStatus, DefaultRetention, Delete, ObjectIdentifier,
    ObjectLockConfiguration, ObjectLockEnabled, ObjectLockLegalHold, ObjectLockLegalHoldStatus,
    ObjectLockMode, ObjectLockRetention, ObjectLockRetentionMode, ObjectLockRule,
    VersioningConfiguration,
};
use common::{completion, create_upload, error_code, error_status, upload_part, TestServer};

type Client = aws_sdk_s3::Client;

fn in_seconds(seconds: i64) -> DateTime {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    DateTime::from_secs(now + seconds)
}

async fn locked_bucket(s3: &Client, name: &str) {
    s3.create_bucket()
        .bucket(name)
        .object_lock_enabled_for_bucket(true)
        .acl(BucketCannedAcl::PublicReadWrite)
        .send()
        .await
        .unwrap();
}

/// PUTs `key` with a retention; its version id.
async fn put_locked(
    s3: &Client,
    bucket: &str,
    key: &str,
    mode: ObjectLockMode,
    until: DateTime,
) -> String {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from_static(b"protected"))
        .object_lock_mode(mode)
        .object_lock_retain_until_date(until)
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_string()
}

async fn delete_version(
    s3: &Client,
    bucket: &str,
    key: &str,
    version: &str,
    bypass: bool,
) -> Result<(), (Option<u16>, Option<String>)> {
    let mut request = s3
        .delete_object()
        .bucket(bucket)
        .key(key)
        .version_id(version);
    if bypass {
        request = request.bypass_governance_retention(true);
    }
    request
        .send()
        .await
        .map(|_| ())
        .map_err(|error| (error_status(&error), error_code(&error)))
}

fn retention(mode: ObjectLockRetentionMode, until: DateTime) -> ObjectLockRetention {
    ObjectLockRetention::builder()
        .mode(mode)
        .retain_until_date(until)
        .build()
}

const DENIED: (Option<u16>, Option<&str>) = (Some(403), Some("AccessDenied"));

fn denied(outcome: Result<(), (Option<u16>, Option<String>)>) -> bool {
    matches!(outcome, Err((status, code)) if (status, code.as_deref()) == DENIED)
}

#[tokio::test]
async fn compliance_holds_against_everyone_until_its_date() {
    // Goal: a COMPLIANCE version cannot be deleted by the owner (even with the bypass header) or
    // by the admin, nor its retention shortened, removed or switched to GOVERNANCE; it can be
    // extended; a DELETE without a version id still writes a marker (the version stays); the
    // bucket cannot be deleted; DeleteObjects reports AccessDenied for that key and deletes the
    // others; once the date passes, the version can be deleted.
    let server = TestServer::start();
    let s3 = server.client();
    locked_bucket(&s3, "comply").await;
    let versioning = s3
        .get_bucket_versioning()
        .bucket("comply")
        .send()
        .await
        .unwrap();
    assert_eq!(versioning.status(), Some(&BucketVersioningStatus::Enabled));
    let version = put_locked(
        &s3,
        "comply",
        "k",
        ObjectLockMode::Compliance,
        in_seconds(3),
    )
    .await;
    assert!(denied(
        delete_version(&s3, "comply", "k", &version, false).await
    ));
    assert!(denied(
        delete_version(&s3, "comply", "k", &version, true).await
    ));
    let shorten = s3
        .put_object_retention()
        .bucket("comply")
        .key("k")
        .version_id(&version)
        .bypass_governance_retention(true)
        .retention(retention(
            ObjectLockRetentionMode::Compliance,
            in_seconds(1),
        ))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&shorten).as_deref(), Some("AccessDenied"));
    let switch = s3
        .put_object_retention()
        .bucket("comply")
        .key("k")
        .version_id(&version)
        .bypass_governance_retention(true)
        .retention(retention(
            ObjectLockRetentionMode::Governance,
            in_seconds(60),
        ))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&switch).as_deref(), Some("AccessDenied"));
    let extended_until = in_seconds(4);
    s3.put_object_retention()
        .bucket("comply")
        .key("k")
        .version_id(&version)
        .retention(retention(
            ObjectLockRetentionMode::Compliance,
            extended_until,
        ))
        .send()
        .await
        .unwrap();
    let got = s3
        .get_object_retention()
        .bucket("comply")
        .key("k")
        .version_id(&version)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.retention().unwrap().retain_until_date().unwrap().secs(),
        extended_until.secs()
    );
    let marker = s3
        .delete_object()
        .bucket("comply")
        .key("k")
        .send()
        .await
        .unwrap();
    assert_eq!(marker.delete_marker(), Some(true));
    let free = s3
        .put_object()
        .bucket("comply")
        .key("free")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_string();
    let batch = s3
        .delete_objects()
        .bucket("comply")
        .delete(
            Delete::builder()
                .objects(
                    ObjectIdentifier::builder()
                        .key("k")
                        .version_id(&version)
                        .build()
                        .unwrap(),
                )
                .objects(
                    ObjectIdentifier::builder()
                        .key("free")
                        .version_id(&free)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .bypass_governance_retention(true)
        .send()
        .await
        .unwrap();
    assert_eq!(batch.errors().len(), 1);
    assert_eq!(batch.errors()[0].key(), Some("k"));
    assert_eq!(batch.errors()[0].code(), Some("AccessDenied"));
    assert_eq!(batch.deleted().len(), 1);
    assert_eq!(batch.deleted()[0].key(), Some("free"));
    // The admin is the owner here; a second user is refused the same way.
    let other = server.client_as(&server.add_user("other", None));
    assert!(denied(
        delete_version(&other, "comply", "k", &version, true).await
    ));
    let refused = s3
        .delete_bucket()
        .bucket("comply")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&refused).as_deref(), Some("BucketNotEmpty"));
    // The date passes: the version goes like any other.
    tokio::time::sleep(std::time::Duration::from_millis(4200)).await;
    delete_version(&s3, "comply", "k", &version, false)
        .await
        .unwrap();
}

#[tokio::test]
async fn governance_is_bypassed_only_with_the_permission() {
    // Goal: a GOVERNANCE version resists a plain delete and a shortened retention; a second user
    // with WRITE on the bucket is refused even with the bypass header; the owner with the header
    // may shorten the retention and delete; a legal hold blocks deletion whatever the mode and
    // the header, until it is released.
    let server = TestServer::start();
    let s3 = server.client();
    locked_bucket(&s3, "govern").await;
    let other = server.client_as(&server.add_user("writer", None));
    let version = put_locked(
        &s3,
        "govern",
        "k",
        ObjectLockMode::Governance,
        in_seconds(3600),
    )
    .await;
    assert!(denied(
        delete_version(&s3, "govern", "k", &version, false).await
    ));
    assert!(denied(
        delete_version(&other, "govern", "k", &version, true).await
    ));
    let shorten = |client: Client, bypass: bool| {
        let version = version.clone();
        async move {
            client
                .put_object_retention()
                .bucket("govern")
                .key("k")
                .version_id(version)
                .bypass_governance_retention(bypass)
                .retention(retention(
                    ObjectLockRetentionMode::Governance,
                    in_seconds(60),
                ))
                .send()
                .await
        }
    };
    assert_eq!(
        error_code(&shorten(s3.clone(), false).await.unwrap_err()).as_deref(),
        Some("AccessDenied")
    );
    assert_eq!(
        error_code(&shorten(other.clone(), true).await.unwrap_err()).as_deref(),
        Some("AccessDenied")
    );
    shorten(s3.clone(), true).await.unwrap();

    s3.put_object_legal_hold()
        .bucket("govern")
        .key("k")
        .version_id(&version)
        .legal_hold(
            ObjectLockLegalHold::builder()
                .status(ObjectLockLegalHoldStatus::On)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let head = s3
        .head_object()
        .bucket("govern")
        .key("k")
        .version_id(&version)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.object_lock_legal_hold_status(),
        Some(&ObjectLockLegalHoldStatus::On)
    );
    assert_eq!(
        head.object_lock_mode(),
        Some(&aws_sdk_s3::types::ObjectLockMode::Governance)
    );
    assert!(denied(
        delete_version(&s3, "govern", "k", &version, true).await
    ));
    s3.put_object_legal_hold()
        .bucket("govern")
        .key("k")
        .version_id(&version)
        .legal_hold(
            ObjectLockLegalHold::builder()
                .status(ObjectLockLegalHoldStatus::Off)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(denied(
        delete_version(&other, "govern", "k", &version, true).await
    ));
    delete_version(&s3, "govern", "k", &version, true)
        .await
        .unwrap();
}

#[tokio::test]
async fn configuration_defaults_and_multipart() {
    // Goal: Object Lock is enabled on an existing bucket only once versioning is Enabled (409
    // InvalidBucketState before), versioning then cannot be suspended; the default retention
    // applies to new versions (PutObject and multipart) without one of their own; a retention
    // asked at CreateMultipartUpload lands on the completed object; a bucket without Object Lock
    // refuses lock headers with S3's 400 and stores nothing.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("later").send().await.unwrap();
    let configuration = ObjectLockConfiguration::builder()
        .object_lock_enabled(ObjectLockEnabled::Enabled)
        .rule(
            ObjectLockRule::builder()
                .default_retention(
                    DefaultRetention::builder()
                        .mode(ObjectLockRetentionMode::Governance)
                        .days(2)
                        .build(),
                )
                .build(),
        )
        .build();
    let early = s3
        .put_object_lock_configuration()
        .bucket("later")
        .object_lock_configuration(configuration.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&early).as_deref(), Some("InvalidBucketState"));
    let refused = s3
        .put_object()
        .bucket("later")
        .key("k")
        .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&refused).as_deref(), Some("InvalidRequest"));
    assert_eq!(
        s3.list_objects_v2()
            .bucket("later")
            .send()
            .await
            .unwrap()
            .key_count(),
        Some(0)
    );
    s3.put_bucket_versioning()
        .bucket("later")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3.put_object_lock_configuration()
        .bucket("later")
        .object_lock_configuration(configuration.clone())
        .send()
        .await
        .unwrap();
    let stored = s3
        .get_object_lock_configuration()
        .bucket("later")
        .send()
        .await
        .unwrap();
    assert_eq!(stored.object_lock_configuration(), Some(&configuration));
    let suspend = s3
        .put_bucket_versioning()
        .bucket("later")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&suspend).as_deref(), Some("InvalidBucketState"));

    let before = in_seconds(2 * 86_400 - 60).secs();
    let version = s3
        .put_object()
        .bucket("later")
        .key("default")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_string();
    let head = s3
        .head_object()
        .bucket("later")
        .key("default")
        .send()
        .await
        .unwrap();
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Governance));
    assert!(head.object_lock_retain_until_date().unwrap().secs() >= before);
    assert!(denied(
        delete_version(&s3, "later", "default", &version, false).await
    ));

    let upload = s3
        .create_multipart_upload()
        .bucket("later")
        .key("big")
        .object_lock_mode(ObjectLockMode::Compliance)
        .object_lock_retain_until_date(in_seconds(3600))
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_string();
    let part = upload_part(&s3, "later", "big", &upload, 1, b"tail").await;
    let done = s3
        .complete_multipart_upload()
        .bucket("later")
        .key("big")
        .upload_id(&upload)
        .multipart_upload(completion(vec![part]))
        .send()
        .await
        .unwrap();
    let big = done.version_id().unwrap().to_string();
    let head = s3
        .head_object()
        .bucket("later")
        .key("big")
        .send()
        .await
        .unwrap();
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Compliance));
    assert!(denied(
        delete_version(&s3, "later", "big", &big, true).await
    ));
    // An upload never completed is not a version: aborting it needs no bypass.
    let unfinished = create_upload(&s3, "later", "unfinished").await;
    s3.abort_multipart_upload()
        .bucket("later")
        .key("unfinished")
        .upload_id(&unfinished)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_retention_is_durable_before_its_200() {
    // Goal: kill -9 right after a PUT with COMPLIANCE retention and after a PutObjectLegalHold
    // answered 200: after restart both are there and still refuse deletion.
    let mut server = TestServer::start();
    let s3 = server.client();
    locked_bucket(&s3, "durable").await;
    let version = put_locked(
        &s3,
        "durable",
        "k",
        ObjectLockMode::Compliance,
        in_seconds(3600),
    )
    .await;
    let held = s3
        .put_object()
        .bucket("durable")
        .key("held")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_string();
    s3.put_object_legal_hold()
        .bucket("durable")
        .key("held")
        .legal_hold(
            ObjectLockLegalHold::builder()
                .status(ObjectLockLegalHoldStatus::On)
                .build(),
        )
        .send()
        .await
        .unwrap();
    server.kill9();
    server.restart();
    let s3 = server.client();
    let head = s3
        .head_object()
        .bucket("durable")
        .key("k")
        .version_id(&version)
        .send()
        .await
        .unwrap();
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Compliance));
    assert!(denied(
        delete_version(&s3, "durable", "k", &version, true).await
    ));
    assert!(denied(
        delete_version(&s3, "durable", "held", &held, true).await
    ));
}
