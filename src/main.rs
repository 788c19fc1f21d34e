//! The `ringstore` binary: CLI and environment → validated `Config` → run the server.

mod bucket_command;
mod restore_command;
mod user_command;

use std::net::SocketAddr;
use std::process::ExitCode;

use argh::FromArgs;
use ringstore::config::{self, Config};
use ringstore::limits;
use ringstore::obs::LogFormat;
use ringstore::s3::auth::{Credentials, Secret};
use ringstore::tier::options::TierTexts;

const DEFAULT_LISTEN: &str = "127.0.0.1:9000";
const DEFAULT_DATA_DIR: &str = "./data";
const DEFAULT_ACCESS_KEY: &str = "ringstore";
const DEFAULT_SECRET_KEY: &str = "ringstore-secret";
const DEFAULT_REGION: &str = "us-east-1";
const DEFAULT_DOMAIN: &str = "localhost";
const DEFAULT_LOG_LEVEL: &str = "info";

/// ringstore: a drop-in S3 endpoint for local disk. Every option can also be set with an
/// environment variable RINGSTORE_<OPTION> (e.g. RINGSTORE_LISTEN); the flag wins. More users:
/// `ringstore user --help`.
#[derive(FromArgs)]
struct Args {
    /// address to listen on (default 127.0.0.1:9000; env RINGSTORE_LISTEN)
    #[argh(option)]
    listen: Option<String>,
    /// address to serve HTTPS on as well, with --tls-cert and --tls-key (default none; env RINGSTORE_LISTEN_TLS)
    #[argh(option)]
    listen_tls: Option<String>,
    /// PEM file with the TLS certificate chain, leaf first; read again on SIGHUP (env RINGSTORE_TLS_CERT)
    #[argh(option)]
    tls_cert: Option<String>,
    /// PEM file with the TLS certificate's private key (PKCS#8, PKCS#1 or SEC1); read again on SIGHUP (env RINGSTORE_TLS_KEY)
    #[argh(option)]
    tls_key: Option<String>,
    /// directory for the SQLite metadata file and object data (default ./data; env RINGSTORE_DATA_DIR)
    #[argh(option)]
    data_dir: Option<String>,
    /// number of cores, one glommio executor each (default: every CPU this process may use; env RINGSTORE_CORES)
    #[argh(option)]
    cores: Option<String>,
    /// access key of the admin user (default ringstore; env RINGSTORE_ACCESS_KEY)
    #[argh(option)]
    access_key: Option<String>,
    /// secret key of the admin user (default ringstore-secret; env RINGSTORE_SECRET_KEY)
    #[argh(option)]
    secret_key: Option<String>,
    /// region this endpoint answers for (default us-east-1; env RINGSTORE_REGION)
    #[argh(option)]
    region: Option<String>,
    /// accept any well-formed SigV4 scope region and verify with it, for clients that derive the region from the host name (default off; env RINGSTORE_REGION_ANY=true)
    #[argh(switch)]
    region_any: bool,
    /// comma-separated domains for virtual-hosted-style addressing, <bucket>.<domain> (default localhost; env RINGSTORE_DOMAIN)
    #[argh(option)]
    domain: Option<String>,
    /// log level: error, warn, info, debug, trace, or a tracing filter (default info; env RINGSTORE_LOG_LEVEL)
    #[argh(option)]
    log_level: Option<String>,
    /// log format: text or json (default text; env RINGSTORE_LOG_FORMAT)
    #[argh(option)]
    log_format: Option<String>,
    /// seconds in-flight requests get to finish after SIGTERM/SIGINT (default 30; env RINGSTORE_SHUTDOWN_TIMEOUT)
    #[argh(option)]
    shutdown_timeout: Option<String>,
    /// seconds an idle keep-alive connection is kept (default 5; env RINGSTORE_IDLE_TIMEOUT)
    #[argh(option)]
    idle_timeout: Option<String>,
    /// largest object in bytes, checked before any byte is stored (default 5497558138880, 5 TiB; env RINGSTORE_MAX_OBJECT_SIZE)
    #[argh(option)]
    max_object_size: Option<String>,
    /// objects up to this many bytes are stored inline in the metadata database, made durable by its group commit; 0 stores every object as a file (default 16384; at most 65536; env RINGSTORE_MAX_INLINE_SIZE)
    #[argh(option)]
    max_inline_size: Option<String>,
    /// connections each core holds at once (default 4096; env RINGSTORE_MAX_CONNECTIONS)
    #[argh(option)]
    max_connections: Option<String>,
    /// largest request head in bytes (default 16384; env RINGSTORE_MAX_HEADER_BYTES)
    #[argh(option)]
    max_header_bytes: Option<String>,
    /// seconds a client has to send a request head (default 10; env RINGSTORE_HEADER_TIMEOUT)
    #[argh(option)]
    header_timeout: Option<String>,
    /// seconds a request body may stall (no byte received) before the request fails (default 30; env RINGSTORE_BODY_TIMEOUT)
    #[argh(option)]
    body_timeout: Option<String>,
    /// seconds after which an unfinished multipart upload is reaped (default 604800, 7 days; env RINGSTORE_MULTIPART_MAX_AGE)
    #[argh(option)]
    multipart_max_age: Option<String>,

