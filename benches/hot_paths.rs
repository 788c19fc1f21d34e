//! Micro-benchmarks of the hot paths: request-head parsing, SigV4 verification (cached and
//! uncached signing key), MD5 and every flexible checksum over 1 MiB, and a 1000-entry
//! ListObjectsV2 XML rendering. A small harness (median of repeated timed batches) keeps the bench
//! build free of extra dependencies; run with `cargo bench --bench hot_paths`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use md5::{Digest, Md5};
use ringstore::http::head::{parse_head, HeadParse};
use ringstore::http::RequestHead;
use ringstore::s3::auth::shared::VerifyInput;
use ringstore::s3::auth::verify::verify_request;
use ringstore::s3::auth::{sigv4, Secret, SigningKeyCache};
use ringstore::s3::xml::XmlBuilder;
use ringstore::storage::checksum::{checksum_of, CHECKSUM_ALGORITHMS};

const ROUNDS: usize = 15;

/// Median time per call of `f`, measured in batches of `batch` calls.
fn median_per_call(batch: usize, mut f: impl FnMut()) -> Duration {
    let mut samples: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..batch {
                f();
            }
            started.elapsed() / batch as u32
        })
        .collect();
    samples.sort();
    samples[ROUNDS / 2]
}

fn signed_head(secret: &str, now: i64) -> (Vec<u8>, i64) {
    let seconds = now;
    let datetime = time::OffsetDateTime::from_unix_timestamp(seconds).unwrap();
    let amz_date = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        datetime.year(),
        datetime.month() as u8,
        datetime.day(),
        datetime.hour(),
        datetime.minute(),
        datetime.second()
    );
    let headers = vec![
        ("host".to_string(), "127.0.0.1:9000".to_string()),
        (
            "x-amz-content-sha256".to_string(),
            "UNSIGNED-PAYLOAD".to_string(),
        ),
        ("x-amz-date".to_string(), amz_date.clone()),
    ];
    let signed = "host;x-amz-content-sha256;x-amz-date";
    let canonical = sigv4::canonical_request(
        "GET",
        "/bucket/some/key.bin",
        "",
        &headers,
        signed,
        "UNSIGNED-PAYLOAD",
    );
    let scope = format!("{}/us-east-1/s3/aws4_request", &amz_date[..8]);
    let key = sigv4::derive_signing_key(secret, &amz_date[..8], "us-east-1", "s3");
    let signature = sigv4::sign(&key, &sigv4::string_to_sign(&amz_date, &scope, &canonical));
    let head = format!(
        "GET /bucket/some/key.bin HTTP/1.1\r\nhost: 127.0.0.1:9000\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\nx-amz-date: {amz_date}\r\nuser-agent: aws-sdk-rust/1.0 os/linux lang/rust\r\namz-sdk-invocation-id: 6f1b1a54-0b8a-4c0e-9c4a-3b4b8b9d1e2f\r\nauthorization: AWS4-HMAC-SHA256 Credential=bench-key/{scope},SignedHeaders={signed},Signature={signature}\r\n\r\n"
    );
    (head.into_bytes(), seconds)
}

fn parsed(bytes: &[u8]) -> RequestHead {
    match parse_head(bytes).unwrap() {
        HeadParse::Complete(head, _) => head,
        HeadParse::Partial => panic!("partial"),
    }
}

fn main() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let secret = "bench-secret-key-0123456789";
    let (bytes, now) = signed_head(secret, now);
    let per = median_per_call(20_000, || {
        black_box(parse_head(black_box(&bytes)).unwrap());
    });
    println!(
        "request head parse ({} bytes):          {:>8.0} ns",
        bytes.len(),
        per.as_nanos()
    );

    let head = parsed(&bytes);
    let query = ringstore::s3::path::QueryPairs::default();
    let lookup = |key: &str| (key == "bench-key").then(|| Secret::new(secret));
    let mut cache = SigningKeyCache::new();
    let input = VerifyInput {
        head: &head,
        decoded_path: "/bucket/some/key.bin",
        query: &query,
        virtual_host_bucket: None,
        bucket_only: false,
        region: "us-east-1",
        region_any: false,
        now_seconds: now,
    };
    let cached = median_per_call(20_000, || {
        black_box(verify_request(&input, lookup, &mut cache).unwrap());
    });
    let uncached = median_per_call(5_000, || {
        let mut fresh = SigningKeyCache::new();
        black_box(verify_request(&input, lookup, &mut fresh).unwrap());
    });
    println!(
        "SigV4 verify, cached signing key:         {:>8.0} ns",
        cached.as_nanos()
    );
    println!(
        "SigV4 verify, signing key derived:        {:>8.0} ns ({:.2}x)",
        uncached.as_nanos(),
        uncached.as_secs_f64() / cached.as_secs_f64()
    );

    let block = vec![0x5au8; 1 << 20];
    let throughput = |per: Duration| (1 << 20) as f64 / per.as_secs_f64() / 1e9;
    let md5 = median_per_call(20, || {
        black_box(Md5::digest(black_box(&block)));
    });
    println!(
        "MD5 over 1 MiB:                           {:>8.2} GB/s",
        throughput(md5)
    );
    for algorithm in CHECKSUM_ALGORITHMS {
        let per = median_per_call(20, || {
            black_box(checksum_of(algorithm, black_box(&block)));
        });
        println!(
            "{:<10} over 1 MiB:                    {:>8.2} GB/s",
            algorithm.name(),
            throughput(per)
        );
    }
    let crc32fast = median_per_call(20, || {
        black_box(crc32fast::hash(black_box(&block)));
    });
    println!(
        "CRC32 (crc32fast, for comparison):        {:>8.2} GB/s",
        throughput(crc32fast)
    );

    let render = median_per_call(50, || {
        let mut xml = XmlBuilder::new();
        xml.open_root("ListBucketResult")
            .element("Name", "bucket")
            .element("Prefix", "")
            .element("KeyCount", "1000");
        for index in 0..1000 {
            xml.open("Contents")
                .element("Key", &format!("photos/2026/11/29/image-{index:06}.jpg"))
                .element("LastModified", "2026-11-29T01:02:03.000Z")
                .element("ETag", "\"d41d8cd98f00b204e9800998ecf8427e\"")
                .element("Size", "4096")
                .element("StorageClass", "STANDARD")
                .close("Contents");
        }
        xml.close("ListBucketResult");
        black_box(xml.finish());
    });
    println!(
        "ListObjectsV2 XML, 1000 entries:          {:>8.0} µs",
        render.as_secs_f64() * 1e6
    );
}
