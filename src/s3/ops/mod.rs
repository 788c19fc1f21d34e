//! S3 operation handlers, one file per family: typed input in, typed response out.

pub mod acl;
pub mod batch;
pub mod bucket;
pub mod copy;
pub mod list;
pub mod multipart;
pub mod object;
pub mod upload;

use sha2::{Digest, Sha256};

/// The canonical owner id S3 shows for an access key (64 hex digits, stable per key).
pub fn owner_id(access_key: &str) -> String {
    hex::encode(Sha256::digest(
        format!("ringstore-owner:{access_key}").as_bytes(),
    ))
}
