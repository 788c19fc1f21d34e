//! `Range` against an object size the input chooses, and `x-amz-copy-source`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ringstore::s3::conditions::{parse_range, RangeRequest};
use ringstore::s3::copy_source::parse_copy_source;

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let size = u64::from_le_bytes(data[..8].try_into().unwrap());
    let Ok(text) = std::str::from_utf8(&data[8..]) else {
        return;
    };
    if let RangeRequest::Partial { start, end } = parse_range(Some(text), size) {
        assert!(start <= end && end < size);
    }
    let _ = parse_copy_source(text);
});
