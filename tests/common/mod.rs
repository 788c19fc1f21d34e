//! Test harness: starts the real `ringstore` binary on 127.0.0.1:0 over a temp data dir, and
//! builds clients for it.
#![allow(dead_code)]

pub mod durability;
pub mod tiers;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const ACCESS_KEY: &str = "test-access-key";
pub const SECRET_KEY: &str = "test-secret-key-0123456789";
pub const REGION: &str = "us-east-1";

/// How to start a test server.
struct Launch<'a> {
    cores: usize,
    region: &'a str,
    args: &'a [&'a str],
    data_dir: Option<&'a Path>,
    capture_log: bool,
    /// Start in the temp dir without `--data-dir`, so the default `./data` (relative) is used.
    default_data_dir: bool,
    /// Where the first process's stderr goes, instead of the test's or the log file.
    stderr: Option<Stdio>,
    /// Environment variables for the process (every start).
    envs: &'a [(&'a str, &'a str)],
}

impl Default for Launch<'_> {
    fn default() -> Self {
        Launch {
            cores: 2,
            region: REGION,
            args: &[],
            data_dir: None,
            capture_log: false,
            default_data_dir: false,
            stderr: None,
            envs: &[],
        }
    }
}

/// A user made with `ringstore user add`.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub access_key: String,
    pub secret_key: String,
    pub canonical_id: String,
    pub display_name: String,
}

/// A running ringstore process.
pub struct TestServer {
    child: Option<Child>,
    pub endpoint: String,
    pub address: String,
    data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    pub cores: usize,
    pub region: String,
    pub extra_args: Vec<String>,
    /// When set, the server's stderr (its logs) goes to this file instead of the test's.
    pub log_file: Option<PathBuf>,
    default_data_dir: bool,
    /// Where the next start's stderr goes (taken by that start).
    stderr: Option<Stdio>,
    /// Environment variables of every start.
    envs: Vec<(String, String)>,
}

impl TestServer {
    /// Starts a server over a fresh temp dir.
    pub fn start() -> TestServer {
        Self::start_with_cores(2)
    }

    pub fn start_with_cores(cores: usize) -> TestServer {
        Self::start_with(cores, REGION)
    }

    pub fn start_with(cores: usize, region: &str) -> TestServer {
        Self::launch(Launch {
            cores,
            region,
            ..Launch::default()
        })
    }

    /// Starts a server with extra command-line arguments.
    pub fn start_with_args(args: &[&str]) -> TestServer {
        Self::launch(Launch {
            args,
            ..Launch::default()
        })
    }

    /// Starts a server with extra arguments whose logs are captured in a file.
    pub fn start_logging(args: &[&str]) -> TestServer {
        Self::launch(Launch {
            args,
            capture_log: true,
            ..Launch::default()
        })
    }

    /// Starts a server with extra arguments and environment variables, its logs captured.
    pub fn start_with_env(args: &[&str], envs: &[(&str, &str)]) -> TestServer {
        Self::launch(Launch {
            args,
            envs,
            capture_log: true,
            ..Launch::default()
        })
    }

