//! No silent ignores (issue 22, part 1): every row of SECURITY.md's "Headers ringstore refuses"
//! table is sent to the real server for each operation it lists; each answer must be the row's
//! status and S3 error code, and nothing may be stored (no object, copy, upload, part or bucket
//! appears; nothing is deleted). Also: `x-amz-source-expected-bucket-owner` is checked, and a
//! POST form field asking for encryption is refused like the header.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use common::{exchange, RawRequest, TestServer};
use md5::{Digest, Md5};

use base64::Engine;

const BUCKET: &str = "guarded";

/// One row of the SECURITY.md table.
struct Row {
    header: String,
    value: String,
    operations: Vec<String>,
    status: u16,
    code: String,
}

fn table_rows() -> Vec<Row> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/SECURITY.md")).unwrap();
    let start = text
        .find("<!-- refused-headers: begin")
        .expect("SECURITY.md has the refused-headers table");
    let end = text.find("<!-- refused-headers: end").unwrap();
    let cell = |text: &str| text.trim().trim_matches('`').to_string();
    let rows: Vec<Row> = text[start..end]
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').collect();
            assert_eq!(cells.len(), 4, "{line}");
            let (status, code) = cells[3].trim().split_once(' ').unwrap();
            Row {
                header: cell(cells[0]),
                value: cell(cells[1]),
                operations: cells[2]
                    .split(',')
                    .map(|op| op.trim().to_string())
                    .collect(),
                status: status.parse().unwrap(),
                code: code.to_string(),
            }
        })
        .collect();
    // 26 rows before Object Lock and tagging were honoured (issues 20, 21), 23 since.
    assert!(rows.len() >= 23, "the table lost rows: {}", rows.len());
    rows
}

/// The request that performs `operation` (on the shared fixtures), with `header: value` added;
/// `case` makes the names it creates unique.
fn request_for(
    server: &TestServer,
    operation: &str,
    case: usize,
    upload_id: &str,
    header: &str,
    value: &str,
) -> Vec<u8> {
    let host = server.address.as_str();
    let object =
        |method: &str, key: &str| RawRequest::new(method, &format!("/{BUCKET}/{key}"), host);
    let (request, body): (RawRequest, &[u8]) = match operation {
        "PutObject" => (object("PUT", &format!("new-{case}")), b"data"),
        "CopyObject" => (
            object("PUT", &format!("copy-{case}")).header("x-amz-copy-source", "/guarded/src"),
            b"",
        ),
        "CreateMultipartUpload" => (
            RawRequest {
                query: "uploads".into(),
                ..object("POST", &format!("mpu-{case}"))
            },
            b"",
        ),
        "GetObject" => (object("GET", "src"), b""),
        "HeadObject" => (object("HEAD", "src"), b""),
        "UploadPart" => (
            RawRequest {
                query: format!("partNumber=1&uploadId={upload_id}"),
                ..object("PUT", "up")
            },
            b"data",
        ),
        "UploadPartCopy" => (
            RawRequest {
                query: format!("partNumber=2&uploadId={upload_id}"),
                ..object("PUT", "up")
            }
            .header("x-amz-copy-source", "/guarded/src"),
            b"",
        ),
        "CreateBucket" => (
            RawRequest::new("PUT", &format!("/refused-bucket-{case}"), host),
            b"",
        ),
        "DeleteObject" => (object("DELETE", "src"), b""),
        "DeleteObjects" => (
            RawRequest {
                query: "delete".into(),
                ..RawRequest::new("POST", &format!("/{BUCKET}"), host)
            },
            b"<Delete><Object><Key>src</Key></Object></Delete>",
        ),
        other => panic!("SECURITY.md names an operation this test cannot send: {other}"),
    };
    let mut request = request
        .header(header, value)
        .header("content-length", &body.len().to_string())
        .payload("UNSIGNED-PAYLOAD");
    if operation == "DeleteObjects" {
        let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(body));
        request = request.header("content-md5", &md5);
    }
    let (head, _) = request.signed_head();
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Everything the request could have stored is absent, and the fixtures are intact.
async fn assert_nothing_stored(s3: &aws_sdk_s3::Client, case: usize, upload_id: &str, row: &str) {
    for key in [format!("new-{case}"), format!("copy-{case}")] {
        assert!(
            s3.head_object()
                .bucket(BUCKET)
                .key(&key)
                .send()
                .await
                .is_err(),
            "{row}: {key} was stored"
        );
    }
    let uploads = s3
        .list_multipart_uploads()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = uploads.uploads().iter().filter_map(|u| u.key()).collect();
    assert_eq!(keys, ["up"], "{row}: an upload was started");
    let parts = s3
        .list_parts()
        .bucket(BUCKET)
        .key("up")
        .upload_id(upload_id)
        .send()
        .await
        .unwrap();
    assert!(parts.parts().is_empty(), "{row}: a part was stored");
    assert!(
        s3.head_bucket()
            .bucket(format!("refused-bucket-{case}"))
            .send()
            .await
            .is_err(),
        "{row}: a bucket was created"
    );
    let source = common::get_bytes(s3, BUCKET, "src", None).await;
    assert_eq!(source, b"data", "{row}: the source changed or went away");
}

