//! Heap allocations per request, server side (issue 25, item 2: "allocations per request, counted
//! with a counting allocator in a bench"). The server runs in this process on one core, under a
//! global allocator that counts every allocation (and its bytes) by the thread that makes it: the
//! core, the metadata thread, the rest. A plain blocking client on the main thread (not counted)
//! sends the same pre-signed request again and again over one keep-alive connection.
//!
//! Run with `cargo bench --bench request_allocations`. The counts are not timed, but not all
//! fixed either: glommio allocates a few times per pass of its loop (its timers, the sources it
//! arms before parking), and how often a core parks between requests depends on what else the
//! machine runs. So the counting is in batches with the fewest reported, and a backtrace of every
//! allocation over a sample of requests splits them by who makes them: ringstore's own are the
//! same from run to run. `ALLOC_SITES=get|head|presigned-get|put` also lists ringstore's own
//! sites for that operation.

use std::alloc::{GlobalAlloc, Layout};
use std::backtrace::Backtrace;
use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use ringstore::config::Config;
use ringstore::s3::auth::{sigv4, Credentials, Secret};

const ACCESS_KEY: &str = "bench-allocations";
const SECRET_KEY: &str = "bench-allocations-secret";
const REGION: &str = "us-east-1";
const BUCKET: &str = "allocations";
const KEY: &str = "some/object-4k.bin";
/// The object's size: the 4 KiB.
const OBJECT_BYTES: usize = 4096;
/// Requests sent before counting (caches filled, buffers grown, signing key derived).
const WARMUP_REQUESTS: u64 = 2_000;
/// Requests counted per operation.
const COUNTED_REQUESTS: u64 = 20_000;
/// Requests whose allocations are attributed (a backtrace each).
const SAMPLED_REQUESTS: u64 = 50;
/// Batches they are counted in (the batch with the fewest allocations is reported).
const BATCHES: u64 = 10;

/// Who made an allocation, from the thread's name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Unknown = 0,
    Core = 1,
    Meta = 2,
    Other = 3,
    /// The bench's own client and set-up: not counted.
    Client = 4,
}
const ROLES: usize = 5;

struct Counters {
    allocations: [AtomicU64; ROLES],
    bytes: [AtomicU64; ROLES],
}

