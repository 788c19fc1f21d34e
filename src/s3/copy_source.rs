//! The source of a copy (CopyObject, UploadPartCopy): `x-amz-copy-source` and its range parsed,
//! the source read-authorized and its conditions checked, and its bytes streamed through DMA
//! blocks into a new sealed object (never buffered whole).

use std::io;

use crate::http::RequestHead;
use crate::meta::users::canonical_id;
use crate::meta::{
    BucketRecord, GetObjectVersion, MetaError, ObjectBody, ObjectRecord, VersionLookup,
    VersionSelector,
};
use crate::policy::Decision;
use crate::s3::access::{allows_acl, Permission};
use crate::s3::authorization::{decide, decide_with, object_conditions};
use crate::s3::conditions::{ConditionOutcome, ReadConditions};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::object_body::open_stream;
use crate::s3::object_write::Destination;
use crate::s3::path::{percent_decode, validate_bucket_name};
use crate::s3::request::Call;
use crate::s3::sse::{self, CustomerKey};
use crate::s3::version::no_such_version;
use crate::s3::S3Context;
use crate::storage::checksum::StoredChecksum;
use crate::storage::encryption::{DataKey, Sealing};
use crate::storage::{ObjectWriter, SealedObject};

/// Attempts to open the source when a concurrent overwrite replaced it between lookup and open.
const SOURCE_OPEN_ATTEMPT_COUNT_MAX: usize = 4;

/// A parsed `x-amz-copy-source`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySource {
    /// Source bucket.
    pub bucket: String,
    /// Source key.
    pub key: String,
    /// `?versionId=`: that version of the source rather than its current one.
    pub version: Option<VersionSelector>,
}

/// Parses `[/]bucket/key[?versionId=v]` (URL-encoded); a malformed version id is S3's 400
/// InvalidArgument.
pub fn parse_copy_source(value: &str) -> S3Result<CopySource> {
    let invalid = || {
        S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
        )
    };
    let (path, version) = match value.split_once('?') {
        Some((path, query)) => {
            let version = query.strip_prefix("versionId=").ok_or_else(invalid)?;
            (path, Some(percent_decode(version)?))
        }
        None => (value, None),
    };
    let decoded = percent_decode(path)?;
    let decoded = decoded.strip_prefix('/').unwrap_or(&decoded);
    let (bucket, key) = decoded.split_once('/').ok_or_else(invalid)?;
    if bucket.is_empty() || key.is_empty() {
        return Err(invalid());
    }
    if key.len() > crate::limits::KEY_BYTES_MAX {
        return Err(S3Error::new(S3ErrorCode::KeyTooLongError));
    }
    let version = match version {
        None => None,
        Some(text) => Some(VersionSelector::parse(&text).ok_or_else(|| {
            S3Error::with_message(S3ErrorCode::InvalidArgument, "Invalid version id specified")
                .field("ArgumentName", "x-amz-copy-source")
                .field("ArgumentValue", text.clone())
        })?),
    };
    Ok(CopySource {
        bucket: bucket.to_string(),
        key: key.to_string(),
        version,
    })
}

/// What a copy asks of its source: which object (`x-amz-copy-source`), under which
/// `x-amz-copy-source-if-*` conditions, and which bytes (`x-amz-copy-source-range`, parts only).
#[derive(Debug, Clone)]
pub struct CopySourceRequest<'r> {
    /// The source object.
    pub source: CopySource,
    /// Its conditions.
    pub conditions: ReadConditions<'r>,
    /// The range asked for, as sent (checked against the source's size once it is known).
    pub range: Option<&'r str>,
    /// `x-amz-source-expected-bucket-owner`: the canonical id the caller expects the source
    /// bucket to have (AccessDenied otherwise, as for `x-amz-expected-bucket-owner`).
    pub expected_owner: Option<&'r str>,
    /// The source's SSE-C key (`x-amz-copy-source-server-side-encryption-customer-*`).
    pub customer: Option<CustomerKey>,
    /// The request came over TLS (SSE-C keys must).
    pub secure: bool,
}

