//! Every XML request body: CreateBucketConfiguration, Delete, CompleteMultipartUpload,
//! AccessControlPolicy, VersioningConfiguration, ObjectLockConfiguration, Retention, LegalHold,
//! Tagging, CORSConfiguration (with its rule checks) and LifecycleConfiguration (its stored form
//! must read back the same).
#![no_main]
use libfuzzer_sys::fuzz_target;
use ringstore::s3::access::parse_access_control_policy;
use ringstore::s3::xml::{
    parse_complete_multipart_upload, parse_cors_configuration, parse_create_bucket_configuration,
    parse_delete_objects, parse_legal_hold, parse_object_lock_configuration, parse_retention,
    parse_tagging, parse_versioning_configuration,
};

fuzz_target!(|data: &[u8]| {
    let _ = parse_create_bucket_configuration(data);
    let _ = parse_delete_objects(data);
    let _ = parse_complete_multipart_upload(data);
    let _ = parse_access_control_policy(data);
    let _ = parse_versioning_configuration(data);
    let _ = parse_object_lock_configuration(data);
    let _ = parse_retention(data);
    let _ = parse_legal_hold(data);
    let _ = parse_tagging(data, 50);
    let _ = ringstore::s3::xml::parse_encryption_configuration(data);
    if let Ok(configuration) = parse_cors_configuration(data) {
        let _ = ringstore::s3::cors::validate(&configuration);
    }
    if let Ok(configuration) = ringstore::s3::xml::lifecycle::parse_lifecycle_configuration(data, &["COLD"]) {
        let stored = configuration.encode();
        assert_eq!(
            ringstore::lifecycle::LifecycleConfiguration::decode(&stored).as_ref(),
            Some(&configuration)
        );
    }
});