static COUNTERS: Counters = Counters {
    allocations: [const { AtomicU64::new(0) }; ROLES],
    bytes: [const { AtomicU64::new(0) }; ROLES],
};
/// Backtraces of core and metadata allocations are kept while set (`ALLOC_SITES`).
static RECORD_SITES: AtomicBool = AtomicBool::new(false);
static SITES: Mutex<Vec<(&'static str, Backtrace)>> = Mutex::new(Vec::new());

thread_local! {
    static ROLE: Cell<Role> = const { Cell::new(Role::Unknown) };
    /// Set while the allocator itself runs code that allocates (naming the thread, a backtrace).
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// mimalloc (the server binary's allocator), counting.
struct Counting;

static INNER: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn role_of_this_thread() -> Role {
    let role = ROLE.with(Cell::get);
    if role != Role::Unknown {
        return role;
    }
    let role = match std::thread::current().name() {
        Some(name) if name.starts_with("ringstore-core") => Role::Core,
        Some("ringstore-meta") => Role::Meta,
        _ => Role::Other,
    };
    ROLE.with(|cell| cell.set(role));
    role
}

fn count(size: usize) {
    if INSIDE.with(Cell::get) {
        return;
    }
    INSIDE.with(|inside| inside.set(true));
    let role = role_of_this_thread();
    COUNTERS.allocations[role as usize].fetch_add(1, Ordering::Relaxed);
    COUNTERS.bytes[role as usize].fetch_add(size as u64, Ordering::Relaxed);
    if RECORD_SITES.load(Ordering::Relaxed) && matches!(role, Role::Core | Role::Meta) {
        let name = if role == Role::Core { "core" } else { "meta" };
        let trace = Backtrace::force_capture();
        SITES.lock().unwrap().push((name, trace));
    }
    INSIDE.with(|inside| inside.set(false));
}

// SAFETY: every call is forwarded to mimalloc unchanged; counting touches only atomics and
// thread-locals with const initialisers (no allocation while the allocator is entered, except
// the guarded naming and backtrace paths, which `INSIDE` keeps from recursing).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        INNER.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        INNER.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A growth counts as an allocation of what it adds.
        count(new_size.saturating_sub(layout.size()));
        INNER.realloc(pointer, layout, new_size)
    }
    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        INNER.dealloc(pointer, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn snapshot() -> [(u64, u64); ROLES] {
    std::array::from_fn(|role| {
        (
            COUNTERS.allocations[role].load(Ordering::Relaxed),
            COUNTERS.bytes[role].load(Ordering::Relaxed),
        )
    })
}

/// One request's bytes, signed once (the same request is valid to send again: S3 keeps no nonce).
struct Prepared {
    name: &'static str,
    bytes: Vec<u8>,
    /// A HEAD answer's Content-Length describes no body.
    head: bool,
}

fn amz_date_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        now.month() as u8,
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

/// A request signed in its `Authorization` header as the AWS SDKs sign it, with the headers
/// boto3 sends.
fn header_signed(method: &str, path: &str, host: &str, body: &[u8]) -> Vec<u8> {
    let amz_date = amz_date_now();
    let payload_hash = sigv4::sha256_hex(body);
    let signed_headers = vec![
        ("host".to_string(), host.to_string()),
        ("x-amz-content-sha256".to_string(), payload_hash.clone()),
        ("x-amz-date".to_string(), amz_date.clone()),
    ];
    let signed = "host;x-amz-content-sha256;x-amz-date";
    let canonical =
        sigv4::canonical_request(method, path, "", &signed_headers, signed, &payload_hash);
    let scope = format!("{}/{REGION}/s3/aws4_request", &amz_date[..8]);
    let key = sigv4::derive_signing_key(SECRET_KEY, &amz_date[..8], REGION, "s3");
    let signature = sigv4::sign(&key, &sigv4::string_to_sign(&amz_date, &scope, &canonical));
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAccept-Encoding: identity\r\n\
         User-Agent: Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 os/linux#6.1 md/arch#x86_64 \
         lang/python#3.11.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.0\r\n\
         X-Amz-Date: {amz_date}\r\nX-Amz-Content-SHA256: {payload_hash}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{scope}, \
         SignedHeaders={signed}, Signature={signature}\r\n\
         amz-sdk-invocation-id: 6f1b1a54-0b8a-4c0e-9c4a-3b4b8b9d1e2f\r\n\
         amz-sdk-request: attempt=1\r\n"
    );
    if !body.is_empty() || method == "PUT" {
        head.push_str(&format!(
            "Content-Length: {}\r\nContent-Type: application/octet-stream\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A presigned GET as `wrk` sends one (a URL from boto3's `generate_presigned_url`, `Host` only).
fn presigned_get(path: &str, host: &str) -> Vec<u8> {
    let amz_date = amz_date_now();
    let scope = format!("{}/{REGION}/s3/aws4_request", &amz_date[..8]);
    let credential = format!("{ACCESS_KEY}/{scope}");
    let pairs: Vec<(String, String)> = vec![
        ("X-Amz-Algorithm".into(), "AWS4-HMAC-SHA256".into()),
        ("X-Amz-Credential".into(), credential),
        ("X-Amz-Date".into(), amz_date.clone()),
        ("X-Amz-Expires".into(), "86400".into()),
        ("X-Amz-SignedHeaders".into(), "host".into()),
    ];
    let query = sigv4::canonical_query(&pairs);
    let canonical = sigv4::canonical_request(
        "GET",
        path,
        &query,
        &[("host".to_string(), host.to_string())],
        "host",
        "UNSIGNED-PAYLOAD",
    );
    let key = sigv4::derive_signing_key(SECRET_KEY, &amz_date[..8], REGION, "s3");
    let signature = sigv4::sign(&key, &sigv4::string_to_sign(&amz_date, &scope, &canonical));
    format!("GET {path}?{query}&X-Amz-Signature={signature} HTTP/1.1\r\nHost: {host}\r\n\r\n")
        .into_bytes()
}

/// Sends `request` and reads its whole answer into `buffer`, returning the status.
fn exchange(stream: &mut TcpStream, request: &Prepared, buffer: &mut [u8]) -> u16 {
    stream.write_all(&request.bytes).expect("request sent");
    let mut filled = 0;
    let head_end = loop {
        let read = stream.read(&mut buffer[filled..]).expect("answer read");
        assert!(read > 0, "the server closed the connection");
        filled += read;
        if let Some(at) = buffer[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = &buffer[..head_end];
    let status = std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|text| text.parse().ok())
        .expect("a status code");
    let length = if request.head {
        0
    } else {
        content_length(head)
    };
    let mut body = filled - head_end;
    while body < length {
        let read = stream.read(&mut buffer[..]).expect("body read");
        assert!(read > 0, "the server closed the connection mid-body");
        body += read;
    }
    status
}

fn content_length(head: &[u8]) -> usize {
    for line in head.split(|&byte| byte == b'\n') {
        if line.len() > 15 && line[..15].eq_ignore_ascii_case(b"content-length:") {
            let digits = &line[15..];
            return digits
                .iter()
                .filter(|byte| byte.is_ascii_digit())
                .fold(0, |total, byte| total * 10 + usize::from(byte - b'0'));
        }
    }
    0
}

/// Crates whose frames are skipped to find who allocated: the allocator's, std's collections'.
const STD_CRATES: [&str; 4] = ["alloc", "core", "std", "hashbrown"];

/// Who made a recorded allocation: the first frame past the allocator and std's collections,
/// as (`ringstore` or the library's crate name, that frame and the next two of ringstore's own).
fn site_of(trace: &Backtrace) -> (String, String) {
    let text = trace.to_string();
    // Each frame with the crate it is in: `<ringstore::x::Y as z::W>::f` is ringstore's; a
    // std impl for a caller's type (`<T as alloc::string::ToString>`, `<u8 as …>`) names no
    // crate and is skipped, so the caller owns what it allocates.
    let frames: Vec<(&str, &str)> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("at ") && line.contains(": "))
        .map(|line| line.split_once(": ").map_or(line, |(_, name)| name))
        .map(|name| {
            let owner = name
                .trim_start_matches(['<', '&'])
                .split("::")
                .next()
                .unwrap_or_default();
            (owner, name)
        })
        .filter(|(owner, name)| {
            let is_crate = !owner.is_empty()
                && owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && owner.chars().next().is_some_and(|c| c.is_ascii_lowercase());
            is_crate
                && !STD_CRATES.contains(owner)
                && !owner.starts_with("__")
                && !name.contains("request_allocations")
        })
        .collect();
    let Some((owner, _)) = frames.first() else {
        return ("unknown".into(), String::new());
    };
    let path: Vec<&str> = frames.iter().take(3).map(|(_, name)| *name).collect();
    (owner.to_string(), path.join(" <- "))
}

/// Counts the sampled requests' allocations by who made them; with `detail`, lists ringstore's
/// own sites with how many per request.
fn report_sites(requests: u64, detail: bool) {
    let sites = std::mem::take(&mut *SITES.lock().unwrap());
    INSIDE.with(|inside| inside.set(true));
    let mut owners: std::collections::BTreeMap<String, usize> = Default::default();
    let mut own: std::collections::BTreeMap<String, usize> = Default::default();
    for (thread, trace) in &sites {
        let (owner, path) = site_of(trace);
        if owner == "ringstore" {
            *own.entry(format!("[{thread}] {path}")).or_default() += 1;
        }
        *owners.entry(owner).or_default() += 1;
    }
    let per = |count: usize| count as f64 / requests as f64;
    let split: Vec<String> = owners
        .iter()
        .map(|(owner, count)| format!("{owner} {:.1}", per(*count)))
        .collect();
    println!("    by who allocates, per request: {}", split.join(", "));
    if detail {
        let mut own: Vec<(String, usize)> = own.into_iter().collect();
        own.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for (site, count) in own {
            println!("    {:>5.1}  {site}", per(count));
        }
    }
    INSIDE.with(|inside| inside.set(false));
}

fn main() {
    ROLE.with(|role| role.set(Role::Client));
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::with_defaults(
        data_dir.path().to_path_buf(),
        Credentials {
            access_key: ACCESS_KEY.into(),
            secret: Secret::new(SECRET_KEY),
        },
    );
    config.listen = "127.0.0.1:0".parse().expect("address");
    config.cores = 1;
    let (sender, receiver) = std::sync::mpsc::channel::<SocketAddr>();
    std::thread::Builder::new()
        .name("bench-server".into())
        .spawn(move || {
            ringstore::runtime::run(config, move |listening| {
                sender.send(listening.plain).expect("address handed over");
            })
            .expect("server runs");
        })
        .expect("server thread");
    let address = receiver.recv().expect("server listening");
    let host = address.to_string();
    let mut stream = TcpStream::connect(address).expect("connected");
    stream.set_nodelay(true).expect("nodelay");
    let mut buffer = vec![0u8; 1 << 16];
    let object_path = format!("/{BUCKET}/{KEY}");
    let body = vec![0x5au8; OBJECT_BYTES];
    let create_bucket = Prepared {
        name: "CreateBucket",
        bytes: header_signed("PUT", &format!("/{BUCKET}"), &host, b""),
        head: false,
    };
    assert_eq!(exchange(&mut stream, &create_bucket, &mut buffer), 200);
    let operations = [
        (
            "put",
            Prepared {
                name: "PutObject 4 KiB (SigV4 header, signed payload, durable)",
                bytes: header_signed("PUT", &object_path, &host, &body),
                head: false,
            },
        ),
        (
            "get",
            Prepared {
                name: "GetObject 4 KiB (SigV4 header)",
                bytes: header_signed("GET", &object_path, &host, b""),
                head: false,
            },
        ),
        (
            "presigned-get",
            Prepared {
                name: "GetObject 4 KiB (presigned URL, Host only)",
                bytes: presigned_get(&object_path, &host),
                head: false,
            },
        ),
        (
            "head",
            Prepared {
                name: "HeadObject (SigV4 header)",
                bytes: header_signed("HEAD", &object_path, &host, b""),
                head: true,
            },
        ),
    ];
    let sites_of = std::env::var("ALLOC_SITES").ok();
    println!("server-side heap allocations per request, 1 core, {COUNTED_REQUESTS} requests each");
    println!(
        "{:<58} {:>8} {:>8} {:>8} {:>10} {:>8}",
        "operation (batch with the fewest)", "core", "meta", "other", "bytes", "median"
    );
    for (short, request) in &operations {
        for _ in 0..WARMUP_REQUESTS {
            assert_eq!(
                exchange(&mut stream, request, &mut buffer),
                200,
                "{}",
                request.name
            );
        }
        // Batches, the lowest kept: glommio allocates a little per pass of its loop (timers,
        // ring sources), and how many passes a request takes depends on what else the machine
        // runs; the fewest is the request's own cost.
        let mut batches: Vec<([f64; ROLES], f64)> = (0..BATCHES)
            .map(|_| {
                let before = snapshot();
                for _ in 0..COUNTED_REQUESTS / BATCHES {
                    let status = exchange(&mut stream, request, &mut buffer);
                    assert_eq!(status, 200, "{}", request.name);
                }
                let after = snapshot();
                let per = |role: usize| {
                    (after[role].0 - before[role].0) as f64 / (COUNTED_REQUESTS / BATCHES) as f64
                };
                let bytes: u64 = (0..ROLES)
                    .filter(|&role| role != Role::Client as usize)
                    .map(|role| after[role].1 - before[role].1)
                    .sum();
                (
                    std::array::from_fn(per),
                    bytes as f64 / (COUNTED_REQUESTS / BATCHES) as f64,
                )
            })
            .collect();
        let server = |counts: &[f64; ROLES]| counts[1] + counts[2] + counts[3] + counts[0];
        batches.sort_by(|a, b| server(&a.0).total_cmp(&server(&b.0)));
        let (lowest, bytes) = batches[0];
        let (median, _) = batches[(BATCHES as usize - 1) / 2];
        println!(
            "{:<58} {:>8.2} {:>8.2} {:>8.2} {:>10.0} {:>8.2}",
            request.name,
            lowest[Role::Core as usize],
            lowest[Role::Meta as usize],
            lowest[Role::Other as usize] + lowest[Role::Unknown as usize],
            bytes,
            server(&median)
        );
        // Who made them, from a backtrace of each allocation over a few more requests:
        // glommio's share (its timers and ring sources per pass of its loop) varies with how
        // often the core parks, ringstore's does not.
        RECORD_SITES.store(true, Ordering::SeqCst);
        for _ in 0..SAMPLED_REQUESTS {
            let status = exchange(&mut stream, request, &mut buffer);
            assert_eq!(status, 200, "{}", request.name);
        }
        RECORD_SITES.store(false, Ordering::SeqCst);
        report_sites(SAMPLED_REQUESTS, sites_of.as_deref() == Some(*short));
    }
    // The server runs until a signal; the measurement is done.
    std::process::exit(0);
}
