//! Policy conditions: IAM's condition operators (String*, Numeric*, Date*, Bool, IpAddress,
//! NotIpAddress, Null, with `…IfExists` and the `ForAnyValue:` / `ForAllValues:` qualifiers) over
//! the condition keys of one request. IAM User Guide, "IAM JSON policy elements: Condition
//! operators" and "Single-valued vs. multivalued context keys".

use std::net::IpAddr;

use super::actions::glob_match;

/// The condition keys ringstore supplies (lower case; a `…/` key takes any tag key after the
/// slash). A condition on any other key cannot be decided: it fails closed (an Allow does not
/// apply, a Deny does).
pub const SUPPORTED_KEYS: &[&str] = &[
    "aws:currenttime",
    "aws:epochtime",
    "aws:principaltype",
    "aws:referer",
    "aws:securetransport",
    "aws:sourceip",
    "aws:useragent",
    "aws:userid",
    "aws:username",
    "s3:authtype",
    "s3:delimiter",
    "s3:max-keys",
    "s3:object-lock-legal-hold",
    "s3:object-lock-mode",
    "s3:object-lock-retain-until-date",
    "s3:prefix",
    "s3:requestobjecttag/",
    "s3:requestobjecttagkeys",
    "s3:signatureversion",
    "s3:versionid",
    "s3:x-amz-acl",
    "s3:x-amz-content-sha256",
    "s3:x-amz-copy-source",
    "s3:x-amz-grant-full-control",
    "s3:x-amz-grant-read",
    "s3:x-amz-grant-read-acp",
    "s3:x-amz-grant-write",
    "s3:x-amz-grant-write-acp",
    "s3:x-amz-metadata-directive",
    "s3:x-amz-server-side-encryption",
    "s3:x-amz-server-side-encryption-customer-algorithm",
];

/// A condition key as policies and contexts compare it: the name lower-cased, a tag key after
/// `/` kept as written (tag keys are case-sensitive).
pub fn normalize_key(key: &str) -> String {
    match key.split_once('/') {
        Some((name, tag)) => format!("{}/{tag}", name.to_ascii_lowercase()),
        None => key.to_ascii_lowercase(),
    }
}

/// Whether ringstore supplies `key` (normalized) for the requests it applies to.
pub fn is_supported_key(key: &str) -> bool {
    SUPPORTED_KEYS
        .iter()
        .any(|supported| match supported.strip_suffix('/') {
            Some(prefix) => key
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/') && rest.len() > 1),
            None => key == *supported,
        })
}

/// A condition operator (the `IfExists` suffix and set qualifiers apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionOperator {
    /// Exact, case-sensitive.
    StringEquals,
    /// Negated `StringEquals`.
    StringNotEquals,
    /// Exact, ASCII case folded.
    StringEqualsIgnoreCase,
    /// Negated `StringEqualsIgnoreCase`.
    StringNotEqualsIgnoreCase,
    /// `*` / `?` wildcards, case-sensitive.
    StringLike,
    /// Negated `StringLike`.
    StringNotLike,
    /// Numbers equal.
    NumericEquals,
    /// Numbers differ.
    NumericNotEquals,
    /// Request value below the policy's.
    NumericLessThan,
    /// Request value at most the policy's.
    NumericLessThanEquals,
    /// Request value above the policy's.
    NumericGreaterThan,
    /// Request value at least the policy's.
    NumericGreaterThanEquals,
    /// Instants equal.
    DateEquals,
    /// Instants differ.
    DateNotEquals,
    /// Request instant before the policy's.
    DateLessThan,
    /// Request instant at or before the policy's.
    DateLessThanEquals,
    /// Request instant after the policy's.
    DateGreaterThan,
    /// Request instant at or after the policy's.
    DateGreaterThanEquals,
    /// `true` / `false`.
    Bool,
    /// Address within a CIDR range.
    IpAddress,
    /// Address outside every range.
    NotIpAddress,
    /// `true`: the key is absent; `false`: present.
    Null,
}

