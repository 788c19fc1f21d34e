//! Tests of the lifecycle configuration XML: S3's validation errors, transitions to tiers, and
//! the document answered as sent.
use super::*;

fn parse(rules: &str) -> S3Result<LifecycleConfiguration> {
    parse_lifecycle_configuration(
        format!("<LifecycleConfiguration>{rules}</LifecycleConfiguration>").as_bytes(),
        &["COLD"],
    )
}

fn code(rules: &str) -> S3ErrorCode {
    parse(rules).unwrap_err().code
}

#[test]
fn valid_rules_parse_in_every_filter_form() {
    // Goal: the legacy Prefix, each Filter form and each action read as sent.
    let configuration = parse(
        "<Rule><ID>a</ID><Prefix>logs/</Prefix><Status>Enabled</Status>\
         <Expiration><Days>3</Days></Expiration></Rule>\
         <Rule><ID>b</ID><Filter><And><Prefix>p</Prefix><Tag><Key>k</Key><Value>v</Value></Tag>\
         <ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter><Status>Disabled</Status>\
         <NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays>\
         <NewerNoncurrentVersions>5</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>\
         <Rule><Filter/><Status>Enabled</Status><Expiration><Date>2030-01-01T00:00:00Z</Date>\
         </Expiration><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation>\
         </AbortIncompleteMultipartUpload></Rule>",
    )
    .unwrap();
    let [a, b, c] = &configuration.rules[..] else {
        panic!("three rules");
    };
    assert_eq!(
        (a.filter.form, a.filter.prefix.as_str()),
        (FilterForm::LegacyPrefix, "logs/")
    );
    assert_eq!(a.expiration.unwrap().days, Some(3));
    assert!(!b.enabled);
    assert_eq!(b.filter.tags, vec![("k".to_string(), "v".to_string())]);
    assert_eq!(b.filter.size_greater_than_bytes, Some(10));
    assert_eq!(
        b.noncurrent_version_expiration
            .unwrap()
            .newer_noncurrent_versions,
        Some(5)
    );
    assert_eq!(c.filter.form, FilterForm::Empty);
    assert_eq!(c.id.len(), 48);
    assert_eq!(c.abort_incomplete_upload_days, Some(1));
}

#[test]
fn s3_refusals_have_s3_codes() {
    // Goal: each refusal S3 documents answers its code.
    let rule =
        |body: &str| format!("<Rule><ID>r</ID><Prefix/><Status>Enabled</Status>{body}</Rule>");
    let days = |n: &str| rule(&format!("<Expiration><Days>{n}</Days></Expiration>"));
    use S3ErrorCode::*;
    assert_eq!(code(&days("0")), InvalidArgument);
    assert_eq!(code(&days("x")), MalformedXML);
    assert_eq!(
        code(&format!("{}{}", days("1"), days("2"))),
        InvalidArgument
    );
    assert_eq!(
        code(&rule("<Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>")),
        S3ErrorCode::MalformedXML
    );
    assert_eq!(
        code(&rule(
            "<Expiration><Date>2030-01-01T03:00:00Z</Date></Expiration>"
        )),
        InvalidArgument
    );
    assert_eq!(code(&rule("")), InvalidRequest);
    assert_eq!(
        code("<Rule><ID>r</ID><Prefix/><Status>enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"),
        S3ErrorCode::MalformedXML
    );
    assert_eq!(
        code("<Rule><ID>r</ID><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"),
        S3ErrorCode::MalformedXML
    );
    assert_eq!(
        code(&format!(
            "<Rule><ID>{}</ID><Prefix/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>",
            "a".repeat(256)
        )),
        InvalidArgument
    );
    assert_eq!(
        code(
            "<Rule><ID>r</ID><Filter><Prefix/><Tag><Key>k</Key><Value>v</Value></Tag></Filter>\
              <Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"
        ),
        S3ErrorCode::MalformedXML
    );
    assert_eq!(
        code("<Rule><ID>r</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status>\
              <AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>"),
        InvalidRequest
    );
    assert_eq!(
        code(&rule(
            "<Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition>"
        )),
        InvalidStorageClass
    );
    assert_eq!(
        code(&rule("<Transition><Date>1970-08-23T03:28:21Z</Date><StorageClass>GLACIER</StorageClass></Transition>")),
        InvalidArgument
    );
    assert_eq!(
        parse_lifecycle_configuration(b"<LifecycleConfiguration/>", &[])
            .unwrap_err()
            .code,
        S3ErrorCode::MalformedXML
    );
    for and in ["<And></And>", "<And><Prefix>a</Prefix></And>"] {
        assert_eq!(
            code(&format!(
                "<Rule><ID>r</ID><Filter>{and}</Filter><Status>Enabled</Status>\
                 <Expiration><Days>1</Days></Expiration></Rule>"
            )),
            MalformedXML,
            "{and}"
        );
    }
}

