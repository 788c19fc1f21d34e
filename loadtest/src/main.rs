//! `loadtest`: ringstore's SigV4 S3 load generator. Thread-per-core on glommio like the server;
//! each connection is one task that signs every request itself, reuses one pre-filled body
//! buffer, and records latency in an hdrhistogram.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use argh::FromArgs;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;
use glommio::{LocalExecutorBuilder, Placement};
use hdrhistogram::Histogram;
use ringstore::s3::auth::sigv4;

/// Load-test an S3 endpoint with signed PUT / GET / HEAD requests of fixed-size objects.
#[derive(FromArgs, Clone)]
struct Args {
    /// endpoint, e.g. http://127.0.0.1:9000
    #[argh(option, default = "String::from(\"http://127.0.0.1:9000\")")]
    endpoint: String,
    /// access key (default ringstore)
    #[argh(option, default = "String::from(\"ringstore\")")]
    access_key: String,
    /// secret key (default ringstore-secret)
    #[argh(option, default = "String::from(\"ringstore-secret\")")]
    secret_key: String,
    /// region (default us-east-1)
    #[argh(option, default = "String::from(\"us-east-1\")")]
    region: String,
    /// bucket to use; created if missing (default loadtest)
    #[argh(option, default = "String::from(\"loadtest\")")]
    bucket: String,
    /// workload: put, get or head (default put)
    #[argh(option, default = "String::from(\"put\")")]
    op: String,
    /// object size, e.g. 4KiB, 1MiB, 64MiB (default 4KiB)
    #[argh(option, default = "String::from(\"4KiB\")")]
    size: String,
    /// concurrent connections (default 16)
    #[argh(option, default = "16")]
    connections: usize,
    /// measured seconds (default 10)
    #[argh(option, default = "10")]
    duration: u64,
    /// warm-up seconds excluded from results (default 1)
    #[argh(option, default = "1")]
    warmup: u64,
    /// distinct keys; get/head read these after a prepare phase writes them (default 1000)
    #[argh(option, default = "1000")]
    keys: usize,
    /// client cores (glommio executors) (default 1)
    #[argh(option, default = "1")]
    cores: usize,
    /// sign the payload's SHA-256 instead of sending UNSIGNED-PAYLOAD
    #[argh(switch)]
    signed_payload: bool,
    /// multipart: part size (default 8MiB)
    #[argh(option, default = "String::from(\"8MiB\")")]
    part_size: String,
    /// multipart: parts uploaded concurrently, each on its own connection (default 8)
    #[argh(option, default = "8")]
    parts_in_flight: usize,
}

fn parse_size(text: &str) -> Result<usize> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: usize = number.parse().with_context(|| format!("size {text:?}"))?;
    let multiplier = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => bail!("unknown size unit {other:?}"),
    };
    Ok(number * multiplier)
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Put,
    Get,
    Head,
}

struct Target {
    host: String,
    address: String,
    access_key: String,
    region: String,
    signing_key: [u8; 32],
    date: String,
}

fn amz_date_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let days = now.div_euclid(86_400);
    let seconds = now.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

impl Target {
    fn head(
        &self,
        method: &str,
        path: &str,
        payload_hash: &str,
        content_length: Option<usize>,
    ) -> String {
        self.head_with_query(method, path, "", payload_hash, content_length)
    }

    /// A signed request head; `query` must already be in canonical form (sorted, encoded).
    fn head_with_query(
        &self,
        method: &str,
        path: &str,
        query: &str,
        payload_hash: &str,
        content_length: Option<usize>,
    ) -> String {
        let amz_date = amz_date_now();
        let mut headers = vec![
            ("host".to_string(), self.host.clone()),
            ("x-amz-content-sha256".to_string(), payload_hash.to_string()),
            ("x-amz-date".to_string(), amz_date.clone()),
        ];
        if let Some(length) = content_length {
            headers.insert(0, ("content-length".to_string(), length.to_string()));
        }
        let signed: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
        let signed = signed.join(";");
        let canonical =
            sigv4::canonical_request(method, path, query, &headers, &signed, payload_hash);
        let scope = format!("{}/{}/s3/aws4_request", &amz_date[..8], self.region);
        debug_assert_eq!(&amz_date[..8], self.date);
        let signature = sigv4::sign(
            &self.signing_key,
            &sigv4::string_to_sign(&amz_date, &scope, &canonical),
        );
        let mut text = if query.is_empty() {
            format!("{method} {path} HTTP/1.1\r\n")
        } else {
            format!("{method} {path}?{query} HTTP/1.1\r\n")
        };
        for (name, value) in &headers {
            text.push_str(name);
            text.push_str(": ");
            text.push_str(value);
            text.push_str("\r\n");
        }
        text.push_str(&format!(
            "authorization: AWS4-HMAC-SHA256 Credential={}/{scope},SignedHeaders={signed},Signature={signature}\r\n\r\n",
            self.access_key
        ));
        text
    }
}

