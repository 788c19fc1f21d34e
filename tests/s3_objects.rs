//! Object API breadth with aws-sdk-s3 against the real server: listing (v1, v2, versions),
//! DeleteObjects, CopyObject, ranges, conditional reads and writes, response overrides.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, EncodingType, MetadataDirective, ObjectIdentifier};
use common::{error_code, error_status, md5_hex, pattern, TestServer};

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &[u8]) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{key}: {e:?}"));
}

async fn get_bytes(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    common::get_bytes(s3, bucket, key, None).await
}

#[tokio::test]
async fn list_objects_v2_pages_prefixes_and_delimiters() {
    // Goal: max-keys pages with opaque continuation tokens, start-after, prefix, '/' and other
    // delimiters, max-keys 0 and over 1000, KeyCount, and fields of each entry.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("list").send().await.unwrap();
    let keys = ["a", "b/1", "b/2", "b/c/3", "c-x-1", "c-x-2", "c-y", "d"];
    for key in keys {
        put(&s3, "list", key, key.as_bytes()).await;
    }
    // Pagination.
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket("list")
            .max_keys(3)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap();
        assert!(page.key_count().unwrap() <= 3);
        seen.extend(page.contents().iter().map(|o| o.key().unwrap().to_string()));
        if !page.is_truncated().unwrap() {
            assert!(page.next_continuation_token().is_none());
            break;
        }
        token = page.next_continuation_token().map(str::to_string);
    }
    assert_eq!(seen, keys);
    // Entry fields.
    let page = s3
        .list_objects_v2()
        .bucket("list")
        .prefix("a")
        .send()
        .await
        .unwrap();
    let entry = &page.contents()[0];
    assert_eq!(entry.size(), Some(1));
    assert_eq!(
        entry.e_tag(),
        Some(format!("\"{}\"", md5_hex(b"a")).as_str())
    );
    assert_eq!(entry.storage_class().map(|c| c.as_str()), Some("STANDARD"));
    assert!(entry.last_modified().is_some());
    assert!(entry.owner().is_none());
    // Delimiter '/'.
    let page = s3
        .list_objects_v2()
        .bucket("list")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let prefixes: Vec<_> = page
        .common_prefixes()
        .iter()
        .map(|p| p.prefix().unwrap())
        .collect();
    let objects: Vec<_> = page.contents().iter().map(|o| o.key().unwrap()).collect();
    assert_eq!(prefixes, ["b/"]);
    assert_eq!(objects, ["a", "c-x-1", "c-x-2", "c-y", "d"]);
    assert_eq!(page.key_count(), Some(6));
    let nested = s3
        .list_objects_v2()
        .bucket("list")
        .prefix("b/")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    assert_eq!(nested.common_prefixes()[0].prefix(), Some("b/c/"));
    assert_eq!(nested.contents().len(), 2);
    // A delimiter that is not '/'.
    let dashed = s3
        .list_objects_v2()
        .bucket("list")
        .delimiter("-x-")
        .send()
        .await
        .unwrap();
    assert_eq!(
        dashed
            .common_prefixes()
            .iter()
            .map(|p| p.prefix().unwrap())
            .collect::<Vec<_>>(),
        ["c-x-"]
    );
    // Prefixes across pages: max-keys 1 walks entries one at a time, prefixes included.
    let mut walked = Vec::new();
    let mut token = None;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket("list")
            .delimiter("/")
            .max_keys(1)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap();
        walked.extend(page.contents().iter().map(|o| o.key().unwrap().to_string()));
        walked.extend(
            page.common_prefixes()
                .iter()
                .map(|p| p.prefix().unwrap().to_string()),
        );
        if !page.is_truncated().unwrap() {
            break;
        }
        token = page.next_continuation_token().map(str::to_string);
    }
    assert_eq!(walked, ["a", "b/", "c-x-1", "c-x-2", "c-y", "d"]);
    // start-after, max-keys 0 and > 1000, empty prefix page.
    let after = s3
        .list_objects_v2()
        .bucket("list")
        .start_after("c-y")
        .send()
        .await
        .unwrap();
    assert_eq!(
        after
            .contents()
            .iter()
            .map(|o| o.key().unwrap())
            .collect::<Vec<_>>(),
        ["d"]
    );
    assert_eq!(after.start_after(), Some("c-y"));
    let zero = s3
        .list_objects_v2()
        .bucket("list")
        .max_keys(0)
        .send()
        .await
        .unwrap();
    assert!(zero.contents().is_empty());
    assert_eq!(zero.key_count(), Some(0));
    assert_eq!(zero.max_keys(), Some(0));
    let capped = s3
        .list_objects_v2()
        .bucket("list")
        .max_keys(5000)
        .send()
        .await
        .unwrap();
    assert_eq!(capped.max_keys(), Some(1000));
    let empty = s3
        .list_objects_v2()
        .bucket("list")
        .prefix("zzz")
        .send()
        .await
        .unwrap();
    assert!(empty.contents().is_empty() && !empty.is_truncated().unwrap());
    // fetch-owner shows the same owner as ListBuckets and the ACLs.
    let owned = s3
        .list_objects_v2()
        .bucket("list")
        .fetch_owner(true)
        .max_keys(1)
        .send()
        .await
        .unwrap();
    let owner_id = owned.contents()[0]
        .owner()
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    assert_eq!(
        s3.list_buckets()
            .send()
            .await
            .unwrap()
            .owner()
            .unwrap()
            .id(),
        Some(owner_id.as_str())
    );
    let acl = s3.get_bucket_acl().bucket("list").send().await.unwrap();
    assert_eq!(acl.owner().unwrap().id(), Some(owner_id.as_str()));
    assert_eq!(
        acl.grants()[0].permission().map(|p| p.as_str()),
        Some("FULL_CONTROL")
    );
    let object_acl = s3
        .get_object_acl()
        .bucket("list")
        .key("a")
        .send()
        .await
        .unwrap();
    assert_eq!(object_acl.owner().unwrap().id(), Some(owner_id.as_str()));
    // Errors.
    let error = s3
        .list_objects_v2()
        .bucket("no-such-bucket")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("NoSuchBucket"));
    let error = s3
        .list_objects_v2()
        .bucket("list")
        .continuation_token("!!!")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("InvalidArgument"));
}

