//! Server-side encryption as S3 asks for it: the SSE-S3 and SSE-C request headers parsed with
//! S3's errors, the data key a new object is sealed with (and the headers stored with it), and
//! the key that opens a stored object for a read — or S3's refusal.
//!
//! Stored with an encrypted object, as headers: `x-amz-server-side-encryption: AES256` (SSE-S3),
//! or `x-amz-server-side-encryption-customer-algorithm` and `-key-md5` (SSE-C), which GET and HEAD
//! return as S3 does; and `SEALED_KEY_HEADER`, the object's data key sealed under the master key
//! or the customer's key, which is never returned. The customer's key itself is never stored:
//! only a data key sealed under it (AES-256-GCM), so a later request's key is verified by
//! opening the seal (S3 keeps a salted HMAC of the key for the same purpose).

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use md5::{Digest, Md5};

use crate::config::Config;
use crate::http::RequestHead;
use crate::meta::{BucketRecord, ObjectBody, ObjectRecord};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::secret::MasterKey;
use crate::storage::decrypting_reader::EncryptedSegment;
use crate::storage::encryption::{DataKey, KeyEncryptionKey, KEY_BYTES};

/// `x-amz-server-side-encryption`.
pub const SSE_HEADER: &str = "x-amz-server-side-encryption";
/// `x-amz-server-side-encryption-customer-algorithm`.
pub const SSE_C_ALGORITHM_HEADER: &str = "x-amz-server-side-encryption-customer-algorithm";
/// `x-amz-server-side-encryption-customer-key`.
pub const SSE_C_KEY_HEADER: &str = "x-amz-server-side-encryption-customer-key";
/// `x-amz-server-side-encryption-customer-key-md5`.
pub const SSE_C_KEY_MD5_HEADER: &str = "x-amz-server-side-encryption-customer-key-md5";
/// The prefix of the copy source's SSE-C headers (in place of the `x-amz-` of the object's own).
pub const COPY_SOURCE_PREFIX: &str = "x-amz-copy-source-";
/// What the three SSE-C headers' names begin with.
const SSE_C_HEADERS_PREFIX: &str = "x-amz-server-side-encryption-customer-";
/// What the copy source's three SSE-C headers' names begin with.
const COPY_SOURCE_SSE_C_HEADERS_PREFIX: &str = "x-amz-copy-source-server-side-encryption-customer-";
/// Stored with an encrypted object, never returned: its data key, sealed (base64).
pub const SEALED_KEY_HEADER: &str = "x-ringstore-sealed-key";

/// The only algorithm S3 defines for SSE-S3 and SSE-C.
const AES256: &str = "AES256";
/// Key-encryption-key purposes: one secret never seals keys for two schemes.
const SSE_S3_PURPOSE: &str = "ringstore sse-s3 data key v1";
const SSE_C_PURPOSE: &str = "ringstore sse-c data key v1";

/// A customer's key from SSE-C headers, checked against its MD5; zeroed when dropped, printed
/// redacted.
#[derive(Clone)]
pub struct CustomerKey {
    key: [u8; KEY_BYTES],
    /// Base64 MD5 of the key, as sent (returned in answers).
    md5: String,
}

impl std::fmt::Debug for CustomerKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "CustomerKey(md5 {}, redacted)", self.md5)
    }
}

impl Drop for CustomerKey {
    fn drop(&mut self) {
        for byte in self.key.iter_mut() {
            // SAFETY: a valid, aligned pointer to a byte we own; volatile so the wipe stays.
            unsafe { std::ptr::write_volatile(byte, 0) };
        }
    }
}

impl CustomerKey {
    fn key_encryption_key(&self) -> KeyEncryptionKey {
        KeyEncryptionKey::derive(&self.key, SSE_C_PURPOSE)
    }
}

/// The encryption a write asks for.
pub enum Encryption {
    /// SSE-S3: keys held by the server (`x-amz-server-side-encryption: AES256`).
    S3,
    /// SSE-C: the customer's key, sent with every request.
    Customer(CustomerKey),
}

