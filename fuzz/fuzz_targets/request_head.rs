//! Request heads: httparse plus ringstore's framing rules (Content-Length, Transfer-Encoding,
//! Expect, size cap) over arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ringstore::http::head::parse_head_within;
use ringstore::http::HeadParse;

fuzz_target!(|data: &[u8]| {
    if let Ok(HeadParse::Complete(head, used)) = parse_head_within(data, 16 * 1024) {
        assert!(used <= data.len());
        let _ = head.header("host");
        let _ = head.header_count("content-length");
    }
});
