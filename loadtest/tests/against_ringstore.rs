//! Runs `loadtest` for a few seconds against a ringstore it starts, and checks the report against
//! the server: objects present after a put run, verified GETs, JSON that parses, clear failures.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

struct Server {
    child: Child,
    endpoint: String,
    /// The `https://` endpoint, when started with TLS.
    tls_endpoint: Option<String>,
    _data: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ringstore_binary() -> PathBuf {
    // Built by `cargo test --workspace` for ringstore's own integration tests.
    let path = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("ringstore");
    assert!(
        path.exists(),
        "{} is missing: run the workspace tests (`bash tests/setup.sh && cargo test --workspace`)",
        path.display()
    );
    path
}

fn start() -> Server {
    start_with(&[])
}

/// Starts ringstore with `extra` arguments; with `--listen-tls` it prints a second endpoint.
fn start_with(extra: &[&str]) -> Server {
    start_logging_to(extra, None)
}

/// Starts ringstore; with `log`, every request's JSON event goes to that file.
fn start_logging_to(extra: &[&str], log: Option<&std::path::Path>) -> Server {
    let data = tempfile::tempdir().unwrap();
    let mut command = Command::new(ringstore_binary());
    command
        .args(["--listen", "127.0.0.1:0", "--cores", "1"])
        .args(extra)
        .arg("--data-dir")
        .arg(data.path())
        .stdout(Stdio::piped());
    match log {
        Some(path) => command
            .args(["--log-level", "info", "--log-format", "json"])
            .stderr(std::fs::File::create(path).unwrap()),
        None => command.args(["--log-level", "warn"]),
    };
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut endpoint_line = || {
        let line = lines.next().unwrap().unwrap();
        line.trim().rsplit(' ').next().unwrap().to_string()
    };
    let endpoint = endpoint_line();
    let tls_endpoint = extra.contains(&"--listen-tls").then(endpoint_line);
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        endpoint,
        tls_endpoint,
        _data: data,
    }
}

/// A test CA and a leaf for 127.0.0.1 it signed, as PEM files: (ca, cert, key).
fn certificates(directory: &std::path::Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let paths = (
        directory.join("ca.pem"),
        directory.join("cert.pem"),
        directory.join("key.pem"),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, leaf.pem()).unwrap();
    std::fs::write(&paths.2, leaf_key.serialize_pem()).unwrap();
    paths
}

