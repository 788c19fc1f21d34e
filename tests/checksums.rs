//! Flexible checksums end to end with aws-sdk-s3: every algorithm on PutObject (header or
//! aws-chunked trailer, as the SDK chooses), returned on GET/HEAD with checksum mode, per part and
//! as composite / full-object checksums of multipart uploads; wrong values change nothing.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart,
};
use base64::Engine;
use common::{error_code, exchange, pattern, RawRequest, TestServer};
use ringstore::s3::auth::sigv4;
use ringstore::storage::checksum::{checksum_of, ChecksumAlgorithm as Algorithm};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

const ALGORITHMS: [(ChecksumAlgorithm, Algorithm); 5] = [
    (ChecksumAlgorithm::Crc32, Algorithm::Crc32),
    (ChecksumAlgorithm::Crc32C, Algorithm::Crc32c),
    (ChecksumAlgorithm::Crc64Nvme, Algorithm::Crc64Nvme),
    (ChecksumAlgorithm::Sha1, Algorithm::Sha1),
    (ChecksumAlgorithm::Sha256, Algorithm::Sha256),
];

#[tokio::test]
async fn every_algorithm_on_put_and_get() {
    // Goal: each algorithm is verified on upload, stored, and returned (and validated by the SDK)
    // on GET and HEAD with x-amz-checksum-mode: ENABLED.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("sums").send().await.unwrap();
    let body = pattern(700_001, 11);
    for (sdk, ours) in ALGORITHMS {
        let key = format!("obj-{}", ours.name());
        let expected = b64(&checksum_of(ours, &body));
        s3.put_object()
            .bucket("sums")
            .key(&key)
            .checksum_algorithm(sdk.clone())
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
        let got = s3
            .get_object()
            .bucket("sums")
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .unwrap();
        let returned = match ours {
            Algorithm::Crc32 => got.checksum_crc32(),
            Algorithm::Crc32c => got.checksum_crc32_c(),
            Algorithm::Crc64Nvme => got.checksum_crc64_nvme(),
            Algorithm::Sha1 => got.checksum_sha1(),
            Algorithm::Sha256 => got.checksum_sha256(),
        }
        .map(str::to_string);
        assert_eq!(
            returned.as_deref(),
            Some(expected.as_str()),
            "{}",
            ours.name()
        );
        assert_eq!(got.checksum_type(), Some(&ChecksumType::FullObject));
        assert_eq!(
            got.body.collect().await.unwrap().into_bytes().as_ref(),
            body.as_slice()
        );
        let head = s3
            .head_object()
            .bucket("sums")
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .unwrap();
        assert!(
            head.checksum_crc32().is_some()
                || head.checksum_crc32_c().is_some()
                || head.checksum_crc64_nvme().is_some()
                || head.checksum_sha1().is_some()
                || head.checksum_sha256().is_some()
        );
    }
}

#[test]
fn wrong_or_conflicting_checksums_store_nothing() {
    // Goal: a wrong or malformed value is BadDigest, two algorithms are InvalidRequest; no
    // object and no temp file remain.
    let server = TestServer::start();
    let (head, _) = RawRequest::new("PUT", "/raw", &server.address).signed_head();
    assert_eq!(exchange(&server, head.as_bytes()).status, 200);
    let body = b"checksummed body";
    let put = |extra: &[(&str, String)]| {
        let mut request = RawRequest::new("PUT", "/raw/k", &server.address)
            .header("content-length", &body.len().to_string())
            .payload(&sigv4::sha256_hex(body));
        for (name, value) in extra {
            request = request.header(name, value);
        }
        let (head, _) = request.signed_head();
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        exchange(&server, &bytes)
    };
    let wrong = b64(&checksum_of(Algorithm::Crc32c, b"other"));
    let response = put(&[("x-amz-checksum-crc32c", wrong)]);
    assert_eq!(
        (response.status, response.code().as_deref()),
        (400, Some("BadDigest"))
    );
    let right_crc = b64(&checksum_of(Algorithm::Crc32, body));
    let right_sha = b64(&checksum_of(Algorithm::Sha256, body));
    let response = put(&[
        ("x-amz-checksum-crc32", right_crc.clone()),
        ("x-amz-checksum-sha256", right_sha),
    ]);
    assert_eq!(
        (response.status, response.code().as_deref()),
        (400, Some("InvalidRequest"))
    );
    let response = put(&[("x-amz-checksum-crc64nvme", "AAAA".to_string())]);
    assert_eq!(
        (response.status, response.code().as_deref()),
        (400, Some("BadDigest"))
    );
    let response = put(&[
        ("x-amz-checksum-crc32", right_crc.clone()),
        ("x-amz-sdk-checksum-algorithm", "SHA1".to_string()),
    ]);
    assert_eq!(
        (response.status, response.code().as_deref()),
        (400, Some("InvalidRequest"))
    );
    let (head, _) = RawRequest::new("GET", "/raw/k", &server.address).signed_head();
    assert_eq!(exchange(&server, head.as_bytes()).status, 404);
    // x-amz-sdk-checksum-algorithm alone: the server computes and stores the checksum.
    let response = put(&[("x-amz-sdk-checksum-algorithm", "CRC64NVME".to_string())]);
    assert_eq!(response.status, 200, "{}", response.body_text());
    assert_eq!(
        response.header("x-amz-checksum-crc64nvme"),
        Some(b64(&checksum_of(Algorithm::Crc64Nvme, body)).as_str())
    );
    assert!(common::eventually(5, || server.temp_files().is_empty()));
}

