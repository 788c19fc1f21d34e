//! Per-core cache of derived SigV4 signing keys (one HMAC chain per key, day, region, service).

use super::sigv4::derive_signing_key;
use crate::limits::SIGNING_KEY_CACHE_ENTRIES_MAX;
use crate::secret::Secret;

/// One cached key and what it was derived for.
struct Entry {
    access_key: String,
    date: String,
    region: String,
    service: String,
    key: [u8; 32],
}

/// Signing keys by (access key, date, region, service). Not shared between cores. A core sees a
/// handful of live entries (one per user per day), so a scan that allocates nothing beats hashing
/// four freshly allocated strings on every request.
#[derive(Default)]
pub struct SigningKeyCache {
    entries: Vec<Entry>,
    hits: u64,
    misses: u64,
}

impl SigningKeyCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The signing key, derived once per day/region/service and then reused.
    pub fn get(
        &mut self,
        access_key: &str,
        secret: &Secret,
        date: &str,
        region: &str,
        service: &str,
    ) -> [u8; 32] {
        let found = self.entries.iter().find(|entry| {
            entry.date == date
                && entry.access_key == access_key
                && entry.region == region
                && entry.service == service
        });
        if let Some(entry) = found {
            self.hits += 1;
            return entry.key;
        }
        self.misses += 1;
        if self.entries.len() >= SIGNING_KEY_CACHE_ENTRIES_MAX {
            // Old days' keys are dead weight; starting over is simpler than LRU and just as correct.
            self.entries.clear();
        }
        let key = derive_signing_key(secret.expose(), date, region, service);
        self.entries.push(Entry {
            access_key: access_key.to_string(),
            date: date.to_string(),
            region: region.to_string(),
            service: service.to_string(),
            key,
        });
        key
    }

    /// (hits, misses) so far.
    pub fn stats(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }
}
