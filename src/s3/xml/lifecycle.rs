//! The `<LifecycleConfiguration>` document: read and checked as PutBucketLifecycleConfiguration
//! does (S3's errors: MalformedXML for what the schema refuses, InvalidArgument for values out of
//! range, InvalidRequest for combinations S3 refuses), and written back for
//! GetBucketLifecycleConfiguration in the form it was sent. S3 API Reference,
//! PutBucketLifecycleConfiguration, LifecycleRule, LifecycleRuleFilter, LifecycleExpiration.

use super::{parse_tree, XmlBuilder, XmlDocument, XmlNode};
use crate::lifecycle::{
    Expiration, FilterForm, LifecycleConfiguration, LifecycleRule, NoncurrentVersionExpiration,
    NoncurrentVersionTransition, RuleFilter, Transition, DAY_MS, NEWER_NONCURRENT_VERSIONS_MAX,
    RULE_COUNT_MAX, RULE_ID_CHARS_MAX,
};
use crate::limits::KEY_BYTES_MAX;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::tagging::{validate, OBJECT_TAG_COUNT_MAX};
use crate::s3::time::{iso8601, parse_iso8601_ms};

fn malformed() -> S3Error {
    S3Error::new(S3ErrorCode::MalformedXML)
}

fn invalid_argument(message: &'static str) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidArgument, message)
}

fn invalid_request(message: &'static str) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidRequest, message)
}

