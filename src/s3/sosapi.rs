//! Veeam's Smart Object Storage API (SOSAPI): the two objects Veeam Backup & Replication reads
//! under `.system-d26a9498-cb7c-4a87-a44a-8ae204f5ba6c/` in a repository bucket — `system.xml`
//! (protocol version, model, capabilities) and `capacity.xml` (the disk's real capacity, free and
//! used bytes) — always answered by the server on GET and HEAD, and never writable (anyone with
//! WRITE on a bucket could otherwise replace them, fake the capacity or hide them from the
//! owner). Source: Veeam Help Center, "Working with Veeam Smart Object Storage API (SOSAPI)".

use std::rc::Rc;

use md5::{Digest, Md5};

use crate::meta::{ObjectBody, ObjectLock, ObjectRecord};
use crate::object_bytes::InlineBytes;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::request::Call;
use crate::s3::xml::configuration::{SosapiCapacityInfo, SosapiSystemInfo};
use crate::s3::xml::XmlDocument;
use crate::s3::{time, S3Context};
use crate::storage::capacity::disk_capacity;

/// The folder SOSAPI's objects live in (fixed by the protocol).
pub const SOSAPI_FOLDER: &str = ".system-d26a9498-cb7c-4a87-a44a-8ae204f5ba6c/";

/// The document answering `key`, if it is one of SOSAPI's objects.
fn document(context: &S3Context, key: &str) -> Option<Vec<u8>> {
    match key.strip_prefix(SOSAPI_FOLDER)? {
        "system.xml" => Some(
            SosapiSystemInfo {
                model_name: concat!("ringstore ", env!("CARGO_PKG_VERSION")),
            }
            .render(),
        ),
        "capacity.xml" => {
            let capacity = disk_capacity(context.layout.root())?;
            Some(
                SosapiCapacityInfo {
                    capacity_bytes: capacity.total_bytes,
                    available_bytes: capacity.available_bytes,
                    used_bytes: capacity.total_bytes.saturating_sub(capacity.free_bytes),
                }
                .render(),
            )
        }
        _ => None,
    }
}

/// The request's key as a generated SOSAPI object (an inline XML object written now), if it is
/// one; the caller has checked the requester may read the bucket.
pub fn sosapi_object(context: &S3Context, call: &Call<'_>) -> Option<Rc<ObjectRecord>> {
    let bytes = document(context, call.key)?;
    Some(Rc::new(ObjectRecord {
        bucket: call.bucket.to_string(),
        key: call.key.to_string(),
        size_bytes: bytes.len() as u64,
        etag: hex::encode(Md5::digest(&bytes)),
        body: ObjectBody::Inline(InlineBytes::new(bytes)),
        last_modified_ms: time::now_ms(),
        content_type: Some("application/xml".to_string()),
        headers: Vec::new(),
        checksum: None,
        owner: String::new(),
        acl: None,
        version_id: None,
        lock: ObjectLock::default(),
        tags: None,
    }))
}

/// Refuses a write of one of SOSAPI's objects (400 InvalidRequest): the server answers them.
pub fn refuse_sosapi_write(key: &str) -> S3Result<()> {
    match key.strip_prefix(SOSAPI_FOLDER) {
        Some("system.xml" | "capacity.xml") => Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "ringstore answers SOSAPI's system.xml and capacity.xml itself; they cannot be written.",
        )),
        _ => Ok(()),
    }
}