impl<'r> CopySourceRequest<'r> {
    /// Reads it from `head`; the range only when `with_range` (UploadPartCopy).
    pub fn parse(head: &'r RequestHead, with_range: bool) -> S3Result<Self> {
        Ok(CopySourceRequest {
            source: parse_copy_source(head.header("x-amz-copy-source").unwrap_or_default())?,
            conditions: ReadConditions::from_headers(head, "x-amz-copy-source-"),
            range: if with_range {
                head.header("x-amz-copy-source-range")
            } else {
                None
            },
            expected_owner: head.header("x-amz-source-expected-bucket-owner"),
            customer: sse::customer_key(head, sse::COPY_SOURCE_PREFIX)?,
            secure: head.secure,
        })
    }

    /// The `x-amz-copy-source-version-id` S3 answers for a copy of `record`: its version id when
    /// it has one, or `null` when the null version was named.
    pub fn version_header(&self, record: &ObjectRecord) -> Option<String> {
        record.version_id.clone().or_else(|| {
            (self.source.version == Some(VersionSelector::Null))
                .then(|| crate::meta::NULL_VERSION_ID.to_string())
        })
    }
}

/// The source object (the version it names, or its current one) if the caller may read it:
/// NoSuchKey / NoSuchVersion for whoever may list its bucket, AccessDenied for everyone else (as
/// for a GET); a delete marker named by id is S3's 400 InvalidRequest.
async fn readable_source(
    context: &S3Context,
    call: &Call<'_>,
    source: &CopySource,
    source_bucket: &BucketRecord,
) -> S3Result<std::rc::Rc<ObjectRecord>> {
    // The source record, and whether what was found instead is a delete marker.
    let found: Result<(Option<std::rc::Rc<ObjectRecord>>, bool), MetaError> = match &source.version
    {
        None => context
            .object(&source.bucket, &source.key, true)
            .await
            .map(|record| (record, false)),
        Some(version) => {
            let lookup = GetObjectVersion {
                bucket: source.bucket.clone(),
                key: source.key.clone(),
                version: Some(version.clone()),
                with_bytes: true,
            };
            context.meta.call(lookup).await.map(|found| match found {
                VersionLookup::Object(record) => (Some(std::rc::Rc::new(*record)), false),
                VersionLookup::DeleteMarker { .. } => (None, true),
                VersionLookup::Missing => (None, false),
            })
        }
    };
    // The source bucket's policy on reading the source (an explicit Deny refuses whatever the
    // ACLs say; an Allow stands in for them), and its PublicAccessBlock.
    // The source's own condition keys: its tags, never the destination's.
    let source_conditions = match call.conditions {
        Some(base) => Some(
            object_conditions(
                context,
                source_bucket,
                &source.key,
                source.version.as_ref(),
                base,
            )
            .await,
        ),
        None => None,
    };
    let verdict = |action: &str, key: Option<&str>| {
        decide_with(
            source_bucket,
            call.requester,
            action,
            key,
            source_conditions.as_ref(),
        )
    };
    let read_action = if source.version.is_some() {
        "GetObjectVersion"
    } else {
        "GetObject"
    };
    let read_verdict = verdict(read_action, Some(&source.key));
    if read_verdict == Decision::Deny {
        return Err(S3Error::new(S3ErrorCode::AccessDenied));
    }
    let ignore_public = source_bucket
        .public_access_block
        .is_some_and(|block| block.ignore_public_acls);
    // Whether a missing source may be told apart from a forbidden one: ListBucket on the source
    // key as a prefix (as `resource::missing_object` decides it); an explicit Deny hides it.
    let list_verdict = match &source_conditions {
        Some(conditions) => {
            let mut listing = conditions.clone();
            listing.set("s3:prefix", vec![source.key.clone()]);
            decide(source_bucket, call.requester, "ListBucket", None, &listing)
        }
        None => verdict("ListBucket", None),
    };
    let may_list = || {
        list_verdict == Decision::Allow
            || list_verdict != Decision::Deny
                && allows_acl(
                    &source_bucket.owner,
                    source_bucket.acl.as_deref(),
                    call.requester,
                    Permission::Read,
                    ignore_public,
                )
    };
    match found {
        Ok((Some(record), _)) => {
            // A bucket policy speaks for the bucket owner's objects only (S3: an object another
            // account wrote is granted by its own ACL).
            if (read_verdict == Decision::Allow && record.owner == source_bucket.owner)
                || allows_acl(
                    &record.owner,
                    record.acl.as_deref(),
                    call.requester,
                    Permission::Read,
                    ignore_public,
                )
            {
                Ok(record)
            } else {
                Err(S3Error::new(S3ErrorCode::AccessDenied))
            }
        }
        Ok(_) if !may_list() => Err(S3Error::new(S3ErrorCode::AccessDenied)),
        Ok((None, true)) => Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "The source of a copy request may not specifically refer to a delete marker by version id.",
        )),
        Ok((None, false)) => Err(match &source.version {
            Some(version) => no_such_version(&source.key, version),
            None => S3Error::new(S3ErrorCode::NoSuchKey).field("Key", source.key.clone()),
        }),
        Err(MetaError::NoSuchBucket) => Err(S3Error::new(S3ErrorCode::NoSuchBucket)),
        Err(error) => Err(error.into()),
    }
}