#[test]
fn document_writes_the_form_sent() {
    // Goal: GetBucketLifecycleConfiguration answers the legacy Prefix as a Prefix, a Filter as
    // a Filter, and a Date as ISO 8601.
    let configuration = parse(
        "<Rule><ID>a</ID><Prefix>p/</Prefix><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>\
         <Rule><ID>b</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status>\
         <Expiration><Date>2030-01-01</Date></Expiration></Rule>",
    )
    .unwrap();
    let mut xml = XmlBuilder::new();
    LifecycleConfigurationDocument(std::sync::Arc::new(configuration)).write(&mut xml);
    let text = String::from_utf8(xml.finish()).unwrap();
    assert!(text.contains("<Rule><ID>a</ID><Prefix>p/</Prefix><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"), "{text}");
    assert!(
        text.contains("<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>"),
        "{text}"
    );
    assert!(
        text.contains("<Date>2030-01-01T00:00:00.000Z</Date>"),
        "{text}"
    );
    // An And of an empty Prefix and one tag reads back with its Prefix, so it parses again.
    let configuration = parse(
        "<Rule><ID>c</ID><Filter><And><Prefix></Prefix><Tag><Key>k</Key><Value>v</Value></Tag>\
         </And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>",
    )
    .unwrap();
    let mut xml = XmlBuilder::new();
    LifecycleConfigurationDocument(std::sync::Arc::new(configuration.clone())).write(&mut xml);
    let text = String::from_utf8(xml.finish()).unwrap();
    let again = parse_lifecycle_configuration(text.as_bytes(), &[]).unwrap();
    assert_eq!(again.rules, configuration.rules);
}

#[test]
fn transitions_name_a_tier_and_read_back() {
    // Goal: a Transition or NoncurrentVersionTransition to a configured tier is kept, stored
    // and answered as sent; to an unknown or AWS class it is InvalidStorageClass; Days and
    // Date together are malformed.
    let configuration = parse(
        "<Rule><ID>t</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status>\
         <Transition><Days>30</Days><StorageClass>COLD</StorageClass></Transition>\
         <NoncurrentVersionTransition><NoncurrentDays>7</NoncurrentDays>\
         <NewerNoncurrentVersions>2</NewerNoncurrentVersions><StorageClass>COLD</StorageClass>\
         </NoncurrentVersionTransition></Rule>",
    )
    .unwrap();
    let rule = &configuration.rules[0];
    assert_eq!(rule.transitions[0].days, Some(30));
    assert_eq!(
        rule.noncurrent_transitions[0].newer_noncurrent_versions,
        Some(2)
    );
    let stored = LifecycleConfiguration::decode(&configuration.encode()).unwrap();
    assert_eq!(stored, configuration);
    let mut xml = XmlBuilder::new();
    LifecycleConfigurationDocument(std::sync::Arc::new(configuration.clone())).write(&mut xml);
    let text = String::from_utf8(xml.finish()).unwrap();
    assert!(
        text.contains("<Transition><Days>30</Days><StorageClass>COLD</StorageClass></Transition>"),
        "{text}"
    );
    let again = parse_lifecycle_configuration(text.as_bytes(), &["COLD"]).unwrap();
    assert_eq!(again.rules, configuration.rules);
    for class in ["WARM", "GLACIER", "STANDARD_IA"] {
        assert_eq!(
            code(&rule_with(&format!(
                "<Transition><Days>1</Days><StorageClass>{class}</StorageClass></Transition>"
            ))),
            S3ErrorCode::InvalidStorageClass
        );
    }
    assert_eq!(
        code(&rule_with("<Transition><Days>1</Days><Date>2030-01-01</Date><StorageClass>COLD</StorageClass></Transition>")),
        S3ErrorCode::MalformedXML
    );
}

fn rule_with(action: &str) -> String {
    format!(
        "<Rule><ID>r</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status>{action}</Rule>"
    )
}
