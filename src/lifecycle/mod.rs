//! Lifecycle rules (pure, no I/O): a bucket's configuration as PutBucketLifecycleConfiguration
//! stored it, which rule matches which version, and when an action falls due. The S3 layer
//! parses and validates the XML and answers `x-amz-expiration`; the metadata thread's lifecycle
//! pass applies the actions that are due. Sources: S3 API Reference,
//! PutBucketLifecycleConfiguration, LifecycleRule, LifecycleRuleFilter, LifecycleExpiration,
//! NoncurrentVersionExpiration, AbortIncompleteMultipartUpload; S3 User Guide, "Lifecycle
//! configuration elements" and "Setting lifecycle configuration on a bucket".

#[cfg(test)]
mod tests;

use serde_json::{json, Value};

/// Rules in one configuration (S3 User Guide, lifecycle configuration: "up to 1,000 rules").
pub const RULE_COUNT_MAX: usize = 1000;

/// Longest rule `ID`, in characters (S3 API Reference, LifecycleRule: "up to 255 characters").
pub const RULE_ID_CHARS_MAX: usize = 255;

/// Largest `NewerNoncurrentVersions` (S3 API Reference, NoncurrentVersionExpiration: "up to
/// 100 noncurrent versions").
pub const NEWER_NONCURRENT_VERSIONS_MAX: u32 = 100;

/// One day, in milliseconds: S3 counts lifecycle ages in days.
pub const DAY_MS: i64 = 86_400_000;

/// What a rule's filter matches: all of its members (S3 API Reference, LifecycleRuleFilter and
/// LifecycleRuleAndOperator).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleFilter {
    /// How the client wrote it (GetBucketLifecycleConfiguration answers the same form).
    pub form: FilterForm,
    /// Key prefix; empty matches every key.
    pub prefix: String,
    /// Tags the version must carry, each with this value.
    pub tags: Vec<(String, String)>,
    /// The version must be larger than this, in bytes.
    pub size_greater_than_bytes: Option<u64>,
    /// The version must be smaller than this, in bytes.
    pub size_less_than_bytes: Option<u64>,
}

/// The XML form of a rule's filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FilterForm {
    /// `<Prefix>` directly in the rule (the form of the older PutBucketLifecycle).
    #[default]
    LegacyPrefix,
    /// `<Filter/>`: every version.
    Empty,
    /// `<Filter><Prefix>`.
    Prefix,
    /// `<Filter><Tag>`.
    Tag,
    /// `<Filter><ObjectSizeGreaterThan>`.
    SizeGreaterThan,
    /// `<Filter><ObjectSizeLessThan>`.
    SizeLessThan,
    /// `<Filter><And>` of a prefix, tags and size bounds.
    And,
}

impl FilterForm {
    fn as_str(self) -> &'static str {
        match self {
            FilterForm::LegacyPrefix => "legacy",
            FilterForm::Empty => "empty",
            FilterForm::Prefix => "prefix",
            FilterForm::Tag => "tag",
            FilterForm::SizeGreaterThan => "gt",
            FilterForm::SizeLessThan => "lt",
            FilterForm::And => "and",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [
            FilterForm::LegacyPrefix,
            FilterForm::Empty,
            FilterForm::Prefix,
            FilterForm::Tag,
            FilterForm::SizeGreaterThan,
            FilterForm::SizeLessThan,
            FilterForm::And,
        ]
        .into_iter()
        .find(|form| form.as_str() == text)
    }
}

impl RuleFilter {
    /// Whether a version with this key, size and tags (decoded) is one the rule acts on.
    pub fn matches(&self, key: &str, size_bytes: u64, tags: &[(String, String)]) -> bool {
        key.starts_with(&self.prefix)
            && self
                .size_greater_than_bytes
                .is_none_or(|bound| size_bytes > bound)
            && self
                .size_less_than_bytes
                .is_none_or(|bound| size_bytes < bound)
            && self
                .tags
                .iter()
                .all(|wanted| tags.iter().any(|tag| tag == wanted))
    }

