//! The dependency rule of ARCHITECTURE.md, checked on the `use` lines of each folder.

use std::path::Path;

fn sources(folder: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(folder);
    let mut files = Vec::new();
    let mut pending = vec![root];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            pending.extend(
                std::fs::read_dir(&path)
                    .unwrap()
                    .map(|entry| entry.unwrap().path()),
            );
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
    assert!(!files.is_empty(), "no sources under src/{folder}");
    files
}

fn assert_never_mentions(folder: &str, forbidden: &[&str]) {
    for (path, text) in sources(folder) {
        for line in text
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
        {
            for needle in forbidden {
                assert!(!line.contains(needle), "{path} uses {needle}: {line}");
            }
        }
    }
}

#[test]
fn storage_and_meta_stay_below_the_protocol() {
    assert_never_mentions("storage", &["crate::s3", "crate::http", "crate::net"]);
    assert_never_mentions("meta", &["crate::s3", "crate::http", "crate::net"]);
}

#[test]
fn operations_touch_no_sockets_or_sql() {
    assert_never_mentions(
        "s3/ops",
        &["glommio", "rusqlite", "TcpStream", "crate::net"],
    );
    assert_never_mentions("http", &["glommio", "crate::s3", "crate::net"]);
}

#[test]
fn every_source_file_opens_with_its_job() {
    for folder in ["", "http", "net", "s3", "storage", "meta", "obs"] {
        for (path, text) in sources(folder) {
            assert!(
                text.starts_with("//!"),
                "{path} does not open with a //! line saying its job"
            );
        }
    }
}