impl ConditionOperator {
    /// The operator named `name` (without `IfExists` and qualifiers).
    pub fn parse(name: &str) -> Option<Self> {
        use ConditionOperator::*;
        Some(match name {
            "StringEquals" => StringEquals,
            "StringNotEquals" => StringNotEquals,
            "StringEqualsIgnoreCase" => StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => StringNotEqualsIgnoreCase,
            "StringLike" => StringLike,
            "StringNotLike" => StringNotLike,
            "NumericEquals" => NumericEquals,
            "NumericNotEquals" => NumericNotEquals,
            "NumericLessThan" => NumericLessThan,
            "NumericLessThanEquals" => NumericLessThanEquals,
            "NumericGreaterThan" => NumericGreaterThan,
            "NumericGreaterThanEquals" => NumericGreaterThanEquals,
            "DateEquals" => DateEquals,
            "DateNotEquals" => DateNotEquals,
            "DateLessThan" => DateLessThan,
            "DateLessThanEquals" => DateLessThanEquals,
            "DateGreaterThan" => DateGreaterThan,
            "DateGreaterThanEquals" => DateGreaterThanEquals,
            "Bool" => Bool,
            "IpAddress" => IpAddress,
            "NotIpAddress" => NotIpAddress,
            "Null" => Null,
            _ => return None,
        })
    }

    /// Negated operators hold when no policy value matches.
    pub fn negated(self) -> bool {
        use ConditionOperator::*;
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
        )
    }

    /// Whether the request's `value` matches the policy's `expected` (for a negated operator:
    /// the positive form; the caller negates).
    fn matches(self, expected: &str, value: &str) -> bool {
        use ConditionOperator::*;
        match self {
            StringEquals | StringNotEquals => expected == value,
            StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => {
                expected.eq_ignore_ascii_case(value)
            }
            StringLike | StringNotLike => glob_match(expected, value, false),
            NumericEquals | NumericNotEquals => compare_numbers(value, expected) == Some(0),
            NumericLessThan => compare_numbers(value, expected) == Some(-1),
            NumericLessThanEquals => compare_numbers(value, expected).is_some_and(|c| c <= 0),
            NumericGreaterThan => compare_numbers(value, expected) == Some(1),
            NumericGreaterThanEquals => compare_numbers(value, expected).is_some_and(|c| c >= 0),
            DateEquals | DateNotEquals => compare_dates(value, expected) == Some(0),
            DateLessThan => compare_dates(value, expected) == Some(-1),
            DateLessThanEquals => compare_dates(value, expected).is_some_and(|c| c <= 0),
            DateGreaterThan => compare_dates(value, expected) == Some(1),
            DateGreaterThanEquals => compare_dates(value, expected).is_some_and(|c| c >= 0),
            Bool => expected.eq_ignore_ascii_case(value),
            IpAddress | NotIpAddress => ip_in_range(value, expected),
            Null => false,
        }
    }

    /// Whether a policy value is well-formed for this operator (checked at PutBucketPolicy).
    pub fn accepts(self, expected: &str) -> bool {
        use ConditionOperator::*;
        match self {
            NumericEquals
            | NumericNotEquals
            | NumericLessThan
            | NumericLessThanEquals
            | NumericGreaterThan
            | NumericGreaterThanEquals => expected.parse::<f64>().is_ok(),
            DateEquals
            | DateNotEquals
            | DateLessThan
            | DateLessThanEquals
            | DateGreaterThan
            | DateGreaterThanEquals => instant_ms(expected).is_some(),
            Bool | Null => {
                expected.eq_ignore_ascii_case("true") || expected.eq_ignore_ascii_case("false")
            }
            IpAddress | NotIpAddress => parse_cidr(expected).is_some(),
            _ => true,
        }
    }
}

/// How a condition treats a multivalued key (IAM's set operators).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    /// No qualifier: a single-valued key (any request value may match).
    Single,
    /// `ForAnyValue:` — at least one request value matches.
    ForAnyValue,
    /// `ForAllValues:` — every request value matches (true for none).
    ForAllValues,
}

/// One operator applied to one key with its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The operator.
    pub operator: ConditionOperator,
    /// Set qualifier.
    pub qualifier: SetQualifier,
    /// `…IfExists`: an absent key satisfies the condition.
    pub if_exists: bool,
    /// The key, normalized (`normalize_key`).
    pub key: String,
    /// The policy's values (any may match).
    pub values: Vec<String>,
}

/// What a condition says of a request: holds, does not, or cannot be decided (a key ringstore
/// does not supply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionOutcome {
    /// The condition holds.
    Holds,
    /// It does not.
    Fails,
    /// Its key is one ringstore does not supply.
    Undecidable,
}