    /// Whether it looks at anything but the key's prefix (tags or sizes), which S3 refuses with
    /// `ExpiredObjectDeleteMarker` and `AbortIncompleteMultipartUpload`.
    pub fn has_tags_or_sizes(&self) -> bool {
        !self.tags.is_empty()
            || self.size_greater_than_bytes.is_some()
            || self.size_less_than_bytes.is_some()
    }
}

/// `<Expiration>`: when current versions expire, and whether lone delete markers go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Expiration {
    /// `Days` after the version's creation (positive).
    pub days: Option<u32>,
    /// `Date` (midnight UTC), milliseconds since the Unix epoch.
    pub date_ms: Option<i64>,
    /// `ExpiredObjectDeleteMarker`: remove a delete marker that has no noncurrent version left.
    pub expired_object_delete_marker: Option<bool>,
}

/// `<NoncurrentVersionExpiration>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoncurrentVersionExpiration {
    /// `NoncurrentDays`: days after the version became noncurrent (positive).
    pub noncurrent_days: u32,
    /// `NewerNoncurrentVersions`: how many newer noncurrent versions are kept whatever their age.
    pub newer_noncurrent_versions: Option<u32>,
}

/// A `<Transition>`: current versions move to the tier named by `storage_class` once `days`
/// days old or on `date_ms` (issue 24).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// `Days` after creation.
    pub days: Option<u32>,
    /// `Date` (midnight UTC), milliseconds since the Unix epoch.
    pub date_ms: Option<i64>,
    /// `StorageClass`: the tier's name (`--tier NAME=URL`).
    pub storage_class: String,
}

/// A `<NoncurrentVersionTransition>`: noncurrent versions move to the tier `storage_class` once
/// noncurrent for `noncurrent_days` days, the newest `newer_noncurrent_versions` excepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoncurrentVersionTransition {
    /// `NoncurrentDays`.
    pub noncurrent_days: u32,
    /// `NewerNoncurrentVersions`: noncurrent versions kept local whatever their age.
    pub newer_noncurrent_versions: Option<u32>,
    /// `StorageClass`: the tier's name.
    pub storage_class: String,
}

/// One `<Rule>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleRule {
    /// `ID` (given, or made up at PutBucketLifecycleConfiguration as S3 does).
    pub id: String,
    /// `Status` Enabled (Disabled rules are kept and never applied).
    pub enabled: bool,
    /// Which versions it acts on.
    pub filter: RuleFilter,
    /// `Expiration`.
    pub expiration: Option<Expiration>,
    /// `NoncurrentVersionExpiration`.
    pub noncurrent_version_expiration: Option<NoncurrentVersionExpiration>,
    /// `AbortIncompleteMultipartUpload` `DaysAfterInitiation` (positive).
    pub abort_incomplete_upload_days: Option<u32>,
    /// `Transition`s, in the order sent.
    pub transitions: Vec<Transition>,
    /// `NoncurrentVersionTransition`s, in the order sent.
    pub noncurrent_transitions: Vec<NoncurrentVersionTransition>,
}

/// A bucket's lifecycle configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LifecycleConfiguration {
    /// The rules, in the order sent.
    pub rules: Vec<LifecycleRule>,
    /// `x-amz-transition-default-minimum-object-size`, as sent (it bears on transitions only).
    pub transition_default_minimum_object_size: Option<String>,
}

/// The end of `days` days after `start_ms`: with S3's day (`day_ms == DAY_MS`), rounded up to the
/// next midnight UTC ("S3 calculates the time by adding the number of days specified in the rule
/// to the object creation time and rounding the resulting time to the next day midnight UTC");
/// with a day shortened for tests, not rounded (as Ceph RGW's `rgw_lc_debug_interval`).
pub fn due_ms(start_ms: i64, days: u32, day_ms: i64) -> i64 {
    let end_ms = start_ms.saturating_add(i64::from(days).saturating_mul(day_ms));
    if day_ms == DAY_MS {
        (end_ms.div_euclid(DAY_MS) + 1).saturating_mul(DAY_MS)
    } else {
        end_ms
    }
}

