//! Startup (which is recovery) on a data dir with many objects: opening the metadata, collecting
//! referenced file ids and scanning the object directories for orphans and temp files.
//! `RINGSTORE_BENCH_OBJECTS` sets the count (default 1,000,000); run with `cargo bench --bench recovery`.

mod common;

use std::time::Instant;

use ringstore::meta::{CreateBucket, MetaStore, PutCondition, PutObject};
use ringstore::storage::{recovery, FileId, Layout};

const FILL_BATCH: usize = 50_000;

fn main() {
    let count: usize = std::env::var("RINGSTORE_BENCH_OBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir_in(".").unwrap();
    let layout = Layout::new(dir.path());
    layout.create_dirs().unwrap();
    {
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
        std::fs::File::create(layout.object_path(FileId::random())).unwrap();
    }
    let started = Instant::now();
    let store = MetaStore::open(&layout.meta_path()).unwrap();
    let referenced = store.referenced_file_ids().unwrap();
    let opened = started.elapsed();
    let report = recovery::recover(&layout, &referenced).unwrap();
    let total = started.elapsed();
    assert_eq!(report.temp_files_removed, 100);
    assert_eq!(report.orphan_files_removed, 100);
    assert!(report.missing_files.is_empty());
    println!(
        "startup recovery with {count} objects: {:.2} s total ({:.2} s metadata + ids, {:.2} s directory scan)",
        total.as_secs_f64(),
        opened.as_secs_f64(),
        (total - opened).as_secs_f64()
    );
}
