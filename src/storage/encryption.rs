//! Encryption at rest: an object's bytes as authenticated AES-256-GCM packages under a random
//! per-object data key, and that key sealed under a key-encryption key (the server's master key
//! for SSE-S3, the customer's key for SSE-C). All cryptography is aws-lc-rs (the library rustls
//! already uses here); nothing is hand-written but the framing.
//!
//! ## Package format (seekable, after MinIO's DARE)
//! The plaintext is cut into packages of `PACKAGE_PLAINTEXT_BYTES` (65,520); each is stored as
//! its ciphertext followed by its 16-byte GCM tag, so a full package takes exactly 64 KiB on disk
//! and package `n` starts at byte `n * 65,536` of the file: a ranged GET reads and decrypts only
//! the packages it touches, and DMA blocks (multiples of 64 KiB) always hold whole packages.
//! The last package is always short (0..65,519 bytes of plaintext; an object whose size is a
//! multiple of 65,520 ends with an empty package) and is marked final in its nonce, so a file
//! cut at a package boundary fails authentication instead of reading as a shorter object.
//! The 96-bit nonce is `segment (u32 BE) ‖ package index (u64 BE, top bit = final)`: unique per
//! data key, since a data key is random per object (segment is 0 for a single-part object).

use std::fmt;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::hmac;

use crate::object_bytes::FileId;

/// Plaintext bytes in a full package.
pub const PACKAGE_PLAINTEXT_BYTES: usize = 64 * 1024 - TAG_BYTES;
/// Bytes a full package takes on disk (plaintext + tag): 64 KiB.
pub const PACKAGE_BYTES: usize = PACKAGE_PLAINTEXT_BYTES + TAG_BYTES;
/// AES-GCM tag bytes.
pub const TAG_BYTES: usize = 16;
/// Key bytes (AES-256).
pub const KEY_BYTES: usize = 32;

// The writer seals packages in place in its DMA blocks: a package must never straddle two.
const _: () = assert!(crate::limits::DMA_WRITE_BLOCK_BYTES % PACKAGE_BYTES == 0);

/// The nonce bit marking the last package of a segment.
const FINAL_PACKAGE_BIT: u64 = 1 << 63;

/// Version byte of a sealed data key.
const SEALED_KEY_VERSION: u8 = 1;
/// Bytes of a sealed data key: version, nonce, encrypted key, tag.
pub const SEALED_KEY_BYTES: usize = 1 + NONCE_LEN + KEY_BYTES + TAG_BYTES;

/// Why encrypted bytes or a sealed key could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncryptionError {
    /// A package or sealed key failed authentication: tampered, truncated, reordered, or opened
    /// with another key.
    #[error("encrypted bytes fail authentication")]
    Authentication,
    /// A sealed key's encoding is not one this version writes.
    #[error("sealed key malformed")]
    Malformed,
}

/// Bytes on disk of `plaintext_bytes` of plaintext: every package's tag, and the final
/// (possibly empty) package's.
pub fn encrypted_size(plaintext_bytes: u64) -> u64 {
    plaintext_bytes + TAG_BYTES as u64 * package_count(plaintext_bytes)
}

/// Packages holding `plaintext_bytes` (the last one is always short, possibly empty).
pub fn package_count(plaintext_bytes: u64) -> u64 {
    plaintext_bytes / PACKAGE_PLAINTEXT_BYTES as u64 + 1
}

/// A random per-object AES-256 key; printed redacted, zeroed when dropped.
#[derive(Clone)]
pub struct DataKey([u8; KEY_BYTES]);

impl fmt::Debug for DataKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("DataKey(redacted)")
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        // Best effort: a volatile write the optimiser keeps.
        for byte in self.0.iter_mut() {
            // SAFETY: a valid, aligned pointer to a byte we own.
            unsafe { std::ptr::write_volatile(byte, 0) };
        }
    }
}

