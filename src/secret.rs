//! Secrets as a type: never printed, compared in constant time.

use std::fmt;
use std::sync::Arc;

use subtle::ConstantTimeEq;

/// A secret access key. `Debug` and `Display` print a placeholder. Shared, not copied: every
/// signed request takes its signer's secret (a clone was one of a GET's heap allocations).
#[derive(Clone)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Arc::from(value.into()))
    }

    /// The secret's bytes, for key derivation only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// An access key and its secret.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// Public access key id.
    pub access_key: String,
    /// Secret access key.
    pub secret: Secret,
}

/// Compares two byte strings without an early exit on the first difference.
pub fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len() && bool::from(left.ct_eq(right))
}

/// Bytes of the SSE-S3 master key (AES-256).
pub const MASTER_KEY_BYTES: usize = 32;

/// The server's SSE-S3 master key: seals every SSE-S3 object's data key. `Debug` prints a
/// placeholder; the bytes are zeroed when dropped.
#[derive(Clone)]
pub struct MasterKey([u8; MASTER_KEY_BYTES]);

impl MasterKey {
    /// Wraps key bytes read from the key file.
    pub fn new(bytes: [u8; MASTER_KEY_BYTES]) -> Self {
        MasterKey(bytes)
    }

    /// The key's bytes, for key derivation only.
    pub fn expose(&self) -> &[u8; MASTER_KEY_BYTES] {
        &self.0
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        for byte in self.0.iter_mut() {
            // SAFETY: a valid, aligned pointer to a byte we own; volatile so the wipe stays.
            unsafe { std::ptr::write_volatile(byte, 0) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        // Goal: a secret never reaches a log through Debug.
        let credentials = Credentials {
            access_key: "AK".into(),
            secret: Secret::new("hunter2"),
        };
        assert!(!format!("{credentials:?}").contains("hunter2"));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
