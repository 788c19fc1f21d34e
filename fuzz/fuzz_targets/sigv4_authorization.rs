//! SigV4 inputs from the wire: the Authorization header, the credential scope of a presigned
//! query, and x-amz-date.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ringstore::s3::auth::sigv4::{parse_authorization, parse_credential};
use ringstore::s3::auth::verify::parse_amz_date;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(header) = parse_authorization(text) {
        let _ = header.scope();
    }
    let _ = parse_credential(text);
    let _ = parse_amz_date(text);
});
