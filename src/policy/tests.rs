//! The policy engine against the S3 User Guide's bucket policy examples ("Examples of Amazon S3
//! bucket policies") and S3's MalformedPolicy answers.

use super::conditions::ConditionContext;
use super::*;

const BUCKET: &str = "amzn-s3-demo-bucket";

fn alice() -> PrincipalIdentity<'static> {
    PrincipalIdentity {
        access_key: "AKALICE",
        canonical_id: "alice-canonical",
        name: "alice",
    }
}

fn bob() -> PrincipalIdentity<'static> {
    PrincipalIdentity {
        access_key: "AKBOB",
        canonical_id: "bob-canonical",
        name: "bob",
    }
}

fn decide(
    policy: &BucketPolicy,
    principal: Option<PrincipalIdentity<'_>>,
    action: &str,
    key: Option<&str>,
    context: &ConditionContext,
) -> Decision {
    let resource = match key {
        Some(key) => format!("{S3_ARN_PREFIX}{BUCKET}/{key}"),
        None => format!("{S3_ARN_PREFIX}{BUCKET}"),
    };
    policy.evaluate(&PolicyRequest {
        principal,
        action,
        resource: &resource,
        context,
    })
}

fn context(pairs: &[(&str, &str)]) -> ConditionContext {
    let mut context = ConditionContext::default();
    for (key, value) in pairs {
        context.set(key, vec![value.to_string()]);
    }
    context
}

fn policy(text: &str) -> BucketPolicy {
    BucketPolicy::parse(text, BUCKET).unwrap()
}

#[test]
fn public_read_bucket() {
    // Goal: "Granting read-only permission to anonymous users": anyone, signed or not, may
    // GetObject, nothing else.
    let policy = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow",
            "Principal":"*","Action":["s3:GetObject","s3:GetObjectVersion"],
            "Resource":["arn:aws:s3:::amzn-s3-demo-bucket/*"]}]}"#,
    );
    let none = ConditionContext::default();
    assert_eq!(
        decide(&policy, None, "GetObject", Some("a/b"), &none),
        Decision::Allow
    );
    assert_eq!(
        decide(&policy, Some(bob()), "GetObject", Some("x"), &none),
        Decision::Allow
    );
    assert_eq!(
        decide(&policy, None, "PutObject", Some("x"), &none),
        Decision::NoOpinion
    );
    assert_eq!(
        decide(&policy, None, "ListBucket", None, &none),
        Decision::NoOpinion
    );
    assert!(policy.is_public());
}

#[test]
fn read_for_one_prefix_and_listing_it() {
    // Goal: a user may read objects under one prefix and list only that prefix (s3:prefix).
    let policy = policy(
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},
             "Action":"s3:GetObject","Resource":"arn:aws:s3:::amzn-s3-demo-bucket/reports/*"},
            {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:user/bob"]},
             "Action":"s3:ListBucket","Resource":"arn:aws:s3:::amzn-s3-demo-bucket",
             "Condition":{"StringLike":{"s3:prefix":["reports/*"]}}}]}"#,
    );
    let none = ConditionContext::default();
    assert_eq!(
        decide(&policy, Some(bob()), "GetObject", Some("reports/q1"), &none),
        Decision::Allow
    );
    assert_eq!(
        decide(&policy, Some(bob()), "GetObject", Some("private/q1"), &none),
        Decision::NoOpinion
    );
    assert_eq!(
        decide(
            &policy,
            Some(alice()),
            "GetObject",
            Some("reports/q1"),
            &none
        ),
        Decision::NoOpinion
    );
    assert_eq!(
        decide(&policy, None, "GetObject", Some("reports/q1"), &none),
        Decision::NoOpinion
    );
    let listing = context(&[("s3:prefix", "reports/2026")]);
    assert_eq!(
        decide(&policy, Some(bob()), "ListBucket", None, &listing),
        Decision::Allow
    );
    let elsewhere = context(&[("s3:prefix", "private/")]);
    assert_eq!(
        decide(&policy, Some(bob()), "ListBucket", None, &elsewhere),
        Decision::NoOpinion
    );
    assert_eq!(
        decide(&policy, Some(bob()), "ListBucket", None, &none),
        Decision::NoOpinion
    );
    assert!(!policy.is_public());
}

#[test]
fn deny_unless_tls() {
    // Goal: "Enforce encryption in transit": aws:SecureTransport false denies every action to
    // everyone, the owner included; over TLS nothing is denied.
    let policy = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"TLSOnly","Effect":"Deny",
            "Principal":{"AWS":"*"},"Action":"s3:*",
            "Resource":["arn:aws:s3:::amzn-s3-demo-bucket","arn:aws:s3:::amzn-s3-demo-bucket/*"],
            "Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#,
    );
    let plain = context(&[("aws:SecureTransport", "false")]);
    let tls = context(&[("aws:SecureTransport", "true")]);
    assert_eq!(
        decide(&policy, Some(alice()), "GetObject", Some("k"), &plain),
        Decision::Deny
    );
    assert_eq!(
        decide(&policy, None, "ListBucket", None, &plain),
        Decision::Deny
    );
    assert_eq!(
        decide(&policy, Some(alice()), "GetObject", Some("k"), &tls),
        Decision::NoOpinion
    );
    assert!(!policy.is_public(), "a Deny grants nothing");
}