    /// file holding the SSE-S3 master key, outside the data dir, mode 0600 (`ringstore key generate FILE` makes one); without it SSE-S3 requests are refused (default none; env RINGSTORE_SSE_MASTER_KEY_FILE)
    #[argh(option)]
    sse_master_key_file: Option<String>,
    /// accept SSE-C (customer-key) requests over plain HTTP, for tests on loopback; S3 and the default refuse them, since the key travels in the clear (env RINGSTORE_ALLOW_SSE_C_OVER_HTTP=true)
    #[argh(switch)]
    allow_sse_c_over_http: bool,

    /// seconds a lifecycle day lasts, for tests only (default 86400: S3's day, ages rounded to
    /// midnight UTC; a shorter day is not rounded; env RINGSTORE_LIFECYCLE_DAY_SECONDS)
    #[argh(option)]
    lifecycle_day_seconds: Option<String>,

    /// a remote tier, NAME=URL (repeatable): s3://bucket/prefix?endpoint=URL&region=R&path_style=true, azure://account/container/prefix?endpoint=URL or gcs://bucket/prefix; credentials come from RINGSTORE_TIER_<NAME>_* variables or the cloud's usual chain, never from here (see README, Tiers)
    #[argh(option)]
    tier: Vec<String>,
    /// seconds an upstream object no version references waits before it is deleted, so reads already streaming it finish (default 60; env RINGSTORE_TIER_GARBAGE_GRACE_SECONDS)
    #[argh(option)]
    tier_garbage_grace_seconds: Option<String>,
    /// seconds between shipments of the metadata to every tier, when it changed, for `ringstore restore --from-tier` after losing the host; 0 ships nothing (default 300; env RINGSTORE_TIER_METADATA_INTERVAL_SECONDS)
    #[argh(option)]
    tier_metadata_interval_seconds: Option<String>,
    /// the mover's upload rate limit in megabytes (10^6 bytes) per second, shared by its moves; 0 for none (default 0; env RINGSTORE_TIER_BANDWIDTH_MBPS)
    #[argh(option)]
    tier_bandwidth_mbps: Option<String>,
    /// megabytes (10^6 bytes) of local disk for a cache of recently read remote objects, whole objects up to a quarter of it, the least recently read evicted first; 0 for none (default 0; env RINGSTORE_TIER_CACHE_MB)
    #[argh(option)]
    tier_cache_mb: Option<String>,
}

