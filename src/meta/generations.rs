//! Change counters the metadata thread bumps after a commit and before replying, so each core can
//! keep exact caches of buckets and objects without asking the thread on every request.
//!
//! Objects are counted per stripe (a hash of bucket and key), so a write to one key leaves the
//! cached records of almost every other key valid; buckets share one counter (they change rarely).

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::limits::OBJECT_GENERATION_STRIPE_COUNT;

/// Which object counter a key uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectStripe(usize);

impl ObjectStripe {
    /// The stripe of `bucket`/`key`; the same in every thread (a fixed-key hasher).
    pub fn of(bucket: &str, key: &str) -> Self {
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one((bucket, key));
        ObjectStripe((hash % OBJECT_GENERATION_STRIPE_COUNT as u64) as usize)
    }
}

/// The counters, shared by the metadata thread (writer) and every core (readers).
pub struct Generations {
    buckets: AtomicU64,
    users: AtomicU64,
    objects: Box<[AtomicU64]>,
}

impl Default for Generations {
    fn default() -> Self {
        Generations {
            buckets: AtomicU64::new(0),
            users: AtomicU64::new(0),
            objects: (0..OBJECT_GENERATION_STRIPE_COUNT)
                .map(|_| AtomicU64::new(0))
                .collect(),
        }
    }
}

impl Generations {
    /// Changes whenever a bucket was created, deleted or had its ACL replaced.
    pub fn buckets(&self) -> u64 {
        self.buckets.load(Ordering::SeqCst)
    }

    /// Changes whenever this server added, removed or changed a user (`ringstore user`, another
    /// process, changes none: cores also age cached users out).
    pub fn users(&self) -> u64 {
        self.users.load(Ordering::SeqCst)
    }

    /// Marks every user record changed (metadata thread only, after commit, before replies).
    pub fn bump_users(&self) {
        self.users.fetch_add(1, Ordering::SeqCst);
    }

    /// Changes whenever an object in this stripe was written, replaced, deleted or had its ACL
    /// replaced.
    pub fn objects(&self, stripe: ObjectStripe) -> u64 {
        self.objects[stripe.0].load(Ordering::SeqCst)
    }

    /// Marks every bucket record changed (metadata thread only, after commit, before replies).
    pub fn bump_buckets(&self) {
        self.buckets.fetch_add(1, Ordering::SeqCst);
    }

    /// Marks this key's stripe changed (metadata thread only, after commit, before replies).
    pub fn bump_object(&self, bucket: &str, key: &str) {
        self.objects[ObjectStripe::of(bucket, key).0].fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_changes_its_own_stripe_and_not_another() {
        // Goal: a cached record of key A stays valid when only key B (another stripe) is written.
        let generations = Generations::default();
        let a = ObjectStripe::of("bucket", "a");
        let b = (0..100)
            .map(|index| format!("b{index}"))
            .find(|key| ObjectStripe::of("bucket", key) != a)
            .expect("100 keys do not all share one stripe");
        let (before_a, before_b) = (
            generations.objects(a),
            generations.objects(ObjectStripe::of("bucket", &b)),
        );
        generations.bump_object("bucket", &b);
        assert_eq!(generations.objects(a), before_a);
        assert_eq!(
            generations.objects(ObjectStripe::of("bucket", &b)),
            before_b + 1
        );
        assert_eq!(ObjectStripe::of("bucket", "a"), a, "the stripe is stable");
        assert_ne!(
            ObjectStripe::of("bucket", "ab"),
            ObjectStripe::of("bucketa", "b"),
            "bucket and key are hashed apart, not concatenated"
        );
    }
}
