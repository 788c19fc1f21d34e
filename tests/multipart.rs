//! Multipart uploads with aws-sdk-s3 against the real server: the whole lifecycle, S3's limits
//! and errors, partNumber reads, UploadPartCopy, and kill -9 during parts and completion.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::CompletedPart;
use common::{completion, error_code, error_status, md5_hex, pattern, upload_part, TestServer};
use md5::Digest;

const MIB: usize = 1024 * 1024;

fn multipart_etag(parts: &[&[u8]]) -> String {
    let mut all = Vec::new();
    for part in parts {
        all.extend(md5::Md5::digest(part));
    }
    format!(
        "\"{}-{}\"",
        hex::encode(md5::Md5::digest(&all)),
        parts.len()
    )
}

#[tokio::test]
async fn lifecycle_limits_and_part_reads() {
    // Goal: create → parts (one re-uploaded) → list → complete gives S3's ETag, the stored headers,
    // exact bytes, partNumber reads and ranges across part boundaries.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("mpu").send().await.unwrap();
    let created = s3
        .create_multipart_upload()
        .bucket("mpu")
        .key("big/object")
        .content_type("video/test")
        .metadata("origin", "mpu")
        .send()
        .await
        .unwrap();
    let upload = created.upload_id().unwrap().to_string();
    let parts: Vec<Vec<u8>> = vec![
        pattern(5 * MIB, 1),
        pattern(5 * MIB + 3, 2),
        pattern(MIB / 3, 3),
    ];
    let _ = upload_part(&s3, "mpu", "big/object", &upload, 1, &pattern(5 * MIB, 99)).await;
    let mut completed = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        completed
            .push(upload_part(&s3, "mpu", "big/object", &upload, index as i32 + 1, part).await);
    }
    // ListParts pages.
    let first = s3
        .list_parts()
        .bucket("mpu")
        .key("big/object")
        .upload_id(&upload)
        .max_parts(2)
        .send()
        .await
        .unwrap();
    assert_eq!(first.parts().len(), 2);
    assert!(first.is_truncated().unwrap());
    assert_eq!(
        first.parts()[0].e_tag(),
        Some(format!("\"{}\"", md5_hex(&parts[0])).as_str())
    );
    let rest = s3
        .list_parts()
        .bucket("mpu")
        .key("big/object")
        .upload_id(&upload)
        .part_number_marker(first.next_part_number_marker().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.parts().len(), 1);
    assert_eq!(rest.parts()[0].size(), Some(parts[2].len() as i64));
    let uploads = s3
        .list_multipart_uploads()
        .bucket("mpu")
        .send()
        .await
        .unwrap();
    assert_eq!(uploads.uploads().len(), 1);
    assert_eq!(uploads.uploads()[0].upload_id(), Some(upload.as_str()));
    // Completion errors first, each leaving the upload intact.
    let mut swapped = completed.clone();
    swapped.swap(0, 1);
    let error = s3
        .complete_multipart_upload()
        .bucket("mpu")
        .key("big/object")
        .upload_id(&upload)
        .multipart_upload(completion(swapped))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("InvalidPartOrder"));
    let mut wrong = completed.clone();
    wrong[1] = CompletedPart::builder()
        .part_number(2)
        .e_tag("\"00000000000000000000000000000000\"")
        .build();
    let error = s3
        .complete_multipart_upload()
        .bucket("mpu")
        .key("big/object")
        .upload_id(&upload)
        .multipart_upload(completion(wrong))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("InvalidPart"));
    let error = s3
        .complete_multipart_upload()
        .bucket("mpu")
        .key("other")
        .upload_id(&upload)
        .multipart_upload(completion(completed.clone()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("NoSuchUpload"));
    // Complete.
    let done = s3
        .complete_multipart_upload()
        .bucket("mpu")
        .key("big/object")
        .upload_id(&upload)
        .multipart_upload(completion(completed.clone()))
        .send()
        .await
        .unwrap();
    let slices: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    assert_eq!(done.e_tag(), Some(multipart_etag(&slices).as_str()));
    let whole: Vec<u8> = parts.concat();
    let got = s3
        .get_object()
        .bucket("mpu")
        .key("big/object")
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_type(), Some("video/test"));
    assert_eq!(
        got.metadata().unwrap().get("origin").map(String::as_str),
        Some("mpu")
    );
    assert_eq!(got.content_length(), Some(whole.len() as i64));
    assert_eq!(
        md5_hex(&got.body.collect().await.unwrap().into_bytes()),
        md5_hex(&whole)
    );
    // partNumber and cross-part ranges.
    let second = s3
        .get_object()
        .bucket("mpu")
        .key("big/object")
        .part_number(2)
        .send()
        .await
        .unwrap();
    assert_eq!(second.parts_count(), Some(3));
    assert_eq!(second.content_length(), Some(parts[1].len() as i64));
    assert_eq!(
        md5_hex(&second.body.collect().await.unwrap().into_bytes()),
        md5_hex(&parts[1])
    );
    let head = s3
        .head_object()
        .bucket("mpu")
        .key("big/object")
        .part_number(3)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(parts[2].len() as i64));
    assert_eq!(head.parts_count(), Some(3));
    let error = s3
        .get_object()
        .bucket("mpu")
        .key("big/object")
        .part_number(4)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_status(&error), Some(400));
    assert_eq!(error_code(&error).as_deref(), Some("InvalidPart"));
    let boundary = 5 * MIB as u64;
    let range = s3
        .get_object()
        .bucket("mpu")
        .key("big/object")
        .range(format!("bytes={}-{}", boundary - 10, boundary + 9))
        .send()
        .await
        .unwrap();
    assert_eq!(
        range.body.collect().await.unwrap().into_bytes().as_ref(),
        &whole[boundary as usize - 10..boundary as usize + 10]
    );
    // The upload is gone; the superseded part file too.
    let error = s3
        .list_parts()
        .bucket("mpu")
        .key("big/object")
        .upload_id(&upload)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("NoSuchUpload"));
    assert!(common::eventually(5, || server.stored_objects() == 3));
    // Listing shows the multipart object with its size and ETag.
    let listed = s3.list_objects_v2().bucket("mpu").send().await.unwrap();
    assert_eq!(listed.contents()[0].size(), Some(whole.len() as i64));
    assert_eq!(listed.contents()[0].e_tag(), done.e_tag());
    // Deleting it removes every part file.
    s3.delete_object()
        .bucket("mpu")
        .key("big/object")
        .send()
        .await
        .unwrap();
    assert!(common::eventually(5, || server.stored_objects() == 0));
}