/// A stored tag set (`k=v&k2=v2`, URL-encoded, as `x-amz-tagging` carries it) decoded.
pub fn decode_tags(stored: Option<&str>) -> Vec<(String, String)> {
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .ok()
            .map(|decoded| decoded.into_owned())
    };
    stored
        .into_iter()
        .flat_map(|text| text.split('&'))
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            Some((decode(key)?, decode(value)?))
        })
        .collect()
}

/// What a rule's filter looks at in one version: its key, size and tags (decoded).
#[derive(Debug, Clone, Copy)]
pub struct VersionFacts<'a> {
    /// Object key.
    pub key: &'a str,
    /// Size in bytes (0 for a delete marker).
    pub size_bytes: u64,
    /// Tags (none for a delete marker).
    pub tags: &'a [(String, String)],
}

impl VersionFacts<'_> {
    fn matched_by(&self, filter: &RuleFilter) -> bool {
        filter.matches(self.key, self.size_bytes, self.tags)
    }
}

impl LifecycleConfiguration {
    fn enabled_rules(&self) -> impl Iterator<Item = &LifecycleRule> {
        self.rules.iter().filter(|rule| rule.enabled)
    }

    /// When the current version (created at `created_ms`) expires and by which rule: the
    /// earliest of the enabled rules with `Days` or `Date` whose filter matches it.
    pub fn current_expiry(
        &self,
        version: &VersionFacts<'_>,
        created_ms: i64,
        day_ms: i64,
    ) -> Option<(i64, &str)> {
        self.enabled_rules()
            .filter(|rule| version.matched_by(&rule.filter))
            .filter_map(|rule| {
                let expiration = rule.expiration?;
                let due = match (expiration.days, expiration.date_ms) {
                    (Some(days), _) => due_ms(created_ms, days, day_ms),
                    (None, Some(date_ms)) => date_ms,
                    (None, None) => return None,
                };
                Some((due, rule.id.as_str()))
            })
            .min_by_key(|(due, _)| *due)
    }

    /// Whether a noncurrent version (or delete marker) is due at `now_ms`: it became noncurrent
    /// at `noncurrent_since_ms`, and `newer_noncurrent_count` noncurrent versions of its key are
    /// newer than it.
    pub fn noncurrent_expired(
        &self,
        version: &VersionFacts<'_>,
        noncurrent_since_ms: i64,
        newer_noncurrent_count: usize,
        now_ms: i64,
        day_ms: i64,
    ) -> bool {
        self.enabled_rules()
            .filter(|rule| version.matched_by(&rule.filter))
            .filter_map(|rule| rule.noncurrent_version_expiration)
            .any(|action| {
                let kept = action.newer_noncurrent_versions.unwrap_or(0) as usize;
                newer_noncurrent_count >= kept
                    && due_ms(noncurrent_since_ms, action.noncurrent_days, day_ms) <= now_ms
            })
    }

    /// Whether a delete marker that is its key's current version with no noncurrent version
    /// left (an "expired object delete marker") goes at `now_ms`: a matching rule says
    /// `ExpiredObjectDeleteMarker` true, or has `Days` and the marker is that old.
    pub fn expired_marker_removable(
        &self,
        key: &str,
        created_ms: i64,
        now_ms: i64,
        day_ms: i64,
    ) -> bool {
        self.enabled_rules()
            .filter(|rule| rule.filter.matches(key, 0, &[]))
            .filter_map(|rule| rule.expiration)
            .any(|expiration| {
                expiration.expired_object_delete_marker == Some(true)
                    || expiration
                        .days
                        .is_some_and(|days| due_ms(created_ms, days, day_ms) <= now_ms)
            })
    }

    /// When an unfinished multipart upload of `key`, initiated at `initiated_ms`, is aborted and
    /// by which rule: the earliest of the enabled AbortIncompleteMultipartUpload rules whose
    /// prefix matches.
    pub fn upload_abort(&self, key: &str, initiated_ms: i64, day_ms: i64) -> Option<(i64, &str)> {
        self.enabled_rules()
            .filter(|rule| key.starts_with(&rule.filter.prefix))
            .filter_map(|rule| {
                let days = rule.abort_incomplete_upload_days?;
                Some((due_ms(initiated_ms, days, day_ms), rule.id.as_str()))
            })
            .min_by_key(|(due, _)| *due)
    }