/// How the bytes of a copy are read and written: the source's data key (an encrypted source is
/// decrypted) and the copy's sealing (it is encrypted as its own request or upload asks).
pub struct CopyCrypto<'a> {
    source_key: Option<&'a DataKey>,
    sealing: Option<Sealing>,
}

/// Streams bytes `start..start + length` of `record` (the source `source` names) through DMA
/// blocks into a new sealed object, decrypting and encrypting as `crypto` says; `None` when a
/// file vanished since the lookup.
async fn copy_bytes(
    context: &S3Context,
    record: &ObjectRecord,
    source: &CopySource,
    (start, length): (u64, u64),
    (algorithm, placement): (
        Option<crate::storage::checksum::ChecksumAlgorithm>,
        crate::storage::Placement,
    ),
    crypto: CopyCrypto<'_>,
) -> S3Result<Option<SealedObject>> {
    let unreadable = |error: &dyn std::fmt::Display| {
        tracing::error!(error = %error, bucket = %source.bucket, key = %source.key, "copy source unreadable");
        S3Error::new(S3ErrorCode::InternalError)
    };
    // The copy's length is known: its file is preallocated to it.
    let new_writer = move || {
        ObjectWriter::create(
            context.layout.clone(),
            algorithm,
            placement,
            crypto.sealing,
            Some(length),
        )
    };
    if let ObjectBody::Inline(bytes) = &record.body {
        let plaintext = match crypto.source_key {
            Some(data_key) => std::borrow::Cow::Owned(
                data_key
                    .packages(0)
                    .open_all(bytes.as_slice(), record.size_bytes)
                    .map_err(|error| unreadable(&error))?,
            ),
            None => std::borrow::Cow::Borrowed(bytes.as_slice()),
        };
        let mut writer = new_writer().await?;
        writer
            .write_all(&plaintext[start as usize..(start + length) as usize])
            .await?;
        return Ok(Some(writer.seal().await?));
    }
    let opened = open_stream(context, record, crypto.source_key, start, length).await;
    let mut reader = match opened {
        Ok(reader) => reader,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(unreadable(&error)),
    };
    // The source first: a vanished or unreadable one costs no temp file.
    let mut writer = new_writer().await?;
    let mut copied = Ok(());
    while reader.remaining() > 0 {
        if let Err(error) = reader.next_block().await {
            copied = Err(unreadable(&error));
            break;
        }
        writer.write_all(reader.block()).await?;
    }
    reader.close().await;
    copied?;
    Ok(Some(writer.seal().await?))
}

