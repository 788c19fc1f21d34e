//! Per-core cache of object records: reads of a hot key skip the metadata round trip.
//!
//! Used by GET, HEAD, ACL and attribute reads and copy sources.
//!
//! Exact, not time-bounded: each entry carries the generation of its key's stripe read before the
//! lookup was sent (`meta::Generations`), and is used only while that counter is unchanged. The
//! metadata thread bumps it after committing any write of a key in the stripe and before
//! replying, so once a write is acknowledged no core serves the record it replaced.

use std::rc::Rc;

use super::S3Context;
use crate::limits::{OBJECT_CACHE_BODY_BYTES_MAX, OBJECT_CACHE_BYTES_MAX};
use crate::meta::{MetaError, ObjectBody, ObjectRecord, ObjectStripe};
use crate::recent::RecentMap;

/// Rough fixed cost of one entry beyond its strings and body (record, map slot, `Rc`).
const ENTRY_OVERHEAD_BYTES: usize = 256;

struct Entry {
    generation: u64,
    record: Rc<ObjectRecord>,
}

/// Records by `bucket/key` (bucket names hold no `/`, so the joined key is unambiguous), costed
/// roughly in bytes and bounded by `OBJECT_CACHE_BYTES_MAX`; what is read often stays.
pub struct ObjectCache {
    entries: RecentMap<String, Entry>,
}

impl Default for ObjectCache {
    fn default() -> Self {
        ObjectCache {
            entries: RecentMap::new(OBJECT_CACHE_BYTES_MAX),
        }
    }
}

fn cache_key(bucket: &str, key: &str) -> String {
    let mut joined = String::with_capacity(bucket.len() + 1 + key.len());
    joined.push_str(bucket);
    joined.push('/');
    joined.push_str(key);
    joined
}

fn cost_bytes(record: &ObjectRecord) -> usize {
    let body = match &record.body {
        ObjectBody::Inline(bytes) => bytes.len(),
        ObjectBody::Parts(parts) | ObjectBody::Remote { parts, .. } => parts.len() * 64,
        ObjectBody::File(_) | ObjectBody::InlineUnread => 0,
    };
    let headers: usize = record
        .headers
        .iter()
        .map(|(name, value)| name.len() + value.len() + 48)
        .sum();
    ENTRY_OVERHEAD_BYTES
        + 2 * (record.bucket.len() + record.key.len())
        + record.etag.len()
        + record.content_type.as_ref().map_or(0, String::len)
        + record.checksum.as_ref().map_or(0, String::len)
        + record.owner.len()
        + record.acl.as_ref().map_or(0, String::len)
        + headers
        + body
}

impl ObjectCache {
    /// The record cached under `generation`; one read without its bytes does not serve a GET.
    fn get(&mut self, joined: &str, generation: u64, with_bytes: bool) -> Option<Rc<ObjectRecord>> {
        let entry = self.entries.get(joined)?;
        let usable = entry.generation == generation
            && !(with_bytes && entry.record.body == ObjectBody::InlineUnread);
        usable.then(|| entry.record.clone())
    }

    fn insert(&mut self, joined: String, generation: u64, record: Rc<ObjectRecord>) {
        if matches!(&record.body, ObjectBody::Inline(bytes) if bytes.len() > OBJECT_CACHE_BODY_BYTES_MAX)
        {
            return;
        }
        let cost = cost_bytes(&record);
        self.entries
            .insert(joined, Entry { generation, record }, cost);
    }
}

impl S3Context {
    /// The object's record (`NoSuchBucket` if the bucket is missing), from this core's cache when
    /// it is current; an inline object's bytes are needed only `with_bytes` (a GET).
    pub async fn object(
        &self,
        bucket: &str,
        key: &str,
        with_bytes: bool,
    ) -> Result<Option<Rc<ObjectRecord>>, MetaError> {
        let stripe = ObjectStripe::of(bucket, key);
        let generation = self.meta.generations().objects(stripe);
        let joined = cache_key(bucket, key);
        let cached = self
            .objects
            .borrow_mut()
            .get(&joined, generation, with_bytes);
        self.core_metrics().object_cache_lookup(cached.is_some());
        if cached.is_some() {
            return Ok(cached);
        }
        let record = self
            .meta
            .get_object(bucket.to_string(), key.to_string(), with_bytes)
            .await?
            .map(Rc::new);
        // A write of this stripe committed while we asked may or may not be in what we got: keep
        // it only if none did.
        if let Some(record) = &record {
            if self.meta.generations().objects(stripe) == generation {
                self.objects
                    .borrow_mut()
                    .insert(joined, generation, record.clone());
            }
        }
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::InlineBytes;

    fn record(key: &str, body: ObjectBody) -> Rc<ObjectRecord> {
        Rc::new(ObjectRecord {
            bucket: "b".into(),
            key: key.into(),
            body,
            size_bytes: 4,
            etag: "e".into(),
            last_modified_ms: 0,
            content_type: None,
            headers: Vec::new(),
            checksum: None,
            owner: "o".into(),
            acl: None,
            version_id: None,
            lock: Default::default(),
            tags: None,
        })
    }

    #[test]
    fn entries_serve_only_their_generation_and_kind() {
        // Goal: a record fetched under an older generation, or without the bytes a GET needs, is a
        // miss.
        let mut cache = ObjectCache::default();
        let inline = ObjectBody::Inline(InlineBytes::new(b"data".to_vec()));
        cache.insert(cache_key("b", "k"), 7, record("k", inline));
        assert!(cache.get(&cache_key("b", "k"), 7, true).is_some());
        assert!(cache.get(&cache_key("b", "k"), 8, true).is_none());
        cache.insert(
            cache_key("b", "h"),
            7,
            record("h", ObjectBody::InlineUnread),
        );
        assert!(cache.get(&cache_key("b", "h"), 7, false).is_some());
        assert!(cache.get(&cache_key("b", "h"), 7, true).is_none());
    }

    #[test]
    fn memory_stays_bounded_and_hot_entries_survive() {
        // Goal: however many keys pass through, the cache holds about OBJECT_CACHE_BYTES_MAX, and
        // a key read while others pass through is kept.
        let mut cache = ObjectCache::default();
        let body = || ObjectBody::Inline(InlineBytes::new(vec![0; 4096]));
        cache.insert(cache_key("b", "hot"), 1, record("hot", body()));
        for index in 0..20_000 {
            let key = format!("cold-{index}");
            cache.insert(cache_key("b", &key), 1, record(&key, body()));
            if index % 500 == 0 {
                assert!(cache.get(&cache_key("b", "hot"), 1, true).is_some());
            }
        }
        let held = cache.entries.cost();
        assert!(held <= OBJECT_CACHE_BYTES_MAX, "{held} bytes held");
        assert!(cache.entries.len() < 20_000 / 4);
        let oversized =
            ObjectBody::Inline(InlineBytes::new(vec![0; OBJECT_CACHE_BODY_BYTES_MAX + 1]));
        cache.insert(cache_key("b", "big"), 1, record("big", oversized));
        assert!(cache.get(&cache_key("b", "big"), 1, true).is_none());
    }
}