    /// Whether an unfinished multipart upload of `key`, initiated at `initiated_ms`, is aborted
    /// at `now_ms`.
    pub fn upload_abort_due(&self, key: &str, initiated_ms: i64, now_ms: i64, day_ms: i64) -> bool {
        self.upload_abort(key, initiated_ms, day_ms)
            .is_some_and(|(due, _)| due <= now_ms)
    }

    /// The tier a current version (created at `created_ms`) is due to move to by `now_ms`: the
    /// latest-due of the matching enabled transitions already due (S3 applies the transition
    /// furthest along; with one tier per rule set this is simply the one due).
    pub fn current_transition_due(
        &self,
        version: &VersionFacts<'_>,
        created_ms: i64,
        now_ms: i64,
        day_ms: i64,
    ) -> Option<&str> {
        self.enabled_rules()
            .filter(|rule| version.matched_by(&rule.filter))
            .flat_map(|rule| rule.transitions.iter())
            .filter_map(|transition| {
                let due = match (transition.days, transition.date_ms) {
                    (Some(days), _) => due_ms(created_ms, days, day_ms),
                    (None, Some(date_ms)) => date_ms,
                    (None, None) => return None,
                };
                (due <= now_ms).then_some((due, transition.storage_class.as_str()))
            })
            .max_by_key(|(due, _)| *due)
            .map(|(_, tier)| tier)
    }

    /// The tier a noncurrent version is due to move to by `now_ms`: it became noncurrent at
    /// `noncurrent_since_ms`, and `newer_noncurrent_count` noncurrent versions of its key are
    /// newer than it.
    pub fn noncurrent_transition_due(
        &self,
        version: &VersionFacts<'_>,
        noncurrent_since_ms: i64,
        newer_noncurrent_count: usize,
        now_ms: i64,
        day_ms: i64,
    ) -> Option<&str> {
        self.enabled_rules()
            .filter(|rule| version.matched_by(&rule.filter))
            .flat_map(|rule| rule.noncurrent_transitions.iter())
            .filter_map(|action| {
                let kept = action.newer_noncurrent_versions.unwrap_or(0) as usize;
                let due = due_ms(noncurrent_since_ms, action.noncurrent_days, day_ms);
                (newer_noncurrent_count >= kept && due <= now_ms)
                    .then_some((due, action.storage_class.as_str()))
            })
            .max_by_key(|(due, _)| *due)
            .map(|(_, tier)| tier)
    }

    /// Whether any enabled rule moves versions to a tier.
    pub fn transitions(&self) -> bool {
        self.enabled_rules()
            .any(|rule| !rule.transitions.is_empty() || !rule.noncurrent_transitions.is_empty())
    }

    /// Whether any enabled rule expires current versions.
    pub fn expires_current(&self) -> bool {
        self.enabled_rules().any(|rule| {
            rule.expiration
                .is_some_and(|expiration| expiration.days.is_some() || expiration.date_ms.is_some())
        })
    }

    /// Whether any enabled rule removes noncurrent versions or delete markers.
    pub fn expires_versions(&self) -> bool {
        self.enabled_rules()
            .any(|rule| rule.noncurrent_version_expiration.is_some() || rule.expiration.is_some())
    }

    /// Whether any enabled rule aborts multipart uploads.
    pub fn aborts_uploads(&self) -> bool {
        self.enabled_rules()
            .any(|rule| rule.abort_incomplete_upload_days.is_some())
    }