    /// Starts a server on an existing data dir (which the caller keeps alive) with extra
    /// arguments and environment variables, its logs captured in the data dir's parent.
    pub fn start_in_with_env(data_dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> TestServer {
        let mut server = Self::launch_unstarted(Launch {
            args,
            envs,
            data_dir: Some(data_dir),
            ..Launch::default()
        });
        server.log_file = Some(data_dir.with_extension("log"));
        server.spawn();
        server
    }

    /// Starts a server with extra arguments whose stderr (its logs) goes to `stderr`.
    pub fn start_with_stderr(args: &[&str], stderr: Stdio) -> TestServer {
        Self::launch(Launch {
            args,
            stderr: Some(stderr),
            ..Launch::default()
        })
    }

    /// Starts a server as the README does: no `--data-dir`, so `./data` under its working
    /// directory (a fresh temp dir).
    pub fn start_with_default_data_dir() -> TestServer {
        Self::launch(Launch {
            default_data_dir: true,
            ..Launch::default()
        })
    }

    /// Starts a server on an existing data dir (which the caller keeps alive).
    pub fn start_in(data_dir: &Path, args: &[&str]) -> TestServer {
        Self::launch(Launch {
            args,
            data_dir: Some(data_dir),
            ..Launch::default()
        })
    }

    fn launch(launch: Launch<'_>) -> TestServer {
        let mut server = Self::launch_unstarted(launch);
        server.spawn();
        server
    }

    fn launch_unstarted(launch: Launch<'_>) -> TestServer {
        let temp = match launch.data_dir {
            Some(_) => None,
            None => Some(tempfile::tempdir().expect("temp dir")),
        };
        let data_dir = match (launch.data_dir, &temp) {
            (Some(dir), _) => dir.to_path_buf(),
            (None, Some(temp)) => temp.path().join("data"),
            (None, None) => unreachable!("a temp dir exists when no data dir is given"),
        };
        let log_file = match (&temp, launch.capture_log) {
            (Some(temp), true) => Some(temp.path().join("server.log")),
            _ => None,
        };
        TestServer {
            child: None,
            endpoint: String::new(),
            address: String::new(),
            data_dir,
            _temp: temp,
            cores: launch.cores,
            region: launch.region.to_string(),
            extra_args: launch.args.iter().map(|arg| arg.to_string()).collect(),
            log_file,
            default_data_dir: launch.default_data_dir,
            stderr: launch.stderr,
            envs: launch
                .envs
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
        }
    }

    /// The captured log text.
    pub fn log_text(&self) -> String {
        self.log_file
            .as_ref()
            .map(|path| std::fs::read_to_string(path).unwrap_or_default())
            .unwrap_or_default()
    }

    /// Sends `signal` and waits up to `seconds` for the process to exit; returns its exit code.
    pub fn signal_and_wait(&mut self, signal: i32, seconds: u64) -> Option<i32> {
        let mut child = self.child.take()?;
        // SAFETY: sends a signal to our own child process.
        unsafe { libc::kill(child.id() as i32, signal) };
        let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code();
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| child.try_wait().unwrap().is_none())
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn spawn(&mut self) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ringstore"))
            .envs(self.envs.iter().map(|(name, value)| (name, value)))
            .args(if self.extra_args.iter().any(|a| a == "--listen") {
                vec![]
            } else {
                vec!["--listen", "127.0.0.1:0"]
            })
            .args(if self.extra_args.iter().any(|a| a == "--cores") {
                vec![]
            } else {
                vec!["--cores".to_string(), self.cores.to_string()]
            })
            .args(if self.default_data_dir {
                vec![]
            } else {
                vec![
                    std::ffi::OsString::from("--data-dir"),
                    self.data_dir.clone().into(),
                ]
            })
            .current_dir(self.data_dir.parent().expect("data dir has a parent"))
            .args([
                "--access-key",
                ACCESS_KEY,
                "--secret-key",
                SECRET_KEY,
                "--region",
                &self.region,
            ])
            .args(if self.extra_args.iter().any(|a| a == "--log-level") {
                vec![]
            } else {
                vec!["--log-level", "warn"]
            })
            .args(&self.extra_args)
            .stdout(Stdio::piped())
            .stderr(match (self.stderr.take(), &self.log_file) {
                (Some(stderr), _) => stderr,
                (None, Some(path)) => Stdio::from(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .unwrap(),
                ),
                (None, None) => Stdio::inherit(),
            })
            .spawn()
            .expect("start ringstore");
        let stdout = child.stdout.take().unwrap();
        // The first line (the address) is read on a thread that then keeps draining stdout, so
        // the child never blocks on a full pipe, and a start-up that never finishes (a recovery
        // that hangs) fails the test by name instead of hanging it.
        let (first_line, first) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = first_line.send(lines.next());
            for _ in lines {}
        });
        let first = match first.recv_timeout(STARTUP_TIMEOUT) {
            Ok(Some(Ok(line))) => line,
            outcome => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("ringstore did not start within {STARTUP_TIMEOUT:?}: {outcome:?}");
            }
        };
        let address = first.rsplit("http://").next().unwrap().trim().to_string();
        self.address = address.clone();
        self.endpoint = format!("http://{address}");
        self.child = Some(child);
        wait_until_serving(&address);
    }

    /// Sends SIGKILL and waits for the process to die.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same data dir (new port).
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Peak resident memory (VmHWM) in KiB, from /proc.
    pub fn peak_rss_kib(&self) -> u64 {
        proc_status_kib(self.pid(), "VmHWM:")
    }

    pub fn rss_kib(&self) -> u64 {
        proc_status_kib(self.pid(), "VmRSS:")
    }

    /// Files currently in the temp dir.
    pub fn temp_files(&self) -> Vec<PathBuf> {
        temp_files_in(&self.data_dir)
    }

    /// Objects stored: files on disk plus inline objects in the metadata database (rows holding
    /// their bytes, read with a read-only connection beside the running server).
    pub fn stored_objects(&self) -> usize {
        self.object_files() + self.inline_objects()
    }

    /// Inline objects and versions (rows holding their bytes).
    pub fn inline_objects(&self) -> usize {
        inline_objects_in(&self.data_dir, false)
    }

    /// Object files on disk.
    pub fn object_files(&self) -> usize {
        object_files_in(&self.data_dir)
    }

    pub fn client(&self) -> aws_sdk_s3::Client {
        client_in_region(&self.endpoint, ACCESS_KEY, SECRET_KEY, &self.region)
    }

    /// Runs `ringstore user add` on this server's data dir (while it runs, as an operator would).
    pub fn add_user(&self, name: &str, email: Option<&str>) -> TestUser {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ringstore"));
        command
            .arg("user")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("add")
            .arg(name);
        if let Some(email) = email {
            command.arg("--email").arg(email);
        }
        let output = command.output().expect("run ringstore user add");
        assert!(output.status.success(), "user add failed: {output:?}");
        let text = String::from_utf8(output.stdout).unwrap();
        let field = |name: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(name))
                .map(|value| value.trim().to_string())
                .unwrap_or_else(|| panic!("{name} missing in {text}"))
        };
        TestUser {
            access_key: field("access_key:"),
            secret_key: field("secret_key:"),
            canonical_id: field("canonical_id:"),
            display_name: field("display_name:"),
        }
    }

    /// Runs `ringstore user <args…>` on this server's data dir.
    pub fn user_command(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_ringstore"))
            .arg("user")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(args)
            .output()
            .expect("run ringstore user")
    }

    /// A client signing as `user`.
    pub fn client_as(&self, user: &TestUser) -> aws_sdk_s3::Client {
        client_in_region(
            &self.endpoint,
            &user.access_key,
            &user.secret_key,
            &self.region,
        )
    }

    /// The whole `/metrics` answer (head and body).
    pub fn metrics_text(&self) -> String {
        let mut stream = self.connect();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        text
    }

    /// An unlabelled metric of `/metrics` (a gauge such as `ringstore_startup_scrub_done`).
    pub fn metric(&self, name: &str) -> Option<i64> {
        let prefix = format!("{name} ");
        self.metrics_text()
            .lines()
            .find_map(|line| line.strip_prefix(prefix.as_str()))
            .map(|value| value.trim().parse().unwrap())
    }

    /// Waits until the startup scrub (orphans removed, missing files marked) has finished; the
    /// server serves meanwhile, so a test counting files after a restart waits for it first.
    pub fn wait_for_startup_scrub(&self) {
        assert!(
            eventually(60, || self.metric("ringstore_startup_scrub_done")
                == Some(1)),
            "the startup scrub did not finish (failed: {:?})",
            self.metric("ringstore_startup_scrub_failed")
        );
    }

    /// Opens a raw TCP connection.
    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(&self.address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        stream
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|line| line.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn wait_until_serving(address: &str) {
    for _ in 0..200 {
        if let Ok(mut stream) = TcpStream::connect(address) {
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let _ =
                stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut text = String::new();
            let _ = stream.read_to_string(&mut text);
            if text.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("ringstore at {address} did not start serving");
}

pub fn client_for(endpoint: &str, access_key: &str, secret_key: &str) -> aws_sdk_s3::Client {
    client_in_region(endpoint, access_key, secret_key, REGION)
}

/// How long a test waits for the server to print its address (recovery included).
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

/// The SDK has no read timeout by default: a request the server never answers would hang the test
/// (and CI) forever. Every test client gives up after this long, so a stall fails by name.
pub const CLIENT_OPERATION_TIMEOUT: Duration = Duration::from_secs(120);

/// Timeouts for every test client: see [`CLIENT_OPERATION_TIMEOUT`].
pub fn client_timeouts() -> aws_sdk_s3::config::timeout::TimeoutConfig {
    aws_sdk_s3::config::timeout::TimeoutConfig::builder()
        .operation_timeout(CLIENT_OPERATION_TIMEOUT)
        .build()
}

pub fn client_in_region(
    endpoint: &str,
    access_key: &str,
    secret_key: &str,
    region: &str,
) -> aws_sdk_s3::Client {
    let credentials =
        aws_credential_types::Credentials::new(access_key, secret_key, None, None, "test");
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_s3::config::Region::new(region.to_string()))
        .credentials_provider(credentials)
        .force_path_style(true)
        .timeout_config(client_timeouts())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Stores `body` as `bucket/key` with aws-sdk-s3 (a plain PutObject).
pub async fn put_bytes(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: &[u8],
) -> aws_sdk_s3::operation::put_object::PutObjectOutput {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(aws_sdk_s3::primitives::ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap()
}

/// The keys of one ListObjectsV2 page of `bucket`, in the order listed.
pub async fn list_keys(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    s3.list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|object| object.key().map(str::to_string))
        .collect()
}

/// The bytes of `bucket/key` (a `Range` header value narrows them), read with aws-sdk-s3.
pub async fn get_bytes(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    range: Option<&str>,
) -> Vec<u8> {
    s3.get_object()
        .bucket(bucket)
        .key(key)
        .set_range(range.map(str::to_string))
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes()
        .to_vec()
}

/// Starts a multipart upload of `bucket/key` with aws-sdk-s3 (no options); its upload id.
pub async fn create_upload(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> String {
    s3.create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_string()
}

/// Uploads `body` as part `number` of `upload` with aws-sdk-s3; the part as CompleteMultipartUpload
/// lists it.
pub async fn upload_part(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    upload: &str,
    number: i32,
    body: &[u8],
) -> aws_sdk_s3::types::CompletedPart {
    let result = s3
        .upload_part()
        .bucket(bucket)
        .key(key)
        .upload_id(upload)
        .part_number(number)
        .body(aws_sdk_s3::primitives::ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap();
    aws_sdk_s3::types::CompletedPart::builder()
        .part_number(number)
        .e_tag(result.e_tag().unwrap())
        .build()
}

/// The CompleteMultipartUpload body listing `parts`.
pub fn completion(
    parts: Vec<aws_sdk_s3::types::CompletedPart>,
) -> aws_sdk_s3::types::CompletedMultipartUpload {
    aws_sdk_s3::types::CompletedMultipartUpload::builder()
        .set_parts(Some(parts))
        .build()
}

/// Hex MD5.
pub fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(bytes))
}

/// Base64 MD5 of `bytes`: a Content-MD5 value.
pub fn md5_base64(bytes: &[u8]) -> String {
    use base64::Engine;
    use md5::Digest;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(bytes))
}

/// Deterministic pseudo-random bytes.
pub fn pattern(length: usize, seed: u64) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
        | 1;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// The S3 error code in an SDK error, if it is a service error.
pub fn error_code<E, R>(error: &aws_sdk_s3::error::SdkError<E, R>) -> Option<String>
where
    E: aws_sdk_s3::error::ProvideErrorMetadata,
{
    match error {
        aws_sdk_s3::error::SdkError::ServiceError(service) => {
            service.err().code().map(str::to_string)
        }
        _ => None,
    }
}

/// HTTP status of an SDK error's raw response.
pub fn error_status<E>(
    error: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> Option<u16> {
    error
        .raw_response()
        .map(|response| response.status().as_u16())
}

/// Builds raw, SigV4-signed HTTP/1.1 requests for protocol tests (using the server's own pure
/// signing functions, which are checked against AWS's published vectors in unit tests).
pub struct RawRequest {
    pub method: String,
    /// Raw (already encoded) path.
    pub path: String,
    /// Raw query string without '?'.
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub payload_hash: String,
    pub amz_date: String,
    pub secret: String,
    pub access_key: String,
}

pub fn amz_date_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    amz_date_at(now)
}

pub fn amz_date_at(seconds: i64) -> String {
    let datetime = time::OffsetDateTime::from_unix_timestamp(seconds).unwrap();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        datetime.year(),
        datetime.month() as u8,
        datetime.day(),
        datetime.hour(),
        datetime.minute(),
        datetime.second()
    )
}

impl RawRequest {
    pub fn new(method: &str, path: &str, host: &str) -> RawRequest {
        RawRequest {
            method: method.into(),
            path: path.into(),
            query: String::new(),
            headers: vec![("host".into(), host.into())],
            payload_hash: ringstore::s3::auth::sigv4::EMPTY_SHA256_HEX.into(),
            amz_date: amz_date_now(),
            secret: SECRET_KEY.into(),
            access_key: ACCESS_KEY.into(),
        }
    }

    /// Sets the raw (already encoded) query string.
    pub fn query(mut self, query: &str) -> RawRequest {
        self.query = query.into();
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> RawRequest {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    pub fn payload(mut self, hash: &str) -> RawRequest {
        self.payload_hash = hash.into();
        self
    }

    pub fn scope(&self) -> String {
        format!("{}/{}/s3/aws4_request", &self.amz_date[..8], REGION)
    }

    pub fn signing_key(&self) -> [u8; 32] {
        ringstore::s3::auth::sigv4::derive_signing_key(
            &self.secret,
            &self.amz_date[..8],
            REGION,
            "s3",
        )
    }

    /// The full head (with Authorization), and the seed signature.
    pub fn signed_head(&self) -> (String, String) {
        use ringstore::s3::auth::sigv4;
        let mut headers = self.headers.clone();
        headers.push(("x-amz-date".into(), self.amz_date.clone()));
        headers.push(("x-amz-content-sha256".into(), self.payload_hash.clone()));
        headers.sort();
        let signed: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
        let signed = signed.join(";");
        let decoded_path = ringstore::s3::path::percent_decode(&self.path).unwrap();
        let query = ringstore::s3::path::parse_query(&self.query).unwrap();
        let canonical = sigv4::canonical_request(
            &self.method,
            &sigv4::uri_encode(&decoded_path, true),
            &sigv4::canonical_query_of(query.iter()),
            &headers
                .iter()
                .map(|(n, v)| (n.clone(), sigv4::canonical_header_value(v)))
                .collect::<Vec<_>>(),
            &signed,
            &self.payload_hash,
        );
        let signature = sigv4::sign(
            &self.signing_key(),
            &sigv4::string_to_sign(&self.amz_date, &self.scope(), &canonical),
        );
        let target = if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        };
        let mut head = format!("{} {} HTTP/1.1\r\n", self.method, target);
        for (name, value) in &headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "authorization: AWS4-HMAC-SHA256 Credential={}/{},SignedHeaders={},Signature={}\r\n\r\n",
            self.access_key,
            self.scope(),
            signed,
            signature
        ));
        (head, signature)
    }
}

