//! AWS Signature Version 4: pure signing functions, request verification and the signing-key
//! cache (the secret type itself is `crate::secret`).

pub mod key_cache;
pub mod sigv4;
pub mod verify;

pub use crate::secret::{Credentials, Secret};
pub use key_cache::SigningKeyCache;
pub use verify::{verify_request, AuthContext, PayloadMode};
