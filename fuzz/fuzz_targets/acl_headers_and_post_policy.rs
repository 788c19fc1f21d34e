//! ACL request headers (`x-amz-acl`, `x-amz-grant-*`) as they arrive in a head, and browser-upload
//! policy documents and form boundaries.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ringstore::http::head::parse_head_within;
use ringstore::http::HeadParse;
use ringstore::s3::access::acl_from_headers;
use ringstore::s3::form::boundary;
use ringstore::s3::post_policy::decode_policy;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = decode_policy(text);
    let _ = boundary(text);
    let head = format!("PUT /b HTTP/1.1\r\nHost: h\r\n{text}\r\n\r\n");
    if let Ok(HeadParse::Complete(head, _)) = parse_head_within(head.as_bytes(), 16 * 1024) {
        let _ = acl_from_headers(&head);
    }
});
