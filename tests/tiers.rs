//! Remote tiers (issue 24) against real upstreams the test starts on 127.0.0.1: a second
//! ringstore and SeaweedFS (`weed mini`, installed by tests/setup.sh) as S3 tiers, Azurite as
//! Azure Blob. Objects are written to a ringstore, placed on the tier with `ringstore bucket
//! tier`, moved by the mover, and read back byte for byte; deletes and overwrites must free the
//! upstream copy; a stopped tier must fail reads cleanly while writes keep landing.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketVersioningStatus, CompletedMultipartUpload, CompletedPart, StorageClass,
    VersioningConfiguration,
};
use common::tiers::*;
use common::TestServer;

/// The whole round trip on one upstream: every size moves (0 B to 1 GiB; with
/// `--max-inline-size 0`, as a gateway runs, the small ones are files too), reads are byte-exact
/// whole, by range and by part, conditional reads and copies work from the tier, local files
/// are gone, and deletes and overwrites free the upstream copies.
async fn round_trip(upstream: &Upstream) {
    let server = tiered_server_with(upstream, &["--max-inline-size", "0"]);
    let s3 = server.client();
    s3.create_bucket().bucket("data").send().await.unwrap();
    let small = pseudo_random(4096, 6);
    let medium = pseudo_random(300_000, 1);
    let large = pseudo_random(64 * 1024 * 1024 + 17, 2);
    let parts = [
        pseudo_random(5 * 1024 * 1024, 3),
        pseudo_random(5 * 1024 * 1024, 4),
        pseudo_random(1024 * 1024 + 7, 5),
    ];
    let whole_multipart: Vec<u8> = parts.concat();
    for (key, body) in [
        ("empty", Vec::new()),
        ("one", vec![7u8]),
        ("small", small.clone()),
        ("medium", medium.clone()),
        ("large", large.clone()),
    ] {
        s3.put_object()
            .bucket("data")
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap();
    }
    put_multipart(&s3, "data", "multipart", &parts, None).await;
    // 1 GiB in eight parts of 128 MiB, each MiB a rotation of one random MiB (so a misplaced
    // MiB shows).
    let block = common::pattern(1 << 20, 3);
    let mut huge = Vec::with_capacity(1 << 30);
    for mib in 0..1024usize {
        let turn = (mib * 4099) % block.len();
        huge.extend_from_slice(&block[turn..]);
        huge.extend_from_slice(&block[..turn]);
    }
    let huge_parts: Vec<Vec<u8>> = huge.chunks(128 << 20).map(<[u8]>::to_vec).collect();
    put_multipart(&s3, "data", "huge", &huge_parts, None).await;
    drop(huge_parts);
    let large_etag = s3
        .head_object()
        .bucket("data")
        .key("large")
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_string();

    place_on_tier(&server, "data");
    wait_until_moved(
        &s3,
        "data",
        &[
            "empty",
            "one",
            "small",
            "medium",
            "large",
            "multipart",
            "huge",
        ],
    )
    .await;
    wait_local_files(&server, 0).await;
    let names = upstream.names().await;
    let mut sizes: Vec<u64> = names.iter().map(|(_, size)| *size).collect();
    sizes.sort();
    assert_eq!(
        sizes,
        vec![
            0,
            1,
            4096,
            300_000,
            whole_multipart.len() as u64,
            large.len() as u64,
            huge.len() as u64
        ],
        "{names:?}"
    );
    assert!(get(&s3, "data", "huge", None).await == huge, "huge whole");
    let across = (128 << 20) - 1000;
    assert_eq!(
        get(
            &s3,
            "data",
            "huge",
            Some(&format!("bytes={across}-{}", across + 2_000_000))
        )
        .await,
        huge[across..=across + 2_000_000]
    );
    drop(huge);
    assert!(
        names.iter().all(|(name, _)| name.split('/').count() == 3),
        "names are pre/<node id>/<object id>: {names:?}"
    );

    // Whole, ranged, suffix and open-ended reads, byte for byte.
    assert_eq!(get(&s3, "data", "medium", None).await, medium);
    assert_eq!(get(&s3, "data", "large", None).await, large);
    assert_eq!(get(&s3, "data", "multipart", None).await, whole_multipart);
    assert_eq!(get(&s3, "data", "empty", None).await, Vec::<u8>::new());
    assert_eq!(get(&s3, "data", "one", None).await, vec![7u8]);
    assert_eq!(get(&s3, "data", "small", None).await, small);
    assert_eq!(
        get(&s3, "data", "small", Some("bytes=100-199")).await,
        small[100..200]
    );
    assert_eq!(
        get(&s3, "data", "large", Some("bytes=100-199")).await,
        large[100..200]
    );
    assert_eq!(
        get(&s3, "data", "large", Some("bytes=-1000")).await,
        large[large.len() - 1000..]
    );
    assert_eq!(
        get(&s3, "data", "multipart", Some("bytes=5242000-")).await,
        whole_multipart[5_242_000..]
    );
    let part_two = s3
        .get_object()
        .bucket("data")
        .key("multipart")
        .part_number(2)
        .send()
        .await
        .unwrap();
    assert_eq!(part_two.parts_count(), Some(3));
    assert_eq!(part_two.body.collect().await.unwrap().to_vec(), parts[1]);

    // HEAD and conditional requests answer from the metadata.
    let head = s3
        .head_object()
        .bucket("data")
        .key("large")
        .send()
        .await
        .unwrap();
    assert_eq!(head.storage_class(), Some(&StorageClass::from(TIER)));
    assert_eq!(head.e_tag(), Some(large_etag.as_str()));
    assert_eq!(head.content_length(), Some(large.len() as i64));
    let not_modified = s3
        .get_object()
        .bucket("data")
        .key("large")
        .if_none_match(&large_etag)
        .send()
        .await
        .unwrap_err();
    assert_eq!(not_modified.raw_response().unwrap().status().as_u16(), 304);

    // Copies read the moved source through the tier.
    s3.copy_object()
        .bucket("data")
        .key("large-copy")
        .copy_source("data/large")
        .send()
        .await
        .unwrap();
    assert_eq!(get(&s3, "data", "large-copy", None).await, large);
    let copy_upload = s3
        .create_multipart_upload()
        .bucket("data")
        .key("part-copy")
        .send()
        .await
        .unwrap();
    let copied = s3
        .upload_part_copy()
        .bucket("data")
        .key("part-copy")
        .upload_id(copy_upload.upload_id().unwrap())
        .part_number(1)
        .copy_source("data/multipart")
        .copy_source_range("bytes=1000-5243879")
        .send()
        .await
        .unwrap();
    s3.complete_multipart_upload()
        .bucket("data")
        .key("part-copy")
        .upload_id(copy_upload.upload_id().unwrap())
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(copied.copy_part_result().unwrap().e_tag().unwrap())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        get(&s3, "data", "part-copy", None).await,
        whole_multipart[1000..5_243_880]
    );
    wait_until_moved(&s3, "data", &["large-copy", "part-copy"]).await;

    // A delete and an overwrite free their upstream copies (after the 1 s grace period); the
    // rest stay.
    let before = upstream.names().await;
    s3.delete_object()
        .bucket("data")
        .key("medium")
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket("data")
        .key("large")
        .body(ByteStream::from_static(b"small now"))
        .send()
        .await
        .unwrap();
    // The overwrite's 9 bytes move in their turn (every object is a file here).
    wait_upstream(upstream, "delete and overwrite freed", |names| {
        names.len() == before.len() - 1
            && names.iter().any(|(_, size)| *size == 9)
            && !names.iter().any(|(_, size)| *size == 300_000)
            && names
                .iter()
                .filter(|(_, size)| *size == large.len() as u64)
                .count()
                == 1 // the copy's
    })
    .await;
    assert_eq!(get(&s3, "data", "large", None).await, b"small now");
    assert_eq!(get(&s3, "data", "large-copy", None).await, large);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_ringstore_as_s3_tier() {
    let (upstream, _server) = ringstore_upstream(free_port()).await;
    round_trip(&upstream).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seaweedfs_as_s3_tier() {
    let upstream = seaweedfs_upstream().await;
    round_trip(&upstream).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azurite_as_azure_tier() {
    let upstream = azurite_upstream().await;
    round_trip(&upstream).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_move_and_only_their_own_deletion_frees_them() {
    // Goal: in a versioned bucket every version moves; each reads back by its id; a delete marker
    // frees nothing; deleting one version by id frees exactly its upstream copy.
    let (upstream, _upstream_server) = ringstore_upstream(free_port()).await;
    let server = tiered_server(&upstream);
    let s3 = server.client();
    s3.create_bucket().bucket("versioned").send().await.unwrap();
    s3.put_bucket_versioning()
        .bucket("versioned")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let first = pseudo_random(200_000, 7);
    let second = pseudo_random(250_000, 8);
    let mut ids = Vec::new();
    for body in [&first, &second] {
        let put = s3
            .put_object()
            .bucket("versioned")
            .key("k")
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
        ids.push(put.version_id().unwrap().to_string());
    }
    place_on_tier(&server, "versioned");
    wait_upstream(&upstream, "both versions moved", |names| names.len() == 2).await;
    wait_until_moved(&s3, "versioned", &["k"]).await;
    wait_local_files(&server, 0).await;
    for (id, body) in ids.iter().zip([&first, &second]) {
        let got = s3
            .get_object()
            .bucket("versioned")
            .key("k")
            .version_id(id)
            .send()
            .await
            .unwrap();
        assert_eq!(got.storage_class(), Some(&StorageClass::from(TIER)));
        assert_eq!(&got.body.collect().await.unwrap().to_vec(), body);
    }
    s3.delete_object()
        .bucket("versioned")
        .key("k")
        .send()
        .await
        .unwrap();
    s3.delete_object()
        .bucket("versioned")
        .key("k")
        .version_id(&ids[0])
        .send()
        .await
        .unwrap();
    wait_upstream(&upstream, "the first version freed", |names| {
        names.len() == 1 && names[0].1 == 250_000
    })
    .await;
    let second_read = s3
        .get_object()
        .bucket("versioned")
        .key("k")
        .version_id(&ids[1])
        .send()
        .await
        .unwrap();
    assert_eq!(second_read.body.collect().await.unwrap().to_vec(), second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_tier_fails_reads_cleanly_and_writes_keep_landing() {
    // Goal: with the tier down, a GET of a moved object is an error (never a truncated 200),
    // PUTs still succeed locally, and once the tier is back the waiting moves complete.
    let port = free_port();
    let (upstream, mut upstream_server) = ringstore_upstream(port).await;
    let server = tiered_server(&upstream);
    let s3 = server.client();
    s3.create_bucket().bucket("data").send().await.unwrap();
    let body = pseudo_random(1024 * 1024, 9);
    s3.put_object()
        .bucket("data")
        .key("moved")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    place_on_tier(&server, "data");
    wait_until_moved(&s3, "data", &["moved"]).await;

    upstream_server.kill9();
    let failed = s3
        .get_object()
        .bucket("data")
        .key("moved")
        .send()
        .await
        .unwrap_err();
    let status = failed.raw_response().map(|raw| raw.status().as_u16());
    assert!(
        matches!(status, Some(500 | 503)),
        "GET with the tier down: {failed:?}"
    );
    let later = pseudo_random(500_000, 10);
    s3.put_object()
        .bucket("data")
        .key("written-while-down")
        .body(ByteStream::from(later.clone()))
        .send()
        .await
        .expect("writes land locally while the tier is down");
    assert_eq!(get(&s3, "data", "written-while-down", None).await, later);

    upstream_server.restart();
    wait_until_moved(&s3, "data", &["moved", "written-while-down"]).await;
    assert_eq!(get(&s3, "data", "moved", None).await, body);
    assert_eq!(get(&s3, "data", "written-while-down", None).await, later);
    wait_local_files(&server, 0).await;
}

/// The read cache's complete copies (`<data dir>/tier-cache`), by name.
fn cached_copies(server: &TestServer) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(server.data_dir().join("tier-cache"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.ends_with(".filling"))
        .collect();
    names.sort();
    names
}

async fn wait_cached(server: &TestServer, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while cached_copies(server).len() != count {
        assert!(
            Instant::now() < deadline,
            "cached copies {:?}, expected {count}",
            cached_copies(server)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_cache_serves_what_was_read_while_the_tier_is_down() {
    // Goal: with --tier-cache-mb, an object read whole once (kept as it streams) and one read by
    // range once (then fetched whole in the background) are served byte for byte, whole and by
    // range, from local disk with the tier stopped; an object never read is not (5xx); an
    // object too large for a quarter of the cache is never kept; a deleted object's copy goes.
    let port = free_port();
    let (upstream, mut upstream_server) = ringstore_upstream(port).await;
    let server = tiered_server_with(&upstream, &["--tier-cache-mb", "4"]);
    let s3 = server.client();
    s3.create_bucket().bucket("data").send().await.unwrap();
    let keys = ["whole", "ranged", "cold", "large"];
    let mut bodies = Vec::new();
    for (index, key) in keys.iter().enumerate() {
        let length = if *key == "large" { 1_100_000 } else { 900_000 };
        let body = pseudo_random(length, 300 + index as u64);
        s3.put_object()
            .bucket("data")
            .key(*key)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
        bodies.push(body);
    }
    place_on_tier(&server, "data");
    wait_until_moved(&s3, "data", &keys).await;
    assert!(cached_copies(&server).is_empty(), "moves cache nothing");

    assert_eq!(get(&s3, "data", "whole", None).await, bodies[0]);
    assert_eq!(
        get(&s3, "data", "ranged", Some("bytes=1000-1999")).await,
        bodies[1][1000..2000]
    );
    assert_eq!(get(&s3, "data", "large", None).await, bodies[3]);
    wait_cached(&server, 2).await;

    upstream_server.kill9();
    for _ in 0..2 {
        assert_eq!(get(&s3, "data", "whole", None).await, bodies[0]);
        assert_eq!(get(&s3, "data", "ranged", None).await, bodies[1]);
    }
    assert_eq!(
        get(&s3, "data", "whole", Some("bytes=-70000")).await,
        bodies[0][900_000 - 70_000..]
    );
    assert_eq!(
        get(&s3, "data", "ranged", Some("bytes=123456-")).await,
        bodies[1][123_456..]
    );
    for key in ["cold", "large"] {
        let failed = s3
            .get_object()
            .bucket("data")
            .key(key)
            .send()
            .await
            .unwrap_err();
        let status = failed.raw_response().map(|raw| raw.status().as_u16());
        assert!(
            matches!(status, Some(500 | 503)),
            "GET {key} not cached, the tier down: {failed:?}"
        );
    }

    upstream_server.restart();
    s3.delete_object()
        .bucket("data")
        .key("whole")
        .send()
        .await
        .unwrap();
    wait_cached(&server, 1).await;
    assert!(
        cached_copies(&server)[0].starts_with("COLD-"),
        "{:?}",
        cached_copies(&server)
    );
    assert_eq!(get(&s3, "data", "ranged", None).await, bodies[1]);
}

/// The server's requests in flight, all cores.
fn requests_in_flight(server: &TestServer) -> i64 {
    metric_sum(server, "ringstore_requests_in_flight")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_never_quiet_still_drains_to_its_tier() {
    // Goal: the mover yields to requests in flight but is never stopped by them: with three
    // uploads held in flight throughout (a client that sends a head and stalls its body), a
    // 20 MiB (three-part) version and a small one move more slowly than on an idle server, yet
    // move and read back.
    use std::io::Write;
    let (upstream, _upstream_server) = ringstore_upstream(free_port()).await;
    let server = tiered_server(&upstream);
    let s3 = server.client();
    s3.create_bucket().bucket("data").send().await.unwrap();
    let large = pseudo_random(20 * 1024 * 1024 + 3, 42);
    let small = pseudo_random(300_000, 43);
    for (key, body) in [("large", &large), ("small", &small)] {
        s3.put_object()
            .bucket("data")
            .key(key)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
    }
    let mut held = Vec::new();
    for index in 0..3 {
        let presigned = s3
            .put_object()
            .bucket("data")
            .key(format!("stalled-{index}"))
            .presigned(
                aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(300))
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
            "PUT {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 1000000\r\n\r\nsome"
        )
        .unwrap();
        held.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(requests_in_flight(&server) >= 3);
    let placed = Instant::now();
    place_on_tier(&server, "data");
    wait_until_moved(&s3, "data", &["large", "small"]).await;
    // It waited: up to 1 s before each of its four uploads (three parts, one small object),
    // where an idle server moves both in well under a second. (A lower bound only: a slow
    // machine cannot make this fail.)
    assert!(
        placed.elapsed() >= Duration::from_secs(2),
        "moved in {:?}: the mover did not yield",
        placed.elapsed()
    );
    assert!(
        requests_in_flight(&server) >= 3,
        "the held uploads ended: the mover was never asked to yield"
    );
    drop(held);
    assert_eq!(get(&s3, "data", "large", None).await, large);
    assert_eq!(get(&s3, "data", "small", None).await, small);
}

#[test]
fn bad_tier_settings_stop_the_start_with_one_line() {
    // Goal: a malformed --tier is refused before anything starts, naming what is wrong.
    for (value, expected) in [
        ("COLD", "NAME=URL"),
        ("cold=s3://b", "tier name"),
        ("COLD=ftp://b", "scheme"),
        ("COLD=s3://b?endpont=x", "unknown URL parameter"),
        ("COLD=s3://key:secret@b", "credentials do not belong"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_ringstore"))
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(tempfile::tempdir().unwrap().path())
            .args(["--tier", value])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{value}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{value}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_transitions_move_what_their_rules_match() {
    // Goal: S3's own way to say "move after N days" works: a Transition (and a
    // NoncurrentVersionTransition) whose StorageClass names the tier moves the versions its
    // filter matches once due (a lifecycle day shortened to 1 s), leaves the rest local, and
    // reads back from GetBucketLifecycleConfiguration; any other class is InvalidStorageClass.
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, ExpirationStatus, LifecycleRule, LifecycleRuleFilter,
        NoncurrentVersionTransition, Transition, TransitionStorageClass,
    };
    let (upstream, _upstream_server) = ringstore_upstream(free_port()).await;
    let tier = format!("{TIER}={}", upstream.url);
    let envs: Vec<(&str, &str)> = upstream
        .envs
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let server =
        TestServer::start_with_env(&["--tier", &tier, "--lifecycle-day-seconds", "1"], &envs);
    let s3 = server.client();
    s3.create_bucket().bucket("aging").send().await.unwrap();
    s3.put_bucket_versioning()
        .bucket("aging")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let glacier = s3
        .put_bucket_lifecycle_configuration()
        .bucket("aging")
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(
                    LifecycleRule::builder()
                        .id("cold")
                        .status(ExpirationStatus::Enabled)
                        .filter(LifecycleRuleFilter::builder().prefix("").build())
                        .transitions(
                            Transition::builder()
                                .days(1)
                                .storage_class(TransitionStorageClass::Glacier)
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        glacier.into_service_error().meta().code(),
        Some("InvalidStorageClass")
    );
    s3.put_bucket_lifecycle_configuration()
        .bucket("aging")
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(
                    LifecycleRule::builder()
                        .id("logs-to-cold")
                        .status(ExpirationStatus::Enabled)
                        .filter(LifecycleRuleFilter::builder().prefix("logs/").build())
                        .transitions(
                            Transition::builder()
                                .days(2)
                                .storage_class(TransitionStorageClass::from(TIER))
                                .build(),
                        )
                        .noncurrent_version_transitions(
                            NoncurrentVersionTransition::builder()
                                .noncurrent_days(1)
                                .storage_class(TransitionStorageClass::from(TIER))
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let stored = s3
        .get_bucket_lifecycle_configuration()
        .bucket("aging")
        .send()
        .await
        .unwrap();
    let rule = &stored.rules()[0];
    assert_eq!(rule.transitions()[0].days(), Some(2));
    assert_eq!(
        rule.transitions()[0]
            .storage_class()
            .map(|class| class.as_str()),
        Some(TIER)
    );
    assert_eq!(
        rule.noncurrent_version_transitions()[0].noncurrent_days(),
        Some(1)
    );

    let old = pseudo_random(200_000, 11);
    let new = pseudo_random(210_000, 12);
    for (key, body) in [("logs/a", &old), ("logs/a", &new), ("other/b", &old)] {
        s3.put_object()
            .bucket("aging")
            .key(key)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
    }
    wait_until_moved(&s3, "aging", &["logs/a"]).await;
    wait_upstream(&upstream, "the noncurrent version moved too", |names| {
        names.len() == 2
    })
    .await;
    assert_eq!(get(&s3, "aging", "logs/a", None).await, new);
    let versions = s3
        .list_object_versions()
        .bucket("aging")
        .prefix("logs/a")
        .send()
        .await
        .unwrap();
    let noncurrent = versions
        .versions()
        .iter()
        .find(|version| version.is_latest() == Some(false))
        .unwrap();
    let read = s3
        .get_object()
        .bucket("aging")
        .key("logs/a")
        .version_id(noncurrent.version_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(read.storage_class(), Some(&StorageClass::from(TIER)));
    assert_eq!(read.body.collect().await.unwrap().to_vec(), old);
    // The rule's filter does not match other/b: it stays local (and STANDARD).
    let head = s3
        .head_object()
        .bucket("aging")
        .key("other/b")
        .send()
        .await
        .unwrap();
    assert_eq!(head.storage_class(), None);
    wait_local_files(&server, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_from_the_tier_serves_what_was_moved() {
    // Goal: after losing the host (kill -9 and a fresh data dir), `ringstore restore
    // --from-tier` rebuilds the metadata from the snapshot the server shipped, and a server on it
    // serves every moved object and every inline one byte for byte — one moved after the last
    // snapshot too, found upstream by the restore; a version whose bytes were only local is
    // counted by the restore and answers 500, never wrong bytes.
    let (upstream, _upstream_server) = ringstore_upstream(free_port()).await;
    let tier = format!("{TIER}={}", upstream.url);
    let envs: Vec<(&str, &str)> = upstream
        .envs
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    // No grace period: a reconciler that wrongly took an object for an orphan would delete it
    // at once.
    let mut server = TestServer::start_with_env(
        &[
            "--tier",
            &tier,
            "--tier-metadata-interval-seconds",
            "1",
            "--tier-garbage-grace-seconds",
            "0",
        ],
        &envs,
    );
    let s3 = server.client();
    for bucket in ["moved", "local", "late"] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    let large = pseudo_random(9 * 1024 * 1024 + 3, 13);
    let late = pseudo_random(300_000, 17);
    let inline = pseudo_random(1000, 14);
    let stranded = pseudo_random(100_000, 15);
    for (bucket, key, body) in [
        ("moved", "large", &large),
        ("local", "inline", &inline),
        ("local", "stranded", &stranded),
        ("late", "late", &late),
    ] {
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
    }
    place_on_tier(&server, "moved");
    wait_until_moved(&s3, "moved", &["large"]).await;
    // A snapshot taken after the move: its name is the time it was taken.
    let moved_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    wait_meta(&upstream, "a snapshot after the move", |names| {
        names.iter().any(|(name, _)| {
            name.contains("/meta/")
                && name
                    .rsplit('/')
                    .next()
                    .and_then(|file| file.strip_suffix(".sqlite"))
                    .and_then(|ms| ms.parse::<u64>().ok())
                    .is_some_and(|ms| ms > moved_ms)
        })
    })
    .await;
    // Then no more shipping, and "late" moves: the last snapshot has it local, the tier has its
    // bytes, and the restore must find them there.
    let interval = server
        .extra_args
        .iter()
        .position(|arg| arg == "--tier-metadata-interval-seconds")
        .unwrap();
    server.extra_args[interval + 1] = "0".to_string();
    server.restart();
    let s3 = server.client();
    place_on_tier(&server, "late");
    wait_until_moved(&s3, "late", &["late"]).await;
    server.kill9();

    let replacement = tempfile::tempdir().unwrap();
    let data_dir = replacement.path().join("data");
    let restored = Command::new(env!("CARGO_BIN_EXE_ringstore"))
        .envs(envs.iter().copied())
        .args(["restore", "--from-tier", &tier, "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&restored.stdout);
    assert!(
        restored.status.success(),
        "restore failed: {said} {}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert!(said.contains("only on the lost host: 1 "), "{said}");
    assert!(
        said.contains("found on the tier and switched to it: 1"),
        "{said}"
    );
    // A second restore never overwrites metadata.
    let again = Command::new(env!("CARGO_BIN_EXE_ringstore"))
        .envs(envs.iter().copied())
        .args(["restore", "--from-tier", &tier, "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(!again.status.success());

    let replacement_server = TestServer::start_in_with_env(
        &data_dir,
        &["--tier", &tier, "--tier-garbage-grace-seconds", "0"],
        &envs,
    );
    let s3 = replacement_server.client();
    assert_eq!(get(&s3, "moved", "large", None).await, large);
    assert_eq!(get(&s3, "local", "inline", None).await, inline);
    assert_eq!(get(&s3, "late", "late", None).await, late);
    let lost = s3
        .get_object()
        .bucket("local")
        .key("stranded")
        .send()
        .await
        .unwrap_err();
    assert_eq!(lost.raw_response().unwrap().status().as_u16(), 500);

    // The replacement moves a new object; then the lost host comes back on its old data dir. It
    // must find itself superseded on the tier and delete nothing there (its metadata does not
    // know the new object: its reconciler would take it for an orphan).
    let fresh = pseudo_random(200_000, 18);
    s3.put_object()
        .bucket("moved")
        .key("after-restore")
        .body(ByteStream::from(fresh.clone()))
        .send()
        .await
        .unwrap();
    wait_until_moved(&s3, "moved", &["large", "after-restore"]).await;
    server.restart();
    let deadline = Instant::now() + WAIT_MAX;
    while !server.log_text().contains("superseded") {
        assert!(Instant::now() < deadline, "{}", server.log_text());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(get(&s3, "moved", "after-restore", None).await, fresh);
    assert_eq!(get(&s3, "moved", "large", None).await, large);
}