#[tokio::test]
async fn multipart_composite_and_full_object_checksums() {
    // Goal: parts carry the upload's algorithm; completion yields S3's COMPOSITE value
    // (checksum of part checksums, "-N") or FULL_OBJECT value (CRCs combined).
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("mpsums").send().await.unwrap();
    let parts: Vec<Vec<u8>> = vec![pattern(5 * 1024 * 1024, 1), pattern(300_000, 2)];
    for (sdk, ours, kind) in [
        (
            ChecksumAlgorithm::Crc32,
            Algorithm::Crc32,
            ChecksumType::Composite,
        ),
        (
            ChecksumAlgorithm::Sha256,
            Algorithm::Sha256,
            ChecksumType::Composite,
        ),
        (
            ChecksumAlgorithm::Crc64Nvme,
            Algorithm::Crc64Nvme,
            ChecksumType::FullObject,
        ),
        (
            ChecksumAlgorithm::Crc32C,
            Algorithm::Crc32c,
            ChecksumType::FullObject,
        ),
    ] {
        let key = format!("mp-{}-{}", ours.name(), kind.as_str());
        let upload = s3
            .create_multipart_upload()
            .bucket("mpsums")
            .key(&key)
            .checksum_algorithm(sdk.clone())
            .checksum_type(kind.clone())
            .send()
            .await
            .unwrap();
        let upload_id = upload.upload_id().unwrap().to_string();
        let mut completed = Vec::new();
        for (index, part) in parts.iter().enumerate() {
            let number = index as i32 + 1;
            let result = s3
                .upload_part()
                .bucket("mpsums")
                .key(&key)
                .upload_id(&upload_id)
                .part_number(number)
                .checksum_algorithm(sdk.clone())
                .body(ByteStream::from(part.clone()))
                .send()
                .await
                .unwrap();
            let mut builder = CompletedPart::builder()
                .part_number(number)
                .e_tag(result.e_tag().unwrap());
            let value = b64(&checksum_of(ours, part));
            builder = match ours {
                Algorithm::Crc32 => builder.checksum_crc32(value),
                Algorithm::Crc32c => builder.checksum_crc32_c(value),
                Algorithm::Crc64Nvme => builder.checksum_crc64_nvme(value),
                Algorithm::Sha1 => builder.checksum_sha1(value),
                Algorithm::Sha256 => builder.checksum_sha256(value),
            };
            completed.push(builder.build());
        }
        let done = s3
            .complete_multipart_upload()
            .bucket("mpsums")
            .key(&key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(completed))
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("{key}: {e:?}"));
        let expected = if kind == ChecksumType::Composite {
            let concatenated: Vec<u8> = parts
                .iter()
                .flat_map(|part| checksum_of(ours, part))
                .collect();
            format!("{}-{}", b64(&checksum_of(ours, &concatenated)), parts.len())
        } else {
            b64(&checksum_of(ours, &parts.concat()))
        };
        let returned = match ours {
            Algorithm::Crc32 => done.checksum_crc32(),
            Algorithm::Crc32c => done.checksum_crc32_c(),
            Algorithm::Crc64Nvme => done.checksum_crc64_nvme(),
            Algorithm::Sha1 => done.checksum_sha1(),
            Algorithm::Sha256 => done.checksum_sha256(),
        };
        assert_eq!(returned, Some(expected.as_str()), "{key}");
    }
    let error = s3
        .complete_multipart_upload()
        .bucket("mpsums")
        .key("missing")
        .upload_id("none")
        .send()
        .await
        .unwrap_err();
    assert!(error_code(&error).is_some());
}

