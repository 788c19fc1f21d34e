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

    /// Whether both hold the same secret: at once when they share it (the signing-key cache
    /// keeps the one the user directory last handed out), else compared in constant time.
    /// Sharing says nothing of the bytes, so the shortcut leaks nothing.
    pub fn same_as(&self, other: &Secret) -> bool {
        self.shares(other) || constant_time_eq(self.expose().as_bytes(), other.expose().as_bytes())
    }

    /// Whether both are the one shared secret (not merely equal bytes).
    pub fn shares(&self, other: &Secret) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
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

/// Compares two byte strings without an early exit on the first difference. Eight bytes at a
/// time with `subtle`'s word comparison: its byte-slice comparison puts an optimisation barrier
/// on every byte (a signature's 64 hex digits were 0.9 % of a presigned HEAD's server CPU).
pub fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    if left.len() != right.len() {
        return false;
    }
    let words = |bytes: &[u8]| {
        let mut word = [0u8; 8];
        word[..bytes.len()].copy_from_slice(bytes);
        u64::from_ne_bytes(word)
    };
    let mut equal = subtle::Choice::from(1);
    for (left, right) in left.chunks(8).zip(right.chunks(8)) {
        equal &= words(left).ct_eq(&words(right));
    }
    bool::from(equal)
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
    }

    #[test]
    fn byte_strings_compare_equal_only_when_equal() {
        // Goal: the word-at-a-time comparison answers exactly what `==` answers.
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
        // Every length around the word size, and a difference in every byte position: the
        // zero-padded last word must not hide one.
        for length in 1..=25 {
            let bytes: Vec<u8> = (0..length as u8).map(|b| b.wrapping_mul(37)).collect();
            assert!(constant_time_eq(&bytes, &bytes.clone()), "{length}");
            for position in 0..length {
                let mut other = bytes.clone();
                other[position] ^= 0x80;
                assert!(!constant_time_eq(&bytes, &other), "{length} {position}");
                other[position] ^= 0x81;
                assert!(!constant_time_eq(&bytes, &other), "{length} {position}");
            }
            assert!(!constant_time_eq(&bytes, &bytes[..length - 1]));
        }
    }

    #[test]
    fn secrets_are_the_same_when_shared_or_equal() {
        // Goal: the shared-secret shortcut answers as the byte comparison would.
        let secret = Secret::new("ringstore-secret");
        assert!(secret.same_as(&secret.clone()) && secret.shares(&secret.clone()));
        let equal = Secret::new("ringstore-secret");
        assert!(secret.same_as(&equal) && !secret.shares(&equal));
        assert!(!secret.same_as(&Secret::new("ringstore-secreT")));
        assert!(!secret.same_as(&Secret::new("ringstore-secret ")));
    }
}
