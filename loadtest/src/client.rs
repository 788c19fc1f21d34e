//! Signed requests and one reusable connection: SigV4 header auth computed per request from a
//! cached signing key, responses parsed with httparse, bodies drained or checked in place.

use anyhow::{bail, Result};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;
use ringstore::s3::auth::sigv4;

/// Where requests go and how they are signed.
pub struct Target {
    pub host: String,
    pub address: String,
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
    stream: TcpStream,
    buffer: Vec<u8>,
    filled: usize,
}

impl Connection {
    pub async fn open(address: &str) -> Result<Connection> {
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
    pub async fn exchange(
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

impl Connection {
    /// Sends a request with a body and returns (status, ETag header if any).
    pub async fn exchange_with_etag(
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

impl Connection {
    /// GETs and compares the body with `expected` as it arrives (verification mode).
    pub async fn exchange_checked(
        &mut self,
        head: &str,
        expected: &[u8],
    ) -> Result<(u16, u64, String)> {
        self.stream.write_all(head.as_bytes()).await?;
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
                self.buffer.copy_within(used..self.filled, 0);
                self.filled -= used;
                let mut received = Vec::with_capacity(length.min(1 << 20) as usize);
                let mut remaining = length;
                loop {
                    let take = remaining.min(self.filled as u64) as usize;
                    received.extend_from_slice(&self.buffer[..take]);
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
                if status == 200 && received != expected {
                    bail!("body differs from what was PUT");
                }
                let text = if status >= 300 {
                    String::from_utf8_lossy(&received).into_owned()
                } else {
                    String::new()
                };
                return Ok((status, length, text));
            }
            let count = self.stream.read(&mut self.buffer[self.filled..]).await?;
            if count == 0 {
                bail!("connection closed");
            }
            self.filled += count;
        }
    }
}