/// The element's children by name, each at most once (MalformedXML for a repeat or a name not in
/// `allowed`).
fn members<'n>(
    node: &'n XmlNode,
    allowed: &[&'static str],
) -> S3Result<Vec<(&'static str, &'n XmlNode)>> {
    let mut found: Vec<(&'static str, &XmlNode)> = Vec::new();
    for child in &node.children {
        let name = allowed
            .iter()
            .find(|name| **name == child.name)
            .ok_or_else(malformed)?;
        if found.iter().any(|(seen, _)| seen == name) {
            return Err(malformed());
        }
        found.push((name, child));
    }
    Ok(found)
}

fn member<'n>(found: &[(&'static str, &'n XmlNode)], name: &str) -> Option<&'n XmlNode> {
    found
        .iter()
        .find(|(seen, _)| *seen == name)
        .map(|(_, node)| *node)
}

/// An integer element (MalformedXML if it is not one).
fn integer(node: &XmlNode) -> S3Result<i64> {
    node.text.trim().parse().map_err(|_| malformed())
}

/// A positive day count, InvalidArgument with `message` otherwise.
fn positive_days(node: &XmlNode, message: &'static str) -> S3Result<u32> {
    let days = integer(node)?;
    if days <= 0 {
        return Err(invalid_argument(message));
    }
    u32::try_from(days).map_err(|_| invalid_argument(message))
}

/// A `Date`: ISO 8601 (a bare `YYYY-MM-DD` too) at midnight UTC.
fn midnight_date(node: &XmlNode) -> S3Result<i64> {
    let text = node.text.trim();
    let parsed = parse_iso8601_ms(text)
        .or_else(|| parse_iso8601_ms(&format!("{text}T00:00:00Z")))
        .ok_or_else(|| invalid_argument("Invalid date format: expected ISO 8601"))?;
    if parsed.rem_euclid(DAY_MS) != 0 {
        return Err(invalid_argument("'Date' must be at midnight GMT"));
    }
    Ok(parsed)
}

/// `<Tag><Key/><Value/></Tag>`.
fn tag(node: &XmlNode) -> S3Result<(String, String)> {
    let found = members(node, &["Key", "Value"])?;
    let key = member(&found, "Key").ok_or_else(malformed)?;
    let value = member(&found, "Value").ok_or_else(malformed)?;
    Ok((key.text.clone(), value.text.clone()))
}

fn size_bound(node: &XmlNode) -> S3Result<u64> {
    u64::try_from(integer(node)?).map_err(|_| invalid_argument("Object size must be positive"))
}

/// `<Filter>`: empty, or exactly one of Prefix, Tag, ObjectSizeGreaterThan,
/// ObjectSizeLessThan, And.
fn filter(node: &XmlNode) -> S3Result<RuleFilter> {
    let mut filter = RuleFilter {
        form: FilterForm::Empty,
        ..RuleFilter::default()
    };
    let found = members(
        node,
        &[
            "Prefix",
            "Tag",
            "ObjectSizeGreaterThan",
            "ObjectSizeLessThan",
            "And",
        ],
    )?;
    let Some(&(name, child)) = found.first() else {
        return Ok(filter);
    };
    if found.len() > 1 {
        return Err(malformed());
    }
    match name {
        "Prefix" => {
            filter.form = FilterForm::Prefix;
            filter.prefix = child.text.clone();
        }
        "Tag" => {
            filter.form = FilterForm::Tag;
            filter.tags.push(tag(child)?);
        }
        "ObjectSizeGreaterThan" => {
            filter.form = FilterForm::SizeGreaterThan;
            filter.size_greater_than_bytes = Some(size_bound(child)?);
        }
        "ObjectSizeLessThan" => {
            filter.form = FilterForm::SizeLessThan;
            filter.size_less_than_bytes = Some(size_bound(child)?);
        }
        _ => {
            filter.form = FilterForm::And;
            let mut seen_single = Vec::new();
            for part in &child.children {
                match part.name.as_str() {
                    "Tag" => filter.tags.push(tag(part)?),
                    single @ ("Prefix" | "ObjectSizeGreaterThan" | "ObjectSizeLessThan") => {
                        if seen_single.contains(&single) {
                            return Err(malformed());
                        }
                        seen_single.push(single);
                        match single {
                            "Prefix" => filter.prefix = part.text.clone(),
                            "ObjectSizeGreaterThan" => {
                                filter.size_greater_than_bytes = Some(size_bound(part)?)
                            }
                            _ => filter.size_less_than_bytes = Some(size_bound(part)?),
                        }
                    }
                    _ => return Err(malformed()),
                }
            }
            // LifecycleRuleAndOperator: "a logical AND to two or more predicates".
            if seen_single.len() + filter.tags.len() < 2 {
                return Err(malformed());
            }
        }
    }
    // An object carries at most 10 tags, so a filter naming more could never match.
    validate(&filter.tags, OBJECT_TAG_COUNT_MAX)?;
    if let (Some(greater), Some(less)) =
        (filter.size_greater_than_bytes, filter.size_less_than_bytes)
    {
        if less <= greater {
            return Err(invalid_argument(
                "ObjectSizeLessThan must be greater than ObjectSizeGreaterThan",
            ));
        }
    }
    Ok(filter)
}

/// `<Expiration>`: one of Days, Date, ExpiredObjectDeleteMarker.
fn expiration(node: &XmlNode) -> S3Result<Expiration> {
    let found = members(node, &["Days", "Date", "ExpiredObjectDeleteMarker"])?;
    if found.len() != 1 {
        return Err(malformed());
    }
    let mut expiration = Expiration::default();
    if let Some(days) = member(&found, "Days") {
        expiration.days = Some(positive_days(
            days,
            "'Days' for Expiration action must be a positive integer",
        )?);
    }
    if let Some(date) = member(&found, "Date") {
        expiration.date_ms = Some(midnight_date(date)?);
    }
    if let Some(flag) = member(&found, "ExpiredObjectDeleteMarker") {
        expiration.expired_object_delete_marker = Some(match flag.text.trim() {
            "true" => true,
            "false" => false,
            _ => return Err(malformed()),
        });
    }
    Ok(expiration)
}

/// `<NoncurrentVersionExpiration>`.
fn noncurrent_expiration(node: &XmlNode) -> S3Result<NoncurrentVersionExpiration> {
    let found = members(node, &["NoncurrentDays", "NewerNoncurrentVersions"])?;
    let days = member(&found, "NoncurrentDays").ok_or_else(malformed)?;
    let newer = match member(&found, "NewerNoncurrentVersions") {
        Some(node) => {
            let count = integer(node)?;
            if !(1..=i64::from(NEWER_NONCURRENT_VERSIONS_MAX)).contains(&count) {
                return Err(invalid_argument(
                    "'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be a positive integer up to 100",
                ));
            }
            Some(count as u32)
        }
        None => None,
    };
    Ok(NoncurrentVersionExpiration {
        noncurrent_days: positive_days(
            days,
            "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer",
        )?,
        newer_noncurrent_versions: newer,
    })
}

/// A `<Transition>` or `<NoncurrentVersionTransition>`, checked as S3 checks it: its days or
/// date, and a `StorageClass` that must name one of this server's tiers (`tiers`, from
/// `--tier`); any other class (GLACIER and the like, or an unknown name) is InvalidStorageClass.
enum TransitionAction {
    Current(Transition),
    Noncurrent(NoncurrentVersionTransition),
}

fn transition(node: &XmlNode, noncurrent: bool, tiers: &[&str]) -> S3Result<TransitionAction> {
    let allowed: &[&'static str] = if noncurrent {
        &["NoncurrentDays", "NewerNoncurrentVersions", "StorageClass"]
    } else {
        &["Days", "Date", "StorageClass"]
    };
    let found = members(node, allowed)?;
    let storage_class = member(&found, "StorageClass").ok_or_else(malformed)?;
    let mut days = None;
    let mut date_ms = None;
    let mut newer = None;
    for (name, child) in &found {
        match *name {
            "Date" => date_ms = Some(midnight_date(child)?),
            "Days" | "NoncurrentDays" => {
                let value = integer(child)?;
                if value < 0 {
                    return Err(invalid_argument(
                        "'Days' in the Transition action must be nonnegative",
                    ));
                }
                days = Some(u32::try_from(value).map_err(|_| malformed())?);
            }
            "NewerNoncurrentVersions" => {
                let value = integer(child)?;
                if !(1..=100).contains(&value) {
                    return Err(invalid_argument(
                        "'NewerNoncurrentVersions' for NoncurrentVersionTransition action must be a positive integer up to 100",
                    ));
                }
                newer = Some(value as u32);
            }
            _ => {}
        }
    }
    let storage_class = storage_class.text.trim();
    if !tiers.contains(&storage_class) {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidStorageClass,
            "The storage class you specified is not valid: a lifecycle transition names one of \
             this server's tiers (--tier NAME=URL)",
        ));
    }
    let storage_class = storage_class.to_string();
    if noncurrent {
        Ok(TransitionAction::Noncurrent(NoncurrentVersionTransition {
            noncurrent_days: days.ok_or_else(malformed)?,
            newer_noncurrent_versions: newer,
            storage_class,
        }))
    } else {
        if days.is_some() == date_ms.is_some() {
            return Err(malformed());
        }
        Ok(TransitionAction::Current(Transition {
            days,
            date_ms,
            storage_class,
        }))
    }
}

