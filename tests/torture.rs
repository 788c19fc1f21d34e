//! Concurrency torture: many clients writing, overwriting, reading, listing and deleting the same
//! few keys for a bounded time. Every GET returns exactly the bytes of some PUT of that key, a
//! listed key that then reads as missing was deleted meanwhile, and each key ends in a state an
//! operation not followed by another one produced.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use common::{error_code, md5_hex, pattern, TestServer};

/// Clients hammering the keys.
const CLIENT_COUNT: u64 = 12;
/// Keys they share.
const KEY_COUNT: u64 = 6;
/// How long the load runs.
const LOAD_SECONDS: u64 = 6;

/// A completed write: when it ran and what it left (MD5, or `None` for a delete).
#[derive(Clone, Debug)]
struct Write {
    started: Instant,
    ended: Instant,
    result: Option<String>,
}

#[derive(Default)]
struct History {
    /// MD5 of every body ever sent to a key (sent, not necessarily acknowledged).
    sent: HashMap<String, HashSet<String>>,
    /// Acknowledged writes per key.
    writes: HashMap<String, Vec<Write>>,
    /// Keys a listing showed that a GET right after did not find: (key, list start, GET end).
    vanished: Vec<(String, Instant, Instant)>,
}

async fn read(s3: &aws_sdk_s3::Client, key: &str) -> Option<String> {
    match s3.get_object().bucket("torture").key(key).send().await {
        Ok(object) => Some(md5_hex(&object.body.collect().await.unwrap().into_bytes())),
        Err(error) => {
            assert_eq!(
                error_code(&error).as_deref(),
                Some("NoSuchKey"),
                "{error:?}"
            );
            None
        }
    }
}

async fn client(s3: aws_sdk_s3::Client, history: Arc<Mutex<History>>, id: u64, deadline: Instant) {
    let mut rng = fastrand::Rng::with_seed(id);
    let mut attempt = 0u64;
    while Instant::now() < deadline {
        attempt += 1;
        let key = format!("key{}", rng.u64(..KEY_COUNT));
        match rng.u8(..10) {
            0..=3 => {
                let body = pattern(rng.usize(0..200_000), id * 1_000_000 + attempt);
                let digest = md5_hex(&body);
                history
                    .lock()
                    .unwrap()
                    .sent
                    .entry(key.clone())
                    .or_default()
                    .insert(digest.clone());
                let started = Instant::now();
                s3.put_object()
                    .bucket("torture")
                    .key(&key)
                    .body(ByteStream::from(body))
                    .send()
                    .await
                    .unwrap();
                let write = Write {
                    started,
                    ended: Instant::now(),
                    result: Some(digest),
                };
                history
                    .lock()
                    .unwrap()
                    .writes
                    .entry(key)
                    .or_default()
                    .push(write);
            }
            4..=6 => {
                if let Some(digest) = read(&s3, &key).await {
                    let history = history.lock().unwrap();
                    assert!(
                        history
                            .sent
                            .get(&key)
                            .is_some_and(|sent| sent.contains(&digest)),
                        "GET {key} returned bytes no PUT sent"
                    );
                }
            }
            7 => {
                let started = Instant::now();
                let listed = s3.list_objects_v2().bucket("torture").send().await.unwrap();
                for object in listed.contents() {
                    let listed_key = object.key().unwrap().to_string();
                    if read(&s3, &listed_key).await.is_none() {
                        // Judged once the load is over and every delete is logged.
                        history.lock().unwrap().vanished.push((
                            listed_key,
                            started,
                            Instant::now(),
                        ));
                    }
                }
            }
            _ => {
                let started = Instant::now();
                s3.delete_object()
                    .bucket("torture")
                    .key(&key)
                    .send()
                    .await
                    .unwrap();
                let write = Write {
                    started,
                    ended: Instant::now(),
                    result: None,
                };
                history
                    .lock()
                    .unwrap()
                    .writes
                    .entry(key)
                    .or_default()
                    .push(write);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_clients_see_only_whole_writes() {
    // Goal: under many clients overwriting, reading, listing and deleting the same keys, reads
    // return only bytes some PUT sent, listings never show a key that vanishes without a delete
    // in between, and each key's final state is that of a write no later write followed.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("torture").send().await.unwrap();
    let history: Arc<Mutex<History>> = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(LOAD_SECONDS);
    let clients: Vec<_> = (0..CLIENT_COUNT)
        .map(|id| tokio::spawn(client(s3.clone(), history.clone(), id, deadline)))
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    let history = Arc::try_unwrap(history)
        .ok()
        .expect("every client finished")
        .into_inner()
        .unwrap();
    for (key, listed_at, read_at) in &history.vanished {
        let deleted = history.writes.get(key).is_some_and(|writes| {
            writes.iter().any(|write| {
                write.result.is_none() && write.started <= *read_at && write.ended >= *listed_at
            })
        });
        assert!(
            deleted,
            "{key} was listed, then missing, with no delete in between"
        );
    }
    let mut checked = 0;
    for key in (0..KEY_COUNT).map(|index| format!("key{index}")) {
        let Some(writes) = history.writes.get(&key) else {
            continue;
        };
        // The last writes: those no other write started after they ended.
        let finals: Vec<&Write> = writes
            .iter()
            .filter(|write| !writes.iter().any(|later| later.started > write.ended))
            .collect();
        let state = read(&s3, &key).await;
        assert!(
            finals.iter().any(|write| write.result == state),
            "{key} ends as {state:?}, not the result of any of its last writes"
        );
        checked += 1;
    }
    assert!(
        checked == KEY_COUNT as usize,
        "every key was written during the load"
    );
    assert!(
        common::eventually(5, || server.temp_files().is_empty()),
        "temp files left behind"
    );
}
