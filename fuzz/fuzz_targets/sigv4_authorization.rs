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
    // The scope is borrowed from the Credential: it must be exactly the one its parts name.
    let scope_of = |date: &str, region: &str, service: &str| {
        format!("{date}/{region}/{service}/aws4_request")
    };
    if let Some(header) = parse_authorization(text) {
        assert_eq!(
            header.scope,
            scope_of(header.date, header.region, header.service)
        );
    }
    if let Some(credential) = parse_credential(text) {
        assert_eq!(
            credential.scope,
            scope_of(credential.date, credential.region, credential.service)
        );
    }
    let _ = parse_amz_date(text);
});
