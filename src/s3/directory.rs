//! Per-core caches of users and buckets, the records authentication and authorization read on
//! every request, so the hot paths cost no metadata round trip.
//!
//! Buckets are exact: the metadata thread bumps a generation counter after any bucket change and
//! before replying, and a core drops its whole cache when it sees a new generation. Users work the
//! same way for changes made through this server (the admin API); `ringstore user` changes them
//! from another process, so their entries also live at most `USER_CACHE_TTL_MS`.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::access::{Identity, ANONYMOUS_CANONICAL_ID};
use super::auth::Secret;
use super::error::S3Result;
use super::S3Context;
use crate::limits::{BUCKET_CACHE_ENTRIES_MAX, USER_CACHE_ENTRIES_MAX, USER_CACHE_TTL_MS};
use crate::meta::users::canonical_id;
use crate::meta::{BucketRecord, UserLookup, UserRecord};

/// A user who can sign requests.
#[derive(Debug, Clone)]
pub struct User {
    /// Who (shared with each request it signs).
    pub identity: Rc<Identity>,
    /// Secret access key.
    pub secret: Secret,
    /// May call the admin API.
    pub admin: bool,
    /// Signs nothing (`S3Context::signing_user` skips it).
    pub disabled: bool,
}

/// Users by access key (`None`: no such user), each with the time it was fetched, valid for one
/// users generation.
#[derive(Default)]
pub struct UserCache {
    generation: u64,
    entries: HashMap<String, (Option<Rc<User>>, Instant)>,
}

/// Bucket records (`None`: no such bucket) valid for one generation.
#[derive(Default)]
pub struct BucketCache {
    generation: u64,
    entries: HashMap<String, Option<Rc<BucketRecord>>>,
}

/// The bootstrap admin from the command line / environment (built once per core: its canonical
/// id is a SHA-256, and most requests are signed by it).
pub fn bootstrap_user(credentials: &crate::s3::auth::Credentials) -> User {
    User {
        identity: Rc::new(Identity {
            access_key: credentials.access_key.clone(),
            canonical_id: canonical_id(&credentials.access_key),
            display_name: credentials.access_key.clone(),
        }),
        secret: credentials.secret.clone(),
        admin: true,
        disabled: false,
    }
}

/// The identity a stored user signs as.
fn identity_of(record: UserRecord) -> (Identity, Secret) {
    (
        Identity {
            access_key: record.access_key,
            canonical_id: record.canonical_id,
            display_name: record.display_name,
        },
        Secret::new(record.secret),
    )
}

/// A stored user as requests see it.
fn user_of(record: UserRecord) -> User {
    let (admin, disabled) = (record.admin, record.disabled);
    let (identity, secret) = identity_of(record);
    User {
        identity: Rc::new(identity),
        secret,
        admin,
        disabled,
    }
}

impl S3Context {
    /// The user who may sign with this access key: present and not disabled.
    pub async fn signing_user(&self, access_key: &str) -> S3Result<Option<Rc<User>>> {
        Ok(self.user(access_key).await?.filter(|user| !user.disabled))
    }

    /// The user with this access key, if any (disabled or not).
    pub async fn user(&self, access_key: &str) -> S3Result<Option<Rc<User>>> {
        if access_key == self.admin.identity.access_key {
            return Ok(Some(self.admin.clone()));
        }
        let generation = self.meta.generations().users();
        let ttl = Duration::from_millis(USER_CACHE_TTL_MS);
        {
            let mut cache = self.users.borrow_mut();
            if cache.generation != generation {
                cache.entries.clear();
                cache.generation = generation;
            }
            if let Some((user, fetched)) = cache.entries.get(access_key) {
                if fetched.elapsed() < ttl {
                    return Ok(user.clone());
                }
            }
        }
        let record = self
            .meta
            .get_user(UserLookup::AccessKey(access_key.to_string()))
            .await?;
        let user = record.map(|record| Rc::new(user_of(record)));
        let mut cache = self.users.borrow_mut();
        // A change committed while we asked is caught by the next generation check.
        if cache.generation == generation {
            if cache.entries.len() >= USER_CACHE_ENTRIES_MAX {
                cache.entries.clear();
            }
            cache
                .entries
                .insert(access_key.to_string(), (user.clone(), Instant::now()));
        }
        Ok(user)
    }

    /// The identity S3 shows for an owner access key (a removed user keeps its id; its display
    /// name falls back to the key).
    pub async fn owner_identity(&self, access_key: &str) -> S3Result<Identity> {
        if access_key.is_empty() {
            return Ok(Identity {
                access_key: String::new(),
                canonical_id: ANONYMOUS_CANONICAL_ID.to_string(),
                display_name: "anonymous".to_string(),
            });
        }
        Ok(match self.user(access_key).await? {
            Some(user) => Identity::clone(&user.identity),
            None => Identity {
                access_key: access_key.to_string(),
                canonical_id: canonical_id(access_key),
                display_name: access_key.to_string(),
            },
        })
    }

    /// A user named by a grant, by canonical id or email.
    pub async fn grantee_user(&self, lookup: UserLookup) -> S3Result<Option<Identity>> {
        let admin = &self.admin.identity;
        if matches!(&lookup, UserLookup::CanonicalId(id) if *id == admin.canonical_id) {
            return Ok(Some(Identity::clone(admin)));
        }
        Ok(self
            .meta
            .get_user(lookup)
            .await?
            .map(|record| identity_of(record).0))
    }

    /// The bucket's record, if it exists.
    pub async fn bucket(&self, name: &str) -> S3Result<Option<Rc<BucketRecord>>> {
        let generation = self.meta.generations().buckets();
        {
            let mut cache = self.buckets.borrow_mut();
            if cache.generation != generation {
                cache.entries.clear();
                cache.generation = generation;
            }
            if let Some(bucket) = cache.entries.get(name) {
                return Ok(bucket.clone());
            }
        }
        let bucket = self.meta.get_bucket(name.to_string()).await?.map(Rc::new);
        let mut cache = self.buckets.borrow_mut();
        // A change committed while we asked is caught by the next generation check; what we got is
        // at least as new as `generation`.
        if cache.generation == generation {
            if cache.entries.len() >= BUCKET_CACHE_ENTRIES_MAX {
                cache.entries.clear();
            }
            cache.entries.insert(name.to_string(), bucket.clone());
        }
        Ok(bucket)
    }
}