fn invalid_argument(message: &str, name: &str, value: Option<&str>) -> S3Error {
    let error = S3Error::with_message(S3ErrorCode::InvalidArgument, message.to_string())
        .field("ArgumentName", name.to_string());
    match value {
        Some(value) => error.field("ArgumentValue", value.to_string()),
        None => error,
    }
}

/// The SSE-C key in `head` (the object's own headers with `prefix` "", the copy source's with
/// `COPY_SOURCE_PREFIX`), if any, with S3's 400s for an incomplete or inconsistent set (the
/// handler then calls `require_secure_transport`).
pub fn customer_key(head: &RequestHead, prefix: &str) -> S3Result<Option<CustomerKey>> {
    // Nearly every request names no SSE-C header: one pass over the names settles it, without
    // the three lookups and three counts below (about 1 % of a presigned 4 KiB GET's server CPU).
    let family = match prefix {
        COPY_SOURCE_PREFIX => Cow::Borrowed(COPY_SOURCE_SSE_C_HEADERS_PREFIX),
        _ => copy_source_named(prefix, SSE_C_HEADERS_PREFIX),
    };
    if !head.headers().any(|(name, _)| name.starts_with(&*family)) {
        return Ok(None);
    }
    refuse_repeated_customer_headers(head, prefix)?;
    customer_key_from(|name| head.header(name), prefix)
}

/// `refuse_repeated` for the three SSE-C headers (with `prefix`, as `customer_key`).
fn refuse_repeated_customer_headers(head: &RequestHead, prefix: &str) -> S3Result<()> {
    for name in [
        SSE_C_ALGORITHM_HEADER,
        SSE_C_KEY_HEADER,
        SSE_C_KEY_MD5_HEADER,
    ] {
        refuse_repeated(head, &copy_source_named(prefix, name))?;
    }
    Ok(())
}

/// `name` under `prefix`: itself for "", else the copy source's form
/// (`x-amz-copy-source-server-side-encryption-customer-*`).
fn copy_source_named<'a>(prefix: &str, name: &'a str) -> Cow<'a, str> {
    match prefix {
        "" => Cow::Borrowed(name),
        _ => Cow::Owned(format!("{prefix}{}", name.trim_start_matches("x-amz-"))),
    }
}

/// A repeated SSE header is 400 InvalidArgument: which of two keys or methods to use is not the
/// server's guess.
fn refuse_repeated(head: &RequestHead, name: &str) -> S3Result<()> {
    if head.header_count(name) > 1 {
        return Err(invalid_argument(
            &format!("Duplicate header: {name}"),
            name,
            None,
        ));
    }
    Ok(())
}

/// `customer_key` over any source of values by lower-case name (request headers, or a browser
/// upload's form fields).
pub fn customer_key_from<'a>(
    lookup: impl Fn(&str) -> Option<&'a str>,
    prefix: &str,
) -> S3Result<Option<CustomerKey>> {
    let named = |name: &'static str| copy_source_named(prefix, name);
    let header = |name: &'static str| lookup(&named(name));
    let algorithm = header(SSE_C_ALGORITHM_HEADER);
    let key = header(SSE_C_KEY_HEADER);
    let md5 = header(SSE_C_KEY_MD5_HEADER);
    if algorithm.is_none() && key.is_none() && md5.is_none() {
        return Ok(None);
    }
    let algorithm_name = named(SSE_C_ALGORITHM_HEADER);
    let Some(algorithm) = algorithm else {
        return Err(invalid_argument(
            "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.",
            &algorithm_name,
            None,
        ));
    };
    if algorithm.trim() != AES256 {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidEncryptionAlgorithmError,
            "The encryption request you specified is not valid. The valid value is AES256.",
        )
        .field("ArgumentName", algorithm_name)
        .field("ArgumentValue", algorithm.to_string()));
    }
    let key_name = named(SSE_C_KEY_HEADER);
    let Some(key) = key else {
        return Err(invalid_argument(
            "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.",
            &key_name,
            None,
        ));
    };
    let md5_name = named(SSE_C_KEY_MD5_HEADER);
    let Some(md5) = md5 else {
        return Err(invalid_argument(
            "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.",
            &md5_name,
            None,
        ));
    };
    let mut decoded = BASE64.decode(key.trim()).unwrap_or_default();
    let Ok(bytes) = <[u8; KEY_BYTES]>::try_from(decoded.as_slice()) else {
        decoded.fill(0);
        return Err(invalid_argument(
            "The secret key was invalid for the specified algorithm.",
            &key_name,
            None,
        ));
    };
    decoded.fill(0);
    let customer = CustomerKey {
        key: bytes,
        md5: md5.trim().to_string(),
    };
    let computed = BASE64.encode(Md5::digest(customer.key));
    if !crate::secret::constant_time_eq(computed.as_bytes(), customer.md5.as_bytes()) {
        return Err(invalid_argument(
            "The calculated MD5 hash of the key did not match the hash that was provided.",
            &md5_name,
            None,
        ));
    }
    Ok(Some(customer))
}

