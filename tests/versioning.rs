//! S3 Versioning with aws-sdk-s3 against the real server: Enabled and Suspended buckets, delete
//! markers, reads and deletes by versionId, ListObjectVersions, copies, multipart, DeleteObjects,
//! conditional writes, bucket deletion, files freed only with their last version, and kill -9
//! during concurrent versioned writes.

mod common;

use std::collections::HashMap;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketVersioningStatus, Delete, MfaDelete, ObjectIdentifier, VersioningConfiguration,
};
use common::{
    completion, create_upload, error_code, error_status, get_bytes, pattern, upload_part,
    TestServer,
};

type Client = aws_sdk_s3::Client;

/// Per key, the acknowledged versions in order: (version id, bytes; `None` for a delete marker).
type Acknowledged =
    std::sync::Arc<std::sync::Mutex<HashMap<String, Vec<(String, Option<Vec<u8>>)>>>>;

async fn set_versioning(s3: &Client, bucket: &str, status: BucketVersioningStatus) {
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(VersioningConfiguration::builder().status(status).build())
        .send()
        .await
        .unwrap();
}

/// PUTs `body` and answers the version id S3 returned (`None`: no `x-amz-version-id`).
async fn put(s3: &Client, bucket: &str, key: &str, body: &[u8]) -> Option<String> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap()
        .version_id()
        .map(str::to_string)
}

async fn get_version(s3: &Client, bucket: &str, key: &str, version: &str) -> Vec<u8> {
    let got = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .version_id(version)
        .send()
        .await
        .unwrap();
    assert_eq!(got.version_id(), Some(version));
    got.body.collect().await.unwrap().into_bytes().to_vec()
}

/// The text of `element` in `xml` (first occurrence), if present.
fn element<'x>(xml: &'x str, element: &str) -> Option<&'x str> {
    let open = format!("<{element}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{element}>"))? + start;
    Some(&xml[start..end])
}

/// (key, version id, is latest, is delete marker) of every entry ListObjectVersions returns, in
/// the order of S3's document (key, then newest first), across pages of `page_size`. Read from
/// the raw XML through a presigned URL: the SDK splits `<Version>` from `<DeleteMarker>` and loses
/// their interleaving, which is what is being checked.
async fn all_versions(
    server: &TestServer,
    bucket: &str,
    page_size: i32,
) -> Vec<(String, String, bool, bool)> {
    use std::io::{Read, Write};
    let s3 = server.client();
    let mut entries = Vec::new();
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    loop {
        let presigned = s3
            .list_object_versions()
            .bucket(bucket)
            .max_keys(page_size)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .presigned(
                aws_sdk_s3::presigning::PresigningConfig::expires_in(
                    std::time::Duration::from_secs(300),
                )
                .unwrap(),
            )
            .await
            .unwrap();
        let uri = presigned.uri();
        let after_scheme = &uri[uri.find("://").unwrap() + 3..];
        let (authority, path) = after_scheme.split_at(after_scheme.find('/').unwrap());
        let mut stream = server.connect();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        let mut rest = answer.as_str();
        while let Some(start) = rest
            .find("<Version>")
            .into_iter()
            .chain(rest.find("<DeleteMarker>"))
            .min()
        {
            let marker = rest[start..].starts_with("<DeleteMarker>");
            let close = if marker {
                "</DeleteMarker>"
            } else {
                "</Version>"
            };
            let end = rest[start..].find(close).unwrap() + start;
            let entry = &rest[start..end];
            entries.push((
                element(entry, "Key").unwrap().to_string(),
                element(entry, "VersionId").unwrap().to_string(),
                element(entry, "IsLatest") == Some("true"),
                marker,
            ));
            rest = &rest[end..];
        }
        if element(&answer, "IsTruncated") != Some("true") {
            return entries;
        }
        let next = (
            element(&answer, "NextKeyMarker").map(str::to_string),
            element(&answer, "NextVersionIdMarker").map(str::to_string),
        );
        // A truncated page must move the markers on, or the listing never ends.
        assert_ne!(
            next,
            (key_marker, version_marker),
            "listing did not advance"
        );
        (key_marker, version_marker) = next;
    }
}

