//! TLS for the `--listen-tls` listeners: the certificate chain and key read from PEM files, handed
//! to every handshake by a resolver that SIGHUP reloads without touching open connections, and
//! the server side of one handshake.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use futures_rustls::server::TlsStream;
use futures_rustls::LazyConfigAcceptor;
use glommio::net::TcpStream;

use rustls::crypto::aws_lc_rs;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;

/// ALPN protocol ids offered (RFC 7301 §3.1; IANA's registry spells HTTP/1.1 `http/1.1`).
/// ringstore speaks no HTTP/2, so a client offering only `h2` fails the handshake with
/// `no_application_protocol`, as RFC 7301 §3.2 requires; a client offering none is served.
pub const ALPN_PROTOCOLS: [&[u8]; 1] = [b"http/1.1"];

/// Where the certificate chain and its private key are read from (PEM, as nginx and MinIO take
/// them: the leaf first, then intermediates; the key in PKCS#8, PKCS#1 or SEC1 form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain.
    pub certificate: PathBuf,
    /// The private key of the chain's first certificate.
    pub key: PathBuf,
}

/// Why a certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or holds no usable PEM section of the kind needed.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The key is not one rustls can sign with, or it does not belong to the certificate.
    #[error("{key} cannot serve the certificate in {certificate}: {reason}")]
    Pair {
        /// The certificate file.
        certificate: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        reason: String,
    },
}

fn file_error(path: &Path, reason: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Largest certificate or key file read, in bytes: a chain of a few certificates is a few KiB; the
/// cap keeps `/dev/zero` or a log file named by mistake from being read without end.
pub const TLS_FILE_BYTES_MAX: u64 = 1024 * 1024;

/// Reads `path` if it is a regular file of at most `TLS_FILE_BYTES_MAX` bytes. Opened
/// non-blocking and checked on the open descriptor, so a FIFO put in its place cannot block the
/// reader (SIGHUP reloads run on the signal thread).
fn read_pem_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|error| file_error(path, error))?;
    let metadata = file.metadata().map_err(|error| file_error(path, error))?;
    if !metadata.is_file() {
        return Err(file_error(path, "not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(TLS_FILE_BYTES_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| file_error(path, error))?;
    if bytes.len() as u64 > TLS_FILE_BYTES_MAX {
        return Err(file_error(
            path,
            "larger than 1 MiB: not a PEM certificate or key",
        ));
    }
    Ok(bytes)
}

/// Why a PEM key section could not be used, in words an operator can act on.
fn key_problem(bytes: &[u8], error: rustls::pki_types::pem::Error) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.contains("ENCRYPTED") {
        return "the private key is encrypted: give it decrypted (`openssl pkey -in KEY -out \
                PLAIN.pem`) and keep that file mode 0600"
            .into();
    }
    match error {
        rustls::pki_types::pem::Error::NoItemsFound => {
            "no PEM private key (PKCS#8, PKCS#1 or SEC1) in it".into()
        }
        other => other.to_string(),
    }
}

/// Reads and checks `files`: a non-empty chain, a key rustls can sign with, and a key that
/// matches the chain's first certificate.
///
/// # Errors
/// `TlsError::File` for an unreadable file or one without a PEM certificate (or key);
/// `TlsError::Pair` for an unsupported key type or a key of another certificate.
pub fn load_certified_key(files: &TlsFiles) -> Result<CertifiedKey, TlsError> {
    let certificate_bytes = read_pem_file(&files.certificate)?;
    let chain = CertificateDer::pem_slice_iter(&certificate_bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| file_error(&files.certificate, error))?;
    if chain.is_empty() {
        return Err(file_error(
            &files.certificate,
            "no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
        ));
    }
    let key_bytes = read_pem_file(&files.key)?;
    let key = PrivateKeyDer::from_pem_slice(&key_bytes)
        .map_err(|error| file_error(&files.key, key_problem(&key_bytes, error)))?;
    CertifiedKey::from_der(chain, key, &aws_lc_rs::default_provider()).map_err(|error| {
        let reason = match error {
            rustls::Error::InconsistentKeys(_) => {
                "the key does not belong to the chain's first certificate (is the leaf first?)"
                    .to_string()
            }
            other => format!(
                "unsupported key type or size ({other}); rustls signs with RSA of 2048 bits or \
                 more, ECDSA P-256/P-384/P-521 and Ed25519"
            ),
        };
        TlsError::Pair {
            certificate: files.certificate.clone(),
            key: files.key.clone(),
            reason,
        }
    })
}

/// The certificate every handshake gets. Cores read it once per handshake; SIGHUP replaces it
/// (`reload`), so new handshakes see the new certificate and open connections keep theirs.
#[derive(Debug)]
pub struct CertificateResolver {
    files: TlsFiles,
    current: RwLock<Arc<CertifiedKey>>,
}

impl CertificateResolver {
    /// Loads `files` (see `load_certified_key` for the errors).
    pub fn load(files: TlsFiles) -> Result<Self, TlsError> {
        let key = load_certified_key(&files)?;
        Ok(CertificateResolver {
            files,
            current: RwLock::new(Arc::new(key)),
        })
    }

    /// Reads the files again and, if they are usable, serves them from the next handshake on; on
    /// an error the previous certificate stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let key = Arc::new(load_certified_key(&self.files)?);
        *self
            .current
            .write()
            .unwrap_or_else(|poison| poison.into_inner()) = key;
        Ok(())
    }

    /// The files this resolver reads.
    pub fn files(&self) -> &TlsFiles {
        &self.files
    }
}