/// The condition keys of one request: normalized key → values.
#[derive(Debug, Clone, Default)]
pub struct ConditionContext {
    values: Vec<(String, Vec<String>)>,
    /// Key prefixes (normalized, ending in `/`) fully known for this request although not in
    /// `SUPPORTED_KEYS` (an object's tags, `s3:existingobjecttag/`, once read): an absent key
    /// under them is absent, not undecidable.
    known_prefixes: Vec<String>,
}

impl ConditionContext {
    /// Declares every key under `prefix` (e.g. `s3:ExistingObjectTag/`) known: the ones set are
    /// all there are.
    pub fn know_prefix(&mut self, prefix: &str) {
        self.known_prefixes.push(normalize_key(prefix));
    }

    /// Drops every key under `prefix` and forgets that they were known (for keys that belong
    /// to one object, before they are read for another).
    pub fn forget_prefix(&mut self, prefix: &str) {
        let prefix = normalize_key(prefix);
        self.values
            .retain(|(key, _)| !key.starts_with(prefix.as_str()));
        self.known_prefixes.retain(|known| *known != prefix);
    }

    fn knows(&self, key: &str) -> bool {
        is_supported_key(key)
            || self
                .known_prefixes
                .iter()
                .any(|prefix| key.starts_with(prefix.as_str()))
    }

    /// Sets `key` (any spelling) to `values`.
    pub fn set(&mut self, key: &str, values: Vec<String>) {
        let key = normalize_key(key);
        self.values.retain(|(existing, _)| *existing != key);
        self.values.push((key, values));
    }

    /// The values of `key` (normalized), if the request has it.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.values
            .iter()
            .find(|(existing, _)| existing == key)
            .map(|(_, values)| values.as_slice())
    }
}

impl Condition {
    /// Evaluates the condition against `context`.
    pub fn evaluate(&self, context: &ConditionContext) -> ConditionOutcome {
        let present = context.get(&self.key).filter(|values| !values.is_empty());
        if self.operator == ConditionOperator::Null {
            let wants_absent = self
                .values
                .iter()
                .any(|value| value.eq_ignore_ascii_case("true"));
            return outcome(present.is_none() == wants_absent);
        }
        let Some(request_values) = present else {
            if !context.knows(&self.key) {
                return ConditionOutcome::Undecidable;
            }
            // An absent key: the values do not match, so the condition is false — and a negated
            // one (StringNotLike, NotIpAddress, …) true; IfExists holds; ForAllValues holds over
            // the empty set (IAM User Guide, Condition operators, "Important").
            return outcome(match self.qualifier {
                SetQualifier::ForAllValues => true,
                // "At least one value matches" cannot hold over no values, negated or not.
                SetQualifier::ForAnyValue => self.if_exists,
                SetQualifier::Single => self.if_exists || self.operator.negated(),
            });
        };
        let matches_one = |value: &String| {
            let any = self
                .values
                .iter()
                .any(|expected| self.operator.matches(expected, value));
            any != self.operator.negated()
        };
        outcome(match self.qualifier {
            SetQualifier::ForAllValues => request_values.iter().all(matches_one),
            SetQualifier::Single | SetQualifier::ForAnyValue => {
                request_values.iter().any(matches_one)
            }
        })
    }
}

fn outcome(holds: bool) -> ConditionOutcome {
    if holds {
        ConditionOutcome::Holds
    } else {
        ConditionOutcome::Fails
    }
}

/// -1, 0 or 1 as `value` is below, equal to or above `expected`, both numbers.
fn compare_numbers(value: &str, expected: &str) -> Option<i8> {
    let (value, expected) = (value.parse::<f64>().ok()?, expected.parse::<f64>().ok()?);
    value.partial_cmp(&expected).map(|ordering| ordering as i8)
}

/// -1, 0 or 1 as instant `value` is before, at or after `expected`.
fn compare_dates(value: &str, expected: &str) -> Option<i8> {
    let (value, expected) = (instant_ms(value)?, instant_ms(expected)?);
    Some(value.cmp(&expected) as i8)
}

/// An ISO 8601 / RFC 3339 date-time, or seconds since the epoch, in milliseconds.
pub fn instant_ms(text: &str) -> Option<i128> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Some(i128::from(seconds) * 1000);
    }
    let parsed = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .or_else(|| {
            // A date alone ("2026-01-01") is midnight UTC.
            let date = time::Date::parse(
                text,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .ok()?;
            Some(date.midnight().assume_utc())
        })?;
    Some(parsed.unix_timestamp_nanos() / 1_000_000)
}

