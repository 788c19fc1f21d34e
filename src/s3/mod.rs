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
        request_id(self.core_index, self.request_id_salt, count)
    }
}

/// A request id: 16 upper-case hex digits, `{:02X}{:08X}{:06X}` of the core's low byte, the
/// core's salt and the count's low 24 bits, written without the formatter (one per request).
fn request_id(core: usize, salt: u32, count: u64) -> String {
    const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
    let id = ((core as u64 & 0xff) << 56) | (u64::from(salt) << 24) | (count & 0xff_ffff);
    let digits: Vec<u8> = (0..16)
        .rev()
        .map(|nibble| HEX_UPPER[((id >> (4 * nibble)) & 0xf) as usize])
        .collect();
    String::from_utf8(digits).expect("hex digits are ASCII")
}

#[cfg(test)]
mod tests {
    use super::request_id;

    #[test]
    fn request_ids_are_core_salt_and_count_in_hex() {
        // Goal: the id is the formatter's `{:02X}{:08X}{:06X}` of core, salt and count, with only
        // the core's low byte and the count's low 24 bits.
        for (core, salt, count) in [
            (0, 0, 1),
            (1, 0xDEAD_BEEF, 0xABC),
            (300, u32::MAX, 0x0123_4567),
        ] {
            let expected = format!("{:02X}{:08X}{:06X}", core & 0xff, salt, count & 0xff_ffff);
            assert_eq!(request_id(core, salt, count), expected);
        }
        assert_eq!(request_id(300, 1, 0x0100_0001), "2C00000001000001");
    }
}