impl ResolvesServerCert for CertificateResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|poison| poison.into_inner())
                .clone(),
        )
    }
}

/// One core's TLS server configuration: TLS 1.3 and 1.2 (rustls' safe defaults, no older),
/// ALPN `http/1.1`, certificates from `resolver`. Built per core so each keeps its own session
/// cache instead of sharing one behind a lock.
pub fn server_config(resolver: Arc<CertificateResolver>) -> Arc<ServerConfig> {
    let mut config = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("aws-lc-rs supports TLS 1.2 and 1.3")
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = ALPN_PROTOCOLS.iter().map(|id| id.to_vec()).collect();
    Arc::new(config)
}

/// How one TLS handshake ended.
pub enum Handshake {
    /// Done: requests follow over this stream.
    Done(Box<TlsStream<TcpStream>>),
    /// The client closed (or reset) before or during the handshake: load balancers' TCP checks
    /// and clients that gave up, not counted as failures.
    Abandoned,
    /// The client speaks plain HTTP to the TLS port: it should be told so (`PLAIN_HTTP_MESSAGE`).
    PlainHttp(TcpStream),
    /// The handshake failed (the alert, if any, was sent).
    Failed(std::io::Error),
}

/// What a plain-HTTP client on the TLS port reads, in a 400 (nginx answers the same mistake so).
pub const PLAIN_HTTP_MESSAGE: &str =
    "This port serves HTTPS: use https:// (plain HTTP is on --listen)\n";

/// Runs the server side of a handshake on `stream` with `config`. The caller bounds its time.
/// Alerts for a ClientHello or configuration mismatch (protocol version, ALPN) reach the client
/// before the connection closes.
pub async fn accept(stream: TcpStream, config: Arc<ServerConfig>) -> Handshake {
    // A TLS connection opens with a handshake record (content type 22); an HTTP request with a
    // method name in capitals.
    let mut first = [0u8; 1];
    match stream.peek(&mut first).await {
        Ok(0) | Err(_) => return Handshake::Abandoned,
        Ok(_) if first[0].is_ascii_uppercase() => return Handshake::PlainHttp(stream),
        Ok(_) => {}
    }
    let start = match LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream).await {
        Ok(start) => start,
        Err(error) => return failed(error),
    };
    match start.into_stream(config).await {
        Ok(stream) => Handshake::Done(Box::new(stream)),
        Err(error) => failed(error),
    }
}

fn failed(error: std::io::Error) -> Handshake {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset | ErrorKind::BrokenPipe => {
            Handshake::Abandoned
        }
        _ => Handshake::Failed(error),
    }
}