/// Waits until the data dir holds `count` object files: files no version references are removed
/// after the commit, on the core's background queue.
fn wait_for_object_files(server: &TestServer, count: usize) {
    for _ in 0..250 {
        if server.object_files() == count {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(server.object_files(), count);
}

fn raw_header<E>(
    error: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    name: &str,
) -> Option<String> {
    error
        .raw_response()
        .and_then(|response| response.headers().get(name))
        .map(str::to_string)
}

#[tokio::test]
async fn configuration_is_the_owners_and_never_returns_to_unversioned() {
    // Goal: a new bucket answers an empty configuration; Enabled and Suspended round-trip; a
    // status S3 does not define is IllegalVersioningConfigurationException, MFA Delete is
    // refused (501) rather than ignored, and another user may neither read nor set it.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("conf").send().await.unwrap();
    let status = |s3: Client| async move {
        s3.get_bucket_versioning()
            .bucket("conf")
            .send()
            .await
            .unwrap()
            .status()
            .cloned()
    };
    assert_eq!(status(s3.clone()).await, None);
    set_versioning(&s3, "conf", BucketVersioningStatus::Enabled).await;
    assert_eq!(
        status(s3.clone()).await,
        Some(BucketVersioningStatus::Enabled)
    );
    set_versioning(&s3, "conf", BucketVersioningStatus::Suspended).await;
    assert_eq!(
        status(s3.clone()).await,
        Some(BucketVersioningStatus::Suspended)
    );
    let refused = s3
        .put_bucket_versioning()
        .bucket("conf")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::from("Off"))
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&refused).as_deref(),
        Some("IllegalVersioningConfigurationException")
    );
    let mfa = s3
        .put_bucket_versioning()
        .bucket("conf")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .mfa_delete(MfaDelete::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_status(&mfa), Some(501));
    assert_eq!(
        status(s3.clone()).await,
        Some(BucketVersioningStatus::Suspended)
    );
    let other = server.client_as(&server.add_user("other", None));
    let denied = other
        .put_bucket_versioning()
        .bucket("conf")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&denied).as_deref(), Some("AccessDenied"));
    let denied = other
        .get_bucket_versioning()
        .bucket("conf")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&denied).as_deref(), Some("AccessDenied"));
}

