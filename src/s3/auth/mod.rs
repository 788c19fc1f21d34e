//! AWS Signature Version 4: pure signing functions, request verification, the signing-key cache,
//! and the secret type.

pub mod key_cache;
pub mod secret;
pub mod sigv4;
pub mod verify;

pub use key_cache::SigningKeyCache;
pub use secret::{Credentials, Secret};
pub use verify::{verify_request, AuthContext, PayloadMode};
