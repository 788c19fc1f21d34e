//! Every core operation and its errors, driven by the Rust `aws-sdk-s3` client against the real server.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use common::{error_code, error_status, md5_hex, pattern, TestServer};

#[tokio::test]
async fn bucket_lifecycle() {
    // Goal: create / re-create / list / head / location / delete behave as AWS us-east-1 does.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("alpha").send().await.unwrap();
    // Re-creating a bucket you own in us-east-1 answers 200 and leaves it untouched.
    s3.put_object()
        .bucket("alpha")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    s3.create_bucket().bucket("alpha").send().await.unwrap();
    assert!(s3
        .head_object()
        .bucket("alpha")
        .key("k")
        .send()
        .await
        .is_ok());
    s3.create_bucket()
        .bucket("beta.dotted")
        .send()
        .await
        .unwrap();
    let listed = s3.list_buckets().send().await.unwrap();
    let names: Vec<_> = listed.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, ["alpha", "beta.dotted"]);
    assert!(listed.buckets()[0].creation_date().is_some());
    let owner = listed.owner().unwrap();
    assert_eq!(owner.id().unwrap().len(), 64);
    s3.head_bucket().bucket("alpha").send().await.unwrap();
    let location = s3
        .get_bucket_location()
        .bucket("alpha")
        .send()
        .await
        .unwrap();
    assert!(
        location.location_constraint().is_none()
            || location.location_constraint().unwrap().as_str().is_empty()
    );
    let error = s3.delete_bucket().bucket("alpha").send().await.unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("BucketNotEmpty"));
    assert_eq!(error_status(&error), Some(409));
    s3.delete_object()
        .bucket("alpha")
        .key("k")
        .send()
        .await
        .unwrap();
    s3.delete_bucket().bucket("alpha").send().await.unwrap();
    let error = s3.head_bucket().bucket("alpha").send().await.unwrap_err();
    assert_eq!(error_status(&error), Some(404));
    let error = s3.delete_bucket().bucket("alpha").send().await.unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("NoSuchBucket"));
}

#[tokio::test]
async fn create_bucket_errors() {
    // Goal: bad names and a foreign LocationConstraint are refused with S3's codes, creating nothing.
    let server = TestServer::start();
    let s3 = server.client();
    for bad in ["ab", "Upper-Case", "under_score", "-leading", "192.168.0.1"] {
        let error = s3.create_bucket().bucket(bad).send().await.unwrap_err();
        assert_eq!(
            error_code(&error).as_deref(),
            Some("InvalidBucketName"),
            "{bad}"
        );
        assert_eq!(error_status(&error), Some(400));
    }
    let configuration = CreateBucketConfiguration::builder()
        .location_constraint(BucketLocationConstraint::EuWest1)
        .build();
    let error = s3
        .create_bucket()
        .bucket("elsewhere")
        .create_bucket_configuration(configuration)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&error).as_deref(),
        Some("InvalidLocationConstraint")
    );
    assert!(s3.list_buckets().send().await.unwrap().buckets().is_empty());
}

