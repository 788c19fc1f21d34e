//! The S3 API: addressing, routing, auth, operations, and the pipeline that joins them.

pub mod access;
pub mod auth;
pub mod authorization;
pub mod body_digest;
pub mod conditions;
pub mod copy_source;
pub mod cors;
pub mod directory;
pub mod error;
pub mod expiration;
pub mod form;
pub mod gate;
pub mod grants;
pub mod handler;
pub mod housekeeping;
pub mod multipart_object;
pub mod object_body;
pub mod object_cache;
pub mod object_lock;
pub mod object_write;
pub mod operation;
pub mod ops;
pub mod path;
pub mod payload;
pub mod pipeline;
pub mod post_policy;
pub mod request;
pub mod resource;
pub mod router;
pub mod sosapi;
pub mod sse;
pub mod tagging;
pub mod time;
pub mod unsupported;
pub mod version;
pub mod xml;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::core_state::CoreState;

pub use error::{S3Error, S3ErrorCode, S3Result};

pub use crate::meta::NULL_VERSION_ID;
pub use operation::Operation;

/// What one core needs to serve S3 requests: the core's own state (`CoreState`, reached through
/// `Deref`) plus the S3 layer's per-core caches. Nothing in it is shared with other cores.
pub struct S3Context {
    /// The core's state (config, data dir, metadata client, metrics, shutdown).
    pub core: Rc<CoreState>,
    /// This core's signing-key cache.
    pub key_cache: RefCell<auth::SigningKeyCache>,
    /// The bootstrap admin, built once.
    pub admin: Rc<directory::User>,
    /// This core's users (see `directory`).
    pub users: RefCell<directory::UserCache>,
    /// This core's bucket records (see `directory`).
    pub buckets: RefCell<directory::BucketCache>,
    /// This core's object records (see `object_cache`).
    pub objects: RefCell<object_cache::ObjectCache>,
    request_counter: Cell<u64>,
    request_id_salt: u32,
}

impl std::ops::Deref for S3Context {
    type Target = CoreState;

    fn deref(&self) -> &CoreState {
        &self.core
    }
}

impl S3Context {
    /// The S3 layer of `core`.
    pub fn new(core: Rc<CoreState>) -> Self {
        let admin = Rc::new(directory::bootstrap_user(&core.config.credentials));
        S3Context {
            core,
            key_cache: RefCell::new(auth::SigningKeyCache::new()),
            admin,
            users: RefCell::default(),
            buckets: RefCell::default(),
            objects: RefCell::default(),
            request_counter: Cell::new(0),
            request_id_salt: fastrand::u32(..),
        }
    }

    /// A request id unique across cores and restarts (core, per-start salt, counter).
    pub fn next_request_id(&self) -> String {
        let count = self.request_counter.get() + 1;
        self.request_counter.set(count);
        format!(
            "{:02X}{:08X}{:06X}",
            self.core_index & 0xff,
            self.request_id_salt,
            count & 0xff_ffff
        )
    }
}