#[tokio::test]
async fn multipart_errors() {
    // Goal: part number range, EntityTooSmall, abort semantics, and S3's DeleteBucket with uploads in progress.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("mperr").send().await.unwrap();
    let upload = common::create_upload(&s3, "mperr", "k").await;
    for bad in [0, 10_001] {
        let error = s3
            .upload_part()
            .bucket("mperr")
            .key("k")
            .upload_id(&upload)
            .part_number(bad)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            error_code(&error).as_deref(),
            Some("InvalidArgument"),
            "{bad}"
        );
    }
    let small = upload_part(&s3, "mperr", "k", &upload, 1, b"too small").await;
    let last = upload_part(&s3, "mperr", "k", &upload, 2, b"last").await;
    let error = s3
        .complete_multipart_upload()
        .bucket("mperr")
        .key("k")
        .upload_id(&upload)
        .multipart_upload(completion(vec![small, last]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("EntityTooSmall"));
    s3.abort_multipart_upload()
        .bucket("mperr")
        .key("k")
        .upload_id(&upload)
        .send()
        .await
        .unwrap();
    let error = s3
        .abort_multipart_upload()
        .bucket("mperr")
        .key("k")
        .upload_id(&upload)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("NoSuchUpload"));
    let error = s3
        .upload_part()
        .bucket("mperr")
        .key("k")
        .upload_id(&upload)
        .part_number(3)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("NoSuchUpload"));
    let error = s3
        .upload_part()
        .bucket("mperr")
        .key("k")
        .upload_id("nonexistent")
        .part_number(1)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_status(&error), Some(404));
    assert!(common::eventually(5, || server.stored_objects() == 0));
    // S3 deletes a bucket whose only content is unfinished uploads; the uploads go with it.
    let pending = common::create_upload(&s3, "mperr", "pending").await;
    upload_part(&s3, "mperr", "pending", &pending, 1, b"data").await;
    s3.delete_bucket().bucket("mperr").send().await.unwrap();
    assert!(common::eventually(5, || server.stored_objects() == 0));
    let error = s3
        .list_multipart_uploads()
        .bucket("mperr")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("NoSuchBucket"));
}

