//! The command line: bad values are one-line usage errors with exit code 2, --help documents
//! every option with its default, and a too-small RLIMIT_MEMLOCK gets a message saying what to change.

use std::os::unix::process::CommandExt;
use std::process::Command;

fn ringstore() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ringstore"))
}

#[test]
fn help_lists_every_option_with_its_default() {
    let output = ringstore().arg("--help").output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for option in [
        "--listen",
        "--data-dir",
        "--cores",
        "--access-key",
        "--secret-key",
        "--region",
        "--domain",
        "--log-level",
    ] {
        assert!(text.contains(option), "--help lacks {option}");
    }
    assert!(text.contains("default 127.0.0.1:9000") && text.contains("RINGSTORE_LISTEN"));
}

#[test]
fn bad_values_exit_2_with_one_line() {
    let data = tempfile::tempdir().unwrap();
    let cases: &[&[&str]] = &[
        &["--listen", "not-an-address"],
        &["--cores", "0"],
        &["--cores", "many"],
        &["--region", "Bad Region"],
        &["--access-key", "a/b"],
        &["--secret-key", "short"],
        &["--log-level", "[["],
        &["--no-such-flag"],
    ];
    for args in cases {
        let output = ringstore()
            .args(*args)
            .arg("--data-dir")
            .arg(data.path())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn environment_variables_configure_the_server() {
    // RINGSTORE_CORES is read like --cores: an invalid value is reported under the flag's name.
    let output = ringstore().env("RINGSTORE_CORES", "zero").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--cores"));
}

#[test]
fn too_little_locked_memory_says_what_to_change() {
    let data = tempfile::tempdir().unwrap();
    let mut command = ringstore();
    command
        .args(["--listen", "127.0.0.1:0", "--cores", "2"])
        .arg("--data-dir")
        .arg(data.path());
    // SAFETY: setrlimit is async-signal-safe; it only lowers the child's own limit.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 1024 * 1024,
                rlim_max: 1024 * 1024,
            };
            if libc::setrlimit(libc::RLIMIT_MEMLOCK, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = command.output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("RLIMIT_MEMLOCK")
            && stderr.contains("ulimit -l")
            && stderr.contains("--cores"),
        "{stderr}"
    );
}
