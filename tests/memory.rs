//! A 1 GiB object goes up and comes back down over raw sockets while the server's peak RSS
//! (VmHWM from /proc) stays under 64 MiB: bodies are streamed, never held whole.

mod common;

use std::io::{BufRead, BufReader, Read, Write};

use common::{read_response, RawRequest, TestServer};
use md5::Digest;

const OBJECT_BYTES: u64 = 1 << 30;
const PEAK_RSS_KIB_MAX: u64 = 64 * 1024;

#[test]
fn one_gib_round_trip_in_flat_memory() {
    let server = TestServer::start();
    let (head, _) = RawRequest::new("PUT", "/big", &server.address).signed_head();
    assert_eq!(common::exchange(&server, head.as_bytes()).status, 200);

    let block = common::pattern(1 << 20, 42);
    let mut sent = md5::Md5::new();
    let (head, _) = RawRequest::new("PUT", "/big/object", &server.address)
        .header("content-length", &OBJECT_BYTES.to_string())
        .payload("UNSIGNED-PAYLOAD")
        .signed_head();
    let mut stream = server.connect();
    stream.write_all(head.as_bytes()).unwrap();
    for _ in 0..(OBJECT_BYTES >> 20) {
        stream.write_all(&block).unwrap();
        sent.update(&block);
    }
    let mut reader = BufReader::new(stream);
    let response = read_response(&mut reader, false).unwrap();
    assert_eq!(response.status, 200, "{}", response.body_text());
    let sent = hex::encode(sent.finalize());
    assert_eq!(
        response.header("etag"),
        Some(format!("\"{sent}\"").as_str())
    );

    let (head, _) = RawRequest::new("GET", "/big/object", &server.address).signed_head();
    let mut stream = server.connect();
    stream.write_all(head.as_bytes()).unwrap();
    let mut reader = BufReader::with_capacity(1 << 20, stream);
    let mut length = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = Some(value.trim().parse::<u64>().unwrap());
        }
    }
    assert_eq!(length, Some(OBJECT_BYTES));
    let mut received = md5::Md5::new();
    let mut remaining = OBJECT_BYTES;
    let mut buffer = vec![0u8; 1 << 20];
    while remaining > 0 {
        let want = remaining.min(buffer.len() as u64) as usize;
        let count = reader.read(&mut buffer[..want]).unwrap();
        assert!(count > 0, "connection closed with {remaining} bytes left");
        received.update(&buffer[..count]);
        remaining -= count as u64;
    }
    assert_eq!(hex::encode(received.finalize()), sent);
    let peak = server.peak_rss_kib();
    assert!(
        peak < PEAK_RSS_KIB_MAX,
        "peak RSS {peak} KiB is over {PEAK_RSS_KIB_MAX} KiB"
    );
    eprintln!("1 GiB round trip: server peak RSS {peak} KiB");
}
