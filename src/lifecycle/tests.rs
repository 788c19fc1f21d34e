//! Unit tests of rule matching, due dates and the stored form.

use super::*;

fn rule(id: &str, prefix: &str) -> LifecycleRule {
    LifecycleRule {
        id: id.into(),
        enabled: true,
        filter: RuleFilter {
            form: FilterForm::Prefix,
            prefix: prefix.into(),
            ..RuleFilter::default()
        },
        expiration: None,
        noncurrent_version_expiration: None,
        abort_incomplete_upload_days: None,
        transitions: Vec::new(),
        noncurrent_transitions: Vec::new(),
    }
}

fn facts(key: &str) -> VersionFacts<'_> {
    VersionFacts {
        key,
        size_bytes: 1,
        tags: &[],
    }
}

#[test]
fn s3_days_round_up_to_the_next_midnight_and_short_days_do_not() {
    // Goal: the AWS example — created 2014-01-15 10:30 UTC, 3 days, expires 2014-01-19 00:00 UTC;
    // a shortened day adds exactly days × day.
    let created = 1_389_781_800_000; // 2014-01-15T10:30:00Z
    assert_eq!(due_ms(created, 3, DAY_MS), 1_390_089_600_000); // 2014-01-19T00:00:00Z
    assert_eq!(due_ms(created, 3, 10_000), created + 30_000);
}

#[test]
fn filters_need_every_member() {
    // Goal: prefix, every tag and both size bounds (strict) must hold.
    let filter = RuleFilter {
        form: FilterForm::And,
        prefix: "logs/".into(),
        tags: vec![("a".into(), "1".into()), ("b".into(), "2".into())],
        size_greater_than_bytes: Some(10),
        size_less_than_bytes: Some(100),
    };
    let tags = vec![
        ("b".to_string(), "2".to_string()),
        ("a".to_string(), "1".to_string()),
        ("c".to_string(), "3".to_string()),
    ];
    assert!(filter.matches("logs/x", 50, &tags));
    assert!(!filter.matches("other/x", 50, &tags));
    assert!(!filter.matches("logs/x", 10, &tags));
    assert!(!filter.matches("logs/x", 100, &tags));
    assert!(!filter.matches("logs/x", 50, &tags[..1]));
    assert!(!filter.matches(
        "logs/x",
        50,
        &[("a".into(), "1".into()), ("b".into(), "3".into())]
    ));
}

#[test]
fn earliest_matching_enabled_rule_decides_expiry() {
    // Goal: of two matching rules the earlier date wins; disabled and non-matching rules count
    // for nothing.
    let mut late = rule("late", "");
    late.expiration = Some(Expiration {
        days: Some(30),
        ..Expiration::default()
    });
    let mut early = rule("early", "a/");
    early.expiration = Some(Expiration {
        date_ms: Some(DAY_MS),
        ..Expiration::default()
    });
    let mut disabled = rule("off", "");
    disabled.enabled = false;
    disabled.expiration = Some(Expiration {
        date_ms: Some(0),
        ..Expiration::default()
    });
    let configuration = LifecycleConfiguration {
        rules: vec![late, early, disabled],
        transition_default_minimum_object_size: None,
    };
    assert_eq!(
        configuration.current_expiry(&facts("a/k"), 5 * DAY_MS, DAY_MS),
        Some((DAY_MS, "early"))
    );
    assert_eq!(
        configuration.current_expiry(&facts("b/k"), 5 * DAY_MS, DAY_MS),
        Some((36 * DAY_MS, "late"))
    );
}

#[test]
fn noncurrent_versions_keep_the_newer_ones() {
    // Goal: NewerNoncurrentVersions 2 keeps the two newest noncurrent versions whatever their
    // age; older ones go once NoncurrentDays passed since they became noncurrent.
    let mut keep_two = rule("r", "");
    keep_two.noncurrent_version_expiration = Some(NoncurrentVersionExpiration {
        noncurrent_days: 1,
        newer_noncurrent_versions: Some(2),
    });
    let configuration = LifecycleConfiguration {
        rules: vec![keep_two],
        transition_default_minimum_object_size: None,
    };
    let day = 1000;
    let expired =
        |newer, since| configuration.noncurrent_expired(&facts("k"), since, newer, 5000, day);
    assert!(!expired(0, 0));
    assert!(!expired(1, 0));
    assert!(expired(2, 0));
    assert!(!expired(2, 4500));
}

#[test]
fn lone_markers_go_by_flag_or_age() {
    // Goal: ExpiredObjectDeleteMarker removes at once; Days removes a marker that old.
    let mut flag = rule("flag", "f/");
    flag.expiration = Some(Expiration {
        expired_object_delete_marker: Some(true),
        ..Expiration::default()
    });
    let mut days = rule("days", "d/");
    days.expiration = Some(Expiration {
        days: Some(5),
        ..Expiration::default()
    });
    let configuration = LifecycleConfiguration {
        rules: vec![flag, days],
        transition_default_minimum_object_size: None,
    };
    assert!(configuration.expired_marker_removable("f/k", 100, 100, 10));
    assert!(!configuration.expired_marker_removable("d/k", 100, 149, 10));
    assert!(configuration.expired_marker_removable("d/k", 100, 150, 10));
    assert!(!configuration.expired_marker_removable("x/k", 0, 1000, 10));
}

#[test]
fn stored_form_round_trips() {
    // Goal: every member PutBucketLifecycleConfiguration stores reads back the same.
    let mut first = rule("one \"quoted\"", "p/");
    first.filter = RuleFilter {
        form: FilterForm::And,
        prefix: "p/".into(),
        tags: vec![("k".into(), "v w".into())],
        size_greater_than_bytes: Some(1),
        size_less_than_bytes: Some(9),
    };
    first.expiration = Some(Expiration {
        days: None,
        date_ms: Some(DAY_MS),
        expired_object_delete_marker: None,
    });
    first.noncurrent_version_expiration = Some(NoncurrentVersionExpiration {
        noncurrent_days: 3,
        newer_noncurrent_versions: Some(4),
    });
    let mut second = rule("two", "");
    second.enabled = false;
    second.filter.form = FilterForm::LegacyPrefix;
    second.abort_incomplete_upload_days = Some(7);
    second.expiration = Some(Expiration {
        expired_object_delete_marker: Some(false),
        ..Expiration::default()
    });
    let configuration = LifecycleConfiguration {
        rules: vec![first, second],
        transition_default_minimum_object_size: Some("varies_by_storage_class".into()),
    };
    assert_eq!(
        LifecycleConfiguration::decode(&configuration.encode()),
        Some(configuration)
    );
    assert_eq!(LifecycleConfiguration::decode("[]"), None);
}

#[test]
fn stored_tags_decode() {
    // Goal: the URL-encoded stored tag set decodes for matching.
    assert_eq!(
        decode_tags(Some("a%20b=c%2Fd&e=")),
        vec![("a b".into(), "c/d".into()), ("e".into(), String::new())]
    );
    assert!(decode_tags(None).is_empty());
}
