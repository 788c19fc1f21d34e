//! The metadata thread from a glommio core: latency of one read round trip, one durable write
//! (its own commit), and throughput of 64 concurrent writers sharing group commits.
//! Run with `cargo bench --bench meta_round_trip`.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use glommio::{LocalExecutorBuilder, Placement};
use ringstore::meta::{thread, MetaClient, MetaStore, ObjectRecord, PutCondition};
use ringstore::obs::metrics::MetaMetrics;
use ringstore::storage::FileId;

const READS: usize = 20_000;
const SERIAL_WRITES: usize = 300;
const CONCURRENT_WRITERS: usize = 64;
const WRITES_PER_WRITER: usize = 50;

fn record(key: String) -> ObjectRecord {
    common::object(key, FileId::random(), 4096)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir_in(".").unwrap();
    let store = MetaStore::open(&dir.path().join("meta.sqlite")).unwrap();
    let (sender, receiver) = crossbeam_channel::bounded(8192);
    let metrics = Arc::new(MetaMetrics::default());
    let generations = Arc::new(ringstore::meta::Generations::default());
    let _thread = thread::spawn(store, receiver, metrics.clone(), generations.clone()).unwrap();
    let client = MetaClient::new(sender, generations);
    let handle = LocalExecutorBuilder::new(Placement::Unbound)
        .io_memory(64 << 10)
        .spawn(move || async move {
            let bucket = common::bucket("bench");
            client.create_bucket(bucket).await.unwrap();
            let mut reads = Vec::with_capacity(READS);
            for _ in 0..READS {
                let started = Instant::now();
                client.get_bucket("bench".into()).await.unwrap();
                reads.push(started.elapsed());
            }
            let mut writes = Vec::with_capacity(SERIAL_WRITES);
            for index in 0..SERIAL_WRITES {
                let started = Instant::now();
                client
                    .put_object(record(format!("serial-{index}")), PutCondition::None)
                    .await
                    .unwrap();
                writes.push(started.elapsed());
            }
            let started = Instant::now();
            let tasks: Vec<_> = (0..CONCURRENT_WRITERS)
                .map(|writer| {
                    let client = client.clone();
                    glommio::spawn_local(async move {
                        for index in 0..WRITES_PER_WRITER {
                            client
                                .put_object(
                                    record(format!("w{writer}-{index}")),
                                    PutCondition::None,
                                )
                                .await
                                .unwrap();
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await;
            }
            (median(reads), median(writes), started.elapsed())
        })
        .unwrap();
    let (read, write, concurrent) = handle.join().unwrap();
    let concurrent_writes = (CONCURRENT_WRITERS * WRITES_PER_WRITER) as f64;
    println!(
        "metadata read round trip (GetBucket), median:        {:>8.1} µs",
        read.as_secs_f64() * 1e6
    );
    println!(
        "metadata durable write alone (PutObject), median:    {:>8.1} µs",
        write.as_secs_f64() * 1e6
    );
    println!(
        "{CONCURRENT_WRITERS} concurrent writers: {:.0} durable writes/s, largest group commit {} ops",
        concurrent_writes / concurrent.as_secs_f64(),
        metrics.batch_size_max.load(Ordering::Relaxed)
    );
}
