//! The dependency rule of ARCHITECTURE.md, checked on the `use` lines and paths of each module:
//! every forbidden edge of the picture is one assertion here, so the picture stays true.

use std::path::Path;

/// The `.rs` files under `src/<place>` (a folder, or one file when `place` ends in `.rs`), with
/// their text.
fn sources(place: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(place);
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
    assert!(!files.is_empty(), "no sources under src/{place}");
    files
}

/// Code lines of a file (comments left out, so a comment may name what the code must not use).
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
}

fn assert_never_mentions(place: &str, forbidden: &[&str]) {
    for (path, text) in sources(place) {
        for line in code_lines(&text) {
            for needle in forbidden {
                assert!(!line.contains(needle), "{path} uses {needle}: {line}");
            }
        }
    }
}

/// Every module of the crate except those named, as `crate::<name>` paths.
fn every_module_but(allowed: &[&str]) -> Vec<String> {
    const MODULES: &[&str] = &[
        "admin",
        "admin_api",
        "config",
        "core_state",
        "http",
        "key_file",
        "lifecycle",
        "limits",
        "meta",
        "net",
        "object_bytes",
        "obs",
        "policy",
        "recent",
        "runtime",
        "s3",
        "scrub",
        "secret",
        "service",
        "storage",
        "tier",
    ];
    MODULES
        .iter()
        .filter(|module| !allowed.contains(module))
        .map(|module| format!("crate::{module}"))
        .collect()
}

fn assert_uses_only(place: &str, allowed: &[&str]) {
    let forbidden = every_module_but(allowed);
    let forbidden: Vec<&str> = forbidden.iter().map(String::as_str).collect();
    assert_never_mentions(place, &forbidden);
}

#[test]
fn bottom_modules_use_nothing_above_them() {
    // Goal: the leaf modules every layer shares depend on no other module of the crate.
    assert_uses_only("limits.rs", &[]);
    assert_uses_only("secret.rs", &[]);
    assert_uses_only("key_file.rs", &["secret"]);
    assert_uses_only("object_bytes.rs", &[]);
    assert_uses_only("recent.rs", &["limits"]);
    assert_uses_only("obs", &["limits"]);
    // `tier` for its parsed `--tier` values (`tier::spec`, pure).
    assert_uses_only(
        "config.rs",
        &["limits", "obs", "secret", "lifecycle", "tier"],
    );
    assert_uses_only("tier/spec.rs", &[]);
}

#[test]
fn storage_and_meta_stay_below_the_protocol() {
    // Goal: bytes and metadata know nothing of S3, HTTP or sockets, and meta stores what it is
    // told without reaching into storage (their shared names live in `object_bytes`).
    // `obs` for the removing thread's counters only (`storage::remover`), as `meta` for its own.
    assert_uses_only(
        "storage",
        &["limits", "object_bytes", "obs", "recent", "storage"],
    );
    assert_uses_only(
        "meta",
        &[
            "limits",
            "object_bytes",
            "obs",
            "meta",
            "policy",
            "lifecycle",
        ],
    );
    // The policy engine and the lifecycle rules are pure: no I/O, nothing of the crate but
    // themselves.
    assert_uses_only("policy", &["policy"]);
    assert_uses_only("lifecycle", &["lifecycle"]);
}

#[test]
fn http_is_pure_and_net_knows_no_s3() {
    // Goal: `http` is functions over bytes (no I/O runtime), and `net` serves any `net::Service`
    // without importing what serves it.
    assert_uses_only("http", &["limits", "http"]);
    assert_never_mentions("http", &["glommio"]);
    assert_uses_only("net", &["limits", "http", "core_state", "obs", "net"]);
}

#[test]
fn the_core_state_and_runtime_sit_where_the_picture_puts_them() {
    // Goal: the per-core state is built from the layers below it only; the runtime starts
    // `service` and never reaches into `s3`; the admin endpoints need no S3 type.
    assert_uses_only(
        "core_state.rs",
        &["config", "meta", "obs", "storage", "limits", "tier"],
    );
    assert_never_mentions("runtime.rs", &["crate::s3", "crate::admin", "crate::http"]);
    assert_never_mentions("admin.rs", &["crate::s3", "crate::net", "crate::service"]);
    // The startup scrub is a background thread over the metadata and the disk: no protocol,
    // no sockets, no glommio.
    assert_uses_only("scrub.rs", &["limits", "meta", "obs", "storage"]);
    assert_never_mentions("scrub.rs", &["glommio"]);
}

#[test]
fn the_admin_api_sits_beside_s3() {
    // Goal: the admin API reuses S3's authentication and caches, reaches metadata through
    // `meta::client` commands and bytes through `storage`, and touches no sockets or SQL.
    assert_uses_only(
        "admin_api",
        &[
            "admin_api",
            "s3",
            "meta",
            "http",
            "limits",
            "obs",
            "storage",
        ],
    );
    assert_never_mentions("admin_api", &["glommio", "rusqlite", "TcpStream"]);
}

