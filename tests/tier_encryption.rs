//! Remote tiers (issue 24) with encryption at rest: versions encrypted with SSE-S3 (a single
//! file, and a multipart object whose parts are sealed under their own keys) and SSE-C move as
//! stored — packages and tags, never plaintext — and read back through the same decryption,
//! whole, by range (across and at package edges), by suffix and by part, from the tier and from
//! the read cache, against a second ringstore as the S3 tier.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use base64::Engine;
use common::tiers::*;
use md5::Digest;

/// An SSE-C key: (algorithm, key, key MD5), as the SDK sends them.
fn customer_key() -> (String, String, String) {
    let key = [0x5au8; 32];
    let engine = base64::engine::general_purpose::STANDARD;
    (
        "AES256".to_string(),
        engine.encode(key),
        engine.encode(md5::Md5::digest(key)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_versions_move_as_stored_and_decrypt_from_the_tier() {
    // Goal: SSE-S3 and SSE-C versions move; upstream holds their stored bytes (longer than the
    // plaintext by the tags, and not containing it); GET whole, by ranges across package edges,
    // by suffix and by part decrypt byte for byte from the tier; an SSE-C read needs its key
    // (a wrong one is 403, as before the move); a copy from a moved encrypted source works.
    let keys = tempfile::tempdir().unwrap();
    let key_file = common::master_key(keys.path());
    let (upstream, _upstream_server) = ringstore_upstream(free_port()).await;
    let server = tiered_server_with(
        &upstream,
        &[
            "--sse-master-key-file",
            &key_file,
            "--allow-sse-c-over-http",
            // Every object a file (so an empty one moves too), and reads cached.
            "--max-inline-size",
            "0",
            "--tier-cache-mb",
            "64",
        ],
    );
    let s3 = server.client();
    s3.create_bucket().bucket("data").send().await.unwrap();
    let single = pseudo_random(300_000, 61);
    s3.put_object()
        .bucket("data")
        .key("sse-s3")
        .server_side_encryption(ServerSideEncryption::Aes256)
        .body(ByteStream::from(single.clone()))
        .send()
        .await
        .unwrap();
    // Two whole packages of plaintext (65,520 bytes each), and nothing.
    let boundary = pseudo_random(2 * 65_520, 64);
    for (key, body) in [("boundary", &boundary), ("empty", &Vec::new())] {
        s3.put_object()
            .bucket("data")
            .key(key)
            .server_side_encryption(ServerSideEncryption::Aes256)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
    }
    let (algorithm, key, key_md5) = customer_key();
    let large = pseudo_random(9 * 1024 * 1024 + 11, 62);
    s3.put_object()
        .bucket("data")
        .key("sse-c")
        .sse_customer_algorithm(&algorithm)
        .sse_customer_key(&key)
        .sse_customer_key_md5(&key_md5)
        .body(ByteStream::from(large.clone()))
        .send()
        .await
        .unwrap();
    let part_bytes = 5 * 1024 * 1024;
    let parted = pseudo_random(2 * part_bytes + 1234, 63);
    let pieces: Vec<Vec<u8>> = parted.chunks(part_bytes).map(<[u8]>::to_vec).collect();
    put_multipart(
        &s3,
        "data",
        "parts",
        &pieces,
        Some(ServerSideEncryption::Aes256),
    )
    .await;

    place_on_tier(&server, "data");
    wait_until_moved(
        &s3,
        "data",
        &["sse-s3", "sse-c", "parts", "boundary", "empty"],
    )
    .await;
    wait_local_files(&server, 0).await;

    // Upstream: the stored bytes, each longer than its plaintext (a 16-byte tag per package),
    // with no run of the plaintext in them.
    let names = upstream.names().await;
    assert_eq!(names.len(), 5, "{names:?}");
    let mut sizes: Vec<u64> = names.iter().map(|(_, size)| *size).collect();
    sizes.sort();
    let mut plain: Vec<u64> = [&Vec::new(), &boundary, &single, &large, &parted]
        .iter()
        .map(|body| body.len() as u64)
        .collect();
    plain.sort();
    for (stored, plaintext) in sizes.iter().zip(&plain) {
        assert!(
            stored > plaintext,
            "stored {stored} for {plaintext} plaintext bytes"
        );
    }
    for (name, _) in &names {
        use object_store::ObjectStoreExt;
        let stored = upstream
            .store
            .get(&object_store::path::Path::from(name.as_str()))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        for body in [&single, &large, &parted] {
            assert!(
                !stored.windows(64).any(|window| window == &body[1000..1064]),
                "plaintext upstream in {name}"
            );
        }
    }

    assert_eq!(get(&s3, "data", "sse-s3", None).await, single);
    assert_eq!(get(&s3, "data", "empty", None).await, Vec::<u8>::new());
    // Twice: the second whole read is served by the read cache the first one filled.
    for _ in 0..2 {
        assert_eq!(get(&s3, "data", "boundary", None).await, boundary);
        for range in [
            "bytes=0-65519",
            "bytes=65519-65520",
            "bytes=65520-131039",
            "bytes=-65520",
            "bytes=131039-",
        ] {
            let (first, last) = bounds(range, boundary.len());
            assert_eq!(
                get(&s3, "data", "boundary", Some(range)).await,
                boundary[first..=last],
                "{range}"
            );
        }
    }
    for range in [
        "bytes=65510-65530",
        "bytes=0-0",
        "bytes=131000-131100",
        "bytes=-1",
    ] {
        let (first, last) = bounds(range, single.len());
        assert_eq!(
            get(&s3, "data", "sse-s3", Some(range)).await,
            single[first..=last],
            "{range}"
        );
    }
    let parted_range = format!("bytes={}-{}", part_bytes - 10, part_bytes + 10);
    assert_eq!(
        get(&s3, "data", "parts", Some(&parted_range)).await,
        parted[part_bytes - 10..=part_bytes + 10]
    );
    assert_eq!(get(&s3, "data", "parts", None).await, parted);
    let second = s3
        .get_object()
        .bucket("data")
        .key("parts")
        .part_number(2)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .to_vec();
    assert_eq!(second, parted[part_bytes..2 * part_bytes]);

    let sse_c = |range: Option<&str>| {
        s3.get_object()
            .bucket("data")
            .key("sse-c")
            .set_range(range.map(str::to_string))
            .sse_customer_algorithm(&algorithm)
            .sse_customer_key(&key)
            .sse_customer_key_md5(&key_md5)
            .send()
    };
    let whole = sse_c(None).await.unwrap().body.collect().await.unwrap();
    assert_eq!(whole.to_vec(), large);
    let tail = sse_c(Some("bytes=-100000")).await.unwrap();
    assert_eq!(
        tail.body.collect().await.unwrap().to_vec(),
        large[large.len() - 100_000..]
    );
    let engine = base64::engine::general_purpose::STANDARD;
    let wrong = [0x11u8; 32];
    let refused = s3
        .get_object()
        .bucket("data")
        .key("sse-c")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(engine.encode(wrong))
        .sse_customer_key_md5(engine.encode(md5::Md5::digest(wrong)))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refused.raw_response().map(|raw| raw.status().as_u16()),
        Some(403),
        "{refused:?}"
    );

    s3.copy_object()
        .bucket("data")
        .key("copy")
        .copy_source("data/sse-s3")
        .send()
        .await
        .unwrap();
    assert_eq!(get(&s3, "data", "copy", None).await, single);
}

/// A `bytes=` range's first and last byte in a body of `length`.
fn bounds(range: &str, length: usize) -> (usize, usize) {
    let spec = range.strip_prefix("bytes=").unwrap();
    if let Some(suffix) = spec.strip_prefix('-') {
        return (length - suffix.parse::<usize>().unwrap(), length - 1);
    }
    let (first, last) = spec.split_once('-').unwrap();
    let last = if last.is_empty() {
        length - 1
    } else {
        last.parse().unwrap()
    };
    (first.parse().unwrap(), last)
}