#[tokio::test]
async fn enabled_bucket_keeps_every_version_and_delete_markers_hide_keys() {
    // Goal: in an Enabled bucket each PUT gets a fresh URL-safe version id and older versions
    // stay readable by id (small inline and large file-backed alike); a plain DELETE writes a
    // marker: GET/HEAD answer 404 with x-amz-delete-marker, the marker by id answers 405, the
    // key leaves ListObjectsV2 but not ListObjectVersions; deleting the marker by id brings the
    // object back; deleting a version by id removes exactly that one.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("ver").send().await.unwrap();
    let null_body = b"written before versioning".to_vec();
    assert_eq!(put(&s3, "ver", "k", &null_body).await, None);
    set_versioning(&s3, "ver", BucketVersioningStatus::Enabled).await;
    let large = pattern(300 * 1024, 4);
    let v1 = put(&s3, "ver", "k", b"one").await.unwrap();
    let v2 = put(&s3, "ver", "k", &large).await.unwrap();
    let v3 = put(&s3, "ver", "k", b"three").await.unwrap();
    for id in [&v1, &v2, &v3] {
        assert!(id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'));
    }
    assert!(v1 != v2 && v2 != v3 && v1 != v3);
    assert_eq!(get_bytes(&s3, "ver", "k", None).await, b"three");
    assert_eq!(get_version(&s3, "ver", "k", &v1).await, b"one");
    assert_eq!(get_version(&s3, "ver", "k", &v2).await, large);
    assert_eq!(get_version(&s3, "ver", "k", "null").await, null_body);
    let head = s3
        .head_object()
        .bucket("ver")
        .key("k")
        .send()
        .await
        .unwrap();
    assert_eq!(head.version_id(), Some(v3.as_str()));
    assert_eq!(
        all_versions(&server, "ver", 1000).await,
        vec![
            ("k".into(), v3.clone(), true, false),
            ("k".into(), v2.clone(), false, false),
            ("k".into(), v1.clone(), false, false),
            ("k".into(), "null".into(), false, false),
        ]
    );

    let deleted = s3
        .delete_object()
        .bucket("ver")
        .key("k")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.delete_marker(), Some(true));
    let marker = deleted.version_id().unwrap().to_string();
    let missing = s3
        .get_object()
        .bucket("ver")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&missing).as_deref(), Some("NoSuchKey"));
    assert_eq!(
        raw_header(&missing, "x-amz-delete-marker").as_deref(),
        Some("true")
    );
    assert_eq!(
        raw_header(&missing, "x-amz-version-id"),
        Some(marker.clone())
    );
    let missing = s3
        .head_object()
        .bucket("ver")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_status(&missing), Some(404));
    assert_eq!(
        raw_header(&missing, "x-amz-delete-marker").as_deref(),
        Some("true")
    );
    let named = s3
        .get_object()
        .bucket("ver")
        .key("k")
        .version_id(&marker)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_status(&named), Some(405));
    assert_eq!(error_code(&named).as_deref(), Some("MethodNotAllowed"));
    assert!(raw_header(&named, "last-modified").is_some());
    let named = s3
        .head_object()
        .bucket("ver")
        .key("k")
        .version_id(&marker)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_status(&named), Some(405));
    let listed = s3.list_objects_v2().bucket("ver").send().await.unwrap();
    assert_eq!(listed.key_count(), Some(0));
    let versions = all_versions(&server, "ver", 1000).await;
    assert_eq!(versions[0], ("k".into(), marker.clone(), true, true));
    assert_eq!(versions.len(), 5);
    // Every page size walks the same entries (cursor inside one key's versions).
    for size in [1, 2, 3] {
        assert_eq!(
            all_versions(&server, "ver", size).await,
            versions,
            "pages of {size}"
        );
    }

    let removed = s3
        .delete_object()
        .bucket("ver")
        .key("k")
        .version_id(&marker)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.delete_marker(), Some(true));
    assert_eq!(removed.version_id(), Some(marker.as_str()));
    assert_eq!(get_bytes(&s3, "ver", "k", None).await, b"three");
    let removed = s3
        .delete_object()
        .bucket("ver")
        .key("k")
        .version_id(&v3)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.version_id(), Some(v3.as_str()));
    assert_eq!(get_bytes(&s3, "ver", "k", None).await, large);
    let gone = s3
        .get_object()
        .bucket("ver")
        .key("k")
        .version_id(&v3)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&gone).as_deref(), Some("NoSuchVersion"));
    // A version id of the right shape that never existed, and a wrong shape.
    let never = format!("{}0", &v3[..v3.len() - 1]);
    let never = if never == v3 {
        format!("{}1", &v3[..v3.len() - 1])
    } else {
        never
    };
    let absent = s3
        .get_object()
        .bucket("ver")
        .key("k")
        .version_id(&never)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&absent).as_deref(), Some("NoSuchVersion"));
    let malformed = s3
        .get_object()
        .bucket("ver")
        .key("k")
        .version_id("not-an-id")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&malformed).as_deref(), Some("InvalidArgument"));
}