/// A rule ID S3 would make up for a rule sent without one.
fn generated_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..48)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

/// One `<Rule>`; transitions must name one of `tiers`.
fn rule(node: &XmlNode, tiers: &[&str]) -> S3Result<LifecycleRule> {
    let mut found: Vec<(&'static str, &XmlNode)> = Vec::new();
    let mut transitions = Vec::new();
    let mut noncurrent_transitions = Vec::new();
    for child in &node.children {
        let action = match child.name.as_str() {
            "Transition" => transition(child, false, tiers)?,
            "NoncurrentVersionTransition" => transition(child, true, tiers)?,
            _ => continue,
        };
        match action {
            TransitionAction::Current(action) => transitions.push(action),
            TransitionAction::Noncurrent(action) => noncurrent_transitions.push(action),
        }
    }
    let singles: Vec<&XmlNode> = node
        .children
        .iter()
        .filter(|child| {
            !matches!(
                child.name.as_str(),
                "Transition" | "NoncurrentVersionTransition"
            )
        })
        .collect();
    for child in singles {
        let name = [
            "ID",
            "Prefix",
            "Filter",
            "Status",
            "Expiration",
            "NoncurrentVersionExpiration",
            "AbortIncompleteMultipartUpload",
        ]
        .into_iter()
        .find(|name| *name == child.name)
        .ok_or_else(malformed)?;
        if found.iter().any(|(seen, _)| *seen == name) {
            return Err(malformed());
        }
        found.push((name, child));
    }
    let enabled = match member(&found, "Status").map(|node| node.text.trim()) {
        Some("Enabled") => true,
        Some("Disabled") => false,
        _ => return Err(malformed()),
    };
    let filter = match (member(&found, "Prefix"), member(&found, "Filter")) {
        (Some(prefix), None) => RuleFilter {
            form: FilterForm::LegacyPrefix,
            prefix: prefix.text.clone(),
            ..RuleFilter::default()
        },
        (None, Some(node)) => filter(node)?,
        _ => return Err(malformed()),
    };
    if filter.prefix.len() > KEY_BYTES_MAX {
        return Err(invalid_argument(
            "The prefix is longer than the longest key S3 allows (1024 bytes)",
        ));
    }
    let id = match member(&found, "ID") {
        Some(node) if node.text.chars().count() > RULE_ID_CHARS_MAX => {
            return Err(invalid_argument(
                "ID length should not exceed allowed limit of 255",
            ))
        }
        Some(node) if !node.text.is_empty() => node.text.clone(),
        _ => generated_id(),
    };
    let expiration = member(&found, "Expiration").map(expiration).transpose()?;
    let noncurrent = member(&found, "NoncurrentVersionExpiration")
        .map(noncurrent_expiration)
        .transpose()?;
    let abort_days = match member(&found, "AbortIncompleteMultipartUpload") {
        Some(node) => {
            let found = members(node, &["DaysAfterInitiation"])?;
            let days = member(&found, "DaysAfterInitiation").ok_or_else(malformed)?;
            Some(positive_days(
                days,
                "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer",
            )?)
        }
        None => None,
    };
    if expiration.is_none()
        && noncurrent.is_none()
        && abort_days.is_none()
        && transitions.is_empty()
        && noncurrent_transitions.is_empty()
    {
        return Err(invalid_request(
            "At least one action needs to be specified in a rule",
        ));
    }
    if filter.has_tags_or_sizes() {
        if expiration.is_some_and(|action| action.expired_object_delete_marker.is_some()) {
            return Err(invalid_request(
                "ExpiredObjectDeleteMarker cannot be specified with tag or object size based filters",
            ));
        }
        if abort_days.is_some() {
            return Err(invalid_request(
                "AbortIncompleteMultipartUpload cannot be specified with tag or object size based filters",
            ));
        }
    }
    Ok(LifecycleRule {
        id,
        enabled,
        filter,
        expiration,
        noncurrent_version_expiration: noncurrent,
        abort_incomplete_upload_days: abort_days,
        transitions,
        noncurrent_transitions,
    })
}

/// Reads a `<LifecycleConfiguration>` of 1 to 1,000 `<Rule>`s, each checked as S3 checks it; rule
/// IDs must be unique (InvalidArgument). A transition's StorageClass must be one of `tiers` (the
/// server's `--tier` names), else InvalidStorageClass.
pub fn parse_lifecycle_configuration(
    body: &[u8],
    tiers: &[&str],
) -> S3Result<LifecycleConfiguration> {
    let root = parse_tree(body)?;
    if root.name != "LifecycleConfiguration"
        || root.children.is_empty()
        || root.children.len() > RULE_COUNT_MAX
    {
        return Err(malformed());
    }
    let mut rules: Vec<LifecycleRule> = Vec::with_capacity(root.children.len());
    for node in &root.children {
        if node.name != "Rule" {
            return Err(malformed());
        }
        let rule = rule(node, tiers)?;
        if rules.iter().any(|earlier| earlier.id == rule.id) {
            return Err(invalid_argument(
                "Rule ID must be unique. Found same ID for more than one rule",
            ));
        }
        rules.push(rule);
    }
    Ok(LifecycleConfiguration {
        rules,
        transition_default_minimum_object_size: None,
    })
}

/// GetBucketLifecycleConfiguration's answer: the rules as sent (filters in their form, made-up
/// IDs included, dates as ISO 8601).
pub struct LifecycleConfigurationDocument(pub std::sync::Arc<LifecycleConfiguration>);

fn write_tag(xml: &mut XmlBuilder, (key, value): &(String, String)) {
    xml.open("Tag")
        .element("Key", key)
        .element("Value", value)
        .close("Tag");
}

fn write_filter(xml: &mut XmlBuilder, filter: &RuleFilter) {
    if filter.form == FilterForm::LegacyPrefix {
        xml.element("Prefix", &filter.prefix);
        return;
    }
    xml.open("Filter");
    match filter.form {
        FilterForm::LegacyPrefix | FilterForm::Empty => {}
        FilterForm::Prefix => {
            xml.element("Prefix", &filter.prefix);
        }
        FilterForm::Tag => filter.tags.iter().for_each(|tag| write_tag(xml, tag)),
        FilterForm::SizeGreaterThan | FilterForm::SizeLessThan | FilterForm::And => {
            let and = filter.form == FilterForm::And;
            if and {
                xml.open("And");
                // An empty Prefix is written back when it was one of the two predicates an And
                // needs, so what GET answers can be PUT again.
                let others = filter.tags.len()
                    + usize::from(filter.size_greater_than_bytes.is_some())
                    + usize::from(filter.size_less_than_bytes.is_some());
                if !filter.prefix.is_empty() || others < 2 {
                    xml.element("Prefix", &filter.prefix);
                }
                filter.tags.iter().for_each(|tag| write_tag(xml, tag));
            }
            if let Some(bound) = filter.size_greater_than_bytes {
                xml.element("ObjectSizeGreaterThan", &bound.to_string());
            }
            if let Some(bound) = filter.size_less_than_bytes {
                xml.element("ObjectSizeLessThan", &bound.to_string());
            }
            if and {
                xml.close("And");
            }
        }
    }
    xml.close("Filter");
}

impl XmlDocument for LifecycleConfigurationDocument {
    fn write(&self, xml: &mut XmlBuilder) {
        xml.open_root("LifecycleConfiguration");
        for rule in &self.0.rules {
            xml.open("Rule").element("ID", &rule.id);
            write_filter(xml, &rule.filter);
            xml.element("Status", if rule.enabled { "Enabled" } else { "Disabled" });
            if let Some(expiration) = rule.expiration {
                xml.open("Expiration");
                if let Some(days) = expiration.days {
                    xml.element("Days", &days.to_string());
                }
                if let Some(date_ms) = expiration.date_ms {
                    xml.element("Date", &iso8601(date_ms));
                }
                if let Some(flag) = expiration.expired_object_delete_marker {
                    xml.element(
                        "ExpiredObjectDeleteMarker",
                        if flag { "true" } else { "false" },
                    );
                }
                xml.close("Expiration");
            }
            if let Some(action) = rule.noncurrent_version_expiration {
                xml.open("NoncurrentVersionExpiration")
                    .element("NoncurrentDays", &action.noncurrent_days.to_string());
                if let Some(newer) = action.newer_noncurrent_versions {
                    xml.element("NewerNoncurrentVersions", &newer.to_string());
                }
                xml.close("NoncurrentVersionExpiration");
            }
            for transition in &rule.transitions {
                xml.open("Transition");
                if let Some(days) = transition.days {
                    xml.element("Days", &days.to_string());
                }
                if let Some(date_ms) = transition.date_ms {
                    xml.element("Date", &iso8601(date_ms));
                }
                xml.element("StorageClass", &transition.storage_class)
                    .close("Transition");
            }
            for action in &rule.noncurrent_transitions {
                xml.open("NoncurrentVersionTransition")
                    .element("NoncurrentDays", &action.noncurrent_days.to_string());
                if let Some(newer) = action.newer_noncurrent_versions {
                    xml.element("NewerNoncurrentVersions", &newer.to_string());
                }
                xml.element("StorageClass", &action.storage_class)
                    .close("NoncurrentVersionTransition");
            }
            if let Some(days) = rule.abort_incomplete_upload_days {
                xml.open("AbortIncompleteMultipartUpload")
                    .element("DaysAfterInitiation", &days.to_string())
                    .close("AbortIncompleteMultipartUpload");
            }
            xml.close("Rule");
        }
        xml.close("LifecycleConfiguration");
    }
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
