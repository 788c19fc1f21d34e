//! A 1 GiB move and 16 parallel remote reads in bounded memory (issue 24): in a test binary of its
//! own, so no other test's servers share the machine while the peak RSS is measured.

mod common;

use common::tiers::*;

/// Peak RSS a move of 1 GiB and 16 parallel remote reads may reach: the bound, 64 MiB
/// plus 1 MiB per stream.
const PEAK_RSS_KIB_MAX: u64 = (64 + 16) * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1_gib_move_and_16_remote_reads_stay_in_bounded_memory() {
    // Goal: the mover streams a 1 GiB object upstream in parts and remote reads stream through
    // bounded channels: the server's peak RSS (VmHWM) stays under 64 MiB + 1 MiB per stream.
    use md5::Digest;
    use std::io::Write;
    let (upstream, _upstream_server) = ringstore_upstream(free_port()).await;
    let server = tiered_server(&upstream);
    let s3 = server.client();
    s3.create_bucket().bucket("big").send().await.unwrap();
    const OBJECT_BYTES: u64 = 1 << 30;
    let block = common::pattern(1 << 20, 42);
    let mut sent = md5::Md5::new();
    let (head, _) = common::RawRequest::new("PUT", "/big/object", &server.address)
        .header("content-length", &OBJECT_BYTES.to_string())
        .payload("UNSIGNED-PAYLOAD")
        .signed_head();
    let mut stream = server.connect();
    stream.write_all(head.as_bytes()).unwrap();
    for _ in 0..(OBJECT_BYTES >> 20) {
        stream.write_all(&block).unwrap();
        sent.update(&block);
    }
    let mut reader = std::io::BufReader::new(stream);
    let response = common::read_response(&mut reader, false).unwrap();
    assert_eq!(response.status, 200, "{}", response.body_text());
    let sent = hex::encode(sent.finalize());
    assert_eq!(
        response.header("etag"),
        Some(format!("\"{sent}\"").as_str())
    );
    place_on_tier(&server, "big");
    wait_until_moved(&s3, "big", &["object"]).await;
    wait_local_files(&server, 0).await;
    eprintln!(
        "peak RSS after the move: {} KiB (now {} KiB)",
        server.peak_rss_kib(),
        server.rss_kib()
    );

    // 16 reads at once, each of 64 MiB at its own offset, compared with what was sent.
    let mut reads = Vec::new();
    for index in 0..16u64 {
        let s3 = s3.clone();
        let block = block.clone();
        reads.push(tokio::spawn(async move {
            let start = index * 60 * 1024 * 1024 + 12_345;
            let end = start + 64 * 1024 * 1024 - 1;
            let body = s3
                .get_object()
                .bucket("big")
                .key("object")
                .range(format!("bytes={start}-{end}"))
                .send()
                .await
                .unwrap()
                .body
                .collect()
                .await
                .unwrap()
                .to_vec();
            assert_eq!(body.len() as u64, end - start + 1);
            for (offset, byte) in body.iter().enumerate().step_by(4099) {
                let position = start as usize + offset;
                assert_eq!(*byte, block[position % block.len()], "byte {position}");
            }
        }));
    }
    for read in reads {
        read.await.unwrap();
    }
    let peak = server.peak_rss_kib();
    eprintln!("peak RSS of a 1 GiB move and 16 remote reads: {peak} KiB");
    assert!(
        peak < PEAK_RSS_KIB_MAX,
        "peak RSS {peak} KiB over {PEAK_RSS_KIB_MAX} KiB"
    );
}
