//! kill -9 in the middle of concurrent uploads and overwrites, then restart: every acknowledged
//! write is there byte for byte, nothing unacknowledged is half-visible, and no debris remains.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use common::{md5_hex, pattern, TestServer};

/// One key's history: writes happen one at a time per key, in order.
#[derive(Default, Clone)]
struct KeyHistory {
    /// MD5 of the last acknowledged write.
    acknowledged: Option<String>,
    /// MD5 of a write sent after it and not acknowledged (in flight at the kill).
    in_flight: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill9_during_concurrent_puts_loses_nothing_acknowledged() {
    let mut server = TestServer::start();
    server
        .client()
        .create_bucket()
        .bucket("crash")
        .send()
        .await
        .unwrap();
    for round in 0..3u64 {
        let s3 = server.client();
        let model: Arc<Mutex<HashMap<String, KeyHistory>>> = Arc::default();
        let mut workers = Vec::new();
        for worker in 0..8u64 {
            let s3 = s3.clone();
            let model = model.clone();
            workers.push(tokio::spawn(async move {
                for attempt in 0u64.. {
                    // A few keys per worker, so overwrites are part of the load.
                    let key = format!("r{round}/w{worker}/k{}", attempt % 4);
                    let size = [1_000usize, 70_000, 300_000, 1_500_000][(attempt % 4) as usize]
                        + attempt as usize;
                    let body = pattern(size, round * 1_000_000 + worker * 1000 + attempt);
                    let digest = md5_hex(&body);
                    model
                        .lock()
                        .unwrap()
                        .entry(key.clone())
                        .or_default()
                        .in_flight = Some(digest.clone());
                    match s3
                        .put_object()
                        .bucket("crash")
                        .key(&key)
                        .body(ByteStream::from(body))
                        .send()
                        .await
                    {
                        Ok(_) => {
                            let mut model = model.lock().unwrap();
                            let history = model.get_mut(&key).unwrap();
                            history.acknowledged = Some(digest);
                            history.in_flight = None;
                        }
                        Err(_) => return,
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(1200 + round * 300)).await;
        server.kill9();
        for worker in workers {
            let _ = worker.await;
        }
        server.restart();
        assert!(
            server.temp_files().is_empty(),
            "temp files survived recovery: {:?}",
            server.temp_files()
        );
        let s3 = server.client();
        let model = model.lock().unwrap().clone();
        let acknowledged = model.values().filter(|h| h.acknowledged.is_some()).count();
        assert!(
            acknowledged > 8,
            "round {round}: too few writes acknowledged ({acknowledged}) to mean anything"
        );
        for (key, history) in &model {
            match s3.get_object().bucket("crash").key(key).send().await {
                Ok(got) => {
                    let digest = md5_hex(&got.body.collect().await.unwrap().into_bytes());
                    let allowed = [history.acknowledged.as_ref(), history.in_flight.as_ref()];
                    assert!(
                        allowed.contains(&Some(&digest)),
                        "round {round}: {key} holds bytes no client wrote"
                    );
                }
                Err(error) => {
                    assert_eq!(
                        common::error_code(&error).as_deref(),
                        Some("NoSuchKey"),
                        "{key}"
                    );
                    assert!(
                        history.acknowledged.is_none(),
                        "round {round}: acknowledged {key} was lost"
                    );
                }
            }
        }
    }
    // Every file on disk is referenced: superseded and orphaned files are gone after the
    // startup scrub.
    server.wait_for_startup_scrub();
    let s3 = server.client();
    let mut visible = 0;
    for round in 0..3 {
        for worker in 0..8 {
            for key in 0..4 {
                if s3
                    .head_object()
                    .bucket("crash")
                    .key(format!("r{round}/w{worker}/k{key}"))
                    .send()
                    .await
                    .is_ok()
                {
                    visible += 1;
                }
            }
        }
    }
    assert_eq!(server.stored_objects(), visible);
}