fn loadtest(endpoint: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_loadtest"))
        .arg("--endpoint")
        .arg(endpoint)
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

#[test]
fn put_run_counts_match_the_server_and_json_parses() {
    let server = start();
    let json = tempfile::NamedTempFile::new().unwrap();
    let output = loadtest(
        &server.endpoint,
        &[
            "--op",
            "put",
            "--ops",
            "300",
            "--keys",
            "100000",
            "--key-order",
            "sequential",
            "--connections",
            "4",
            "--bucket",
            "counted",
            "--json",
            json.path().to_str().unwrap(),
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json.path()).unwrap()).unwrap();
    let put = &report["operations"][0];
    assert_eq!(put["op"], "put");
    assert_eq!(put["count"], 300);
    assert!(put["histogram_us"].as_array().unwrap().len() > 1);
    // The server holds exactly the 300 distinct keys written (sequential keys, no repeats).
    let list = loadtest(
        &server.endpoint,
        &[
            "--op",
            "list",
            "--ops",
            "1",
            "--bucket",
            "counted",
            "--connections",
            "1",
        ],
    );
    assert!(list.status.success());
    // Counted in the server's own metadata (4 KiB objects are stored inline, not as files).
    let metadata = rusqlite::Connection::open_with_flags(
        server._data.path().join("meta.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let rows: i64 = metadata
        .query_row(
            "SELECT count(*) FROM objects WHERE bucket = 'counted'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(rows, 300);
}

#[test]
fn mixed_run_with_verification_has_no_errors() {
    let server = start();
    let output = loadtest(
        &server.endpoint,
        &[
            "--op",
            "get=70,put=20,delete=5,list=5",
            "--size",
            "1KiB-32KiB",
            "--duration",
            "2",
            "--warmup",
            "0",
            "--keys",
            "50",
            "--verify",
            "--connections",
            "4",
        ],
    );
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{table}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for op in ["get", "put", "delete", "list"] {
        assert!(
            table.lines().any(|line| line.starts_with(op)),
            "{op} missing from\n{table}"
        );
    }
    assert!(!table.contains("error "), "errors reported:\n{table}");
}

#[test]
fn wrong_endpoint_or_credentials_stop_early_and_clearly() {
    let server = start();
    let wrong_key = loadtest(
        &server.endpoint,
        &["--secret-key", "not-the-secret", "--duration", "1"],
    );
    assert!(!wrong_key.status.success());
    assert!(String::from_utf8_lossy(&wrong_key.stderr).contains("SignatureDoesNotMatch"));
    let nowhere = loadtest("http://127.0.0.1:1", &["--duration", "1"]);
    assert!(!nowhere.status.success());
    assert!(String::from_utf8_lossy(&nowhere.stderr).contains("cannot connect"));
}

#[test]
fn compare_alternates_endpoints_and_plots() {
    // Goal: --compare --slice-ms 0 runs rounds against both endpoints in ABBA order, prints per-operation
    // ratios and each server's CPU time per operation, and --plot writes an SVG with one curve per
    // endpoint and operation.
    let (first, second) = (start(), start());
    let svg = tempfile::NamedTempFile::new().unwrap();
    let (first_pid, second_pid) = (first.child.id().to_string(), second.child.id().to_string());
    let output = loadtest(
        &first.endpoint,
        &[
            "--compare",
            &second.endpoint,
            "--slice-ms",
            "0",
            "--server-pid",
            &first_pid,
            "--compare-server-pid",
            &second_pid,
            "--settle",
            "0",
            "--rounds",
            "2",
            "--duration",
            "1",
            "--warmup",
            "0",
            "--op",
            "get=50,put=50",
            "--keys",
            "20",
            "--connections",
            "2",
            "--plot",
            svg.path().to_str().unwrap(),
        ],
    );
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{table}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        table.contains("A/B")
            && table.lines().any(|l| l.starts_with("get"))
            && table.lines().any(|l| l.starts_with("put")),
        "{table}"
    );
    let order: Vec<String> = String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter_map(|line| line.strip_prefix("round "))
        .map(|line| line.split(": ").next().unwrap().to_string())
        .collect();
    assert_eq!(
        order,
        [
            format!("1 {}", first.endpoint),
            format!("1 {}", second.endpoint),
            format!("2 {}", second.endpoint),
            format!("2 {}", first.endpoint),
        ]
    );
    // Each server did work in the measured phase, so both CPU figures are positive.
    let cpu_line = table
        .lines()
        .find(|line| line.starts_with("server CPU µs/op:"))
        .unwrap_or_else(|| panic!("no server CPU line in {table}"));
    let figures: Vec<f64> = cpu_line
        .split_whitespace()
        .filter_map(|word| word.parse().ok())
        .collect();
    assert_eq!(figures.len(), 3, "{cpu_line}");
    assert!(figures[0] > 0.0 && figures[1] > 0.0, "{cpu_line}");
    let drawing = std::fs::read_to_string(svg.path()).unwrap();
    assert!(drawing.starts_with("<svg") && drawing.trim_end().ends_with("</svg>"));
    assert_eq!(drawing.matches("<polyline").count(), 4);
}

/// The times (RFC 3339 text, which sorts as time does) of the request events in a JSON log.
fn request_times(log: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|event| event["message"] == "request")
        .filter_map(|event| event["timestamp"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn compare_in_slices_takes_turns_on_both_endpoints() {
    // Goal: --slice-ms runs both endpoints in one run, taking turns slice by slice (A B B A …):
    // merged by time, the two servers' request logs change hands about once per slice, where
    // back-to-back runs would change hands once or twice; each side gets the same measured time;
    // --ops cannot be combined with it.
    let pair = LoggingPair::start();
    let output = pair.compare_gets(&["--slice-ms", "100", "--duration", "2"]);
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{table}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(table.lines().any(|l| l.starts_with("get")), "{table}");
    // 4 s of 100 ms slices ordered A B B A hand over every other slice: ~20 changes. A turn's
    // last requests may finish in the next one (a few more per change); prepare adds one. Both
    // sides at once would change hands thousands of times; back to back, once or twice.
    let (changes, sides) = pair.hand_overs();
    assert!(
        (12..=120).contains(&changes),
        "{changes} changes of hands: {sides}"
    );
    let refused = pair.compare_gets(&["--slice-ms", "100", "--ops", "10"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--ops"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

/// Two servers logging their requests to files, for comparisons of GETs between them.
struct LoggingPair {
    first: Server,
    second: Server,
    first_log: PathBuf,
    second_log: PathBuf,
    _logs: tempfile::TempDir,
}

impl LoggingPair {
    fn start() -> Self {
        let logs = tempfile::tempdir().unwrap();
        let (first_log, second_log) = (logs.path().join("a.log"), logs.path().join("b.log"));
        LoggingPair {
            first: start_logging_to(&[], Some(&first_log)),
            second: start_logging_to(&[], Some(&second_log)),
            first_log,
            second_log,
            _logs: logs,
        }
    }

    /// `loadtest --compare` of GETs over 20 keys and 2 connections, one round, no warmup, no
    /// settle, plus `extra`.
    fn compare_gets(&self, extra: &[&str]) -> std::process::Output {
        let mut args = vec![
            "--compare",
            &self.second.endpoint,
            "--rounds",
            "1",
            "--warmup",
            "0",
            "--settle",
            "0",
            "--op",
            "get",
            "--keys",
            "20",
            "--connections",
            "2",
        ];
        args.extend_from_slice(extra);
        loadtest(&self.first.endpoint, &args)
    }

    /// How often the two request logs change hands, merged by time, and the merged sides ('A' for
    /// the first server, 'B' for the second).
    fn hand_overs(&self) -> (usize, String) {
        // The prepare phase's PUTs come first on each server; the turns are the GETs after them.
        std::thread::sleep(std::time::Duration::from_millis(300));
        let mut events: Vec<(String, char)> = request_times(&self.first_log)
            .into_iter()
            .map(|time| (time, 'A'))
            .chain(
                request_times(&self.second_log)
                    .into_iter()
                    .map(|time| (time, 'B')),
            )
            .collect();
        events.sort();
        let sides: String = events.iter().map(|(_, side)| *side).collect();
        let changes = sides
            .as_bytes()
            .windows(2)
            .filter(|pair| pair[0] != pair[1])
            .count();
        (changes, sides)
    }
}

#[test]
fn compare_takes_turns_unless_told_or_unable() {
    // Goal: --compare without --slice-ms takes turns in 200 ms slices (whole runs one after the
    // other put identical servers up to 9 % apart on a shared VM); with --ops, which needs whole
    // runs, it runs them in rounds (slices would refuse --ops).
    let pair = LoggingPair::start();
    let succeeded = |output: std::process::Output| {
        assert!(
            output.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    };
    succeeded(pair.compare_gets(&["--duration", "2"]));
    // 4 s of 200 ms turns ordered A B B A: ~10 changes of hands; back to back, one or two.
    let (changes, sides) = pair.hand_overs();
    assert!(
        (6..=120).contains(&changes),
        "{changes} changes of hands: {sides}"
    );
    succeeded(pair.compare_gets(&["--ops", "40"]));
}

#[test]
fn rate_offers_a_fixed_schedule_and_counts_stalls_in_full() {
    // Goal: --rate is an open loop: the run offers rate × duration requests whatever the server
    // does, and a server that stops for 500 ms makes every request scheduled in that time late,
    // not just the few in flight (no coordinated omission): with a quarter of a 2 s run stalled,
    // p90 is at least 100 ms, where a closed loop would show the stall in p99 at most.
    let server = start();
    let json = tempfile::NamedTempFile::new().unwrap();
    let pid = server.child.id() as i32;
    let stopper = std::thread::spawn(move || {
        // The prepare phase writes 20 keys first; the measured phase follows at once.
        std::thread::sleep(std::time::Duration::from_millis(1200));
        // SAFETY: stops and resumes our own child process.
        unsafe { libc::kill(pid, libc::SIGSTOP) };
        std::thread::sleep(std::time::Duration::from_millis(500));
        unsafe { libc::kill(pid, libc::SIGCONT) };
    });
    let output = loadtest(
        &server.endpoint,
        &[
            "--op",
            "get",
            "--keys",
            "20",
            "--rate",
            "200",
            "--duration",
            "2",
            "--warmup",
            "0",
            "--connections",
            "4",
            "--json",
            json.path().to_str().unwrap(),
        ],
    );
    stopper.join().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json.path()).unwrap()).unwrap();
    let get = &report["operations"][0];
    let count = get["count"].as_u64().unwrap();
    assert!(
        (360..=440).contains(&count),
        "{count} requests, offered 400"
    );
    let p90 = get["latency_ms"]["p90"].as_f64().unwrap();
    assert!(
        p90 >= 100.0,
        "p90 {p90} ms: the stall was not counted in full"
    );
    let refused = loadtest(&server.endpoint, &["--rate", "0"]);
    assert!(!refused.status.success());
}

#[test]
fn compare_no_prepare_reads_objects_already_there() {
    // Goal: --compare-no-prepare leaves the second endpoint untouched (no bucket creation, no
    // writes): against a server whose bucket is missing every GET fails and the run says so;
    // once the keys exist (written by a put run), the same reads succeed.
    let (first, second) = (start(), start());
    let compare = |extra: &[&str]| {
        let mut args = vec![
            "--compare",
            &second.endpoint,
            "--compare-no-prepare",
            "--rounds",
            "1",
            "--duration",
            "1",
            "--warmup",
            "0",
            "--op",
            "get",
            "--keys",
            "10",
            "--connections",
            "2",
        ];
        args.extend_from_slice(extra);
        loadtest(&first.endpoint, &args)
    };
    let missing = compare(&[]);
    assert!(
        !missing.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&missing.stdout),
        String::from_utf8_lossy(&missing.stderr)
    );
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no request succeeded"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    let filled = loadtest(
        &second.endpoint,
        &[
            "--op",
            "put",
            "--keys",
            "10",
            "--ops",
            "10",
            "--key-order",
            "sequential",
            "--connections",
            "1",
            "--warmup",
            "0",
        ],
    );
    assert!(filled.status.success());
    let output = compare(&[]);
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{table}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(table.lines().any(|l| l.starts_with("get")), "{table}");
}

#[test]
fn https_endpoints_put_and_verify_large_bodies() {
    // Goal: --tls-ca and https:// endpoints; every body leaves in full (TLS holds the tail of a
    // write until flushed, so a missing flush stalls a PUT until the server's body timeout, made
    // 5 s here so a stall shows as errors, not as a slow pass).
    let files = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(files.path());
    let server = start_with(&[
        "--listen-tls",
        "127.0.0.1:0",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--body-timeout",
        "5",
    ]);
    let https = server.tls_endpoint.clone().unwrap();
    assert!(https.starts_with("https://"));
    for (op, extra) in [("put", None), ("get", Some("--verify"))] {
        let mut args = vec![
            "--tls-ca",
            ca.to_str().unwrap(),
            "--op",
            op,
            "--size",
            "16MiB",
            "--keys",
            "4",
            "--ops",
            "12",
            "--connections",
            "2",
            "--bucket",
            "secure",
        ];
        args.extend(extra);
        let output = loadtest(&https, &args);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{op}: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let summary = stdout
            .lines()
            .find(|line| line.starts_with(op))
            .unwrap_or_else(|| panic!("no {op} line in {stdout}"));
        let fields: Vec<&str> = summary.split_whitespace().collect();
        assert_eq!(fields[1], "12", "{summary}");
        assert_eq!(fields[4], "0", "errors in {summary}");
    }
    // Without the CA the handshake is refused, and the message says why.
    let refused = loadtest(&https, &["--op", "put", "--ops", "1"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--tls-ca"));
}
