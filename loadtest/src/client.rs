//! Signed requests and one reusable connection (plain or TLS): SigV4 header auth computed per
//! request from a cached signing key, responses parsed with httparse, bodies drained or checked in
//! place.

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;
use ringstore::http::Transport;
use ringstore::s3::auth::sigv4;

/// A TLS client configuration trusting the PEM certificates in `ca_file` (for `https://`
/// endpoints), offering ALPN `http/1.1`.
pub fn tls_client_config(ca_file: &str) -> Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for certificate in rustls::pki_types::CertificateDer::pem_file_iter(ca_file)
        .with_context(|| format!("read --tls-ca {ca_file}"))?
    {
        roots
            .add(certificate.with_context(|| format!("parse --tls-ca {ca_file}"))?)
            .with_context(|| format!("use --tls-ca {ca_file}"))?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The `host:port` of an `http://` or `https://` endpoint URL, and for `https://` the TLS
/// configuration trusting `tls_ca`.
pub fn endpoint_address(
    url: &str,
    tls_ca: Option<&str>,
) -> Result<(String, Option<Arc<rustls::ClientConfig>>)> {
    let (address, tls) = if let Some(rest) = url.strip_prefix("https://") {
        let ca = tls_ca.context(
            "https:// endpoints need --tls-ca FILE (the CA that signed the server's certificate)",
        )?;
        (rest, Some(tls_client_config(ca)?))
    } else {
        let rest = url
            .strip_prefix("http://")
            .context("endpoint must start with http:// or https://")?;
        (rest, None)
    };
    Ok((address.trim_end_matches('/').to_string(), tls))
}

/// Where requests go and how they are signed.
pub struct Target {
    pub host: String,
    pub address: String,
    /// TLS settings for an `https://` endpoint.
    pub tls: Option<futures_rustls::TlsConnector>,
    pub access_key: String,
    pub region: String,
    pub signing_key: [u8; 32],
    pub date: String,
}

/// `YYYYMMDDTHHMMSSZ` now.
pub fn amz_date_now() -> String {
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
    pub fn head(
        &self,
        method: &str,
        path: &str,
        payload_hash: &str,
        content_length: Option<usize>,
    ) -> String {
        self.head_with_query(method, path, "", payload_hash, content_length)
    }

    /// A signed request head; `query` must already be in canonical form (sorted, encoded).
    pub fn head_with_query(
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
pub struct Connection {
    stream: Box<dyn Transport>,
    buffer: Vec<u8>,
    filled: usize,
}

/// What a response head said.
struct ResponseHead {
    status: u16,
    length: u64,
    etag: Option<String>,
}

impl Connection {
    /// Connects to `target` (and completes the TLS handshake for an `https://` endpoint).
    pub async fn open(target: &Target) -> Result<Connection> {
        let address = &target.address;
        let stream = TcpStream::connect(address)
            .await
            .map_err(|e| anyhow::anyhow!("connect {address}: {e}"))?;
        stream.set_nodelay(true).ok();
        let stream: Box<dyn Transport> = match &target.tls {
            None => Box::new(stream),
            Some(connector) => {
                let host = address
                    .rsplit_once(':')
                    .map_or(address.as_str(), |(host, _)| host);
                let name = rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']))
                    .with_context(|| format!("TLS server name {host}"))?
                    .to_owned();
                let stream = connector
                    .connect(name, stream)
                    .await
                    .map_err(|e| anyhow::anyhow!("TLS handshake with {address}: {e}"))?;
                Box::new(stream)
            }
        };
        Ok(Connection {
            stream,
            buffer: vec![0; 256 * 1024],
            filled: 0,
        })
    }

    async fn fill(&mut self, what: &str) -> Result<()> {
        let count = self.stream.read(&mut self.buffer[self.filled..]).await?;
        if count == 0 {
            bail!("connection closed {what}");
        }
        self.filled += count;
        Ok(())
    }

    fn consume(&mut self, count: usize) {
        self.buffer.copy_within(count..self.filled, 0);
        self.filled -= count;
    }

    /// Sends the request and reads the response head.
    async fn send(&mut self, head: &str, body: &[u8], head_request: bool) -> Result<ResponseHead> {
        self.stream.write_all(head.as_bytes()).await?;
        if !body.is_empty() {
            self.stream.write_all(body).await?;
        }
        // TLS keeps the tail of a write in its session until flushed.
        self.stream.flush().await?;
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(used) = response.parse(&self.buffer[..self.filled])? {
                let mut parsed = ResponseHead {
                    status: response.code.unwrap_or(0),
                    length: 0,
                    etag: None,
                };
                for header in response.headers.iter() {
                    if header.name.eq_ignore_ascii_case("content-length") {
                        parsed.length = std::str::from_utf8(header.value)?.trim().parse()?;
                    } else if header.name.eq_ignore_ascii_case("etag") {
                        parsed.etag = Some(String::from_utf8_lossy(header.value).into_owned());
                    }
                }
                if head_request {
                    parsed.length = 0;
                }
                self.consume(used);
                return Ok(parsed);
            }
            self.fill("before the response").await?;
        }
    }

    /// Reads `length` body bytes, handing each piece to `sink`.
    async fn read_body(&mut self, length: u64, mut sink: impl FnMut(&[u8])) -> Result<()> {
        let mut remaining = length;
        loop {
            let take = remaining.min(self.filled as u64) as usize;
            sink(&self.buffer[..take]);
            self.consume(take);
            remaining -= take as u64;
            if remaining == 0 {
                return Ok(());
            }
            self.fill("mid-body").await?;
        }
    }

    /// Sends a request; returns (status, body length, body text for errors and POST results).
    pub async fn exchange(
        &mut self,
        head: &str,
        body: &[u8],
        head_request: bool,
    ) -> Result<(u16, u64, String)> {
        let response = self.send(head, body, head_request).await?;
        // Keep error bodies and POST results (XML the caller parses); object bytes are dropped.
        let keep = response.status >= 300 || head.starts_with("POST ");
        let mut text = String::new();
        self.read_body(response.length, |piece| {
            if keep && text.len() < 64 * 1024 {
                text.push_str(&String::from_utf8_lossy(piece));
            }
        })
        .await?;
        Ok((response.status, response.length, text))
    }

    /// Sends a request with a body; returns (status, body length, ETag header if any).
    pub async fn exchange_with_etag(
        &mut self,
        head: &str,
        body: &[u8],
    ) -> Result<(u16, u64, Option<String>)> {
        let response = self.send(head, body, false).await?;
        self.read_body(response.length, |_| {}).await?;
        Ok((response.status, response.length, response.etag))
    }

    /// GETs and compares the body with `expected` as it arrives (verification mode).
    pub async fn exchange_checked(
        &mut self,
        head: &str,
        expected: &[u8],
    ) -> Result<(u16, u64, String)> {
        let response = self.send(head, &[], false).await?;
        let mut offset = 0usize;
        let mut matches = response.length == expected.len() as u64;
        let mut text = String::new();
        self.read_body(response.length, |piece| {
            if response.status >= 300 {
                text.push_str(&String::from_utf8_lossy(piece));
            } else if matches {
                matches = expected.get(offset..offset + piece.len()) == Some(piece);
            }
            offset += piece.len();
        })
        .await?;
        if response.status == 200 && !matches {
            bail!("body differs from what was PUT");
        }
        Ok((response.status, response.length, text))
    }
}

/// The `<Code>` of an S3 error body, or `?`.
pub fn error_code(body: &str) -> String {
    body.split("<Code>")
        .nth(1)
        .and_then(|rest| rest.split("</Code>").next())
        .unwrap_or("?")
        .to_string()
}

/// The text of `<name>` in an XML body.
pub fn xml_value(body: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{name}>"))? + start;
    Some(body[start..end].to_string())
}
