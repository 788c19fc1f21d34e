//! Encrypted object bytes as read back from disk (issue 22): whatever the stored bytes and the
//! claimed size, opening them never panics and never yields bytes that were not sealed under
//! the key — tampered, truncated or extended input fails authentication.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringstore::storage::encryption::DataKey;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let claimed = u32::from_le_bytes([data[0], data[1], data[2], data[3]]) as u64 % (1 << 20);
    let stored = &data[4..];
    let key = DataKey::generate();
    assert!(key.packages(0).open_all(stored, claimed).is_err());
    // A genuine sealing of the input opens to it, and one flipped byte never does.
    let sealed = key.packages(0).seal_all(stored);
    assert_eq!(key.packages(0).open_all(&sealed, stored.len() as u64).unwrap(), stored);
    let mut flipped = sealed.clone();
    let index = claimed as usize % flipped.len();
    flipped[index] ^= 1;
    assert!(key.packages(0).open_all(&flipped, stored.len() as u64).is_err());
});