#[tokio::test]
async fn list_encoding_type_url_and_byte_order() {
    // Goal: keys with spaces, '+', '%', unicode and control characters come back URL-encoded as S3
    // encodes them, in UTF-8 byte order.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("enc").send().await.unwrap();
    let keys = ["a b", "a+b", "a%b", "a\u{1}b", "é", "z", "日本"];
    for key in keys {
        put(&s3, "enc", key, b"x").await;
    }
    let page = s3
        .list_objects_v2()
        .bucket("enc")
        .encoding_type(EncodingType::Url)
        .send()
        .await
        .unwrap();
    let listed: Vec<_> = page.contents().iter().map(|o| o.key().unwrap()).collect();
    assert_eq!(
        listed,
        [
            "a%01b",
            "a+b",
            "a%25b",
            "a%2Bb",
            "z",
            "%C3%A9",
            "%E6%97%A5%E6%9C%AC"
        ]
    );
    assert_eq!(page.encoding_type().map(|e| e.as_str()), Some("url"));
    // Without encoding-type a control character cannot appear in XML 1.0; list past it.
    let raw = s3
        .list_objects_v2()
        .bucket("enc")
        .start_after("a ")
        .send()
        .await
        .unwrap();
    let raw: Vec<_> = raw.contents().iter().map(|o| o.key().unwrap()).collect();
    assert_eq!(raw, ["a b", "a%b", "a+b", "z", "é", "日本"]);
}