/// S3 refuses SSE-C keys sent in the clear: 400 unless the request came over TLS (`secure`) or
/// the operator allowed plain HTTP (`--allow-sse-c-over-http`, for loopback tests).
pub fn require_secure_transport(secure: bool, allow_http: bool) -> S3Result<()> {
    if secure || allow_http {
        return Ok(());
    }
    Err(S3Error::with_message(
        S3ErrorCode::InvalidRequest,
        "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.",
    ))
}

/// The encryption a write (PutObject) asks for: `x-amz-server-side-encryption` or SSE-C, with
/// S3's errors for both at once, an unknown method, or SSE-KMS (not offered here: 501).
pub fn requested_encryption(head: &RequestHead) -> S3Result<Option<Encryption>> {
    refuse_repeated(head, SSE_HEADER)?;
    refuse_repeated_customer_headers(head, "")?;
    requested_encryption_from(|name| head.header(name))
}

/// `requested_encryption` over any source of values by lower-case name (a POST's form fields).
pub fn requested_encryption_from<'a>(
    lookup: impl Fn(&str) -> Option<&'a str>,
) -> S3Result<Option<Encryption>> {
    let customer = customer_key_from(&lookup, "")?;
    let Some(method) = lookup(SSE_HEADER) else {
        return Ok(customer.map(Encryption::Customer));
    };
    if customer.is_some() {
        return Err(invalid_argument(
            "Server Side Encryption with Customer provided key is incompatible with the encryption method specified",
            SSE_HEADER,
            Some(method),
        ));
    }
    match method.trim() {
        AES256 => Ok(Some(Encryption::S3)),
        "aws:kms" | "aws:kms:dsse" => Err(S3Error::with_message(
            S3ErrorCode::NotImplemented,
            "Server-side encryption with KMS keys (SSE-KMS) is not implemented; use AES256 (SSE-S3) or SSE-C.",
        )),
        _ => Err(invalid_argument(
            "The encryption method specified is not supported",
            SSE_HEADER,
            Some(method),
        )),
    }
}

/// What a data key's seal is bound to: the object's bucket and key (a sealed key copied onto
/// another object's row does not open; versions of one key share it, as they share the name).
fn sealing_context(bucket: &str, key: &str) -> Vec<u8> {
    let mut context = Vec::with_capacity(bucket.len() + 1 + key.len());
    context.extend_from_slice(bucket.as_bytes());
    context.push(b'/');
    context.extend_from_slice(key.as_bytes());
    context
}

/// The encryption a new object (or multipart upload) gets: what the request asks for, else the
/// bucket's default (SSE-S3); an SSE-C key only over TLS (or with `--allow-sse-c-over-http`).
pub fn encryption_for_write(
    config: &Config,
    requested: Option<Encryption>,
    secure: bool,
    bucket: &BucketRecord,
    key: &str,
) -> S3Result<Option<NewEncryption>> {
    let requested = match (requested, bucket.encryption) {
        (None, Some(_)) => Some(Encryption::S3),
        (requested, _) => requested,
    };
    match &requested {
        Some(encryption) => {
            if let Encryption::Customer(_) = encryption {
                require_secure_transport(secure, config.allow_sse_c_over_http)?;
            }
            Ok(Some(new_encryption(
                encryption,
                config.sse_master_key.as_ref(),
                &sealing_context(&bucket.name, key),
            )?))
        }
        None => Ok(None),
    }
}

