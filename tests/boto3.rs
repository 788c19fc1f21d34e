//! Runs the boto3 suite (tests/python) against the freshly built binary, so `cargo test` covers
//! the Python client too. The interpreter comes from RINGSTORE_PYTHON, else the venv that
//! tests/setup.sh makes (target/test-venv), else `python3`.

use std::process::Command;

#[test]
fn boto3_suite_passes() {
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin/python");
    let python = std::env::var("RINGSTORE_PYTHON").unwrap_or_else(|_| {
        if venv.exists() {
            venv.display().to_string()
        } else {
            "python3".to_string()
        }
    });
    let probe = Command::new(&python)
        .args(["-c", "import boto3, pytest, pytest_timeout"])
        .output();
    let ready = probe
        .as_ref()
        .map(|output| output.status.success())
        .unwrap_or(false);
    assert!(
        ready,
        "{python} cannot import boto3 and pytest; run the suite with `bash tests/setup.sh && cargo test --workspace`, which installs \
         tests/python/requirements.txt into a venv (or set RINGSTORE_PYTHON)"
    );
    let output = Command::new(&python)
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            // A stalled test fails by name (pytest-timeout) rather than hanging CI.
            "--timeout=300",
            "tests/python",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RINGSTORE_BIN", env!("CARGO_BIN_EXE_ringstore"))
        .output()
        .expect("run pytest");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "boto3 suite failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(" passed"), "pytest ran no test:\n{stdout}");
    assert!(
        !stdout.contains("skipped"),
        "boto3 tests were skipped:\n{stdout}"
    );
}