/// A CIDR block (`192.0.2.0/24`, `2001:db8::/32`) or one address.
pub(crate) fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (address, length) = match text.split_once('/') {
        Some((address, length)) => (address, Some(length.parse::<u8>().ok()?)),
        None => (text, None),
    };
    let address: IpAddr = address.trim().parse().ok()?;
    let bits = if address.is_ipv4() { 32 } else { 128 };
    let length = length.unwrap_or(bits);
    (length <= bits).then_some((address, length))
}

/// A range as it is matched: one written as IPv4-mapped IPv6 (`::ffff:10.0.0.0/104`) is the IPv4
/// range it maps (`10.0.0.0/8`).
pub(crate) fn effective_range(network: IpAddr, length: u8) -> (IpAddr, u8) {
    match network {
        IpAddr::V6(v6) if length >= 96 => match v6.to_ipv4_mapped() {
            Some(v4) => (IpAddr::V4(v4), length - 96),
            None => (network, length),
        },
        other => (other, length),
    }
}

/// Whether address `value` lies within the CIDR block `range` (IPv4 ranges match IPv4-mapped
/// IPv6 addresses too).
fn ip_in_range(value: &str, range: &str) -> bool {
    let (Ok(address), Some((network, length))) = (value.parse::<IpAddr>(), parse_cidr(range))
    else {
        return false;
    };
    let address = match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(address),
        v4 => v4,
    };
    let (network, length) = effective_range(network, length);
    let (address, network, bits) = match (address, network) {
        (IpAddr::V4(a), IpAddr::V4(n)) => (u128::from(u32::from(a)), u128::from(u32::from(n)), 32),
        (IpAddr::V6(a), IpAddr::V6(n)) => (u128::from(a), u128::from(n), 128),
        _ => return false,
    };
    if length == 0 {
        return true;
    }
    let shift = bits - u32::from(length);
    address >> shift == network >> shift
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(operator: &str, key: &str, values: &[&str]) -> Condition {
        let (qualifier, operator) = match operator.split_once(':') {
            Some(("ForAnyValue", rest)) => (SetQualifier::ForAnyValue, rest),
            Some(("ForAllValues", rest)) => (SetQualifier::ForAllValues, rest),
            _ => (SetQualifier::Single, operator),
        };
        let (name, if_exists) = match operator.strip_suffix("IfExists") {
            Some(name) => (name, true),
            None => (operator, false),
        };
        Condition {
            operator: ConditionOperator::parse(name).unwrap(),
            qualifier,
            if_exists,
            key: normalize_key(key),
            values: values.iter().map(|value| value.to_string()).collect(),
        }
    }

    fn context(pairs: &[(&str, &[&str])]) -> ConditionContext {
        let mut context = ConditionContext::default();
        for (key, values) in pairs {
            context.set(key, values.iter().map(|value| value.to_string()).collect());
        }
        context
    }

    use ConditionOutcome::{Fails, Holds, Undecidable};

    #[test]
    fn operators_follow_iam() {
        // Goal: each operator family decides as the IAM reference describes, keys compared
        // without regard to case, values as typed.
        let request = context(&[
            ("aws:SourceIp", &["192.0.2.17"]),
            ("aws:SecureTransport", &["false"]),
            ("aws:CurrentTime", &["2026-11-30T12:00:00Z"]),
            ("s3:max-keys", &["50"]),
            ("s3:prefix", &["home/bob/docs"]),
            ("aws:Referer", &["https://www.example.com/page"]),
        ]);
        for (operator, key, values, expected) in [
            ("IpAddress", "aws:SourceIp", &["192.0.2.0/24"][..], Holds),
            (
                "IpAddress",
                "aws:sourceip",
                &["198.51.100.0/24", "192.0.2.17"],
                Holds,
            ),
            ("NotIpAddress", "aws:SourceIp", &["192.0.2.0/24"], Fails),
            ("Bool", "aws:SecureTransport", &["false"], Holds),
            ("Bool", "aws:SecureTransport", &["true"], Fails),
            (
                "DateLessThan",
                "aws:CurrentTime",
                &["2027-01-01T00:00:00Z"],
                Holds,
            ),
            ("DateGreaterThan", "aws:CurrentTime", &["2027-01-01"], Fails),
            ("NumericLessThanEquals", "s3:max-keys", &["50"], Holds),
            ("NumericGreaterThan", "s3:max-keys", &["50"], Fails),
            ("StringLike", "s3:prefix", &["home/bob/*"], Holds),
            ("StringNotLike", "s3:prefix", &["home/bob/*"], Fails),
            ("StringEquals", "s3:prefix", &["HOME/bob/docs"], Fails),
            (
                "StringEqualsIgnoreCase",
                "s3:prefix",
                &["HOME/bob/docs"],
                Holds,
            ),
            ("StringNotEquals", "s3:prefix", &["other"], Holds),
            (
                "StringLike",
                "aws:Referer",
                &["https://www.example.com/*"],
                Holds,
            ),
            // Absent keys: false, unless IfExists; Null tells presence.
            ("StringEquals", "s3:delimiter", &["/"], Fails),
            ("StringNotEquals", "s3:delimiter", &["/"], Holds),
            ("StringNotLike", "aws:UserAgent", &["curl/*"], Holds),
            ("StringEqualsIfExists", "s3:delimiter", &["/"], Holds),
            ("Null", "s3:delimiter", &["true"], Holds),
            ("Null", "s3:prefix", &["true"], Fails),
            ("Null", "s3:prefix", &["false"], Holds),
            // Keys ringstore does not supply cannot be decided.
            ("StringEquals", "aws:SourceVpce", &["vpce-1"], Undecidable),
            (
                "StringEquals",
                "s3:ExistingObjectTag/team",
                &["a"],
                Undecidable,
            ),
        ] {
            assert_eq!(
                condition(operator, key, values).evaluate(&request),
                expected,
                "{operator} {key} {values:?}"
            );
        }
    }

    #[test]
    fn set_qualifiers_follow_iam() {
        // Goal: ForAnyValue needs one match, ForAllValues every value (and holds for none).
        let request = context(&[("s3:RequestObjectTagKeys", &["team", "cost"])]);
        let any = condition(
            "ForAnyValue:StringEquals",
            "s3:RequestObjectTagKeys",
            &["team"],
        );
        let all = condition(
            "ForAllValues:StringEquals",
            "s3:RequestObjectTagKeys",
            &["team"],
        );
        let all_known = condition(
            "ForAllValues:StringEquals",
            "s3:RequestObjectTagKeys",
            &["team", "cost", "env"],
        );
        assert_eq!(any.evaluate(&request), Holds);
        assert_eq!(all.evaluate(&request), Fails);
        assert_eq!(all_known.evaluate(&request), Holds);
        assert_eq!(all.evaluate(&ConditionContext::default()), Holds);
        assert_eq!(any.evaluate(&ConditionContext::default()), Fails);
        let any_not = condition(
            "ForAnyValue:StringNotEquals",
            "s3:RequestObjectTagKeys",
            &["secret"],
        );
        assert_eq!(any_not.evaluate(&ConditionContext::default()), Fails);
        let tag = condition("StringEquals", "s3:RequestObjectTag/Team", &["blue"]);
        let tagged = context(&[("s3:RequestObjectTag/Team", &["blue"])]);
        assert_eq!(tag.evaluate(&tagged), Holds);
        let other_case = context(&[("s3:RequestObjectTag/team", &["blue"])]);
        assert_eq!(tag.evaluate(&other_case), Fails, "tag keys keep their case");
    }

    #[test]
    fn addresses_and_values_are_checked() {
        // Goal: IPv6 ranges, v4-mapped addresses, /0; malformed policy values are refused.
        assert!(ip_in_range("2001:db8::1", "2001:db8::/32"));
        assert!(!ip_in_range("2001:db9::1", "2001:db8::/32"));
        assert!(ip_in_range("::ffff:10.1.2.3", "10.0.0.0/8"));
        assert!(ip_in_range("127.0.0.1", "::ffff:127.0.0.1/128"));
        assert!(ip_in_range("127.0.0.1", "::ffff:0:0/96"));
        assert!(ip_in_range("203.0.113.9", "0.0.0.0/0"));
        assert!(!ip_in_range("not an ip", "0.0.0.0/0"));
        assert!(!ConditionOperator::IpAddress.accepts("10.0.0.0/33"));
        assert!(!ConditionOperator::NumericLessThan.accepts("ten"));
        assert!(!ConditionOperator::DateLessThan.accepts("yesterday"));
        assert!(ConditionOperator::DateLessThan.accepts("1767225600"));
        assert!(!ConditionOperator::Bool.accepts("yes"));
    }
}