/// One connection with a read buffer.
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
    filled: usize,
}

impl Connection {
    async fn open(address: &str) -> Result<Connection> {
        let stream = TcpStream::connect(address)
            .await
            .map_err(|e| anyhow::anyhow!("connect {address}: {e}"))?;
        stream.set_nodelay(true).ok();
        Ok(Connection {
            stream,
            buffer: vec![0; 256 * 1024],
            filled: 0,
        })
    }

    /// Sends a request and reads the response; returns (status, body bytes).
    async fn exchange(
        &mut self,
        head: &str,
        body: &[u8],
        head_request: bool,
    ) -> Result<(u16, u64, String)> {
        self.stream.write_all(head.as_bytes()).await?;
        if !body.is_empty() {
            self.stream.write_all(body).await?;
        }
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(used) = response.parse(&self.buffer[..self.filled])? {
                let status = response.code.unwrap_or(0);
                let mut length = 0u64;
                for header in response.headers.iter() {
                    if header.name.eq_ignore_ascii_case("content-length") {
                        length = std::str::from_utf8(header.value)?.trim().parse()?;
                    }
                }
                if head_request {
                    length = 0;
                }
                self.buffer.copy_within(used..self.filled, 0);
                self.filled -= used;
                let mut remaining = length;
                let mut error_body = String::new();
                loop {
                    let take = remaining.min(self.filled as u64) as usize;
                    // Keep error bodies and POST results (XML the caller parses); drop object bytes.
                    if (status >= 300 || head.starts_with("POST ")) && error_body.len() < 64 * 1024
                    {
                        error_body.push_str(&String::from_utf8_lossy(&self.buffer[..take]));
                    }
                    self.buffer.copy_within(take..self.filled, 0);
                    self.filled -= take;
                    remaining -= take as u64;
                    if remaining == 0 {
                        break;
                    }
                    let count = self.stream.read(&mut self.buffer[self.filled..]).await?;
                    if count == 0 {
                        bail!("connection closed mid-body");
                    }
                    self.filled += count;
                }
                return Ok((status, length, error_body));
            }
            let count = self.stream.read(&mut self.buffer[self.filled..]).await?;
            if count == 0 {
                bail!("connection closed");
            }
            self.filled += count;
        }
    }
}

#[derive(Default)]
struct Tally {
    ok: u64,
    errors: u64,
    bytes: u64,
    first_error: Option<String>,
}

fn error_code(body: &str) -> String {
    body.split("<Code>")
        .nth(1)
        .and_then(|rest| rest.split("</Code>").next())
        .unwrap_or("?")
        .to_string()
}

/// What every connection task of one core shares.
struct Workload {
    target: Rc<Target>,
    bucket: Rc<String>,
    op: Op,
    body: Rc<Vec<u8>>,
    payload_hash: Rc<String>,
    keys: usize,
    warmup_end: Instant,
    end: Instant,
    histogram: Rc<RefCell<Histogram<u64>>>,
    tally: Rc<RefCell<Tally>>,
}

async fn worker(workload: Rc<Workload>) -> Result<()> {
    let Workload {
        target,
        bucket,
        op,
        body,
        payload_hash,
        keys,
        warmup_end,
        end,
        histogram,
        tally,
    } = &*workload;
    let (op, keys, warmup_end, end) = (*op, *keys, *warmup_end, *end);
    let mut connection = Connection::open(&target.address).await?;
    let mut index = fastrand::usize(..keys.max(1));
    while Instant::now() < end {
        index = (index + 1) % keys.max(1);
        let path = format!("/{bucket}/object-{index:08}");
        let started = Instant::now();
        let result = match op {
            Op::Put => {
                let head = target.head("PUT", &path, payload_hash, Some(body.len()));
                connection.exchange(&head, body, false).await
            }
            Op::Get => {
                connection
                    .exchange(
                        &target.head("GET", &path, sigv4::EMPTY_SHA256_HEX, None),
                        &[],
                        false,
                    )
                    .await
            }
            Op::Head => {
                connection
                    .exchange(
                        &target.head("HEAD", &path, sigv4::EMPTY_SHA256_HEX, None),
                        &[],
                        true,
                    )
                    .await
            }
        };
        let elapsed = started.elapsed();
        if started < warmup_end {
            if result.is_err() {
                connection = Connection::open(&target.address).await?;
            }
            continue;
        }
        let reconnect = result.is_err();
        {
            let mut tally = tally.borrow_mut();
            match result {
                Ok((status, length, _)) if status < 300 => {
                    tally.ok += 1;
                    tally.bytes += if op == Op::Put {
                        body.len() as u64
                    } else {
                        length
                    };
                    let _ = histogram.borrow_mut().record(elapsed.as_micros() as u64);
                }
                Ok((status, _, error_body)) => {
                    tally.errors += 1;
                    tally.first_error.get_or_insert_with(|| {
                        format!("HTTP {status} {}", error_code(&error_body))
                    });
                }
                Err(error) => {
                    tally.errors += 1;
                    tally.first_error.get_or_insert_with(|| error.to_string());
                }
            }
        }
        if reconnect {
            connection = Connection::open(&target.address).await?;
        }
    }
    Ok(())
}