#[test]
fn ip_allow_list() {
    // Goal: "Restricting access to specific IP addresses": a Deny for addresses outside the
    // range (NotIpAddress), and an Allow narrowed by IpAddress is not public.
    let deny_outside = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*",
            "Action":"s3:*","Resource":"arn:aws:s3:::amzn-s3-demo-bucket/*",
            "Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","2001:db8::/32"]}}}]}"#,
    );
    let inside = context(&[("aws:SourceIp", "192.0.2.10")]);
    let inside_v6 = context(&[("aws:SourceIp", "2001:db8::7")]);
    let outside = context(&[("aws:SourceIp", "203.0.113.5")]);
    assert_eq!(
        decide(&deny_outside, Some(bob()), "GetObject", Some("k"), &inside),
        Decision::NoOpinion
    );
    assert_eq!(
        decide(
            &deny_outside,
            Some(bob()),
            "GetObject",
            Some("k"),
            &inside_v6
        ),
        Decision::NoOpinion
    );
    assert_eq!(
        decide(&deny_outside, Some(bob()), "GetObject", Some("k"), &outside),
        Decision::Deny
    );
    let allow_inside = policy(
        r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",
            "Resource":"arn:aws:s3:::amzn-s3-demo-bucket/*",
            "Condition":{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}}"#,
    );
    assert_eq!(
        decide(&allow_inside, None, "GetObject", Some("k"), &inside),
        Decision::Allow
    );
    assert_eq!(
        decide(&allow_inside, None, "GetObject", Some("k"), &outside),
        Decision::NoOpinion
    );
    assert!(!allow_inside.is_public());
    // Conditions that narrow nothing leave a grant public.
    for condition in [
        r#"{"IpAddress":{"aws:SourceIp":["0.0.0.0/0","::/0"]}}"#,
        r#"{"IpAddress":{"aws:SourceIp":"::ffff:0:0/96"}}"#,
        r#"{"NotIpAddress":{"aws:SourceIp":"192.0.2.1/32"}}"#,
        r#"{"StringLike":{"aws:userid":"*"}}"#,
        r#"{"StringEqualsIfExists":{"aws:username":"bob"}}"#,
    ] {
        let wide = policy(&format!(
            r#"{{"Statement":{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",
                "Resource":"arn:aws:s3:::amzn-s3-demo-bucket/*","Condition":{condition}}}}}"#
        ));
        assert!(wide.is_public(), "{condition}");
    }
}

#[test]
fn deny_delete_with_not_principal() {
    // Goal: nobody but alice may delete objects or versions (Deny with NotPrincipal), while
    // others keep what their ACLs give (the policy has no opinion on other actions).
    let policy = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny",
            "NotPrincipal":{"CanonicalUser":"alice-canonical"},
            "Action":["s3:DeleteObject","s3:DeleteObjectVersion"],
            "Resource":"arn:aws:s3:::amzn-s3-demo-bucket/*"}]}"#,
    );
    let none = ConditionContext::default();
    assert_eq!(
        decide(&policy, Some(bob()), "DeleteObject", Some("k"), &none),
        Decision::Deny
    );
    assert_eq!(
        decide(&policy, None, "DeleteObjectVersion", Some("k"), &none),
        Decision::Deny
    );
    assert_eq!(
        decide(&policy, Some(alice()), "DeleteObject", Some("k"), &none),
        Decision::NoOpinion
    );
    assert_eq!(
        decide(&policy, Some(bob()), "PutObject", Some("k"), &none),
        Decision::NoOpinion
    );
}

#[test]
fn per_user_home_prefix_with_not_action() {
    // Goal: bob may do anything to his home prefix but delete it (NotAction), Get* wildcards
    // cover every read action.
    let policy = policy(
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":{"AWS":"AKBOB"},"NotAction":"s3:Delete*",
             "Resource":"arn:aws:s3:::amzn-s3-demo-bucket/home/bob/*"},
            {"Effect":"Allow","Principal":{"AWS":"AKBOB"},"Action":"s3:Get*",
             "Resource":"arn:aws:s3:::amzn-s3-demo-bucket/shared/*"}]}"#,
    );
    let none = ConditionContext::default();
    for action in [
        "PutObject",
        "GetObject",
        "PutObjectTagging",
        "AbortMultipartUpload",
    ] {
        assert_eq!(
            decide(&policy, Some(bob()), action, Some("home/bob/f"), &none),
            Decision::Allow,
            "{action}"
        );
    }
    assert_eq!(
        decide(
            &policy,
            Some(bob()),
            "DeleteObject",
            Some("home/bob/f"),
            &none
        ),
        Decision::NoOpinion
    );
    assert_eq!(
        decide(
            &policy,
            Some(bob()),
            "GetObjectAcl",
            Some("shared/x"),
            &none
        ),
        Decision::Allow
    );
    assert_eq!(
        decide(&policy, Some(bob()), "PutObject", Some("shared/x"), &none),
        Decision::NoOpinion
    );
}

