//! What the benchmarks share: the bucket and object rows they fill the metadata with.

use ringstore::meta::{BucketRecord, ObjectBody, ObjectRecord};
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

/// A bucket row named `name`, owned by `o`, with no configuration.
#[allow(dead_code)] // Not every benchmark creates buckets through it.
pub fn bucket(name: &str) -> BucketRecord {
    BucketRecord {
        name: name.into(),
        owner: "o".into(),
        region: "us-east-1".into(),
        created_ms: 0,
        acl: None,
        versioning: None,
        object_lock: None,
        cors: None,
        policy: None,
        public_access_block: None,
        lifecycle: None,
        encryption: None,
    }
}