/// ringstore key: the SSE-S3 master key file.
#[derive(FromArgs)]
struct KeyArgs {
    #[argh(subcommand)]
    command: KeyCommand,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum KeyCommand {
    Generate(KeyGenerate),
}

/// write a new random master key to FILE (mode 0600; never over an existing file); keep it outside the data dir and back it up apart from the data
#[derive(FromArgs)]
#[argh(subcommand, name = "generate")]
struct KeyGenerate {
    /// the key file to create
    #[argh(positional)]
    file: String,
}

/// Runs `ringstore key …`.
fn run_key_command(args: KeyArgs) -> ExitCode {
    let KeyCommand::Generate(generate) = args.command;
    match ringstore::key_file::generate(std::path::Path::new(&generate.file)) {
        Ok(()) => {
            println!("wrote a new SSE-S3 master key to {}", generate.file);
            eprintln!("ringstore: back this file up apart from the data dir; objects stored with SSE-S3 cannot be read without it.");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("ringstore: {error}");
            ExitCode::from(1)
        }
    }
}

/// A usage error: printed as one line, exit code 2.
#[derive(Debug)]
struct UsageError(String);

fn setting(flag: Option<String>, env_name: &str, default: &str) -> String {
    optional_setting(flag, env_name).unwrap_or_else(|| default.to_string())
}

/// The flag, else the non-empty environment variable `env_name`, if either is given.
fn optional_setting(flag: Option<String>, env_name: &str) -> Option<String> {
    flag.or_else(|| {
        std::env::var(env_name)
            .ok()
            .filter(|value| !value.is_empty())
    })
}

// Long on purpose: one flag-or-env resolution and check per option, in the order of the README's
// options table, so the table and the code read side by side.
fn build_config(args: Args) -> Result<Config, UsageError> {
    let listen_text = setting(args.listen, "RINGSTORE_LISTEN", DEFAULT_LISTEN);
    let listen: SocketAddr = listen_text.parse().map_err(|_| {
        UsageError(format!(
            "invalid --listen {listen_text:?}: expected IP:PORT, e.g. 127.0.0.1:9000"
        ))
    })?;
    let tls = tls_listen(args.listen_tls, args.tls_cert, args.tls_key)?;
    let available = config::available_cores();
    let cores_text = setting(args.cores, "RINGSTORE_CORES", &available.to_string());
    let cores: usize = cores_text
        .parse()
        .ok()
        .filter(|cores| (1..=1024).contains(cores))
        .ok_or_else(|| {
            UsageError(format!(
                "invalid --cores {cores_text:?}: expected a number from 1 to 1024"
            ))
        })?;
    let access_key = setting(args.access_key, "RINGSTORE_ACCESS_KEY", DEFAULT_ACCESS_KEY);
    config::validate_access_key(&access_key).map_err(|error| UsageError(error.to_string()))?;
    let secret_key = setting(args.secret_key, "RINGSTORE_SECRET_KEY", DEFAULT_SECRET_KEY);
    config::validate_secret_key(&secret_key).map_err(|error| UsageError(error.to_string()))?;
    let region = setting(args.region, "RINGSTORE_REGION", DEFAULT_REGION);
    config::validate_region(&region).map_err(|error| UsageError(error.to_string()))?;
    let region_any = args.region_any
        || std::env::var("RINGSTORE_REGION_ANY")
            .is_ok_and(|value| matches!(value.trim(), "1" | "true" | "yes"));
    let domains: Vec<String> = setting(args.domain, "RINGSTORE_DOMAIN", DEFAULT_DOMAIN)
        .split(',')
        .map(|domain| domain.trim().to_ascii_lowercase())
        .filter(|domain| !domain.is_empty())
        .collect();
    // Absolute from here on: glommio's DMA file paths fail with EBADF for a relative path (seen
    // with `--data-dir data`), and log lines then name the real place.
    let data_dir = std::path::absolute(setting(
        args.data_dir,
        "RINGSTORE_DATA_DIR",
        DEFAULT_DATA_DIR,
    ))
    .map_err(|error| UsageError(format!("invalid --data-dir: {error}")))?;
    let log_level = setting(args.log_level, "RINGSTORE_LOG_LEVEL", DEFAULT_LOG_LEVEL);
    let age_text = setting(
        args.multipart_max_age,
        "RINGSTORE_MULTIPART_MAX_AGE",
        &limits::MULTIPART_UPLOAD_AGE_MAX_SECONDS_DEFAULT.to_string(),
    );
    let day_text = setting(
        args.lifecycle_day_seconds,
        "RINGSTORE_LIFECYCLE_DAY_SECONDS",
        &(ringstore::lifecycle::DAY_MS / 1000).to_string(),
    );
    let lifecycle_day_ms: i64 = day_text
        .parse::<i64>()
        .ok()
        .filter(|seconds| (1..=ringstore::lifecycle::DAY_MS / 1000).contains(seconds))
        .map(|seconds| seconds * 1000)
        .ok_or_else(|| {
            UsageError(format!(
                "invalid --lifecycle-day-seconds {day_text:?}: expected seconds, 1 to 86400"
            ))
        })?;
    let tiers = ringstore::tier::spec::parse_all(&args.tier)
        .map_err(|error| UsageError(error.to_string()))?;
    let tier_settings = ringstore::tier::options::parse(&TierTexts {
        garbage_grace_seconds: setting(
            args.tier_garbage_grace_seconds,
            "RINGSTORE_TIER_GARBAGE_GRACE_SECONDS",
            &TierTexts::default_garbage_grace_seconds(),
        ),
        metadata_interval_seconds: setting(
            args.tier_metadata_interval_seconds,
            "RINGSTORE_TIER_METADATA_INTERVAL_SECONDS",
            &TierTexts::default_metadata_interval_seconds(),
        ),
        bandwidth_mbps: setting(
            args.tier_bandwidth_mbps,
            "RINGSTORE_TIER_BANDWIDTH_MBPS",
            "0",
        ),
        cache_mb: setting(args.tier_cache_mb, "RINGSTORE_TIER_CACHE_MB", "0"),
    })
    .map_err(UsageError)?;
    let multipart_max_age_seconds: u64 = age_text
        .parse()
        .ok()
        .filter(|seconds| *seconds >= 1)
        .ok_or_else(|| {
            UsageError(format!(
                "invalid --multipart-max-age {age_text:?}: expected seconds, at least 1"
            ))
        })?;
    let log_format = match setting(args.log_format, "RINGSTORE_LOG_FORMAT", "text").as_str() {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => {
            return Err(UsageError(format!(
                "invalid --log-format {other:?}: expected text or json"
            )))
        }
    };
    let number = |flag: Option<String>,
                  env: &str,
                  default: u64,
                  name: &str,
                  min: u64,
                  max: u64|
     -> Result<u64, UsageError> {
        let text = setting(flag, env, &default.to_string());
        text.parse::<u64>()
            .ok()
            .filter(|value| (min..=max).contains(value))
            .ok_or_else(|| {
                UsageError(format!(
                    "invalid {name} {text:?}: expected a number from {min} to {max}"
                ))
            })
    };
    let shutdown_timeout = number(
        args.shutdown_timeout,
        "RINGSTORE_SHUTDOWN_TIMEOUT",
        30,
        "--shutdown-timeout",
        0,
        86_400,
    )?;
    let idle_timeout = number(
        args.idle_timeout,
        "RINGSTORE_IDLE_TIMEOUT",
        5,
        "--idle-timeout",
        1,
        3600,
    )?;
    let max_object_size = number(
        args.max_object_size,
        "RINGSTORE_MAX_OBJECT_SIZE",
        limits::OBJECT_BYTES_MAX_DEFAULT,
        "--max-object-size",
        1,
        limits::OBJECT_BYTES_MAX_DEFAULT,
    )?;
    let max_inline_size = number(
        args.max_inline_size,
        "RINGSTORE_MAX_INLINE_SIZE",
        limits::INLINE_OBJECT_BYTES_MAX_DEFAULT as u64,
        "--max-inline-size",
        0,
        limits::INLINE_OBJECT_BYTES_MAX_LIMIT as u64,
    )?;
    let max_connections = number(
        args.max_connections,
        "RINGSTORE_MAX_CONNECTIONS",
        limits::CONNECTIONS_PER_CORE_MAX as u64,
        "--max-connections",
        1,
        1_000_000,
    )?;
    let max_header_bytes = number(
        args.max_header_bytes,
        "RINGSTORE_MAX_HEADER_BYTES",
        limits::HEADER_BYTES_MAX as u64,
        "--max-header-bytes",
        1024,
        limits::CONNECTION_READ_BUFFER_BYTES as u64,
    )?;
    let header_timeout = number(
        args.header_timeout,
        "RINGSTORE_HEADER_TIMEOUT",
        10,
        "--header-timeout",
        1,
        3600,
    )?;
    let body_timeout = number(
        args.body_timeout,
        "RINGSTORE_BODY_TIMEOUT",
        limits::BODY_READ_STALL_TIME_MAX_MS / 1000,
        "--body-timeout",
        1,
        3600,
    )?;
    Ok(Config {
        body_timeout_ms: body_timeout * 1000,
        log_format,
        shutdown_timeout_ms: shutdown_timeout * 1000,
        idle_timeout_ms: idle_timeout * 1000,
        max_object_size_bytes: max_object_size,
        inline_object_bytes_max: max_inline_size as usize,
        connections_per_core_max: max_connections as usize,
        header_bytes_max: max_header_bytes as usize,
        header_timeout_ms: header_timeout * 1000,
        multipart_max_age_seconds,
        lifecycle_day_ms,
        tiers,
        tier_garbage_grace_ms: tier_settings.garbage_grace_ms,
        tier_metadata_interval_seconds: tier_settings.metadata_interval_seconds,
        tier_bandwidth_bytes_per_second: tier_settings.bandwidth_bytes_per_second,
        tier_read_cache_bytes: tier_settings.read_cache_bytes,
        listen,
        tls,
        data_dir,
        cores,
        credentials: Credentials {
            access_key,
            secret: Secret::new(secret_key),
        },
        region,
        region_any,
        domains,
        log_level,
        sse_master_key: None,
        allow_sse_c_over_http: args.allow_sse_c_over_http
            || std::env::var("RINGSTORE_ALLOW_SSE_C_OVER_HTTP")
                .is_ok_and(|value| matches!(value.trim(), "1" | "true" | "yes")),
    })
}

/// `--listen-tls` with its certificate and key: all three or none (files are read at start, where
/// a bad one stops the server with one line).
fn tls_listen(
    listen: Option<String>,
    certificate: Option<String>,
    key: Option<String>,
) -> Result<Option<config::TlsListen>, UsageError> {
    let value = |flag: Option<String>, variable: &str| {
        optional_setting(flag, variable).filter(|value| !value.is_empty())
    };
    let listen = value(listen, "RINGSTORE_LISTEN_TLS");
    let certificate = value(certificate, "RINGSTORE_TLS_CERT");
    let key = value(key, "RINGSTORE_TLS_KEY");
    match (listen, certificate, key) {
        (None, None, None) => Ok(None),
        (Some(listen_text), Some(certificate), Some(key)) => {
            let listen = listen_text.parse().map_err(|_| {
                UsageError(format!(
                    "invalid --listen-tls {listen_text:?}: expected IP:PORT, e.g. 127.0.0.1:9443"
                ))
            })?;
            Ok(Some(config::TlsListen {
                listen,
                certificate: absolute(&certificate),
                key: absolute(&key),
            }))
        }
        _ => Err(UsageError(
            "--listen-tls, --tls-cert and --tls-key go together: give all three or none".into(),
        )),
    }
}

/// `path` made absolute against the working directory at start, so a SIGHUP reload reads the
/// same file whatever the directory is then.
fn absolute(path: &str) -> std::path::PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.into())
}