#[tokio::test]
async fn suspended_bucket_replaces_only_the_null_version() {
    // Goal: after suspension a PUT answers no version id and replaces the null version (its
    // bytes freed) while versions with ids stay; a DELETE writes a `null` marker that replaces
    // the null version too; re-enabling makes new ids again.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("sus").send().await.unwrap();
    set_versioning(&s3, "sus", BucketVersioningStatus::Enabled).await;
    let kept = put(&s3, "sus", "k", &pattern(200 * 1024, 1)).await.unwrap();
    set_versioning(&s3, "sus", BucketVersioningStatus::Suspended).await;
    let files_before = server.object_files();
    assert_eq!(put(&s3, "sus", "k", &pattern(200 * 1024, 2)).await, None);
    assert_eq!(put(&s3, "sus", "k", &pattern(200 * 1024, 3)).await, None);
    wait_for_object_files(&server, files_before + 1);
    assert_eq!(
        get_bytes(&s3, "sus", "k", None).await,
        pattern(200 * 1024, 3)
    );
    assert_eq!(
        get_version(&s3, "sus", "k", &kept).await,
        pattern(200 * 1024, 1)
    );
    let deleted = s3
        .delete_object()
        .bucket("sus")
        .key("k")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.delete_marker(), Some(true));
    assert_eq!(deleted.version_id(), Some("null"));
    assert_eq!(
        all_versions(&server, "sus", 1000).await,
        vec![
            ("k".into(), "null".into(), true, true),
            ("k".into(), kept.clone(), false, false),
        ]
    );
    wait_for_object_files(&server, files_before);
    set_versioning(&s3, "sus", BucketVersioningStatus::Enabled).await;
    let again = put(&s3, "sus", "k", b"again").await.unwrap();
    assert_ne!(again, kept);
    assert_eq!(all_versions(&server, "sus", 1000).await.len(), 3);
}

#[tokio::test]
async fn copies_multipart_and_batch_deletes_name_versions() {
    // Goal: CopyObject from `?versionId=` copies that version and answers both version ids;
    // UploadPartCopy from a version answers its id; a multipart completion in an Enabled bucket
    // answers a version id and an abort leaves none; DeleteObjects reports markers written and
    // versions removed per key.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("copies").send().await.unwrap();
    set_versioning(&s3, "copies", BucketVersioningStatus::Enabled).await;
    let old = put(&s3, "copies", "src", &pattern(6 * 1024 * 1024, 5))
        .await
        .unwrap();
    put(&s3, "copies", "src", b"newer").await.unwrap();
    let copied = s3
        .copy_object()
        .bucket("copies")
        .key("dst")
        .copy_source(format!("copies/src?versionId={old}"))
        .send()
        .await
        .unwrap();
    assert_eq!(copied.copy_source_version_id(), Some(old.as_str()));
    let copy_version = copied.version_id().unwrap().to_string();
    assert_eq!(
        get_version(&s3, "copies", "dst", &copy_version).await,
        pattern(6 * 1024 * 1024, 5)
    );
    // Restoring an old version onto its own key is a copy S3 allows.
    s3.copy_object()
        .bucket("copies")
        .key("src")
        .copy_source(format!("copies/src?versionId={old}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        get_bytes(&s3, "copies", "src", None).await,
        pattern(6 * 1024 * 1024, 5)
    );

    let upload = create_upload(&s3, "copies", "mp").await;
    let part = s3
        .upload_part_copy()
        .bucket("copies")
        .key("mp")
        .upload_id(&upload)
        .part_number(1)
        .copy_source(format!("copies/src?versionId={old}"))
        .send()
        .await
        .unwrap();
    assert_eq!(part.copy_source_version_id(), Some(old.as_str()));
    let etag = part
        .copy_part_result()
        .unwrap()
        .e_tag()
        .unwrap()
        .to_string();
    let second = upload_part(&s3, "copies", "mp", &upload, 2, b"tail").await;
    let first = aws_sdk_s3::types::CompletedPart::builder()
        .part_number(1)
        .e_tag(etag)
        .build();
    let done = s3
        .complete_multipart_upload()
        .bucket("copies")
        .key("mp")
        .upload_id(&upload)
        .multipart_upload(completion(vec![first, second]))
        .send()
        .await
        .unwrap();
    let mp_version = done.version_id().unwrap().to_string();
    assert_eq!(
        get_version(&s3, "copies", "mp", &mp_version).await.len(),
        6 * 1024 * 1024 + 4
    );
    let aborted = create_upload(&s3, "copies", "aborted").await;
    upload_part(&s3, "copies", "aborted", &aborted, 1, b"x").await;
    s3.abort_multipart_upload()
        .bucket("copies")
        .key("aborted")
        .upload_id(&aborted)
        .send()
        .await
        .unwrap();
    assert!(all_versions(&server, "copies", 1000)
        .await
        .iter()
        .all(|entry| entry.0 != "aborted"));

    let identifiers = vec![
        ObjectIdentifier::builder().key("dst").build().unwrap(),
        ObjectIdentifier::builder()
            .key("src")
            .version_id(&old)
            .build()
            .unwrap(),
        ObjectIdentifier::builder()
            .key("mp")
            .version_id("null")
            .build()
            .unwrap(),
    ];
    let result = s3
        .delete_objects()
        .bucket("copies")
        .delete(
            Delete::builder()
                .set_objects(Some(identifiers))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let deleted: HashMap<&str, _> = result
        .deleted()
        .iter()
        .map(|entry| (entry.key().unwrap(), entry))
        .collect();
    assert_eq!(deleted["dst"].delete_marker(), Some(true));
    assert!(deleted["dst"].delete_marker_version_id().is_some());
    assert_eq!(deleted["src"].version_id(), Some(old.as_str()));
    assert_eq!(deleted["src"].delete_marker(), None);
    assert_eq!(deleted["mp"].version_id(), Some("null"));
    let missing = s3
        .get_object()
        .bucket("copies")
        .key("src")
        .version_id(&old)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&missing).as_deref(), Some("NoSuchVersion"));
    assert_eq!(
        get_version(&s3, "copies", "dst", &copy_version).await.len(),
        6 * 1024 * 1024
    );
}

