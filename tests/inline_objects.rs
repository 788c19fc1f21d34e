//! Small objects stored inline in SQLite: where the limit falls, that every read path (GET, ranges,
//! partNumber, HEAD, copies in both directions, UploadPartCopy) serves the same bytes as for a
//! file, that chunked bodies of unknown length cross the limit cleanly, and that
//! `--max-inline-size 0` stores every object as a file; and that the per-core cache of object
//! records GET and HEAD use never serves a record an acknowledged write replaced.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use common::{exchange, md5_hex, pattern, put_bytes, RawRequest, TestServer};
use ringstore::limits::INLINE_OBJECT_BYTES_MAX_DEFAULT as LIMIT;

async fn get_bytes(s3: &aws_sdk_s3::Client, key: &str, range: Option<&str>) -> Vec<u8> {
    common::get_bytes(s3, "small", key, range).await
}

#[tokio::test]
async fn objects_up_to_the_limit_are_inline_and_read_like_files() {
    // Goal: 0, 1, LIMIT-1 and LIMIT bytes are stored inline, LIMIT+1 and larger as files; each
    // reads back byte-exact (whole, ranged, HEAD length, ETag) whichever way it was stored.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("small").send().await.unwrap();
    let sizes = [0, 1, LIMIT - 1, LIMIT, LIMIT + 1, 3 * LIMIT];
    for (index, size) in sizes.iter().enumerate() {
        let body = pattern(*size, index as u64);
        let put = put_bytes(&s3, "small", &format!("k{size}"), &body).await;
        assert_eq!(
            put.e_tag(),
            Some(format!("\"{}\"", md5_hex(&body)).as_str())
        );
    }
    assert_eq!(server.inline_objects(), 4);
    assert_eq!(server.object_files(), 2);
    for (index, size) in sizes.iter().enumerate() {
        let body = pattern(*size, index as u64);
        let key = format!("k{size}");
        assert_eq!(get_bytes(&s3, &key, None).await, body, "{key}");
        let head = s3
            .head_object()
            .bucket("small")
            .key(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(head.content_length(), Some(*size as i64));
        if *size > 10 {
            let ranged = get_bytes(&s3, &key, Some("bytes=3-9")).await;
            assert_eq!(ranged, body[3..10], "{key}");
            let suffix = get_bytes(&s3, &key, Some("bytes=-4")).await;
            assert_eq!(suffix, body[size - 4..], "{key}");
            let part_one = s3
                .get_object()
                .bucket("small")
                .key(&key)
                .part_number(1)
                .send()
                .await
                .unwrap();
            assert_eq!(part_one.content_length(), Some(*size as i64));
        }
    }
}

#[tokio::test]
async fn copies_cross_the_limit_both_ways() {
    // Goal: CopyObject of an inline source stays inline and of a file source stays a file, and
    // UploadPartCopy from an inline source makes a part file; all give the same bytes, and
    // deleting frees inline rows and files alike.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("small").send().await.unwrap();
    let small = pattern(1000, 1);
    let large = pattern(LIMIT + 5000, 2);
    for (key, body) in [("small", &small), ("large", &large)] {
        put_bytes(&s3, "small", key, body).await;
    }
    for (source, target) in [("small", "small-copy"), ("large", "large-copy")] {
        s3.copy_object()
            .bucket("small")
            .key(target)
            .copy_source(format!("small/{source}"))
            .send()
            .await
            .unwrap();
    }
    assert_eq!(get_bytes(&s3, "small-copy", None).await, small);
    assert_eq!(get_bytes(&s3, "large-copy", None).await, large);
    assert_eq!(server.inline_objects(), 2);
    assert_eq!(server.object_files(), 2);

    // A multipart object whose last part is copied from the inline object.
    let first = pattern(5 << 20, 3);
    let upload = s3
        .create_multipart_upload()
        .bucket("small")
        .key("stitched")
        .send()
        .await
        .unwrap();
    let upload_id = upload.upload_id().unwrap();
    let one = s3
        .upload_part()
        .bucket("small")
        .key("stitched")
        .upload_id(upload_id)
        .part_number(1)
        .body(ByteStream::from(first.clone()))
        .send()
        .await
        .unwrap();
    let two = s3
        .upload_part_copy()
        .bucket("small")
        .key("stitched")
        .upload_id(upload_id)
        .part_number(2)
        .copy_source("small/small")
        .copy_source_range("bytes=100-599")
        .send()
        .await
        .unwrap();
    s3.complete_multipart_upload()
        .bucket("small")
        .key("stitched")
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(one.e_tag().unwrap())
                        .build(),
                )
                .parts(
                    CompletedPart::builder()
                        .part_number(2)
                        .e_tag(two.copy_part_result().unwrap().e_tag().unwrap())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut expected = first;
    expected.extend_from_slice(&small[100..600]);
    let stitched = get_bytes(&s3, "stitched", None).await;
    assert_eq!(md5_hex(&stitched), md5_hex(&expected));

    for key in ["small", "large", "small-copy", "large-copy", "stitched"] {
        s3.delete_object()
            .bucket("small")
            .key(key)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(server.inline_objects(), 0);
    assert!(common::eventually(5, || server.object_files() == 0));
}

#[test]
fn chunked_bodies_of_unknown_length_cross_the_limit() {
    // Goal: with no length known up front, an upload starts in memory and moves to a temp file
    // once it passes the limit; both outcomes store exactly the bytes sent and leave no temp file.
    let server = TestServer::start();
    let (head, _) = RawRequest::new("PUT", "/small", &server.address).signed_head();
    assert_eq!(exchange(&server, head.as_bytes()).status, 200);
    for (key, size) in [("under", LIMIT), ("over", LIMIT + 1), ("far-over", 200_000)] {
        let data = pattern(size, size as u64);
        let (head, _) = RawRequest::new("PUT", &format!("/small/{key}"), &server.address)
            .header("transfer-encoding", "chunked")
            .payload("UNSIGNED-PAYLOAD")
            .signed_head();
        let mut request = head.into_bytes();
        for piece in data.chunks(7000) {
            request.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            request.extend_from_slice(piece);
            request.extend_from_slice(b"\r\n");
        }
        request.extend_from_slice(b"0\r\n\r\n");
        let response = exchange(&server, &request);
        assert_eq!(response.status, 200, "{}", response.body_text());
        let (head, _) =
            RawRequest::new("GET", &format!("/small/{key}"), &server.address).signed_head();
        let got = exchange(&server, head.as_bytes());
        assert_eq!(got.status, 200);
        assert_eq!(md5_hex(&got.body), md5_hex(&data), "{key}");
    }
    assert_eq!(server.inline_objects(), 1);
    assert_eq!(server.object_files(), 2);
    assert!(common::eventually(5, || server.temp_files().is_empty()));
}

#[tokio::test]
async fn max_inline_size_zero_stores_files_only() {
    // Goal: `--max-inline-size 0` turns inline storage off: every object, even an empty one, is a
    // file, and reads are unchanged.
    let server = TestServer::start_with_args(&["--max-inline-size", "0"]);
    let s3 = server.client();
    s3.create_bucket().bucket("small").send().await.unwrap();
    for size in [0, 10, 4096] {
        let body = pattern(size, 9);
        put_bytes(&s3, "small", &format!("k{size}"), &body).await;
        assert_eq!(get_bytes(&s3, &format!("k{size}"), None).await, body);
    }
    assert_eq!(server.inline_objects(), 0);
    assert_eq!(server.object_files(), 3);
}

/// GETs `key` `count` times at once (the SDK opens a connection per request in flight, so both
/// cores answer); the distinct bodies seen, or the error codes.
async fn concurrent_gets(
    s3: &aws_sdk_s3::Client,
    key: &str,
    count: usize,
) -> Vec<Result<Vec<u8>, String>> {
    let reads = (0..count).map(|_| async move {
        match s3.get_object().bucket("small").key(key).send().await {
            Ok(output) => Ok(output.body.collect().await.unwrap().into_bytes().to_vec()),
            Err(error) => Err(error
                .into_service_error()
                .meta()
                .code()
                .unwrap_or("none")
                .to_string()),
        }
    });
    let mut seen = futures::future::join_all(reads).await;
    seen.dedup();
    seen
}

/// Status of an unsigned GET of `small/key` on a fresh connection (a random core).
fn anonymous_get_status(server: &TestServer, key: &str) -> u16 {
    exchange(
        server,
        format!("GET /small/{key} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .status
}

#[tokio::test]
async fn cached_object_records_never_outlive_an_acknowledged_write() {
    // Goal: once both cores have the record of a key cached (hits counted in /metrics), every
    // acknowledged write of that key from any connection — PUT, copy onto it (from a source
    // itself rewritten between copies), multipart
    // completion, ACL change, DeleteObjects, DeleteObject — is seen by the very next read on
    // every core, for inline and file-backed objects alike.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("small").send().await.unwrap();
    for (key, size) in [("inline", 100), ("file", LIMIT + 1)] {
        let old = pattern(size, 1);
        put_bytes(&s3, "small", key, &old).await;
        for _ in 0..3 {
            assert_eq!(
                concurrent_gets(&s3, key, 16).await,
                vec![Ok(old.clone())],
                "{key}"
            );
        }
        let new = pattern(size, 2);
        put_bytes(&s3, "small", key, &new).await;
        assert_eq!(
            concurrent_gets(&s3, key, 16).await,
            vec![Ok(new.clone())],
            "{key} after PUT"
        );
        let head = s3
            .head_object()
            .bucket("small")
            .key(key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.e_tag(),
            Some(format!("\"{}\"", md5_hex(&new)).as_str())
        );

        // Copied twice, the source rewritten in between: the copy reads the source's current
        // record, not one cached by the first copy.
        for seed in [3, 33] {
            let source = pattern(size, seed);
            put_bytes(&s3, "small", "source", &source).await;
            s3.copy_object()
                .bucket("small")
                .key(key)
                .copy_source("small/source")
                .send()
                .await
                .unwrap();
            assert_eq!(
                concurrent_gets(&s3, key, 16).await,
                vec![Ok(source)],
                "{key} after copy from source {seed}"
            );
        }

        let upload_id = &common::create_upload(&s3, "small", key).await;
        let assembled = pattern(size, 4);
        let part = common::upload_part(&s3, "small", key, upload_id, 1, &assembled).await;
        s3.complete_multipart_upload()
            .bucket("small")
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().parts(part).build())
            .send()
            .await
            .unwrap();
        assert_eq!(
            concurrent_gets(&s3, key, 16).await,
            vec![Ok(assembled)],
            "{key} after completion"
        );

        for _ in 0..4 {
            assert_eq!(anonymous_get_status(&server, key), 403, "{key} private");
        }
        for (acl, status) in [
            (aws_sdk_s3::types::ObjectCannedAcl::PublicRead, 200),
            (aws_sdk_s3::types::ObjectCannedAcl::Private, 403),
        ] {
            s3.put_object_acl()
                .bucket("small")
                .key(key)
                .acl(acl.clone())
                .send()
                .await
                .unwrap();
            for _ in 0..8 {
                assert_eq!(anonymous_get_status(&server, key), status, "{key} {acl:?}");
            }
        }
    }
    s3.delete_objects()
        .bucket("small")
        .delete(
            aws_sdk_s3::types::Delete::builder()
                .objects(
                    aws_sdk_s3::types::ObjectIdentifier::builder()
                        .key("inline")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    s3.delete_object()
        .bucket("small")
        .key("file")
        .send()
        .await
        .unwrap();
    for key in ["inline", "file"] {
        assert_eq!(
            concurrent_gets(&s3, key, 16).await,
            vec![Err("NoSuchKey".to_string())],
            "{key} after delete"
        );
    }
    let metrics = exchange(
        &server,
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let text = String::from_utf8(metrics.body).unwrap();
    for core in 0..2 {
        let prefix = format!("ringstore_object_cache_hits_total{{core=\"{core}\"}} ");
        let hits: u64 = text
            .lines()
            .find_map(|line| line.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("no {prefix} in {text}"))
            .parse()
            .unwrap();
        assert!(
            hits > 0,
            "core {core} never answered from its cache:\n{text}"
        );
    }
}