#[tokio::test]
async fn put_get_head_with_stored_headers() {
    // Goal: bytes, ETag, Content-Type, user metadata and the stored standard headers round-trip.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("data").send().await.unwrap();
    let body = pattern(300_001, 1);
    let put = s3
        .put_object()
        .bucket("data")
        .key("folder/object.bin")
        .body(ByteStream::from(body.clone()))
        .content_type("application/x-test")
        .cache_control("max-age=60")
        .content_disposition("attachment; filename=\"o.bin\"")
        .content_encoding("identity")
        .content_language("en-GB")
        .expires(aws_smithy_types::DateTime::from_secs(2_000_000_000))
        .metadata("color", "blue")
        .metadata("Mixed-Case", "Value With Spaces")
        .send()
        .await
        .unwrap();
    assert_eq!(put.e_tag().unwrap(), format!("\"{}\"", md5_hex(&body)));
    let got = s3
        .get_object()
        .bucket("data")
        .key("folder/object.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_type(), Some("application/x-test"));
    assert_eq!(got.cache_control(), Some("max-age=60"));
    assert_eq!(
        got.content_disposition(),
        Some("attachment; filename=\"o.bin\"")
    );
    assert_eq!(got.content_encoding(), Some("identity"));
    assert_eq!(got.content_language(), Some("en-GB"));
    assert_eq!(got.expires_string(), Some("Wed, 18 May 2033 03:33:20 GMT"));
    assert_eq!(
        got.metadata().unwrap().get("color").map(String::as_str),
        Some("blue")
    );
    assert_eq!(
        got.metadata()
            .unwrap()
            .get("mixed-case")
            .map(String::as_str),
        Some("Value With Spaces")
    );
    assert_eq!(got.e_tag().unwrap(), format!("\"{}\"", md5_hex(&body)));
    assert_eq!(got.content_length(), Some(body.len() as i64));
    assert!(got.last_modified().is_some());
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(md5_hex(&bytes), md5_hex(&body));
    let head = s3
        .head_object()
        .bucket("data")
        .key("folder/object.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(body.len() as i64));
    assert_eq!(head.content_type(), Some("application/x-test"));
    // Empty object.
    s3.put_object()
        .bucket("data")
        .key("empty")
        .body(ByteStream::from_static(b""))
        .send()
        .await
        .unwrap();
    let got = s3
        .get_object()
        .bucket("data")
        .key("empty")
        .send()
        .await
        .unwrap();
    assert_eq!(got.e_tag(), Some("\"d41d8cd98f00b204e9800998ecf8427e\""));
    assert!(got.body.collect().await.unwrap().into_bytes().is_empty());
}

#[tokio::test]
async fn awkward_keys_stay_inside_the_data_dir() {
    // Goal: keys with '..', '//', '%', spaces, '+', unicode and control characters are stored by
    // id, round-trip exactly, and never create files named after the key.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("keys").send().await.unwrap();
    let keys = [
        "../../../../etc/passwd",
        "a//b///c",
        "100% sure",
        "plus+and space",
        "unicode/€/日本語/ü",
        "tab\there",
        "./dot/./segments/..",
        "?query=like&x",
        "#hash",
        &"k".repeat(1024),
    ];
    for (index, key) in keys.iter().enumerate() {
        let body = pattern(100 + index, index as u64);
        s3.put_object()
            .bucket("keys")
            .key(*key)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{key}: {e:?}"));
        let got = s3
            .get_object()
            .bucket("keys")
            .key(*key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            got.body.collect().await.unwrap().into_bytes().as_ref(),
            body.as_slice(),
            "{key}"
        );
    }
    assert!(!server.data_dir().join("etc").exists());
    assert!(!server
        .data_dir()
        .parent()
        .unwrap()
        .join("etc/passwd")
        .exists());
    assert_eq!(server.stored_objects(), keys.len());
    let error = s3
        .put_object()
        .bucket("keys")
        .key("k".repeat(1025))
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("KeyTooLongError"));
}

#[tokio::test]
async fn bad_content_md5_stores_nothing() {
    // Goal: a Content-MD5 that does not match the body is BadDigest, and no object or file remains.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("digest").send().await.unwrap();
    let wrong = "1B2M2Y8AsgTpgAmY7PhCfg=="; // MD5 of the empty string
    let error = s3
        .put_object()
        .bucket("digest")
        .key("k")
        .content_md5(wrong)
        .body(ByteStream::from_static(b"hello"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("BadDigest"));
    assert_eq!(error_status(&error), Some(400));
    let error = s3
        .put_object()
        .bucket("digest")
        .key("k")
        .content_md5("not-base64!")
        .body(ByteStream::from_static(b"hello"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("InvalidDigest"));
    let error = s3
        .head_object()
        .bucket("digest")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_status(&error), Some(404));
    // The right digest is accepted.
    s3.put_object()
        .bucket("digest")
        .key("k")
        .content_md5("XUFAKrxLKna5cZ2REBfFkg==")
        .body(ByteStream::from_static(b"hello"))
        .send()
        .await
        .unwrap();
    assert!(
        common::eventually(5, || server.temp_files().is_empty()),
        "{:?}",
        server.temp_files()
    );
    assert_eq!(server.stored_objects(), 1);
}

#[tokio::test]
async fn overwrite_and_delete() {
    // Goal: an overwrite replaces atomically and frees what the old version used (file or
    // inline bytes, sizes alternate across the inline limit); delete is idempotent (204).
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("over").send().await.unwrap();
    for (round, size) in [5000, 40_000, 6000, 7000, 50_000, 60_000]
        .into_iter()
        .enumerate()
    {
        let body = pattern(size, round as u64);
        common::put_bytes(&s3, "over", "same", &body).await;
        assert_eq!(common::get_bytes(&s3, "over", "same", None).await, body);
    }
    assert!(
        common::eventually(5, || server.stored_objects() == 1),
        "superseded files were not removed"
    );
    s3.delete_object()
        .bucket("over")
        .key("same")
        .send()
        .await
        .unwrap();
    s3.delete_object()
        .bucket("over")
        .key("same")
        .send()
        .await
        .unwrap();
    s3.delete_object()
        .bucket("over")
        .key("never-existed")
        .send()
        .await
        .unwrap();
    assert!(common::eventually(5, || server.stored_objects() == 0));
    let error = s3
        .get_object()
        .bucket("over")
        .key("same")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("NoSuchKey"));
    assert_eq!(error_status(&error), Some(404));
    let error = s3
        .get_object()
        .bucket("missing-bucket")
        .key("same")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("NoSuchBucket"));
    let error = s3
        .put_object()
        .bucket("missing-bucket")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("NoSuchBucket"));
    assert_eq!(server.stored_objects(), 0);
    assert!(common::eventually(5, || server.temp_files().is_empty()));
}