#[tokio::test]
async fn conditional_writes_see_a_delete_marker_as_absent() {
    // Goal: If-None-Match: * succeeds on a key whose latest version is a delete marker and fails
    // on one whose latest is an object; If-Match acts on the latest version.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("cond").send().await.unwrap();
    set_versioning(&s3, "cond", BucketVersioningStatus::Enabled).await;
    let first = s3
        .put_object()
        .bucket("cond")
        .key("k")
        .if_none_match("*")
        .body(ByteStream::from_static(b"1"))
        .send()
        .await
        .unwrap();
    let refused = s3
        .put_object()
        .bucket("cond")
        .key("k")
        .if_none_match("*")
        .body(ByteStream::from_static(b"2"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_status(&refused), Some(412));
    s3.delete_object()
        .bucket("cond")
        .key("k")
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket("cond")
        .key("k")
        .if_none_match("*")
        .body(ByteStream::from_static(b"3"))
        .send()
        .await
        .unwrap();
    let stale = s3
        .put_object()
        .bucket("cond")
        .key("k")
        .if_match(first.e_tag().unwrap())
        .body(ByteStream::from_static(b"4"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_status(&stale), Some(412));
    assert_eq!(get_bytes(&s3, "cond", "k", None).await, b"3");
}

#[tokio::test]
async fn concurrent_conditional_writes_race_on_the_latest_version() {
    // Goal: conditional writes stay atomic in an Enabled bucket: of eight concurrent
    // If-None-Match: * writers over a key hidden by a delete marker exactly one makes a version,
    // and of eight concurrent If-Match writers naming that version's ETag exactly one does; the
    // others get 412 and leave no version.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("race").send().await.unwrap();
    set_versioning(&s3, "race", BucketVersioningStatus::Enabled).await;
    put(&s3, "race", "k", b"before").await.unwrap();
    s3.delete_object()
        .bucket("race")
        .key("k")
        .send()
        .await
        .unwrap();
    // Each race's writers send bodies of their own (`seed`): a writer sending the winner's
    // bytes again would carry its ETag and pass If-Match rightly.
    let race = |condition: &'static str, etag: Option<String>, seed: u64| {
        let tasks: Vec<_> = (0..8u64)
            .map(|writer| {
                let (s3, etag) = (s3.clone(), etag.clone());
                tokio::spawn(async move {
                    let body = pattern(20_000, seed + writer);
                    let request = s3.put_object().bucket("race").key("k");
                    let request = match condition {
                        "if-none-match" => request.if_none_match("*"),
                        _ => request.if_match(etag.unwrap()),
                    };
                    match request.body(ByteStream::from(body.clone())).send().await {
                        Ok(put) => Some((put.e_tag().unwrap().to_string(), body)),
                        Err(error) => {
                            assert_eq!(error_status(&error), Some(412));
                            None
                        }
                    }
                })
            })
            .collect();
        async move {
            let mut winners = Vec::new();
            for task in tasks {
                winners.extend(task.await.unwrap());
            }
            assert_eq!(winners.len(), 1, "exactly one {condition} writer wins");
            winners.pop().unwrap()
        }
    };
    let (created, created_body) = race("if-none-match", None, 0).await;
    assert_eq!(get_bytes(&s3, "race", "k", None).await, created_body);
    let (_, swapped_body) = race("if-match", Some(created), 100).await;
    assert_eq!(get_bytes(&s3, "race", "k", None).await, swapped_body);
    // The first object, its marker, and one version per race.
    let versions = all_versions(&server, "race", 1000).await;
    assert_eq!(versions.len(), 4, "{versions:?}");
    assert_eq!(versions.iter().filter(|entry| entry.3).count(), 1);
}

#[tokio::test]
async fn a_put_failing_part_way_leaves_its_key_listed_once() {
    // Goal: a PutObject over an Enabled bucket's inline version that fails after staging that
    // version as noncurrent (an SQLite error, injected by a trigger another connection adds to
    // the server's database) answers 500 InternalError and leaves its key as it was, listed
    // once, while the PUTs sent beside it (one group commit, as far as timing allows) succeed.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("fail").send().await.unwrap();
    set_versioning(&s3, "fail", BucketVersioningStatus::Enabled).await;
    let first = put(&s3, "fail", "boom", b"zero").await.unwrap();
    put(&s3, "fail", "k", b"zero").await.unwrap();
    let database = rusqlite::Connection::open(server.data_dir().join("meta.sqlite")).unwrap();
    database
        .busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    database
        .execute_batch(
            "CREATE TRIGGER inject BEFORE INSERT ON objects WHEN NEW.key = 'boom' \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
        )
        .unwrap();
    // No retries: the failing PUT is sent once, beside the others (a 500 is retried by default,
    // and its retries would run alone).
    let once = aws_sdk_s3::Client::from_conf(
        s3.config()
            .to_builder()
            .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
            .build(),
    );
    let tasks: Vec<_> = (0..17u64)
        .map(|index| {
            let s3 = once.clone();
            let key = match index {
                0..=7 => "k".to_string(),
                8 => "boom".to_string(),
                _ => format!("n{index}"),
            };
            tokio::spawn(async move {
                let sent = s3
                    .put_object()
                    .bucket("fail")
                    .key(&key)
                    .body(ByteStream::from(pattern(100, index)))
                    .send()
                    .await;
                (
                    key,
                    sent.map_err(|error| (error_status(&error), error_code(&error))),
                )
            })
        })
        .collect();
    for task in tasks {
        let (key, sent) = task.await.unwrap();
        match key.as_str() {
            "boom" => assert_eq!(
                sent.unwrap_err(),
                (Some(500), Some("InternalError".to_string()))
            ),
            _ => assert!(sent.is_ok(), "{key}: {sent:?}"),
        }
    }
    database.execute_batch("DROP TRIGGER inject").unwrap();
    let versions = all_versions(&server, "fail", 1000).await;
    let of = |key: &str| -> Vec<(String, bool)> {
        versions
            .iter()
            .filter(|entry| entry.0 == key)
            .map(|entry| (entry.1.clone(), entry.2))
            .collect()
    };
    assert_eq!(of("boom"), vec![(first.clone(), true)]);
    assert_eq!(of("k").len(), 9);
    assert_eq!(versions.len(), 1 + 9 + 8, "{versions:?}");
    assert_eq!(get_bytes(&s3, "fail", "boom", None).await, b"zero");
    let second = put(&s3, "fail", "boom", b"one").await.unwrap();
    let versions = all_versions(&server, "fail", 1000).await;
    let boom: Vec<_> = versions.iter().filter(|entry| entry.0 == "boom").collect();
    assert_eq!(boom.len(), 2);
    assert_eq!((&boom[0].1, boom[0].2), (&second, true));
    assert_eq!((&boom[1].1, boom[1].2), (&first, false));
}

#[tokio::test]
async fn bucket_deletion_and_files_wait_for_the_last_version() {
    // Goal: an overwrite in an Enabled bucket frees no file; a bucket holding only noncurrent
    // versions or markers is not empty (BucketNotEmpty); once every version is deleted by id the
    // files are gone and the bucket can be deleted.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("gone").send().await.unwrap();
    set_versioning(&s3, "gone", BucketVersioningStatus::Enabled).await;
    let body = pattern(256 * 1024, 9);
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(put(&s3, "gone", "k", &body).await.unwrap());
    }
    assert_eq!(server.object_files(), 3);
    let marker = s3
        .delete_object()
        .bucket("gone")
        .key("k")
        .send()
        .await
        .unwrap();
    ids.push(marker.version_id().unwrap().to_string());
    let refused = s3.delete_bucket().bucket("gone").send().await.unwrap_err();
    assert_eq!(error_code(&refused).as_deref(), Some("BucketNotEmpty"));
    for id in &ids {
        s3.delete_object()
            .bucket("gone")
            .key("k")
            .version_id(id)
            .send()
            .await
            .unwrap();
    }
    assert!(all_versions(&server, "gone", 1000).await.is_empty());
    wait_for_object_files(&server, 0);
    s3.delete_bucket().bucket("gone").send().await.unwrap();
}