#[tokio::test]
async fn list_objects_v1_markers() {
    // Goal: v1 marker / NextMarker (with a delimiter), Owner on every entry.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("list-v1").send().await.unwrap();
    for key in ["a/1", "a/2", "b", "c/1", "d"] {
        put(&s3, "list-v1", key, b"x").await;
    }
    let first = s3
        .list_objects()
        .bucket("list-v1")
        .delimiter("/")
        .max_keys(2)
        .send()
        .await
        .unwrap();
    assert!(first.is_truncated().unwrap());
    assert_eq!(first.common_prefixes()[0].prefix(), Some("a/"));
    assert_eq!(first.contents()[0].key(), Some("b"));
    assert!(first.contents()[0].owner().is_some());
    assert_eq!(first.next_marker(), Some("b"));
    let second = s3
        .list_objects()
        .bucket("list-v1")
        .delimiter("/")
        .marker("b")
        .send()
        .await
        .unwrap();
    assert_eq!(second.common_prefixes()[0].prefix(), Some("c/"));
    assert_eq!(second.contents()[0].key(), Some("d"));
    assert!(!second.is_truncated().unwrap());
    let plain = s3
        .list_objects()
        .bucket("list-v1")
        .marker("a/2")
        .send()
        .await
        .unwrap();
    assert_eq!(
        plain
            .contents()
            .iter()
            .map(|o| o.key().unwrap())
            .collect::<Vec<_>>(),
        ["b", "c/1", "d"]
    );
}