fn main() -> Result<()> {
    let args: Args = argh::from_env();
    let op = match args.op.as_str() {
        "put" => Op::Put,
        "get" => Op::Get,
        "head" => Op::Head,
        "multipart" => return run_multipart(&args),
        other => bail!("unknown --op {other:?} (put, get, head, multipart)"),
    };
    let size = parse_size(&args.size)?;
    let address = args
        .endpoint
        .strip_prefix("http://")
        .context("endpoint must start with http://")?
        .trim_end_matches('/')
        .to_string();
    let date = amz_date_now()[..8].to_string();
    let signing_key = sigv4::derive_signing_key(&args.secret_key, &date, &args.region, "s3");
    let body: Vec<u8> = (0..size)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761) as u8)
        .collect();
    let payload_hash = if args.signed_payload {
        sigv4::sha256_hex(&body)
    } else {
        "UNSIGNED-PAYLOAD".to_string()
    };
    let target = Target {
        host: address.clone(),
        address: address.clone(),
        access_key: args.access_key.clone(),
        region: args.region.clone(),
        signing_key,
        date,
    };
    let target_text = (
        target.host.clone(),
        target.address.clone(),
        target.access_key.clone(),
        target.region.clone(),
        target.signing_key,
        target.date.clone(),
    );

    // Prepare: the bucket, and for reads the objects.
    let prepare_args = args.clone();
    let prepare_body = body.clone();
    let prepare_hash = payload_hash.clone();
    let prepared = LocalExecutorBuilder::new(Placement::Unbound)
        .io_memory(64 << 10)
        .spawn(move || async move {
            let (host, address, access_key, region, signing_key, date) = target_text;
            let target = Target {
                host,
                address,
                access_key,
                region,
                signing_key,
                date,
            };
            let mut connection = Connection::open(&target.address).await?;
            let (status, _, body) = connection
                .exchange(
                    &target.head(
                        "PUT",
                        &format!("/{}", prepare_args.bucket),
                        sigv4::EMPTY_SHA256_HEX,
                        None,
                    ),
                    &[],
                    false,
                )
                .await?;
            if status >= 300 && !body.contains("BucketAlreadyOwnedByYou") {
                bail!(
                    "cannot create bucket {}: HTTP {status} {}",
                    prepare_args.bucket,
                    error_code(&body)
                );
            }
            if op != Op::Put {
                for index in 0..prepare_args.keys {
                    let path = format!("/{}/object-{index:08}", prepare_args.bucket);
                    let (status, _, body) = connection
                        .exchange(
                            &target.head("PUT", &path, &prepare_hash, Some(prepare_body.len())),
                            &prepare_body,
                            false,
                        )
                        .await?;
                    if status >= 300 {
                        bail!("prepare PUT failed: HTTP {status} {}", error_code(&body));
                    }
                }
            }
            Ok(())
        })
        .map_err(|error| anyhow::anyhow!("start executor: {error}"))?;
    prepared
        .join()
        .map_err(|error| anyhow::anyhow!("prepare executor: {error}"))??;

    let started = Instant::now();
    let warmup_end = started + Duration::from_secs(args.warmup);
    let end = warmup_end + Duration::from_secs(args.duration);
    let cores = args.cores.max(1);
    let mut handles = Vec::new();
    for core in 0..cores {
        let connections = args.connections / cores + usize::from(core < args.connections % cores);
        let (host, address, access_key, region, date) = (
            target.host.clone(),
            target.address.clone(),
            target.access_key.clone(),
            target.region.clone(),
            target.date.clone(),
        );
        let signing_key = target.signing_key;
        let body = body.clone();
        let payload_hash = payload_hash.clone();
        let bucket = args.bucket.clone();
        let keys = args.keys;
        handles.push(
            LocalExecutorBuilder::new(Placement::Unbound)
                .io_memory(64 << 10)
                .spawn(move || async move {
                    let target = Rc::new(Target {
                        host,
                        address,
                        access_key,
                        region,
                        signing_key,
                        date,
                    });
                    let histogram = Rc::new(RefCell::new(
                        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap(),
                    ));
                    let tally = Rc::new(RefCell::new(Tally::default()));
                    let body = Rc::new(body);
                    let payload_hash = Rc::new(payload_hash);
                    let bucket = Rc::new(bucket);
                    let workload = Rc::new(Workload {
                        target,
                        bucket,
                        op,
                        body,
                        payload_hash,
                        keys,
                        warmup_end,
                        end,
                        histogram: histogram.clone(),
                        tally: tally.clone(),
                    });
                    let mut tasks = Vec::new();
                    for _ in 0..connections {
                        tasks.push(glommio::spawn_local(worker(workload.clone())));
                    }
                    for task in tasks {
                        task.await?;
                    }
                    let histogram = histogram.borrow().clone();
                    let tally = std::mem::take(&mut *tally.borrow_mut());
                    Ok::<_, anyhow::Error>((histogram, tally))
                })
                .map_err(|error| anyhow::anyhow!("start executor: {error}"))?,
        );
    }
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    let mut tally = Tally::default();
    for handle in handles {
        let (part, part_tally) = handle
            .join()
            .map_err(|error| anyhow::anyhow!("executor: {error}"))??;
        histogram.add(part)?;
        tally.ok += part_tally.ok;
        tally.errors += part_tally.errors;
        tally.bytes += part_tally.bytes;
        if tally.first_error.is_none() {
            tally.first_error = part_tally.first_error;
        }
    }
    let seconds = args.duration as f64;
    println!(
        "{} {} x{} conns, {} s: {:.0} ops/s, {:.1} MB/s, errors {}{}",
        args.op,
        args.size,
        args.connections,
        args.duration,
        tally.ok as f64 / seconds,
        tally.bytes as f64 / seconds / 1e6,
        tally.errors,
        tally
            .first_error
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default()
    );
    println!(
        "latency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
        histogram.value_at_quantile(0.5) as f64 / 1000.0,
        histogram.value_at_quantile(0.9) as f64 / 1000.0,
        histogram.value_at_quantile(0.99) as f64 / 1000.0,
        histogram.value_at_quantile(0.999) as f64 / 1000.0,
        histogram.max() as f64 / 1000.0
    );
    if tally.ok == 0 {
        bail!("no request succeeded");
    }
    Ok(())
}