#[tokio::test]
async fn get_object_attributes_reports_checksum_size_and_parts() {
    // Goal: GetObjectAttributes answers ETag, Checksum, ObjectSize, StorageClass, and ObjectParts
    // for multipart objects, without sending the bytes.
    use aws_sdk_s3::types::ObjectAttributes;
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("attrs").send().await.unwrap();
    let body = pattern(123_456, 3);
    s3.put_object()
        .bucket("attrs")
        .key("single")
        .checksum_algorithm(ChecksumAlgorithm::Crc32C)
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    let attributes = s3
        .get_object_attributes()
        .bucket("attrs")
        .key("single")
        .object_attributes(ObjectAttributes::Etag)
        .object_attributes(ObjectAttributes::Checksum)
        .object_attributes(ObjectAttributes::ObjectSize)
        .object_attributes(ObjectAttributes::StorageClass)
        .send()
        .await
        .unwrap();
    assert_eq!(attributes.e_tag(), Some(common::md5_hex(&body).as_str()));
    assert_eq!(attributes.object_size(), Some(body.len() as i64));
    assert_eq!(
        attributes.checksum().unwrap().checksum_crc32_c(),
        Some(b64(&checksum_of(Algorithm::Crc32c, &body)).as_str())
    );
    assert_eq!(
        attributes.storage_class().map(|c| c.as_str()),
        Some("STANDARD")
    );
    let upload = common::create_upload(&s3, "attrs", "multi").await;
    let mut parts = Vec::new();
    for (number, size) in [(1, 5 * 1024 * 1024), (2, 1000)] {
        let result = s3
            .upload_part()
            .bucket("attrs")
            .key("multi")
            .upload_id(&upload)
            .part_number(number)
            .body(ByteStream::from(pattern(size, number as u64)))
            .send()
            .await
            .unwrap();
        parts.push(
            CompletedPart::builder()
                .part_number(number)
                .e_tag(result.e_tag().unwrap())
                .build(),
        );
    }
    s3.complete_multipart_upload()
        .bucket("attrs")
        .key("multi")
        .upload_id(&upload)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let attributes = s3
        .get_object_attributes()
        .bucket("attrs")
        .key("multi")
        .object_attributes(ObjectAttributes::ObjectParts)
        .send()
        .await
        .unwrap();
    let object_parts = attributes.object_parts().unwrap();
    assert_eq!(object_parts.total_parts_count(), Some(2));
    assert_eq!(object_parts.parts()[1].size(), Some(1000));
    let error = s3
        .get_object_attributes()
        .bucket("attrs")
        .key("missing")
        .object_attributes(ObjectAttributes::Etag)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("NoSuchKey"));
}

#[test]
fn tagging_bodies_need_a_digest() {
    // Goal: PutObjectTagging and PutBucketTagging without Content-MD5 or a flexible checksum are
    // refused (S3 requires one) and change nothing; with a right Content-MD5 they apply, and a
    // wrong one is BadDigest.
    let server = TestServer::start();
    let (head, _) = RawRequest::new("PUT", "/tagged", &server.address).signed_head();
    assert_eq!(exchange(&server, head.as_bytes()).status, 200);
    let (head, _) = RawRequest::new("PUT", "/tagged/k", &server.address)
        .header("content-length", "0")
        .signed_head();
    assert_eq!(exchange(&server, head.as_bytes()).status, 200);
    let body = b"<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>";
    let send = |path: &str, md5: Option<String>| {
        let mut request = RawRequest::new("PUT", path, &server.address)
            .query("tagging=")
            .header("content-length", &body.len().to_string())
            .payload(&sigv4::sha256_hex(body));
        if let Some(md5) = md5 {
            request = request.header("content-md5", &md5);
        }
        let (head, _) = request.signed_head();
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        exchange(&server, &bytes)
    };
    let right = b64(&<md5::Md5 as md5::Digest>::digest(body));
    let wrong = b64(&<md5::Md5 as md5::Digest>::digest(b"other"));
    for path in ["/tagged/k", "/tagged"] {
        let missing = send(path, None);
        assert_eq!(
            (missing.status, missing.code().as_deref()),
            (400, Some("InvalidRequest")),
            "{path}"
        );
        let bad = send(path, Some(wrong.clone()));
        assert_eq!(
            (bad.status, bad.code().as_deref()),
            (400, Some("BadDigest")),
            "{path}"
        );
    }
    let (head, _) = RawRequest::new("GET", "/tagged", &server.address)
        .query("tagging=")
        .signed_head();
    assert_eq!(
        exchange(&server, head.as_bytes()).code().as_deref(),
        Some("NoSuchTagSet")
    );
    assert!(matches!(send("/tagged/k", Some(right.clone())).status, 200));
    assert_eq!(send("/tagged", Some(right)).status, 204);
}