#[tokio::test]
async fn delimiter_prefixes_do_not_starve_a_page() {
    // Goal: 1,200 keys under 3 prefixes list as exactly those 3 prefixes in one call.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("many").send().await.unwrap();
    let mut tasks = Vec::new();
    for worker in 0..12 {
        let s3 = s3.clone();
        tasks.push(tokio::spawn(async move {
            for index in 0..100 {
                let key = format!(
                    "{}/{worker:02}-{index:03}",
                    ["logs", "photos", "tmp"][index % 3]
                );
                s3.put_object()
                    .bucket("many")
                    .key(key)
                    .body(ByteStream::from_static(b"x"))
                    .send()
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let page = s3
        .list_objects_v2()
        .bucket("many")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.common_prefixes()
            .iter()
            .map(|p| p.prefix().unwrap())
            .collect::<Vec<_>>(),
        ["logs/", "photos/", "tmp/"]
    );
    assert!(!page.is_truncated().unwrap());
    // index % 3 == 1 for 33 of each worker's 100 keys.
    let photos = s3
        .list_objects_v2()
        .bucket("many")
        .prefix("photos/")
        .max_keys(1000)
        .send()
        .await
        .unwrap();
    assert_eq!(photos.key_count(), Some(12 * 33));
    let all = s3.list_objects_v2().bucket("many").send().await.unwrap();
    assert_eq!(all.key_count(), Some(1000));
    assert!(all.is_truncated().unwrap());
}

#[tokio::test]
async fn delete_objects_batch() {
    // Goal: one DeleteObjects removes the named keys (present or not), Quiet hides successes,
    // non-null versions are per-key errors, and the files go.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("batch").send().await.unwrap();
    for index in 0..20 {
        put(&s3, "batch", &format!("k{index:02}"), &pattern(1000, index)).await;
    }
    let ids: Vec<ObjectIdentifier> = (0..10)
        .map(|i| {
            ObjectIdentifier::builder()
                .key(format!("k{i:02}"))
                .build()
                .unwrap()
        })
        .chain([ObjectIdentifier::builder()
            .key("never-existed")
            .build()
            .unwrap()])
        .chain([ObjectIdentifier::builder()
            .key("k15")
            .version_id("not-null")
            .build()
            .unwrap()])
        .collect();
    let result = s3
        .delete_objects()
        .bucket("batch")
        .delete(Delete::builder().set_objects(Some(ids)).build().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(result.deleted().len(), 11);
    assert_eq!(result.errors().len(), 1);
    assert_eq!(result.errors()[0].code(), Some("NoSuchVersion"));
    let remaining = s3.list_objects_v2().bucket("batch").send().await.unwrap();
    assert_eq!(remaining.key_count(), Some(10));
    let quiet = s3
        .delete_objects()
        .bucket("batch")
        .delete(
            Delete::builder()
                .quiet(true)
                .objects(ObjectIdentifier::builder().key("k10").build().unwrap())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert!(quiet.deleted().is_empty() && quiet.errors().is_empty());
    assert!(common::eventually(5, || server.stored_objects() == 9));
    let too_many: Vec<ObjectIdentifier> = (0..1001)
        .map(|i| {
            ObjectIdentifier::builder()
                .key(format!("x{i}"))
                .build()
                .unwrap()
        })
        .collect();
    let error = s3
        .delete_objects()
        .bucket("batch")
        .delete(
            Delete::builder()
                .set_objects(Some(too_many))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("MalformedXML"));
}

#[tokio::test]
async fn copy_object_variants() {
    // Goal: COPY and REPLACE directives, self-copy rules, source conditions and errors.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("src").send().await.unwrap();
    s3.create_bucket().bucket("dst").send().await.unwrap();
    let body = pattern(400_000, 9);
    s3.put_object()
        .bucket("src")
        .key("dir/a b+c")
        .body(ByteStream::from(body.clone()))
        .content_type("text/x")
        .metadata("m", "1")
        .send()
        .await
        .unwrap();
    let copied = s3
        .copy_object()
        .bucket("dst")
        .key("copy")
        .copy_source("src/dir/a%20b%2Bc")
        .send()
        .await
        .unwrap();
    let etag = copied
        .copy_object_result()
        .unwrap()
        .e_tag()
        .unwrap()
        .to_string();
    assert_eq!(etag, format!("\"{}\"", md5_hex(&body)));
    assert!(copied
        .copy_object_result()
        .unwrap()
        .last_modified()
        .is_some());
    let got = s3
        .get_object()
        .bucket("dst")
        .key("copy")
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_type(), Some("text/x"));
    assert_eq!(
        got.metadata().unwrap().get("m").map(String::as_str),
        Some("1")
    );
    assert_eq!(
        md5_hex(&got.body.collect().await.unwrap().into_bytes()),
        md5_hex(&body)
    );
    // REPLACE takes the request's metadata.
    s3.copy_object()
        .bucket("dst")
        .key("replaced")
        .copy_source("/src/dir/a%20b%2Bc")
        .metadata_directive(MetadataDirective::Replace)
        .content_type("text/y")
        .metadata("n", "2")
        .send()
        .await
        .unwrap();
    let got = s3
        .head_object()
        .bucket("dst")
        .key("replaced")
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_type(), Some("text/y"));
    assert!(got.metadata().unwrap().get("m").is_none());
    // Copy onto itself: only with REPLACE.
    let error = s3
        .copy_object()
        .bucket("dst")
        .key("copy")
        .copy_source("dst/copy")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("InvalidRequest"));
    s3.copy_object()
        .bucket("dst")
        .key("copy")
        .copy_source("dst/copy")
        .metadata_directive(MetadataDirective::Replace)
        .content_type("a/b")
        .send()
        .await
        .unwrap();
    assert_eq!(
        s3.head_object()
            .bucket("dst")
            .key("copy")
            .send()
            .await
            .unwrap()
            .content_type(),
        Some("a/b")
    );
    // Source conditions.
    let error = s3
        .copy_object()
        .bucket("dst")
        .key("c2")
        .copy_source("src/dir/a%20b%2Bc")
        .copy_source_if_match("\"wrong\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("PreconditionFailed"));
    assert_eq!(error_status(&error), Some(412));
    s3.copy_object()
        .bucket("dst")
        .key("c2")
        .copy_source("src/dir/a%20b%2Bc")
        .copy_source_if_match(&etag)
        .send()
        .await
        .unwrap();
    let error = s3
        .copy_object()
        .bucket("dst")
        .key("c3")
        .copy_source("src/dir/a%20b%2Bc")
        .copy_source_if_none_match(&etag)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_status(&error), Some(412));
    // Missing sources and versions.
    let error = s3
        .copy_object()
        .bucket("dst")
        .key("c4")
        .copy_source("src/missing")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("NoSuchKey"));
    let error = s3
        .copy_object()
        .bucket("dst")
        .key("c4")
        .copy_source("src/dir/a%20b%2Bc?versionId=v1")
        .send()
        .await
        .unwrap_err();
    // Not an id ringstore could have given: S3's 400 "Invalid version id specified".
    assert_eq!(error_code(&error).as_deref(), Some("InvalidArgument"));
    let error = s3
        .copy_object()
        .bucket("dst")
        .key("c4")
        .copy_source("src/dir/a%20b%2Bc?versionId=0000000000000001ffffffffffffffff")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("NoSuchVersion"));
    s3.copy_object()
        .bucket("dst")
        .key("c5")
        .copy_source("src/dir/a%20b%2Bc?versionId=null")
        .send()
        .await
        .unwrap();
    assert!(common::eventually(5, || server.stored_objects() == 5));
}

#[tokio::test]
async fn range_and_conditional_reads() {
    // Goal: ranges (206, Content-Range, 416, multi-range → 200) and S3's conditional GET/HEAD.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("ranges").send().await.unwrap();
    let body = pattern(300_000, 5);
    put(&s3, "ranges", "obj", &body).await;
    for (range, start, end) in [
        ("bytes=0-9", 0usize, 9usize),
        ("bytes=131000-140000", 131_000, 140_000),
        ("bytes=-5", 299_995, 299_999),
        ("bytes=299990-", 299_990, 299_999),
        ("bytes=5-999999", 5, 299_999),
    ] {
        let got = s3
            .get_object()
            .bucket("ranges")
            .key("obj")
            .range(range)
            .send()
            .await
            .unwrap();
        assert_eq!(
            got.content_range(),
            Some(format!("bytes {start}-{end}/300000").as_str()),
            "{range}"
        );
        assert_eq!(got.content_length(), Some((end - start + 1) as i64));
        assert_eq!(
            got.body.collect().await.unwrap().into_bytes().as_ref(),
            &body[start..=end],
            "{range}"
        );
    }
    let error = s3
        .get_object()
        .bucket("ranges")
        .key("obj")
        .range("bytes=300000-")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&error).as_deref(), Some("InvalidRange"));
    assert_eq!(error_status(&error), Some(416));
    // RFC 9110: a 416 names the object's length.
    let size = body.len();
    assert_eq!(
        error
            .raw_response()
            .and_then(|response| response.headers().get("content-range")),
        Some(format!("bytes */{size}").as_str())
    );
    let whole = s3
        .get_object()
        .bucket("ranges")
        .key("obj")
        .range("bytes=0-1,5-6")
        .send()
        .await
        .unwrap();
    assert!(whole.content_range().is_none());
    assert_eq!(whole.content_length(), Some(300_000));
    let head = s3
        .head_object()
        .bucket("ranges")
        .key("obj")
        .send()
        .await
        .unwrap();
    assert_eq!(head.accept_ranges(), Some("bytes"));
    let etag = head.e_tag().unwrap().to_string();
    let modified = head.last_modified().unwrap().secs();
    // Conditions.
    let error = s3
        .get_object()
        .bucket("ranges")
        .key("obj")
        .if_none_match(&etag)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_status(&error), Some(304));
    let error = s3
        .head_object()
        .bucket("ranges")
        .key("obj")
        .if_none_match(&etag)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_status(&error), Some(304));
    let error = s3
        .get_object()
        .bucket("ranges")
        .key("obj")
        .if_match("\"nope\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_status(&error), Some(412));
    assert!(s3
        .get_object()
        .bucket("ranges")
        .key("obj")
        .if_match(&etag)
        .send()
        .await
        .is_ok());
    let later = aws_smithy_types::DateTime::from_secs(modified + 3600);
    let earlier = aws_smithy_types::DateTime::from_secs(modified - 3600);
    let error = s3
        .get_object()
        .bucket("ranges")
        .key("obj")
        .if_modified_since(later)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_status(&error), Some(304));
    assert!(s3
        .get_object()
        .bucket("ranges")
        .key("obj")
        .if_modified_since(earlier)
        .send()
        .await
        .is_ok());
    let error = s3
        .get_object()
        .bucket("ranges")
        .key("obj")
        .if_unmodified_since(earlier)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_status(&error), Some(412));
    // If-Match true wins over If-Unmodified-Since false.
    assert!(s3
        .get_object()
        .bucket("ranges")
        .key("obj")
        .if_match(&etag)
        .if_unmodified_since(earlier)
        .send()
        .await
        .is_ok());
    // Response overrides.
    let got = s3
        .get_object()
        .bucket("ranges")
        .key("obj")
        .response_content_type("text/override")
        .response_content_disposition("attachment")
        .response_cache_control("no-store")
        .response_content_language("de")
        .response_content_encoding("gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_type(), Some("text/override"));
    assert_eq!(got.content_disposition(), Some("attachment"));
    assert_eq!(got.cache_control(), Some("no-store"));
    assert_eq!(got.content_language(), Some("de"));
    assert_eq!(got.content_encoding(), Some("gzip"));
    // Only the six overridable headers (400 InvalidArgument for another `response-` name), and
    // only on a signed request: an anonymous GET of a public object may not override (400
    // InvalidRequest), while the same GET without overrides is served.
    let (head, _) = common::RawRequest::new("GET", "/ranges/obj", &server.address)
        .query("response-content-md5=x")
        .signed_head();
    let unknown = common::exchange(&server, head.as_bytes());
    assert_eq!(
        (unknown.status, unknown.code().as_deref()),
        (400, Some("InvalidArgument")),
        "{}",
        unknown.body_text()
    );
    s3.put_object_acl()
        .bucket("ranges")
        .key("obj")
        .acl(aws_sdk_s3::types::ObjectCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    let anonymous = |query: &str| {
        let request = format!(
            "GET /ranges/obj{query} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.address
        );
        common::exchange(&server, request.as_bytes())
    };
    assert_eq!(anonymous("").status, 200);
    let overridden = anonymous("?response-content-type=text/html");
    assert_eq!(
        (overridden.status, overridden.code().as_deref()),
        (400, Some("InvalidRequest")),
        "{}",
        overridden.body_text()
    );
}

#[tokio::test]
async fn conditional_puts_are_atomic() {
    // Goal: If-None-Match: * lets exactly one of many concurrent writers create a key; If-Match
    // is compare-and-swap on the ETag.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("cas").send().await.unwrap();
    let mut tasks = Vec::new();
    for writer in 0..8u64 {
        let s3 = s3.clone();
        tasks.push(tokio::spawn(async move {
            let body = pattern(50_000, writer);
            let result = s3
                .put_object()
                .bucket("cas")
                .key("once")
                .if_none_match("*")
                .body(ByteStream::from(body.clone()))
                .send()
                .await;
            result
                .map(|_| md5_hex(&body))
                .map_err(|error| error_status(&error))
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(digest) => winners.push(digest),
            Err(status) => assert_eq!(status, Some(412)),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one If-None-Match writer must win"
    );
    assert_eq!(md5_hex(&get_bytes(&s3, "cas", "once").await), winners[0]);
    let current = format!("\"{}\"", winners[0]);
    let error = s3
        .put_object()
        .bucket("cas")
        .key("once")
        .if_match("\"0000\"")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_status(&error), Some(412));
    s3.put_object()
        .bucket("cas")
        .key("once")
        .if_match(&current)
        .body(ByteStream::from_static(b"swapped"))
        .send()
        .await
        .unwrap();
    assert_eq!(get_bytes(&s3, "cas", "once").await, b"swapped");
    let error = s3
        .put_object()
        .bucket("cas")
        .key("absent")
        .if_match(&current)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    // If-Match on a missing key is NoSuchKey, as S3 answers (ceph/s3-tests put_object_if_match).
    assert_eq!(error_status(&error), Some(404));
    assert!(common::eventually(5, || server.stored_objects() == 1
        && server.temp_files().is_empty()));
}

#[tokio::test]
async fn unversioned_version_calls() {
    // Goal: ListObjectVersions shows each object as its null version with exact key-marker
    // pagination; versionId=null works on GET/HEAD/DELETE; other ids are NoSuchVersion.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("vers").send().await.unwrap();
    for key in ["a", "b", "c/1", "c/2", "d"] {
        put(&s3, "vers", key, key.as_bytes()).await;
    }
    let mut seen = Vec::new();
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    loop {
        let page = s3
            .list_object_versions()
            .bucket("vers")
            .max_keys(2)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .unwrap();
        for version in page.versions() {
            assert_eq!(version.version_id(), Some("null"));
            assert_eq!(version.is_latest(), Some(true));
            seen.push(version.key().unwrap().to_string());
        }
        if !page.is_truncated().unwrap() {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_string);
        version_marker = page.next_version_id_marker().map(str::to_string);
    }
    assert_eq!(seen, ["a", "b", "c/1", "c/2", "d"]);
    let grouped = s3
        .list_object_versions()
        .bucket("vers")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    assert_eq!(grouped.common_prefixes()[0].prefix(), Some("c/"));
    assert_eq!(grouped.versions().len(), 3);
    assert_eq!(get_bytes(&s3, "vers", "a").await, b"a");
    let got = s3
        .get_object()
        .bucket("vers")
        .key("a")
        .version_id("null")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        b"a"
    );
    s3.head_object()
        .bucket("vers")
        .key("a")
        .version_id("null")
        .send()
        .await
        .unwrap();
    let error = s3
        .get_object()
        .bucket("vers")
        .key("a")
        .version_id("3HL4kqtJlcpXroDTDmJ")
        .send()
        .await
        .unwrap_err();
    // Not an id ringstore could have given: S3's 400 "Invalid version id specified".
    assert_eq!(error_code(&error).as_deref(), Some("InvalidArgument"));
    s3.delete_object()
        .bucket("vers")
        .key("a")
        .version_id("null")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_status(
            &s3.head_object()
                .bucket("vers")
                .key("a")
                .send()
                .await
                .unwrap_err()
        ),
        Some(404)
    );
    let versioning = s3
        .get_bucket_versioning()
        .bucket("vers")
        .send()
        .await
        .unwrap();
    assert!(versioning.status().is_none());
}

#[tokio::test]
async fn repeated_reads_agree_whether_direct_or_through_the_page_cache() {
    // Goal: a file-backed object read again and again — the first GET on a core reads it with
    // O_DIRECT, later ones through the page cache (storage::read_path) — returns the same bytes
    // for whole objects, ranges across read-block and part boundaries, and after an overwrite.
    // One core, so every GET sees the same core's memory of recent reads.
    const MIB: usize = 1024 * 1024;
    let server = TestServer::start_with_cores(1);
    let s3 = server.client();
    s3.create_bucket().bucket("paths").send().await.unwrap();
    let single = pattern(3 * MIB / 2 + 17, 7);
    put(&s3, "paths", "single", &single).await;
    let parts = [pattern(5 * MIB, 8), pattern(MIB + 3, 9)];
    let upload = common::create_upload(&s3, "paths", "multi").await;
    let mut completed = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        completed.push(
            common::upload_part(&s3, "paths", "multi", &upload, index as i32 + 1, part).await,
        );
    }
    s3.complete_multipart_upload()
        .bucket("paths")
        .key("multi")
        .upload_id(&upload)
        .multipart_upload(common::completion(completed))
        .send()
        .await
        .unwrap();
    let multi = parts.concat();
    let ranges: [(usize, usize); 5] = [
        (0, 0),
        (131_071, 131_073),
        (262_143, 786_433),
        (5 * MIB - 10, 5 * MIB + 10),
        (MIB, 6 * MIB + 2),
    ];
    for round in 0..3 {
        for (key, body) in [("single", &single), ("multi", &multi)] {
            let whole = common::get_bytes(&s3, "paths", key, None).await;
            assert!(whole == *body, "{key} round {round}: whole object differs");
            for (first, last) in ranges.into_iter().filter(|(first, _)| *first < body.len()) {
                let last = last.min(body.len() - 1);
                let range = format!("bytes={first}-{last}");
                let got = common::get_bytes(&s3, "paths", key, Some(&range)).await;
                assert!(
                    got == body[first..=last],
                    "{key} round {round}: {range} differs"
                );
            }
        }
    }
    let replaced = pattern(2 * MIB + 5, 10);
    put(&s3, "paths", "single", &replaced).await;
    for _ in 0..2 {
        assert!(common::get_bytes(&s3, "paths", "single", None).await == replaced);
    }
}