#[tokio::test]
async fn acknowledged_versions_survive_kill_9() {
    // Goal: concurrent versioned PUTs and DELETEs (markers) on several keys, then kill -9: after
    // restart every acknowledged version and marker is listed, newest first in the order it was
    // acknowledged, with its bytes; the only entries not acknowledged are the at most one
    // request per key that was in flight.
    let mut server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("crash").send().await.unwrap();
    set_versioning(&s3, "crash", BucketVersioningStatus::Enabled).await;
    let acknowledged: Acknowledged = Default::default();
    let mut writers = Vec::new();
    for writer in 0..4 {
        let s3 = s3.clone();
        let acknowledged = acknowledged.clone();
        writers.push(tokio::spawn(async move {
            let key = format!("key-{writer}");
            for round in 0.. {
                let entry = if round % 5 == 4 {
                    match s3.delete_object().bucket("crash").key(&key).send().await {
                        Ok(done) => (done.version_id().unwrap().to_string(), None),
                        Err(_) => return,
                    }
                } else {
                    let body = pattern(
                        if round % 2 == 0 { 1000 } else { 70_000 },
                        writer * 1000 + round,
                    );
                    let sent = s3
                        .put_object()
                        .bucket("crash")
                        .key(&key)
                        .body(ByteStream::from(body.clone()))
                        .send()
                        .await;
                    match sent {
                        Ok(done) => (done.version_id().unwrap().to_string(), Some(body)),
                        Err(_) => return,
                    }
                };
                acknowledged
                    .lock()
                    .unwrap()
                    .entry(key.clone())
                    .or_default()
                    .push(entry);
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    server.kill9();
    for writer in writers {
        let _ = writer.await;
    }
    server.restart();
    let s3 = server.client();
    let listed = all_versions(&server, "crash", 1000).await;
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.values().map(Vec::len).sum::<usize>() > 8,
        "the writers made progress"
    );
    for (key, versions) in &acknowledged {
        let on_disk: Vec<&(String, String, bool, bool)> =
            listed.iter().filter(|entry| &entry.0 == key).collect();
        // Newest first on disk; acknowledged oldest first. One unacknowledged (in-flight) entry
        // may sit on top.
        let extra = on_disk.len() - versions.len();
        assert!(
            extra <= 1,
            "{key}: {} listed, {} acknowledged",
            on_disk.len(),
            versions.len()
        );
        for (listed, (id, body)) in on_disk[extra..].iter().zip(versions.iter().rev()) {
            assert_eq!(&listed.1, id, "{key}: order of acknowledged versions");
            assert_eq!(listed.3, body.is_none(), "{key}: marker or object");
            if let Some(body) = body {
                assert_eq!(&get_version(&s3, "crash", key, id).await, body);
            }
        }
    }
}

#[tokio::test]
async fn a_data_dir_written_before_versioning_keeps_working() {
    // Goal (issue 20, item 12): a data dir written by the last release before versioning
    // (42ba32e, schema v4; made by tests/fixtures/make-data-dir-before-versioning.sh) opens in
    // place: its objects read back byte for byte with their metadata and ACL and list as `null`
    // versions, its unfinished upload completes, and once versioning is Enabled an old object
    // stays readable as the null version beneath the new one.
    let temp = tempfile::tempdir().unwrap();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/data-dir-before-versioning.tar.gz");
    let untarred = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&fixture)
        .arg("-C")
        .arg(temp.path())
        .status()
        .unwrap();
    assert!(untarred.success());
    let server = TestServer::start_in(&temp.path().join("data"), &[]);
    let s3 = server.client();
    let small = s3
        .get_object()
        .bucket("legacy")
        .key("small.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(small.content_type(), Some("text/plain"));
    assert_eq!(
        small
            .metadata()
            .and_then(|m| m.get("origin"))
            .map(String::as_str),
        Some("schema-v4")
    );
    assert_eq!(
        small.body.collect().await.unwrap().into_bytes().as_ref(),
        b"written before versioning\n"
    );
    let large: Vec<u8> = (0..=255u8).cycle().take(256 * 1024).collect();
    assert_eq!(get_bytes(&s3, "legacy", "large.bin", None).await, large);
    assert_eq!(
        get_bytes(&s3, "legacy", "multi.bin", None).await,
        vec![b'm'; 1024]
    );
    let acl = s3
        .get_object_acl()
        .bucket("legacy")
        .key("small.txt")
        .send()
        .await
        .unwrap();
    assert!(acl.grants().iter().any(|grant| grant
        .grantee()
        .and_then(|grantee| grantee.uri())
        .is_some_and(|uri| uri.ends_with("/global/AllUsers"))));
    let versions = all_versions(&server, "legacy", 1000).await;
    assert_eq!(
        versions,
        ["large.bin", "multi.bin", "small.txt"]
            .iter()
            .map(|key| (key.to_string(), "null".to_string(), true, false))
            .collect::<Vec<_>>()
    );
    // The upload left unfinished completes with the part the old release stored.
    let uploads = s3
        .list_multipart_uploads()
        .bucket("legacy")
        .send()
        .await
        .unwrap();
    let [upload] = uploads.uploads() else {
        panic!("{uploads:?}")
    };
    assert_eq!(upload.key(), Some("pending.bin"));
    let upload_id = upload.upload_id().unwrap();
    let parts = s3
        .list_parts()
        .bucket("legacy")
        .key("pending.bin")
        .upload_id(upload_id)
        .send()
        .await
        .unwrap();
    let [part] = parts.parts() else {
        panic!("{parts:?}")
    };
    s3.complete_multipart_upload()
        .bucket("legacy")
        .key("pending.bin")
        .upload_id(upload_id)
        .multipart_upload(completion(vec![aws_sdk_s3::types::CompletedPart::builder(
        )
        .part_number(1)
        .e_tag(part.e_tag().unwrap())
        .build()]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        get_bytes(&s3, "legacy", "pending.bin", None).await,
        vec![b'p'; 1024]
    );
    set_versioning(&s3, "legacy", BucketVersioningStatus::Enabled).await;
    // A file-backed and an inline object of the old release, each overwritten.
    for (key, old) in [
        ("large.bin", large),
        ("small.txt", b"written before versioning\n".to_vec()),
    ] {
        let new = put(&s3, "legacy", key, b"after the upgrade").await.unwrap();
        assert_eq!(get_version(&s3, "legacy", key, "null").await, old);
        assert_eq!(
            get_version(&s3, "legacy", key, &new).await,
            b"after the upgrade"
        );
    }
}
