//! Per-core cache of derived SigV4 signing keys (one HMAC chain per key, day, region, service).

use super::sigv4::derive_signing_key;
use crate::limits::SIGNING_KEY_CACHE_ENTRIES_MAX;
use crate::secret::Secret;

/// One cached key and what it was derived for.
struct Entry {
    access_key: String,
    /// The secret it was derived from: a rotated secret (admin API, `ringstore user rotate`) must
    /// not keep verifying with the old one's key.
    secret: Secret,
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
        let found = self.entries.iter_mut().find(|entry| {
            entry.date == date
                && entry.access_key == access_key
                && entry.region == region
                && entry.service == service
                && entry.secret.same_as(secret)
        });
        if let Some(entry) = found {
            self.hits += 1;
            // The user directory hands out a new `Secret` each time it re-reads its users (every
            // second or so): keep the latest, so the next request's is shared and compared at once.
            if !entry.secret.shares(secret) {
                entry.secret = secret.clone();
            }
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
            secret: secret.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: a key derived from a secret is reused for that secret only; after a rotation the new
    // secret gets its own key (the old one's would verify the old secret's signatures).
    #[test]
    fn a_rotated_secret_gets_its_own_key() {
        let mut cache = SigningKeyCache::new();
        let (old, new) = (Secret::new("old-secret"), Secret::new("new-secret"));
        let first = cache.get("AK", &old, "20261201", "us-east-1", "s3");
        assert_eq!(cache.get("AK", &old, "20261201", "us-east-1", "s3"), first);
        let rotated = cache.get("AK", &new, "20261201", "us-east-1", "s3");
        assert_ne!(rotated, first);
        assert_eq!(
            rotated,
            derive_signing_key("new-secret", "20261201", "us-east-1", "s3")
        );
        assert_eq!(cache.stats(), (1, 2));
    }

    // Goal: the same secret re-read by the user directory (equal bytes, a new allocation) still
    // finds its key, and the cache then keeps the new one, so the next request's is shared.
    #[test]
    fn a_re_read_secret_finds_its_key_and_is_kept() {
        let mut cache = SigningKeyCache::new();
        let first = Secret::new("the-secret");
        let key = cache.get("AK", &first, "20261201", "us-east-1", "s3");
        let re_read = Secret::new("the-secret");
        assert_eq!(
            cache.get("AK", &re_read, "20261201", "us-east-1", "s3"),
            key
        );
        assert_eq!(cache.stats(), (1, 1));
        assert!(cache.entries[0].secret.shares(&re_read));
    }
}
