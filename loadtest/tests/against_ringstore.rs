//! Runs `loadtest` for a few seconds against a ringstore it starts, and checks the report against
//! the server: objects present after a put run, verified GETs, JSON that parses, clear failures.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

struct Server {
    child: Child,
    endpoint: String,
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
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(ringstore_binary())
        .args([
            "--listen",
            "127.0.0.1:0",
            "--cores",
            "1",
            "--log-level",
            "warn",
        ])
        .arg("--data-dir")
        .arg(data.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next().unwrap().unwrap();
    std::thread::spawn(move || for _ in lines {});
    let endpoint = line.trim().rsplit(' ').next().unwrap().to_string();
    Server {
        child,
        endpoint,
        _data: data,
    }
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
    // Goal: --compare runs rounds against both endpoints, prints per-operation ratios, and --plot
    // writes an SVG with one curve per endpoint and operation.
    let (first, second) = (start(), start());
    let svg = tempfile::NamedTempFile::new().unwrap();
    let output = loadtest(
        &first.endpoint,
        &[
            "--compare",
            &second.endpoint,
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
    assert_eq!(
        String::from_utf8_lossy(&output.stderr)
            .matches("round ")
            .count(),
        4
    );
    let drawing = std::fs::read_to_string(svg.path()).unwrap();
    assert!(drawing.starts_with("<svg") && drawing.trim_end().ends_with("</svg>"));
    assert_eq!(drawing.matches("<polyline").count(), 4);
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
