//! Every XML request body: CreateBucketConfiguration, Delete, CompleteMultipartUpload,
//! AccessControlPolicy.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ringstore::s3::access::parse_access_control_policy;
use ringstore::s3::xml::{
    parse_complete_multipart_upload, parse_create_bucket_configuration, parse_delete_objects,
};

fuzz_target!(|data: &[u8]| {
    let _ = parse_create_bucket_configuration(data);
    let _ = parse_delete_objects(data);
    let _ = parse_complete_multipart_upload(data);
    let _ = parse_access_control_policy(data);
});