/// Reads the copy source (checking the requester may read it, and the `x-amz-copy-source-if-*`
/// conditions) and streams bytes `range` (inclusive; whole object when `None`) into a new durable
/// temp file. Returns the source's metadata and the sealed copy.
pub async fn copy_from_source(
    context: &S3Context,
    call: &Call<'_>,
    source: &CopySourceRequest<'_>,
    forced: Option<crate::storage::checksum::ChecksumAlgorithm>,
    destination: Destination,
    sealing: Option<Sealing>,
) -> S3Result<(std::rc::Rc<ObjectRecord>, SealedObject)> {
    if source.customer.is_some() {
        sse::require_secure_transport(source.secure, context.config.allow_sse_c_over_http)?;
    }
    let source_customer = source.customer.as_ref();
    let range_header = source.range;
    let conditions = &source.conditions;
    let expected_owner = source.expected_owner;
    let source = &source.source;
    validate_bucket_name(&source.bucket)?;
    let Some(source_bucket) = context.bucket(&source.bucket).await? else {
        return Err(
            S3Error::new(S3ErrorCode::NoSuchBucket).field("BucketName", source.bucket.clone())
        );
    };
    if expected_owner.is_some_and(|expected| expected.trim() != canonical_id(&source_bucket.owner))
    {
        return Err(S3Error::new(S3ErrorCode::AccessDenied));
    }
    for _ in 0..SOURCE_OPEN_ATTEMPT_COUNT_MAX {
        let record = readable_source(context, call, source, &source_bucket).await?;
        let source_key = sse::data_key_for_read(
            &record.headers,
            source_customer,
            context.config.sse_master_key.as_ref(),
            (&record.bucket, &record.key),
        )?;
        let outcome = conditions.evaluate(&record.etag, record.last_modified_ms);
        if outcome != ConditionOutcome::Proceed {
            // Copies have no 304: every failed source condition is 412.
            return Err(S3Error::new(S3ErrorCode::PreconditionFailed)
                .field("Condition", "x-amz-copy-source-If-*"));
        }
        let (start, length) = match range_header {
            None => (0, record.size_bytes),
            Some(text) => {
                let (start, end) = parse_copy_range(text, record.size_bytes)?;
                (start, end - start + 1)
            }
        };
        // The copy gets a full-object checksum of the source's algorithm (or the one forced for a part).
        let algorithm = forced.or_else(|| {
            record
                .checksum
                .as_deref()
                .and_then(StoredChecksum::decode)
                .map(|stored| stored.algorithm)
        });
        let placement = destination.placement(context, Some(length));
        let crypto = CopyCrypto {
            source_key: source_key.as_ref(),
            sealing: sealing.clone(),
        };
        let Some(sealed) = copy_bytes(
            context,
            &record,
            source,
            (start, length),
            (algorithm, placement),
            crypto,
        )
        .await?
        else {
            // Replaced by a concurrent PUT after our lookup: look again.
            continue;
        };
        return Ok((record, sealed));
    }
    Err(S3Error::new(S3ErrorCode::SlowDown))
}

/// Parses `x-amz-copy-source-range: bytes=first-last` (both required, within the source).
pub fn parse_copy_range(text: &str, size: u64) -> S3Result<(u64, u64)> {
    let invalid = || {
        S3Error::with_message(S3ErrorCode::InvalidArgument, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
            .field("ArgumentName", "x-amz-copy-source-range")
            .field("ArgumentValue", text.to_string())
    };
    let spec = text.trim().strip_prefix("bytes=").ok_or_else(invalid)?;
    let (first, last) = spec.split_once('-').ok_or_else(invalid)?;
    let first: u64 = first.trim().parse().map_err(|_| invalid())?;
    let last: u64 = last.trim().parse().map_err(|_| invalid())?;
    if first > last {
        return Err(invalid());
    }
    if last >= size {
        return Err(
            S3Error::new(S3ErrorCode::InvalidRange).field("ActualObjectSize", size.to_string())
        );
    }
    Ok((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_source_forms() {
        // Goal: the x-amz-copy-source forms clients send parse to the same bucket and key; a
        // version id is kept, a malformed one refused as S3 does.
        let expected = CopySource {
            bucket: "bucket".into(),
            key: "dir/a b+c".into(),
            version: None,
        };
        assert_eq!(
            parse_copy_source("/bucket/dir/a%20b%2Bc").unwrap(),
            expected
        );
        assert_eq!(parse_copy_source("bucket/dir/a%20b%2Bc").unwrap(), expected);
        assert_eq!(
            parse_copy_source("bucket/dir/a%20b%2Bc?versionId=null").unwrap(),
            CopySource {
                version: Some(VersionSelector::Null),
                ..expected.clone()
            }
        );
        let id = crate::meta::VersionId::generate(5);
        assert_eq!(
            parse_copy_source(&format!("bucket/dir/a%20b%2Bc?versionId={id}"))
                .unwrap()
                .version,
            Some(VersionSelector::Id(id))
        );
        assert_eq!(
            parse_copy_source("bucket/k?versionId=abc")
                .unwrap_err()
                .code,
            S3ErrorCode::InvalidArgument
        );
        for bad in ["", "bucket", "/bucket/", "bucket/%zz", "bucket/k?other=1"] {
            assert!(parse_copy_source(bad).is_err(), "{bad}");
        }
    }
}
