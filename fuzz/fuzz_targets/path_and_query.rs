//! Percent-decoding of paths and query strings and bucket/key resolution (path- and
//! virtual-hosted-style), where traversal and encoding tricks arrive.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ringstore::s3::path::{parse_query, percent_decode, resolve, validate_bucket_name};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = percent_decode(text);
    let _ = parse_query(text);
    let (host, path) = text.split_once('\n').unwrap_or(("localhost", text));
    if let Ok(target) = resolve(Some(host), path, &["localhost".to_string()]) {
        if let Some(bucket) = &target.bucket {
            let _ = validate_bucket_name(bucket);
        }
    }
});
