//! Remote tiers (issue 24) after crashes, against a second ringstore as the S3 tier: kill -9
//! during moves loses nothing, the reconciler deletes upstream objects no version references,
//! and multipart uploads a crash left unfinished upstream are aborted (by the reconciler, or by
//! the next attempt at the same object).

mod common;

use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use common::tiers::*;
use object_store::path::Path as StorePath;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reconciler_deletes_orphans_and_nothing_else() {
    // Goal: an upstream object under the node's prefix that no version references (what a crash
    // between upload and commit leaves once its version is deleted) is deleted at the next start,
    // once older than the grace period; referenced objects and names that are not object ids
    // stay.
    use object_store::ObjectStoreExt;
    let (upstream, _upstream_server) = ringstore_upstream(free_port()).await;
    let mut server = tiered_server(&upstream);
    let s3 = server.client();
    s3.create_bucket().bucket("data").send().await.unwrap();
    let body = pseudo_random(100_000, 16);
    s3.put_object()
        .bucket("data")
        .key("kept")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    place_on_tier(&server, "data");
    wait_until_moved(&s3, "data", &["kept"]).await;
    let names = upstream.names().await;
    let node = names[0].0.split('/').nth(1).unwrap().to_string();
    let orphan = format!("pre/{node}/{:032x}", 0x0123_4567_89ab_cdef_u128);
    let foreign = format!("pre/{node}/notes.txt");
    for name in [&orphan, &foreign] {
        upstream
            .store
            .put(&StorePath::from(name.as_str()), b"stray".to_vec().into())
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1500)).await; // older than the 1 s grace
    server.restart();
    wait_upstream(&upstream, "the orphan deleted", |names| {
        !names.iter().any(|(name, _)| *name == orphan)
    })
    .await;
    let left: Vec<String> = upstream
        .all_names()
        .await
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert!(left.contains(&foreign), "{left:?}");
    assert!(
        left.iter().any(|name| name.ends_with("/meta/incarnation")),
        "{left:?}"
    );
    assert_eq!(left.len(), 3, "{left:?}");
    assert_eq!(get(&server.client(), "data", "kept", None).await, body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_moves_loses_nothing() {
    // Goal: kill -9 while moves are under way leaves every version either local or remote,
    // never neither: after a restart every object reads back byte for byte, all end up moved,
    // no local file is left and upstream holds exactly the moved objects.
    let (upstream, _upstream_server) = ringstore_upstream(free_port()).await;
    let mut server = tiered_server(&upstream);
    let s3 = server.client();
    s3.create_bucket().bucket("data").send().await.unwrap();
    let bodies: Vec<Vec<u8>> = (0..12)
        .map(|index| pseudo_random(3 * 1024 * 1024 + index, 100 + index as u64))
        .collect();
    for (index, body) in bodies.iter().enumerate() {
        s3.put_object()
            .bucket("data")
            .key(format!("object-{index}"))
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
    }
    place_on_tier(&server, "data");
    // Kill as soon as the first move is visible upstream, while the rest are under way.
    wait_upstream(&upstream, "a first move", |names| !names.is_empty()).await;
    server.kill9();
    server.restart();
    let s3 = server.client();
    let keys: Vec<String> = (0..bodies.len())
        .map(|index| format!("object-{index}"))
        .collect();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    for (key, body) in keys.iter().zip(&bodies) {
        assert_eq!(
            &get(&s3, "data", key, None).await,
            body,
            "{key} after kill -9"
        );
    }
    wait_until_moved(&s3, "data", &key_refs).await;
    for (key, body) in keys.iter().zip(&bodies) {
        assert_eq!(&get(&s3, "data", key, None).await, body, "{key} moved");
    }
    wait_local_files(&server, 0).await;
    wait_upstream(&upstream, "exactly the moved objects upstream", |names| {
        names.len() == bodies.len()
    })
    .await;
}

/// The upstream ringstore's unfinished multipart uploads in its tier bucket, each with how many
/// parts it holds.
async fn unfinished_uploads(upstream: &aws_sdk_s3::Client) -> Vec<(String, usize)> {
    let listed = upstream
        .list_multipart_uploads()
        .bucket("tier-bucket")
        .send()
        .await
        .unwrap();
    let mut uploads = Vec::new();
    for upload in listed.uploads() {
        let parts = upstream
            .list_parts()
            .bucket("tier-bucket")
            .key(upload.key().unwrap())
            .upload_id(upload.upload_id().unwrap())
            .send()
            .await
            .map(|parts| parts.parts().len())
            .unwrap_or(0);
        uploads.push((upload.upload_id().unwrap().to_string(), parts));
    }
    uploads
}

/// Request body bytes a server received so far, all cores.
fn bytes_received(server: &common::TestServer) -> u64 {
    metric_sum(server, "ringstore_bytes_received_total") as u64
}

/// Waits until `check` holds for the upstream's unfinished uploads.
async fn wait_uploads(
    upstream: &aws_sdk_s3::Client,
    what: &str,
    check: impl Fn(&[(String, usize)]) -> bool,
) -> Vec<(String, usize)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let uploads = unfinished_uploads(upstream).await;
        if check(&uploads) {
            return uploads;
        }
        assert!(Instant::now() < deadline, "{what}: uploads {uploads:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_multipart_move_resumes_or_aborts_the_upload() {
    // Goal: a multipart upload a kill -9 interrupts is aborted upstream by the reconciler at the
    // next start when its version no longer moves, and resumed (same upload, the parts sent
    // kept) when it does; the version stays readable throughout and finally moves whole.
    let (upstream, upstream_server) = ringstore_upstream(free_port()).await;
    let upstream_s3 = upstream_server.client();
    // 4 MB/s: a 24 MiB (three-part) move takes about six seconds, time to kill it mid-way.
    let mut server = tiered_server_with(&upstream, &["--tier-bandwidth-mbps", "4"]);
    let s3 = server.client();
    s3.create_bucket().bucket("data").send().await.unwrap();
    let body = pseudo_random(24 * 1024 * 1024 + 5, 77);
    s3.put_object()
        .bucket("data")
        .key("large")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();

    // First crash: the bucket is then made local again, so only the reconciler can abort.
    place_on_tier(&server, "data");
    let first = wait_uploads(&upstream_s3, "a part sent", |uploads| {
        uploads.iter().any(|(_, parts)| *parts > 0)
    })
    .await;
    server.kill9();
    bucket_tier(&server, &["data", "--local"]);
    server.restart();
    wait_uploads(&upstream_s3, "the reconciler's abort", |uploads| {
        uploads.is_empty()
    })
    .await;
    assert_eq!(get(&server.client(), "data", "large", None).await, body);
    assert_eq!(first.len(), 1, "{first:?}");

    // Second crash: the bucket stays placed, so the restarted mover resumes the upload with the
    // parts the store has instead of starting another.
    place_on_tier(&server, "data");
    let second = wait_uploads(&upstream_s3, "a part sent again", |uploads| {
        uploads.iter().any(|(_, parts)| *parts > 0)
    })
    .await;
    assert_eq!(second.len(), 1, "{second:?}");
    assert_ne!(second[0].0, first[0].0);
    // Time for the part the upstream has to be journaled (a metadata commit; the next part
    // takes seconds at 4 MB/s).
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill9();
    let received_before = bytes_received(&upstream_server);
    server.restart();
    let s3 = server.client();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let uploads = unfinished_uploads(&upstream_s3).await;
        assert!(
            uploads.iter().all(|(id, _)| *id == second[0].0),
            "the interrupted upload {:?} was not resumed: {uploads:?}",
            second[0].0
        );
        if uploads.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "uploads {uploads:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_until_moved(&s3, "data", &["large"]).await;
    // The parts sent before the kill were not sent again: the upstream received at most the
    // object less one 8 MiB part (plus the requests' small bodies).
    let received = bytes_received(&upstream_server) - received_before;
    assert!(
        received <= body.len() as u64 - 8 * 1024 * 1024 + 64 * 1024,
        "the resumed upload sent {received} bytes of a {}-byte object",
        body.len()
    );
    assert_eq!(get(&s3, "data", "large", None).await, body);
    let left = unfinished_uploads(&upstream_s3).await;
    assert!(
        left.is_empty(),
        "unfinished uploads left upstream: {left:?}"
    );
    wait_upstream(&upstream, "exactly the moved object upstream", |names| {
        names.len() == 1 && names[0].1 == body.len() as u64
    })
    .await;
}