#[tokio::test]
async fn concurrent_overwrites_are_atomic() {
    // Goal: readers racing writers of one key always see one complete version, never a mix.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("race").send().await.unwrap();
    let versions: Vec<Vec<u8>> = (0..4).map(|seed| pattern(200_000, seed)).collect();
    let digests: Vec<String> = versions.iter().map(|v| md5_hex(v)).collect();
    s3.put_object()
        .bucket("race")
        .key("k")
        .body(ByteStream::from(versions[0].clone()))
        .send()
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for version in &versions {
        let s3 = s3.clone();
        let body = version.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..8 {
                s3.put_object()
                    .bucket("race")
                    .key("k")
                    .body(ByteStream::from(body.clone()))
                    .send()
                    .await
                    .unwrap();
            }
        }));
    }
    for _ in 0..4 {
        let s3 = s3.clone();
        let digests = digests.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..16 {
                let got = s3
                    .get_object()
                    .bucket("race")
                    .key("k")
                    .send()
                    .await
                    .unwrap();
                let bytes = got.body.collect().await.unwrap().into_bytes();
                assert!(
                    digests.contains(&md5_hex(&bytes)),
                    "GET returned a mix of versions"
                );
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert!(common::eventually(5, || server.stored_objects() == 1));
}

#[tokio::test]
async fn auth_errors() {
    // Goal: a wrong secret, an unknown key and a wrong region are refused with S3's codes.
    let server = TestServer::start();
    let good = server.client();
    good.create_bucket().bucket("auth").send().await.unwrap();
    let wrong_secret =
        common::client_for(&server.endpoint, common::ACCESS_KEY, "not-the-secret-key");
    let error = wrong_secret.list_buckets().send().await.unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("SignatureDoesNotMatch"));
    assert_eq!(error_status(&error), Some(403));
    let error = wrong_secret
        .put_object()
        .bucket("auth")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("SignatureDoesNotMatch"));
    let unknown = common::client_for(&server.endpoint, "nobody", common::SECRET_KEY);
    let error = unknown.list_buckets().send().await.unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("InvalidAccessKeyId"));
    let error = good
        .head_object()
        .bucket("auth")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_status(&error), Some(404));
}

