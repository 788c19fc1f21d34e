//! The configured tiers as the tier threads see them: each tier's client and ownership
//! (`fence`), this node's identity, the upstream name of an object, and two helpers every tier
//! task uses (metadata calls that wait on this runtime's timer, upstream failures logged).

use std::collections::HashMap;

use object_store::multipart::MultipartStore;
use object_store::path::Path;
use object_store::ObjectStore;

use super::spec::TierSpec;
use super::TierError;
use crate::meta::{MetaClient, NodeIdentity};
use crate::object_bytes::{FileId, RemoteObject};

/// One configured tier, connected.
pub struct Tier {
    /// Its configuration.
    pub spec: TierSpec,
    /// Its client.
    pub store: std::sync::Arc<dyn ObjectStore>,
    /// The same client's multipart uploads by id (the mover journals them: `tier_uploads`).
    pub multipart: std::sync::Arc<dyn MultipartStore>,
    /// Whether this data dir may change what the node has there (`fence`).
    pub ownership: super::fence::Ownership,
    /// Set once the mover finished a pass that began with this tier owned: every interrupted
    /// upload of a version still due was resumed by then (the reconciler waits for it).
    pub passed_over: std::sync::atomic::AtomicBool,
}

impl Tier {
    /// Whether the mover has made a pass over this tier since the start.
    pub fn mover_passed(&self) -> bool {
        self.passed_over.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// Every configured tier, by name, and this node's identity (its id is part of every upstream
/// name).
pub struct Tiers {
    tiers: HashMap<String, Tier>,
    node_id: String,
    incarnation: String,
    read_cache: Option<std::sync::Arc<super::read_cache::ReadCache>>,
}

impl Tiers {
    /// The tiers of a node, their reads cached in `read_cache` if given.
    pub fn new(
        tiers: HashMap<String, Tier>,
        identity: NodeIdentity,
        read_cache: Option<std::sync::Arc<super::read_cache::ReadCache>>,
    ) -> Self {
        Tiers {
            tiers,
            node_id: identity.node_id,
            incarnation: identity.incarnation,
            read_cache,
        }
    }

    /// Drops the read cache's copy of `object`, if any (deleted upstream).
    pub fn uncache(&self, object: &RemoteObject) {
        if let Some(cache) = &self.read_cache {
            cache.forget(object);
        }
    }

    /// This data dir's incarnation (`fence`).
    pub fn incarnation(&self) -> &str {
        &self.incarnation
    }

    /// Every tier.
    pub fn all(&self) -> impl Iterator<Item = &Tier> {
        self.tiers.values()
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// The tier named `name`.
    pub fn get(&self, name: &str) -> Option<&Tier> {
        self.tiers.get(name)
    }

    /// The tier named `name`, if this data dir owns it (may move, collect, reconcile, ship).
    pub fn owned(&self, name: &str) -> Option<&Tier> {
        self.get(name).filter(|tier| tier.ownership.owned())
    }

    /// `object`'s tier and its name there: `<prefix>/<node id>/<object id>`.
    pub fn locate(&self, object: &RemoteObject) -> Result<(&Tier, Path), TierError> {
        let tier = self
            .get(&object.tier)
            .ok_or_else(|| TierError::UnknownTier(object.tier.clone()))?;
        Ok((tier, self.path(tier, object.object_id)))
    }

    /// Where this node's objects are in `tier`: `<prefix>/<node id>`.
    pub fn node_prefix(&self, tier: &Tier) -> Path {
        let prefix = tier.spec.location.prefix();
        if prefix.is_empty() {
            Path::from(self.node_id.as_str())
        } else {
            Path::from(format!("{prefix}/{}", self.node_id))
        }
    }

    /// The upstream name of object `object_id` in `tier`.
    pub fn path(&self, tier: &Tier, object_id: FileId) -> Path {
        self.node_prefix(tier).join(object_id.to_string())
    }
}

/// `MetaClient::call_off_core`, waiting on this runtime's timer while the queue is full.
pub(crate) async fn call<C: crate::meta::MetaCommand>(
    meta: &MetaClient,
    command: C,
) -> Result<C::Reply, crate::meta::MetaError> {
    meta.call_off_core(command, || {
        tokio::time::sleep(std::time::Duration::from_micros(500))
    })
    .await
}

/// The tier's failure, logged with its cause (the client sees a generic error).
pub fn upstream(tier: &str, error: &object_store::Error) -> TierError {
    tracing::error!(tier, error = %error, "tier request failed");
    TierError::Upstream {
        tier: tier.to_string(),
        message: error.to_string(),
    }
}
