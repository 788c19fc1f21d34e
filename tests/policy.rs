//! Bucket policies and PublicAccessBlock (issue 21, items 3-5) through aws-sdk-s3 and raw
//! unsigned requests: the documents round-trip, decisions for the owner, a second user and
//! anonymous callers, and the status and block settings S3 defines.

mod common;

use aws_sdk_s3::types::PublicAccessBlockConfiguration;
use common::{error_code, exchange, put_bytes, TestServer};

/// An unsigned GET of `path`: its status.
fn anonymous_get(server: &TestServer, path: &str) -> u16 {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.address
    );
    exchange(server, request.as_bytes()).status
}

#[tokio::test]
async fn policies_decide_for_owners_users_and_anonymous_callers() {
    // Goal: with aws-sdk-s3, a public-read policy serves unsigned readers and nothing else, a
    // statement naming a second user by ARN gives it exactly its prefix, an explicit Deny beats
    // the owner's own rights (but never its policy operations), and the status and
    // PublicAccessBlock answers are S3's.
    let server = TestServer::start();
    let s3 = server.client();
    let frank = server.add_user("rs-policy-frank", None);
    let as_frank = server.client_as(&frank);
    s3.create_bucket().bucket("rs-policy").send().await.unwrap();
    put_bytes(&s3, "rs-policy", "public/page.html", b"page").await;
    put_bytes(&s3, "rs-policy", "team/frank/notes", b"notes").await;
    put_bytes(&s3, "rs-policy", "private/plan", b"plan").await;
    assert_eq!(anonymous_get(&server, "/rs-policy/public/page.html"), 403);

    let document = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"Public","Effect":"Allow","Principal":"*","Action":"s3:GetObject",
         "Resource":"arn:aws:s3:::rs-policy/public/*"},
        {"Sid":"Frank","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/rs-policy-frank"},
         "Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::rs-policy/team/frank/*"},
        {"Sid":"NoPlanDeletes","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject",
         "Resource":"arn:aws:s3:::rs-policy/private/*"}]}"#;
    s3.put_bucket_policy()
        .bucket("rs-policy")
        .policy(document)
        .send()
        .await
        .unwrap();
    let stored = s3
        .get_bucket_policy()
        .bucket("rs-policy")
        .send()
        .await
        .unwrap();
    assert_eq!(stored.policy(), Some(document));
    let status = s3
        .get_bucket_policy_status()
        .bucket("rs-policy")
        .send()
        .await
        .unwrap();
    assert_eq!(
        status.policy_status().and_then(|s| s.is_public()),
        Some(true)
    );

    assert_eq!(anonymous_get(&server, "/rs-policy/public/page.html"), 200);
    assert_eq!(anonymous_get(&server, "/rs-policy/private/plan"), 403);
    let notes = as_frank
        .get_object()
        .bucket("rs-policy")
        .key("team/frank/notes")
        .send()
        .await
        .unwrap();
    assert_eq!(
        notes.body.collect().await.unwrap().into_bytes().as_ref(),
        b"notes"
    );
    put_bytes(&as_frank, "rs-policy", "team/frank/more", b"more").await;
    let refused = as_frank
        .get_object()
        .bucket("rs-policy")
        .key("private/plan")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&refused).as_deref(), Some("AccessDenied"));
    let denied = s3
        .delete_object()
        .bucket("rs-policy")
        .key("private/plan")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&denied).as_deref(), Some("AccessDenied"));

    let malformed = s3
        .put_bucket_policy()
        .bucket("rs-policy")
        .policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::another/*"}]}"#)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&malformed).as_deref(), Some("MalformedPolicy"));
    let foreign = as_frank
        .put_bucket_policy()
        .bucket("rs-policy")
        .policy(document)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&foreign).as_deref(), Some("AccessDenied"));

    s3.put_public_access_block()
        .bucket("rs-policy")
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous_get(&server, "/rs-policy/public/page.html"), 403);
    let block = s3
        .get_public_access_block()
        .bucket("rs-policy")
        .send()
        .await
        .unwrap();
    let flags = block.public_access_block_configuration().unwrap();
    assert_eq!(flags.restrict_public_buckets(), Some(true));
    assert_eq!(flags.block_public_acls(), Some(false));
    s3.delete_public_access_block()
        .bucket("rs-policy")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous_get(&server, "/rs-policy/public/page.html"), 200);

    s3.delete_bucket_policy()
        .bucket("rs-policy")
        .send()
        .await
        .unwrap();
    let gone = s3
        .get_bucket_policy_status()
        .bucket("rs-policy")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&gone).as_deref(), Some("NoSuchBucketPolicy"));
    assert_eq!(anonymous_get(&server, "/rs-policy/public/page.html"), 403);
    s3.delete_object()
        .bucket("rs-policy")
        .key("private/plan")
        .send()
        .await
        .unwrap();
}