impl DataKey {
    /// A fresh random key from the system's CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_BYTES];
        aws_lc_rs::rand::fill(&mut bytes).expect("the system CSPRNG works");
        DataKey(bytes)
    }

    /// The package cipher for segment `segment` (0 for a single-part object).
    pub fn packages(&self, segment: u32) -> PackageCipher {
        PackageCipher {
            key: aead_key(&self.0),
            segment,
        }
    }

    /// The package cipher for one file of a multipart object: a key derived (HMAC-SHA256) from
    /// this data key and the file's id (unique: 96 of its bits are random). Every upload of a part is a new file, so a part
    /// number uploaded twice never seals two plaintexts under one key and nonce.
    pub fn file_packages(&self, file: FileId) -> PackageCipher {
        let mut label = b"ringstore part file key v1 ".to_vec();
        label.extend_from_slice(&file.0.to_be_bytes());
        let mac = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &self.0), &label);
        let mut derived = [0u8; KEY_BYTES];
        derived.copy_from_slice(mac.as_ref());
        let cipher = PackageCipher {
            key: aead_key(&derived),
            segment: 0,
        };
        derived.fill(0);
        cipher
    }

    /// An ETag for an object whose plaintext MD5 is `md5` that reveals nothing about the
    /// plaintext without this key (S3: SSE-C objects' ETags are not an MD5 of their data).
    pub fn opaque_etag(&self, md5: &[u8; 16]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let tag = hmac::sign(&key, md5);
        hex::encode(&tag.as_ref()[..16])
    }
}

fn aead_key(bytes: &[u8; KEY_BYTES]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes).expect("a 256-bit key"))
}

/// A key that seals data keys: derived from the server's master key (SSE-S3) or a customer's
/// key (SSE-C) for one purpose, so the same secret never keys two schemes.
pub struct KeyEncryptionKey {
    key: LessSafeKey,
    purpose: &'static str,
}

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "KeyEncryptionKey({}, redacted)", self.purpose)
    }
}

impl KeyEncryptionKey {
    /// Derives the key-encryption key for `purpose` from `secret` (HMAC-SHA256 as a KDF: the
    /// secret is already 256 uniformly random bits, so one extract step suffices).
    pub fn derive(secret: &[u8; KEY_BYTES], purpose: &'static str) -> Self {
        let mac = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, secret),
            purpose.as_bytes(),
        );
        let mut derived = [0u8; KEY_BYTES];
        derived.copy_from_slice(mac.as_ref());
        let key = aead_key(&derived);
        derived.fill(0);
        KeyEncryptionKey { key, purpose }
    }

    /// The associated data a seal authenticates: the purpose and the sealed key's `context`.
    fn aad(&self, context: &[u8]) -> Vec<u8> {
        let mut aad = Vec::with_capacity(self.purpose.len() + 1 + context.len());
        aad.extend_from_slice(self.purpose.as_bytes());
        aad.push(0);
        aad.extend_from_slice(context);
        aad
    }

    /// Seals `data_key` with a fresh random nonce, bound to `context` (the object's name, so a
    /// sealed key moved to another object's row does not open): `SEALED_KEY_BYTES` bytes.
    pub fn seal(&self, data_key: &DataKey, context: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).expect("the system CSPRNG works");
        let mut sealed = Vec::with_capacity(SEALED_KEY_BYTES);
        sealed.push(SEALED_KEY_VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&data_key.0);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.aad(context)),
                &mut sealed[1 + NONCE_LEN..],
            )
            .expect("sealing 32 bytes cannot fail");
        sealed.extend_from_slice(tag.as_ref());
        sealed
    }

    /// Opens a data key sealed for `context`; `Authentication` if it was sealed by another key
    /// (a wrong customer key, another master key), for another context, or altered.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<DataKey, EncryptionError> {
        if sealed.len() != SEALED_KEY_BYTES || sealed[0] != SEALED_KEY_VERSION {
            return Err(EncryptionError::Malformed);
        }
        let nonce: [u8; NONCE_LEN] = sealed[1..1 + NONCE_LEN].try_into().expect("length");
        let mut in_out = sealed[1 + NONCE_LEN..].to_vec();
        let opened = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.aad(context)),
                &mut in_out,
            )
            .map_err(|_| EncryptionError::Authentication)?;
        let mut key = [0u8; KEY_BYTES];
        key.copy_from_slice(opened);
        in_out.fill(0);
        Ok(DataKey(key))
    }
}

/// How a writer seals what it stores, under an object's data key.
#[derive(Clone)]
pub enum Sealing {
    /// One cipher for the whole object (`DataKey::packages(0)`: a single-part object, inline
    /// or a file).
    Object(DataKey),
    /// A cipher per file (`DataKey::file_packages`: multipart parts).
    PerFile(DataKey),
}

impl fmt::Debug for Sealing {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sealing::Object(_) => formatter.write_str("Sealing::Object"),
            Sealing::PerFile(_) => formatter.write_str("Sealing::PerFile"),
        }
    }
}

/// Seals and opens the packages of one segment under one data key.
pub struct PackageCipher {
    key: LessSafeKey,
    segment: u32,
}