#[test]
fn deny_wins_over_allow_and_unknown_keys_fail_closed() {
    // Goal: an explicit Deny beats any Allow; a condition key ringstore cannot supply makes an
    // Allow not apply and a Deny apply.
    let policy = policy(
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":"*","Action":"s3:GetObject",
             "Resource":"arn:aws:s3:::amzn-s3-demo-bucket/*"},
            {"Effect":"Deny","Principal":"*","Action":"s3:GetObject",
             "Resource":"arn:aws:s3:::amzn-s3-demo-bucket/secret/*"},
            {"Effect":"Allow","Principal":"*","Action":"s3:PutObject",
             "Resource":"arn:aws:s3:::amzn-s3-demo-bucket/*",
             "Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1a2b3c4d"}}},
            {"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject",
             "Resource":"arn:aws:s3:::amzn-s3-demo-bucket/*",
             "Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1a2b3c4d"}}}]}"#,
    );
    let none = ConditionContext::default();
    assert_eq!(
        decide(&policy, None, "GetObject", Some("public/x"), &none),
        Decision::Allow
    );
    assert_eq!(
        decide(&policy, Some(alice()), "GetObject", Some("secret/x"), &none),
        Decision::Deny
    );
    assert_eq!(
        decide(&policy, None, "PutObject", Some("x"), &none),
        Decision::NoOpinion
    );
    assert_eq!(
        decide(&policy, Some(alice()), "DeleteObject", Some("x"), &none),
        Decision::Deny
    );
}

#[test]
fn malformed_policies_get_s3s_messages() {
    // Goal: each document S3 refuses is refused with S3's MalformedPolicy message.
    let statement =
        |inner: &str| format!(r#"{{"Version":"2012-10-17","Statement":[{{{inner}}}]}}"#);
    let ok = r#""Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::amzn-s3-demo-bucket/*""#;
    assert!(BucketPolicy::parse(&statement(ok), BUCKET).is_ok());
    for (text, message) in [
        (
            "not json".to_string(),
            "Policies must be valid JSON and the first byte must be '{'",
        ),
        (
            "[1]".to_string(),
            "Policies must be valid JSON and the first byte must be '{'",
        ),
        (
            r#"{"Version":"2012-10-17"}"#.to_string(),
            "Missing required field Statement",
        ),
        (
            r#"{"Version":"2019-01-01","Statement":[]}"#.to_string(),
            "The policy must contain a valid version string",
        ),
        (
            statement(
                r#""Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::amzn-s3-demo-bucket/*""#,
            ),
            "Missing required field Principal",
        ),
        (
            statement(
                r#""Effect":"Permit","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::amzn-s3-demo-bucket/*""#,
            ),
            "Invalid effect: Permit",
        ),
        (
            statement(
                r#""Effect":"Allow","Principal":"*","Action":"s3:GetObjects","Resource":"arn:aws:s3:::amzn-s3-demo-bucket/*""#,
            ),
            "Policy has invalid action",
        ),
        (
            statement(
                r#""Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other-bucket/*""#,
            ),
            "Policy has invalid resource",
        ),
        (
            statement(
                r#""Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::amzn-s3-demo-bucket""#,
            ),
            "Action does not apply to any resource(s) in statement",
        ),
        (
            statement(r#""Effect":"Allow","Principal":"*","Action":"s3:GetObject""#),
            "Missing required field Resource",
        ),
        (
            statement(
                r#""Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:role/x"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::amzn-s3-demo-bucket/*""#,
            ),
            "Invalid principal in policy",
        ),
        (
            statement(
                r#""Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::amzn-s3-demo-bucket/*","Condition":{"StringSortOf":{"s3:prefix":"a"}}"#,
            ),
            "Invalid Condition type : StringSortOf",
        ),
    ] {
        assert_eq!(
            BucketPolicy::parse(&text, BUCKET).unwrap_err().0,
            message,
            "{text}"
        );
    }
    let large = format!(
        r#"{{"Version":"2012-10-17","Id":"{}","Statement":[{{{ok}}}]}}"#,
        "x".repeat(POLICY_BYTES_MAX)
    );
    assert!(BucketPolicy::parse(&large, BUCKET).is_err());
}
