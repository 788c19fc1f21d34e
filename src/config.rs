//! Validated configuration: what the CLI and environment asked for, checked once at startup.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::secret::Credentials;

/// Everything a running server needs to know; read-only and shared by all cores.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address every core listens on (SO_REUSEPORT).
    pub listen: SocketAddr,
    /// The TLS listener (`--listen-tls` with `--tls-cert` and `--tls-key`), if any.
    pub tls: Option<TlsListen>,
    /// Data dir: SQLite file, object files, temp files.
    pub data_dir: PathBuf,
    /// Number of cores (glommio executors).
    pub cores: usize,
    /// The bootstrap admin's credentials.
    pub credentials: Credentials,
    /// Region this endpoint answers for.
    pub region: String,
    /// Accept any well-formed SigV4 scope region (and verify with it), for clients that derive
    /// the region from the host name; `region` stays the endpoint's own (LocationConstraint).
    pub region_any: bool,
    /// Domains under which `<bucket>.<domain>` is virtual-hosted-style addressing.
    pub domains: Vec<String>,
    /// Log filter (`error` … `trace`, or a tracing directive).
    pub log_level: String,
    /// Unfinished multipart uploads older than this are reaped, in seconds.
    pub multipart_max_age_seconds: u64,
    /// A lifecycle day, in milliseconds: `lifecycle::DAY_MS`, or shorter for tests
    /// (`--lifecycle-day-seconds`).
    pub lifecycle_day_ms: i64,
    /// Remote tiers (`--tier NAME=URL`).
    pub tiers: Vec<crate::tier::TierSpec>,
    /// How long an unreferenced upstream object waits before its deletion, in milliseconds.
    pub tier_garbage_grace_ms: i64,
    /// How often the metadata is shipped to the tiers when it changed, in seconds (0: never).
    pub tier_metadata_interval_seconds: u64,
    /// The mover's upload rate limit, bytes per second (0: none).
    pub tier_bandwidth_bytes_per_second: u64,
    /// The remote read cache's size in bytes (`--tier-cache-mb`; 0: no cache).
    pub tier_read_cache_bytes: u64,
    /// Log line format.
    pub log_format: crate::obs::LogFormat,
    /// Time in-flight requests get to finish after SIGTERM/SIGINT, in milliseconds.
    pub shutdown_timeout_ms: u64,
    /// Time an idle keep-alive connection is kept, in milliseconds.
    pub idle_timeout_ms: u64,
    /// Largest object accepted (single PUT, part, or completed multipart total), in bytes.
    pub max_object_size_bytes: u64,
    /// Objects up to this many bytes are stored inline in the metadata database (0: never).
    pub inline_object_bytes_max: usize,
    /// Connections one core holds at once.
    pub connections_per_core_max: usize,
    /// Largest request head accepted, in bytes.
    pub header_bytes_max: usize,
    /// Time a client has to send a request head, in milliseconds.
    pub header_timeout_ms: u64,
    /// Longest a request body may stall (no byte received) before the request fails, in
    /// milliseconds.
    pub body_timeout_ms: u64,
    /// The SSE-S3 master key (`--sse-master-key-file`); without it SSE-S3 requests are refused.
    pub sse_master_key: Option<crate::secret::MasterKey>,
    /// Accept SSE-C keys on plain HTTP (`--allow-sse-c-over-http`; S3 refuses them there).
    pub allow_sse_c_over_http: bool,
}

impl Config {
    /// A configuration with every default, for `data_dir` (tests and tools).
    pub fn with_defaults(data_dir: PathBuf, credentials: Credentials) -> Self {
        use crate::limits::*;
        Config {
            listen: "127.0.0.1:9000".parse().expect("valid address"),
            tls: None,
            data_dir,
            cores: 1,
            credentials,
            region: "us-east-1".into(),
            region_any: false,
            domains: vec!["localhost".into()],
            log_level: "info".into(),
            multipart_max_age_seconds: MULTIPART_UPLOAD_AGE_MAX_SECONDS_DEFAULT,
            lifecycle_day_ms: crate::lifecycle::DAY_MS,
            tiers: Vec::new(),
            tier_garbage_grace_ms: TIER_GARBAGE_GRACE_MS,
            tier_metadata_interval_seconds: TIER_METADATA_INTERVAL_SECONDS,
            tier_bandwidth_bytes_per_second: 0,
            tier_read_cache_bytes: 0,
            log_format: crate::obs::LogFormat::Text,
            shutdown_timeout_ms: SHUTDOWN_TIME_MAX_MS_DEFAULT,
            idle_timeout_ms: KEEP_ALIVE_IDLE_TIME_MAX_MS,
            max_object_size_bytes: OBJECT_BYTES_MAX_DEFAULT,
            inline_object_bytes_max: INLINE_OBJECT_BYTES_MAX_DEFAULT,
            connections_per_core_max: CONNECTIONS_PER_CORE_MAX,
            header_bytes_max: HEADER_BYTES_MAX,
            header_timeout_ms: HEADER_READ_TIME_MAX_MS,
            body_timeout_ms: BODY_READ_STALL_TIME_MAX_MS,
            sse_master_key: None,
            allow_sse_c_over_http: false,
        }
    }
}

/// Where HTTPS is served and with which certificate.
#[derive(Debug, Clone)]
pub struct TlsListen {
    /// Address every core listens on for TLS (SO_REUSEPORT), beside `Config::listen`.
    pub listen: SocketAddr,
    /// PEM certificate chain, leaf first; read at start and again on SIGHUP.
    pub certificate: PathBuf,
    /// PEM private key of the leaf; read at start and again on SIGHUP.
    pub key: PathBuf,
}

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value is out of range or malformed.
    #[error("invalid {name} {value:?}: {reason}")]
    Invalid {
        /// Option name.
        name: &'static str,
        /// Value given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// The number of CPUs this process may run on.
pub fn available_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Longest region name accepted (AWS's are under 20 characters; custom ones stay short).
pub const REGION_BYTES_MAX: usize = 64;

/// Checks a region name as AWS and common custom deployments spell them (`us-east-1`,
/// `eu-central-2`, `garage`, `auto`, `dc1.example`): letters, digits, `-`, `_` and `.`, at most
/// `REGION_BYTES_MAX` (a `/` would break the credential scope).
pub fn validate_region(region: &str) -> Result<(), ConfigError> {
    let valid = is_well_formed_region(region);
    if valid {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            name: "--region",
            value: region.into(),
            reason: "use letters, digits, '-', '_' and '.' (at most 64)",
        })
    }
}

/// Whether `region` can be a SigV4 credential-scope region (see `validate_region`).
pub fn is_well_formed_region(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= REGION_BYTES_MAX
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Checks an access key id (printable ASCII without '/', which would break the credential scope).
pub fn validate_access_key(key: &str) -> Result<(), ConfigError> {
    let valid = (3..=128).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'/' && b != b',' && b != b'=');
    if valid {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            name: "--access-key",
            value: key.into(),
            reason: "3-128 printable ASCII characters, no '/', ',' or '='",
        })
    }
}

/// Checks a secret key's length.
pub fn validate_secret_key(secret: &str) -> Result<(), ConfigError> {
    if (8..=128).contains(&secret.len()) && secret.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            name: "--secret-key",
            value: "<redacted>".into(),
            reason: "8-128 printable ASCII characters",
        })
    }
}