impl fmt::Debug for PackageCipher {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "PackageCipher(segment {})", self.segment)
    }
}

impl PackageCipher {
    fn nonce(&self, index: u64, last: bool) -> Nonce {
        debug_assert!(index & FINAL_PACKAGE_BIT == 0);
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..4].copy_from_slice(&self.segment.to_be_bytes());
        let marked = if last {
            index | FINAL_PACKAGE_BIT
        } else {
            index
        };
        nonce[4..].copy_from_slice(&marked.to_be_bytes());
        Nonce::assume_unique_for_key(nonce)
    }

    /// Encrypts package `index` in place and returns its tag. A full package has exactly
    /// `PACKAGE_PLAINTEXT_BYTES`; the last one fewer (possibly none).
    pub fn seal(&self, index: u64, last: bool, plaintext: &mut [u8]) -> [u8; TAG_BYTES] {
        assert!(
            plaintext.len() < PACKAGE_PLAINTEXT_BYTES
                || (!last && plaintext.len() == PACKAGE_PLAINTEXT_BYTES),
            "a full package is never last, a last package never full"
        );
        let tag = self
            .key
            .seal_in_place_separate_tag(self.nonce(index, last), Aad::empty(), plaintext)
            .expect("sealing a package cannot fail");
        tag.as_ref().try_into().expect("a 16-byte tag")
    }

    /// Decrypts package `index` (ciphertext followed by its tag) in place; the plaintext.
    pub fn open<'a>(
        &self,
        index: u64,
        last: bool,
        package: &'a mut [u8],
    ) -> Result<&'a mut [u8], EncryptionError> {
        self.key
            .open_in_place(self.nonce(index, last), Aad::empty(), package)
            .map_err(|_| EncryptionError::Authentication)
    }

    /// Encrypts a whole (small) segment held in memory: the bytes as stored.
    pub fn seal_all(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut stored = Vec::with_capacity(encrypted_size(plaintext.len() as u64) as usize);
        let count = package_count(plaintext.len() as u64);
        for index in 0..count {
            let start = index as usize * PACKAGE_PLAINTEXT_BYTES;
            let end = (start + PACKAGE_PLAINTEXT_BYTES).min(plaintext.len());
            let from = stored.len();
            stored.extend_from_slice(&plaintext[start..end]);
            let tag = self.seal(index, index + 1 == count, &mut stored[from..]);
            stored.extend_from_slice(&tag);
        }
        stored
    }

    /// Decrypts a whole (small) segment of `plaintext_bytes` stored as `stored`.
    pub fn open_all(
        &self,
        stored: &[u8],
        plaintext_bytes: u64,
    ) -> Result<Vec<u8>, EncryptionError> {
        if stored.len() as u64 != encrypted_size(plaintext_bytes) {
            return Err(EncryptionError::Authentication);
        }
        let mut plaintext = Vec::with_capacity(plaintext_bytes as usize);
        let count = package_count(plaintext_bytes);
        for (index, package) in stored.chunks(PACKAGE_BYTES).enumerate() {
            let index = index as u64;
            let mut package = package.to_vec();
            let opened = self.open(index, index + 1 == count, &mut package)?;
            plaintext.extend_from_slice(opened);
        }
        Ok(plaintext)
    }
}