/// Prints argh's help or usage error; help exits 0, a usage error 2.
fn early_exit_code(early_exit: argh::EarlyExit) -> ExitCode {
    match early_exit.status {
        Ok(()) => {
            println!("{}", early_exit.output);
            ExitCode::SUCCESS
        }
        Err(()) => {
            eprintln!("ringstore: {}", early_exit.output.trim());
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode, anyhow::Error> {
    let arguments: Vec<String> = std::env::args().collect();
    let command = arguments.first().map(String::as_str).unwrap_or("ringstore");
    let rest: Vec<&str> = arguments.iter().skip(1).map(String::as_str).collect();
    if rest.first() == Some(&"user") {
        return match user_command::UserArgs::from_args(&[command, "user"], &rest[1..]) {
            Ok(args) => user_command::run(args),
            Err(early_exit) => Ok(early_exit_code(early_exit)),
        };
    }
    if rest.first() == Some(&"bucket") {
        return match bucket_command::BucketArgs::from_args(&[command, "bucket"], &rest[1..]) {
            Ok(args) => bucket_command::run(args, DEFAULT_DATA_DIR),
            Err(early_exit) => Ok(early_exit_code(early_exit)),
        };
    }
    if rest.first() == Some(&"restore") {
        return match restore_command::RestoreArgs::from_args(&[command, "restore"], &rest[1..]) {
            Ok(args) => restore_command::run(args, DEFAULT_DATA_DIR),
            Err(early_exit) => Ok(early_exit_code(early_exit)),
        };
    }
    if rest.first() == Some(&"key") {
        return Ok(match KeyArgs::from_args(&[command, "key"], &rest[1..]) {
            Ok(args) => run_key_command(args),
            Err(early_exit) => early_exit_code(early_exit),
        });
    }
    let args = match Args::from_args(&[command], &rest) {
        Ok(args) => args,
        Err(early_exit) => return Ok(early_exit_code(early_exit)),
    };
    let key_file = optional_setting(
        args.sse_master_key_file.clone(),
        "RINGSTORE_SSE_MASTER_KEY_FILE",
    );
    let mut config = match build_config(args) {
        Ok(config) => config,
        Err(UsageError(message)) => {
            eprintln!("ringstore: {message}");
            return Ok(ExitCode::from(2));
        }
    };
    if let Some(path) = key_file {
        // Before anything starts: a key that cannot be read stops the server with one line.
        std::fs::create_dir_all(&config.data_dir)?;
        match ringstore::key_file::load(std::path::Path::new(&path), &config.data_dir) {
            Ok(key) => config.sse_master_key = Some(key),
            Err(error) => {
                eprintln!("ringstore: --sse-master-key-file {error}");
                return Ok(ExitCode::from(1));
            }
        }
    }
    if let Err(message) = ringstore::obs::init_logging(&config.log_level, config.log_format) {
        eprintln!("ringstore: {message}");
        return Ok(ExitCode::from(2));
    }
    if ringstore::BUILT_WITHOUT_SYNCS {
        tracing::warn!(
            "this is a test build that leaves out a sync (test-skip-* features): a power cut \
             can lose acknowledged writes"
        );
    }
    let access_key = config.credentials.access_key.clone();
    let secret_key = config.credentials.secret.expose().to_string();
    let region = config.region.clone();
    let cores = config.cores;
    let data_dir = config.data_dir.display().to_string();
    ringstore::runtime::run(config, move |listening| {
        let address = listening.plain;
        // Printed on stdout so scripts and tests can find the endpoint; logs go to stderr. A closed
        // stdout (the reader went away) must not take the server down, so errors are ignored.
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "ringstore listening on http://{address}");
        if let Some(tls) = listening.tls {
            let _ = writeln!(out, "ringstore listening on https://{tls}");
        }
        let _ = writeln!(out, "  data dir:   {data_dir}");
        let _ = writeln!(out, "  cores:      {cores}");
        let _ = writeln!(out, "  region:     {region}");
        let _ = writeln!(out, "  access key: {access_key}");
        let _ = writeln!(out, "  secret key: {secret_key}");
        let _ = writeln!(out, "  try: AWS_ACCESS_KEY_ID={access_key} AWS_SECRET_ACCESS_KEY={secret_key} aws --endpoint-url http://{address} s3 ls");
        let _ = out.flush();
    })?;
    Ok(ExitCode::SUCCESS)
}

// Per-request allocations are small and core-local; glibc malloc's arenas and consolidation were
// ~12% of server CPU in the 4 KiB GET profile (BENCHMARKS.md has the before/after).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc commits its arena eagerly on Linux, which keeps ~15 MB resident in an idle server;
/// committing on demand keeps idle RSS at glibc's level. Set from a constructor because the
/// arena is reserved by the runtime's first allocations, before `main`.
#[used]
#[link_section = ".init_array"]
static MIMALLOC_LAZY_COMMIT: extern "C" fn() = {
    extern "C" fn lazy_commit() {
        // SAFETY: plain option store; mimalloc reads it when it first reserves an arena.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) };
    }
    lazy_commit
};

/// `mi_option_arena_eager_commit` in mimalloc.h's `mi_option_e` (libmimalloc-sys has no
/// constant for it).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

fn main() -> ExitCode {
    let code = match run() {
        Ok(code) => code,
        Err(error) => {
            ringstore::obs::log_ring::flush();
            eprintln!("ringstore: {}", one_line(&error));
            ExitCode::from(1)
        }
    };
    // Log events still in the rings (the shutdown summary) are written before the process ends.
    ringstore::obs::log_ring::flush();
    code
}

/// `error` and its causes on one line, each cause once: most of ringstore's errors already name
/// their cause in their own message.
fn one_line(error: &anyhow::Error) -> String {
    let mut line = error.to_string();
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    line
}