#[test]
fn operations_touch_no_sockets_or_sql() {
    // Goal: handlers reach bytes through `storage` and metadata through `meta::client` only.
    assert_never_mentions(
        "s3",
        &[
            "glommio",
            "rusqlite",
            "TcpStream",
            "crate::net",
            "crate::runtime",
            "crate::service",
            "crate::admin",
        ],
    );
}

#[test]
fn operation_files_are_leaves() {
    // Goal: a handler file uses the shared request helpers of `s3` (request, resource, payload,
    // grants, object_write, copy_source, xml, …), never another handler file, so operations can
    // be added and removed one file at a time.
    for (path, text) in sources("s3/ops") {
        // `use super::*;` is a unit-test module looking at its own file.
        for line in code_lines(&text).filter(|line| line.trim() != "use super::*;") {
            assert!(
                !line.contains("crate::s3::ops") && !line.contains("super::"),
                "{path} reaches into another handler file: {line}"
            );
            // Units see the handler traits, never the table that lists them.
            assert!(
                !line.contains("s3::operation"),
                "{path} depends on the operation table: {line}"
            );
        }
    }
    // And nothing in `s3` outside the table of operations depends on a handler file.
    for (path, text) in sources("s3") {
        if path.contains("/ops/") || path.ends_with("operation.rs") {
            continue;
        }
        for line in code_lines(&text) {
            assert!(
                !line.contains("ops::") || line.contains("std::ops::"),
                "{path} depends on a handler file: {line}"
            );
        }
    }
}

#[test]
fn xml_is_written_only_by_document_types() {
    // Goal: response XML is built in one place (`s3/xml`: the documents and the error body), so
    // no handler writes S3 XML by hand.
    for (path, text) in sources("") {
        if path.contains("/s3/xml/") {
            continue;
        }
        assert!(
            !code_lines(&text).any(|line| line.contains("XmlBuilder")),
            "{path} builds XML outside s3/xml"
        );
    }
}

#[test]
fn glommio_stays_in_the_io_layers() {
    // Goal: glommio types appear only where I/O happens (runtime, net, storage, meta's client).
    for place in [
        "http",
        "s3",
        "obs",
        "admin.rs",
        "admin_api",
        "service.rs",
        "config.rs",
        "core_state.rs",
    ] {
        assert_never_mentions(place, &["glommio::"]);
    }
    for (path, text) in sources("meta") {
        if !path.ends_with("client.rs") {
            assert!(
                !code_lines(&text).any(|line| line.contains("glommio")),
                "{path} uses glommio"
            );
        }
    }
}

#[test]
fn the_second_runtime_stays_on_the_tier_threads() {
    // Goal: tokio and object_store (issue 24) appear only in the tier threads' own files — the
    // runtime, the mover, the reconciler, the fence, metadata shipping (also run by `ringstore restore` on
    // its own runtime) and the clients they build — never in what a core runs (the core side
    // of `tier` speaks futures channels only), so no core polls or blocks on that runtime.
    for (path, text) in sources("") {
        let on_tier_threads = [
            "tier/thread.rs",
            "tier/mover.rs",
            "tier/connect.rs",
            "tier/metadata_shipping.rs",
            "tier/reconciler.rs",
            "tier/fence.rs",
            "tier/tiers.rs",
            "tier/upload.rs",
            "tier/reads.rs",
        ]
        .iter()
        .any(|file| path.ends_with(file));
        if on_tier_threads {
            continue;
        }
        for line in code_lines(&text) {
            for needle in ["tokio", "object_store::"] {
                assert!(!line.contains(needle), "{path} uses {needle}: {line}");
            }
        }
    }
    // The tier layer sits below the protocol: it never knows S3, HTTP or sockets.
    assert_uses_only(
        "tier",
        &["tier", "meta", "storage", "object_bytes", "limits"],
    );
}

#[test]
fn every_source_file_opens_with_its_job() {
    for folder in [
        "",
        "tier",
        "admin_api",
        "http",
        "net",
        "s3",
        "storage",
        "meta",
        "obs",
    ] {
        for (path, text) in sources(folder) {
            assert!(
                text.starts_with("//!"),
                "{path} does not open with a //! line saying its job"
            );
        }
    }
}

#[test]
fn every_row_write_counts_usage() {
    // Goal: bucket usage (and so quotas) stays exact: a file of `meta` that inserts or deletes
    // rows of `objects` or `versions` also counts them (`usage::count`); the schema's migrations
    // and the unit tests, which set rows up directly, are the exceptions.
    let writes = [
        "INTO objects ",
        "INTO versions ",
        "DELETE FROM objects ",
        "DELETE FROM versions ",
    ];
    for (path, text) in sources("meta") {
        if path.ends_with("schema.rs") || path.ends_with("_tests.rs") {
            continue;
        }
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let writes_rows = code_lines(code).any(|line| writes.iter().any(|w| line.contains(w)));
        if writes_rows {
            assert!(
                code.contains("usage::count("),
                "{path} writes object or version rows without counting them in usage::count"
            );
        }
        // A savepoint rolled back undoes rows; the counts of those rows must go too.
        if code_lines(code).any(|line| line.contains("ROLLBACK TO")) {
            assert!(
                code.contains("restore_pending("),
                "{path} rolls a savepoint back without restoring the usage counts"
            );
        }
    }
}
