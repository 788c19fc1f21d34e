//! Which copy of a node may change what it has on a tier. The tier holds the node's incarnation
//! at `<prefix>/<node id>/meta/incarnation`; `ringstore restore` writes a new one there (and into
//! the restored metadata). A server whose incarnation matches (or that writes the first one)
//! owns the tier; one that finds another was superseded — the lost host come back after its
//! replacement took over — and must not move, collect garbage, reconcile or ship metadata there,
//! or it would delete what the replacement wrote. Reads stay allowed. Until a tier has answered,
//! it is not owned either.

use std::sync::atomic::{AtomicU8, Ordering};

use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// Not yet checked (the tier has not answered).
const UNCHECKED: u8 = 0;
/// This data dir's incarnation is the tier's.
const OWNED: u8 = 1;
/// Another incarnation holds the tier.
const SUPERSEDED: u8 = 2;

/// One tier's ownership, as last checked.
#[derive(Default)]
pub struct Ownership(AtomicU8);

impl Ownership {
    /// Whether this server may change what the node has on the tier.
    pub fn owned(&self) -> bool {
        self.0.load(Ordering::Acquire) == OWNED
    }

    /// Whether the check still has to be made.
    pub fn unchecked(&self) -> bool {
        self.0.load(Ordering::Acquire) == UNCHECKED
    }

    fn set(&self, state: u8) {
        self.0.store(state, Ordering::Release);
    }
}

/// Where the node's incarnation is kept in a tier whose node prefix is `node_prefix`.
pub fn incarnation_path(node_prefix: &StorePath) -> StorePath {
    node_prefix.clone().join("meta").join("incarnation")
}

/// Checks (and, the first time, claims) the tier for `incarnation`; records the outcome in
/// `ownership`. An error leaves it unchecked (asked again later).
pub async fn check(
    store: &dyn ObjectStore,
    node_prefix: &StorePath,
    incarnation: &str,
    ownership: &Ownership,
    tier: &str,
) -> Result<(), object_store::Error> {
    let path = incarnation_path(node_prefix);
    match store.get(&path).await {
        Ok(found) => {
            let bytes = found.bytes().await?;
            if bytes.as_ref() == incarnation.as_bytes() {
                ownership.set(OWNED);
            } else {
                ownership.set(SUPERSEDED);
                tracing::error!(
                    tier,
                    found = %String::from_utf8_lossy(&bytes),
                    ours = incarnation,
                    "this data dir was superseded on the tier by `ringstore restore` elsewhere: \
                     moves, garbage collection, reconciliation and metadata shipping to it stay \
                     off (reads still work); retire this copy"
                );
            }
            Ok(())
        }
        Err(object_store::Error::NotFound { .. }) => {
            claim(store, node_prefix, incarnation).await?;
            ownership.set(OWNED);
            Ok(())
        }
        Err(error) => Err(error),
    }
}

/// Writes `incarnation` as the node's (a first start, or a restore taking over).
pub async fn claim(
    store: &dyn ObjectStore,
    node_prefix: &StorePath,
    incarnation: &str,
) -> Result<(), object_store::Error> {
    store
        .put(
            &incarnation_path(node_prefix),
            PutPayload::from(incarnation.as_bytes().to_vec()),
        )
        .await
        .map(|_| ())
}