/// The data key of a multipart upload (stored with `upload_headers`) for a part sent with
/// `customer`'s key: `None` for a plain upload; an SSE-C upload needs the same key on every
/// part (400 InvalidRequest without, 403 with another), and a plain upload none.
pub fn upload_data_key(
    config: &Config,
    upload: &crate::meta::multipart::UploadRecord,
    customer: Option<&CustomerKey>,
    secure: bool,
) -> S3Result<Option<DataKey>> {
    let upload_headers = &upload.headers;
    if customer.is_some() {
        require_secure_transport(secure, config.allow_sse_c_over_http)?;
    }
    let needs_key = upload_headers
        .iter()
        .any(|(name, _)| name == SSE_C_ALGORITHM_HEADER);
    if needs_key && customer.is_none() {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters.",
        ));
    }
    // A part's key is a request parameter that must repeat the initiate's, not a read of stored
    // data: a different one is a bad argument (400, as ceph/s3-tests expects), not a denial.
    let object = (upload.bucket.as_str(), upload.key.as_str());
    match data_key_for_read(
        upload_headers,
        customer,
        config.sse_master_key.as_ref(),
        object,
    ) {
        Err(error) if error.code == S3ErrorCode::AccessDenied => Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "The provided encryption parameters did not match the ones used originally.",
        )),
        other => other,
    }
}

/// The encrypted files of `record` with their ciphers: a single file under the data key
/// itself, each part of a multipart object under its own file key.
pub fn encrypted_segments(record: &ObjectRecord, data_key: &DataKey) -> Vec<EncryptedSegment> {
    // A version moved to a tier keeps its parts' ids (each part file's packages are sealed under
    // its id); a single file's packages under the object's key alone.
    let (per_file, extents) = match &record.body {
        ObjectBody::Parts(parts) => (true, parts.clone()),
        ObjectBody::Remote { parts, .. } if !parts.is_empty() => (true, parts.clone()),
        ObjectBody::Remote { object, .. } => (
            false,
            vec![crate::meta::PartExtent {
                file_id: object.object_id,
                size_bytes: record.size_bytes,
                checksum: None,
            }],
        ),
        _ => (false, record.extents()),
    };
    extents
        .iter()
        .map(|extent| EncryptedSegment {
            id: extent.file_id,
            plaintext_bytes: extent.size_bytes,
            cipher: if per_file {
                data_key.file_packages(extent.file_id)
            } else {
                data_key.packages(0)
            },
        })
        .collect()
}

/// A new object's encryption: the data key its bytes are sealed with, and the headers stored
/// with it (the sealed key among them).
pub struct NewEncryption {
    /// The object's data key.
    pub data_key: DataKey,
    /// Headers to store with the object.
    pub headers: Vec<(String, String)>,
    /// SSE-C: the object's ETag must not be its plaintext's MD5.
    pub opaque_etag: bool,
}

thread_local! {
    /// This core's SSE-S3 key-encryption key and the master key it came from: deriving it (an
    /// HMAC and an AES key schedule) on every request was a measurable part of a 4 KiB PUT.
    static MASTER_KEY_ENCRYPTION_KEY: RefCell<Option<(MasterKey, Rc<KeyEncryptionKey>)>> =
        const { RefCell::new(None) };
}

/// The SSE-S3 key-encryption key of `master`, derived once per core.
fn master_key_encryption_key(master: &MasterKey) -> Rc<KeyEncryptionKey> {
    MASTER_KEY_ENCRYPTION_KEY.with(|cached| {
        let mut cached = cached.borrow_mut();
        if let Some((known, kek)) = cached.as_ref() {
            if crate::secret::constant_time_eq(known.expose(), master.expose()) {
                return kek.clone();
            }
        }
        let kek = Rc::new(KeyEncryptionKey::derive(master.expose(), SSE_S3_PURPOSE));
        *cached = Some((master.clone(), kek.clone()));
        kek
    })
}