fn xml_value(body: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{name}>"))? + start;
    Some(body[start..end].to_string())
}

/// `--op multipart`: whole multipart uploads of `--size` in parts of `--part-size`, with
/// `--parts-in-flight` parts on their own connections; reports MB/s and completion latency.
fn run_multipart(args: &Args) -> Result<()> {
    let object_bytes = parse_size(&args.size)?;
    let part_bytes = parse_size(&args.part_size)?;
    let part_count = object_bytes.div_ceil(part_bytes).max(1);
    let address = args
        .endpoint
        .strip_prefix("http://")
        .context("endpoint must start with http://")?
        .trim_end_matches('/')
        .to_string();
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
            let mut control = Connection::open(&target.address).await?;
            let (status, _, text) = control
                .exchange(
                    &target.head("PUT", &format!("/{bucket}"), sigv4::EMPTY_SHA256_HEX, None),
                    &[],
                    false,
                )
                .await?;
            if status >= 300 && !text.contains("BucketAlreadyOwnedByYou") {
                bail!(
                    "cannot create bucket {bucket}: HTTP {status} {}",
                    error_code(&text)
                );
            }
            let mut connections = Vec::new();
            for _ in 0..in_flight {
                connections.push(Connection::open(&target.address).await?);
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
                control = Connection::open(&target.address).await?;
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

impl Connection {
    /// Sends a request with a body and returns (status, ETag header if any).
    async fn exchange_with_etag(
        &mut self,
        head: &str,
        body: &[u8],
    ) -> Result<(u16, u64, Option<String>)> {
        self.stream.write_all(head.as_bytes()).await?;
        self.stream.write_all(body).await?;
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(used) = response.parse(&self.buffer[..self.filled])? {
                let status = response.code.unwrap_or(0);
                let mut length = 0u64;
                let mut etag = None;
                for header in response.headers.iter() {
                    if header.name.eq_ignore_ascii_case("content-length") {
                        length = std::str::from_utf8(header.value)?.trim().parse()?;
                    }
                    if header.name.eq_ignore_ascii_case("etag") {
                        etag = Some(String::from_utf8_lossy(header.value).to_string());
                    }
                }
                self.buffer.copy_within(used..self.filled, 0);
                self.filled -= used;
                while (self.filled as u64) < length {
                    let count = self.stream.read(&mut self.buffer[self.filled..]).await?;
                    if count == 0 {
                        bail!("connection closed mid-body");
                    }
                    self.filled += count;
                }
                self.buffer.copy_within(length as usize..self.filled, 0);
                self.filled -= length as usize;
                return Ok((status, length, etag));
            }
            let count = self.stream.read(&mut self.buffer[self.filled..]).await?;
            if count == 0 {
                bail!("connection closed");
            }
            self.filled += count;
        }
    }
}
