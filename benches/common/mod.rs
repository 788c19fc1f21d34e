//! What the benchmarks share: the object row they fill the metadata with.

use ringstore::meta::{ObjectBody, ObjectRecord};
use ringstore::storage::FileId;

/// An object row in bucket `bench` (empty-file ETag, no headers, owner `o`).
pub fn object(key: String, file_id: FileId, size_bytes: u64) -> ObjectRecord {
    ObjectRecord {
        bucket: "bench".into(),
        key,
        body: ObjectBody::File(file_id),
        size_bytes,
        etag: "d41d8cd98f00b204e9800998ecf8427e".into(),
        last_modified_ms: 0,
        content_type: None,
        headers: Vec::new(),
        checksum: None,
        owner: "o".into(),
        acl: None,
        version_id: None,
        lock: Default::default(),
        tags: None,
    }
}
