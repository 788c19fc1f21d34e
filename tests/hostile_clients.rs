//! Hostile clients: slow-header floods and slow bodies are cut off without starving anyone, a
//! reader that stops reading does not grow the server, ten thousand idle connections are held
//! within the limit, and a connection reset mid-upload leaves nothing behind.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{exchange, RawRequest, TestServer};

fn put_head(server: &TestServer, path: &str, length: usize) -> Vec<u8> {
    let (head, _) = RawRequest::new("PUT", path, &server.address)
        .header("content-length", &length.to_string())
        .payload("UNSIGNED-PAYLOAD")
        .signed_head();
    head.into_bytes()
}

fn create_bucket(server: &TestServer, name: &str) {
    let (head, _) = RawRequest::new("PUT", &format!("/{name}"), &server.address).signed_head();
    assert_eq!(exchange(server, head.as_bytes()).status, 200);
}

fn get_status(server: &TestServer, path: &str) -> u16 {
    let (head, _) = RawRequest::new("GET", path, &server.address).signed_head();
    exchange(server, head.as_bytes()).status
}

/// Whether the server has closed `stream` (EOF or reset), without waiting.
fn closed(stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    let result = match (&mut &*stream).read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(error) => error.kind() != std::io::ErrorKind::WouldBlock,
    };
    stream.set_nonblocking(false).unwrap();
    result
}

#[test]
fn slowloris_is_cut_off_without_starving_others() {
    // Goal: 300 connections dribbling an unfinished head hold no core: normal requests on the same
    // single core are served while every slow connection is still open, and the header deadline
    // then closes them all.
    let server = TestServer::start_with_args(&["--cores", "1", "--header-timeout", "3"]);
    let mut slow: Vec<TcpStream> = (0..300)
        .map(|_| {
            let mut stream = server.connect();
            stream
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .unwrap();
            stream
        })
        .collect();
    for stream in &mut slow {
        stream.write_all(b"a").unwrap();
    }
    for _ in 0..20 {
        assert_eq!(get_status(&server, "/"), 200);
    }
    let still_open = slow.iter().filter(|stream| !closed(stream)).count();
    assert_eq!(
        still_open, 300,
        "normal requests were served only after the slow ones went"
    );
    assert!(
        common::eventually(20, || slow.iter().all(closed)),
        "slow-header connections outlived the header deadline"
    );
    assert_eq!(get_status(&server, "/"), 200);
}

#[test]
fn slow_body_and_reset_upload_leave_nothing() {
    // Goal: a PUT whose body stalls fails with 400 RequestTimeout once --body-timeout passes; a
    // PUT reset mid-body by the client; neither leaves a temp file, an object file or a row.
    let server = TestServer::start_with_args(&["--body-timeout", "2"]);
    create_bucket(&server, "slow");
    let mut stalled = server.connect();
    stalled
        .write_all(&put_head(&server, "/slow/stalled", 1 << 20))
        .unwrap();
    stalled.write_all(&[7u8; 4096]).unwrap();
    let mut answer = String::new();
    let _ = stalled.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("<Code>RequestTimeout</Code>"), "{answer}");

    let reset = server.connect();
    let mut writer = &reset;
    writer
        .write_all(&put_head(&server, "/slow/reset", 8 << 20))
        .unwrap();
    writer.write_all(&vec![9u8; 3 << 20]).unwrap();
    // SO_LINGER 0: close sends RST, as a crashed client or a killed proxy does.
    socket2::SockRef::from(&reset)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(reset);
    assert!(common::eventually(10, || server.temp_files().is_empty()));
    assert_eq!(server.stored_objects(), 0);
    assert_eq!(get_status(&server, "/slow/stalled"), 404);
    assert_eq!(get_status(&server, "/slow/reset"), 404);
}

#[test]
fn a_reader_that_stops_reading_does_not_grow_the_server() {
    // Goal: 16 clients that request a 32 MiB object and never read hold the server's memory to its
    // buffers (back-pressure through the socket), not the object.
    let server = TestServer::start();
    create_bucket(&server, "big");
    let body = common::pattern(32 << 20, 3);
    let mut request = put_head(&server, "/big/object", body.len());
    request.extend_from_slice(&body);
    assert_eq!(exchange(&server, &request).status, 200);
    let before_kib = server.rss_kib();
    let stalled: Vec<TcpStream> = (0..16)
        .map(|_| {
            let mut stream = server.connect();
            let (head, _) = RawRequest::new("GET", "/big/object", &server.address).signed_head();
            stream.write_all(head.as_bytes()).unwrap();
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let during_kib = server.rss_kib();
    // 16 × 32 MiB would be 512 MiB; each stalled GET may hold a few DMA blocks.
    assert!(
        during_kib < before_kib + 48 * 1024,
        "RSS grew from {before_kib} KiB to {during_kib} KiB with stalled readers"
    );
    assert_eq!(get_status(&server, "/big/object"), 200);
    drop(stalled);
}

#[test]
fn ten_thousand_idle_connections_are_held_within_the_limit() {
    // Goal: 10,000 idle connections are accepted and held (well under --max-connections), the
    // server's memory stays bounded, a normal request is still answered, and the metrics show
    // them open.
    let server =
        TestServer::start_with_args(&["--max-connections", "6000", "--idle-timeout", "120"]);
    let before_kib = server.rss_kib();
    let idle: Vec<TcpStream> = (0..10_000).map(|_| server.connect()).collect();
    let open = |server: &TestServer| -> u64 {
        let text = exchange(
            server,
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .body_text();
        text.lines()
            .filter(|line| line.starts_with("ringstore_connections_open"))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    };
    assert!(
        common::eventually(20, || open(&server) >= 10_000),
        "only {} connections open",
        open(&server)
    );
    assert_eq!(get_status(&server, "/"), 200);
    let during_kib = server.rss_kib();
    eprintln!(
        "10,000 idle connections: server RSS {before_kib} KiB → {during_kib} KiB ({} bytes each)",
        (during_kib.saturating_sub(before_kib)) * 1024 / 10_000
    );
    // An idle connection holds its task, a 2 KiB read buffer and the pending receive, not a
    // request's state machine or a full-size buffer (about 8 KiB measured; 12 KiB allowed).
    assert!(
        during_kib < before_kib + 10_000 * 12,
        "10,000 idle connections took {} KiB",
        during_kib - before_kib
    );
    drop(idle);
    assert!(common::eventually(20, || open(&server) <= 2));
}