#[tokio::test]
async fn every_refused_header_is_refused_and_stores_nothing() {
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    s3.put_object()
        .bucket(BUCKET)
        .key("src")
        .body(ByteStream::from_static(b"data"))
        .send()
        .await
        .unwrap();
    let upload_id = common::create_upload(&s3, BUCKET, "up").await;
    let mut case = 0;
    for row in table_rows() {
        for operation in &row.operations {
            case += 1;
            let label = format!("{}: {} on {operation}", row.header, row.value);
            let request = request_for(
                &server,
                operation,
                case,
                &upload_id,
                &row.header,
                &row.value,
            );
            let answer = exchange(&server, &request);
            assert_eq!(answer.status, row.status, "{label}: {}", answer.body_text());
            if operation != "HeadObject" {
                assert_eq!(answer.code().as_deref(), Some(row.code.as_str()), "{label}");
            }
            assert_nothing_stored(&s3, case, &upload_id, &label).await;
        }
    }
    // The values that ask for nothing more than ringstore does pass.
    let accepted = |header: &'static str, value: &'static str| {
        let request = request_for(&server, "PutObject", 9999, &upload_id, header, value);
        exchange(&server, &request).status
    };
    assert_eq!(accepted("x-amz-storage-class", "STANDARD"), 200);
    assert_eq!(accepted("x-amz-request-payer", "requester"), 200);
}

#[tokio::test]
async fn source_expected_bucket_owner_is_checked() {
    // Goal: a copy whose source bucket is not owned by the canonical id the caller expects is
    // AccessDenied and stores nothing; the right id copies.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    s3.put_object()
        .bucket(BUCKET)
        .key("src")
        .body(ByteStream::from_static(b"data"))
        .send()
        .await
        .unwrap();
    let owner = s3.list_buckets().send().await.unwrap();
    let owner_id = owner.owner().unwrap().id().unwrap().to_string();
    let error = s3
        .copy_object()
        .bucket(BUCKET)
        .key("copy")
        .copy_source("guarded/src")
        .expected_source_bucket_owner("0".repeat(64))
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::error_code(&error).as_deref(), Some("AccessDenied"));
    assert!(s3
        .head_object()
        .bucket(BUCKET)
        .key("copy")
        .send()
        .await
        .is_err());
    s3.copy_object()
        .bucket(BUCKET)
        .key("copy")
        .copy_source("guarded/src")
        .expected_source_bucket_owner(owner_id)
        .send()
        .await
        .unwrap();
    assert_eq!(common::get_bytes(&s3, BUCKET, "copy", None).await, b"data");
}

#[tokio::test]
async fn post_form_fields_are_refused_like_headers() {
    // Goal: a browser upload whose form asks for encryption (or a storage class) is refused with
    // the same error as the header, and nothing is stored.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket()
        .bucket(BUCKET)
        .acl(aws_sdk_s3::types::BucketCannedAcl::PublicReadWrite)
        .send()
        .await
        .unwrap();
    for (field, value) in [
        ("x-amz-server-side-encryption", "AES256"),
        ("x-amz-storage-class", "GLACIER"),
    ] {
        let boundary = "ringstoreboundary";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nposted\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\
             Content-Type: text/plain\r\n\r\ndata\r\n--{boundary}--\r\n"
        );
        let request = format!(
            "POST /{BUCKET} HTTP/1.1\r\nHost: {}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            server.address,
            body.len()
        );
        let answer = exchange(&server, request.as_bytes());
        assert_eq!(answer.status, 501, "{field}: {}", answer.body_text());
        assert_eq!(answer.code().as_deref(), Some("NotImplemented"));
        assert!(s3
            .head_object()
            .bucket(BUCKET)
            .key("posted")
            .send()
            .await
            .is_err());
    }
}
