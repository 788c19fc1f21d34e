//! Runs the AWS SDK for JavaScript v3 suite (tests/js, node's test runner) against a fresh server.
//! tests/setup.sh installs its npm packages with `npm ci` from the committed lock file.

mod common;

use std::process::Command;

#[test]
fn javascript_sdk_v3_suite_passes() {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    assert!(
        directory.join("node_modules/@aws-sdk/client-s3").exists(),
        "tests/js/node_modules is missing: run `bash tests/setup.sh && cargo test --workspace` (it runs npm ci there)"
    );
    let server = common::TestServer::start();
    let output = Command::new("node")
        .arg("--test")
        // A stalled request fails by name rather than hanging the suite (node's default is none).
        .arg("--test-timeout=120000")
        .current_dir(&directory)
        .env("RINGSTORE_ENDPOINT", &server.endpoint)
        .env("RINGSTORE_ACCESS_KEY", common::ACCESS_KEY)
        .env("RINGSTORE_SECRET_KEY", common::SECRET_KEY)
        .output()
        .expect("run node --test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "JavaScript SDK suite failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("# pass 3")
            && stdout.contains("# fail 0")
            && stdout.contains("# skipped 0"),
        "{stdout}"
    );
}