/// A parsed HTTP response read from a raw socket.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `<Code>` of an S3 error body.
    pub fn code(&self) -> Option<String> {
        let text = self.body_text();
        let start = text.find("<Code>")? + 6;
        let end = text[start..].find("</Code>")? + start;
        Some(text[start..end].to_string())
    }
}

/// Reads one response; `head_request` means no body follows whatever Content-Length says.
pub fn read_response(
    reader: &mut impl BufRead,
    head_request: bool,
) -> std::io::Result<RawResponse> {
    let mut status_line = String::new();
    if reader.read_line(&mut status_line)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(0);
    let mut body = vec![
        0;
        if head_request || status == 100 {
            0
        } else {
            length
        }
    ];
    reader.read_exact(&mut body)?;
    Ok(RawResponse {
        status,
        headers,
        body,
    })
}

/// Sends `request` bytes on a new connection and reads one response.
pub fn exchange(server: &TestServer, request: &[u8]) -> RawResponse {
    let mut stream = server.connect();
    stream.write_all(request).unwrap();
    let mut reader = BufReader::new(stream);
    read_response(&mut reader, request.starts_with(b"HEAD ")).unwrap()
}

/// Polls `condition` until it holds or `seconds` pass; returns whether it held.
pub fn eventually(seconds: u64, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    condition()
}

