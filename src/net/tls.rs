//! TLS for the `--listen-tls` listeners: the certificate chain and key read from PEM files, handed
//! to every handshake by a resolver that SIGHUP reloads without touching open connections.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

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

/// Reads and checks `files`: a non-empty chain, a key rustls can sign with, and a key that
/// matches the chain's first certificate.
///
/// # Errors
/// `TlsError::File` for an unreadable file or one without a PEM certificate (or key);
/// `TlsError::Pair` for an unsupported key type or a key of another certificate.
pub fn load_certified_key(files: &TlsFiles) -> Result<CertifiedKey, TlsError> {
    let chain = CertificateDer::pem_file_iter(&files.certificate)
        .map_err(|error| file_error(&files.certificate, error))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| file_error(&files.certificate, error))?;
    if chain.is_empty() {
        return Err(file_error(
            &files.certificate,
            "no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|error| match error {
        rustls::pki_types::pem::Error::NoItemsFound => file_error(
            &files.key,
            "no PEM private key (PKCS#8, PKCS#1 or SEC1) in it",
        ),
        other => file_error(&files.key, other),
    })?;
    CertifiedKey::from_der(chain, key, &aws_lc_rs::default_provider()).map_err(|error| {
        TlsError::Pair {
            certificate: files.certificate.clone(),
            key: files.key.clone(),
            reason: error.to_string(),
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
        *self.current.write().unwrap_or_else(|poison| poison.into_inner()) = key;
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
