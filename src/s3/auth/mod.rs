//! Who sent a request: AWS Signature Version 4 as pure signing functions, request verification,
//! the signing-key cache, and browser-form signatures (the secret type itself is `crate::secret`).

pub mod form;
pub mod key_cache;
pub mod shared;
pub mod sigv2;
pub mod sigv4;
pub mod verify;
pub mod verify_v2;

pub use crate::secret::{Credentials, Secret};
pub use key_cache::SigningKeyCache;
pub use shared::{AuthContext, PayloadMode};
pub use verify::verify_request;