/// A fresh data key for a new object encrypted as `encryption` asks, sealed under the master
/// key (`master`; SSE-S3 without one is refused) or the customer's key.
pub fn new_encryption(
    encryption: &Encryption,
    master: Option<&MasterKey>,
    context: &[u8],
) -> S3Result<NewEncryption> {
    let data_key = DataKey::generate();
    let (kek, mut headers, opaque_etag) = match encryption {
        Encryption::S3 => {
            let Some(master) = master else {
                return Err(S3Error::with_message(
                    S3ErrorCode::NotImplemented,
                    "Server side encryption specified but no master key is configured (start ringstore with --sse-master-key-file).",
                ));
            };
            (
                master_key_encryption_key(master),
                vec![(SSE_HEADER.to_string(), AES256.to_string())],
                false,
            )
        }
        Encryption::Customer(customer) => (
            Rc::new(customer.key_encryption_key()),
            customer_headers(customer),
            true,
        ),
    };
    headers.push((
        SEALED_KEY_HEADER.to_string(),
        BASE64.encode(kek.seal(&data_key, context)),
    ));
    Ok(NewEncryption {
        data_key,
        headers,
        opaque_etag,
    })
}

fn customer_headers(customer: &CustomerKey) -> Vec<(String, String)> {
    vec![
        (SSE_C_ALGORITHM_HEADER.to_string(), AES256.to_string()),
        (SSE_C_KEY_MD5_HEADER.to_string(), customer.md5.clone()),
    ]
}

/// The headers answering a write or read of an object with `stored` headers: the encryption
/// ones S3 returns (never the sealed key).
pub fn answer_headers(stored: &[(String, String)]) -> Vec<(&'static str, String)> {
    let mut answer = Vec::new();
    for (name, value) in stored {
        let canonical = match name.as_str() {
            SSE_HEADER => "x-amz-server-side-encryption",
            SSE_C_ALGORITHM_HEADER => "x-amz-server-side-encryption-customer-algorithm",
            SSE_C_KEY_MD5_HEADER => "x-amz-server-side-encryption-customer-key-MD5",
            _ => continue,
        };
        answer.push((canonical, value.clone()));
    }
    answer
}

/// `answer_headers` as the optional headers of a `WithHeaders` answer.
pub fn answer_header_pairs(stored: &[(String, String)]) -> Vec<(&'static str, Option<String>)> {
    answer_headers(stored)
        .into_iter()
        .map(|(name, value)| (name, Some(value)))
        .collect()
}

/// Whether a stored header is one of encryption's (returned by `answer_headers`, or never).
pub fn is_encryption_header(name: &str) -> bool {
    matches!(
        name,
        SSE_HEADER | SSE_C_ALGORITHM_HEADER | SSE_C_KEY_MD5_HEADER | SEALED_KEY_HEADER
    )
}

