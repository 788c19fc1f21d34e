//! The command line: bad values are one-line usage errors with exit code 2, --help documents
//! every option with its default, and a too-small RLIMIT_MEMLOCK gets a message saying what to change.

use std::os::unix::process::CommandExt;
use std::process::Command;

fn ringstore() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ringstore"))
}

/// A server on a free loopback port over `data_dir`, logging warnings and errors only.
fn server(data_dir: &std::path::Path, cores: &str) -> Command {
    let mut command = ringstore();
    command
        .args([
            "--listen",
            "127.0.0.1:0",
            "--cores",
            cores,
            "--log-level",
            "warn",
        ])
        .arg("--data-dir")
        .arg(data_dir);
    command
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
        "--region-any",
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

#[test]
fn few_file_descriptors_warn_and_the_server_recovers() {
    // Goal: with RLIMIT_NOFILE far below what --max-connections allows, the server says so at
    // startup (naming the limit and what to change), keeps running while clients hold more
    // connections than it has descriptors, and serves again once they close.
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::Stdio;
    let data = tempfile::tempdir().unwrap();
    let mut command = server(data.path(), "1");
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; it only lowers the child's own limit.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 96,
                rlim_max: 96,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let address = first.rsplit("http://").next().unwrap().trim().to_string();
    std::thread::spawn(move || for _ in lines {});
    let health = |address: &str| {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response
    };
    assert!(health(&address).starts_with("HTTP/1.1 200"));
    let held: Vec<std::net::TcpStream> = (0..150)
        .map(|_| std::net::TcpStream::connect(&address).unwrap())
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "server exited");
    drop(held);
    let mut served = false;
    for _ in 0..50 {
        if health(&address).starts_with("HTTP/1.1 200") {
            served = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Log lines reach stderr through the logging thread (at most IDLE_WAIT, 20 ms, later); give
    // it time before the kill, which would lose what its rings still hold.
    std::thread::sleep(std::time::Duration::from_millis(500));
    child.kill().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    child.wait().unwrap();
    assert!(served, "no answer after the connections closed\n{stderr}");
    assert!(
        stderr.contains("RLIMIT_NOFILE") && stderr.contains("needed=8512"),
        "{stderr}"
    );
    // The held connections really ran it out of descriptors, for ~30 retries; the log says so once
    // (at most once per ACCEPT_FAILURE_LOG_INTERVAL_MS) and again when accepting works again.
    let failed_lines = stderr.matches("accept failed").count();
    assert!(
        (1..=2).contains(&failed_lines),
        "{failed_lines} lines:\n{stderr}"
    );
    assert!(stderr.contains("accepting again"), "{stderr}");
}

#[test]
fn a_second_server_on_the_same_port_is_refused() {
    // Goal: SO_REUSEPORT must not let a second ringstore (another data dir) join the first one's
    // port and silently take half its connections: the second start fails with a clear message.
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let (first_data, second_data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut first = server(first_data.path(), "2")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let line = BufReader::new(first.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    let address = line.rsplit("http://").next().unwrap().trim().to_string();
    let mut second = ringstore()
        .args(["--listen", &address, "--cores", "1", "--log-level", "warn"])
        .arg("--data-dir")
        .arg(second_data.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            second.kill().unwrap();
            second.wait().unwrap();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    first.kill().unwrap();
    first.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut stderr).unwrap();
    let status =
        status.unwrap_or_else(|| panic!("the second server started and kept running\n{stderr}"));
    assert!(!status.success());
    assert!(
        stderr.contains("cannot listen") && stderr.contains(&address),
        "{stderr}"
    );
}
