//! PutBucketPolicy documents: parsed and validated, then evaluated against a fixed request, as
//! every policy a client sends is.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ringstore::policy::conditions::ConditionContext;
use ringstore::policy::{BucketPolicy, PolicyRequest, PrincipalIdentity};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(policy) = BucketPolicy::parse(text, "bucket") else {
        return;
    };
    let mut context = ConditionContext::default();
    context.set("aws:SourceIp", vec!["192.0.2.1".to_string()]);
    context.set("s3:prefix", vec!["home/a".to_string()]);
    let _ = policy.is_public();
    let _ = policy.evaluate(&PolicyRequest {
        principal: Some(PrincipalIdentity {
            access_key: "key",
            canonical_id: "id",
            name: "name",
        }),
        action: "GetObject",
        resource: "arn:aws:s3:::bucket/home/a/b",
        context: &context,
    });
});