/// The data key opening an object with `stored` headers for a read by a request carrying
/// `customer` (its SSE-C key, if any): `None` for a plain object. S3's errors: 400 for an SSE-C
/// object read without its key or a plain one read with a key, 403 for a wrong key.
pub fn data_key_for_read(
    stored: &[(String, String)],
    customer: Option<&CustomerKey>,
    master: Option<&MasterKey>,
    (bucket, key): (&str, &str),
) -> S3Result<Option<DataKey>> {
    let sealed = stored
        .iter()
        .find(|(name, _)| name == SEALED_KEY_HEADER)
        .map(|(_, value)| value);
    let is_customer = stored
        .iter()
        .any(|(name, _)| name == SSE_C_ALGORITHM_HEADER);
    let Some(sealed) = sealed else {
        return match customer {
            Some(_) => Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "The encryption parameters are not applicable to this object.",
            )),
            None => Ok(None),
        };
    };
    let sealed = BASE64.decode(sealed).unwrap_or_default();
    let kek = match (is_customer, customer) {
        (true, None) => {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.",
            ))
        }
        (true, Some(customer)) => Rc::new(customer.key_encryption_key()),
        (false, Some(_)) => {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "The encryption parameters are not applicable to this object.",
            ))
        }
        (false, None) => match master {
            Some(master) => master_key_encryption_key(master),
            None => {
                tracing::error!("an SSE-S3 object was read but no --sse-master-key-file is configured");
                return Err(S3Error::new(S3ErrorCode::InternalError));
            }
        },
    };
    match kek.open(&sealed, &sealing_context(bucket, key)) {
        Ok(data_key) => Ok(Some(data_key)),
        // A wrong customer key: S3 denies access (minio/minio#6432 matches AWS's answer).
        Err(_) if is_customer => Err(S3Error::with_message(
            S3ErrorCode::AccessDenied,
            "The SSE-C key provided does not match the key the object was encrypted with.",
        )),
        Err(error) => {
            tracing::error!(error = %error, "an SSE-S3 object's key does not open with the configured master key");
            Err(S3Error::new(S3ErrorCode::InternalError))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::head::{parse_head, HeadParse};

    fn head(fields: &[&str]) -> RequestHead {
        let raw = format!("GET /b/k HTTP/1.1\r\nHost: h\r\n{}\r\n", fields.join(""));
        match parse_head(raw.as_bytes()).unwrap() {
            HeadParse::Complete(head, _) => head,
            HeadParse::Partial => panic!("partial head"),
        }
    }

    fn argument_name(result: S3Result<Option<CustomerKey>>) -> String {
        let error = result.expect_err("an error");
        assert_eq!(error.code, S3ErrorCode::InvalidArgument, "{error:?}");
        let field = error
            .fields
            .iter()
            .find(|(name, _)| *name == "ArgumentName");
        field.expect("ArgumentName").1.clone()
    }

    #[test]
    fn the_no_sse_c_pass_still_sees_any_one_of_the_headers() {
        // Goal: the one-pass answer "no SSE-C here" holds only when none of the family is sent:
        // any one header of the object's own (or, with the prefix, of the copy source's) still
        // reaches the full checks, in either case of the name, and a repeated one is refused;
        // the other family's headers do not count.
        let own = "x-amz-server-side-encryption-customer-";
        let source = "x-amz-copy-source-server-side-encryption-customer-";
        assert_eq!(
            copy_source_named(COPY_SOURCE_PREFIX, SSE_C_HEADERS_PREFIX),
            COPY_SOURCE_SSE_C_HEADERS_PREFIX
        );
        assert!(customer_key(&head(&[]), "").unwrap().is_none());
        assert!(
            customer_key(&head(&["x-amz-server-side-encryption: AES256\r\n"]), "")
                .unwrap()
                .is_none()
        );
        assert!(customer_key(&head(&[&format!("{source}key: a\r\n")]), "")
            .unwrap()
            .is_none());
        assert!(
            customer_key(&head(&[&format!("{own}key: a\r\n")]), COPY_SOURCE_PREFIX)
                .unwrap()
                .is_none()
        );
        assert_eq!(
            argument_name(customer_key(&head(&[&format!("{own}key: a\r\n")]), "")),
            SSE_C_ALGORITHM_HEADER
        );
        assert_eq!(
            argument_name(customer_key(
                &head(&["X-Amz-Server-Side-Encryption-Customer-Key-MD5: a\r\n"]),
                ""
            )),
            SSE_C_ALGORITHM_HEADER
        );
        assert_eq!(
            argument_name(customer_key(
                &head(&[&format!("{source}algorithm: AES256\r\n")]),
                COPY_SOURCE_PREFIX
            )),
            format!("{source}key")
        );
        let repeated = customer_key(
            &head(&[
                &format!("{own}algorithm: AES256\r\n"),
                &format!("{own}algorithm: AES256\r\n"),
            ]),
            "",
        );
        assert!(
            repeated
                .expect_err("refused")
                .message
                .contains("Duplicate header"),
            "a repeated header"
        );
    }
}