#[tokio::test]
async fn upload_part_copy_ranges() {
    // Goal: UploadPartCopy takes ranges of an existing object (single- or multi-part) as parts.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("pcopy").send().await.unwrap();
    let source = pattern(12 * MIB, 7);
    s3.put_object()
        .bucket("pcopy")
        .key("source")
        .body(ByteStream::from(source.clone()))
        .send()
        .await
        .unwrap();
    let upload = common::create_upload(&s3, "pcopy", "assembled").await;
    let mut parts = Vec::new();
    for (number, (first, last)) in [(0usize, 6 * MIB - 1), (6 * MIB, 12 * MIB - 1)]
        .iter()
        .enumerate()
    {
        let copied = s3
            .upload_part_copy()
            .bucket("pcopy")
            .key("assembled")
            .upload_id(&upload)
            .part_number(number as i32 + 1)
            .copy_source("pcopy/source")
            .copy_source_range(format!("bytes={first}-{last}"))
            .send()
            .await
            .unwrap();
        let etag = copied
            .copy_part_result()
            .unwrap()
            .e_tag()
            .unwrap()
            .to_string();
        assert_eq!(etag, format!("\"{}\"", md5_hex(&source[*first..=*last])));
        parts.push(
            CompletedPart::builder()
                .part_number(number as i32 + 1)
                .e_tag(etag)
                .build(),
        );
    }
    let error = s3
        .upload_part_copy()
        .bucket("pcopy")
        .key("assembled")
        .upload_id(&upload)
        .part_number(3)
        .copy_source("pcopy/source")
        .copy_source_range(format!("bytes=0-{}", 12 * MIB))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_status(&error), Some(416));
    s3.complete_multipart_upload()
        .bucket("pcopy")
        .key("assembled")
        .upload_id(&upload)
        .multipart_upload(completion(parts))
        .send()
        .await
        .unwrap();
    let got = s3
        .get_object()
        .bucket("pcopy")
        .key("assembled")
        .send()
        .await
        .unwrap();
    assert_eq!(
        md5_hex(&got.body.collect().await.unwrap().into_bytes()),
        md5_hex(&source)
    );
    // Copying a multipart object as a whole works too.
    s3.copy_object()
        .bucket("pcopy")
        .key("flat")
        .copy_source("pcopy/assembled")
        .send()
        .await
        .unwrap();
    let got = s3
        .get_object()
        .bucket("pcopy")
        .key("flat")
        .send()
        .await
        .unwrap();
    assert_eq!(
        md5_hex(&got.body.collect().await.unwrap().into_bytes()),
        md5_hex(&source)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill9_during_parts_and_completion() {
    // Goal: after kill -9 during concurrent part uploads the upload is resumable (every
    // acknowledged part listed and completable); during completion the object is either absent
    // (upload still completable) or whole — never half.
    let mut server = TestServer::start();
    server
        .client()
        .create_bucket()
        .bucket("crashmp")
        .send()
        .await
        .unwrap();
    for round in 0..3u64 {
        let s3 = server.client();
        let key = format!("round-{round}");
        let upload = common::create_upload(&s3, "crashmp", &key).await;
        let acknowledged =
            std::sync::Arc::new(std::sync::Mutex::new(Vec::<(i32, String, Vec<u8>)>::new()));
        let mut tasks = Vec::new();
        for worker in 0..4i32 {
            let (s3, upload, key, acknowledged) = (
                s3.clone(),
                upload.clone(),
                key.clone(),
                acknowledged.clone(),
            );
            tasks.push(tokio::spawn(async move {
                for index in 0..50 {
                    let number = worker * 50 + index + 1;
                    let body = pattern(5 * MIB + number as usize, round * 10_000 + number as u64);
                    match s3
                        .upload_part()
                        .bucket("crashmp")
                        .key(&key)
                        .upload_id(&upload)
                        .part_number(number)
                        .body(ByteStream::from(body.clone()))
                        .send()
                        .await
                    {
                        Ok(result) => acknowledged.lock().unwrap().push((
                            number,
                            result.e_tag().unwrap().to_string(),
                            body,
                        )),
                        Err(_) => return,
                    }
                }
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        server.kill9();
        for task in tasks {
            let _ = task.await;
        }
        server.restart();
        assert!(server.temp_files().is_empty());
        let s3 = server.client();
        let mut acknowledged = acknowledged.lock().unwrap().clone();
        acknowledged.sort_by_key(|(number, _, _)| *number);
        assert!(
            !acknowledged.is_empty(),
            "round {round}: no part was acknowledged"
        );
        let listed = s3
            .list_parts()
            .bucket("crashmp")
            .key(&key)
            .upload_id(&upload)
            .send()
            .await
            .unwrap();
        for (number, etag, _) in &acknowledged {
            assert!(
                listed
                    .parts()
                    .iter()
                    .any(|p| p.part_number() == Some(*number) && p.e_tag() == Some(etag.as_str())),
                "round {round}: acknowledged part {number} lost"
            );
        }
        // Complete with the acknowledged parts, killing the server while completion may be running.
        let parts: Vec<CompletedPart> = acknowledged
            .iter()
            .map(|(n, e, _)| CompletedPart::builder().part_number(*n).e_tag(e).build())
            .collect();
        let expected: Vec<u8> = acknowledged
            .iter()
            .flat_map(|(_, _, body)| body.clone())
            .collect();
        let completing = {
            let (s3, upload, key, parts) = (s3.clone(), upload.clone(), key.clone(), parts.clone());
            tokio::spawn(async move {
                s3.complete_multipart_upload()
                    .bucket("crashmp")
                    .key(&key)
                    .upload_id(&upload)
                    .multipart_upload(completion(parts))
                    .send()
                    .await
                    .is_ok()
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(round * 2)).await;
        server.kill9();
        let completed = completing.await.unwrap();
        server.restart();
        let s3 = server.client();
        match s3.get_object().bucket("crashmp").key(&key).send().await {
            Ok(got) => assert_eq!(
                md5_hex(&got.body.collect().await.unwrap().into_bytes()),
                md5_hex(&expected),
                "round {round}: half object"
            ),
            Err(error) => {
                assert!(!completed, "round {round}: acknowledged completion lost");
                assert_eq!(error_status(&error), Some(404));
                s3.complete_multipart_upload()
                    .bucket("crashmp")
                    .key(&key)
                    .upload_id(&upload)
                    .multipart_upload(completion(parts))
                    .send()
                    .await
                    .unwrap();
                let got = s3
                    .get_object()
                    .bucket("crashmp")
                    .key(&key)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    md5_hex(&got.body.collect().await.unwrap().into_bytes()),
                    md5_hex(&expected)
                );
            }
        }
    }
}

#[tokio::test]
async fn list_multipart_uploads_pages() {
    // Goal: ListMultipartUploads honours prefix, delimiter, max-uploads and the key / upload-id markers.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("uploads").send().await.unwrap();
    let mut expected = Vec::new();
    for key in ["a/1", "a/2", "b", "b", "c"] {
        let id = common::create_upload(&s3, "uploads", key).await;
        expected.push((key.to_string(), id));
    }
    expected.sort();
    let mut seen = Vec::new();
    let (mut key_marker, mut id_marker) = (None::<String>, None::<String>);
    loop {
        let page = s3
            .list_multipart_uploads()
            .bucket("uploads")
            .max_uploads(2)
            .set_key_marker(key_marker.clone())
            .set_upload_id_marker(id_marker.clone())
            .send()
            .await
            .unwrap();
        seen.extend(page.uploads().iter().map(|u| {
            (
                u.key().unwrap().to_string(),
                u.upload_id().unwrap().to_string(),
            )
        }));
        if !page.is_truncated().unwrap() {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_string);
        id_marker = page.next_upload_id_marker().map(str::to_string);
    }
    assert_eq!(seen, expected);
    let grouped = s3
        .list_multipart_uploads()
        .bucket("uploads")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    assert_eq!(grouped.common_prefixes()[0].prefix(), Some("a/"));
    assert_eq!(grouped.uploads().len(), 3);
    // Paged one entry at a time with the delimiter: a page that ends in a common prefix names it
    // as NextKeyMarker, and the next page starts after everything under it.
    let mut entries = Vec::new();
    let (mut key_marker, mut id_marker) = (None::<String>, None::<String>);
    for _ in 0..10 {
        let page = s3
            .list_multipart_uploads()
            .bucket("uploads")
            .delimiter("/")
            .max_uploads(1)
            .set_key_marker(key_marker.clone())
            .set_upload_id_marker(id_marker.clone())
            .send()
            .await
            .unwrap();
        entries.extend(
            page.common_prefixes()
                .iter()
                .map(|prefix| prefix.prefix().unwrap().to_string()),
        );
        entries.extend(page.uploads().iter().map(|u| u.key().unwrap().to_string()));
        if !page.is_truncated().unwrap() {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_string);
        assert!(
            key_marker.is_some(),
            "a truncated page without NextKeyMarker"
        );
        id_marker = page.next_upload_id_marker().map(str::to_string);
    }
    let mut expected_entries = vec!["a/".to_string()];
    expected_entries.extend(
        grouped
            .uploads()
            .iter()
            .map(|u| u.key().unwrap().to_string()),
    );
    assert_eq!(entries, expected_entries);
    let prefixed = s3
        .list_multipart_uploads()
        .bucket("uploads")
        .prefix("a/")
        .send()
        .await
        .unwrap();
    assert_eq!(prefixed.uploads().len(), 2);
}

#[tokio::test]
async fn expired_uploads_are_reaped() {
    // Goal: with --multipart-max-age 3, an abandoned upload and its part files disappear by
    // themselves (3 s, not 1: a loaded machine may take a second between the upload's creation
    // and its part, and the reaper must not win that race).
    let server = TestServer::start_with_args(&["--multipart-max-age", "3"]);
    let s3 = server.client();
    s3.create_bucket().bucket("reap").send().await.unwrap();
    let upload = common::create_upload(&s3, "reap", "k").await;
    upload_part(&s3, "reap", "k", &upload, 1, b"abandoned").await;
    assert_eq!(server.stored_objects(), 1);
    let mut gone = false;
    for _ in 0..200 {
        if s3
            .list_parts()
            .bucket("reap")
            .key("k")
            .upload_id(&upload)
            .send()
            .await
            .is_err()
        {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gone, "expired upload was not reaped");
    assert!(common::eventually(5, || server.stored_objects() == 0));
}

#[tokio::test]
async fn more_expired_uploads_than_one_reaper_step_are_all_reaped() {
    // Goal: the reaper drops expired uploads in steps of at most 1,024 rows
    // (REAP_ROWS_PER_COMMAND, so writes queued behind it wait for a short step); with more
    // expired than one step takes, it steps again in the same run until none is left, parts'
    // files included. The uploads are made under the default age and found expired by a
    // restart with a 1 s age, so the startup run meets all 2,200 at once.
    let parent = tempfile::tempdir().unwrap();
    let data_dir = parent.path().join("data");
    let first = TestServer::start_in_with_env(&data_dir, &[], &[]);
    let s3 = first.client();
    s3.create_bucket().bucket("reap").send().await.unwrap();
    let with_part = common::create_upload(&s3, "reap", "k").await;
    upload_part(&s3, "reap", "k", &with_part, 1, b"abandoned").await;
    use futures::StreamExt;
    let created = futures::stream::iter(0..2_199)
        .map(|index| {
            let s3 = s3.clone();
            async move { common::create_upload(&s3, "reap", &format!("many/{index}")).await }
        })
        .buffer_unordered(16)
        .count()
        .await;
    assert_eq!(created, 2_199);
    assert_eq!(first.stored_objects(), 1);
    drop(first);
    std::thread::sleep(std::time::Duration::from_millis(1_100));

    let server = TestServer::start_in_with_env(
        &data_dir,
        &[
            "--multipart-max-age",
            "1",
            "--log-level",
            "warn,ringstore::s3::housekeeping=info",
        ],
        &[],
    );
    let reaped = || {
        server
            .log_text()
            .lines()
            .filter(|line| line.contains("reaped expired multipart uploads"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert!(
        common::eventually(30, || !reaped().is_empty()),
        "no reaper line: {}",
        server.log_text()
    );
    let lines = reaped();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let field = |name: &str| -> usize {
        let start = lines[0].find(&format!("{name}=")).unwrap() + name.len() + 1;
        lines[0][start..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    // 2,200 uploads and one part: 2,201 rows, three steps of at most 1,024.
    assert_eq!(field("uploads"), 2_200, "{lines:?}");
    assert_eq!(field("files"), 1, "{lines:?}");
    assert_eq!(field("steps"), 3, "{lines:?}");
    let s3 = server.client();
    let pending = s3
        .list_multipart_uploads()
        .bucket("reap")
        .send()
        .await
        .unwrap();
    assert!(pending.uploads().is_empty());
    assert!(common::eventually(5, || server.stored_objects() == 0));
}
