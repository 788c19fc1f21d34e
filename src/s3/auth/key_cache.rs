//! Per-core cache of derived SigV4 signing keys (one HMAC chain per key, day, region, service).

use std::collections::HashMap;

use super::secret::Secret;
use super::sigv4::derive_signing_key;
use crate::limits::SIGNING_KEY_CACHE_ENTRIES_MAX;

/// Signing keys by (access key, date, region, service). Not shared between cores.
#[derive(Default)]
pub struct SigningKeyCache {
    keys: HashMap<(String, String, String, String), [u8; 32]>,
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
        let lookup = (
            access_key.to_string(),
            date.to_string(),
            region.to_string(),
            service.to_string(),
        );
        if let Some(key) = self.keys.get(&lookup) {
            self.hits += 1;
            return *key;
        }
        self.misses += 1;
        if self.keys.len() >= SIGNING_KEY_CACHE_ENTRIES_MAX {
            // Old days' keys are dead weight; starting over is simpler than LRU and just as correct.
            self.keys.clear();
        }
        let key = derive_signing_key(secret.expose(), date, region, service);
        self.keys.insert(lookup, key);
        key
    }

    /// (hits, misses) so far.
    pub fn stats(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }
}