/// Files in a data dir's temp dir.
pub fn temp_files_in(data_dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(data_dir.join("tmp"))
        .map(|dir| dir.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

/// Object files in a data dir.
pub fn object_files_in(data_dir: &Path) -> usize {
    let mut count = 0;
    for dir in std::fs::read_dir(data_dir.join("objects")).unwrap() {
        count += std::fs::read_dir(dir.unwrap().path()).unwrap().count();
    }
    count
}

/// Copies a data dir's metadata database and its WAL into `to`, for reading a data dir on a
/// read-only mount (SQLite needs a writable directory to read a WAL).
pub fn copy_metadata(data_dir: &Path, to: &Path) {
    for name in ["meta.sqlite", "meta.sqlite-wal"] {
        let from = data_dir.join(name);
        if from.exists() {
            std::fs::copy(&from, to.join(name)).unwrap();
        }
    }
}

/// Inline objects and versions in a data dir's metadata database (rows holding their bytes).
/// `read_only_mount`: the data dir sits on a read-only mount with no server; the database and its
/// WAL are copied out first (SQLite needs a writable directory to read a WAL).
pub fn inline_objects_in(data_dir: &Path, read_only_mount: bool) -> usize {
    let copy = tempfile::tempdir().unwrap();
    let path = if read_only_mount {
        copy_metadata(data_dir, copy.path());
        copy.path().join("meta.sqlite")
    } else {
        data_dir.join("meta.sqlite")
    };
    let connection =
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    connection.busy_timeout(Duration::from_secs(5)).unwrap();
    let count: i64 = connection
        .query_row("SELECT count(*) FROM version_bytes", [], |row| row.get(0))
        .unwrap();
    count as usize
}

/// Debian's Chromium (or `CHROMIUM`) and tests/js (with playwright-core installed), for the tests
/// that drive a real browser; panics saying how to install them when either is missing.
pub fn browser() -> (String, PathBuf) {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string());
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    assert!(
        Path::new(&chromium).exists() && js.join("node_modules/playwright-core").exists(),
        "{chromium} or tests/js/node_modules/playwright-core is missing: run \
         `bash tests/setup.sh && cargo test --workspace` (it installs Debian's chromium and runs npm ci)"
    );
    (chromium, js)
}

/// `ringstore key generate` into `directory`; the key file's path.
pub fn master_key(directory: &std::path::Path) -> String {
    let path = directory.join("master.key");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_ringstore"))
        .args(["key", "generate"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    path.to_string_lossy().into_owned()
}