#[tokio::test]
async fn request_payment_is_the_bucket_owners() {
    // Goal: GetBucketRequestPayment answers S3's default (the owner pays) to the owner, and S3's
    // errors to a missing bucket and to another user; PutBucketRequestPayment is refused (501),
    // never silently accepted.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("paid").send().await.unwrap();
    let answer = s3
        .get_bucket_request_payment()
        .bucket("paid")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.payer(), Some(&aws_sdk_s3::types::Payer::BucketOwner));
    let error = s3
        .get_bucket_request_payment()
        .bucket("nowhere")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("NoSuchBucket"));
    assert_eq!(error_status(&error), Some(404));
    let other = server.add_user("payer-other", None);
    let error = server
        .client_as(&other)
        .get_bucket_request_payment()
        .bucket("paid")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("AccessDenied"));
    let error = s3
        .put_bucket_request_payment()
        .bucket("paid")
        .request_payment_configuration(
            aws_sdk_s3::types::RequestPaymentConfiguration::builder()
                .payer(aws_sdk_s3::types::Payer::Requester)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_status(&error), Some(501));
}

#[tokio::test]
async fn part_one_of_an_empty_object() {
    // Goal: GET partNumber=1 of a 0-byte object answers 200 with no bytes and no Content-Range
    // (there is no byte range to name), and the server keeps serving (it once computed the last
    // byte as 0 - 1).
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("empty").send().await.unwrap();
    s3.put_object()
        .bucket("empty")
        .key("nothing")
        .body(ByteStream::from_static(b""))
        .send()
        .await
        .unwrap();
    let part = s3
        .get_object()
        .bucket("empty")
        .key("nothing")
        .part_number(1)
        .send()
        .await
        .unwrap();
    assert_eq!(part.content_length(), Some(0));
    assert_eq!(part.content_range(), None);
    assert!(part.body.collect().await.unwrap().into_bytes().is_empty());
    let head = s3
        .head_object()
        .bucket("empty")
        .key("nothing")
        .part_number(1)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(0));
    s3.head_bucket().bucket("empty").send().await.unwrap();
}

#[tokio::test]
async fn region_any_accepts_the_clients_scope_region() {
    // Goal: with --region-any, clients that sign with a region of their own (git-annex's
    // library uses the host name) are verified with that region and served, CreateBucket
    // included; without it the same client is refused with AWS's malformed-scope answer.
    let strict = TestServer::start();
    let endpoint = format!("http://{}", strict.address);
    let foreign = common::client_in_region(
        &endpoint,
        common::ACCESS_KEY,
        common::SECRET_KEY,
        "127.0.0.1",
    );
    let error = foreign.list_buckets().send().await.unwrap_err();
    assert_eq!(
        error_code(&error).as_deref(),
        Some("AuthorizationHeaderMalformed")
    );

    let server = TestServer::start_with_args(&["--region-any"]);
    let endpoint = format!("http://{}", server.address);
    for region in ["127.0.0.1", "garage", "eu-west-3"] {
        let s3 =
            common::client_in_region(&endpoint, common::ACCESS_KEY, common::SECRET_KEY, region);
        let bucket = format!("any-{}", region.replace('.', "-"));
        s3.create_bucket()
            .bucket(&bucket)
            .create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            )
            .send()
            .await
            .unwrap();
        s3.put_object()
            .bucket(&bucket)
            .key("k")
            .body(ByteStream::from_static(b"anywhere"))
            .send()
            .await
            .unwrap();
        let body = s3
            .get_object()
            .bucket(&bucket)
            .key("k")
            .send()
            .await
            .unwrap()
            .body;
        assert_eq!(
            body.collect().await.unwrap().into_bytes().as_ref(),
            b"anywhere"
        );
    }
    // A wrong secret is still refused whatever the region.
    let intruder =
        common::client_in_region(&endpoint, common::ACCESS_KEY, "wrong-secret-0000", "garage");
    let error = intruder.list_buckets().send().await.unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("SignatureDoesNotMatch"));
}

#[tokio::test]
async fn unimplemented_operations_say_so() {
    // Goal: an S3 operation ringstore lacks answers 501 NotImplemented, never a wrong success.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("later").send().await.unwrap();
    let error = s3
        .get_bucket_website()
        .bucket("later")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_status(&error), Some(501));
}