/// Where package `index` of a segment of `plaintext_bytes` sits: (stored offset, stored length,
/// whether it is the last).
pub fn package_extent(index: u64, plaintext_bytes: u64) -> (u64, u64, bool) {
    let count = package_count(plaintext_bytes);
    assert!(index < count);
    let last = index + 1 == count;
    let plaintext_length = if last {
        plaintext_bytes % PACKAGE_PLAINTEXT_BYTES as u64
    } else {
        PACKAGE_PLAINTEXT_BYTES as u64
    };
    (
        index * PACKAGE_BYTES as u64,
        plaintext_length + TAG_BYTES as u64,
        last,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZES: &[usize] = &[
        0,
        1,
        PACKAGE_PLAINTEXT_BYTES - 1,
        PACKAGE_PLAINTEXT_BYTES,
        PACKAGE_PLAINTEXT_BYTES + 1,
        3 * PACKAGE_PLAINTEXT_BYTES,
        200_000,
    ];

    fn sample(size: usize) -> Vec<u8> {
        (0..size).map(|index| (index * 31 % 251) as u8).collect()
    }

    #[test]
    fn packages_round_trip_and_sizes_match_the_layout() {
        // Goal: every size (empty, at and around package boundaries) seals to encrypted_size
        // bytes, opens back to the same plaintext, and shows none of it.
        let key = DataKey::generate();
        for &size in SIZES {
            let plaintext = sample(size);
            let stored = key.packages(0).seal_all(&plaintext);
            assert_eq!(
                stored.len() as u64,
                encrypted_size(size as u64),
                "size {size}"
            );
            if size >= 64 {
                assert!(!stored.windows(64).any(|window| window == &plaintext[..64]));
            }
            let opened = key.packages(0).open_all(&stored, size as u64).unwrap();
            assert_eq!(opened, plaintext, "size {size}");
            let mut offset = 0;
            for index in 0..package_count(size as u64) {
                let (start, length, _) = package_extent(index, size as u64);
                assert_eq!(start, offset);
                offset += length;
            }
            assert_eq!(offset, stored.len() as u64);
        }
    }

    #[test]
    fn tampering_truncation_reordering_and_wrong_keys_are_detected() {
        // Goal: a flipped bit, a file cut at a package boundary, swapped packages, another
        // segment's nonce or another key all fail authentication; nothing decrypts to wrong bytes.
        let key = DataKey::generate();
        let plaintext = sample(3 * PACKAGE_PLAINTEXT_BYTES + 10);
        let size = plaintext.len() as u64;
        let stored = key.packages(0).seal_all(&plaintext);
        let mut flipped = stored.clone();
        flipped[PACKAGE_BYTES + 7] ^= 1;
        assert_eq!(
            key.packages(0).open_all(&flipped, size),
            Err(EncryptionError::Authentication)
        );
        // Cut after three full packages and claim that size: the third is not marked final.
        let cut = &stored[..3 * PACKAGE_BYTES];
        let mut third = cut[2 * PACKAGE_BYTES..].to_vec();
        assert_eq!(
            key.packages(0).open(2, true, &mut third).err(),
            Some(EncryptionError::Authentication)
        );
        let mut swapped = stored.clone();
        swapped.copy_within(0..PACKAGE_BYTES, PACKAGE_BYTES);
        assert!(key.packages(0).open_all(&swapped, size).is_err());
        assert!(key.packages(1).open_all(&stored, size).is_err());
        assert!(DataKey::generate()
            .packages(0)
            .open_all(&stored, size)
            .is_err());
    }

    #[test]
    fn sealed_keys_open_only_with_their_key_and_purpose() {
        // Goal: a data key sealed under one secret and purpose opens only under both; the
        // sealed form has a fixed length and never contains the key.
        let secret = [7u8; KEY_BYTES];
        let kek = KeyEncryptionKey::derive(&secret, "sse-s3");
        let data_key = DataKey::generate();
        let sealed = kek.seal(&data_key, b"bucket/key");
        assert_eq!(sealed.len(), SEALED_KEY_BYTES);
        assert!(!sealed.windows(KEY_BYTES).any(|window| window == data_key.0));
        assert_eq!(kek.open(&sealed, b"bucket/key").unwrap().0, data_key.0);
        let other_purpose = KeyEncryptionKey::derive(&secret, "sse-c");
        assert_eq!(
            other_purpose.open(&sealed, b"bucket/key").err(),
            Some(EncryptionError::Authentication)
        );
        let other_secret = KeyEncryptionKey::derive(&[8u8; KEY_BYTES], "sse-s3");
        assert_eq!(
            other_secret.open(&sealed, b"bucket/key").err(),
            Some(EncryptionError::Authentication)
        );
        assert_eq!(
            kek.open(&sealed[1..], b"bucket/key").err(),
            Some(EncryptionError::Malformed)
        );
        // A sealed key moved to another object does not open there.
        assert_eq!(
            kek.open(&sealed, b"bucket/other").err(),
            Some(EncryptionError::Authentication)
        );
        // Two seals of one key differ (fresh nonce), so equal objects are not linkable.
        assert_ne!(kek.seal(&data_key, b"bucket/key"), sealed);
    }

    #[test]
    fn opaque_etags_depend_on_the_key() {
        // Goal: the same plaintext under two data keys gets two unrelated ETags.
        let md5 = [1u8; 16];
        let first = DataKey::generate();
        assert_eq!(first.opaque_etag(&md5).len(), 32);
        assert_eq!(first.opaque_etag(&md5), first.opaque_etag(&md5));
        assert_ne!(
            first.opaque_etag(&md5),
            DataKey::generate().opaque_etag(&md5)
        );
    }
}