#[test]
fn configuration_bodies_are_checked_against_a_digest_sent() {
    // Goal: PutBucketVersioning, PutBucketAcl and PutBucketPolicy take a body with or without a
    // digest, but a Content-MD5 that does not match it is BadDigest and changes nothing.
    let server = TestServer::start();
    let (head, _) = RawRequest::new("PUT", "/digested", &server.address).signed_head();
    assert_eq!(exchange(&server, head.as_bytes()).status, 200);
    let send = |query: &str, body: &[u8], md5: Option<String>| {
        let mut request = RawRequest::new("PUT", "/digested", &server.address)
            .query(query)
            .header("content-length", &body.len().to_string())
            .payload(&sigv4::sha256_hex(body));
        if let Some(md5) = md5 {
            request = request.header("content-md5", &md5);
        }
        let (head, _) = request.signed_head();
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        exchange(&server, &bytes)
    };
    let wrong = b64(&<md5::Md5 as md5::Digest>::digest(b"other"));
    let versioning: &[u8] =
        b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
    let policy: &[u8] = br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::digested/*"}]}"#;
    let (owner_head, _) = RawRequest::new("GET", "/digested", &server.address)
        .query("acl=")
        .signed_head();
    let acl_document = exchange(&server, owner_head.as_bytes()).body;
    for (query, body) in [
        ("versioning=", versioning),
        ("policy=", policy),
        ("acl=", acl_document.as_slice()),
    ] {
        let bad = send(query, body, Some(wrong.clone()));
        assert_eq!(
            (bad.status, bad.code().as_deref()),
            (400, Some("BadDigest")),
            "{query}"
        );
    }
    let (head, _) = RawRequest::new("GET", "/digested", &server.address)
        .query("versioning=")
        .signed_head();
    assert!(!exchange(&server, head.as_bytes())
        .body_text()
        .contains("Enabled"));
    let right = b64(&<md5::Md5 as md5::Digest>::digest(versioning));
    assert_eq!(send("versioning=", versioning, Some(right)).status, 200);
    assert_eq!(send("policy=", policy, None).status, 204);
    assert_eq!(send("acl=", acl_document.as_slice(), None).status, 200);
}

#[test]
fn every_digest_sent_with_a_configuration_is_checked() {
    // Goal: a lifecycle configuration (a body S3 requires a digest on) with a right Content-MD5
    // but a wrong x-amz-checksum-crc32 is BadDigest and stores nothing, as S3 checks every
    // digest it is sent; with both right it is stored.
    let server = TestServer::start();
    let (head, _) = RawRequest::new("PUT", "/both-digests", &server.address).signed_head();
    assert_eq!(exchange(&server, head.as_bytes()).status, 200);
    let body: &[u8] = b"<LifecycleConfiguration><Rule><ID>r</ID><Filter/><Status>Enabled</Status>\
        <Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>";
    let send = |crc32: &[u8]| {
        let (head, _) = RawRequest::new("PUT", "/both-digests", &server.address)
            .query("lifecycle=")
            .header("content-length", &body.len().to_string())
            .header(
                "content-md5",
                &b64(&<md5::Md5 as md5::Digest>::digest(body)),
            )
            .header("x-amz-checksum-crc32", &b64(crc32))
            .payload(&sigv4::sha256_hex(body))
            .signed_head();
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        exchange(&server, &bytes)
    };
    let refused = send(&[0, 0, 0, 0]);
    assert_eq!(
        (refused.status, refused.code().as_deref()),
        (400, Some("BadDigest"))
    );
    let (read, _) = RawRequest::new("GET", "/both-digests", &server.address)
        .query("lifecycle=")
        .signed_head();
    assert_eq!(exchange(&server, read.as_bytes()).status, 404);
    assert_eq!(send(&crc32fast::hash(body).to_be_bytes()).status, 200);
    assert_eq!(exchange(&server, read.as_bytes()).status, 200);
}
