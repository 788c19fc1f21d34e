//! Bucket policy cost: parsing and validating a 20-statement policy (once per PutBucketPolicy)
//! and one decision over it (per request), for a request no statement matches until the last
//! (the worst case: every statement is tried). Run with `cargo bench --bench policy`; the same
//! median-of-batches harness as `hot_paths`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use ringstore::policy::conditions::ConditionContext;
use ringstore::policy::{BucketPolicy, Decision, PolicyRequest, PrincipalIdentity};

const ROUNDS: usize = 15;

/// Median time per call of `f`, measured in batches of `batch` calls.
fn median_per_call(batch: usize, mut f: impl FnMut()) -> Duration {
    let mut samples: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..batch {
                f();
            }
            started.elapsed() / batch as u32
        })
        .collect();
    samples.sort();
    samples[ROUNDS / 2]
}

/// Twenty statements of the kinds the S3 User Guide's examples use: per-user prefixes with
/// `s3:prefix` conditions, IP ranges, a TLS Deny, tag conditions; the last one allows the
/// benchmarked request.
fn twenty_statements() -> String {
    let mut statements = Vec::new();
    for user in 0..16 {
        statements.push(format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:user/user{user}"}},
               "Action":["s3:GetObject","s3:PutObject"],
               "Resource":"arn:aws:s3:::bench/home/user{user}/*"}}"#
        ));
    }
    statements.push(
        r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::bench/*",
            "Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.0/24","2001:db8::/32"]}}}"#
            .to_string(),
    );
    statements.push(
        r#"{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::bench",
            "Condition":{"StringLike":{"s3:prefix":["public/*","shared/*"]}}}"#
            .to_string(),
    );
    statements.push(
        r#"{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bench/*",
            "Condition":{"StringEquals":{"s3:ExistingObjectTag/classification":"secret"}}}"#
            .to_string(),
    );
    statements.push(
        r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bench/public/*"}"#
            .to_string(),
    );
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    )
}

fn main() {
    let text = twenty_statements();
    let parse = median_per_call(2_000, || {
        black_box(BucketPolicy::parse(black_box(&text), "bench").unwrap());
    });
    println!(
        "parse + validate, 20 statements ({} bytes): {:>8.2} µs",
        text.len(),
        parse.as_secs_f64() * 1e6
    );

    let policy = BucketPolicy::parse(&text, "bench").unwrap();
    let mut context = ConditionContext::default();
    context.set("aws:SourceIp", vec!["192.0.2.44".to_string()]);
    context.set("aws:SecureTransport", vec!["false".to_string()]);
    context.set(
        "s3:ExistingObjectTag/classification",
        vec!["open".to_string()],
    );
    context.know_prefix("s3:ExistingObjectTag/");
    let request = PolicyRequest {
        principal: None,
        action: "GetObject",
        resource: "arn:aws:s3:::bench/public/site/index.html",
        context: &context,
    };
    assert_eq!(policy.evaluate(&request), Decision::Allow);
    let anonymous = median_per_call(100_000, || {
        black_box(policy.evaluate(black_box(&request)));
    });
    println!(
        "decision, anonymous GET (all 20 tried):        {:>8.3} µs",
        anonymous.as_secs_f64() * 1e6
    );

    let user = PolicyRequest {
        principal: Some(PrincipalIdentity {
            access_key: "AKUSER15",
            canonical_id: "canonical-user15",
            name: "user15",
        }),
        action: "PutObject",
        resource: "arn:aws:s3:::bench/home/user15/notes.txt",
        context: &context,
    };
    assert_eq!(policy.evaluate(&user), Decision::Allow);
    let signed = median_per_call(100_000, || {
        black_box(policy.evaluate(black_box(&user)));
    });
    println!(
        "decision, user PUT in its prefix:              {:>8.3} µs",
        signed.as_secs_f64() * 1e6
    );
}
