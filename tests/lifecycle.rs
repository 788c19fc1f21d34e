//! aws-sdk-s3 against bucket lifecycle (issue 21, items 6–7): a configuration built from the
//! SDK's types reads back the same, S3's refusals keep their codes, and the lifecycle pass
//! expires what a rule names under a shortened day (`--lifecycle-day-seconds`) and nothing else.

mod common;

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
    LifecycleExpiration, LifecycleRule, LifecycleRuleAndOperator, LifecycleRuleFilter,
    NoncurrentVersionExpiration, Tag,
};
use common::{error_code, error_status, put_bytes, TestServer};

fn rule(
    id: &str,
    filter: LifecycleRuleFilter,
) -> aws_sdk_s3::types::builders::LifecycleRuleBuilder {
    LifecycleRule::builder()
        .id(id)
        .filter(filter)
        .status(ExpirationStatus::Enabled)
}

#[tokio::test]
async fn configuration_round_trips_and_refusals_keep_s3_codes() {
    // Goal: the SDK's own types go through PutBucketLifecycleConfiguration and come back equal
    // from GetBucketLifecycleConfiguration; Days 0 answers InvalidArgument and a transition
    // InvalidStorageClass (no remote tier), both 400, leaving the stored rules unchanged;
    // DeleteBucketLifecycle then leaves NoSuchLifecycleConfiguration (404).
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("sdk-rules").send().await.unwrap();
    let rules = vec![
        rule(
            "and",
            LifecycleRuleFilter::builder()
                .and(
                    LifecycleRuleAndOperator::builder()
                        .prefix("logs/")
                        .tags(
                            Tag::builder()
                                .key("class")
                                .value("scratch")
                                .build()
                                .unwrap(),
                        )
                        .object_size_greater_than(100)
                        .build(),
                )
                .build(),
        )
        .expiration(LifecycleExpiration::builder().days(7).build())
        .build()
        .unwrap(),
        rule(
            "versions",
            LifecycleRuleFilter::builder().prefix("").build(),
        )
        .noncurrent_version_expiration(
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(30)
                .newer_noncurrent_versions(2)
                .build(),
        )
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(3)
                .build(),
        )
        .build()
        .unwrap(),
    ];
    let configuration = BucketLifecycleConfiguration::builder()
        .set_rules(Some(rules.clone()))
        .build()
        .unwrap();
    s3.put_bucket_lifecycle_configuration()
        .bucket("sdk-rules")
        .lifecycle_configuration(configuration)
        .send()
        .await
        .unwrap();
    let read = s3
        .get_bucket_lifecycle_configuration()
        .bucket("sdk-rules")
        .send()
        .await
        .unwrap();
    assert_eq!(read.rules(), rules.as_slice());
    let zero_days = rule("zero", LifecycleRuleFilter::builder().prefix("").build())
        .expiration(LifecycleExpiration::builder().days(0).build())
        .build()
        .unwrap();
    let transition = rule("archive", LifecycleRuleFilter::builder().prefix("").build())
        .transitions(
            aws_sdk_s3::types::Transition::builder()
                .days(30)
                .storage_class(aws_sdk_s3::types::TransitionStorageClass::Glacier)
                .build(),
        )
        .build()
        .unwrap();
    for (refused, code) in [
        (zero_days, "InvalidArgument"),
        (transition, "InvalidStorageClass"),
    ] {
        let error = s3
            .put_bucket_lifecycle_configuration()
            .bucket("sdk-rules")
            .lifecycle_configuration(
                BucketLifecycleConfiguration::builder()
                    .rules(refused)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap_err();
        assert_eq!(error_code(&error).as_deref(), Some(code));
        assert_eq!(error_status(&error), Some(400));
    }
    let read = s3
        .get_bucket_lifecycle_configuration()
        .bucket("sdk-rules")
        .send()
        .await
        .unwrap();
    assert_eq!(read.rules(), rules.as_slice());
    s3.delete_bucket_lifecycle()
        .bucket("sdk-rules")
        .send()
        .await
        .unwrap();
    let error = s3
        .get_bucket_lifecycle_configuration()
        .bucket("sdk-rules")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&error).as_deref(),
        Some("NoSuchLifecycleConfiguration")
    );
    assert_eq!(error_status(&error), Some(404));
}

#[tokio::test]
async fn the_pass_expires_what_a_rule_names_and_nothing_else() {
    // Goal: with a one-second day, objects under the rule's prefix vanish by themselves, the
    // object outside it stays readable, and HEAD of an object under a longer rule answers
    // x-amz-expiration naming that rule.
    let server = TestServer::start_with_args(&["--lifecycle-day-seconds", "1"]);
    let s3 = server.client();
    s3.create_bucket()
        .bucket("sdk-expire")
        .send()
        .await
        .unwrap();
    for key in ["old/1", "old/2", "keep/1", "later/1"] {
        put_bytes(&s3, "sdk-expire", key, key.as_bytes()).await;
    }
    let configuration = BucketLifecycleConfiguration::builder()
        .rules(
            rule("old", LifecycleRuleFilter::builder().prefix("old/").build())
                .expiration(LifecycleExpiration::builder().days(1).build())
                .build()
                .unwrap(),
        )
        .rules(
            rule(
                "later",
                LifecycleRuleFilter::builder().prefix("later/").build(),
            )
            .expiration(LifecycleExpiration::builder().days(365).build())
            .build()
            .unwrap(),
        )
        .build()
        .unwrap();
    s3.put_bucket_lifecycle_configuration()
        .bucket("sdk-expire")
        .lifecycle_configuration(configuration)
        .send()
        .await
        .unwrap();
    let mut remaining = common::list_keys(&s3, "sdk-expire").await;
    for _ in 0..300 {
        if remaining == ["keep/1", "later/1"] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        remaining = common::list_keys(&s3, "sdk-expire").await;
    }
    assert_eq!(remaining, ["keep/1", "later/1"]);
    let head = s3
        .head_object()
        .bucket("sdk-expire")
        .key("later/1")
        .send()
        .await
        .unwrap();
    let expiration = head.expiration().unwrap_or_default();
    assert!(
        expiration.starts_with("expiry-date=\"") && expiration.ends_with("rule-id=\"later\""),
        "{expiration}"
    );
    let kept = s3
        .get_object()
        .bucket("sdk-expire")
        .key("keep/1")
        .send()
        .await
        .unwrap();
    assert!(kept.expiration().is_none());
    assert_eq!(
        kept.body.collect().await.unwrap().into_bytes().as_ref(),
        b"keep/1"
    );
}
