//! `--op multipart`: whole multipart uploads with parts in flight on their own connections.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use glommio::{LocalExecutorBuilder, Placement};
use hdrhistogram::Histogram;
use ringstore::s3::auth::sigv4;

use crate::client::{amz_date_now, error_code, xml_value, Connection, Target};
use crate::{parse_size, Args};

/// `--op multipart`: whole multipart uploads of `--size` in parts of `--part-size`, with
/// `--parts-in-flight` parts on their own connections; reports MB/s and completion latency.
pub fn run_multipart(args: &Args) -> Result<()> {
    let object_bytes = parse_size(&args.size)?;
    let part_bytes = parse_size(&args.part_size)?;
    let part_count = object_bytes.div_ceil(part_bytes).max(1);
    let (address, tls) = crate::client::endpoint_address(&args.endpoint, args.tls_ca.as_deref())?;
    let date = amz_date_now()[..8].to_string();
    let signing_key = sigv4::derive_signing_key(&args.secret_key, &date, &args.region, "s3");
    let (access_key, region, bucket, in_flight, duration) = (
        args.access_key.clone(),
        args.region.clone(),
        args.bucket.clone(),
        args.parts_in_flight.max(1),
        args.duration,
    );
    let handle = LocalExecutorBuilder::new(Placement::Unbound)
        .io_memory(64 << 10)
        .spawn(move || async move {
            let target = Rc::new(Target {
                host: address.clone(),
                address,
                tls: tls.map(futures_rustls::TlsConnector::from),
                access_key,
                region,
                signing_key,
                date,
            });
            let body = Rc::new(
                (0..part_bytes)
                    .map(|i| (i as u32).wrapping_mul(2_654_435_761) as u8)
                    .collect::<Vec<u8>>(),
            );
            let mut control = Connection::open(&target).await?;
            let (status, _, text) = control
                .exchange(
                    &target.head("PUT", &format!("/{bucket}"), sigv4::EMPTY_SHA256_HEX, None),
                    &[],
                    false,
                )
                .await?;
            if status >= 300
                && !text.contains("BucketAlreadyOwnedByYou")
                && !text.contains("BucketAlreadyExists")
            {
                bail!(
                    "cannot create bucket {bucket}: HTTP {status} {}",
                    error_code(&text)
                );
            }
            let mut connections = Vec::new();
            for _ in 0..in_flight {
                connections.push(Connection::open(&target).await?);
            }
            let end = Instant::now() + Duration::from_secs(duration);
            let mut objects = 0u64;
            let mut upload_seconds = 0f64;
            let mut completions = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).unwrap();
            while Instant::now() < end || objects == 0 {
                let path = format!("/{bucket}/multipart-{objects:06}");
                let started = Instant::now();
                let (status, _, text) = control
                    .exchange(
                        &target.head_with_query(
                            "POST",
                            &path,
                            "uploads=",
                            sigv4::EMPTY_SHA256_HEX,
                            None,
                        ),
                        &[],
                        false,
                    )
                    .await?;
                let upload_id = xml_value(&text, "UploadId")
                    .filter(|_| status < 300)
                    .with_context(|| {
                        format!("CreateMultipartUpload: HTTP {status} {}", error_code(&text))
                    })?;
                let next = Rc::new(std::cell::Cell::new(1usize));
                let etags = Rc::new(RefCell::new(vec![String::new(); part_count]));
                let mut tasks = Vec::new();
                for mut connection in connections.drain(..) {
                    let (target, body, next, etags, path, upload_id) = (
                        target.clone(),
                        body.clone(),
                        next.clone(),
                        etags.clone(),
                        path.clone(),
                        upload_id.clone(),
                    );
                    tasks.push(glommio::spawn_local(async move {
                        loop {
                            let number = next.get();
                            if number > part_count {
                                return Ok::<_, anyhow::Error>(connection);
                            }
                            next.set(number + 1);
                            let length = if number == part_count {
                                object_bytes - part_bytes * (part_count - 1)
                            } else {
                                part_bytes
                            };
                            let query = format!("partNumber={number}&uploadId={upload_id}");
                            let head = target.head_with_query(
                                "PUT",
                                &path,
                                &query,
                                "UNSIGNED-PAYLOAD",
                                Some(length),
                            );
                            let (status, _, text) = connection
                                .exchange_with_etag(&head, &body[..length])
                                .await?;
                            let etag = text
                                .filter(|_| status < 300)
                                .with_context(|| format!("UploadPart {number}: HTTP {status}"))?;
                            etags.borrow_mut()[number - 1] = etag;
                        }
                    }));
                }
                for task in tasks {
                    connections.push(task.await?);
                }
                let mut xml = String::from("<CompleteMultipartUpload>");
                for (index, etag) in etags.borrow().iter().enumerate() {
                    xml.push_str(&format!(
                        "<Part><PartNumber>{}</PartNumber><ETag>{etag}</ETag></Part>",
                        index + 1
                    ));
                }
                xml.push_str("</CompleteMultipartUpload>");
                // The control connection idled while parts went up; servers close idle ones.
                control = Connection::open(&target).await?;
                let completing = Instant::now();
                let head = target.head_with_query(
                    "POST",
                    &path,
                    &format!("uploadId={upload_id}"),
                    &sigv4::sha256_hex(xml.as_bytes()),
                    Some(xml.len()),
                );
                let (status, _, text) = control.exchange(&head, xml.as_bytes(), false).await?;
                if status >= 300 {
                    bail!(
                        "CompleteMultipartUpload: HTTP {status} {}",
                        error_code(&text)
                    );
                }
                let _ = completions.record(completing.elapsed().as_micros() as u64);
                upload_seconds += started.elapsed().as_secs_f64();
                objects += 1;
            }
            Ok((objects, upload_seconds, completions))
        })
        .map_err(|error| anyhow::anyhow!("start executor: {error}"))?;
    let (objects, seconds, completions) = handle
        .join()
        .map_err(|error| anyhow::anyhow!("executor: {error}"))??;
    println!(
        "multipart {} in {} parts of {} x{} in flight: {} objects, {:.1} MB/s",
        args.size,
        part_count,
        args.part_size,
        in_flight,
        objects,
        (objects as f64 * object_bytes as f64) / seconds / 1e6
    );
    println!(
        "CompleteMultipartUpload latency ms: p50 {:.3}  max {:.3}",
        completions.value_at_quantile(0.5) as f64 / 1000.0,
        completions.max() as f64 / 1000.0
    );
    Ok(())
}