#[tokio::test]
async fn recreate_outside_us_east_1_is_already_owned() {
    // Goal: outside us-east-1, re-creating your own bucket is 409 BucketAlreadyOwnedByYou, and a
    // matching LocationConstraint is accepted.
    let server = TestServer::start_with(1, "eu-central-1");
    let s3 = server.client();
    let configuration = CreateBucketConfiguration::builder()
        .location_constraint(BucketLocationConstraint::EuCentral1)
        .build();
    s3.create_bucket()
        .bucket("regional")
        .create_bucket_configuration(configuration)
        .send()
        .await
        .unwrap();
    let error = s3
        .create_bucket()
        .bucket("regional")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&error).as_deref(),
        Some("BucketAlreadyOwnedByYou")
    );
    assert_eq!(error_status(&error), Some(409));
    let location = s3
        .get_bucket_location()
        .bucket("regional")
        .send()
        .await
        .unwrap();
    assert_eq!(
        location.location_constraint().map(|c| c.as_str()),
        Some("eu-central-1")
    );
    // A client signing for another region is told which one to use.
    let wrong = common::client_for(&server.endpoint, common::ACCESS_KEY, common::SECRET_KEY);
    let error = wrong.list_buckets().send().await.unwrap_err();
    assert_eq!(
        error_code(&error).as_deref(),
        Some("AuthorizationHeaderMalformed")
    );
}

/// Resolves every `*.localhost` name to 127.0.0.1 (it may not resolve on this machine), so the
/// SDK can use virtual-hosted-style addressing as it would against a real domain.
#[derive(Debug, Clone, Default)]
struct LocalhostResolver {
    /// Every name the SDK asked for.
    names: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl aws_smithy_runtime_api::client::dns::ResolveDns for LocalhostResolver {
    fn resolve_dns<'a>(
        &'a self,
        name: &'a str,
    ) -> aws_smithy_runtime_api::client::dns::DnsFuture<'a> {
        self.names.lock().unwrap().push(name.to_string());
        aws_smithy_runtime_api::client::dns::DnsFuture::ready(Ok(vec![std::net::IpAddr::from([
            127, 0, 0, 1,
        ])]))
    }
}

#[tokio::test]
async fn virtual_hosted_style_with_the_rust_sdk() {
    // Goal: aws-sdk-s3 without force_path_style addresses bucket.localhost:PORT; put, get, list
    // and delete work and reach the same bucket path-style clients see.
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    let server = TestServer::start();
    let path_style = server.client();
    path_style
        .create_bucket()
        .bucket("virtual-rs")
        .send()
        .await
        .unwrap();
    let port = server.endpoint.rsplit(':').next().unwrap();
    let resolver = LocalhostResolver::default();
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .build_with_resolver(resolver.clone());
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .endpoint_url(format!("http://localhost:{port}"))
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            common::ACCESS_KEY,
            common::SECRET_KEY,
            None,
            None,
            "test",
        ))
        .http_client(http_client)
        .timeout_config(common::client_timeouts())
        .build();
    let virtual_style = aws_sdk_s3::Client::from_conf(config);
    let body = pattern(150_000, 42);
    virtual_style
        .put_object()
        .bucket("virtual-rs")
        .key("dir/v.bin")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    let got = path_style
        .get_object()
        .bucket("virtual-rs")
        .key("dir/v.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(
        md5_hex(&got.body.collect().await.unwrap().into_bytes()),
        md5_hex(&body)
    );
    let listed = virtual_style
        .list_objects_v2()
        .bucket("virtual-rs")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.contents()[0].key(), Some("dir/v.bin"));
    let names = resolver.names.lock().unwrap().clone();
    assert!(
        !names.is_empty() && names.iter().all(|name| name == "virtual-rs.localhost"),
        "the SDK did not address bucket.localhost: {names:?}"
    );
    virtual_style
        .delete_object()
        .bucket("virtual-rs")
        .key("dir/v.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(
        path_style
            .list_objects_v2()
            .bucket("virtual-rs")
            .send()
            .await
            .unwrap()
            .key_count(),
        Some(0)
    );
}