    /// The stored form (JSON).
    pub fn encode(&self) -> String {
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|rule| {
                let filter = &rule.filter;
                json!({
                    "id": rule.id,
                    "enabled": rule.enabled,
                    "form": filter.form.as_str(),
                    "prefix": filter.prefix,
                    "tags": filter.tags.iter().map(|(key, value)| json!([key, value])).collect::<Vec<_>>(),
                    "gt": filter.size_greater_than_bytes,
                    "lt": filter.size_less_than_bytes,
                    "expiration": rule.expiration.map(|expiration| json!({
                        "days": expiration.days,
                        "date_ms": expiration.date_ms,
                        "marker": expiration.expired_object_delete_marker,
                    })),
                    "noncurrent": rule.noncurrent_version_expiration.map(|action| json!({
                        "days": action.noncurrent_days,
                        "newer": action.newer_noncurrent_versions,
                    })),
                    "abort_days": rule.abort_incomplete_upload_days,
                    "transitions": rule.transitions.iter().map(|transition| json!({
                        "days": transition.days,
                        "date_ms": transition.date_ms,
                        "class": transition.storage_class,
                    })).collect::<Vec<_>>(),
                    "noncurrent_transitions": rule.noncurrent_transitions.iter().map(|action| json!({
                        "days": action.noncurrent_days,
                        "newer": action.newer_noncurrent_versions,
                        "class": action.storage_class,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({
            "rules": rules,
            "transition_minimum": self.transition_default_minimum_object_size,
        })
        .to_string()
    }

    /// `encode`'s text back; `None` for anything else.
    pub fn decode(text: &str) -> Option<Self> {
        let root: Value = serde_json::from_str(text).ok()?;
        let days = |value: Option<&Value>| -> Option<Option<u32>> {
            match value {
                None | Some(Value::Null) => Some(None),
                Some(value) => Some(Some(u32::try_from(value.as_u64()?).ok()?)),
            }
        };
        let rules = root
            .get("rules")?
            .as_array()?
            .iter()
            .map(|rule| {
                let tags = rule
                    .get("tags")?
                    .as_array()?
                    .iter()
                    .map(|pair| {
                        Some((
                            pair.get(0)?.as_str()?.to_string(),
                            pair.get(1)?.as_str()?.to_string(),
                        ))
                    })
                    .collect::<Option<Vec<_>>>()?;
                let expiration = match rule.get("expiration") {
                    Some(Value::Object(expiration)) => Some(Expiration {
                        days: days(expiration.get("days"))?,
                        date_ms: expiration.get("date_ms").and_then(Value::as_i64),
                        expired_object_delete_marker: expiration
                            .get("marker")
                            .and_then(Value::as_bool),
                    }),
                    _ => None,
                };
                let noncurrent = match rule.get("noncurrent") {
                    Some(Value::Object(action)) => Some(NoncurrentVersionExpiration {
                        noncurrent_days: days(action.get("days"))??,
                        newer_noncurrent_versions: days(action.get("newer"))?,
                    }),
                    _ => None,
                };
                Some(LifecycleRule {
                    id: rule.get("id")?.as_str()?.to_string(),
                    enabled: rule.get("enabled")?.as_bool()?,
                    filter: RuleFilter {
                        form: FilterForm::parse(rule.get("form")?.as_str()?)?,
                        prefix: rule.get("prefix")?.as_str()?.to_string(),
                        tags,
                        size_greater_than_bytes: rule.get("gt").and_then(Value::as_u64),
                        size_less_than_bytes: rule.get("lt").and_then(Value::as_u64),
                    },
                    expiration,
                    noncurrent_version_expiration: noncurrent,
                    abort_incomplete_upload_days: days(rule.get("abort_days"))?,
                    // Rules stored before transitions existed have neither list.
                    transitions: match rule.get("transitions") {
                        None => Vec::new(),
                        Some(list) => list
                            .as_array()?
                            .iter()
                            .map(|transition| {
                                Some(Transition {
                                    days: days(transition.get("days"))?,
                                    date_ms: transition.get("date_ms").and_then(Value::as_i64),
                                    storage_class: transition.get("class")?.as_str()?.to_string(),
                                })
                            })
                            .collect::<Option<Vec<_>>>()?,
                    },
                    noncurrent_transitions: match rule.get("noncurrent_transitions") {
                        None => Vec::new(),
                        Some(list) => list
                            .as_array()?
                            .iter()
                            .map(|action| {
                                Some(NoncurrentVersionTransition {
                                    noncurrent_days: days(action.get("days"))??,
                                    newer_noncurrent_versions: days(action.get("newer"))?,
                                    storage_class: action.get("class")?.as_str()?.to_string(),
                                })
                            })
                            .collect::<Option<Vec<_>>>()?,
                    },
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(LifecycleConfiguration {
            rules,
            transition_default_minimum_object_size: root
                .get("transition_minimum")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }
}
