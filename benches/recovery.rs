//! Startup and the startup scrub on a data dir with many file-backed objects: startup is opening
//! the metadata and removing temp files; the scrub (after the cores serve) reads the referenced
//! file ids a directory's share at a time and removes orphans. `RINGSTORE_BENCH_OBJECTS` sets the
//! count (default 1,000,000); `RINGSTORE_BENCH_DATA_DIR` fills that dir (unless it holds a
//! database already) and keeps it, to start a real server on it; run with
//! `cargo bench --bench recovery`.

mod common;

use std::time::Instant;

use ringstore::meta::{CreateBucket, MetaStore, PutCondition, PutObject};
use ringstore::storage::recovery;
use ringstore::storage::{FileId, Layout};

const FILL_BATCH: usize = 50_000;

fn main() {
    let count: usize = std::env::var("RINGSTORE_BENCH_OBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let kept = std::env::var_os("RINGSTORE_BENCH_DATA_DIR").map(std::path::PathBuf::from);
    let dir = tempfile::tempdir_in(".").unwrap();
    let layout = Layout::new(kept.as_deref().unwrap_or(dir.path()));
    layout.create_dirs().unwrap();
    // A kept dir that already holds a database is measured as it is (filling 10,000,000 takes
    // ~10 min).
    if !layout.meta_path().exists() {
        let mut store = MetaStore::open(&layout.meta_path()).unwrap();
        let bucket = CreateBucket(common::bucket("bench"));
        store.apply(&bucket).unwrap();
        let filling = Instant::now();
        for start in (0..count).step_by(FILL_BATCH) {
            let puts: Vec<PutObject> = (start..(start + FILL_BATCH).min(count))
                .map(|index| {
                    let id = FileId::random();
                    std::fs::File::create(layout.object_path(id)).unwrap();
                    PutObject(
                        common::object(format!("object-{index:08}"), id, 0),
                        PutCondition::None,
                    )
                })
                .collect();
            for reply in store.apply_all(&puts) {
                reply.unwrap();
            }
        }
        println!(
            "filled {count} objects (rows + files) in {:.1} s",
            filling.elapsed().as_secs_f64()
        );
    }
    // A crash's debris: temp files and orphans.
    for _ in 0..100 {
        std::fs::File::create(layout.temp_path(FileId::random())).unwrap();
        std::fs::File::create(layout.object_path(FileId::random_from_earlier_run())).unwrap();
    }
    let rss_before = resident_kib();
    let started = Instant::now();
    let store = MetaStore::open(&layout.meta_path()).unwrap();
    let temp_files_removed = recovery::remove_temp_files(&layout).unwrap();
    let opened = started.elapsed();
    drop(store);
    assert_eq!(temp_files_removed, 100);
    let scrubbing = Instant::now();
    let (report, outcome) =
        ringstore::scrub::scrub(&layout, |_, _| panic!("no file is missing"), || {});
    outcome.unwrap();
    let scrubbed = scrubbing.elapsed();
    assert!(report.orphan_files_removed >= 100, "{report:?}");
    assert_eq!(report.files_present, count);
    println!(
        "startup with {count} objects: {:.3} s (metadata opened, temp files removed); scrub \
         after it: {:.2} s ({} rows, {} passes); RSS {} KiB before, {} KiB after",
        opened.as_secs_f64(),
        scrubbed.as_secs_f64(),
        report.rows,
        report.passes,
        rss_before,
        resident_kib()
    );
}

/// This process's resident memory now, from /proc.
fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}
